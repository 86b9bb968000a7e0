/*
 * pn_record — the record contract of DESIGN.md between NDJSON and Kafka.
 *
 * A record is one JSON object.  Kafka coordinates travel as top-level
 * fields with a leading underscore: _topic, _partition, _offset,
 * _timestamp (ms since the epoch), _key, _headers.  A payload that is not
 * a JSON object travels as _value (a string holding the payload's text) or,
 * when the payload is not UTF-8, _value_base64; a tombstone (no payload)
 * is {"_value": null}.
 *
 * _headers is a list of [name, value] pairs in message order, value a
 * string or null: `"_headers":[["trace","ab12"],["retry","1"]]`, so
 * repeated names and order survive a round trip.  pn-produce also takes
 * an object {"name":"value",…}.
 *
 * Header values and keys are written as JSON strings; bytes that are not
 * UTF-8 become U+FFFD (pn_json_add_string).  A key that is not UTF-8 is
 * written as _key_base64 instead, so keys always survive.
 */
#ifndef PN_RECORD_H
#define PN_RECORD_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "pn_buf.h"
#include "pn_json.h"

struct pn_header {
	size_t name_off, name_len;	/* into pn_msg.hdr_buf */
	size_t value_off, value_len;
	int value_null;
};

/* A Kafka message built from a record; parts point into the record's line
 * or into the message's own buffers, valid until the next record. */
struct pn_msg {
	const char *value;	/* NULL: a tombstone */
	size_t value_len;
	const char *key;	/* NULL: no key */
	size_t key_len;
	int64_t timestamp;	/* 0: none, the producer sets it */
	int32_t partition;	/* -1: not given */
	struct pn_header *hdr;
	int nhdr, hdr_cap;
	struct pn_buf value_buf, key_buf, hdr_buf;
	struct pn_buf tmp;	/* a decoded _timestamp string */
};

void pn_msg_init(struct pn_msg *m);
void pn_msg_release(struct pn_msg *m);

/*
 * Fills m from the parsed record j (an object): the value is the record
 * without its underscore fields (or its _value), the key comes from the
 * field `key_field` when given, else from _key.  A number, boolean or
 * object key is its JSON text; a string key its decoded bytes; null or
 * missing means no key.  Returns 0, or -1 with *why saying what is wrong.
 */
int pn_record_to_msg(const struct pn_json *j, const char *key_field, struct pn_msg *m,
		     const char **why);

/* Adds a header "name=value" (from -H) after the record's own. */
void pn_msg_add_header(struct pn_msg *m, const char *name, size_t name_len,
		       const char *value, size_t value_len);

/*
 * The Kafka position a record carries, from the tokens of its _topic,
 * _partition and _offset fields (-1 where absent): 1 with the topic decoded
 * into `topic`, 0 when any of the three is absent, -1 with *why when one is
 * not what pn-consume --meta writes (a topic must be pn_topic_valid): a
 * partition is 0 to PN_PARTITION_MAX (pn_offsets.h), an offset 0 to
 * INT64_MAX - 1, so the next one (offset + 1) always fits.
 */
/*
 * 1 if the n bytes of s can name a topic: not empty, and no NUL or other
 * control character (U+0000 to U+001F, U+007F).  A topic is a key of
 * offsets, checkpoints and object names: one holding "\u0000" would alias
 * the topic before it, one holding CR would break listings.
 */
int pn_topic_valid(const char *s, size_t n);

int pn_record_position(const struct pn_json *j, int topic_tok, int partition_tok,
		       int offset_tok, struct pn_buf *topic, int32_t *partition,
		       int64_t *offset, const char **why);

/*
 * The owner a changelog row of a state kept per partition names (pn-
 * aggregate --state DIR/ writes _topic, _partition and _epoch), from the
 * tokens of those fields (-1 where absent): 1 with topic, *partition and
 * *epoch set; 0 when the row has no _epoch; -1 with *why when _epoch is
 * not an integer from 0 to 2^63-1, or comes without a _topic and
 * _partition that pn_record_position would take.
 */
int pn_record_epoch(const struct pn_json *j, int topic_tok, int partition_tok, int epoch_tok,
		    struct pn_buf *topic, int32_t *partition, uint64_t *epoch, const char **why);

/*
 * A control record (pn(7)): pn-consume's word that the consumer group gave
 * or took a partition, an object whose first member is "_control":
 * {"_control":"assigned","_topic":"pings","_partition":3}.  Returns the
 * token of the _control value, or -1 for any other record.  Programs that
 * write records somewhere (pn-produce, pn-archive, pn-sink-pg) leave them
 * out, counted; pn-aggregate acts on them.
 */
static inline int pn_record_control(const struct pn_json *j)
{
	const struct pn_tok *k;
	char c;

	if (j->ntok <= 2 || j->tok[0].size == 0)
		return -1;
	/* asked of every record: most are told by the first byte and the
	 * length of their first name, without a call (an escape may spell
	 * '_' too, and makes the name longer, never shorter) */
	k = &j->tok[1];
	c = j->text[k->start];
	if ((c != '_' && c != '\\') || k->end - k->start < 8)
		return -1;
	return pn_json_tok_eq(j, 1, "_control", 8) ? 2 : -1;
}

/*
 * Appends a control record to out, '\n' included: kind "assigned" before
 * the partition's first record, "revoked" after its last, "lost" when the
 * group took it without asking (this member's session expired: another
 * may own it already), and pn-aggregate's "saved" after the rows of a
 * saved state.  next (>= 0) adds _offset, the next offset the state saved,
 * and epoch (>= 0) _epoch, its owner's: pn-aggregate's carry both.
 */
void pn_record_add_control(struct pn_buf *out, const char *kind, const char *topic,
			   int32_t partition, int64_t next, int64_t epoch);
/* The partition a control record names: 1 with topic and *partition set,
 * *next its _offset or -1 (pn-consume's own carry none); -1 with *why when
 * a field is missing or not what pn_record_position takes. */
int pn_record_control_target(const struct pn_json *j, struct pn_buf *topic, int32_t *partition,
			     int64_t *next, const char **why);
/* A control record's _epoch in *epoch, -1 when it has none: 0, or -1
 * with *why when it is not an owner epoch. */
int pn_record_control_epoch(const struct pn_json *j, int64_t *epoch, const char **why);

/*
 * Appends the NDJSON record for a consumed message to out, '\n' included.
 * With meta, the coordinates come first.  `scratch` is reused for the
 * payload check.  Returns 1 if the payload was a JSON object, 0 if it was
 * written as _value/_value_base64.
 */
int pn_record_from_msg(struct pn_buf *out, const rd_kafka_message_t *msg, int meta,
		       struct pn_json *scratch);

/*
 * The same for a message whose payload was decoded elsewhere (Avro) into
 * the JSON text `value`: an object's members become the record's, another
 * value is written as _value.  With key_json (not NULL), the key was
 * decoded too and is written as that JSON value.  Single-line JSON only.
 */
void pn_record_from_json(struct pn_buf *out, const rd_kafka_message_t *msg, int meta,
			 const char *value, size_t value_len, int is_object,
			 const char *key_json, size_t key_len);

#endif
