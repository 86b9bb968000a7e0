#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pn_agg.h"
#include "pn_agg_entry.h"
#include "pn_checkpoint.h"
#include "pn_err.h"
#include "pn_io.h"

/* The last byte is the format's version: 2 added the stream time and each
 * group's window start and last event time; 3 the JSON type of each group
 * field; 4 the offset each group last changed at.  Formats 2 and 3 are
 * still read: the types come from the keys, the offsets are unknown. */
static const char magic[8] = { 'P', 'N', 'A', 'G', 'G', 0, 0, 4 };
enum { FORMAT_OLDEST = 2, FORMAT_TYPES = 3, FORMAT_CHANGED_AT = 4 };

static void put_u32(struct pn_buf *b, uint32_t v)
{
	pn_buf_add(b, &v, sizeof(v));
}

static void put_u64(struct pn_buf *b, uint64_t v)
{
	pn_buf_add(b, &v, sizeof(v));
}

/* LEB128: a group's offset is kept as its distance from the newest
 * offset, a byte or two for the groups that change. */
static void put_varint(struct pn_buf *b, uint64_t v)
{
	unsigned char bytes[10];
	size_t n = 0;

	do {
		bytes[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			bytes[n] |= 0x80;
		n++;
	} while (v);
	pn_buf_add(b, bytes, n);
}

static void put_offset(struct pn_part *p, void *arg)
{
	struct pn_buf *b = arg;

	if (p->flushed < 0)
		return;
	put_u32(b, (uint32_t)strlen(p->topic));
	pn_buf_adds(b, p->topic);
	put_u32(b, (uint32_t)p->partition);
	put_u64(b, (uint64_t)p->flushed);
}

static void count_offset(struct pn_part *p, void *arg)
{
	*(uint32_t *)arg += p->flushed >= 0;
}

static void newest_offset(struct pn_part *p, void *arg)
{
	int64_t *newest = arg;

	if (p->flushed > *newest)
		*newest = p->flushed;
}

/* What a group's changed_at is measured from: the largest next offset. */
static int64_t offset_base(struct pn_offsets *offsets)
{
	int64_t newest = 0;

	pn_offsets_each(offsets, newest_offset, &newest);
	return newest;
}

static void put_entry(struct pn_agg *a, struct pn_buf *b, const struct pn_agg_entry *e,
		      int64_t base)
{
	put_u32(b, e->key_len);
	pn_buf_add(b, a->keys.data + e->key_off, e->key_len);
	put_u32(b, e->flags & ~1u);
	put_u64(b, (uint64_t)e->win_start);
	put_u64(b, (uint64_t)e->last_time);
	/* 0: not known; else base minus the offset */
	put_varint(b, e->changed_at >= 0 && e->changed_at < base ?
			      (uint64_t)(base - e->changed_at) : 0);
	for (int i = 0; i < a->q->naggs; i++) {
		const struct pn_agg_def *d = &a->q->aggs[i];
		const int64_t *s = &e->slot[d->slot];

		if (d->kind == PN_COUNT_DISTINCT) {
			const struct pn_agg_strset *set = (const void *)(intptr_t)s[0];

			put_u32(b, set ? set->n : 0);
			for (uint32_t k = 0; set && k <= set->mask; k++) {
				if (!set->items[k].s)
					continue;
				put_u32(b, set->items[k].len);
				pn_buf_add(b, set->items[k].s, set->items[k].len);
			}
		} else if (d->kind == PN_LATEST) {
			const struct pn_agg_latest *l = (const void *)(intptr_t)s[0];

			put_u32(b, l ? l->len : UINT32_MAX);
			if (l)
				pn_buf_add(b, l->text, l->len);
		} else {
			pn_buf_add(b, s, pn_agg_kind_slots[d->kind] * sizeof(int64_t));
		}
	}
}

void pn_checkpoint_encode(struct pn_agg *a, struct pn_buf *b)
{
	uint32_t noffsets = 0;
	int64_t base = offset_base(&a->offsets);

	pn_buf_add(b, magic, sizeof(magic));
	put_u64(b, pn_query_fingerprint(a->q));
	pn_offsets_each(&a->offsets, count_offset, &noffsets);
	put_u32(b, noffsets);
	pn_offsets_each(&a->offsets, put_offset, b);
	put_u64(b, (uint64_t)a->stream_time);
	put_u32(b, (uint32_t)a->q->ngroups);
	pn_buf_add(b, a->key_types, a->q->ngroups);
	put_u64(b, a->nentries);
	for (size_t n = 0; n < a->nentries; n++)
		put_entry(a, b, pn_agg_entry_at(a, n), base);
	put_u64(b, pn_hash64(PN_HASH64_INIT, b->data, b->len));
}

int pn_checkpoint_save(struct pn_agg *a, const char *path)
{
	struct pn_buf b = PN_BUF_INIT;
	int status;

	pn_checkpoint_encode(a, &b);
	status = pn_write_file_atomic(path, b.data, b.len);
	if (status)
		pn_error("cannot write checkpoint '%s': %s", path, strerror(errno));
	else
		a->counts.checkpoints++;
	pn_buf_release(&b);
	return status;
}

/* A cursor over a loaded checkpoint; any read past the end marks it bad. */
struct cursor {
	const unsigned char *p, *end;
	int bad;
	int format;		/* the version byte */
};

static const void *take(struct cursor *c, size_t n)
{
	const void *at = c->p;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return NULL;
	}
	c->p += n;
	return at;
}

