/*
 * pn_buf — a growable byte buffer, the strbuf of pn.
 *
 * Invariants: `data` is NUL-terminated when `cap` > 0 (so it can be passed
 * to C string functions), `len` bytes are valid, and a buffer that is reset
 * keeps its memory so hot loops reuse it instead of allocating per record.
 * PN_BUF_INIT is a valid empty buffer that owns nothing.
 */
#ifndef PN_BUF_H
#define PN_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pn_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define PN_BUF_INIT { NULL, 0, 0 }

void pn_buf_init(struct pn_buf *b);
void pn_buf_release(struct pn_buf *b);
/* pn_buf_grow's reallocation, out of line. */
void pn_buf_enlarge(struct pn_buf *b, size_t more);
/* Makes room for `more` bytes after len (plus the NUL).  This and the two
 * adds below are inline: every value of every record goes through them. */
static inline void pn_buf_grow(struct pn_buf *b, size_t more)
{
	if (b->len + more + 1 > b->cap)
		pn_buf_enlarge(b, more);
}
static inline void pn_buf_reset(struct pn_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}
static inline void pn_buf_add(struct pn_buf *b, const void *p, size_t n)
{
	pn_buf_grow(b, n);
	if (n)	/* p may be NULL then */
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}
static inline void pn_buf_addc(struct pn_buf *b, char c)
{
	pn_buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
void pn_buf_adds(struct pn_buf *b, const char *s);
void pn_buf_addf(struct pn_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pn_buf_add_i64(struct pn_buf *b, int64_t v);
void pn_buf_add_u64(struct pn_buf *b, uint64_t v);
/* Hands the memory over to the caller (to free()); the buffer is left empty. */
char *pn_buf_detach(struct pn_buf *b, size_t *len);

/* FNV-1a over n bytes, continuing from h (PN_HASH64_INIT to start): the
 * one hash of hash tables, batch keys and checkpoint checksums. */
#define PN_HASH64_INIT 0xcbf29ce484222325ULL
uint64_t pn_hash64(uint64_t h, const void *p, size_t n);

/* Base64 (RFC 4648, with padding), for bytes that are not UTF-8 text. */
void pn_buf_add_base64(struct pn_buf *b, const void *p, size_t n);
/* Decodes into b (appending); -1 if s is not valid base64. */
int pn_buf_add_unbase64(struct pn_buf *b, const char *s, size_t n);

/* Splits "a,b,c" at sep into a new array of *n new strings (free with
 * pn_free_list); NULL when an item is empty. */
char **pn_split_list(const char *s, char sep, int *n);
void pn_free_list(char **v, int n);

#endif
