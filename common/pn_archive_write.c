#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "pn_archive.h"
#include "pn_clock.h"
#include "pn_err.h"
#include "pn_record.h"
#include "pn_window.h"

enum {
	STAGE_BYTES = 128 * 1024,	/* raw bytes handed to zstd at a time */
	COMP_STEP = 64 * 1024 - 1,	/* room made for compressed bytes at a
					 * time: with pn_buf's NUL, 64 KB */
};

/* pn_archive_record_time() of the value at token t (-1: none). */
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

int pn_archive_record_time(const struct pn_json *j, const char *field, struct pn_buf *scratch,
			   int64_t *ms, const char **why)
{
	return record_time_at(j, pn_json_get(j, 0, field, strlen(field)), scratch, ms, why);
}

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

/* A compression context, or NULL (said on stderr). */
static ZSTD_CCtx *new_cctx(int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!c) {
		pn_error("out of memory starting zstd");
		return NULL;
	}
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	return c;
}

/* The context of the objects that are a frame per stage, or NULL. */
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
 * is why many open objects cost little more than their stage each.  0, or
 * an exit status.
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
	if (!cctx)
		return PN_EX_FAILED;
	do {
		ZSTD_outBuffer out;

		pn_buf_grow(comp, COMP_STEP);
		out.dst = comp->data + comp->len;
		out.size = comp->cap - comp->len - 1;
		out.pos = 0;
		ret = ZSTD_compressStream2(cctx, &out, &in, mode);
		if (ZSTD_isError(ret)) {
			pn_error("cannot compress '%s': zstd: %s", o->m.object,
				 ZSTD_getErrorName(ret));
			return PN_EX_FAILED;
		}
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
 * there and go on a frame per stage.  0, or an exit status. */
static int share_contexts(struct pn_writer *w)
{
	for (int i = 0; i < w->nobj; i++) {
		struct wobj *o = w->obj[i];
		int rc;

		if (o->cctx) {
			if ((rc = wobj_compress(w, o, 1)))
				return rc;
			ZSTD_freeCCtx(o->cctx);
			o->cctx = NULL;
		}
	}
	return 0;
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
			    PN_MANIFEST_OBJECT_SUFFIX);
	else	/* no coordinates: unique, not repeatable */
		pn_buf_addf(&rel, "%s+%s+%lld-%ld-%llu%s", topic,
			    partition >= 0 ? "p" : "none", (long long)time(NULL), (long)getpid(),
			    (unsigned long long)++w->seq, PN_MANIFEST_OBJECT_SUFFIX);
	o->m.object = pn_buf_detach(&rel, NULL);
	o->m.topic = pn_strdup(topic);
	o->m.time_field = pn_strdup(w->o.time_field);
	o->m.partition = partition;
	o->m.first_offset = offset;
	o->m.last_offset = offset;
	o->m.min_time = o->m.max_time = t_ms;
	*rc = PN_EX_FAILED;
	if (w->nobj < FEW_OBJECTS) {
		/* compression on worker threads while this one parses; with one
		 * worker (the zstd CLI's default) the caller waits on it more
		 * often, two gave the better wall time here for about the same
		 * CPU, measured; 1 MB jobs keep the memory per object small */
		if (!(o->cctx = new_cctx(w->o.level)))
			goto fail;
		ZSTD_CCtx_setParameter(o->cctx, ZSTD_c_nbWorkers, 2);
		ZSTD_CCtx_setParameter(o->cctx, ZSTD_c_jobSize, 1 << 20);
	} else if ((*rc = share_contexts(w))) {
		goto fail;
	}
	if (!(o->hash = XXH64_createState()) || XXH64_reset(o->hash, 0) != XXH_OK) {
		pn_error("out of memory starting xxhash");
		*rc = PN_EX_FAILED;
		goto fail;
	}
	o->opened_ms = pn_now_ms();
	if ((*rc = pn_store_file_open(w->st, &o->file, o->m.object)))
		goto fail;
	pn_info("opened '%s'", o->m.object);
	return o;
fail:
	wobj_free(w, o);
	return NULL;
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
			return 0;
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