static uint32_t get_u32(struct cursor *c)
{
	uint32_t v = 0;
	const void *p = take(c, sizeof(v));

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get_varint(struct cursor *c)
{
	uint64_t v = 0;
	const unsigned char *p;

	for (int shift = 0; shift < 64; shift += 7) {
		if (!(p = take(c, 1)))
			return 0;
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80))
			return v;
	}
	c->bad = 1;
	return 0;
}

static uint64_t get_u64(struct cursor *c)
{
	uint64_t v = 0;
	const void *p = take(c, sizeof(v));

	if (p)
		memcpy(&v, p, sizeof(v));
	return v;
}

/* Reads the file and checks magic and checksum: 1, 0 missing, -1 bad. */
/* Checks a checkpoint's frame (magic, format, checksum) and points c at
 * its body: 1, or -1 after reporting. */
static int open_checkpoint(const char *path, const struct pn_buf *b, struct cursor *c)
{
	uint64_t sum;

	if (b->len < sizeof(magic) + 16 || memcmp(b->data, magic, sizeof(magic) - 1)) {
		pn_error("checkpoint '%s' is not a pn-aggregate checkpoint", path);
		return -1;
	}
	if (b->data[sizeof(magic) - 1] > magic[sizeof(magic) - 1] ||
	    b->data[sizeof(magic) - 1] < FORMAT_OLDEST) {
		pn_error("checkpoint '%s' has format %d, this pn-aggregate reads formats %d "
			 "to %d; rebuild it by replaying the input", path,
			 b->data[sizeof(magic) - 1], FORMAT_OLDEST, magic[sizeof(magic) - 1]);
		return -1;
	}
	memcpy(&sum, b->data + b->len - 8, 8);
	if (sum != pn_hash64(PN_HASH64_INIT, b->data, b->len - 8)) {
		pn_error("checkpoint '%s' is corrupt (checksum mismatch); restore it or "
			 "remove it to start over", path);
		return -1;
	}
	c->format = (unsigned char)b->data[sizeof(magic) - 1];
	c->p = (const unsigned char *)b->data + sizeof(magic);
	c->end = (const unsigned char *)b->data + b->len - 8;
	c->bad = 0;
	return 1;
}

static int read_checkpoint(const char *path, struct pn_buf *b, struct cursor *c)
{
	if (pn_read_file(path, b) < 0) {
		if (errno == ENOENT)
			return 0;
		pn_error("cannot read checkpoint '%s': %s", path, strerror(errno));
		return -1;
	}
	return open_checkpoint(path, b, c);
}

static void load_offsets(struct cursor *c, struct pn_offsets *offsets)
{
	uint32_t n = get_u32(c);

	for (uint32_t i = 0; i < n && !c->bad; i++) {
		uint32_t len = get_u32(c);
		const char *topic = take(c, len);
		uint32_t partition = get_u32(c);
		int64_t next = (int64_t)get_u64(c);
		char *name;

		if (partition > PN_PARTITION_MAX)
			c->bad = 1;	/* no program saves one: pn_record_position */
		if (c->bad)
			break;
		name = pn_strndup(topic, len);
		pn_offsets_get(offsets, name, partition)->flushed = next;
		free(name);
	}
}

/* Loads one group; -1 when its key's types are not its fields' (a->why),
 * else 0 (c->bad on a structure error). */
