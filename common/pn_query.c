#define _GNU_SOURCE /* strcasestr */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pn_err.h"
#include "pn_query.h"

/* ---- the query ---- */

static void add_const(struct pn_cond *c, const char *s, size_t n)
{
	struct pn_json j;
	struct pn_const *k;
	struct pn_buf text = PN_BUF_INIT;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	c->values = pn_realloc(c->values, (c->nvalues + 1) * sizeof(*c->values));
	k = &c->values[c->nvalues++];
	memset(k, 0, sizeof(*k));
	pn_json_init(&j);
	if (pn_json_parse(&j, s, n) == 0 && j.tok[0].type != PN_JSON_OBJECT &&
	    j.tok[0].type != PN_JSON_ARRAY) {
		k->type = j.tok[0].type;
		if (k->type == PN_JSON_STRING) {
			pn_json_unescape(s + j.tok[0].start, j.tok[0].end - j.tok[0].start, &text);
		} else {
			pn_buf_add(&text, s, n);
			k->is_int = pn_json_int64(text.data, text.len, &k->ival) == 0;
			k->dval = strtod(text.data, NULL);
		}
	} else {
		k->type = PN_JSON_STRING; /* a bare word: source=campaign */
		pn_buf_add(&text, s, n);
	}
	pn_json_release(&j);
	k->text = pn_buf_detach(&text, &k->len);
}

/* "a,b,c" inside IN (...), commas inside JSON strings kept. */
static void add_in_list(struct pn_cond *c, const char *s, size_t n)
{
	size_t start = 0;
	int quoted = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] == '\\' && quoted) {
			i++;
			continue;
		}
		if (i < n && s[i] == '"')
			quoted = !quoted;
		if (i == n || (s[i] == ',' && !quoted)) {
			add_const(c, s + start, i - start);
			start = i + 1;
		}
	}
}

static char *trimmed(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return pn_strndup(s, n);
}

/* Ends with the words (case-insensitive) after white space? */
static int ends_with_words(const char *s, size_t n, const char *words, size_t *field_len)
{
	size_t w = strlen(words);

	while (n && s[n - 1] == ' ')
		n--;
	if (n <= w || strncasecmp(s + n - w, words, w) || s[n - w - 1] != ' ')
		return 0;
	*field_len = n - w;
	return 1;
}

int pn_query_add_where(struct pn_query *q, const char *expr, const char **why)
{
	size_t n = strlen(expr), flen;
	const char *op, *in;
	struct pn_cond c = { 0 };

	if (ends_with_words(expr, n, "is not null", &flen)) {
		c.op = PN_NOT_NULL;
	} else if (ends_with_words(expr, n, "is null", &flen)) {
		c.op = PN_IS_NULL;
	} else if ((in = strcasestr(expr, " in ")) && strchr(in, '(') && n && expr[n - 1] == ')') {
		const char *open = strchr(in, '(');

		c.op = PN_IN;
		flen = in - expr;
		add_in_list(&c, open + 1, (expr + n - 1) - (open + 1));
	} else if ((op = strstr(expr, "!="))) {
		c.op = PN_NE;
		flen = op - expr;
		add_const(&c, op + 2, strlen(op + 2));
	} else if ((op = strchr(expr, '='))) {
		c.op = PN_EQ;
		flen = op - expr;
		add_const(&c, op + 1, strlen(op + 1));
	} else {
		*why = "expected FIELD=VALUE, FIELD!=VALUE, FIELD IS [NOT] NULL or FIELD IN (V,...)";
		return -1;
	}
	c.field = trimmed(expr, flen);
	if (!*c.field) {
		free(c.field);
		for (int i = 0; i < c.nvalues; i++)
			free(c.values[i].text);
		free(c.values);
		*why = "no field name";
		return -1;
	}
	q->conds = pn_realloc(q->conds, (q->nconds + 1) * sizeof(*q->conds));
	q->conds[q->nconds++] = c;
	return 0;
}

/* "FIELD" or "FIELD:NAME" */
static void split_name(const char *spec, char **field, char **name)
{
	const char *colon = strrchr(spec, ':');

	*field = colon ? pn_strndup(spec, colon - spec) : pn_strdup(spec);
	*name = colon ? pn_strdup(colon + 1) : NULL;
}

