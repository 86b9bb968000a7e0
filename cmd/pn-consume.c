/*
 * pn-consume — read Kafka topics and write their records as NDJSON.
 *
 * With -g it joins a consumer group; without, it assigns itself every
 * partition of the topics (or those given with -p).  Each message whose
 * payload is a JSON object becomes one line; any other payload is written
 * as {"_value": "..."} (or _value_base64) so the stream never breaks.
 * --meta puts the Kafka coordinates first as _topic, _partition, _offset,
 * _timestamp, _key and _headers.
 *
 * Delivery is at-least-once: librdkafka's auto-commit is off, and offsets
 * are committed only for records already written to stdout.  When the
 * reader goes away (EPIPE) it stops without committing again.
 *
 * With a schema registry configured, values are Confluent Avro, decoded to
 * natural JSON; a message that cannot be decoded stops the program (65)
 * before its offset is committed, or with --reject is set aside.
 *
 * --lag and --list read no records: they report what the cluster says of
 * a group's progress and of its brokers and partitions (pn_cluster).
 */
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pn_clock.h"
#include "pn_cluster.h"
#include "pn_commit.h"
#include "pn_confluent.h"
#include "pn_err.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_kafka.h"
#include "pn_num.h"
#include "pn_opt.h"
#include "pn_progress.h"
#include "pn_record.h"
#include "pn_registry.h"
#include "pn_signal.h"
#include "pn_start.h"
#include "pn_stats.h"

static const char usage_text[] =
	"usage: pn-consume -b BROKERS [-g GROUP] [-p PARTITION]... [-o START]\n"
	"                  [--start-offsets FILE] [-e] [-c COUNT] [--until TIME]\n"
	"                  [--meta] [--commit-interval D] [--commit-from STATE]\n"
	"                  [--wait-for-sink]\n"
	"                  [-X PROP=VAL] [-F FILE] [--avro] [--schema-registry URL]\n"
	"                  [--schema FILE] [--reject FILE]\n"
	"                  [--stats] [--stats-interval D] [--metrics FILE] [-qv]\n"
	"                  -t TOPIC...\n"
	"       pn-consume -b BROKERS -g GROUP --lag [--max-lag N] [-p PARTITION]...\n"
	"                  [--timeout D] [-X PROP=VAL] [-F FILE] [-qv] [-t TOPIC]...\n"
	"       pn-consume -b BROKERS --list [--timeout D] [-X PROP=VAL] [-F FILE]\n"
	"                  [-t TOPIC]...\n";

static const struct pn_opt_text help_text = {
	.usage = usage_text,
	.about = "Write the records of Kafka topics to stdout as NDJSON; or, with --lag,\n"
		 "a group's lag on each partition, with --list the brokers and partitions.\n",
	.epilog = "Exit status: 0 done, 1 a service broke or --max-lag exceeded, 64 usage,\n"
		  "65 undecodable message, 69 Kafka or registry unavailable, 74 I/O error on\n"
		  "output, 75 registry error worth a retry, 78 bad configuration.\n",
};

struct opts {
	struct pn_kafka_opts kafka;
	char **topics;
	int ntopics;
	const char *group;
	int32_t *partitions;	/* -p, plain assignment only */
	int npartitions;
	struct pn_start start;	/* -o and --start-offsets */
	const char *commit_from;	/* commit what this checkpoint applied */
	int wait_for_sink;	/* revocations also wait for pn-sink-pg --ack-to */
	int exit_at_end;
	int64_t max_records;	/* -c; 0: no limit */
	int64_t until_ms;	/* --until; -1: none */
	int meta;
	struct pn_stats_opts stats;
	int64_t commit_interval_ms;
	int avro;		/* --avro: values must be Confluent Avro */
	const char *registry_url, *reader_schema, *reject_path;
	int lag;		/* --lag: report the group's lag instead of reading */
	int64_t max_lag;	/* --max-lag; -1: none */
	int list;		/* --list: report brokers and partitions instead */
	int64_t timeout_ms;	/* --timeout: each request of --lag or --list */
};

struct counts {
	uint64_t records;	/* lines written */
	uint64_t non_object;	/* written as _value */
	uint64_t bytes;		/* payload bytes */
	uint64_t wakes;		/* wake_fetchers() calls */
	uint64_t controls;	/* control records written */
};

