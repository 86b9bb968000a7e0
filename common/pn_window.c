#include <stdlib.h>
#include <string.h>

#include "pn_err.h"
#include "pn_num.h"
#include "pn_window.h"

int pn_window_parse(struct pn_window *w, const char *spec, const char **why)
{
	const char *colon = strchr(spec, ':');
	char *sizes = colon ? pn_strdup(colon + 1) : NULL;
	char *comma = sizes ? strchr(sizes, ',') : NULL;
	int status = -1;

	memset(w, 0, sizeof(*w));
	*why = "expected tumbling:SIZE or hopping:SIZE,ADVANCE";
	if (!colon)
		goto out;
	if (comma)
		*comma = '\0';
	if (pn_parse_duration(sizes, &w->size_ms) || w->size_ms <= 0) {
		*why = "bad window size (a duration such as 1h, 10m, 30s)";
		goto out;
	}
	w->advance_ms = w->size_ms;
	if (!strncmp(spec, "tumbling:", 9) && !comma) {
		w->kind = PN_WINDOW_TUMBLING;
		status = 0;
	} else if (!strncmp(spec, "hopping:", 8) && comma) {
		w->kind = PN_WINDOW_HOPPING;
		if (pn_parse_duration(comma + 1, &w->advance_ms) || w->advance_ms <= 0 ||
		    w->advance_ms > w->size_ms)
			*why = "bad advance: a duration above 0 and at most the window size";
		else if ((w->size_ms + w->advance_ms - 1) / w->advance_ms > PN_WINDOW_MAX_HOPS)
			*why = "a record would belong to more than 1000 windows";
		else
			status = 0;
	}
out:
	free(sizes);
	if (status)
		w->kind = PN_WINDOW_NONE;
	return status;
}

/* floor(a / b) for b > 0, also for a negative a (times before 1970). */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b < 0) ? q - 1 : q;
}

int pn_window_starts(const struct pn_window *w, int64_t t, int64_t *first)
{
	/* the last window holding t starts at floor(t / advance) * advance;
	 * the first is the earliest start above t - size */
	int64_t last = floor_div(t, w->advance_ms) * w->advance_ms;
	int64_t start = (floor_div(t - w->size_ms, w->advance_ms) + 1) * w->advance_ms;

	*first = start;
	return (int)((last - start) / w->advance_ms) + 1;
}

/* Epoch seconds below this, milliseconds from it (10^11 s is the year 5138,
 * 10^11 ms is March 1973). */
#define SECONDS_BELOW 100000000000.0

int pn_event_time(const struct pn_json *j, int v, struct pn_buf *tmp, int64_t *ms)
{
	const struct pn_tok *t = &j->tok[v];
	const char *s = j->text + t->start;
	size_t n = t->end - t->start;
	int64_t i;
	double d;

	if (t->type == PN_JSON_STRING) {
		pn_buf_reset(tmp);
		pn_json_unescape(s, n, tmp);
		return pn_parse_time(tmp->data, ms);
	}
	if (t->type != PN_JSON_PRIMITIVE || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	if (pn_json_int64(s, n, &i) == 0) {
		*ms = (i > -SECONDS_BELOW && i < SECONDS_BELOW) ? i * 1000 : i;
		return 0;
	}
	pn_buf_reset(tmp);
	pn_buf_add(tmp, s, n);
	d = strtod(tmp->data, NULL);
	if (d > -SECONDS_BELOW && d < SECONDS_BELOW)
		d *= 1000;
	if (!(d > -9.2e18 && d < 9.2e18)) /* NaN fails too */
		return -1;
	*ms = (int64_t)(d < 0 ? d - 0.5 : d + 0.5);
	return 0;
}
