#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pn_err.h"
#include "pn_kafka.h"
#include "pn_signal.h"

volatile int pn_kafka_fatal;

void pn_kafka_opts_add_prop(struct pn_kafka_opts *o, const char *kv)
{
	o->props = pn_realloc(o->props, (o->nprops + 1) * sizeof(*o->props));
	o->props[o->nprops++] = pn_strdup(kv);
}

void pn_kafka_opt_property(const struct pn_opt *opt, const char *arg)
{
	pn_kafka_opts_add_prop(opt->dest, arg);
}

void pn_kafka_opts_release(struct pn_kafka_opts *o)
{
	for (int i = 0; i < o->nprops; i++)
		free(o->props[i]);
	free(o->props);
	o->props = NULL;
	o->nprops = 0;
}

const char *pn_registry_conf_get(const struct pn_registry_conf *r, const char *key)
{
	const char *found = NULL;

	for (int i = 0; r && i < r->n; i++)
		if (!strcmp(r->keys[i], key))
			found = r->values[i]; /* the last one set wins */
	return found;
}

void pn_registry_conf_release(struct pn_registry_conf *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->keys[i]);
		free(r->values[i]);
	}
	free(r->keys);
	free(r->values);
	memset(r, 0, sizeof(*r));
}

static void registry_add(struct pn_registry_conf *r, const char *key, const char *value)
{
	if (!r)
		return;
	r->keys = pn_realloc(r->keys, (r->n + 1) * sizeof(*r->keys));
	r->values = pn_realloc(r->values, (r->n + 1) * sizeof(*r->values));
	r->keys[r->n] = pn_strdup(key);
	r->values[r->n] = pn_strdup(value);
	r->n++;
}

/* Applies one key and value; `origin` says where it came from for errors. */
static int apply(rd_kafka_conf_t *conf, struct pn_registry_conf *reg,
		 const char *key, const char *value, const char *origin)
{
	static const char prefix[] = "schema.registry.";
	char errstr[512];

	if (!strncmp(key, prefix, sizeof(prefix) - 1)) {
		registry_add(reg, key + sizeof(prefix) - 1, value);
		return 0;
	}
	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		pn_error("bad Kafka setting '%s' (%s): %s", key, origin, errstr);
		return -1;
	}
	return 0;
}

/* Splits "key=value" and applies it. */
static int apply_kv(rd_kafka_conf_t *conf, struct pn_registry_conf *reg,
		    const char *kv, const char *origin)
{
	const char *eq = strchr(kv, '=');
	char *key;
	int r;

	if (!eq || eq == kv) {
		pn_error("bad Kafka setting '%s' (%s): expected key=value", kv, origin);
		return -1;
	}
	key = pn_strndup(kv, eq - kv);
	r = apply(conf, reg, key, eq + 1, origin);
	free(key);
	return r;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A properties file: key=value lines, '#' or '!' comments, blank lines. */
static int apply_file(rd_kafka_conf_t *conf, struct pn_registry_conf *reg, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, origin[1100];
	size_t cap = 0;
	unsigned lineno = 0;
	int status = 0;

	if (!f) {
		pn_error("cannot open configuration file '%s': %s", path, strerror(errno));
		return -1;
	}
	while (status == 0 && getline(&line, &cap, f) >= 0) {
		char *s = trim(line), *eq;

		lineno++;
		if (!*s || *s == '#' || *s == '!')
			continue;
		snprintf(origin, sizeof(origin), "%s:%u", path, lineno);
		eq = strchr(s, '=');
		if (!eq) {
			pn_error("bad line in configuration file (at %s): expected key=value", origin);
			status = -1;
			break;
		}
		*eq = '\0';
		status = apply(conf, reg, trim(s), trim(eq + 1), origin);
	}
	free(line);
	fclose(f);
	return status;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	/* librdkafka logs every connection attempt and retry; what matters
	 * reaches error_cb, so its log is -v material */
	pn_info("kafka: %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	char fatal[512];

	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		pn_error("kafka: fatal error: %s", fatal);
		pn_kafka_fatal = 1;
		return;
	}
	/* A lost connection is retried by librdkafka; say so only with -v. */
	if (err == RD_KAFKA_RESP_ERR__TRANSPORT)
		pn_info("kafka: %s", reason);
	else
		pn_warn("kafka: %s", reason);
}

/*
 * -X statistics.interval.ms=N: librdkafka's statistics JSON, one line on
 * stderr each, written with one call so that it does not mix with other
 * lines.  It comes on the thread that polls (rd_kafka_poll, or the
 * consumer's queue), so it is as punctual as the program's polling.
 */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	struct iovec line[2] = { { json, len }, { "\n", 1 } };

	(void)rk;
	(void)opaque;
	while (writev(STDERR_FILENO, line, 2) < 0 && errno == EINTR)
		;
	return 0;	/* librdkafka frees json */
}

