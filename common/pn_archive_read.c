#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_archive.h"
#include "pn_progress.h"
#include "pn_err.h"
#include "pn_num.h"
#include "pn_objreader.h"
#include "pn_signal.h"

/* One object of a stream's current group, read record by record. */
struct source {
	struct pn_objreader r;
	const char *line;	/* its next record, when has */
	size_t len;
	int64_t off, time;	/* the record's (when the group needs a look);
				 * time INT64_MIN: it has none */
	int has;
};

/*
 * The objects of one topic-partition, in offset order.  They are read a
 * group at a time: one object, or those whose offset ranges interleave
 * (records of one partition filed in several directories at once: by
 * {field}, or a late record's time), merged by offset.
 */
struct stream {
	const struct pn_manifest *objs;
	size_t n, next;
	struct source *src;	/* the current group */
	size_t nsrc, cap;
	int parse;		/* the group's records need a look */
	int64_t last_offset;	/* the last offset emitted */
	struct source *head;	/* where the head record is, or NULL */
	const char *line;	/* the head record */
	size_t len;
	int64_t time;		/* the head's, or the last one's for a head
				 * without a time */
	int has_head;
};

struct cat {
	struct pn_store *st;
	const struct pn_archive_filter *f;
	struct stream *s;
	size_t ns;
	int merge;		/* more than one stream at a time, by time */
	struct pn_json json;
	struct pn_buf scratch;
	struct pn_read_counts *counts;
};

/* The offset of a parsed record, or -1. */
static int64_t record_offset(const struct pn_json *j)
{
	int t = pn_json_get(j, 0, "_offset", 7);
	int64_t v;

	if (t < 0 || j->tok[t].type != PN_JSON_PRIMITIVE ||
	    pn_json_int64(j->text + j->tok[t].start, j->tok[t].end - j->tok[t].start, &v))
		return -1;
	return v;
}

/*
 * The merge needs the time (and offset) of every record.  The records were
 * checked whole when they were written and the object's hash was checked
 * when it was read, so a look at the top-level members finds them without
 * tokenizing the whole record; whatever that look does not understand
 * goes to the tokenizer.
 */
static size_t skip_ws(const char *p, size_t i, size_t n)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* The index after the string that opens at p[i], or 0. */
static size_t skip_string(const char *p, size_t i, size_t n)
{
	for (i++; i < n;) {
		const char *q = memchr(p + i, '"', n - i);
		size_t k, bs = 0;

		if (!q)
			return 0;
		i = (size_t)(q - p);
		for (k = i; k > 0 && p[k - 1] == '\\'; k--)
			bs++;
		if (!(bs & 1))	/* not escaped */
			return i + 1;
		i++;
	}
	return 0;
}

/* The index after the value that starts at p[i] (for a number or literal,
 * the ',' or '}' that ends it), or 0. */
static size_t skip_value(const char *p, size_t i, size_t n)
{
	int depth = 0;

	if (i < n && p[i] != '"' && p[i] != '{' && p[i] != '[') {
		while (i < n && p[i] != ',' && p[i] != '}')
			i++;
		return i < n ? i : 0;
	}
	while (i < n) {
		char ch = p[i];

		if (ch == '"') {
			if (!(i = skip_string(p, i, n)) || !depth)
				return i;
			continue;
		}
		if (ch == '{' || ch == '[') {
			depth++;
		} else if ((ch == '}' || ch == ']') && !--depth) {
			return i + 1;
		}
		i++;
	}
	return 0;
}

/* The values of the top-level members key[0] and key[1] (NULL: none), as
 * written, in one pass: 0, or -1 when the text is not understood.  A member
 * not there gets a NULL value. */
