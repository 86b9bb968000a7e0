#include <stdlib.h>
#include <string.h>

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>	/* the implementation, once, in this file */

#include "pn_err.h"
#include "pn_json.h"

void pn_json_init(struct pn_json *j)
{
	memset(j, 0, sizeof(*j));
}

void pn_json_release(struct pn_json *j)
{
	free(j->tok);
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
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Text positions around a token, quotes included. */
static inline size_t outer_start(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? (size_t)t->start - 1 : (size_t)t->start;
}

static inline size_t outer_end(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? (size_t)t->end + 1 : (size_t)t->end;
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

/*
 * True if any of the 8 bytes is a control character (< 0x20), a backslash
 * or not ASCII: the bytes check_string must look at one by one.  The usual
 * SWAR tests: (x - 0x20…) sets a byte's top bit when it was below 0x20,
 * and the same on x ^ '\\'… finds a backslash.
 */
static inline int needs_look(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t bs = x ^ (ones * '\\');

	return (((x - ones * 0x20) | (bs - ones) | x) & high) != 0;
}

/* The body of a string: jsmn checked the escapes; we check the rest. */
static int check_string(struct pn_json *j, size_t from, size_t to)
{
	const unsigned char *u = (const unsigned char *)j->text;
	size_t i = from;

	while (i < to) {
		unsigned c;

		/* plain ASCII runs, the common case, 8 bytes at a time */
		while (i + 8 <= to && !needs_look(load8(u + i)))
			i += 8;
		if (i >= to)
			break;
		c = u[i];
		if (c >= 0x20 && c < 0x80) {
			i += c == '\\' ? 2 : 1;
			continue;
		}
		if (c < 0x20)
			return fail(j, "control character in a string must be escaped", i);
		if (!utf8_seq_len(u + i, to - i))
			return fail(j, "invalid UTF-8 in a string", i);
		i += utf8_seq_len(u + i, to - i);
	}
	return 0;
}

static int digits(const char *s, size_t *i, size_t n)
{
	size_t start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i > start;
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_number(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (!digits(s, &i, n))
		return 0;
	if (i < n && s[i] == '.') {
		i++;
		if (!digits(s, &i, n))
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!digits(s, &i, n))
			return 0;
	}
	return i == n;
}

static int check_primitive(struct pn_json *j, const jsmntok_t *t)
{
	const char *s = j->text + t->start;
	size_t n = t->end - t->start;

	if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) ||
	    (n == 4 && !memcmp(s, "null", 4)) || is_number(s, n))
		return 0;
	return fail(j, "invalid literal or number", t->start);
}

/* text[from, to) must be white space holding exactly one `sep` (if any). */
static int check_gap(struct pn_json *j, size_t from, size_t to, char sep)
{
	int seen = 0;

	for (size_t i = from; i < to; i++) {
		char c = j->text[i];

		if (is_ws(c))
			continue;
		if (sep && c == sep && !seen) {
			seen = 1;
			continue;
		}
		return fail(j, "unexpected character", i);
	}
	if (sep && !seen)
		return fail(j, sep == ':' ? "expected ':'" : "expected ','", to);
	return 0;
}

static int check_value(struct pn_json *j, int i, int depth);

/* Members of an object or elements of an array, with their separators. */
static int check_container(struct pn_json *j, int i, int depth)
{
	const jsmntok_t *t = &j->tok[i];
	int is_object = t->type == JSMN_OBJECT;
	size_t pos = t->start + 1;
	int k = i + 1;

	if (depth >= PN_JSON_MAX_DEPTH)
		return fail(j, "nesting too deep", t->start);
	for (int n = 0; n < t->size; n++) {
		char sep = n ? ',' : 0;

		if (k >= j->ntok)
			return fail(j, "truncated JSON", j->len);
		if (is_object) {
			const jsmntok_t *key = &j->tok[k];

			if (key->type != JSMN_STRING)
				return fail(j, "object key must be a string", key->start);
			if (check_gap(j, pos, outer_start(key), sep) ||
			    check_string(j, key->start, key->end))
				return -1;
			pos = outer_end(key);
			sep = ':';
			if (++k >= j->ntok)
				return fail(j, "truncated JSON", j->len);
		}
		if (check_gap(j, pos, outer_start(&j->tok[k]), sep))
			return -1;
		pos = outer_end(&j->tok[k]);
		k = check_value(j, k, depth + 1);
		if (k < 0)
			return -1;
	}
	if (check_gap(j, pos, t->end - 1, 0))
		return -1;
	return k;
}

/* Returns the index after the subtree at i, or -1. */
static int check_value(struct pn_json *j, int i, int depth)
{
	const jsmntok_t *t = &j->tok[i];

	switch (t->type) {
	case JSMN_STRING:
		return check_string(j, t->start, t->end) ? -1 : i + 1;
	case JSMN_PRIMITIVE:
		return check_primitive(j, t) ? -1 : i + 1;
	case JSMN_OBJECT:
	case JSMN_ARRAY:
		return check_container(j, i, depth);
	default:
		return fail(j, "invalid JSON", t->start);
	}
}

