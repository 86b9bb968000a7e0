/*
 * pn_stats — a program's counters, as three outputs of one list: the line
 * of --stats at the end, the lines of --stats-interval while it runs, and
 * the Prometheus text file of --metrics.
 *
 * The list is made by the program, in the order it is printed:
 *
 *	struct pn_stats w = PN_STATS_INIT;
 *
 *	pn_stats_label(&w, "topic", "pings");	(the metrics file only)
 *	pn_stats_u64(&w, "records", n);
 *	pn_stats_double(&w, "seconds", seconds);
 *	pn_stats_end(&w);	-> {"records":12,"seconds":0.042}
 *
 * and in the metrics file, for pn-consume:
 *
 *	# HELP pn_consume_records_total records, as in pn-consume --stats
 *	# TYPE pn_consume_records_total counter
 *	pn_consume_records_total{topic="pings"} 12
 *
 * Keys and label names are the caller's literals, written as they are (no
 * escaping): a name of letters, digits and '_'.  Label values are escaped.
 * A line is written with one call, so it does not mix with other
 * programs' lines on a shared stderr.  The strings are not copied: they
 * must outlive the struct pn_stats.
 *
 * A long-running program keeps a struct pn_stats_live, which calls the
 * program back for the list whenever it is due (pn_stats_live_at, at
 * points where the program looks at the clock anyway) and at the end.
 */
#ifndef PN_STATS_H
#define PN_STATS_H

#include <stdint.h>

#include "pn_buf.h"
#include "pn_opt.h"

enum pn_stats_kind {
	PN_STATS_COUNTER,	/* only grows over a run: name_total, counter */
	PN_STATS_GAUGE,		/* what is held now (groups): gauge */
	PN_STATS_SECONDS,	/* a double, three decimals: gauge */
};

enum { PN_STATS_MAX = 24, PN_STATS_MAX_LABELS = 4 };

struct pn_stats_item {
	const char *key;
	enum pn_stats_kind kind;
	uint64_t n;
	double v;		/* PN_STATS_SECONDS */
};

struct pn_stats {
	struct pn_stats_item items[PN_STATS_MAX];
	int n;
	const char *labels[PN_STATS_MAX_LABELS][2];	/* name, value */
	int nlabels;
};

#define PN_STATS_INIT { .n = 0 }

void pn_stats_u64(struct pn_stats *w, const char *key, uint64_t n);
/* What the program holds now rather than a count since its start. */
void pn_stats_gauge(struct pn_stats *w, const char *key, uint64_t n);
/* With three decimals: the seconds a run took. */
void pn_stats_double(struct pn_stats *w, const char *key, double v);
/* A label of every metric in the metrics file (value NULL: none). */
void pn_stats_label(struct pn_stats *w, const char *name, const char *value);
/* The JSON object and its '\n', appended to out. */
void pn_stats_json(const struct pn_stats *w, struct pn_buf *out);
/* The Prometheus text exposition of the counters, appended to out; the
 * names are the program's name with '_' for '-', then the key. */
void pn_stats_prometheus(const struct pn_stats *w, const char *program, struct pn_buf *out);
/* Prints the JSON line on stderr and empties the list. */
void pn_stats_end(struct pn_stats *w);

/* --stats, --stats-interval and --metrics. */
struct pn_stats_opts {
	int at_end;		/* --stats */
	int64_t interval_ms;	/* --stats-interval; 0: not given */
	const char *metrics_path;	/* --metrics */
};

/* --metrics alone rewrites its file this often. */
enum { PN_STATS_METRICS_INTERVAL_MS = 10000 };

/* The options' entries, into the struct pn_stats_opts at to; extra
 * designated initializers (.seen) go to --stats-interval and --metrics. */
#define PN_OPT_STATS(to, ...) \
	PN_OPT_FLAG(0, "stats", "print counters as JSON on stderr at the end", \
		    &(to)->at_end), \
	PN_OPT_DURATION(0, "stats-interval", "D", "print them every D too, and at the end", &(to)->interval_ms, 10, \
			.bad = "bad --stats-interval '%s'", __VA_ARGS__), \
	PN_OPT_STRING(0, "metrics", "FILE", "rewrite them as Prometheus text in FILE every " \
		      "--stats-interval (default 10s) and at the end", \
		      &(to)->metrics_path, .min = 1, __VA_ARGS__)

/* Makes the list of counters: seconds since the program started. */
typedef void pn_stats_fill_fn(void *arg, struct pn_stats *w, double seconds);

struct pn_stats_live {
	const struct pn_stats_opts *o;
	pn_stats_fill_fn *fill;
	void *arg;
	long long started_ms;
	long long next_ms;	/* the next periodic output; -1: none */
	int64_t every_ms;
	int failing;		/* the metrics file could not be written */
	struct pn_buf buf;
};

/*
 * Starts the clock.  With --metrics, checks that FILE's directory takes a
 * file, else ends the program (74), so that a typo shows at once.
 */
void pn_stats_live_init(struct pn_stats_live *l, const struct pn_stats_opts *o,
			pn_stats_fill_fn *fill, void *arg);
/* The output that is due: the JSON line, the metrics file. */
void pn_stats_live_emit(struct pn_stats_live *l, long long now);
/* At a point that knows the time (pn_now_ms): emits if due.  Cheap, for
 * loops that look at the clock anyway; a hot loop calls it every N records. */
static inline void pn_stats_live_at(struct pn_stats_live *l, long long now)
{
	if (l->next_ms >= 0 && now >= l->next_ms)
		pn_stats_live_emit(l, now);
}
void pn_stats_live_check(struct pn_stats_live *l);
/* When the next output is due (pn_now_ms), for a wait on input; -1: never. */
static inline long long pn_stats_live_deadline(const struct pn_stats_live *l)
{
	return l->next_ms;
}
/* The last output: the JSON line with --stats or --stats-interval, the
 * metrics file; then frees what l holds. */
void pn_stats_live_end(struct pn_stats_live *l);

#endif
