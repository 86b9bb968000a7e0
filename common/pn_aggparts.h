/*
 * pn_aggparts — pn_agg kept per input partition, its state in a piece
 * directory (pn_pieces): what pn-aggregate does with --state DIR/.
 *
 * Each group belongs to the topic-partition its records come from (the
 * topic is keyed by the group key), so the state of a partition can move
 * with it when the consumer group gives it to another member.  Every
 * partition has its own pn_agg, loaded from its piece the first time the
 * partition shows up (its "assigned" control record or its first record;
 * once let go, only a new "assigned" takes it again: records of it that a
 * stopped consumer still delivers must not take it from its new owner),
 * emitted and saved on its own, and dropped, once saved, when the
 * partition is revoked.  Windows and --ttl run on each partition's own
 * stream time, as Kafka Streams runs them per task.  The JSON type of each
 * group field is one for all partitions: their pn_aggs share key_types, and
 * a piece whose groups have another type is refused.
 *
 * Writes are fenced: a partition is claimed when it is loaded, and each
 * emission and save of it first checks, under the piece's lock, that no
 * newer owner has claimed it since.  A fenced partition is dropped without
 * writing anything: its new owner has the state and emits it.
 */
#ifndef PN_AGGPARTS_H
#define PN_AGGPARTS_H

#include <stdint.h>

#include "pn_agg.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_pieces.h"

/* One partition's state. */
struct pn_aggpart {
	char *topic;
	int32_t partition;
	uint64_t epoch;		/* the claim that owns it */
	struct pn_agg agg;
	int unsaved;		/* records handled since the piece was written */
};

struct pn_aggparts_counts {
	uint64_t loaded;	/* pieces read */
	uint64_t loaded_sunk;	/* of those, all in the sink: not emitted again */
	uint64_t reemitted;	/* groups of loaded pieces emitted again */
	uint64_t dropped;	/* partitions let go, after their last save */
	uint64_t fenced;	/* partitions found claimed by a newer owner */
	uint64_t split_keys;	/* new groups whose key another partition has */
	uint64_t controls;	/* control records read */
	uint64_t not_owned;	/* records of a partition let go, not applied */
};

/* A partition this process let go (revoked, lost, fenced): records of it
 * that still come take it back only after an "assigned". */
struct pn_aggparts_gone {
	char *topic;
	int32_t partition;
};

struct pn_aggparts {
	const struct pn_query *q;
	struct pn_pieces store;
	struct pn_aggpart **parts;
	int nparts;
	int last;		/* index of the last record's partition */
	struct pn_aggparts_gone *let_go;
	int nlet_go;
	struct pn_agg_counts gone;	/* the counts of partitions dropped */
	struct pn_aggparts_counts counts;
	unsigned char key_types[PN_AGG_MAX_FIELDS];	/* shared by the partitions */
	int emit_final;		/* --emit final: groups only at the end or window close */
	int64_t emit_max;	/* bytes of rows to write at a time */
	struct pn_buf topic;	/* scratch: a record's topic */
	int32_t partition;	/* and its partition */
	int coord[3];		/* the tokens of _topic, _partition, _offset */
	struct pn_json_memo coord_memo;	/* the record shape coord holds for */
	char why[256];
};

/* Opens the directory; 0 or an exit status. */
int pn_aggparts_open(struct pn_aggparts *s, const struct pn_query *q, const char *dir);
void pn_aggparts_close(struct pn_aggparts *s);

/*
 * Handles one parsed record: a control record ("assigned", "revoked",
 * "lost"), or a record applied to its partition's groups.  0; -1 with *why
 * for a bad record (no coordinates, a value the query cannot take); or an
 * exit status (> 0) when the state cannot be read or written.  Rows of a
 * revoked partition are written to out before its piece is saved.
 */
int pn_aggparts_handle(struct pn_aggparts *s, const struct pn_json *rec, struct pn_out *out,
		       const char **why);
/* A record set aside with --reject: its offset counts as handled. */
void pn_aggparts_pass(struct pn_aggparts *s, const struct pn_json *rec);

/*
 * Writes the changed groups of every partition (all of them when final
 * and --emit final) and saves the pieces that changed; a fenced partition
 * is dropped.  0 or an exit status.
 */
int pn_aggparts_emit(struct pn_aggparts *s, struct pn_out *out, int final);

/*
 * Writes the changed groups of one pn_agg to out (with --emit final, only
 * when final, and then every group) and those of closed windows and
 * --ttl.  1 when groups were forgotten (the state changed), else 0.
 */
int pn_agg_write_changes(struct pn_agg *a, struct pn_out *out, int emit_final, int final);

/* The counts of every partition, held or dropped, summed into c, and the
 * number of groups held. */
size_t pn_aggparts_sum(const struct pn_aggparts *s, struct pn_agg_counts *c);

#endif
