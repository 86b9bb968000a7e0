/* Unit tests for common/pn_avro.h: natural JSON -> Avro binary against the
 * encodings the Avro specification gives (zig-zag varints, length-prefixed
 * strings, blocks, union indexes), and back to the documented JSON; and for
 * what the files of pn_avro share through pn_avro_int.h, on their own. */
#include "pn_avro.h"
#include "pn_avro_int.h"
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

/* The text forms of the logical types, read (pn_avro_parse_logical) and
 * written (pn_avro_add_logical_long), including what falls back to a number. */
static void test_logical_text(void)
{
	static const struct {
		enum pn_avro_type type;
		enum pn_avro_logical logical;
		const char *text;	/* NULL: v is written as a plain number */
		int64_t v;
		int parses;		/* text reads back as v */
	} cases[] = {
		{ PN_AVRO_INT, PN_AVRO_DATE, "\"1970-01-01\"", 0, 1 },
		{ PN_AVRO_INT, PN_AVRO_DATE, "\"1969-12-31\"", -1, 1 },
		{ PN_AVRO_INT, PN_AVRO_DATE, "\"2026-11-26\"", 20783, 1 },
		{ PN_AVRO_INT, PN_AVRO_DATE, "\"9999-12-31\"", 2932896, 1 },
		{ PN_AVRO_INT, PN_AVRO_DATE, NULL, 2932897, 0 },	/* year 10000 */
		{ PN_AVRO_INT, PN_AVRO_DATE, NULL, -719163, 0 },	/* year 0 */
		{ PN_AVRO_INT, PN_AVRO_TIME_MILLIS, "\"13:05:09.123\"", 47109123, 1 },
		{ PN_AVRO_INT, PN_AVRO_TIME_MILLIS, NULL, 86400000, 0 },
		{ PN_AVRO_INT, PN_AVRO_TIME_MILLIS, NULL, -1, 0 },
		{ PN_AVRO_LONG, PN_AVRO_TIME_MICROS, "\"00:00:00.000001\"", 1, 1 },
		{ PN_AVRO_LONG, PN_AVRO_TS_MILLIS, "\"1969-12-31T23:59:59.999Z\"", -1, 1 },
		{ PN_AVRO_LONG, PN_AVRO_TS_MICROS, "\"1970-01-01T00:00:00.000001Z\"", 1, 1 },
		{ PN_AVRO_LONG, PN_AVRO_LOCAL_TS_MILLIS, "\"2026-11-26T13:05:09.123\"",
		  1795698309123LL, 1 },
		{ PN_AVRO_LONG, PN_AVRO_LOCAL_TS_MICROS, "\"1970-01-01T00:00:00.000001\"", 1, 1 },
		{ PN_AVRO_LONG, PN_AVRO_TS_MICROS, NULL, INT64_MAX, 0 },
		{ PN_AVRO_LONG, PN_AVRO_TS_MILLIS, NULL, INT64_MIN, 0 },	/* us overflow */
		{ PN_AVRO_LONG, PN_AVRO_PLAIN, NULL, 5, 0 },
	};
	static const struct {
		enum pn_avro_logical logical;
		const char *text;
	} bad[] = {
		{ PN_AVRO_DATE, "2026-11-26T00:00:00Z" }, { PN_AVRO_DATE, "2026-13-01" },
		{ PN_AVRO_DATE, "26-11-2026" }, { PN_AVRO_TIME_MILLIS, "24:00:00" },
		{ PN_AVRO_TIME_MILLIS, "13:05" }, { PN_AVRO_TIME_MICROS, "13:05:09.1234567" },
		{ PN_AVRO_TIME_MICROS, "13:05:09x" }, { PN_AVRO_TS_MILLIS, "yesterday" },
		{ PN_AVRO_TS_MILLIS, "" }, { PN_AVRO_PLAIN, "1970-01-01" },
		{ PN_AVRO_UUID, "1970-01-01" },
	};
	struct pn_buf b = PN_BUF_INIT;
	char num[32], text[64];

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_avro_node n = { .type = cases[i].type, .logical = cases[i].logical };
		const char *want = cases[i].text;
		int64_t v = 0;

		if (!want) {
			snprintf(num, sizeof(num), "%" PRId64, cases[i].v);
			want = num;
		}
		pn_buf_reset(&b);
		pn_buf_adds(&b, "x");	/* appended after what is there */
		pn_avro_add_logical_long(&b, &n, cases[i].v);
		CHECK_MEM(b.data + 1, b.len - 1, want, strlen(want), "write %" PRId64 " (case %zu)",
			  cases[i].v, i);
		if (!cases[i].parses)
			continue;
		/* the text without its quotes reads back */
		snprintf(text, sizeof(text), "%.*s", (int)strlen(want) - 2, want + 1);
		CHECK(pn_avro_parse_logical(&n, text, &v) == 0, "read '%s'", text);
		CHECK_I64(v, cases[i].v, "read '%s'", text);
	}
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct pn_avro_node n = { .type = PN_AVRO_LONG, .logical = bad[i].logical };
		int64_t v = 0;

		CHECK(pn_avro_parse_logical(&n, bad[i].text, &v) < 0, "'%s' (logical %d) read as %"
		      PRId64, bad[i].text, (int)bad[i].logical, v);
	}
	pn_buf_release(&b);
}

