#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_buf.h"
#include "pn_err.h"

void pn_buf_init(struct pn_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void pn_buf_release(struct pn_buf *b)
{
	free(b->data);
	pn_buf_init(b);
}

void pn_buf_enlarge(struct pn_buf *b, size_t more)
{
	size_t need = b->len + more + 1;
	size_t cap;

	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = pn_realloc(b->data, cap);
	b->data[b->len] = '\0';
	b->cap = cap;
}

void pn_buf_adds(struct pn_buf *b, const char *s)
{
	pn_buf_add(b, s, strlen(s));
}

void pn_buf_addf(struct pn_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	pn_buf_grow(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		pn_buf_grow(b, n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

void pn_buf_add_u64(struct pn_buf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	pn_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void pn_buf_add_i64(struct pn_buf *b, int64_t v)
{
	if (v < 0) {
		pn_buf_addc(b, '-');
		pn_buf_add_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		pn_buf_add_u64(b, (uint64_t)v);
	}
}

char *pn_buf_detach(struct pn_buf *b, size_t *len)
{
	char *p = b->cap ? b->data : pn_strdup("");

	if (len)
		*len = b->len;
	pn_buf_init(b);
	return p;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void pn_buf_add_base64(struct pn_buf *b, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	pn_buf_grow(b, (n + 2) / 3 * 4);
	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = { b64[u[i] >> 2], b64[((u[i] & 3) << 4) | (u[i + 1] >> 4)],
			      b64[((u[i + 1] & 15) << 2) | (u[i + 2] >> 6)], b64[u[i + 2] & 63] };
		pn_buf_add(b, q, 4);
	}
	if (n - i == 1) {
		char q[4] = { b64[u[i] >> 2], b64[(u[i] & 3) << 4], '=', '=' };
		pn_buf_add(b, q, 4);
	} else if (n - i == 2) {
		char q[4] = { b64[u[i] >> 2], b64[((u[i] & 3) << 4) | (u[i + 1] >> 4)],
			      b64[(u[i + 1] & 15) << 2], '=' };
		pn_buf_add(b, q, 4);
	}
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int pn_buf_add_unbase64(struct pn_buf *b, const char *s, size_t n)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i;

	if (n % 4)
		return -1;
	for (i = 0; i < n && s[i] != '='; i++) {
		int v = b64_value(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			pn_buf_addc(b, (char)(acc >> bits));
		}
	}
	/* only padding may follow, and no more than two of it */
	if (n - i > 2)
		return -1;
	for (; i < n; i++)
		if (s[i] != '=')
			return -1;
	return 0;
}

uint64_t pn_hash64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ u[i]) * 0x100000001b3ULL;
	return h;
}

char **pn_split_list(const char *s, char sep, int *n)
{
	char **v = NULL;

	*n = 0;
	for (;;) {
		const char *end = strchr(s, sep);
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (!len) {
			pn_free_list(v, *n);
			*n = 0;
			return NULL;
		}
		v = pn_realloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = pn_strndup(s, len);
		if (!end)
			return v;
		s = end + 1;
	}
}

void pn_free_list(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
