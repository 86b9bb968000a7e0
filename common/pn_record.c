#include <stdlib.h>
#include <string.h>

#include "pn_err.h"
#include "pn_num.h"
#include "pn_offsets.h"
#include "pn_record.h"

void pn_msg_init(struct pn_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->partition = -1;
}

void pn_msg_release(struct pn_msg *m)
{
	pn_buf_release(&m->value_buf);
	pn_buf_release(&m->key_buf);
	pn_buf_release(&m->hdr_buf);
	pn_buf_release(&m->tmp);
	free(m->hdr);
	pn_msg_init(m);
}

static void msg_reset(struct pn_msg *m)
{
	m->value = NULL;
	m->value_len = 0;
	m->key = NULL;
	m->key_len = 0;
	m->timestamp = 0;
	m->partition = -1;
	m->nhdr = 0;
	pn_buf_reset(&m->value_buf);
	pn_buf_reset(&m->key_buf);
	pn_buf_reset(&m->hdr_buf);
}

static int tok_type(const struct pn_json *j, int i)
{
	return j->tok[i].type;
}

static int tok_is_null(const struct pn_json *j, int i)
{
	return tok_type(j, i) == PN_JSON_PRIMITIVE && j->text[j->tok[i].start] == 'n';
}

static void add_tok_string(struct pn_buf *b, const struct pn_json *j, int i)
{
	pn_json_unescape(j->text + j->tok[i].start, j->tok[i].end - j->tok[i].start, b);
}

/* Records a header whose name and value already sit in hdr_buf. */
static void push_header(struct pn_msg *m, size_t name_off, size_t name_len, size_t value_off,
			size_t value_len, int value_null)
{
	if (m->nhdr == m->hdr_cap) {
		m->hdr_cap = m->hdr_cap ? 2 * m->hdr_cap : 8;
		m->hdr = pn_realloc(m->hdr, m->hdr_cap * sizeof(*m->hdr));
	}
	m->hdr[m->nhdr++] = (struct pn_header){ name_off, name_len, value_off, value_len,
						 value_null };
}

void pn_msg_add_header(struct pn_msg *m, const char *name, size_t name_len,
		       const char *value, size_t value_len)
{
	size_t name_off = m->hdr_buf.len, value_off;

	pn_buf_add(&m->hdr_buf, name, name_len);
	value_off = m->hdr_buf.len;
	if (value)
		pn_buf_add(&m->hdr_buf, value, value_len);
	push_header(m, name_off, name_len, value_off, value ? value_len : 0, !value);
}

/* One header from a name token and a value token (string or null). */
static int add_record_header(struct pn_msg *m, const struct pn_json *j, int name, int value,
			     const char **why)
{
	size_t name_off = m->hdr_buf.len, value_off;

	if (tok_type(j, name) != PN_JSON_STRING ||
	    (tok_type(j, value) != PN_JSON_STRING && !tok_is_null(j, value))) {
		*why = "field '_headers' must hold [name, value] string pairs";
		return -1;
	}
	add_tok_string(&m->hdr_buf, j, name);
	value_off = m->hdr_buf.len;
	if (!tok_is_null(j, value))
		add_tok_string(&m->hdr_buf, j, value);
	push_header(m, name_off, value_off - name_off, value_off, m->hdr_buf.len - value_off,
		    tok_is_null(j, value));
	return 0;
}

static int parse_headers(struct pn_msg *m, const struct pn_json *j, int v, const char **why)
{
	int k = v + 1;

	m->nhdr = 0;	/* _headers twice: the last one counts */
	pn_buf_reset(&m->hdr_buf);
	if (tok_is_null(j, v))
		return 0;
	if (tok_type(j, v) == PN_JSON_OBJECT) {
		for (int n = 0; n < j->tok[v].size; n++, k = pn_json_skip(j, k + 1))
			if (add_record_header(m, j, k, k + 1, why))
				return -1;
		return 0;
	}
	if (tok_type(j, v) != PN_JSON_ARRAY) {
		*why = "field '_headers' must be a list of [name, value] pairs";
		return -1;
	}
	for (int n = 0; n < j->tok[v].size; n++, k = pn_json_skip(j, k)) {
		if (tok_type(j, k) != PN_JSON_ARRAY || j->tok[k].size != 2) {
			*why = "field '_headers' must be a list of [name, value] pairs";
			return -1;
		}
		if (add_record_header(m, j, k + 1, pn_json_skip(j, k + 1), why))
			return -1;
	}
	return 0;
}

