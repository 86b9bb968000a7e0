/*
 * pn_commit — a consumer's partitions: what it wrote of each, and what it
 * may commit to its group.
 *
 * Delivery is at-least-once: an offset is committed only once its record
 * reached the output.  Each partition moves through three marks, each one
 * past a record: `appended` when the record is in the output's buffer,
 * `flushed` when the output took it (pn_commit_written), `committed` when
 * the group has it (pn_commit_send).  With --commit-from, what is
 * committed is instead what a downstream pn-aggregate has applied, read
 * from its checkpoint file or its piece directory (pn_pieces.h), so the
 * group's lag shows the pipeline's true progress.
 *
 * The table's entries are struct pn_commit_part, the shared pn_part first:
 * the one lookup per message (pn_commit_msg_part) finds all of it.
 * Nothing here exits: failures are reported and returned, or warned about
 * when the next commit tries again.
 */
#ifndef PN_COMMIT_H
#define PN_COMMIT_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "pn_io.h"
#include "pn_offsets.h"
#include "pn_pieces.h"

struct pn_commit_part {
	struct pn_part part;	/* first: the table's entry, topic and offsets */
	int64_t committed;	/* last offset committed, or -1 */
	int64_t confirmed;	/* last offset the group confirmed, or -1 */
	unsigned assigned : 1;	/* currently assigned to us */
	unsigned started : 1;	/* its start position was applied once (pn_start.h) */
	unsigned at_end : 1;	/* reached the end of the partition */
	unsigned done : 1;	/* reached --until: no more records wanted */
	unsigned moved : 1;	/* revoked or assigned while a batch was taken */
};

struct pn_commit {
	struct pn_offsets parts;	/* of struct pn_commit_part */
	rd_kafka_t *rk;		/* the consumer, set once it is made */
	struct pn_out *out;	/* what the records are written to */
	const char *group;	/* NULL: nothing is committed */
	const char *from;	/* --commit-from: a checkpoint file or piece directory */
	struct pn_pieces pieces;	/* from, when it is a piece directory */
	int by_pieces;
	int wait_sink;		/* --wait-for-sink: revocations wait for the sink too */
	int subscribed;		/* the group assigns the partitions (not -p) */
	int dirty;		/* records appended since the last flush */
	int64_t last_flush_ms, last_commit_ms;
	uint64_t commits;	/* commits sent */
};

/* Starts the bookkeeping of records written to out, committed to group
 * (may be NULL) or, with from set, as from has applied them: 0 or an exit
 * status. */
int pn_commit_init(struct pn_commit *c, struct pn_out *out, const char *group, const char *from);
void pn_commit_release(struct pn_commit *c);

static inline struct pn_commit_part *pn_commit_part_of(struct pn_part *p)
{
	return (struct pn_commit_part *)p;
}

/* The entry of topic/partition, made when new; or NULL if there is none. */
struct pn_commit_part *pn_commit_get(struct pn_commit *c, const char *topic, int32_t partition);
struct pn_commit_part *pn_commit_find(const struct pn_commit *c, const char *topic,
				      int32_t partition);

/* The entry of a message's partition, by its topic handle: no string
 * comparison per message once the handle is known. */
static inline struct pn_commit_part *pn_commit_msg_part(struct pn_commit *c,
							const rd_kafka_topic_t *rkt,
							int32_t partition)
{
	struct pn_part *p = pn_offsets_get_bound(&c->parts, rkt, partition);

	if (!p) {
		pn_offsets_bind(&c->parts, rd_kafka_topic_name(rkt), rkt);
		p = pn_offsets_get_bound(&c->parts, rkt, partition);
	}
	return pn_commit_part_of(p);
}

/* The records appended so far reached the output: they become committable. */
void pn_commit_written(struct pn_commit *c);
/* Writes the buffered records out (if any were appended) and marks them so. */
void pn_commit_flush(struct pn_commit *c);

/*
 * Adds to list what a commit would send now: the offsets of the records
 * written out and not committed yet, or with `from` those its state has
 * applied, of the partitions this member holds.  With sync, "committed"
 * means confirmed by the group: a commit sent asynchronously whose failure
 * has not been heard of yet is sent again.
 */
void pn_commit_list(struct pn_commit *c, rd_kafka_topic_partition_list_t *list, int sync);

/*
 * Commits, with a group, the offsets of the records written out (or those
 * the --commit-from state has applied) not committed yet; sync waits for
 * the group's answer.  Nothing once the output has gone away.  A commit
 * that fails is warned about and sent again by the next.
 */
void pn_commit_send(struct pn_commit *c, int sync);

/* The group's answer to a commit, for librdkafka's offset_commit_cb. */
void pn_commit_result(struct pn_commit *c, rd_kafka_resp_err_t err,
		      const rd_kafka_topic_partition_list_t *offsets);

/*
 * With a state of pieces, a partition the group gives starts where its
 * piece ends, not at the group's commit: the state is what the next
 * record must follow, whatever a commit in flight or a position that
 * librdkafka kept from an earlier assignment says.  Partitions without a
 * piece keep the start they have.  0, or an exit status.
 */
int pn_commit_start_at_saved(struct pn_commit *c, rd_kafka_topic_partition_list_t *list);

/* Have the pieces saved what was written of every partition of list (and,
 * with wait_sink, has the sink acknowledged writing its rows)?  1 yes, 0
 * not yet, -1 unreadable (reported). */
int pn_commit_saved(struct pn_commit *c, const rd_kafka_topic_partition_list_t *list);

/*
 * A revocation completes once the state downstream has saved everything
 * written of the partitions (pn-aggregate saves a piece when it reads
 * "revoked"): their new owner then starts from the commits made next,
 * exactly what was saved.  Waits up to timeout_ms for pn_commit_saved;
 * a downstream that does not answer in time is warned about (the caller
 * then commits what it did save).  Returns as pn_commit_saved.
 */
enum { PN_COMMIT_REVOKE_WAIT_MS = 60000 };

int pn_commit_wait_saved(struct pn_commit *c, const rd_kafka_topic_partition_list_t *list,
			 int timeout_ms);

#endif
