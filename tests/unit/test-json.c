/* Unit tests for common/pn_json.h: the strict parser, token helpers,
 * unescaping, int64 conversion, the string writer and UTF-8 validation. */
#include <jansson.h>

#include "pn_json.h"
#include "unit.h"

/* j->why for messages, never NULL */
#define WHY(j) ((j)->why ? (j)->why : "no error")

/* Parses a copy of exactly n bytes (no NUL after it); 0 or -1. */
static int parse(struct pn_json *j, const char *s, size_t n, char **copy)
{
	*copy = unit_exact(s, n);
	return pn_json_parse(j, *copy, n);
}

/* ---- pn_json_parse: accept and reject ------------------------------- */

struct parse_case {
	const char *s;
	size_t n;
	int ok;
	const char *why;	/* a substring of j.why, or NULL: any reason */
	long at;		/* the expected j.at, or -1: anywhere in [0, n] */
};

#define OK(s)		 { s, sizeof(s) - 1, 1, NULL, -1 }
#define BAD(s, why, at)	 { s, sizeof(s) - 1, 0, why, at }

static const struct parse_case parse_cases[] = {
	/* valid */
	OK("{}"),
	OK("[]"),
	OK("{\"a\":1}"),
	OK(" \t\r\n{ \"a\" : 1 ,\n\"b\" :\t[ 1 , 2 ] } \r\n"),
	OK("{\"a\":{\"b\":{\"c\":[[],{},[{}]]}},\"d\":[[[1]]]}"),
	OK("[true,false,null]"),
	OK("[0,-0,1.5,-1.5e10,1E+2,1e-2,0.0,10,-10,123456789.25E-007]"),
	OK("[9223372036854775807,-9223372036854775808,18446744073709551616]"),
	OK("{\"\xc3\xa9\":\"\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}"),
	OK("{\"s\":\"\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\\b\\f\\r\\t\\u00E9\"}"),
	OK("{\"a\":\"\\u0000\"}"),
	OK("{\"a\":\"\\ud800\"}"),	/* a lone surrogate escape is valid JSON text */
	OK("[\"\x7f\"]"),		/* DEL needs no escape */
	OK("{\"\":\"\"}"),
	OK("{\"a\":1,\"a\":2}"),	/* duplicate keys are not our business */
	OK("\"just a string\""),
	OK("1 "),
	OK("true\n"),
	OK("[1]"),
	OK("{\"a\":[]}"),

	/* separators */
	BAD("{\"a\":1,}", NULL, 7),
	BAD("[1,]", NULL, 3),
	BAD("[\"a\",]", NULL, 5),
	BAD("[,1]", NULL, 1),
	BAD("[1,,2]", NULL, 3),
	BAD("{,}", NULL, 1),
	BAD("{\"a\" 1}", NULL, -1),
	BAD("{\"a\"::1}", NULL, 5),
	BAD("{\"a\":1 \"b\":2}", NULL, 7),
	BAD("[1 2]", NULL, 3),
	BAD("{\"a\"}", NULL, -1),
	BAD("{\"a\":}", NULL, -1),
	BAD("{\"a\":1,\"b\"}", NULL, -1),
	BAD("{1:2}", NULL, 1),
	BAD("{true:1}", NULL, 1),
	BAD("{{}:1}", NULL, 1),
	BAD("[1:2]", NULL, 2),
	BAD("{\"a\":1:2}", NULL, 6),
	BAD("[\"a\":1]", NULL, 4),

	/* brackets */
	BAD("{\"a\":1]", NULL, 6),
	BAD("[1}", NULL, 2),
	BAD("]", NULL, 0),
	BAD("}", NULL, 0),
	BAD("[]]", NULL, 2),
	BAD("{\"a\":1}}", NULL, 7),
	BAD("{\"a\":[}", NULL, 6),
	BAD("[1,{\"a\":2]}", NULL, 9),

	/* truncated */
	BAD("[", "truncated", 1),
	BAD("{", "truncated", 1),
	BAD("[[]", "truncated", 3),
	BAD("{\"a\":", "truncated", 5),
	BAD("{\"a\":\"b", "truncated", 7),
	BAD("\"abc", "truncated", 4),
	BAD("[\"\\", "truncated", 3),

	/* literals and numbers */
	BAD("tru", NULL, -1),
	BAD("[tru]", "literal", 1),
	BAD("[nul]", "literal", 1),
	BAD("[fals]", "literal", 1),
	BAD("[nulll]", "literal", 1),
	BAD("[True]", NULL, 1),
	BAD("[NaN]", NULL, 1),
	BAD("[Infinity]", NULL, 1),
	BAD("[01]", "number", 1),
	BAD("[-01]", "number", 1),
	BAD("[1.]", "number", 1),
	BAD("[.5]", NULL, 1),
	BAD("[1e]", "number", 1),
	BAD("[1e+]", "number", 1),
	BAD("[-]", "number", 1),
	BAD("[+1]", NULL, 1),
	BAD("[0x1]", "number", 1),
	BAD("[1.5.5]", "number", 1),
	BAD("[--1]", "number", 1),
	BAD("{\"a\":01}", "number", 5),

	/* strings: raw control characters and UTF-8 */
	BAD("[\"\x01\"]", "control character", 2),
	BAD("[\"a\tb\"]", "control character", 3),
	BAD("[\"\n\"]", "control character", 2),
	BAD("[\"\x1f\"]", "control character", 2),
	BAD("[\"\xc0\x80\"]", "UTF-8", 2),		/* overlong NUL */
	BAD("[\"\xe0\x80\xaf\"]", "UTF-8", 2),		/* overlong '/' */
	BAD("[\"\xed\xa0\x80\"]", "UTF-8", 2),		/* surrogate U+D800 */
	BAD("[\"\xf4\x90\x80\x80\"]", "UTF-8", 2),	/* past U+10FFFF */
	BAD("[\"\xf5\x80\x80\x80\"]", "UTF-8", 2),
	BAD("[\"\xff\"]", "UTF-8", 2),
	BAD("[\"\x80\"]", "UTF-8", 2),			/* lone continuation */
	BAD("[\"\xe2\x82\"]", "UTF-8", 2),		/* truncated sequence */
	BAD("[\"ab\xc3\"]", "UTF-8", 4),		/* truncated at the quote */
	BAD("{\"\xff\":1}", "UTF-8", 2),		/* in a key */
	BAD("[1]\xff", NULL, 3),
	BAD("\xef\xbb\xbf{}", NULL, 0),			/* no byte order mark */

	/* escapes */
	BAD("[\"\\x\"]", "escape", 2),
	BAD("[\"\\u12\"]", "escape", 2),
	BAD("[\"\\u12G4\"]", "escape", 2),
	BAD("[\"\\U0041\"]", "escape", 2),
	BAD("[\"\\'\"]", "escape", 2),
	BAD("[\"\\a\"]", "escape", 2),

	/* NUL bytes, empty input, data after the value */
	BAD("{\"a\":\"x\0y\"}", "NUL", 7),
	BAD("{\"a\":1\0}", "NUL", 6),
	BAD("{\"a\":1}\0", "NUL", 7),
	BAD("{\"a\":1} \0", "NUL", 8),
	BAD("\0", NULL, 0),
	BAD("", "empty", 0),
	BAD("   ", "empty", 0),
	BAD("\t\r\n", "empty", 0),
	BAD("{} {}", "after the JSON value", 3),
	BAD("{}{}", NULL, 2),
	BAD("{}x", NULL, 2),
	BAD("\"a\" \"b\"", "after the JSON value", 4),
	BAD("[1] 2", NULL, -1),
	BAD("x", NULL, 0),
};

