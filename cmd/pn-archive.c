/*
 * pn-archive — the archive of a Kafka stream on a directory or S3, and the
 * way back from it.
 *
 * `write DEST` reads NDJSON records (pn-consume --meta) and stores them as
 * zstd-compressed NDJSON objects partitioned by topic and time, the way
 * Athena/Hive discover partitions, each object written atomically beside
 * a manifest; objects are named by topic, partition and first offset, so
 * a re-run rewrites the same objects; control records are left out,
 * counted.  `cat SRC` streams the records back
 * in time and offset order, or with --order offset a topic-partition at a
 * time, objects whole, for pn-produce (a replay) or pn-aggregate (a
 * backfill); `ls` lists the objects and `verify` checks them all: sizes,
 * checksums, record counts, and gaps or overlaps in the offsets.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pn_archive.h"
#include "pn_err.h"
#include "pn_input.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_opt.h"
#include "pn_signal.h"
#include "pn_stats.h"
#include "pn_version.h"

static const char usage_text[] =
	"usage: pn-archive write [--partition-by PATTERN] [--time-field F] [-t TOPIC]\n"
	"                  [--max-bytes SIZE] [--max-records N] [--max-age D] [--max-open N]\n"
	"                  [-l LEVEL] [--reject FILE] [S3 options] [--stats]\n"
	"                  [--stats-interval D] [--metrics FILE] [-qv] DEST [FILE ...]\n"
	"       pn-archive cat|ls|verify|offsets [--from T] [--to T] [-t TOPIC] [-p N]\n"
	"                  [--order time|offset] [S3 options] [--stats] [-qv] SRC\n"
	"  S3 options: [--endpoint URL] [--region R] [--retries N] [--part-size SIZE]\n";

enum cmd { CMD_WRITE, CMD_CAT, CMD_LS, CMD_VERIFY, CMD_OFFSETS };
static const char *const command_names[] = { "write", "cat", "ls", "verify", "offsets" };

struct opts {
	enum cmd cmd;
	const char *where;		/* DEST or SRC */
	struct pn_store_opts store;
	struct pn_writer_opts w;
	struct pn_archive_filter f;
	enum pn_archive_order order;
	const char *reject_path;
	struct pn_stats_opts stats;
	char **inputs;
	int ninputs;
};

enum { OUT_THRESHOLD = 256 * 1024 };

static const struct pn_opt_text help_text = {
	.usage = usage_text,
	.about = "Write NDJSON records to a zstd NDJSON archive on a directory or S3, and\n"
		 "read them back.\n\n"
		 "  write DEST                  store the records of FILEs (or stdin) under DEST\n"
		 "  cat SRC                     the records back, in time and offset order\n"
		 "                              (--order offset: a partition at a time)\n"
		 "  ls SRC                      the objects' manifests, one JSON line each\n"
		 "  verify SRC                  check every object; one verdict line each\n"
		 "  offsets SRC                 where to resume: pn-consume --start-offsets JSON\n"
		 "DEST and SRC: a directory, file://DIR or s3://BUCKET[/PREFIX].\n",
	.epilog = "Exit status: 0 done, 1 verify found gaps or overlaps, 64 usage, 65 bad input\n"
		  "or a damaged object, 69 S3 unavailable, 74 I/O error, 78 bad configuration.\n",
};

static void take_partition_by(const struct pn_opt *opt, const char *arg)
{
	const char *why;

	if (!*arg)
		pn_usage_error(usage_text, "empty --partition-by");
	if (pn_archive_pattern_check(arg, &why))
		pn_usage_error(usage_text, "bad --partition-by '%s': %s", arg, why);
	*(const char **)opt->dest = arg;
}

static void take_order(const struct pn_opt *opt, const char *arg)
{
	if (!strcmp(arg, "time"))
		*(enum pn_archive_order *)opt->dest = PN_ARCHIVE_ORDER_TIME;
	else if (!strcmp(arg, "offset"))
		*(enum pn_archive_order *)opt->dest = PN_ARCHIVE_ORDER_OFFSET;
	else
		pn_usage_error(usage_text, "bad --order '%s': time or offset", arg);
}

