/*
 * pn_registry — a client of Confluent Schema Registry's REST API, over
 * libcurl: register a schema under a subject, read a subject's latest
 * version, read a schema by id.  Schemas read by id are compiled once and
 * cached for the life of the client, as an id never changes its schema.
 *
 * Settings are the Confluent clients' `schema.registry.*` keys (without
 * the prefix, as pn_kafka keeps them): url (a comma-separated list: after
 * a connection error the next one is tried), basic.auth.user.info (user:password; a URL's own
 * user:password@ works too), ssl.ca.location, ssl.certificate.location,
 * ssl.key.location, ssl.key.password.  Connection errors and 5xx answers
 * are retried with exponential backoff (4 retries, 100 ms doubling).
 *
 * Every call returns 0 or an exit status of pn_err with the reason in
 * `why`, naming the registry:
 *   cannot connect, 503           69 (unavailable)
 *   other 5xx after the retries   75 (temporary failure)
 *   401, 403                      78 (credentials)
 *   404 40401 subject not found   78
 *   404 40403 schema not found    65 (the message names an unknown id)
 *   409 incompatible, 422 invalid 78
 */
#ifndef PN_REGISTRY_H
#define PN_REGISTRY_H

#include <stdint.h>

#include "pn_avro.h"
#include "pn_buf.h"
#include "pn_kafka.h"

struct pn_registry;

/* A client for url (NULL: the url setting of conf); NULL when there is none. */
struct pn_registry *pn_registry_new(const struct pn_registry_conf *conf, const char *url);
void pn_registry_free(struct pn_registry *r);

/* The reason of the last failure. */
const char *pn_registry_why(const struct pn_registry *r);

/* Registers s under subject (or finds it registered): its id. */
int pn_registry_register(struct pn_registry *r, const char *subject,
			 const struct pn_avro_schema *s, uint32_t *id);
/* The latest version of subject: its id and schema (owned by the cache). */
int pn_registry_latest(struct pn_registry *r, const char *subject, uint32_t *id,
		       const struct pn_avro_schema **s);
/* The schema with this id, fetched once and then served from the cache. */
int pn_registry_schema(struct pn_registry *r, uint32_t id, const struct pn_avro_schema **s);

#endif