static void test_parse_table(void)
{
	struct pn_json j;

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		const char *show = unit_show(c->s, c->n);
		char *copy;
		int r = parse(&j, c->s, c->n, &copy);

		if (c->ok) {
			CHECK(r == 0, "%s rejected: %s at %zu", show, WHY(&j), j.at);
			CHECK(j.why == NULL, "%s", show);
			CHECK(r != 0 || j.ntok > 0, "%s", show);
		} else {
			CHECK(r == -1, "%s accepted", show);
			CHECK(j.why != NULL && *j.why, "%s: no reason", show);
			CHECK(j.at <= c->n, "%s: at %zu past the end", show, j.at);
			if (c->why)
				CHECK(j.why && strstr(j.why, c->why),
				      "%s: reason '%s', want '%s'", show, WHY(&j), c->why);
			if (c->at >= 0)
				CHECK(j.at == (size_t)c->at, "%s: at %zu, want %ld (%s)",
				      show, j.at, c->at, WHY(&j));
		}
		free(copy);
	}
	pn_json_release(&j);
}

/*
 * Every position in strings of every length up to 40: check_string may
 * scan several bytes at a time, so a byte that needs a look must be found
 * wherever it sits in a word.
 */
static void test_parse_string_positions(void)
{
	static const struct { const char *s; int ok; } bytes[] = {
		{ "\x01", 0 }, { "\x1f", 0 }, { "\n", 0 }, { "\x80", 0 }, { "\xbf", 0 },
		{ "\xc3", 0 }, { "\xe2\x82", 0 }, { "\xed\xa0\x80", 0 }, { "\xff", 0 },
		{ "\x7f", 1 }, { "\xc3\xa9", 1 }, { "\xe2\x82\xac", 1 },
		{ "\xf0\x9f\x98\x80", 1 }, { "\\n", 1 }, { "\\\"", 1 }, { "\\\\", 1 },
		{ "\\u00e9", 1 }, { "\\ud83d\\ude00", 1 },
	};
	struct pn_buf b = PN_BUF_INIT;
	struct pn_json j;
	int bad = 0;

	pn_json_init(&j);
	for (size_t k = 0; k < NELEM(bytes); k++) {
		size_t bl = strlen(bytes[k].s);

		for (size_t len = 1; len <= 40 && bad < 10; len++) {
			for (size_t p = 0; p < len && bad < 10; p++) {
				char *copy;
				int r;

				pn_buf_reset(&b);
				pn_buf_addc(&b, '"');
				for (size_t i = 0; i < p; i++)
					pn_buf_addc(&b, 'a' + i % 26);
				pn_buf_add(&b, bytes[k].s, bl);
				for (size_t i = p + 1; i < len; i++)
					pn_buf_addc(&b, 'a' + i % 26);
				pn_buf_addc(&b, '"');
				r = parse(&j, b.data, b.len, &copy);
				if (bytes[k].ok)
					bad += !CHECK(r == 0, "%s rejected: %s at %zu",
						      unit_show(b.data, b.len), WHY(&j), j.at);
				else
					bad += !CHECK(r == -1 && j.at == 1 + p, "%s: %s at %zu",
						      unit_show(b.data, b.len),
						      r ? WHY(&j) : "accepted", j.at);
				free(copy);
			}
		}
	}
	pn_json_release(&j);
	pn_buf_release(&b);
}

/* A value alone on a line ends at the end of the text: jsmn's strict mode
 * wants a primitive followed by a separator and reports "truncated". */
static void test_parse_toplevel_primitive(void)
{
	static const char *const cases[] = { "1", "-0", "true", "false", "null", "1.5e3" };
	struct pn_json j;
	char *copy;

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		CHECK(parse(&j, cases[i], strlen(cases[i]), &copy) == 0,
		     "top-level '%s' rejected: %s", cases[i], WHY(&j));
		free(copy);
	}
	parse(&j, "[1] 2", 5, &copy);
	CHECK(j.why && strstr(j.why, "after the JSON value"),
	     "'[1] 2' is reported as '%s' at %zu", WHY(&j), j.at);
	free(copy);
	pn_json_release(&j);
}

