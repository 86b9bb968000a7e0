/*
 * pn_signal — the stop flag and the handlers that set it.
 *
 * SIGINT and SIGTERM only record that a stop was asked for; each program
 * checks pn_stop in its loop and winds down its own way (a producer drains,
 * a sink commits, a writer removes its temp file).  Handlers are installed
 * without SA_RESTART so a read blocked on a quiet pipe returns EINTR and the
 * loop sees the flag.  SIGPIPE is ignored: a reader that goes away shows up
 * as EPIPE on write, which pn_out treats as a normal stop.
 */
#ifndef PN_SIGNAL_H
#define PN_SIGNAL_H

#include <signal.h>

/* The signal number that asked to stop, or 0. */
extern volatile sig_atomic_t pn_stop;

void pn_signal_install(void);

#endif
