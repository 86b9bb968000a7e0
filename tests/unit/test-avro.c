/* Unit tests for common/pn_avro.h: natural JSON -> Avro binary against the
 * encodings the Avro specification gives (zig-zag varints, length-prefixed
 * strings, blocks, union indexes), and back to the documented JSON. */
#include "pn_avro.h"
#include "unit.h"

static int from_hex(const char *hex, char *out)
{
	int n = 0;

	for (; hex[0] && hex[1]; hex += 2)
		sscanf(hex, "%2hhx", (unsigned char *)&out[n++]);
	return n;
}

static void test_round_trips(void)
{
	static const struct {
		const char *schema, *json, *hex, *back;	/* back NULL: json */
	} cases[] = {
		{ "\"long\"", "0", "00", NULL },
		{ "\"long\"", "-1", "01", NULL },
		{ "\"long\"", "1", "02", NULL },
		{ "\"long\"", "-64", "7f", NULL },
		{ "\"long\"", "64", "8001", NULL },
		{ "\"long\"", "-9223372036854775808", "ffffffffffffffffff01", NULL },
		{ "\"int\"", "2147483647", "feffffff0f", NULL },
		{ "\"string\"", "\"foo\"", "06666f6f", NULL },
		{ "\"string\"", "\"a\\u00e9\"", "0661c3a9", "\"a\xc3\xa9\"" },
		{ "\"boolean\"", "true", "01", NULL },
		{ "\"null\"", "null", "", NULL },
		{ "\"float\"", "1.5", "0000c03f", NULL },
		{ "\"double\"", "0.5", "000000000000e03f", NULL },
		{ "\"double\"", "2", "0000000000000040", "2.0" },
		{ "\"bytes\"", "\"AQI=\"", "040102", NULL },
		{ "[\"null\",\"string\"]", "\"a\"", "020261", NULL },
		{ "[\"null\",\"string\"]", "null", "00", NULL },
		{ "[\"null\",\"string\"]", "{\"string\":\"a\"}", "020261", "\"a\"" },
		{ "[\"string\",\"long\",\"double\"]", "3", "0206", NULL },
		{ "[\"string\",\"long\",\"double\"]", "3.5", "040000000000000c40", NULL },
		{ "{\"type\":\"array\",\"items\":\"long\"}", "[3,27]", "04063600", NULL },
		{ "{\"type\":\"array\",\"items\":\"long\"}", "[]", "00", NULL },
		{ "{\"type\":\"map\",\"values\":\"long\"}", "{\"a\":1}", "0202610200", NULL },
		{ "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", "\"B\"", "02", NULL },
		{ "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}", "\"AQI=\"", "0102", NULL },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":7},"
		  "{\"name\":\"b\",\"type\":[\"null\",\"string\"]},{\"name\":\"c\",\"type\":\"bytes\",\"default\":\"\\u00ff\"}]}",
		  "{}", "0e0002ff", "{\"a\":7,\"b\":null,\"c\":\"/w==\"}" },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}", "\"1.00\"", "0264", NULL },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}", "\"-1.28\"", "0280", NULL },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}", "\"1.28\"", "040080", NULL },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}", "0", "0200", "\"0.00\"" },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}", "-0.5", "02ce", "\"-0.50\"" },
		{ "{\"type\":\"fixed\",\"name\":\"D\",\"size\":3,\"logicalType\":\"decimal\",\"precision\":6,\"scale\":0}",
		  "\"-1\"", "ffffff", NULL },
		{ "{\"type\":\"int\",\"logicalType\":\"date\"}", "\"1970-01-02\"", "02", NULL },
		{ "{\"type\":\"int\",\"logicalType\":\"date\"}", "-1", "01", "\"1969-12-31\"" },
		{ "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "\"1970-01-01T00:00:00.001Z\"", "02", NULL },
		{ "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "\"1970-01-01T01:00:00+01:00\"", "00",
		  "\"1970-01-01T00:00:00.000Z\"" },
		{ "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", "-1", "01", "\"1969-12-31T23:59:59.999999Z\"" },
		{ "{\"type\":\"int\",\"logicalType\":\"time-millis\"}", "\"00:00:01.500\"", "b817", NULL },
		/* fuzz-avro: the special floats in a union (they were refused) */
		{ "[\"null\",\"double\"]", "\"NaN\"", "02000000000000f87f", NULL },
		{ "[\"null\",\"double\"]", "\"Infinity\"", "02000000000000f07f", NULL },
		{ "[\"null\",\"float\"]", "\"-Infinity\"", "02000080ff", NULL },
		{ "{\"type\":\"map\",\"values\":[\"null\",\"double\"]}", "{\"k\":\"NaN\"}",
		  "02026b02000000000000f87f00", NULL },
	};
	struct pn_avro_codec c;
	struct pn_json j;
	struct pn_buf why = PN_BUF_INIT;
	char want[64];

	pn_avro_codec_init(&c);
	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_avro_schema *s = pn_avro_schema_new(cases[i].schema, strlen(cases[i].schema), &why);
		int n = from_hex(cases[i].hex, want);
		const char *back = cases[i].back ? cases[i].back : cases[i].json;

		if (!CHECK(s != NULL, "schema %s: %s", cases[i].schema, why.data))
			continue;
		pn_buf_reset(&c.out);
		CHECK(pn_json_parse(&j, cases[i].json, strlen(cases[i].json)) == 0, "%s", cases[i].json);
		if (CHECK(pn_avro_encode(&c, s, &j, 0, 0) == 0, "encode %s: %s", cases[i].json,
			  c.why.data)) {
			CHECK_MEM(c.out.data, c.out.len, want, (size_t)n, "encode %s", cases[i].json);
			char *bin = unit_exact(c.out.data, c.out.len);
			size_t len = c.out.len;

			pn_buf_reset(&c.out);
			if (CHECK(pn_avro_decode(&c, s, NULL, bin, len) == 0, "decode %s: %s",
				  cases[i].hex, c.why.data))
				CHECK_MEM(c.out.data, c.out.len, back, strlen(back), "decode %s",
					  cases[i].hex);
			/* every shorter prefix is truncated data, never a crash */
			for (size_t k = 0; k < len; k++) {
				pn_buf_reset(&c.out);
				CHECK(pn_avro_decode(&c, s, NULL, bin, k) < 0, "prefix %zu of %s", k,
				      cases[i].hex);
			}
			free(bin);
		}
		pn_avro_schema_free(s);
	}
	pn_json_release(&j);
	pn_avro_codec_release(&c);
	pn_buf_release(&why);
}