/* Decimal text <-> two's complement bytes, on their own. */
static void test_decimal_bytes(void)
{
	static const struct {
		const char *text;
		int precision, scale;
		size_t size;
		const char *hex;	/* NULL: refused, why contains `why` */
		const char *why;
		const char *back;	/* NULL: text */
	} cases[] = {
		{ "1.28", 9, 2, 0, "0080", NULL, NULL },
		{ "-1.28", 9, 2, 0, "80", NULL, NULL },
		{ "+0", 9, 2, 0, "00", NULL, "0.00" },
		{ "0.010", 9, 2, 0, "01", NULL, "0.01" },	/* zeros past the scale */
		{ "-0.5", 9, 3, 0, "fe0c", NULL, "-0.500" },
		{ "32767", 5, 0, 2, "7fff", NULL, NULL },
		{ "-32768", 5, 0, 2, "8000", NULL, NULL },
		{ "1", 6, 0, 3, "000001", NULL, NULL },
		{ "-1", 6, 0, 3, "ffffff", NULL, NULL },
		{ "32768", 5, 0, 2, NULL, "does not fit the fixed size", NULL },
		{ "0.001", 9, 2, 0, NULL, "more decimal places than the scale", NULL },
		{ "12345", 4, 0, 0, NULL, "more digits than the precision", NULL },
		{ "99.9", 3, 2, 0, NULL, "more digits than the precision", NULL },
		{ "1.", 9, 2, 0, NULL, "is not a decimal number", NULL },
		{ ".5", 9, 2, 0, NULL, "is not a decimal number", NULL },
		{ "-", 9, 2, 0, NULL, "is not a decimal number", NULL },
		{ "1e3", 9, 2, 0, NULL, "is not a decimal number", NULL },
		{ "", 9, 2, 0, NULL, "is not a decimal number", NULL },
	};
	struct pn_buf b = PN_BUF_INIT, text = PN_BUF_INIT;
	char want[16];

	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *why = NULL, *s = cases[i].text;
		int status;

		pn_buf_reset(&b);
		status = pn_avro_decimal_to_bytes(s, strlen(s), cases[i].precision, cases[i].scale,
						  cases[i].size, &b, &why);
		if (!cases[i].hex) {
			CHECK(status < 0 && why && strstr(why, cases[i].why) && b.len == 0,
			      "'%s' -> %s", s, why ? why : "accepted");
			continue;
		}
		if (!CHECK(status == 0, "'%s': %s", s, why))
			continue;
		CHECK_MEM(b.data, b.len, want, (size_t)from_hex(cases[i].hex, want), "'%s'", s);
		/* and back, quoted */
		pn_buf_reset(&text);
		CHECK(pn_avro_add_decimal(&text, (const unsigned char *)b.data, b.len,
					  cases[i].precision, cases[i].scale) == 0, "back '%s'", s);
		pn_buf_reset(&b);
		pn_buf_addf(&b, "\"%s\"", cases[i].back ? cases[i].back : s);
		CHECK_MEM(text.data, text.len, b.data, b.len, "back '%s'", s);
	}
	/* no bytes is a zero; too many digits appends nothing */
	pn_buf_reset(&text);
	CHECK(pn_avro_add_decimal(&text, (const unsigned char *)"", 0, 4, 2) == 0, "empty");
	CHECK_MEM(text.data, text.len, "\"0.00\"", 6, "empty");
	pn_buf_reset(&text);
	CHECK(pn_avro_add_decimal(&text, (const unsigned char *)"\x01\x86\xa0", 3, 4, 0) < 0 &&
	      text.len == 0, "100000 under precision 4: %s", text.data ? text.data : "");
	pn_buf_release(&b);
	pn_buf_release(&text);
}

