/*
 * pn-archive — the archive of a Kafka stream on a directory or S3, and the
 * way back from it.
 *
 * `write DEST` reads NDJSON records (pn-consume --meta) and stores them as
 * zstd-compressed NDJSON objects partitioned by topic and time, the way
 * Athena/Hive discover partitions, each object written atomically beside
 * a manifest; objects are named by topic, partition and first offset, so
 * a re-run rewrites the same objects.  `cat SRC` streams the records back
 * in time and offset order, for pn-produce (a replay) or pn-aggregate (a
 * backfill); `ls` lists the objects and `verify` checks them all: sizes,
 * checksums, record counts, and gaps or overlaps in the offsets.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pn_archive.h"
#include "pn_err.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_num.h"
#include "pn_signal.h"
#include "pn_version.h"

static const char usage_text[] =
	"usage: pn-archive write [--partition-by PATTERN] [--time-field F] [-t TOPIC]\n"
	"                  [--max-bytes SIZE] [--max-records N] [--max-age D] [--max-open N]\n"
	"                  [-l LEVEL] [--reject FILE] [S3 options] [--stats] [-qv] DEST [FILE ...]\n"
	"       pn-archive cat|ls|verify|offsets [--from T] [--to T] [-t TOPIC] [-p N]\n"
	"                  [S3 options] [--stats] [-qv] SRC\n"
	"  S3 options: [--endpoint URL] [--region R] [--retries N] [--part-size SIZE]\n";

enum cmd { CMD_WRITE, CMD_CAT, CMD_LS, CMD_VERIFY, CMD_OFFSETS };

struct opts {
	enum cmd cmd;
	const char *where;		/* DEST or SRC */
	struct pn_store_opts store;
	struct pn_writer_opts w;
	struct pn_archive_filter f;
	const char *reject_path;
	int stats;
	char **inputs;
	int ninputs;
};

enum { OUT_THRESHOLD = 256 * 1024 };

static void usage(void)
{
	printf("%s", usage_text);
	printf("\nWrite NDJSON records to a zstd NDJSON archive on a directory or S3, and\n"
	       "read them back.\n\n"
	       "  write DEST                store the records of FILEs (or stdin) under DEST\n"
	       "  cat SRC                   the records back, in time and offset order\n"
	       "  ls SRC                    the objects' manifests, one JSON line each\n"
	       "  verify SRC                check every object; one verdict line each\n"
	       "  offsets SRC               where to resume: pn-consume --start-offsets JSON\n"
	       "DEST and SRC: a directory, file://DIR or s3://BUCKET[/PREFIX].\n\n"
	       "      --partition-by PAT    object directories (default\n"
	       "                            '%s'):\n"
	       "                            {topic}, {partition}, strftime(3) over the time, UTC\n"
	       "      --time-field F        the record's time: epoch s or ms, ISO 8601 (default\n"
	       "                            _timestamp)\n"
	       "  -t, --topic TOPIC         write: the topic of records without _topic;\n"
	       "                            cat/ls/verify: only this topic\n"
	       "  -p, --partition N         cat/ls/verify: only this partition\n"
	       "      --from T, --to T      cat/ls: records with time in [T, T2)\n"
	       "      --max-bytes SIZE      rotate objects at this many raw bytes (default 128M)\n"
	       "      --max-records N       rotate objects at N records (default 1000000)\n"
	       "      --max-age D           close objects open longer than D (default: never)\n"
	       "      --max-open N          objects open at a time (default 64)\n"
	       "  -l, --level N             zstd level (default 3)\n"
	       "      --reject FILE         append bad lines to FILE and go on\n"
	       "      --endpoint URL        S3 endpoint (default $AWS_ENDPOINT_URL_S3 or\n"
	       "                            $AWS_ENDPOINT_URL, else AWS); path-style addressing\n"
	       "      --region R            S3 region (default $AWS_REGION, else us-east-1)\n"
	       "      --retries N           S3 retries of a failed request (default 5)\n"
	       "      --part-size SIZE      S3 multipart part size (default 16M, at least 5M)\n"
	       "      --stats               print counters as JSON on stderr at the end\n"
	       "  -q, --quiet               errors only\n"
	       "  -v, --verbose             more messages\n"
	       "  -h, --help                this help\n"
	       "  -V, --version             versions of pn and its libraries\n"
	       "\nExit status: 0 done, 1 verify found gaps or overlaps, 64 usage, 65 bad input\n"
	       "or a damaged object, 69 S3 unavailable, 74 I/O error, 78 bad configuration.\n",
	       PN_ARCHIVE_DEFAULT_PATTERN);
}