rd_kafka_conf_t *pn_kafka_conf_new(const struct pn_kafka_opts *opts,
				   const char *const *defaults,
				   struct pn_registry_conf *reg)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *env_brokers = getenv("PN_BROKERS");
	char errstr[256];

	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	rd_kafka_conf_set_stats_cb(conf, stats_cb);
	for (int i = 0; defaults && defaults[i]; i++)
		if (apply_kv(conf, reg, defaults[i], "built-in default"))
			goto fail;
	if (opts->conf_file && apply_file(conf, reg, opts->conf_file))
		goto fail;
	if (env_brokers && *env_brokers &&
	    apply(conf, reg, "bootstrap.servers", env_brokers, "PN_BROKERS"))
		goto fail;
	if (opts->brokers && apply(conf, reg, "bootstrap.servers", opts->brokers, "-b"))
		goto fail;
	for (int i = 0; i < opts->nprops; i++)
		if (apply_kv(conf, reg, opts->props[i], "-X"))
			goto fail;
	/* bootstrap.servers is an alias; the property itself reads back */
	if (rd_kafka_conf_get(conf, "metadata.broker.list", errstr, &(size_t){ sizeof(errstr) }) !=
		    RD_KAFKA_CONF_OK || !*errstr) {
		pn_error("no Kafka brokers given: use -b, PN_BROKERS or bootstrap.servers in -F");
		goto fail;
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* The entry `name` of the one resource a DescribeConfigs result holds. */
static int config_entry(const rd_kafka_DescribeConfigs_result_t *res, const char *name,
			char *buf, size_t size)
{
	size_t nres, nconf;
	const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(res, &nres);

	if (nres != 1 || rd_kafka_ConfigResource_error(rs[0]))
		return -1;
	const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(rs[0], &nconf);
	for (size_t i = 0; i < nconf; i++) {
		const char *value = rd_kafka_ConfigEntry_value(entries[i]);

		if (!strcmp(rd_kafka_ConfigEntry_name(entries[i]), name) && value &&
		    (size_t)snprintf(buf, size, "%s", value) < size)
			return 0;
	}
	return -1;
}

/* The leader of the topic's first partition, or -1. */
static int32_t topic_leader(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md;
	int32_t leader = -1;

	if (!rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms)) {
		if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
			leader = md->topics[0].partitions[0].leader;
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_topic_destroy(rkt);
	return leader;
}

int pn_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *buf,
			  size_t size, int timeout_ms)
{
	/* asked of a broker that has the topic, not of "the controller":
	 * the mock names controller 0, which it does not have, and the
	 * request would wait for it until timeout_ms */
	int32_t broker = topic_leader(rk, topic, timeout_ms);
	rd_kafka_queue_t *q;
	rd_kafka_ConfigResource_t *res;
	rd_kafka_AdminOptions_t *opt;
	rd_kafka_event_t *ev;
	int found = -1;

	if (broker < 0)
		return -1;
	q = rd_kafka_queue_new(rk);
	res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
	rd_kafka_AdminOptions_set_request_timeout(opt, timeout_ms, NULL, 0);
	rd_kafka_AdminOptions_set_broker(opt, broker, NULL, 0);
	rd_kafka_DescribeConfigs(rk, &res, 1, opt, q);
	ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
	if (ev && rd_kafka_event_type(ev) == RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT &&
	    !rd_kafka_event_error(ev))
		found = config_entry(rd_kafka_event_DescribeConfigs_result(ev), name, buf, size);
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(opt);
	rd_kafka_ConfigResource_destroy(res);
	rd_kafka_queue_destroy(q);
	return found;
}

int pn_kafka_exit_status(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return PN_EX_OK;
	case RD_KAFKA_RESP_ERR__TRANSPORT:
	case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
	case RD_KAFKA_RESP_ERR__RESOLVE:
		return PN_EX_UNAVAILABLE;
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
	case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
		return PN_EX_TEMPFAIL;
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return PN_EX_CONFIG;
	default:
		return PN_EX_FAILED;
	}
}
