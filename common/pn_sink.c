#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pn_clock.h"
#include "pn_err.h"
#include "pn_pg_copy.h"
#include "pn_pg_fences.h"
#include "pn_pg_offsets.h"
#include "pn_sink.h"

/* Takes res: PN_PG_OK if its status is `want`, else the kind of failure
 * with its message in s->msg. */
static int check(struct pn_sink *s, PGresult *res, ExecStatusType want)
{
	int rc = PN_PG_OK;

	if (PQresultStatus(res) != want) {
		rc = pn_pg_classify(s->conn, res);
		pn_buf_reset(&s->msg);
		if (res)
			pn_pg_result_error(res, &s->msg);
		else
			pn_pg_error(s->conn, &s->msg);
	}
	PQclear(res);
	return rc;
}

int pn_sink_exec(struct pn_sink *s, const char *sql)
{
	return check(s, PQexec(s->conn, sql), PGRES_COMMAND_OK);
}

/* The connection failed under a call that returns no result. */
static int lost(struct pn_sink *s)
{
	pn_buf_reset(&s->msg);
	pn_pg_error(s->conn, &s->msg);
	return PN_PG_CONN_LOST;
}

int pn_sink_connect(struct pn_sink *s)
{
	char *why;

	s->conn = pn_pg_connect(s->dsn, &why, &s->config);
	if (!s->conn) {
		pn_buf_reset(&s->msg);
		pn_buf_adds(&s->msg, why);
		free(why);
		return -1;
	}
	if (s->sql && pn_sink_exec(s, s->sql->temp)) {
		PQfinish(s->conn);
		s->conn = NULL;
		return -1;
	}
	return 0;
}

static void disconnect(struct pn_sink *s)
{
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
}

void pn_sink_release(struct pn_sink *s)
{
	disconnect(s);
	free(s->send_sql);
	free(s->offsets_quoted);
	free(s->fences_quoted);
	pn_buf_release(&s->msg);
}

void pn_sink_prepare(struct pn_sink *s, const struct pn_pg_sql *sql)
{
	struct pn_buf b = PN_BUF_INIT;

	s->sql = sql;
	pn_buf_addf(&b, "%s; COMMIT", sql->merge);
	s->send_sql = pn_buf_detach(&b, NULL);
	/* on failure the next batch reconnects, which makes the table again */
	if (s->conn && pn_sink_exec(s, sql->temp))
		disconnect(s);
}

/* A result of the merge: with tombstones a DELETE comes first; an update
 * returns the rows that found no row with their key. */
static int merged(struct pn_sink *s, const struct pn_pg_batch *b, PGresult *res)
{
	int tuples = PQresultStatus(res) == PGRES_TUPLES_OK;

	for (int i = 0; tuples && i < PQntuples(res); i++) {
		s->batch_absent++;
		s->on_absent(s->arg, &b->rows[strtoull(PQgetvalue(res, i, 0), NULL, 10)]);
	}
	return check(s, res, tuples ? PGRES_TUPLES_OK : PGRES_COMMAND_OK);
}

/* The batch's offsets, in its transaction. */
static int store_offsets(struct pn_sink *s, const struct pn_pg_batch *b)
{
	PGresult *res;

	if (!s->offsets_quoted)
		return PN_PG_OK;
	res = pn_pg_offsets_store(s->conn, s->offsets_quoted, s->table, b);
	return res ? check(s, res, PGRES_COMMAND_OK) : PN_PG_OK;
}

/* The fence table, made before the first batch whose rows name their
 * owners: rows without an _epoch need none. */
static int prepare_fences(struct pn_sink *s)
{
	pn_buf_reset(&s->msg);
	if (pn_pg_fences_prepare(s->conn, s->fences_quoted, &s->msg) == 0) {
		s->fences_ready = 1;
		return PN_PG_OK;
	}
	if (PQstatus(s->conn) != CONNECTION_OK)
		return PN_PG_CONN_LOST;
	pn_die(PN_EX_CONFIG, "%s", s->msg.data);
}

/* In the batch's transaction: the owners' epochs raised, the rows of older
 * owners dropped, each source of those said once. */
static int raise_fences(struct pn_sink *s, struct pn_pg_batch *b)
{
	PGresult *res;

	if (!b->nsources)
		return PN_PG_OK;
	res = pn_pg_fences_raise(s->conn, s->fences_quoted, s->table, b);
	if (res)
		return check(s, res, PGRES_TUPLES_OK);
	for (int i = 0; i < b->nsources; i++) {
		const struct pn_pg_source *src = &b->sources[i];

		if (!src->fenced)
			continue;
		s->fenced += src->fenced;
		pn_warn("%llu rows of partition %s/%d from an owner older than epoch %llu, "
			"which has written to '%s', are dropped (fenced: a stopped owner's "
			"rows after its partition moved)", (unsigned long long)src->fenced,
			src->part->topic, (int)src->part->partition,
			(unsigned long long)src->stored, s->table);
	}
	return PN_PG_OK;
}

/* An attempt's transaction, with the batch's offsets and fences in it. */
static int begin(struct pn_sink *s, struct pn_pg_batch *b)
{
	int rc;

	s->batch_absent = 0;
	if (!s->conn && pn_sink_connect(s))
		return PN_PG_CONN_LOST;
	if (b->nsources && !s->fences_ready && (rc = prepare_fences(s)))
		return rc;
	if ((rc = pn_sink_exec(s, "BEGIN")))
		return rc;
	if ((rc = store_offsets(s, b)))
		return rc;
	return raise_fences(s, b);
}

/* BEGIN, the offsets and the COPY, then the merge and COMMIT sent without
 * waiting for them: finish() collects their outcome. */
