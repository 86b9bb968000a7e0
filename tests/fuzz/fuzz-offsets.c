/*
 * fuzz-offsets — a start-offsets file, what `pn-consume --start-offsets`
 * reads (pn_offsets_load_start); what it loads is written back out.
 */
#include "fuzz.h"
#include "pn_offsets.h"

static void flush_start(struct pn_part *p, void *arg)
{
	(void)arg;
	p->flushed = p->start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("start-offsets.json", data, size);
	struct pn_buf out = PN_BUF_INIT;
	struct pn_offsets t;

	pn_offsets_init(&t);
	if (pn_offsets_load_start(&t, path) == 0) {
		pn_offsets_each(&t, flush_start, NULL);
		pn_offsets_write_json(&t, &out);
	}
	pn_offsets_release(&t);
	pn_buf_release(&out);
	return 0;
}
