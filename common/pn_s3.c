#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <expat.h>

#include "pn_clock.h"
#include "pn_err.h"
#include "pn_s3.h"
#include "pn_signal.h"

enum { BACKOFF_FIRST_MS = 200, BACKOFF_MAX_MS = 5000 };

static const char *env_first(const char *a, const char *b)
{
	const char *v = getenv(a);

	if ((!v || !*v) && b)
		v = getenv(b);
	return v && *v ? v : NULL;
}

int pn_s3_init(struct pn_s3 *s, const char *bucket, const char *endpoint,
	       const char *region, int retries)
{
	char *found_region = region ? NULL : pn_awscred_region();
	size_t n;
	int rc;

	memset(s, 0, sizeof(*s));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->curl = curl_easy_init();
	if (!s->curl) {
		free(found_region);
		pn_buf_addf(&s->err, "cannot start libcurl");
		return PN_EX_FAILED;
	}
	s->retries = retries;
	s->bucket = pn_strdup(bucket);
	s->region = found_region ? found_region : pn_strdup(region ? region : "us-east-1");
	if (!endpoint)
		endpoint = env_first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
	if (endpoint) {
		s->endpoint = pn_strdup(endpoint);
		s->path_style = 1;
	} else {
		struct pn_buf b = PN_BUF_INIT;

		pn_buf_addf(&b, "https://s3.%s.amazonaws.com", s->region);
		s->endpoint = pn_buf_detach(&b, NULL);
	}
	n = strlen(s->endpoint);
	while (n > 0 && s->endpoint[n - 1] == '/')
		s->endpoint[--n] = '\0';
	if (strncmp(s->endpoint, "http://", 7) && strncmp(s->endpoint, "https://", 8)) {
		char *shown = pn_url_redact(s->endpoint);

		pn_buf_addf(&s->err, "bad S3 endpoint '%s': not an http:// or https:// URL", shown);
		free(shown);
		return PN_EX_CONFIG;
	}
	if ((rc = pn_awscred_find(&s->cred, &s->err)))
		return rc;
	if (pn_verbosity >= 2) {
		/* a URL from the environment may carry a password */
		char *shown = strstr(s->cred.origin, "://") ? pn_url_redact(s->cred.origin) :
			      pn_strdup(s->cred.origin);

		pn_info("S3 credentials from the %s (%s)",
			pn_awscred_source_name(s->cred.source), shown);
		free(shown);
	}
	return 0;
}

void pn_s3_release(struct pn_s3 *s)
{
	if (s->curl) {
		curl_easy_cleanup(s->curl);
		curl_global_cleanup();
	}
	free(s->endpoint);
	free(s->region);
	free(s->bucket);
	pn_awscred_release(&s->cred);
	pn_buf_release(&s->err);
	pn_buf_release(&s->url);
	pn_buf_release(&s->body);
	pn_buf_release(&s->hdr);
	memset(s, 0, sizeof(*s));
}

/* RFC 3986 percent-encoding as SigV4 wants it; '/' kept when keep_slash. */
static void add_encoded(struct pn_buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash)) {
			pn_buf_addc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			pn_buf_add(b, e, 3);
		}
	}
}

static void build_url(struct pn_s3 *s, const char *key, const char *query)
{
	pn_buf_reset(&s->url);
	if (s->path_style) {
		pn_buf_addf(&s->url, "%s/", s->endpoint);
		add_encoded(&s->url, s->bucket, 0);
	} else {
		const char *host = strstr(s->endpoint, "://") + 3;

		pn_buf_add(&s->url, s->endpoint, host - s->endpoint);
		pn_buf_addf(&s->url, "%s.%s", s->bucket, host);
	}
	pn_buf_addc(&s->url, '/');
	if (key)
		add_encoded(&s->url, key, 1);
	if (query)
		pn_buf_addf(&s->url, "?%s", query);
}

/* The elements of an XML reply, leaf by leaf: fn(name, text). */
struct xml_walk {
	struct pn_buf text;
	int (*fn)(void *ctx, const char *name, const char *text);
	void *ctx;
	int stop;
};

static void XMLCALL xml_start(void *ud, const XML_Char *name, const XML_Char **attr)
{
	struct xml_walk *w = ud;

	(void)name;
	(void)attr;
	pn_buf_reset(&w->text);
}

