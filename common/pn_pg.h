/*
 * pn_pg — a PostgreSQL session for pn: connecting through libpq, the
 * first line of an error, and what a failed command means for the one that
 * sent it (retry elsewhen, refuse a row, give up).
 *
 * The rest of pn's PostgreSQL code sits beside it, one concern a module:
 *   pn_pg_table.h    a table's columns as the catalog has them
 *   pn_pg_copy.h     JSON values as COPY text, and back
 *   pn_pg_sql.h      quoting names, the statements that merge a batch
 *   pn_pg_batch.h    the batch of rows a sink holds
 *   pn_pg_offsets.h  the table of Kafka offsets kept with the rows
 */
#ifndef PN_PG_H
#define PN_PG_H

#include <libpq-fe.h>

#include "pn_buf.h"

/*
 * Connects with a conninfo string or URI (NULL or "": the PG* environment
 * and ~/.pgpass), sets client_encoding UTF8 and TimeZone UTC.  Returns the
 * connection, or NULL after putting a one-line reason in *why (malloc'ed),
 * naming the server without any password.  *config is set when retrying
 * cannot help: options libpq refuses, a failed login, no such database.
 */
PGconn *pn_pg_connect(const char *dsn, char **why, int *config);

/* What a failed command means for the one that sent it. */
enum pn_pg_failure {
	PN_PG_OK,
	PN_PG_ROW_ERROR,	/* the data: a row the server refuses */
	PN_PG_CONN_LOST,	/* the connection or the server: retry elsewhen */
	PN_PG_FATAL,		/* anything else: retrying will not help */
};
/* The kind of failure of res (NULL when there is no result at all). */
enum pn_pg_failure pn_pg_classify(PGconn *conn, const PGresult *res);

/* The first line of the connection's last error, without the "ERROR:" tail. */
const char *pn_pg_error(PGconn *conn, struct pn_buf *tmp);
/* The first line of a result's error message. */
const char *pn_pg_result_error(const PGresult *res, struct pn_buf *tmp);

/* CREATE TABLE IF NOT EXISTS quoted (columns), under an advisory lock:
 * two sinks starting together would otherwise both try to create it and
 * one fail.  0, or -1 with "cannot create the WHAT table" in why. */
int pn_pg_create_table(PGconn *conn, const char *quoted, const char *columns,
		       const char *what, struct pn_buf *why);

#endif
