#include <stdio.h>

#include "pn_stats.h"

/* '{' before the first member, ',' before the others, then "key": */
static void key(struct pn_stats *w, const char *k)
{
	pn_buf_addc(&w->buf, w->buf.len ? ',' : '{');
	pn_buf_addc(&w->buf, '"');
	pn_buf_adds(&w->buf, k);
	pn_buf_add(&w->buf, "\":", 2);
}

void pn_stats_u64(struct pn_stats *w, const char *k, uint64_t n)
{
	key(w, k);
	pn_buf_add_u64(&w->buf, n);
}

void pn_stats_double(struct pn_stats *w, const char *k, double v)
{
	key(w, k);
	pn_buf_addf(&w->buf, "%.3f", v);
}

void pn_stats_end(struct pn_stats *w)
{
	if (!w->buf.len)
		pn_buf_addc(&w->buf, '{');
	pn_buf_add(&w->buf, "}\n", 2);
	fwrite(w->buf.data, 1, w->buf.len, stderr);
	fflush(stderr);
	pn_buf_release(&w->buf);
}
