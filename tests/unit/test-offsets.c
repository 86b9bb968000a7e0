/* Unit tests for the partition numbers that common/pn_offsets.h takes from
 * outside data: a record's _partition, a checkpoint, a start-offsets file.
 * Each refuses a number above PN_PARTITION_MAX: the table is an array
 * indexed by partition, and 2147483647 asked for 16 GB (fuzz-checkpoint). */
#include <unistd.h>

#include "pn_agg.h"
#include "pn_checkpoint.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_offsets.h"
#include "pn_record.h"
#include "unit.h"

static const char *tmpdir;

static const char *tmpfile_with(const char *name, const void *data, size_t n)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (pn_write_file_atomic(path, data, n)) {
		perror(path);
		exit(2);
	}
	return path;
}

static void test_record_position(void)
{
	static const struct { const char *rec; int want; int32_t partition; } cases[] = {
		{ "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":1}", 1, 0 },
		{ "{\"_topic\":\"t\",\"_partition\":1048575,\"_offset\":1}", 1, 1048575 },
		{ "{\"_topic\":\"t\",\"_partition\":1048576,\"_offset\":1}", -1, 0 },
		{ "{\"_topic\":\"t\",\"_partition\":2147483647,\"_offset\":1}", -1, 0 },
		{ "{\"_topic\":\"t\",\"_partition\":-1,\"_offset\":1}", -1, 0 },
	};
	struct pn_buf topic = PN_BUF_INIT;
	struct pn_json j;

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *why = NULL;
		int32_t partition = -1;
		int64_t offset;
		int rc;

		CHECK(pn_json_parse(&j, cases[i].rec, strlen(cases[i].rec)) == 0, "%s",
		      cases[i].rec);
		rc = pn_record_position(&j, pn_json_get(&j, 0, "_topic", 6),
					pn_json_get(&j, 0, "_partition", 10),
					pn_json_get(&j, 0, "_offset", 7), &topic, &partition,
					&offset, &why);
		CHECK_I64(rc, cases[i].want, "%s", cases[i].rec);
		if (rc > 0)
			CHECK_I64(partition, cases[i].partition, "%s", cases[i].rec);
		else
			CHECK(why && strstr(why, "_partition"), "%s: %s", cases[i].rec,
			      why ? why : "no reason");
	}
	pn_json_release(&j);
	pn_buf_release(&topic);
}

static void test_start_offsets(void)
{
	static const struct { const char *text; int want; } cases[] = {
		{ "{\"t\":{\"0\":5,\"1048575\":7}}", 0 },
		{ "{\"t\":{\"1048576\":7}}", -1 },
		{ "{\"t\":{\"2147483647\":7}}", -1 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_offsets t;
		const char *path = tmpfile_with("start.json", cases[i].text, strlen(cases[i].text));

		pn_offsets_init(&t);
		CHECK_I64(pn_offsets_load_start(&t, path), cases[i].want, "%s", cases[i].text);
		pn_offsets_release(&t);
	}
}

/* A checkpoint of query q holding one topic-partition and no group. */
static const char *checkpoint_with(const struct pn_query *q, uint32_t partition)
{
	static const char magic[8] = { 'P', 'N', 'A', 'G', 'G', 0, 0, 2 };
	struct pn_buf b = PN_BUF_INIT;
	uint64_t fp = pn_query_fingerprint(q), next = 5, zero = 0, sum;
	uint32_t one = 1;
	const char *path;

	pn_buf_add(&b, magic, sizeof(magic));
	pn_buf_add(&b, &fp, 8);
	pn_buf_add(&b, &one, 4);	/* one offset: topic "t" */
	pn_buf_add(&b, &one, 4);
	pn_buf_add(&b, "t", 1);
	pn_buf_add(&b, &partition, 4);
	pn_buf_add(&b, &next, 8);
	pn_buf_add(&b, &zero, 8);	/* stream time */
	pn_buf_add(&b, &zero, 8);	/* no groups */
	sum = pn_hash64(PN_HASH64_INIT, b.data, b.len);
	pn_buf_add(&b, &sum, 8);
	path = tmpfile_with("campaign.state", b.data, b.len);
	pn_buf_release(&b);
	return path;
}

static void test_checkpoint(void)
{
	static const struct { uint32_t partition; int want; } cases[] = {
		{ 3, 1 }, { 1048575, 1 }, { 1048576, -1 }, { 0x7fffffff, -1 }, { 0xffffffff, -1 },
	};
	struct pn_query q;
	const char *why;

	memset(&q, 0, sizeof(q));
	CHECK(pn_query_add_group(&q, "source_id", &why) == 0, "group");
	CHECK(pn_query_add_agg(&q, PN_COUNT, "*:n", &why) == 0, "count");
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *path = checkpoint_with(&q, cases[i].partition);
		struct pn_offsets t;
		struct pn_agg a;

		pn_agg_init(&a, &q);
		CHECK_I64(pn_checkpoint_load(&a, path), cases[i].want, "partition %u",
			  cases[i].partition);
		if (cases[i].want > 0)
			CHECK_I64(pn_offsets_find(&a.offsets, "t", (int32_t)cases[i].partition)->flushed,
				  5, "partition %u", cases[i].partition);
		pn_agg_release(&a);
		pn_offsets_init(&t);
		CHECK_I64(pn_checkpoint_load_offsets(path, &t), cases[i].want,
			  "offsets of partition %u", cases[i].partition);
		pn_offsets_release(&t);
	}
	pn_query_release(&q);
}

/* A control record's partition: _offset optional, the same checks. */
static void test_control_target(void)
{
	static const struct { const char *rec; int want; int64_t next; const char *why; } cases[] = {
		{ "{\"_control\":\"revoked\",\"_topic\":\"t\",\"_partition\":3}", 1, -1, NULL },
		{ "{\"_control\":\"revoked\",\"_topic\":\"t\",\"_partition\":3,\"_offset\":41}", 1,
		  41, NULL },
		{ "{\"_control\":\"revoked\",\"_topic\":\"t\"}", -1, -1, "needs _topic and _partition" },
		{ "{\"_control\":\"revoked\",\"_topic\":7,\"_partition\":3}", -1, -1, "'_topic'" },
		{ "{\"_control\":\"revoked\",\"_topic\":\"t\",\"_partition\":1048576}", -1, -1,
		  "'_partition'" },
		{ "{\"_control\":\"revoked\",\"_topic\":\"t\",\"_partition\":3,\"_offset\":-5}", -1,
		  -1, "'_offset'" },
	};
	struct pn_buf topic = PN_BUF_INIT;
	struct pn_json j;

	pn_json_init(&j);
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *why = NULL;
		int32_t partition = -1;
		int64_t next = -2;
		int rc;

		CHECK(pn_json_parse(&j, cases[i].rec, strlen(cases[i].rec)) == 0, "%s",
		      cases[i].rec);
		rc = pn_record_control_target(&j, &topic, &partition, &next, &why);
		CHECK_I64(rc, cases[i].want, "%s", cases[i].rec);
		if (rc > 0) {
			CHECK(!strcmp(topic.data, "t") && partition == 3, "%s", cases[i].rec);
			CHECK_I64(next, cases[i].next, "%s", cases[i].rec);
		} else {
			CHECK(why && strstr(why, cases[i].why), "%s: %s", cases[i].rec,
			      why ? why : "no reason");
		}
	}
	pn_json_release(&j);
	pn_buf_release(&topic);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	tmpdir = unit_tmpdir();
	test_record_position();
	test_control_target();
	test_start_offsets();
	test_checkpoint();
	unit_tmpdir_remove();
	return unit_done();
}
