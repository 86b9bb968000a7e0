/* Unit tests for common/pn_stats.h: the --stats line and the --metrics
 * file made of the same counters. */
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
	CHECK(w->n == 0 && w->nlabels == 0, "%s: not emptied", what);
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

static void test_prometheus(void)
{
	struct pn_stats w = PN_STATS_INIT;
	struct pn_buf got = PN_BUF_INIT;
	const char *line;
	static const char want[] =
		"# HELP pn_x_y_records_total records, as in pn-x-y --stats\n"
		"# TYPE pn_x_y_records_total counter\n"
		"pn_x_y_records_total{topic=\"a\\\"b\\\\c\\nd\",group=\"g\"} 12\n"
		"# HELP pn_x_y_groups groups, as in pn-x-y --stats\n"
		"# TYPE pn_x_y_groups gauge\n"
		"pn_x_y_groups{topic=\"a\\\"b\\\\c\\nd\",group=\"g\"} 3\n"
		"# HELP pn_x_y_seconds seconds, as in pn-x-y --stats\n"
		"# TYPE pn_x_y_seconds gauge\n"
		"pn_x_y_seconds{topic=\"a\\\"b\\\\c\\nd\",group=\"g\"} 1.500\n";

	pn_stats_label(&w, "topic", "a\"b\\c\nd");
	pn_stats_label(&w, "group", "g");
	pn_stats_label(&w, "none", NULL);
	pn_stats_u64(&w, "records", 12);
	pn_stats_gauge(&w, "groups", 3);
	pn_stats_double(&w, "seconds", 1.5);
	pn_stats_prometheus(&w, "pn-x-y", &got);
	CHECK_MEM(got.data, got.len, want, strlen(want), "labels escaped, kinds, names");

	pn_buf_reset(&got);
	pn_stats_json(&w, &got);
	line = "{\"records\":12,\"groups\":3,\"seconds\":1.500}\n";
	CHECK_MEM(got.data, got.len, line, strlen(line),
		  "the same counters as JSON, without the labels");
	check_end(&w, "{\"records\":12,\"groups\":3,\"seconds\":1.500}\n", "and on stderr");

	pn_buf_reset(&got);
	pn_stats_u64(&w, "n", 1);
	pn_stats_prometheus(&w, "pn-z", &got);
	line = "# HELP pn_z_n_total n, as in pn-z --stats\n"
	       "# TYPE pn_z_n_total counter\npn_z_n_total 1\n";
	CHECK_MEM(got.data, got.len, line, strlen(line), "no labels: no braces");
	w.n = 0;
	pn_buf_release(&got);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_line();
	test_prometheus();
	unit_tmpdir_remove();
	return unit_done();
}