static int top_members(const char *p, size_t n, const char *const key[2], const char *v[2],
		       size_t vlen[2])
{
	size_t klen[2], i = skip_ws(p, 0, n), k, e;
	int want = 0;

	for (int j = 0; j < 2; j++) {
		v[j] = NULL;
		klen[j] = key[j] ? strlen(key[j]) : 0;
		want += key[j] != NULL;
	}
	if (i >= n || p[i] != '{')
		return -1;
	for (i = skip_ws(p, i + 1, n); want && i < n && p[i] == '"';) {
		int match = -1;

		if (!(k = skip_string(p, i, n)))
			return -1;
		for (int j = 0; j < 2; j++)
			if (key[j] && !v[j] && k - i - 2 == klen[j] && !memcmp(p + i + 1, key[j], klen[j]))
				match = j;
		i = skip_ws(p, k, n);
		if (i >= n || p[i] != ':')
			return -1;
		i = skip_ws(p, i + 1, n);
		if (!(e = skip_value(p, i, n)))
			return -1;
		if (match >= 0) {
			size_t t = e;

			while (t > i && (p[t - 1] == ' ' || p[t - 1] == '\t'))
				t--;
			v[match] = p + i;
			vlen[match] = t - i;
			want--;
		}
		i = skip_ws(p, e, n);
		if (i >= n || p[i] != ',')
			break;
		i = skip_ws(p, i + 1, n);
	}
	return 0;
}

/* The record's time (in an object of records with one) and offset (-1:
 * none) the quick way; -1 when the tokenizer must look. */
static int record_quick(struct cat *c, struct source *src)
{
	const struct pn_manifest *m = src->r.m;
	const char *key[2] = { m->min_time >= 0 ? m->time_field : NULL,
			       m->first_offset >= 0 ? "_offset" : NULL };
	const char *v[2];
	size_t n[2];

	if (top_members(src->line, src->len, key, v, n) || (key[0] && (!v[0] || !n[0])) ||
	    (key[1] && !v[1]))
		return -1;
	src->time = INT64_MIN;
	if (!key[0]) {
		;	/* an object of records without a time */
	} else if (*v[0] == '"') {
		if (n[0] < 2 || memchr(v[0], '\\', n[0]))
			return -1;
		pn_buf_reset(&c->scratch);
		pn_buf_add(&c->scratch, v[0] + 1, n[0] - 2);
		if (pn_parse_time(c->scratch.data, &src->time))
			return -1;
	} else if (pn_json_int64(v[0], n[0], &src->time) || src->time < 0) {
		return -1;
	}
	src->off = -1;
	if (key[1] && pn_json_int64(v[1], n[1], &src->off))
		return -1;
	return 0;
}

/* The next record of src, with a look at its time and offset when the
 * group needs one; 0 (has set or cleared at the end), else an exit
 * status. */
static int source_next(struct cat *c, struct stream *s, struct source *src)
{
	const struct pn_manifest *m = src->r.m;
	const char *why;
	int rc = pn_objreader_next(&src->r, &src->line, &src->len);

	src->has = rc == 1;
	if (rc != 1 || !s->parse || record_quick(c, src) == 0)
		return rc == 1 ? 0 : rc;
	src->time = INT64_MIN;
	if (pn_json_parse(&c->json, src->line, src->len) || !pn_json_is_object(&c->json, 0) ||
	    (m->min_time >= 0 &&
	     pn_archive_record_time(&c->json, m->time_field, &c->scratch, &src->time, &why))) {
		snprintf(src->r.why, sizeof(src->r.why), "record %llu is not what was written",
			 (unsigned long long)src->r.lines);
		pn_error("error (at %s:%llu): object is damaged: not a record of the archive",
			 m->object, (unsigned long long)src->r.lines);
		return PN_EX_DATAERR;
	}
	src->off = record_offset(&c->json);
	return 0;
}

/*
 * Opens the stream's next group of objects and reads the first record of
 * each.  Its records need a look where an object straddles the time
 * range, overlaps what came before, or must be merged with the others of
 * its group or with other streams; otherwise the object goes out whole.
 * 0, or an exit status.
 */
