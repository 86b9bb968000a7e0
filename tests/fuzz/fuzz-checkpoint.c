/*
 * fuzz-checkpoint — pn-aggregate's checkpoint loader (pn_checkpoint_load, and
 * pn_checkpoint_load_offsets for --print-offsets), under the query of
 * fuzz-query.h.
 *
 * The first byte of the input says how the rest becomes the file: as it
 * is (bit 0 clear), or as the body of a checkpoint of that query (bit 0
 * set): the magic, the query's fingerprint, the body and its checksum
 * are put around it, so mutations reach the structure behind the checks.
 * A checkpoint that loads is emitted, saved, and loaded again: the second
 * save must write the same bytes as the first.
 */
#include "fuzz.h"
#include "fuzz-query.h"
#include "pn_agg.h"
#include "pn_checkpoint.h"

static const char magic[8] = { 'P', 'N', 'A', 'G', 'G', 0, 0, 2 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pn_query *q = fuzz_campaign_query();
	struct pn_buf file = PN_BUF_INIT, out = PN_BUF_INIT, a1 = PN_BUF_INIT, a2 = PN_BUF_INIT;
	struct pn_agg agg, again;
	const char *path;
	char saved[256];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		uint64_t v = pn_query_fingerprint(q);

		pn_buf_add(&file, magic, sizeof(magic));
		pn_buf_add(&file, &v, sizeof(v));
		pn_buf_add(&file, data + 1, size - 1);
		v = pn_hash64(PN_HASH64_INIT, file.data, file.len);
		pn_buf_add(&file, &v, sizeof(v));
	} else {
		pn_buf_add(&file, data + 1, size - 1);
	}
	path = fuzz_file("campaign.state", file.data, file.len);

	pn_agg_init(&agg, q);
	if (pn_checkpoint_load(&agg, path) == 1) {
		snprintf(saved, sizeof(saved), "%s", fuzz_path("saved.state"));
		while (pn_agg_dirty(&agg))
			pn_agg_emit(&agg, &out, 1 << 20);
		if (pn_checkpoint_save(&agg, saved) || pn_read_file(saved, &a1) < 0)
			abort();
		pn_agg_init(&again, q);
		if (pn_checkpoint_load(&again, saved) != 1 || pn_checkpoint_save(&again, saved) ||
		    pn_read_file(saved, &a2) < 0)
			abort();
		if (a1.len != a2.len || memcmp(a1.data, a2.data, a1.len))
			abort();	/* a saved checkpoint loads as something else */
		pn_agg_expire(&agg, &out);
		pn_agg_release(&again);
	}
	pn_agg_release(&agg);
	pn_buf_reset(&out);
	(void)pn_checkpoint_print_offsets(path, &out);
	pn_buf_release(&file);
	pn_buf_release(&out);
	pn_buf_release(&a1);
	pn_buf_release(&a2);
	return 0;
}
