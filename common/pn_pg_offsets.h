/*
 * pn_pg_offsets — the offsets table: for each sink (its --table) and Kafka
 * topic-partition, the next offset to read, stored in the same transaction
 * as the rows so that the table and the offsets never disagree.  In the
 * pn_offsets entries, `start` is what the table held when the program
 * started, `appended` one past the last record taken into a batch,
 * `flushed` what is committed.  A batch is marked when it is complete,
 * with the entries whose appended passed flushed, and stores those marks
 * however often it is written, while the next batch advances appended.
 *
 * `quoted` is the table's name as SQL text (pn_pg_add_name).
 */
#ifndef PN_PG_OFFSETS_H
#define PN_PG_OFFSETS_H

#include <libpq-fe.h>

#include "pn_buf.h"
#include "pn_offsets.h"
#include "pn_pg_batch.h"

/* Marks b with t's entries whose appended passed flushed. */
void pn_pg_batch_mark(struct pn_pg_batch *b, struct pn_offsets *t);
/* Creates the table if missing; 0, or -1 with the reason in why. */
int pn_pg_offsets_prepare(PGconn *conn, const char *quoted, struct pn_buf *why);
/* Reads the sink's offsets into the entries' start (and flushed). */
int pn_pg_offsets_load(PGconn *conn, const char *quoted, const char *sink,
		       struct pn_offsets *t, struct pn_buf *why);
/* Stores b's marks; NULL, or the failed result for the caller to examine
 * and PQclear. */
PGresult *pn_pg_offsets_store(PGconn *conn, const char *quoted, const char *sink,
			      const struct pn_pg_batch *b);
/* After the commit: flushed = b's marks. */
void pn_pg_offsets_committed(const struct pn_pg_batch *b);

#endif
