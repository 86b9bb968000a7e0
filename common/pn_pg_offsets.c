#include <stdlib.h>

#include "pn_err.h"
#include "pn_pg.h"
#include "pn_pg_offsets.h"

int pn_pg_offsets_prepare(PGconn *conn, const char *quoted, struct pn_buf *why)
{
	return pn_pg_create_table(conn, quoted, "sink text NOT NULL, topic text NOT NULL,"
				  " partition int NOT NULL, next_offset bigint NOT NULL,"
				  " PRIMARY KEY (sink, topic, partition)", "offsets", why);
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
