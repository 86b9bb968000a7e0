#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_agg.h"
#include "pn_agg_entry.h"
#include "pn_clock.h"
#include "pn_err.h"
#include "pn_record.h"

/* ---- entries ---- */

/* The field number of name, added when new; fields 0-2 are the metadata. */
static int field_id(struct pn_agg *a, const char *name)
{
	for (int i = 0; i < a->nfields; i++)
		if (!strcmp(a->field_name[i], name))
			return i;
	if (a->nfields == PN_AGG_MAX_FIELDS)
		pn_die(PN_EX_USAGE, "a query can read at most %d fields", PN_AGG_MAX_FIELDS - 3);
	a->field_name[a->nfields] = name;
	a->field_len[a->nfields] = strlen(name);
	return a->nfields++;
}

enum { F_TOPIC, F_PARTITION, F_OFFSET };

static void register_fields(struct pn_agg *a)
{
	field_id(a, "_topic");
	field_id(a, "_partition");
	field_id(a, "_offset");
	for (int i = 0; i < a->q->nconds; i++)
		a->cond_field[i] = field_id(a, a->q->conds[i].field);
	for (int i = 0; i < a->q->ngroups; i++)
		a->group_field[i] = field_id(a, a->q->groups[i].field);
	for (int i = 0; i < a->q->naggs; i++)
		a->agg_field[i] = a->q->aggs[i].field ? field_id(a, a->q->aggs[i].field) : -1;
	a->time_field = a->stamp_field = -1;
	if (pn_query_uses_time(a->q)) {
		a->time_field = field_id(a, a->q->time_field ? a->q->time_field : "_timestamp");
		if (a->q->max_ahead_ms > 0)
			a->stamp_field = field_id(a, "_timestamp");
	}
}

/* One pass over the record's members fills a->value for every field,
 * once per record shape. */
static void find_fields(struct pn_agg *a, const struct pn_json *j)
{
	pn_json_members_memo(j, a->field_name, a->field_len, a->nfields, a->value,
			     &a->value_memo);
}

void pn_agg_init(struct pn_agg *a, const struct pn_query *q)
{
	memset(a, 0, sizeof(*a));
	a->q = q;
	a->stream_time = INT64_MIN;
	a->clock_ok_until = INT64_MIN;
	a->key_types = a->key_type_own;
	register_fields(a);
	a->stride = sizeof(struct pn_agg_entry) + q->nslots * sizeof(int64_t);
	a->index_mask = 1023;
	a->index = calloc(a->index_mask + 1, sizeof(*a->index));
	if (!a->index)
		pn_die(PN_EX_FAILED, "out of memory");
	pn_offsets_init(&a->offsets);
}

void pn_agg_free_slots(struct pn_agg *a, struct pn_agg_entry *e)
{
	for (int i = 0; i < a->q->naggs; i++) {
		const struct pn_agg_def *d = &a->q->aggs[i];

		if (d->kind == PN_COUNT_DISTINCT) {
			struct pn_agg_strset *set;

			set = (struct pn_agg_strset *)(intptr_t)e->slot[d->slot];

			for (uint32_t k = 0; set && k <= set->mask; k++)
				free(set->items[k].s);
			if (set)
				free(set->items);
			free(set);
		} else if (d->kind == PN_LATEST) {
			free((void *)(intptr_t)e->slot[d->slot]);
		}
	}
}

void pn_agg_release(struct pn_agg *a)
{
	for (size_t n = 0; n < a->nentries; n++)
		pn_agg_free_slots(a, pn_agg_entry_at(a, n));
	free(a->entries);
	free(a->index);
	pn_buf_release(&a->keys);
	pn_buf_release(&a->scratch);
	pn_buf_release(&a->key);
	pn_buf_release(&a->tmp);
	pn_buf_release(&a->row_meta);
	pn_offsets_release(&a->offsets);
	memset(a, 0, sizeof(*a));
}

