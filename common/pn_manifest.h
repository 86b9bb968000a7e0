/*
 * pn_manifest — what one data object of a pn-archive archive holds, and
 * the names that tie the two together.
 *
 * A data object <topic>+<partition>+<first offset>.ndjson.zst has beside
 * it a manifest _<topic>+<partition>+<first offset>.manifest.json (one JSON
 * object): records, first and last offset, earliest and latest time, raw
 * and compressed bytes (the times null for an object of records without
 * one), and the hash of the compressed bytes as 16 hex
 * digits: "xxh64", XXH64 with seed 0, what xxhsum prints; or, in archives
 * written before, "fnv1a64", FNV-1a 64 (pn_hash64), which is still read
 * and written back as it came.  The leading '_' is what Athena/Hive skip,
 * so a table over the archive sees data only.  pn_manifest_to_json()
 * writes what pn_manifest_parse() reads back.
 */
#ifndef PN_MANIFEST_H
#define PN_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "pn_buf.h"

#define PN_MANIFEST_OBJECT_SUFFIX ".ndjson.zst"
#define PN_MANIFEST_SUFFIX ".manifest.json"

/* What a manifest says about its object. */
struct pn_manifest {
	char *object;		/* relative to the root */
	char *topic;
	char *time_field;
	int32_t partition;	/* -1: the records had no coordinates */
	int64_t first_offset, last_offset;	/* -1: none */
	int64_t min_time, max_time;	/* ms since the epoch; -1 (null): the
					 * records have no time */
	uint64_t records, raw_bytes, bytes, hash;
	int hash_fnv;		/* hash is FNV-1a 64 (archives written before
				 * XXH64), not XXH64 */
};

void pn_manifest_to_json(const struct pn_manifest *m, struct pn_buf *out);
/* Parses a manifest's text (its object is left NULL); 0, or -1 with the
 * reason in why: jansson's, with its position, for a text that is not
 * JSON; else the member at fault.  Release m either way. */
int pn_manifest_parse(const char *text, size_t len, struct pn_manifest *m, struct pn_buf *why);
void pn_manifest_release(struct pn_manifest *m);
/* The manifest's name for a data object's. */
void pn_manifest_name(const char *object, struct pn_buf *out);
/* The topic, partition and first offset in a data object's Confluent
 * name (topic+partition+offset.ndjson.zst); 0, or -1 for another name. */
int pn_manifest_coords(const char *object, struct pn_buf *topic, int32_t *partition,
		       int64_t *first);

#endif
