#include <stdlib.h>
#include <string.h>

#include "pn_err.h"
#include "pn_pg_batch.h"

void pn_pg_batch_init(struct pn_pg_batch *b, size_t max_rows)
{
	memset(b, 0, sizeof(*b));
	b->max_rows = max_rows;
	for (b->hashcap = 16; b->hashcap < max_rows * 2; b->hashcap *= 2)
		;
	b->hash = pn_malloc(b->hashcap * sizeof(*b->hash));
	memset(b->hash, 0, b->hashcap * sizeof(*b->hash));
}

void pn_pg_batch_release(struct pn_pg_batch *b)
{
	pn_buf_release(&b->copy);
	pn_buf_release(&b->keys);
	pn_buf_release(&b->lines);
	free(b->rows);
	free(b->hash);
	free(b->marks);
	free(b->sources);
	memset(b, 0, sizeof(*b));
}

void pn_pg_batch_reset(struct pn_pg_batch *b)
{
	b->nrows = 0;
	b->live = 0;
	b->nmarks = 0;
	b->nsources = 0;
	pn_buf_reset(&b->copy);
	pn_buf_reset(&b->keys);
	pn_buf_reset(&b->lines);
	memset(b->hash, 0, b->hashcap * sizeof(*b->hash));
}

void pn_pg_batch_begin(struct pn_pg_batch *b)
{
	b->copy_start = b->copy.len;
	b->key_start = b->keys.len;
}

/* The slot of the key table where a key with this hash is first looked for. */
static inline size_t slot_of(const struct pn_pg_batch *b, uint64_t hash)
{
	return (size_t)(hash >> 16) & (b->hashcap - 1);
}

void pn_pg_batch_key(struct pn_pg_batch *b, size_t at)
{
	const char *key;
	size_t key_len;

	if (b->keys.len > b->key_start)
		pn_buf_addc(&b->keys, '\t');
	pn_buf_add(&b->keys, b->copy.data + at, b->copy.len - at);
	/* the key is usually complete here, before the other values are
	 * converted: its slot is fetched into the cache meanwhile */
	key = b->keys.data + b->key_start;
	key_len = b->keys.len - b->key_start;
	b->key_hash = pn_hash64(PN_HASH64_INIT, key, key_len) * 0x9e3779b97f4a7c15ULL;
	__builtin_prefetch(&b->hash[slot_of(b, b->key_hash)]);
}

void pn_pg_batch_abandon(struct pn_pg_batch *b)
{
	b->copy.len = b->copy_start;
	b->keys.len = b->key_start;
	if (b->copy.cap)
		b->copy.data[b->copy.len] = '\0';
	if (b->keys.cap)
		b->keys.data[b->keys.len] = '\0';
}

/* A slot's copy of where a row's key is, so that a probe reads no row. */
static inline uint64_t slot_key(const struct pn_pg_row *w)
{
	return (uint64_t)w->key_off << 16 | (w->key_len < 0xffff ? w->key_len : 0xffff);
}

/* The key table's slot of the row being built: the one of the live row
 * with its key, or the empty one where its key goes.  The slots keep a tag
 * of the hash, so that a probe rarely reads another row's key, and where
 * that key is: the rows are far apart in memory. */
static struct pn_pg_slot *key_slot(const struct pn_pg_batch *b, uint32_t *tag)
{
	const char *key = b->keys.data + b->key_start;
	size_t key_len = b->keys.len - b->key_start;
	size_t mask = b->hashcap - 1, h = slot_of(b, b->key_hash);

	*tag = (uint32_t)(b->key_hash >> 32);
	for (;; h = (h + 1) & mask) {
		struct pn_pg_slot *slot = &b->hash[h];
		size_t len = slot->key & 0xffff;

		if (!slot->row)
			return slot;
		if (slot->tag != *tag)
			continue;
		if (len == 0xffff)
			len = b->rows[slot->row - 1].key_len;
		if (len == key_len && !memcmp(b->keys.data + (slot->key >> 16), key, key_len))
			return slot;
	}
}

/* Moves n bytes of buf from `from` down to `to` (overlap allowed). */
static void move_down(struct pn_buf *buf, size_t to, size_t from, size_t n)
{
	if (to != from)
		memmove(buf->data + to, buf->data + from, n);
}

/* Drops the dead rows in place: the live ones move down, and the key
 * table's slots follow them, so that no key is hashed again. */
