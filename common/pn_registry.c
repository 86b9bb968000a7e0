#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "pn_clock.h"
#include "pn_err.h"
#include "pn_registry.h"

enum { RETRIES = 4, BACKOFF_MS = 100 };

struct cached {
	uint32_t id;
	struct pn_avro_schema *schema;	/* NULL: the registry does not know the id */
	char *missing;			/* and what it said */
};

struct pn_registry {
	char **urls;		/* without a trailing slash */
	int nurls;
	char **shown;		/* the same for messages: no userinfo */
	const char *url;	/* the one in use: the next after a connection error */
	const char *url_shown;
	CURL *curl;
	struct curl_slist *headers;
	struct pn_buf body, why;
	long status;		/* HTTP status of the last answer */
	struct cached *cache;
	int ncache, cap;
	int last;		/* the cache entry found last */
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	pn_buf_add(arg, p, size * n);
	return size * n;
}

struct pn_registry *pn_registry_new(const struct pn_registry_conf *conf, const char *url)
{
	static const struct { const char *key; CURLoption opt; } files[] = {
		{ "ssl.ca.location", CURLOPT_CAINFO },
		{ "ssl.certificate.location", CURLOPT_SSLCERT },
		{ "ssl.key.location", CURLOPT_SSLKEY },
		{ "ssl.key.password", CURLOPT_KEYPASSWD },
	};
	const char *auth = pn_registry_conf_get(conf, "basic.auth.user.info");
	struct pn_registry *r;

	if (!url)
		url = pn_registry_conf_get(conf, "url");
	if (!url || !*url)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = pn_malloc(sizeof(*r));
	memset(r, 0, sizeof(*r));
	for (const char *u = url; *u; u += *u == ',') {
		size_t len = strcspn(u, ","), end = len;

		while (end && (u[end - 1] == '/' || u[end - 1] == ' '))
			end--;
		while (end && *u == ' ')
			u++, end--, len--;
		if (end) {
			r->urls = pn_realloc(r->urls, (r->nurls + 1) * sizeof(*r->urls));
			r->shown = pn_realloc(r->shown, (r->nurls + 1) * sizeof(*r->shown));
			r->urls[r->nurls] = pn_strndup(u, end);
			r->shown[r->nurls] = pn_url_redact(r->urls[r->nurls]);
			r->nurls++;
		}
		u += len;
	}
	if (!r->nurls) {
		free(r);
		return NULL;
	}
	r->url = r->urls[0];
	r->url_shown = r->shown[0];
	r->curl = curl_easy_init();
	if (!r->curl)
		pn_die(PN_EX_FAILED, "cannot initialise libcurl");
	r->headers = curl_slist_append(NULL, "Content-Type: application/vnd.schemaregistry.v1+json");
	r->headers = curl_slist_append(r->headers, "Accept: application/vnd.schemaregistry.v1+json, "
				       "application/vnd.schemaregistry+json, application/json");
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "pn");
	if (auth && *auth) {
		curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(r->curl, CURLOPT_USERPWD, auth);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *v = pn_registry_conf_get(conf, files[i].key);

		if (v && *v)
			curl_easy_setopt(r->curl, files[i].opt, v);
	}
	return r;
}

void pn_registry_free(struct pn_registry *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->ncache; i++) {
		pn_avro_schema_free(r->cache[i].schema);
		free(r->cache[i].missing);
	}
	free(r->cache);
	curl_slist_free_all(r->headers);
	curl_easy_cleanup(r->curl);
	pn_buf_release(&r->body);
	pn_buf_release(&r->why);
	for (int i = 0; i < r->nurls; i++) {
		free(r->urls[i]);
		free(r->shown[i]);
	}
	free(r->urls);
	free(r->shown);
	free(r);
	curl_global_cleanup();
}

const char *pn_registry_why(const struct pn_registry *r)
{
	return r->why.data ? r->why.data : "";
}

static int failed(struct pn_registry *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int failed(struct pn_registry *r, int status, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pn_buf_reset(&r->why);
	pn_buf_addf(&r->why, "schema registry '%s': %s", r->url_shown, msg);
	return status;
}

/* The error_code and message of an error answer (a Confluent error body). */
static void error_body(struct pn_registry *r, long *code, char *msg, size_t size)
{
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));

	*code = (long)json_integer_value(json_object_get(j, "error_code"));
	snprintf(msg, size, "%s", m ? m : r->body.len ? r->body.data : "no message");
	msg[strcspn(msg, "\r\n")] = '\0';
	json_decref(j);
}

