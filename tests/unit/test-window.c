/* Unit tests for common/pn_window.h: window specs, the windows that hold
 * a time (before 1970 too), and event times read from JSON values.
 * 1793527200000 is 2026-11-01T10:00:00Z (date -u -d @1793527200). */
#include "pn_window.h"
#include "unit.h"

static void test_parse(void)
{
	static const struct {
		const char *spec;
		int ok;
		enum pn_window_kind kind;
		int64_t size, advance;
	} cases[] = {
		{ "tumbling:1h", 1, PN_WINDOW_TUMBLING, 3600000, 3600000 },
		{ "tumbling:90s", 1, PN_WINDOW_TUMBLING, 90000, 90000 },
		{ "hopping:1h,10m", 1, PN_WINDOW_HOPPING, 3600000, 600000 },
		{ "hopping:1h,1h", 1, PN_WINDOW_HOPPING, 3600000, 3600000 },
		{ "hopping:1h,2h", 0, PN_WINDOW_NONE, 0, 0 },
		{ "hopping:1h", 0, PN_WINDOW_NONE, 0, 0 },
		{ "tumbling:1h,10m", 0, PN_WINDOW_NONE, 0, 0 },
		{ "tumbling:", 0, PN_WINDOW_NONE, 0, 0 },
		{ "tumbling:0s", 0, PN_WINDOW_NONE, 0, 0 },
		{ "tumbling", 0, PN_WINDOW_NONE, 0, 0 },
		{ "session:5m", 0, PN_WINDOW_NONE, 0, 0 },
		{ "hopping:1d,1m", 0, PN_WINDOW_NONE, 0, 0 },	/* 1440 windows */
		{ "hopping:1000s,1s", 1, PN_WINDOW_HOPPING, 1000000, 1000 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_window w;
		const char *why = NULL;
		int ok = pn_window_parse(&w, cases[i].spec, &why) == 0;

		CHECK(ok == cases[i].ok, "'%s': %s", cases[i].spec, ok ? "accepted" : why);
		CHECK(w.kind == cases[i].kind, "'%s': kind %d", cases[i].spec, w.kind);
		if (ok) {
			CHECK_I64(w.size_ms, cases[i].size, "'%s' size", cases[i].spec);
			CHECK_I64(w.advance_ms, cases[i].advance, "'%s' advance", cases[i].spec);
		}
	}
}

static void test_starts(void)
{
	static const struct {
		int64_t size, advance, t;
		int n;
		int64_t first;
	} cases[] = {
		{ 3600000, 3600000, 1793527200000, 1, 1793527200000 },
		{ 3600000, 3600000, 1793530799999, 1, 1793527200000 },
		{ 3600000, 3600000, 0, 1, 0 },
		{ 3600000, 3600000, -1, 1, -3600000 },
		{ 3600000, 3600000, -3600000, 1, -3600000 },
		{ 3600000, 600000, 1793527200000, 6, 1793524200000 },
		{ 3600000, 600000, 1793527200001, 6, 1793524200000 },
		{ 3600000, 600000, -1, 6, -3600000 },
		{ 1000, 300, 950, 4, 0 },	/* [0,1000) [300,1300) [600,1600) [900,1900) */
		{ 1000, 300, 1000, 3, 300 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_window w = { PN_WINDOW_HOPPING, cases[i].size, cases[i].advance };
		int64_t first = 0;
		int n = pn_window_starts(&w, cases[i].t, &first);

		CHECK_I64(first, cases[i].first, "case %zu: first start", i);
		CHECK_I64(n, cases[i].n, "case %zu: windows", i);
	}
}

static void test_event_time(void)
{
	static const struct {
		const char *json;
		int ok;
		int64_t ms;
	} cases[] = {
		{ "1793527200", 1, 1793527200000 },
		{ "1793527200123", 1, 1793527200123 },
		{ "1793527200.5", 1, 1793527200500 },
		{ "1793527200123.0", 1, 1793527200123 },
		{ "-86400", 1, -86400000 },
		{ "0", 1, 0 },
		{ "99999999999", 1, 99999999999000 },
		{ "100000000000", 1, 100000000000 },
		{ "\"1793527200123\"", 1, 1793527200123 },
		{ "\"2026-11-01T10:00:00Z\"", 1, 1793527200000 },
		{ "\"2026-11-01T10:00:00.25Z\"", 1, 1793527200250 },
		{ "\"2026-11-01 12:00:00+02:00\"", 1, 1793527200000 },
		{ "\"2026-11-01 10:00:00.123456\"", 1, 1793527200123 },
		{ "\"2026-11-01 11:00:00.999999+01:00\"", 1, 1793527200999 },
		{ "\"2026-11-01\"", 1, 1793491200000 },
		{ "\"2026\\u002d11-01\"", 1, 1793491200000 },
		{ "\"yesterday\"", 0, 0 },
		{ "\"\"", 0, 0 },
		{ "true", 0, 0 },
		{ "null", 0, 0 },
		{ "{}", 0, 0 },
		{ "[1]", 0, 0 },
		{ "1e300", 0, 0 },
	};
	struct pn_json j;
	struct pn_buf tmp = PN_BUF_INIT;

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t ms = 0;
		int ok;

		CHECK(pn_json_parse(&j, cases[i].json, strlen(cases[i].json)) == 0, "'%s'",
		      cases[i].json);
		ok = pn_event_time(&j, 0, &tmp, &ms) == 0;
		CHECK(ok == cases[i].ok, "'%s': %s", cases[i].json, ok ? "accepted" : "refused");
		if (ok && cases[i].ok)
			CHECK_I64(ms, cases[i].ms, "'%s'", cases[i].json);
	}
	pn_json_release(&j);
	pn_buf_release(&tmp);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_parse();
	test_starts();
	test_event_time();
	return unit_done();
}
