/*
 * pn_confluent — Confluent Avro on Kafka messages: what pn-produce and
 * pn-consume do with pn_avro and pn_registry.
 *
 * Producing, the value schema comes from a .avsc file registered under
 * the subject (TopicNameStrategy: "<topic>-value" unless given), or is the
 * subject's latest version; each record becomes the magic byte, the id
 * and the Avro binary of its fields (without pn's underscore metadata), or
 * of its _value when it has one; {"_value": null} stays a tombstone.  With
 * a key schema ("<topic>-key") the key (_key, or the --key field) is
 * encoded the same way.
 *
 * Consuming, every value must carry the framing; its writer schema is
 * fetched by id once.  A record schema's fields become the record's, any
 * other value is written as _value.  A key that carries the framing is
 * decoded too (written as _key, any JSON value); other keys stay bytes.
 * With a reader schema, values are resolved to it (schema evolution).
 */
#ifndef PN_CONFLUENT_H
#define PN_CONFLUENT_H

#include <librdkafka/rdkafka.h>

#include "pn_avro.h"
#include "pn_json.h"
#include "pn_record.h"
#include "pn_registry.h"

struct pn_confluent {
	struct pn_registry *reg;
	const struct pn_avro_schema *value_schema, *key_schema;
	struct pn_avro_schema *own[3];	/* loaded from files: value, key, reader */
	const struct pn_avro_schema *reader;
	uint32_t value_id, key_id;
	struct pn_avro_codec codec, key_codec;
	struct pn_buf why;
};

/*
 * Sets up pn-produce's encoder: loads and registers the schemas, or reads
 * the subject's latest.  0, or an exit status after reporting.
 */
int pn_confluent_producer_init(struct pn_confluent *c, struct pn_registry *reg,
			       const char *topic, const char *subject, const char *schema_path,
			       const char *key_schema_path);
/*
 * Replaces the value (and with a key schema the key) of m, built from the
 * record j by pn_record_to_msg, with their Confluent Avro.  0, or -1 with
 * *why: the record does not fit the schema.
 */
int pn_confluent_encode(struct pn_confluent *c, const struct pn_json *j, const char *key_field,
			struct pn_msg *m, const char **why);

/* Sets up pn-consume's decoder, with an optional reader schema file;
 * 0, or an exit status after reporting. */
int pn_confluent_consumer_init(struct pn_confluent *c, struct pn_registry *reg,
			       const char *reader_path);
/*
 * Appends the NDJSON record of msg to out.  0; PN_EX_DATAERR when the
 * message cannot be decoded (why in pn_confluent_why); another exit
 * status when the registry failed.  A tombstone is written as pn-consume
 * writes it without Avro.
 */
int pn_confluent_record(struct pn_confluent *c, const rd_kafka_message_t *msg, int meta,
			struct pn_buf *out, struct pn_json *scratch);
const char *pn_confluent_why(const struct pn_confluent *c);

void pn_confluent_release(struct pn_confluent *c);

#endif
