/* Unit tests for common/pn_awscred.h that need no network: the INI reading
 * of the shared files, the chain over the environment and the files, the
 * credentials answer of the metadata services, the refresh time. */
#include <stdio.h>
#include <stdlib.h>

#include "pn_awscred.h"
#include "pn_err.h"
#include "unit.h"

static void test_ini(void)
{
	static const char text[] =
		"# a comment\n"
		"; another\n"
		"[default]\n"
		"  aws_access_key_id = AKDEF\n"
		"aws_secret_access_key=SKDEF   \r\n"
		"\n"
		"[ prod ]   # the production account\n"
		"AWS_Access_Key_ID\t=\tAKPROD ; inline comment\n"
		"aws_secret_access_key = sk#with;hash\n"
		"s3 =\n"
		"  region = not-a-key\n"
		"  aws_session_token = not-a-key-either\n"
		"region = eu-west-1 # Ireland\n"
		"[profile   dev]\n"
		"region=us-west-2\n"
		"[Prod]\n"
		"aws_access_key_id = AKCASE\n"
		"[prod]\n"
		"aws_session_token = TOKPROD\n"
		"aws_access_key_id = AKPROD2\n"
		"[empty]\n"
		"[broken\n"
		"aws_access_key_id = AKBROKEN\n"
		"[junk] after\n"
		"aws_access_key_id = AKJUNK\n"
		"[last]\n"
		"key =";
	static const struct {
		const char *section, *key;
		int want;
		const char *val;
	} cases[] = {
		{ "default", "aws_access_key_id", 1, "AKDEF" },
		{ "default", "aws_secret_access_key", 1, "SKDEF" },
		{ "default", "aws_session_token", 0, NULL },
		/* the last of keys given twice, sections merged */
		{ "prod", "aws_access_key_id", 1, "AKPROD2" },
		{ "prod", "aws_secret_access_key", 1, "sk#with;hash" },
		{ "prod", "aws_session_token", 1, "TOKPROD" },
		/* indented lines after "s3 =" are its sub-properties */
		{ "prod", "region", 1, "eu-west-1" },
		{ "prod", "s3", 1, "" },
		{ "Prod", "aws_access_key_id", 1, "AKCASE" },
		{ "profile dev", "region", 1, "us-west-2" },
		{ "dev", "region", -1, NULL },
		{ "empty", "region", 0, NULL },
		{ "nowhere", "region", -1, NULL },
		{ "broken", "aws_access_key_id", -1, NULL },
		{ "junk", "aws_access_key_id", -1, NULL },
		{ "last", "key", 1, "" },
	};
	struct pn_buf val = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *t = unit_exact(text, sizeof(text) - 1);
		int rc;

		pn_buf_reset(&val);
		rc = pn_ini_get(t, sizeof(text) - 1, cases[i].section, cases[i].key, &val);
		CHECK_I64(rc, cases[i].want, "[%s] %s", cases[i].section, cases[i].key);
		if (rc == 1)
			CHECK_MEM(val.data, val.len, cases[i].val, strlen(cases[i].val),
				  "[%s] %s", cases[i].section, cases[i].key);
		free(t);
	}
	CHECK_I64(pn_ini_get("", 0, "default", "x", &val), -1, "an empty file");
	pn_buf_release(&val);
}

