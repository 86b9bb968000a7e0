/*
 * pn-produce — send NDJSON records to a Kafka topic.
 *
 * Each input line is one JSON object.  Its fields, without the underscore
 * metadata fields, become the message value; _key (or --key FIELD),
 * _headers, _timestamp and, with --keep-partition, _partition shape the
 * message, so `pn-consume --meta | pn-produce` reproduces a stream
 * (pn-consume's control records are not sent, only counted).  The
 * producer is idempotent with acks=all; the program exits 0 only when
 * every record it sent was acknowledged.  A bad line stops the input
 * (exit 65, nothing after it sent) unless --reject sets it aside.
 * With --avro each record is sent as Confluent Avro instead, its schema
 * registered in (or read from) a schema registry.
 *
 * With -X transactional.id=ID the whole run is one Kafka transaction,
 * committed at the end of the input only when every record was
 * acknowledged, and aborted on a bad line, a failed delivery or a stop
 * signal: read_committed consumers see all of the input or none of it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pn_clock.h"
#include "pn_confluent.h"
#include "pn_err.h"
#include "pn_input.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_kafka.h"
#include "pn_num.h"
#include "pn_opt.h"
#include "pn_record.h"
#include "pn_registry.h"
#include "pn_signal.h"
#include "pn_stats.h"

static const char usage_text[] =
	"usage: pn-produce -b BROKERS -t TOPIC [-X PROP=VAL] [-F FILE] [-k FIELD]\n"
	"                  [-p PARTITION | --keep-partition] [-H NAME=VALUE]\n"
	"                  [-z CODEC] [--avro [--schema FILE] [--key-schema FILE]\n"
	"                  [--subject NAME] [--schema-registry URL]]\n"
	"                  [--reject FILE] [--stats] [--stats-interval D]\n"
	"                  [--metrics FILE] [-qv] [FILE ...]\n";

static const struct pn_opt_text help_text = {
	.usage = usage_text,
	.about = "Send NDJSON records from FILEs (or stdin) to a Kafka topic.\n",
	.epilog = "Exit status: 0 all acknowledged, 1 some records failed, 64 usage,\n"
		  "65 bad input, 69 Kafka or registry unavailable, 74 I/O error, 75 registry\n"
		  "error worth a retry, 78 bad configuration.\n",
};

struct opts {
	struct pn_kafka_opts kafka;
	const char *topic;
	const char *key_field;
	int32_t partition;		/* RD_KAFKA_PARTITION_UA unless -p */
	int keep_partition;
	char **headers;			/* -H NAME=VALUE */
	int nheaders;
	const char *compression;
	const char *reject_path;
	struct pn_stats_opts stats;
	int avro;			/* --avro: Confluent Avro values */
	const char *schema_path, *key_schema_path, *subject, *registry_url;
	char **inputs;
	int ninputs;
};

/* Counters, also what --stats prints with the input's. */
struct counts {
	uint64_t sent;		/* records handed to librdkafka */
	uint64_t acked;		/* delivery confirmed */
	uint64_t failed;	/* delivery failed */
	uint64_t purged;	/* dropped unsent: by librdkafka when a transaction
				 * failed, or by our abort */
	uint64_t committed;	/* in the committed transaction */
	uint64_t bytes;		/* value bytes sent */
};

/* What the delivery report callback needs to name a failed record. */
struct delivery {
	struct counts *counts;
	const struct pn_input *in;	/* names by input index */
	unsigned reported;
	uint64_t unreachable;	/* failures because no broker answered */
};

enum { MAX_FAILURE_MESSAGES = 10 };

/* A message's opaque: its input index and line number, to name it on failure. */
#define POSITION(input, line) ((void *)(uintptr_t)(((uint64_t)(input) << 48) | (line)))
#define POSITION_INPUT(p) ((unsigned)((uintptr_t)(p) >> 48))
#define POSITION_LINE(p) ((unsigned long long)((uintptr_t)(p) & ((1ULL << 48) - 1)))

