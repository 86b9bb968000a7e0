/*
 * pn_avro_encode.c — natural JSON -> Avro binary: the value's pn_json
 * tokens read in place, written under the schema's nodes into c->out, a
 * union's branch chosen by what the value fits (pn_avro.h says how).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pn_avro_int.h"
#include "pn_err.h"

/* ---- Avro binary primitives ---- */

static inline void put_long(struct pn_buf *b, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	char *p;

	if (b->cap - b->len < 11)
		pn_buf_grow(b, 10);
	p = b->data + b->len;
	while (u > 0x7f) {
		*p++ = (char)((u & 0x7f) | 0x80);
		u >>= 7;
	}
	*p++ = (char)u;
	b->len = p - b->data;
	b->data[b->len] = '\0';
}

static inline void put_bytes(struct pn_buf *b, const void *p, size_t n)
{
	put_long(b, (int64_t)n);
	pn_buf_add(b, p, n);
}

/* ---- encoding: natural JSON -> Avro binary ---- */

static const char *json_kind(const struct pn_json *j, int t)
{
	switch (j->tok[t].type) {
	case PN_JSON_OBJECT: return "an object";
	case PN_JSON_ARRAY: return "a list";
	case PN_JSON_STRING: return "a string";
	default: break;
	}
	switch (j->text[j->tok[t].start]) {
	case 'n': return "null";
	case 't': case 'f': return "a boolean";
	default: return "a number";
	}
}

static const char *expected(const struct pn_avro_node *n)
{
	static const char *const what[] = {
		"null", "a boolean", "an int", "a long", "a float", "a double",
		"bytes (base64)", "a string", "an object", "an enum symbol", "a list",
		"an object (map)", "a union", "a fixed (base64)",
	};

	switch (n->logical) {
	case PN_AVRO_DECIMAL: return "a decimal (string or number)";
	case PN_AVRO_DATE: return "a date (YYYY-MM-DD or days)";
	case PN_AVRO_TIME_MILLIS: case PN_AVRO_TIME_MICROS: return "a time of day (HH:MM:SS.fff)";
	case PN_AVRO_TS_MILLIS: case PN_AVRO_TS_MICROS: case PN_AVRO_LOCAL_TS_MILLIS:
	case PN_AVRO_LOCAL_TS_MICROS: return "a timestamp (ISO 8601 or a number)";
	default: return what[n->type];
	}
}

static inline int is_null(const struct pn_json *j, int t)
{
	return j->tok[t].type == PN_JSON_PRIMITIVE && j->text[j->tok[t].start] == 'n';
}

static inline int is_bool(const struct pn_json *j, int t)
{
	char ch = j->text[j->tok[t].start];

	return j->tok[t].type == PN_JSON_PRIMITIVE && (ch == 't' || ch == 'f');
}

static inline int is_number(const struct pn_json *j, int t)
{
	return j->tok[t].type == PN_JSON_PRIMITIVE && !is_null(j, t) && !is_bool(j, t);
}

/* A string token decoded (only when it has escapes) into c->tmp. */
static const char *tok_string(struct pn_avro_codec *c, const struct pn_json *j, int t,
			      size_t *len)
{
	const char *s = j->text + j->tok[t].start;
	size_t n = j->tok[t].end - j->tok[t].start;

	if (!memchr(s, '\\', n)) {
		*len = n;
		return s;
	}
	pn_buf_reset(&c->tmp);
	pn_json_unescape(s, n, &c->tmp);
	*len = c->tmp.len;
	return c->tmp.data;
}

/* The string token as a NUL-terminated copy in c->tmp. */
static const char *tok_cstring(struct pn_avro_codec *c, const struct pn_json *j, int t)
{
	size_t len;
	const char *s = tok_string(c, j, t, &len);

	if (s != c->tmp.data) {
		pn_buf_reset(&c->tmp);
		pn_buf_add(&c->tmp, s, len);
	}
	return c->tmp.data;
}

