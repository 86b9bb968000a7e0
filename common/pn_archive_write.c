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

/* Whether the value at token t (-1: none) is no time at all: the field
 * is missing or null. */
static int no_time_at(const struct pn_json *j, int t)
{
	return t < 0 || (j->tok[t].type == PN_JSON_PRIMITIVE && j->text[j->tok[t].start] == 'n');
}

/* pn_archive_record_time() of the value at token t (-1: none). */
static int record_time_at(const struct pn_json *j, int t, struct pn_buf *scratch, int64_t *ms,
			  const char **why)
{
	if (no_time_at(j, t)) {
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
	int t = pn_json_get(j, 0, field, strlen(field));

	return record_time_at(j, t, scratch, ms, why) ? (no_time_at(j, t) ? 1 : -1) : 0;
}

/* One object being written. */
struct wobj {
	char *topic;
	int32_t partition;
	int64_t bucket;		/* time / granularity; -1: records without a time */
	char *fields;		/* the {field} values, encoded, each ended by '/' */
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
	int needs_time;		/* the pattern has a time conversion */
	/* the fields a record is filed by, looked up once per shape:
	 * _topic, _partition, _offset, the time field and then the {field}
	 * placeholders of the pattern, each name once */
	char **names;
	size_t *lens;
	int *val, nnames, time_val;
	struct pn_json_memo memo;
	int *field_val;		/* index in val of each {field}, in pattern order */
	int nfields;
	struct pn_buf fields;	/* the record's {field} values, as wobj.fields */
	char *missing_said;	/* per name: 0, 1 a record lacked it (to be
				 * reported), 2 reported */
	int fields_missing;	/* the record lacks a {field} */
};

/*
 * The placeholder that opens at p (a '{'): its name in *name and *len;
 * returns the bytes it spans, or 0 when it is not one (*why): unclosed,
 * empty, or a name that no field of a record can be here (a '/', '%',
 * brace or control character in it).
 */
static size_t placeholder_at(const char *p, const char **name, size_t *len, const char **why)
{
	size_t n = 1;

	*name = p + 1;
	for (; p[n] && p[n] != '}'; n++)
		if (p[n] == '{' || p[n] == '/' || p[n] == '%' || (unsigned char)p[n] < 0x20 ||
		    p[n] == 0x7f) {
			*why = p[n] == '{' || p[n] == '/' ?
			       "has a '{' not closed before the next '/' or '{'" :
			       "has a placeholder with a '%' or control character in its name";
			return 0;
		}
	if (!p[n]) {
		*why = "has an unclosed '{'";
		return 0;
	}
	*len = n - 1;
	if (!*len) {
		*why = "has an empty placeholder '{}'";
		return 0;
	}
	return n + 1;
}

/* Whether the placeholder name (len bytes) is the reserved one `word`. */
static int is_word(const char *name, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(name, word, len);
}

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

/* Whether the pattern has a strftime conversion, other than %%, %n, %t. */
static int pattern_needs_time(const char *pat)
{
	for (const char *p = strchr(pat, '%'); p && p[1]; p = strchr(p + 2, '%'))
		if (!strchr("%nt", p[1]))
			return 1;
	return 0;
}

/* The index of name (len bytes) among the names looked up, added if new:
 * a field named twice, or named like a coordinate, is looked up once. */
static int name_index(struct pn_writer *w, const char *name, size_t len)
{
	int i;

	for (i = 0; i < w->nnames; i++)
		if (w->lens[i] == len && !memcmp(w->names[i], name, len))
			return i;
	w->names[i] = pn_strndup(name, len);
	w->lens[i] = len;
	w->nnames++;
	return i;
}

struct pn_writer *pn_writer_new(struct pn_store *st, const struct pn_writer_opts *o)
{
	struct pn_writer *w = pn_malloc(sizeof(*w));
	size_t most = 4 + strlen(o->pattern) / 3;	/* "{x}" is the shortest field */
	const char *name, *why;
	size_t len, span;

	memset(w, 0, sizeof(*w));
	w->st = st;
	w->o = *o;
	w->granularity_ms = pattern_granularity(o->pattern);
	w->needs_time = pattern_needs_time(o->pattern);
	w->names = pn_malloc(most * sizeof(*w->names));
	w->lens = pn_malloc(most * sizeof(*w->lens));
	w->val = pn_malloc(most * sizeof(*w->val));
	w->field_val = pn_malloc(most * sizeof(*w->field_val));
	name_index(w, "_topic", 6);
	name_index(w, "_partition", 10);
	name_index(w, "_offset", 7);
	w->time_val = name_index(w, o->time_field, strlen(o->time_field));
	/* the pattern was checked (pn_archive_pattern_check) */
	for (const char *p = o->pattern; *p; p++) {
		if (*p == '%' && p[1]) {
			p++;
		} else if (*p == '{' && (span = placeholder_at(p, &name, &len, &why))) {
			if (!is_word(name, len, "topic") && !is_word(name, len, "partition"))
				w->field_val[w->nfields++] = name_index(w, name, len);
			p += span - 1;
		}
	}
	w->missing_said = pn_malloc((size_t)w->nnames);
	memset(w->missing_said, 0, (size_t)w->nnames);
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
	const char *name;
	size_t len, span;

	if ((*why = path_escapes(pattern)))
		return -1;
	for (const char *p = pattern; *p; p++) {
		if (*p == '%' && p[1] == '{') {
			/* strftime would read the '%' with what replaces the '{' */
			*why = "has a '%' right before a placeholder";
			return -1;
		} else if (*p == '%' && p[1]) {
			p++;
		} else if (*p == '{') {
			if (!(span = placeholder_at(p, &name, &len, why)))
				return -1;
			p += span - 1;
		} else if (*p == '}') {
			*why = "has a '}' without its '{'";
			return -1;
		}
	}
	return 0;
}

/*
 * Appends s (n bytes) as the value of a {field} in a directory name and an
 * S3 key: letters, digits, '-', '_', '.', '~' and UTF-8 beyond ASCII as
 * they are; every other byte, a C1 control character, and a leading '.'
 * or '_' (a name Hive and Athena skip, or PN_ARCHIVE_NULL_PARTITION
 * itself) as %XX, which Hive and Athena decode.  So no value makes a
 * '/', a ".." or a hidden name, and two values never share a name.
 */
static void add_encoded_value(struct pn_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '~' ||
			   ((c == '.' || c == '_') && i > 0);

		/* U+0080..U+009F: C2 80..C2 9F; the text is well-formed UTF-8 */
		if (c >= 0x80)
			keep = !(c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0) &&
			       !(i > 0 && (unsigned char)s[i - 1] == 0xc2 && c < 0xa0);
		if (keep) {
			pn_buf_addc(out, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			pn_buf_add(out, e, 3);
		}
	}
}

/*
 * Appends the value of {field} number i of the record to w->fields,
 * followed by a '/': a string decoded and encoded, a number or boolean as
 * its JSON text, encoded; a missing field, a null and an empty string as
 * PN_ARCHIVE_NULL_PARTITION, as Hive files them.  0, or -1 (*why) for an
 * object or an array.
 */
static int add_field(struct pn_writer *w, const struct pn_json *j, int i, const char **why)
{
	int v = w->field_val[i], t = w->val[v];
	const struct pn_tok *tok = t >= 0 ? &j->tok[t] : NULL;

	if (tok && (tok->type == PN_JSON_OBJECT || tok->type == PN_JSON_ARRAY)) {
		*why = "a --partition-by field is an object or an array, not a string, "
		       "number, boolean or null";
		return -1;
	}
	if (!tok && !w->missing_said[v])
		w->missing_said[v] = 1;
	if (tok && tok->type == PN_JSON_STRING) {
		pn_buf_reset(&w->scratch);
		pn_json_unescape(j->text + tok->start, tok->end - tok->start, &w->scratch);
		if (w->scratch.len)
			add_encoded_value(&w->fields, w->scratch.data, w->scratch.len);
		else
			pn_buf_adds(&w->fields, PN_ARCHIVE_NULL_PARTITION);
	} else if (tok && j->text[tok->start] != 'n') {
		add_encoded_value(&w->fields, j->text + tok->start, tok->end - tok->start);
	} else {
		pn_buf_adds(&w->fields, PN_ARCHIVE_NULL_PARTITION);
	}
	pn_buf_addc(&w->fields, '/');
	return 0;
}

/* The {field} values of the record into w->fields; 0, or -1 (*why). */
static int record_fields(struct pn_writer *w, const struct pn_json *j, const char **why)
{
	int missing = 0;

	pn_buf_reset(&w->fields);
	for (int i = 0; i < w->nfields; i++) {
		missing |= w->val[w->field_val[i]] < 0;
		if (add_field(w, j, i, why))
			return -1;
	}
	w->fields_missing = missing;
	return 0;
}

/* Appends s (n bytes) to a strftime format, as text. */
static void add_literal(struct pn_buf *fmt, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%')
			pn_buf_addc(fmt, '%');
		pn_buf_addc(fmt, s[i]);
	}
}