/*
 * transaction.timeout.ms counts only with transactional.id.  It bounds the
 * run's one transaction: the coordinator aborts a transaction older than
 * that.  librdkafka's 60 s would cut a replay of a few million records
 * short; 15 minutes is the most a broker allows by default (its
 * transaction.max.timeout.ms), and a killed run's transaction, which holds
 * back read_committed consumers of its partitions until then, ends at
 * once when a run with the same transactional.id starts.
 */
static const char *const kafka_defaults[] = {
	"enable.idempotence=true",
	"acks=all",
	"linger.ms=5",
	"client.id=pn-produce",
	"transaction.timeout.ms=900000",
	NULL,
};

/* How long one call of the transaction API (init, commit, abort) may
 * take, and how often a commit that timed out is asked again. */
enum { TXN_CALL_TIMEOUT_MS = 60000, TXN_COMMIT_TRIES = 5 };

static void take_header(const struct pn_opt *opt, const char *arg)
{
	struct opts *o = opt->dest;

	if (!strchr(arg, '=') || *arg == '=')
		pn_usage_error(usage_text, "bad header '%s': expected NAME=VALUE", arg);
	o->headers = pn_realloc(o->headers, (o->nheaders + 1) * sizeof(*o->headers));
	o->headers[o->nheaders++] = (char *)arg;
}

static void parse_options(struct opts *o, int argc, char **argv)
{
	const struct pn_opt options[] = {
		PN_OPT_KAFKA(&o->kafka),
		PN_OPT_STRING('t', "topic", "TOPIC", "topic to produce to", &o->topic),
		PN_OPT_STRING('k', "key", "FIELD", "message key from this field (default: _key)",
			      &o->key_field),
		PN_OPT_INT('p', "partition", "N", "send every record to partition N",
			   &o->partition, 0, INT32_MAX, .bad = "bad partition '%s'"),
		PN_OPT_FLAG(0, "keep-partition", "send each record to its _partition",
			    &o->keep_partition),
		PN_OPT_CALLBACK('H', "header", "NAME=VALUE",
				"add a header to every message (repeatable)", take_header, o, 0),
		PN_OPT_STRING('z', "compression", "CODEC", "none, gzip, snappy, lz4 or zstd",
			      &o->compression),
		PN_OPT_FLAG(0, "avro", "send Confluent Avro (needs a schema registry)", &o->avro),
		PN_OPT_STRING(0, "schema", "FILE", "register this .avsc for the values (default: "
			      "the subject's latest schema)", &o->schema_path),
		PN_OPT_STRING(0, "key-schema", "FILE", "register this .avsc for the keys "
			      "(<topic>-key)", &o->key_schema_path),
		PN_OPT_STRING(0, "subject", "NAME", "value subject (default <topic>-value)",
			      &o->subject),
		PN_OPT_SCHEMA_REGISTRY(&o->registry_url),
		PN_OPT_READER_END(&o->reject_path, "bad lines", &o->stats),
	};
	int first;

	memset(o, 0, sizeof(*o));
	o->partition = RD_KAFKA_PARTITION_UA;
	first = pn_opt_parse(argc, argv, options, &help_text);
	if (!o->avro && (o->schema_path || o->key_schema_path || o->subject))
		pn_usage_error(usage_text, "--schema, --key-schema and --subject go with --avro");
	if (!o->topic)
		pn_usage_error(usage_text, "no topic given (-t)");
	if (o->keep_partition && o->partition != RD_KAFKA_PARTITION_UA)
		pn_usage_error(usage_text, "--partition and --keep-partition exclude each other");
	o->inputs = argv + first;
	o->ninputs = argc - first;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct delivery *d = opaque;

	(void)rk;
	if (!m->err) {
		d->counts->acked++;
		return;
	}
	/* an abort drops what was not sent yet: the abort is what is told */
	if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
		d->counts->purged++;
		return;
	}
	d->counts->failed++;
	if (m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT || m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
	    m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		d->unreachable++;
	if (d->reported++ < MAX_FAILURE_MESSAGES)
		pn_error("delivery failed (at %s:%llu): %s",
			 pn_input_name(d->in, POSITION_INPUT(m->_private)),
			 POSITION_LINE(m->_private), rd_kafka_err2str(m->err));
	else if (d->reported == MAX_FAILURE_MESSAGES + 1)
		pn_error("more deliveries failed; counting them without messages");
}