int pn_query_add_group(struct pn_query *q, const char *spec, const char **why)
{
	struct pn_group_def g;

	split_name(spec, &g.field, &g.name);
	if (!*g.field || (g.name && !*g.name)) {
		free(g.field);
		free(g.name);
		*why = "expected FIELD or FIELD:NAME";
		return -1;
	}
	if (!g.name)
		g.name = pn_strdup(g.field);
	q->groups = pn_realloc(q->groups, (q->ngroups + 1) * sizeof(*q->groups));
	q->groups[q->ngroups++] = g;
	return 0;
}

const char *const pn_agg_kind_names[] = { "count", "sum", "min", "max", "count_distinct",
					  "latest" };

/* sum keeps its exact integer part and its floating part */
const int pn_agg_kind_slots[] = { 1, 2, 1, 1, 1, 1 };

int pn_query_add_agg(struct pn_query *q, enum pn_agg_kind kind, const char *spec,
		     const char **why)
{
	struct pn_agg_def a = { .kind = kind };
	struct pn_buf name = PN_BUF_INIT;

	split_name(spec, &a.field, &a.name);
	if (!*a.field || (a.name && !*a.name) || (kind != PN_COUNT && !strcmp(a.field, "*"))) {
		*why = kind == PN_COUNT ? "expected FIELD[:NAME] or '*'[:NAME]"
					: "expected FIELD[:NAME]";
		free(a.field);
		free(a.name);
		return -1;
	}
	if (q->naggs >= 15) {
		*why = "at most 15 aggregates";
		free(a.field);
		free(a.name);
		return -1;
	}
	if (!strcmp(a.field, "*")) {
		free(a.field);
		a.field = NULL;
	}
	if (!a.name) {
		pn_buf_adds(&name, pn_agg_kind_names[kind]);
		if (a.field)
			pn_buf_addf(&name, "_%s", a.field);
		a.name = pn_buf_detach(&name, NULL);
	}
	a.slot = q->nslots;
	q->nslots += pn_agg_kind_slots[kind];
	q->aggs = pn_realloc(q->aggs, (q->naggs + 1) * sizeof(*q->aggs));
	q->aggs[q->naggs++] = a;
	return 0;
}

const char *const pn_key_type_names[] = { "nothing", "a string", "a number", "a boolean",
					  "an object", "a list" };

/* Every byte that does not start a string, a boolean, an object or a
 * list starts a number (the canonical text of a value is valid JSON):
 * the table holds each type XOR PN_KEY_T_NUMBER, so that its zeros are
 * numbers. */
#define BY_FIRST(type) ((type) ^ PN_KEY_T_NUMBER)
const unsigned char pn_key_type_by_first[256] = {
	['"'] = BY_FIRST(PN_KEY_T_STRING), ['t'] = BY_FIRST(PN_KEY_T_BOOLEAN),
	['f'] = BY_FIRST(PN_KEY_T_BOOLEAN), ['{'] = BY_FIRST(PN_KEY_T_OBJECT),
	['['] = BY_FIRST(PN_KEY_T_ARRAY),
};

int pn_query_set_key_mode(struct pn_query *q, const char *mode)
{
	static const char *const names[] = { "strict", "as-is", "string", "number" };

	for (int i = 0; i < 4; i++) {
		if (!strcmp(mode, names[i])) {
			q->key_mode = (enum pn_key_mode)i;
			return 0;
		}
	}
	return -1;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return pn_hash64(h, s ? s : "\x01", s ? strlen(s) + 1 : 1);
}

uint64_t pn_query_fingerprint(const struct pn_query *q)
{
	uint64_t h = PN_HASH64_INIT;

	for (int i = 0; i < q->nconds; i++) {
		h = fnv_str(h, q->conds[i].field);
		h = pn_hash64(h, &q->conds[i].op, sizeof(q->conds[i].op));
		for (int v = 0; v < q->conds[i].nvalues; v++) {
			h = pn_hash64(h, &q->conds[i].values[v].type, sizeof(int));
			h = pn_hash64(h, q->conds[i].values[v].text, q->conds[i].values[v].len);
		}
	}
	h = fnv_str(h, "groups");
	for (int i = 0; i < q->ngroups; i++)
		h = fnv_str(fnv_str(h, q->groups[i].field), q->groups[i].name);
	/* string and number change the keys' texts; strict and as-is keep
	 * them as they were before --key-type, so old checkpoints still fit */
	if (q->key_mode == PN_KEY_STRING || q->key_mode == PN_KEY_NUMBER)
		h = pn_hash64(fnv_str(h, "key-mode"), &q->key_mode, sizeof(q->key_mode));
	h = fnv_str(h, "aggs");
	for (int i = 0; i < q->naggs; i++) {
		h = pn_hash64(h, &q->aggs[i].kind, sizeof(q->aggs[i].kind));
		h = fnv_str(fnv_str(h, q->aggs[i].field), q->aggs[i].name);
	}
	/* the window and its time make the keys; grace and TTL only decide
	 * what is kept, so they may change between runs */
	if (q->window.kind != PN_WINDOW_NONE) {
		h = fnv_str(fnv_str(h, "window"), q->time_field);
		h = pn_hash64(h, &q->window.size_ms, sizeof(q->window.size_ms));
		h = pn_hash64(h, &q->window.advance_ms, sizeof(q->window.advance_ms));
	}
	return h;
}

