/*
 * pn_opt — every option of a program declared once, in one table.
 *
 * A program lists its options as an array of struct pn_opt written with
 * the PN_OPT_* macros (git's parse-options): short and long name, the
 * argument's name, the help line, the kind of value and where it goes,
 * usually a field of the program's struct opts.  From that table
 * pn_opt_parse() builds the getopt_long tables, parses argv and checks
 * every value with pn_num's parsers, and pn_opt_help() prints --help; the
 * man pages are checked against the same --help by tests/t0100.
 *
 * Invariants: every option has a long name; the table ends with
 * PN_OPT_END.  A bad value is one line of reason and the short usage on
 * stderr, exit 64; --help goes to stdout, exit 0.  Given twice, an option's
 * last value wins, except lists and callbacks, which see every one.
 * Options shared by several programs are written once: PN_OPT_COMMON
 * (-q, -v, -h, -V) and PN_OPT_REJECT here, PN_OPT_STATS (--stats,
 * --stats-interval, --metrics) in pn_stats.h, the Kafka ones in pn_kafka.h.
 */
#ifndef PN_OPT_H
#define PN_OPT_H

#include <stddef.h>
#include <stdint.h>

#include "pn_err.h"

enum pn_opt_kind {
	PN_OPT_KIND_END,
	PN_OPT_KIND_FLAG,	/* int: set to .value */
	PN_OPT_KIND_STRING,	/* const char *: the argument, at least .min bytes long */
	PN_OPT_KIND_INT,	/* int32_t, int64_t or uint64_t: a decimal in [.min, .max] */
	PN_OPT_KIND_SIZE,	/* uint64_t: bytes (64k, 16M) in [.min, .max as unsigned] */
	PN_OPT_KIND_DURATION,	/* int64_t: milliseconds (500ms, 1s, 28d) in [.min, .max] */
	PN_OPT_KIND_TIME,	/* int64_t: ms since the epoch (epoch ms or ISO 8601) */
	PN_OPT_KIND_LIST,	/* char **, *.count elements: each argument appended */
	PN_OPT_KIND_CALLBACK,	/* .fn(opt, arg) takes it */
	PN_OPT_KIND_HELP,	/* prints --help and exits 0 */
};

struct pn_opt;
/* Takes one occurrence of a special option; arg is NULL for one without an
 * argument.  A bad value ends the program with pn_usage_error(). */
typedef void pn_opt_fn(const struct pn_opt *opt, const char *arg);

struct pn_opt {
	enum pn_opt_kind kind;
	char short_name;		/* 0: none */
	const char *long_name;
	const char *arg_name;		/* NULL: the option takes no argument */
	const char *help;		/* one sentence; --help wraps it */
	void *dest;
	size_t dest_size;		/* PN_OPT_KIND_INT: sizeof *dest, 4 or 8 */
	int *count;			/* PN_OPT_KIND_LIST: the elements in *dest */
	int64_t min, max;		/* bounds of the value (a string's length) */
	int value;			/* FLAG: what to set; CALLBACK: fn's to use */
	pn_opt_fn *fn;
	/* Optional, given as extra designated initializers to the macros: */
	const char *bad;		/* format of the error for a bad value, one %s
					 * for the value; default: by kind */
	const struct pn_opt **seen;	/* set to this entry whenever it is given */
};

/* The texts of a program's usage error and --help around the table. */
struct pn_opt_text {
	const char *usage;	/* the synopsis, "usage: ..." lines, each with its \n */
	const char *about;	/* what the program does, before the options */
	const char *epilog;	/* after the options: exit status, signals, ... */
};

/*
 * Parses the options of argv from optind on (GNU getopt permutes, so
 * operands may come first) and returns the index of the first operand.
 * Ends the program on a usage error (64), -h (0) and -V (0).
 */
int pn_opt_parse(int argc, char **argv, const struct pn_opt *options,
		 const struct pn_opt_text *text);

/* --help: the usage, the about text, the options in aligned columns, the
 * epilog; on stdout. */