/* One run: the handle, the output, the per-partition bookkeeping. */
struct run {
	const struct opts *o;
	rd_kafka_t *rk;
	struct pn_commit commit;	/* the partitions: what was written, committed */
	struct pn_out out;
	struct pn_json scratch;
	struct pn_registry_conf registry_conf;
	struct pn_registry *registry;	/* set: values are Confluent Avro */
	struct pn_confluent avro;
	struct pn_reject reject;
	struct pn_buf tmp;
	struct pn_progress progress;
	struct counts counts;
	struct pn_stats_live live;	/* --stats-interval, --metrics */
	struct pn_buf topics;	/* the topics, comma-separated: a label */
	int64_t next_wake_ms;	/* wake_fetchers() not before this */
	size_t queue_low;	/* payload bytes queued under which to wake them */
	int backlog;		/* a full batch came since the last wake */
	int finished;		/* -c reached, or every partition at its end */
	int moved;		/* a rebalance marked partitions: mark_moved() */
	int in_batch;		/* inside rd_kafka_consume_batch_queue() */
	rd_kafka_topic_partition_list_t *pending;	/* the rebalance it met */
	rd_kafka_resp_err_t pending_err;
	int ends_changed;	/* a partition reached its end or --until */
	int status;
};

enum { FLUSH_INTERVAL_MS = 100, OUT_THRESHOLD = 256 * 1024 };

/* How long each request of --lag and --list waits by default: a cluster
 * that answers at all answers well within it. */
enum { DEFAULT_TIMEOUT_MS = 10000 };

static const char *const kafka_defaults[] = {
	"enable.auto.commit=false",	/* we commit what stdout has taken, ourselves */
	"enable.auto.offset.store=false",
	"auto.offset.reset=earliest",
	/* Bounded memory: librdkafka's queue defaults (64 MB of payload, plus
	 * ~0.4 KB of bookkeeping per message, plus 50 MB fetches) take the RSS of
	 * a fast consumer past 150 MB.  A broker thread fetches while the queue
	 * is under queued.max.messages.kbytes, and each of its replies adds up
	 * to fetch.max.bytes, so the queue peaks near 2 MB + brokers x 1 MB:
	 * 5 MB of 165-byte pings on three brokers, 16 MB of RSS over the 14 MB
	 * a consumer starts with.  Measured on three Kafka 4 brokers, 300k
	 * pings --meta, peak RSS: 3072 KB 33-36 MB (over 32), 2048 KB 30-31 MB;
	 * as fast either way, since wake_fetchers() keeps the fetchers busy. */
	"queued.max.messages.kbytes=2048",
	"fetch.max.bytes=1048576",
	"client.id=pn-consume",
	NULL,
};

/*
 * With -e, added to the defaults.  A fetch that finds every partition of
 * its broker at the end is held by the broker for fetch.wait.max.ms
 * (500 ms by default) before it answers with the end, so every -e run
 * ended with half a second of waiting: 50k pings from three Kafka 4
 * brokers took 0.59 s, 0.19 s with 100 ms (medians of 5; kcat -C -J -e,
 * which keeps 500 ms, 0.57 s).  A consumer that stays on keeps the
 * default, so an idle one asks its brokers twice a second, not ten times.
 */
static const char exit_at_end_default[] = "fetch.wait.max.ms=100";

enum { NDEFAULTS = sizeof(kafka_defaults) / sizeof(*kafka_defaults) };

static void take_start(const struct pn_opt *opt, const char *arg)
{
	const char *why;

	if (pn_start_parse(opt->dest, arg, &why))
		pn_usage_error(usage_text, "%s '%s'", why, arg);
}

static void add_topic(struct opts *o, const char *topic)
{
	o->topics = pn_realloc(o->topics, (o->ntopics + 1) * sizeof(*o->topics));
	o->topics[o->ntopics++] = (char *)topic;
}

