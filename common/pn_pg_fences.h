/*
 * pn_pg_fences — the fence table: for each sink (its --table) and source
 * topic-partition of its rows, the highest owner epoch whose rows it has
 * written.  Rows of a state kept per partition carry their owner's epoch
 * (_epoch, pn-aggregate --state DIR/); an owner that lost its partition
 * while it was stopped (a zombie) can still have rows in its pipe when it
 * wakes, no newer than the state its successor loaded.  Each batch raises
 * the epochs of its sources in its own transaction, and drops its rows of
 * an older epoch than the one stored: the check and the write commit
 * together, and the row lock the raise takes orders two sinks writing the
 * same partition.  Whichever commits first, the table ends with the newer
 * owner's values: its rows, written after the zombie's, overwrite them
 * (the new owner emits every group of a partition it takes), and the
 * zombie's, written after its rows, are dropped.
 *
 * `quoted` is the table's name as SQL text (pn_pg_add_name).
 */
#ifndef PN_PG_FENCES_H
#define PN_PG_FENCES_H

#include <libpq-fe.h>

#include "pn_buf.h"
#include "pn_pg_batch.h"

/* Creates the table if missing (under a lock, as sinks may start
 * together); 0, or -1 with the reason in why. */
int pn_pg_fences_prepare(PGconn *conn, const char *quoted, struct pn_buf *why);

/*
 * In the batch's transaction: raises the stored epoch of each of b's
 * sources to the highest of its rows, keeps the result in the source's
 * `stored`, and marks dead and fenced the live rows of an older epoch,
 * counted in the source's `fenced`.  NULL, or the failed result for the
 * caller to examine and PQclear.
 */
PGresult *pn_pg_fences_raise(PGconn *conn, const char *quoted, const char *sink,
			     struct pn_pg_batch *b);

#endif