/* The state of one run: the handle and the buffers reused for every record. */
struct run {
	const struct opts *o;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	struct pn_input in;	/* the inputs, the reject file, the progress line */
	struct pn_msg msg;
	struct pn_registry_conf registry_conf;	/* schema.registry.* of -F/-X */
	struct pn_registry *registry;
	struct pn_confluent avro;
	struct counts counts;
	struct delivery *delivery;
	char *txn_id;		/* transactional.id, or NULL: no transaction */
	int in_txn;		/* the transaction has begun */
	struct pn_stats_live live;	/* --stats-interval, --metrics */
	long topic_limit;	/* the topic's max.message.bytes, when below ours */
	char why[96];		/* a bad record's reason, made here */
	int status;		/* exit status so far */
};

static rd_kafka_headers_t *message_headers(const struct pn_msg *m)
{
	rd_kafka_headers_t *h;

	if (!m->nhdr)
		return NULL;
	h = rd_kafka_headers_new(m->nhdr);
	for (int i = 0; i < m->nhdr; i++) {
		const struct pn_header *x = &m->hdr[i];

		rd_kafka_header_add(h, m->hdr_buf.data + x->name_off, x->name_len,
				    x->value_null ? NULL : m->hdr_buf.data + x->value_off,
				    x->value_len);
	}
	return h;
}

/* Hands one message to librdkafka, waiting while its queue is full.
 * Returns 0, or the error it refused the message with. */
static rd_kafka_resp_err_t send_msg(struct run *r, void *position)
{
	const struct pn_msg *m = &r->msg;
	int32_t partition = r->o->keep_partition && m->partition >= 0 ? m->partition
								    : r->o->partition;
	rd_kafka_resp_err_t err;

	for (;;) {
		rd_kafka_headers_t *h = message_headers(m);

		err = rd_kafka_producev(r->rk, RD_KAFKA_V_RKT(r->rkt),
					RD_KAFKA_V_PARTITION(partition),
					RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
					RD_KAFKA_V_KEY(m->key, m->key_len),
					RD_KAFKA_V_TIMESTAMP(m->timestamp),
					RD_KAFKA_V_HEADERS(h),
					RD_KAFKA_V_OPAQUE(position), RD_KAFKA_V_END);
		if (err && h)
			rd_kafka_headers_destroy(h); /* ownership passes only on success */
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || pn_kafka_fatal)
			return err;
		rd_kafka_poll(r->rk, 100);
	}
}

/* Turns one record into a message and sends it (pn_input's callback). */
static int produce_record(void *arg, struct pn_input *in, char *line, size_t len,
			  const char **why)
{
	struct run *r = arg;
	rd_kafka_resp_err_t err;

	(void)line;
	(void)len;
	if (pn_record_to_msg(&in->json, r->o->key_field, &r->msg, why))
		return PN_INPUT_BAD;
	if (r->o->avro && pn_confluent_encode(&r->avro, &in->json, r->o->key_field, &r->msg, why))
		return PN_INPUT_BAD;
	for (int i = 0; i < r->o->nheaders; i++) {
		const char *h = r->o->headers[i], *eq = strchr(h, '=');

		pn_msg_add_header(&r->msg, h, eq - h, eq + 1, strlen(eq + 1));
	}
	err = send_msg(r, POSITION(in->index, in->reader.lineno));
	if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
		if (r->topic_limit)
			snprintf(r->why, sizeof(r->why),
				 "record is larger than the topic's max.message.bytes (%ld)",
				 r->topic_limit);
		else
			snprintf(r->why, sizeof(r->why), "record is larger than message.max.bytes");
		*why = r->why;
		return PN_INPUT_BAD;
	}
	/* a failed delivery has doomed the transaction: its report says why */
	if (err == RD_KAFKA_RESP_ERR__STATE && r->txn_id)
		return PN_EX_FAILED;
	if (err) {
		pn_error_at(in->reader.name, in->reader.lineno, "cannot produce: %s",
			    rd_kafka_err2str(err));
		return pn_kafka_exit_status(err);
	}
	r->counts.sent++;
	r->counts.bytes += r->msg.value_len;
	/* Serve delivery reports as we go; every record would cost a lock each. */
	if ((r->counts.sent & 255) == 0)
		rd_kafka_poll(r->rk, 0);
	return 0;
}

