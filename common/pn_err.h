/*
 * pn_err — the one error vocabulary of every pn program.
 *
 * Messages go to stderr prefixed with the program name, err(3)-style, in
 * git's tone: lower case, no full stop, what failed first, the subject
 * quoted.  Data errors carry their position as jq does:
 *     pn-produce: error (at pings.ndjson:1234): not a JSON object
 * Exit codes are the shared table of DESIGN.md; every man page repeats it.
 * Nothing here writes to stdout: stdout carries records only.
 */
#ifndef PN_ERR_H
#define PN_ERR_H

#include <stdarg.h>

enum pn_exit {
	PN_EX_OK = 0,		/* done */
	PN_EX_FAILED = 1,	/* finished, but some records failed or a service broke */
	PN_EX_USAGE = 64,	/* bad command line */
	PN_EX_DATAERR = 65,	/* bad input data */
	PN_EX_UNAVAILABLE = 69,	/* a service is unavailable */
	PN_EX_IOERR = 74,	/* I/O error on output */
	PN_EX_TEMPFAIL = 75,	/* temporary failure, worth a retry */
	PN_EX_CONFIG = 78,	/* bad configuration */
};

/* Verbosity: 0 with -q (errors only), 1 by default, 2+ with -v. */
extern int pn_verbosity;

/* Sets the name that prefixes every message; call first in main(). */
void pn_set_progname(const char *argv0);
const char *pn_progname(void);

/* "pn-x: <message>" on stderr; always shown. */
void pn_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pn-x: warning: <message>"; hidden by -q. */
void pn_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "pn-x: <message>"; shown only with -v. */
void pn_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* pn_error(), then exit with the given status. */
void pn_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* "pn-x: error (at NAME:LINE): <message>", the position of a data error. */
void pn_error_at(const char *input, unsigned long long line, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));
void pn_verror(const char *prefix, const char *fmt, va_list ap);

/*
 * A URL fit for a message: its userinfo (user:password@), which may hold a
 * secret, becomes "***@"; anything else is kept.  Malloc'ed.  No pn
 * message prints a URL from the command line or a file any other way.
 */
char *pn_url_redact(const char *url);

/* Checked allocation: on failure the program dies with status 1. */
void *pn_malloc(size_t n);
void *pn_realloc(void *p, size_t n);
char *pn_strdup(const char *s);
char *pn_strndup(const char *s, size_t n);

/*
 * A usage error: one line of reason and the short usage on stderr, exit 64.
 * `usage` is the program's short synopsis.
 */
void pn_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

#endif