/* depth times open, then core, then depth times close */
static char *nested(const char *open, const char *core, const char *close, int depth,
		    size_t *n)
{
	size_t lo = strlen(open), lm = strlen(core), lc = strlen(close);
	char *s = malloc(depth * (lo + lc) + lm + 1);
	char *p = s;

	for (int i = 0; i < depth; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, core, lm);
	p += lm;
	for (int i = 0; i < depth; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	*n = p - s;
	return s;
}

static void test_parse_depth(void)
{
	static const struct { const char *open, *core, *close; } kinds[] = {
		{ "[", "", "]" }, { "{\"a\":", "1", "}" }, { "[{\"k\":", "\"v\"", "}]" },
	};
	struct pn_json j;

	pn_json_init(&j);
	for (size_t k = 0; k < NELEM(kinds); k++) {
		/* containers nested per step: 1 for [ and {, 2 for [{ */
		int per = k == 2 ? 2 : 1;
		size_t n;
		char *s;

		s = nested(kinds[k].open, kinds[k].core, kinds[k].close,
			   PN_JSON_MAX_DEPTH / per, &n);
		CHECK(pn_json_parse(&j, s, n) == 0, "depth %d of %s: %s",
		      PN_JSON_MAX_DEPTH, kinds[k].open, WHY(&j));
		free(s);

		s = nested(kinds[k].open, kinds[k].core, kinds[k].close,
			   PN_JSON_MAX_DEPTH / per + 1, &n);
		CHECK(pn_json_parse(&j, s, n) == -1, "depth %d of %s accepted",
		      PN_JSON_MAX_DEPTH + per, kinds[k].open);
		CHECK(j.why && strstr(j.why, "too deep"), "reason: %s", WHY(&j));
		CHECK(j.at < n, "at %zu", j.at);
		free(s);

		s = nested(kinds[k].open, kinds[k].core, kinds[k].close, 10000, &n);
		CHECK(pn_json_parse(&j, s, n) == -1, "depth 10000 of %s accepted",
		      kinds[k].open);
		free(s);
	}
	pn_json_release(&j);
}

/* More tokens than the initial array holds; the struct is reused. */
static void test_parse_many_tokens(void)
{
	struct pn_buf b = PN_BUF_INIT;
	struct pn_json j;

	pn_json_init(&j);
	for (int round = 0; round < 2; round++) {
		pn_buf_reset(&b);
		pn_buf_addc(&b, '[');
		for (int i = 0; i < 10000; i++)
			pn_buf_addf(&b, "%s%d", i ? "," : "", i * 7);
		pn_buf_addc(&b, ']');
		CHECK(pn_json_parse(&j, b.data, b.len) == 0, "10000 numbers: %s", WHY(&j));
		CHECK(j.ntok == 10001, "ntok %d", j.ntok);
		CHECK(j.tok[0].size == 10000, "size %d", j.tok[0].size);
		for (int i = 0; i < 10000 && j.ntok == 10001; i += 997) {
			int64_t v = -1;
			const char *s = b.data + j.tok[1 + i].start;

			CHECK(pn_json_int64(s, j.tok[1 + i].end - j.tok[1 + i].start, &v) == 0 &&
			      v == i * 7, "element %d", i);
		}
		/* a failure in between leaves the struct usable */
		CHECK(pn_json_parse(&j, "[1,]", 4) == -1, "[1,] accepted");
	}
	CHECK(pn_json_parse(&j, "{\"a\":1}", 7) == 0 && j.ntok == 3, "after reuse");
	pn_json_release(&j);
	pn_buf_release(&b);
}

/*
 * Random mutations of valid texts must be accepted by pn exactly when
 * jansson accepts them.  Known, intended differences are avoided: a space
 * ends every text (a bare top-level primitive, see above) and jansson's
 * number range errors are skipped (pn checks grammar, not range).
 */
static void test_parse_vs_jansson(void)
{
	static const char *const seeds[] = {
		"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\\n\\u00e9\"}}",
		"[1,-2.5e3,0,\"\xc3\xa9\",{}]",
		"{\"k\":[[],[{}],\"\\\"\"],\"\":-0.0}",
		"[0.5,1E+2,-0,\"\\/\\t\",\"\xe2\x82\xac\"]",
	};
	static const char alphabet[] = "{}[]:,\" \\0123456789.eE+-tfnrulsab\x01\x1f\x7f"
				       "\xc3\xa9\xed\xa0\x80\xf0\x9f\xff";
	struct pn_json j;
	int disagree = 0;

	pn_json_init(&j);
	for (int it = 0; it < 100000; it++) {
		char b[256], *copy;
		const char *seed = seeds[unit_below(NELEM(seeds))];
		size_t n = strlen(seed);
		int edits = 1 + unit_below(3);
		json_error_t e;
		json_t *v;
		int pn_ok, js_ok;

		memcpy(b, seed, n);
		for (int k = 0; k < edits; k++) {
			size_t p = unit_below(n + 1);
			char c = alphabet[unit_below(sizeof(alphabet) - 1)];

			switch (unit_below(3)) {
			case 0:		/* insert */
				memmove(b + p + 1, b + p, n - p);
				b[p] = c;
				n++;
				break;
			case 1:		/* delete */
				if (p < n) {
					memmove(b + p, b + p + 1, n - p - 1);
					n--;
				}
				break;
			default:	/* replace */
				if (p < n)
					b[p] = c;
			}
		}
		b[n++] = ' ';
		pn_ok = parse(&j, b, n, &copy) == 0;
		v = json_loadb(b, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
		js_ok = v != NULL;
		json_decref(v);
		if (!js_ok && (strstr(e.text, "overflow") || strstr(e.text, "too big")))
			js_ok = pn_ok;
		if (pn_ok != js_ok && disagree++ < 10)
			CHECK(pn_ok == js_ok, "%s: pn %s (%s), jansson %s (%s)",
			      unit_show(b, n), pn_ok ? "accepts" : "rejects",
			      pn_ok ? "" : WHY(&j), js_ok ? "accepts" : "rejects",
			      js_ok ? "" : e.text);
		free(copy);
	}
	CHECK(disagree == 0, "%d disagreements with jansson", disagree);
	pn_json_release(&j);
}

/* ---- token helpers --------------------------------------------------- */

static void check_raw(const struct pn_json *j, int i, const char *want, const char *what)
{
	size_t n = 0;
	const char *raw = i >= 0 ? pn_json_raw(j, i, &n) : NULL;

	CHECK_MEM(raw, n, want, strlen(want), "raw of %s", what);
}

static void test_tokens(void)
{
	static const char rec[] =
		"{\"topic\":\"t\",\"key\":null,"
		"\"value\":{\"a\":[1,{\"b\":2}],\"c\":\"x\",\"d\":{}},"
		"\"x\":\"a\",\"headers\":{\"h\":\"v\\u00e9\"},"
		"\"ab\":1,\"a\":2,\"esc\\\"k\":3,\"offset\":-42}";
	struct pn_json j;
	char *copy;
	int v, a, h, t;
	int64_t n;

	pn_json_init(&j);
	CHECK(parse(&j, rec, sizeof(rec) - 1, &copy) == 0, "record: %s", WHY(&j));
	CHECK(pn_json_is_object(&j, 0), "root is an object");

	t = pn_json_get(&j, 0, "topic", 5);
	CHECK(t > 0 && pn_json_tok_eq(&j, t, "t", 1), "topic");
	check_raw(&j, t, "\"t\"", "topic");
	check_raw(&j, pn_json_get(&j, 0, "key", 3), "null", "key");

	v = pn_json_get(&j, 0, "value", 5);
	CHECK(v > 0 && pn_json_is_object(&j, v), "value is an object");
	check_raw(&j, v, "{\"a\":[1,{\"b\":2}],\"c\":\"x\",\"d\":{}}", "value");
	a = pn_json_get(&j, v, "a", 1);
	CHECK(a > 0 && j.tok[a].type == PN_JSON_ARRAY && j.tok[a].size == 2, "value.a");
	check_raw(&j, a, "[1,{\"b\":2}]", "value.a");
	CHECK(pn_json_tok_eq(&j, pn_json_get(&j, v, "c", 1), "x", 1), "value.c");
	check_raw(&j, pn_json_get(&j, v, "d", 1), "{}", "value.d");
	CHECK(pn_json_get(&j, v, "b", 1) == -1, "value.b is nested deeper");
	CHECK(pn_json_get(&j, pn_json_get(&j, v, "d", 1), "a", 1) == -1, "empty object");

	/* top-level lookups do not descend, and values are not keys */
	CHECK(pn_json_get(&j, 0, "b", 1) == -1, "b only exists nested");
	CHECK(pn_json_get(&j, 0, "c", 1) == -1, "c only exists nested");
	check_raw(&j, pn_json_get(&j, 0, "a", 1), "2", "a (not the value of x, not ab)");
	check_raw(&j, pn_json_get(&j, 0, "ab", 2), "1", "ab");
	CHECK(pn_json_get(&j, 0, "missing", 7) == -1, "missing");
	CHECK(pn_json_get(&j, 0, "topi", 4) == -1, "a prefix of a key");
	CHECK(pn_json_get(&j, 0, "topics", 6) == -1, "a key is a prefix");
	CHECK(pn_json_get(&j, 0, "", 0) == -1, "empty key");
	check_raw(&j, pn_json_get(&j, 0, "esc\"k", 5), "3", "keys compare decoded");
	CHECK(pn_json_get(&j, 0, "esc\\\"k", 6) == -1, "keys do not compare as written");

	h = pn_json_get(&j, 0, "headers", 7);
	check_raw(&j, pn_json_get(&j, h, "h", 1), "\"v\\u00e9\"", "headers.h stays escaped");

	t = pn_json_get(&j, 0, "offset", 6);
	CHECK(t > 0 && pn_json_int64(j.text + j.tok[t].start, j.tok[t].end - j.tok[t].start,
				     &n) == 0 && n == -42, "offset");
	CHECK(!pn_json_tok_eq(&j, t, "-42", 3), "tok_eq is for strings only");

	/* skip: whole subtrees */
	CHECK(pn_json_skip(&j, 0) == j.ntok, "skip(root) %d, ntok %d", pn_json_skip(&j, 0), j.ntok);
	CHECK(pn_json_skip(&j, v) == v + 11, "skip(value) %d, value %d", pn_json_skip(&j, v), v);
	CHECK(pn_json_tok_eq(&j, pn_json_skip(&j, v), "x", 1), "after value comes key x");
	CHECK(pn_json_skip(&j, a) == a + 5, "skip(value.a)");
	CHECK(pn_json_skip(&j, t) == t + 1, "skip(primitive)");
	CHECK(pn_json_skip(&j, 1) == 2, "skip(key)");
	free(copy);

	/* a key that is an exact match of a string value elsewhere */
	static const char kk[] = "{\"k\":\"k\",\"v\":[\"k\"],\"k2\":1}";

	CHECK(parse(&j, kk, sizeof(kk) - 1, &copy) == 0, "%s", WHY(&j));
	check_raw(&j, pn_json_get(&j, 0, "k", 1), "\"k\"", "k");
	check_raw(&j, pn_json_get(&j, 0, "k2", 2), "1", "k2");
	free(copy);
	pn_json_release(&j);
}

/* ---- pn_json_unescape ------------------------------------------------ */

static void test_unescape(void)
{
	static const struct { const char *in; size_t n; const char *out; size_t on; } cases[] = {
#define U(in, out) { in, sizeof(in) - 1, out, sizeof(out) - 1 }
		U("", ""),
		U("plain text", "plain text"),
		U("\\\"", "\""),
		U("\\\\", "\\"),
		U("\\/", "/"),
		U("\\b\\f\\n\\r\\t", "\b\f\n\r\t"),
		U("a\\nb\\tc", "a\nb\tc"),
		U("\\u0041\\u007a", "Az"),
		U("\\u00e9", "\xc3\xa9"),
		U("\\u00E9", "\xc3\xa9"),
		U("\\u07ff", "\xdf\xbf"),
		U("\\u0800", "\xe0\xa0\x80"),
		U("\\u20ac", "\xe2\x82\xac"),
		U("\\uffff", "\xef\xbf\xbf"),
		U("\\ud83d\\ude00", "\xf0\x9f\x98\x80"),
		U("\\uD83D\\uDE00", "\xf0\x9f\x98\x80"),
		U("\\ud800\\udc00", "\xf0\x90\x80\x80"),
		U("\\udbff\\udfff", "\xf4\x8f\xbf\xbf"),
		U("\\ud83d", "\xef\xbf\xbd"),
		U("\\ude00", "\xef\xbf\xbd"),
		U("\\ud83dx", "\xef\xbf\xbdx"),
		U("\\ud83d\\u0041", "\xef\xbf\xbd" "A"),
		U("\\ude00\\ud83d", "\xef\xbf\xbd\xef\xbf\xbd"),
		U("\\ud83d\\ud83d\\ude00", "\xef\xbf\xbd\xf0\x9f\x98\x80"),
		U("\\u0000", "\0"),
		U("a\\u0000b", "a\0b"),
		U("\xc3\xa9\\n\xe2\x82\xac", "\xc3\xa9\n\xe2\x82\xac"),
		U("x\\\\u0041", "x\\u0041"),
#undef U
	};
	struct pn_buf b = PN_BUF_INIT;

	/* pn_buf_grow() allocates without terminating (see test-buf) */
	pn_json_unescape("", 0, &b);
	CHECK(b.data && b.data[0] == '\0', "unescape of \"\" into a fresh buffer: data %s",
	     b.data ? "not NUL-terminated" : "NULL");
	pn_buf_release(&b);
	pn_buf_adds(&b, "");

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *in = unit_exact(cases[i].in, cases[i].n);

		pn_buf_reset(&b);
		pn_json_unescape(in, cases[i].n, &b);
		CHECK_MEM(b.data, b.len, cases[i].out, cases[i].on, "unescape %s",
			  unit_show(cases[i].in, cases[i].n));
		CHECK(b.data && b.data[b.len] == '\0', "unescape %s is not NUL-terminated",
		      unit_show(cases[i].in, cases[i].n));
		/* it appends */
		pn_buf_reset(&b);
		pn_buf_adds(&b, "pre:");
		pn_json_unescape(in, cases[i].n, &b);
		CHECK(b.len == 4 + cases[i].on && !memcmp(b.data, "pre:", 4) &&
		      !memcmp(b.data + 4, cases[i].out, cases[i].on), "appends %s",
		      unit_show(cases[i].in, cases[i].n));
		free(in);
	}
	pn_buf_release(&b);
}

/* ---- pn_json_int64 --------------------------------------------------- */

static void test_int64(void)
{
	static const struct { const char *s; int ok; int64_t v; } cases[] = {
		{ "0", 1, 0 },
		{ "-0", 1, 0 },
		{ "7", 1, 7 },
		{ "-42", 1, -42 },
		{ "1234567890123", 1, 1234567890123LL },
		{ "9223372036854775807", 1, INT64_MAX },
		{ "-9223372036854775808", 1, INT64_MIN },
		{ "9223372036854775806", 1, INT64_MAX - 1 },
		{ "-9223372036854775807", 1, INT64_MIN + 1 },
		{ "9223372036854775808", 0, 0 },
		{ "-9223372036854775809", 0, 0 },
		{ "9223372036854775810", 0, 0 },
		{ "18446744073709551615", 0, 0 },
		{ "18446744073709551616", 0, 0 },
		{ "100000000000000000000", 0, 0 },
		{ "", 0, 0 },
		{ "-", 0, 0 },
		{ "--1", 0, 0 },
		{ "+1", 0, 0 },
		{ " 1", 0, 0 },
		{ "1 ", 0, 0 },
		{ "1.5", 0, 0 },
		{ "1.0", 0, 0 },
		{ "1e3", 0, 0 },
		{ "1E3", 0, 0 },
		{ "0x10", 0, 0 },
		{ "true", 0, 0 },
		{ "\"1\"", 0, 0 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t n = strlen(cases[i].s);
		char *s = unit_exact(cases[i].s, n);
		int64_t v = 12345;
		int r = pn_json_int64(s, n, &v);

		if (cases[i].ok) {
			CHECK(r == 0, "'%s' rejected", cases[i].s);
			CHECK_I64(v, cases[i].v, "'%s'", cases[i].s);
		} else {
			CHECK(r == -1, "'%s' accepted as %" PRId64, cases[i].s, v);
			CHECK(v == 12345, "'%s' changed the output", cases[i].s);
		}
		free(s);
	}
}

/* ---- pn_json_add_string ---------------------------------------------- */

#define FFFD "\xef\xbf\xbd"

static void test_add_string(void)
{
	static const struct { const char *in; size_t n; const char *out; } cases[] = {
#define S(in, out) { in, sizeof(in) - 1, out }
		S("", "\"\""),
		S("abc", "\"abc\""),
		S("\"", "\"\\\"\""),
		S("\\", "\"\\\\\""),
		S("/", "\"/\""),
		S("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""),
		S("a\"b\\c\nd", "\"a\\\"b\\\\c\\nd\""),
		S("\0", "\"\\u0000\""),
		S("\x01", "\"\\u0001\""),
		S("\x0b", "\"\\u000b\""),
		S("\x1b[0m", "\"\\u001b[0m\""),
		S("\x1f", "\"\\u001f\""),
		S(" ~", "\" ~\""),
		S("\x7f", "\"\x7f\""),
		S("\xc3\xa9", "\"\xc3\xa9\""),
		S("\xe2\x82\xac", "\"\xe2\x82\xac\""),
		S("\xef\xbf\xbf", "\"\xef\xbf\xbf\""),
		S("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""),
		S("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),
		/* each byte that is not part of a valid sequence becomes U+FFFD */
		S("\xff", "\"" FFFD "\""),
		S("\x80", "\"" FFFD "\""),
		S("\xc0\x80", "\"" FFFD FFFD "\""),
		S("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\""),
		S("\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""),
		S("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""),
		S("\xe2\x82", "\"" FFFD FFFD "\""),
		S("a\xe2\x82", "\"a" FFFD FFFD "\""),
		S("\xe2\x82z", "\"" FFFD FFFD "z\""),
		S("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9" FFFD "\xc3\xa9\""),
		S("\xff\n", "\"" FFFD "\\n\""),
#undef S
	};
	struct pn_buf b = PN_BUF_INIT, u = PN_BUF_INIT;
	struct pn_json j;

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *show = unit_show(cases[i].in, cases[i].n);
		char *in = unit_exact(cases[i].in, cases[i].n);
		char *copy;

		pn_buf_reset(&b);
		pn_json_add_string(&b, in, cases[i].n);
		CHECK_MEM(b.data, b.len, cases[i].out, strlen(cases[i].out), "escape %s", show);
		/* the output is one valid JSON string... */
		CHECK(parse(&j, b.data, b.len, &copy) == 0 && j.ntok == 1 &&
		      j.tok[0].type == PN_JSON_STRING, "%s does not re-parse: %s", show, WHY(&j));
		/* ...that decodes to the input, or its repaired form */
		pn_buf_reset(&u);
		if (j.ntok == 1)
			pn_json_unescape(copy + j.tok[0].start, j.tok[0].end - j.tok[0].start, &u);
		if (pn_utf8_valid(cases[i].in, cases[i].n))
			CHECK_MEM(u.data, u.len, cases[i].in, cases[i].n, "round trip %s", show);
		else
			CHECK(pn_utf8_valid(u.data, u.len), "%s decodes to invalid UTF-8", show);
		free(copy);
		free(in);
	}

	/* it appends */
	pn_buf_reset(&b);
	pn_buf_adds(&b, "{\"k\":");
	pn_json_add_string(&b, "v", 1);
	CHECK_MEM(b.data, b.len, "{\"k\":\"v\"", 8, "appends");

	pn_json_release(&j);
	pn_buf_release(&b);
	pn_buf_release(&u);
}

/* ---- UTF-8: an independent reference -------------------------------- */

/* Length of the well-formed sequence at s, decoding the code point and
 * checking its range; 0 if there is none. */
static size_t ref_utf8_len(const unsigned char *s, size_t n)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int ref_utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = ref_utf8_len(s + i, n - i)))
			return 0;
	return 1;
}

/* ref: what pn_json_add_string's output should decode to */
static void ref_repair(const unsigned char *s, size_t n, struct pn_buf *out)
{
	for (size_t i = 0, k; i < n; i += k) {
		k = ref_utf8_len(s + i, n - i);
		if (k)
			pn_buf_add(out, s + i, k);
		else
			pn_buf_add(out, FFFD, 3), k = 1;
	}
}

static size_t put_utf8(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80)
		return o[0] = cp, 1;
	if (cp < 0x800)
		return o[0] = 0xc0 | cp >> 6, o[1] = 0x80 | (cp & 0x3f), 2;
	if (cp < 0x10000)
		return o[0] = 0xe0 | cp >> 12, o[1] = 0x80 | (cp >> 6 & 0x3f),
		       o[2] = 0x80 | (cp & 0x3f), 3;
	return o[0] = 0xf0 | cp >> 18, o[1] = 0x80 | (cp >> 12 & 0x3f),
	       o[2] = 0x80 | (cp >> 6 & 0x3f), o[3] = 0x80 | (cp & 0x3f), 4;
}

static uint32_t random_code_point(void)
{
	static const char specials[] = "\"\\/\b\f\n\r\t\x7f";
	uint32_t cp;

	switch (unit_below(8)) {
	case 0: return unit_below(0x20);		/* controls, NUL included */
	case 1: return specials[unit_below(sizeof(specials) - 1)];
	case 2: return 0x80 + unit_below(0x800 - 0x80);
	case 3:
		do
			cp = 0x800 + unit_below(0x10000 - 0x800);
		while (cp >= 0xd800 && cp <= 0xdfff);
		return cp;
	case 4: return 0x10000 + unit_below(0x110000 - 0x10000);
	case 5: {
		static const uint32_t edges[] = { 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000,
						  0xfffd, 0xfffe, 0xffff, 0x10000, 0x10ffff };
		return edges[unit_below(NELEM(edges))];
	}
	default: return 0x20 + unit_below(0x5f);	/* printable ASCII */
	}
}

/* Bytes around the edges of the UTF-8 ranges, for random invalid input. */
static const unsigned char edge_bytes[] = {
	0x00, 0x0a, 0x1f, 0x20, 0x22, 0x41, 0x5c, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
	0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
	0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfb, 0xfc, 0xfe, 0xff,
};

static void test_round_trip_random(void)
{
	struct pn_buf b = PN_BUF_INIT, u = PN_BUF_INIT, want = PN_BUF_INIT;
	struct pn_json j;
	int bad = 0;

	pn_json_init(&j);
	for (int it = 0; it < 20000 && bad < 10; it++) {
		unsigned char s[128];
		size_t n = 0, len = unit_below(24);
		int valid_input = it % 2 == 0;
		char *in, *copy;

		if (valid_input) {
			for (size_t k = 0; k < len; k++)
				n += put_utf8(random_code_point(), s + n);
		} else {
			for (size_t k = 0; k < len; k++)
				s[n++] = unit_below(4) ? edge_bytes[unit_below(sizeof(edge_bytes))]
						       : (unsigned char)unit_rand();
		}
		in = unit_exact(s, n);
		bad += !CHECK(pn_utf8_valid(in, n) == ref_utf8_valid(s, n),
			      "pn_utf8_valid(%s) = %d", unit_show(s, n), pn_utf8_valid(in, n));
		if (valid_input)
			bad += !CHECK(pn_utf8_valid(in, n), "generated %s", unit_show(s, n));

		pn_buf_reset(&b);
		pn_json_add_string(&b, in, n);
		bad += !CHECK(parse(&j, b.data, b.len, &copy) == 0 && j.ntok == 1 &&
			      j.tok[0].type == PN_JSON_STRING,
			      "escaped %s does not parse: %s", unit_show(s, n), WHY(&j));
		pn_buf_reset(&u);
		if (j.ntok == 1)
			pn_json_unescape(copy + j.tok[0].start, j.tok[0].end - j.tok[0].start, &u);
		pn_buf_reset(&want);
		ref_repair(s, n, &want);
		if (valid_input)
			bad += !CHECK(unit_memeq(u.data, u.len, s, n), "round trip of %s: %s",
				      unit_show(s, n), unit_show(u.data, u.len));
		else
			bad += !CHECK(unit_memeq(u.data, u.len, want.data, want.len),
				      "%s decodes to %s, want %s", unit_show(s, n),
				      unit_show(u.data, u.len), unit_show(want.data, want.len));

		/* a string of such bytes in a record is accepted iff it is valid */
		if (!memchr(s, '"', n) && !memchr(s, '\\', n)) {
			int ok;

			free(copy);
			pn_buf_reset(&b);
			pn_buf_addc(&b, '[');
			pn_buf_addc(&b, '"');
			pn_buf_add(&b, s, n);
			pn_buf_add(&b, "\"]", 2);
			ok = ref_utf8_valid(s, n);
			for (size_t k = 0; k < n; k++)
				ok &= s[k] >= 0x20;
			bad += !CHECK((parse(&j, b.data, b.len, &copy) == 0) == ok,
				      "raw string %s: %s", unit_show(s, n), WHY(&j));
		}
		free(copy);
		free(in);
	}
	pn_json_release(&j);
	pn_buf_release(&b);
	pn_buf_release(&u);
	pn_buf_release(&want);
}

/* ---- pn_json_parse: a text shaped like the last one --------------------- */

/* Flat objects whose values (marked @) are replaced; the skeleton of each
 * is what the parser keeps. */
static const char *const like_templates[] = {
	"{\"id\":@,\"impressions\":@,\"clicks\":@}",
	" {\"a\" : @ , \"b\":@}\n",
	"{\"s\\u00e9\":@,\"n\":@,\"\":@ }\r\n",
	"{\"k\":@}",
	"{\"a\":@,\"a\":@}",
};

/* Values valid and not, and some that are not scalars. */
static const char *const like_values[] = {
	"0", "-0", "12345", "1.5", "-1.5e10", "1E+2", "123456789012345678901234567890",
	"\"\"", "\"str\"", "\"esc\\\"aped\"", "\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\"",
	"true", "false", "null",
	"01", "1.", "-", "1e", "+1", ".5", "0x1", "1.5.5", "tru", "truex", "nul", "nulll",
	"\"unterminated", "\"\x01\"", "\"\xff\"", "\"\\x\"", "\"\\u12\"", "",
	" 1", "1 ", "{}", "[]", "[1]", "{\"x\":1}", "\"a\"\"b\"", "1,2", "1}", "\"\x00\"",
};

/* Builds a text from template t with random values; sometimes cut short or
 * with a byte changed, so the skeleton does not match either. */
static void like_text(struct pn_buf *b, const char *t)
{
	pn_buf_reset(b);
	for (; *t; t++) {
		if (*t == '@')
			pn_buf_adds(b, like_values[unit_below(NELEM(like_values))]);
		else
			pn_buf_addc(b, *t);
	}
	if (unit_below(8) == 0)
		b->len = unit_below(b->len + 1);
	else if (unit_below(8) == 0 && b->len)
		b->data[unit_below(b->len)] = "{}[],: \"x1"[unit_below(10)];
}

/* The parser that may take the skeleton path (warm) and one that parsed
 * "[]" just before, which leaves it none (cold), agree on everything. */
static void test_parse_like_last(void)
{
	struct pn_json warm, cold;
	struct pn_buf b = PN_BUF_INIT;
	int bad = 0;
	uint64_t shape = 0;
	long like = 0;

	pn_json_init(&warm);
	pn_json_init(&cold);
	for (int it = 0; it < 200000 && bad < 10; it++) {
		const char *t = like_templates[(it / 1000) % NELEM(like_templates)];
		char *w, *c;
		int rw, rc;

		like_text(&b, t);
		w = unit_exact(b.data, b.len);
		c = unit_exact(b.data, b.len);
		rw = pn_json_parse(&warm, w, b.len);
		CHECK(pn_json_parse(&cold, "[]", 2) == 0, "[]");
		rc = pn_json_parse(&cold, c, b.len);
		bad += !CHECK(rw == rc && warm.why == cold.why && warm.at == cold.at,
			      "%s: %d %s at %zu, alone %d %s at %zu", unit_show(b.data, b.len),
			      rw, WHY(&warm), warm.at, rc, WHY(&cold), cold.at);
		if (rw == 0 && rc == 0) {
			bad += !CHECK(warm.ntok == cold.ntok &&
				      !memcmp(warm.tok, cold.tok, cold.ntok * sizeof(*cold.tok)),
				      "%s: other tokens", unit_show(b.data, b.len));
			like += warm.shape == shape;
			shape = warm.shape;
		}
		free(w);
		free(c);
	}
	/* the skeleton path was taken, and often */
	CHECK(like > 10000, "%ld texts like the last one", like);
	pn_json_release(&warm);
	pn_json_release(&cold);
	pn_buf_release(&b);
}

/* The value text of token v, or "-" when the field is missing. */
static const char *val_text(const struct pn_json *j, int v, char *out, size_t cap)
{
	if (v < 0)
		return "-";
	snprintf(out, cap, "%.*s", j->tok[v].end - j->tok[v].start, j->text + j->tok[v].start);
	return out;
}

/* A lookup kept per shape answers for records shaped alike, and only for
 * them: another layout, or another parser's record, is looked up again. */
static void test_members_memo(void)
{
	static const char *const names[] = { "a", "b" };
	static const size_t lens[] = { 1, 1 };
	static const struct { int parser; const char *text, *a, *b; int unknown; } steps[] = {
		{ 0, "{\"a\":1,\"b\":2}", "1", "2", 0 },
		{ 0, "{\"a\":3,\"b\":4}", "3", "4", 0 },
		{ 0, "{\"b\":5,\"a\":6}", "6", "5", 0 },
		{ 0, "{\"b\":7,\"a\":8}", "8", "7", 0 },
		{ 1, "{\"a\":9,\"c\":0,\"b\":1}", "9", "1", 3 },
		{ 0, "{\"b\":2,\"a\":3}", "3", "2", 0 },
		{ 0, "{\"b\":{},\"a\":4}", "4", "{}", 0 },
		{ 0, "{\"b\":5,\"a\":6}", "6", "5", 0 },
	};
	struct pn_json j[2];
	struct pn_json_memo memo = { 0, 0 };
	char got_a[32], got_b[32];
	int val[2];		/* kept across records, as the callers keep theirs */

	pn_json_init(&j[0]);
	pn_json_init(&j[1]);
	for (size_t i = 0; i < NELEM(steps); i++) {
		struct pn_json *p = &j[steps[i].parser];
		int unknown;
		char *copy;

		CHECK(parse(p, steps[i].text, strlen(steps[i].text), &copy) == 0, "%s", steps[i].text);
		unknown = pn_json_members_memo(p, names, lens, 2, val, &memo);
		CHECK(unknown == steps[i].unknown, "%s: unknown %d", steps[i].text, unknown);
		CHECK(!strcmp(val_text(p, val[0], got_a, sizeof(got_a)), steps[i].a) &&
		      !strcmp(val_text(p, val[1], got_b, sizeof(got_b)), steps[i].b),
		      "%s: a %s, b %s", steps[i].text, got_a, got_b);
		free(copy);
	}
	pn_json_release(&j[0]);
	pn_json_release(&j[1]);
}

/* Member names are compared decoded; a name twice: the last one counts. */
static void test_member_names(void)
{
	static const char *const names[] = { "Ab", "x_", "\xc3\xa9", "q\"" };
	static const size_t lens[] = { 2, 2, 2, 2 };
	static const struct { const char *text, *ab, *x, *e, *q; int unknown; } cases[] = {
		{ "{\"Ab\":1,\"x_\":2}", "1", "2", "-", "-", 0 },
		{ "{\"\\u0041b\":1,\"x\\u005f\":2}", "1", "2", "-", "-", 0 },
		{ "{\"\\u00e9\":3,\"q\\\"\":4}", "-", "-", "3", "4", 0 },
		{ "{\"\\u0041\":1}", "-", "-", "-", "-", 1 },
		{ "{\"A\\u0062\":1,\"A\\u0063\":2}", "1", "-", "-", "-", 1 },
		{ "{\"Ab\":1,\"Ab\":5}", "5", "-", "-", "-", 0 },
		{ "{\"Ab\":1,\"\\u0041b\":6,\"x_\":{}}", "6", "{}", "-", "-", 0 },
		{ "{\"\\u005fmeta\":1,\"Ab\":2}", "2", "-", "-", "-", 0 },
	};
	struct pn_json j;
	char got[4][32];
	int val[4];

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *copy;
		int unknown;

		CHECK(parse(&j, cases[i].text, strlen(cases[i].text), &copy) == 0, "%s", cases[i].text);
		unknown = pn_json_members(&j, names, lens, 4, val);
		CHECK(!unknown == !cases[i].unknown, "%s: unknown %d", cases[i].text, unknown);
		for (int f = 0; f < 4; f++)
			if (val[f] < 0)
				strcpy(got[f], "-");
			else
				val_text(&j, val[f], got[f], sizeof(got[f]));
		CHECK(!strcmp(got[0], cases[i].ab) && !strcmp(got[1], cases[i].x) &&
		      !strcmp(got[2], cases[i].e) && !strcmp(got[3], cases[i].q),
		      "%s: %s %s %s %s", cases[i].text, got[0], got[1], got[2], got[3]);
		CHECK(pn_json_get(&j, 0, "Ab", 2) == val[0], "%s: pn_json_get", cases[i].text);
		free(copy);
	}
	{
		/* the member a\b, written "a\\b": its name as written is not it */
		static const char *const bs[] = { "a\\\\b", "a\\b" };
		static const size_t bl[] = { 4, 3 };
		char *copy;
		int v[2];

		CHECK(parse(&j, "{\"a\\\\b\":1}", 10, &copy) == 0, "backslash name");
		pn_json_members(&j, bs, bl, 2, v);
		CHECK(v[0] < 0 && v[1] == 2, "a\\b: %d %d", v[0], v[1]);
		CHECK(pn_json_get(&j, 0, "a\\\\b", 4) < 0 && pn_json_get(&j, 0, "a\\b", 3) == 2,
		      "pn_json_get a\\b");
		free(copy);
	}
	CHECK(pn_json_is_meta_name("_x", 2) && pn_json_is_meta_name("\\u005Fx", 7) &&
	      !pn_json_is_meta_name("x_", 2) && !pn_json_is_meta_name("", 0) &&
	      !pn_json_is_meta_name("\\u0041", 6), "metadata names, decoded");
	CHECK(pn_json_str_eq("a\\u0000b", 8, "a\0b", 3), "a NUL decoded");
	CHECK(!pn_json_str_eq("a\\u0000b", 8, "a", 1), "not cut at the NUL");
	CHECK(pn_json_str_eq("\\ud83d\\ude00", 12, "\xf0\x9f\x98\x80", 4), "a surrogate pair");
	CHECK(!pn_json_str_eq("ab", 2, "abc", 3) && !pn_json_str_eq("abc", 3, "ab", 2), "lengths");
	pn_json_release(&j);
}

/* ---- pn_utf8_valid --------------------------------------------------- */

static void test_utf8_valid(void)
{
	static const struct { const char *s; size_t n; int ok; } cases[] = {
#define V(s, ok) { s, sizeof(s) - 1, ok }
		V("", 1),
		V("ascii text", 1),
		V("\0", 1),
		V("\x7f", 1),
		V("\xc2\x80", 1),		/* U+0080 */
		V("\xc3\xa9", 1),
		V("\xdf\xbf", 1),		/* U+07FF */
		V("\xe0\xa0\x80", 1),		/* U+0800 */
		V("\xe2\x82\xac", 1),
		V("\xed\x9f\xbf", 1),		/* U+D7FF */
		V("\xee\x80\x80", 1),		/* U+E000 */
		V("\xef\xbf\xbd", 1),
		V("\xef\xbf\xbf", 1),		/* U+FFFF */
		V("\xf0\x90\x80\x80", 1),	/* U+10000 */
		V("\xf0\x9f\x98\x80", 1),
		V("\xf4\x8f\xbf\xbf", 1),	/* U+10FFFF */
		V("a\xc3\xa9z\xf0\x9f\x98\x80!", 1),
		V("\x80", 0),
		V("\xbf", 0),
		V("\xc0\x80", 0),		/* overlong */
		V("\xc1\xbf", 0),		/* overlong */
		V("\xe0\x80\x80", 0),		/* overlong */
		V("\xe0\x9f\xbf", 0),		/* overlong */
		V("\xed\xa0\x80", 0),		/* U+D800 */
		V("\xed\xbf\xbf", 0),		/* U+DFFF */
		V("\xed\xa0\xbd\xed\xb8\x80", 0), /* CESU-8 surrogate pair */
		V("\xf0\x80\x80\x80", 0),	/* overlong */
		V("\xf0\x8f\xbf\xbf", 0),	/* overlong */
		V("\xf4\x90\x80\x80", 0),	/* U+110000 */
		V("\xf5\x80\x80\x80", 0),
		V("\xf8\x88\x80\x80\x80", 0),
		V("\xfe", 0),
		V("\xff", 0),
		V("\xc3", 0),			/* truncated */
		V("\xe2\x82", 0),
		V("\xf0\x9f\x98", 0),
		V("\xc3\x41", 0),		/* bad continuation */
		V("\xe2\x41\xac", 0),
		V("\xf0\x9f\x41\x80", 0),
		V("ok\xc3", 0),
#undef V
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *s = unit_exact(cases[i].s, cases[i].n);

		CHECK(pn_utf8_valid(s, cases[i].n) == cases[i].ok, "%s",
		      unit_show(cases[i].s, cases[i].n));
		free(s);
	}
	/* only n bytes count */
	CHECK(!pn_utf8_valid("\xc3\xa9", 1), "a sequence cut by n");
	CHECK(pn_utf8_valid("a\xff", 1), "bytes past n are ignored");
}

/* pn_json_is_number: exactly one JSON number, as the tokenizer takes them */
static void test_is_number(void)
{
	static const struct { const char *s; int want; } cases[] = {
		{ "7", 1 }, { "-7", 1 }, { "0", 1 }, { "1.5", 1 }, { "-1.5e3", 1 }, { "1E+2", 1 },
		{ "", 0 }, { "07", 0 }, { " 7", 0 }, { "7 ", 0 }, { "+7", 0 }, { "1.", 0 },
		{ ".5", 0 }, { "0x1", 0 }, { "abc", 0 }, { "-", 0 }, { "1e", 0 }, { "NaN", 0 },
	};

	for (size_t i = 0; i < NELEM(cases); i++)
		CHECK_I64(pn_json_is_number(cases[i].s, strlen(cases[i].s)), cases[i].want,
			  "pn_json_is_number(\"%s\")", cases[i].s);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_parse_table();
	test_parse_string_positions();
	test_parse_toplevel_primitive();
	test_parse_depth();
	test_parse_many_tokens();
	test_parse_vs_jansson();
	test_parse_like_last();
	test_members_memo();
	test_member_names();
	test_tokens();
	test_unescape();
	test_int64();
	test_is_number();
	test_add_string();
	test_round_trip_random();
	test_utf8_valid();
	return unit_done();
}
