/* Unit tests for two rules of pn_agg (pn_agg.h): one JSON type per group
 * field (--key-type), kept in checkpoints of format 3 and taken from the
 * keys of format 2, and shared by partitions; and a stream time that an
 * event time too far ahead of the reference clock (--max-ahead) does not
 * move. */
#include <fcntl.h>
#include <unistd.h>

#include "pn_agg.h"
#include "pn_checkpoint.h"
#include "pn_clock.h"
#include "pn_err.h"
#include "pn_io.h"
#include "unit.h"

static const int64_t DAY = 86400000;

static void query(struct pn_query *q, enum pn_key_mode mode)
{
	const char *why = NULL;

	memset(q, 0, sizeof(*q));
	CHECK(pn_query_add_where(q, "source=campaign", &why) == 0, "where");
	CHECK(pn_query_add_group(q, "source_id:id", &why) == 0, "group");
	CHECK(pn_query_add_agg(q, PN_COUNT, "*:n", &why) == 0, "count");
	q->key_mode = mode;
}

/* Applies one record; its status, and the reason in *why. */
static int apply(struct pn_agg *a, const char *rec, const char **why)
{
	struct pn_json j;
	int rc;

	*why = NULL;
	pn_json_init(&j);
	CHECK(pn_json_parse(&j, rec, strlen(rec)) == 0, "%s", rec);
	rc = pn_agg_apply(a, &j, why);
	pn_json_release(&j);
	return rc;
}

static void emit_all(struct pn_agg *a, struct pn_buf *out)
{
	pn_buf_reset(out);
	pn_agg_mark_all(a);
	while (pn_agg_dirty(a))
		pn_agg_emit(a, out, SIZE_MAX);
	pn_buf_addc(out, '\0');
}

static void test_key_mode_names(void)
{
	struct pn_query q;

	memset(&q, 0, sizeof(q));
	CHECK(pn_query_set_key_mode(&q, "number") == 0 && q.key_mode == PN_KEY_NUMBER, "number");
	CHECK(pn_query_set_key_mode(&q, "as-is") == 0 && q.key_mode == PN_KEY_AS_IS, "as-is");
	CHECK(pn_query_set_key_mode(&q, "string") == 0 && q.key_mode == PN_KEY_STRING, "string");
	CHECK(pn_query_set_key_mode(&q, "strict") == 0 && q.key_mode == PN_KEY_STRICT, "strict");
	CHECK(pn_query_set_key_mode(&q, "loose") == -1, "loose");
	CHECK_I64(pn_key_type_of('"'), PN_KEY_T_STRING, "string");
	CHECK_I64(pn_key_type_of('-'), PN_KEY_T_NUMBER, "number");
	CHECK_I64(pn_key_type_of('f'), PN_KEY_T_BOOLEAN, "boolean");
	CHECK_I64(pn_key_type_of('['), PN_KEY_T_ARRAY, "list");
}

/* The same records under each --key-type: the rows, or the refusal. */
static void test_modes(void)
{
	static const char *const recs[] = {
		"{\"source\":\"flow\",\"source_id\":\"x\"}",	/* filtered: sets no type */
		"{\"source\":\"campaign\",\"source_id\":null}",	/* null key: sets no type */
		"{\"source\":\"campaign\",\"source_id\":7}",
		"{\"source\":\"campaign\",\"source_id\":\"7\"}",
		"{\"source\":\"campaign\",\"source_id\":7}",
	};
	static const struct {
		enum pn_key_mode mode;
		int refused_at;		/* the record refused, or -1 */
		const char *rows;
	} cases[] = {
		{ PN_KEY_STRICT, 3, "{\"id\":7,\"n\":2}\n" },
		{ PN_KEY_STRING, -1, "{\"id\":\"7\",\"n\":3}\n" },
		{ PN_KEY_NUMBER, -1, "{\"id\":7,\"n\":3}\n" },
		{ PN_KEY_AS_IS, -1, "{\"id\":7,\"n\":2}\n{\"id\":\"7\",\"n\":1}\n" },
	};
	struct pn_buf out = PN_BUF_INIT;

	for (size_t c = 0; c < NELEM(cases); c++) {
		struct pn_query q;
		struct pn_agg a;

		query(&q, cases[c].mode);
		pn_agg_init(&a, &q);
		for (size_t i = 0; i < NELEM(recs); i++) {
			const char *why;
			int rc = apply(&a, recs[i], &why);

			CHECK_I64(rc, (int)i == cases[c].refused_at ? -1 : 0, "mode %zu, record %zu",
				  c, i);
			if (rc)
				CHECK(why && !strcmp(why, "--group-by field 'source_id' is a string "
						     "(\"7\"), earlier records made it a number: give "
						     "--key-type string or number to merge them"),
				      "the reason: %s", why ? why : "none");
		}
		emit_all(&a, &out);
		CHECK(!strcmp(out.data, cases[c].rows), "mode %zu: rows %s", c, out.data);
		CHECK_I64(a.counts.null_key, 1, "mode %zu: null keys", c);
		pn_agg_release(&a);
		pn_query_release(&q);
	}
	pn_buf_release(&out);
}

