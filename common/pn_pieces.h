/*
 * pn_pieces — a checkpoint kept as one piece per input topic-partition,
 * each piece owned by one writer at a time, in a directory or in S3.
 *
 * The names, under the directory or the S3 prefix (s3://BUCKET/PREFIX/,
 * through pn_store with the AWS_* settings of pn_s3):
 *
 *     TOPIC/PARTITION.ckpt    the piece: a checkpoint of that partition's
 *                             groups and the next offset to apply
 *     TOPIC/PARTITION.next    that offset as text, written after the
 *                             piece, so that readers of the offsets (pn-
 *                             consume, every second) need not read pieces;
 *                             an older one only makes them commit less
 *     TOPIC/PARTITION.owner   "EPOCH HOST PID": the current owner's epoch
 *     TOPIC/PARTITION.sunk    the offset up to which the sink wrote the
 *                             partition's rows (pn-sink-pg --ack-to)
 *
 * Ownership is fencing by epoch.  A writer that takes a partition (the
 * consumer group gave it to its pn-consume) claims it: it adds one to the
 * epoch and keeps the new value.  Every later write of the piece, and
 * every emission of its groups, first checks that the epoch is still its
 * own.  A writer that lost the partition while it was paused (a "zombie":
 * stopped, its session expired, the group moved the partition) finds a
 * newer epoch when it wakes and drops the partition instead of writing
 * over its new owner's state.  In a directory the claim and the check
 * hold an exclusive flock(2) on the owner file until the write is done
 * (one machine, or a shared file system that honours it, NFSv4).  S3 has
 * no lock: the owner file is checked just before each write, and a writer
 * that lost its partition in the moment between can still put one piece.
 * Two claims at the same moment write the same epoch; the owner file also
 * names the claimant's host and pid, and the one whose text S3 did not
 * keep is fenced at its first check.
 * Every piece is a whole state with its own offset, so whichever is the
 * last one, the next owner resumes from a consistent state.
 *
 * Functions that fail have said why on stderr and return the exit status
 * of pn_err.h.
 */
#ifndef PN_PIECES_H
#define PN_PIECES_H

#include <stdint.h>

#include "pn_buf.h"
#include "pn_offsets.h"

struct pn_store;

struct pn_pieces {
	char *dir;		/* the directory, or the s3:// URL */
	struct pn_store *s3;	/* set: the pieces are in S3 */
	struct pn_buf path;	/* scratch: the path of a file, or an S3 name */
};

/* Does path name a store of pieces: s3://..., an existing directory, or a
 * name ending in '/'?  Anything else is a single checkpoint file. */
int pn_pieces_is_store(const char *path);

/* Opens the store: a directory, created when create is set, or s3://
 * BUCKET/PREFIX, whose bucket must then answer. */
int pn_pieces_open(struct pn_pieces *s, const char *dir, int create);
void pn_pieces_close(struct pn_pieces *s);

/* The path of a partition's piece (a directory), or its URL (S3), valid
 * until the next call. */
const char *pn_pieces_path(struct pn_pieces *s, const char *topic, int32_t partition);

/* Reads a partition's piece into out: 1, 0 when it has none, or minus an
 * exit status after reporting. */
int pn_pieces_get(struct pn_pieces *s, const char *topic, int32_t partition,
		  struct pn_buf *out);
/* Writes a partition's piece (whole or not at all), whose next offset to
 * apply is next: 0, or an exit status after reporting. */
int pn_pieces_put(struct pn_pieces *s, const char *topic, int32_t partition,
		  const struct pn_buf *piece, int64_t next);

/*
 * Takes a partition: its epoch goes one up and is returned in *epoch.
 * Whoever held it before is fenced from then on.
 */
int pn_pieces_claim(struct pn_pieces *s, const char *topic, int32_t partition,
		    uint64_t *epoch);

/*
 * Locks a partition for a write by the owner of epoch, this process: 0
 * with *lock set (release it with pn_pieces_unlock), 1 when another owner
 * has claimed it (fenced: nothing is locked), or an exit status.
 */
int pn_pieces_lock(struct pn_pieces *s, const char *topic, int32_t partition, uint64_t epoch,
		   int *lock);
/* The same without waiting, for another process than the owner (in S3 it
 * compares the epoch alone): PN_PIECES_BUSY when another process holds the
 * lock now.  pn-sink-pg's, whose own pn-aggregate may hold it while it
 * writes into the pipe the sink would no longer read. */
enum { PN_PIECES_BUSY = 2 };
int pn_pieces_trylock(struct pn_pieces *s, const char *topic, int32_t partition,
		      uint64_t epoch, int *lock);
void pn_pieces_unlock(int lock);

/*
 * The sink's word that it has written every row of a partition up to
 * next (TOPIC/PARTITION.sunk): pn-sink-pg --ack-to writes it when a
 * revocation passes through it, pn-consume --wait-for-sink reads it before
 * it lets the partition go, so the next owner's rows never reach the table
 * before the last owner's.  Write: 0 or an exit status; read: the offset,
 * -1 when there is none, or -2 after reporting an error.
 */
int pn_pieces_ack(struct pn_pieces *s, const char *topic, int32_t partition, int64_t next);
int64_t pn_pieces_acked(struct pn_pieces *s, const char *topic, int32_t partition);

/* Reads the next offset to apply of every piece (its .next) into the
 * entries' `flushed` of t: 0, or -1 after reporting. */
int pn_pieces_offsets(struct pn_pieces *s, struct pn_offsets *t);

#endif
