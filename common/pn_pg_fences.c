#include <stdlib.h>
#include <string.h>

#include "pn_err.h"
#include "pn_pg.h"
#include "pn_pg_fences.h"

/* The sources a statement raises at most: 4 parameters each, of 65535. */
enum { RAISE_CHUNK = 1000 };

int pn_pg_fences_prepare(PGconn *conn, const char *quoted, struct pn_buf *why)
{
	return pn_pg_create_table(conn, quoted, "sink text NOT NULL, topic text NOT NULL,"
				  " partition int NOT NULL, epoch bigint NOT NULL,"
				  " PRIMARY KEY (sink, topic, partition)", "fence", why);
}

/* Sources in the order of their keys: two sinks lock the rows of the
 * partitions they share in the same order, and never deadlock. */
static int by_key(const void *x, const void *y)
{
	const struct pn_part *a = (*(const struct pn_pg_source *const *)x)->part;
	const struct pn_part *b = (*(const struct pn_pg_source *const *)y)->part;
	int c = strcmp(a->topic, b->topic);

	return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

/* One statement for n sources (order[0..n-1]): their stored epochs. */
static PGresult *raise_some(PGconn *conn, const char *quoted, const char *sink,
			    struct pn_pg_source **order, int n)
{
	struct pn_buf sql = PN_BUF_INIT, nums = PN_BUF_INIT;
	const char **params = pn_malloc((1 + 3 * n) * sizeof(*params));
	size_t *at = pn_malloc(2 * n * sizeof(*at));
	PGresult *res;

	pn_buf_addf(&sql, "INSERT INTO %s AS f (sink, topic, partition, epoch) VALUES ", quoted);
	params[0] = sink;
	for (int i = 0; i < n; i++) {
		pn_buf_addf(&sql, "%s($1::text, $%d::text, $%d::int, $%d::bigint)", i ? ", " : "",
			    2 + 3 * i, 3 + 3 * i, 4 + 3 * i);
		at[2 * i] = nums.len;
		pn_buf_add_i64(&nums, order[i]->part->partition);
		pn_buf_addc(&nums, '\0');
		at[2 * i + 1] = nums.len;
		pn_buf_add_u64(&nums, order[i]->epoch);
		pn_buf_addc(&nums, '\0');
	}
	pn_buf_adds(&sql, " ON CONFLICT (sink, topic, partition) DO UPDATE"
		    " SET epoch = GREATEST(f.epoch, EXCLUDED.epoch) RETURNING topic, partition, epoch");
	for (int i = 0; i < n; i++) {
		params[1 + 3 * i] = order[i]->part->topic;
		params[2 + 3 * i] = nums.data + at[2 * i];
		params[3 + 3 * i] = nums.data + at[2 * i + 1];
	}
	res = PQexecParams(conn, sql.data, 1 + 3 * n, NULL, params, NULL, NULL, 0);
	for (int r = 0; PQresultStatus(res) == PGRES_TUPLES_OK && r < PQntuples(res); r++) {
		const char *topic = PQgetvalue(res, r, 0);
		int32_t partition = (int32_t)atol(PQgetvalue(res, r, 1));

		for (int i = 0; i < n; i++)
			if (order[i]->part->partition == partition &&
			    !strcmp(order[i]->part->topic, topic))
				order[i]->stored = strtoull(PQgetvalue(res, r, 2), NULL, 10);
	}
	free(params);
	free(at);
	pn_buf_release(&sql);
	pn_buf_release(&nums);
	return res;
}

PGresult *pn_pg_fences_raise(PGconn *conn, const char *quoted, const char *sink,
			     struct pn_pg_batch *b)
{
	struct pn_pg_source **order = pn_malloc(b->nsources * sizeof(*order));
	PGresult *failed = NULL;

	for (int i = 0; i < b->nsources; i++) {
		order[i] = &b->sources[i];
		order[i]->stored = order[i]->epoch;
		order[i]->fenced = 0;
	}
	qsort(order, b->nsources, sizeof(*order), by_key);
	for (int i = 0; i < b->nsources && !failed; i += RAISE_CHUNK) {
		int n = b->nsources - i < RAISE_CHUNK ? b->nsources - i : RAISE_CHUNK;
		PGresult *res = raise_some(conn, quoted, sink, order + i, n);

		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			failed = res;
		else
			PQclear(res);
	}
	free(order);
	for (size_t i = 0; i < b->nrows && !failed; i++) {
		struct pn_pg_row *w = &b->rows[i];
		struct pn_pg_source *src = w->source ? &b->sources[w->source - 1] : NULL;

		if (w->dead || !src || w->epoch >= src->stored)
			continue;
		w->dead = w->fenced = 1;
		src->fenced++;
	}
	return failed;
}
