/*
 * pn_catalog — the objects of an archive and their manifests, as cat, ls,
 * verify and offsets of pn-archive read them: one listing of the store,
 * then each manifest fetched and parsed (pn_manifest.h).
 *
 * Every object is accounted for: one with a good manifest that the filter
 * selects is in m[], sorted by topic, partition and first offset (or
 * time); a data object without a manifest, a manifest without its object
 * and a data object whose manifest is damaged each have a list of their
 * own, for the caller to report.  Names that start with '.' (temp files
 * of writes under way) are not objects.
 */
#ifndef PN_CATALOG_H
#define PN_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "pn_buf.h"
#include "pn_manifest.h"
#include "pn_store.h"

/* The records to read back. */
struct pn_archive_filter {
	const char *topic;	/* NULL: all */
	int32_t partition;	/* -1: all */
	int64_t from, to;	/* time range [from, to) */
};

/* Whether f asks for every time (no --from, no --to): only then are the
 * records without a time selected, which no time range holds. */
static inline int pn_archive_filter_all_times(const struct pn_archive_filter *f)
{
	return f->from == INT64_MIN && f->to == INT64_MAX;
}

/* The objects of an archive and their manifests, sorted by topic,
 * partition, first offset (or time). */
struct pn_catalog {
	struct pn_manifest *m;	/* objects with a manifest, filtered */
	size_t n;
	char **no_manifest;	/* data objects without one */
	size_t n_no_manifest;
	char **orphans;		/* manifests without their object */
	size_t n_orphans;
	char **bad;		/* data objects whose manifest is damaged */
	char **bad_why;		/* ... and what is wrong with it */
	size_t n_bad;
};

/* 0, or the store's exit status; release c either way. */
int pn_catalog_load(struct pn_store *st, const struct pn_archive_filter *f,
		    struct pn_catalog *c);
void pn_catalog_release(struct pn_catalog *c);
/*
 * Appends where a writer of this archive resumes, as pn-consume
 * --start-offsets JSON: for each topic-partition, one past the end of the
 * run of offsets its objects cover without a gap from its first object.
 * An object lost to a crash is therefore written again, and one beyond
 * it is rewritten under its own name.
 */
void pn_catalog_offsets(const struct pn_catalog *c, struct pn_buf *out);

#endif