/* After a connection error: the next registry of the list. */
static void next_url(struct pn_registry *r)
{
	for (int i = 0; i < r->nurls; i++)
		if (r->urls[i] == r->url) {
			r->url = r->urls[(i + 1) % r->nurls];
			r->url_shown = r->shown[(i + 1) % r->nurls];
			return;
		}
}

/*
 * One request, retried on connection errors and 5xx; the body of a 2xx
 * answer parsed into *out.  `what` names the request in messages.  4xx
 * answers are left to the caller: 0 with r->status set and *out NULL.
 */
static int request(struct pn_registry *r, const char *path, const char *post, json_t **out,
		   const char *what)
{
	struct pn_buf url = PN_BUF_INIT;
	char errbuf[CURL_ERROR_SIZE], msg[512];
	long backoff = BACKOFF_MS, code;
	CURLcode rc = CURLE_OK;
	int status = 0;

	*out = NULL;
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, errbuf);
	if (post)
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, post);
	else
		curl_easy_setopt(r->curl, CURLOPT_HTTPGET, 1L);
	for (int attempt = 0; attempt <= RETRIES; attempt++) {
		if (attempt) {
			pn_info("schema registry: retrying %s in %ld ms", what, backoff);
			pn_sleep_ms(backoff);
			backoff *= 2;
		}
		/* each registry of the list in turn, as the Confluent clients do */
		for (int k = 0; k < r->nurls; k++) {
			pn_buf_reset(&r->body);
			pn_buf_reset(&url);
			pn_buf_adds(&url, r->url);
			pn_buf_adds(&url, path);
			curl_easy_setopt(r->curl, CURLOPT_URL, url.data);
			errbuf[0] = '\0';
			r->status = 0;
			rc = curl_easy_perform(r->curl);
			if (rc == CURLE_OK || k + 1 == r->nurls)
				break;
			pn_info("schema registry '%s': %s", r->url_shown,
				*errbuf ? errbuf : curl_easy_strerror(rc));
			next_url(r);
		}
		if (rc == CURLE_OK)
			curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
		if (rc == CURLE_OK && r->status < 500)
			break;
	}
	if (rc != CURLE_OK) {
		status = failed(r, PN_EX_UNAVAILABLE, "cannot %s: %s (%d attempts)", what,
				*errbuf ? errbuf : curl_easy_strerror(rc), RETRIES + 1);
	} else if (r->status >= 500) {
		error_body(r, &code, msg, sizeof(msg));
		status = failed(r, r->status == 503 ? PN_EX_UNAVAILABLE : PN_EX_TEMPFAIL,
				"cannot %s: server error %ld (%ld): %s (%d attempts)", what,
				r->status, code, msg, RETRIES + 1);
	} else if (r->status == 401 || r->status == 403) {
		status = failed(r, PN_EX_CONFIG,
				"cannot %s: %s (%ld): check schema.registry.basic.auth.user.info",
				what, r->status == 401 ? "unauthorized" : "forbidden", r->status);
	} else if (r->status >= 200 && r->status < 300) {
		*out = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			status = failed(r, PN_EX_UNAVAILABLE, "cannot %s: the answer is not a JSON "
					"object", what);
		}
	}
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, NULL);
	pn_buf_release(&url);
	return status;
}

/* The answer to a request that was neither 2xx nor handled by request(). */
static int client_error(struct pn_registry *r, const char *what)
{
	char msg[512];
	long code;

	error_body(r, &code, msg, sizeof(msg));
	switch (r->status) {
	case 404:
		return failed(r, code == 40403 ? PN_EX_DATAERR : PN_EX_CONFIG,
			      "cannot %s: %s (%ld)", what, msg, code);
	case 409:
		return failed(r, PN_EX_CONFIG, "cannot %s: the schema is incompatible with the "
			      "subject's earlier versions (409): %s", what, msg);
	case 422:
		return failed(r, PN_EX_CONFIG, "cannot %s: the registry finds the schema invalid "
			      "(422, %ld): %s", what, code, msg);
	default:
		return failed(r, PN_EX_UNAVAILABLE, "cannot %s: unexpected HTTP status %ld: %s",
			      what, r->status, msg);
	}
}

static char *subject_path(struct pn_registry *r, const char *subject, const char *tail)
{
	char *esc = curl_easy_escape(r->curl, subject, 0);
	struct pn_buf b = PN_BUF_INIT;

	pn_buf_addf(&b, "/subjects/%s%s", esc, tail);
	curl_free(esc);
	return pn_buf_detach(&b, NULL);
}

static int get_id(struct pn_registry *r, json_t *j, uint32_t *id, const char *what)
{
	json_int_t v = json_integer_value(json_object_get(j, "id"));

	if (!json_is_integer(json_object_get(j, "id")) || v < 0 || v > UINT32_MAX)
		return failed(r, PN_EX_UNAVAILABLE, "cannot %s: the answer has no schema id", what);
	*id = (uint32_t)v;
	return 0;
}

