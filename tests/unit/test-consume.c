/* Unit tests for what pn-consume keeps in common/ and that runs without a
 * broker: where partitions start (pn_start.h, from -o and a start-offsets
 * file), what may be committed (pn_commit.h: written records, the answer
 * to a failed commit, a --commit-from checkpoint) and the revocation's
 * wait for a piece directory to save what was written. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pn_agg.h"
#include "pn_checkpoint.h"
#include "pn_commit.h"
#include "pn_io.h"
#include "pn_pieces.h"
#include "pn_start.h"
#include "unit.h"

static const char *tmpdir;

static const char *tmp_path(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void test_start_parse(void)
{
	static const struct {
		const char *arg;
		int rc;
		enum pn_start_kind kind;
		int64_t value;
		const char *why;
	} cases[] = {
		{ "beginning", 0, PN_START_BEGINNING, 0, NULL },
		{ "end", 0, PN_START_END, 0, NULL },
		{ "stored", 0, PN_START_STORED, 0, NULL },
		{ "42", 0, PN_START_OFFSET, 42, NULL },
		{ "-5", 0, PN_START_TAIL, 5, NULL },
		{ "@1700000000000", 0, PN_START_TIME, 1700000000000, NULL },
		{ "s@1970-01-01T00:00:01Z", 0, PN_START_TIME, 1000, NULL },
		{ "-0", -1, PN_START_TAIL, 0, "bad offset" },
		{ "x", -1, PN_START_OFFSET, 0, "bad offset" },
		{ "@noon", -1, PN_START_TIME, 0, "bad start time" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_start s = { 0 };
		const char *why = NULL;

		CHECK_I64(pn_start_parse(&s, cases[i].arg, &why), cases[i].rc, "%s", cases[i].arg);
		CHECK_I64(s.kind, cases[i].kind, "%s", cases[i].arg);
		if (cases[i].rc == 0)
			CHECK_I64(s.value, cases[i].value, "%s", cases[i].arg);
		else
			CHECK(why && !strcmp(why, cases[i].why), "%s: %s", cases[i].arg,
			      why ? why : "no reason");
	}
}

static void test_start_default(void)
{
	static const struct { enum pn_start_kind kind; int group; int64_t want; } cases[] = {
		{ PN_START_DEFAULT, 0, RD_KAFKA_OFFSET_BEGINNING },
		{ PN_START_DEFAULT, 1, RD_KAFKA_OFFSET_INVALID },
		{ PN_START_BEGINNING, 1, RD_KAFKA_OFFSET_BEGINNING },
		{ PN_START_END, 0, RD_KAFKA_OFFSET_END },
		{ PN_START_STORED, 1, RD_KAFKA_OFFSET_INVALID },
		{ PN_START_OFFSET, 0, 7 },
		{ PN_START_TAIL, 0, RD_KAFKA_OFFSET_TAIL(7) },
		{ PN_START_TIME, 0, 7 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_start s = { .kind = cases[i].kind, .value = 7, .group = cases[i].group };

		CHECK_I64(pn_start_default(&s), cases[i].want, "case %zu", i);
	}
}

static struct pn_out out;

static rd_kafka_topic_partition_list_t *list_of(int n, ...)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *topic = va_arg(ap, const char *);

		rd_kafka_topic_partition_list_add(l, topic, va_arg(ap, int32_t));
	}
	va_end(ap);
	return l;
}

static int64_t offset_in(rd_kafka_topic_partition_list_t *l, const char *topic, int32_t partition)
{
	rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(l, topic, partition);

	return tp ? tp->offset : -9999;
}

/* A start file names t/0 and t/2: they start there, t/1 as -o says, and
 * once started none is planned again (a rebalance resumes from commits). */
