/*
 * pn_pg — PostgreSQL for pn: connecting through libpq, reading a table's
 * columns, quoting identifiers, and turning JSON values into COPY text.
 *
 * Identifiers reach SQL text only through PQescapeIdentifier; values never
 * do: they travel as COPY data or as statement parameters.  COPY text
 * format escapes backslash, tab, newline and carriage return and writes
 * NULL as \N, so any byte string round-trips.
 *
 * A table name may be schema-qualified ("schema.table"): it is split at the
 * first dot and each part quoted on its own, so "a.b" is table b in schema
 * a; a name with a dot in it cannot be given.
 */
#ifndef PN_PG_H
#define PN_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pn_buf.h"
#include "pn_json.h"

/* How a JSON value is turned into a column's text. */
enum pn_pg_kind {
	PN_PG_TEXT,		/* strings as they are, other values as JSON text */
	PN_PG_NUMBER,		/* integer, numeric, real: numbers as written */
	PN_PG_BOOL,
	PN_PG_JSON,		/* json, jsonb: any value as JSON text */
	PN_PG_TIME,		/* timestamp, timestamptz, date: ISO 8601 text or epoch ms */
};

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
 * Connects with a conninfo string or URI (NULL or "": the PG* environment
 * and ~/.pgpass), sets client_encoding UTF8 and TimeZone UTC.  Returns the
 * connection, or NULL after putting a one-line reason in *why (malloc'ed),
 * naming the server without any password.
 */
PGconn *pn_pg_connect(const char *dsn, char **why);

/* The first line of the connection's last error, without the "ERROR:" tail. */
const char *pn_pg_error(PGconn *conn, struct pn_buf *tmp);
/* The first line of a result's error message. */
const char *pn_pg_result_error(const PGresult *res, struct pn_buf *tmp);

/* Appends PQescapeIdentifier(s) to b; -1 if libpq refuses (bad encoding). */
int pn_pg_add_ident(PGconn *conn, struct pn_buf *b, const char *s);

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

/* COPY text of raw bytes: escapes \\, \t, \n, \r. */
void pn_pg_copy_add(struct pn_buf *b, const char *s, size_t n);

/*
 * Appends token i of j as COPY text for a column of kind `kind`: null as \N,
 * strings unescaped (for json columns: as JSON strings), numbers as written
 * (for time columns: epoch milliseconds), nested values as JSON text.
 * Returns 0, or -1 with *why set when the value cannot go into such a
 * column (a nested value into a number column, a bad epoch time).
 */
int pn_pg_copy_value(struct pn_buf *b, const struct pn_json *j, int i, enum pn_pg_kind kind,
		     struct pn_buf *tmp, const char **why);

/*
 * Splits one COPY text row (without its '\n') into fields, unescaping into
 * out; vals[k] points into out's data or is NULL for \N.  Returns the
 * number of fields (at most max).  out must not be touched while vals are
 * used.
 */
int pn_pg_copy_split(const char *row, size_t len, struct pn_buf *out, const char **vals, int max);

#endif