static void parse_size_opt(const char *arg, uint64_t min, uint64_t *out)
{
	if (pn_parse_size(arg, out) || *out < min)
		pn_usage_error(usage_text, "bad size '%s'", arg);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	enum { OPT_PARTITION_BY = 256, OPT_TIME_FIELD, OPT_MAX_BYTES, OPT_MAX_RECORDS,
	       OPT_MAX_AGE, OPT_MAX_OPEN, OPT_REJECT, OPT_ENDPOINT, OPT_REGION, OPT_RETRIES,
	       OPT_PART_SIZE, OPT_FROM, OPT_TO, OPT_STATS };
	static const char optstring[] = "hl:p:qt:Vv";
	static const struct option longopts[] = {
		{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "level", required_argument, NULL, 'l' },
		{ "max-age", required_argument, NULL, OPT_MAX_AGE },
		{ "max-bytes", required_argument, NULL, OPT_MAX_BYTES },
		{ "max-open", required_argument, NULL, OPT_MAX_OPEN },
		{ "max-records", required_argument, NULL, OPT_MAX_RECORDS },
		{ "part-size", required_argument, NULL, OPT_PART_SIZE },
		{ "partition", required_argument, NULL, 'p' },
		{ "partition-by", required_argument, NULL, OPT_PARTITION_BY },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "reject", required_argument, NULL, OPT_REJECT },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "time-field", required_argument, NULL, OPT_TIME_FIELD },
		{ "to", required_argument, NULL, OPT_TO },
		{ "topic", required_argument, NULL, 't' },
		PN_COMMON_LONGOPTS,
	};
	static const char *const names[] = { "write", "cat", "ls", "verify", "offsets" };
	const char *write_only = NULL, *read_only = NULL, *why;
	int64_t v;
	int c;

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

	/* options before the command: only -h and -V make sense there */
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage();
		exit(PN_EX_OK);
	}
	if (argc > 1 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		pn_print_version();
		exit(PN_EX_OK);
	}
	if (argc < 2)
		pn_usage_error(usage_text, "no command given (write, cat, ls, verify or offsets)");
	for (c = 0; c < 5 && strcmp(argv[1], names[c]); c++)
		;
	if (c == 5)
		pn_usage_error(usage_text, "unknown command '%s'", argv[1]);
	o->cmd = (enum cmd)c;
	argc--;
	argv++;
	/* GNU getopt permutes, so options may follow DEST/SRC */
	optind = 1;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (pn_common_option(c, usage))
			continue;
		switch (c) {
		case 'l':
			if (pn_parse_int(optarg, 1, 19, &v))
				pn_usage_error(usage_text, "bad --level '%s': 1 to 19", optarg);
			o->w.level = (int)v;
			write_only = "--level";
			break;
		case 'p':
			if (pn_parse_int(optarg, 0, INT32_MAX, &v))
				pn_usage_error(usage_text, "bad --partition '%s'", optarg);
			o->f.partition = (int32_t)v;
			read_only = "--partition";
			break;
		case 't': o->w.topic = o->f.topic = optarg; break;
		case OPT_PARTITION_BY:
			if (!*optarg)
				pn_usage_error(usage_text, "empty --partition-by");
			if (pn_archive_pattern_check(optarg, &why))
				pn_usage_error(usage_text, "bad --partition-by '%s': %s", optarg, why);
			o->w.pattern = optarg;
			write_only = "--partition-by";
			break;
		case OPT_TIME_FIELD:
			if (!*optarg)
				pn_usage_error(usage_text, "empty --time-field");
			o->w.time_field = optarg;
			write_only = "--time-field";
			break;
		case OPT_MAX_BYTES:
			parse_size_opt(optarg, 1, &o->w.max_bytes);
			write_only = "--max-bytes";
			break;
		case OPT_MAX_RECORDS:
			if (pn_parse_int(optarg, 1, INT64_MAX, &v))
				pn_usage_error(usage_text, "bad --max-records '%s'", optarg);
			o->w.max_records = (uint64_t)v;
			write_only = "--max-records";
			break;
		case OPT_MAX_AGE:
			if (pn_parse_duration(optarg, &o->w.max_age_ms) || !o->w.max_age_ms)
				pn_usage_error(usage_text, "bad duration '%s'", optarg);
			write_only = "--max-age";
			break;
		case OPT_MAX_OPEN:
			if (pn_parse_int(optarg, 1, 100000, &v))
				pn_usage_error(usage_text, "bad --max-open '%s'", optarg);
			o->w.max_open = (int)v;
			write_only = "--max-open";
			break;
		case OPT_REJECT: o->reject_path = optarg; write_only = "--reject"; break;
		case OPT_ENDPOINT: o->store.endpoint = optarg; break;
		case OPT_REGION: o->store.region = optarg; break;
		case OPT_RETRIES:
			if (pn_parse_int(optarg, 0, 100, &v))
				pn_usage_error(usage_text, "bad --retries '%s'", optarg);
			o->store.retries = (int)v;
			break;
		case OPT_PART_SIZE:
			parse_size_opt(optarg, 5 << 20, &o->store.part_size);
			write_only = "--part-size";
			break;
		case OPT_FROM:
		case OPT_TO:
			if (pn_parse_time(optarg, c == OPT_FROM ? &o->f.from : &o->f.to))
				pn_usage_error(usage_text, "bad time '%s'", optarg);
			read_only = c == OPT_FROM ? "--from" : "--to";
			break;
		case OPT_STATS: o->stats = 1; break;
		default: pn_usage_error(usage_text, "unknown or incomplete option");
		}
	}
	if (o->cmd == CMD_WRITE && read_only)
		pn_usage_error(usage_text, "%s is not an option of write", read_only);
	if (o->cmd != CMD_WRITE && write_only)
		pn_usage_error(usage_text, "%s is an option of write only", write_only);
	if (optind >= argc)
		pn_usage_error(usage_text, "no %s given", o->cmd == CMD_WRITE ? "DEST" : "SRC");
	o->where = argv[optind++];
	o->inputs = argv + optind;
	o->ninputs = argc - optind;
	if (o->cmd != CMD_WRITE && o->ninputs)
		pn_usage_error(usage_text, "%s takes one SRC", names[o->cmd]);
	if (o->f.from >= o->f.to)
		pn_usage_error(usage_text, "--from is not before --to");
}