static int start(struct pn_sink *s, struct pn_pg_batch *b)
{
	int rc;

	if ((rc = begin(s, b)))
		return rc;
	if ((rc = check(s, PQexec(s->conn, "COPY pn_sink_batch FROM STDIN"), PGRES_COPY_IN)))
		return rc;
	if (pn_pg_batch_put(s->conn, b) || PQputCopyEnd(s->conn, NULL) != 1)
		return lost(s);
	rc = check(s, PQgetResult(s->conn), PGRES_COMMAND_OK);
	PQclear(PQgetResult(s->conn));	/* the COPY's end: a new command may go */
	if (rc)
		return rc;
	return PQsendQuery(s->conn, s->send_sql) ? PN_PG_OK : lost(s);
}

/* The outcome of what start() sent: the merge's results, then COMMIT's;
 * after a failure the server skips the rest. */
static int finish(struct pn_sink *s, const struct pn_pg_batch *b)
{
	int rc = PN_PG_OK, committed = 0;
	PGresult *res;

	while ((res = PQgetResult(s->conn))) {
		committed = !strcmp(PQcmdStatus(res), "COMMIT");
		if (rc)
			PQclear(res);
		else
			rc = merged(s, b, res);
	}
	return rc || committed ? rc : lost(s);
}

/* Row by row under savepoints: the rows the server refuses are reported
 * and set aside, the others written, all in one transaction. */
static int try_rows(struct pn_sink *s, struct pn_pg_batch *b)
{
	const char *vals[256];
	struct pn_buf split = PN_BUF_INIT, seq = PN_BUF_INIT;
	int rc;

	if ((rc = begin(s, b)))
		return rc;
	for (size_t i = 0; i < b->nrows && !rc; i++) {
		struct pn_pg_row *w = &b->rows[i];
		int n;

		if (w->dead)
			continue;
		/* the row's COPY text is "\tvalue...\n", after its seq */
		pn_buf_reset(&seq);
		pn_buf_add_u64(&seq, i);
		vals[0] = seq.data;
		n = 1 + pn_pg_copy_split(b->copy.data + w->copy_off + 1, w->copy_len - 2, &split,
					 vals + 1, 255);
		if ((rc = pn_sink_exec(s, "SAVEPOINT pn_row")))
			break;
		rc = check(s, PQexecParams(s->conn, s->sql->load, n, NULL, vals, NULL, NULL, 0),
			   PGRES_COMMAND_OK);
		if (!rc)
			rc = merged(s, b, PQexec(s->conn, s->sql->merge));
		if (!rc)
			rc = pn_sink_exec(s, "DELETE FROM pn_sink_batch");
		if (rc == PN_PG_ROW_ERROR) {
			s->failed++;
			w->dead = 1;
			s->on_refused(s->arg, w, b->lines.data + w->line_off, s->msg.data);
			rc = pn_sink_exec(s, "ROLLBACK TO SAVEPOINT pn_row");
		}
		if (!rc)
			rc = pn_sink_exec(s, "RELEASE SAVEPOINT pn_row");
	}
	if (!rc)
		rc = pn_sink_exec(s, "COMMIT");
	pn_buf_release(&split);
	pn_buf_release(&seq);
	return rc;
}

/* Sees b written after an attempt that ended with rc: row by row if the
 * server refused a row, whole again after reconnecting if the connection
 * was lost, as long as retry_ms allows. */
static void settle(struct pn_sink *s, struct pn_pg_batch *b, int rc)
{
	long long deadline = pn_now_ms() + s->retry_ms, wait = 100;
	int row_by_row = 0;
	size_t live = 0;

	while (rc != PN_PG_OK) {
		if (rc == PN_PG_ROW_ERROR && !row_by_row) {
			pn_info("batch refused (%s); writing it row by row", s->msg.data);
			pn_sink_exec(s, "ROLLBACK");
			row_by_row = 1;
			rc = try_rows(s, b);
			continue;
		}
		if (rc == PN_PG_ROW_ERROR || rc == PN_PG_FATAL)
			pn_die(PN_EX_FAILED, "cannot write to '%s': %s", s->table, s->msg.data);
		/* the connection is gone: the transaction with it */
		disconnect(s);
		if (pn_now_ms() >= deadline)
			pn_die(PN_EX_TEMPFAIL, "giving up on PostgreSQL after %llds: %s",
			       (long long)(s->retry_ms / 1000), s->msg.data);
		pn_warn("lost the connection (%s); retrying in %lldms", s->msg.data, wait);
		s->retries++;
		pn_sleep_ms(wait);
		wait = wait * 2 > 5000 ? 5000 : wait * 2;
		if (row_by_row)
			rc = try_rows(s, b);
		else if (!(rc = start(s, b)))
			rc = finish(s, b);
	}
	for (size_t i = 0; i < b->nrows; i++) {
		live += !b->rows[i].dead;
		s->deleted += !b->rows[i].dead && b->rows[i].tomb;
	}
	pn_pg_offsets_committed(b);
	s->written += live - s->batch_absent;
	s->absent += s->batch_absent;
	s->batches++;
	pn_pg_batch_reset(b);
}

void pn_sink_send(struct pn_sink *s, struct pn_pg_batch *b)
{
	int rc;

	pn_sink_wait(s);
	if (!b->nrows)
		return;
	if (s->offsets_quoted)
		pn_pg_batch_mark(b, s->offsets);
	rc = start(s, b);
	if (rc)
		settle(s, b, rc);
	else
		s->inflight = b;
}

void pn_sink_wait(struct pn_sink *s)
{
	struct pn_pg_batch *b = s->inflight;

	if (!b)
		return;
	s->inflight = NULL;
	settle(s, b, finish(s, b));
}