static int parse_timestamp(struct pn_msg *m, const struct pn_json *j, int v, const char **why)
{
	size_t len;
	const char *raw = pn_json_raw(j, v, &len);
	int64_t ts;

	if (tok_is_null(j, v))
		return 0;
	if (tok_type(j, v) == PN_JSON_PRIMITIVE && pn_json_int64(raw, len, &ts) == 0 && ts >= 0) {
		m->timestamp = ts;
		return 0;
	}
	if (tok_type(j, v) == PN_JSON_STRING) {
		pn_buf_reset(&m->tmp);
		add_tok_string(&m->tmp, j, v);
		if (pn_parse_time(m->tmp.data, &ts) == 0 && ts >= 0) {
			m->timestamp = ts;
			return 0;
		}
	}
	*why = "field '_timestamp' must be milliseconds since the epoch or an ISO 8601 time";
	return -1;
}

static int parse_partition(struct pn_msg *m, const struct pn_json *j, int v, const char **why)
{
	size_t len;
	const char *raw = pn_json_raw(j, v, &len);
	int64_t p;

	if (tok_is_null(j, v))
		return 0;
	if (tok_type(j, v) != PN_JSON_PRIMITIVE || pn_json_int64(raw, len, &p) || p < 0 ||
	    p > INT32_MAX) {
		*why = "field '_partition' must be a partition number";
		return -1;
	}
	m->partition = (int32_t)p;
	return 0;
}

/* A key from any JSON value: a string's bytes, otherwise its JSON text. */
static void set_key(struct pn_msg *m, const struct pn_json *j, int v)
{
	size_t len;
	const char *raw;

	if (v < 0 || tok_is_null(j, v))
		return;
	if (tok_type(j, v) == PN_JSON_STRING) {
		add_tok_string(&m->key_buf, j, v);
		m->key = m->key_buf.data;
		m->key_len = m->key_buf.len;
		return;
	}
	raw = pn_json_raw(j, v, &len);
	m->key = raw;
	m->key_len = len;
}

/* The payload given as _value (text) or _value_base64. */
static int set_explicit_value(struct pn_msg *m, const struct pn_json *j, int v, int base64,
			      const char **why)
{
	size_t len;
	const char *raw = pn_json_raw(j, v, &len);

	if (tok_is_null(j, v))
		return 0; /* a tombstone */
	if (base64) {
		if (tok_type(j, v) != PN_JSON_STRING ||
		    pn_buf_add_unbase64(&m->value_buf, j->text + j->tok[v].start,
					j->tok[v].end - j->tok[v].start)) {
			*why = "field '_value_base64' is not valid base64";
			return -1;
		}
	} else if (tok_type(j, v) == PN_JSON_STRING) {
		add_tok_string(&m->value_buf, j, v);
	} else {
		pn_buf_add(&m->value_buf, raw, len); /* a number, list…: its JSON text */
	}
	m->value = m->value_buf.data;
	m->value_len = m->value_buf.len;
	return 0;
}

/* The record without its underscore fields, members copied as written. */
static void build_value(struct pn_msg *m, const struct pn_json *j)
{
	int k = 1, first = 1;

	pn_buf_addc(&m->value_buf, '{');
	for (int n = 0; n < j->tok[0].size; n++) {
		int v = k + 1, next = pn_json_skip(j, v);
		size_t klen, vlen;
		const char *kraw = pn_json_raw(j, k, &klen);
		const char *vraw = pn_json_raw(j, v, &vlen);

		if (!pn_json_is_meta_name(j->text + j->tok[k].start, j->tok[k].end - j->tok[k].start)) {
			if (!first)
				pn_buf_addc(&m->value_buf, ',');
			pn_buf_add(&m->value_buf, kraw, (size_t)(vraw + vlen - kraw));
			first = 0;
		}
		k = next;
	}
	pn_buf_addc(&m->value_buf, '}');
	m->value = m->value_buf.data;
	m->value_len = m->value_buf.len;
}

