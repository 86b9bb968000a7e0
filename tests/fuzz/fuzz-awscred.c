/*
 * fuzz-awscred — what pn reads to find S3 credentials: the shared files
 * ~/.aws/credentials and ~/.aws/config (INI, pn_ini_get) and the JSON
 * answer of a container credentials endpoint or of the instance metadata
 * service (pn_awscred_parse).  The same bytes go to both.
 */
#include "fuzz.h"
#include "pn_awscred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sections[] = { "default", "profile default", "prod", "" };
	static const char *const keys[] = { "aws_access_key_id", "region", "s3", "" };
	char *text = fuzz_exact(data, size);
	struct pn_buf val = PN_BUF_INIT;
	struct pn_awscred c = { 0 };
	const char *why = NULL;

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		int rc = pn_ini_get(text, size, sections[i], keys[i], &val);

		if (rc < -1 || rc > 1 || (rc == 1 && val.len > size))
			abort();
	}
	if (pn_awscred_parse(text, size, &c, &why) ? !why : !c.access_key || !c.secret_key)
		abort();
	pn_awscred_release(&c);
	pn_buf_release(&val);
	free(text);
	return 0;
}