/* --key-type number leaves a string that is no number a string: then a
 * second type. */
static void test_number_not_a_number(void)
{
	struct pn_query q;
	struct pn_agg a;
	const char *why;

	query(&q, PN_KEY_NUMBER);
	pn_agg_init(&a, &q);
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":\"07\"}", &why) == 0, "07");
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":7}", &why) == -1, "7 after 07");
	CHECK(why && strstr(why, "is a number (7), earlier records made it a string"), "%s",
	      why ? why : "none");
	pn_agg_release(&a);
	pn_query_release(&q);
}

/* A format 4 checkpoint of one group field and one count, made without
 * offsets, as format 2: without the types section (magic, fingerprint, no
 * offsets and the stream time come before it) and without each group's
 * offset (one byte, 0: no offsets), a checksum made anew. */
static void to_format2(const struct pn_buf *v4, struct pn_buf *v2)
{
	const size_t types_at = 8 + 8 + 4 + 8, types_len = 4 + 1;
	const char *p = v4->data + types_at + types_len, *end = v4->data + v4->len - 8;
	uint64_t sum, n;
	uint32_t key_len;

	pn_buf_reset(v2);
	pn_buf_add(v2, v4->data, types_at);
	memcpy(&n, p, 8);
	pn_buf_add(v2, p, 8);
	p += 8;
	for (uint64_t i = 0; i < n && p < end; i++) {
		memcpy(&key_len, p, 4);
		/* key length, key, flags, window start, last time */
		pn_buf_add(v2, p, 4 + key_len + 4 + 8 + 8);
		p += 4 + key_len + 4 + 8 + 8;
		CHECK(*p == 0, "no offset known in the group");
		p++;
		pn_buf_add(v2, p, 8);	/* the count */
		p += 8;
	}
	CHECK(p == end, "every group of the checkpoint converted");
	v2->data[7] = 2;
	sum = pn_hash64(PN_HASH64_INIT, v2->data, v2->len);
	pn_buf_add(v2, &sum, sizeof(sum));
}

/* The types of a saved state: they survive with no group left (format 3),
 * and come from the keys of a format 2 file, which is checked. */
