/*
 * pn_avro — Avro schemas, natural JSON -> Avro binary, Avro binary ->
 * natural JSON, and the Confluent wire framing.
 *
 * A schema (.avsc text) is compiled once into a tree of nodes; named types
 * are shared, so recursive schemas work.  avro-c checks the schema text
 * first (its error is the one reported for an invalid schema); the tree is
 * pn's own because encoding from natural JSON needs what avro-c does not
 * keep: field defaults, pre-encoded here so a missing field costs a copy.
 *
 * Encoding reads the tokens of pn_json (in place, nothing allocated per
 * record once the buffers have grown) and appends Avro binary.  A union
 * takes the branch its JSON value fits: null, boolean, an integer (int if
 * it fits, else long, else float/double), another number (float/double),
 * a string (string, enum symbol, bytes/fixed as base64, logical types'
 * text forms), a list (array), an object (record or map); the Avro JSON
 * wrapper {"type": value} is accepted too.  A missing field takes its
 * default, or null when its type admits null.  A value that does not fit
 * fails with the field path and the reason: "field 'a.b[2]': expected a
 * long, got a string".
 *
 * Decoding writes natural JSON (never {"string": ...} wrappers):
 *   bytes, fixed            base64 string (RFC 4648, padded)
 *   decimal                 string of the exact decimal, "-12.30"
 *   date                    "2026-11-26"
 *   time-millis/-micros     "13:05:09.123" / "13:05:09.123456"
 *   timestamp-millis        "2026-11-26T13:05:09.123Z" (-micros: 6 digits)
 *   local-timestamp-*       the same without the Z
 *   float/double NaN, ±inf  "NaN", "Infinity", "-Infinity"
 *   uuid, enum              string
 * The encoder takes these forms back (and plain numbers for the time
 * types), so consume -> produce round-trips every value exactly.  A date
 * outside years 1..9999 is written as its number.
 *
 * With a reader schema, decoding resolves the writer's data to it as the
 * Avro specification says: fields matched by name, reader fields missing
 * from the writer take their defaults, writer fields the reader lacks are
 * skipped, int -> long -> float -> double and string <-> bytes promoted,
 * unions matched by branch.
 *
 * The Confluent framing is one magic byte 0, the schema id as 4 bytes
 * big-endian, then the Avro binary.
 */
#ifndef PN_AVRO_H
#define PN_AVRO_H

#include <stddef.h>
#include <stdint.h>

#include "pn_buf.h"
#include "pn_json.h"

enum pn_avro_type {
	PN_AVRO_NULL, PN_AVRO_BOOLEAN, PN_AVRO_INT, PN_AVRO_LONG, PN_AVRO_FLOAT,
	PN_AVRO_DOUBLE, PN_AVRO_BYTES, PN_AVRO_STRING, PN_AVRO_RECORD, PN_AVRO_ENUM,
	PN_AVRO_ARRAY, PN_AVRO_MAP, PN_AVRO_UNION, PN_AVRO_FIXED,
};

enum pn_avro_logical {
	PN_AVRO_PLAIN, PN_AVRO_DECIMAL, PN_AVRO_UUID, PN_AVRO_DATE, PN_AVRO_TIME_MILLIS,
	PN_AVRO_TIME_MICROS, PN_AVRO_TS_MILLIS, PN_AVRO_TS_MICROS, PN_AVRO_LOCAL_TS_MILLIS,
	PN_AVRO_LOCAL_TS_MICROS,
};

struct pn_avro_node;

struct pn_avro_field {
	char *name;
	size_t name_len;
	struct pn_avro_node *type;
	int has_default;
	char *def_bin;		/* the default, Avro binary */
	size_t def_bin_len;
	char *def_json;		/* and natural JSON, for reader schemas */
	const void *def_src;	/* the default's JSON while compiling */
};

struct pn_avro_node {
	enum pn_avro_type type;
	enum pn_avro_logical logical;
	int precision, scale;		/* decimal */
	char *name;			/* full name of a named type */
	struct pn_avro_field *fields;	/* record */
	int nfields;
	char **symbols;			/* enum */
	int nsymbols;
	int enum_default;		/* -1: none */
	struct pn_avro_node *items;	/* array items, map values */
	struct pn_avro_node **branches;	/* union */
	int nbranches;
	size_t size;			/* fixed */
	struct pn_avro_node *next_alloc;
};

struct pn_avro_schema {
	struct pn_avro_node *root;
	struct pn_avro_node *nodes;	/* every node, for freeing */
	char *text;			/* the schema, compact JSON, as registered */
};

/*
 * Compiles schema text.  Returns the schema, or NULL with the reason in
 * why (avro-c's, or what pn cannot use).
 */
struct pn_avro_schema *pn_avro_schema_new(const char *text, size_t len, struct pn_buf *why);
/* Reads and compiles a .avsc file; NULL with the reason in why. */
struct pn_avro_schema *pn_avro_schema_load(const char *path, struct pn_buf *why);
void pn_avro_schema_free(struct pn_avro_schema *s);

/* The encoder and decoder state, reused for every record. */
struct pn_avro_codec {
	struct pn_buf out;	/* the result */
	struct pn_buf tmp, bin;
	struct pn_buf why;	/* the reason of the last failure */
	const void *path[64];	/* field names (or NULL: an index) on the way down */
	size_t path_len[64];
	int64_t path_index[64];
	int depth;
	int default_mode;	/* encoding a default: bytes are code points */
};

void pn_avro_codec_init(struct pn_avro_codec *c);
void pn_avro_codec_release(struct pn_avro_codec *c);

/* Appends the Confluent header (magic 0, id big-endian) to b. */
void pn_avro_frame(struct pn_buf *b, uint32_t id);
/* The id of a framed message: 0, or -1 if it is not Confluent framing. */
int pn_avro_unframe(const void *p, size_t n, uint32_t *id);
#define PN_AVRO_FRAME_LEN 5

/*
 * Appends the Avro binary of JSON value `tok` of j under schema s to c->out.
 * With skip_meta, top-level members whose names begin with '_' are pn's
 * metadata and not part of the value.  0, or -1 with c->why set.
 */
int pn_avro_encode(struct pn_avro_codec *c, const struct pn_avro_schema *s,
		   const struct pn_json *j, int tok, int skip_meta);

/*
 * Appends the natural JSON of the Avro binary p/n written with schema w
 * (read as reader schema r when not NULL) to c->out.  0, or -1 with c->why
 * set: truncated or malformed data, or data the reader schema cannot take.
 */
int pn_avro_decode(struct pn_avro_codec *c, const struct pn_avro_schema *w,
		   const struct pn_avro_schema *r, const void *p, size_t n);

#endif
