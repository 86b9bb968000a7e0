/*
 * pn-aggregate — a continuous GROUP BY over NDJSON records, as ksqlDB's
 * `SELECT … GROUP BY … EMIT CHANGES`.
 *
 * Records that pass every --where are grouped by the --group-by fields and
 * counted, summed, … into one state per group.  Every --emit-interval the
 * groups that changed are written as changelog rows with absolute values
 * (replaying them is harmless), and at the end of the input; with
 * --emit final only at the end.  With --state the state and the last
 * applied offset of every topic-partition (from the records' _topic,
 * _partition, _offset) are checkpointed after each emission, so a
 * restarted pipeline skips what it already applied: redelivery never
 * double-counts.  With --state DIR/ the state is kept per input partition
 * (pn_aggparts), each partition's piece loaded when the partition comes
 * and saved when it goes, as pn-consume's control records say: the
 * consumer group then moves partitions and their state between members.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pn_agg.h"
#include "pn_aggparts.h"
#include "pn_checkpoint.h"
#include "pn_clock.h"
#include "pn_err.h"
#include "pn_input.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_opt.h"
#include "pn_pieces.h"
#include "pn_record.h"
#include "pn_signal.h"
#include "pn_stats.h"

static const char usage_text[] =
	"usage: pn-aggregate [-w COND]... -g FIELD[:NAME]... [--count FIELD[:NAME]]...\n"
	"                    [--sum|--min|--max|--count-distinct|--latest FIELD[:NAME]]...\n"
	"                    [--time-field F] [--window tumbling:SIZE|hopping:SIZE,ADV]\n"
	"                    [--grace D] [--ttl D] [--max-ahead D]\n"
	"                    [--key-type strict|string|number|as-is]\n"
	"                    [--emit changes|final] [--emit-interval D] [--state FILE|DIR/]\n"
	"                    [--reject FILE] [--stats] [--stats-interval D]\n"
	"                    [--metrics FILE] [-qv] [FILE ...]\n"
	"       pn-aggregate --state FILE|DIR/ --print-offsets\n";

static const struct pn_opt_text help_text = {
	.usage = usage_text,
	.about = "Group NDJSON records and keep aggregates per group, writing changelog "
		 "rows.\n",
	.epilog = "Exit status: 0 done, 64 usage, 65 bad input, 74 I/O error, "
		  "78 bad --state.\n",
};

struct opts {
	struct pn_query query;
	int emit_final;
	int64_t emit_interval_ms;
	const char *state_path;
	int print_offsets;
	const char *reject_path;
	struct pn_stats_opts stats;
	char **inputs;
	int ninputs;
};

/* One run: the state, the output, the clock of the next emission. */
struct run {
	const struct opts *o;
	struct pn_agg agg;		/* the state, with --state FILE or none */
	struct pn_aggparts parts;	/* the state per partition, with --state DIR/ */
	int by_parts;
	uint64_t controls;	/* control records, with --state FILE */
	struct pn_out out;
	struct pn_input in;
	struct pn_stats_live live;	/* --stats-interval, --metrics */
	int64_t next_emit_ms;
	int status;
};

enum { OUT_THRESHOLD = 256 * 1024 };

static void take_group(const struct pn_opt *opt, const char *arg)
{
	const char *why;

	if (pn_query_add_group(opt->dest, arg, &why))
		pn_usage_error(usage_text, "bad --group-by '%s': %s", arg, why);
}

static void take_where(const struct pn_opt *opt, const char *arg)
{
	const char *why;

	if (pn_query_add_where(opt->dest, arg, &why))
		pn_usage_error(usage_text, "bad --where '%s': %s", arg, why);
}

/* --count, --sum, ...: opt->value is the enum pn_agg_kind. */
static void take_agg(const struct pn_opt *opt, const char *arg)
{
	const char *why;

	if (pn_query_add_agg(opt->dest, (enum pn_agg_kind)opt->value, arg, &why))
		pn_usage_error(usage_text, "bad --%s '%s': %s", opt->long_name, arg, why);
}

static void take_key_type(const struct pn_opt *opt, const char *arg)
{
	if (pn_query_set_key_mode(opt->dest, arg))
		pn_usage_error(usage_text, "bad --key-type '%s': strict, string, number or as-is",
			       arg);
}

static void take_emit(const struct pn_opt *opt, const char *arg)
{
	if (strcmp(arg, "changes") && strcmp(arg, "final"))
		pn_usage_error(usage_text, "bad --emit '%s': changes or final", arg);
	*(int *)opt->dest = !strcmp(arg, "final");
}

