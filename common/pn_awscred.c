#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "pn_awscred.h"
#include "pn_err.h"
#include "pn_io.h"
#include "pn_json.h"
#include "pn_num.h"

enum {
	REFRESH_BEFORE_MS = 5 * 60 * 1000,	/* the SDKs' "a few minutes" */
	RETRY_REFRESH_MS = 10 * 1000,		/* after a failed refresh */
	CONNECT_TIMEOUT_MS = 1000,
	TOTAL_TIMEOUT_MS = 3000,
	IMDS_TOKEN_TTL_S = 21600,		/* 6 h, the SDKs' value */
};

/* A source that has nothing to give, as opposed to one that failed. */
#define ABSENT (-1)

#define ECS_HOST "http://169.254.170.2"
#define IMDS_HOST "http://169.254.169.254"
#define IMDS_HOST_IPV6 "http://[fd00:ec2::254]"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cred_clear(struct pn_awscred *c)
{
	free(c->access_key);
	free(c->secret_key);
	free(c->token);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

void pn_awscred_release(struct pn_awscred *c)
{
	cred_clear(c);
}

const char *pn_awscred_source_name(enum pn_awscred_source s)
{
	switch (s) {
	case PN_AWSCRED_ENV: return "environment";
	case PN_AWSCRED_FILES: return "shared files";
	case PN_AWSCRED_CONTAINER: return "container endpoint";
	case PN_AWSCRED_IMDS: return "instance metadata";
	default: return "nowhere";
	}
}

int64_t pn_awscred_refresh_at(int64_t now_ms, int64_t expires_ms)
{
	int64_t before = (expires_ms - now_ms) / 2;

	if (before > REFRESH_BEFORE_MS)
		before = REFRESH_BEFORE_MS;
	if (before < 0)
		before = 0;
	return expires_ms - before;
}

/* ---- the shared files ---- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}

/* True if the header line s..e (trimmed, starting with '[') names
 * `section`; "[profile   NAME]" names "profile NAME". */
static int header_is(const char *s, const char *e, const char *section)
{
	const char *close = memchr(s, ']', e - s), *n = s + 1, *ne;
	size_t want = strlen(section);

	if (!close)
		return 0;
	for (const char *t = close + 1; t < e; t++) {
		if (*t == '#' || *t == ';')
			break;
		if (!is_blank(*t))
			return 0;	/* junk after the header: not one */
	}
	ne = close;
	trim(&n, &ne);
	if (ne - n > 7 && !memcmp(n, "profile", 7) && is_blank(n[7])) {
		const char *name = n + 7;

		while (name < ne && is_blank(*name))
			name++;
		return want == 8 + (size_t)(ne - name) && !memcmp(section, "profile ", 8) &&
		       !memcmp(section + 8, name, ne - name);
	}
	return want == (size_t)(ne - n) && !memcmp(section, n, want);
}

/* Ends v..*ve before a comment: # or ; with whitespace before them. */
static void cut_comment(const char *v, const char **ve)
{
	for (const char *t = v + 1; t < *ve; t++) {
		if ((*t == '#' || *t == ';') && is_blank(t[-1])) {
			*ve = t;
			break;
		}
	}
}

int pn_ini_get(const char *text, size_t len, const char *section, const char *key,
	       struct pn_buf *val)
{
	const char *p = text, *end = text + len;
	size_t keylen = strlen(key);
	int found = -1, in = 0, had_property = 0;

	while (p < end) {
		const char *s = p, *e = memchr(p, '\n', end - p), *eq, *ke, *v, *ve;
		int indented;

		if (!e)
			e = end;
		p = e < end ? e + 1 : end;
		indented = s < e && (*s == ' ' || *s == '\t');
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			in = header_is(s, e, section);
			if (in && found < 0)
				found = 0;
			had_property = 0;
			continue;
		}
		if (!in || (indented && had_property))
			continue;	/* another section, or a sub-property */
		if (!(eq = memchr(s, '=', e - s)))
			continue;	/* not a property: the SDKs pass over it */
		had_property = 1;
		ke = eq;
		trim(&s, &ke);
		if ((size_t)(ke - s) != keylen || strncasecmp(s, key, keylen))
			continue;
		v = eq + 1;
		ve = e;
		trim(&v, &ve);
		cut_comment(v, &ve);
		trim(&v, &ve);
		pn_buf_reset(val);
		pn_buf_add(val, v, ve - v);
		found = 1;
	}
	return found;
}

