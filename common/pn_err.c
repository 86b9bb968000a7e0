#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pn_buf.h"
#include "pn_err.h"

int pn_verbosity = 1;
static const char *progname = "pn";

void pn_set_progname(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	progname = slash ? slash + 1 : argv0;
}

const char *pn_progname(void)
{
	return progname;
}

void pn_verror(const char *prefix, const char *fmt, va_list ap)
{
	/* One fprintf-built line, so concurrent programs on one terminal don't interleave mid-line. */
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s: %s", progname, prefix);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void pn_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pn_verror("", fmt, ap);
	va_end(ap);
}

void pn_warn(const char *fmt, ...)
{
	va_list ap;

	if (pn_verbosity < 1)
		return;
	va_start(ap, fmt);
	pn_verror("warning: ", fmt, ap);
	va_end(ap);
}

void pn_info(const char *fmt, ...)
{
	va_list ap;

	if (pn_verbosity < 2)
		return;
	va_start(ap, fmt);
	pn_verror("", fmt, ap);
	va_end(ap);
}

void pn_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pn_verror("", fmt, ap);
	va_end(ap);
	exit(status);
}

void pn_error_at(const char *input, unsigned long long line, const char *fmt, ...)
{
	char prefix[1024];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "error (at %s:%llu): ", input, line);
	va_start(ap, fmt);
	pn_verror(prefix, fmt, ap);
	va_end(ap);
}

void *pn_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		pn_die(PN_EX_FAILED, "out of memory allocating %zu bytes", n);
	return p;
}

void *pn_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		pn_die(PN_EX_FAILED, "out of memory allocating %zu bytes", n);
	return q;
}

char *pn_strdup(const char *s)
{
	return pn_strndup(s, strlen(s));
}

char *pn_strndup(const char *s, size_t n)
{
	char *p = pn_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void pn_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pn_verror("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s", usage);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	exit(PN_EX_USAGE);
}

char *pn_url_redact(const char *url)
{
	const char *host = strstr(url, "://"), *at = NULL;
	struct pn_buf b = PN_BUF_INIT;

	host = host ? host + 3 : url;
	for (const char *p = host; *p && !strchr("/?#", *p); p++)
		if (*p == '@')
			at = p;
	if (!at)
		return pn_strdup(url);
	pn_buf_add(&b, url, host - url);
	pn_buf_adds(&b, "***");
	pn_buf_adds(&b, at);
	return pn_buf_detach(&b, NULL);
}