static void take_partition(const struct pn_opt *opt, const char *arg)
{
	struct opts *o = opt->dest;
	int64_t n;

	if (pn_parse_int(arg, 0, INT32_MAX, &n))
		pn_usage_error(usage_text, "bad partition '%s'", arg);
	o->partitions = pn_realloc(o->partitions, (o->npartitions + 1) * sizeof(*o->partitions));
	o->partitions[o->npartitions++] = (int32_t)n;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct pn_opt options[] = {
		PN_OPT_KAFKA(&o->kafka),
		PN_OPT_LIST('t', "topic", "TOPIC", "topic to read (repeatable; also as arguments)",
			    &o->topics, &o->ntopics),
		PN_OPT_STRING('g', "group", "GROUP", "join this consumer group and commit to it",
			      &o->group),
		PN_OPT_CALLBACK('p', "partition", "N", "read only partition N (repeatable; "
				"with -g, commit to the group without joining it)",
				take_partition, o, 0),
		PN_OPT_CALLBACK('o', "offset", "START", "beginning, end, stored, N, -N (N before "
				"the end) or @TIME (ms since epoch or ISO 8601)", take_start,
				&o->start, 0),
		PN_OPT_STRING(0, "start-offsets", "FILE", "start from these offsets (JSON topic -> "
			      "partition -> next offset), others as -o", &o->start.file),
		PN_OPT_FLAG('e', "exit", "exit at the end of every partition", &o->exit_at_end),
		PN_OPT_INT('c', "count", "N", "exit after N records", &o->max_records, 1,
			   INT64_MAX, .bad = "bad count '%s'"),
		PN_OPT_TIME(0, "until", "TIME", "stop each partition at its first record at or "
			    "after TIME", &o->until_ms),
		PN_OPT_FLAG(0, "meta", "add _topic, _partition, _offset, _timestamp, _key, "
			    "_headers to each record", &o->meta),
		PN_OPT_DURATION(0, "commit-interval", "D", "commit written records every D "
				"(default 1s)", &o->commit_interval_ms, 0),
		PN_OPT_STRING(0, "commit-from", "STATE", "commit what the pn-aggregate checkpoint "
			      "or state directory STATE has applied, instead of what was "
			      "written", &o->commit_from),
		PN_OPT_FLAG(0, "wait-for-sink", "a revocation also waits until pn-sink-pg --ack-to "
			    "STATE has written the partition's rows", &o->wait_for_sink),
		PN_OPT_FLAG(0, "avro", "values are Confluent Avro (the default when a schema "
			    "registry is configured)", &o->avro),
		PN_OPT_SCHEMA_REGISTRY(&o->registry_url),
		PN_OPT_STRING(0, "schema", "FILE", "reader schema (.avsc) to resolve values to",
			      &o->reader_schema),
		PN_OPT_FLAG(0, "lag", "print the lag of group -g on each partition of the topics "
			    "(default: those it committed to) and exit", &o->lag),
		PN_OPT_INT(0, "max-lag", "N", "with --lag, exit 1 when a partition lags more than "
			   "N records", &o->max_lag, 0, INT64_MAX, .bad = "bad --max-lag '%s'"),
		PN_OPT_FLAG(0, "list", "print the brokers and the partitions of the topics "
			    "(default: all) and exit", &o->list),
		PN_OPT_DURATION(0, "timeout", "D", "with --lag or --list, wait at most D for each "
				"answer of the cluster (default 10s)", &o->timeout_ms, 1,
				.bad = "bad --timeout '%s'"),
		PN_OPT_READER_END(&o->reject_path, "undecodable messages", &o->stats),
	};
	int first;

	memset(o, 0, sizeof(*o));
	o->until_ms = -1;
	o->commit_interval_ms = 1000;
	o->max_lag = -1;
	o->timeout_ms = -1;
	first = pn_opt_parse(argc, argv, options, &help_text);
	for (int i = first; i < argc; i++)
		add_topic(o, argv[i]);
	if (o->lag && o->list)
		pn_usage_error(usage_text, "--lag and --list are two reports: give one");
	if (o->lag && !o->group)
		pn_usage_error(usage_text, "--lag counts the lag of a group: it needs -g");
	if (o->max_lag >= 0 && !o->lag)
		pn_usage_error(usage_text, "--max-lag needs --lag");
	if (o->timeout_ms >= 0 && !o->lag && !o->list)
		pn_usage_error(usage_text, "--timeout is for --lag and --list");
	if (o->timeout_ms < 0)
		o->timeout_ms = DEFAULT_TIMEOUT_MS;
	if (o->timeout_ms > INT_MAX)	/* librdkafka takes an int: 24 days */
		o->timeout_ms = INT_MAX;
	if ((o->lag || o->list) && (o->stats.interval_ms || o->stats.metrics_path))
		pn_usage_error(usage_text, "--stats-interval and --metrics count records read, "
			       "not --lag or --list");
	if (!o->ntopics && !o->lag && !o->list)
		pn_usage_error(usage_text, "no topic given (-t)");
	if (o->commit_from && !o->group)
		pn_usage_error(usage_text, "--commit-from commits to a group: it needs -g");
	if (o->wait_for_sink && !(o->commit_from && pn_pieces_is_store(o->commit_from)))
		pn_usage_error(usage_text, "--wait-for-sink needs --commit-from a state directory "
			       "or s3:// location");
	if (!o->group && o->start.kind == PN_START_STORED)
		pn_usage_error(usage_text, "-o stored needs a consumer group (-g)");
	o->start.group = o->group != NULL;
}

/* ---- control records: the group's decisions, told downstream ---- */

/*
 * With -g and --meta the stages downstream hear, in line with the
 * records, which partitions this member takes and lets go: "assigned"
 * before a partition's first record, "revoked" (or "lost") after its last
 * (pn_record_add_control).  pn(7) documents them; a filter that does not
 * know them passes them on.
 */
static void append_controls(struct run *r, const char *kind,
			    const rd_kafka_topic_partition_list_t *list)
{
	if (!r->o->group || !r->o->meta)
		return;
	for (int i = 0; i < list->cnt; i++) {
		pn_record_add_control(&r->out.buf, kind, list->elems[i].topic,
				      list->elems[i].partition, -1, -1);
		r->commit.dirty = 1;
		r->counts.controls++;
	}
	pn_commit_flush(&r->commit);
}

/* ---- the group's rebalances, the commits' answers ---- */

