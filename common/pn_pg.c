#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pn_err.h"
#include "pn_pg.h"

static const char *first_line(const char *msg, struct pn_buf *tmp);

/* Server notices ("relation ... already exists, skipping") only with -v. */
static void on_notice(void *arg, const char *message)
{
	(void)arg;
	pn_info("server: %.*s", (int)strcspn(message, "\n"), message);
}

/* Seconds of connect_timeout in conn's options, 0 for none (wait as long
 * as the system does, as PQconnectdb would). */
static int connect_timeout(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn), *o;
	int t = 0;

	for (o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "connect_timeout") && o->val)
			t = atoi(o->val);
	PQconninfoFree(opts);
	return t > 0 && t < 2 ? 2 : t;	/* libpq's floor */
}

/* Drives PQconnectPoll to its end: PQconnectdb's loop, kept here so that
 * verbose errors (with the server's SQLSTATE) can be asked for first. */
static void connect_wait(PGconn *conn)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int t = connect_timeout(conn);
	struct timespec end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += t;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd pfd = { PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0 };
		struct timespec now;
		int ms = -1;

		if (t) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (int)((end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000);
			if (ms <= 0)
				return;	/* the caller sees the status: not OK */
		}
		if (pfd.fd < 0 || (poll(&pfd, 1, ms) < 0 && errno != EINTR))
			return;
		st = PQconnectPoll(conn);
	}
}

/*
 * Whether a failed connection is a matter of configuration, which no retry
 * mends: options libpq refuses before it tries a server (an unknown
 * keyword, sslmode=bogus), or the server's refusal of the login itself
 * (SQLSTATE class 28, invalid authorization; 3D000, no such database).
 * The options' messages are libpq's own, in English: pn does not call
 * setlocale, so they are never translated.
 */
static int connect_is_config(PGconn *conn)
{
	const char *m = PQerrorMessage(conn), *fatal;

	fatal = strstr(m, "FATAL:  ");
	if (fatal) {
		fatal += 8;
		return !strncmp(fatal, "28", 2) || !strncmp(fatal, "3D000", 5);
	}
	return !strncmp(m, "invalid ", 8);
}