static int enc(struct pn_avro_codec *c, const struct pn_avro_node *n, const struct pn_json *j,
	       int t);

static int enc_integer(struct pn_avro_codec *c, const struct pn_avro_node *n,
		       const struct pn_json *j, int t)
{
	int64_t v;

	if (j->tok[t].type == PN_JSON_STRING && n->logical != PN_AVRO_PLAIN) {
		if (pn_avro_parse_logical(n, tok_cstring(c, j, t), &v))
			return pn_avro_fail(c, "expected %s, got '%s'", expected(n), c->tmp.data);
	} else if (!is_number(j, t)) {
		return pn_avro_fail(c, "expected %s, got %s", expected(n), json_kind(j, t));
	} else if (pn_json_int64(j->text + j->tok[t].start, j->tok[t].end - j->tok[t].start,
				 &v)) {
		return pn_avro_fail(c, "expected %s, got a number that is not a 64-bit integer",
				    expected(n));
	}
	if (n->type == PN_AVRO_INT && (v < INT32_MIN || v > INT32_MAX))
		return pn_avro_fail(c, "%lld does not fit an int", (long long)v);
	put_long(&c->out, v);
	return 0;
}

static int enc_real(struct pn_avro_codec *c, const struct pn_avro_node *n,
		    const struct pn_json *j, int t)
{
	char num[64], *end;
	size_t len = j->tok[t].end - j->tok[t].start;
	double d;

	if (j->tok[t].type == PN_JSON_STRING) {
		const char *s = tok_cstring(c, j, t);

		if (!strcmp(s, "NaN"))
			d = NAN;
		else if (!strcmp(s, "Infinity"))
			d = INFINITY;
		else if (!strcmp(s, "-Infinity"))
			d = -INFINITY;
		else
			return pn_avro_fail(c, "expected %s, got a string", expected(n));
	} else if (!is_number(j, t) || len >= sizeof(num)) {
		return pn_avro_fail(c, "expected %s, got %s", expected(n), json_kind(j, t));
	} else {
		memcpy(num, j->text + j->tok[t].start, len);
		num[len] = '\0';
		d = strtod(num, &end);
		if (isinf(d))	/* 1e400: "Infinity" says so, a number may not */
			return pn_avro_fail(c, "%s does not fit a double", num);
	}
	if (n->type == PN_AVRO_FLOAT) {
		float f = (float)d;

		if (isinf(f) && !isinf(d))
			return pn_avro_fail(c, "%s does not fit a float", num);
		pn_buf_add(&c->out, &f, 4); /* little-endian, as Avro wants (x86, arm) */
	} else {
		pn_buf_add(&c->out, &d, 8);
	}
	return 0;
}

/* bytes and fixed from base64 (or, in a schema default, code points). */
static int enc_binary(struct pn_avro_codec *c, const struct pn_avro_node *n,
		      const struct pn_json *j, int t)
{
	size_t len;
	const char *s, *why = NULL;

	if (j->tok[t].type != PN_JSON_STRING && !(n->logical == PN_AVRO_DECIMAL && is_number(j, t)))
		return pn_avro_fail(c, "expected %s, got %s", expected(n), json_kind(j, t));
	s = j->tok[t].type == PN_JSON_STRING ? tok_string(c, j, t, &len)
					    : pn_json_raw(j, t, &len);
	pn_buf_reset(&c->bin);
	if (n->logical == PN_AVRO_DECIMAL) {
		if (pn_avro_decimal_to_bytes(s, len, n->precision > 150 ? 150 : n->precision,
					     n->scale, n->type == PN_AVRO_FIXED ? n->size : 0,
					     &c->bin, &why))
			return pn_avro_fail(c, "'%.*s' %s", (int)len, s, why);
	} else if (c->default_mode) {
		/* defaults of bytes are ISO-8859-1 text (the Avro spec) */
		for (size_t i = 0; i < len; i++) {
			unsigned char b = (unsigned char)s[i];

			if (b >= 0xc4)
				return pn_avro_fail(c, "a bytes default must be code points "
						    "below 256");
			if (b >= 0xc2 && i + 1 < len)
				b = (unsigned char)(((b & 0x1f) << 6) | (s[++i] & 0x3f));
			pn_buf_addc(&c->bin, (char)b);
		}
	} else if (pn_buf_add_unbase64(&c->bin, s, len)) {
		return pn_avro_fail(c, "expected %s, got a string that is not base64", expected(n));
	}
	if (n->type == PN_AVRO_FIXED) {
		if (c->bin.len != n->size)
			return pn_avro_fail(c, "expected %zu bytes for fixed '%s', got %zu",
					    n->size, n->name, c->bin.len);
		pn_buf_add(&c->out, c->bin.data, n->size);
	} else {
		put_bytes(&c->out, c->bin.data, c->bin.len);
	}
	return 0;
}