static void test_parse(void)
{
	static const struct {
		const char *json;
		int want;
		const char *key, *secret, *token;
		int64_t expires_ms;
	} cases[] = {
		{ "{\"Code\":\"Success\",\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"S\\/K\","
		  "\"Token\":\"TOK\",\"Expiration\":\"2026-12-06T04:00:00Z\"}", 0, "AK", "S/K", "TOK",
		  1796529600000 },
		/* a container endpoint: no Code; one without Expiration lasts */
		{ "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"RoleArn\":\"x\"}", 0,
		  "AK", "SK", NULL, 0 },
		{ "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"AccessKeyId\":\"AK\"}", -1,
		  "Code", NULL, NULL, 0 },
		{ "{\"AccessKeyId\":\"AK\"}", -1, "SecretAccessKey", NULL, NULL, 0 },
		{ "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"SK\"}", -1, "AccessKeyId", NULL, NULL,
		  0 },
		{ "{\"AccessKeyId\":1,\"SecretAccessKey\":\"SK\"}", -1, "AccessKeyId", NULL, NULL, 0 },
		{ "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"soon\"}", -1,
		  "Expiration", NULL, NULL, 0 },
		{ "[\"AK\"]", -1, "JSON object", NULL, NULL, 0 },
		{ "{\"AccessKeyId\":\"AK\",", -1, "JSON object", NULL, NULL, 0 },
		{ "", -1, "JSON object", NULL, NULL, 0 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_awscred c = { 0 };
		size_t n = strlen(cases[i].json);
		char *t = unit_exact(cases[i].json, n);
		const char *why = NULL;
		int rc = pn_awscred_parse(t, n, &c, &why);

		CHECK_I64(rc, cases[i].want, "case %zu", i);
		if (!rc) {
			CHECK(!strcmp(c.access_key, cases[i].key), "case %zu: %s", i, c.access_key);
			CHECK(!strcmp(c.secret_key, cases[i].secret), "case %zu: %s", i, c.secret_key);
			CHECK(cases[i].token ? c.token && !strcmp(c.token, cases[i].token) : !c.token,
			      "case %zu: token %s", i, c.token ? c.token : "none");
			CHECK_I64(c.expires_ms, cases[i].expires_ms, "case %zu", i);
		} else {
			CHECK(why && strstr(why, cases[i].key), "case %zu: %s", i, why ? why : "none");
		}
		pn_awscred_release(&c);
		free(t);
	}
}

static void test_refresh_at(void)
{
	const int64_t min = 60 * 1000, now = 1796529600000;

	/* an hour's credentials: 5 minutes before */
	CHECK_I64(pn_awscred_refresh_at(now, now + 60 * min), now + 55 * min, "1 h");
	CHECK_I64(pn_awscred_refresh_at(now, now + 10 * min), now + 5 * min, "10 min");
	/* short ones: at half their life */
	CHECK_I64(pn_awscred_refresh_at(now, now + 4 * min), now + 2 * min, "4 min");
	CHECK_I64(pn_awscred_refresh_at(now, now + 4000), now + 2000, "4 s");
	/* already expired (a skewed clock): at once */
	CHECK_I64(pn_awscred_refresh_at(now, now - 1000), now - 1000, "expired");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL, "cannot write %s", path);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The chain as far as the files: the metadata service is disabled. */
static void test_chain(void)
{
	static const char credentials[] =
		"[default]\naws_access_key_id = AKFILE\naws_secret_access_key = SKFILE\n"
		"[both]\naws_access_key_id = AKBOTH\naws_secret_access_key = SKBOTH\n"
		"[halfway]\naws_access_key_id = AKHALF\n";
	static const char config[] =
		"[default]\nregion = eu-north-1\n"
		"[profile both]\naws_access_key_id = AKCONF\naws_session_token = TOKCONF\n"
		"region = ap-south-1\n"
		"[profile conf-only]\naws_access_key_id = AKCONF\naws_secret_access_key = SKCONF\n"
		"[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n";
	static const struct {
		const char *env_key, *profile;
		int want;
		const char *key, *token, *region, *err;
	} cases[] = {
		{ "AKENV", NULL, 0, "AKENV", NULL, "eu-north-1", NULL },
		{ NULL, NULL, 0, "AKFILE", NULL, "eu-north-1", NULL },
		/* the credentials file wins key by key */
		{ NULL, "both", 0, "AKBOTH", "TOKCONF", "ap-south-1", NULL },
		{ NULL, "conf-only", 0, "AKCONF", NULL, NULL, NULL },
		{ NULL, "missing", PN_EX_CONFIG, NULL, NULL, NULL,
		  "AWS_PROFILE names profile 'missing', which is neither in '" },
		{ NULL, "role", PN_EX_CONFIG, NULL, NULL, NULL, "has no aws_access_key_id" },
		{ NULL, "halfway", PN_EX_CONFIG, NULL, NULL, NULL, "but no aws_secret_access_key" },
	};
	struct pn_buf cpath = PN_BUF_INIT, fpath = PN_BUF_INIT;

	pn_buf_addf(&cpath, "%s/credentials", unit_tmpdir());
	pn_buf_addf(&fpath, "%s/config", unit_tmpdir());
	write_file(cpath.data, credentials);
	write_file(fpath.data, config);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cpath.data, 1);
	setenv("AWS_CONFIG_FILE", fpath.data, 1);
	pn_buf_release(&cpath);
	pn_buf_release(&fpath);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct pn_awscred c;
		struct pn_buf err = PN_BUF_INIT;
		char *region;
		int rc;

		if (cases[i].env_key) {
			setenv("AWS_ACCESS_KEY_ID", cases[i].env_key, 1);
			setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
		} else {
			unsetenv("AWS_ACCESS_KEY_ID");
			unsetenv("AWS_SECRET_ACCESS_KEY");
		}
		if (cases[i].profile)
			setenv("AWS_PROFILE", cases[i].profile, 1);
		else
			unsetenv("AWS_PROFILE");
		rc = pn_awscred_find(&c, &err);
		CHECK_I64(rc, cases[i].want, "case %zu: %s", i, err.data ? err.data : "");
		if (!rc) {
			CHECK(!strcmp(c.access_key, cases[i].key), "case %zu: %s", i, c.access_key);
			CHECK(cases[i].token ? c.token && !strcmp(c.token, cases[i].token) : !c.token,
			      "case %zu: token %s", i, c.token ? c.token : "none");
			CHECK(!c.refresh_ms, "case %zu: long-term credentials refreshed", i);
		} else {
			CHECK(err.data && strstr(err.data, cases[i].err), "case %zu: %s", i,
			      err.data ? err.data : "no message");
		}
		region = pn_awscred_region();
		CHECK(cases[i].region ? region && !strcmp(region, cases[i].region) : !region,
		      "case %zu: region %s", i, region ? region : "none");
		free(region);
		pn_awscred_release(&c);
		pn_buf_release(&err);
	}
	/* no source at all: every one named in the message */
	unsetenv("AWS_PROFILE");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	{
		struct pn_awscred c;
		struct pn_buf err = PN_BUF_INIT;

		CHECK_I64(pn_awscred_find(&c, &err), PN_EX_CONFIG, "no source");
		CHECK(err.data && strstr(err.data, "no S3 credentials found: tried environment (") &&
		      strstr(err.data, "shared files (no profile 'default' in "
			     "'/nonexistent/credentials' or '/nonexistent/config')") &&
		      strstr(err.data, "container endpoint (") &&
		      strstr(err.data, "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"),
		      "%s", err.data ? err.data : "no message");
		pn_buf_release(&err);
	}
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_ini();
	test_parse();
	test_refresh_at();
	test_chain();
	unit_tmpdir_remove();
	return unit_done();
}
