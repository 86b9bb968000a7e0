/* Unit tests for common/pn_query.h: the --where, --group-by and aggregate
 * forms, good and bad, with the reasons pn-aggregate prints; how values
 * compare with a condition; and the fingerprint checkpoints carry. */
#include "pn_query.h"
#include "unit.h"

static void test_where(void)
{
	static const struct {
		const char *expr;
		const char *why;	/* NULL: accepted */
		const char *field;
		enum pn_cond_op op;
		int nvalues;
		const char *value;	/* the first constant's text */
		enum pn_json_type type;
	} cases[] = {
		{ "source=campaign", NULL, "source", PN_EQ, 1, "campaign", PN_JSON_STRING },
		{ " source = campaign ", NULL, "source", PN_EQ, 1, "campaign", PN_JSON_STRING },
		{ "source=\"a\\u0041\"", NULL, "source", PN_EQ, 1, "aA", PN_JSON_STRING },
		{ "source_id!=42", NULL, "source_id", PN_NE, 1, "42", PN_JSON_PRIMITIVE },
		{ "x=null", NULL, "x", PN_EQ, 1, "null", PN_JSON_PRIMITIVE },
		{ "clicked_time IS NULL", NULL, "clicked_time", PN_IS_NULL, 0, NULL, 0 },
		{ "clicked_time is not null", NULL, "clicked_time", PN_NOT_NULL, 0, NULL, 0 },
		{ "source IN (campaign, \"flow\", 3)", NULL, "source", PN_IN, 3, "campaign",
		  PN_JSON_STRING },
		{ "source in (\"a,b\",c)", NULL, "source", PN_IN, 2, "a,b", PN_JSON_STRING },
		{ "source", "expected FIELD=VALUE, FIELD!=VALUE, FIELD IS [NOT] NULL or "
			    "FIELD IN (V,...)", NULL, 0, 0, NULL, 0 },
		{ "", "expected FIELD=VALUE, FIELD!=VALUE, FIELD IS [NOT] NULL or "
		      "FIELD IN (V,...)", NULL, 0, 0, NULL, 0 },
		{ "=campaign", "no field name", NULL, 0, 0, NULL, 0 },
		{ "  != 3", "no field name", NULL, 0, 0, NULL, 0 },
		{ " IS NULL", "no field name", NULL, 0, 0, NULL, 0 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_query q = { 0 };
		const char *why = NULL;
		int rc = pn_query_add_where(&q, cases[i].expr, &why);

		if (cases[i].why) {
			CHECK(rc == -1 && q.nconds == 0, "'%s' accepted", cases[i].expr);
			CHECK(why && !strcmp(why, cases[i].why), "'%s': %s", cases[i].expr,
			      why ? why : "no reason");
			pn_query_release(&q);
			continue;
		}
		if (!CHECK(rc == 0 && q.nconds == 1, "'%s': %s", cases[i].expr, why)) {
			pn_query_release(&q);
			continue;
		}
		CHECK(!strcmp(q.conds[0].field, cases[i].field), "'%s': field '%s'", cases[i].expr,
		      q.conds[0].field);
		CHECK(q.conds[0].op == cases[i].op, "'%s': op %d", cases[i].expr, q.conds[0].op);
		CHECK_I64(q.conds[0].nvalues, cases[i].nvalues, "'%s': values", cases[i].expr);
		if (cases[i].value && q.conds[0].nvalues) {
			CHECK_MEM(q.conds[0].values[0].text, q.conds[0].values[0].len, cases[i].value,
				  strlen(cases[i].value), "'%s'", cases[i].expr);
			CHECK(q.conds[0].values[0].type == cases[i].type, "'%s': type %d",
			      cases[i].expr, q.conds[0].values[0].type);
		}
		pn_query_release(&q);
	}
}

/* How a record's field compares: JSON types, decoded strings, numbers. */
static void test_cond_holds(void)
{
	static const struct { const char *where, *rec; int want; } cases[] = {
		{ "v=42", "{\"v\":42}", 1 },
		{ "v=42", "{\"v\":\"42\"}", 0 },
		{ "v=\"42\"", "{\"v\":\"42\"}", 1 },
		{ "v=1", "{\"v\":1.0}", 1 },
		{ "v=1.5", "{\"v\":15e-1}", 1 },
		{ "v=9007199254740993", "{\"v\":9007199254740992}", 0 },
		{ "v=A", "{\"v\":\"\\u0041\"}", 1 },
		{ "v=campaign", "{\"v\":null}", 0 },
		{ "v!=campaign", "{\"v\":null}", 0 },
		{ "v!=campaign", "{\"v\":\"flow\"}", 1 },
		{ "v!=campaign", "{}", 0 },
		{ "v IS NULL", "{}", 1 },
		{ "v IS NULL", "{\"v\":null}", 1 },
		{ "v IS NOT NULL", "{\"v\":0}", 1 },
		{ "v IN (a,b,3)", "{\"v\":3}", 1 },
		{ "v IN (a,b,3)", "{\"v\":\"b\"}", 1 },
		{ "v IN (a,b,3)", "{\"v\":\"c\"}", 0 },
		{ "v=true", "{\"v\":true}", 1 },
		{ "v=true", "{\"v\":\"true\"}", 0 },
	};
	struct pn_buf tmp = PN_BUF_INIT;
	struct pn_json j;

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_query q = { 0 };
		const char *why = NULL;

		CHECK(pn_query_add_where(&q, cases[i].where, &why) == 0, "'%s'", cases[i].where);
		CHECK(pn_json_parse(&j, cases[i].rec, strlen(cases[i].rec)) == 0, "%s", cases[i].rec);
		CHECK_I64(pn_cond_holds(&q.conds[0], &j, pn_json_get(&j, 0, "v", 1), &tmp),
			  cases[i].want, "'%s' on %s", cases[i].where, cases[i].rec);
		pn_query_release(&q);
	}
	pn_json_release(&j);
	pn_buf_release(&tmp);
}