static int admits_null(const struct pn_avro_node *n, int *branch)
{
	if (n->type == PN_AVRO_NULL) {
		*branch = -1;
		return 1;
	}
	for (int i = 0; n->type == PN_AVRO_UNION && i < n->nbranches; i++)
		if (n->branches[i]->type == PN_AVRO_NULL) {
			*branch = i;
			return 1;
		}
	return 0;
}

static int enc_record(struct pn_avro_codec *c, const struct pn_avro_node *n,
		      const struct pn_json *j, int t, int skip_meta)
{
	int local[32], *at = n->nfields <= 32 ? local : pn_malloc(n->nfields * sizeof(int));
	int k = t + 1, status = 0, branch;

	if (j->tok[t].type != PN_JSON_OBJECT) {
		status = pn_avro_fail(c, "expected an object for record '%s', got %s", n->name,
				      json_kind(j, t));
		goto out;
	}
	for (int i = 0; i < n->nfields; i++)
		at[i] = -1;
	for (int m = 0; m < j->tok[t].size; m++, k = pn_json_skip(j, k + 1)) {
		const char *name = j->text + j->tok[k].start;
		size_t len = j->tok[k].end - j->tok[k].start;
		int f;

		if (skip_meta && pn_json_is_meta_name(name, len))
			continue;
		f = pn_avro_find_field(n, name, len, m);
		if (f < 0) {
			pn_avro_push_name(c, name, len);
			status = pn_avro_fail(c, "not in the schema of record '%s'", n->name);
			pn_avro_pop(c);
			goto out;
		}
		at[f] = k + 1;
	}
	for (int i = 0; i < n->nfields && status == 0; i++) {
		const struct pn_avro_field *f = &n->fields[i];

		pn_avro_push_name(c, f->name, f->name_len);
		if (at[i] >= 0)
			status = enc(c, f->type, j, at[i]);
		else if (f->has_default)
			pn_buf_add(&c->out, f->def_bin, f->def_bin_len);
		else if (admits_null(f->type, &branch)) {
			if (branch >= 0)
				put_long(&c->out, branch);
		} else
			status = pn_avro_fail(c, "missing, and the schema gives no default");
		pn_avro_pop(c);
	}
out:
	if (at != local)
		free(at);
	return status;
}

static int enc_enum(struct pn_avro_codec *c, const struct pn_avro_node *n,
		    const struct pn_json *j, int t)
{
	size_t len;
	const char *s;

	if (j->tok[t].type != PN_JSON_STRING)
		return pn_avro_fail(c, "expected a symbol of enum '%s', got %s", n->name,
				    json_kind(j, t));
	s = tok_string(c, j, t, &len);
	for (int i = 0; i < n->nsymbols; i++)
		if (strlen(n->symbols[i]) == len && !memcmp(n->symbols[i], s, len)) {
			put_long(&c->out, i);
			return 0;
		}
	return pn_avro_fail(c, "'%.*s' is not a symbol of enum '%s'", (int)len, s, n->name);
}