static void compact(struct pn_pg_batch *b)
{
	uint32_t *moved = pn_malloc(b->nrows * sizeof(*moved));	/* new index + 1 */
	uint64_t *key_at = pn_malloc((b->live + 1) * sizeof(*key_at));	/* by new index */
	size_t n = 0, copy = 0, keys = 0, lines = 0;

	for (size_t i = 0; i < b->nrows; i++) {
		struct pn_pg_row w = b->rows[i];

		moved[i] = 0;
		if (w.dead)
			continue;
		move_down(&b->copy, copy, w.copy_off, w.copy_len);
		w.copy_off = copy;
		copy += w.copy_len;
		move_down(&b->keys, keys, w.key_off, w.key_len);
		w.key_off = keys;
		keys += w.key_len;
		move_down(&b->lines, lines, w.line_off, w.line_len);
		w.line_off = lines;
		lines += w.line_len;
		key_at[n] = slot_key(&w);
		b->rows[n++] = w;
		moved[i] = (uint32_t)n;
	}
	/* each row added to each buffer, so they all have memory for the NUL */
	b->copy.len = copy;
	b->copy.data[copy] = '\0';
	b->keys.len = keys;
	b->keys.data[keys] = '\0';
	b->lines.len = lines;
	b->lines.data[lines] = '\0';
	b->nrows = n;
	/* only live rows have slots; the small arrays spare a read of a row
	 * per slot */
	for (size_t h = 0; h < b->hashcap; h++) {
		struct pn_pg_slot *slot = &b->hash[h];

		if (slot->row) {
			slot->row = moved[slot->row - 1];
			slot->key = key_at[slot->row - 1];
		}
	}
	free(moved);
	free(key_at);
}

int pn_pg_batch_end(struct pn_pg_batch *b, const char *line, size_t len,
		    unsigned long long lineno, unsigned input, int tomb, int keyed)
{
	struct pn_pg_slot *slot = NULL;
	struct pn_pg_row *w;
	uint32_t tag = 0;

	if (keyed)
		slot = key_slot(b, &tag);
	if ((!slot || !slot->row) && b->live >= b->max_rows) {
		pn_pg_batch_abandon(b);
		return -1;
	}
	pn_buf_addc(&b->copy, '\n');
	if (b->nrows == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->rows = pn_realloc(b->rows, b->cap * sizeof(*b->rows));
	}
	w = &b->rows[b->nrows];
	*w = (struct pn_pg_row){ .copy_off = b->copy_start, .copy_len = b->copy.len - b->copy_start,
				 .key_off = b->key_start, .key_len = b->keys.len - b->key_start,
				 .line_off = b->lines.len, .line_len = len,
				 .lineno = lineno, .input = input, .tomb = !!tomb };
	pn_buf_add(&b->lines, line, len);
	b->live++;
	if (slot && slot->row) {
		/* the last row wins */
		b->rows[slot->row - 1].dead = 1;
		b->live--;
		b->replaced++;
	}
	if (slot)
		*slot = (struct pn_pg_slot){ (uint32_t)b->nrows + 1, tag, slot_key(w) };
	b->nrows++;
	if (b->nrows - b->live > b->live && b->nrows - b->live >= 4096)
		compact(b);
	return 0;
}

void pn_pg_batch_epoch(struct pn_pg_batch *b, struct pn_part *part, uint64_t epoch)
{
	struct pn_pg_row *w = &b->rows[b->nrows - 1];
	int i = w > b->rows ? (int)w[-1].source - 1 : -1;

	/* the rows of a source come in runs: the last row's is the likely one */
	if (i < 0 || b->sources[i].part != part)
		for (i = 0; i < b->nsources && b->sources[i].part != part; i++)
			;
	if (i == b->nsources) {
		if (b->nsources == b->sourcecap) {
			b->sourcecap = b->sourcecap ? b->sourcecap * 2 : 16;
			b->sources = pn_realloc(b->sources, b->sourcecap * sizeof(*b->sources));
		}
		b->sources[b->nsources++] = (struct pn_pg_source){ .part = part, .epoch = epoch };
	}
	if (epoch > b->sources[i].epoch)
		b->sources[i].epoch = epoch;
	w->source = (uint32_t)i + 1;
	w->epoch = epoch;
}

int pn_pg_batch_put(PGconn *conn, const struct pn_pg_batch *b)
{
	struct pn_buf out = PN_BUF_INIT;
	int rc = 0;

	/* each live row is sent after its index, its seq */
	for (size_t i = 0; i < b->nrows && !rc; i++) {
		const struct pn_pg_row *w = &b->rows[i];

		if (w->dead)
			continue;
		pn_buf_add_u64(&out, i);
		pn_buf_add(&out, b->copy.data + w->copy_off, w->copy_len);
		if (out.len >= 1 << 16) {
			rc = PQputCopyData(conn, out.data, (int)out.len) == 1 ? 0 : -1;
			pn_buf_reset(&out);
		}
	}
	if (!rc && out.len)
		rc = PQputCopyData(conn, out.data, (int)out.len) == 1 ? 0 : -1;
	pn_buf_release(&out);
	return rc;
}