/* Makes the index anew, of mask + 1 buckets. */
void pn_agg_reindex(struct pn_agg *a, size_t mask)
{
	uint32_t *index = calloc(mask + 1, sizeof(*index));

	if (!index)
		pn_die(PN_EX_FAILED, "out of memory for the group index");
	for (size_t n = 0; n < a->nentries; n++) {
		size_t i = pn_agg_entry_at(a, n)->hash & mask;

		while (index[i])
			i = (i + 1) & mask;
		index[i] = (uint32_t)(n + 1);
	}
	free(a->index);
	a->index = index;
	a->index_mask = mask;
}

/* The index slot of key: its entry's, or the empty one where it would go. */
static size_t key_slot(const struct pn_agg *a, const char *key, size_t len, uint64_t h)
{
	size_t i = h & a->index_mask;

	for (; a->index[i]; i = (i + 1) & a->index_mask) {
		const struct pn_agg_entry *e = pn_agg_entry_at(a, a->index[i] - 1);

		if (e->hash == h && e->key_len == len && !memcmp(a->keys.data + e->key_off, key, len))
			break;
	}
	return i;
}

int pn_agg_has_key(const struct pn_agg *a, const char *key, size_t len)
{
	return a->index[key_slot(a, key, len, pn_hash64(PN_HASH64_INIT, key, len))] != 0;
}

struct pn_agg_entry *pn_agg_entry_get(struct pn_agg *a, const char *key, size_t len)
{
	uint64_t h = pn_hash64(PN_HASH64_INIT, key, len);
	size_t i = key_slot(a, key, len, h);
	struct pn_agg_entry *e;

	if (a->index[i])
		return pn_agg_entry_at(a, a->index[i] - 1);
	if (a->nentries == a->cap_entries) {
		a->cap_entries = a->cap_entries ? a->cap_entries * 2 : 1024;
		a->entries = pn_realloc(a->entries, a->cap_entries * a->stride);
	}
	e = pn_agg_entry_at(a, a->nentries);
	memset(e, 0, a->stride);
	e->hash = h;
	e->last_time = INT64_MIN;
	e->changed_at = -1;
	e->key_off = (uint32_t)a->keys.len;
	e->key_len = (uint32_t)len;
	pn_buf_add(&a->keys, key, len);
	a->index[i] = (uint32_t)++a->nentries;
	if (a->nentries * 2 > a->index_mask)
		pn_agg_reindex(a, a->index_mask * 2 + 1);
	return pn_agg_entry_at(a, a->nentries - 1);
}

void pn_agg_mark_changed(struct pn_agg *a, struct pn_agg_entry *e)
{
	uint32_t *tail = &a->dirty_tail;
	uint32_t n = (uint32_t)(((unsigned char *)e - a->entries) / a->stride) + 1;

	if (e->flags & 1)
		return;
	e->flags |= 1;
	e->dirty_next = 0;
	if (*tail)
		pn_agg_entry_at(a, *tail - 1)->dirty_next = n;
	else
		a->dirty_head = n;
	*tail = n;
}

int pn_agg_strset_add(struct pn_agg_strset **setp, const char *s, size_t len)
{
	struct pn_agg_strset *set = *setp;
	uint64_t h = pn_hash64(PN_HASH64_INIT, s, len);
	uint32_t i;

	if (!set) {
		set = *setp = pn_malloc(sizeof(*set));
		set->n = 0;
		set->mask = 7;
		set->items = calloc(8, sizeof(*set->items));
	}
	for (i = h & set->mask; set->items[i].s; i = (i + 1) & set->mask)
		if (set->items[i].hash == h && set->items[i].len == len &&
		    !memcmp(set->items[i].s, s, len))
			return 0;
	set->items[i].hash = h;
	set->items[i].s = pn_strndup(s, len);
	set->items[i].len = (uint32_t)len;
	if (++set->n * 2 > set->mask) {
		struct pn_agg_strset bigger = { set->n, set->mask * 2 + 1, NULL };

		bigger.items = calloc(bigger.mask + 1, sizeof(*bigger.items));
		for (uint32_t k = 0; k <= set->mask; k++) {
			uint32_t m;

			if (!set->items[k].s)
				continue;
			for (m = set->items[k].hash & bigger.mask; bigger.items[m].s;
			     m = (m + 1) & bigger.mask)
				;
			bigger.items[m] = set->items[k];
		}
		free(set->items);
		*set = bigger;
	}
	return 1;
}