void pn_query_release(struct pn_query *q)
{
	for (int i = 0; i < q->nconds; i++) {
		for (int v = 0; v < q->conds[i].nvalues; v++)
			free(q->conds[i].values[v].text);
		free(q->conds[i].values);
		free(q->conds[i].field);
	}
	for (int i = 0; i < q->ngroups; i++) {
		free(q->groups[i].field);
		free(q->groups[i].name);
	}
	for (int i = 0; i < q->naggs; i++) {
		free(q->aggs[i].field);
		free(q->aggs[i].name);
	}
	free(q->time_field);
	free(q->conds);
	free(q->groups);
	free(q->aggs);
	memset(q, 0, sizeof(*q));
}

/* ---- values and conditions ---- */

int pn_value_number(const struct pn_json *j, int v, int64_t *i, double *d)
{
	const char *s = j->text + j->tok[v].start;
	size_t n = j->tok[v].end - j->tok[v].start;
	char tmp[64];

	if (pn_json_int64(s, n, i) == 0)
		return 1;
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*d = strtod(tmp, NULL);
	return 0;
}

void pn_value_add_canonical(struct pn_buf *b, const struct pn_json *j, int v,
			    struct pn_buf *tmp)
{
	const struct pn_tok *t = &j->tok[v];
	size_t len;
	const char *raw = pn_json_raw(j, v, &len);

	if (t->type == PN_JSON_STRING && memchr(j->text + t->start, '\\', t->end - t->start)) {
		pn_buf_reset(tmp);
		pn_json_unescape(j->text + t->start, t->end - t->start, tmp);
		pn_json_add_string(b, tmp->data, tmp->len);
	} else {
		pn_buf_add(b, raw, len);
	}
}

static int const_equals(const struct pn_json *j, int v, const struct pn_const *k,
			struct pn_buf *tmp)
{
	const struct pn_tok *t = &j->tok[v];
	const char *s = j->text + t->start;
	size_t n = t->end - t->start;

	if (t->type != k->type)
		return 0;
	if (t->type == PN_JSON_STRING) {
		if (!memchr(s, '\\', n))
			return n == k->len && !memcmp(s, k->text, n);
		pn_buf_reset(tmp);
		pn_json_unescape(s, n, tmp);
		return tmp->len == k->len && !memcmp(tmp->data, k->text, k->len);
	}
	if (t->type != PN_JSON_PRIMITIVE)
		return 0;
	if (n == k->len && !memcmp(s, k->text, n))
		return 1;
	if (pn_value_is_number(j, v) &&
	    (k->text[0] == '-' || (k->text[0] >= '0' && k->text[0] <= '9'))) {
		int64_t i;
		double d;

		/* 1.0 and 1 are the same number; two integers compare exactly */
		int is_int = pn_value_number(j, v, &i, &d);

		if (is_int && k->is_int)
			return i == k->ival;
		return (is_int ? (double)i : d) == k->dval;
	}
	return 0;
}

int pn_cond_holds(const struct pn_cond *c, const struct pn_json *j, int v, struct pn_buf *tmp)
{
	int is_null = pn_value_is_null(j, v);

	switch (c->op) {
	case PN_IS_NULL: return is_null;
	case PN_NOT_NULL: return !is_null;
	case PN_EQ: return !is_null && const_equals(j, v, &c->values[0], tmp);
	case PN_NE: return !is_null && !const_equals(j, v, &c->values[0], tmp);
	case PN_IN:
		for (int i = 0; !is_null && i < c->nvalues; i++)
			if (const_equals(j, v, &c->values[i], tmp))
				return 1;
		return 0;
	}
	return 0;
}
