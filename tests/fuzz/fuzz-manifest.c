/*
 * fuzz-manifest — an archive's manifest, as pn-archive cat, ls, verify and
 * offsets read it: the input is the manifest of one data object in a
 * directory archive; the catalog is loaded (all of it, then filtered),
 * where a writer resumes is computed, and the archive verified.
 */
#include <fcntl.h>

#include "fuzz.h"
#include "pn_archive.h"

static const char object[] = "t+0+0000000000.ndjson.zst";
static const char manifest[] = "_t+0+0000000000.manifest.json";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	struct pn_archive_filter all = { NULL, -1, INT64_MIN, INT64_MAX };
	struct pn_archive_filter some = { "t", 0, 0, 1764028800000 };
	struct pn_store_opts so = { NULL, NULL, 0, 0 };
	struct pn_read_counts counts;
	struct pn_buf offsets = PN_BUF_INIT;
	struct pn_catalog c;
	struct pn_store st;
	struct pn_out out;

	if (null_fd < 0 && (null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	fuzz_file(object, "", 0);
	fuzz_file(manifest, data, size);
	if (pn_store_open(&st, fuzz_dir(), &so))
		abort();
	pn_out_init(&out, null_fd, "/dev/null", 1 << 16);
	if (pn_catalog_load(&st, &all, &c) == 0) {
		pn_catalog_offsets(&c, &offsets);
		memset(&counts, 0, sizeof(counts));
		(void)pn_archive_verify(&st, &c, &out, &counts);
	}
	pn_catalog_release(&c);
	if (pn_catalog_load(&st, &some, &c) == 0)
		pn_catalog_offsets(&c, &offsets);
	pn_catalog_release(&c);
	pn_out_flush(&out);
	pn_buf_release(&out.buf);
	pn_buf_release(&offsets);
	pn_store_close(&st);
	return 0;
}