void pn_agg_latest_set(int64_t *slot, const char *text, size_t len)
{
	struct pn_agg_latest *l = (struct pn_agg_latest *)(intptr_t)*slot;

	l = pn_realloc(l, sizeof(*l) + len);
	l->len = (uint32_t)len;
	memcpy(l->text, text, len);
	*slot = (int64_t)(intptr_t)l;
}

static int64_t double_slot(double d)
{
	int64_t s;

	memcpy(&s, &d, sizeof(s));
	return s;
}

/* sum: slot 0 the exact integer part, slot 1 the floating part. */
static void add_sum(struct pn_agg_entry *e, int i, const struct pn_agg_def *d, int is_int,
		    int64_t iv, double dv)
{
	int64_t *s = &e->slot[d->slot];

	int64_t sum;

	e->flags |= PN_AGG_HAS(i);
	if (is_int && !__builtin_add_overflow(s[0], iv, &sum)) {
		s[0] = sum;
		return;
	}
	e->flags |= PN_AGG_FLOAT(i);
	s[1] = double_slot(pn_agg_slot_double(s[1]) + (is_int ? (double)iv : dv));
}

static void add_minmax(struct pn_agg_entry *e, int i, const struct pn_agg_def *d, int is_int,
		       int64_t iv, double dv)
{
	int64_t *s = &e->slot[d->slot];
	int want_min = d->kind == PN_MIN;

	if (!(e->flags & PN_AGG_HAS(i))) {
		e->flags |= PN_AGG_HAS(i) | (is_int ? 0 : PN_AGG_FLOAT(i));
		*s = is_int ? iv : double_slot(dv);
		return;
	}
	if (is_int && !(e->flags & PN_AGG_FLOAT(i))) {
		if (want_min ? iv < *s : iv > *s)
			*s = iv;
		return;
	}
	if (!(e->flags & PN_AGG_FLOAT(i))) { /* the first double: the int becomes one */
		e->flags |= PN_AGG_FLOAT(i);
		*s = double_slot((double)*s);
	}
	if (is_int)
		dv = (double)iv;
	if (want_min ? dv < pn_agg_slot_double(*s) : dv > pn_agg_slot_double(*s))
		*s = double_slot(dv);
}

/* Checks the numeric aggregates' fields before anything changes, so a bad
 * record leaves the state as it was. */
static int check_numbers(struct pn_agg *a, const struct pn_json *j, const int *vals,
			 const char **why)
{
	for (int i = 0; i < a->q->naggs; i++) {
		const struct pn_agg_def *d = &a->q->aggs[i];
		int v = vals[i];

		int64_t iv;
		double dv;

		if ((d->kind != PN_SUM && d->kind != PN_MIN && d->kind != PN_MAX) ||
		    pn_value_is_null(j, v))
			continue;
		if (pn_value_is_number(j, v)) {
			if (pn_value_number(j, v, &iv, &dv) || isfinite(dv))
				continue;
			snprintf(a->why, sizeof(a->why), "field '%s' is %.*s, beyond a double",
				 d->field, (int)(j->tok[v].end - j->tok[v].start > 40 ? 40 :
						  j->tok[v].end - j->tok[v].start),
				 j->text + j->tok[v].start);
			*why = a->why;
			return -1;
		}
		snprintf(a->why, sizeof(a->why), "field '%s' is %s, --%s needs a number",
			 d->field,
			 j->tok[v].type == PN_JSON_STRING ? "a string" :
			 j->tok[v].type == PN_JSON_OBJECT ? "an object" :
			 j->tok[v].type == PN_JSON_ARRAY ? "a list" : "a boolean",
			 pn_agg_kind_names[d->kind]);
		*why = a->why;
		return -1;
	}
	return 0;
}

