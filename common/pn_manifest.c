#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pn_manifest.h"
#include "pn_err.h"
#include "pn_json.h"
#include "pn_offsets.h"
#include "pn_store.h"

void pn_manifest_name(const char *object, struct pn_buf *out)
{
	const char *b = pn_base_name(object);
	size_t n = strlen(b);

	if (pn_ends_with(b, PN_MANIFEST_OBJECT_SUFFIX))
		n -= sizeof(PN_MANIFEST_OBJECT_SUFFIX) - 1;
	pn_buf_reset(out);
	pn_buf_add(out, object, b - object);
	pn_buf_addc(out, '_');
	pn_buf_add(out, b, n);
	pn_buf_adds(out, PN_MANIFEST_SUFFIX);
}

static void add_opt_int(struct pn_buf *b, const char *name, int64_t v)
{
	pn_buf_addf(b, ",\"%s\":", name);
	if (v < 0)
		pn_buf_adds(b, "null");
	else
		pn_buf_add_i64(b, v);
}

void pn_manifest_to_json(const struct pn_manifest *m, struct pn_buf *out)
{
	pn_buf_adds(out, "{\"object\":");
	pn_json_add_string(out, m->object, strlen(m->object));
	pn_buf_adds(out, ",\"topic\":");
	pn_json_add_string(out, m->topic, strlen(m->topic));
	add_opt_int(out, "partition", m->partition);
	add_opt_int(out, "first_offset", m->first_offset);
	add_opt_int(out, "last_offset", m->last_offset);
	pn_buf_adds(out, ",\"records\":");
	pn_buf_add_u64(out, m->records);
	pn_buf_adds(out, ",\"time_field\":");
	pn_json_add_string(out, m->time_field, strlen(m->time_field));
	add_opt_int(out, "min_time", m->min_time);
	add_opt_int(out, "max_time", m->max_time);
	pn_buf_adds(out, ",\"raw_bytes\":");
	pn_buf_add_u64(out, m->raw_bytes);
	pn_buf_adds(out, ",\"bytes\":");
	pn_buf_add_u64(out, m->bytes);
	pn_buf_addf(out, ",\"%s\":\"%016llx\"}\n", m->hash_fnv ? "fnv1a64" : "xxh64",
		    (unsigned long long)m->hash);
}

void pn_manifest_release(struct pn_manifest *m)
{
	free(m->object);
	free(m->topic);
	free(m->time_field);
	memset(m, 0, sizeof(*m));
}

static int json_int(json_t *o, const char *name, int nullable, int64_t *v)
{
	json_t *x = json_object_get(o, name);

	if (nullable && json_is_null(x)) {
		*v = -1;
		return 0;
	}
	if (!json_is_integer(x) || json_integer_value(x) < (nullable ? 0 : INT64_MIN))
		return -1;
	*v = json_integer_value(x);
	return 0;
}

int pn_manifest_parse(const char *text, size_t len, struct pn_manifest *m, struct pn_buf *why)
{
	/* nullable ones are null or from 0 (json_int), counts from 0 */
	static const struct { const char *name; int nullable, count; int64_t max; } ints[] = {
		{ "partition", 1, 0, PN_PARTITION_MAX }, { "first_offset", 1, 0, INT64_MAX },
		{ "last_offset", 1, 0, INT64_MAX - 1 }, { "records", 0, 1, INT64_MAX },
		{ "min_time", 1, 0, INT64_MAX }, { "max_time", 1, 0, INT64_MAX },
		{ "raw_bytes", 0, 1, INT64_MAX }, { "bytes", 0, 1, INT64_MAX },
	};
	json_error_t jerr;
	json_t *o = json_loadb(text, len, 0, &jerr);
	json_t *topic, *tf, *hash;
	int64_t v[8];
	int rc = -1;

	memset(m, 0, sizeof(*m));
	pn_buf_reset(why);
	if (!o) {
		pn_buf_addf(why, "not JSON: %s (at byte %d)", jerr.text, jerr.position);
		goto out;
	}
	if (!json_is_object(o)) {
		pn_buf_adds(why, "not a JSON object");
		goto out;
	}
	topic = json_object_get(o, "topic");
	tf = json_object_get(o, "time_field");
	if (!(hash = json_object_get(o, "xxh64"))) {
		hash = json_object_get(o, "fnv1a64");
		m->hash_fnv = 1;
	}
	if (!json_is_string(topic) || !json_is_string(tf)) {
		pn_buf_addf(why, "'%s' is missing or not a string", json_is_string(topic) ?
			    "time_field" : "topic");
		goto out;
	}
	if (!json_is_string(hash) || strlen(json_string_value(hash)) != 16) {
		pn_buf_adds(why, "'xxh64' is missing or not 16 hex digits");
		goto out;
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (json_int(o, ints[i].name, ints[i].nullable, &v[i]) ||
		    (ints[i].count && v[i] < 0) || v[i] > ints[i].max) {
			pn_buf_addf(why, "'%s' is missing, or not %s up to %lld", ints[i].name,
				    ints[i].nullable ? "null or an integer from 0" :
				    ints[i].count ? "an integer from 0" : "an integer",
				    (long long)ints[i].max);
			goto out;
		}
	m->first_offset = v[1];
	m->last_offset = v[2];
	m->min_time = v[4];
	m->max_time = v[5];
	if (m->first_offset > m->last_offset) {
		pn_buf_adds(why, "first_offset is after last_offset");
		goto out;
	}
	if ((m->min_time < 0) != (m->max_time < 0)) {
		pn_buf_adds(why, "min_time and max_time are not both null");
		goto out;
	}
	m->topic = pn_strdup(json_string_value(topic));
	m->time_field = pn_strdup(json_string_value(tf));
	m->partition = (int32_t)v[0];
	m->records = (uint64_t)v[3];
	m->raw_bytes = (uint64_t)v[6];
	m->bytes = (uint64_t)v[7];
	m->hash = strtoull(json_string_value(hash), NULL, 16);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int pn_manifest_coords(const char *object, struct pn_buf *topic, int32_t *partition,
		       int64_t *first)
{
	const char *b = pn_base_name(object), *plus2, *plus1;
	char *end;
	long long off;
	long part;

	plus2 = strrchr(b, '+');
	if (!plus2 || plus2 == b)
		return -1;
	for (plus1 = plus2 - 1; plus1 > b && *plus1 != '+'; plus1--)
		;
	if (*plus1 != '+' || plus1 == b)
		return -1;
	part = strtol(plus1 + 1, &end, 10);
	if (end != plus2 || part < 0 || part > PN_PARTITION_MAX)
		return -1;
	off = strtoll(plus2 + 1, &end, 10);
	if (off < 0 || strcmp(end, PN_MANIFEST_OBJECT_SUFFIX))
		return -1;
	pn_buf_reset(topic);
	pn_buf_add(topic, b, plus1 - b);
	*partition = (int32_t)part;
	*first = off;
	return 0;
}