/*
 * jsmn slows down quadratically with nesting depth, so a long line is
 * checked for depth first (short ones cannot nest deep enough to matter).
 */
static int too_deep(struct pn_json *j)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < j->len; i++) {
		char c = j->text[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > PN_JSON_MAX_DEPTH)
				return fail(j, "nesting too deep", i);
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return 0;
}

/* A lone number or literal, which jsmn's strict mode cannot end. */
static int lone_primitive(struct pn_json *j)
{
	size_t start = 0, end = j->len;

	while (start < end && is_ws(j->text[start]))
		start++;
	while (end > start && is_ws(j->text[end - 1]))
		end--;
	if (start == end || strchr("{[\"", j->text[start]))
		return -1;
	j->tok[0] = (jsmntok_t){ .type = JSMN_PRIMITIVE, .start = (int)start, .end = (int)end,
				 .size = 0, .parent = -1 };
	j->ntok = 1;
	return check_primitive(j, &j->tok[0]) ? fail(j, "invalid JSON", start) : 0;
}

static int tokenize(struct pn_json *j)
{
	jsmn_parser p;
	int r;

	if (j->len > 2048 && too_deep(j))
		return -1;
	jsmn_init(&p);
	if (!j->cap) {
		j->cap = 256;
		j->tok = pn_malloc(j->cap * sizeof(*j->tok));
	}
	/* jsmn resumes where it stopped when handed a larger token array */
	while ((r = jsmn_parse(&p, j->text, j->len, j->tok, j->cap)) == JSMN_ERROR_NOMEM) {
		j->cap *= 2;
		j->tok = pn_realloc(j->tok, j->cap * sizeof(*j->tok));
	}
	if (r == JSMN_ERROR_PART && lone_primitive(j) == 0)
		return 0;
	if (r == JSMN_ERROR_PART) {
		if (memchr(j->text, '\0', j->len))
			return fail(j, "NUL byte in input", (const char *)memchr(j->text, '\0', j->len) - j->text);
		return fail(j, "truncated JSON", j->len);
	}
	if (r < 0)
		return fail(j, "invalid JSON", p.pos);
	if (r == 0)
		return fail(j, "empty line, expected a JSON value", 0);
	j->ntok = r;
	return 0;
}

int pn_json_parse(struct pn_json *j, const char *text, size_t len)
{
	size_t end;

	j->text = text;
	j->len = len;
	j->ntok = 0;
	j->why = NULL;
	j->at = 0;
	if (tokenize(j) < 0)
		return -1;
	if (check_gap(j, 0, outer_start(&j->tok[0]), 0) || check_value(j, 0, 0) < 0)
		return -1;
	end = outer_end(&j->tok[0]);
	if (check_gap(j, end, len, 0) < 0)
		return fail(j, j->text[j->at] == '\0' ? "NUL byte in input" :
			    "unexpected data after the JSON value", j->at);
	return 0;
}

int pn_json_skip(const struct pn_json *j, int i)
{
	int end = j->tok[i].end;

	for (i++; i < j->ntok && j->tok[i].start < end; i++)
		;
	return i;
}

int pn_json_tok_eq(const struct pn_json *j, int i, const char *s, size_t n)
{
	const jsmntok_t *t = &j->tok[i];

	return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
	       !memcmp(j->text + t->start, s, n);
}

int pn_json_get(const struct pn_json *j, int obj, const char *key, size_t keylen)
{
	int k = obj + 1;

	for (int n = 0; n < j->tok[obj].size; n++) {
		if (pn_json_tok_eq(j, k, key, keylen))
			return k + 1;
		k = pn_json_skip(j, k + 1);
	}
	return -1;
}

const char *pn_json_raw(const struct pn_json *j, int i, size_t *len)
{
	const jsmntok_t *t = &j->tok[i];
	size_t start = outer_start(t);

	*len = outer_end(t) - start;
	return j->text + start;
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

static void add_utf8(struct pn_buf *out, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = 0xc0 | (cp >> 6);
		u[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = 0xe0 | (cp >> 12);
		u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | (cp >> 18);
		u[1] = 0x80 | ((cp >> 12) & 0x3f);
		u[2] = 0x80 | ((cp >> 6) & 0x3f);
		u[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	pn_buf_add(out, u, n);
}

/* Decodes \uXXXX at s (s[0] == 'u'), a surrogate pair when there is one;
 * returns how many bytes it used. */
static size_t unescape_u(const char *s, size_t n, struct pn_buf *out)
{
	unsigned hi, lo;

	if (n < 5 || hex4(s + 1, &hi) < 0) {
		add_utf8(out, 0xfffd);
		return 1;
	}
	if (hi >= 0xd800 && hi <= 0xdbff && n >= 11 && s[5] == '\\' && s[6] == 'u' &&
	    hex4(s + 7, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
		add_utf8(out, 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
		return 11;
	}
	add_utf8(out, hi >= 0xd800 && hi <= 0xdfff ? 0xfffd : hi);
	return 5;
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
