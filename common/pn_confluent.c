#include <string.h>

#include "pn_confluent.h"
#include "pn_err.h"

static void init(struct pn_confluent *c, struct pn_registry *reg)
{
	memset(c, 0, sizeof(*c));
	c->reg = reg;
	pn_avro_codec_init(&c->codec);
	pn_avro_codec_init(&c->key_codec);
}

void pn_confluent_release(struct pn_confluent *c)
{
	for (int i = 0; i < 3; i++)
		pn_avro_schema_free(c->own[i]);
	pn_avro_codec_release(&c->codec);
	pn_avro_codec_release(&c->key_codec);
	pn_buf_release(&c->why);
}

const char *pn_confluent_why(const struct pn_confluent *c)
{
	return c->why.data ? c->why.data : "";
}

static int load(struct pn_confluent *c, int slot, const char *path)
{
	c->own[slot] = pn_avro_schema_load(path, &c->why);
	if (!c->own[slot]) {
		pn_error("bad schema '%s': %s", path, c->why.data);
		return PN_EX_CONFIG;
	}
	return 0;
}

/* The schema and id of one subject: path registered, or the latest. */
static int writer_schema(struct pn_confluent *c, int slot, const char *subject,
			 const char *path, const struct pn_avro_schema **s, uint32_t *id)
{
	int status;

	if (path) {
		if ((status = load(c, slot, path)))
			return status;
		*s = c->own[slot];
		status = pn_registry_register(c->reg, subject, *s, id);
	} else {
		status = pn_registry_latest(c->reg, subject, id, s);
	}
	if (status)
		pn_error("%s", pn_registry_why(c->reg));
	else
		pn_info("subject '%s': schema id %u", subject, (unsigned)*id);
	return status;
}

int pn_confluent_producer_init(struct pn_confluent *c, struct pn_registry *reg,
			       const char *topic, const char *subject, const char *schema_path,
			       const char *key_schema_path)
{
	struct pn_buf name = PN_BUF_INIT;
	int status;

	init(c, reg);
	if (!subject) {
		pn_buf_addf(&name, "%s-value", topic);
		subject = name.data;
	}
	status = writer_schema(c, 0, subject, schema_path, &c->value_schema, &c->value_id);
	if (!status && key_schema_path) {
		pn_buf_reset(&name);
		pn_buf_addf(&name, "%s-key", topic);
		status = writer_schema(c, 1, name.data, key_schema_path, &c->key_schema,
				       &c->key_id);
	}
	pn_buf_release(&name);
	return status;
}

static int encode_one(struct pn_avro_codec *codec, const struct pn_avro_schema *s, uint32_t id,
		      const struct pn_json *j, int tok, int skip_meta, const char **why)
{
	pn_buf_reset(&codec->out);
	pn_avro_frame(&codec->out, id);
	if (pn_avro_encode(codec, s, j, tok, skip_meta)) {
		*why = codec->why.data;
		return -1;
	}
	return 0;
}

/* The token of the record's _value, or -1; -2 if it has _value_base64. */
static int value_token(const struct pn_json *j)
{
	int k = 1, found = -1;

	/* one pass looking only at the keys that start with '_' */
	for (int n = 0; n < j->tok[0].size; n++, k = pn_json_skip(j, k + 1)) {
		const char *key = j->text + j->tok[k].start;
		size_t len = j->tok[k].end - j->tok[k].start;

		if (len < 6 || !pn_json_is_meta_name(key, len))
			continue;
		if (pn_json_tok_eq(j, k, "_value", 6))
			found = k + 1;	/* twice: the last one counts */
		else if (pn_json_tok_eq(j, k, "_value_base64", 13))
			return -2;
	}
	return found;
}

int pn_confluent_encode(struct pn_confluent *c, const struct pn_json *j, const char *key_field,
			struct pn_msg *m, const char **why)
{
	int value_tok = value_token(j);