static void test_group(void)
{
	static const struct { const char *spec, *field, *name; } cases[] = {
		{ "source_id", "source_id", "source_id" },
		{ "source_id:id", "source_id", "id" },
		{ "a:b:c", "a:b", "c" },
		{ "", NULL, NULL },
		{ ":id", NULL, NULL },
		{ "source_id:", NULL, NULL },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_query q = { 0 };
		const char *why = NULL;
		int rc = pn_query_add_group(&q, cases[i].spec, &why);

		if (!cases[i].field) {
			CHECK(rc == -1 && q.ngroups == 0, "'%s' accepted", cases[i].spec);
			CHECK(why && !strcmp(why, "expected FIELD or FIELD:NAME"), "'%s': %s",
			      cases[i].spec, why ? why : "no reason");
		} else if (CHECK(rc == 0 && q.ngroups == 1, "'%s': %s", cases[i].spec, why)) {
			CHECK(!strcmp(q.groups[0].field, cases[i].field), "'%s': field '%s'",
			      cases[i].spec, q.groups[0].field);
			CHECK(!strcmp(q.groups[0].name, cases[i].name), "'%s': name '%s'",
			      cases[i].spec, q.groups[0].name);
		}
		pn_query_release(&q);
	}
}

static void test_agg(void)
{
	static const struct {
		enum pn_agg_kind kind;
		const char *spec;
		const char *why;	/* NULL: accepted */
		const char *field;	/* NULL: count(*) */
		const char *name;
	} cases[] = {
		{ PN_COUNT, "*", NULL, NULL, "count" },
		{ PN_COUNT, "*:n", NULL, NULL, "n" },
		{ PN_COUNT, "delivered_time", NULL, "delivered_time", "count_delivered_time" },
		{ PN_COUNT, "delivered_time:impressions", NULL, "delivered_time", "impressions" },
		{ PN_SUM, "price", NULL, "price", "sum_price" },
		{ PN_MIN, "price:low", NULL, "price", "low" },
		{ PN_MAX, "price", NULL, "price", "max_price" },
		{ PN_COUNT_DISTINCT, "subscriber_id", NULL, "subscriber_id",
		  "count_distinct_subscriber_id" },
		{ PN_LATEST, "status", NULL, "status", "latest_status" },
		{ PN_COUNT, "", "expected FIELD[:NAME] or '*'[:NAME]", NULL, NULL },
		{ PN_COUNT, "x:", "expected FIELD[:NAME] or '*'[:NAME]", NULL, NULL },
		{ PN_SUM, "*", "expected FIELD[:NAME]", NULL, NULL },
		{ PN_MAX, "*:m", "expected FIELD[:NAME]", NULL, NULL },
		{ PN_LATEST, ":x", "expected FIELD[:NAME]", NULL, NULL },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_query q = { 0 };
		const char *why = NULL;
		int rc = pn_query_add_agg(&q, cases[i].kind, cases[i].spec, &why);

		if (cases[i].why) {
			CHECK(rc == -1 && q.naggs == 0, "'%s' accepted", cases[i].spec);
			CHECK(why && !strcmp(why, cases[i].why), "'%s': %s", cases[i].spec,
			      why ? why : "no reason");
		} else if (CHECK(rc == 0 && q.naggs == 1, "'%s': %s", cases[i].spec, why)) {
			CHECK(cases[i].field ? q.aggs[0].field &&
				!strcmp(q.aggs[0].field, cases[i].field) : !q.aggs[0].field,
			      "'%s': field '%s'", cases[i].spec,
			      q.aggs[0].field ? q.aggs[0].field : "(null)");
			CHECK(!strcmp(q.aggs[0].name, cases[i].name), "'%s': name '%s'",
			      cases[i].spec, q.aggs[0].name);
			CHECK_I64(q.nslots, pn_agg_kind_slots[cases[i].kind], "'%s' slots",
				  cases[i].spec);
		}
		pn_query_release(&q);
	}
}