static void XMLCALL xml_end(void *ud, const XML_Char *name)
{
	struct xml_walk *w = ud;

	if (!w->stop && w->fn(w->ctx, name, w->text.cap ? w->text.data : ""))
		w->stop = 1;
	pn_buf_reset(&w->text);
}

static void XMLCALL xml_chars(void *ud, const XML_Char *s, int len)
{
	struct xml_walk *w = ud;

	pn_buf_add(&w->text, s, len);
}

/* 0, or -1 when the text is not well-formed XML. */
static int xml_parse(const char *text, size_t len,
		     int (*fn)(void *ctx, const char *name, const char *text), void *ctx)
{
	struct xml_walk w = { PN_BUF_INIT, fn, ctx, 0 };
	XML_Parser p = XML_ParserCreate("UTF-8");
	int ok;

	if (!p)
		pn_die(PN_EX_FAILED, "out of memory starting the XML parser");
	XML_SetUserData(p, &w);
	XML_SetElementHandler(p, xml_start, xml_end);
	XML_SetCharacterDataHandler(p, xml_chars);
	ok = XML_Parse(p, text, (int)len, 1) == XML_STATUS_OK;
	XML_ParserFree(p);
	pn_buf_release(&w.text);
	return ok ? 0 : -1;
}

struct xml_error {
	struct pn_buf code, message;
};

static int error_fields(void *ctx, const char *name, const char *text)
{
	struct xml_error *e = ctx;

	if (!strcmp(name, "Code") && !e->code.len)
		pn_buf_adds(&e->code, text);
	else if (!strcmp(name, "Message") && !e->message.len)
		pn_buf_adds(&e->message, text);
	return 0;
}

struct upload_src {
	const char *p;
	size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t n, void *ud)
{
	struct upload_src *u = ud;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(dst, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
	pn_buf_add(ud, p, size * n);
	return size * n;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
	struct pn_buf *etag = ud;
	size_t len = size * n;

	if (len > 5 && !strncasecmp(p, "etag:", 5)) {
		size_t i = 5, j = len;

		while (i < j && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' || p[j - 1] == ' '))
			j--;
		pn_buf_reset(etag);
		pn_buf_add(etag, p + i, j - i);
	}
	return len;
}

static void backoff(int attempt)
{
	long ms = BACKOFF_FIRST_MS << (attempt < 8 ? attempt : 8);

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	ms = ms / 2 + rand() % (ms / 2 + 1);	/* jitter */
	pn_sleep_ms(ms);
}

/*
 * One request, retried while that may help.  method GET, PUT, POST or
 * DELETE; data/len the body of PUT and POST, ctype its Content-Type (or
 * NULL); the reply body lands in s->body and an ETag in s->hdr.  0, or an
 * exit status with s->err set.
 */
static int request_once(struct pn_s3 *s, const char *method, const char *key,
			const char *query, const void *data, size_t len, const char *ctype)
{
	CURL *c = s->curl;
	struct curl_slist *h = NULL;
	struct pn_buf line = PN_BUF_INIT, sig = PN_BUF_INIT;
	char cerr[CURL_ERROR_SIZE];
	int attempt, status = 0;

	/* temporary credentials are fetched again before they expire */
	pn_buf_reset(&s->err);
	if ((status = pn_awscred_fresh(&s->cred, &s->err)))
		return status;
	build_url(s, key, query);
	h = curl_slist_append(h, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (ctype) {
		pn_buf_addf(&line, "Content-Type: %s", ctype);
		h = curl_slist_append(h, line.data);
		pn_buf_reset(&line);
	}
	if (s->cred.token) {
		pn_buf_addf(&line, "x-amz-security-token: %s", s->cred.token);
		h = curl_slist_append(h, line.data);
	}
	pn_buf_addf(&sig, "aws:amz:%s:s3", s->region);
	for (attempt = 0;; attempt++) {
		struct upload_src src = { data, len };
		CURLcode rc;

		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, s->url.data);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sig.data);
		curl_easy_setopt(c, CURLOPT_USERNAME, s->cred.access_key);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->cred.secret_key);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->body);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &s->hdr);
		if (!strcmp(method, "PUT")) {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
			curl_easy_setopt(c, CURLOPT_READDATA, &src);
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		} else if (!strcmp(method, "POST")) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? (const char *)data : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		} else if (strcmp(method, "GET")) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		}
		pn_buf_reset(&s->body);
		pn_buf_reset(&s->hdr);
		pn_buf_reset(&s->err);
		cerr[0] = '\0';
		s->status = 0;
		s->expired_token = 0;
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
		if (rc == CURLE_OK && s->status >= 200 && s->status < 300) {
			status = 0;
			break;
		}
		if (rc != CURLE_OK) {
			char *shown = pn_url_redact(s->endpoint);

			pn_buf_addf(&s->err, "cannot reach S3 at '%s': %s", shown,
				    cerr[0] ? cerr : curl_easy_strerror(rc));
			free(shown);
			status = PN_EX_UNAVAILABLE;
		} else {
			struct xml_error e = { PN_BUF_INIT, PN_BUF_INIT };

			if (s->body.len)
				xml_parse(s->body.data, s->body.len, error_fields, &e);
			pn_buf_addf(&s->err, "s3://%s/%s: %s%s%s (HTTP %ld)", s->bucket,
				    key ? key : "", e.code.len ? e.code.data : "error",
				    e.message.len ? ": " : "",
				    e.message.len ? e.message.data : "", s->status);
			if (s->status >= 500 || s->status == 429)
				status = PN_EX_UNAVAILABLE;
			else if (e.code.len && !strcmp(e.code.data, "NoSuchKey"))
				status = PN_EX_DATAERR;
			else
				status = PN_EX_CONFIG;
			s->expired_token = e.code.len && !strcmp(e.code.data, "ExpiredToken");
			pn_buf_release(&e.code);
			pn_buf_release(&e.message);
		}
		if (status != PN_EX_UNAVAILABLE || attempt >= s->retries || pn_stop)
			break;
		pn_info("%s; retrying", s->err.data);
		backoff(attempt);
	}
	curl_slist_free_all(h);
	pn_buf_release(&line);
	pn_buf_release(&sig);
	return status;
}