/* The command among argv[1]; -h and -V before it (only they make sense there). */
static enum cmd parse_command(int argc, char **argv, const struct pn_opt *options)
{
	int c;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		pn_opt_help(options, &help_text);
		exit(PN_EX_OK);
	}
	if (argc > 1 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		pn_print_version();
		exit(PN_EX_OK);
	}
	if (argc < 2)
		pn_usage_error(usage_text, "no command given (write, cat, ls, verify or offsets)");
	for (c = 0; c < 5 && strcmp(argv[1], command_names[c]); c++)
		;
	if (c == 5)
		pn_usage_error(usage_text, "unknown command '%s'", argv[1]);
	return (enum cmd)c;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	/* the last option given that only write takes, or that it does not,
	 * or that only cat takes */
	const struct pn_opt *write_only = NULL, *read_only = NULL, *cat_only = NULL;
	const struct pn_opt options[] = {
		PN_OPT_CALLBACK(0, "partition-by", "PAT", "object directories (default '"
				PN_ARCHIVE_DEFAULT_PATTERN "'): {topic}, {partition}, {FIELD} "
				"(a top-level field), strftime(3) over the time, UTC",
				take_partition_by, &o->w.pattern, 0, .seen = &write_only),
		PN_OPT_STRING(0, "time-field", "F", "the record's time: epoch s or ms, ISO 8601 "
			      "(default _timestamp)", &o->w.time_field, .min = 1,
			      .seen = &write_only),
		PN_OPT_STRING('t', "topic", "TOPIC", "write: the topic of records without _topic; "
			      "cat/ls/verify: only this topic", &o->w.topic),
		PN_OPT_INT('p', "partition", "N", "cat/ls/verify: only this partition",
			   &o->f.partition, 0, INT32_MAX, .seen = &read_only),
		PN_OPT_TIME(0, "from", "T", "cat/ls: records with time at or after T", &o->f.from,
			    .seen = &read_only),
		PN_OPT_TIME(0, "to", "T", "cat/ls: records with time before T", &o->f.to,
			    .seen = &read_only),
		PN_OPT_CALLBACK(0, "order", "ORDER", "cat: time (default: partitions merged by "
				"time) or offset (a partition at a time, objects whole)",
				take_order, &o->order, 0, .seen = &cat_only),
		PN_OPT_SIZE(0, "max-bytes", "SIZE", "rotate objects at this many raw bytes "
			    "(default 128M)", &o->w.max_bytes, 1, .seen = &write_only),
		PN_OPT_INT(0, "max-records", "N", "rotate objects at N records (default 1000000)",
			   &o->w.max_records, 1, INT64_MAX, .seen = &write_only),
		PN_OPT_DURATION(0, "max-age", "D", "close objects open longer than D (default: "
				"never)", &o->w.max_age_ms, 1, .seen = &write_only),
		PN_OPT_INT(0, "max-open", "N", "objects open at a time (default 64)",
			   &o->w.max_open, 1, 100000, .seen = &write_only),
		PN_OPT_INT('l', "level", "N", "zstd level (default 3)", &o->w.level, 1, 19,
			   .bad = "bad --level '%s': 1 to 19", .seen = &write_only),
		PN_OPT_REJECT(&o->reject_path, "bad lines", .seen = &write_only),
		PN_OPT_STRING(0, "endpoint", "URL", "S3 endpoint (default $AWS_ENDPOINT_URL_S3 or "
			      "$AWS_ENDPOINT_URL, else AWS); path-style addressing",
			      &o->store.endpoint),
		PN_OPT_STRING(0, "region", "R", "S3 region (default $AWS_REGION, else us-east-1)",
			      &o->store.region),
		PN_OPT_INT(0, "retries", "N", "S3 retries of a failed request (default 5)",
			   &o->store.retries, 0, 100),
		PN_OPT_SIZE(0, "part-size", "SIZE", "S3 multipart part size (default 16M, at "
			    "least 5M)", &o->store.part_size, 5 << 20, .seen = &write_only),
		PN_OPT_STATS(&o->stats, .seen = &write_only),
		PN_OPT_COMMON,
		PN_OPT_END,
	};
	int first;

	memset(o, 0, sizeof(*o));
	o->store.retries = 5;
	o->store.part_size = 16 << 20;
	o->w.pattern = PN_ARCHIVE_DEFAULT_PATTERN;
	o->w.time_field = "_timestamp";
	o->w.max_bytes = 128 << 20;
	o->w.max_records = 1000000;
	o->w.max_open = 64;
	o->w.level = 3;
	o->f.partition = -1;
	o->f.from = INT64_MIN;
	o->f.to = INT64_MAX;

	o->cmd = parse_command(argc, argv, options);
	/* GNU getopt permutes, so options may follow DEST/SRC */
	first = pn_opt_parse(argc - 1, argv + 1, options, &help_text) + 1;
	o->f.topic = o->w.topic;
	if (o->cmd == CMD_WRITE && read_only)
		pn_usage_error(usage_text, "--%s is not an option of write", read_only->long_name);
	if (o->cmd != CMD_WRITE && write_only)
		pn_usage_error(usage_text, "--%s is an option of write only", write_only->long_name);
	if (o->cmd != CMD_CAT && cat_only)
		pn_usage_error(usage_text, "--%s is an option of cat only", cat_only->long_name);
	if (first >= argc)
		pn_usage_error(usage_text, "no %s given", o->cmd == CMD_WRITE ? "DEST" : "SRC");
	o->where = argv[first++];
	o->inputs = argv + first;
	o->ninputs = argc - first;
	if (o->cmd != CMD_WRITE && o->ninputs)
		pn_usage_error(usage_text, "%s takes one SRC", command_names[o->cmd]);
	if (o->f.from >= o->f.to)
		pn_usage_error(usage_text, "--from is not before --to");
}

