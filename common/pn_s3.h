/*
 * pn_s3 — a small S3 client: PUT, GET, ListObjectsV2 and multipart upload
 * over libcurl, signed with libcurl's built-in AWS SigV4.
 *
 * Settings follow the AWS conventions: credentials where the AWS SDKs
 * find them (pn_awscred: the environment, the shared files, a container
 * endpoint, the instance metadata service), fetched again before
 * temporary ones expire; AWS_REGION (or AWS_DEFAULT_REGION, the profile's
 * region, else us-east-1) and the endpoint override AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL; an explicit endpoint given to pn_s3_init() wins.  With an endpoint override the bucket goes in the
 * path (path-style addressing, what S3-compatible stores expect); on AWS
 * it goes in the host name.
 *
 * Payloads are sent as UNSIGNED-PAYLOAD (the x-amz-content-sha256 header,
 * which SigV4 signs); integrity is the archive's own checksum.  Query
 * strings are built already sorted and encoded, so they are their own
 * canonical form.  Requests that fail for a reason worth another try (no
 * connection, a timeout, HTTP 5xx, 429) are retried with exponential
 * backoff; every failure leaves a message in s->err and returns the exit
 * status it means: 78 for credentials, a missing bucket and other refusals,
 * 69 when the service stays unreachable, 65 for a missing key.
 * XML replies are parsed with expat.
 */
#ifndef PN_S3_H
#define PN_S3_H

#include <stddef.h>
#include <stdint.h>

#include "pn_awscred.h"
#include "pn_buf.h"

struct pn_s3 {
	char *endpoint;		/* scheme://host[:port], no trailing slash */
	char *region;
	char *bucket;
	struct pn_awscred cred;
	int path_style;
	int retries;		/* further attempts after the first */
	void *curl;		/* CURL *, reused so connections stay open */
	struct pn_buf err;	/* the message of the last failure */
	struct pn_buf url, body, hdr; /* scratch */
	long status;		/* HTTP status of the last request */
	int expired_token;	/* and S3 said its credentials had expired */
};

/* Fills s from the environment; endpoint/region may be NULL.  0, or an
 * exit status with s->err set (78: no credentials, see pn_awscred). */
int pn_s3_init(struct pn_s3 *s, const char *bucket, const char *endpoint,
	       const char *region, int retries);
void pn_s3_release(struct pn_s3 *s);

/* One PUT of len bytes, ctype its Content-Type. */
int pn_s3_put(struct pn_s3 *s, const char *key, const void *data, size_t len,
	      const char *ctype);
/* GET into out (replacing its content). */
int pn_s3_get(struct pn_s3 *s, const char *key, struct pn_buf *out);
/* Every key under prefix, page after page; fn returns non-zero to stop. */
int pn_s3_list(struct pn_s3 *s, const char *prefix,
	       int (*fn)(void *ctx, const char *key, uint64_t size), void *ctx);

/*
 * One page of a ListObjectsV2 reply (body, len bytes), as pn_s3_list reads
 * it: hands its keys to fn and, when the listing goes on, puts the
 * continuation token in `token`.  0 the last page, 1 fn asked to stop,
 * 2 more pages; -1 with *why when the reply is not a listing as asked.
 */
int pn_s3_list_page(const char *body, size_t len, struct pn_buf *token,
		    int (*fn)(void *ctx, const char *key, uint64_t size), void *ctx,
		    const char **why);

/* One listing request of at most one key: can we reach the bucket? */
int pn_s3_probe(struct pn_s3 *s, const char *prefix);

/* Multipart upload: start, parts 1..n in order, complete (or abort). */
struct pn_s3_upload {
	char *key;
	char *id;
	struct pn_buf etags;	/* NUL-separated ETags of parts 1..n */
	int parts;
};
int pn_s3_upload_start(struct pn_s3 *s, struct pn_s3_upload *u, const char *key,
		       const char *ctype);
int pn_s3_upload_part(struct pn_s3 *s, struct pn_s3_upload *u, const void *data, size_t len);
int pn_s3_upload_complete(struct pn_s3 *s, struct pn_s3_upload *u);
/* Best effort; releases u either way. */
void pn_s3_upload_abort(struct pn_s3 *s, struct pn_s3_upload *u);

#endif