/* The group key in a->key as a JSON list, for messages. */
static void add_key_list(struct pn_buf *b, const struct pn_agg *a)
{
	const char *k = a->key.data, *end = a->key.data + a->key.len;

	pn_buf_addc(b, '[');
	for (int g = 0; g < a->q->ngroups && k < end; g++) {
		size_t n = strlen(k);

		if (g)
			pn_buf_addc(b, ',');
		pn_buf_add(b, k, n);
		k += n + 1;
	}
	pn_buf_addc(b, ']');
}

/* Whether adding the record to e would take one of its sums beyond a
 * double: an error naming the group, never a null or an infinity. */
static int check_sums(struct pn_agg *a, const struct pn_agg_entry *e, const struct pn_json *j,
		      const int *vals, const char **why)
{
	for (int i = 0; i < a->q->naggs; i++) {
		const struct pn_agg_def *d = &a->q->aggs[i];
		const int64_t *s = &e->slot[d->slot];
		int64_t iv, sum;
		double dv;
		int is_int;

		if (d->kind != PN_SUM || pn_value_is_null(j, vals[i]))
			continue;
		is_int = pn_value_number(j, vals[i], &iv, &dv);
		if (is_int && !__builtin_add_overflow(s[0], iv, &sum))
			continue;
		dv = pn_agg_slot_double(s[1]) + (is_int ? (double)iv : dv);
		if (isfinite(dv) && isfinite((double)s[0] + dv))
			continue;
		pn_buf_reset(&a->tmp);
		add_key_list(&a->tmp, a);
		snprintf(a->why, sizeof(a->why), "--sum %s: the sum of group %.160s goes beyond "
			 "a double", d->name, a->tmp.data);
		*why = a->why;
		return -1;
	}
	return 0;
}

static void update(struct pn_agg *a, struct pn_agg_entry *e, const struct pn_json *j,
		   const int *vals)
{
	for (int i = 0; i < a->q->naggs; i++) {
		const struct pn_agg_def *d = &a->q->aggs[i];
		int v = vals[i];
		int64_t iv = 0;
		double dv = 0;
		int is_int;

		if (d->kind == PN_COUNT) {
			if (!d->field || !pn_value_is_null(j, v))
				e->slot[d->slot]++;
			continue;
		}
		if (pn_value_is_null(j, v))
			continue;
		switch (d->kind) {
		case PN_SUM:
		case PN_MIN:
		case PN_MAX:
			is_int = pn_value_number(j, v, &iv, &dv);
			if (d->kind == PN_SUM)
				add_sum(e, i, d, is_int, iv, dv);
			else
				add_minmax(e, i, d, is_int, iv, dv);
			break;
		case PN_COUNT_DISTINCT:
			pn_buf_reset(&a->scratch);
			pn_value_add_canonical(&a->scratch, j, v, &a->tmp);
			pn_agg_strset_add((struct pn_agg_strset **)&e->slot[d->slot],
					  a->scratch.data, a->scratch.len);
			break;
		case PN_LATEST:
			pn_buf_reset(&a->scratch);
			pn_value_add_canonical(&a->scratch, j, v, &a->tmp);
			pn_agg_latest_set(&e->slot[d->slot], a->scratch.data, a->scratch.len);
			break;
		default:
			break;
		}
	}
}

/* The record's topic-partition entry when it carries _topic, _partition
 * and _offset; NULL otherwise, or when they are malformed (*why set). */
static struct pn_part *record_part(struct pn_agg *a, const struct pn_json *j, int64_t *offset,
				   const char **why)
{
	int32_t partition;

	*why = NULL;
	if (pn_record_position(j, a->value[F_TOPIC], a->value[F_PARTITION], a->value[F_OFFSET],
			       &a->tmp, &partition, offset, why) <= 0)
		return NULL;
	return pn_offsets_get(&a->offsets, a->tmp.data, partition);
}

void pn_agg_pass(struct pn_agg *a, const struct pn_json *j)
{
	int64_t offset;
	const char *why;
	struct pn_part *p;

	find_fields(a, j);
	p = record_part(a, j, &offset, &why);

	if (p && offset + 1 > p->flushed)
		p->flushed = offset + 1;
}

/* Appends group value v to a->key: its canonical text, after --key-type
 * string or number made one type of the other. */