#define IS(name) pn_json_tok_eq(j, k, name, sizeof(name) - 1)

int pn_record_to_msg(const struct pn_json *j, const char *key_field, struct pn_msg *m,
		     const char **why)
{
	size_t key_field_len = key_field ? strlen(key_field) : 0;
	int k = 1, has_meta = 0, fields = 0;
	int key_tok = -1, key_b64_tok = -1, field_key_tok = -1, value_tok = -1, value_b64_tok = -1;
	int status = 0;

	msg_reset(m);
	for (int n = 0; n < j->tok[0].size && status == 0; n++) {
		int v = k + 1;

		if (key_field && pn_json_tok_eq(j, k, key_field, key_field_len))
			field_key_tok = v;
		if (!pn_json_is_meta_name(j->text + j->tok[k].start, j->tok[k].end - j->tok[k].start))
			fields++;
		else if ((has_meta = 1) && IS("_key"))
			key_tok = v;
		else if (IS("_key_base64"))
			key_b64_tok = v;
		else if (IS("_headers"))
			status = parse_headers(m, j, v, why);
		else if (IS("_timestamp"))
			status = parse_timestamp(m, j, v, why);
		else if (IS("_partition"))
			status = parse_partition(m, j, v, why);
		else if (IS("_value"))
			value_tok = v;
		else if (IS("_value_base64"))
			value_b64_tok = v;
		/* other underscore fields (_topic, _offset, …) are not sent */
		k = pn_json_skip(j, v);
	}
	if (status)
		return -1;
	if (value_tok >= 0 || value_b64_tok >= 0) {
		if (fields) {
			*why = "a record with '_value' can have no other fields but metadata";
			return -1;
		}
		if (set_explicit_value(m, j, value_tok >= 0 ? value_tok : value_b64_tok,
				       value_tok < 0, why))
			return -1;
	} else if (!has_meta) {
		m->value = pn_json_raw(j, 0, &m->value_len);
	} else {
		build_value(m, j);
	}
	if (key_field) {
		set_key(m, j, field_key_tok);
	} else if (key_b64_tok >= 0 && !tok_is_null(j, key_b64_tok)) {
		if (tok_type(j, key_b64_tok) != PN_JSON_STRING ||
		    pn_buf_add_unbase64(&m->key_buf, j->text + j->tok[key_b64_tok].start,
					j->tok[key_b64_tok].end - j->tok[key_b64_tok].start)) {
			*why = "field '_key_base64' is not valid base64";
			return -1;
		}
		m->key = m->key_buf.data;
		m->key_len = m->key_buf.len;
	} else {
		set_key(m, j, key_tok);
	}
	return 0;
}

static int tok_int64(const struct pn_json *j, int v, int64_t *out)
{
	return tok_type(j, v) == PN_JSON_PRIMITIVE &&
	       pn_json_int64(j->text + j->tok[v].start, j->tok[v].end - j->tok[v].start, out) == 0;
}

/* The checks of pn_record_position; an offset_tok of -1 gives *offset -1. */
static int position(const struct pn_json *j, int topic_tok, int partition_tok, int offset_tok,
		    struct pn_buf *topic, int32_t *partition, int64_t *offset, const char **why)
{
	int64_t p;

	*offset = -1;
	if (tok_type(j, topic_tok) != PN_JSON_STRING)
		*why = "field '_topic' must be a string";
	else if (!tok_int64(j, partition_tok, &p) || p < 0 || p > PN_PARTITION_MAX)
		*why = "field '_partition' must be a partition number";
	else if (offset_tok >= 0 &&
		 (!tok_int64(j, offset_tok, offset) || *offset < 0 || *offset == INT64_MAX))
		*why = "field '_offset' must be an offset";	/* the next one must fit */
	else {
		pn_buf_reset(topic);
		add_tok_string(topic, j, topic_tok);
		*partition = (int32_t)p;
		if (pn_topic_valid(topic->data, topic->len))
			return 1;
		*why = "field '_topic' must be a topic name (no NUL or control character)";
	}
	return -1;
}

