#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <xxhash.h>
#include <zstd.h>

#include "pn_archive.h"
#include "pn_clock.h"
#include "pn_offsets.h"
#include "pn_progress.h"
#include "pn_window.h"
#include "pn_err.h"
#include "pn_num.h"
#include "pn_record.h"
#include "pn_signal.h"

static const char DATA_SUFFIX[] = ".ndjson.zst";
static const char MANIFEST_SUFFIX[] = ".manifest.json";

enum {
	STAGE_BYTES = 128 * 1024,	/* raw bytes handed to zstd at a time */
	COMP_STEP = 64 * 1024 - 1,	/* room made for compressed bytes at a
					 * time: with pn_buf's NUL, 64 KB */
	READ_OUT_BYTES = 1 << 20,	/* decompressed at a time */
};

/* ---- manifests ---- */

void pn_manifest_name(const char *object, struct pn_buf *out)
{
	const char *b = pn_base_name(object);
	size_t n = strlen(b);

	if (pn_ends_with(b, DATA_SUFFIX))
		n -= sizeof(DATA_SUFFIX) - 1;
	pn_buf_reset(out);
	pn_buf_add(out, object, b - object);
	pn_buf_addc(out, '_');
	pn_buf_add(out, b, n);
	pn_buf_adds(out, MANIFEST_SUFFIX);
}

static void add_opt_int(struct pn_buf *b, const char *name, int64_t v)
{
	pn_buf_addf(b, ",\"%s\":", name);
	if (v < 0)
		pn_buf_adds(b, "null");
	else
		pn_buf_add_i64(b, v);
}

void pn_manifest_to_json(const struct pn_manifest *m, struct pn_buf *out)
{
	pn_buf_adds(out, "{\"object\":");
	pn_json_add_string(out, m->object, strlen(m->object));
	pn_buf_adds(out, ",\"topic\":");
	pn_json_add_string(out, m->topic, strlen(m->topic));
	add_opt_int(out, "partition", m->partition);
	add_opt_int(out, "first_offset", m->first_offset);
	add_opt_int(out, "last_offset", m->last_offset);
	pn_buf_adds(out, ",\"records\":");
	pn_buf_add_u64(out, m->records);
	pn_buf_adds(out, ",\"time_field\":");
	pn_json_add_string(out, m->time_field, strlen(m->time_field));
	pn_buf_adds(out, ",\"min_time\":");
	pn_buf_add_i64(out, m->min_time);
	pn_buf_adds(out, ",\"max_time\":");
	pn_buf_add_i64(out, m->max_time);
	pn_buf_adds(out, ",\"raw_bytes\":");
	pn_buf_add_u64(out, m->raw_bytes);
	pn_buf_adds(out, ",\"bytes\":");
	pn_buf_add_u64(out, m->bytes);
	pn_buf_addf(out, ",\"%s\":\"%016llx\"}\n", m->hash_fnv ? "fnv1a64" : "xxh64",
		    (unsigned long long)m->hash);
}

void pn_manifest_release(struct pn_manifest *m)
{
	free(m->object);
	free(m->topic);
	free(m->time_field);
	memset(m, 0, sizeof(*m));
}

static int json_int(json_t *o, const char *name, int nullable, int64_t *v)
{
	json_t *x = json_object_get(o, name);

	if (nullable && json_is_null(x)) {
		*v = -1;
		return 0;
	}
	if (!json_is_integer(x) || json_integer_value(x) < (nullable ? 0 : INT64_MIN))
		return -1;
	*v = json_integer_value(x);
	return 0;
}

/* Parses a manifest; 0, or -1 with the reason in why: jansson's, with
 * its position, for a text that is not JSON; else the member at fault. */
static int manifest_parse(const char *text, size_t len, struct pn_manifest *m,
			  struct pn_buf *why)
{
	/* nullable ones are null or from 0 (json_int), counts from 0 */
	static const struct { const char *name; int nullable, count; int64_t max; } ints[] = {
		{ "partition", 1, 0, PN_PARTITION_MAX }, { "first_offset", 1, 0, INT64_MAX },
		{ "last_offset", 1, 0, INT64_MAX - 1 }, { "records", 0, 1, INT64_MAX },
		{ "min_time", 0, 0, INT64_MAX }, { "max_time", 0, 0, INT64_MAX },
		{ "raw_bytes", 0, 1, INT64_MAX }, { "bytes", 0, 1, INT64_MAX },
	};
	json_error_t jerr;
	json_t *o = json_loadb(text, len, 0, &jerr);
	json_t *topic, *tf, *hash;
	int64_t v[8];
	int rc = -1;

