/* Unit tests for the archive of pn-archive: a manifest written and read
 * back (pn_manifest.h), and, on a small archive written by pn_writer to a
 * temp directory, the catalog (pn_catalog.h) and the object reader
 * (pn_objreader.h), also on objects made here the way
 * tests/fuzz/fuzz-objreader.c makes them, damaged on purpose. */
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "pn_archive.h"
#include "pn_catalog.h"
#include "pn_err.h"
#include "pn_manifest.h"
#include "pn_objreader.h"
#include "unit.h"

static const char *tmpdir;

/* 2025-11-25T00:00:00Z */
#define T0 1764028800000LL

static void check_same_manifest(const struct pn_manifest *got, const struct pn_manifest *want,
				const char *what)
{
	CHECK(!strcmp(got->topic, want->topic), "%s: topic %s", what, got->topic);
	CHECK(!strcmp(got->time_field, want->time_field), "%s: time_field %s", what,
	      got->time_field);
	CHECK_I64(got->partition, want->partition, "%s: partition", what);
	CHECK_I64(got->first_offset, want->first_offset, "%s: first_offset", what);
	CHECK_I64(got->last_offset, want->last_offset, "%s: last_offset", what);
	CHECK_I64(got->min_time, want->min_time, "%s: min_time", what);
	CHECK_I64(got->max_time, want->max_time, "%s: max_time", what);
	CHECK_I64(got->records, want->records, "%s: records", what);
	CHECK_I64(got->raw_bytes, want->raw_bytes, "%s: raw_bytes", what);
	CHECK_I64(got->bytes, want->bytes, "%s: bytes", what);
	CHECK(got->hash == want->hash, "%s: hash %016llx, want %016llx", what,
	      (unsigned long long)got->hash, (unsigned long long)want->hash);
	CHECK_I64(got->hash_fnv, want->hash_fnv, "%s: hash_fnv", what);
}

static void test_manifest_round_trip(void)
{
	static const struct pn_manifest cases[] = {
		{ "t/pings+3+0000000100.ndjson.zst", "pings", "_timestamp", 3, 100, 199,
		  T0, T0 + 3600000, 100, 51200, 4096, 0xfedcba9876543210ULL, 0 },
		/* no coordinates, an old FNV-1a manifest, a topic to escape */
		{ "x/a\"b+none+1-2-3.ndjson.zst", "a\"b\\c", "delivered_time", -1, -1, -1,
		  0, 0, 0, 0, 0, 0x1ULL, 1 },
		{ "p+1048575+0.ndjson.zst", "p", "t", 1048575, 0, INT64_MAX - 1, 0, INT64_MAX,
		  1, 1, 1, UINT64_MAX, 0 },
		/* records without a time: null times */
		{ "m=a/p+0+7.ndjson.zst", "p", "t", 0, 7, 9, -1, -1, 3, 30, 20, 0x2ULL, 0 },
	};
	struct pn_buf text = PN_BUF_INIT, why = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_manifest m;

		pn_buf_reset(&text);
		pn_manifest_to_json(&cases[i], &text);
		CHECK(text.len && text.data[text.len - 1] == '\n', "%s: one line",
		      unit_show(text.data, text.len));
		CHECK(pn_manifest_parse(text.data, text.len, &m, &why) == 0, "%s: %s",
		      unit_show(text.data, text.len), why.data);
		check_same_manifest(&m, &cases[i], cases[i].object);
		CHECK(m.object == NULL, "the parser leaves the object to the caller");
		pn_manifest_release(&m);
	}
	pn_buf_release(&text);
	pn_buf_release(&why);
}