static void take_time_field(const struct pn_opt *opt, const char *arg)
{
	struct pn_query *q = opt->dest;

	free(q->time_field);
	q->time_field = pn_strdup(arg);
}

static void take_window(const struct pn_opt *opt, const char *arg)
{
	const char *why;

	if (pn_window_parse(opt->dest, arg, &why))
		pn_usage_error(usage_text, "bad --window '%s': %s", arg, why);
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	struct pn_query *q = &o->query;
	const struct pn_opt options[] = {
		PN_OPT_CALLBACK('w', "where", "COND", "keep records where COND holds: F=V, F!=V, "
				"F IS NULL, F IS NOT NULL, F IN (V,...); repeatable, ANDed",
				take_where, q, 0),
		PN_OPT_CALLBACK('g', "group-by", "F[:NAME]", "group by field F, output as NAME "
				"(repeatable)", take_group, q, 0),
		PN_OPT_CALLBACK(0, "key-type", "strict|string|number|as-is", "a group field "
				"whose JSON type changes: bad input (default), made a string, made "
				"a number, or two groups", take_key_type, q, 0),
		PN_OPT_CALLBACK(0, "count", "F[:NAME]", "non-null values of F; --count '*' counts "
				"records", take_agg, q, PN_COUNT),
		PN_OPT_CALLBACK(0, "sum", "F[:NAME]", "sum of the numbers in F", take_agg, q,
				PN_SUM),
		PN_OPT_CALLBACK(0, "min", "F[:NAME]", "smallest number in F", take_agg, q, PN_MIN),
		PN_OPT_CALLBACK(0, "max", "F[:NAME]", "largest number in F", take_agg, q, PN_MAX),
		PN_OPT_CALLBACK(0, "count-distinct", "F[:NAME]", "distinct values of F (exact)",
				take_agg, q, PN_COUNT_DISTINCT),
		PN_OPT_CALLBACK(0, "latest", "F[:NAME]", "the last non-null value of F", take_agg,
				q, PN_LATEST),
		PN_OPT_CALLBACK(0, "time-field", "F", "event time from F (epoch s or ms, ISO "
				"8601); default _timestamp", take_time_field, q, 0),
		PN_OPT_CALLBACK(0, "window", "tumbling:SIZE|hopping:SIZE,ADVANCE", "group by time "
				"window too (window_start/end)", take_window, &q->window, 0),
		PN_OPT_DURATION(0, "grace", "D", "a window takes late records for D after its end "
				"(default 24h); later ones are not applied", &q->grace_ms, 0,
				.bad = "bad --grace '%s'"),
		PN_OPT_DURATION(0, "ttl", "D", "forget groups not updated for D of event time",
				&q->ttl_ms, 1, .bad = "bad --ttl '%s'"),
		PN_OPT_DURATION(0, "max-ahead", "D", "event times more than D ahead of the "
				"wall clock or _timestamp do not move the stream time (default 1h; "
				"0: no bound)", &q->max_ahead_ms, 0, .bad = "bad --max-ahead '%s'"),
		PN_OPT_CALLBACK(0, "emit", "changes|final", "changed groups every interval "
				"(default), or each group once: at the end, or when its window "
				"closes", take_emit, &o->emit_final, 0),
		PN_OPT_DURATION(0, "emit-interval", "D", "time between emissions (default 1s)",
				&o->emit_interval_ms, 1),
		PN_OPT_STRING(0, "state", "FILE|DIR/", "checkpoint file, or a directory of one "
			      "piece per partition: resume and skip applied offsets",
			      &o->state_path),
		PN_OPT_FLAG(0, "print-offsets", "print the checkpoint's offsets for pn-consume "
			    "--start-offsets, and exit", &o->print_offsets),
		PN_OPT_READER_END(&o->reject_path, "bad lines", &o->stats),
	};
	int first;

	memset(o, 0, sizeof(*o));
	o->emit_interval_ms = 1000;
	q->grace_ms = -1;
	q->max_ahead_ms = 3600 * 1000;
	first = pn_opt_parse(argc, argv, options, &help_text);
	if (o->print_offsets && !o->state_path)
		pn_usage_error(usage_text, "--print-offsets needs --state");
	if (!o->print_offsets && !o->query.ngroups)
		pn_usage_error(usage_text, "no --group-by given");
	if (!o->print_offsets && !o->query.naggs)
		pn_usage_error(usage_text, "no aggregate given (--count, --sum, ...)");
	if (o->query.grace_ms >= 0 && o->query.window.kind == PN_WINDOW_NONE)
		pn_usage_error(usage_text, "--grace needs --window");
	if (o->query.grace_ms < 0)
		o->query.grace_ms = 24 * 3600 * 1000; /* ksqlDB's default */
	o->inputs = argv + first;
	o->ninputs = argc - first;
}