/* A fatal error of the idempotent producer ends the input. */
static int kafka_failed(void *arg)
{
	(void)arg;
	return pn_kafka_fatal;
}

/*
 * A quiet input still has its delivery reports served, so that acked is
 * current, and librdkafka's statistics, which come on the same poll.
 * Busy, produce_record polls every 256 records.
 */
enum { IDLE_POLL_MS = 1000 };

static int produce_tick(void *arg, struct pn_input *in, int quiet)
{
	struct run *r = arg;

	(void)in;
	if (quiet)
		rd_kafka_poll(r->rk, 0);
	return 0;
}

/* Waits until every message is delivered or has failed. */
static void drain(struct run *r)
{
	while (rd_kafka_outq_len(r->rk) > 0 && !pn_kafka_fatal) {
		rd_kafka_flush(r->rk, 200);
		pn_stats_live_check(&r->live);
	}
}

/* After the drain: 0 when every record sent was acknowledged, else 1, or
 * 69 when nothing got through and no broker answered.  Records that the
 * producer dropped unsent (a transaction that failed is purged by
 * librdkafka itself, before any abort of ours) were not acknowledged
 * either. */
static int delivery_status(const struct run *r)
{
	const struct counts *c = &r->counts;
	uint64_t lost = c->failed + c->purged;

	if (!lost)
		return PN_EX_OK;
	pn_error("%llu of %llu records were not acknowledged", (unsigned long long)lost,
		 (unsigned long long)c->sent);
	return !c->acked && r->delivery->unreachable + c->purged == lost ? PN_EX_UNAVAILABLE
									 : PN_EX_FAILED;
}

/*
 * Transactions.  The run is one transaction: begun before the first
 * record, committed after the drain when nothing went wrong, aborted
 * otherwise.  A fatal error ends it without an abort: the producer can do
 * nothing more, and the coordinator aborts the transaction itself.
 */

/* The producer's transactional.id (malloc'ed), or NULL when it has none. */
static char *transactional_id(const rd_kafka_conf_t *conf)
{
	size_t size = 0;
	char *id;

	if (rd_kafka_conf_get(conf, "transactional.id", NULL, &size) != RD_KAFKA_CONF_OK ||
	    size <= 1)
		return NULL;
	id = pn_malloc(size);
	rd_kafka_conf_get(conf, "transactional.id", id, &size);
	return id;
}

static int64_t conf_ms(const rd_kafka_conf_t *conf, const char *name)
{
	char value[32];
	size_t size = sizeof(value);
	int64_t ms;

	if (rd_kafka_conf_get(conf, name, value, &size) != RD_KAFKA_CONF_OK ||
	    pn_parse_int(value, 0, INT64_MAX, &ms))
		return -1;
	return ms;
}

/*
 * With transactional.id librdkafka raises socket.timeout.ms and
 * message.timeout.ms to the transaction timeout unless they were set: a
 * request to a broker gone silent would then wait 15 minutes.  They keep
 * their values without transactions (60 s, 5 min) where they fit under the
 * transaction timeout; where they do not, librdkafka lowers a default to
 * it, or names the setting that is too large.
 */
