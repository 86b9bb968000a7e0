/*
 * pn_clock — the one clock of pn's intervals, timeouts and --stats
 * seconds: the monotonic clock, which no change of the system time moves.
 * Times of day and event times are pn_num's and pn_window's; the wall
 * clock is here too, for what compares event times with the present.
 */
#ifndef PN_CLOCK_H
#define PN_CLOCK_H

/* Milliseconds of the monotonic clock, for intervals and timeouts. */
long long pn_now_ms(void);
/* Milliseconds since the epoch of the system's (wall) clock. */
long long pn_wall_ms(void);
/* Sleeps ms milliseconds (less when a signal comes: the caller looks at
 * its stop flag). */
void pn_sleep_ms(long long ms);

#endif