/*
 * request_once, and once more with new credentials when S3 calls the
 * temporary ones expired before their time (a clock ahead of ours, a
 * revoked session): a refused request changed nothing, so it can be sent
 * again.
 */
static int request(struct pn_s3 *s, const char *method, const char *key, const char *query,
		   const void *data, size_t len, const char *ctype)
{
	struct pn_buf why = PN_BUF_INIT;
	int st = request_once(s, method, key, query, data, len, ctype), rc;

	if (st != PN_EX_CONFIG || !s->expired_token)
		return st;
	pn_info("%s; fetching new credentials", s->err.data);
	if (!(rc = pn_awscred_renew(&s->cred, &why)))
		st = request_once(s, method, key, query, data, len, ctype);
	else if (rc > 0)
		pn_buf_addf(&s->err, "; fetching new credentials failed: %s", why.data);
	pn_buf_release(&why);
	return st;
}

int pn_s3_put(struct pn_s3 *s, const char *key, const void *data, size_t len,
	      const char *ctype)
{
	return request(s, "PUT", key, NULL, data, len, ctype);
}

int pn_s3_get(struct pn_s3 *s, const char *key, struct pn_buf *out)
{
	int st = request(s, "GET", key, NULL, NULL, 0, NULL);

	if (!st) {
		pn_buf_reset(out);
		pn_buf_add(out, s->body.data, s->body.len);
	}
	return st;
}

/*
 * A page of a listing.  Keys are asked for with encoding-type=url: XML
 * cannot carry every byte a key may hold (a CR comes back as LF).  The
 * answer says whether it honoured that (<EncodingType>url), but only after
 * the keys, so a page's keys are kept, as size, NUL, key, NUL, and handed
 * on once it is read.  A server that ignores the parameter (s3rver) sends
 * keys as they are, and they are taken as they are.
 */
struct list_page {
	struct pn_buf key, *token, keys;
	uint64_t size;
	int truncated, url_encoded;
};