/* One of the shared files, read whole; a file that is not there is empty. */
struct shared_file {
	char *path;
	struct pn_buf text;
	int exists;
};

/* Its path: the variable, else ~/.aws/NAME; a leading ~/ is $HOME. */
static int shared_file_load(struct shared_file *f, const char *var, const char *name,
			    struct pn_buf *err)
{
	const char *path = env(var), *home = env("HOME");
	struct pn_buf b = PN_BUF_INIT;

	if (!path)
		pn_buf_addf(&b, "%s/.aws/%s", home ? home : "", name);
	else if (!strncmp(path, "~/", 2))
		pn_buf_addf(&b, "%s%s", home ? home : "", path + 1);
	else
		pn_buf_adds(&b, path);
	f->path = pn_buf_detach(&b, NULL);
	pn_buf_init(&f->text);
	if (pn_read_file(f->path, &f->text) == 0) {
		f->exists = 1;
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	pn_buf_addf(err, "cannot read '%s': %s", f->path, strerror(errno));
	return PN_EX_CONFIG;
}

static void shared_file_release(struct shared_file *f)
{
	free(f->path);
	pn_buf_release(&f->text);
}

/* In the config file a profile is [profile NAME]; the default one may
 * also be [default], which [profile default] overrides. */
static int config_get(const struct shared_file *f, const char *profile, const char *key,
		      struct pn_buf *val)
{
	struct pn_buf section = PN_BUF_INIT;
	int rc;

