/*
 * pn_window — event time and time windows for pn-aggregate, with the
 * semantics of ksqlDB (Kafka Streams) windows.
 *
 * Windows are aligned to the epoch: a tumbling window of SIZE starts at
 * every multiple of SIZE; hopping windows of SIZE start at every multiple
 * of ADVANCE, so a record belongs to about SIZE/ADVANCE of them.  A window
 * [start, end) is closed once the stream time (the largest event time
 * seen) reaches end + grace; a record for a closed window is late.
 *
 * Event times are milliseconds since the epoch, read from a JSON value: a
 * number is epoch seconds below 10^11 (before the year 5138) and epoch
 * milliseconds from there on; a string is ISO 8601 / RFC 3339, Python's
 * str(datetime) ("2026-11-01 10:00:00.123456", with or without an offset,
 * no offset meaning UTC), or a string of digits (epoch milliseconds).
 */
#ifndef PN_WINDOW_H
#define PN_WINDOW_H

#include <stdint.h>

#include "pn_buf.h"
#include "pn_json.h"

enum pn_window_kind { PN_WINDOW_NONE, PN_WINDOW_TUMBLING, PN_WINDOW_HOPPING };

struct pn_window {
	enum pn_window_kind kind;
	int64_t size_ms;
	int64_t advance_ms;	/* == size_ms for a tumbling window */
};

/* At most this many hopping windows per record (SIZE/ADVANCE). */
enum { PN_WINDOW_MAX_HOPS = 1000 };

/* "tumbling:SIZE" or "hopping:SIZE,ADVANCE" (durations); -1 with *why. */
int pn_window_parse(struct pn_window *w, const char *spec, const char **why);

/*
 * The windows that hold time t: the first one's start in *first, each
 * next one ADVANCE later; returns how many there are.
 */
int pn_window_starts(const struct pn_window *w, int64_t t, int64_t *first);

/* The event time of token v of j; 0, or -1 when it is not a time.  tmp is
 * scratch space. */
int pn_event_time(const struct pn_json *j, int v, struct pn_buf *tmp, int64_t *ms);

#endif