static int list_fields(void *ctx, const char *name, const char *text)
{
	struct list_page *p = ctx;

	if (!strcmp(name, "Key")) {
		pn_buf_reset(&p->key);
		pn_buf_adds(&p->key, text);
	} else if (!strcmp(name, "Size")) {
		p->size = strtoull(text, NULL, 10);
	} else if (!strcmp(name, "Contents")) {
		pn_buf_addf(&p->keys, "%llu", (unsigned long long)p->size);
		pn_buf_addc(&p->keys, '\0');
		pn_buf_add(&p->keys, p->key.data ? p->key.data : "", p->key.len);
		pn_buf_addc(&p->keys, '\0');
	} else if (!strcmp(name, "IsTruncated")) {
		p->truncated = !strcmp(text, "true");
	} else if (!strcmp(name, "EncodingType")) {
		p->url_encoded = !strcmp(text, "url");
	} else if (!strcmp(name, "NextContinuationToken")) {
		pn_buf_reset(p->token);
		pn_buf_adds(p->token, text);
	}
	return 0;
}

/* Decodes a key sent with encoding-type=url (as the AWS SDKs do: %XX is a
 * byte, + a space) into out; -1 if it is malformed or decodes to a NUL. */
static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int url_decode(const char *s, struct pn_buf *out)
{
	pn_buf_reset(out);
	for (; *s; s++) {
		char c = *s;

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = hex_digit(s[1]), lo = hi < 0 ? -1 : hex_digit(s[2]);

			if (lo < 0 || !(hi | lo))
				return -1;
			c = (char)(hi << 4 | lo);
			s += 2;
		}
		pn_buf_addc(out, c);
	}
	if (!out->data)
		pn_buf_adds(out, "");
	return 0;
}

/* Hands the page's keys on; 1 when fn asked to stop, -1 on a bad key. */
static int list_deliver(struct list_page *p, int (*fn)(void *, const char *, uint64_t),
			void *ctx)
{
	const char *k = p->keys.data, *end;

	if (!k)
		return 0;	/* no keys: a buffer never grown has no data */
	for (end = k + p->keys.len; k < end;) {
		uint64_t size = strtoull(k, NULL, 10);
		const char *key = k + strlen(k) + 1;

		k = key + strlen(key) + 1;
		if (p->url_encoded && url_decode(key, &p->key))
			return -1;
		if (fn(ctx, p->url_encoded ? p->key.data : key, size))
			return 1;
	}
	return 0;
}

int pn_s3_list_page(const char *body, size_t len, struct pn_buf *token,
		    int (*fn)(void *ctx, const char *key, uint64_t size), void *ctx,
		    const char **why)
{
	struct list_page p = { PN_BUF_INIT, token, PN_BUF_INIT, 0, 0, 0 };
	int rc;

	pn_buf_reset(token);
	if (xml_parse(body ? body : "", len, list_fields, &p)) {
		*why = "the listing is not well-formed XML";
		rc = -1;
	} else if ((rc = list_deliver(&p, fn, ctx)) < 0) {
		*why = "the listing has a key that is not URL-encoded as asked";
	} else if (p.truncated && !token->len) {
		*why = "a truncated listing without a continuation token";
		rc = -1;
	} else if (!rc && p.truncated) {
		rc = 2;
	}
	pn_buf_release(&p.key);
	pn_buf_release(&p.keys);
	return rc;
}

int pn_s3_list(struct pn_s3 *s, const char *prefix,
	       int (*fn)(void *ctx, const char *key, uint64_t size), void *ctx)
{
	struct pn_buf q = PN_BUF_INIT, token = PN_BUF_INIT;
	const char *why;
	int st = 0, rc;

	do {
		/* the parameters in sorted order: the canonical query string */
		pn_buf_reset(&q);
		if (token.len) {
			pn_buf_adds(&q, "continuation-token=");
			add_encoded(&q, token.data, 0);
			pn_buf_addc(&q, '&');
		}
		pn_buf_adds(&q, "encoding-type=url&list-type=2&prefix=");
		add_encoded(&q, prefix, 0);
		st = request(s, "GET", NULL, q.data, NULL, 0, NULL);
		if (st)
			break;
		if ((rc = pn_s3_list_page(s->body.data, s->body.len, &token, fn, ctx, &why)) < 0) {
			pn_buf_addf(&s->err, "s3://%s/%s: %s", s->bucket, prefix, why);
			st = PN_EX_UNAVAILABLE;
			break;
		}
	} while (rc == 2);
	pn_buf_release(&token);
	pn_buf_release(&q);
	return st;
}

