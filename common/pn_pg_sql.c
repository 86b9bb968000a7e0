#include <stdlib.h>
#include <string.h>

#include "pn_err.h"
#include "pn_json.h"
#include "pn_pg_sql.h"

/* The length of the character at s as libpq's UTF-8 scan takes it: from
 * its first byte alone, 1 for a byte no character starts with. */
static size_t utf8_char_len(unsigned char c)
{
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;
}

/*
 * PQescapeIdentifier under client_encoding UTF8: the name in double quotes,
 * each double quote doubled, nothing else escaped.  A name that is not
 * UTF-8 is refused with libpq's words, so that messages stay those of
 * PQescapeIdentifier; on refusal b is left as it was.
 */
static int add_quoted(struct pn_buf *b, const char *s, size_t n, const char **why)
{
	const char *bad = NULL;

	for (size_t i = 0, k; i < n && !bad; i += k) {
		k = utf8_char_len((unsigned char)s[i]);
		if (!(s[i] & 0x80))
			continue;
		if (k > n - i)
			bad = "incomplete multibyte character";
		else if (!pn_utf8_valid(s + i, k))
			bad = "invalid multibyte character";
	}
	if (bad) {
		if (why)
			*why = bad;
		return -1;
	}
	pn_buf_addc(b, '"');
	for (const char *q; (q = memchr(s, '"', n)); n -= q + 1 - s, s = q + 1) {
		pn_buf_add(b, s, q + 1 - s);
		pn_buf_addc(b, '"');
	}
	pn_buf_add(b, s, n);
	pn_buf_addc(b, '"');
	return 0;
}

int pn_pg_add_ident(struct pn_buf *b, const char *s, const char **why)
{
	return add_quoted(b, s, strlen(s), why);
}

int pn_pg_add_name(struct pn_buf *b, const char *name, const char **why)
{
	const char *dot = strchr(name, '.');
	size_t start = b->len;

	if (!*name || dot == name || (dot && !dot[1])) {
		if (why)
			*why = "an empty name";
		return -1;
	}
	if (!dot)
		return add_quoted(b, name, strlen(name), why);
	if (add_quoted(b, name, dot - name, why))
		return -1;
	pn_buf_addc(b, '.');
	if (add_quoted(b, dot + 1, strlen(dot + 1), why)) {
		b->len = start;
		b->data[start] = '\0';
		return -1;
	}
	return 0;
}

/* The context of the statement builders. */
struct sql_ctx {
	const struct pn_pg_table *table;
	const struct pn_pg_col *cols;
	int bad;			/* libpq refused a name */
};

static void add_quoted_col(struct sql_ctx *r, struct pn_buf *b, const char *prefix, int i)
{
	pn_buf_adds(b, prefix);
	if (pn_pg_add_ident(b, r->table->cols[r->cols[i].table_col].name, NULL))
		r->bad = 1;
}

#define SEQ_COL "\"pn-sink-pg seq\""
#define DEL_COL "\"pn-sink-pg delete\""

/* "SET c = s.c, ..." of the columns that are not keys (all if none is). */
static void add_set_from(struct sql_ctx *r, struct pn_buf *b, int ncols, const char *from)
{
	int nonkey = 0;

	for (int i = 0; i < ncols; i++)
		nonkey += !r->cols[i].is_key;
	pn_buf_adds(b, " SET ");
	for (int i = 0, n = 0; i < ncols; i++) {
		if (r->cols[i].is_key && nonkey)
			continue;
		add_quoted_col(r, b, n++ ? ", " : "", i);
		pn_buf_adds(b, " = ");
		add_quoted_col(r, b, from, i);
	}
}

/*
 * Update mode's rows that have a row with their key are updated by MERGE
 * (PostgreSQL 15), which refuses a batch in which two rows the client told
 * apart have keys the server finds equal ("007" and 7 for an integer), so
 * that such a batch is written row by row, in order; UPDATE ... FROM would
 * apply one of them and report the other as having no row.  `keys` joins t
 * and s; `live` leaves the tombstones out.  Upsert stays with INSERT ... ON
 * CONFLICT: MERGE was faster only when the batch covered much of the
 * table, and up to twice as slow when the table was 40 times the batch
 * (the planner then hashes the whole table; ON CONFLICT probes the key
 * index per row).
 */
static void add_merge_update(struct sql_ctx *r, struct pn_buf *b, int ncols, const char *keys,
			     const char *live)
{
	pn_buf_addf(b, "MERGE INTO %s AS t USING pn_sink_batch AS s ON %s%s WHEN MATCHED THEN UPDATE",
		    r->table->quoted, keys, live);
	add_set_from(r, b, ncols, "s.");
	pn_buf_adds(b, "; ");
}