static int group_open(struct cat *c, struct stream *s)
{
	size_t first = s->next, k = first + 1;
	int64_t last = s->objs[first].last_offset;
	int rc;

	while (k < s->n && s->objs[k].first_offset >= 0 && s->objs[k].first_offset <= last) {
		if (s->objs[k].last_offset > last)
			last = s->objs[k].last_offset;
		k++;
	}
	if (k - first > s->cap) {
		s->src = pn_realloc(s->src, (k - first) * sizeof(*s->src));
		for (size_t i = s->cap; i < k - first; i++)
			pn_objreader_init(&s->src[i].r);
		s->cap = k - first;
	}
	s->nsrc = k - first;
	s->next = k;
	s->parse = c->merge || s->nsrc > 1 ||
		   (s->objs[first].first_offset >= 0 && s->objs[first].first_offset <= s->last_offset);
	for (size_t i = first; i < k; i++)	/* a group of none is selected whole */
		s->parse |= s->objs[i].min_time >= 0 && (s->objs[i].min_time < c->f->from ||
							 s->objs[i].max_time >= c->f->to);
	if (!s->parse && last >= 0)
		s->last_offset = last;
	for (size_t i = 0; i < s->nsrc; i++) {
		s->src[i].has = 0;
		/* a group of many objects (a {field} of many values) holds a
		 * reader each: 64 KB of records at a time each, not 1 MB */
		s->src[i].r.step = s->nsrc > 1 ? 64 << 10 : 0;
		if ((rc = pn_objreader_open(&s->src[i].r, c->st, &s->objs[first + i])))
			return rc;
		c->counts->objects++;
		if ((rc = source_next(c, s, &s->src[i])))
			return rc;
	}
	return 0;
}

/* Moves the stream to its next wanted record: the lowest offset of its
 * group, repeated offsets skipped; 0 with has_head set or cleared at the
 * end, else an exit status. */
static int stream_advance(struct cat *c, struct stream *s)
{
	struct source *best;
	int rc;

	s->has_head = 0;
	if (s->head && (rc = source_next(c, s, s->head)))	/* past the last head */
		return rc;
	s->head = NULL;
	for (;;) {
		best = NULL;
		for (size_t i = 0; i < s->nsrc; i++)
			if (s->src[i].has && (!best || s->src[i].off < best->off))
				best = &s->src[i];
		if (!best) {
			s->nsrc = 0;
			if (s->next == s->n)
				return 0;
			if ((rc = group_open(c, s)))
				return rc;
			continue;
		}
		if (!s->parse)
			break;
		if (best->off >= 0) {
			if (best->off <= s->last_offset) {
				c->counts->duplicates++;
				if ((rc = source_next(c, s, best)))
					return rc;
				continue;
			}
			s->last_offset = best->off;
		}
		if (best->time == INT64_MIN || (best->time >= c->f->from && best->time < c->f->to))
			break;
		if ((rc = source_next(c, s, best)))
			return rc;
	}
	if (s->parse && best->time != INT64_MIN)
		s->time = best->time;
	s->head = best;
	s->line = best->line;
	s->len = best->len;
	s->has_head = 1;
	return 0;
}

/*
 * The rest of an object that needs no look at its records (its group is
 * itself alone, all of it in the time range, after what came before, and
 * not merged with other streams) goes out as it is decompressed, in large
 * blocks, not record by record: cat then runs at about zstdcat's speed.
 * 0 at the object's end, -1 when the output stopped (its reader went
 * away, an error pn_out_close reports, a signal), else an exit status.
 */
static int stream_drain(struct cat *c, struct stream *s, struct pn_out *out,
			struct pn_progress *prog)
{
	struct pn_objreader *r = &s->head->r;
	uint64_t before = r->lines;
	const char *p;
	size_t n;
	int rc;

	while ((rc = pn_objreader_chunk(r, &p, &n)) == 1) {
		c->counts->records += r->lines - before;
		before = r->lines;
		pn_progress_tick(prog, c->counts->records);
		if (pn_out_write(out, p, n) < 0 || pn_stop)
			return -1;
	}
	if (rc == 0) {
		s->head->has = 0;
		s->head = NULL;
	}
	return rc;
}

