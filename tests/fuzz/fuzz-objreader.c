/*
 * fuzz-objreader — reading an archive object back: the zstd frames of a
 * data object, cut into lines and checked against the manifest
 * (pn_objreader_next and _chunk), then merged by pn-archive cat (whose
 * quick look at each record's _offset and time is a JSON scanner of its
 * own) and checked by verify.
 *
 * The first byte of the input says what the rest is: bit 0 clear, the
 * object as stored (any bytes, as a damaged archive has them); set, its
 * NDJSON content, which the target compresses, so mutations reach the
 * line and record handling.  The manifest is made to match the object's
 * size and checksum (bit 1: the FNV-1a of old archives) and, for content,
 * its line count; its offsets and times come from bits 2 to 7.
 */
#include <fcntl.h>

#include <xxhash.h>
#include <zstd.h>

#include "fuzz.h"
#include "pn_archive.h"
#include "pn_objreader.h"

static const char object[] = "t+0+0000000000.ndjson.zst";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	struct pn_archive_filter all = { NULL, -1, INT64_MIN, INT64_MAX };
	struct pn_store_opts so = { NULL, NULL, 0, 0 };
	struct pn_buf obj = PN_BUF_INIT;
	struct pn_manifest m;
	struct pn_catalog c;
	struct pn_read_counts counts;
	struct pn_objreader r;
	struct pn_store st;
	struct pn_out out;
	const char *line;
	size_t len;
	int mode;

	if (size < 1)
		return 0;
	if (null_fd < 0 && (null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	mode = data[0];
	memset(&m, 0, sizeof(m));
	m.records = (uint64_t)(mode >> 2);
	if (mode & 1) {
		size_t bound = ZSTD_compressBound(size - 1), n;

		pn_buf_grow(&obj, bound);
		n = ZSTD_compress(obj.data, bound, data + 1, size - 1, 1);
		if (ZSTD_isError(n))
			abort();
		obj.len = n;
		m.records = 0;
		for (size_t i = 1; i < size; i++)
			m.records += data[i] == '\n';
	} else {
		pn_buf_add(&obj, data + 1, size - 1);
	}
	m.object = pn_strdup(object);
	m.topic = pn_strdup("t");
	m.time_field = pn_strdup("_timestamp");
	m.partition = mode & 4 ? -1 : 0;
	m.first_offset = mode & 8 ? -1 : 0;
	m.last_offset = mode & 8 ? -1 : m.records ? (int64_t)m.records - 1 : 0;
	m.min_time = mode & 16 ? -1 : 0;	/* -1: an object of records without a time */
	m.max_time = mode & 16 ? -1 : 1764028800000;
	m.bytes = obj.len;
	m.hash_fnv = mode & 2;
	m.hash = m.hash_fnv ? pn_hash64(PN_HASH64_INIT, obj.data, obj.len) :
			      XXH64(obj.data, obj.len, 0);
	fuzz_file(object, obj.data, obj.len);
	if (pn_store_open(&st, fuzz_dir(), &so))
		abort();

	pn_objreader_init(&r);
	if (pn_objreader_open(&r, &st, &m) == 0)
		while (pn_objreader_next(&r, &line, &len) == 1)
			;
	if (pn_objreader_open(&r, &st, &m) == 0)
		while (pn_objreader_chunk(&r, &line, &len) == 1)
			;
	pn_objreader_release(&r);

	memset(&c, 0, sizeof(c));
	c.m = &m;
	c.n = 1;
	pn_out_init(&out, null_fd, "/dev/null", 1 << 16);
	memset(&counts, 0, sizeof(counts));
	(void)pn_archive_cat(&st, &c, &all, mode & 32 ? PN_ARCHIVE_ORDER_OFFSET :
			     PN_ARCHIVE_ORDER_TIME, &out, &counts);
	memset(&counts, 0, sizeof(counts));
	(void)pn_archive_verify(&st, &c, &out, &counts);
	pn_out_flush(&out);
	pn_buf_release(&out.buf);

	pn_manifest_release(&m);
	pn_store_close(&st);
	pn_buf_release(&obj);
	return 0;
}