/* One record into the archive (pn_input's callback): 0, PN_INPUT_BAD, or
 * an exit status from the store or the compressor. */
static int archive_record(void *arg, struct pn_input *in, char *line, size_t len,
			  const char **why)
{
	int rc = pn_writer_add(arg, &in->json, line, len, why);
	const char *missing;

	/* said once per field: a misspelt field shows at once, and a record
	 * that lacks it is still archived (a stopped archive loses data) */
	while ((missing = pn_writer_missing_next(arg)))
		if (pn_verbosity >= 1)
			fprintf(stderr, "%s: warning (at %s:%llu): no field '%s' for --partition-by: "
				"filed under " PN_ARCHIVE_NULL_PARTITION " (said once)\n",
				pn_progname(), in->reader.name, in->reader.lineno, missing);
	return rc;
}

/* Closes the objects older than --max-age, quiet pipe or not. */
static int archive_tick(void *arg, struct pn_input *in, int quiet)
{
	(void)in;
	(void)quiet;
	return pn_writer_tick(arg);
}

/* What write's counters come from. */
struct write_run {
	const struct opts *o;
	const struct pn_writer_counts *c;
	const struct pn_input *in;
};

/* write's counters, for --stats, --stats-interval and --metrics */
static void fill_write_stats(void *arg, struct pn_stats *w, double seconds)
{
	const struct write_run *r = arg;
	const struct pn_writer_counts *c = r->c;

	(void)seconds;
	pn_stats_label(w, "destination", r->o->where);
	pn_stats_u64(w, "records", c->records);
	pn_stats_u64(w, "duplicates", c->duplicates);
	pn_stats_u64(w, "rejected", r->in->reject.count);
	pn_stats_u64(w, "objects", c->objects);
	pn_stats_u64(w, "raw_bytes", c->raw_bytes);
	pn_stats_u64(w, "bytes", c->bytes);
	pn_stats_u64(w, "missing_field", c->missing_field);
	pn_stats_u64(w, "controls", r->in->controls);
}

static int cmd_write(const struct opts *o, struct pn_store *st)
{
	struct pn_writer *w = pn_writer_new(st, &o->w);
	const struct pn_writer_counts *c = pn_writer_counts(w);
	struct pn_input in;
	struct write_run run = { o, c, &in };
	struct pn_stats_live live;
	int status, rc;

	pn_stats_live_init(&live, &o->stats, fill_write_stats, &run);
	pn_input_init(&in, o->reject_path);
	in.live = &live;
	in.arg = w;
	in.record = archive_record;
	in.tick = archive_tick;
	in.shown = &c->records;
	if (o->w.max_age_ms > 0)	/* a quiet pipe must not keep objects open */
		in.timeout_ms = (int)(o->w.max_age_ms < 1000 ? o->w.max_age_ms : 1000);
	status = pn_input_run(&in, o->inputs, o->ninputs);
	/* what came before a bad line or a stop is complete: keep it */
	if (status == 0 || status == PN_EX_DATAERR) {
		rc = pn_writer_finish(w);
		if (rc)
			status = rc;
	}
	if (c->duplicates)
		pn_warn("%llu records repeated an offset already written and were skipped",
			(unsigned long long)c->duplicates);
	pn_stats_live_end(&live);
	if (pn_input_release(&in) && !status)
		status = PN_EX_IOERR;
	pn_writer_free(w);
	return status;
}

