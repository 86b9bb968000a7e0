/*
 * pn_sink — the writer of pn-sink-pg: batches of rows (pn_pg_batch) into a
 * table, one transaction each: the batch's Kafka offsets, the owner epochs
 * of its rows raised in the fence table and its rows of older owners
 * dropped (pn_pg_fences), COPY into the session's batch table, one merge
 * statement, COMMIT.
 *
 * A batch can be sent and its outcome collected later (pn_sink_send, then
 * pn_sink_wait), so that the server merges one batch while the caller
 * reads the next.  At most one batch is in flight and it is collected
 * before the next is sent, so batches commit in their order.  The caller
 * leaves a batch alone until it is collected: if it failed, it is written
 * again from its rows and its own offsets.
 *
 * Failures: a row the server refuses makes the batch run again row by row,
 * each row under a savepoint, the refused rows handed to `refused` and the
 * rest written; a lost connection is retried with backoff, the batch
 * whole, for retry_ms (then exit 75); anything else ends the program
 * (exit 1).  Since rows carry absolute values, writing a batch again is
 * harmless for upsert and update.
 */
#ifndef PN_SINK_H
#define PN_SINK_H

#include <stdint.h>

#include "pn_pg.h"
#include "pn_pg_batch.h"
#include "pn_pg_sql.h"

struct pn_sink {
	/* the caller's settings */
	const char *dsn;
	const char *table;		/* for messages; the sink of the offsets table */
	char *offsets_quoted;		/* --offsets-table, quoted, or NULL; freed */
	char *fences_quoted;		/* --fence-table, quoted; freed */
	struct pn_offsets *offsets;	/* what batches are marked from */
	enum pn_pg_mode mode;
	int64_t retry_ms;
	/* a row the server refused (its input line, w->line_len bytes, and
	 * the server's message), a row --mode update found no row for */
	void (*on_refused)(void *arg, const struct pn_pg_row *w, const char *line, const char *why);
	void (*on_absent)(void *arg, const struct pn_pg_row *w);
	void *arg;

	PGconn *conn;
	const struct pn_pg_sql *sql;	/* NULL until pn_sink_prepare */
	char *send_sql;			/* the merge, then COMMIT */
	struct pn_pg_batch *inflight;	/* sent, not yet collected */
	uint64_t batch_absent;		/* of the attempt under way */
	struct pn_buf msg;		/* the last failure */
	int config;			/* ... and no retry can mend it */
	int fences_ready;		/* the fence table exists */
	uint64_t written, absent, failed, batches, retries, deleted;
	uint64_t fenced;		/* rows of an owner older than the table's */
};

/* Connects (and makes the batch table once prepared); 0, or -1 with the
 * reason in msg and config set if it is one of configuration. */
int pn_sink_connect(struct pn_sink *s);
void pn_sink_release(struct pn_sink *s);
/* Runs one statement; PN_PG_OK, or the kind of failure with msg set. */
int pn_sink_exec(struct pn_sink *s, const char *sql);
/* The statements for the columns, once known; makes the batch table. */
void pn_sink_prepare(struct pn_sink *s, const struct pn_pg_sql *sql);

/* Marks b with the offsets and starts writing it; b is the sink's until
 * pn_sink_wait, and comes back reset. */
void pn_sink_send(struct pn_sink *s, struct pn_pg_batch *b);
/* Collects the batch in flight, if any: it is written when this returns. */
void pn_sink_wait(struct pn_sink *s);

#endif
