/* Unit tests for common/pn_s3.h that need no S3: a page of a listing
 * (pn_s3_list_page), its keys, sizes, URL-decoding and truncation. */
#include "pn_s3.h"
#include "unit.h"

struct seen {
	struct pn_buf keys;	/* "size key\n" per key */
	int stop_after;		/* 0: never */
	int n;
};

static int take_key(void *ctx, const char *key, uint64_t size)
{
	struct seen *s = ctx;

	pn_buf_addf(&s->keys, "%llu %s\n", (unsigned long long)size, key);
	return ++s->n == s->stop_after;
}

static void test_list_page(void)
{
	static const struct {
		const char *xml;
		int stop_after, want;
		const char *keys, *token, *why;
	} cases[] = {
		/* fuzz-s3-list: no Contents at all (UBSan: NULL + 0) */
		{ "<ListBucketResult/>", 0, 0, "", "", NULL },
		{ "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>", 0, 0,
		  "", "", NULL },
		{ "<ListBucketResult><EncodingType>url</EncodingType>"
		  "<IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken>"
		  "<Contents><Key>a%2Bb+c</Key><Size>12</Size></Contents>"
		  "<Contents><Key>d</Key><Size>3</Size></Contents></ListBucketResult>",
		  0, 2, "12 a+b c\n3 d\n", "tok", NULL },
		{ "<ListBucketResult><Contents><Key>a%2Bb+c</Key><Size>1</Size></Contents>"
		  "</ListBucketResult>", 0, 0, "1 a%2Bb+c\n", "", NULL },
		{ "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>"
		  "<Contents><Key>b</Key><Size>2</Size></Contents></ListBucketResult>",
		  1, 1, "1 a\n", "", NULL },
		{ "<ListBucketResult><EncodingType>url</EncodingType>"
		  "<Contents><Key>a%00</Key></Contents></ListBucketResult>", 0, -1, "", "",
		  "URL-encoded" },
		{ "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", 0, -1,
		  "", "", "continuation token" },
		{ "<ListBucketResult>", 0, -1, "", "", "not well-formed" },
		{ "", 0, -1, "", "", "not well-formed" },
	};
	struct pn_buf token = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct seen s = { PN_BUF_INIT, cases[i].stop_after, 0 };
		size_t n = strlen(cases[i].xml);
		char *xml = unit_exact(cases[i].xml, n);
		const char *why = NULL;
		int rc = pn_s3_list_page(n ? xml : NULL, n, &token, take_key, &s, &why);

		CHECK_I64(rc, cases[i].want, "case %zu", i);
		if (rc >= 0) {
			CHECK_MEM(s.keys.data, s.keys.len, cases[i].keys, strlen(cases[i].keys),
				  "keys of case %zu", i);
			CHECK_MEM(token.data, token.len, cases[i].token, strlen(cases[i].token),
				  "token of case %zu", i);
		} else {
			CHECK(why && strstr(why, cases[i].why), "case %zu: %s", i,
			      why ? why : "no reason");
		}
		pn_buf_release(&s.keys);
		free(xml);
	}
	pn_buf_release(&token);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_list_page();
	return unit_done();
}