/* Slots follow each other; a query holds at most 15 aggregates. */
static void test_agg_slots(void)
{
	static const enum pn_agg_kind kinds[] = { PN_COUNT, PN_SUM, PN_MAX, PN_SUM };
	static const int slots[] = { 0, 1, 3, 4 };
	struct pn_query q = { 0 };
	const char *why = NULL;

	for (size_t i = 0; i < NELEM(kinds); i++)
		CHECK(pn_query_add_agg(&q, kinds[i], "x", &why) == 0, "aggregate %zu", i);
	for (size_t i = 0; i < NELEM(kinds); i++)
		CHECK_I64(q.aggs[i].slot, slots[i], "slot of aggregate %zu", i);
	CHECK_I64(q.nslots, 6, "slots in all");
	while (q.naggs < 15)
		CHECK(pn_query_add_agg(&q, PN_COUNT, "*", &why) == 0, "aggregate %d", q.naggs);
	why = NULL;
	CHECK(pn_query_add_agg(&q, PN_COUNT, "*", &why) == -1, "a 16th aggregate");
	CHECK(why && !strcmp(why, "at most 15 aggregates"), "%s", why ? why : "no reason");
	CHECK_I64(q.naggs, 15, "aggregates kept");
	pn_query_release(&q);
}

/*
 * A query from a list of specs: "w:EXPR", "g:SPEC", "count:SPEC",
 * "sum:SPEC", "window:SPEC", "grace:MS", "ttl:MS", "time:FIELD".
 */
static void make_query(struct pn_query *q, const char *const *specs)
{
	memset(q, 0, sizeof(*q));
	for (; *specs; specs++) {
		const char *s = *specs, *arg = strchr(s, ':') + 1, *why = "";
		int rc = 0;

		if (!strncmp(s, "w:", 2))
			rc = pn_query_add_where(q, arg, &why);
		else if (!strncmp(s, "g:", 2))
			rc = pn_query_add_group(q, arg, &why);
		else if (!strncmp(s, "count:", 6))
			rc = pn_query_add_agg(q, PN_COUNT, arg, &why);
		else if (!strncmp(s, "sum:", 4))
			rc = pn_query_add_agg(q, PN_SUM, arg, &why);
		else if (!strncmp(s, "window:", 7))
			rc = pn_window_parse(&q->window, arg, &why);
		else if (!strncmp(s, "grace:", 6))
			q->grace_ms = atoll(arg);
		else if (!strncmp(s, "ttl:", 4))
			q->ttl_ms = atoll(arg);
		else if (!strncmp(s, "time:", 5))
			q->time_field = strdup(arg);
		CHECK(rc == 0, "'%s': %s", s, why);
	}
}