static void test_checkpoint_types(void)
{
	const char *path = "aggkeys.state";
	struct pn_buf b = PN_BUF_INIT, v2 = PN_BUF_INIT;
	struct pn_query q, asis;
	struct pn_agg a;
	const char *why;

	query(&q, PN_KEY_STRICT);
	pn_agg_init(&a, &q);
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":7}", &why) == 0, "7");
	pn_checkpoint_encode(&a, &b);
	pn_agg_release(&a);

	/* a state whose every group expired still knows the type */
	pn_agg_init(&a, &q);
	a.key_type_own[0] = PN_KEY_T_NUMBER;
	pn_buf_reset(&b);
	pn_checkpoint_encode(&a, &b);
	pn_agg_release(&a);
	pn_agg_init(&a, &q);
	CHECK_I64(pn_checkpoint_decode(&a, path, &b), 1, "decode");
	CHECK_I64(a.nentries, 0, "no groups");
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":\"7\"}", &why) == -1,
	      "a string after a restart");
	pn_agg_release(&a);

	/* format 2 of two groups 7 and "7" (an as-is state without the types
	 * section: magic, fingerprint, no offsets, stream time, then it) */
	query(&asis, PN_KEY_AS_IS);
	pn_agg_init(&a, &asis);
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":7}", &why) == 0, "7");
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":\"7\"}", &why) == 0, "\"7\"");
	pn_buf_reset(&b);
	pn_checkpoint_encode(&a, &b);
	pn_agg_release(&a);
	to_format2(&b, &v2);

	pn_agg_init(&a, &asis);
	CHECK_I64(pn_checkpoint_decode(&a, path, &v2), 1, "format 2, as-is");
	CHECK_I64(a.nentries, 2, "format 2, as-is: groups");
	pn_agg_release(&a);

	fflush(stderr);
	{
		int saved = dup(2), null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		pn_agg_init(&a, &q);
		CHECK_I64(pn_checkpoint_decode(&a, path, &v2), -1, "format 2 of two types, strict");
		CHECK(strstr(a.why, "--group-by field 'source_id' has keys of two types, a number "
			     "and a string (\"7\")"), "the reason: %s", a.why);
		pn_agg_release(&a);
		dup2(saved, 2);
		close(saved);
		close(null);
	}

	/* format 2 of one type: its type taken from its keys */
	pn_agg_init(&a, &q);
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":\"8\"}", &why) == 0, "\"8\"");
	pn_buf_reset(&b);
	pn_checkpoint_encode(&a, &b);
	pn_agg_release(&a);
	to_format2(&b, &v2);
	pn_agg_init(&a, &q);
	CHECK_I64(pn_checkpoint_decode(&a, path, &v2), 1, "format 2, one type");
	CHECK_I64(a.key_types[0], PN_KEY_T_STRING, "format 2: the type from the keys");
	CHECK(apply(&a, "{\"source\":\"campaign\",\"source_id\":8}", &why) == -1,
	      "a number after a format 2 of strings");
	pn_agg_release(&a);

	pn_query_release(&q);
	pn_query_release(&asis);
	pn_buf_release(&b);
	pn_buf_release(&v2);
}

/* Partitions share one table: a type one has set binds the others. */
static void test_shared(void)
{
	unsigned char shared[PN_AGG_MAX_FIELDS] = { 0 };
	struct pn_query q;
	struct pn_agg p0, p1;
	const char *why;

	query(&q, PN_KEY_STRICT);
	pn_agg_init(&p0, &q);
	pn_agg_init(&p1, &q);
	CHECK(pn_agg_share_key_types(&p0, shared) == 0, "share p0");
	CHECK(pn_agg_share_key_types(&p1, shared) == 0, "share p1");
	CHECK(apply(&p0, "{\"source\":\"campaign\",\"source_id\":1}", &why) == 0, "p0: 1");
	CHECK(apply(&p1, "{\"source\":\"campaign\",\"source_id\":\"2\"}", &why) == -1,
	      "p1: a string after p0's number");
	pn_agg_release(&p1);

	/* a state of strings comes to a process whose partitions hold numbers */
	pn_agg_init(&p1, &q);
	p1.key_type_own[0] = PN_KEY_T_STRING;
	CHECK(pn_agg_share_key_types(&p1, shared) == -1, "a piece of another type");
	CHECK(strstr(p1.why, "is a string in it and a number in the other partitions"), "%s",
	      p1.why);
	pn_agg_release(&p1);
	pn_agg_release(&p0);
	pn_query_release(&q);
}

/* Records of event time t (and _timestamp stamp, when >= 0) under
 * --ttl 28d and --max-ahead ahead. */
static void ttl_query(struct pn_query *q, int64_t ahead)
{
	query(q, PN_KEY_STRICT);
	q->ttl_ms = 28 * DAY;
	q->max_ahead_ms = ahead;
	q->time_field = pn_strdup("t");
}