static void test_manifest_parse_errors(void)
{
#define GOOD_TAIL "\"records\":1,\"time_field\":\"t\",\"min_time\":0,\"max_time\":0," \
		  "\"raw_bytes\":1,\"bytes\":1"
	static const struct { const char *text, *why; } cases[] = {
		{ "", "not JSON" },
		{ "{\"topic\":", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"partition\":0,\"first_offset\":0,\"last_offset\":0," GOOD_TAIL
		  ",\"xxh64\":\"0000000000000000\"}", "'topic'" },
		{ "{\"topic\":\"t\",\"partition\":0,\"first_offset\":0,\"last_offset\":0,"
		  GOOD_TAIL ",\"xxh64\":\"00\"}", "'xxh64'" },
		{ "{\"topic\":\"t\",\"partition\":0,\"first_offset\":0,\"last_offset\":0,"
		  GOOD_TAIL "}", "'xxh64'" },
		{ "{\"topic\":\"t\",\"partition\":1048576,\"first_offset\":0,\"last_offset\":0,"
		  GOOD_TAIL ",\"xxh64\":\"0000000000000000\"}", "'partition'" },
		{ "{\"topic\":\"t\",\"partition\":-1,\"first_offset\":0,\"last_offset\":0,"
		  GOOD_TAIL ",\"xxh64\":\"0000000000000000\"}", "'partition'" },
		{ "{\"topic\":\"t\",\"partition\":0,\"first_offset\":5,\"last_offset\":4,"
		  GOOD_TAIL ",\"xxh64\":\"0000000000000000\"}", "first_offset is after" },
		{ "{\"topic\":\"t\",\"partition\":0,\"first_offset\":0,\"last_offset\":0,"
		  "\"records\":-1,\"time_field\":\"t\",\"min_time\":0,\"max_time\":0,"
		  "\"raw_bytes\":1,\"bytes\":1,\"xxh64\":\"0000000000000000\"}", "'records'" },
		{ "{\"topic\":\"t\",\"partition\":0,\"first_offset\":0,\"last_offset\":0,"
		  "\"records\":1,\"time_field\":\"t\",\"min_time\":null,\"max_time\":0,"
		  "\"raw_bytes\":1,\"bytes\":1,\"xxh64\":\"0000000000000000\"}", "not both null" },
		{ "{\"topic\":\"t\",\"partition\":0,\"first_offset\":0,\"last_offset\":0,"
		  "\"records\":1,\"time_field\":\"t\",\"min_time\":-5,\"max_time\":0,"
		  "\"raw_bytes\":1,\"bytes\":1,\"xxh64\":\"0000000000000000\"}", "'min_time'" },
	};
	struct pn_buf why = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_manifest m;
		char *text = unit_exact(cases[i].text, strlen(cases[i].text));

		CHECK(pn_manifest_parse(text, strlen(cases[i].text), &m, &why) == -1, "%s",
		      cases[i].text);
		CHECK(why.data && strstr(why.data, cases[i].why), "%s: %s, want %s",
		      cases[i].text, why.data ? why.data : "no reason", cases[i].why);
		pn_manifest_release(&m);
		free(text);
	}
	pn_buf_release(&why);
#undef GOOD_TAIL
}