int pn_pg_sql_build(int server_version, const struct pn_pg_table *t, const struct pn_pg_col *cols,
		    int ncols, enum pn_pg_mode mode, int tombstones, int key_unique,
		    struct pn_pg_sql *out)
{
	struct sql_ctx ctx = { t, cols, 0 }, *r = &ctx;
	struct pn_buf b = PN_BUF_INIT, list = PN_BUF_INIT, keys = PN_BUF_INIT;
	const char *T = t->quoted, *live = "", *live_and = "", *live_on = "";
	int nonkey = 0, can_merge = server_version >= 150000;

	for (int i = 0, n = 0; i < ncols; i++) {
		add_quoted_col(r, &list, i ? ", " : "", i);
		nonkey += !cols[i].is_key;
		if (cols[i].is_key) {
			add_quoted_col(r, &keys, n++ ? " AND t." : "t.", i);
			add_quoted_col(r, &keys, " = s.", i);
		}
	}
	/* A join of a large batch (update's, the tombstones' DELETE) would
	 * otherwise hash the whole table (the planner prices its index as on
	 * disk): twice as slow as index lookups on a table 40 times the batch,
	 * and worse as the table grows.  Lookups cost what the batch holds. */
	if (key_unique && (mode == PN_PG_UPDATE || tombstones))
		pn_buf_adds(&b, "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; ");
	if (tombstones) {
		/* tombstones first; the rows that remain are merged as usual */
		pn_buf_addf(&b, "DELETE FROM %s AS t USING pn_sink_batch AS s WHERE s." DEL_COL
			    " AND %s; ", T, keys.data);
		live = " WHERE NOT " DEL_COL;
		live_and = "NOT s." DEL_COL " AND ";
		live_on = " AND NOT s." DEL_COL;
	}
	switch (mode) {
	case PN_PG_INSERT:
		pn_buf_addf(&b, "INSERT INTO %s (%s) SELECT %s FROM pn_sink_batch%s", T, list.data,
			    list.data, live);
		break;
	case PN_PG_UPSERT:
		pn_buf_addf(&b, "INSERT INTO %s AS t (%s) SELECT %s FROM pn_sink_batch%s ON CONFLICT (",
			    T, list.data, list.data, live);
		for (int i = 0, n = 0; i < ncols; i++)
			if (cols[i].is_key)
				add_quoted_col(r, &b, n++ ? ", " : "", i);
		if (!nonkey) {
			pn_buf_adds(&b, ") DO NOTHING");
			break;
		}
		pn_buf_adds(&b, ") DO UPDATE");
		add_set_from(r, &b, ncols, "EXCLUDED.");
		break;
	case PN_PG_UPDATE:
		if (nonkey && can_merge) {
			/* then the rows that found none */
			add_merge_update(r, &b, ncols, keys.data, live_on);
			pn_buf_addf(&b, "SELECT s." SEQ_COL " FROM pn_sink_batch AS s WHERE %sNOT EXISTS"
				    " (SELECT 1 FROM %s AS t WHERE %s)", live_and, T, keys.data);
			break;
		}
		pn_buf_addf(&b, "WITH u AS (UPDATE %s AS t", T);
		add_set_from(r, &b, ncols, "s.");
		pn_buf_addf(&b, " FROM pn_sink_batch AS s WHERE %s%s", keys.data, live_on);
		pn_buf_addf(&b, " RETURNING s." SEQ_COL " AS seq) SELECT s." SEQ_COL
			    " FROM pn_sink_batch AS s WHERE %sNOT EXISTS"
			    " (SELECT 1 FROM u WHERE u.seq = s." SEQ_COL ")", live_and);
		break;
	}
	out->merge = pn_buf_detach(&b, NULL);
	pn_buf_adds(&b, "INSERT INTO pn_sink_batch VALUES ($1");
	for (int i = 0; i < ncols + tombstones; i++)
		pn_buf_addf(&b, ", $%d", i + 2);
	pn_buf_addc(&b, ')');
	out->load = pn_buf_detach(&b, NULL);

	pn_buf_adds(&b, "CREATE TEMP TABLE pn_sink_batch ON COMMIT DELETE ROWS AS SELECT 0::int8 AS "
		    SEQ_COL);
	for (int i = 0; i < ncols; i++)
		add_quoted_col(r, &b, ", ", i);
	if (tombstones)
		pn_buf_adds(&b, ", false AS " DEL_COL);
	pn_buf_addf(&b, " FROM %s WITH NO DATA", T);
	out->temp = pn_buf_detach(&b, NULL);
	pn_buf_release(&list);
	pn_buf_release(&keys);
	return ctx.bad ? -1 : 0;
}

void pn_pg_sql_release(struct pn_pg_sql *s)
{
	free(s->temp);
	free(s->merge);
	free(s->load);
	memset(s, 0, sizeof(*s));
}
