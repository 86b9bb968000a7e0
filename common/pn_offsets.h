/*
 * pn_offsets — a table of Kafka topic-partitions and their offsets.
 *
 * Programs that track progress per topic-partition (pn-consume's commit
 * bookkeeping, the checkpoints of pn-aggregate and pn-sink-pg, the
 * archive's catalog) keep one pn_part per topic-partition here.  A program
 * that keeps more per partition makes the entries larger, its own struct
 * with the pn_part first (pn_offsets_init_entries): one lookup finds both.
 * Nothing here talks to Kafka.
 *
 * The file format shared between programs, what `pn-consume
 * --start-offsets FILE` reads, is JSON mapping topic → partition → next
 * offset to read:
 *
 *     {"pushnotification-ping": {"0": 1234, "1": 998}}
 *
 * Offsets are "next to read", as Kafka commits them: one past the last
 * record applied.
 */
#ifndef PN_OFFSETS_H
#define PN_OFFSETS_H

#include <stddef.h>
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

/* What every program keeps of a topic-partition: where it starts and the
 * next offsets of its stages (pn-consume and pn-sink-pg both hand records
 * on before they are written out). */
struct pn_part {
	const char *topic;	/* owned by the table */
	int32_t partition;
	int64_t start;		/* next offset to read from a start file, or -1 */
	int64_t appended;	/* one past the last record handed to the output, or -1 */
	int64_t flushed;	/* one past the last record written out, or -1 */
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
	size_t entry_size;	/* sizeof(struct pn_part), or a program's larger entry */
	void (*entry_init)(struct pn_part *);	/* its fields beyond the pn_part, or NULL */
};

void pn_offsets_init(struct pn_offsets *t);
/*
 * The same for entries of `size` bytes, a program's struct whose first
 * member is the pn_part: init (may be NULL) sets its own fields of each
 * new entry, which are zero before.
 */
void pn_offsets_init_entries(struct pn_offsets *t, size_t size, void (*init)(struct pn_part *));
/* Frees the entries; the table is empty again, for entries of the same size. */
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
