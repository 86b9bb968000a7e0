/*
 * pn_progress — progress on stderr, only when stderr is a terminal (and
 * not -q): one line, "pn-x: N records", rewritten in place at most once a
 * second and erased at the end, so a log file or a pipe never sees it.
 * Call pn_progress_tick() per record; it looks at the clock only every
 * 4096 calls.
 */
#ifndef PN_PROGRESS_H
#define PN_PROGRESS_H

struct pn_progress {
	int on;
	unsigned calls;
	long long last_ms;
};

void pn_progress_init(struct pn_progress *p);
void pn_progress_show(struct pn_progress *p, unsigned long long records);
static inline void pn_progress_tick(struct pn_progress *p, unsigned long long records)
{
	if (p->on && (++p->calls & 4095) == 0)
		pn_progress_show(p, records);
}
void pn_progress_done(struct pn_progress *p);

#endif
