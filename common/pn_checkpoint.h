/*
 * pn_checkpoint — pn-aggregate's checkpoint: the state of a pn_agg and
 * the offsets it has applied, in one file.
 *
 * The checkpoint is a binary file: a fingerprint of the query, the next
 * offset of every topic-partition applied, and every group's state, with
 * a checksum.  It is replaced atomically, after the emission that made
 * its changes visible, so a crash at any point redoes work but never
 * loses or doubles it.
 *
 * Its offsets can be read without the query that made it (pn-consume
 * starts from them), so this header does not bring in the aggregation.
 */
#ifndef PN_CHECKPOINT_H
#define PN_CHECKPOINT_H

#include "pn_buf.h"
#include "pn_offsets.h"

struct pn_agg;

/* Writes the checkpoint to path atomically; 0, or -1 after reporting. */
int pn_checkpoint_save(struct pn_agg *a, const char *path);
/*
 * Loads a checkpoint: 1 loaded, 0 no such file, -1 refused after reporting
 * (corrupt, or made by another query: the fingerprints differ).
 */
int pn_checkpoint_load(struct pn_agg *a, const char *path);
/* The checkpoint of a, appended to b: what pn_checkpoint_save writes. */
void pn_checkpoint_encode(struct pn_agg *a, struct pn_buf *b);
/* Loads a checkpoint held in b (name is for messages): 1, or -1 refused
 * after reporting, as pn_checkpoint_load. */
int pn_checkpoint_decode(struct pn_agg *a, const char *name, const struct pn_buf *b);
/* Reads the offsets of a checkpoint (any query's) into the entries'
 * `flushed` of t: 1, 0 no such file, -1 unreadable (reported). */
int pn_checkpoint_load_offsets(const char *path, struct pn_offsets *t);
/* Writes the offsets of a checkpoint as pn-consume's --start-offsets JSON. */
int pn_checkpoint_print_offsets(const char *path, struct pn_buf *out);

#endif