static void test_start_plan(void)
{
	static const char file[] = "{\"t\":{\"0\":5,\"2\":7}}";
	const char *path = tmp_path("start.json");
	struct pn_start s = { .kind = PN_START_DEFAULT, .file = path, .group = 1 };
	rd_kafka_topic_partition_list_t *list, *by_time;
	struct pn_commit c;

	CHECK(pn_write_file_atomic(path, file, sizeof(file) - 1) == 0, "%s", path);
	CHECK(pn_commit_init(&c, &out, "g", NULL) == 0, "init");
	CHECK(pn_offsets_load_start(&c.parts, path) == 0, "load");
	list = list_of(3, "t", 0, "t", 1, "t", 2);
	by_time = rd_kafka_topic_partition_list_new(1);
	pn_start_plan(&s, &c, list, by_time);
	CHECK_I64(offset_in(list, "t", 0), 5, "from the file");
	CHECK_I64(offset_in(list, "t", 1), RD_KAFKA_OFFSET_INVALID, "a group's commits");
	CHECK_I64(offset_in(list, "t", 2), 7, "from the file");
	CHECK_I64(by_time->cnt, 0, "nothing by time");
	CHECK(pn_commit_find(&c, "t", 1)->started, "t/1 started");
	rd_kafka_topic_partition_list_destroy(list);

	/* taken again, and a new partition with -o @TIME */
	s.kind = PN_START_TIME;
	s.value = 1234;
	list = list_of(2, "t", 0, "t", 3);
	pn_start_plan(&s, &c, list, by_time);
	CHECK_I64(offset_in(list, "t", 0), RD_KAFKA_OFFSET_INVALID, "started before");
	CHECK_I64(by_time->cnt, 1, "t/3 by time");
	CHECK_I64(offset_in(by_time, "t", 3), 1234, "the time");
	rd_kafka_topic_partition_list_destroy(list);
	rd_kafka_topic_partition_list_destroy(by_time);

	/* without a group, -o's default reads everything */
	s = (struct pn_start){ .kind = PN_START_DEFAULT };
	list = list_of(1, "u", 0);
	by_time = rd_kafka_topic_partition_list_new(1);
	pn_start_plan(&s, &c, list, by_time);
	CHECK_I64(offset_in(list, "u", 0), RD_KAFKA_OFFSET_BEGINNING, "no group");
	rd_kafka_topic_partition_list_destroy(list);
	rd_kafka_topic_partition_list_destroy(by_time);
	pn_commit_release(&c);
}

static int64_t listed(struct pn_commit *c, const char *topic, int32_t partition, int *n,
		      int sync)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
	int64_t offset;

	pn_commit_list(c, l, sync);
	offset = offset_in(l, topic, partition);
	*n = l->cnt;
	rd_kafka_topic_partition_list_destroy(l);
	return offset;
}

static int64_t committable(struct pn_commit *c, const char *topic, int32_t partition, int *n)
{
	return listed(c, topic, partition, n, 0);
}

/* Only what reached the output is committable; a failed commit is sent
 * again for a partition still held, not for one given up. */
static void test_committable(void)
{
	struct pn_commit c;
	struct pn_commit_part *a, *b;
	rd_kafka_topic_partition_list_t *failed;
	int n;

	CHECK(pn_commit_init(&c, &out, "g", NULL) == 0, "init");
	a = pn_commit_get(&c, "t", 0);
	b = pn_commit_get(&c, "t", 1);
	CHECK_I64(a->committed, -1, "a new entry is uncommitted");
	a->assigned = 1;
	a->part.appended = 10;
	b->part.appended = 20;
	c.dirty = 1;
	committable(&c, "t", 0, &n);
	CHECK_I64(n, 0, "appended is not written");
	pn_commit_flush(&c);
	CHECK_I64(committable(&c, "t", 0, &n), 10, "flushed");
	CHECK_I64(n, 2, "both partitions");
	a->committed = 10;
	b->committed = 20;
	committable(&c, "t", 0, &n);
	CHECK_I64(n, 0, "all committed");

	failed = list_of(2, "t", 0, "t", 1);
	failed->elems[0].offset = 10;
	failed->elems[1].offset = 20;
	pn_commit_result(&c, RD_KAFKA_RESP_ERR__TRANSPORT, failed);
	CHECK_I64(a->committed, -1, "held: to be sent again");
	CHECK_I64(b->committed, 20, "given up: its new owner's");
	CHECK_I64(committable(&c, "t", 0, &n), 10, "sent again");
	CHECK_I64(n, 1, "only t/0");
	rd_kafka_topic_partition_list_destroy(failed);

	/* a commit that waits (exit, revocation) sends again what the group
	 * has not confirmed, though sent: a failure not heard of yet */
	c.subscribed = 1;
	a->committed = 10;
	CHECK_I64(committable(&c, "t", 0, &n), -9999, "sent: not sent again at once");
	CHECK_I64(listed(&c, "t", 0, &n, 1), 10, "not confirmed: in the last commit");
	CHECK_I64(n, 1, "not t/1, given up: its new owner's");
	failed = list_of(1, "t", 0);
	failed->elems[0].offset = 10;
	pn_commit_result(&c, RD_KAFKA_RESP_ERR_NO_ERROR, failed);
	CHECK_I64(a->confirmed, 10, "confirmed");
	listed(&c, "t", 0, &n, 1);
	CHECK_I64(n, 0, "confirmed: nothing to wait for");
	rd_kafka_topic_partition_list_destroy(failed);
	pn_commit_release(&c);
}

/* A pn-aggregate checkpoint at path that has applied topic "t" up to next
 * of each partition (-1: not named). */