/* Removes the "SQLSTATE: " that verbose errors put after the severity. */
static void drop_sqlstate(char *msg)
{
	char *p = strstr(msg, "FATAL:  ");

	if (p && strspn(p + 8, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5 && p[13] == ':' && p[14] == ' ')
		memmove(p + 8, p + 15, strlen(p + 15) + 1);
}

/* A conninfo string or URI libpq cannot parse (a bare name is a database
 * name and always parses): 1 with the reason in msg. */
static int conninfo_bad(const char *dsn, struct pn_buf *msg)
{
	PQconninfoOption *opts;
	char *err = NULL;

	if (!dsn || (!strchr(dsn, '=') && strncmp(dsn, "postgres://", 11) &&
		     strncmp(dsn, "postgresql://", 13)))
		return 0;
	opts = PQconninfoParse(dsn, &err);
	if (opts) {
		PQconninfoFree(opts);
		return 0;
	}
	pn_buf_adds(msg, "bad connection string: ");
	first_line(err ? err : "out of memory", msg);
	PQfreemem(err);
	return 1;
}

PGconn *pn_pg_connect(const char *dsn, char **why, int *config)
{
	const char *keys[] = { "dbname", "fallback_application_name", "client_encoding", NULL };
	const char *vals[] = { dsn && *dsn ? dsn : NULL, pn_progname(), "UTF8", NULL };
	struct pn_buf msg = PN_BUF_INIT;
	PGconn *conn;
	PGresult *res;

	*why = NULL;
	*config = 0;
	if (conninfo_bad(dsn, &msg)) {
		*config = 1;
		*why = pn_buf_detach(&msg, NULL);
		return NULL;
	}
	conn = PQconnectStartParams(keys, vals, 1);
	if (!conn) {
		*why = pn_strdup("out of memory");
		return NULL;
	}
	PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
	if (PQstatus(conn) != CONNECTION_BAD)
		connect_wait(conn);
	if (PQstatus(conn) != CONNECTION_OK) {
		const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn);
		char *m = pn_strdup(PQerrorMessage(conn));

		*config = connect_is_config(conn);
		drop_sqlstate(m);
		pn_buf_addf(&msg, "cannot connect to 'host=%s port=%s dbname=%s': ",
			    host ? host : "", port ? port : "", db ? db : "");
		first_line(*m ? m : "timeout expired", &msg);
		free(m);
		PQfinish(conn);
		*why = pn_buf_detach(&msg, NULL);
		return NULL;
	}
	PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
	PQsetNoticeProcessor(conn, on_notice, NULL);
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

int pn_pg_add_name(PGconn *conn, struct pn_buf *b, const char *name)
{
	const char *dot = strchr(name, '.');
	char *schema;
	int rc;

	if (!dot)
		return *name ? pn_pg_add_ident(conn, b, name) : -1;
	if (dot == name || !dot[1])
		return -1;
	schema = pn_strndup(name, dot - name);
	rc = pn_pg_add_ident(conn, b, schema);
	free(schema);
	if (rc)
		return -1;
	pn_buf_addc(b, '.');
	return pn_pg_add_ident(conn, b, dot + 1);
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
	if (pn_pg_add_name(conn, &q, name)) {
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
		/* text cannot hold one: the server would cut the value there */
		if (memchr(tmp->data, '\0', tmp->len)) {
			*why = "holds a NUL (\\u0000)";
			return -1;
		}
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

/* The context of the statement builders. */
struct sql_ctx {
	PGconn *conn;
	const struct pn_pg_table *table;
	const struct pn_pg_col *cols;
	int bad;			/* libpq refused a name */
};

static void add_quoted_col(struct sql_ctx *r, struct pn_buf *b, const char *prefix, int i)
{
	pn_buf_adds(b, prefix);
	if (pn_pg_add_ident(r->conn, b, r->table->cols[r->cols[i].table_col].name))
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

int pn_pg_sql_build(PGconn *conn, const struct pn_pg_table *t, const struct pn_pg_col *cols,
		    int ncols, enum pn_pg_mode mode, int tombstones, int key_unique,
		    struct pn_pg_sql *out)
{
	struct sql_ctx ctx = { conn, t, cols, 0 }, *r = &ctx;
	struct pn_buf b = PN_BUF_INIT, list = PN_BUF_INIT, keys = PN_BUF_INIT;
	const char *T = t->quoted, *live = "", *live_and = "", *live_on = "";
	int nonkey = 0, can_merge = PQserverVersion(conn) >= 150000;

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

void pn_pg_batch_init(struct pn_pg_batch *b, size_t max_rows)
{
	memset(b, 0, sizeof(*b));
	b->max_rows = max_rows;
	for (b->hashcap = 16; b->hashcap < max_rows * 2; b->hashcap *= 2)
		;
	b->hash = pn_malloc(b->hashcap * sizeof(*b->hash));
	memset(b->hash, 0, b->hashcap * sizeof(*b->hash));
}

void pn_pg_batch_release(struct pn_pg_batch *b)
{
	pn_buf_release(&b->copy);
	pn_buf_release(&b->keys);
	pn_buf_release(&b->lines);
	free(b->rows);
	free(b->hash);
	free(b->marks);
	memset(b, 0, sizeof(*b));
}

void pn_pg_batch_reset(struct pn_pg_batch *b)
{
	b->nrows = 0;
	b->live = 0;
	b->nmarks = 0;
	pn_buf_reset(&b->copy);
	pn_buf_reset(&b->keys);
	pn_buf_reset(&b->lines);
	memset(b->hash, 0, b->hashcap * sizeof(*b->hash));
}

void pn_pg_batch_begin(struct pn_pg_batch *b)
{
	b->copy_start = b->copy.len;
	b->key_start = b->keys.len;
}

/* The slot of the key table where a key with this hash is first looked for. */
static inline size_t slot_of(const struct pn_pg_batch *b, uint64_t hash)
{
	return (size_t)(hash >> 16) & (b->hashcap - 1);
}

void pn_pg_batch_key(struct pn_pg_batch *b, size_t at)
{
	const char *key;
	size_t key_len;

	if (b->keys.len > b->key_start)
		pn_buf_addc(&b->keys, '\t');
	pn_buf_add(&b->keys, b->copy.data + at, b->copy.len - at);
	/* the key is usually complete here, before the other values are
	 * converted: its slot is fetched into the cache meanwhile */
	key = b->keys.data + b->key_start;
	key_len = b->keys.len - b->key_start;
	b->key_hash = pn_hash64(PN_HASH64_INIT, key, key_len) * 0x9e3779b97f4a7c15ULL;
	__builtin_prefetch(&b->hash[slot_of(b, b->key_hash)]);
}

void pn_pg_batch_abandon(struct pn_pg_batch *b)
{
	b->copy.len = b->copy_start;
	b->keys.len = b->key_start;
	if (b->copy.cap)
		b->copy.data[b->copy.len] = '\0';
	if (b->keys.cap)
		b->keys.data[b->keys.len] = '\0';
}

/* A slot's copy of where a row's key is, so that a probe reads no row. */
static inline uint64_t slot_key(const struct pn_pg_row *w)
{
	return (uint64_t)w->key_off << 16 | (w->key_len < 0xffff ? w->key_len : 0xffff);
}

/* The key table's slot of the row being built: the one of the live row
 * with its key, or the empty one where its key goes.  The slots keep a tag
 * of the hash, so that a probe rarely reads another row's key, and where
 * that key is: the rows are far apart in memory. */
static struct pn_pg_slot *key_slot(const struct pn_pg_batch *b, uint32_t *tag)
{
	const char *key = b->keys.data + b->key_start;
	size_t key_len = b->keys.len - b->key_start;
	size_t mask = b->hashcap - 1, h = slot_of(b, b->key_hash);

	*tag = (uint32_t)(b->key_hash >> 32);
	for (;; h = (h + 1) & mask) {
		struct pn_pg_slot *slot = &b->hash[h];
		size_t len = slot->key & 0xffff;

		if (!slot->row)
			return slot;
		if (slot->tag != *tag)
			continue;
		if (len == 0xffff)
			len = b->rows[slot->row - 1].key_len;
		if (len == key_len && !memcmp(b->keys.data + (slot->key >> 16), key, key_len))
			return slot;
	}
}

/* Moves n bytes of buf from `from` down to `to` (overlap allowed). */
static void move_down(struct pn_buf *buf, size_t to, size_t from, size_t n)
{
	if (to != from)
		memmove(buf->data + to, buf->data + from, n);
}

/* Drops the dead rows in place: the live ones move down, and the key
 * table's slots follow them, so that no key is hashed again. */
static void compact(struct pn_pg_batch *b)
{
	uint32_t *moved = pn_malloc(b->nrows * sizeof(*moved));	/* new index + 1 */
	uint64_t *key_at = pn_malloc((b->live + 1) * sizeof(*key_at));	/* by new index */
	size_t n = 0, copy = 0, keys = 0, lines = 0;

	for (size_t i = 0; i < b->nrows; i++) {
		struct pn_pg_row w = b->rows[i];

		moved[i] = 0;
		if (w.dead)
			continue;
		move_down(&b->copy, copy, w.copy_off, w.copy_len);
		w.copy_off = copy;
		copy += w.copy_len;
		move_down(&b->keys, keys, w.key_off, w.key_len);
		w.key_off = keys;
		keys += w.key_len;
		move_down(&b->lines, lines, w.line_off, w.line_len);
		w.line_off = lines;
		lines += w.line_len;
		key_at[n] = slot_key(&w);
		b->rows[n++] = w;
		moved[i] = (uint32_t)n;
	}
	/* each row added to each buffer, so they all have memory for the NUL */
	b->copy.len = copy;
	b->copy.data[copy] = '\0';
	b->keys.len = keys;
	b->keys.data[keys] = '\0';
	b->lines.len = lines;
	b->lines.data[lines] = '\0';
	b->nrows = n;
	/* only live rows have slots; the small arrays spare a read of a row
	 * per slot */
	for (size_t h = 0; h < b->hashcap; h++) {
		struct pn_pg_slot *slot = &b->hash[h];

		if (slot->row) {
			slot->row = moved[slot->row - 1];
			slot->key = key_at[slot->row - 1];
		}
	}
	free(moved);
	free(key_at);
}

int pn_pg_batch_end(struct pn_pg_batch *b, const char *line, size_t len,
		    unsigned long long lineno, unsigned input, int tomb, int keyed)
{
	struct pn_pg_slot *slot = NULL;
	struct pn_pg_row *w;
	uint32_t tag = 0;

	if (keyed)
		slot = key_slot(b, &tag);
	if ((!slot || !slot->row) && b->live >= b->max_rows) {
		pn_pg_batch_abandon(b);
		return -1;
	}
	pn_buf_addc(&b->copy, '\n');
	if (b->nrows == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->rows = pn_realloc(b->rows, b->cap * sizeof(*b->rows));
	}
	w = &b->rows[b->nrows];
	*w = (struct pn_pg_row){ .copy_off = b->copy_start, .copy_len = b->copy.len - b->copy_start,
				 .key_off = b->key_start, .key_len = b->keys.len - b->key_start,
				 .line_off = b->lines.len, .line_len = len,
				 .lineno = lineno, .input = input, .tomb = !!tomb };
	pn_buf_add(&b->lines, line, len);
	b->live++;
	if (slot && slot->row) {
		/* the last row wins */
		b->rows[slot->row - 1].dead = 1;
		b->live--;
		b->replaced++;
	}
	if (slot)
		*slot = (struct pn_pg_slot){ (uint32_t)b->nrows + 1, tag, slot_key(w) };
	b->nrows++;
	if (b->nrows - b->live > b->live && b->nrows - b->live >= 4096)
		compact(b);
	return 0;
}

int pn_pg_batch_put(PGconn *conn, const struct pn_pg_batch *b)
{
	struct pn_buf out = PN_BUF_INIT;
	int rc = 0;

	/* each live row is sent after its index, its seq */
	for (size_t i = 0; i < b->nrows && !rc; i++) {
		const struct pn_pg_row *w = &b->rows[i];

		if (w->dead)
			continue;
		pn_buf_add_u64(&out, i);
		pn_buf_add(&out, b->copy.data + w->copy_off, w->copy_len);
		if (out.len >= 1 << 16) {
			rc = PQputCopyData(conn, out.data, (int)out.len) == 1 ? 0 : -1;
			pn_buf_reset(&out);
		}
	}
	if (!rc && out.len)
		rc = PQputCopyData(conn, out.data, (int)out.len) == 1 ? 0 : -1;
	pn_buf_release(&out);
	return rc;
}

int pn_pg_offsets_prepare(PGconn *conn, const char *quoted, struct pn_buf *why)
{
	struct pn_buf sql = PN_BUF_INIT;
	PGresult *res;
	int rc = 0;

	pn_buf_addf(&sql, "CREATE TABLE IF NOT EXISTS %s (sink text NOT NULL, topic text NOT NULL,"
		    " partition int NOT NULL, next_offset bigint NOT NULL,"
		    " PRIMARY KEY (sink, topic, partition))", quoted);
	res = PQexec(conn, sql.data);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pn_buf_addf(why, "cannot create the offsets table %s: ", quoted);
		pn_pg_result_error(res, why);
		rc = -1;
	}
	PQclear(res);
	pn_buf_release(&sql);
	return rc;
}

int pn_pg_offsets_load(PGconn *conn, const char *quoted, const char *sink,
		       struct pn_offsets *t, struct pn_buf *why)
{
	struct pn_buf sql = PN_BUF_INIT;
	PGresult *res;
	int rc = 0;

	pn_buf_addf(&sql, "SELECT topic, partition, next_offset FROM %s WHERE sink = $1"
		    " ORDER BY topic, partition", quoted);
	res = PQexecParams(conn, sql.data, 1, NULL, &sink, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pn_buf_addf(why, "cannot read the offsets table %s: ", quoted);
		pn_pg_result_error(res, why);
		rc = -1;
	}
	for (int i = 0; !rc && i < PQntuples(res); i++) {
		struct pn_part *p = pn_offsets_get(t, PQgetvalue(res, i, 0),
						   (int32_t)atoi(PQgetvalue(res, i, 1)));

		p->start = p->flushed = p->appended = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	}
	PQclear(res);
	pn_buf_release(&sql);
	return rc;
}

/* A partition with rows since the last batch: a mark of where it stands. */
static void add_mark(struct pn_part *p, void *arg)
{
	struct pn_pg_batch *b = arg;

	if (p->appended <= p->flushed)
		return;
	if (b->nmarks == b->markcap) {
		b->markcap = b->markcap ? b->markcap * 2 : 16;
		b->marks = pn_realloc(b->marks, b->markcap * sizeof(*b->marks));
	}
	b->marks[b->nmarks++] = (struct pn_pg_mark){ p, p->appended };
}

void pn_pg_batch_mark(struct pn_pg_batch *b, struct pn_offsets *t)
{
	b->nmarks = 0;
	pn_offsets_each(t, add_mark, b);
}

PGresult *pn_pg_offsets_store(PGconn *conn, const char *quoted, const char *sink,
			      const struct pn_pg_batch *b)
{
	struct pn_buf sql = PN_BUF_INIT, part = PN_BUF_INIT, next = PN_BUF_INIT;
	PGresult *failed = NULL;

	pn_buf_addf(&sql, "INSERT INTO %s AS o (sink, topic, partition, next_offset)"
		    " VALUES ($1, $2, $3, $4) ON CONFLICT (sink, topic, partition) DO UPDATE"
		    " SET next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset)", quoted);
	for (int i = 0; i < b->nmarks && !failed; i++) {
		const struct pn_pg_mark *m = &b->marks[i];
		const char *params[4];
		PGresult *res;

		pn_buf_reset(&part);
		pn_buf_add_i64(&part, m->part->partition);
		pn_buf_reset(&next);
		pn_buf_add_i64(&next, m->next);
		params[0] = sink;
		params[1] = m->part->topic;
		params[2] = part.data;
		params[3] = next.data;
		res = PQexecParams(conn, sql.data, 4, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			failed = res;
		else
			PQclear(res);
	}
	pn_buf_release(&sql);
	pn_buf_release(&part);
	pn_buf_release(&next);
	return failed;
}

void pn_pg_offsets_committed(const struct pn_pg_batch *b)
{
	for (int i = 0; i < b->nmarks; i++)
		if (b->marks[i].next > b->marks[i].part->flushed)
			b->marks[i].part->flushed = b->marks[i].next;
}

enum pn_pg_failure pn_pg_classify(PGconn *conn, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) == CONNECTION_BAD || !state)
		return PN_PG_CONN_LOST;
	/* 08 connection exception, 57P operator intervention (shutdown),
	 * 40 transaction rollback (serialization failure, deadlock) */
	if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3) || !strncmp(state, "40", 2))
		return PN_PG_CONN_LOST;
	/* 21 cardinality (a key twice in one statement), 22 data exception,
	 * 23 integrity constraint violation */
	if (!strncmp(state, "21", 2) || !strncmp(state, "22", 2) || !strncmp(state, "23", 2))
		return PN_PG_ROW_ERROR;
	return PN_PG_FATAL;
}