	if (!f->exists)
		return -1;
	pn_buf_addf(&section, "profile %s", profile);
	rc = pn_ini_get(f->text.data, f->text.len, section.data, key, val);
	if (rc < 0 && !strcmp(profile, "default"))
		rc = pn_ini_get(f->text.data, f->text.len, "default", key, val);
	pn_buf_release(&section);
	return rc;
}

static int credentials_get(const struct shared_file *f, const char *profile, const char *key,
			   struct pn_buf *val)
{
	return f->exists ? pn_ini_get(f->text.data, f->text.len, profile, key, val) : -1;
}

struct shared_files {
	struct shared_file cred, conf;
	const char *profile;
	int named;		/* the profile was asked for by AWS_PROFILE */
};

static int shared_files_load(struct shared_files *sf, struct pn_buf *err)
{
	int rc;

	memset(sf, 0, sizeof(*sf));
	sf->profile = env("AWS_PROFILE");
	sf->named = sf->profile != NULL;
	if (!sf->profile)
		sf->profile = "default";
	rc = shared_file_load(&sf->cred, "AWS_SHARED_CREDENTIALS_FILE", "credentials", err);
	if (!rc)
		rc = shared_file_load(&sf->conf, "AWS_CONFIG_FILE", "config", err);
	return rc;
}

static void shared_files_release(struct shared_files *sf)
{
	shared_file_release(&sf->cred);
	shared_file_release(&sf->conf);
}

/* The profile's key, the credentials file first; the file it came from
 * in *from.  1 found, 0 the profile is there without it, -1 no profile. */
static int profile_get(const struct shared_files *sf, const char *key, struct pn_buf *val,
		       const char **from)
{
	int a = credentials_get(&sf->cred, sf->profile, key, val), b;

	*from = sf->cred.path;
	if (a == 1)
		return 1;
	b = config_get(&sf->conf, sf->profile, key, val);
	*from = sf->conf.path;
	return b > a ? b : a;
}

static int from_files(struct pn_awscred *c, struct pn_buf *note, struct pn_buf *err)
{
	struct shared_files sf;
	struct pn_buf key = PN_BUF_INIT, secret = PN_BUF_INIT, token = PN_BUF_INIT;
	const char *key_from, *from;
	int rc, has;

	if ((rc = shared_files_load(&sf, err)))
		goto out;
	has = profile_get(&sf, "aws_access_key_id", &key, &key_from);
	if (has < 0 && sf.named) {
		pn_buf_addf(err, "AWS_PROFILE names profile '%s', which is neither in '%s' nor "
			    "in '%s'", sf.profile, sf.cred.path, sf.conf.path);
		rc = PN_EX_CONFIG;
		goto out;
	}
	if (has < 0 || (has == 0 && !sf.named)) {
		/* the default profile may hold only a region */
		pn_buf_addf(note, "%s '%s' in '%s' or '%s'", has < 0 ? "no profile" :
			    "no aws_access_key_id in profile", sf.profile, sf.cred.path, sf.conf.path);
		rc = ABSENT;
		goto out;
	}
	if (has == 0 || !key.len) {
		/* role_arn, sso_*, credential_process: the SDKs' other ways */
		pn_buf_addf(err, "profile '%s' in '%s' or '%s' has no aws_access_key_id (pn reads "
			    "keys only, not role_arn, sso_session or credential_process)",
			    sf.profile, sf.cred.path, sf.conf.path);
		rc = PN_EX_CONFIG;
		goto out;
	}
	if (profile_get(&sf, "aws_secret_access_key", &secret, &from) < 1 || !secret.len) {
		pn_buf_addf(err, "profile '%s' in '%s' has aws_access_key_id but no "
			    "aws_secret_access_key", sf.profile, key_from);
		rc = PN_EX_CONFIG;
		goto out;
	}
	c->access_key = pn_buf_detach(&key, NULL);
	c->secret_key = pn_buf_detach(&secret, NULL);
	if (profile_get(&sf, "aws_session_token", &token, &from) == 1 && token.len)
		c->token = pn_buf_detach(&token, NULL);
	c->source = PN_AWSCRED_FILES;
	pn_buf_reset(&key);
	pn_buf_addf(&key, "%s, profile %s", key_from, sf.profile);
	c->origin = pn_buf_detach(&key, NULL);
	rc = 0;
out:
	pn_buf_release(&key);
	pn_buf_release(&secret);
	pn_buf_release(&token);
	shared_files_release(&sf);
	return rc;
}

char *pn_awscred_region(void)
{
	const char *r = env("AWS_REGION");
	struct pn_buf err = PN_BUF_INIT, val = PN_BUF_INIT;
	struct shared_files sf;

	if (!r)
		r = env("AWS_DEFAULT_REGION");
	if (r)
		return pn_strdup(r);
	/* an unreadable file is the credentials' error to report */
	if (!shared_files_load(&sf, &err))
		config_get(&sf.conf, sf.profile, "region", &val);
	shared_files_release(&sf);
	pn_buf_release(&err);
	if (!val.len) {
		pn_buf_release(&val);
		return NULL;
	}
	return pn_buf_detach(&val, NULL);
}

/* ---- the environment ---- */

static int from_env(struct pn_awscred *c, struct pn_buf *note, struct pn_buf *err)
{
	const char *key = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
	const char *token = env("AWS_SESSION_TOKEN");

	if (!key && !secret) {
		pn_buf_adds(note, "AWS_ACCESS_KEY_ID not set");
		return ABSENT;
	}
	if (!key || !secret) {
		pn_buf_addf(err, "%s is set but %s is not", key ? "AWS_ACCESS_KEY_ID" :
			    "AWS_SECRET_ACCESS_KEY", key ? "AWS_SECRET_ACCESS_KEY" :
			    "AWS_ACCESS_KEY_ID");
		return PN_EX_CONFIG;
	}
	c->access_key = pn_strdup(key);
	c->secret_key = pn_strdup(secret);
	c->token = token ? pn_strdup(token) : NULL;
	c->source = PN_AWSCRED_ENV;
	c->origin = pn_strdup("AWS_ACCESS_KEY_ID");
	return 0;
}

/* ---- HTTP, for the container endpoint and the metadata service ---- */

static size_t http_body(char *p, size_t size, size_t n, void *ud)
{
	pn_buf_add(ud, p, size * n);
	return size * n;
}

static size_t no_body(char *p, size_t size, size_t n, void *ud)
{
	(void)p, (void)size, (void)n, (void)ud;
	return 0;
}

/*
 * One request with the short timeouts, never through a proxy (the
 * endpoints are link-local or loopback), headers h.  0 with *status and
 * body set when an answer came, -1 with why set when none did.
 */
static int http_call(const char *method, const char *url, struct curl_slist *h,
		     long *status, struct pn_buf *body, struct pn_buf *why)
{
	CURL *curl = curl_easy_init();
	char cerr[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	if (!curl) {
		pn_buf_adds(why, "cannot start libcurl");
		return -1;
	}
	pn_buf_reset(body);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)TOTAL_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "pn");
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, no_body);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	else
		pn_buf_adds(why, cerr[0] ? cerr : curl_easy_strerror(rc));
	curl_easy_cleanup(curl);
	if (!body->data)
		pn_buf_adds(body, "");
	return rc == CURLE_OK ? 0 : -1;
}

