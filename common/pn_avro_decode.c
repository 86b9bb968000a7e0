/*
 * pn_avro_decode.c — Avro binary -> natural JSON, with the writer's schema
 * alone or resolved to a reader's.  Data is untrusted: every read is
 * bounded by the message, and item counts and nesting by what pn_json
 * reads back (pn_avro.h says how values are written).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_avro_int.h"

/* ---- decoding: Avro binary -> natural JSON ---- */

struct rd {
	const unsigned char *p, *end;
	int64_t items_left;	/* array and map items the data may still hold */
	int nest;		/* records, arrays and maps we are in */
};

static int is_container(const struct pn_avro_node *n)
{
	return n->type == PN_AVRO_RECORD || n->type == PN_AVRO_ARRAY || n->type == PN_AVRO_MAP;
}

static int truncated(struct pn_avro_codec *c)
{
	return pn_avro_fail(c, "truncated or malformed Avro data");
}

static inline int get_long(struct pn_avro_codec *c, struct rd *r, int64_t *v)
{
	uint64_t u = 0;
	int shift = 0;

	*v = 0;
	while (r->p < r->end) {
		unsigned char b = *r->p++;

		u |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
		if ((shift += 7) > 63)
			break;
	}
	return truncated(c);
}

static int get_bytes(struct pn_avro_codec *c, struct rd *r, const unsigned char **p,
		     size_t *n)
{
	int64_t len;

	if (get_long(c, r, &len))
		return -1;
	if (len < 0 || len > r->end - r->p)
		return truncated(c);
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
	return 0;
}

static void add_real(struct pn_buf *b, double d, int is_float)
{
	char num[40];

	if (isnan(d)) {
		pn_buf_adds(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		pn_buf_adds(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	/* the shortest text that reads back as the same value */
	for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
		snprintf(num, sizeof(num), "%.*g", prec, d);
		if (is_float ? (float)strtod(num, NULL) == (float)d : strtod(num, NULL) == d)
			break;
	}
	/* JSON numbers need a digit before an exponent or point: %g gives one */
	pn_buf_adds(b, num);
	if (!strpbrk(num, ".eEn"))
		pn_buf_add(b, ".0", 2);
}

static int dec(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r);

static int dec_block_count(struct pn_avro_codec *c, struct rd *r, int64_t *count)
{
	int64_t size;

	if (get_long(c, r, count))
		return -1;
	if (*count < 0) {
		if (*count == INT64_MIN)
			return truncated(c);	/* no count to negate */
		*count = -*count;
		if (get_long(c, r, &size))
			return -1;
	}
	/*
	 * Every item takes a byte at least, but for nulls (and empty
	 * records): a million of those in a whole value, not per block,
	 * or a few bytes of block counts would ask for gigabytes of "null".
	 */
	if (*count > r->items_left)
		return truncated(c);
	r->items_left -= *count;
	return 0;
}

static int dec_array_or_map(struct pn_avro_codec *c, const struct pn_avro_node *w,
			    const struct pn_avro_node *rn, struct rd *r);

static int dec_record(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r)
{
	pn_buf_addc(&c->out, '{');
	for (int i = 0; i < n->nfields; i++) {
		const struct pn_avro_field *f = &n->fields[i];

		if (i)
			pn_buf_addc(&c->out, ',');
		pn_json_add_string(&c->out, f->name, f->name_len);
		pn_buf_addc(&c->out, ':');
		pn_avro_push_name(c, f->name, f->name_len);
		if (dec(c, f->type, r))
			return -1;
		pn_avro_pop(c);
	}
	pn_buf_addc(&c->out, '}');
	return 0;
}

static int dec_one(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r)
{
	const unsigned char *p;
	size_t len;
	int64_t v;
	float f;
	double d;

	switch (n->type) {
	case PN_AVRO_NULL:
		pn_buf_add(&c->out, "null", 4);
		return 0;
	case PN_AVRO_BOOLEAN:
		if (r->p >= r->end || *r->p > 1)
			return truncated(c);
		pn_buf_adds(&c->out, *r->p++ ? "true" : "false");
		return 0;
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		if (get_long(c, r, &v))
			return -1;
		if (n->type == PN_AVRO_INT && (v < INT32_MIN || v > INT32_MAX))
			return truncated(c);
		if (n->logical == PN_AVRO_PLAIN)
			pn_buf_add_i64(&c->out, v);
		else
			pn_avro_add_logical_long(&c->out, n, v);
		return 0;
	case PN_AVRO_FLOAT:
		if (r->end - r->p < 4)
			return truncated(c);
		memcpy(&f, r->p, 4);
		r->p += 4;
		add_real(&c->out, f, 1);
		return 0;
	case PN_AVRO_DOUBLE:
		if (r->end - r->p < 8)
			return truncated(c);
		memcpy(&d, r->p, 8);
		r->p += 8;
		add_real(&c->out, d, 0);
		return 0;
	case PN_AVRO_STRING:
		if (get_bytes(c, r, &p, &len))
			return -1;
		pn_json_add_string(&c->out, (const char *)p, len);
		return 0;
	case PN_AVRO_BYTES:
	case PN_AVRO_FIXED:
		if (n->type == PN_AVRO_BYTES) {
			if (get_bytes(c, r, &p, &len))
				return -1;
		} else {
			if ((size_t)(r->end - r->p) < n->size)
				return truncated(c);
			p = r->p;
			len = n->size;
			r->p += len;
		}
		if (n->logical == PN_AVRO_DECIMAL) {
			if (pn_avro_add_decimal(&c->out, p, len, n->precision, n->scale))
				return pn_avro_fail(c, "a decimal with more digits than its "
						    "precision %d", n->precision);
		} else {
			pn_buf_addc(&c->out, '"');
			pn_buf_add_base64(&c->out, p, len);
			pn_buf_addc(&c->out, '"');
		}
		return 0;
	case PN_AVRO_RECORD:
		return dec_record(c, n, r);
	case PN_AVRO_ENUM:
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= n->nsymbols)
			return pn_avro_fail(c, "enum index %lld out of range", (long long)v);
		pn_json_add_string(&c->out, n->symbols[v], strlen(n->symbols[v]));
		return 0;
	case PN_AVRO_ARRAY:
	case PN_AVRO_MAP:
		return dec_array_or_map(c, n, NULL, r);
	case PN_AVRO_UNION:
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= n->nbranches)
			return pn_avro_fail(c, "union branch %lld out of range", (long long)v);
		return dec(c, n->branches[v], r);
	}
	return truncated(c);
}

