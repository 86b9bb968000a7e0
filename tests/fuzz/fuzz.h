/*
 * fuzz.h — what pn's libFuzzer targets (tests/fuzz/fuzz-*.c) share.
 *
 * Each target feeds one parser of outside data through the library's own
 * entry points, and must neither leak nor exit: libFuzzer reports an
 * exit() as a crash, LeakSanitizer a leak.  Parsers that read files get
 * the input through a file in a private temp directory, made at the first
 * call and removed at exit.  Messages of the library go to stderr, which
 * scripts/fuzz.sh discards (-close_fd_mask=2).
 */
#ifndef PN_FUZZ_H
#define PN_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pn_err.h"
#include "pn_io.h"

/* A copy of the n bytes in a block of exactly n bytes, so AddressSanitizer
 * sees any read past the end (libFuzzer's own buffer is exact too, but the
 * targets cut it in pieces). */
static inline char *fuzz_exact(const void *p, size_t n)
{
	char *c = malloc(n ? n : 1);

	if (!c)
		abort();
	if (n)
		memcpy(c, p, n);
	return c;
}

static char fuzz_dir_path[64];

static void fuzz_dir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir_path);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fuzz_dir_path);
}

/* The private temp directory, made on the first call. */
static inline const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/pn-fuzz.XXXXXX",
			 t && *t && strlen(t) < 40 ? t : "/tmp");
		if (!mkdtemp(fuzz_dir_path))
			abort();
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

/* The path of `name` in the temp directory, in a static buffer. */
static inline const char *fuzz_path(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	return path;
}

/* Writes the n bytes of p to the temp file `name`; its path. */
static inline const char *fuzz_file(const char *name, const void *p, size_t n)
{
	const char *path = fuzz_path(name);
	FILE *f = fopen(path, "wb");

	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f))
		abort();
	return path;
}

/* The source tree, for schemas: $PN_SRC, else the working directory. */
static inline const char *fuzz_src(void)
{
	const char *s = getenv("PN_SRC");

	return s && *s ? s : ".";
}

#endif
