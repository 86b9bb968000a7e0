#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pn_err.h"
#include "pn_pg.h"

PGconn *pn_pg_connect(const char *dsn, char **why)
{
	const char *keys[] = { "dbname", "fallback_application_name", "client_encoding", NULL };
	const char *vals[] = { dsn && *dsn ? dsn : NULL, "pn-sink-pg", "UTF8", NULL };
	struct pn_buf msg = PN_BUF_INIT;
	PGconn *conn;
	PGresult *res;

	*why = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (!conn) {
		*why = pn_strdup("out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn);

		pn_buf_addf(&msg, "cannot connect to 'host=%s port=%s dbname=%s': ",
			    host ? host : "", port ? port : "", db ? db : "");
		pn_pg_error(conn, &msg);
		PQfinish(conn);
		*why = pn_buf_detach(&msg, NULL);
		return NULL;
	}
	res = PQexec(conn, "SET TimeZone = 'UTC'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pn_buf_adds(&msg, "cannot set the time zone: ");
		pn_pg_result_error(res, &msg);
		PQclear(res);
		PQfinish(conn);
		*why = pn_buf_detach(&msg, NULL);
		return NULL;
	}
	PQclear(res);
	return conn;
}

/* Appends the first line of msg, without libpq's "ERROR:  " prefix. */
static const char *first_line(const char *msg, struct pn_buf *tmp)
{
	size_t start = tmp->len, n;

	if (!msg || !*msg)
		msg = "unknown error";
	if (!strncmp(msg, "ERROR:  ", 8))
		msg += 8;
	else if (!strncmp(msg, "FATAL:  ", 8))
		msg += 8;
	n = strcspn(msg, "\n");
	pn_buf_add(tmp, msg, n);
	return tmp->data + start;
}

const char *pn_pg_error(PGconn *conn, struct pn_buf *tmp)
{
	return first_line(PQerrorMessage(conn), tmp);
}

const char *pn_pg_result_error(const PGresult *res, struct pn_buf *tmp)
{
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	return first_line(m ? m : PQresultErrorMessage(res), tmp);
}

int pn_pg_add_ident(PGconn *conn, struct pn_buf *b, const char *s)
{
	char *q = PQescapeIdentifier(conn, s, strlen(s));

	if (!q)
		return -1;
	pn_buf_adds(b, q);
	PQfreemem(q);
	return 0;
}

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
	const char *dot = strchr(name, '.');
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
	if ((t->schema && (pn_pg_add_ident(conn, &q, t->schema) || (pn_buf_addc(&q, '.'), 0))) ||
	    pn_pg_add_ident(conn, &q, t->name)) {
		pn_buf_addf(why, "bad table name '%s': ", name);
		pn_pg_error(conn, why);
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

void pn_pg_copy_add(struct pn_buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	pn_buf_grow(b, n + 8);
	for (i = 0; i < n; i++) {
		char c = s[i], e;

		switch (c) {
		case '\\': e = '\\'; break;
		case '\t': e = 't'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		default: continue;
		}
		pn_buf_add(b, s + run, i - run);
		pn_buf_addc(b, '\\');
		pn_buf_addc(b, e);
		run = i + 1;
	}
	pn_buf_add(b, s + run, n - run);
}

/* Epoch milliseconds as an ISO 8601 UTC time. */
static int add_epoch_ms(struct pn_buf *b, int64_t ms)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;
	char text[64];

	if (!gmtime_r(&secs, &tm))
		return -1;
	if (!strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	pn_buf_addf(b, "%s.%03dZ", text, frac);
	return 0;
}

int pn_pg_copy_value(struct pn_buf *b, const struct pn_json *j, int i, enum pn_pg_kind kind,
		     struct pn_buf *tmp, const char **why)
{
	const struct pn_tok *t = &j->tok[i];
	const char *s = j->text + t->start;
	size_t n = t->end - t->start;
	int64_t v;

	switch (t->type) {
	case PN_JSON_STRING:
		if (kind == PN_PG_JSON) {
			s = pn_json_raw(j, i, &n);	/* a JSON string, quotes and all */
			pn_pg_copy_add(b, s, n);
			return 0;
		}
		if (!memchr(s, '\\', n)) {
			pn_pg_copy_add(b, s, n);
			return 0;
		}
		pn_buf_reset(tmp);
		pn_json_unescape(s, n, tmp);
		pn_pg_copy_add(b, tmp->data, tmp->len);
		return 0;
	case PN_JSON_PRIMITIVE:
		if (*s == 'n') {
			pn_buf_add(b, "\\N", 2);
			return 0;
		}
		if (kind == PN_PG_TIME && *s != 't' && *s != 'f') {
			if (pn_json_int64(s, n, &v) || add_epoch_ms(b, v)) {
				*why = "is a number but not a time in epoch milliseconds";
				return -1;
			}
			return 0;
		}
		pn_buf_add(b, s, n);	/* numbers and true/false need no escapes */
		return 0;
	case PN_JSON_OBJECT:
	case PN_JSON_ARRAY:
		if (kind != PN_PG_JSON && kind != PN_PG_TEXT) {
			*why = t->type == PN_JSON_OBJECT ? "is an object" : "is a list";
			return -1;
		}
		s = pn_json_raw(j, i, &n);
		pn_pg_copy_add(b, s, n);
		return 0;
	}
	*why = "has an unknown type";
	return -1;
}

int pn_pg_copy_split(const char *row, size_t len, struct pn_buf *out, const char **vals, int max)
{
	size_t offs[256];
	int isnull[256], nf = 0;
	size_t i = 0;

	if (max > 256)
		max = 256;
	pn_buf_reset(out);
	while (nf < max) {
		if (i + 2 <= len && row[i] == '\\' && row[i + 1] == 'N' &&
		    (i + 2 == len || row[i + 2] == '\t')) {
			isnull[nf] = 1;
			offs[nf++] = 0;
			i += 2;
		} else {
			isnull[nf] = 0;
			offs[nf++] = out->len;
			for (; i < len && row[i] != '\t'; i++) {
				char c = row[i];

				if (c == '\\' && i + 1 < len) {
					c = row[++i];
					c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
				}
				pn_buf_addc(out, c);
			}
			pn_buf_addc(out, '\0');
		}
		if (i >= len)
			break;
		i++;	/* the tab */
	}
	for (int k = 0; k < nf; k++)
		vals[k] = isnull[k] ? NULL : out->data + offs[k];
	return nf;
}
