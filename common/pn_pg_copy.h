/*
 * pn_pg_copy — values as PostgreSQL's COPY text format, the form in which
 * a sink's rows travel to the server: a JSON value turned into a column's
 * text, and a row split back into its fields for a row-by-row retry.
 *
 * COPY text escapes backslash, tab, newline and carriage return and writes
 * NULL as \N, so any byte string round-trips.  Values never reach SQL
 * text: they travel as COPY data or as statement parameters.  Nothing here
 * talks to a server.
 */
#ifndef PN_PG_COPY_H
#define PN_PG_COPY_H

#include <stddef.h>

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

/* COPY text of raw bytes: escapes \\, \t, \n, \r. */
void pn_pg_copy_add(struct pn_buf *b, const char *s, size_t n);

/*
 * Appends token i of j as COPY text for a column of kind `kind`: null as \N,
 * strings unescaped (for json columns: as JSON strings), numbers as written
 * (for time columns: epoch milliseconds), nested values as JSON text.
 * Returns 0, or -1 with *why set when the value cannot go into such a
 * column (a nested value into a number column, a bad epoch time, a string
 * holding a NUL, which PostgreSQL text cannot hold).
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