void pn_opt_help(const struct pn_opt *options, const struct pn_opt_text *text);

/* Callbacks of the common options, for the table macros. */
pn_opt_fn pn_opt_verbose, pn_opt_version;

/*
 * The entries.  Extra designated initializers may follow the fixed
 * arguments, for .bad and .seen:
 *     PN_OPT_INT('p', "partition", "N", "send every record to partition N",
 *                &o->partition, 0, INT32_MAX, .bad = "bad partition '%s'"),
 * The casts through compound literals make a destination of the wrong
 * type a compiler warning.
 */
#define PN_OPT_FLAG(s, l, h, to, ...) \
	{ .kind = PN_OPT_KIND_FLAG, .short_name = (s), .long_name = (l), .help = (h), \
	  .dest = (int *){ (to) }, .value = 1, __VA_ARGS__ }
#define PN_OPT_STRING(s, l, a, h, to, ...) \
	{ .kind = PN_OPT_KIND_STRING, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .help = (h), .dest = (const char **){ (to) }, __VA_ARGS__ }
#define PN_OPT_INT(s, l, a, h, to, lo, hi, ...) \
	{ .kind = PN_OPT_KIND_INT, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .help = (h), .dest = (to), .dest_size = sizeof(*(to)), .min = (lo), \
	  .max = (hi), __VA_ARGS__ }
#define PN_OPT_SIZE(s, l, a, h, to, lo, ...) \
	{ .kind = PN_OPT_KIND_SIZE, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .help = (h), .dest = (uint64_t *){ (to) }, .min = (lo), .max = -1, __VA_ARGS__ }
#define PN_OPT_DURATION(s, l, a, h, to, lo, ...) \
	{ .kind = PN_OPT_KIND_DURATION, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .help = (h), .dest = (int64_t *){ (to) }, .min = (lo), .max = INT64_MAX, \
	  __VA_ARGS__ }
#define PN_OPT_TIME(s, l, a, h, to, ...) \
	{ .kind = PN_OPT_KIND_TIME, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .help = (h), .dest = (int64_t *){ (to) }, __VA_ARGS__ }
#define PN_OPT_LIST(s, l, a, h, to, n, ...) \
	{ .kind = PN_OPT_KIND_LIST, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .help = (h), .dest = (char ***){ (to) }, .count = (n), __VA_ARGS__ }
/* a: the argument's name, or NULL for an option without one */
#define PN_OPT_CALLBACK(s, l, a, h, f, to, v, ...) \
	{ .kind = PN_OPT_KIND_CALLBACK, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .help = (h), .fn = (f), .dest = (to), .value = (v), __VA_ARGS__ }
#define PN_OPT_END { .kind = PN_OPT_KIND_END }

/* Shared entries. */
/* what: what goes to the file, "bad lines" */
#define PN_OPT_REJECT(to, what, ...) \
	PN_OPT_STRING(0, "reject", "FILE", "append " what " to FILE and go on", to, __VA_ARGS__)
/* How the table of a program that reads records ends: --reject, the
 * --stats options (stats_to: a struct pn_stats_opts *, pn_stats.h), the
 * common entries and the end. */
#define PN_OPT_READER_END(reject_to, what, stats_to) \
	PN_OPT_REJECT(reject_to, what), PN_OPT_STATS(stats_to), PN_OPT_COMMON, PN_OPT_END
/* The last entries of every table: -q, -v, -h, -V. */
#define PN_OPT_COMMON \
	{ .kind = PN_OPT_KIND_FLAG, .short_name = 'q', .long_name = "quiet", \
	  .help = "errors only", .dest = &pn_verbosity, .value = 0 }, \
	PN_OPT_CALLBACK('v', "verbose", NULL, "more messages (repeatable)", pn_opt_verbose, \
			NULL, 0), \
	{ .kind = PN_OPT_KIND_HELP, .short_name = 'h', .long_name = "help", \
	  .help = "this help" }, \
	PN_OPT_CALLBACK('V', "version", NULL, "versions of pn and its libraries", \
			pn_opt_version, NULL, 0)

#endif