/*
 * A batch is taken by one rd_kafka_consume_batch_queue() call, which runs
 * the rebalance callbacks it meets on the way and goes on collecting, and
 * librdkafka 2.0 keeps messages it took for an assignment that a callback
 * has since ended (2.1 drops them itself).  Written after "revoked" such
 * a message would reach a stage that let its partition go; written after
 * a new "assigned" it would jump ahead of where the partition restarts
 * (its saved state), and the records in between, fetched again, would
 * pass for applied: on three Kafka brokers t9200 lost a few clicks of 18
 * campaigns that way.  So a callback met inside a batch only notes the
 * rebalance and marks the revoked partitions; the batch is written
 * without their messages, and the rebalance is carried out after it
 * (librdkafka waits for the assign call).  The partitions start again
 * from their commits or saved state, so nothing skipped is lost.
 */
static void mark_moved(struct run *r, const rd_kafka_topic_partition_list_t *list)
{
	for (int i = 0; i < list->cnt; i++)
		pn_commit_get(&r->commit, list->elems[i].topic, list->elems[i].partition)->moved = 1;
	r->moved = 1;
}

static void clear_moved(struct pn_part *p, void *arg)
{
	(void)arg;
	pn_commit_part_of(p)->moved = 0;
}

static void set_assigned(struct run *r, const rd_kafka_topic_partition_list_t *list, int on)
{
	r->ends_changed = 1;
	for (int i = 0; i < list->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &list->elems[i];

		pn_commit_get(&r->commit, tp->topic, tp->partition)->assigned = on;
	}
}

/* Takes the partitions of list, each from where it starts: 0, or -1 with
 * r->status set. */
static int take_partitions(struct run *r, rd_kafka_topic_partition_list_t *list)
{
	int status;

	set_assigned(r, list, 1);
	status = pn_start_set(r->rk, &r->o->start, &r->commit, list);
	if (!status && r->commit.by_pieces && r->o->group)
		status = pn_commit_start_at_saved(&r->commit, list);
	if (status)
		r->status = status;
	return status ? -1 : 0;
}

static void rebalance(struct run *r, rd_kafka_resp_err_t err,
		      rd_kafka_topic_partition_list_t *list)
{
	rd_kafka_t *rk = r->rk;
	int cooperative = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
	int lost;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		pn_info("assigned %d partition(s)", list->cnt);
		if (take_partitions(r, list) < 0)
			pn_stop = SIGTERM;
		append_controls(r, "assigned", list);
		if (cooperative)
			rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, list));
		else
			rd_kafka_assign(rk, list);
		return;
	}
	/* Revoked: what stdout has taken (or the state saved) is committed
	 * before letting go; a lost assignment is another member's to commit. */
	lost = rd_kafka_assignment_lost(rk);
	pn_info("%s %d partition(s)", lost ? "lost" : "revoked", list->cnt);
	append_controls(r, lost ? "lost" : "revoked", list);
	pn_commit_flush(&r->commit);
	if (!lost) {
		if (r->commit.by_pieces)
			pn_commit_wait_saved(&r->commit, list, PN_COMMIT_REVOKE_WAIT_MS);
		pn_commit_send(&r->commit, 1);
	}
	set_assigned(r, list, 0);
	if (cooperative)
		rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, list));
	else
		rd_kafka_assign(rk, NULL);
}

/* The rebalance a batch met, once its records are written. */
static void finish_rebalance(struct run *r)
{
	if (!r->pending)
		return;
	rebalance(r, r->pending_err, r->pending);
	rd_kafka_topic_partition_list_destroy(r->pending);
	r->pending = NULL;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *list, void *opaque)
{
	struct run *r = opaque;

	(void)rk;
	finish_rebalance(r); /* none pending: librdkafka waits for the assign call */
	if (!r->in_batch) {
		rebalance(r, err, list);
		return;
	}
	if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
		mark_moved(r, list);
	r->pending = rd_kafka_topic_partition_list_copy(list);
	r->pending_err = err;
}


static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
		      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	(void)rk;
	pn_commit_result(&((struct run *)opaque)->commit, err, offsets);
}

/* Without a group, every partition of the topics, or those of -p; with a
 * group and -p, those, committed to the group without joining it. */

