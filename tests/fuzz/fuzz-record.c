/*
 * fuzz-record — the record reader: NDJSON lines, each parsed and taken
 * apart the ways the programs do: a Kafka message built from it (pn-produce), its position
 * and time (pn-consume's bookkeeping, pn-archive), and its fields applied
 * to the campaign query of fuzz-query.h (pn-aggregate), whose changelog is
 * then emitted.  (pn_reader itself only cuts lines; reading through it,
 * with its 1 MB buffer, ran at a twentieth of the speed.)
 */
#include "fuzz.h"
#include "fuzz-query.h"
#include "pn_agg.h"
#include "pn_archive.h"
#include "pn_json.h"
#include "pn_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "_topic", "_partition", "_offset" };
	static const size_t lens[] = { 6, 10, 7 };
	const char *p = (const char *)data, *end = p + size;
	struct pn_buf topic = PN_BUF_INIT, scratch = PN_BUF_INIT, out = PN_BUF_INIT;
	struct pn_json j;
	struct pn_msg m;
	struct pn_agg agg;

	pn_json_init(&j);
	pn_msg_init(&m);
	pn_agg_init(&agg, fuzz_campaign_query());
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = fuzz_exact(p, len);
		const char *why;
		int val[3];
		int32_t partition;
		int64_t offset, ms;

		p += len + 1;
		if (pn_json_parse(&j, line, len) || !pn_json_is_object(&j, 0)) {
			free(line);
			continue;
		}
		if (pn_record_to_msg(&j, NULL, &m, &why) == 0)
			pn_msg_add_header(&m, "h", 1, "v", 1);
		(void)pn_record_to_msg(&j, "source_id", &m, &why);
		(void)pn_json_members(&j, names, lens, 3, val);
		(void)pn_record_position(&j, val[0], val[1], val[2], &topic, &partition, &offset,
					 &why);
		(void)pn_archive_record_time(&j, "delivered_time", &scratch, &ms, &why);
		if (pn_agg_apply(&agg, &j, &why))
			pn_agg_pass(&agg, &j);
		free(line);
	}
	while (pn_agg_dirty(&agg))
		pn_agg_emit(&agg, &out, 1 << 20);
	pn_agg_expire(&agg, &out);
	/* the changelog is NDJSON again: every row an object */
	for (size_t at = 0; at < out.len;) {
		char *nl = memchr(out.data + at, '\n', out.len - at);

		if (!nl || pn_json_parse(&j, out.data + at, (size_t)(nl - out.data - at)) ||
		    !pn_json_is_object(&j, 0))
			abort();
		at = (size_t)(nl - out.data) + 1;
	}
	pn_agg_release(&agg);
	pn_msg_release(&m);
	pn_json_release(&j);
	pn_buf_release(&topic);
	pn_buf_release(&scratch);
	pn_buf_release(&out);
	return 0;
}