int pn_record_position(const struct pn_json *j, int topic_tok, int partition_tok,
		       int offset_tok, struct pn_buf *topic, int32_t *partition,
		       int64_t *offset, const char **why)
{
	if (topic_tok < 0 || partition_tok < 0 || offset_tok < 0)
		return 0;
	return position(j, topic_tok, partition_tok, offset_tok, topic, partition, offset, why);
}

/* An _epoch token as an owner epoch: 0, or -1 with *why. */
static int epoch_of(const struct pn_json *j, int tok, int64_t *epoch, const char **why)
{
	if (tok_int64(j, tok, epoch) && *epoch >= 0)
		return 0;
	*why = "field '_epoch' must be an owner epoch (an integer, 0 or more)";
	return -1;
}

int pn_record_epoch(const struct pn_json *j, int topic_tok, int partition_tok, int epoch_tok,
		    struct pn_buf *topic, int32_t *partition, uint64_t *epoch, const char **why)
{
	int64_t e, none;

	if (epoch_tok < 0)
		return 0;
	if (epoch_of(j, epoch_tok, &e, why) < 0)
		return -1;
	if (topic_tok < 0 || partition_tok < 0) {
		*why = "field '_epoch' needs the _topic and _partition of its owner";
		return -1;
	}
	*epoch = (uint64_t)e;
	return position(j, topic_tok, partition_tok, -1, topic, partition, &none, why);
}

int pn_record_control_target(const struct pn_json *j, struct pn_buf *topic, int32_t *partition,
			     int64_t *next, const char **why)
{
	int t = pn_json_get(j, 0, "_topic", 6), p = pn_json_get(j, 0, "_partition", 10);

	if (t < 0 || p < 0) {
		*why = "a control record needs _topic and _partition";
		return -1;
	}
	return position(j, t, p, pn_json_get(j, 0, "_offset", 7), topic, partition, next, why);
}

int pn_record_control_epoch(const struct pn_json *j, int64_t *epoch, const char **why)
{
	int tok = pn_json_get(j, 0, "_epoch", 6);

	*epoch = -1;
	if (tok >= 0 && epoch_of(j, tok, epoch, why) < 0) {
		*epoch = -1;
		return -1;
	}
	return 0;
}

int pn_topic_valid(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Bytes as a JSON string, or as field_base64 when they are not UTF-8. */
static void add_bytes_field(struct pn_buf *out, const char *field, const void *p, size_t n)
{
	pn_buf_addc(out, '"');
	pn_buf_adds(out, field);
	if (!p) {
		pn_buf_add(out, "\":null", 6);
	} else if (pn_utf8_valid(p, n)) {
		pn_buf_add(out, "\":", 2);
		pn_json_add_string(out, p, n);
	} else {
		pn_buf_add(out, "_base64\":\"", 10);
		pn_buf_add_base64(out, p, n);
		pn_buf_addc(out, '"');
	}
}

static void add_headers(struct pn_buf *out, const rd_kafka_message_t *msg)
{
	rd_kafka_headers_t *hdrs;
	const char *name;
	const void *value;
	size_t size;

	if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	pn_buf_add(out, ",\"_headers\":[", 13);
	for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
			   RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
		pn_buf_add(out, i ? ",[" : "[", i ? 2 : 1);
		pn_json_add_string(out, name, strlen(name));
		pn_buf_addc(out, ',');
		if (value)
			pn_json_add_string(out, value, size);
		else
			pn_buf_add(out, "null", 4);
		pn_buf_addc(out, ']');
	}
	pn_buf_addc(out, ']');
}