	if (value_tok == -2) {
		*why = "field '_value_base64' holds raw bytes: give an Avro record's fields, "
		       "or its value as _value";
		return -1;
	}
	if (value_tok < 0 && c->value_schema->root->type != PN_AVRO_RECORD) {
		*why = "the schema is not a record: give the value as _value";
		return -1;
	}
	if (m->value) {
		if (encode_one(&c->codec, c->value_schema, c->value_id, j,
			       value_tok >= 0 ? value_tok : 0, value_tok < 0, why))
			return -1;
		m->value = c->codec.out.data;
		m->value_len = c->codec.out.len;
	}
	if (c->key_schema) {
		int k = key_field ? pn_json_get(j, 0, key_field, strlen(key_field))
				  : pn_json_get(j, 0, "_key", 4);

		if (k >= 0 && !(j->tok[k].type == PN_JSON_PRIMITIVE && j->text[j->tok[k].start] == 'n')) {
			if (encode_one(&c->key_codec, c->key_schema, c->key_id, j, k, 0, why)) {
				/* name the key in the message */
				pn_buf_reset(&c->why);
				pn_buf_addf(&c->why, "key: %s", *why);
				*why = c->why.data;
				return -1;
			}
			m->key = c->key_codec.out.data;
			m->key_len = c->key_codec.out.len;
		}
	}
	return 0;
}

int pn_confluent_consumer_init(struct pn_confluent *c, struct pn_registry *reg,
			       const char *reader_path)
{
	int status = 0;

	init(c, reg);
	if (reader_path && (status = load(c, 2, reader_path)) == 0)
		c->reader = c->own[2];
	return status;
}

/* Decodes framed Avro p/n into codec->out; 0, or a status with why set. */
static int decode(struct pn_confluent *c, struct pn_avro_codec *codec, const void *p, size_t n,
		  const struct pn_avro_schema *reader, const struct pn_avro_schema **w)
{
	uint32_t id;
	int status;

	pn_buf_reset(&codec->out);
	if (pn_avro_unframe(p, n, &id)) {
		pn_buf_reset(&c->why);
		pn_buf_adds(&c->why, "not Confluent Avro: no magic byte 0 and schema id");
		return PN_EX_DATAERR;
	}
	if ((status = pn_registry_schema(c->reg, id, w))) {
		pn_buf_reset(&c->why);
		pn_buf_adds(&c->why, pn_registry_why(c->reg));
		return status;
	}
	if (pn_avro_decode(codec, *w, reader, (const char *)p + PN_AVRO_FRAME_LEN,
			   n - PN_AVRO_FRAME_LEN)) {
		pn_buf_reset(&c->why);
		pn_buf_addf(&c->why, "schema %u: %s", (unsigned)id, codec->why.data);
		return PN_EX_DATAERR;
	}
	return 0;
}

int pn_confluent_record(struct pn_confluent *c, const rd_kafka_message_t *msg, int meta,
			struct pn_buf *out, struct pn_json *scratch)
{
	const struct pn_avro_schema *w, *kw;
	uint32_t id;
	int status, key_avro;

	if (!msg->payload) {
		pn_record_from_msg(out, msg, meta, scratch);
		return 0;
	}
	if ((status = decode(c, &c->codec, msg->payload, msg->len, c->reader, &w)))
		return status;
	key_avro = meta && msg->key && pn_avro_unframe(msg->key, msg->key_len, &id) == 0;
	if (key_avro && (status = decode(c, &c->key_codec, msg->key, msg->key_len, NULL, &kw))) {
		pn_buf_addf(&c->why, " (in the key)");
		return status;
	}
	pn_record_from_json(out, msg, meta, c->codec.out.data, c->codec.out.len,
			    (c->reader ? c->reader : w)->root->type == PN_AVRO_RECORD,
			    key_avro ? c->key_codec.out.data : NULL, c->key_codec.out.len);
	return 0;
}
