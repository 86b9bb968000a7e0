#include <stdlib.h>
#include <string.h>

#include "pn_err.h"
#include "pn_pg.h"
#include "pn_pg_sql.h"
#include "pn_pg_table.h"

static enum pn_pg_kind kind_of(const char *base)
{
	static const char *const numbers[] = { "smallint", "integer", "bigint", "numeric",
					       "real", "double precision", "oid", NULL };
	static const char *const times[] = { "timestamp with time zone",
					     "timestamp without time zone", "date", NULL };

	for (int i = 0; numbers[i]; i++)
		if (!strcmp(base, numbers[i]))
			return PN_PG_NUMBER;
	for (int i = 0; times[i]; i++)
		if (!strcmp(base, times[i]))
			return PN_PG_TIME;
	if (!strcmp(base, "boolean"))
		return PN_PG_BOOL;
	if (!strcmp(base, "json") || !strcmp(base, "jsonb"))
		return PN_PG_JSON;
	return PN_PG_TEXT;
}

int pn_pg_table_load(PGconn *conn, const char *name, struct pn_pg_table *t, struct pn_buf *why)
{
	static const char query[] =
		"SELECT a.attname, format_type(a.atttypid, a.atttypmod),"
		" format_type(a.atttypid, NULL), a.attnotnull"
		" FROM pg_attribute a WHERE a.attrelid = $1::regclass"
		" AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
	const char *dot = strchr(name, '.'), *bad;
	struct pn_buf q = PN_BUF_INIT;
	const char *param;
	PGresult *res;
	int status = 0;

	memset(t, 0, sizeof(*t));
	if (dot) {
		t->schema = pn_strndup(name, dot - name);
		t->name = pn_strdup(dot + 1);
	} else {
		t->name = pn_strdup(name);
	}
	if (!*t->name || (t->schema && !*t->schema)) {
		pn_buf_addf(why, "bad table name '%s'", name);
		return -1;
	}
	if (pn_pg_add_name(&q, name, &bad)) {
		pn_buf_addf(why, "bad table name '%s': %s", name, bad);
		pn_buf_release(&q);
		return -1;
	}
	t->quoted = pn_buf_detach(&q, NULL);
	/* to_regclass would hide why a name does not resolve; check first */
	param = t->quoted;
	res = PQexecParams(conn, "SELECT to_regclass($1) IS NULL", 1, NULL, &param, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pn_buf_addf(why, "cannot look up table '%s': ", name);
		pn_pg_result_error(res, why);
		PQclear(res);
		return -1;
	}
	if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
		PQclear(res);
		return 1;
	}
	PQclear(res);
	res = PQexecParams(conn, query, 1, NULL, &param, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pn_buf_addf(why, "cannot read the columns of '%s': ", name);
		pn_pg_result_error(res, why);
		PQclear(res);
		return -1;
	}
	t->ncols = PQntuples(res);
	t->cols = pn_malloc(sizeof(*t->cols) * (t->ncols ? t->ncols : 1));
	for (int i = 0; i < t->ncols; i++) {
		t->cols[i].name = pn_strdup(PQgetvalue(res, i, 0));
		t->cols[i].type = pn_strdup(PQgetvalue(res, i, 1));
		t->cols[i].kind = kind_of(PQgetvalue(res, i, 2));
		t->cols[i].notnull = !strcmp(PQgetvalue(res, i, 3), "t");
	}
	PQclear(res);
	return status;
}

void pn_pg_table_release(struct pn_pg_table *t)
{
	for (int i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
	}
	free(t->cols);
	free(t->schema);
	free(t->name);
	free(t->quoted);
	memset(t, 0, sizeof(*t));
}

int pn_pg_table_column(const struct pn_pg_table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return i;
	return -1;
}

int pn_pg_table_has_unique(PGconn *conn, const struct pn_pg_table *t, const int *cols, int n)
{
	/* An index whose key columns are exactly these, in any order. */
	static const char query[] =
		"SELECT 1 FROM pg_index i WHERE i.indrelid = $1::regclass"
		" AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL"
		" AND i.indnkeyatts = $2::int AND (SELECT array_agg(a.attname::text ORDER BY a.attname)"
		"  FROM pg_attribute a WHERE a.attrelid = i.indrelid"
		"  AND a.attnum = ANY (i.indkey::int2[])) = (SELECT array_agg(x ORDER BY x)"
		"  FROM unnest($3::text[]) x)";
	struct pn_buf arr = PN_BUF_INIT, num = PN_BUF_INIT;
	const char *params[3];
	PGresult *res;
	int found;

	pn_buf_addc(&arr, '{');
	for (int k = 0; k < n; k++) {
		const char *s = t->cols[cols[k]].name;

		if (k)
			pn_buf_addc(&arr, ',');
		pn_buf_addc(&arr, '"');
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				pn_buf_addc(&arr, '\\');
			pn_buf_addc(&arr, *s);
		}
		pn_buf_addc(&arr, '"');
	}
	pn_buf_addc(&arr, '}');
	pn_buf_add_i64(&num, n);
	params[0] = t->quoted;
	params[1] = num.data;
	params[2] = arr.data;
	res = PQexecParams(conn, query, 3, NULL, params, NULL, NULL, 0);
	found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
	PQclear(res);
	pn_buf_release(&arr);
	pn_buf_release(&num);
	return found;
}

const char *pn_pg_type_for(const struct pn_json *j, int i)
{
	const struct pn_tok *t;
	int64_t v;

	if (i < 0)
		return "text";
	t = &j->tok[i];
	switch (t->type) {
	case PN_JSON_OBJECT:
	case PN_JSON_ARRAY:
		return "jsonb";
	case PN_JSON_STRING:
		return "text";
	case PN_JSON_PRIMITIVE:
		switch (j->text[t->start]) {
		case 'n': return "text";
		case 't': case 'f': return "boolean";
		}
		return pn_json_int64(j->text + t->start, t->end - t->start, &v) ? "numeric" : "bigint";
	}
	return "text";
}