static void test_manifest_names(void)
{
	static const struct { const char *object, *manifest; } names[] = {
		{ "a/b/t+0+0000000001.ndjson.zst", "a/b/_t+0+0000000001.manifest.json" },
		{ "t+0+0000000001.ndjson.zst", "_t+0+0000000001.manifest.json" },
		{ "a/other", "a/_other.manifest.json" },
	};
	static const struct { const char *object; int ok; const char *topic; int32_t p;
			      int64_t first; } coords[] = {
		{ "d/pings+3+0000000100.ndjson.zst", 0, "pings", 3, 100 },
		{ "a+b+1+2.ndjson.zst", 0, "a+b", 1, 2 },
		{ "t+1048575+0.ndjson.zst", 0, "t", 1048575, 0 },
		{ "t+1048576+0.ndjson.zst", -1, NULL, 0, 0 },
		{ "t+-1+0.ndjson.zst", -1, NULL, 0, 0 },
		{ "t+none+1-2-3.ndjson.zst", -1, NULL, 0, 0 },
		{ "t+0+5.manifest.json", -1, NULL, 0, 0 },
		{ "+0+5.ndjson.zst", -1, NULL, 0, 0 },
		{ "t+0+-5.ndjson.zst", -1, NULL, 0, 0 },
	};
	struct pn_buf out = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(names); i++) {
		pn_manifest_name(names[i].object, &out);
		CHECK_MEM(out.data, out.len, names[i].manifest, strlen(names[i].manifest), "%s",
			  names[i].object);
	}
	for (size_t i = 0; i < NELEM(coords); i++) {
		int32_t p = -7;
		int64_t first = -7;
		int rc = pn_manifest_coords(coords[i].object, &out, &p, &first);

		CHECK_I64(rc, coords[i].ok, "%s", coords[i].object);
		if (rc || !coords[i].topic)
			continue;
		CHECK_MEM(out.data, out.len, coords[i].topic, strlen(coords[i].topic), "%s",
			  coords[i].object);
		CHECK_I64(p, coords[i].p, "%s: partition", coords[i].object);
		CHECK_I64(first, coords[i].first, "%s: first offset", coords[i].object);
	}
	pn_buf_release(&out);
}

/* A fresh directory under tmpdir for one archive. */
static const char *archive_dir(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (mkdir(path, 0777)) {
		perror(path);
		exit(2);
	}
	return path;
}

static void open_store(struct pn_store *st, const char *dir)
{
	struct pn_store_opts so = { NULL, NULL, 0, 0 };

	if (pn_store_open(st, dir, &so)) {
		fprintf(stderr, "cannot open the store %s\n", dir);
		exit(2);
	}
}

/* The record of partition p, offset o, at time T0 + t seconds. */
static void record(struct pn_buf *b, int p, int o, int t)
{
	pn_buf_reset(b);
	pn_buf_addf(b, "{\"_topic\":\"pings\",\"_partition\":%d,\"_offset\":%d,"
		    "\"_timestamp\":%lld,\"source_id\":\"c%d\"}", p, o, T0 + t * 1000LL, o % 3);
}

/* Writes the records of partitions 0 .. nparts-1, interleaved, offsets
 * from 10 * p, n each, one a second; returns the writer's status. */
static int write_archive(struct pn_store *st, int nparts, int n, int max_records)
{
	struct pn_writer_opts wo = { PN_ARCHIVE_DEFAULT_PATTERN, "_timestamp", NULL,
				     1 << 20, (uint64_t)max_records, 0, 8, 3 };
	struct pn_writer *w = pn_writer_new(st, &wo);
	struct pn_buf line = PN_BUF_INIT;
	struct pn_json j;
	int rc = 0;

	pn_json_init(&j);
	for (int i = 0; i < n && !rc; i++)
		for (int p = 0; p < nparts && !rc; p++) {
			const char *why = NULL;

			record(&line, p, 10 * p + i, i);
			CHECK(pn_json_parse(&j, line.data, line.len) == 0, "%s", line.data);
			rc = pn_writer_add(w, &j, line.data, line.len, &why);
			CHECK(rc == 0, "%s: %d %s", line.data, rc, why ? why : "");
		}
	/* a redelivery is skipped and counted */
	if (!rc) {
		const char *why = NULL;

		record(&line, 0, 0, 0);
		pn_json_parse(&j, line.data, line.len);
		CHECK_I64(pn_writer_add(w, &j, line.data, line.len, &why), 0, "a duplicate");
		CHECK_I64(pn_writer_counts(w)->duplicates, 1, "duplicates");
		rc = pn_writer_finish(w);
	}
	CHECK_I64(pn_writer_counts(w)->records, (int64_t)nparts * n, "records written");
	pn_writer_free(w);
	pn_json_release(&j);
	pn_buf_release(&line);
	return rc;
}