/* One run of write: the writer, its reject file, its status. */
struct run {
	const struct opts *o;
	struct pn_writer *w;
	struct pn_json json;
	struct pn_reject reject;
	struct pn_progress prog;
	int status;
};

/* One line: into the archive, or, when bad, set aside with --reject or the
 * end of the input (-1). */
static int handle_line(struct run *r, const struct pn_reader *in, char *line, size_t len)
{
	const char *why = NULL;
	size_t column = 0;
	int rc;

	if (pn_json_parse(&r->json, line, len)) {
		why = r->json.why;
		column = r->json.at + 1;
	} else if (!pn_json_is_object(&r->json, 0)) {
		why = "not a JSON object";
	} else if ((rc = pn_writer_add(r->w, &r->json, line, len, &why)) > 1) {
		r->status = rc;
		return -1;
	}
	if (!why || pn_reject_bad_line(&r->reject, in, line, len, why, column) == 0)
		return 0;
	r->status = PN_EX_DATAERR;
	return -1;
}

static int write_input(struct run *r, const char *path)
{
	struct pn_reader in;
	unsigned long long n = 0;
	char *line;
	size_t len;
	int got;

	if (pn_reader_open(&in, path) < 0) {
		pn_error("cannot open '%s': %m", path);
		r->status = PN_EX_IOERR;
		return -1;
	}
	if (r->o->w.max_age_ms > 0)	/* a quiet pipe must not keep objects open */
		in.timeout_ms = (int)(r->o->w.max_age_ms < 1000 ? r->o->w.max_age_ms : 1000);
	while (!pn_stop) {
		got = pn_reader_next(&in, &line, &len);
		if (got == 0)
			break;
		if (got == 1 && handle_line(r, &in, line, len) < 0)
			break;
		if (got < 0 && got != PN_READER_TIMEOUT) {
			if (!pn_stop) {
				pn_error("cannot read '%s': %m", in.name);
				r->status = PN_EX_IOERR;
			}
			break;
		}
		if (got == PN_READER_TIMEOUT || (++n & 1023) == 0) {
			int rc = pn_writer_tick(r->w);

			if (rc) {
				r->status = rc;
				break;
			}
		}
		pn_progress_tick(&r->prog, pn_writer_counts(r->w)->records);
	}
	pn_reader_close(&in);
	return r->status || pn_stop ? -1 : 0;
}

