/* Unit tests for common/pn_checkpoint.h: a pn_agg saved and loaded into a
 * fresh one emits the same rows and holds the same offsets; a damaged
 * file, or one made by another query, is refused with its reason; the
 * offsets read back alone, for pn-consume and --print-offsets. */
#include <fcntl.h>
#include <unistd.h>

#include "pn_agg.h"
#include "pn_checkpoint.h"
#include "pn_err.h"
#include "pn_io.h"
#include "unit.h"

static char errlog[4200];	/* stderr while a refusal is checked */

static const char *tmppath(const char *name)
{
	static char path[4][4200];
	static int which;
	char *p = path[which = (which + 1) % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", unit_tmpdir(), name);
	return p;
}

/* Every aggregate kind, over records some of which the --where drops. */
static void all_kinds_query(struct pn_query *q)
{
	const char *why = NULL;

	memset(q, 0, sizeof(*q));
	CHECK(pn_query_add_where(q, "source=campaign", &why) == 0, "where");
	CHECK(pn_query_add_group(q, "source_id:id", &why) == 0, "group");
	CHECK(pn_query_add_agg(q, PN_COUNT, "*:n", &why) == 0, "count");
	CHECK(pn_query_add_agg(q, PN_COUNT, "clicked_time:clicks", &why) == 0, "count");
	CHECK(pn_query_add_agg(q, PN_SUM, "x", &why) == 0, "sum");
	CHECK(pn_query_add_agg(q, PN_MIN, "x", &why) == 0, "min");
	CHECK(pn_query_add_agg(q, PN_MAX, "x", &why) == 0, "max");
	CHECK(pn_query_add_agg(q, PN_COUNT_DISTINCT, "subscriber_id", &why) == 0, "distinct");
	CHECK(pn_query_add_agg(q, PN_LATEST, "s", &why) == 0, "latest");
}

/* Hourly windows on _timestamp, groups kept for 3 hours of stream time. */
static void window_query(struct pn_query *q)
{
	const char *why = NULL;

	memset(q, 0, sizeof(*q));
	CHECK(pn_query_add_group(q, "source_id", &why) == 0, "group");
	CHECK(pn_query_add_agg(q, PN_COUNT, "*", &why) == 0, "count");
	CHECK(pn_query_add_agg(q, PN_SUM, "x", &why) == 0, "sum");
	CHECK(pn_window_parse(&q->window, "tumbling:1h", &why) == 0, "window");
	q->ttl_ms = 3 * 3600000;
}

/* n records over topic "pings" partitions 0 and 1, the same every run. */
static void apply_records(struct pn_agg *a, int n)
{
	static const char *const sources[] = { "campaign", "campaign", "campaign", "flow" };
	int64_t next[2] = { 0, 100 };
	struct pn_buf line = PN_BUF_INIT;
	struct pn_json j;

	pn_json_init(&j);
	for (int i = 0; i < n; i++) {
		int part = (int)unit_below(2);
		const char *why = NULL;

		pn_buf_reset(&line);
		pn_buf_addf(&line, "{\"_topic\":\"pings\",\"_partition\":%d,\"_offset\":%lld,"
			    "\"_timestamp\":%lld,\"source\":\"%s\",\"source_id\":%d,"
			    "\"subscriber_id\":%d,\"clicked_time\":%s,",
			    part, (long long)next[part]++, 1793527200000LL + i * 60000LL,
			    sources[unit_below(4)], 1000 + (int)unit_below(7),
			    (int)unit_below(200), unit_below(3) ? "null" : "\"2026-11-01\"");
		if (unit_below(2))
			pn_buf_addf(&line, "\"x\":%d,", (int)unit_below(1000) - 500);
		else
			pn_buf_addf(&line, "\"x\":%d.25,", (int)unit_below(100));
		pn_buf_addf(&line, "\"s\":\"v\\u00e9%d\"}", (int)unit_below(5));
		CHECK(pn_json_parse(&j, line.data, line.len) == 0, "%s", line.data);
		CHECK(pn_agg_apply(a, &j, &why) == 0, "%s: %s", line.data, why ? why : "");
	}
	pn_json_release(&j);
	pn_buf_release(&line);
}

/* Every group's row, as --emit final writes them. */
static void emit_all(struct pn_agg *a, struct pn_buf *out)
{
	pn_agg_mark_all(a);
	while (pn_agg_dirty(a))
		pn_agg_emit(a, out, SIZE_MAX);
}

/* f(a, path) with stderr in a file; its status, and the message it wrote
 * holds want (NULL: says nothing). */
static int with_stderr(int (*f)(struct pn_agg *, const char *), struct pn_agg *a,
		       const char *path, const char *want)
{
	const char *log = errlog;
	struct pn_buf msg = PN_BUF_INIT;
	int saved, fd, rc;

	fflush(stderr);
	saved = dup(2);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved < 0 || fd < 0 || dup2(fd, 2) < 0) {
		perror(log);
		exit(2);
	}
	close(fd);
	rc = f(a, path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (pn_read_file(log, &msg) < 0)
		pn_buf_reset(&msg);
	pn_buf_addc(&msg, '\0');
	if (want)
		CHECK(strstr(msg.data, want), "'%s': message %s, want '%s'", path, msg.data, want);
	else
		CHECK(msg.len == 1, "'%s': message %s", path, msg.data);
	pn_buf_release(&msg);
	return rc;
}

/* A record at or below the offsets loaded is skipped, changing nothing. */
static void check_skipped(struct pn_agg *b, const char *what)
{
	static const char rec[] = "{\"_topic\":\"pings\",\"_partition\":1,\"_offset\":100,"
				  "\"_timestamp\":1793527200000,\"source\":\"campaign\","
				  "\"source_id\":1000,\"x\":1}";
	const char *why = NULL;
	struct pn_json j;

	pn_json_init(&j);
	CHECK(pn_json_parse(&j, rec, strlen(rec)) == 0, "%s", rec);
	CHECK(pn_agg_apply(b, &j, &why) == 0, "%s: %s", rec, why ? why : "");
	CHECK_I64(b->counts.skipped, 1, "%s: skipped", what);
	CHECK(!pn_agg_dirty(b), "%s: a skipped record changed a group", what);
	pn_json_release(&j);
}

static void test_round_trip(void (*make)(struct pn_query *), const char *what)
{
	const char *path = tmppath("agg.state"), *again = tmppath("again.state");
	struct pn_buf rows1 = PN_BUF_INIT, rows2 = PN_BUF_INIT, f1 = PN_BUF_INIT,
		      f2 = PN_BUF_INIT;
	struct pn_query q;
	struct pn_agg a, b;

	make(&q);
	pn_agg_init(&a, &q);
	apply_records(&a, 500);
	CHECK(pn_checkpoint_save(&a, path) == 0, "%s: save", what);
	CHECK_I64(a.counts.checkpoints, 1, "%s: checkpoints counted", what);

	pn_agg_init(&b, &q);
	CHECK_I64(with_stderr(pn_checkpoint_load, &b, path, NULL), 1, "%s: load", what);
	CHECK_I64(b.nentries, a.nentries, "%s: groups", what);
	CHECK_I64(b.stream_time, a.stream_time, "%s: stream time", what);
	for (int p = 0; p < 2; p++) {
		const struct pn_part *pa = pn_offsets_find(&a.offsets, "pings", p);
		const struct pn_part *pb = pn_offsets_find(&b.offsets, "pings", p);

		CHECK(pa && pb && pa->flushed == pb->flushed, "%s: offsets of partition %d", what,
		      p);
	}
	emit_all(&a, &rows1);
	emit_all(&b, &rows2);
	CHECK(rows1.len > 0, "%s: no rows", what);
	CHECK_MEM(rows2.data, rows2.len, rows1.data, rows1.len, "%s: rows after loading", what);

	/* what was loaded saves to a file that loads and saves to the same
	 * bytes (the first save may order a --count-distinct set otherwise) */
	CHECK(pn_checkpoint_save(&b, again) == 0, "%s: save again", what);
	pn_agg_release(&a);
	pn_agg_init(&a, &q);
	CHECK_I64(pn_checkpoint_load(&a, again), 1, "%s: load again", what);
	CHECK(pn_checkpoint_save(&a, path) == 0, "%s: save a third time", what);
	CHECK(pn_read_file(path, &f1) >= 0 && pn_read_file(again, &f2) >= 0, "%s: read", what);
	CHECK(unit_memeq(f1.data, f1.len, f2.data, f2.len), "%s: saved again differs", what);

	check_skipped(&b, what);

	pn_agg_release(&a);
	pn_agg_release(&b);
	pn_query_release(&q);
	pn_buf_release(&rows1);
	pn_buf_release(&rows2);
	pn_buf_release(&f1);
	pn_buf_release(&f2);
}

static int load_offsets_of(struct pn_agg *a UNUSED, const char *path)
{
	struct pn_offsets t;
	int rc;

	pn_offsets_init(&t);
	rc = pn_checkpoint_load_offsets(path, &t);
	pn_offsets_release(&t);
	return rc;
}

/* A saved checkpoint, damaged: refused, by the load and for its offsets. */
static void test_refused(void)
{
	const char *path = tmppath("good.state"), *bad = tmppath("bad.state");
	struct pn_buf good = PN_BUF_INIT, b = PN_BUF_INIT;
	struct pn_query q, other;
	const char *why = NULL;
	struct pn_agg a;

	all_kinds_query(&q);
	pn_agg_init(&a, &q);
	apply_records(&a, 50);
	CHECK(pn_checkpoint_save(&a, path) == 0, "save");
	pn_agg_release(&a);
	CHECK(pn_read_file(path, &good) >= 0, "read");

	/* keep: the first bytes kept; resum: a checksum made anew after that */
	static const struct {
		const char *what;
		size_t at;
		int flip;
		size_t keep;
		int resum;
		const char *msg;
	} cases[] = {
		{ "a byte flipped", 40, 0x10, SIZE_MAX, 0, "is corrupt (checksum mismatch)" },
		{ "the checksum flipped", SIZE_MAX, 0x01, SIZE_MAX, 0,
		  "is corrupt (checksum mismatch)" },
		{ "cut short", SIZE_MAX, 0, 30, 0, "is corrupt (checksum mismatch)" },
		{ "cut short, checksum anew", SIZE_MAX, 0, 30, 1, "is corrupt (bad structure)" },
		{ "too short for a checkpoint", SIZE_MAX, 0, 20, 0,
		  "is not a pn-aggregate checkpoint" },
		{ "another magic", 0, 'P' ^ 'X', SIZE_MAX, 0, "is not a pn-aggregate checkpoint" },
		{ "another format", 7, 4 ^ 1, SIZE_MAX, 0,
		  "has format 1, this pn-aggregate reads formats 2 to 4" },
		{ "a newer format", 7, 4 ^ 5, SIZE_MAX, 0,
		  "has format 5, this pn-aggregate reads formats 2 to 4" },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		pn_buf_reset(&b);
		pn_buf_add(&b, good.data, cases[i].keep < good.len ? cases[i].keep : good.len);
		if (cases[i].flip)
			b.data[cases[i].at < b.len ? cases[i].at : b.len - 1] ^= cases[i].flip;
		if (cases[i].resum) {
			uint64_t sum = pn_hash64(PN_HASH64_INIT, b.data, b.len);

			pn_buf_add(&b, &sum, sizeof(sum));
		}
		CHECK(pn_write_file_atomic(bad, b.data, b.len) == 0, "write");
		pn_agg_init(&a, &q);
		CHECK_I64(with_stderr(pn_checkpoint_load, &a, bad, cases[i].msg), -1, "%s",
			  cases[i].what);
		pn_agg_release(&a);
		CHECK_I64(with_stderr(load_offsets_of, NULL, bad, cases[i].msg), -1,
			  "offsets, %s", cases[i].what);
	}

	/* another query's checkpoint: its state is refused, its offsets read */
	all_kinds_query(&other);
	CHECK(pn_query_add_group(&other, "merchant", &why) == 0, "group");
	pn_agg_init(&a, &other);
	CHECK_I64(with_stderr(pn_checkpoint_load, &a, path, "was made by another query"), -1,
		  "another query");
	pn_agg_release(&a);
	CHECK_I64(with_stderr(load_offsets_of, NULL, path, NULL), 1, "another query's offsets");
	pn_query_release(&other);

	/* no file: nothing to load, and no error */
	pn_agg_init(&a, &q);
	CHECK_I64(with_stderr(pn_checkpoint_load, &a, tmppath("none.state"), NULL), 0, "no file");
	CHECK_I64(a.nentries, 0, "no file: groups");
	pn_agg_release(&a);
	CHECK_I64(with_stderr(load_offsets_of, NULL, tmppath("none.state"), NULL), 0,
		  "no file: offsets");

	pn_query_release(&q);
	pn_buf_release(&good);
	pn_buf_release(&b);
}

/* The offsets alone, as pn-consume --commit-from and --print-offsets read them. */
static void test_offsets(void)
{
	const char *path = tmppath("offsets.state");
	struct pn_buf out = PN_BUF_INIT;
	struct pn_offsets t;
	struct pn_query q;
	struct pn_agg a;
	char want[128];

	window_query(&q);
	pn_agg_init(&a, &q);
	apply_records(&a, 30);
	CHECK(pn_checkpoint_save(&a, path) == 0, "save");

	pn_offsets_init(&t);
	CHECK_I64(pn_checkpoint_load_offsets(path, &t), 1, "load_offsets");
	for (int p = 0; p < 2; p++) {
		const struct pn_part *pa = pn_offsets_find(&a.offsets, "pings", p);
		const struct pn_part *pt = pn_offsets_find(&t, "pings", p);

		CHECK(pa && pt && pa->flushed == pt->flushed && pt->flushed > 0,
		      "offsets of partition %d", p);
	}
	CHECK(!pn_offsets_find(&t, "pings", 2), "a partition never seen");
	pn_offsets_release(&t);

	CHECK_I64(pn_checkpoint_print_offsets(path, &out), 0, "print_offsets");
	snprintf(want, sizeof(want), "{\"pings\":{\"0\":%lld,\"1\":%lld}}\n",
		 (long long)pn_offsets_find(&a.offsets, "pings", 0)->flushed,
		 (long long)pn_offsets_find(&a.offsets, "pings", 1)->flushed);
	CHECK_MEM(out.data, out.len, want, strlen(want), "print_offsets");
	pn_agg_release(&a);
	pn_query_release(&q);
	pn_buf_release(&out);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	pn_set_progname("test-checkpoint");
	unit_tmpdir();
	snprintf(errlog, sizeof(errlog), "%s/stderr", unit_tmpdir());
	test_round_trip(all_kinds_query, "every aggregate");
	test_round_trip(window_query, "windows and --ttl");
	test_refused();
	test_offsets();
	unit_tmpdir_remove();
	return unit_done();
}