static int enc_array(struct pn_avro_codec *c, const struct pn_avro_node *n,
		     const struct pn_json *j, int t)
{
	int k = t + 1;

	if (j->tok[t].type != PN_JSON_ARRAY)
		return pn_avro_fail(c, "expected a list, got %s", json_kind(j, t));
	if (j->tok[t].size)
		put_long(&c->out, j->tok[t].size);
	for (int i = 0; i < j->tok[t].size; i++, k = pn_json_skip(j, k)) {
		pn_avro_push_index(c, i);
		if (enc(c, n->items, j, k))
			return -1;
		pn_avro_pop(c);
	}
	put_long(&c->out, 0);
	return 0;
}

static int enc_map(struct pn_avro_codec *c, const struct pn_avro_node *n,
		   const struct pn_json *j, int t)
{
	int k = t + 1;

	if (j->tok[t].type != PN_JSON_OBJECT)
		return pn_avro_fail(c, "expected an object (map), got %s", json_kind(j, t));
	if (j->tok[t].size)
		put_long(&c->out, j->tok[t].size);
	for (int i = 0; i < j->tok[t].size; i++, k = pn_json_skip(j, k + 1)) {
		size_t len;
		const char *key = tok_string(c, j, k, &len);

		put_bytes(&c->out, key, len);
		pn_avro_push_name(c, j->text + j->tok[k].start, j->tok[k].end - j->tok[k].start);
		if (enc(c, n->items, j, k + 1))
			return -1;
		pn_avro_pop(c);
	}
	put_long(&c->out, 0);
	return 0;
}

/* "NaN", "Infinity" or "-Infinity": how the decoder writes those floats. */
static int is_special_float(const struct pn_json *j, int t)
{
	return pn_json_tok_eq(j, t, "NaN", 3) || pn_json_tok_eq(j, t, "Infinity", 8) ||
	       pn_json_tok_eq(j, t, "-Infinity", 9);
}

/* How well branch b takes JSON value t: 0 not at all, higher is better. */
static int branch_fit(const struct pn_avro_node *b, const struct pn_json *j, int t)
{
	int64_t v;

	switch (b->type) {
	case PN_AVRO_NULL: return is_null(j, t) ? 9 : 0;
	case PN_AVRO_BOOLEAN: return is_bool(j, t) ? 9 : 0;
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		if (j->tok[t].type == PN_JSON_STRING)
			return b->logical != PN_AVRO_PLAIN ? 3 : 0;
		if (!is_number(j, t) ||
		    pn_json_int64(j->text + j->tok[t].start, j->tok[t].end - j->tok[t].start, &v))
			return 0;
		return b->type == PN_AVRO_INT ? (v >= INT32_MIN && v <= INT32_MAX ? 8 : 0) : 7;
	case PN_AVRO_FLOAT: return is_number(j, t) || is_special_float(j, t) ? 5 : 0;
	case PN_AVRO_DOUBLE: return is_number(j, t) || is_special_float(j, t) ? 6 : 0;
	case PN_AVRO_STRING: return j->tok[t].type == PN_JSON_STRING ? 9 : 0;
	case PN_AVRO_ENUM: return j->tok[t].type == PN_JSON_STRING ? 8 : 0;
	case PN_AVRO_BYTES:
	case PN_AVRO_FIXED:
		return j->tok[t].type == PN_JSON_STRING ||
		       (b->logical == PN_AVRO_DECIMAL && is_number(j, t)) ? 2 : 0;
	case PN_AVRO_RECORD: return j->tok[t].type == PN_JSON_OBJECT ? 8 : 0;
	case PN_AVRO_MAP: return j->tok[t].type == PN_JSON_OBJECT ? 7 : 0;
	case PN_AVRO_ARRAY: return j->tok[t].type == PN_JSON_ARRAY ? 9 : 0;
	case PN_AVRO_UNION: return 0;
	}
	return 0;
}