#define Q(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_fingerprint(void)
{
	const char *const *base = Q("w:source=campaign", "g:source_id:id",
					   "count:delivered_time:impressions");
	const struct { const char *const *specs; int same; } cases[] = {
		{ Q("w:source=campaign", "g:source_id:id", "count:delivered_time:impressions"), 1 },
		{ Q("w: source = campaign ", "g:source_id:id",
		    "count:delivered_time:impressions"), 1 },
		{ Q("w:source=\"campaign\"", "g:source_id:id",
		    "count:delivered_time:impressions"), 1 },
		{ Q("w:source=campaign", "g:source_id:id", "count:delivered_time:impressions",
		    "ttl:60000"), 1 },
		{ Q("w:source=flow", "g:source_id:id", "count:delivered_time:impressions"), 0 },
		{ Q("w:source!=campaign", "g:source_id:id", "count:delivered_time:impressions"), 0 },
		{ Q("w:source=42", "g:source_id:id", "count:delivered_time:impressions"), 0 },
		{ Q("w:medium=campaign", "g:source_id:id", "count:delivered_time:impressions"), 0 },
		{ Q("g:source_id:id", "count:delivered_time:impressions"), 0 },
		{ Q("w:source=campaign", "g:source_id", "count:delivered_time:impressions"), 0 },
		{ Q("w:source=campaign", "g:merchant:id", "count:delivered_time:impressions"), 0 },
		{ Q("w:source=campaign", "g:source_id:id", "g:merchant",
		    "count:delivered_time:impressions"), 0 },
		{ Q("w:source=campaign", "g:source_id:id", "count:delivered_time"), 0 },
		{ Q("w:source=campaign", "g:source_id:id", "count:clicked_time:impressions"), 0 },
		{ Q("w:source=campaign", "g:source_id:id", "sum:delivered_time:impressions"), 0 },
		{ Q("w:source=campaign", "g:source_id:id", "count:*:impressions"), 0 },
		{ Q("w:source=campaign", "g:source_id:id", "count:delivered_time:impressions",
		    "window:tumbling:1h"), 0 },
	};
	struct pn_query q, w1, w2;
	uint64_t fp;

	make_query(&q, base);
	fp = pn_query_fingerprint(&q);
	CHECK(fp == pn_query_fingerprint(&q), "the same twice");
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_query other;

		make_query(&other, cases[i].specs);
		CHECK_I64(pn_query_fingerprint(&other) == fp, cases[i].same, "case %zu", i);
		pn_query_release(&other);
	}
	pn_query_release(&q);

	/* the window and its time field make the keys; grace and TTL do not */
	make_query(&w1, Q("g:a", "count:*", "window:tumbling:1h", "grace:0"));
	fp = pn_query_fingerprint(&w1);
	make_query(&w2, Q("g:a", "count:*", "window:tumbling:1h", "grace:5000", "ttl:9000"));
	CHECK(pn_query_fingerprint(&w2) == fp, "grace and ttl changed");
	pn_query_release(&w2);
	make_query(&w2, Q("g:a", "count:*", "window:tumbling:2h"));
	CHECK(pn_query_fingerprint(&w2) != fp, "window size changed");
	pn_query_release(&w2);
	make_query(&w2, Q("g:a", "count:*", "window:hopping:1h,10m"));
	CHECK(pn_query_fingerprint(&w2) != fp, "hopping window");
	pn_query_release(&w2);
	make_query(&w2, Q("g:a", "count:*", "window:tumbling:1h", "time:sent_at"));
	CHECK(pn_query_fingerprint(&w2) != fp, "time field changed");
	pn_query_release(&w2);
	pn_query_release(&w1);

	/* Checkpoints on disk carry it: a change of value makes every
	 * pn-aggregate refuse its state, so it must stay what it was (this
	 * machine's byte order and int size; the value before the split of
	 * pn_agg.c). */
	make_query(&q, Q("w:source=campaign", "g:source_id:id", "count:delivered_time:impressions",
			 "count:clicked_time:clicks"));
	CHECK(pn_query_fingerprint(&q) == UINT64_C(0xd13e5dbfce89305d), "got 0x%016" PRIx64,
	      pn_query_fingerprint(&q));
	pn_query_release(&q);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_where();
	test_cond_holds();
	test_group();
	test_agg();
	test_agg_slots();
	test_fingerprint();
	return unit_done();
}