static int load_entry(struct pn_agg *a, struct cursor *c, int64_t base)
{
	uint32_t len = get_u32(c);
	const char *key = take(c, len);
	uint32_t flags = get_u32(c);
	struct pn_agg_entry *e;

	if (c->bad)
		return 0;
	if (pn_agg_take_key_types(a, key, len))
		return -1;
	e = pn_agg_entry_get(a, key, len);
	e->flags = flags & ~1u;
	e->win_start = (int64_t)get_u64(c);
	e->last_time = (int64_t)get_u64(c);
	if (c->format >= FORMAT_CHANGED_AT) {
		uint64_t age = get_varint(c);

		e->changed_at = age && age <= (uint64_t)base ? base - (int64_t)age : -1;
	}
	for (int i = 0; i < a->q->naggs && !c->bad; i++) {
		const struct pn_agg_def *d = &a->q->aggs[i];
		int64_t *s = &e->slot[d->slot];

		if (d->kind == PN_COUNT_DISTINCT) {
			uint32_t n = get_u32(c);

			for (uint32_t k = 0; k < n && !c->bad; k++) {
				uint32_t vlen = get_u32(c);
				const char *v = take(c, vlen);

				if (v)
					pn_agg_strset_add((struct pn_agg_strset **)s, v, vlen);
			}
		} else if (d->kind == PN_LATEST) {
			uint32_t vlen = get_u32(c);
			const char *v = vlen == UINT32_MAX ? NULL : take(c, vlen);

			if (v)
				pn_agg_latest_set(s, v, vlen);
		} else {
			const void *p = take(c, pn_agg_kind_slots[d->kind] * sizeof(int64_t));

			if (p)
				memcpy(s, p, pn_agg_kind_slots[d->kind] * sizeof(int64_t));
		}
	}
	return 0;
}

/* Format 3's types of the group fields; format 2 has none (its keys say). */
static void load_key_types(struct pn_agg *a, struct cursor *c)
{
	const unsigned char *types;

	if (c->format < FORMAT_TYPES)
		return;
	if (get_u32(c) != (uint32_t)a->q->ngroups) {
		c->bad = 1;
		return;
	}
	types = take(c, a->q->ngroups);
	for (int g = 0; types && g < a->q->ngroups; g++) {
		if (types[g] > PN_KEY_T_ARRAY)
			c->bad = 1;
		else if (a->q->key_mode != PN_KEY_AS_IS)
			a->key_types[g] = types[g];
	}
}

/* Loads the checkpoint at c into a: 1, or -1 after reporting. */
static int load_body(struct pn_agg *a, const char *path, struct cursor c)
{
	uint64_t fingerprint, n;
	int64_t base;
	int status = 1;

	fingerprint = get_u64(&c);
	if (fingerprint != pn_query_fingerprint(a->q)) {
		pn_error("checkpoint '%s' was made by another query (its --where, --group-by "
			 "or aggregates differ); use another --state file", path);
		return -1;
	}
	load_offsets(&c, &a->offsets);
	base = offset_base(&a->offsets);
	a->stream_time = (int64_t)get_u64(&c);
	load_key_types(a, &c);
	n = get_u64(&c);
	for (uint64_t i = 0; i < n && !c.bad; i++) {
		if (load_entry(a, &c, base) < 0) {
			pn_error("checkpoint '%s' does not fit one type per group field: %s; "
				 "run with --key-type as-is, or rebuild it by replaying the input "
				 "with --key-type string or number", path, a->why);
			return -1;
		}
	}
	if (c.bad || c.p != c.end) {
		pn_error("checkpoint '%s' is corrupt (bad structure)", path);
		status = -1;
	}
	return status;
}

int pn_checkpoint_decode(struct pn_agg *a, const char *name, const struct pn_buf *b)
{
	struct cursor c;

	return open_checkpoint(name, b, &c) < 0 ? -1 : load_body(a, name, c);
}

int pn_checkpoint_load(struct pn_agg *a, const char *path)
{
	struct pn_buf b = PN_BUF_INIT;
	struct cursor c;
	int status = read_checkpoint(path, &b, &c);

	if (status > 0)
		status = load_body(a, path, c);
	pn_buf_release(&b);
	return status;
}

int pn_checkpoint_load_offsets(const char *path, struct pn_offsets *t)
{
	struct pn_buf b = PN_BUF_INIT;
	struct cursor c;
	int status = read_checkpoint(path, &b, &c);

	if (status > 0) {
		get_u64(&c); /* the fingerprint: any query's offsets will do */
		load_offsets(&c, t);
		if (c.bad) {
			pn_error("checkpoint '%s' is corrupt (bad structure)", path);
			status = -1;
		}
	}
	pn_buf_release(&b);
	return status;
}

int pn_checkpoint_print_offsets(const char *path, struct pn_buf *out)
{
	struct pn_offsets offsets;
	int status;

	pn_offsets_init(&offsets);
	status = pn_checkpoint_load_offsets(path, &offsets);
	if (status == 0)
		pn_error("no checkpoint '%s'", path);
	if (status > 0)
		pn_offsets_write_json(&offsets, out);
	pn_offsets_release(&offsets);
	return status > 0 ? 0 : -1;
}
