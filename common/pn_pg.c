#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "pn_clock.h"
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
	long long end = pn_now_ms() + t * 1000LL;

	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd pfd = { PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0 };
		int ms = -1;

		if (t) {
			ms = (int)(end - pn_now_ms());
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

/* A fixed key of pg_advisory_xact_lock, "pnfence" in ASCII. */
#define CREATE_LOCK "31084746396804709"

int pn_pg_create_table(PGconn *conn, const char *quoted, const char *columns,
		       const char *what, struct pn_buf *why)
{
	struct pn_buf sql = PN_BUF_INIT;
	PGresult *res;
	int rc = 0;

	pn_buf_addf(&sql, "BEGIN; SELECT pg_advisory_xact_lock(" CREATE_LOCK ");"
		    " CREATE TABLE IF NOT EXISTS %s (%s); COMMIT", quoted, columns);
	res = PQexec(conn, sql.data);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pn_buf_addf(why, "cannot create the %s table %s: ", what, quoted);
		pn_pg_result_error(res, why);
		PQclear(PQexec(conn, "ROLLBACK"));
		rc = -1;
	}
	PQclear(res);
	pn_buf_release(&sql);
	return rc;
}