/* ---- resolution: writer data read as a reader schema ---- */

static int dec_resolve(struct pn_avro_codec *c, const struct pn_avro_node *w,
		       const struct pn_avro_node *rn, struct rd *r);

static const char *short_name(const char *full)
{
	const char *dot = full ? strrchr(full, '.') : NULL;

	return dot ? dot + 1 : full ? full : "";
}

static int same_name(const struct pn_avro_node *a, const struct pn_avro_node *b)
{
	return !strcmp(a->name, b->name) || !strcmp(short_name(a->name), short_name(b->name));
}

/* Can data of writer type w be read as reader type rn (not a union)? */
static int matches(const struct pn_avro_node *w, const struct pn_avro_node *rn)
{
	if (w->type == rn->type) {
		if (w->type == PN_AVRO_RECORD || w->type == PN_AVRO_ENUM)
			return same_name(w, rn);
		if (w->type == PN_AVRO_FIXED)
			return same_name(w, rn) && w->size == rn->size;
		return 1;
	}
	switch (w->type) {
	case PN_AVRO_INT:
		return rn->type == PN_AVRO_LONG || rn->type == PN_AVRO_FLOAT ||
		       rn->type == PN_AVRO_DOUBLE;
	case PN_AVRO_LONG:
		return rn->type == PN_AVRO_FLOAT || rn->type == PN_AVRO_DOUBLE;
	case PN_AVRO_FLOAT:
		return rn->type == PN_AVRO_DOUBLE;
	case PN_AVRO_STRING:
		return rn->type == PN_AVRO_BYTES;
	case PN_AVRO_BYTES:
		return rn->type == PN_AVRO_STRING;
	default:
		return 0;
	}
}

