#include <stdio.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "pn_objreader.h"
#include "pn_err.h"

enum { READ_OUT_BYTES = 1 << 20 };	/* decompressed at a time */

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
	r->why[0] = '\0';
	if (!r->dctx && !(r->dctx = ZSTD_createDCtx())) {
		snprintf(r->why, sizeof(r->why), "cannot be decompressed");
		pn_error("out of memory starting zstd");
		return PN_EX_FAILED;
	}
	ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
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
	pn_buf_grow(&r->out, r->step ? r->step : READ_OUT_BYTES);
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