static int assign_partitions(struct run *r)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
	int status = 0;

	for (int t = 0; t < r->o->ntopics && status == 0; t++) {
		const char *topic = r->o->topics[t];
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->rk, topic, NULL);
		const struct rd_kafka_metadata *md;
		rd_kafka_resp_err_t err = rd_kafka_metadata(r->rk, 0, rkt, &md, 10000);

		if (!err && md->topic_cnt == 1 && md->topics[0].err)
			err = md->topics[0].err;
		if (err) {
			pn_error("cannot read the partitions of topic '%s': %s", topic,
				 rd_kafka_err2str(err));
			r->status = pn_kafka_exit_status(err);
			status = -1;
		} else if (r->o->npartitions) {
			for (int i = 0; i < r->o->npartitions && status == 0; i++) {
				int32_t want = r->o->partitions[i];

				/* -e would wait for ever for the end of a partition
				 * that does not exist */
				if (want >= md->topics[0].partition_cnt) {
					pn_error("topic '%s' has no partition %d (it has %d)", topic,
						 (int)want, md->topics[0].partition_cnt);
					r->status = PN_EX_USAGE;
					status = -1;
				}
				rd_kafka_topic_partition_list_add(list, topic, want);
			}
		} else {
			for (int i = 0; i < md->topics[0].partition_cnt; i++)
				rd_kafka_topic_partition_list_add(list, topic,
								  md->topics[0].partitions[i].id);
		}
		if (!err)
			rd_kafka_metadata_destroy(md);
		rd_kafka_topic_destroy(rkt);
	}
	if (status == 0)
		pn_start_warn_unassigned(&r->commit, list);
	if (status == 0 && take_partitions(r, list) == 0) {
		append_controls(r, "assigned", list);
		rd_kafka_assign(r->rk, list);
	} else
		status = -1;
	rd_kafka_topic_partition_list_destroy(list);
	return status;
}

/* ---- the loop ---- */

struct partition_tally {
	int assigned;		/* partitions we hold */
	int open;		/* of those, not at their end nor past --until */
};

static void tally(struct pn_part *part, void *arg)
{
	struct partition_tally *t = arg;
	const struct pn_commit_part *p = pn_commit_part_of(part);

	t->assigned += p->assigned;
	t->open += p->assigned && !p->done && !p->at_end;
}

/* With -e or --until: true when no assigned partition has more to give. */
static int all_partitions_finished(struct run *r)
{
	struct partition_tally t = { 0, 0 };

	if (!r->o->exit_at_end && r->o->until_ms < 0)
		return 0;
	pn_offsets_each(&r->commit.parts, tally, &t);
	/* without -e, a partition that never reaches --until keeps us waiting */
	return t.assigned > 0 && t.open == 0;
}

/* A partition past --until: pause it, nothing more is wanted from it. */
static void stop_partition(struct run *r, struct pn_commit_part *p)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);

	p->done = 1;
	r->ends_changed = 1;
	rd_kafka_topic_partition_list_add(list, p->part.topic, p->part.partition);
	rd_kafka_pause_partitions(r->rk, list);
	rd_kafka_topic_partition_list_destroy(list);
}

/*
 * Appends the record of a Confluent Avro message.  A message that cannot
 * be decoded is reported with its position and set aside with --reject
 * (0), or ends the run before its offset is committed (-1).
 */
static int decode_message(struct run *r, rd_kafka_message_t *m)
{
	size_t at = r->out.buf.len;
	int status = pn_confluent_record(&r->avro, m, r->o->meta, &r->out.buf, &r->scratch);

	if (!status)
		return 0;
	r->out.buf.len = at;
	if (status != PN_EX_DATAERR) {
		pn_error("%s", pn_confluent_why(&r->avro));
	} else {
		pn_error("error (at topic '%s', partition %d, offset %lld): %s",
			 rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
			 pn_confluent_why(&r->avro));
		if (r->reject.f) {
			/* the message as pn-consume --meta writes any payload */
			pn_buf_reset(&r->tmp);
			pn_record_from_msg(&r->tmp, m, 1, &r->scratch);
			pn_reject_write(&r->reject, r->tmp.data, r->tmp.len - 1);
			return 1;
		}
	}
	r->status = status;
	r->finished = 1;
	return -1;
}

static void handle_message(struct run *r, rd_kafka_message_t *m)
{
	struct pn_commit_part *p = pn_commit_msg_part(&r->commit, m->rkt, m->partition);

	/* fetched for an assignment since revoked or replaced: mark_moved() */
	if (p->done || !p->assigned || p->moved)
		return;
	if (r->o->until_ms >= 0 && rd_kafka_message_timestamp(m, NULL) >= r->o->until_ms) {
		stop_partition(r, p);
		return;
	}
	p->at_end = 0;
	if (r->registry) {
		int set_aside = decode_message(r, m);

		if (set_aside) {
			if (set_aside > 0) { /* rejected: done with, so committable */
				p->part.appended = m->offset + 1;
				r->commit.dirty = 1;
			}
			return;
		}
	} else if (!pn_record_from_msg(&r->out.buf, m, r->o->meta, &r->scratch)) {
		r->counts.non_object++;
	}
	r->commit.dirty = 1;
	p->part.appended = m->offset + 1;
	r->counts.records++;
	r->counts.bytes += m->len;
	pn_progress_tick(&r->progress, r->counts.records);
	if (pn_out_record(&r->out) > 0)
		pn_commit_written(&r->commit);
	if (r->o->max_records && r->counts.records >= (uint64_t)r->o->max_records)
		r->finished = 1;
}

