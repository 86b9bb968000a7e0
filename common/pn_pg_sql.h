/*
 * pn_pg_sql — SQL text: quoting identifiers, and the statements of a sink
 * that merge a batch of rows into a table in each --mode.
 *
 * Identifiers reach SQL text only through pn_pg_add_ident, which quotes as
 * PQescapeIdentifier does under client_encoding UTF8, the encoding of
 * every pn connection (pn_pg_connect), and refuses what it refuses in its
 * words; so statements are built, and tested, without a server.  Values
 * never reach SQL text: they travel as COPY data or as statement
 * parameters (pn_pg_copy.h).  A table name may be schema-qualified, each
 * part quoted on its own (see pn_pg_table.h).
 */
#ifndef PN_PG_SQL_H
#define PN_PG_SQL_H

#include "pn_buf.h"
#include "pn_pg_copy.h"
#include "pn_pg_table.h"

/*
 * Appends s quoted: "s", each " doubled.  -1 if s is not UTF-8, with *why
 * (when why is not NULL) libpq's reason, "invalid multibyte character" or
 * "incomplete multibyte character"; b is then unchanged.
 */
int pn_pg_add_ident(struct pn_buf *b, const char *s, const char **why);
/* Appends a possibly schema-qualified name, each part quoted; -1 if a part
 * is empty or not UTF-8, as pn_pg_add_ident. */
int pn_pg_add_name(struct pn_buf *b, const char *name, const char **why);

/*
 * The statements of a sink, built once its columns are known: `temp`
 * creates the session's batch table pn_sink_batch (a seq column, the
 * columns written, typed as the target's, and with tombstones a delete
 * flag), `merge` moves the batch into the table in one statement (for
 * update it returns the seq of the rows that found no row), and `load`
 * inserts one row into the batch table from parameters, for writing a
 * batch row by row.  Names are quoted; -1 if one is not UTF-8.  MERGE
 * serves update from server_version (PQserverVersion) 150000 on.  With
 * key_unique (the key columns have a unique index) update and the
 * tombstones' delete find each batch row's row through that index, as
 * upsert's ON CONFLICT does.
 */
enum pn_pg_mode { PN_PG_INSERT, PN_PG_UPSERT, PN_PG_UPDATE };

struct pn_pg_col {
	char *field;		/* the record field */
	int table_col;		/* index in the table's columns */
	int is_key;
	enum pn_pg_kind kind;
};

struct pn_pg_sql {
	char *temp, *merge, *load;
};

int pn_pg_sql_build(int server_version, const struct pn_pg_table *t, const struct pn_pg_col *cols,
		    int ncols, enum pn_pg_mode mode, int tombstones, int key_unique,
		    struct pn_pg_sql *out);
void pn_pg_sql_release(struct pn_pg_sql *s);

#endif