/* The field path of errors, branch names, and the field lookup. */
static void test_shared(void)
{
	static const char schema[] =
		"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"com.x\",\"fields\":["
		"{\"name\":\"a\",\"type\":[\"null\",\"long\","
		"{\"type\":\"array\",\"items\":\"int\"},"
		"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}]},"
		"{\"name\":\"b\",\"type\":[\"null\",\"R\"]},"
		"{\"name\":\"ab\",\"type\":\"string\"}]}";
	struct pn_buf why = PN_BUF_INIT, names = PN_BUF_INIT;
	struct pn_avro_schema *s = pn_avro_schema_new(schema, strlen(schema), &why);
	struct pn_avro_codec c;
	struct pn_buf want = PN_BUF_INIT;

	pn_avro_codec_init(&c);
	CHECK(pn_avro_fail(&c, "top %d", 1) == -1, "fail returns -1");
	CHECK_MEM(c.why.data, c.why.len, "top 1", 5, "no path");
	pn_avro_push_name(&c, "a", 1);
	pn_avro_push_index(&c, 2);
	pn_avro_push_name(&c, "bc", 1);	/* the length counts, not the NUL */
	pn_avro_fail(&c, "deep");
	CHECK_MEM(c.why.data, c.why.len, "field 'a[2].b': deep", 20, "path");
	pn_avro_pop(&c);
	pn_avro_pop(&c);
	pn_avro_pop(&c);
	CHECK(c.depth == 0, "depth %d after the pops", c.depth);
	pn_avro_push_index(&c, 0);
	pn_avro_push_name(&c, "x", 1);
	pn_avro_fail(&c, "r");
	CHECK_MEM(c.why.data, c.why.len, "field '[0].x': r", 16, "index first");
	/* past the path's room depth still counts; the path is cut */
	c.depth = 0;
	pn_buf_adds(&want, "field 'n");
	for (int i = 0; i < PN_AVRO_MAX_PATH + 6; i++) {
		pn_avro_push_name(&c, "n", 1);
		if (i && i < PN_AVRO_MAX_PATH)
			pn_buf_adds(&want, ".n");
	}
	pn_buf_adds(&want, "': cut");
	pn_avro_fail(&c, "cut");
	CHECK(c.depth == PN_AVRO_MAX_PATH + 6, "depth %d", c.depth);
	CHECK_MEM(c.why.data, c.why.len, want.data, want.len, "cut path");

	if (CHECK(s != NULL, "schema: %s", why.data)) {
		const struct pn_avro_node *r = s->root, *u = r->fields[0].type;

		CHECK(!strcmp(pn_avro_branch_name(r), "com.x.R"), "%s", pn_avro_branch_name(r));
		pn_avro_union_names(&names, u);
		CHECK_MEM(names.data, names.len, "[null, long, array, com.x.E]", 28, "union");
		CHECK(pn_avro_find_field(r, "a", 1, 0) == 0, "a");
		CHECK(pn_avro_find_field(r, "ab", 2, 0) == 2, "ab, hint 0");
		CHECK(pn_avro_find_field(r, "b", 1, 1) == 1, "b, hint 1");
		CHECK(pn_avro_find_field(r, "b", 1, 9) == 1, "b, hint past the fields");
		CHECK(pn_avro_find_field(r, "", 0, 0) == -1, "empty name");
		CHECK(pn_avro_find_field(r, "c", 1, 0) == -1, "c");
		CHECK(pn_avro_find_field(r, "\\u0061b", 7, 0) == 2, "an escaped name");
	}
	pn_avro_schema_free(s);
	pn_avro_codec_release(&c);
	pn_buf_release(&why);
	pn_buf_release(&names);
	pn_buf_release(&want);
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
	test_logical_text();
	test_decimal_bytes();
	test_shared();
	return unit_done();
}