int pn_registry_register(struct pn_registry *r, const char *subject,
			 const struct pn_avro_schema *s, uint32_t *id)
{
	char *path = subject_path(r, subject, "/versions"), what[300];
	json_t *req = json_pack("{ss}", "schema", s->text), *ans;
	char *body = json_dumps(req, JSON_COMPACT);
	int status;

	snprintf(what, sizeof(what), "register the schema under subject '%s'", subject);
	status = request(r, path, body, &ans, what);
	if (!status)
		status = ans ? get_id(r, ans, id, what) : client_error(r, what);
	json_decref(ans);
	json_decref(req);
	free(body);
	free(path);
	return status;
}

/* Caches a schema under id; the cache owns it. */
static void cache_add(struct pn_registry *r, uint32_t id, struct pn_avro_schema *s)
{
	if (r->ncache == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->cache = pn_realloc(r->cache, r->cap * sizeof(*r->cache));
	}
	r->cache[r->ncache++] = (struct cached){ id, s, NULL };
	r->last = r->ncache - 1;
}

static struct cached *cache_entry(struct pn_registry *r, uint32_t id)
{
	if (r->ncache && r->cache[r->last].id == id)
		return &r->cache[r->last];
	for (int i = 0; i < r->ncache; i++)
		if (r->cache[i].id == id) {
			r->last = i;
			return &r->cache[i];
		}
	return NULL;
}

static const struct pn_avro_schema *cache_find(struct pn_registry *r, uint32_t id)
{
	struct cached *e = cache_entry(r, id);

	return e ? e->schema : NULL;
}

/* Compiles the "schema" of an answer and caches it under id. */
static int take_schema(struct pn_registry *r, json_t *ans, uint32_t id,
		       const struct pn_avro_schema **out, const char *what)
{
	const char *text = json_string_value(json_object_get(ans, "schema"));
	const char *type = json_string_value(json_object_get(ans, "schemaType"));
	struct pn_buf why = PN_BUF_INIT;
	struct pn_avro_schema *s;

	if ((*out = cache_find(r, id)))
		return 0;
	if (type && strcmp(type, "AVRO"))
		return failed(r, PN_EX_DATAERR, "cannot %s: schema %u is %s, not Avro", what,
			      (unsigned)id, type);
	if (!text)
		return failed(r, PN_EX_UNAVAILABLE, "cannot %s: the answer has no schema", what);
	s = pn_avro_schema_new(text, strlen(text), &why);
	if (!s) {
		failed(r, PN_EX_DATAERR, "cannot %s: schema %u: %s", what, (unsigned)id, why.data);
		pn_buf_release(&why);
		return PN_EX_DATAERR;
	}
	cache_add(r, id, s);
	*out = s;
	return 0;
}

int pn_registry_latest(struct pn_registry *r, const char *subject, uint32_t *id,
		       const struct pn_avro_schema **s)
{
	char *path = subject_path(r, subject, "/versions/latest"), what[300];
	json_t *ans;
	int status;

	snprintf(what, sizeof(what), "read the latest schema of subject '%s'", subject);
	status = request(r, path, NULL, &ans, what);
	if (!status && !ans)
		status = client_error(r, what);
	if (!status)
		status = get_id(r, ans, id, what);
	if (!status)
		status = take_schema(r, ans, *id, s, what);
	json_decref(ans);
	free(path);
	return status;
}

int pn_registry_schema(struct pn_registry *r, uint32_t id, const struct pn_avro_schema **s)
{
	char path[64], what[64];
	json_t *ans;
	int status;

	struct cached *e = cache_entry(r, id);

	*s = NULL;
	if (e && e->schema) {
		*s = e->schema;
		return 0;
	}
	if (e) {
		/* an id the registry did not know: asked once, not per message */
		pn_buf_reset(&r->why);
		pn_buf_adds(&r->why, e->missing);
		return PN_EX_DATAERR;
	}
	snprintf(path, sizeof(path), "/schemas/ids/%u", (unsigned)id);
	snprintf(what, sizeof(what), "read schema %u", (unsigned)id);
	status = request(r, path, NULL, &ans, what);
	if (!status && !ans) {
		status = client_error(r, what);
		if (status == PN_EX_DATAERR) {
			cache_add(r, id, NULL);
			r->cache[r->ncache - 1].missing = pn_strdup(r->why.data);
		}
	}
	if (!status)
		status = take_schema(r, ans, id, s, what);
	json_decref(ans);
	return status;
}
