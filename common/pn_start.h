/*
 * pn_start — where each partition a consumer takes starts reading.
 *
 * A partition starts, the first time it is taken, at its offset in the
 * start-offsets file (pn_offsets_load_start into the entries' `start`),
 * else where -o says: the beginning, the end, the group's commits, an
 * offset, N before the end, or the first record at or after a time.
 * Without -o a group resumes from its commits and a plain reader reads
 * everything.  Taken again after a rebalance, a partition resumes from
 * the group's commits.
 *
 * An explicit offset that retention has already deleted is moved to the
 * log's start with a warning that counts the records lost, instead of
 * librdkafka's silent auto.offset.reset.
 */
#ifndef PN_START_H
#define PN_START_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "pn_commit.h"

enum pn_start_kind {
	PN_START_DEFAULT, PN_START_BEGINNING, PN_START_END, PN_START_STORED, PN_START_OFFSET,
	PN_START_TAIL, PN_START_TIME
};

struct pn_start {
	enum pn_start_kind kind;	/* -o */
	int64_t value;		/* offset, count from the end, or time in ms */
	const char *file;	/* --start-offsets, already loaded, or NULL */
	int group;		/* reading for a consumer group */
};

/* Takes -o's argument: beginning, end, stored, N, -N, @TIME or s@TIME.
 * 0, or -1 with *why ("bad offset") to be followed by the argument. */
int pn_start_parse(struct pn_start *s, const char *arg, const char **why);

/* The start of a partition the file does not name: an offset or one of
 * librdkafka's logical ones; for PN_START_TIME the time, to be resolved. */
int64_t pn_start_default(const struct pn_start *s);

/*
 * Sets the offset of each partition of list taken for the first time
 * (marking it started in c), without asking Kafka: those to be found by
 * time are added to by_time (offset: the time) instead.  The others keep
 * the offset they have, RD_KAFKA_OFFSET_INVALID in an assignment: the
 * group's commits.
 */
void pn_start_plan(const struct pn_start *s, struct pn_commit *c,
		   rd_kafka_topic_partition_list_t *list, rd_kafka_topic_partition_list_t *by_time);

/* pn_start_plan, then the offsets checked against the log and the times
 * resolved by rk: 0, or the exit status after reporting. */
int pn_start_set(rd_kafka_t *rk, const struct pn_start *s, struct pn_commit *c,
		 rd_kafka_topic_partition_list_t *list);

/*
 * Warnings for partitions of the start-offsets file that will not be read,
 * which would otherwise pass in silence: not in list (the partitions
 * assigned without a group), or of a topic not among topics (a group's
 * subscription: its partitions come and go, a topic not subscribed never).
 */
void pn_start_warn_unassigned(struct pn_commit *c, const rd_kafka_topic_partition_list_t *list);
void pn_start_warn_unsubscribed(struct pn_commit *c, char *const *topics, int ntopics);

#endif
