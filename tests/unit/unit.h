/*
 * unit.h — the few helpers pn's C unit tests share; no framework.
 *
 *   CHECK(cond, fmt, ...)   counts a failure and prints
 *                           "FAIL file:line: cond: message" to stderr
 *   TODO(cond, fmt, ...)    a known breakage: prints "TODO file:line: ..."
 *                           while cond is false, "FIXED ..." once it holds;
 *                           neither counts as a failure (see unit_done)
 *   CHECK_MEM(got, gotlen, want, wantlen, fmt, ...)
 *   CHECK_I64(got, want, fmt, ...)
 *                           the same, showing both sides on failure
 *   unit_tmpdir_make(), unit_tmpdir_remove()
 *                           a directory for the test's files
 *
 * main() calls unit_init(argc, argv) first and returns unit_done().  The
 * exit status is 1 if any CHECK failed; with --todo it is also 1 while a
 * TODO is still broken, so tests/t0001-unit.sh can list known breakages
 * with test_expect_failure.
 */
#ifndef PN_UNIT_H
#define PN_UNIT_H

#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNUSED __attribute__((unused))
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *unit_name = "unit";
static int unit_todo_mode;
static int unit_checks, unit_failed, unit_broken, unit_fixed;

static UNUSED void unit_init(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');

	unit_name = slash ? slash + 1 : argv[0];
#ifdef M_PERTURB
	/* glibc: fill fresh allocations with 0xbe, as ASan does, so that
	 * reading memory nobody wrote shows the same junk on every run */
	mallopt(M_PERTURB, 0xbe ^ 0xff);
#endif
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--todo")) {
			unit_todo_mode = 1;
		} else {
			fprintf(stderr, "usage: %s [--todo]\n", unit_name);
			exit(2);
		}
	}
}

static UNUSED __attribute__((format(printf, 5, 6))) int
unit_report(const char *tag, const char *file, int line, const char *expr,
	    const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s:%d: %s", tag, file, line, expr);
	if (fmt && *fmt) {
		fputs(": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	return 0;
}

#define CHECK(cond, ...)                                                    \
	(unit_checks++, (cond) ? 1 :                                        \
	 (unit_failed++, unit_report("FAIL", __FILE__, __LINE__, #cond, __VA_ARGS__)))

#define TODO(cond, ...)                                                     \
	((cond) ? (unit_fixed++,                                            \
		   unit_report("FIXED (turn this TODO into a CHECK)",       \
			       __FILE__, __LINE__, #cond, __VA_ARGS__), 1) : \
		  (unit_broken++,                                           \
		   unit_report("TODO (known breakage)", __FILE__, __LINE__, \
			       #cond, __VA_ARGS__)))

/* A printable rendering of arbitrary bytes, for messages; static storage,
 * four slots so that one message can show several values. */
static UNUSED const char *unit_show(const void *p, size_t n)
{
	static char slot[4][512];
	static int which;
	char *out = slot[which = (which + 1) % 4];
	const unsigned char *u = p;
	size_t o = 0;

	if (!p)
		return "(null)";
	out[o++] = '"';
	for (size_t i = 0; i < n && o < sizeof(slot[0]) - 8; i++) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '"' && u[i] != '\\') {
			out[o++] = u[i];
		} else if (u[i] == '"' || u[i] == '\\') {
			out[o++] = '\\';
			out[o++] = u[i];
		} else
			o += snprintf(out + o, 5, "\\x%02x", u[i]);
	}
	if (o >= sizeof(slot[0]) - 8)
		o += snprintf(out + o, 5, "...");
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* Equal byte strings; either pointer may be NULL when its length is 0. */
static UNUSED int unit_memeq(const void *a, size_t an, const void *b, size_t bn)
{
	return an == bn && (an == 0 || !memcmp(a, b, an));
}

#define CHECK_MEM(got, gotlen, want, wantlen, fmt, ...)                     \
	do {                                                                \
		const void *g_ = (got), *w_ = (want);                       \
		size_t gl_ = (gotlen), wl_ = (wantlen);                     \
		CHECK(unit_memeq(g_, gl_, w_, wl_),                         \
		      fmt ": got %s, want %s", ##__VA_ARGS__,               \
		      unit_show(g_, gl_), unit_show(w_, wl_));              \
	} while (0)

#define CHECK_I64(got, want, fmt, ...)                                      \
	do {                                                                \
		int64_t g_ = (got), w_ = (want);                            \
		CHECK(g_ == w_, fmt ": got %" PRId64 ", want %" PRId64,     \
		      ##__VA_ARGS__, g_, w_);                               \
	} while (0)

/* A copy of n bytes in a block of exactly n bytes (no NUL after it), so
 * AddressSanitizer catches any read past the end.  free() it. */
static UNUSED char *unit_exact(const void *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (!c) {
		perror("malloc");
		exit(2);
	}
	memcpy(c, p, n);
	return c;
}

/* A small deterministic PRNG (xorshift64*) so random tests repeat. */
static uint64_t unit_rng_state = 0x9e3779b97f4a7c15ULL;

static UNUSED uint64_t unit_rand(void)
{
	uint64_t x = unit_rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	unit_rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform enough in [0, n) for tests. */
static UNUSED size_t unit_below(size_t n)
{
	return n ? (size_t)(unit_rand() % n) : 0;
}

/* A fresh directory for a test's files, pn-<test>.XXXXXX under $TMPDIR
 * (t0001 points it at its trash directory) or /tmp, and its removal. */
static char unit_tmpdir[4096];

static UNUSED const char *unit_tmpdir_make(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(unit_tmpdir, sizeof(unit_tmpdir), "%s/pn-%s.XXXXXX", t && *t ? t : "/tmp",
		 unit_name);
	if (!mkdtemp(unit_tmpdir)) {
		perror(unit_tmpdir);
		exit(2);
	}
	return unit_tmpdir;
}

static UNUSED void unit_tmpdir_remove(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", unit_tmpdir);
}

static UNUSED int unit_done(void)
{
	fprintf(stderr, "%s: %d checks, %d failed, %d known breakage(s)%s\n",
		unit_name, unit_checks, unit_failed, unit_broken,
		unit_fixed ? ", some TODOs now pass" : "");
	if (unit_failed)
		return 1;
	return unit_todo_mode && unit_broken ? 1 : 0;
}

#endif