static int mismatch(struct pn_avro_codec *c, const struct pn_avro_node *w,
		    const struct pn_avro_node *rn)
{
	return pn_avro_fail(c, "the writer's %s cannot be read as the reader's %s",
			    pn_avro_branch_name(w), pn_avro_branch_name(rn));
}

static int resolve_record(struct pn_avro_codec *c, const struct pn_avro_node *w,
			  const struct pn_avro_node *rn, struct rd *r)
{
	int first = 1;

	pn_buf_addc(&c->out, '{');
	for (int i = 0; i < w->nfields; i++) {
		const struct pn_avro_field *f = &w->fields[i];
		int k = pn_avro_find_field(rn, f->name, f->name_len, i);
		size_t at = c->out.len;

		pn_avro_push_name(c, f->name, f->name_len);
		if (k < 0) {
			/* a field the reader does not know: read past it */
			if (dec(c, f->type, r))
				return -1;
			c->out.len = at;
		} else {
			if (!first)
				pn_buf_addc(&c->out, ',');
			pn_json_add_string(&c->out, f->name, f->name_len);
			pn_buf_addc(&c->out, ':');
			if (dec_resolve(c, f->type, rn->fields[k].type, r))
				return -1;
			first = 0;
		}
		pn_avro_pop(c);
	}
	for (int k = 0; k < rn->nfields; k++) {
		const struct pn_avro_field *f = &rn->fields[k];

		if (pn_avro_find_field(w, f->name, f->name_len, k) >= 0)
			continue;
		if (!f->has_default) {
			pn_avro_push_name(c, f->name, f->name_len);
			return pn_avro_fail(c, "not in the writer's schema and the reader's "
					    "gives no default");
		}
		if (!first)
			pn_buf_addc(&c->out, ',');
		pn_json_add_string(&c->out, f->name, f->name_len);
		pn_buf_addc(&c->out, ':');
		pn_buf_adds(&c->out, f->def_json);
		first = 0;
	}
	pn_buf_addc(&c->out, '}');
	return 0;
}

static int dec_array_or_map(struct pn_avro_codec *c, const struct pn_avro_node *w,
			    const struct pn_avro_node *rn, struct rd *r)
{
	int is_map = w->type == PN_AVRO_MAP, first = 1;
	int64_t count, index = 0;
	const unsigned char *p;
	size_t len;

	pn_buf_addc(&c->out, is_map ? '{' : '[');
	for (;;) {
		if (dec_block_count(c, r, &count))
			return -1;
		if (!count)
			break;
		for (int64_t i = 0; i < count; i++, index++) {
			if (!first)
				pn_buf_addc(&c->out, ',');
			first = 0;
			if (is_map) {
				if (get_bytes(c, r, &p, &len))
					return -1;
				pn_json_add_string(&c->out, (const char *)p, len);
				pn_buf_addc(&c->out, ':');
				pn_avro_push_name(c, (const char *)p, len);
			} else {
				pn_avro_push_index(c, index);
			}
			if (rn ? dec_resolve(c, w->items, rn->items, r) : dec(c, w->items, r))
				return -1;
			pn_avro_pop(c);
		}
	}
	pn_buf_addc(&c->out, is_map ? '}' : ']');
	return 0;
}

