/*
 * pn_avro_int.h — what the files of pn_avro share; callers include
 * pn_avro.h, never this.
 *
 *   pn_avro.c          schemas (.avsc text compiled into nodes, defaults
 *                      pre-encoded), the codec's state and its errors with
 *                      the field path, the Confluent framing
 *   pn_avro_logical.c  the text forms of logical types: dates, times of
 *                      day, timestamps, decimals
 *   pn_avro_encode.c   natural JSON -> Avro binary
 *   pn_avro_decode.c   Avro binary -> natural JSON, and the resolution of
 *                      writer data to a reader schema
 *
 * What runs for every value stays static inline here (the field path, the
 * field lookup) or static in the file that calls it, so the split costs
 * the encoder and decoder no calls they did not make before.  Functions
 * declared here without a body run on error paths or once per logical
 * value, where a call is nothing beside the work.
 */
#ifndef PN_AVRO_INT_H
#define PN_AVRO_INT_H

#include <stdint.h>
#include <string.h>

#include "pn_avro.h"

/* ---- the field path, for errors ---- */

enum { PN_AVRO_MAX_PATH = sizeof(((struct pn_avro_codec *)0)->path) / sizeof(void *) };

/* Deeper than PN_AVRO_MAX_PATH, depth still counts and the path is cut. */
static inline void pn_avro_push_name(struct pn_avro_codec *c, const char *name, size_t len)
{
	if (c->depth < PN_AVRO_MAX_PATH) {
		c->path[c->depth] = name;
		c->path_len[c->depth] = len;
	}
	c->depth++;
}

static inline void pn_avro_push_index(struct pn_avro_codec *c, int64_t i)
{
	if (c->depth < PN_AVRO_MAX_PATH) {
		c->path[c->depth] = NULL;
		c->path_index[c->depth] = i;
	}
	c->depth++;
}

static inline void pn_avro_pop(struct pn_avro_codec *c)
{
	c->depth--;
}

/* Sets c->why to "field 'a.b[2]': reason" (or the reason alone at the
 * top) and returns -1. */
int pn_avro_fail(struct pn_avro_codec *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- schema nodes ---- */

static inline int pn_avro_field_is(const struct pn_avro_field *f, const char *name, size_t len)
{
	return f->name_len == len &&
	       (!len || (f->name[0] == name[0] && !memcmp(f->name, name, len)));
}

/* The field of record n called name (JSON string text, escapes allowed),
 * trying `hint` first: records usually come in schema order.  -1 if none. */
static inline int pn_avro_find_field(const struct pn_avro_node *n, const char *name, size_t len,
				     int hint)
{
	if (hint < n->nfields && pn_avro_field_is(&n->fields[hint], name, len))
		return hint;
	for (int i = 0; i < n->nfields; i++)
		if (pn_avro_field_is(&n->fields[i], name, len))
			return i;
	/* a name with escapes, compared decoded (rare: after a miss) */
	for (int i = 0; memchr(name, '\\', len) && i < n->nfields; i++)
		if (pn_json_str_eq(name, len, n->fields[i].name, n->fields[i].name_len))
			return i;
	return -1;
}

/* A type's name in messages and in the Avro JSON union wrapper: the full
 * name of a named type, else the primitive's ("long", "array"). */
const char *pn_avro_branch_name(const struct pn_avro_node *b);
/* Appends "[null, string, com.x.Rec]", the branches of union n. */
void pn_avro_union_names(struct pn_buf *b, const struct pn_avro_node *n);

/* ---- logical types as text (pn_avro_logical.c) ---- */

/* The number of int/long logical type n (date, time-*, timestamp-*)
 * written as text s; 0, or -1 if s is not that form. */
int pn_avro_parse_logical(const struct pn_avro_node *n, const char *s, int64_t *v);
/* Appends the natural JSON of int/long v of node n: the quoted text of its
 * logical type, or v itself when it has none or v is out of its range. */
void pn_avro_add_logical_long(struct pn_buf *b, const struct pn_avro_node *n, int64_t v);

/*
 * The unscaled value of decimal text ("-12.3", scale 2 -> -1230) as
 * big-endian two's complement bytes appended to out; `size` 0 for the
 * shortest, else exactly that many.  0, or -1 with a reason in why.
 */
int pn_avro_decimal_to_bytes(const char *s, size_t n, int precision, int scale, size_t size,
			     struct pn_buf *out, const char **why);
/*
 * Appends two's complement big-endian bytes as quoted decimal text with
 * `scale` places; -1 (nothing appended) when the value has more digits
 * than `precision` (up to the 150 the encoder takes).
 */
int pn_avro_add_decimal(struct pn_buf *b, const unsigned char *p, size_t n, int precision,
			int scale);

#endif