/*
 * Decimals the encoder would refuse are refused when decoding too, so what
 * pn-consume writes pn-produce takes back (fuzz-avro: a bytes decimal of
 * 115 digits under precision 18 decoded, then could not be encoded).  A
 * large scale is written without a fixed buffer (decoding a zero of scale
 * 900 overflowed a 700-byte one; encoding "1" at that scale a 200-byte one).
 */
static void test_decimal_bounds(void)
{
	static const struct { const char *schema, *hex, *json; } cases[] = {
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":0}",
		  "04270f", "\"9999\"" },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":0}",
		  "04d8f1", "\"-9999\"" },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":2}",
		  "080000270f", "\"99.99\"" },	/* sign extension carries no digit */
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":0}",
		  "08ffffd8f1", "\"-9999\"" },
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":0}",
		  "060186a0", NULL },		/* 100000: 6 digits */
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":4,\"scale\":0}",
		  "04d8f0", NULL },		/* -10000 */
		{ "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3,\"logicalType\":\"decimal\",\"precision\":2,\"scale\":1}",
		  "000064", NULL },		/* 10.0 */
		{ "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":1000,\"scale\":3}",
		  "0200", "\"0.000\"" },
	};
	struct pn_buf why = PN_BUF_INIT, big = PN_BUF_INIT;
	struct pn_avro_codec c;
	struct pn_avro_schema *s;
	struct pn_json j;
	char bin[64];

	pn_avro_codec_init(&c);
	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		int n = from_hex(cases[i].hex, bin);
		char *exact = unit_exact(bin, (size_t)n);

		s = pn_avro_schema_new(cases[i].schema, strlen(cases[i].schema), &why);
		if (!CHECK(s != NULL, "schema %s: %s", cases[i].schema, why.data))
			continue;
		pn_buf_reset(&c.out);
		if (cases[i].json) {
			if (CHECK(pn_avro_decode(&c, s, NULL, exact, (size_t)n) == 0, "decode %s: %s",
				  cases[i].hex, c.why.data))
				CHECK_MEM(c.out.data, c.out.len, cases[i].json, strlen(cases[i].json),
					  "decode %s", cases[i].hex);
		} else {
			CHECK(pn_avro_decode(&c, s, NULL, exact, (size_t)n) < 0 &&
			      strstr(c.why.data, "more digits than its precision"),
			      "decode %s: %s", cases[i].hex, c.why.len ? c.why.data : "accepted");
		}
		free(exact);
		pn_avro_schema_free(s);
	}

	/* scale 900: a zero decodes to 900 places; "1" is refused, not overflowed */
	s = pn_avro_schema_new("{\"type\":\"bytes\",\"logicalType\":\"decimal\","
			       "\"precision\":1000,\"scale\":900}", 69, &why);
	if (CHECK(s != NULL, "scale 900: %s", why.data)) {
		pn_buf_reset(&c.out);
		if (CHECK(pn_avro_decode(&c, s, NULL, "\2\0", 2) == 0, "zero: %s", c.why.data))
			CHECK(c.out.len == 904 && !memcmp(c.out.data, "\"0.000", 6) &&
			      c.out.data[902] == '0', "zero: %zu bytes", c.out.len);
		pn_buf_reset(&c.out);
		CHECK(pn_json_parse(&j, "\"1\"", 3) == 0 && pn_avro_encode(&c, s, &j, 0, 0) < 0,
		      "1 at scale 900: %s", c.why.len ? c.why.data : "accepted");
		pn_avro_schema_free(s);
	}

	/* 300 bytes of sign extension before a 1 */
	s = pn_avro_schema_new("{\"type\":\"bytes\",\"logicalType\":\"decimal\","
			       "\"precision\":3,\"scale\":1}", 64, &why);
	if (CHECK(s != NULL, "precision 3: %s", why.data)) {
		pn_buf_add(&big, "\xda\x04", 2);	/* 301 bytes */
		for (int k = 0; k < 300; k++)
			pn_buf_addc(&big, '\0');
		pn_buf_addc(&big, 1);
		pn_buf_reset(&c.out);
		if (CHECK(pn_avro_decode(&c, s, NULL, big.data, big.len) == 0, "padded: %s",
			  c.why.data))
			CHECK_MEM(c.out.data, c.out.len, "\"0.1\"", 5, "padded");
		pn_avro_schema_free(s);
	}
	pn_json_release(&j);
	pn_avro_codec_release(&c);
	pn_buf_release(&why);
	pn_buf_release(&big);
}

