/*
 * fuzz-avro — decoding a Confluent Avro frame, what pn-consume does with
 * every message of an Avro topic.
 *
 * The registry is not asked: the first byte of the input picks the writer
 * (and reader) schema from a fixed list loaded at the first call, the rest
 * is the message.  With no reader schema a decoded value must be valid
 * JSON that the encoder takes back, and decoding that again must give the
 * same text: consume -> produce round-trips every value (pn_avro.h).
 */
#include "fuzz.h"
#include "pn_avro.h"
#include "pn_json.h"

static const struct { const char *writer, *reader; } pairs[] = {
	{ "schemas/push_notification_ping.avsc", NULL },
	{ "schemas/push_notification_dispatch.avsc", NULL },
	{ "tests/avro/all-types.avsc", NULL },
	{ "tests/avro/all-types.avsc", "tests/avro/all-types.avsc" },
	{ "tests/fuzz/ping-v1.avsc", "tests/fuzz/ping-v2.avsc" },
	{ "tests/fuzz/ping-v2.avsc", "tests/fuzz/ping-v1.avsc" },
};
#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))

static struct pn_avro_schema *writer[NPAIRS], *reader[NPAIRS];

static struct pn_avro_schema *load(const char *name)
{
	struct pn_buf path = PN_BUF_INIT, why = PN_BUF_INIT;
	struct pn_avro_schema *s;

	pn_buf_addf(&path, "%s/%s", fuzz_src(), name);
	if (!(s = pn_avro_schema_load(path.data, &why))) {
		fprintf(stderr, "fuzz-avro: %s: %s (set PN_SRC to the source tree)\n", path.data,
			why.data);
		abort();
	}
	pn_buf_release(&path);
	pn_buf_release(&why);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pn_avro_codec c, c2;
	struct pn_json j;
	uint32_t id;
	size_t k;
	char *msg;

	if (!writer[0])
		for (k = 0; k < NPAIRS; k++) {
			writer[k] = load(pairs[k].writer);
			reader[k] = pairs[k].reader ? load(pairs[k].reader) : NULL;
		}
	if (size < 1)
		return 0;
	k = data[0] % NPAIRS;
	msg = fuzz_exact(data + 1, size - 1);
	if (pn_avro_unframe(msg, size - 1, &id)) {
		free(msg);
		return 0;
	}
	pn_avro_codec_init(&c);
	pn_avro_codec_init(&c2);
	pn_json_init(&j);
	if (pn_avro_decode(&c, writer[k], reader[k], msg + PN_AVRO_FRAME_LEN,
			   size - 1 - PN_AVRO_FRAME_LEN) == 0 && !reader[k]) {
		if (pn_json_parse(&j, c.out.data, c.out.len)) {
			fprintf(stderr, "fuzz-avro: not JSON (%s at byte %zu): %.*s\n", j.why, j.at,
				(int)c.out.len, c.out.data);
			abort();
		}
		if (pn_avro_encode(&c2, writer[k], &j, 0, 0)) {
			fprintf(stderr, "fuzz-avro: re-encoding %.*s: %s\n", (int)c.out.len, c.out.data,
				c2.why.data);
			abort();	/* the encoder refuses what the decoder wrote */
		}
		pn_buf_reset(&c.tmp);
		pn_buf_add(&c.tmp, c2.out.data, c2.out.len);
		pn_buf_reset(&c2.out);
		if (pn_avro_decode(&c2, writer[k], NULL, c.tmp.data, c.tmp.len) ||
		    c2.out.len != c.out.len || memcmp(c2.out.data, c.out.data, c.out.len)) {
			fprintf(stderr, "fuzz-avro: round trip: %.*s became %.*s\n", (int)c.out.len,
				c.out.data, (int)c2.out.len, c2.out.data);
			abort();
		}
	}
	pn_json_release(&j);
	pn_avro_codec_release(&c);
	pn_avro_codec_release(&c2);
	free(msg);
	return 0;
}