static void add_key_value(struct pn_agg *a, const struct pn_json *j, int v)
{
	const struct pn_tok *t = &j->tok[v];
	enum pn_key_mode mode = a->q->key_mode;
	size_t len;
	const char *raw;

	if (mode < PN_KEY_STRING) {
		pn_value_add_canonical(&a->key, j, v, &a->tmp);
	} else if (mode == PN_KEY_STRING && t->type == PN_JSON_PRIMITIVE) {
		raw = pn_json_raw(j, v, &len); /* a number, true or false */
		pn_json_add_string(&a->key, raw, len);
	} else if (mode == PN_KEY_NUMBER && t->type == PN_JSON_STRING &&
		   pn_json_is_number(j->text + t->start, t->end - t->start)) {
		pn_buf_add(&a->key, j->text + t->start, t->end - t->start);
	} else {
		pn_value_add_canonical(&a->key, j, v, &a->tmp);
	}
}

/* The reason a group value of type got (its text at value) is refused,
 * in a->why: its field has another type. */
static const char *key_type_conflict(struct pn_agg *a, int g, enum pn_key_type got,
				     const char *value, size_t len)
{
	snprintf(a->why, sizeof(a->why), "--group-by field '%s' is %s (%.*s%s), earlier "
		 "records made it %s: give --key-type string or number to merge them",
		 a->q->groups[g].field, pn_key_type_names[got], (int)(len > 40 ? 40 : len),
		 value, len > 40 ? "..." : "", pn_key_type_names[a->key_types[g]]);
	return a->why;
}

/* Is type the one group field g has (or may take)?  Not a question with
 * --key-type as-is. */
static inline int key_type_fits(const struct pn_agg *a, int g, enum pn_key_type type)
{
	return a->key_types[g] == type || !a->key_types[g] || a->q->key_mode == PN_KEY_AS_IS;
}

/* The group key of a record in a->key: each group value's canonical
 * text, NUL after each, and their types in a->rec_types (types_pending
 * set when one is not its field's yet).  0; 1 when one is missing or
 * null; -1 with *why when one has not its field's type. */
static int group_key(struct pn_agg *a, const struct pn_json *j, const char **why)
{
	a->types_pending = 0;
	pn_buf_reset(&a->key);
	for (int g = 0; g < a->q->ngroups; g++) {
		int v = a->value[a->group_field[g]];
		size_t at = a->key.len;
		enum pn_key_type type;

		if (pn_value_is_null(j, v))
			return 1;
		add_key_value(a, j, v);
		type = pn_key_type_of(a->key.data[at]);
		a->rec_types[g] = (unsigned char)type;
		if (type != a->key_types[g]) { /* the first one, or another */
			if (!key_type_fits(a, g, type)) {
				*why = key_type_conflict(a, g, type, a->key.data + at,
							 a->key.len - at);
				return -1;
			}
			a->types_pending = 1;
		}
		pn_buf_addc(&a->key, '\0');
	}
	return 0;
}

/* The record was applied: its group values' types are their fields'. */
static void keep_key_types(struct pn_agg *a)
{
	for (int g = 0; g < a->q->ngroups; g++)
		if (!a->key_types[g])
			a->key_types[g] = a->rec_types[g];
	a->types_pending = 0;
}

int pn_agg_take_key_types(struct pn_agg *a, const char *key, size_t len)
{
	const char *end = key + len;

	for (int g = 0; g < a->q->ngroups; g++) {
		size_t n = strnlen(key, end - key);
		enum pn_key_type type;

		if (key >= end || n == (size_t)(end - key)) {
			snprintf(a->why, sizeof(a->why), "a group key without its %d values",
				 a->q->ngroups);
			return -1;
		}
		type = pn_key_type_of(*key);
		if (!key_type_fits(a, g, type)) {
			snprintf(a->why, sizeof(a->why), "--group-by field '%s' has keys of two "
				 "types, %s and %s (%.*s)", a->q->groups[g].field,
				 pn_key_type_names[a->key_types[g]], pn_key_type_names[type],
				 (int)(n > 40 ? 40 : n), key);
			return -1;
		}
		if (a->q->key_mode != PN_KEY_AS_IS && !a->key_types[g])
			a->key_types[g] = (unsigned char)type;
		key += n + 1;
	}
	return 0;
}

