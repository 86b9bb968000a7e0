/*
 * pn_pg_table — a table's columns as the catalog has them: their names,
 * types, whether they take null, and the kind of COPY text each takes
 * (pn_pg_copy.h); whether a set of columns has a unique index; and the
 * column type --create gives a JSON value.
 *
 * A table name may be schema-qualified ("schema.table"): it is split at the
 * first dot and each part quoted on its own, so "a.b" is table b in schema
 * a; a name with a dot in it cannot be given.
 */
#ifndef PN_PG_TABLE_H
#define PN_PG_TABLE_H

#include <libpq-fe.h>

#include "pn_buf.h"
#include "pn_json.h"
#include "pn_pg_copy.h"

struct pn_pg_column {
	char *name;		/* as in the catalog */
	char *type;		/* format_type(), e.g. "numeric(10,2)" */
	enum pn_pg_kind kind;
	int notnull;
};

struct pn_pg_table {
	char *schema;		/* NULL when not qualified */
	char *name;
	char *quoted;		/* "schema"."name", ready for SQL text */
	struct pn_pg_column *cols;
	int ncols;
};

/*
 * Reads the columns of table `name` (possibly schema-qualified).  Returns 0,
 * 1 if the table does not exist, or -1 with *why set (a static or
 * PQerrorMessage-derived string valid until the next call).
 */
int pn_pg_table_load(PGconn *conn, const char *name, struct pn_pg_table *t, struct pn_buf *why);
void pn_pg_table_release(struct pn_pg_table *t);
/* The index of column `name`, or -1. */
int pn_pg_table_column(const struct pn_pg_table *t, const char *name);
/* 1 if the columns (indexes) form a primary key or a unique index. */
int pn_pg_table_has_unique(PGconn *conn, const struct pn_pg_table *t, const int *cols, int n);

/*
 * The column type --create gives a JSON value: an integer bigint, another
 * number numeric, a string text, true/false boolean, an object or a list
 * jsonb, null (or no value, i < 0) text.
 */
const char *pn_pg_type_for(const struct pn_json *j, int i);

#endif