static void save_checkpoint(const char *path, const int64_t *next, int n)
{
	struct pn_query q;
	struct pn_agg a;
	const char *why;

	memset(&q, 0, sizeof(q));
	CHECK(pn_query_add_group(&q, "source_id", &why) == 0, "group");
	CHECK(pn_query_add_agg(&q, PN_COUNT, "*:n", &why) == 0, "count");
	pn_agg_init(&a, &q);
	for (int i = 0; i < n; i++)
		if (next[i] >= 0)
			pn_offsets_get(&a.offsets, "t", i)->flushed = next[i];
	CHECK(pn_checkpoint_save(&a, path) == 0, "%s", path);
	pn_agg_release(&a);
	pn_query_release(&q);
}

/* --commit-from a checkpoint file: what it applied, of partitions held. */
static void test_commit_from(void)
{
	static const int64_t next[] = { 8, 9 };
	const char *path = tmp_path("campaign.state");
	struct pn_commit c;
	int n;

	save_checkpoint(path, next, 2);
	CHECK(pn_commit_init(&c, &out, "g", path) == 0, "init");
	CHECK(!c.by_pieces, "a file");
	pn_commit_get(&c, "t", 0)->assigned = 1;
	pn_commit_get(&c, "t", 1)->part.appended = 50;	/* not held */
	pn_commit_written(&c);
	CHECK_I64(committable(&c, "t", 0, &n), 8, "applied");
	CHECK_I64(n, 1, "only what is held");
	pn_commit_get(&c, "t", 0)->committed = 8;
	committable(&c, "t", 0, &n);
	CHECK_I64(n, 0, "committed already");
	pn_commit_release(&c);
}

/* The revocation's wait: done once the pieces saved what was written. */
static void test_wait_saved(void)
{
	char dir[4200];
	struct pn_commit c;
	rd_kafka_topic_partition_list_t *list = list_of(2, "t", 0, "t", 1);
	struct pn_buf piece = PN_BUF_INIT;	/* offsets are read from .next */

	snprintf(dir, sizeof(dir), "%s/state/", tmpdir);
	CHECK(pn_commit_init(&c, &out, "g", dir) == 0, "init");
	CHECK(c.by_pieces, "a piece directory");
	CHECK_I64(pn_commit_saved(&c, list), 1, "nothing written, nothing to wait for");
	pn_commit_get(&c, "t", 0)->part.appended = 7;
	pn_commit_get(&c, "t", 1)->part.appended = 3;
	pn_commit_written(&c);
	CHECK_I64(pn_commit_saved(&c, list), 0, "no pieces yet");

	CHECK(mkdir(tmp_path("state"), 0777) == 0, "the state directory, as pn-aggregate makes it");
	CHECK(pn_pieces_put(&c.pieces, "t", 0, &piece, 5) == 0, "t/0 at 5");
	CHECK_I64(pn_commit_wait_saved(&c, list, 30), 0, "t/0 saved up to 5 of 7, t/1 none");
	CHECK(pn_pieces_put(&c.pieces, "t", 0, &piece, 7) == 0, "t/0 at 7");
	CHECK(pn_pieces_put(&c.pieces, "t", 1, &piece, 3) == 0, "t/1 at 3");
	CHECK_I64(pn_commit_wait_saved(&c, list, 30), 1, "both saved");

	/* --wait-for-sink: the sink's acknowledgements count too */
	c.wait_sink = 1;
	CHECK_I64(pn_commit_saved(&c, list), 0, "saved, not acknowledged");
	CHECK(pn_pieces_ack(&c.pieces, "t", 0, 7) == 0, "t/0 acknowledged");
	CHECK(pn_pieces_ack(&c.pieces, "t", 1, 2) == 0, "t/1 acknowledged short");
	CHECK_I64(pn_commit_saved(&c, list), 0, "t/1 acknowledged up to 2 of 3");
	CHECK(pn_pieces_ack(&c.pieces, "t", 1, 3) == 0, "t/1 acknowledged");
	CHECK_I64(pn_commit_saved(&c, list), 1, "saved and acknowledged");
	CHECK_I64(pn_pieces_acked(&c.pieces, "t", 2), -1, "a partition never acknowledged");

	/* a state that cannot be read ends the wait at once */
	CHECK(unlink(tmp_path("state/t/1.next")) == 0 && mkdir(tmp_path("state/t/1.next"), 0777) == 0,
	      "t/1.next made unreadable (a directory)");
	CHECK_I64(pn_commit_saved(&c, list), -1, "the state cannot be read");
	CHECK_I64(pn_commit_wait_saved(&c, list, 30000), -1, "no wait for a state that cannot be read");
	pn_buf_release(&piece);
	rd_kafka_topic_partition_list_destroy(list);
	pn_commit_release(&c);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	tmpdir = unit_tmpdir();
	pn_out_init(&out, open("/dev/null", O_WRONLY), "/dev/null", 1 << 20);
	test_start_parse();
	test_start_default();
	test_start_plan();
	test_committable();
	test_commit_from();
	test_wait_saved();
	pn_out_close(&out);
	unit_tmpdir_remove();
	return unit_done();
}