/* Malformed data is refused, never undefined behaviour. */
static void test_malformed(void)
{
	static const struct { const char *schema, *hex; } cases[] = {
		/* fuzz-avro: a block count of INT64_MIN, negated */
		{ "{\"type\":\"array\",\"items\":\"long\"}", "ffffffffffffffffff01" },
		{ "{\"type\":\"map\",\"values\":\"long\"}", "ffffffffffffffffff0100" },
		/* a million nulls per block, four blocks: 20 MB of "null" from 13
		 * bytes; a million is allowed in the whole value */
		{ "{\"type\":\"array\",\"items\":\"null\"}", "80897a80897a80897a80897a00" },
	};
	struct pn_buf why = PN_BUF_INIT;
	struct pn_avro_codec c;
	char bin[64];

	pn_avro_codec_init(&c);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_avro_schema *s = pn_avro_schema_new(cases[i].schema,
							      strlen(cases[i].schema), &why);
		int n = from_hex(cases[i].hex, bin);
		char *exact = unit_exact(bin, (size_t)n);

		if (CHECK(s != NULL, "schema %s: %s", cases[i].schema, why.data))
			CHECK(pn_avro_decode(&c, s, NULL, exact, (size_t)n) < 0, "decode %s",
			      cases[i].hex);
		pn_avro_schema_free(s);
		free(exact);
	}
	pn_avro_codec_release(&c);
	pn_buf_release(&why);
}

/*
 * A recursive schema nests as deep as the data says: fuzz-avro decoded a
 * few kilobytes into JSON nested past PN_JSON_MAX_DEPTH, which no pn
 * program reads back (and more would exhaust the stack).  Data nests up
 * to what pn_json reads, with or without a reader schema.
 */