static int apply_at(struct pn_agg *a, int id, int64_t t, int64_t stamp)
{
	char rec[200];
	const char *why;

	if (stamp >= 0)
		snprintf(rec, sizeof(rec), "{\"source\":\"campaign\",\"source_id\":%d,\"t\":%lld,"
			 "\"_timestamp\":%lld}", id, (long long)t, (long long)stamp);
	else
		snprintf(rec, sizeof(rec), "{\"source\":\"campaign\",\"source_id\":%d,\"t\":%lld}",
			 id, (long long)t);
	return apply(a, rec, &why);
}

static void test_max_ahead(void)
{
	int64_t now = pn_wall_ms(), old = 1764028800000; /* 2025-11-25 */
	struct pn_buf out = PN_BUF_INIT;
	struct pn_query q;
	struct pn_agg a;

	/* ten years ahead of the wall clock: counted, the clock stays */
	ttl_query(&q, 3600000);
	pn_agg_init(&a, &q);
	CHECK(apply_at(&a, 1, now - 2 * DAY, -1) == 0 && apply_at(&a, 2, now - 2 * DAY, -1) == 0,
	      "two campaigns");
	CHECK(apply_at(&a, 2, now + 3650 * DAY, -1) == 0, "ten years ahead");
	CHECK_I64(a.stream_time, now - 2 * DAY, "the stream time stays");
	CHECK_I64(a.counts.future_times, 1, "future_times");
	CHECK(apply_at(&a, 1, now - DAY, -1) == 0, "the next record");
	CHECK_I64(pn_agg_expire(&a, &out), 0, "nothing expires");
	emit_all(&a, &out);
	CHECK(!strcmp(out.data, "{\"id\":1,\"n\":2}\n{\"id\":2,\"n\":2}\n"), "rows %s", out.data);
	/* within the bound: it moves */
	CHECK(apply_at(&a, 1, now + 1800000, -1) == 0, "half an hour ahead");
	CHECK_I64(a.stream_time, now + 1800000, "the stream time moves");
	pn_agg_release(&a);

	/* a backfill: old times, their _timestamp their own; a day ahead of
	 * its _timestamp is held back, though years behind the wall clock */
	pn_agg_init(&a, &q);
	CHECK(apply_at(&a, 1, old, old) == 0 && apply_at(&a, 2, old, old) == 0, "old");
	CHECK(apply_at(&a, 2, old + DAY, old) == 0, "a day past its _timestamp");
	CHECK_I64(a.stream_time, old, "held back by _timestamp");
	CHECK(apply_at(&a, 1, old + 30 * DAY, old + 30 * DAY) == 0, "30 days on");
	CHECK_I64(a.stream_time, old + 30 * DAY, "the backfill moves the clock");
	CHECK_I64(pn_agg_expire(&a, &out), 1, "campaign 2 expires, as it did live");
	CHECK_I64(a.counts.future_times, 1, "future_times");
	pn_agg_release(&a);

	/* extreme times do not overflow the comparison */
	pn_agg_init(&a, &q);
	CHECK(apply_at(&a, 1, INT64_C(9000000000000000000), 0) == 0, "the far end");
	CHECK_I64(a.stream_time, INT64_MIN, "held back");
	pn_agg_release(&a);
	pn_query_release(&q);

	/* --max-ahead 0: Kafka Streams' rule, the clock takes anything */
	ttl_query(&q, 0);
	pn_agg_init(&a, &q);
	CHECK(apply_at(&a, 1, now - DAY, -1) == 0 && apply_at(&a, 2, now + 3650 * DAY, -1) == 0,
	      "ten years ahead");
	CHECK_I64(a.stream_time, now + 3650 * DAY, "the stream time jumps");
	CHECK_I64(pn_agg_expire(&a, &out), 1, "campaign 1 expires");
	pn_agg_release(&a);
	pn_query_release(&q);
	pn_buf_release(&out);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	pn_set_progname("test-aggkeys");
	test_key_mode_names();
	test_modes();
	test_number_not_a_number();
	test_checkpoint_types();
	test_shared();
	test_max_ahead();
	return unit_done();
}