/*
 * Writes the changed groups (all of them with --emit final), then, only if
 * every row reached stdout, the checkpoint: a crash in between re-emits the
 * same absolute values, never loses a change.
 */
static void emit_and_checkpoint(struct run *r, int final)
{
	int status = 0;

	if (r->by_parts) {
		status = pn_aggparts_emit(&r->parts, &r->out, final);
	} else {
		pn_agg_write_changes(&r->agg, &r->out, r->o->emit_final, final);
		if (r->o->state_path && !pn_out_gone(&r->out) &&
		    pn_checkpoint_save(&r->agg, r->o->state_path))
			status = PN_EX_IOERR;
	}
	if (status && !r->status)
		r->status = status;
	r->next_emit_ms = pn_now_ms() + r->o->emit_interval_ms;
}

/* A record the query refused: set aside with --reject (its offset is
 * then done), else the end of the input. */
static int refused(struct run *r, struct pn_input *in, const char *line, size_t len,
		   const char *why)
{
	int status = pn_input_bad_line(in, line, len, why, 0);

	if (!status) {
		if (r->by_parts)
			pn_aggparts_pass(&r->parts, &in->json);
		else
			pn_agg_pass(&r->agg, &in->json);
	}
	return status;
}

/* One record (pn_input's callback): 0, or an exit status. */
static int aggregate_record(void *arg, struct pn_input *in, char *line, size_t len,
			    const char **why)
{
	struct run *r = arg;
	int status;

	if (r->by_parts) {
		status = pn_aggparts_handle(&r->parts, &in->json, &r->out, why);
		return status < 0 ? refused(r, in, line, len, *why) : status;
	}
	if (pn_record_control(&in->json) >= 0) {
		r->controls++; /* the group's moves: for a state kept per partition */
		return 0;
	}
	if (pn_agg_apply(&r->agg, &in->json, why))
		return refused(r, in, line, len, *why);
	return 0;
}

/* Emits when the interval is over; a failed save has set r->status and
 * the input goes on (the next save may succeed; the exit status says it). */
static int aggregate_tick(void *arg, struct pn_input *in, int quiet)
{
	struct run *r = arg;

	(void)in;
	(void)quiet;
	if (!r->o->emit_final && pn_now_ms() >= r->next_emit_ms)
		emit_and_checkpoint(r, 0);
	return 0;
}

/* A quiet pipe must not hold back the emission. */
static long long aggregate_deadline(void *arg)
{
	const struct run *r = arg;

	return r->o->emit_final ? -1 : r->next_emit_ms;
}

static int output_gone(void *arg)
{
	return pn_out_gone(&((struct run *)arg)->out);
}

/* The counts of the run, summed over the partitions with --state DIR/;
 * the number of groups held. */
static size_t run_counts(const struct run *r, struct pn_agg_counts *c)
{
	if (r->by_parts)
		return pn_aggparts_sum(&r->parts, c);
	*c = r->agg.counts;
	return r->agg.nentries;
}

/* The counters of --stats, --stats-interval and --metrics. */
static void fill_stats(void *arg, struct pn_stats *w, double seconds)
{
	const struct run *r = arg;
	const struct pn_aggparts_counts *pc = &r->parts.counts;
	struct pn_agg_counts c;
	size_t groups = run_counts(r, &c);

	(void)seconds;
	pn_stats_label(w, "state", r->o->state_path);
	pn_stats_u64(w, "records", c.records);
	pn_stats_u64(w, "applied", c.applied);
	pn_stats_u64(w, "filtered", c.filtered);
	pn_stats_u64(w, "null_key", c.null_key);
	pn_stats_u64(w, "skipped", c.skipped);
	pn_stats_u64(w, "late", c.late);
	pn_stats_u64(w, "future_times", c.future_times);
	pn_stats_u64(w, "rejected", r->in.reject.count);
	pn_stats_gauge(w, "groups", groups);
	pn_stats_u64(w, "expired", c.expired);
	pn_stats_u64(w, "emitted", c.emitted);
	pn_stats_u64(w, "checkpoints", c.checkpoints);
	pn_stats_u64(w, "controls", r->by_parts ? pc->controls : r->controls);
	if (!r->by_parts)
		return;
	pn_stats_u64(w, "loaded", pc->loaded);
	pn_stats_u64(w, "loaded_sunk", pc->loaded_sunk);
	pn_stats_u64(w, "reemitted", pc->reemitted);
	pn_stats_u64(w, "dropped", pc->dropped);
	pn_stats_u64(w, "fenced", pc->fenced);
	pn_stats_u64(w, "split_keys", pc->split_keys);
	pn_stats_u64(w, "not_owned", pc->not_owned);
}

