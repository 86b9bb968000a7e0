/*
 * pn_agg_emit — pn_agg's changelog: the rows of the groups that changed,
 * the expiry of groups past --ttl and of closed windows, and the
 * compaction of the entries that leaves.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_agg.h"
#include "pn_agg_entry.h"
#include "pn_json.h"

static void add_double(struct pn_buf *out, double d)
{
	char tmp[40];

	if (!isfinite(d)) {
		pn_buf_add(out, "null", 4);
		return;
	}
	/* the shortest of %.15g and %.17g that reads back the same */
	snprintf(tmp, sizeof(tmp), "%.15g", d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof(tmp), "%.17g", d);
	pn_buf_adds(out, tmp);
}

static void add_agg_value(struct pn_buf *out, const struct pn_agg_entry *e, int i,
			  const struct pn_agg_def *d)
{
	const int64_t *s = &e->slot[d->slot];

	switch (d->kind) {
	case PN_COUNT:
		pn_buf_add_i64(out, s[0]);
		return;
	case PN_SUM:
		if (!(e->flags & PN_AGG_HAS(i)))
			pn_buf_add(out, "null", 4);
		else if (e->flags & PN_AGG_FLOAT(i))
			add_double(out, (double)s[0] + pn_agg_slot_double(s[1]));
		else
			pn_buf_add_i64(out, s[0]);
		return;
	case PN_MIN:
	case PN_MAX:
		if (!(e->flags & PN_AGG_HAS(i)))
			pn_buf_add(out, "null", 4);
		else if (e->flags & PN_AGG_FLOAT(i))
			add_double(out, pn_agg_slot_double(s[0]));
		else
			pn_buf_add_i64(out, s[0]);
		return;
	case PN_COUNT_DISTINCT: {
		const struct pn_agg_strset *set = (const struct pn_agg_strset *)(intptr_t)s[0];

		pn_buf_add_u64(out, set ? set->n : 0);
		return;
	}
	case PN_LATEST: {
		const struct pn_agg_latest *l = (const struct pn_agg_latest *)(intptr_t)s[0];

		if (l)
			pn_buf_add(out, l->text, l->len);
		else
			pn_buf_add(out, "null", 4);
		return;
	}
	}
}

static void add_row(struct pn_agg *a, struct pn_buf *out, const struct pn_agg_entry *e)
{
	const char *key = a->keys.data + e->key_off;
	int first = 1;

	pn_buf_addc(out, '{');
	for (int g = 0; g < a->q->ngroups; g++) {
		size_t len = strlen(key);

		if (!first)
			pn_buf_addc(out, ',');
		first = 0;
		pn_json_add_string(out, a->q->groups[g].name, strlen(a->q->groups[g].name));
		pn_buf_addc(out, ':');
		pn_buf_add(out, key, len);
		key += len + 1;
	}
	if (a->q->window.kind != PN_WINDOW_NONE) {
		pn_buf_add(out, ",\"window_start\":", 16);
		pn_buf_add_i64(out, e->win_start);
		pn_buf_add(out, ",\"window_end\":", 14);
		pn_buf_add_i64(out, e->win_start + a->q->window.size_ms);
	}
	for (int i = 0; i < a->q->naggs; i++) {
		if (!first)
			pn_buf_addc(out, ',');
		first = 0;
		pn_json_add_string(out, a->q->aggs[i].name, strlen(a->q->aggs[i].name));
		pn_buf_addc(out, ':');
		add_agg_value(out, e, i, &a->q->aggs[i]);
	}
	if (a->row_meta.len) {
		pn_buf_addc(out, ',');
		pn_buf_add(out, a->row_meta.data, a->row_meta.len);
	}
	pn_buf_add(out, "}\n", 2);
}

/* Is the group's time over: its window closed, or not updated for --ttl? */
static int is_over(const struct pn_agg *a, const struct pn_agg_entry *e)
{
	const struct pn_query *q = a->q;

	if (q->window.kind != PN_WINDOW_NONE &&
	    e->win_start + q->window.size_ms + q->grace_ms <= a->stream_time)
		return 1;
	return pn_agg_ttl_over(a, e);
}

/*
 * Keeps the entries that are not over, moved down to fill the holes, with
 * their keys, the index and the chain of changed entries made anew.
 */
static void compact(struct pn_agg *a)
{
	struct pn_buf keys = PN_BUF_INIT;
	size_t kept = 0;

	a->dirty_head = a->dirty_tail = 0;
	for (size_t n = 0; n < a->nentries; n++) {
		struct pn_agg_entry *e = pn_agg_entry_at(a, n);

		if (is_over(a, e)) {
			pn_agg_free_slots(a, e);
			a->counts.expired++;
			continue;
		}
		if (kept != n)
			memcpy(pn_agg_entry_at(a, kept), e, a->stride);
		e = pn_agg_entry_at(a, kept++);
		pn_buf_add(&keys, a->keys.data + e->key_off, e->key_len);
		e->key_off = (uint32_t)(keys.len - e->key_len);
		if (e->flags & 1) {
			e->flags &= ~1u;
			pn_agg_mark_changed(a, e);
		}
	}
	pn_buf_release(&a->keys);
	a->keys = keys;
	a->nentries = kept;
	pn_agg_reindex(a, a->index_mask);
}

size_t pn_agg_expire(struct pn_agg *a, struct pn_buf *out)
{
	size_t over = 0, rows = 0;

	if (a->q->window.kind == PN_WINDOW_NONE && a->q->ttl_ms <= 0)
		return 0;
	for (size_t n = 0; n < a->nentries; n++) {
		struct pn_agg_entry *e = pn_agg_entry_at(a, n);

		if (!is_over(a, e))
			continue;
		over++;
		if (e->flags & 1) {
			add_row(a, out, e);
			rows++;
		}
	}
	a->counts.emitted += rows;
	if (over)
		compact(a);
	return over;
}

void pn_agg_mark_all(struct pn_agg *a)
{
	for (size_t n = 0; n < a->nentries; n++)
		pn_agg_mark_changed(a, pn_agg_entry_at(a, n));
}

size_t pn_agg_mark_since(struct pn_agg *a, int64_t since)
{
	size_t marked = 0;

	for (size_t n = 0; n < a->nentries; n++) {
		struct pn_agg_entry *e = pn_agg_entry_at(a, n);

		if (e->changed_at < 0 || e->changed_at >= since) {
			pn_agg_mark_changed(a, e);
			marked++;
		}
	}
	return marked;
}

size_t pn_agg_emit(struct pn_agg *a, struct pn_buf *out, size_t max_bytes)
{
	size_t rows = 0;

	while (a->dirty_head && out->len < max_bytes) {
		struct pn_agg_entry *e = pn_agg_entry_at(a, a->dirty_head - 1);

		add_row(a, out, e);
		e->flags &= ~1u;
		a->dirty_head = e->dirty_next;
		rows++;
	}
	if (!a->dirty_head)
		a->dirty_tail = 0;
	a->counts.emitted += rows;
	return rows;
}
