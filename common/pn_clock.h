/*
 * pn_clock — the one clock of pn's intervals, timeouts and --stats
 * seconds: the monotonic clock, which no change of the system time moves.
 * Times of day and event times are pn_num's and pn_window's.
 */
#ifndef PN_CLOCK_H
#define PN_CLOCK_H

/* Milliseconds of the monotonic clock, for intervals and timeouts. */
long long pn_now_ms(void);

#endif