static void handle_error(struct run *r, rd_kafka_message_t *m)
{
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		if (r->o->exit_at_end && m->rkt) {
			pn_commit_msg_part(&r->commit, m->rkt, m->partition)->at_end = 1;
			r->ends_changed = 1;
		}
		return;
	}
	if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
	    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
	    m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || m->err == RD_KAFKA_RESP_ERR__FATAL) {
		pn_error("cannot consume%s%s: %s", m->rkt ? " from " : "",
			 m->rkt ? rd_kafka_topic_name(m->rkt) : "", rd_kafka_message_errstr(m));
		r->status = pn_kafka_exit_status(m->err);
		r->finished = 1;
		return;
	}
	pn_warn("%s", rd_kafka_message_errstr(m));
}

enum { BATCH = 256 };

/* Handles a batch of messages (and consumer errors) in order; stops early
 * when -c is reached, destroying the rest unwritten and uncommitted. */
static void handle_batch(struct run *r, rd_kafka_message_t **msgs, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		if (!r->finished && !pn_out_gone(&r->out)) {
			if (msgs[i]->err)
				handle_error(r, msgs[i]);
			else
				handle_message(r, msgs[i]);
		}
		rd_kafka_message_destroy(msgs[i]);
	}
}

static void add_fetching(struct pn_part *p, void *arg)
{
	if (pn_commit_part_of(p)->assigned && !pn_commit_part_of(p)->done)
		rd_kafka_topic_partition_list_add(arg, p->topic, p->partition)->offset =
			RD_KAFKA_OFFSET_END;	/* "latest", as a time */
}

/*
 * librdkafka 2.0 stops fetching while its queue holds more than
 * queued.max.messages.kbytes and looks again only when its broker thread
 * wakes, which an emptied queue does not do: up to a second later (2.3
 * added fetch.queue.backoff.ms for it).  With the small queue that keeps
 * pn-consume near 30 MB, reading a backlog waited on that second most of
 * the time: 3-4 times slower, measured.  So when the queue runs low after
 * a backlog, pn-consume wakes the fetchers itself: a ListOffsets request
 * to each partition leader, whose arrival on the leader's broker thread
 * makes it look at the queue again and fetch.  A caught-up consumer (no
 * full batch) sends none.
 *
 * The wake does not wait for the answers (a timeout of 0: librdkafka drops
 * the late replies, its callback is written for that).  It used to wait up
 * to 100 ms, and did: on three Kafka brokers sharing two busy cores a
 * ListOffsets took 30-60 ms, and the queue had long run dry by then, so a
 * backlog was read in 3 MB gulps with a stall between each.  It is also
 * sent before the queue is empty, at half of queued.max.messages.kbytes,
 * so the next replies arrive while the rest is written.  300k pings
 * --meta (-e), medians of 5 runs alternating on a loaded two-core machine:
 * from 12 partitions on three Kafka 4 brokers, 3.51 s before (a wake after
 * a 100 ms empty poll, waiting for the answers), 1.41 s after, kcat -C -J
 * 3.93 s; from 64 on the mock's three brokers, 2.49 s before, 0.99 s
 * after, kcat 2.13 s.  pn-consume's own CPU stays 0.2 s.  An error other
 * than the expected timeout (no leader known) waits out librdkafka's own
 * second; a request to a broker that is down waits in its queue until
 * socket.timeout.ms, and more follow only while full batches come from
 * the others, until the leaders move.
 */
enum { WAKE_INTERVAL_MS = 10, WAKE_BACKOFF_MS = 1000 };

static void wake_fetchers(struct run *r)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

	r->backlog = 0;
	r->counts.wakes++;
	pn_offsets_each(&r->commit.parts, add_fetching, list);
	if (list->cnt)
		err = rd_kafka_offsets_for_times(r->rk, list, 0);
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT)
		err = RD_KAFKA_RESP_ERR_NO_ERROR;	/* sent, not waited for */
	r->next_wake_ms = pn_now_ms() + (err ? WAKE_BACKOFF_MS : WAKE_INTERVAL_MS);
	rd_kafka_topic_partition_list_destroy(list);
}

/* True when the consumer queue holds less than r->queue_low bytes of
 * payload, reckoned from its length and the mean payload so far (the queue
 * tells its length, not its bytes). */
static int queue_low(const struct run *r, rd_kafka_queue_t *queue)
{
	uint64_t mean = r->counts.records ? r->counts.bytes / r->counts.records : 0;

	return rd_kafka_queue_length(queue) * (mean ? mean : 1) < r->queue_low;
}