/* The reason a name in the expanded path is too long for a file system
 * (255 bytes), or NULL. */
static const char *segment_too_long(const char *p)
{
	size_t run = 0;

	for (; *p; p++) {
		run = *p == '/' ? 0 : run + 1;
		if (run > 255)
			return "a --partition-by directory name is longer than 255 bytes";
	}
	return NULL;
}

/* Expands {topic}, {partition}, the {field}s of w->fields and strftime
 * conversions at time t (-1: none) into w->path; 0, or -1 with *why when
 * the result is too long or leaves DEST (a topic or a conversion can make
 * a ".." the pattern did not show). */
static int expand_pattern(struct pn_writer *w, const char *topic, int32_t partition,
			  int64_t t_ms, const char **why)
{
	struct pn_buf fmt = PN_BUF_INIT, *out = &w->path;
	time_t t = (time_t)(t_ms >= 0 ? t_ms / 1000 : 0);
	const char *field = w->fields.len ? w->fields.data : "", *name, *end;
	struct tm tm;
	char res[1024];
	size_t n, len, span;
	int empty;

	for (const char *p = w->o.pattern; *p; p++) {
		if (*p == '%' && p[1]) {
			pn_buf_add(&fmt, p++, 2);
		} else if (*p != '{' || !(span = placeholder_at(p, &name, &len, why))) {
			pn_buf_addc(&fmt, *p);
		} else if (is_word(name, len, "topic")) {
			add_literal(&fmt, topic, strlen(topic));
			p += span - 1;
		} else if (is_word(name, len, "partition")) {
			if (partition >= 0)
				pn_buf_addf(&fmt, "%d", (int)partition);
			else
				pn_buf_adds(&fmt, "none");
			p += span - 1;
		} else {
			end = strchr(field, '/');
			add_literal(&fmt, field, (size_t)(end - field));
			field = end + 1;
			p += span - 1;
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
	if (out->len && (*why = segment_too_long(out->data)))
		return -1;
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
	free(o->fields);
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
	o->fields = pn_strdup(w->fields.len ? w->fields.data : "");
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

/* Whether object o is where a record of this topic, partition, time
 * bucket and {field} values (w->fields) goes. */
static int wobj_takes(const struct pn_writer *w, const struct wobj *o, int32_t partition,
		      int64_t bucket)
{
	return o->bucket == bucket && o->partition == partition &&
	       !strcmp(o->topic, w->topic.data) &&
	       !strcmp(o->fields, w->fields.len ? w->fields.data : "");
}

int pn_writer_add(struct pn_writer *w, const struct pn_json *j, const char *line, size_t len,
		  const char **why)
{
	int t_tok, p_tok, o_tok;
	int32_t partition = -1;
	int64_t offset = -1, t_ms = -1, bucket = -1;
	struct wobj *o = NULL;
	int pos, rc = 0, i;

	pn_json_members_memo(j, (const char *const *)w->names, w->lens, w->nnames, w->val,
			     &w->memo);
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
	/* a record without a time goes to objects of its own, in a pattern
	 * that needs none; it is bad input for one that does */
	if ((w->needs_time || !no_time_at(j, w->val[w->time_val])) &&
	    record_time_at(j, w->val[w->time_val], &w->scratch, &t_ms, why))
		return -1;
	if (w->nfields && record_fields(w, j, why))
		return -1;
	if (offset >= 0) {
		struct tp_last *tp = tp_find(w, w->topic.data, partition);

		if (offset <= tp->offset) {
			w->counts.duplicates++;
			return 0;
		}
		tp->offset = offset;
	}
	if (w->nfields && w->fields_missing)
		w->counts.missing_field++;
	if (t_ms >= 0)
		bucket = t_ms / w->granularity_ms;
	if (w->nobj && wobj_takes(w, w->obj[w->last], partition, bucket))
		o = w->obj[w->last];
	for (i = 0; !o && i < w->nobj; i++)
		if (wobj_takes(w, w->obj[i], partition, bucket)) {
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
			if (w->obj[i]->bucket >= 0 && w->obj[i]->bucket < bucket - 1 &&
			    w->obj[i]->partition == partition &&
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
	/* an object holds records with a time, or records without one */
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

const char *pn_writer_missing_next(struct pn_writer *w)
{
	for (int i = 0; i < w->nnames; i++)
		if (w->missing_said[i] == 1) {
			w->missing_said[i] = 2;
			return w->names[i];
		}
	return NULL;
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
	for (int i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w->names);
	free(w->lens);
	free(w->val);
	free(w->field_val);
	free(w->missing_said);
	pn_buf_release(&w->fields);
	ZSTD_freeCCtx(w->shared);
	pn_buf_release(&w->topic);
	pn_buf_release(&w->scratch);
	pn_buf_release(&w->path);
	free(w);
}