/* The string member `key` of the object at token 0, decoded; 0 or -1. */
static int json_string(const struct pn_json *j, const char *key, struct pn_buf *out)
{
	int i = pn_json_get(j, 0, key, strlen(key));

	if (i < 0 || j->tok[i].type != PN_JSON_STRING)
		return -1;
	pn_buf_reset(out);
	pn_json_unescape(j->text + j->tok[i].start, j->tok[i].end - j->tok[i].start, out);
	if (!out->data)
		pn_buf_adds(out, "");
	return 0;
}

int pn_awscred_parse(const char *text, size_t len, struct pn_awscred *c, const char **why)
{
	struct pn_json j;
	struct pn_buf key = PN_BUF_INIT, secret = PN_BUF_INIT, token = PN_BUF_INIT;
	struct pn_buf code = PN_BUF_INIT, expiry = PN_BUF_INIT;
	int64_t expires = 0;
	int rc = -1;

	pn_json_init(&j);
	if (pn_json_parse(&j, text, len) || !pn_json_is_object(&j, 0))
		*why = "the answer is not a JSON object";
	else if (!json_string(&j, "Code", &code) && strcmp(code.data, "Success"))
		*why = "the answer's Code is not Success";
	else if (json_string(&j, "AccessKeyId", &key) || !key.len ||
		 json_string(&j, "SecretAccessKey", &secret) || !secret.len)
		*why = "the answer has no AccessKeyId or SecretAccessKey";
	else if (!json_string(&j, "Expiration", &expiry) && pn_parse_time(expiry.data, &expires))
		*why = "the answer's Expiration is not an ISO 8601 time";
	else
		rc = 0;
	if (!rc) {
		c->access_key = pn_buf_detach(&key, NULL);
		c->secret_key = pn_buf_detach(&secret, NULL);
		c->token = !json_string(&j, "Token", &token) && token.len ?
			   pn_buf_detach(&token, NULL) : NULL;
		c->expires_ms = expires;
	}
	pn_json_release(&j);
	pn_buf_release(&key);
	pn_buf_release(&secret);
	pn_buf_release(&token);
	pn_buf_release(&code);
	pn_buf_release(&expiry);
	return rc;
}

/* Takes a credentials answer: 0, or -1 with why set. */
static int take_answer(struct pn_awscred *c, const struct pn_buf *body, struct pn_buf *why)
{
	const char *what;

	if (pn_awscred_parse(body->data, body->len, c, &what)) {
		pn_buf_adds(why, what);
		return -1;
	}
	c->refresh_ms = c->expires_ms ? pn_awscred_refresh_at(wall_ms(), c->expires_ms) : 0;
	return 0;
}

/* ---- the container endpoint ---- */

/* A full URI over plain HTTP must stay on the machine or go to the
 * container agents' link-local addresses, as the SDKs require. */
