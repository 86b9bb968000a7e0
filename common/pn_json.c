#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>


#include "pn_err.h"
#include "pn_json.h"

void pn_json_init(struct pn_json *j)
{
	memset(j, 0, sizeof(*j));
}

void pn_json_release(struct pn_json *j)
{
	free(j->tok);
	pn_buf_release(&j->skel);
	free(j->segs);
	pn_json_init(j);
}

static int fail(struct pn_json *j, const char *why, size_t at)
{
	j->why = why;
	j->at = at;
	return -1;
}

static inline int is_ws(char c)
{
	/* one compare for the usual answer, no */
	return (unsigned char)c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

/* isalnum in the C locale, whatever the program's locale, without a call */
static inline int is_alnum(char c)
{
	return (unsigned char)(c - '0') < 10 || (unsigned char)((c | 0x20) - 'a') < 26;
}

/*
 * Length of the well-formed UTF-8 sequence at s (1–4), or 0 if it is not
 * one: overlong forms, surrogates and code points past U+10FFFF are refused.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* UTF-16 surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && s[1] >= 0x90)
			return 0; /* past U+10FFFF */
		return 4;
	}
	return 0;
}

int pn_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (u[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq_len(u + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* 8 bytes at p, in an integer (any alignment). */
static inline uint64_t load8(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

#ifndef __SSE2__	/* the SSE2 scan below needs no word tests */
/*
 * True if any of the 8 bytes is one a string scan must stop at: a control
 * character (< 0x20), a quote, a backslash, or not ASCII.  The usual SWAR
 * tests: subtracting 0x01… from a byte sets its top bit when it was zero
 * (after xor with '"' or '\\': when it was that character), subtracting
 * 0x20… when it was below 0x20.  False alarms only cost the slow path.
 */
static inline int needs_look(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t quote = x ^ (ones * '"'), backslash = x ^ (ones * '\\');

	return (((x - ones * 0x20) | (quote - ones) | (backslash - ones) | x) & high) != 0;
}
#endif

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The escape at i (u[i] == '\\'); returns its length, or 0 after failing. */
static size_t check_escape(struct pn_json *j, size_t i)
{
	const unsigned char *u = (const unsigned char *)j->text;

	if (i + 1 >= j->len)
		return fail(j, "truncated JSON", j->len), 0;
	if (strchr("\"\\/bfnrt", u[i + 1]) && u[i + 1])
		return 2;
	if (u[i + 1] != 'u')
		return fail(j, "invalid escape in a string", i), 0;
	for (size_t k = i + 2; k < i + 6; k++) {
		if (k >= j->len)
			return fail(j, "truncated JSON", j->len), 0;
		if (!is_hex(u[k]))
			return fail(j, "invalid \\u escape in a string", i), 0;
	}
	return 6;
}

static inline int string_special(unsigned char c)
{
	return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/* Skips the bytes a string scan can pass over: plain ASCII other than the
 * quote and the backslash.  Returns the position of the first other byte,
 * or len. */
static inline size_t skip_plain(const unsigned char *u, size_t i, size_t len)
{
#ifdef __SSE2__
	/* 16 at a time: a signed compare with 0x20 catches both the control
	 * characters and the bytes >= 0x80 (negative as signed) */
	const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);

	while (i + 16 <= len) {
		__m128i x = _mm_loadu_si128((const __m128i *)(u + i));
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
							_mm_cmpeq_epi8(x, backslash)),
					   _mm_cmplt_epi8(x, space));
		unsigned bits = (unsigned)_mm_movemask_epi8(hit);

		if (bits)
			return i + __builtin_ctz(bits);
		i += 16;
	}
#else
	while (i + 8 <= len && !needs_look(load8(u + i)))
		i += 8;
#endif
	while (i < len && !string_special(u[i]))
		i++;
	return i;
}

/* The string whose opening quote is at pos: returns the position of its
 * closing quote, or -1. */
static long scan_string(struct pn_json *j, size_t pos)
{
	const unsigned char *u = (const unsigned char *)j->text;
	size_t i = pos + 1, len = j->len, k;

	for (;;) {
		i = skip_plain(u, i, len);
		if (i >= len)
			return fail(j, "truncated JSON", len);
		if (u[i] == '"')
			return (long)i;
		if (u[i] == '\\') {
			if (!(k = check_escape(j, i)))
				return -1;
		} else if (u[i] < 0x20) {
			return fail(j, u[i] ? "control character in a string must be escaped"
					    : "NUL byte in input", i);
		} else {
			if (!(k = utf8_seq_len(u + i, len - i)))
				return fail(j, "invalid UTF-8 in a string", i);
		}
		i += k;
	}
}

static int digits(const char *s, size_t *i, size_t n)
{
	size_t start = *i;

	while (*i < n && (unsigned char)(s[*i] - '0') < 10)
		(*i)++;
	return *i > start;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, from pos;
 * returns the end of the number, or -1 (the error points at its start). */
static long scan_number(struct pn_json *j, size_t pos)
{
	const char *s = j->text;
	size_t i = pos, n = j->len;
	int ok = 1;

	/* the usual number, a plain positive integer ended by a separator */
	if (s[i] >= '1' && s[i] <= '9') {
		for (i++; i < n && (unsigned char)(s[i] - '0') < 10; i++)
			;
		if (i < n && (s[i] == ',' || s[i] == '}' || s[i] == ']' || is_ws(s[i])))
			return (long)i;
		i = pos;
	}

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else
		ok = digits(s, &i, n);
	if (ok && i < n && s[i] == '.') {
		i++;
		ok = digits(s, &i, n);
	}
	if (ok && i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		ok = digits(s, &i, n);
	}
	if (!ok && i >= n)
		return fail(j, "truncated JSON", n);
	/* "01", "1.5.5", "0x1": what follows a number must end it */
	if (!ok || (i < n && (is_alnum(s[i]) || s[i] == '.' || s[i] == '-' ||
			      s[i] == '+')))
		return fail(j, "invalid number", pos);
	return (long)i;
}

int pn_json_is_number(const char *s, size_t n)
{
	struct pn_json j = { .text = s, .len = n };

	return n > 0 && (s[0] == '-' || (unsigned char)(s[0] - '0') < 10) &&
	       scan_number(&j, 0) == (long)n;
}

/* true, false or null at pos: returns its end, or -1. */
static long scan_literal(struct pn_json *j, size_t pos)
{
	const char *s = j->text + pos;
	size_t end = pos, n;

	while (end < j->len && is_alnum(j->text[end]))
		end++;
	n = end - pos;
	if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
	    (n == 5 && !memcmp(s, "false", 5)))
		return (long)end;
	if (end == j->len && ((n < 4 && (!memcmp(s, "true", n) || !memcmp(s, "null", n))) ||
			      (n < 5 && !memcmp(s, "false", n))))
		return fail(j, "truncated JSON", j->len);
	return fail(j, "invalid literal", pos);
}

static inline size_t skip_ws(const struct pn_json *j, size_t pos)
{
	while (pos < j->len && is_ws(j->text[pos]))
		pos++;
	return pos;
}

static inline int new_tok(struct pn_json *j, enum pn_json_type type, size_t start, int parent)
{
	struct pn_tok *t;

	if (j->ntok == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 64;
		j->tok = pn_realloc(j->tok, j->cap * sizeof(*j->tok));
	}
	t = &j->tok[j->ntok];
	t->type = type;
	t->start = (int)start;
	t->end = -1;
	t->size = 0;
	t->parent = parent;
	return j->ntok++;
}

/* What went wrong at pos, when a structural character was expected. */
static int fail_at(struct pn_json *j, size_t pos, const char *expected)
{
	if (pos >= j->len)
		return fail(j, "truncated JSON", j->len);
	if (!j->text[pos])
		return fail(j, "NUL byte in input", pos);
	return fail(j, expected, pos);
}

/* A scalar value at pos (string, number, literal): its token, pos after it. */
static inline __attribute__((always_inline)) int scan_scalar(struct pn_json *j, size_t *pos,
								int parent)
{
	char c = j->text[*pos];
	long end;
	int t;

	if (c == '"') {
		if ((end = scan_string(j, *pos)) < 0)
			return -1;
		t = new_tok(j, PN_JSON_STRING, *pos + 1, parent);
		j->tok[t].end = (int)end;
		*pos = end + 1;
		return 0;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		end = scan_number(j, *pos);
	else if (c == 't' || c == 'f' || c == 'n')
		end = scan_literal(j, *pos);
	else
		return fail_at(j, *pos, "invalid JSON");
	if (end < 0)
		return -1;
	t = new_tok(j, PN_JSON_PRIMITIVE, *pos, parent);
	j->tok[t].end = (int)end;
	*pos = end;
	return 0;
}

/*
 * One pass over the text with an explicit stack of open containers, so
 * depth costs no C stack: expect a value, or a key (after '{' or ',' in an
 * object), or what may follow a value (',' or the closing bracket).
 */
static int parse_full(struct pn_json *j, const char *text, size_t len)
{
	enum { VALUE, KEY, AFTER } want = VALUE;
	int stack[PN_JSON_MAX_DEPTH], depth = 0, parent = -1;
	size_t pos;

	j->text = text;
	j->len = len;
	j->ntok = 0;
	j->why = NULL;
	j->at = 0;
	pos = skip_ws(j, 0);
	if (pos == len)
		return fail(j, "empty line, expected a JSON value", 0);
	for (;;) {
		if (want == VALUE) {
			char c = pos < len ? text[pos] : 0;

			if (c == '{' || c == '[') {
				int t;

				if (depth == PN_JSON_MAX_DEPTH)
					return fail(j, "nesting too deep", pos);
				t = new_tok(j, c == '{' ? PN_JSON_OBJECT : PN_JSON_ARRAY, pos, parent);
				stack[depth++] = t;
				pos = skip_ws(j, pos + 1);
				if (pos < len && text[pos] == (c == '{' ? '}' : ']')) {
					want = AFTER; /* empty: closed below */
				} else if (c == '{') {
					want = KEY;
				} else {
					j->tok[t].size++;
					parent = t;
				}
				continue;
			}
			if (pos >= len)
				return fail(j, "truncated JSON", len);
			if (scan_scalar(j, &pos, parent) < 0)
				return -1;
			want = AFTER;
		} else if (want == KEY) {
			int obj = stack[depth - 1], k;
			long end;

			if (pos >= len || text[pos] != '"')
				return fail_at(j, pos, "expected a string key");
			if ((end = scan_string(j, pos)) < 0)
				return -1;
			k = new_tok(j, PN_JSON_STRING, pos + 1, obj);
			j->tok[k].end = (int)end;
			j->tok[k].size = 1;
			j->tok[obj].size++;
			pos = skip_ws(j, end + 1);
			if (pos >= len || text[pos] != ':')
				return fail_at(j, pos, "expected ':'");
			pos = skip_ws(j, pos + 1);
			parent = k;
			want = VALUE;
		} else {
			int top;
			char close;

			pos = skip_ws(j, pos);
			if (depth == 0)
				break;
			top = stack[depth - 1];
			close = j->tok[top].type == PN_JSON_OBJECT ? '}' : ']';
			if (pos < len && text[pos] == ',') {
				pos = skip_ws(j, pos + 1);
				if (close == '}') {
					want = KEY;
				} else {
					j->tok[top].size++;
					parent = top;
					want = VALUE;
				}
			} else if (pos < len && text[pos] == close) {
				j->tok[top].end = (int)++pos;
				depth--;
				parent = depth ? j->tok[top].parent : -1;
			} else {
				return fail_at(j, pos, close == '}' ? "expected ',' or '}'"
								    : "expected ',' or ']'");
			}
		}
	}
	if (pos != len)
		return fail(j, text[pos] ? "unexpected data after the JSON value"
					 : "NUL byte in input", pos);
	return 0;
}

/* The first and one past the last byte of a value, quotes and all. */
static int raw_start(const struct pn_tok *t)
{
	return t->start - (t->type == PN_JSON_STRING);
}

static int raw_end(const struct pn_tok *t)
{
	return t->end + (t->type == PN_JSON_STRING);
}

static void add_seg(struct pn_json *j, int from, int to, const struct pn_tok *key)
{
	struct pn_json_seg *g;

	if (j->nsegs == j->segcap) {
		j->segcap = j->segcap ? 2 * j->segcap : 16;
		j->segs = pn_realloc(j->segs, j->segcap * sizeof(*j->segs));
	}
	g = &j->segs[j->nsegs++];
	g->off = (int)j->skel.len;
	g->len = to - from;
	g->key_start = key ? key->start - from : 0;
	g->key_end = key ? key->end - from : 0;
	pn_buf_add(&j->skel, j->text + from, (size_t)(to - from));
}

/* After a full parse: the skeleton of the text if it is a flat object,
 * else none. */
static void keep_skeleton(struct pn_json *j)
{
	static uint64_t shapes;		/* shapes are told apart across parsers */
	const struct pn_tok *t = j->tok;
	int n = t[0].size, from = 0;

	j->shape = __atomic_add_fetch(&shapes, 1, __ATOMIC_RELAXED);
	j->nsegs = 0;
	pn_buf_reset(&j->skel);
	if (t[0].type != PN_JSON_OBJECT || n < 1 || j->ntok != 1 + 2 * n)
		return;
	for (int m = 0; m < n; m++) {
		const struct pn_tok *v = &t[2 + 2 * m];

		if (v->type != PN_JSON_STRING && v->type != PN_JSON_PRIMITIVE) {
			j->nsegs = 0;
			return;
		}
		add_seg(j, from, raw_start(v), &t[1 + 2 * m]);
		from = raw_end(v);
	}
	add_seg(j, from, (int)j->len, NULL);
	j->obj_start = t[0].start;
	j->obj_end = t[0].end - from;
}

static inline uint32_t load4(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* memcmp(a, b, n) == 0 for the few bytes of a stretch, without a call:
 * whole words, the last one overlapping the one before */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if (load8(x + i) != load8(y + i))
				return 0;
		return load8(x + n - 8) == load8(y + n - 8);
	}
	if (n >= 4)
		return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
	for (; n; a++, b++, n--)
		if (*a != *b)
			return 0;
	return 1;
}

/* The text as the skeleton with other values: 0 and the tokens, or -1
 * (the text is then parsed in full, which finds what is wrong if anything
 * is: what the skeleton holds was valid, and each value is scanned by the
 * same code, so a text passes here only if it would pass there). */
static int parse_like(struct pn_json *j)
{
	const char *text = j->text, *skel = j->skel.data;
	int n = j->nsegs - 1, pos = 0, len = (int)j->len;

	for (int m = 0;; m++) {
		const struct pn_json_seg *g = &j->segs[m];
		size_t at;
		int k = 1 + 2 * m;

		if (len - pos < g->len || !same_bytes(text + pos, skel + g->off, (size_t)g->len))
			return -1;
		if (m == n)
			break;
		j->tok[k] = (struct pn_tok){ PN_JSON_STRING, pos + g->key_start, pos + g->key_end, 1, 0 };
		at = (size_t)(pos + g->len);
		j->ntok = k + 1;
		if (at >= j->len || scan_scalar(j, &at, k) < 0)
			return -1;
		pos = (int)at;
	}
	if (pos + j->segs[n].len != len)
		return -1;
	j->tok[0] = (struct pn_tok){ PN_JSON_OBJECT, j->obj_start, pos + j->obj_end, n, -1 };
	return 0;
}

int pn_json_parse(struct pn_json *j, const char *text, size_t len)
{
	j->text = text;
	j->len = len;
	j->why = NULL;
	j->at = 0;
	if (j->nsegs && len <= INT32_MAX && parse_like(j) == 0)
		return 0;
	if (parse_full(j, text, len))
		return -1;
	keep_skeleton(j);
	return 0;
}

int pn_json_skip(const struct pn_json *j, int i)
{
	int end = j->tok[i].end;

	if (j->tok[i].type == PN_JSON_STRING || j->tok[i].type == PN_JSON_PRIMITIVE)
		return i + 1; /* no children: the common case */
	for (i++; i < j->ntok && j->tok[i].start < end; i++)
		;
	return i;
}

/* An escape makes a string longer than what it decodes to: a token no
 * longer than s can only equal it byte for byte, and then only if it has
 * no backslash; a longer one only if it has one. */
int pn_json_tok_eq(const struct pn_json *j, int i, const char *s, size_t n)
{
	const struct pn_tok *t = &j->tok[i];
	const char *name = j->text + t->start;
	size_t len = t->end - t->start;

	if (t->type != PN_JSON_STRING || len < n)
		return 0;
	if (len == n)
		return !memcmp(name, s, n) && !memchr(s, '\\', n);
	return memchr(name, '\\', len) && pn_json_str_eq(name, len, s, n);
}

int pn_json_get(const struct pn_json *j, int obj, const char *key, size_t keylen)
{
	int k = obj + 1, found = -1;

	for (int n = 0; n < j->tok[obj].size; n++) {
		if (pn_json_tok_eq(j, k, key, keylen))
			found = k + 1;	/* a name twice: the last one counts */
		k = pn_json_skip(j, k + 1);
	}
	return found;
}

int pn_json_members(const struct pn_json *j, const char *const *names, const size_t *lens,
		    int n, int *val)
{
	int k = 1, unknown = 0;

	for (int f = 0; f < n; f++)
		val[f] = -1;
	for (int m = 0; m < j->tok[0].size; m++) {
		const struct pn_tok *key = &j->tok[k];
		size_t len = key->end - key->start;
		const char *name = j->text + key->start;
		int f;

		/* length, first and last byte reject nearly every pair cheaply */
		for (f = 0; f < n; f++) {
			const char *want = names[f];

			if (lens[f] == len && len && want[0] == name[0] &&
			    want[len - 1] == name[len - 1] && !memcmp(want, name, len) &&
			    !memchr(want, '\\', len))
				break;
		}
		/* a name with escapes, compared decoded (rare: after a miss) */
		if (f == n && memchr(name, '\\', len))
			for (f = 0; f < n && !pn_json_tok_eq(j, k, names[f], lens[f]); f++)
				;
		if (f < n)
			val[f] = k + 1;	/* a name twice: the last one counts */
		else if (!unknown && !pn_json_is_meta_name(name, len))
			unknown = k;
		k = pn_json_skip(j, k + 1);
	}
	return unknown;
}

int pn_json_members_memo(const struct pn_json *j, const char *const *names, const size_t *lens,
			 int n, int *val, struct pn_json_memo *memo)
{
	if (!j->shape || j->shape != memo->shape) {
		memo->unknown = pn_json_members(j, names, lens, n, val);
		memo->shape = j->shape;
	}
	return memo->unknown;
}

const char *pn_json_raw(const struct pn_json *j, int i, size_t *len)
{
	const struct pn_tok *t = &j->tok[i];
	int quoted = t->type == PN_JSON_STRING;

	*len = (size_t)(t->end - t->start) + 2 * quoted;
	return j->text + t->start - quoted;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/* Writes code point cp as UTF-8 to u (4 bytes at most); returns how many. */
static size_t utf8_put(char *u, unsigned cp)
{
	if (cp < 0x80) {
		u[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = 0xc0 | (cp >> 6);
		u[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = 0xe0 | (cp >> 12);
		u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	u[0] = 0xf0 | (cp >> 18);
	u[1] = 0x80 | ((cp >> 12) & 0x3f);
	u[2] = 0x80 | ((cp >> 6) & 0x3f);
	u[3] = 0x80 | (cp & 0x3f);
	return 4;
}

static void add_utf8(struct pn_buf *out, unsigned cp)
{
	char u[4];

	pn_buf_add(out, u, utf8_put(u, cp));
}

/* Decodes \uXXXX at s (s[0] == 'u'), a surrogate pair when there is one;
 * returns how many bytes it used. */
static size_t decode_u(const char *s, size_t n, unsigned *cp)
{
	unsigned hi, lo;

	if (n < 5 || hex4(s + 1, &hi) < 0) {
		*cp = 0xfffd;
		return 1;
	}
	if (hi >= 0xd800 && hi <= 0xdbff && n >= 11 && s[5] == '\\' && s[6] == 'u' &&
	    hex4(s + 7, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
		*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		return 11;
	}
	*cp = hi >= 0xd800 && hi <= 0xdfff ? 0xfffd : hi;
	return 5;
}

static size_t unescape_u(const char *s, size_t n, struct pn_buf *out)
{
	unsigned cp;
	size_t used = decode_u(s, n, &cp);

	add_utf8(out, cp);
	return used;
}

/* Decodes the escape at s (s[0] == '\\') into u, as pn_json_unescape
 * does; returns the bytes of s used, *len the bytes of u written. */
static size_t unescape_one(const char *s, size_t n, char *u, size_t *len)
{
	static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
	const char *p;
	unsigned cp;
	size_t used;

	*len = 0;
	if (n < 2)
		return n;
	if (s[1] == 'u') {
		used = decode_u(s + 1, n - 1, &cp);
		*len = utf8_put(u, cp);
		return 1 + used;
	}
	p = s[1] ? strchr(from, s[1]) : NULL;
	u[0] = p ? to[p - from] : s[1];	/* " \ / */
	*len = 1;
	return 2;
}

int pn_json_str_eq(const char *e, size_t en, const char *s, size_t n)
{
	char u[4];
	size_t i = 0, at = 0, ulen;
	int eq = 1;

	/* one escape at a time, decoded on the stack: no allocation */
	while (eq && i < en) {
		const char *bs = memchr(e + i, '\\', en - i);
		size_t run = bs ? (size_t)(bs - e) - i : en - i;

		if (run > n - at || memcmp(e + i, s + at, run))
			return 0;
		i += run;
		at += run;
		if (i >= en)
			break;
		i += unescape_one(e + i, en - i, u, &ulen);
		eq = ulen <= n - at && !memcmp(u, s + at, ulen);
		at += ulen;
	}
	return eq && at == n;
}

void pn_json_unescape(const char *s, size_t n, struct pn_buf *out)
{
	size_t i = 0;

	pn_buf_grow(out, n);
	while (i < n) {
		const char *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - s) - i : n - i;
		char c;

		pn_buf_add(out, s + i, run);
		i += run;
		if (i + 1 >= n)
			break;
		c = s[i + 1];
		i++;
		switch (c) {
		case 'b': pn_buf_addc(out, '\b'); break;
		case 'f': pn_buf_addc(out, '\f'); break;
		case 'n': pn_buf_addc(out, '\n'); break;
		case 'r': pn_buf_addc(out, '\r'); break;
		case 't': pn_buf_addc(out, '\t'); break;
		case 'u': i += unescape_u(s + i, n - i, out); continue;
		default: pn_buf_addc(out, c); break; /* " \ / */
		}
		i++;
	}
}

int pn_json_int64(const char *s, size_t n, int64_t *v)
{
	uint64_t acc = 0, limit;
	int neg = 0;
	size_t i = 0;

	if (n && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n)
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || acc > (limit - d) / 10)
			return -1;
		acc = acc * 10 + d;
	}
	*v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

static const char hexdigits[] = "0123456789abcdef";

static void add_escape(struct pn_buf *b, unsigned char c)
{
	switch (c) {
	case '"': pn_buf_add(b, "\\\"", 2); return;
	case '\\': pn_buf_add(b, "\\\\", 2); return;
	case '\b': pn_buf_add(b, "\\b", 2); return;
	case '\f': pn_buf_add(b, "\\f", 2); return;
	case '\n': pn_buf_add(b, "\\n", 2); return;
	case '\r': pn_buf_add(b, "\\r", 2); return;
	case '\t': pn_buf_add(b, "\\t", 2); return;
	}
	char u[6] = { '\\', 'u', '0', '0', hexdigits[c >> 4], hexdigits[c & 15] };
	pn_buf_add(b, u, 6);
}

void pn_json_add_string(struct pn_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	pn_buf_grow(b, n + 2);
	pn_buf_addc(b, '"');
	while (i < n) {
		unsigned c = u[i];
		size_t k;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_seq_len(u + i, n - i)) > 0) {
			i += k;
			continue;
		}
		pn_buf_add(b, s + run, i - run);
		if (c < 0x80)
			add_escape(b, c);
		else
			pn_buf_add(b, "\xef\xbf\xbd", 3); /* U+FFFD */
		run = ++i;
	}
	pn_buf_add(b, s + run, i - run);
	pn_buf_addc(b, '"');
}