static void keep_timeouts(rd_kafka_conf_t *conf)
{
	static const struct {
		const char *name;
		int slack;	/* how far above the transaction timeout librdkafka allows */
	} timeouts[] = { { "socket.timeout.ms", 100 }, { "message.timeout.ms", 0 } };
	int64_t txn = conf_ms(conf, "transaction.timeout.ms");
	char value[32];

	for (size_t i = 0; i < sizeof(timeouts) / sizeof(*timeouts); i++) {
		int64_t ms = conf_ms(conf, timeouts[i].name);

		if (ms < 0 || txn < 0 || ms > txn + timeouts[i].slack)
			continue;
		snprintf(value, sizeof(value), "%lld", (long long)ms);
		rd_kafka_conf_set(conf, timeouts[i].name, value, NULL, 0);
	}
}

static int is_fenced(rd_kafka_resp_err_t err)
{
	return err == RD_KAFKA_RESP_ERR__FENCED || err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
	       err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
}

/* A producer fenced off: the other producer's run is the one that counts. */
static void report_fenced(const struct run *r)
{
	pn_error("transaction fenced: another producer started with transactional.id '%s', "
		 "or the transaction outlived transaction.timeout.ms; none of this run's "
		 "records is visible", r->txn_id);
}

/* The fatal error that stopped the producer, reported; returns 1. */
static int transaction_fatal(const struct run *r)
{
	char reason[512];

	if (is_fenced(rd_kafka_fatal_error(r->rk, reason, sizeof(reason))))
		report_fenced(r);
	else
		pn_error("transaction failed: none of this run's records is visible");
	return PN_EX_FAILED;
}

/* Reports a failed call of the transaction API (what: "cannot commit the
 * transaction") and destroys e; returns the exit status it calls for. */
static int transaction_error(const struct run *r, const char *what, rd_kafka_error_t *e)
{
	rd_kafka_resp_err_t code = rd_kafka_error_code(e);
	int status;

	if (is_fenced(code)) {
		report_fenced(r);
		status = PN_EX_FAILED;
	} else {
		pn_error("%s: %s", what, rd_kafka_error_string(e));
		if (code == RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT)
			pn_error("transaction.timeout.ms is above the brokers' "
				 "transaction.max.timeout.ms; set it lower with -X");
		if (code == RD_KAFKA_RESP_ERR__TIMED_OUT || rd_kafka_error_is_retriable(e))
			status = PN_EX_UNAVAILABLE;
		else
			status = pn_kafka_exit_status(code);
	}
	rd_kafka_error_destroy(e);
	return status;
}

/* Finds the coordinator, ends what an earlier producer with the same
 * transactional.id left open, and begins the run's transaction. */
static int begin_transaction(struct run *r)
{
	rd_kafka_error_t *e = rd_kafka_init_transactions(r->rk, TXN_CALL_TIMEOUT_MS);

	if (!e)
		e = rd_kafka_begin_transaction(r->rk);
	return e ? transaction_error(r, "cannot begin a transaction", e) : 0;
}

static void abort_transaction(struct run *r)
{
	rd_kafka_error_t *e = rd_kafka_abort_transaction(r->rk, TXN_CALL_TIMEOUT_MS);

	rd_kafka_poll(r->rk, 0); /* the reports of what the abort dropped */
	if (e) {
		transaction_error(r, "cannot abort the transaction", e);
		pn_error("the coordinator aborts it after transaction.timeout.ms, or when a "
			 "producer with transactional.id '%s' starts", r->txn_id);
		return;
	}
	pn_error("transaction aborted: none of its %llu records is visible",
		 (unsigned long long)r->counts.sent);
}

/*
 * Commits: librdkafka flushes, then asks the coordinator.  A commit that
 * times out has an unknown outcome, and asking again is how to learn it.
 * One that fails for good has not happened: it is aborted.
 */
