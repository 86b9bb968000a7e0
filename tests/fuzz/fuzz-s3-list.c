/*
 * fuzz-s3-list — a page of an S3 ListObjectsV2 reply (XML, expat), as
 * pn-archive reads an archive's listing on S3: its keys (URL-encoded or
 * not), sizes and continuation token (pn_s3_list_page).
 */
#include "fuzz.h"
#include "pn_s3.h"

static int key_seen(void *ctx, const char *key, uint64_t size)
{
	size_t *n = ctx;

	(void)size;
	*n += strlen(key);
	return 0;
}

static int stop_at_first(void *ctx, const char *key, uint64_t size)
{
	(void)ctx;
	(void)key;
	(void)size;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_exact(data, size);
	struct pn_buf token = PN_BUF_INIT;
	const char *why;
	size_t n = 0;
	int rc;

	rc = pn_s3_list_page(body, size, &token, key_seen, &n, &why);
	if (rc < -1 || rc > 2 || (rc == 2 && !token.len))
		abort();
	(void)pn_s3_list_page(body, size, &token, stop_at_first, NULL, &why);
	pn_buf_release(&token);
	free(body);
	return 0;
}
