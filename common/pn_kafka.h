/*
 * pn_kafka — Kafka configuration and the callbacks every program shares.
 *
 * Settings reach librdkafka unchanged, as kcat users expect: `-b brokers`,
 * `-X prop=value` and `-F file` of `prop=value` lines.  They apply in a
 * fixed order, later ones winning: the program's defaults < the -F file <
 * the environment (PN_BROKERS) < the -b and -X flags.  Keys starting with
 * `schema.registry.` are never given to librdkafka; they are kept for the
 * schema registry client, so one properties file serves every program and
 * the Confluent clients alike.
 */
#ifndef PN_KAFKA_H
#define PN_KAFKA_H

#include <librdkafka/rdkafka.h>

#include "pn_opt.h"

/* What the command line said about Kafka, in order. */
struct pn_kafka_opts {
	const char *brokers;	/* -b */
	const char *conf_file;	/* -F */
	char **props;		/* -X values, "key=value" */
	int nprops;
};

/* The schema.registry.* settings kept aside (key without the prefix). */
struct pn_registry_conf {
	char **keys;
	char **values;
	int n;
};

void pn_kafka_opts_add_prop(struct pn_kafka_opts *o, const char *kv);
/* -X for the option table: adds arg to the struct pn_kafka_opts at opt->dest. */
pn_opt_fn pn_kafka_opt_property;
void pn_kafka_opts_release(struct pn_kafka_opts *o);

/* The option table's entries of the shared Kafka options -b, -X and -F,
 * into the struct pn_kafka_opts at o. */
#define PN_OPT_KAFKA(o) \
	PN_OPT_STRING('b', "brokers", "LIST", "bootstrap brokers (host:port,...)", \
		      &(o)->brokers), \
	PN_OPT_CALLBACK('X', "property", "K=V", "librdkafka property (repeatable)", \
			pn_kafka_opt_property, (o), 0), \
	PN_OPT_STRING('F', "config", "FILE", "properties file of K=V lines", &(o)->conf_file)
/* --schema-registry URL, beside schema.registry.url in a -F file */
#define PN_OPT_SCHEMA_REGISTRY(to) \
	PN_OPT_STRING(0, "schema-registry", "URL", \
		      "schema registry (or schema.registry.url in -F)", to)

/* The value of a registry setting ("url", "basic.auth.user.info"), or NULL. */
const char *pn_registry_conf_get(const struct pn_registry_conf *r, const char *key);
void pn_registry_conf_release(struct pn_registry_conf *r);

/*
 * Builds a librdkafka configuration from the program's `defaults` (a NULL-
 * terminated list of "key=value"), then opts as above.  Registry settings
 * go to reg (may be NULL).  On a bad setting it reports where the setting
 * came from and librdkafka's reason, and returns NULL (exit 78).
 * The configuration has pn's log and error callbacks installed, and the
 * statistics callback: with -X statistics.interval.ms=N, librdkafka's
 * statistics go to stderr, one JSON line each.
 */
rd_kafka_conf_t *pn_kafka_conf_new(const struct pn_kafka_opts *opts,
				   const char *const *defaults,
				   struct pn_registry_conf *reg);

/*
 * The value of a topic's configuration entry `name` (DescribeConfigs), as
 * text into buf.  0 when found; -1 when the cluster did not tell within
 * timeout_ms (no such topic yet, no permission, or a broker without the
 * request, such as librdkafka's mock).
 */
int pn_kafka_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *buf,
			  size_t size, int timeout_ms);

/* Set by the error callback when librdkafka reports a fatal error. */
extern volatile int pn_kafka_fatal;

/* The exit status for a librdkafka error code (69, 75, 78 or 1). */
int pn_kafka_exit_status(rd_kafka_resp_err_t err);

#endif