static int commit_transaction(struct run *r)
{
	rd_kafka_error_t *e;
	int status, unknown;

	for (int tries = 1;; tries++) {
		e = rd_kafka_commit_transaction(r->rk, TXN_CALL_TIMEOUT_MS);
		if (!e) {
			r->counts.committed = r->counts.acked;
			pn_info("transaction committed: %llu records",
				(unsigned long long)r->counts.committed);
			return PN_EX_OK;
		}
		if (!rd_kafka_error_is_retriable(e) || tries == TXN_COMMIT_TRIES)
			break;
		pn_warn("commit not confirmed yet (%s); asking again", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
	if (rd_kafka_error_txn_requires_abort(e)) {
		transaction_error(r, "cannot commit the transaction", e);
		abort_transaction(r);
		return PN_EX_FAILED;
	}
	unknown = rd_kafka_error_is_retriable(e);
	status = transaction_error(r, "cannot commit the transaction", e);
	if (unknown)
		pn_error("the commit was not confirmed: the records may or may not be visible; "
			 "read the topic before running again");
	return status;
}

/*
 * Ends the run's transaction once the input has ended: commits it when
 * every record was read and acknowledged, else aborts it.  Returns the
 * run's exit status; a stop signal is 1, since nothing was sent.
 */
static int end_transaction(struct run *r)
{
	int status = r->status;

	if (!status && !pn_stop && !pn_kafka_fatal) {
		drain(r);
		status = delivery_status(r);
		if (!status && !pn_kafka_fatal)
			return commit_transaction(r);
	}
	if (pn_kafka_fatal)
		return transaction_fatal(r);
	if (pn_stop && !status) {
		pn_error("stopped by signal %d", (int)pn_stop);
		status = PN_EX_FAILED;
	}
	abort_transaction(r);
	return status;
}

/* The counters of --stats, --stats-interval and --metrics. */
static void fill_stats(void *arg, struct pn_stats *w, double seconds)
{
	const struct run *r = arg;
	const struct counts *c = &r->counts;

	pn_stats_label(w, "topic", r->o->topic);
	pn_stats_u64(w, "lines", r->in.lines);
	pn_stats_u64(w, "sent", c->sent);
	pn_stats_u64(w, "acked", c->acked);
	pn_stats_u64(w, "failed", c->failed);
	pn_stats_u64(w, "rejected", r->in.reject.count);
	pn_stats_u64(w, "bytes", c->bytes);
	pn_stats_u64(w, "controls", r->in.controls);
	if (r->txn_id)
		pn_stats_u64(w, "committed", c->committed);
	pn_stats_double(w, "seconds", seconds);
}

/* max_bytes: message.max.bytes to set over the other settings, or 0. */
static rd_kafka_t *open_producer(const struct opts *o, struct delivery *d,
				 struct pn_registry_conf *reg, long max_bytes)
{
	rd_kafka_conf_t *conf = pn_kafka_conf_new(&o->kafka, kafka_defaults, reg);
	char errstr[512], value[32], *txn_id;
	rd_kafka_t *rk;

	if (!conf)
		exit(PN_EX_CONFIG);
	txn_id = transactional_id(conf);
	if (txn_id)
		keep_timeouts(conf);
	free(txn_id);
	/* the configuration is freed before an exit, so that LeakSanitizer,
	 * which makes the status 1 when it finds a leak, keeps ours */
	if (o->compression &&
	    rd_kafka_conf_set(conf, "compression.codec", o->compression, errstr,
			      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		pn_usage_error(usage_text, "bad compression '%s': %s", o->compression, errstr);
	}
	snprintf(value, sizeof(value), "%ld", max_bytes);
	if (max_bytes && rd_kafka_conf_set(conf, "message.max.bytes", value, errstr,
					   sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		pn_die(PN_EX_CONFIG, "cannot use the topic's max.message.bytes %ld: %s", max_bytes,
		       errstr);
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_opaque(conf, d);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {	/* rd_kafka_new takes conf only when it succeeds */
		rd_kafka_conf_destroy(conf);
		pn_die(PN_EX_CONFIG, "cannot create the Kafka producer: %s", errstr);
	}
	return rk;
}

/*
 * The topic's max.message.bytes when it is below the producer's
 * message.max.bytes, else 0.  A broker refuses a whole batch that passes
 * the topic's limit, and librdkafka, which fills batches up to its own
 * message.max.bytes, then fails every record of it (20 records of 300
 * bytes on a topic of 2000: 20 failed).  Made again with the topic's
 * limit, the producer sends batches that fit, and a record too large on
 * its own is refused before it is sent, as a bad line with its position.
 * A cluster that does not answer (the mock) leaves the settings alone.
 */
enum { TOPIC_CONFIG_TIMEOUT_MS = 5000 };

static long topic_limit_below(rd_kafka_t *rk, const char *topic)
{
	char topic_max[32], ours[32];
	size_t size = sizeof(ours);
	int64_t limit, current;

	if (pn_kafka_topic_config(rk, topic, "max.message.bytes", topic_max, sizeof(topic_max),
				  TOPIC_CONFIG_TIMEOUT_MS) ||
	    rd_kafka_conf_get(rd_kafka_conf(rk), "message.max.bytes", ours, &size) !=
		    RD_KAFKA_CONF_OK ||
	    pn_parse_int(topic_max, 1, INT32_MAX, &limit) || pn_parse_int(ours, 1, INT32_MAX, &current))
		return 0;
	return limit < current ? (long)limit : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	struct delivery d;

	pn_set_progname(argv[0]);
	parse_options(&o, argc, argv);
	memset(&r, 0, sizeof(r));
	r.o = &o;
	pn_stats_live_init(&r.live, &o.stats, fill_stats, &r);
	pn_msg_init(&r.msg);
	d = (struct delivery){ .counts = &r.counts, .in = &r.in };
	r.delivery = &d;
	pn_signal_install();

	r.rk = open_producer(&o, &d, &r.registry_conf, 0);
	r.topic_limit = topic_limit_below(r.rk, o.topic);
	if (r.topic_limit) {
		rd_kafka_destroy(r.rk);
		pn_registry_conf_release(&r.registry_conf);
		r.rk = open_producer(&o, &d, &r.registry_conf, r.topic_limit);
	}
	r.rkt = rd_kafka_topic_new(r.rk, o.topic, NULL);
	r.txn_id = transactional_id(rd_kafka_conf(r.rk));
	pn_input_init(&r.in, o.reject_path);
	r.in.arg = &r;
	r.in.record = produce_record;
	r.in.stop = kafka_failed;
	r.in.tick = produce_tick;
	r.in.timeout_ms = IDLE_POLL_MS;
	r.in.live = &r.live;
	if (o.avro) {
		r.registry = pn_registry_new(&r.registry_conf, o.registry_url);
		if (!r.registry) {
			pn_error("--avro needs a schema registry: --schema-registry URL, or "
				 "schema.registry.url in -F");
			r.status = PN_EX_CONFIG;
		} else {
			r.status = pn_confluent_producer_init(&r.avro, r.registry, o.topic,
							      o.subject, o.schema_path,
							      o.key_schema_path);
		}
	}

	if (!r.status && r.txn_id) {
		r.status = begin_transaction(&r);
		r.in_txn = !r.status;
	}
	if (!r.status)
		r.status = pn_input_run(&r.in, o.inputs, o.ninputs);

	if (r.in_txn) {
		r.status = end_transaction(&r);
	} else {
		int delivered;

		if (pn_stop)
			pn_info("stopping on signal %d after %llu records; flushing", (int)pn_stop,
				(unsigned long long)r.counts.sent);
		drain(&r);
		delivered = delivery_status(&r);
		if (!r.status)
			r.status = delivered;
		if (pn_kafka_fatal && !r.status)
			r.status = PN_EX_FAILED;
	}
	if (pn_input_release(&r.in) && !r.status)
		r.status = PN_EX_IOERR;
	pn_stats_live_end(&r.live);

	rd_kafka_topic_destroy(r.rkt);
	rd_kafka_destroy(r.rk);
	pn_msg_release(&r.msg);
	if (o.avro)
		pn_confluent_release(&r.avro);
	pn_registry_free(r.registry);
	pn_registry_conf_release(&r.registry_conf);
	pn_kafka_opts_release(&o.kafka);
	free(o.headers);
	free(r.txn_id);
	return r.status;
}
