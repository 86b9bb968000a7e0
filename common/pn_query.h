/*
 * pn_query — what pn-aggregate computes: conditions (--where), group
 * fields (--group-by) and aggregates (--count, --sum, --min, --max,
 * --count-distinct, --latest), parsed from their command-line forms, and
 * how a record's values compare with them.
 *
 * Values compare as JSON types: 42 and "42" differ, and strings compare
 * by their decoded characters.  A group key is made of each value's
 * canonical text, so "\u0041" and "A" are the same key.  A group field
 * keeps one JSON type (--key-type): 7 and "7" would be two groups that a
 * sink writes onto one row, so by default a second type is bad input,
 * and the string and number modes turn one type into the other first.
 *
 * The fingerprint names the parts of a query that shape the groups' keys
 * and state, so a checkpoint made by another query is refused.
 */
#ifndef PN_QUERY_H
#define PN_QUERY_H

#include <stdint.h>

#include "pn_buf.h"
#include "pn_json.h"
#include "pn_window.h"

enum pn_agg_kind { PN_COUNT, PN_SUM, PN_MIN, PN_MAX, PN_COUNT_DISTINCT, PN_LATEST };

/* Per kind: its name, which starts the default column name
 * (count_distinct_subscriber_id), and the 8-byte slots it keeps in a
 * group's entry. */
extern const char *const pn_agg_kind_names[];
extern const int pn_agg_kind_slots[];

struct pn_agg_def {
	enum pn_agg_kind kind;
	char *field;		/* NULL for count(*) */
	char *name;		/* output column */
	int slot;		/* first slot in an entry */
};

enum pn_cond_op { PN_EQ, PN_NE, PN_IS_NULL, PN_NOT_NULL, PN_IN };

/* A constant of a condition, as JSON: its type and canonical text. */
struct pn_const {
	enum pn_json_type type;
	char *text;		/* strings: decoded bytes; others: JSON text */
	size_t len;
	int is_int;		/* a number: exact as ival, else compared as dval */
	int64_t ival;
	double dval;
};

struct pn_cond {
	char *field;
	enum pn_cond_op op;
	struct pn_const *values;
	int nvalues;
};

/* --key-type: what a group field's values of two JSON types do. */
enum pn_key_mode {
	PN_KEY_STRICT,		/* bad input (the default) */
	PN_KEY_AS_IS,		/* two groups, as before --key-type */
	/* the modes that change values come last: one compare on a hot path */
	PN_KEY_STRING,		/* numbers and booleans become strings: 7 -> "7" */
	PN_KEY_NUMBER,		/* strings holding a JSON number become it: "7" -> 7 */
};

/* The JSON type of a group value, from the first byte of its canonical
 * text; 0 is "none seen yet". */
enum pn_key_type { PN_KEY_NONE, PN_KEY_T_STRING, PN_KEY_T_NUMBER, PN_KEY_T_BOOLEAN,
		   PN_KEY_T_OBJECT, PN_KEY_T_ARRAY };

extern const char *const pn_key_type_names[];	/* "a string", "a number", ... */
extern const unsigned char pn_key_type_by_first[256];	/* XOR PN_KEY_T_NUMBER */

/* The type of a canonical JSON text (not null) from its first byte. */
static inline enum pn_key_type pn_key_type_of(char first)
{
	return (enum pn_key_type)(pn_key_type_by_first[(unsigned char)first] ^ PN_KEY_T_NUMBER);
}

struct pn_group_def {
	char *field;
	char *name;
};

struct pn_query {
	struct pn_cond *conds;
	int nconds;
	struct pn_group_def *groups;
	int ngroups;
	struct pn_agg_def *aggs;
	int naggs;
	int nslots;		/* 8-byte slots per entry */
	char *time_field;	/* the event time; NULL: _timestamp */
	struct pn_window window;
	int64_t grace_ms;	/* a window closes at its end + grace */
	int64_t ttl_ms;		/* 0: groups are kept for ever */
	enum pn_key_mode key_mode;
	/* An event time more than this ahead of the reference clock (the
	 * wall clock, and the record's _timestamp when it has one) does not
	 * move the stream time: one bad clock must not close every window. */
	int64_t max_ahead_ms;
};

/* Does the query need each record's event time? */
static inline int pn_query_uses_time(const struct pn_query *q)
{
	return q->window.kind != PN_WINDOW_NONE || q->ttl_ms > 0;
}

/* Parsing of the command-line forms; -1 with *why on a bad one. */
int pn_query_add_where(struct pn_query *q, const char *expr, const char **why);
int pn_query_add_group(struct pn_query *q, const char *spec, const char **why);
int pn_query_add_agg(struct pn_query *q, enum pn_agg_kind kind, const char *spec,
		     const char **why);
/* "strict", "string", "number" or "as-is"; -1 on another. */
int pn_query_set_key_mode(struct pn_query *q, const char *mode);
/* A stable 64-bit fingerprint of the query, stored in checkpoints. */
uint64_t pn_query_fingerprint(const struct pn_query *q);
void pn_query_release(struct pn_query *q);

/*
 * A record's values: token v of j, or -1 for a missing field.  These run
 * for every field of every record, so the small ones are inline.
 */
static inline int pn_value_is_null(const struct pn_json *j, int v)
{
	return v < 0 || (j->tok[v].type == PN_JSON_PRIMITIVE && j->text[j->tok[v].start] == 'n');
}

static inline int pn_value_is_number(const struct pn_json *j, int v)
{
	char c = j->text[j->tok[v].start];

	return j->tok[v].type == PN_JSON_PRIMITIVE && (c == '-' || (c >= '0' && c <= '9'));
}

/* A number token as an int64 (1) or a double (0). */
int pn_value_number(const struct pn_json *j, int v, int64_t *i, double *d);
/* Appends the canonical JSON text of token v: strings re-escaped the one
 * way pn writes them; tmp is scratch space. */
void pn_value_add_canonical(struct pn_buf *b, const struct pn_json *j, int v,
			    struct pn_buf *tmp);
/* Does value v (-1: missing) satisfy the condition?  tmp is scratch. */
int pn_cond_holds(const struct pn_cond *c, const struct pn_json *j, int v, struct pn_buf *tmp);

#endif