static void test_nesting(void)
{
	static const char schema[] = "{\"type\":\"record\",\"name\":\"L\",\"fields\":"
				     "[{\"name\":\"next\",\"type\":[\"null\",\"L\"]}]}";
	struct pn_buf why = PN_BUF_INIT;
	struct pn_avro_schema *w = pn_avro_schema_new(schema, strlen(schema), &why);
	struct pn_avro_schema *rs = pn_avro_schema_new(schema, strlen(schema), &why);
	struct pn_avro_codec c;
	struct pn_json j;

	if (!CHECK(w && rs, "schema: %s", why.data))
		return;
	pn_avro_codec_init(&c);
	pn_json_init(&j);
	for (int records = PN_JSON_MAX_DEPTH; records <= PN_JSON_MAX_DEPTH + 1; records++) {
		int ok = records <= PN_JSON_MAX_DEPTH;
		char *bin = malloc((size_t)records);

		memset(bin, 2, (size_t)records - 1);	/* branch L, records - 1 times */
		bin[records - 1] = 0;			/* then null */
		for (int resolve = 0; resolve < 2; resolve++) {
			pn_buf_reset(&c.out);
			if (ok) {
				if (CHECK(pn_avro_decode(&c, w, resolve ? rs : NULL, bin,
							 (size_t)records) == 0,
					  "%d records (resolve %d): %s", records, resolve, c.why.data))
					CHECK(pn_json_parse(&j, c.out.data, c.out.len) == 0,
					      "%d records: %s", records, j.why);
			} else {
				CHECK(pn_avro_decode(&c, w, resolve ? rs : NULL, bin,
						     (size_t)records) < 0 &&
				      strstr(c.why.data, "nested deeper than"),
				      "%d records (resolve %d): %s", records, resolve,
				      c.why.len ? c.why.data : "accepted");
			}
		}
		free(bin);
	}
	pn_json_release(&j);
	pn_avro_codec_release(&c);
	pn_avro_schema_free(w);
	pn_avro_schema_free(rs);
	pn_buf_release(&why);
}

static void test_framing(void)
{
	struct pn_buf b = PN_BUF_INIT;
	uint32_t id = 0;

	pn_avro_frame(&b, 0x01020304);
	CHECK_MEM(b.data, b.len, "\0\1\2\3\4", 5, "frame");
	CHECK(pn_avro_unframe(b.data, b.len, &id) == 0 && id == 0x01020304, "unframe");
	CHECK(pn_avro_unframe("\1\0\0\0\1", 5, &id) < 0, "magic byte");
	CHECK(pn_avro_unframe("\0\0\0\1", 4, &id) < 0, "short");
	pn_buf_release(&b);
}

/* A number beyond a double is refused, never encoded as an infinity;
 * "Infinity" (a string, as the Avro JSON encoding has it) is one. */
static void test_beyond_double(void)
{
	static const char *const texts[] = { "1e400", "-1e400", "{\"a\":1e309}" };
	static const char *const schemas[] = { "\"double\"", "\"double\"",
		"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"double\"}]}" };
	struct pn_avro_codec c;
	struct pn_json j;
	struct pn_buf why = PN_BUF_INIT;

	pn_avro_codec_init(&c);
	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(texts); i++) {
		struct pn_avro_schema *s = pn_avro_schema_new(schemas[i], strlen(schemas[i]), &why);

		if (!CHECK(s != NULL, "schema %s: %s", schemas[i], why.data))
			continue;
		pn_buf_reset(&c.out);
		CHECK(pn_json_parse(&j, texts[i], strlen(texts[i])) == 0, "%s", texts[i]);
		CHECK(pn_avro_encode(&c, s, &j, 0, 0) < 0 && strstr(c.why.data, "does not fit a double"),
		      "%s: %s", texts[i], c.why.data ? c.why.data : "encoded");
		pn_avro_schema_free(s);
	}
	pn_json_release(&j);
	pn_avro_codec_release(&c);
	pn_buf_release(&why);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_round_trips();
	test_beyond_double();
	test_framing();
	test_nesting();
	test_malformed();
	test_decimal_bounds();
	return unit_done();
}
