/*
 * pn_agg_entry — how pn_agg keeps a group's state: the layout of an entry
 * in its flat array and of the values some aggregates hang off a slot.
 * Only pn_agg.c and pn_checkpoint.c (which writes and reads entries as
 * they are) include this; everything else goes through pn_agg.h.
 */
#ifndef PN_AGG_ENTRY_H
#define PN_AGG_ENTRY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pn_agg.h"

struct pn_agg_entry {
	uint64_t hash;
	int64_t win_start;	/* the window's start, with --window */
	int64_t last_time;	/* the latest event time applied, for --ttl */
	int64_t changed_at;	/* the offset of the last record that changed it,
				 * -1 unknown: what a new owner emits again */
	uint32_t key_off;
	uint32_t key_len;
	uint32_t dirty_next;	/* entry number + 1 of the next changed one */
	uint32_t flags;		/* bit 0: changed; per aggregate i, bits 1+2i (has a
				 * value) and 2+2i (the value is a double) */
	int64_t slot[];		/* pn_query's nslots */
};

/* The flags of aggregate i: it has a value; the value is a double. */
#define PN_AGG_HAS(i) (1u << (1 + 2 * (i)))
#define PN_AGG_FLOAT(i) (1u << (2 + 2 * (i)))

static inline struct pn_agg_entry *pn_agg_entry_at(const struct pn_agg *a, size_t n)
{
	return (struct pn_agg_entry *)(a->entries + n * a->stride);
}

/* The entry of a group key, created empty when new. */
struct pn_agg_entry *pn_agg_entry_get(struct pn_agg *a, const char *key, size_t len);

/* What pn_agg.c keeps and pn_agg_emit.c (the changelog) uses too: frees
 * the values an entry's slots point to; makes the index anew, of mask + 1
 * buckets; puts an entry on the list of changed ones; tells whether a
 * group is past --ttl at the stream time. */
void pn_agg_free_slots(struct pn_agg *a, struct pn_agg_entry *e);
void pn_agg_reindex(struct pn_agg *a, size_t mask);
void pn_agg_mark_changed(struct pn_agg *a, struct pn_agg_entry *e);
int pn_agg_ttl_over(const struct pn_agg *a, const struct pn_agg_entry *e);

/* A slot that holds a double's bits. */
static inline double pn_agg_slot_double(int64_t s)
{
	double d;

	memcpy(&d, &s, sizeof(d));
	return d;
}

/* A set of distinct values (canonical JSON texts) for --count-distinct,
 * its slot a pointer to one (NULL while empty). */
struct pn_agg_strset {
	uint32_t n, mask;
	struct { uint64_t hash; char *s; uint32_t len; } *items;
};

/* Adds a value to *setp, made when NULL: 1 new, 0 already there. */
int pn_agg_strset_add(struct pn_agg_strset **setp, const char *s, size_t len);

/* The last value of --latest: its canonical JSON text, its slot a
 * pointer to one (NULL: none yet). */
struct pn_agg_latest {
	uint32_t len;
	char text[];
};

void pn_agg_latest_set(int64_t *slot, const char *text, size_t len);

#endif