int pn_s3_probe(struct pn_s3 *s, const char *prefix)
{
	struct pn_buf q = PN_BUF_INIT;
	int st;

	pn_buf_adds(&q, "list-type=2&max-keys=1&prefix=");
	add_encoded(&q, prefix, 0);
	st = request(s, "GET", NULL, q.data, NULL, 0, NULL);
	pn_buf_release(&q);
	return st;
}

static int upload_id_field(void *ctx, const char *name, const char *text)
{
	if (!strcmp(name, "UploadId"))
		pn_buf_adds(ctx, text);
	return 0;
}

int pn_s3_upload_start(struct pn_s3 *s, struct pn_s3_upload *u, const char *key,
		       const char *ctype)
{
	struct pn_buf id = PN_BUF_INIT;
	int st;

	memset(u, 0, sizeof(*u));
	st = request(s, "POST", key, "uploads=", NULL, 0, ctype);
	if (st)
		return st;
	if (xml_parse(s->body.data ? s->body.data : "", s->body.len, upload_id_field, &id) ||
	    !id.len) {
		pn_buf_release(&id);
		pn_buf_addf(&s->err, "s3://%s/%s: no UploadId in the reply", s->bucket, key);
		return PN_EX_UNAVAILABLE;
	}
	u->key = pn_strdup(key);
	u->id = pn_buf_detach(&id, NULL);
	return 0;
}

static void upload_query(struct pn_buf *q, const struct pn_s3_upload *u, int part)
{
	pn_buf_reset(q);
	if (part)
		pn_buf_addf(q, "partNumber=%d&", part);
	pn_buf_adds(q, "uploadId=");
	add_encoded(q, u->id, 0);
}

int pn_s3_upload_part(struct pn_s3 *s, struct pn_s3_upload *u, const void *data, size_t len)
{
	struct pn_buf q = PN_BUF_INIT;
	int st;

	upload_query(&q, u, u->parts + 1);
	st = request(s, "PUT", u->key, q.data, data, len, NULL);
	pn_buf_release(&q);
	if (st)
		return st;
	u->parts++;
	pn_buf_add(&u->etags, s->hdr.data ? s->hdr.data : "", s->hdr.len + 1);
	return 0;
}

static void upload_release(struct pn_s3_upload *u)
{
	free(u->key);
	free(u->id);
	pn_buf_release(&u->etags);
	memset(u, 0, sizeof(*u));
}

int pn_s3_upload_complete(struct pn_s3 *s, struct pn_s3_upload *u)
{
	struct pn_buf q = PN_BUF_INIT, body = PN_BUF_INIT;
	const char *etag = u->etags.data;
	int st;

	pn_buf_adds(&body, "<CompleteMultipartUpload>");
	for (int i = 1; i <= u->parts; i++, etag += strlen(etag) + 1)
		pn_buf_addf(&body, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
			    i, etag);
	pn_buf_adds(&body, "</CompleteMultipartUpload>");
	upload_query(&q, u, 0);
	st = request(s, "POST", u->key, q.data, body.data, body.len, "application/xml");
	/* a 200 reply may still carry an <Error> */
	if (!st && s->body.len && strstr(s->body.data, "<Error>")) {
		pn_buf_addf(&s->err, "s3://%s/%s: completing the upload failed", s->bucket,
			    u->key);
		st = PN_EX_UNAVAILABLE;
	}
	pn_buf_release(&q);
	pn_buf_release(&body);
	if (st)
		pn_s3_upload_abort(s, u);
	else
		upload_release(u);
	return st;
}

void pn_s3_upload_abort(struct pn_s3 *s, struct pn_s3_upload *u)
{
	struct pn_buf q = PN_BUF_INIT, keep = PN_BUF_INIT;

	if (u->id) {
		/* the error that made us abort is the one to report */
		pn_buf_add(&keep, s->err.data ? s->err.data : "", s->err.len);
		upload_query(&q, u, 0);
		request(s, "DELETE", u->key, q.data, NULL, 0, NULL);
		pn_buf_reset(&s->err);
		pn_buf_add(&s->err, keep.data ? keep.data : "", keep.len);
	}
	pn_buf_release(&q);
	pn_buf_release(&keep);
	upload_release(u);
}
