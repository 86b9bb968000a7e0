/* Unit tests for common/pn_stats.h: the --stats line. */
#include <fcntl.h>
#include <unistd.h>

#include "pn_io.h"
#include "pn_stats.h"
#include "unit.h"

/* What pn_stats_end() writes on stderr, caught in a file. */
static void check_end(struct pn_stats *w, const char *want, const char *what)
{
	struct pn_buf path = PN_BUF_INIT, got = PN_BUF_INIT;
	int saved = dup(STDERR_FILENO), fd;

	pn_buf_addf(&path, "%s/stderr", unit_tmpdir());
	fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && saved >= 0, "cannot catch stderr");
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	pn_stats_end(w);
	dup2(saved, STDERR_FILENO);
	close(saved);
	CHECK(pn_read_file(path.data, &got) == 0, "cannot read %s", path.data);
	CHECK_MEM(got.data, got.len, want, strlen(want), "%s", what);
	CHECK(w->buf.data == NULL && w->buf.len == 0, "%s: not freed", what);
	pn_buf_release(&path);
	pn_buf_release(&got);
}

static void test_line(void)
{
	struct pn_stats w = PN_STATS_INIT;

	pn_stats_u64(&w, "records", 12);
	pn_stats_u64(&w, "zero", 0);
	pn_stats_u64(&w, "max", UINT64_MAX);
	pn_stats_double(&w, "seconds", 0.0424);
	check_end(&w, "{\"records\":12,\"zero\":0,\"max\":18446744073709551615,"
		      "\"seconds\":0.042}\n", "counters in order, one line");

	pn_stats_double(&w, "seconds", 1234.5);
	check_end(&w, "{\"seconds\":1234.500}\n", "a double alone, three decimals");

	check_end(&w, "{}\n", "nothing added: an empty object");
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_line();
	unit_tmpdir_remove();
	return unit_done();
}
