/*
 * pn_json — strict JSON for records: an in-place tokenizer and a writer.
 *
 * Reading: pn_json_parse() validates and tokenizes a line in one pass,
 * jsmn-style: a flat array of tokens pointing into the caller's text,
 * nothing copied, nothing allocated per record once the array has grown to
 * fit.  A text is accepted only if it is valid JSON (RFC 8259): separators,
 * literals, number grammar, no raw control characters in strings, well-
 * formed UTF-8, nothing after the value.  A string token spans the bytes
 * between its quotes, still escaped; pn_json_unescape() decodes it.
 *
 * Why not jsmn itself: jsmn (strict) plus the checks it leaves out ran at
 * 1.4 M pings/s here, the hot spot of pn-produce; this scanner, which
 * skips plain string bytes 8 at a time, does the same work at several
 * times that (see the closing note of the foundation issue).  The tokens
 * keep jsmn's shape (type, start, end, size, parent).
 *
 * Writing: pn_json_add_string() appends a quoted, escaped string.  Control
 * characters become \n, \t, … or \u00XX; bytes that are not valid UTF-8
 * become U+FFFD, so the output is always valid JSON (documented in the man
 * pages: text fields are UTF-8, invalid sequences are replaced).
 */
#ifndef PN_JSON_H
#define PN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "pn_buf.h"

/* Nesting deeper than this is refused rather than risking the stack. */
#define PN_JSON_MAX_DEPTH 512

enum pn_json_type {
	PN_JSON_OBJECT = 1,
	PN_JSON_ARRAY = 2,
	PN_JSON_STRING = 3,
	PN_JSON_PRIMITIVE = 4,	/* number, true, false, null */
};

/* One value, as jsmn has it: an object's size counts its keys, a key's is
 * 1 (its value follows it), an array's counts its elements. */
struct pn_tok {
	enum pn_json_type type;
	int start;		/* first byte (after the quote of a string) */
	int end;		/* one past the last (at the closing quote) */
	int size;
	int parent;		/* index of the container or key, -1 at the top */
};

/* A stretch of a flat object's text between two values (or before the
 * first, after the last), and where in it the key of the next value is. */
struct pn_json_seg {
	int off, len;			/* in the skeleton's text */
	int key_start, key_end;		/* from the stretch's start */
};

struct pn_json {
	const char *text;
	size_t len;
	struct pn_tok *tok;
	int ntok;
	int cap;
	/* Set when parsing fails: a static reason and the byte offset. */
	const char *why;
	size_t at;
	/*
	 * The skeleton of the last flat object parsed (every member a string,
	 * number or literal): its text without the values.  A text with the
	 * same skeleton byte for byte only has its values scanned.  `shape`
	 * changes whenever the skeleton does, and no two parsers share one:
	 * two parses with equal shapes have the same members, in the same
	 * tokens, so a lookup of fields can be kept per shape.
	 */
	struct pn_buf skel;
	struct pn_json_seg *segs;	/* members + 1 of them; none: no skeleton */
	int nsegs, segcap;
	int obj_start, obj_end;		/* in the first and the last stretch */
	uint64_t shape;
};

void pn_json_init(struct pn_json *j);
void pn_json_release(struct pn_json *j);

/* Parses one JSON value (any type) filling the tokens; 0, or -1 with
 * j->why and j->at set.  A flat object shaped like the last one parsed
 * (records of one producer are) is checked against its skeleton and only
 * its values scanned: the same checks, the same tokens, half the work. */
int pn_json_parse(struct pn_json *j, const char *text, size_t len);

static inline int pn_json_is_object(const struct pn_json *j, int i)
{
	return j->tok[i].type == PN_JSON_OBJECT;
}

/* The index of the token after the whole subtree rooted at i. */
int pn_json_skip(const struct pn_json *j, int i);

/*
 * Member names are compared decoded: "\u0041b" is the member "Ab".  A name
 * without a backslash costs nothing more.  A name given twice: the last
 * one counts (as in jq, Python and PostgreSQL's jsonb).
 */

/* True if a member name (as written, len bytes) decodes to one that starts
 * with '_', pn's metadata: "_topic", or "\u005ftopic". */
static inline int pn_json_is_meta_name(const char *name, size_t len)
{
	return len && (name[0] == '_' || (len >= 6 && name[0] == '\\' && name[1] == 'u' &&
					  name[2] == '0' && name[3] == '0' && name[4] == '5' &&
					  (name[5] == 'f' || name[5] == 'F')));
}

/* The value token of member `key` of the object at `obj`, or -1. */
int pn_json_get(const struct pn_json *j, int obj, const char *key, size_t keylen);

/*
 * Looks up n member names (names[i], lens[i] bytes, decoded) in one
 * pass over the members of the object at token 0: val[i] is the value
 * token of the last member named names[i], or -1.  Returns the key token
 * of the first member that is none of the names and does not start with
 * '_' (pn's metadata passes everywhere), or 0 when there is none.
 */
int pn_json_members(const struct pn_json *j, const char *const *names, const size_t *lens,
		    int n, int *val);

/* What pn_json_members answered for one shape (see struct pn_json):
 * records shaped alike have their fields in the same tokens. */
struct pn_json_memo {
	uint64_t shape;		/* 0: none yet */
	int unknown;
};

/* pn_json_members, unless the record has the shape `memo` kept val for:
 * then val stands as it is.  Returns what pn_json_members does. */
int pn_json_members_memo(const struct pn_json *j, const char *const *names, const size_t *lens,
			 int n, int *val, struct pn_json_memo *memo);

/* True if token i is a string that decodes to exactly the n bytes of s. */
int pn_json_tok_eq(const struct pn_json *j, int i, const char *s, size_t n);

/* True if the body of a JSON string, e (en bytes, escaped), decodes to
 * exactly the n bytes of s; no allocation. */
int pn_json_str_eq(const char *e, size_t en, const char *s, size_t n);

/* Start and length of token i's text, including the quotes of a string
 * (so it can be copied into another JSON text as it is). */
const char *pn_json_raw(const struct pn_json *j, int i, size_t *len);

/* Decodes the body of a JSON string (between its quotes) into out,
 * appending; \uXXXX pairs become UTF-8, a lone surrogate U+FFFD. */
void pn_json_unescape(const char *s, size_t n, struct pn_buf *out);

/* The integer value of a number token's text; -1 if it is not an integer
 * that fits in 64 bits (fraction, exponent or overflow). */
int pn_json_int64(const char *s, size_t n, int64_t *v);

/* 1 if the n bytes of s are exactly one JSON number (RFC 8259), as the
 * tokenizer takes them: "7", "-1.5e3"; not "07", " 7" or "". */
int pn_json_is_number(const char *s, size_t n);

/* Appends s as a quoted JSON string (see above for escaping). */
void pn_json_add_string(struct pn_buf *b, const char *s, size_t n);

/* 1 if s holds only well-formed UTF-8. */
int pn_utf8_valid(const char *s, size_t n);

#endif