static void consume_loop(struct run *r)
{
	/* a batch per call: one queue lock for up to BATCH messages */
	rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(r->rk);
	rd_kafka_message_t *msgs[BATCH];

	while (!pn_stop && !r->finished && !pn_out_gone(&r->out) && !pn_kafka_fatal) {
		ssize_t n;
		int64_t now;

		r->in_batch = 1;
		n = rd_kafka_consume_batch_queue(queue, FLUSH_INTERVAL_MS, msgs, BATCH);
		r->in_batch = 0;
		now = pn_now_ms();
		if (n > 0)
			handle_batch(r, msgs, n);
		pn_stats_live_at(&r->live, now);
		finish_rebalance(r);
		if (r->moved) {
			pn_offsets_each(&r->commit.parts, clear_moved, NULL);
			r->moved = 0;
		}
		if (n == BATCH)
			r->backlog = 1;
		if (r->backlog && now >= r->next_wake_ms && queue_low(r, queue))
			wake_fetchers(r);
		if (n <= 0 || now - r->commit.last_flush_ms >= FLUSH_INTERVAL_MS)
			pn_commit_flush(&r->commit);
		if (now - r->commit.last_commit_ms >= r->o->commit_interval_ms)
			pn_commit_send(&r->commit, 0);
		if (r->ends_changed) {
			r->ends_changed = 0;
			if (all_partitions_finished(r))
				r->finished = 1;
		}
	}
	rd_kafka_queue_destroy(queue);
	if (pn_kafka_fatal && !r->status)
		r->status = PN_EX_FAILED;
}

/*
 * librdkafka reads each fetch reply (up to fetch.max.bytes, 1 MB) into one
 * buffer that lives until the last of its messages is destroyed.  glibc
 * maps a block that large on its own, but once the first is freed it
 * raises its mmap threshold past that size, and the later replies come
 * from the broker threads' malloc arenas, which keep what is freed: the
 * peak RSS of reading 1M pings --meta from three Kafka brokers ranged
 * 28.0-32.7 MB (median 30.6) over 8 runs, and up to 35.4 MB in others.
 * Pinned at glibc's starting 128 KB, the threshold stays put and every
 * reply is given back once read: 26.9-29.5 MB (median 27.9) in the same 8
 * alternating runs, as fast (median 0.92 s, 1.01 s before), for up to
 * twice the minor page faults (about 0.03 s more system time).
 */
