/*
 * pn_agg — a continuous GROUP BY over records: the state of every group
 * of a query (pn_query.h) and the changelog it emits; pn_checkpoint.h
 * keeps that state.
 *
 * Each group's state lives in one fixed-size entry of a flat array, found
 * through an open-addressing index: no allocation per record, about 60
 * bytes per key for a count-only query.  Entries changed since the last
 * emission are chained, so an emission writes only what changed, with
 * absolute values (a changelog: replaying it is harmless).
 *
 * A record whose group field is missing or null is not counted (as
 * ksqlDB drops null keys) but is counted in the statistics.  Each group
 * field has one JSON type, the first one applied (pn_query's --key-type):
 * a record with another is refused, so 7 and "7" never make two groups
 * that a sink writes onto one row.  The types are kept in checkpoints and,
 * with a state per partition, shared by the partitions (key_types).
 *
 * Event time (--time-field, else the records' _timestamp) drives windows
 * and --ttl.  With a window the window's start is part of the group key;
 * the stream time is the largest event time applied, and a window closes
 * when it passes the window's end plus the grace period: records for it
 * after that are late, counted and not applied.  Closed windows and groups
 * not updated for --ttl of stream time are forgotten at the next emission.
 * An event time more than --max-ahead past the reference clock (the wall
 * clock, and the record's _timestamp when earlier) is applied to its group
 * but does not move the stream time, and counts as a future time: one
 * record with a clock years ahead must not close every window or expire
 * every group.
 */
#ifndef PN_AGG_H
#define PN_AGG_H

#include <stdint.h>

#include "pn_buf.h"
#include "pn_json.h"
#include "pn_offsets.h"
#include "pn_query.h"

struct pn_agg_counts {
	uint64_t records;	/* records read */
	uint64_t applied;	/* counted into a group */
	uint64_t filtered;	/* failed --where */
	uint64_t null_key;	/* a group field missing or null */
	uint64_t skipped;	/* at or below a checkpointed offset */
	uint64_t late;		/* not applied to a window that had closed */
	uint64_t future_times;	/* event times too far ahead to move the stream time */
	uint64_t expired;	/* groups forgotten: window closed, or --ttl */
	uint64_t emitted;	/* changelog rows written */
	uint64_t checkpoints;
};

/* The fields a query reads, looked up in one pass over each record. */
enum { PN_AGG_MAX_FIELDS = 64 };

struct pn_agg {
	const struct pn_query *q;
	const char *field_name[PN_AGG_MAX_FIELDS];
	size_t field_len[PN_AGG_MAX_FIELDS];
	int nfields;
	int cond_field[PN_AGG_MAX_FIELDS], group_field[PN_AGG_MAX_FIELDS];
	int agg_field[16];
	int time_field;		/* field number of the event time, or -1 */
	int stamp_field;	/* of _timestamp, the reference clock, or -1 */
	int64_t stream_time;	/* the largest event time applied, --max-ahead bounding */
	int64_t wall_ms;	/* the wall clock, read again only when a time passes it */
	int64_t clock_ok_until;	/* times up to this may move the stream time, no
				 * question asked (INT64_MIN: ask clock_may_take) */
	/* Per group field, its JSON type (enum pn_key_type, 0 while none is
	 * known): key_type_own, or the table the partitions share. */
	unsigned char *key_types;
	unsigned char key_type_own[PN_AGG_MAX_FIELDS];
	unsigned char rec_types[PN_AGG_MAX_FIELDS];	/* of the record at hand */
	int types_pending;	/* the record at hand has a type not kept yet */
	int value[PN_AGG_MAX_FIELDS];	/* this record's token per field, or -1 */
	struct pn_json_memo value_memo;	/* the record shape value holds for */
	unsigned char *entries;	/* nentries * stride bytes */
	size_t nentries, cap_entries, stride;
	uint32_t *index;	/* entry number + 1, 0 = empty */
	size_t index_mask;
	struct pn_buf keys;	/* group keys, back to back */
	uint32_t dirty_head;	/* entry number + 1 of the first changed one */
	uint32_t dirty_tail;	/* and of the last */
	struct pn_offsets offsets; /* per topic-partition: `flushed` = next to apply */
	int64_t record_offset;	/* the offset of the record at hand, or -1 */
	struct pn_buf key;	/* the group key of the record at hand */
	struct pn_buf scratch, tmp;
	/* Underscore fields every row carries after its own, as JSON members
	 * without braces ("_topic":"pings","_partition":3,"_epoch":7: the
	 * partition and owner of a state per partition), or empty. */
	struct pn_buf row_meta;
	char why[256];		/* the reason of the last refused record */
	struct pn_agg_counts counts;
};

void pn_agg_init(struct pn_agg *a, const struct pn_query *q);
void pn_agg_release(struct pn_agg *a);

/*
 * Applies one parsed record.  Returns 0, or -1 with *why when the record
 * cannot be aggregated (a --sum over a string…).
 */
int pn_agg_apply(struct pn_agg *a, const struct pn_json *rec, const char **why);
/* Records a record as handled without applying it (one set aside with
 * --reject), so its offset counts as done. */
void pn_agg_pass(struct pn_agg *a, const struct pn_json *rec);

/* Is there a group of this key (the group values' canonical texts, as
 * a->key holds the key of the record just applied)? */
int pn_agg_has_key(const struct pn_agg *a, const char *key, size_t len);

/*
 * Takes the types of a group key as a->key holds one (from a checkpoint):
 * each value's type becomes its field's when none was known.  0, or -1
 * with a->why set when one differs from its field's.
 */
int pn_agg_take_key_types(struct pn_agg *a, const char *key, size_t len);
/*
 * Makes a use the shared table of key types, its own known types added
 * to it: 0, or -1 with a->why set when they differ from the table's.
 */
int pn_agg_share_key_types(struct pn_agg *a, unsigned char *shared);

/* Appends one changelog row per group changed since the last call to out,
 * and forgets that they changed; returns the number of rows. */
size_t pn_agg_emit(struct pn_agg *a, struct pn_buf *out, size_t max_bytes);
/*
 * Forgets the groups whose time is over: windows closed for good and, with
 * --ttl, groups not updated for that long.  Those changed since the last
 * emission are appended to out first (so --emit final writes a window
 * once, when it closes).  Returns the number forgotten.
 */
size_t pn_agg_expire(struct pn_agg *a, struct pn_buf *out);
/* Marks every group changed, for --emit final. */
void pn_agg_mark_all(struct pn_agg *a);
/* Marks changed the groups that a record at offset since or later changed,
 * and those that do not know: what a sink that has every row of the
 * records before since may lack.  Returns how many. */
size_t pn_agg_mark_since(struct pn_agg *a, int64_t since);
/* Rows waiting to be emitted? */
static inline int pn_agg_dirty(const struct pn_agg *a)
{
	return a->dirty_head != 0;
}

#endif