static int enc_union(struct pn_avro_codec *c, const struct pn_avro_node *n,
		     const struct pn_json *j, int t)
{
	size_t at = c->out.len;
	int fit[64], tried[64], ntried = 0, nb = n->nbranches < 64 ? n->nbranches : 64;

	/* try the branches the value fits, best fit first */
	for (int i = 0; i < nb; i++)
		fit[i] = branch_fit(n->branches[i], j, t);
	for (;;) {
		int best = -1;

		for (int i = 0; i < nb; i++)
			if (fit[i] > 0 && (best < 0 || fit[i] > fit[best]))
				best = i;
		if (best < 0)
			break;
		fit[best] = 0;
		tried[ntried++] = best;
		put_long(&c->out, best);
		if (enc(c, n->branches[best], j, t) == 0)
			return 0;
		c->out.len = at;
	}
	/* the Avro JSON encoding's wrapper: {"long": 5}, {"com.x.Rec": {...}} */
	if (j->tok[t].type == PN_JSON_OBJECT && j->tok[t].size == 1) {
		for (int i = 0; i < n->nbranches; i++) {
			const char *name = pn_avro_branch_name(n->branches[i]);

			if (pn_json_tok_eq(j, t + 1, name, strlen(name))) {
				put_long(&c->out, i);
				if (enc(c, n->branches[i], j, t + 2) == 0)
					return 0;
				c->out.len = at;
				return -1;
			}
		}
	}
	if (ntried == 1) {
		/* one candidate: its own reason says most */
		put_long(&c->out, tried[0]);
		enc(c, n->branches[tried[0]], j, t);
		c->out.len = at;
		return -1;
	}
	pn_buf_reset(&c->tmp);
	pn_avro_union_names(&c->tmp, n);
	return pn_avro_fail(c, "%s fits no branch of the union %s", json_kind(j, t), c->tmp.data);
}

static int enc(struct pn_avro_codec *c, const struct pn_avro_node *n, const struct pn_json *j,
	       int t)
{
	size_t len;
	const char *s;

	switch (n->type) {
	case PN_AVRO_NULL:
		if (!is_null(j, t))
			return pn_avro_fail(c, "expected null, got %s", json_kind(j, t));
		return 0;
	case PN_AVRO_BOOLEAN:
		if (!is_bool(j, t))
			return pn_avro_fail(c, "expected a boolean, got %s", json_kind(j, t));
		pn_buf_addc(&c->out, j->text[j->tok[t].start] == 't');
		return 0;
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		return enc_integer(c, n, j, t);
	case PN_AVRO_FLOAT:
	case PN_AVRO_DOUBLE:
		return enc_real(c, n, j, t);
	case PN_AVRO_BYTES:
	case PN_AVRO_FIXED:
		return enc_binary(c, n, j, t);
	case PN_AVRO_STRING:
		if (j->tok[t].type != PN_JSON_STRING)
			return pn_avro_fail(c, "expected a string, got %s", json_kind(j, t));
		s = tok_string(c, j, t, &len);
		put_bytes(&c->out, s, len);
		return 0;
	case PN_AVRO_RECORD:
		return enc_record(c, n, j, t, 0);
	case PN_AVRO_ENUM:
		return enc_enum(c, n, j, t);
	case PN_AVRO_ARRAY:
		return enc_array(c, n, j, t);
	case PN_AVRO_MAP:
		return enc_map(c, n, j, t);
	case PN_AVRO_UNION:
		return enc_union(c, n, j, t);
	}
	return pn_avro_fail(c, "unknown type");
}

int pn_avro_encode(struct pn_avro_codec *c, const struct pn_avro_schema *s,
		   const struct pn_json *j, int tok, int skip_meta)
{
	c->depth = 0;
	if (s->root->type == PN_AVRO_RECORD)
		return enc_record(c, s->root, j, tok, skip_meta);
	return enc(c, s->root, j, tok);
}
