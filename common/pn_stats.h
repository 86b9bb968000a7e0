/*
 * pn_stats — the one line of --stats: counters as a JSON object on stderr,
 * in the order they are added:
 *
 *	struct pn_stats w = PN_STATS_INIT;
 *
 *	pn_stats_u64(&w, "records", n);
 *	pn_stats_double(&w, "seconds", seconds);
 *	pn_stats_end(&w);	-> {"records":12,"seconds":0.042}
 *
 * Keys are the caller's literals, written as they are (no escaping): a
 * name of letters, digits and '_'.  The line is written with one call, so
 * it does not mix with other programs' lines on a shared stderr.
 */
#ifndef PN_STATS_H
#define PN_STATS_H

#include <stdint.h>

#include "pn_buf.h"

struct pn_stats {
	struct pn_buf buf;	/* the object so far, without its '}' */
};

#define PN_STATS_INIT { PN_BUF_INIT }

void pn_stats_u64(struct pn_stats *w, const char *key, uint64_t n);
/* With three decimals: the seconds a run took. */
void pn_stats_double(struct pn_stats *w, const char *key, double v);
/* Ends the object, prints it and its '\n' on stderr, and frees it. */
void pn_stats_end(struct pn_stats *w);

#endif
