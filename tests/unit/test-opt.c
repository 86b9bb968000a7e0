/* Unit tests for common/pn_opt.h: every kind of entry lands in its
 * destination, getopt's permutation leaves the operands, and --help lines
 * up its columns.  The error paths exit (64): tests/t0100 runs them. */
#include <getopt.h>

#include "pn_opt.h"
#include "pn_stats.h"
#include "unit.h"

struct opts {
	int flag;
	const char *name;
	int32_t small;
	int64_t big;
	uint64_t size;
	int64_t duration_ms, time_ms;
	char **list;
	int nlist;
	int calls;
	struct pn_stats_opts stats;
};

static const struct pn_opt *seen;

static void count_call(const struct pn_opt *opt, const char *arg)
{
	struct opts *o = opt->dest;

	o->calls += opt->value;
	CHECK(arg && !strcmp(arg, "x"), "callback argument '%s'", arg ? arg : "(null)");
}

static const struct pn_opt_text text = {
	.usage = "usage: test-opt [options] FILE...\n",
	.about = "Test the option table.\n",
	.epilog = "Exit status: 0.\n",
};

static void fill(struct pn_opt *table, size_t n, struct opts *o)
{
	const struct pn_opt options[] = {
		PN_OPT_FLAG('f', "flag", "a flag", &o->flag, .seen = &seen),
		PN_OPT_STRING('n', "name", "NAME", "a name", &o->name, .min = 1),
		PN_OPT_INT(0, "small", "N", "an int32_t", &o->small, 0, INT32_MAX),
		PN_OPT_INT(0, "big", "N", "an int64_t", &o->big, INT64_MIN, INT64_MAX),
		PN_OPT_SIZE(0, "size", "SIZE", "a size", &o->size, 1),
		PN_OPT_DURATION(0, "duration", "D", "a duration", &o->duration_ms, 0),
		PN_OPT_TIME(0, "time", "T", "a time", &o->time_ms),
		PN_OPT_LIST('l', "list", "ITEM", "a list", &o->list, &o->nlist),
		PN_OPT_CALLBACK('c', "call", "X", "a callback with a help text long enough to be "
			       "wrapped over more than one line of the help", count_call, o, 2),
		PN_OPT_STATS(&o->stats),
		PN_OPT_END,
	};

	CHECK(NELEM(options) <= n, "table of %zu entries", NELEM(options));
	memcpy(table, options, sizeof(options));
}

static void test_kinds(void)
{
	char *argv[] = { "test-opt", "-f", "a", "--name=n1", "--small", "2147483647", "--big",
			 "-5", "--size", "64k", "--duration", "10m", "--time",
			 "2026-11-01T00:00:01Z", "-l", "one", "b", "--list", "two", "-c", "x",
			 "-cx", NULL };
	int argc = NELEM(argv) - 1, first;
	struct pn_opt table[16];
	struct opts o = { 0 };

	fill(table, NELEM(table), &o);
	optind = 1;
	first = pn_opt_parse(argc, argv, table, &text);
	CHECK(o.flag == 1 && seen == &table[0], "flag %d", o.flag);
	CHECK(o.name && !strcmp(o.name, "n1"), "name");
	CHECK_I64(o.small, INT32_MAX, "int32_t");
	CHECK_I64(o.big, -5, "int64_t");
	CHECK_I64((int64_t)o.size, 65536, "size");
	CHECK_I64(o.duration_ms, 600000, "duration");
	CHECK_I64(o.time_ms, 1793491201000LL, "time");
	CHECK(o.nlist == 2 && !strcmp(o.list[0], "one") && !strcmp(o.list[1], "two"), "list");
	CHECK_I64(o.calls, 4, "callback twice, with its value");
	CHECK(first == argc - 2 && !strcmp(argv[first], "a") && !strcmp(argv[first + 1], "b"),
	      "operands after the options");
	free(o.list);
}

/* The help of fill()'s table, as the program would print it (glibc lets
 * stdout be reassigned). */
static char *help_text(void)
{
	struct pn_opt table[16];
	struct opts o = { 0 };
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size), *saved = stdout;

	fill(table, NELEM(table), &o);
	stdout = f;
	pn_opt_help(table, &text);
	stdout = saved;
	fclose(f);
	return buf;
}

static void test_help(void)
{
	char *help = help_text();
	static const char want[] =
		"usage: test-opt [options] FILE...\n"
		"\n"
		"Test the option table.\n"
		"\n"
		"  -f, --flag                  a flag\n"
		"  -n, --name NAME             a name\n"
		"      --small N               an int32_t\n"
		"      --big N                 an int64_t\n"
		"      --size SIZE             a size\n"
		"      --duration D            a duration\n"
		"      --time T                a time\n"
		"  -l, --list ITEM             a list\n"
		"  -c, --call X                a callback with a help text long enough to be\n"
		"                              wrapped over more than one line of the help\n"
		"      --stats                 print counters as JSON on stderr at the end\n"
		"      --stats-interval D      print them every D too, and at the end\n"
		"      --metrics FILE          rewrite them as Prometheus text in FILE every\n"
		"                              --stats-interval (default 10s) and at the end\n"
		"\n"
		"Exit status: 0.\n";

	CHECK_MEM(help, strlen(help), want, strlen(want), "--help");
	free(help);
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_kinds();
	test_help();
	return unit_done();
}