/*
 * Writes the records of streams [first, end) out, merged by time when
 * there are more than one; 0 at their end or when the output stopped,
 * else an exit status.  Each stream's readers are released at its end, so
 * that streams taken one at a time hold one group in memory.
 */
static int cat_streams(struct cat *c, size_t first, size_t end, struct pn_out *out,
		       struct pn_progress *prog)
{
	struct pn_read_counts *counts = c->counts;
	int rc = 0;

	for (size_t i = first; i < end && !rc; i++)
		rc = stream_advance(c, &c->s[i]);
	while (!rc && !pn_stop && !pn_out_gone(out)) {
		struct stream *best = NULL;

		/* partitions merged by time; ties keep the catalog's order */
		for (size_t i = first; i < end; i++)
			if (c->s[i].has_head && (!best || c->s[i].time < best->time))
				best = &c->s[i];
		if (!best)
			break;
		pn_buf_add(&out->buf, best->line, best->len);
		pn_buf_addc(&out->buf, '\n');
		if (pn_out_record(out) < 0)
			break;
		counts->records++;
		pn_progress_tick(prog, counts->records);
		if (!best->parse && (rc = stream_drain(c, best, out, prog)) != 0) {
			if (rc < 0)	/* output stopped */
				rc = 0;
			break;
		}
		rc = stream_advance(c, best);
	}
	for (size_t i = first; i < end; i++) {
		for (size_t k = 0; k < c->s[i].cap; k++)
			pn_objreader_release(&c->s[i].src[k].r);
		free(c->s[i].src);
		c->s[i].src = NULL;
		c->s[i].cap = c->s[i].nsrc = 0;
	}
	return rc;
}

int pn_archive_cat(struct pn_store *st, const struct pn_catalog *cat,
		   const struct pn_archive_filter *f, enum pn_archive_order order,
		   struct pn_out *out, struct pn_read_counts *counts)
{
	struct cat c = { st, f, NULL, 0, 0, { 0 }, PN_BUF_INIT, counts };
	struct pn_progress prog;
	int rc = 0;

	pn_json_init(&c.json);
	c.s = pn_malloc((cat->n ? cat->n : 1) * sizeof(*c.s));
	for (size_t i = 0; i < cat->n;) {
		size_t k = i + 1;
		struct stream *s = &c.s[c.ns++];

		/* objects without coordinates each have their own order */
		while (k < cat->n && cat->m[i].partition >= 0 &&
		       cat->m[k].partition == cat->m[i].partition &&
		       !strcmp(cat->m[k].topic, cat->m[i].topic))
			k++;
		memset(s, 0, sizeof(*s));
		s->objs = &cat->m[i];
		s->n = k - i;
		s->last_offset = -1;
		s->time = INT64_MIN;
		i = k;
	}
	pn_progress_init(&prog);
	/* in offset order, one topic-partition after the other: objects go out
	 * whole, unless the time range cuts them or their offsets overlap */
	c.merge = order == PN_ARCHIVE_ORDER_TIME && c.ns > 1;
	if (c.merge)
		rc = cat_streams(&c, 0, c.ns, out, &prog);
	for (size_t i = 0; !c.merge && i < c.ns && !rc && !pn_stop && !pn_out_gone(out); i++)
		rc = cat_streams(&c, i, i + 1, out, &prog);
	for (size_t i = 0; i < c.ns; i++)	/* those not reached */
		free(c.s[i].src);
	pn_progress_done(&prog);
	free(c.s);
	pn_json_release(&c.json);
	pn_buf_release(&c.scratch);
	return rc;
}

