/*
 * fuzz-query.h — the query of the fuzz targets that aggregate: the
 * campaign report with one aggregate of every kind and a window, as
 *
 *     pn-aggregate --where source=campaign --group-by source_id:id \
 *       --count delivered_time:impressions --count clicked_time:clicks \
 *       --sum subscriber_id:s --min subscriber_id:lo --max subscriber_id:hi \
 *       --count-distinct subscriber_id:subs --latest merchant:last \
 *       --time-field delivered_time --window tumbling:1h --grace 1m
 *
 * (scripts/fuzz.sh runs that to make checkpoints for the seed corpus).
 */
#ifndef PN_FUZZ_QUERY_H
#define PN_FUZZ_QUERY_H

#include <stdlib.h>

#include "pn_agg.h"
#include "pn_err.h"
#include "pn_window.h"

static struct pn_query fuzz_query;

static inline const struct pn_query *fuzz_campaign_query(void)
{
	static const struct { enum pn_agg_kind kind; const char *spec; } aggs[] = {
		{ PN_COUNT, "delivered_time:impressions" }, { PN_COUNT, "clicked_time:clicks" },
		{ PN_SUM, "subscriber_id:s" }, { PN_MIN, "subscriber_id:lo" },
		{ PN_MAX, "subscriber_id:hi" }, { PN_COUNT_DISTINCT, "subscriber_id:subs" },
		{ PN_LATEST, "merchant:last" },
	};
	const char *why;

	if (fuzz_query.aggs)
		return &fuzz_query;
	if (pn_query_add_where(&fuzz_query, "source=campaign", &why) ||
	    pn_query_add_group(&fuzz_query, "source_id:id", &why) ||
	    pn_window_parse(&fuzz_query.window, "tumbling:1h", &why))
		abort();
	for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
		if (pn_query_add_agg(&fuzz_query, aggs[i].kind, aggs[i].spec, &why))
			abort();
	fuzz_query.time_field = pn_strdup("delivered_time");
	fuzz_query.grace_ms = 60 * 1000;
	return &fuzz_query;
}

#endif