/* The archive `name` written by write_archive(), in st, and its whole
 * catalog in c, which holds want objects. */
static void written_archive(struct pn_store *st, struct pn_catalog *c, const char *name,
			    int nparts, int n, int max_records, size_t want)
{
	static const struct pn_archive_filter all = { NULL, -1, INT64_MIN, INT64_MAX };

	open_store(st, archive_dir(name));
	CHECK_I64(write_archive(st, nparts, n, max_records), 0, "write %s", name);
	CHECK_I64(pn_catalog_load(st, &all, c), 0, "catalog of %s", name);
	CHECK_I64(c->n, want, "objects of %s", name);
	CHECK(c->n_no_manifest == 0 && c->n_orphans == 0 && c->n_bad == 0,
	      "%s: all accounted for", name);
}

/* Reads every object of the catalog back, line by line and in chunks, and
 * checks the lines are the records written. */
static void read_back(struct pn_store *st, const struct pn_catalog *c)
{
	struct pn_objreader r;
	struct pn_buf want = PN_BUF_INIT, all = PN_BUF_INIT;

	pn_objreader_init(&r);
	for (size_t i = 0; i < c->n; i++) {
		const struct pn_manifest *m = &c->m[i];
		const char *line;
		size_t len;
		int rc, k = 0;

		CHECK(pn_objreader_open(&r, st, m) == 0, "open %s", m->object);
		pn_buf_reset(&all);
		while ((rc = pn_objreader_next(&r, &line, &len)) == 1) {
			record(&want, m->partition, (int)m->first_offset + k,
			       (int)(m->first_offset - 10 * m->partition) + k);
			CHECK_MEM(line, len, want.data, want.len, "%s, line %d", m->object, k + 1);
			pn_buf_add(&all, line, len);
			pn_buf_addc(&all, '\n');
			k++;
		}
		CHECK_I64(rc, 0, "%s: the end", m->object);
		CHECK_I64(k, m->records, "%s: lines", m->object);
		CHECK_I64(all.len, m->raw_bytes, "%s: raw bytes", m->object);

		CHECK(pn_objreader_open(&r, st, m) == 0, "open %s again", m->object);
		pn_buf_reset(&want);
		while ((rc = pn_objreader_chunk(&r, &line, &len)) == 1) {
			CHECK(len && line[len - 1] == '\n', "%s: a chunk of whole lines",
			      m->object);
			pn_buf_add(&want, line, len);
		}
		CHECK_I64(rc, 0, "%s: the end, in chunks", m->object);
		CHECK_MEM(want.data, want.len, all.data, all.len, "%s: chunks", m->object);
	}
	pn_objreader_release(&r);
	pn_buf_release(&want);
	pn_buf_release(&all);
}