static int allowed_http_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int ok = 0;

	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0))
		ok = !strncmp(host, "127.", 4) || !strcmp(host, "localhost") ||
		     !strcmp(host, "[::1]") || !strcmp(host, "169.254.170.2") ||
		     !strcmp(host, "169.254.170.23") || !strcasecmp(host, "[fd00:ec2::23]");
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* The Authorization header's value: the file (read anew each time, it is
 * rotated) wins over the variable; a trailing newline does not count. */
static int container_auth(struct pn_buf *auth, struct pn_buf *err)
{
	const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");

	pn_buf_reset(auth);
	if (file) {
		if (pn_read_file(file, auth)) {
			pn_buf_addf(err, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '%s': %s",
				    file, strerror(errno));
			return PN_EX_CONFIG;
		}
		while (auth->len && (auth->data[auth->len - 1] == '\n' ||
				     auth->data[auth->len - 1] == '\r'))
			auth->data[--auth->len] = '\0';
	} else if (token) {
		pn_buf_adds(auth, token);
	}
	if (auth->len && (memchr(auth->data, '\n', auth->len) || memchr(auth->data, '\r', auth->len))) {
		pn_buf_addf(err, "the container authorization token holds a line break");
		return PN_EX_CONFIG;
	}
	return 0;
}

static int fetch_container(struct pn_awscred *c, const char *url, struct pn_buf *err)
{
	struct pn_buf auth = PN_BUF_INIT, body = PN_BUF_INIT, why = PN_BUF_INIT;
	struct curl_slist *h = NULL;
	char *shown = pn_url_redact(url);
	long status = 0;
	int rc;

	if ((rc = container_auth(&auth, err)))
		goto out;
	if (auth.len) {
		pn_buf_reset(&why);
		pn_buf_addf(&why, "Authorization: %s", auth.data);
		h = curl_slist_append(h, why.data);
		pn_buf_reset(&why);
	}
	if (http_call("GET", url, h, &status, &body, &why)) {
		pn_buf_addf(err, "cannot reach the container credentials endpoint '%s': %s", shown,
			    why.data);
		rc = PN_EX_UNAVAILABLE;
	} else if (status != 200) {
		pn_buf_addf(err, "the container credentials endpoint '%s' answered HTTP %ld", shown,
			    status);
		rc = status >= 500 || status == 429 ? PN_EX_UNAVAILABLE : PN_EX_CONFIG;
	} else if (take_answer(c, &body, &why)) {
		pn_buf_addf(err, "the container credentials endpoint '%s': %s", shown, why.data);
		rc = PN_EX_UNAVAILABLE;
	}
out:
	free(shown);
	curl_slist_free_all(h);
	pn_buf_release(&auth);
	pn_buf_release(&body);
	pn_buf_release(&why);
	return rc;
}

/* The endpoint's URL from the environment; ABSENT when none is set. */
static int container_url(struct pn_buf *url, struct pn_buf *err)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	if (rel) {
		pn_buf_addf(url, "%s%s%s", ECS_HOST, *rel == '/' ? "" : "/", rel);
		return 0;
	}
	if (!full)
		return ABSENT;
	if (strncmp(full, "https://", 8) && (strncmp(full, "http://", 7) ||
					      !allowed_http_host(full))) {
		char *shown = pn_url_redact(full);

		pn_buf_addf(err, "AWS_CONTAINER_CREDENTIALS_FULL_URI '%s' is neither https:// nor "
			    "http:// to a loopback or container agent address", shown);
		free(shown);
		return PN_EX_CONFIG;
	}
	pn_buf_adds(url, full);
	return 0;
}