/* ---- verify ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void verdict(struct pn_out *out, const char *object, const char *status, const char *why,
		    uint64_t records)
{
	pn_buf_adds(&out->buf, "{\"object\":");
	pn_json_add_string(&out->buf, object, strlen(object));
	pn_buf_adds(&out->buf, ",\"status\":");
	pn_json_add_string(&out->buf, status, strlen(status));
	if (why) {
		pn_buf_adds(&out->buf, ",\"error\":");
		pn_json_add_string(&out->buf, why, strlen(why));
	} else {
		pn_buf_adds(&out->buf, ",\"records\":");
		pn_buf_add_u64(&out->buf, records);
	}
	pn_buf_adds(&out->buf, "}\n");
	pn_out_record(out);
}

static void add_range(struct pn_out *out, const struct pn_manifest *m, const char *what,
		      int64_t from, int64_t to)
{
	pn_buf_adds(&out->buf, "{\"topic\":");
	pn_json_add_string(&out->buf, m->topic, strlen(m->topic));
	pn_buf_addf(&out->buf, ",\"partition\":%d,\"%s\":{\"from\":%lld,\"to\":%lld}}\n",
		    (int)m->partition, what, (long long)from, (long long)to);
	pn_out_record(out);
}

/* Gaps and overlaps among the offsets of one topic-partition: runs of
 * consecutive offsets archived more than once, runs of missing ones. */
static void offset_report(struct pn_out *out, const struct pn_manifest *m, int64_t *v, size_t n,
			  struct pn_read_counts *counts)
{
	int64_t dup_from = -1, dup_to = -1;

	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_i64);
	for (size_t i = 0, k; i <= n; i = k) {
		for (k = i + 1; k < n && v[k] == v[i]; k++)
			;
		/* the end of a run of repeated offsets */
		if (dup_from >= 0 && (i == n || k - i == 1 || v[i] != dup_to + 1)) {
			add_range(out, m, "overlap", dup_from, dup_to);
			pn_error("%s+%d: offsets %lld..%lld are archived more than once", m->topic,
				 (int)m->partition, (long long)dup_from, (long long)dup_to);
			counts->overlaps++;
			dup_from = -1;
		}
		if (i == n)
			break;
		if (k - i > 1) {
			if (dup_from < 0)
				dup_from = v[i];
			dup_to = v[i];
		}
		if (k < n && v[k] > v[i] + 1) {
			add_range(out, m, "gap", v[i] + 1, v[k] - 1);
			pn_error("%s+%d: offsets %lld..%lld are missing", m->topic, (int)m->partition,
				 (long long)v[i] + 1, (long long)v[k] - 1);
			counts->gaps++;
		}
	}
}

/* Whether the record's time (or its lack of one) is what the manifest
 * says: NULL, or what is wrong. */
static const char *time_mismatch(const struct pn_json *j, const struct pn_manifest *m,
				 struct pn_buf *scratch)
{
	const char *why;
	int64_t t;
	int rc = pn_archive_record_time(j, m->time_field, scratch, &t, &why);

	if (m->min_time < 0)	/* an object of records without a time */
		return rc == 1 ? NULL : "it has a time, the manifest says its records have none";
	if (rc)
		return why;
	return t < m->min_time || t > m->max_time ? "its time is outside the manifest's range" :
	       NULL;
}

/* Reads an object through, checking every record against the manifest. */
static int verify_object(struct pn_objreader *r, struct pn_store *st, const struct pn_manifest *m,
			 struct pn_json *j, struct pn_buf *scratch, int64_t **offs, size_t *noff,
			 size_t *cap)
{
	const char *line, *why;
	size_t len;
	int64_t off, prev = -1;
	int rc;

	if ((rc = pn_objreader_open(r, st, m)))
		return rc;
	while ((rc = pn_objreader_next(r, &line, &len)) == 1) {
		why = NULL;
		if (pn_json_parse(j, line, len) || !pn_json_is_object(j, 0))
			why = "not a JSON object";
		else if ((why = time_mismatch(j, m, scratch)))
			;
		else if (m->first_offset >= 0) {
			off = record_offset(j);
			if (off < 0 || (r->lines == 1 && off != m->first_offset) || off <= prev ||
			    off > m->last_offset || (r->lines == m->records && off != m->last_offset))
				why = "its offset does not match the manifest";
			prev = off;
			if (*noff == *cap) {
				*cap = *cap ? 2 * *cap : 1024;
				*offs = pn_realloc(*offs, *cap * sizeof(**offs));
			}
			(*offs)[(*noff)++] = off;
		}
		if (why) {
			snprintf(r->why, sizeof(r->why), "record %llu: %s",
				 (unsigned long long)r->lines, why);
			pn_error("error (at %s:%llu): object is damaged: %s", m->object,
				 (unsigned long long)r->lines, why);
			return PN_EX_DATAERR;
		}
	}
	return rc;
}