int pn_agg_share_key_types(struct pn_agg *a, unsigned char *shared)
{
	for (int g = 0; g < a->q->ngroups; g++) {
		if (a->key_types[g] && shared[g] && a->key_types[g] != shared[g] &&
		    a->q->key_mode != PN_KEY_AS_IS) {
			snprintf(a->why, sizeof(a->why), "--group-by field '%s' is %s in it and "
				 "%s in the other partitions' state", a->q->groups[g].field,
				 pn_key_type_names[a->key_types[g]], pn_key_type_names[shared[g]]);
			return -1;
		}
		if (!shared[g])
			shared[g] = a->key_types[g];
	}
	a->key_types = shared;
	return 0;
}

/* The record's event time; 0, or -1 with *why. */
static int record_time(struct pn_agg *a, const struct pn_json *j, int64_t *t, const char **why)
{
	int v = a->value[a->time_field];
	const char *field = a->field_name[a->time_field];

	if (pn_value_is_null(j, v)) {
		snprintf(a->why, sizeof(a->why), "no event time: field '%s' is %s%s", field,
			 v < 0 ? "missing" : "null",
			 a->q->time_field ? "" : " (set --time-field, or run pn-consume --meta)");
	} else if (pn_event_time(j, v, &a->tmp, t)) {
		snprintf(a->why, sizeof(a->why), "field '%s' is not a time (epoch seconds or "
			 "milliseconds, ISO 8601)", field);
	} else {
		return 0;
	}
	*why = a->why;
	return -1;
}

/* Is t more than ahead past ref?  Without overflow, for any times. */
static int beyond(int64_t t, int64_t ref, int64_t ahead)
{
	int64_t d;

	if (t <= ref)
		return 0;
	return __builtin_sub_overflow(t, ref, &d) || d > ahead;
}

/*
 * May event time t (past the stream time) move the stream time?  Not when
 * it is more than --max-ahead past the reference clock: the record's
 * _timestamp (the producer's or broker's time) when it has one, and the
 * wall clock, whichever says less.  During a backfill the wall clock is
 * far ahead of the records and never in the way; _timestamp then is the
 * records' own.  The wall clock is read only when t passes the last
 * reading, so an ordinary record costs no system call; when the event time
 * is the _timestamp, the bound it gives is kept in clock_ok_until, so an
 * ordinary record costs one compare.
 */
static int clock_may_take(struct pn_agg *a, const struct pn_json *j, int64_t t)
{
	int64_t ahead = a->q->max_ahead_ms, stamp;
	int v = a->stamp_field >= 0 ? a->value[a->stamp_field] : -1;
	int by_stamp = a->stamp_field >= 0 && a->stamp_field != a->time_field;

	if (ahead <= 0) {
		a->clock_ok_until = INT64_MAX; /* --max-ahead 0: Kafka Streams' rule */
		return 1;
	}
	if (by_stamp && !pn_value_is_null(j, v) && pn_event_time(j, v, &a->tmp, &stamp) == 0 &&
	    beyond(t, stamp, ahead))
		return 0;
	if (beyond(t, a->wall_ms, ahead)) {
		a->wall_ms = pn_wall_ms();
		if (!by_stamp && __builtin_add_overflow(a->wall_ms, ahead, &a->clock_ok_until))
			a->clock_ok_until = INT64_MAX;
	}
	return !beyond(t, a->wall_ms, ahead);
}

/* Not updated for --ttl of stream time? */
int pn_agg_ttl_over(const struct pn_agg *a, const struct pn_agg_entry *e)
{
	return a->q->ttl_ms > 0 && e->last_time != INT64_MIN && a->stream_time != INT64_MIN &&
	       e->last_time <= a->stream_time - a->q->ttl_ms;
}

/* Applies the record to the group whose key is in a->key, at time t for
 * --ttl; 0, or -1 with *why when a sum would go beyond a double (nothing
 * changed then). */
