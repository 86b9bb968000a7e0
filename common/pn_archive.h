/*
 * pn_archive — the archive of pn-archive: zstd-compressed NDJSON objects on
 * a directory or S3, partitioned for Athena, each with a manifest; the
 * writer that makes it, and cat and verify that read it back.
 *
 * Layout, under the root (a directory, or s3://bucket/prefix):
 *     topic=pings/dt=2026-11-01/hour=13/pings+0+0000001000.ndjson.zst
 *     topic=pings/dt=2026-11-01/hour=13/_pings+0+0000001000.manifest.json
 * The directories come from the --partition-by pattern ({topic},
 * {partition}, {field} for a top-level field of the record, and strftime(3)
 * conversions over the record's time, UTC).  A record without a time (the
 * field missing or null) is taken only when the pattern has no conversion;
 * such records go to objects of their own, whose manifests have no time.
 * A data object holds whole NDJSON lines, the records as they came, byte
 * for byte, as one or more zstd frames, each with its content checksum:
 * one frame while the writer has at most two objects open; once more are
 * open, every open object ends its frame and goes on as a frame per 128 KB
 * of records from one shared compressor.  zstd reads the frames as one
 * stream.  Its name is <topic>+<partition>+<first offset> when the records
 * carry _topic, _partition and _offset (as the Confluent S3 sink names
 * them), so a re-run over the same records writes the same objects again
 * instead of new ones.  The manifest (pn_manifest.h) says what the object
 * holds, with the XXH64 of its compressed bytes (what xxhsum prints;
 * FNV-1a 64 in archives written before, which are still read).  Names
 * that start with '_' or '.' are what Athena/Hive skip, so the table sees
 * data only.
 *
 * Objects are written through pn_store, whole or not at all; the data
 * object before its manifest.  Reading goes through the catalog
 * (pn_catalog.h) and one object reader per stream (pn_objreader.h).
 *
 * Every function that fails has already said why on stderr (naming the
 * object) and returns the exit status of pn_err.h.
 */
#ifndef PN_ARCHIVE_H
#define PN_ARCHIVE_H

#include <stdint.h>
#include <stdio.h>

#include "pn_buf.h"
#include "pn_catalog.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_manifest.h"
#include "pn_store.h"

#define PN_ARCHIVE_DEFAULT_PATTERN "topic={topic}/dt=%Y-%m-%d/hour=%H"
/* What a {field} that is missing, null or "" expands to: Hive's name for
 * the partition of NULLs, which Athena reads as NULL. */
#define PN_ARCHIVE_NULL_PARTITION "__HIVE_DEFAULT_PARTITION__"

/* The time the archive files a record by: its member `field`, an epoch
 * time in s or ms (a number) or an ISO 8601 string, as pn_event_time()
 * reads them, and not before 1970.  0; 1 with *why when the record has no
 * time (the member is missing or null); -1 with *why when it is not a
 * time. */
int pn_archive_record_time(const struct pn_json *j, const char *field, struct pn_buf *scratch,
			   int64_t *ms, const char **why);

/* Writing. */
struct pn_writer_opts {
	const char *pattern;
	const char *time_field;
	const char *topic;	/* for records without _topic */
	uint64_t max_bytes, max_records;
	int64_t max_age_ms;
	int max_open;
	int level;
};

struct pn_writer_counts {
	uint64_t records, duplicates, objects, raw_bytes, bytes;
	uint64_t missing_field;	/* records filed without one of the {field}s */
};

struct pn_writer;

/* 0 if a --partition-by pattern is relative, has no ".." segment, and
 * its braces are placeholders: {topic}, {partition} or {NAME}, a field
 * (NAME without '/', '%', a brace or a control character); -1 with *why
 * otherwise.  Each expansion is checked again as it is made. */
int pn_archive_pattern_check(const char *pattern, const char **why);

struct pn_writer *pn_writer_new(struct pn_store *st, const struct pn_writer_opts *o);
/*
 * Adds one record (the parsed line j, without its '\n').  0 done (or a
 * duplicate of an offset already written: skipped, and counted in
 * duplicates), -1 bad record (*why), else an exit status from the store or
 * the compressor.
 */
int pn_writer_add(struct pn_writer *w, const struct pn_json *j, const char *line, size_t len,
		  const char **why);
/* Closes objects older than max_age; 0 or an exit status. */
int pn_writer_tick(struct pn_writer *w);
/* Closes every open object; 0 or an exit status. */
int pn_writer_finish(struct pn_writer *w);
const struct pn_writer_counts *pn_writer_counts(const struct pn_writer *w);
/* After pn_writer_add(): the name of a {field} the record lacked, the first
 * time a record lacks it, one per call until NULL (once per field, so the
 * caller can say where). */
const char *pn_writer_missing_next(struct pn_writer *w);
/* Frees it, removing the temp files of objects still open. */
void pn_writer_free(struct pn_writer *w);

/* What cat, ls and verify went through. */
struct pn_read_counts {
	uint64_t records, objects, duplicates;	/* duplicates: skipped by cat */
	uint64_t damaged, gaps, overlaps;	/* found by verify */
};

/* The order of cat's records. */
enum pn_archive_order {
	PN_ARCHIVE_ORDER_TIME,		/* each topic-partition in offset order,
					 * the partitions merged by time */
	PN_ARCHIVE_ORDER_OFFSET,	/* the catalog's: topic, partition, offset,
					 * objects streamed whole where they can be */
};

/* cat: the records of the catalog's objects, in the order asked for.  A
 * record without a time goes out after the one before it in its
 * topic-partition, as if it had its time. */
int pn_archive_cat(struct pn_store *st, const struct pn_catalog *c,
		   const struct pn_archive_filter *f, enum pn_archive_order order,
		   struct pn_out *out, struct pn_read_counts *counts);

/* verify: one NDJSON verdict per object and per gap or overlap on out.
 * 0 all good, 1 gaps or overlaps, 65 a damaged or missing object. */
int pn_archive_verify(struct pn_store *st, const struct pn_catalog *c, struct pn_out *out,
		      struct pn_read_counts *counts);

#endif