/* Whether m's topic-partition has an object with a damaged manifest: its
 * offsets are unknown, so no gap can be told. */
static int has_bad(const struct pn_catalog *c, const struct pn_manifest *m, struct pn_buf *tmp)
{
	int32_t partition;
	int64_t first;

	for (size_t i = 0; i < c->n_bad; i++)
		if (!pn_manifest_coords(c->bad[i], tmp, &partition, &first) &&
		    partition == m->partition && !strcmp(tmp->data, m->topic))
			return 1;
	return 0;
}

static void damaged(struct pn_out *out, const char *object, const char *why,
		    struct pn_read_counts *counts)
{
	verdict(out, object, "damaged", why, 0);
	counts->damaged++;
}

int pn_archive_verify(struct pn_store *st, const struct pn_catalog *c, struct pn_out *out,
		      struct pn_read_counts *counts)
{
	struct pn_objreader r;
	struct pn_json j;
	struct pn_buf scratch = PN_BUF_INIT;
	int64_t *offs = NULL;
	size_t noff = 0, cap = 0;
	int status = 0, tp_damaged = 0, rc;

	pn_objreader_init(&r);
	pn_json_init(&j);
	for (size_t i = 0; i < c->n_no_manifest; i++) {
		pn_error("error (at %s): no manifest (an interrupted write?)", c->no_manifest[i]);
		damaged(out, c->no_manifest[i], "no manifest", counts);
	}
	for (size_t i = 0; i < c->n_orphans; i++) {
		pn_error("error (at %s): a manifest without its object", c->orphans[i]);
		damaged(out, c->orphans[i], "a manifest without its object", counts);
	}
	for (size_t i = 0; i < c->n_bad; i++) {
		pn_buf_reset(&scratch);
		pn_buf_addf(&scratch, "bad manifest: %s", c->bad_why[i]);
		pn_error("error (at %s): %s", c->bad[i], scratch.data);
		damaged(out, c->bad[i], scratch.data, counts);
	}
	for (size_t i = 0; i < c->n && !pn_stop && !pn_out_gone(out); i++) {
		const struct pn_manifest *m = &c->m[i];

		rc = verify_object(&r, st, m, &j, &scratch, &offs, &noff, &cap);
		counts->objects++;
		if (rc && rc != PN_EX_DATAERR) {
			status = rc;	/* the store failed: no verdict possible */
			break;
		}
		if (rc) {
			damaged(out, m->object, r.why, counts);
			tp_damaged = 1;	/* its offsets are unknown: no gap report */
		} else {
			verdict(out, m->object, "ok", NULL, m->records);
			counts->records += m->records;
		}
		if (i + 1 == c->n || c->m[i + 1].partition != m->partition ||
		    strcmp(c->m[i + 1].topic, m->topic)) {
			if (m->partition >= 0 && !tp_damaged && !has_bad(c, m, &scratch))
				offset_report(out, m, offs, noff, counts);
			noff = 0;
			tp_damaged = 0;
		}
	}
	pn_objreader_release(&r);
	pn_json_release(&j);
	pn_buf_release(&scratch);
	free(offs);
	if (status)
		return status;
	if (counts->damaged)
		return PN_EX_DATAERR;
	return counts->gaps || counts->overlaps ? PN_EX_FAILED : 0;
}
