/*
 * fuzz-json — pn_json, the strict in-place tokenizer every filter reads
 * records with, and its token helpers.
 *
 * The input is up to three texts separated by '\n'; one parser reads them
 * in turn and the first again, so a text shaped like the one before goes
 * through the skeleton path (only its values scanned).  Both paths must
 * give the same tokens, so each text is parsed again by a fresh parser
 * and the answers compared.  A text that parses has its strings decoded,
 * its numbers converted and its members looked up; every text, valid or
 * not, is written back with pn_json_add_string, which must give valid JSON.
 */
#include "fuzz.h"
#include "pn_json.h"

static void check_same(const struct pn_json *a, int ra, const struct pn_json *b, int rb)
{
	if (ra != rb)
		abort();	/* the skeleton path and a fresh parse disagree */
	if (ra)
		return;
	if (a->ntok != b->ntok)
		abort();
	for (int i = 0; i < a->ntok; i++)
		if (a->tok[i].type != b->tok[i].type || a->tok[i].start != b->tok[i].start ||
		    a->tok[i].end != b->tok[i].end || a->tok[i].size != b->tok[i].size ||
		    a->tok[i].parent != b->tok[i].parent)
			abort();
}

static void use_tokens(const struct pn_json *j, struct pn_buf *tmp)
{
	static const char *const names[] = { "source", "source_id", "_topic", "a\\u0041" };
	static const size_t lens[] = { 6, 9, 6, 7 };
	int val[4];
	size_t n;

	for (int i = 0; i < j->ntok; i++) {
		const struct pn_tok *t = &j->tok[i];
		const char *raw = pn_json_raw(j, i, &n);
		int64_t v;

		if (pn_json_skip(j, i) <= i || pn_json_skip(j, i) > j->ntok)
			abort();
		if (t->type == PN_JSON_STRING) {
			pn_buf_reset(tmp);
			pn_json_unescape(j->text + t->start, (size_t)(t->end - t->start), tmp);
			/* lookups compare names decoded as pn_json_unescape does */
			if (!pn_json_tok_eq(j, i, tmp->len ? tmp->data : "", tmp->len))
				abort();
		} else if (t->type == PN_JSON_PRIMITIVE) {
			(void)pn_json_int64(raw, n, &v);
		}
	}
	if (pn_json_is_object(j, 0)) {
		struct pn_json_memo memo = { 0, 0 };

		(void)pn_json_get(j, 0, "source", 6);
		(void)pn_json_members(j, names, lens, 4, val);
		(void)pn_json_members_memo(j, names, lens, 4, val, &memo);
		(void)pn_json_members_memo(j, names, lens, 4, val, &memo);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct pn_json j, fresh;
	struct pn_buf tmp = PN_BUF_INIT, out = PN_BUF_INIT;
	char *text[4];
	size_t len[4];
	int n = 0;

	while (n < 3) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		text[n] = fuzz_exact(p, l);
		len[n++] = l;
		if (!nl)
			break;
		p = nl + 1;
	}
	text[n] = fuzz_exact(text[0], len[0]);
	len[n++] = len[0];

	pn_json_init(&j);
	for (int i = 0; i < n; i++) {
		int r = pn_json_parse(&j, text[i], len[i]), rf;

		pn_json_init(&fresh);
		rf = pn_json_parse(&fresh, text[i], len[i]);
		check_same(&j, r, &fresh, rf);
		pn_json_release(&fresh);
		if (r == 0)
			use_tokens(&j, &tmp);
		else if (!j.why || j.at > len[i])
			abort();

		/* what the writer makes of any bytes is valid JSON */
		pn_buf_reset(&out);
		pn_json_add_string(&out, text[i], len[i]);
		pn_json_init(&fresh);
		if (pn_json_parse(&fresh, out.data, out.len) || fresh.tok[0].type != PN_JSON_STRING)
			abort();
		pn_json_release(&fresh);
	}
	pn_json_release(&j);
	for (int i = 0; i < n; i++)
		free(text[i]);
	pn_buf_release(&tmp);
	pn_buf_release(&out);
	return 0;
}
