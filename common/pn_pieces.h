/*
 * pn_pieces — a checkpoint kept as one piece per input topic-partition in
 * a directory, each piece owned by one writer at a time.
 *
 * The layout under the directory, one subdirectory per topic:
 *
 *     TOPIC/PARTITION.ckpt    the piece: a checkpoint of that partition's
 *                             groups and the next offset to apply
 *     TOPIC/PARTITION.owner   the owner's epoch, 8 bytes, and who it is
 *
 * Ownership is fencing by epoch.  A writer that takes a partition (the
 * consumer group gave it to its pn-consume) claims it: under an exclusive
 * lock on the owner file it adds one to the epoch and keeps the new value.
 * Every later write of the piece, and every emission of its groups, takes
 * the same lock and goes ahead only while the epoch is still its own.  A
 * writer that lost the partition while it was paused (a "zombie": stopped,
 * its session expired, the group moved the partition) finds a newer epoch
 * when it wakes and drops the partition instead of writing over its new
 * owner's state.  The lock is flock(2): a directory on one machine, or on
 * a file system shared by several that honours it (NFSv4).
 *
 * Functions that fail have said why on stderr and return the exit status
 * of pn_err.h.
 */
#ifndef PN_PIECES_H
#define PN_PIECES_H

#include <stdint.h>

#include "pn_buf.h"
#include "pn_offsets.h"

/* What a reader last saw of a piece: it is read again only once replaced. */
struct pn_piece_seen {
	char *topic;
	int32_t partition;
	uint64_t ino, mtime_ns, size;
	int64_t next;		/* the next offset to apply it held */
};

struct pn_pieces {
	char *dir;
	struct pn_buf path;	/* scratch: the path of a piece or owner file */
	struct pn_piece_seen *seen;
	int nseen;
};

/* Is path a piece directory: an existing directory, or a name ending in
 * '/'?  Anything else is a single checkpoint file. */
int pn_pieces_is_dir(const char *path);

/* Opens the directory, creating it when create is set. */
int pn_pieces_open(struct pn_pieces *s, const char *dir, int create);
void pn_pieces_close(struct pn_pieces *s);

/* The path of a partition's piece, valid until the next call. */
const char *pn_pieces_path(struct pn_pieces *s, const char *topic, int32_t partition);

/*
 * Takes a partition: its epoch goes one up and is returned in *epoch.
 * Whoever held it before is fenced from then on.
 */
int pn_pieces_claim(struct pn_pieces *s, const char *topic, int32_t partition,
		    uint64_t *epoch);

/*
 * Locks a partition for a write by the owner of epoch: 0 with *lock set
 * (release it with pn_pieces_unlock), 1 when a newer owner has claimed it
 * (fenced: nothing is locked), or an exit status.
 */
int pn_pieces_lock(struct pn_pieces *s, const char *topic, int32_t partition, uint64_t epoch,
		   int *lock);
void pn_pieces_unlock(int lock);

/*
 * Reads the next offset to apply of every piece into the entries'
 * `flushed` of t: 0, or -1 after reporting an unreadable piece.  A piece
 * is read only when it was replaced since the last call: a reader asking
 * every second does not read a large state every second.
 */
int pn_pieces_offsets(struct pn_pieces *s, struct pn_offsets *t);

#endif