static int apply_to(struct pn_agg *a, const struct pn_json *j, const int *vals, int64_t t,
		    int64_t win_start, const char **why)
{
	struct pn_agg_entry *e = pn_agg_entry_get(a, a->key.data, a->key.len);

	/* A group past its TTL starts over, whether or not an emission has
	 * forgotten it yet: the result must not depend on when those ran. */
	if (pn_agg_ttl_over(a, e)) {
		pn_agg_free_slots(a, e);
		memset(e->slot, 0, a->q->nslots * sizeof(int64_t));
		e->flags &= 1u;
		e->last_time = INT64_MIN;
		a->counts.expired++;
	}
	if (check_sums(a, e, j, vals, why))
		return -1;
	update(a, e, j, vals);
	e->win_start = win_start;
	if (t > e->last_time)
		e->last_time = t;
	e->changed_at = a->record_offset;
	pn_agg_mark_changed(a, e);
	return 0;
}

/*
 * Applies the record of event time t to each of its windows that is still
 * open (t_clock is its time for --ttl); the window's start goes into the
 * key after the group values.  Returns how many windows took it, or -1
 * with *why.
 */
static int apply_windows(struct pn_agg *a, const struct pn_json *j, const int *vals, int64_t t,
			 int64_t t_clock, const char **why)
{
	const struct pn_window *w = &a->q->window;
	size_t key_len = a->key.len;
	int64_t start;
	int n = pn_window_starts(w, t, &start), applied = 0;

	for (int k = 0; k < n; k++, start += w->advance_ms) {
		if (start + w->size_ms + a->q->grace_ms <= a->stream_time)
			continue; /* closed: late */
		a->key.len = key_len;
		pn_buf_add_i64(&a->key, start);
		pn_buf_addc(&a->key, '\0');
		if (apply_to(a, j, vals, t_clock, start, why))
			return -1;
		applied++;
	}
	if (applied < n)
		a->counts.late++;
	return applied;
}

int pn_agg_apply(struct pn_agg *a, const struct pn_json *j, const char **why)
{
	int64_t t = 0, t_clock = 0;
	int64_t offset = 0;
	struct pn_part *p;
	int vals[16], key;

	find_fields(a, j);
	p = record_part(a, j, &offset, why);
	if (*why)
		return -1; /* coordinates that pn-consume never writes */
	a->record_offset = p ? offset : -1;
	a->counts.records++;
	if (p && p->flushed >= 0 && offset < p->flushed) {
		a->counts.skipped++; /* applied before the checkpoint */
		return 0;
	}
	for (int i = 0; i < a->q->nconds; i++) {
		if (!pn_cond_holds(&a->q->conds[i], j, a->value[a->cond_field[i]], &a->tmp)) {
			a->counts.filtered++;
			goto done;
		}
	}
	key = group_key(a, j, why);
	if (key < 0)
		return -1;
	if (key > 0) {
		a->counts.null_key++;
		goto done;
	}
	for (int i = 0; i < a->q->naggs; i++)
		vals[i] = a->agg_field[i] < 0 ? -1 : a->value[a->agg_field[i]];
	if (check_numbers(a, j, vals, why))
		return -1;
	if (a->time_field >= 0) {
		if (record_time(a, j, &t, why))
			return -1;
		t_clock = t;
		if (t > a->stream_time && (t <= a->clock_ok_until || clock_may_take(a, j, t))) {
			a->stream_time = t;
		} else if (t > a->stream_time) {
			/* counted in its group, at the stream time for --ttl */
			a->counts.future_times++;
			t_clock = a->stream_time;
		}
	}
	if (a->q->window.kind == PN_WINDOW_NONE) {
		if (apply_to(a, j, vals, t_clock, 0, why))
			return -1;
	} else {
		int n = apply_windows(a, j, vals, t, t_clock, why);

		if (n < 0)
			return -1;
		if (!n)
			goto done;
	}
	if (a->types_pending)
		keep_key_types(a);
	a->counts.applied++;
done:
	if (p)
		p->flushed = offset + 1;
	return 0;
}