static int from_container(struct pn_awscred *c, struct pn_buf *note, struct pn_buf *err)
{
	struct pn_buf url = PN_BUF_INIT;
	int rc = container_url(&url, err);

	if (rc == ABSENT)
		pn_buf_adds(note, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set");
	else if (!rc && !(rc = fetch_container(c, url.data, err))) {
		c->source = PN_AWSCRED_CONTAINER;
		c->origin = pn_buf_detach(&url, NULL);
	}
	pn_buf_release(&url);
	return rc;
}

/* ---- the instance metadata service ---- */

static void imds_endpoint(struct pn_buf *ep)
{
	const char *v = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");

	if (!v)
		v = mode && !strcasecmp(mode, "IPv6") ? IMDS_HOST_IPV6 : IMDS_HOST;
	pn_buf_adds(ep, v);
	while (ep->len && ep->data[ep->len - 1] == '/')
		ep->data[--ep->len] = '\0';
}

/*
 * One GET under the endpoint with the session token; 0 with body set, or
 * -1 with why set.  A 404 on the role list means no role is attached.
 */
static int imds_get(const char *ep, const char *path, const char *token, struct pn_buf *body,
		    struct pn_buf *why)
{
	struct pn_buf url = PN_BUF_INIT, line = PN_BUF_INIT;
	struct curl_slist *h;
	long status = 0;
	int rc = -1;

	pn_buf_addf(&url, "%s%s", ep, path);
	pn_buf_addf(&line, "X-aws-ec2-metadata-token: %s", token);
	h = curl_slist_append(NULL, line.data);
	if (http_call("GET", url.data, h, &status, body, why))
		;
	else if (status != 200)
		pn_buf_addf(why, "GET %s answered HTTP %ld%s", path, status,
			    status == 404 && !strcmp(path, IMDS_CREDS_PATH) ?
			    " (no IAM role attached)" : "");
	else
		rc = 0;
	curl_slist_free_all(h);
	pn_buf_release(&url);
	pn_buf_release(&line);
	return rc;
}

/* The session token, the role, its credentials; 0, or -1 with why set. */
static int fetch_imds(struct pn_awscred *c, const char *ep, struct pn_buf *why)
{
	struct pn_buf url = PN_BUF_INIT, token = PN_BUF_INIT, body = PN_BUF_INIT;
	struct curl_slist *h;
	long status = 0;
	int rc = -1;
	char *nl;

	pn_buf_addf(&url, "%s/latest/api/token", ep);
	pn_buf_addf(&body, "X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL_S);
	h = curl_slist_append(NULL, body.data);
	if (http_call("PUT", url.data, h, &status, &token, why))
		goto out;
	if (status != 200 || !token.len) {
		pn_buf_addf(why, "PUT /latest/api/token answered HTTP %ld", status);
		goto out;
	}
	if (imds_get(ep, IMDS_CREDS_PATH, token.data, &body, why))
		goto out;
	if ((nl = strpbrk(body.data, "\r\n")))
		*nl = '\0';	/* the first role: an instance has one */
	if (!*body.data) {
		pn_buf_adds(why, "no IAM role attached");
		goto out;
	}
	pn_buf_reset(&url);
	pn_buf_addf(&url, "%s%s", IMDS_CREDS_PATH, body.data);
	if (imds_get(ep, url.data, token.data, &body, why))
		goto out;
	rc = take_answer(c, &body, why);
out:
	curl_slist_free_all(h);
	pn_buf_release(&url);
	pn_buf_release(&token);
	pn_buf_release(&body);
	return rc;
}

static int from_imds(struct pn_awscred *c, struct pn_buf *note)
{
	const char *off = env("AWS_EC2_METADATA_DISABLED");
	struct pn_buf ep = PN_BUF_INIT, why = PN_BUF_INIT;
	int rc = ABSENT;

	if (off && !strcasecmp(off, "true")) {
		pn_buf_adds(note, "disabled by AWS_EC2_METADATA_DISABLED");
		return ABSENT;
	}
	imds_endpoint(&ep);
	if (fetch_imds(c, ep.data, &why)) {
		char *shown = pn_url_redact(ep.data);

		pn_buf_addf(note, "%s: %s", shown, why.data);
		free(shown);
	} else {
		c->source = PN_AWSCRED_IMDS;
		c->origin = pn_buf_detach(&ep, NULL);
		rc = 0;
	}
	pn_buf_release(&ep);
	pn_buf_release(&why);
	return rc;
}

/* ---- the chain ---- */

int pn_awscred_find(struct pn_awscred *c, struct pn_buf *err)
{
	static const struct {
		enum pn_awscred_source source;
		int (*find)(struct pn_awscred *, struct pn_buf *, struct pn_buf *);
	} chain[] = {
		{ PN_AWSCRED_ENV, from_env },
		{ PN_AWSCRED_FILES, from_files },
		{ PN_AWSCRED_CONTAINER, from_container },
	};
	struct pn_buf tried = PN_BUF_INIT, note = PN_BUF_INIT;
	int rc = ABSENT;

	memset(c, 0, sizeof(*c));
	pn_buf_adds(&tried, "no S3 credentials found: tried ");
	for (size_t i = 0; rc == ABSENT && i < sizeof(chain) / sizeof(chain[0]); i++) {
		pn_buf_reset(&note);
		rc = chain[i].find(c, &note, err);
		pn_buf_addf(&tried, "%s (%s), ", pn_awscred_source_name(chain[i].source),
			    note.data ? note.data : "");
	}
	if (rc == ABSENT) {
		pn_buf_reset(&note);
		rc = from_imds(c, &note);
		pn_buf_addf(&tried, "%s (%s)", pn_awscred_source_name(PN_AWSCRED_IMDS),
			    note.data ? note.data : "");
		if (rc == ABSENT) {
			pn_buf_add(err, tried.data, tried.len);
			rc = PN_EX_CONFIG;
		}
	}
	if (rc)
		cred_clear(c);
	pn_buf_release(&tried);
	pn_buf_release(&note);
	return rc;
}

/* The same source again, into fresh; 0 or an exit status with err set. */
static int fetch_again(const struct pn_awscred *c, struct pn_awscred *fresh, struct pn_buf *err)
{
	struct pn_buf why = PN_BUF_INIT;
	int rc = 0;

	if (c->source == PN_AWSCRED_CONTAINER) {
		rc = fetch_container(fresh, c->origin, err);
	} else if (fetch_imds(fresh, c->origin, &why)) {
		char *shown = pn_url_redact(c->origin);

		pn_buf_addf(err, "instance metadata at '%s': %s", shown, why.data);
		free(shown);
		rc = PN_EX_UNAVAILABLE;
	}
	pn_buf_release(&why);
	return rc;
}

static void time_text(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fetches the credentials again and takes them; 0, or an exit status with
 * err set and c as it was. */
static int renew(struct pn_awscred *c, struct pn_buf *err)
{
	struct pn_awscred fresh = { 0 };
	char when[32];
	int rc;

	if ((rc = fetch_again(c, &fresh, err))) {
		cred_clear(&fresh);
		return rc;
	}
	fresh.source = c->source;
	fresh.origin = c->origin;
	c->origin = NULL;
	cred_clear(c);
	*c = fresh;
	time_text(c->expires_ms, when, sizeof(when));
	pn_info("S3 credentials refreshed from the %s, valid until %s",
		pn_awscred_source_name(c->source), when);
	return 0;
}

int pn_awscred_fresh(struct pn_awscred *c, struct pn_buf *err)
{
	int64_t now;
	char when[32];
	int rc;

	if (!c->refresh_ms || (now = wall_ms()) < c->refresh_ms)
		return 0;
	if (!(rc = renew(c, err)))
		return 0;
	time_text(c->expires_ms, when, sizeof(when));
	if (now < c->expires_ms) {
		/* keep signing with the ones we have; try again soon */
		pn_warn("cannot refresh the S3 credentials (%s); the current ones last until %s",
			err->data, when);
		pn_buf_reset(err);
		c->refresh_ms = now + RETRY_REFRESH_MS;
		return 0;
	}
	pn_buf_addf(err, "; the S3 credentials from the %s expired at %s",
		    pn_awscred_source_name(c->source), when);
	return rc;
}

int pn_awscred_renew(struct pn_awscred *c, struct pn_buf *err)
{
	return c->refresh_ms ? renew(c, err) : -1;
}