static void return_fetch_buffers(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

/* queued.max.messages.kbytes in bytes, as configured (-X may change it). */
static size_t queue_max_bytes(rd_kafka_t *rk)
{
	char value[32];
	size_t size = sizeof(value);
	int64_t kb;

	if (rd_kafka_conf_get(rd_kafka_conf(rk), "queued.max.messages.kbytes", value, &size) ||
	    pn_parse_int(value, 1, INT64_MAX / 1024, &kb))
		kb = 2048;
	return (size_t)kb * 1024;
}

static rd_kafka_t *open_consumer(struct run *r)
{
	const struct opts *o = r->o;
	const char *defaults[NDEFAULTS + 2];
	rd_kafka_conf_t *conf;
	char errstr[512], private_group[64];
	rd_kafka_t *rk;
	int ndefaults = NDEFAULTS - 1;	/* kafka_defaults without its NULL */

	memcpy(defaults, kafka_defaults, ndefaults * sizeof(*defaults));
	if (o->exit_at_end)
		defaults[ndefaults++] = exit_at_end_default;
	/* No cooperative-sticky default, though a moving partition takes its
	 * state along: with librdkafka 2.0.2 a member kept a partition it was
	 * not giving up 121-174 records short of its end after an incremental
	 * rebalance (t9200 on three Kafka brokers, in 3 runs of 9), and t9200
	 * with range took 43 s and counted exactly. */
	defaults[ndefaults] = NULL;
	conf = pn_kafka_conf_new(&o->kafka, defaults, &r->registry_conf);
	if (!conf)
		exit(PN_EX_CONFIG);
	/* librdkafka's consumer queue wants a group.id even when we only
	 * assign(); a private one that never joins nor commits serves.  With
	 * -p and -g the member assigns and commits without joining. */
	snprintf(private_group, sizeof(private_group), "pn-consume-%d", (int)getpid());
	if (rd_kafka_conf_set(conf, "group.id", o->group ? o->group : private_group, errstr,
			      sizeof(errstr)))
		pn_die(PN_EX_CONFIG, "bad group '%s': %s", o->group, errstr);
	if (o->exit_at_end)
		rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
	rd_kafka_conf_set_opaque(conf, r);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {	/* rd_kafka_new takes conf only when it succeeds */
		rd_kafka_conf_destroy(conf);
		pn_die(PN_EX_CONFIG, "cannot create the Kafka consumer: %s", errstr);
	}
	rd_kafka_poll_set_consumer(rk);
	r->queue_low = queue_max_bytes(rk) / 2;
	return rk;
}

static int subscribe(struct run *r)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(r->o->ntopics);
	rd_kafka_resp_err_t err;

	for (int i = 0; i < r->o->ntopics; i++)
		rd_kafka_topic_partition_list_add(list, r->o->topics[i], RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(r->rk, list);
	rd_kafka_topic_partition_list_destroy(list);
	r->commit.subscribed = 1;
	if (err) {
		pn_error("cannot subscribe: %s", rd_kafka_err2str(err));
		r->status = pn_kafka_exit_status(err);
		return -1;
	}
	return 0;
}

/* The counters of --stats, --stats-interval and --metrics. */
static void fill_stats(void *arg, struct pn_stats *w, double seconds)
{
	const struct run *r = arg;

	pn_stats_label(w, "topic", r->topics.data);
	pn_stats_label(w, "group", r->o->group);
	pn_stats_u64(w, "records", r->counts.records);
	pn_stats_u64(w, "non_object", r->counts.non_object);
	pn_stats_u64(w, "rejected", r->reject.count);
	pn_stats_u64(w, "bytes", r->counts.bytes);
	pn_stats_u64(w, "commits", r->commit.commits);
	pn_stats_u64(w, "controls", r->counts.controls);
	pn_stats_u64(w, "fetch_wakes", r->counts.wakes);
	pn_stats_double(w, "seconds", seconds);
}

/*
 * --lag and --list: a report on the cluster instead of records.  The
 * handle has the group's id for rd_kafka_committed() but never
 * subscribes, so the group's members see no rebalance.
 */
static int report_cluster(const struct opts *o)
{
	struct run r = { .o = o };
	const struct pn_cluster_query q = {
		.topics = o->topics, .ntopics = o->ntopics, .partitions = o->partitions,
		.npartitions = o->npartitions, .group = o->group, .max_lag = o->max_lag,
		.timeout_ms = (int)o->timeout_ms,
	};
	int status, out_status;

	pn_out_init(&r.out, STDOUT_FILENO, "standard output", OUT_THRESHOLD);
	r.rk = open_consumer(&r);
	status = o->lag ? pn_cluster_lag(r.rk, &q, &r.out) : pn_cluster_list(r.rk, &q, &r.out);
	out_status = pn_out_close(&r.out);
	/* a failed output outranks a lag over --max-lag, not an error */
	if (out_status && (!status || status == PN_EX_FAILED))
		status = out_status;
	rd_kafka_destroy(r.rk);
	pn_registry_conf_release(&r.registry_conf);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	int out_status, status;

	pn_set_progname(argv[0]);
	parse_options(&o, argc, argv);
	if (o.lag || o.list) {
		status = report_cluster(&o);
		pn_kafka_opts_release(&o.kafka);
		free(o.topics);
		free(o.partitions);
		return status;
	}
	memset(&r, 0, sizeof(r));
	r.o = &o;
	for (int i = 0; i < o.ntopics; i++)
		pn_buf_addf(&r.topics, "%s%s", i ? "," : "", o.topics[i]);
	pn_stats_live_init(&r.live, &o.stats, fill_stats, &r);
	pn_json_init(&r.scratch);
	pn_out_init(&r.out, STDOUT_FILENO, "standard output", OUT_THRESHOLD);
	status = pn_commit_init(&r.commit, &r.out, o.group, o.commit_from);
	r.commit.wait_sink = o.wait_for_sink;
	if (status)
		exit(status);
	if (o.start.file && pn_offsets_load_start(&r.commit.parts, o.start.file))
		exit(PN_EX_CONFIG);
	if (o.start.file && o.group)
		pn_start_warn_unsubscribed(&r.commit, o.topics, o.ntopics);
	pn_signal_install();
	pn_progress_init(&r.progress);

	return_fetch_buffers();
	r.rk = r.commit.rk = open_consumer(&r);
	r.registry = pn_registry_new(&r.registry_conf, o.registry_url);
	if (r.registry) {
		r.status = pn_confluent_consumer_init(&r.avro, r.registry, o.reader_schema);
	} else if (o.avro || o.reader_schema) {
		pn_error("--avro and --schema need a schema registry: --schema-registry URL, or "
			 "schema.registry.url in -F");
		r.status = PN_EX_CONFIG;
	}
	pn_reject_open(&r.reject, o.reject_path);
	r.commit.last_flush_ms = r.commit.last_commit_ms = pn_now_ms();
	if (!r.status && (o.group && !o.npartitions ? subscribe(&r) : assign_partitions(&r)) == 0)
		consume_loop(&r);

	pn_commit_flush(&r.commit);
	pn_commit_send(&r.commit, 1);
	pn_progress_done(&r.progress);
	rd_kafka_consumer_close(r.rk);
	out_status = pn_out_close(&r.out);
	if (out_status && !r.status)
		r.status = out_status;
	if (pn_reject_close(&r.reject) && !r.status)
		r.status = PN_EX_IOERR;
	pn_stats_live_end(&r.live);

	rd_kafka_destroy(r.rk);
	pn_commit_release(&r.commit);
	pn_json_release(&r.scratch);
	pn_confluent_release(&r.avro);
	pn_registry_free(r.registry);
	pn_registry_conf_release(&r.registry_conf);
	pn_buf_release(&r.tmp);
	pn_buf_release(&r.topics);
	pn_kafka_opts_release(&o.kafka);
	free(o.topics);
	free(o.partitions);
	return r.status;
}
