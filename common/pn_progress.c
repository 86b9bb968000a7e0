#include <stdio.h>
#include <unistd.h>

#include "pn_clock.h"
#include "pn_err.h"
#include "pn_progress.h"

void pn_progress_init(struct pn_progress *p)
{
	p->on = pn_verbosity >= 1 && isatty(STDERR_FILENO);
	p->calls = 0;
	p->last_ms = pn_now_ms();
}

void pn_progress_show(struct pn_progress *p, unsigned long long records)
{
	long long now = pn_now_ms();

	if (now - p->last_ms < 1000)
		return;
	p->last_ms = now;
	fprintf(stderr, "\r%s: %llu records\033[K", pn_progname(), records);
}

void pn_progress_done(struct pn_progress *p)
{
	if (p->on)
		fprintf(stderr, "\r\033[K");
}
