/*
 * pn_offsets — a table of Kafka topic-partitions and their offsets.
 *
 * Programs that track progress per topic-partition (pn-consume's commit
 * bookkeeping, later the checkpoints of pn-aggregate and pn-sink-pg) keep
 * one pn_part per topic-partition here.  Nothing here talks to Kafka.
 * The file format shared between
 * programs, what `pn-consume --start-offsets FILE` reads, is JSON mapping
 * topic → partition → next offset to read:
 *
 *     {"pushnotification-ping": {"0": 1234, "1": 998}}
 *
 * Offsets are "next to read", as Kafka commits them: one past the last
 * record applied.
 */
#ifndef PN_OFFSETS_H
#define PN_OFFSETS_H

#include <stdint.h>

#include "pn_buf.h"

/*
 * The highest partition number a table takes.  Entries live in an array
 * indexed by partition, so a number that comes from outside data (a
 * record's _partition, a checkpoint, a start-offsets file, an archive's
 * manifest or object name) is checked against this before it becomes an
 * entry: 2147483647 would have asked for 16 GB.  Kafka clusters hold a
 * few hundred thousand partitions in all.
 */
#define PN_PARTITION_MAX 1048575

struct pn_part {
	const char *topic;	/* owned by the table */
	int32_t partition;
	int64_t start;		/* next offset to read from a start file, or -1 */
	int64_t appended;	/* one past the last record handed to the output, or -1 */
	int64_t flushed;	/* one past the last record written out, or -1 */
	int64_t committed;	/* last offset committed, or -1 */
	unsigned assigned : 1;	/* currently assigned to us */
	unsigned started : 1;	/* its start position was applied once */
	unsigned at_end : 1;	/* reached the end of the partition */
	unsigned done : 1;	/* reached --until: no more records wanted */
};

struct pn_topic_parts {
	char *name;
	const void *handle;	/* pn_offsets_bind: for the lookup per record */
	struct pn_part **by_partition;
	int32_t cap;
};

struct pn_offsets {
	struct pn_topic_parts *topics;
	int ntopics;
};

void pn_offsets_init(struct pn_offsets *t);
void pn_offsets_release(struct pn_offsets *t);

/* The entry for topic/partition (0 to PN_PARTITION_MAX), created (all
 * offsets -1) when new. */
struct pn_part *pn_offsets_get(struct pn_offsets *t, const char *topic, int32_t partition);
/*
 * The same by a handle bound to the topic with pn_offsets_bind (a Kafka
 * message's topic handle): no string comparison per record.  NULL when no
 * topic is bound to handle.
 */
struct pn_part *pn_offsets_get_bound(struct pn_offsets *t, const void *handle,
				     int32_t partition);
/* Binds handle to topic (made when new), in place of the topic's last one. */
void pn_offsets_bind(struct pn_offsets *t, const char *topic, const void *handle);
/* The entry if it exists, else NULL. */
struct pn_part *pn_offsets_find(const struct pn_offsets *t, const char *topic,
				int32_t partition);

/* Calls fn for every entry. */
void pn_offsets_each(struct pn_offsets *t, void (*fn)(struct pn_part *, void *), void *arg);

/*
 * Reads a start-offsets file into the entries' `start`.  Returns 0, or -1
 * after reporting what is wrong with the file.
 */
int pn_offsets_load_start(struct pn_offsets *t, const char *path);

/* Appends the entries that have a `flushed` offset as a start-offsets
 * file: {"topic":{"0":1234}} and a newline. */
void pn_offsets_write_json(const struct pn_offsets *t, struct pn_buf *out);

#endif