	memset(m, 0, sizeof(*m));
	pn_buf_reset(why);
	if (!o) {
		pn_buf_addf(why, "not JSON: %s (at byte %d)", jerr.text, jerr.position);
		goto out;
	}
	if (!json_is_object(o)) {
		pn_buf_adds(why, "not a JSON object");
		goto out;
	}
	topic = json_object_get(o, "topic");
	tf = json_object_get(o, "time_field");
	if (!(hash = json_object_get(o, "xxh64"))) {
		hash = json_object_get(o, "fnv1a64");
		m->hash_fnv = 1;
	}
	if (!json_is_string(topic) || !json_is_string(tf)) {
		pn_buf_addf(why, "'%s' is missing or not a string", json_is_string(topic) ?
			    "time_field" : "topic");
		goto out;
	}
	if (!json_is_string(hash) || strlen(json_string_value(hash)) != 16) {
		pn_buf_adds(why, "'xxh64' is missing or not 16 hex digits");
		goto out;
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (json_int(o, ints[i].name, ints[i].nullable, &v[i]) ||
		    (ints[i].count && v[i] < 0) || v[i] > ints[i].max) {
			pn_buf_addf(why, "'%s' is missing, or not %s up to %lld", ints[i].name,
				    ints[i].nullable ? "null or an integer from 0" :
				    ints[i].count ? "an integer from 0" : "an integer",
				    (long long)ints[i].max);
			goto out;
		}
	m->first_offset = v[1];
	m->last_offset = v[2];
	m->min_time = v[4];
	m->max_time = v[5];
	if (m->first_offset > m->last_offset) {
		pn_buf_adds(why, "first_offset is after last_offset");
		goto out;
	}
	m->topic = pn_strdup(json_string_value(topic));
	m->time_field = pn_strdup(json_string_value(tf));
	m->partition = (int32_t)v[0];
	m->records = (uint64_t)v[3];
	m->raw_bytes = (uint64_t)v[6];
	m->bytes = (uint64_t)v[7];
	m->hash = strtoull(json_string_value(hash), NULL, 16);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* ---- the catalog ---- */

struct names {
	char **v;
	size_t n, cap;
};

static void names_add(struct names *s, const char *name)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = pn_realloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = pn_strdup(name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_has(const struct names *s, const char *name)
{
	return s->n && bsearch(&name, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

struct listing {
	struct names data, manifests;
};

static int classify(void *ctx, const char *rel, uint64_t size)
{
	struct listing *l = ctx;
	const char *b = pn_base_name(rel);

	(void)size;
	if (b[0] == '.')
		return 0;	/* a temp file of a write under way, or dead */
	if (b[0] == '_' && pn_ends_with(b, MANIFEST_SUFFIX))
		names_add(&l->manifests, rel);
	else if (b[0] != '_' && pn_ends_with(b, DATA_SUFFIX))
		names_add(&l->data, rel);
	return 0;
}

/* Does the object's name rule it out?  <topic>+<partition>+... */
static int name_filtered_out(const char *rel, const struct pn_archive_filter *f)
{
	const char *b = pn_base_name(rel);
	size_t k;

	if (!f->topic)
		return 0;
	k = strlen(f->topic);
	if (strncmp(b, f->topic, k) || b[k] != '+')
		return 1;
	if (f->partition >= 0) {
		char *end;
		long p = strtol(b + k + 1, &end, 10);

		return end == b + k + 1 || *end != '+' || p != f->partition;
	}
	return 0;
}

static int manifest_selected(const struct pn_manifest *m, const struct pn_archive_filter *f)
{
	if (f->topic && strcmp(m->topic, f->topic))
		return 0;
	if (f->partition >= 0 && m->partition != f->partition)
		return 0;
	return m->max_time >= f->from && m->min_time < f->to;
}

static int cmp_manifest(const void *a, const void *b)
{
	const struct pn_manifest *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	if (c)
		return c;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	if (x->first_offset != y->first_offset)
		return x->first_offset < y->first_offset ? -1 : 1;
	if (x->min_time != y->min_time)
		return x->min_time < y->min_time ? -1 : 1;
	return strcmp(x->object, y->object);
}

static void names_release(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

int pn_catalog_load(struct pn_store *st, const struct pn_archive_filter *f,
		    struct pn_catalog *c)
{
	struct listing l = { { NULL, 0, 0 }, { NULL, 0, 0 } };
	struct names none = { NULL, 0, 0 }, orphans = { NULL, 0, 0 };
	struct names bad = { NULL, 0, 0 }, bad_why = { NULL, 0, 0 };
	struct pn_buf name = PN_BUF_INIT, text = PN_BUF_INIT, why = PN_BUF_INIT;
	size_t cap = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = pn_store_list(st, classify, &l);
	if (rc)
		goto out;
	if (l.data.n > 1)
		qsort(l.data.v, l.data.n, sizeof(char *), cmp_str);
	if (l.manifests.n > 1)
		qsort(l.manifests.v, l.manifests.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < l.manifests.n; i++) {
		const char *b = pn_base_name(l.manifests.v[i]);
		struct pn_buf obj = PN_BUF_INIT;

		pn_buf_add(&obj, l.manifests.v[i], b - l.manifests.v[i]);
		pn_buf_add(&obj, b + 1, strlen(b + 1) - (sizeof(MANIFEST_SUFFIX) - 1));
		pn_buf_adds(&obj, DATA_SUFFIX);
		if (!names_has(&l.data, obj.data) && !name_filtered_out(obj.data, f))
			names_add(&orphans, l.manifests.v[i]);
		pn_buf_release(&obj);
	}
	for (size_t i = 0; i < l.data.n && !pn_stop; i++) {
		struct pn_manifest m;

		if (name_filtered_out(l.data.v[i], f))
			continue;
		pn_manifest_name(l.data.v[i], &name);
		if (!names_has(&l.manifests, name.data)) {
			names_add(&none, l.data.v[i]);
			continue;
		}
		if ((rc = pn_store_get(st, name.data, &text)))
			goto out;
		if (manifest_parse(text.data, text.len, &m, &why)) {
			/* one damaged manifest: that object is unknown, not the rest */
			pn_manifest_release(&m);
			names_add(&bad, l.data.v[i]);
			names_add(&bad_why, why.data);
			continue;
		}
		m.object = pn_strdup(l.data.v[i]);
		if (!manifest_selected(&m, f)) {
			pn_manifest_release(&m);
			continue;
		}
		if (c->n == cap) {
			cap = cap ? 2 * cap : 64;
			c->m = pn_realloc(c->m, cap * sizeof(*c->m));
		}
		c->m[c->n++] = m;
	}
	if (c->n > 1)
		qsort(c->m, c->n, sizeof(*c->m), cmp_manifest);
out:
	c->no_manifest = none.v;
	c->n_no_manifest = none.n;
	c->orphans = orphans.v;
	c->n_orphans = orphans.n;
	c->bad = bad.v;
	c->bad_why = bad_why.v;
	c->n_bad = bad.n;
	names_release(&l.data);
	names_release(&l.manifests);
	pn_buf_release(&name);
	pn_buf_release(&text);
	pn_buf_release(&why);
	return rc;
}

void pn_catalog_release(struct pn_catalog *c)
{
	for (size_t i = 0; i < c->n_bad; i++) {
		free(c->bad[i]);
		free(c->bad_why[i]);
	}
	free(c->bad);
	free(c->bad_why);
	for (size_t i = 0; i < c->n; i++)
		pn_manifest_release(&c->m[i]);
	free(c->m);
	for (size_t i = 0; i < c->n_no_manifest; i++)
		free(c->no_manifest[i]);
	free(c->no_manifest);
	for (size_t i = 0; i < c->n_orphans; i++)
		free(c->orphans[i]);
	free(c->orphans);
	memset(c, 0, sizeof(*c));
}

/* ---- reading an object ---- */

void pn_objreader_init(struct pn_objreader *r)
{
	memset(r, 0, sizeof(*r));
}

void pn_objreader_release(struct pn_objreader *r)
{
	ZSTD_freeDCtx(r->dctx);
	pn_buf_release(&r->comp);
	pn_buf_release(&r->out);
	memset(r, 0, sizeof(*r));
}

static int corrupt(struct pn_objreader *r, const char *fmt, const char *detail)
{
	snprintf(r->why, sizeof(r->why), fmt, detail);
	pn_error("error (at %s): object is damaged: %s", r->m->object, r->why);
	return PN_EX_DATAERR;
}

/* The manifest's checksum of the compressed bytes: XXH64 with seed 0, what
 * `xxhsum` prints; FNV-1a 64 in archives written before, which hashed at
 * a byte per step and took an eighth of cat's time. */
static uint64_t object_hash(const struct pn_manifest *m, const void *p, size_t n)
{
	return m->hash_fnv ? pn_hash64(PN_HASH64_INIT, p, n) : XXH64(p, n, 0);
}

int pn_objreader_open(struct pn_objreader *r, struct pn_store *st, const struct pn_manifest *m)
{
	char detail[128];
	uint64_t h;
	int rc;

	r->m = m;
	r->comp_pos = 0;
	r->pos = 0;
	r->frame_done = 0;
	r->lines = 0;
	pn_buf_reset(&r->out);
	if (!r->dctx && !(r->dctx = ZSTD_createDCtx()))
		pn_die(PN_EX_FAILED, "out of memory starting zstd");
	ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
	r->why[0] = '\0';
	if ((rc = pn_store_get(st, m->object, &r->comp))) {
		snprintf(r->why, sizeof(r->why), "cannot be read");
		return rc;
	}
	if (r->comp.len != m->bytes) {
		snprintf(detail, sizeof(detail), "%zu bytes, the manifest says %llu",
			 r->comp.len, (unsigned long long)m->bytes);
		return corrupt(r, "%s", detail);
	}
	h = object_hash(m, r->comp.data, r->comp.len);
	if (h != m->hash) {
		snprintf(detail, sizeof(detail), "checksum %016llx, the manifest says %016llx",
			 (unsigned long long)h, (unsigned long long)m->hash);
		return corrupt(r, "%s", detail);
	}
	return 0;
}

/* Decompresses more into r->out, keeping the unread tail; 1 more data,
 * 0 the end, else an exit status. */
static int objreader_fill(struct pn_objreader *r)
{
	size_t rest = r->out.len - r->pos;
	ZSTD_inBuffer in = { r->comp.data, r->comp.len, r->comp_pos };
	ZSTD_outBuffer outb;
	size_t ret;

	if (r->pos) {
		memmove(r->out.data, r->out.data + r->pos, rest);
		r->out.len = rest;
		r->pos = 0;
	}
	if (in.pos == in.size)
		return 0;
	pn_buf_grow(&r->out, READ_OUT_BYTES);
	outb.dst = r->out.data + r->out.len;
	outb.size = r->out.cap - r->out.len - 1;
	outb.pos = 0;
	/* after the end of a frame, the next one (an object of many frames) */
	ret = ZSTD_decompressStream(r->dctx, &outb, &in);
	if (ZSTD_isError(ret))
		return corrupt(r, "zstd: %s", ZSTD_getErrorName(ret));
	r->comp_pos = in.pos;
	r->out.len += outb.pos;
	r->out.data[r->out.len] = '\0';
	r->frame_done = ret == 0;
	return 1;
}

/* The checks at the end of an object: 0, or an exit status. */
static int objreader_end(struct pn_objreader *r)
{
	char detail[128];

	if (!r->frame_done)
		return corrupt(r, "%s", "the zstd frame is truncated");
	if (r->out.len)
		return corrupt(r, "%s", "the last record has no newline");
	if (r->lines != r->m->records) {
		snprintf(detail, sizeof(detail), "%llu records, the manifest says %llu",
			 (unsigned long long)r->lines, (unsigned long long)r->m->records);
		return corrupt(r, "%s", detail);
	}
	return 0;
}

int pn_objreader_next(struct pn_objreader *r, const char **line, size_t *len)
{
	for (;;) {
		char *start = r->out.len > r->pos ? r->out.data + r->pos : NULL;
		char *nl = start ? memchr(start, '\n', r->out.len - r->pos) : NULL;
		int rc;

		if (nl) {
			*line = start;
			*len = (size_t)(nl - start);
			r->pos += *len + 1;
			r->lines++;
			return 1;
		}
		if ((rc = objreader_fill(r)) != 1)
			return rc ? rc : objreader_end(r);
	}
}

/* The number of '\n' in p[0..n), and the index after the last one (0:
 * none). */
static uint64_t count_lines(const char *p, size_t n, size_t *end)
{
	const char *q = p, *stop = p + n;
	uint64_t k = 0;

	*end = 0;
	while (q < stop && (q = memchr(q, '\n', (size_t)(stop - q)))) {
		k++;
		q++;
		*end = (size_t)(q - p);
	}
	return k;
}

int pn_objreader_chunk(struct pn_objreader *r, const char **p, size_t *len)
{
	for (;;) {
		int rc;

		if (r->out.len > r->pos) {
			const char *start = r->out.data + r->pos;
			uint64_t k = count_lines(start, r->out.len - r->pos, len);

			if (k) {
				*p = start;
				r->pos += *len;
				r->lines += k;
				return 1;
			}
		}
		if ((rc = objreader_fill(r)) != 1)
			return rc ? rc : objreader_end(r);
	}
}

/* pn_record_time of the value at token t (-1: none). */
static int record_time_at(const struct pn_json *j, int t, struct pn_buf *scratch, int64_t *ms,
			  const char **why)
{
	if (t < 0) {
		*why = "no time field to partition by (see --time-field)";
		return -1;
	}
	/* the times pn-aggregate reads; none before 1970, whose partition
	 * arithmetic would need floor division */
	if (pn_event_time(j, t, scratch, ms) == 0 && *ms >= 0)
		return 0;
	*why = "the time field is not an epoch time (s or ms) or an ISO 8601 time";
	return -1;
}

int pn_record_time(const struct pn_json *j, const char *field, struct pn_buf *scratch,
		   int64_t *ms, const char **why)
{
	return record_time_at(j, pn_json_get(j, 0, field, strlen(field)), scratch, ms, why);
}

/* ---- writing ---- */

/* One object being written. */
struct wobj {
	char *topic;
	int32_t partition;
	int64_t bucket;		/* time / granularity */
	ZSTD_CCtx *cctx;
	struct pn_buf stage;	/* raw lines not yet compressed */
	struct pn_store_file file;	/* compressed bytes go to file.buf */
	struct pn_manifest m;
	XXH64_state_t *hash;	/* of the compressed bytes so far */
	uint64_t last_use;
	long long opened_ms;
};

/* The last offset written of each topic-partition, to skip redeliveries. */
struct tp_last {
	char *topic;
	int32_t partition;
	int64_t offset;
};

struct pn_writer {
	struct pn_store *st;
	struct pn_writer_opts o;
	ZSTD_CCtx *shared;	/* of the objects without their own */
	int64_t granularity_ms;
	struct wobj **obj;
	int nobj;
	int last;		/* index of the object used last */
	struct tp_last *tp;
	size_t ntp, tp_cap, tp_hit;
	uint64_t use_clock, seq;
	struct pn_buf topic, scratch, path;
	struct pn_writer_counts counts;
	/* the fields a record is filed by, looked up once per shape:
	 * _topic, _partition, _offset and the time field */
	const char *names[4];
	size_t lens[4];
	int val[4], time_val;
	struct pn_json_memo memo;
};

/* The finest unit of time the pattern's conversions show. */
static int64_t pattern_granularity(const char *pat)
{
	int64_t g = 86400000;

	for (const char *p = strchr(pat, '%'); p && p[1]; p = strchr(p + 2, '%')) {
		char c = p[1];

		if (c == '%')
			continue;
		if (strchr("YmdjFyeDCGgUVWuwaAbBh", c))
			continue;
		if (strchr("HkIlp", c)) {
			if (g > 3600000)
				g = 3600000;
		} else if (c == 'M') {
			if (g > 60000)
				g = 60000;
		} else {
			g = 1000;
		}
	}
	return g;
}

struct pn_writer *pn_writer_new(struct pn_store *st, const struct pn_writer_opts *o)
{
	struct pn_writer *w = pn_malloc(sizeof(*w));

	memset(w, 0, sizeof(*w));
	w->st = st;
	w->o = *o;
	w->granularity_ms = pattern_granularity(o->pattern);
	w->names[0] = "_topic";
	w->names[1] = "_partition";
	w->names[2] = "_offset";
	w->names[3] = o->time_field;
	for (int i = 0; i < 4; i++)
		w->lens[i] = strlen(w->names[i]);
	/* a time field that is one of the others is found under that name */
	for (w->time_val = 0; strcmp(w->names[w->time_val], o->time_field); w->time_val++)
		;
	w->obj = pn_malloc(sizeof(*w->obj) * (size_t)o->max_open);
	return w;
}

/* The reason a relative path would leave the directory it is relative
 * to, or NULL: a leading '/', or a segment "..". */
static const char *path_escapes(const char *p)
{
	if (*p == '/')
		return "is not relative";
	for (const char *seg = p; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
		if (!strncmp(seg, "..", 2) && (seg[2] == '/' || !seg[2]))
			return "has a '..' segment";
	return NULL;
}

int pn_archive_pattern_check(const char *pattern, const char **why)
{
	*why = path_escapes(pattern);
	return *why ? -1 : 0;
}

/* Expands {topic}, {partition} and strftime conversions at time t into
 * w->path; 0, or -1 with *why when the result is too long or leaves DEST
 * (a topic or a conversion can make a ".." the pattern did not show). */
static int expand_pattern(struct pn_writer *w, const char *topic, int32_t partition,
			  int64_t t_ms, const char **why)
{
	struct pn_buf fmt = PN_BUF_INIT, *out = &w->path;
	time_t t = (time_t)(t_ms >= 0 ? t_ms / 1000 : (t_ms - 999) / 1000);
	struct tm tm;
	char res[1024];
	size_t n;
	int empty;

	for (const char *p = w->o.pattern; *p; p++) {
		if (!strncmp(p, "{topic}", 7)) {
			for (const char *s = topic; *s; s++) {
				if (*s == '%')
					pn_buf_addc(&fmt, '%');
				pn_buf_addc(&fmt, *s);
			}
			p += 6;
		} else if (!strncmp(p, "{partition}", 11)) {
			if (partition >= 0)
				pn_buf_addf(&fmt, "%d", (int)partition);
			else
				pn_buf_adds(&fmt, "none");
			p += 10;
		} else {
			pn_buf_addc(&fmt, *p);
		}
	}
	gmtime_r(&t, &tm);
	n = fmt.len ? strftime(res, sizeof(res), fmt.data, &tm) : 0;
	empty = !fmt.len;
	pn_buf_release(&fmt);
	pn_buf_reset(out);
	if (!empty && !n) {	/* strftime's answer when res is too small */
		*why = "the --partition-by directories are longer than 1023 bytes";
		return -1;
	}
	pn_buf_add(out, res, n);
	while (out->len && out->data[out->len - 1] == '/')
		out->data[--out->len] = '\0';
	if (out->len && path_escapes(out->data)) {
		*why = "the --partition-by directories leave the archive (a '..' segment)";
		return -1;
	}
	return 0;
}

/*
 * While at most this many objects are open, each compresses on two worker
 * threads of its own, as one frame: about 13 MB each.  Past it (a topic of
 * many partitions), every object goes on as a frame per stage from the
 * writer's one shared context: about 0.2 MB per open object, against 0.9
 * MB with a small context each, the way 64 partitions were written before;
 * the archive comes out about 1% larger than zstd -3's, measured on 64
 * partitions.  Two: a single partition has two objects open for a while
 * when its records pass into the next time partition.
 */
enum { FEW_OBJECTS = 2 };

static ZSTD_CCtx *new_cctx(int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!c)
		pn_die(PN_EX_FAILED, "out of memory starting zstd");
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	return c;
}

/* The context of the objects that are a frame per stage. */
static ZSTD_CCtx *shared_cctx(struct pn_writer *w)
{
	if (!w->shared)
		w->shared = new_cctx(w->o.level);
	return w->shared;
}

/*
 * Compresses the staged lines; with end, the end of the object.  An object
 * with its own context is one frame; one without (one of many open at
 * once) is a frame per stage, made with the writer's shared context, which
 * is why many open objects cost little more than their stage each.
 */
static int wobj_compress(struct pn_writer *w, struct wobj *o, int end)
{
	struct pn_buf *comp = &o->file.buf;
	ZSTD_inBuffer in = { o->stage.data, o->stage.len, 0 };
	ZSTD_CCtx *cctx = o->cctx ? o->cctx : shared_cctx(w);
	ZSTD_EndDirective mode = end || !o->cctx ? ZSTD_e_end : ZSTD_e_continue;
	size_t ret;

	if (!o->cctx && !in.size)
		return 0;	/* no empty frame at the end */
	do {
		ZSTD_outBuffer out;

		pn_buf_grow(comp, COMP_STEP);
		out.dst = comp->data + comp->len;
		out.size = comp->cap - comp->len - 1;
		out.pos = 0;
		ret = ZSTD_compressStream2(cctx, &out, &in, mode);
		if (ZSTD_isError(ret))
			pn_die(PN_EX_FAILED, "zstd: %s", ZSTD_getErrorName(ret));
		XXH64_update(o->hash, comp->data + comp->len, out.pos);
		o->m.bytes += out.pos;
		comp->len += out.pos;
	} while (mode == ZSTD_e_end ? ret != 0 : in.pos < in.size);
	pn_buf_reset(&o->stage);
	return end ? 0 : pn_store_file_flush(w->st, &o->file);
}

/* Frees it; a file not committed is abandoned (its temp file removed,
 * its upload aborted). */
static void wobj_free(struct pn_writer *w, struct wobj *o)
{
	pn_store_file_abort(w->st, &o->file);
	ZSTD_freeCCtx(o->cctx);
	XXH64_freeState(o->hash);
	pn_buf_release(&o->stage);
	free(o->topic);
	pn_manifest_release(&o->m);
	free(o);
}

/* Many objects open: those with a context of their own end their frame
 * there and go on a frame per stage. */
static void share_contexts(struct pn_writer *w)
{
	for (int i = 0; i < w->nobj; i++) {
		struct wobj *o = w->obj[i];

		if (o->cctx) {
			wobj_compress(w, o, 1);
			ZSTD_freeCCtx(o->cctx);
			o->cctx = NULL;
		}
	}
}

static struct wobj *wobj_open(struct pn_writer *w, const char *topic, int32_t partition,
			      int64_t bucket, int64_t offset, int64_t t_ms, int *rc)
{
	struct wobj *o = pn_malloc(sizeof(*o));
	struct pn_buf rel = PN_BUF_INIT;

	memset(o, 0, sizeof(*o));
	o->file.fd = -1;
	o->topic = pn_strdup(topic);
	o->partition = partition;
	o->bucket = bucket;
	/* w->path: the caller expanded the pattern */
	pn_buf_add(&rel, w->path.data ? w->path.data : "", w->path.len);
	if (rel.len)
		pn_buf_addc(&rel, '/');
	if (offset >= 0)
		pn_buf_addf(&rel, "%s+%d+%010lld%s", topic, (int)partition, (long long)offset,
			    DATA_SUFFIX);
	else	/* no coordinates: unique, not repeatable */
		pn_buf_addf(&rel, "%s+%s+%lld-%ld-%llu%s", topic,
			    partition >= 0 ? "p" : "none", (long long)time(NULL), (long)getpid(),
			    (unsigned long long)++w->seq, DATA_SUFFIX);
	o->m.object = pn_buf_detach(&rel, NULL);
	if (w->nobj < FEW_OBJECTS) {
		/* compression on worker threads while this one parses; with one
		 * worker (the zstd CLI's default) the caller waits on it more
		 * often, two gave the better wall time here for about the same
		 * CPU, measured; 1 MB jobs keep the memory per object small */
		o->cctx = new_cctx(w->o.level);
		ZSTD_CCtx_setParameter(o->cctx, ZSTD_c_nbWorkers, 2);
		ZSTD_CCtx_setParameter(o->cctx, ZSTD_c_jobSize, 1 << 20);
	} else {
		share_contexts(w);
	}
	o->m.topic = pn_strdup(topic);
	o->m.time_field = pn_strdup(w->o.time_field);
	o->m.partition = partition;
	o->m.first_offset = offset;
	o->m.last_offset = offset;
	o->m.min_time = o->m.max_time = t_ms;
	if (!(o->hash = XXH64_createState()) || XXH64_reset(o->hash, 0) != XXH_OK)
		pn_die(PN_EX_FAILED, "out of memory starting xxhash");
	o->opened_ms = pn_now_ms();
	if ((*rc = pn_store_file_open(w->st, &o->file, o->m.object))) {
		wobj_free(w, o);
		return NULL;
	}
	pn_info("opened '%s'", o->m.object);
	return o;
}

/* Finishes the object: the data, then its manifest. */
static int wobj_commit(struct pn_writer *w, struct wobj *o)
{
	struct pn_buf name = PN_BUF_INIT, text = PN_BUF_INIT;
	int rc;

	if (!(rc = wobj_compress(w, o, 1)) && !(rc = pn_store_file_commit(w->st, &o->file))) {
		o->m.hash = XXH64_digest(o->hash);
		pn_manifest_name(o->m.object, &name);
		pn_manifest_to_json(&o->m, &text);
		rc = pn_store_put(w->st, name.data, text.data, text.len);
	}
	if (!rc) {
		w->counts.objects++;
		w->counts.bytes += o->m.bytes;
		pn_info("wrote '%s': %llu records, %llu bytes", o->m.object,
			(unsigned long long)o->m.records, (unsigned long long)o->m.bytes);
	}
	pn_buf_release(&name);
	pn_buf_release(&text);
	return rc;
}

/* Commits object i and takes it out of the open set. */
static int close_obj(struct pn_writer *w, int i)
{
	struct wobj *o = w->obj[i];
	int rc = wobj_commit(w, o);

	wobj_free(w, o);
	w->obj[i] = w->obj[--w->nobj];
	w->last = 0;
	return rc;
}

static struct tp_last *tp_find(struct pn_writer *w, const char *topic, int32_t partition)
{
	struct tp_last *t;

	if (w->ntp && w->tp[w->tp_hit].partition == partition &&
	    !strcmp(w->tp[w->tp_hit].topic, topic))
		return &w->tp[w->tp_hit];
	for (size_t i = 0; i < w->ntp; i++)
		if (w->tp[i].partition == partition && !strcmp(w->tp[i].topic, topic)) {
			w->tp_hit = i;
			return &w->tp[i];
		}
	if (w->ntp == w->tp_cap) {
		w->tp_cap = w->tp_cap ? 2 * w->tp_cap : 16;
		w->tp = pn_realloc(w->tp, w->tp_cap * sizeof(*w->tp));
	}
	t = &w->tp[w->ntp];
	t->topic = pn_strdup(topic);
	t->partition = partition;
	t->offset = -1;
	w->tp_hit = w->ntp++;
	return t;
}

int pn_writer_add(struct pn_writer *w, const struct pn_json *j, const char *line, size_t len,
		  const char **why)
{
	int t_tok, p_tok, o_tok;
	int32_t partition = -1;
	int64_t offset = -1, t_ms, bucket;
	struct wobj *o = NULL;
	int pos, rc = 0, i;

	pn_json_members_memo(j, w->names, w->lens, 4, w->val, &w->memo);
	t_tok = w->val[0];
	p_tok = w->val[1];
	o_tok = w->val[2];
	pos = pn_record_position(j, t_tok, p_tok, o_tok, &w->topic, &partition, &offset, why);
	if (pos < 0)
		return -1;
	if (pos == 0) {
		partition = -1;
		offset = -1;
		pn_buf_reset(&w->topic);
		if (t_tok >= 0 && j->tok[t_tok].type == PN_JSON_STRING)
			pn_json_unescape(j->text + j->tok[t_tok].start,
					 j->tok[t_tok].end - j->tok[t_tok].start, &w->topic);
		else if (w->o.topic)
			pn_buf_adds(&w->topic, w->o.topic);
		if (!w->topic.len) {
			*why = "no _topic field (give --topic for records without one)";
			return -1;
		}
		if (!pn_topic_valid(w->topic.data, w->topic.len)) {
			*why = "field '_topic' must be a topic name (no NUL or control character)";
			return -1;
		}
	}
	if (strchr(w->topic.data, '/') || w->topic.data[0] == '.' || w->topic.data[0] == '_') {
		*why = "the topic name cannot be part of an object name";
		return -1;
	}
	if (record_time_at(j, w->val[w->time_val], &w->scratch, &t_ms, why))
		return -1;
	if (offset >= 0) {
		struct tp_last *tp = tp_find(w, w->topic.data, partition);

		if (offset <= tp->offset) {
			w->counts.duplicates++;
			return 1;
		}
		tp->offset = offset;
	}
	bucket = t_ms / w->granularity_ms;
	if (w->nobj && w->obj[w->last]->bucket == bucket &&
	    w->obj[w->last]->partition == partition && !strcmp(w->obj[w->last]->topic, w->topic.data))
		o = w->obj[w->last];
	for (i = 0; !o && i < w->nobj; i++)
		if (w->obj[i]->bucket == bucket && w->obj[i]->partition == partition &&
		    !strcmp(w->obj[i]->topic, w->topic.data)) {
			o = w->obj[i];
			w->last = i;
		}
	if (o && (o->m.records >= w->o.max_records ||
		  o->m.raw_bytes + len + 1 > w->o.max_bytes)) {
		if ((rc = close_obj(w, w->last)))
			return rc;
		o = NULL;
	}
	if (!o) {
		/* the partition has moved on in time: what is two units of the
		 * pattern behind is done (late records get an object of their own) */
		for (i = 0; i < w->nobj;)
			if (w->obj[i]->bucket < bucket - 1 && w->obj[i]->partition == partition &&
			    !strcmp(w->obj[i]->topic, w->topic.data)) {
				if ((rc = close_obj(w, i)))
					return rc;
			} else {
				i++;
			}
		if (w->nobj == w->o.max_open) {	/* the least recently used goes */
			int lru = 0;

			for (i = 1; i < w->nobj; i++)
				if (w->obj[i]->last_use < w->obj[lru]->last_use)
					lru = i;
			if ((rc = close_obj(w, lru)))
				return rc;
		}
		if (expand_pattern(w, w->topic.data, partition, t_ms, why))
			return -1;
		o = wobj_open(w, w->topic.data, partition, bucket, offset, t_ms, &rc);
		if (!o)
			return rc;
		w->last = w->nobj;
		w->obj[w->nobj++] = o;
	}
	o->last_use = ++w->use_clock;
	/* the stage stays within STAGE_BYTES (its buffer too: pn_buf doubles) */
	if (o->stage.len && o->stage.len + len + 2 > STAGE_BYTES && (rc = wobj_compress(w, o, 0)))
		return rc;
	pn_buf_add(&o->stage, line, len);
	pn_buf_addc(&o->stage, '\n');
	o->m.records++;
	o->m.raw_bytes += len + 1;
	if (offset >= 0)
		o->m.last_offset = offset;
	if (t_ms < o->m.min_time)
		o->m.min_time = t_ms;
	if (t_ms > o->m.max_time)
		o->m.max_time = t_ms;
	w->counts.records++;
	w->counts.raw_bytes += len + 1;
	return 0;
}

int pn_writer_tick(struct pn_writer *w)
{
	long long now = pn_now_ms();
	int rc;

	if (w->o.max_age_ms <= 0)
		return 0;
	for (int i = 0; i < w->nobj;)
		if (now - w->obj[i]->opened_ms >= w->o.max_age_ms) {
			if ((rc = close_obj(w, i)))
				return rc;
		} else {
			i++;
		}
	return 0;
}

int pn_writer_finish(struct pn_writer *w)
{
	int rc;

	while (w->nobj)
		if ((rc = close_obj(w, w->nobj - 1)))
			return rc;
	return 0;
}

const struct pn_writer_counts *pn_writer_counts(const struct pn_writer *w)
{
	return &w->counts;
}

void pn_writer_free(struct pn_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->nobj; i++)
		wobj_free(w, w->obj[i]);
	for (size_t i = 0; i < w->ntp; i++)
		free(w->tp[i].topic);
	free(w->tp);
	free(w->obj);
	ZSTD_freeCCtx(w->shared);
	pn_buf_release(&w->topic);
	pn_buf_release(&w->scratch);
	pn_buf_release(&w->path);
	free(w);
}

/* ---- cat ---- */

/* The objects of one topic-partition, read one after the other. */
struct stream {
	const struct pn_manifest *objs;
	size_t n, next;
	struct pn_objreader r;
	int parse;		/* the current object's records need a look */
	int64_t last_offset;	/* the last offset emitted */
	const char *line;	/* the head record */
	size_t len;
	int64_t time;
	int has_head;
};

struct cat {
	struct pn_store *st;
	const struct pn_archive_filter *f;
	struct stream *s;
	size_t ns;
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

/* The head record's time and offset (-1: none) the quick way; -1 when the
 * tokenizer must look. */
static int head_quick(struct cat *c, struct stream *s, int64_t *off)
{
	const struct pn_manifest *m = s->r.m;
	const char *key[2] = { m->time_field, m->first_offset >= 0 ? "_offset" : NULL };
	const char *v[2];
	size_t n[2];

	if (top_members(s->line, s->len, key, v, n) || !v[0] || !n[0] || (key[1] && !v[1]))
		return -1;
	if (*v[0] == '"') {
		if (n[0] < 2 || memchr(v[0], '\\', n[0]))
			return -1;
		pn_buf_reset(&c->scratch);
		pn_buf_add(&c->scratch, v[0] + 1, n[0] - 2);
		if (pn_parse_time(c->scratch.data, &s->time))
			return -1;
	} else if (pn_json_int64(v[0], n[0], &s->time) || s->time < 0) {
		return -1;
	}
	*off = -1;
	if (key[1] && pn_json_int64(v[1], n[1], off))
		return -1;
	return 0;
}

/* Moves the stream to its next wanted record; 0 with has_head set or
 * cleared at the end, else an exit status. */
static int stream_advance(struct cat *c, struct stream *s)
{
	const char *why;
	int rc;

	s->has_head = 0;
	for (;;) {
		const struct pn_manifest *m;
		int64_t off;

		if (!s->r.m) {
			if (s->next == s->n)
				return 0;
			m = &s->objs[s->next++];
			if ((rc = pn_objreader_open(&s->r, c->st, m)))
				return rc;
			c->counts->objects++;
			/* a look at each record only where the object straddles the
			 * time range, overlaps what came before, or must be merged */
			s->parse = c->ns > 1 || m->min_time < c->f->from || m->max_time >= c->f->to ||
				   (m->first_offset >= 0 && m->first_offset <= s->last_offset);
			if (!s->parse && m->last_offset >= 0)
				s->last_offset = m->last_offset;
		}
		rc = pn_objreader_next(&s->r, &s->line, &s->len);
		if (rc == 0) {
			s->r.m = NULL;
			continue;
		}
		if (rc != 1)
			return rc;
		if (!s->parse)
			break;
		if (head_quick(c, s, &off) == 0) {
			;
		} else if (pn_json_parse(&c->json, s->line, s->len) ||
			   !pn_json_is_object(&c->json, 0) ||
			   pn_record_time(&c->json, s->r.m->time_field, &c->scratch, &s->time, &why)) {
			snprintf(s->r.why, sizeof(s->r.why), "record %llu is not what was written",
				 (unsigned long long)s->r.lines);
			pn_error("error (at %s:%llu): object is damaged: not a record of the archive",
				 s->r.m->object, (unsigned long long)s->r.lines);
			return PN_EX_DATAERR;
		} else {
			off = record_offset(&c->json);
		}
		if (off >= 0 && s->r.m->first_offset >= 0) {
			if (off <= s->last_offset) {
				c->counts->duplicates++;
				continue;
			}
			s->last_offset = off;
		}
		if (s->time >= c->f->from && s->time < c->f->to)
			break;
	}
	s->has_head = 1;
	return 0;
}

/*
 * The rest of an object that needs no look at its records (one stream, all
 * of it in the time range, after what came before) goes out as it is
 * decompressed, in large blocks, not record by record: cat then runs at
 * about zstdcat's speed.  0 at the object's end, -1 when the output
 * stopped (its reader went away, an error pn_out_close reports, a signal),
 * else an exit status.
 */
static int stream_drain(struct cat *c, struct stream *s, struct pn_out *out,
			struct pn_progress *prog)
{
	uint64_t before = s->r.lines;
	const char *p;
	size_t n;
	int rc;

	while ((rc = pn_objreader_chunk(&s->r, &p, &n)) == 1) {
		c->counts->records += s->r.lines - before;
		before = s->r.lines;
		pn_progress_tick(prog, c->counts->records);
		if (pn_out_write(out, p, n) < 0 || pn_stop)
			return -1;
	}
	if (rc == 0)
		s->r.m = NULL;
	return rc;
}

int pn_archive_cat(struct pn_store *st, const struct pn_catalog *cat,
		   const struct pn_archive_filter *f, struct pn_out *out,
		   struct pn_read_counts *counts)
{
	struct cat c = { st, f, NULL, 0, { 0 }, PN_BUF_INIT, counts };
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
		pn_objreader_init(&s->r);
		i = k;
	}
	for (size_t i = 0; i < c.ns && !rc; i++)
		rc = stream_advance(&c, &c.s[i]);
	pn_progress_init(&prog);
	while (!rc && !pn_stop && !pn_out_gone(out)) {
		struct stream *best = NULL;

		/* partitions merged by time; ties keep the catalog's order */
		for (size_t i = 0; i < c.ns; i++)
			if (c.s[i].has_head && (!best || c.s[i].time < best->time))
				best = &c.s[i];
		if (!best)
			break;
		pn_buf_add(&out->buf, best->line, best->len);
		pn_buf_addc(&out->buf, '\n');
		if (pn_out_record(out) < 0)
			break;
		counts->records++;
		pn_progress_tick(&prog, counts->records);
		if (!best->parse && (rc = stream_drain(&c, best, out, &prog)) != 0) {
			if (rc < 0)	/* output stopped */
				rc = 0;
			break;
		}
		rc = stream_advance(&c, best);
	}
	pn_progress_done(&prog);
	for (size_t i = 0; i < c.ns; i++)
		pn_objreader_release(&c.s[i].r);
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

/* Reads an object through, checking every record against the manifest. */
static int verify_object(struct pn_objreader *r, struct pn_store *st, const struct pn_manifest *m,
			 struct pn_json *j, struct pn_buf *scratch, int64_t **offs, size_t *noff,
			 size_t *cap)
{
	const char *line, *why;
	size_t len;
	int64_t t, off, prev = -1;
	int rc;

	if ((rc = pn_objreader_open(r, st, m)))
		return rc;
	while ((rc = pn_objreader_next(r, &line, &len)) == 1) {
		why = NULL;
		if (pn_json_parse(j, line, len) || !pn_json_is_object(j, 0))
			why = "not a JSON object";
		else if (pn_record_time(j, m->time_field, scratch, &t, &why))
			;
		else if (t < m->min_time || t > m->max_time)
			why = "its time is outside the manifest's range";
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

static int object_coords(const char *object, struct pn_buf *topic, int32_t *partition,
			 int64_t *first);

/* Whether m's topic-partition has an object with a damaged manifest: its
 * offsets are unknown, so no gap can be told. */
static int has_bad(const struct pn_catalog *c, const struct pn_manifest *m, struct pn_buf *tmp)
{
	int32_t partition;
	int64_t first;

	for (size_t i = 0; i < c->n_bad; i++)
		if (!object_coords(c->bad[i], tmp, &partition, &first) &&
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

/* The topic, partition and first offset in a data object's Confluent
 * name (topic+partition+offset.ndjson.zst); 0, or -1 for another name. */
static int object_coords(const char *object, struct pn_buf *topic, int32_t *partition,
			 int64_t *first)
{
	const char *b = pn_base_name(object), *plus2, *plus1;
	char *end;
	long long off;
	long part;

	plus2 = strrchr(b, '+');
	if (!plus2 || plus2 == b)
		return -1;
	for (plus1 = plus2 - 1; plus1 > b && *plus1 != '+'; plus1--)
		;
	if (*plus1 != '+' || plus1 == b)
		return -1;
	part = strtol(plus1 + 1, &end, 10);
	if (end != plus2 || part < 0 || part > PN_PARTITION_MAX)
		return -1;
	off = strtoll(plus2 + 1, &end, 10);
	if (off < 0 || strcmp(end, DATA_SUFFIX))
		return -1;
	pn_buf_reset(topic);
	pn_buf_add(topic, b, plus1 - b);
	*partition = (int32_t)part;
	*first = off;
	return 0;
}

/* An object whose records are unknown (no manifest, a damaged one) and
 * whose name says where it starts: a writer resumes there at the latest. */
static void offsets_hole(struct pn_offsets *t, const char *object, struct pn_buf *topic)
{
	struct pn_part *p;
	int32_t partition;
	int64_t first;

	if (object_coords(object, topic, &partition, &first))
		return;
	p = pn_offsets_get(t, topic->data, partition);
	if (p->flushed < 0 || first < p->flushed)
		p->flushed = first;
}

void pn_catalog_offsets(const struct pn_catalog *c, struct pn_buf *out)
{
	struct pn_offsets t;
	struct pn_part *p = NULL;
	struct pn_buf topic = PN_BUF_INIT;
	int gap = 0;		/* p's run of offsets has ended */

	pn_offsets_init(&t);
	/* the catalog is sorted by topic, partition and first offset */
	for (size_t i = 0; i < c->n; i++) {
		const struct pn_manifest *m = &c->m[i];

		if (m->partition < 0 || m->first_offset < 0)
			continue;
		if (!p || p->partition != m->partition || strcmp(p->topic, m->topic)) {
			p = pn_offsets_get(&t, m->topic, m->partition);
			p->flushed = m->first_offset;	/* the archive starts here */
			gap = 0;
		}
		if (m->first_offset > p->flushed)
			gap = 1;	/* resume before it */
		else if (!gap && m->last_offset + 1 > p->flushed)
			p->flushed = m->last_offset + 1;
	}
	/* not covered: what they hold is not known */
	for (size_t i = 0; i < c->n_bad; i++)
		offsets_hole(&t, c->bad[i], &topic);
	for (size_t i = 0; i < c->n_no_manifest; i++)
		offsets_hole(&t, c->no_manifest[i], &topic);
	pn_buf_release(&topic);
	pn_offsets_write_json(&t, out);
	pn_offsets_release(&t);
}