/* The offsets a checkpoint or a state directory has applied, as pn-consume
 * --start-offsets takes them. */
static int print_offsets(const char *state_path)
{
	struct pn_buf out = PN_BUF_INIT;
	int status = PN_EX_OK;

	if (pn_pieces_is_store(state_path)) {
		struct pn_pieces pieces;
		struct pn_offsets offsets;

		pn_offsets_init(&offsets);
		pn_pieces_open(&pieces, state_path, 0);
		if (pn_pieces_offsets(&pieces, &offsets))
			status = PN_EX_CONFIG;
		else
			pn_offsets_write_json(&offsets, &out);
		pn_pieces_close(&pieces);
		pn_offsets_release(&offsets);
	} else if (pn_checkpoint_print_offsets(state_path, &out)) {
		status = PN_EX_CONFIG;
	}
	if (!status && (pn_write_all(STDOUT_FILENO, out.data, out.len) < 0))
		status = PN_EX_IOERR;
	pn_buf_release(&out);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	struct pn_agg_counts sums;
	int in_status, out_status;

	pn_set_progname(argv[0]);
	parse_options(&o, argc, argv);
	if (o.print_offsets)
		return print_offsets(o.state_path);
	memset(&r, 0, sizeof(r));
	r.o = &o;
	pn_stats_live_init(&r.live, &o.stats, fill_stats, &r);
	pn_agg_init(&r.agg, &o.query);
	pn_out_init(&r.out, STDOUT_FILENO, "standard output", OUT_THRESHOLD);
	r.by_parts = o.state_path && pn_pieces_is_store(o.state_path);
	if (r.by_parts) {
		if ((r.status = pn_aggparts_open(&r.parts, &o.query, o.state_path)))
			exit(r.status);
		r.parts.emit_final = o.emit_final;
	} else if (o.state_path) {
		int loaded = pn_checkpoint_load(&r.agg, o.state_path);

		if (loaded < 0)
			exit(PN_EX_CONFIG);
		/* rows emitted by the last run may have died in the pipe or in a
		 * sink's batch: the first emission writes every group again */
		if (loaded > 0)
			pn_agg_mark_all(&r.agg);
	}
	pn_input_init(&r.in, o.reject_path);
	r.in.arg = &r;
	r.in.record = aggregate_record;
	r.in.tick = aggregate_tick;
	r.in.deadline = aggregate_deadline;
	r.in.stop = output_gone;
	r.in.pass_control = 1;
	r.in.live = &r.live;
	pn_signal_install();
	r.next_emit_ms = pn_now_ms() + o.emit_interval_ms;

	in_status = pn_input_run(&r.in, o.inputs, o.ninputs);
	if (in_status && !r.status)
		r.status = in_status;

	emit_and_checkpoint(&r, 1);
	run_counts(&r, &sums);
	if (sums.null_key)
		pn_warn("%llu records had a missing or null --group-by field and were not "
			"counted (as ksqlDB drops null keys)", (unsigned long long)sums.null_key);
	if (sums.future_times)
		pn_warn("%llu records had an event time more than --max-ahead past the wall "
			"clock or their _timestamp: counted in their groups, they did not move "
			"the stream time", (unsigned long long)sums.future_times);
	if (sums.late)
		pn_warn("%llu late records came after their window had closed (its end + "
			"--grace) and were not applied to it", (unsigned long long)sums.late);
	out_status = pn_out_close(&r.out);
	if (out_status && !r.status)
		r.status = out_status;
	if (pn_input_release(&r.in) && !r.status)
		r.status = PN_EX_IOERR;
	pn_stats_live_end(&r.live);

	pn_agg_release(&r.agg);
	if (r.by_parts)
		pn_aggparts_close(&r.parts);
	pn_query_release(&o.query);
	return r.status;
}