static int cmd_write(const struct opts *o, struct pn_store *st)
{
	struct run r;
	const struct pn_writer_counts *c;
	int rc;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.w = pn_writer_new(st, &o->w);
	pn_json_init(&r.json);
	pn_reject_open(&r.reject, o->reject_path);
	pn_progress_init(&r.prog);
	if (!o->ninputs)
		write_input(&r, "-");
	for (int i = 0; i < o->ninputs; i++)
		if (write_input(&r, o->inputs[i]) < 0)
			break;
	pn_progress_done(&r.prog);
	/* what came before a bad line or a stop is complete: keep it */
	if (r.status == 0 || r.status == PN_EX_DATAERR) {
		rc = pn_writer_finish(r.w);
		if (rc)
			r.status = rc;
	}
	c = pn_writer_counts(r.w);
	if (c->duplicates)
		pn_warn("%llu records repeated an offset already written and were skipped",
			(unsigned long long)c->duplicates);
	if (o->stats)
		fprintf(stderr, "{\"records\":%llu,\"duplicates\":%llu,\"rejected\":%llu,"
			"\"objects\":%llu,\"raw_bytes\":%llu,\"bytes\":%llu}\n",
			(unsigned long long)c->records, (unsigned long long)c->duplicates,
			r.reject.count, (unsigned long long)c->objects,
			(unsigned long long)c->raw_bytes, (unsigned long long)c->bytes);
	if (pn_reject_close(&r.reject) && !r.status)
		r.status = PN_EX_IOERR;
	pn_writer_free(r.w);
	pn_json_release(&r.json);
	return r.status;
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
		status = pn_archive_cat(st, &cat, &o->f, &out, &counts);
	} else if (!status) {
		status = pn_archive_verify(st, &cat, &out, &counts);
	}
	out_status = pn_out_close(&out);
	if (out_status && !status)
		status = out_status;
	if (o->stats && o->cmd == CMD_VERIFY)
		fprintf(stderr, "{\"records\":%llu,\"objects\":%llu,\"damaged\":%llu,"
			"\"gaps\":%llu,\"overlaps\":%llu}\n",
			(unsigned long long)counts.records, (unsigned long long)counts.objects,
			(unsigned long long)counts.damaged, (unsigned long long)counts.gaps,
			(unsigned long long)counts.overlaps);
	else if (o->stats)
		fprintf(stderr, "{\"records\":%llu,\"objects\":%llu,\"duplicates\":%llu}\n",
			(unsigned long long)counts.records, (unsigned long long)counts.objects,
			(unsigned long long)counts.duplicates);
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