static void test_write_catalog_read(void)
{
	static const char object0[] =
		"topic=pings/dt=2025-11-25/hour=00/pings+0+0000000000.ndjson.zst";
	/* where a writer resumes: after each partition's run of offsets; in the
	 * damaged archive, at the first object whose records are unknown */
	static const char want_offsets[] = "{\"pings\":{\"0\":6,\"1\":16}}\n";
	static const char want_damaged[] = "{\"pings\":{\"0\":0,\"1\":14}}\n";
	struct pn_archive_filter all = { NULL, -1, INT64_MIN, INT64_MAX };
	struct pn_archive_filter p1 = { "pings", 1, INT64_MIN, INT64_MAX };
	struct pn_archive_filter late = { NULL, -1, T0 + 5000, INT64_MAX };
	struct pn_buf offsets = PN_BUF_INIT;
	struct pn_catalog c;
	struct pn_store st;

	/* two partitions: an object of one frame each, rotated at 4 records */
	written_archive(&st, &c, "two", 2, 6, 4, 4);
	if (c.n == 4) {
		/* sorted by topic, partition, first offset */
		CHECK(!strcmp(c.m[0].object, object0), "first object %s", c.m[0].object);
		CHECK_I64(c.m[0].partition, 0, "partition");
		CHECK_I64(c.m[0].first_offset, 0, "first offset");
		CHECK_I64(c.m[0].last_offset, 3, "last offset");
		CHECK_I64(c.m[0].records, 4, "records");
		CHECK_I64(c.m[0].min_time, T0, "min time");
		CHECK_I64(c.m[0].max_time, T0 + 3000, "max time");
		CHECK(!strcmp(c.m[0].time_field, "_timestamp"), "time field");
		CHECK_I64(c.m[1].first_offset, 4, "second object");
		CHECK_I64(c.m[2].partition, 1, "third object");
		CHECK_I64(c.m[2].first_offset, 10, "third object");
		CHECK_I64(c.m[3].last_offset, 15, "last object");
	}
	read_back(&st, &c);
	pn_catalog_offsets(&c, &offsets);
	CHECK_MEM(offsets.data, offsets.len, want_offsets, strlen(want_offsets), "offsets");
	pn_catalog_release(&c);

	CHECK_I64(pn_catalog_load(&st, &p1, &c), 0, "catalog of partition 1");
	CHECK_I64(c.n, 2, "objects of partition 1");
	for (size_t i = 0; i < c.n; i++)
		CHECK_I64(c.m[i].partition, 1, "%s", c.m[i].object);
	pn_catalog_release(&c);

	CHECK_I64(pn_catalog_load(&st, &late, &c), 0, "catalog from T0 + 5 s");
	CHECK_I64(c.n, 2, "objects with a record at or after T0 + 5 s");
	pn_catalog_release(&c);

	/* a lost manifest: that object is unknown; a writer resumes before it */
	CHECK(unlink(pn_store_path(&st, "topic=pings/dt=2025-11-25/hour=00/"
				       "_pings+0+0000000000.manifest.json")) == 0, "unlink");
	/* a manifest without its object */
	CHECK(unlink(pn_store_path(&st, "topic=pings/dt=2025-11-25/hour=00/"
				       "pings+1+0000000014.ndjson.zst")) == 0, "unlink");
	/* a damaged manifest */
	CHECK(pn_store_put(&st, "topic=pings/dt=2025-11-25/hour=00/"
			   "_pings+0+0000000004.manifest.json", "{}", 2) == 0, "put");
	CHECK_I64(pn_catalog_load(&st, &all, &c), 0, "catalog of a damaged archive");
	CHECK_I64(c.n, 1, "objects with a good manifest");
	CHECK(c.n_no_manifest == 1 && !strcmp(c.no_manifest[0], object0), "no manifest");
	CHECK(c.n_orphans == 1 && strstr(c.orphans[0], "_pings+1+0000000014"), "orphan");
	CHECK(c.n_bad == 1 && strstr(c.bad[0], "pings+0+0000000004") &&
	      strstr(c.bad_why[0], "'topic'"), "bad manifest");
	pn_buf_reset(&offsets);
	pn_catalog_offsets(&c, &offsets);
	CHECK_MEM(offsets.data, offsets.len, want_damaged, strlen(want_damaged),
		  "offsets of a damaged archive");
	pn_catalog_release(&c);
	pn_store_close(&st);
	pn_buf_release(&offsets);
}

/* Three partitions at once: past two open objects, each object is a frame
 * per stage from one shared compressor; they read back whole. */
static void test_many_frames(void)
{
	struct pn_catalog c;
	struct pn_store st;

	written_archive(&st, &c, "three", 3, 5, 1000, 3);
	read_back(&st, &c);
	pn_catalog_release(&c);
	pn_store_close(&st);
}