/* The coordinates, the key (as key_json when it was decoded) and headers. */
static void add_meta(struct pn_buf *out, const rd_kafka_message_t *msg, const char *key_json,
		     size_t key_len)
{
	const char *topic = rd_kafka_topic_name(msg->rkt);
	int64_t ts = rd_kafka_message_timestamp(msg, NULL);

	pn_buf_add(out, "\"_topic\":", 9);
	pn_json_add_string(out, topic, strlen(topic));
	pn_buf_add(out, ",\"_partition\":", 14);
	pn_buf_add_i64(out, msg->partition);
	pn_buf_add(out, ",\"_offset\":", 11);
	pn_buf_add_i64(out, msg->offset);
	pn_buf_add(out, ",\"_timestamp\":", 14);
	if (ts >= 0)
		pn_buf_add_i64(out, ts);
	else
		pn_buf_add(out, "null", 4);
	pn_buf_addc(out, ',');
	if (key_json) {
		pn_buf_add(out, "\"_key\":", 7);
		pn_buf_add(out, key_json, key_len);
	} else {
		add_bytes_field(out, "_key", msg->key, msg->key_len);
	}
	add_headers(out, msg);
}

/* The members of a JSON object text, braces and outer spaces trimmed, with
 * line breaks (which valid JSON only has as white space) made spaces. */
static void add_object_body(struct pn_buf *out, const struct pn_json *j, int leading_comma)
{
	const char *s = j->text + j->tok[0].start + 1;
	const char *e = j->text + j->tok[0].end - 1;
	size_t from;

	while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++;
	if (s == e)
		return;
	if (leading_comma)
		pn_buf_addc(out, ',');
	from = out->len;
	pn_buf_add(out, s, e - s);
	if (memchr(s, '\n', e - s) || memchr(s, '\r', e - s))
		for (size_t i = from; i < out->len; i++)
			if (out->data[i] == '\n' || out->data[i] == '\r')
				out->data[i] = ' ';
}

void pn_record_add_control(struct pn_buf *out, const char *kind, const char *topic,
			   int32_t partition, int64_t next, int64_t epoch)
{
	pn_buf_adds(out, "{\"_control\":\"");
	pn_buf_adds(out, kind);
	pn_buf_adds(out, "\",\"_topic\":");
	pn_json_add_string(out, topic, strlen(topic));
	pn_buf_addf(out, ",\"_partition\":%d", (int)partition);
	if (next >= 0)
		pn_buf_addf(out, ",\"_offset\":%lld", (long long)next);
	if (epoch >= 0)
		pn_buf_addf(out, ",\"_epoch\":%lld", (long long)epoch);
	pn_buf_adds(out, "}\n");
}

int pn_record_from_msg(struct pn_buf *out, const rd_kafka_message_t *msg, int meta,
		       struct pn_json *scratch)
{
	const char *payload = msg->payload;
	int is_object = payload && msg->len &&
			pn_json_parse(scratch, payload, msg->len) == 0 &&
			pn_json_is_object(scratch, 0);

	pn_buf_addc(out, '{');
	if (meta)
		add_meta(out, msg, NULL, 0);
	if (is_object) {
		add_object_body(out, scratch, meta);
	} else {
		if (meta)
			pn_buf_addc(out, ',');
		add_bytes_field(out, "_value", payload, msg->len);
	}
	pn_buf_add(out, "}\n", 2);
	return is_object;
}

void pn_record_from_json(struct pn_buf *out, const rd_kafka_message_t *msg, int meta,
			 const char *value, size_t value_len, int is_object,
			 const char *key_json, size_t key_len)
{
	pn_buf_addc(out, '{');
	if (meta)
		add_meta(out, msg, key_json, key_len);
	if (is_object && value_len > 2) {
		if (meta)
			pn_buf_addc(out, ',');
		pn_buf_add(out, value + 1, value_len - 2);
	} else if (!is_object) {
		pn_buf_add(out, meta ? ",\"_value\":" : "\"_value\":", meta ? 10 : 9);
		pn_buf_add(out, value, value_len);
	}
	pn_buf_add(out, "}\n", 2);
}