/* Objects that cat and ls cannot account for are an error, not a skip. */
static int check_catalog(const struct pn_catalog *c)
{
	for (size_t i = 0; i < c->n_no_manifest; i++)
		pn_error("error (at %s): no manifest (an interrupted write? run verify)",
			 c->no_manifest[i]);
	for (size_t i = 0; i < c->n_bad; i++)
		pn_error("error (at %s): bad manifest: %s", c->bad[i], c->bad_why[i]);
	return c->n_no_manifest || c->n_bad ? PN_EX_DATAERR : 0;
}

/* offsets resumes before them: a warning each, so that they get looked at */
static void warn_catalog(const struct pn_catalog *c)
{
	for (size_t i = 0; i < c->n_bad; i++)
		pn_warn("'%s' has a bad manifest (%s): not counted as written", c->bad[i],
			c->bad_why[i]);
}

/* verify's counters, or those of cat and ls */
static void print_read_stats(enum cmd cmd, const struct pn_read_counts *c)
{
	struct pn_stats w = PN_STATS_INIT;

	pn_stats_u64(&w, "records", c->records);
	pn_stats_u64(&w, "objects", c->objects);
	if (cmd == CMD_VERIFY) {
		pn_stats_u64(&w, "damaged", c->damaged);
		pn_stats_u64(&w, "gaps", c->gaps);
		pn_stats_u64(&w, "overlaps", c->overlaps);
	} else {
		pn_stats_u64(&w, "duplicates", c->duplicates);
	}
	pn_stats_end(&w);
}

static int cmd_read(const struct opts *o, struct pn_store *st)
{
	struct pn_catalog cat;
	struct pn_out out;
	struct pn_read_counts counts = { 0, 0, 0, 0, 0, 0 };
	int status, out_status;

	pn_out_init(&out, STDOUT_FILENO, "standard output", OUT_THRESHOLD);
	status = pn_catalog_load(st, &o->f, &cat);
	/* verify reports them itself; a writer resuming rewrites them */
	if (!status && o->cmd != CMD_VERIFY && o->cmd != CMD_OFFSETS)
		status = check_catalog(&cat);
	if (!status && o->cmd == CMD_LS) {
		for (size_t i = 0; i < cat.n && !pn_out_gone(&out); i++) {
			pn_manifest_to_json(&cat.m[i], &out.buf);
			counts.records += cat.m[i].records;
			counts.objects++;
			pn_out_record(&out);
		}
	} else if (!status && o->cmd == CMD_OFFSETS) {
		warn_catalog(&cat);
		pn_catalog_offsets(&cat, &out.buf);
	} else if (!status && o->cmd == CMD_CAT) {
		status = pn_archive_cat(st, &cat, &o->f, o->order, &out, &counts);
	} else if (!status) {
		status = pn_archive_verify(st, &cat, &out, &counts);
	}
	out_status = pn_out_close(&out);
	if (out_status && !status)
		status = out_status;
	if (o->stats.at_end)
		print_read_stats(o->cmd, &counts);
	if (counts.duplicates)
		pn_warn("%llu records repeated offsets of earlier objects and were skipped",
			(unsigned long long)counts.duplicates);
	pn_catalog_release(&cat);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct pn_store st;
	int status;

	pn_set_progname(argv[0]);
	parse_options(&o, argc, argv);
	pn_signal_install();
	status = pn_store_open(&st, o.where, &o.store);
	if (!status && o.cmd == CMD_WRITE)
		status = pn_store_check(&st);
	if (!status)
		status = o.cmd == CMD_WRITE ? cmd_write(&o, &st) : cmd_read(&o, &st);
	pn_store_close(&st);
	return status;
}