/* An object made here from its content, and its manifest to match. */
static void make_object(struct pn_store *st, struct pn_manifest *m, const char *content,
			int fnv)
{
	size_t n = strlen(content), bound = ZSTD_compressBound(n);
	struct pn_buf obj = PN_BUF_INIT;
	size_t z;

	pn_buf_grow(&obj, bound);
	z = ZSTD_compress(obj.data, bound, content, n, 1);
	CHECK(!ZSTD_isError(z), "compress");
	obj.len = z;
	memset(m, 0, sizeof(*m));
	m->object = pn_strdup("t+0+0000000000.ndjson.zst");
	m->topic = pn_strdup("t");
	m->time_field = pn_strdup("_timestamp");
	m->first_offset = m->last_offset = -1;
	for (size_t i = 0; i < n; i++)
		m->records += content[i] == '\n';
	m->raw_bytes = n;
	m->bytes = obj.len;
	m->hash_fnv = fnv;
	m->hash = fnv ? pn_hash64(PN_HASH64_INIT, obj.data, obj.len) :
			XXH64(obj.data, obj.len, 0);
	CHECK(pn_store_put(st, m->object, obj.data, obj.len) == 0, "put");
	pn_buf_release(&obj);
}

/* Reads the object through; the reader's last status. */
static int read_through(struct pn_objreader *r, struct pn_store *st, const struct pn_manifest *m,
			uint64_t *lines)
{
	const char *line;
	size_t len;
	int rc = pn_objreader_open(r, st, m);

	*lines = 0;
	if (rc)
		return rc;
	while ((rc = pn_objreader_next(r, &line, &len)) == 1)
		(*lines)++;
	return rc;
}

static void test_objreader_checks(void)
{
	static const char content[] = "{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}\n";
	struct pn_objreader r;
	struct pn_manifest m;
	struct pn_store st;
	uint64_t lines;

	open_store(&st, archive_dir("made"));
	pn_objreader_init(&r);
	for (int fnv = 0; fnv < 2; fnv++) {
		make_object(&st, &m, content, fnv);
		CHECK_I64(read_through(&r, &st, &m, &lines), 0, "fnv %d", fnv);
		CHECK_I64(lines, 4, "fnv %d: lines, the empty one too", fnv);
		m.hash ^= 1;
		CHECK_I64(read_through(&r, &st, &m, &lines), PN_EX_DATAERR, "a wrong hash");
		CHECK(strstr(r.why, "checksum"), "why: %s", r.why);
		m.hash ^= 1;
		m.bytes++;
		CHECK_I64(read_through(&r, &st, &m, &lines), PN_EX_DATAERR, "a wrong size");
		CHECK(strstr(r.why, "bytes, the manifest says"), "why: %s", r.why);
		m.bytes--;
		m.records++;
		CHECK_I64(read_through(&r, &st, &m, &lines), PN_EX_DATAERR, "a wrong count");
		CHECK(strstr(r.why, "4 records, the manifest says 5"), "why: %s", r.why);
		pn_manifest_release(&m);
	}
	make_object(&st, &m, "{\"a\":1}\n{\"a\":2}", 0);
	CHECK_I64(read_through(&r, &st, &m, &lines), PN_EX_DATAERR, "no last newline");
	CHECK(strstr(r.why, "no newline"), "why: %s", r.why);
	pn_manifest_release(&m);
	/* the store has no such object */
	make_object(&st, &m, "{}\n", 0);
	CHECK(unlink(pn_store_path(&st, m.object)) == 0, "unlink");
	CHECK(read_through(&r, &st, &m, &lines) != 0, "a missing object");
	CHECK(!strcmp(r.why, "cannot be read"), "why: %s", r.why);
	pn_manifest_release(&m);
	pn_objreader_release(&r);
	pn_store_close(&st);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	pn_set_progname("test-manifest");
	test_manifest_round_trip();
	test_manifest_parse_errors();
	test_manifest_names();
	tmpdir = unit_tmpdir();
	test_write_catalog_read();
	test_many_frames();
	test_objreader_checks();
	unit_tmpdir_remove();
	return unit_done();
}