static int dec_resolve_one(struct pn_avro_codec *c, const struct pn_avro_node *w,
			   const struct pn_avro_node *rn, struct rd *r)
{
	int64_t v;
	float f;

	if (w->type == PN_AVRO_UNION) {
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= w->nbranches)
			return pn_avro_fail(c, "union branch %lld out of range", (long long)v);
		return dec_resolve(c, w->branches[v], rn, r);
	}
	if (rn->type == PN_AVRO_UNION) {
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < rn->nbranches; i++) {
				const struct pn_avro_node *b = rn->branches[i];

				/* the first branch of the same type, else one it promotes to */
				if (pass == 0 ? b->type == w->type && matches(w, b) : matches(w, b))
					return dec_resolve(c, w, b, r);
			}
		pn_buf_reset(&c->tmp);
		pn_avro_union_names(&c->tmp, rn);
		return pn_avro_fail(c, "the writer's %s fits no branch of the reader's %s",
				    pn_avro_branch_name(w), c->tmp.data);
	}
	if (!matches(w, rn))
		return mismatch(c, w, rn);
	switch (w->type) {
	case PN_AVRO_RECORD:
		return resolve_record(c, w, rn, r);
	case PN_AVRO_ENUM:
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= w->nsymbols)
			return pn_avro_fail(c, "enum index %lld out of range", (long long)v);
		for (int i = 0; i < rn->nsymbols; i++)
			if (!strcmp(rn->symbols[i], w->symbols[v])) {
				pn_json_add_string(&c->out, rn->symbols[i], strlen(rn->symbols[i]));
				return 0;
			}
		if (rn->enum_default < 0)
			return pn_avro_fail(c, "'%s' is not a symbol of the reader's enum '%s'",
					    w->symbols[v], rn->name);
		pn_json_add_string(&c->out, rn->symbols[rn->enum_default],
				   strlen(rn->symbols[rn->enum_default]));
		return 0;
	case PN_AVRO_ARRAY:
	case PN_AVRO_MAP:
		return dec_array_or_map(c, w, rn, r);
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		if (rn->type == PN_AVRO_FLOAT || rn->type == PN_AVRO_DOUBLE) {
			if (get_long(c, r, &v))
				return -1;
			add_real(&c->out, rn->type == PN_AVRO_FLOAT ? (float)v : (double)v,
				 rn->type == PN_AVRO_FLOAT);
			return 0;
		}
		return dec(c, rn->logical != PN_AVRO_PLAIN ? rn : w, r);
	case PN_AVRO_FLOAT:
		if (rn->type == PN_AVRO_DOUBLE) {
			if (r->end - r->p < 4)
				return truncated(c);
			memcpy(&f, r->p, 4);
			r->p += 4;
			add_real(&c->out, f, 0);
			return 0;
		}
		return dec(c, w, r);
	case PN_AVRO_STRING:
	case PN_AVRO_BYTES:
		/* string <-> bytes: the same bytes, written as the reader's type says */
		return dec(c, rn, r);
	default:
		return dec(c, rn->logical != PN_AVRO_PLAIN ? rn : w, r);
	}
}

/*
 * A recursive schema lets data nest as deep as its bytes allow: a message
 * of a few kilobytes would decode to JSON that no pn program reads
 * (pn_json refuses nesting past PN_JSON_MAX_DEPTH), and a larger one
 * would exhaust the stack.  Data is refused where its JSON would be.
 */
static int nest_too_deep(struct pn_avro_codec *c)
{
	return pn_avro_fail(c, "records, arrays and maps nested deeper than %d", PN_JSON_MAX_DEPTH);
}

static int dec(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r)
{
	int status;

	if (!is_container(n))
		return dec_one(c, n, r);
	if (r->nest == PN_JSON_MAX_DEPTH)
		return nest_too_deep(c);
	r->nest++;
	status = dec_one(c, n, r);
	r->nest--;
	return status;
}

/* Unions pick a branch first: the nesting is the containers' that both
 * sides agree on. */
static int dec_resolve(struct pn_avro_codec *c, const struct pn_avro_node *w,
		       const struct pn_avro_node *rn, struct rd *r)
{
	int status;

	if (w == rn)
		return dec(c, w, r);	/* the same schema: nothing to resolve */
	if (!is_container(w) || !is_container(rn))
		return dec_resolve_one(c, w, rn, r);
	if (r->nest == PN_JSON_MAX_DEPTH)
		return nest_too_deep(c);
	r->nest++;
	status = dec_resolve_one(c, w, rn, r);
	r->nest--;
	return status;
}

int pn_avro_decode(struct pn_avro_codec *c, const struct pn_avro_schema *w,
		   const struct pn_avro_schema *rs, const void *p, size_t n)
{
	struct rd r = { p, (const unsigned char *)p + n, (int64_t)n + 1000000, 0 };
	int status;

	c->depth = 0;
	status = rs ? dec_resolve(c, w->root, rs->root, &r) : dec(c, w->root, &r);
	if (status == 0 && r.p != r.end)
		return pn_avro_fail(c, "%zu bytes left after the value", (size_t)(r.end - r.p));
	return status;
}
