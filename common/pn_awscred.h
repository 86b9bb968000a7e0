/*
 * pn_awscred — AWS credentials, found where the AWS SDKs and the aws CLI
 * look for them (their default credential chain), in the same order:
 *
 *   1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 *      AWS_SESSION_TOKEN;
 *   2. the shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials)
 *      and AWS_CONFIG_FILE (~/.aws/config), the profile AWS_PROFILE or
 *      "default" ([NAME] in the first, [profile NAME] in the second; the
 *      credentials file wins key by key);
 *   3. a container's credentials endpoint (ECS, EKS Pod Identity):
 *      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (under http://169.254.170.2)
 *      or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN as Authorization;
 *   4. the EC2 instance metadata service, IMDSv2 only (a session token
 *      first), at AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254,
 *      unless AWS_EC2_METADATA_DISABLED=true.
 *
 * The first source that holds credentials gives them.  A source that is
 * configured but broken stops the search instead of passing over to the
 * next (a profile named in AWS_PROFILE that is not there, a container
 * endpoint that refuses): falling through to another identity would hide
 * the mistake behind a permission error.  Only the instance metadata
 * service is simply tried, with short timeouts (1 s to connect, 3 s in
 * all), since most machines that are not on EC2 have none.
 *
 * Credentials from 3 and 4 expire.  pn_awscred_fresh() fetches them again
 * from the same source a few minutes before they do (half their lifetime
 * before, for short ones), so that a long-running writer never signs a
 * request with expired credentials; a failed refresh keeps the ones it has
 * while they last and tries again 10 s later.
 *
 * Nothing here is thread-safe: one pn_awscred per S3 client.
 */
#ifndef PN_AWSCRED_H
#define PN_AWSCRED_H

#include <stddef.h>
#include <stdint.h>

#include "pn_buf.h"

enum pn_awscred_source {
	PN_AWSCRED_NONE = 0,
	PN_AWSCRED_ENV,
	PN_AWSCRED_FILES,
	PN_AWSCRED_CONTAINER,
	PN_AWSCRED_IMDS,
};

struct pn_awscred {
	char *access_key, *secret_key;
	char *token;			/* NULL: long-term credentials */
	enum pn_awscred_source source;
	int64_t expires_ms;		/* epoch ms; 0: they do not expire */
	int64_t refresh_ms;		/* epoch ms to fetch them again; 0: never */
	char *origin;			/* the file or URL they came from, for messages */
};

/* The chain above.  0 with c filled, or an exit status with err set: 78
 * when no source has credentials or one is misconfigured, 69 when a
 * configured container endpoint cannot be reached. */
int pn_awscred_find(struct pn_awscred *c, struct pn_buf *err);

/* Fetches temporary credentials again once their refresh time has come.
 * 0 (c may hold new credentials), or an exit status with err set when
 * they have expired and cannot be fetched again. */
int pn_awscred_fresh(struct pn_awscred *c, struct pn_buf *err);

/* Fetches temporary credentials again now, whatever their expiry says:
 * for a service that has called them expired (a clock ahead of ours, a
 * revoked session).  0 with new credentials; -1 when they are not
 * temporary; else an exit status with err set and c unchanged. */
int pn_awscred_renew(struct pn_awscred *c, struct pn_buf *err);

void pn_awscred_release(struct pn_awscred *c);

/* "environment", "shared files", "container endpoint", "instance metadata". */
const char *pn_awscred_source_name(enum pn_awscred_source s);

/* The region as the SDKs find it: AWS_REGION, AWS_DEFAULT_REGION, else the
 * profile's `region` in the config file; malloc'ed, or NULL. */
char *pn_awscred_region(void);

/*
 * The pieces, for the unit tests.
 *
 * pn_ini_get: the value of `key` in section `section` of an INI text as
 * the SDKs read the shared files: # and ; start comment lines, and a
 * comment after a value when whitespace comes before them; keys compare
 * without case, section names with it; whitespace around names, keys and
 * values does not count, nor does a CR before the LF; an indented line
 * after a property continues it (a sub-property, not a key); the last of
 * keys or sections given twice wins.  "[profile   NAME]" is the section
 * "profile NAME".  1 with val set, 0 the section is there but not the key,
 * -1 no such section.
 */
int pn_ini_get(const char *text, size_t len, const char *section, const char *key,
	       struct pn_buf *val);

/* A credentials answer of a container endpoint or of the instance metadata
 * service (JSON: AccessKeyId, SecretAccessKey, Token, Expiration, and Code
 * when it is not "Success"), into c.  0, or -1 with *why set. */
int pn_awscred_parse(const char *text, size_t len, struct pn_awscred *c, const char **why);

/* When to fetch credentials that expire at expires_ms again, as fetched at
 * now_ms: 5 minutes before, or half their remaining life before if that is
 * shorter. */
int64_t pn_awscred_refresh_at(int64_t now_ms, int64_t expires_ms);

#endif
