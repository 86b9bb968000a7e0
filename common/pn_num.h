/*
 * pn_num — the one checked parser for numbers, sizes, durations and times
 * given on command lines and in configuration.
 *
 * Every function returns 0 on success and -1 when the whole string is not
 * a valid value in range; nothing is partially accepted ("10x" is an
 * error, not 10).
 */
#ifndef PN_NUM_H
#define PN_NUM_H

#include <stdint.h>

/* A decimal integer within [min, max]. */
int pn_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);
/* A size in bytes: 100, 64k, 64K, 64M, 1G (powers of 1024). */
int pn_parse_size(const char *s, uint64_t *out);
/* A duration in milliseconds: 500ms, 1s, 10m, 2h, 28d; a bare number is seconds. */
int pn_parse_duration(const char *s, int64_t *ms);
/*
 * A point in time as milliseconds since the epoch: a bare integer is epoch
 * milliseconds; otherwise ISO 8601 / RFC 3339 "2026-11-01", "2026-11-01T10:00",
 * "2026-11-01T10:00:00.123Z", "2026-11-01 10:00:00+01:00" (space or T; no
 * offset means UTC).
 */
int pn_parse_time(const char *s, int64_t *ms);
/* The ISO 8601 forms of pn_parse_time (not a bare number) in microseconds. */
int pn_parse_iso_us(const char *s, int64_t *us);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t pn_days_from_civil(int y, int m, int d);
void pn_civil_from_days(int64_t days, int *y, int *m, int *d);

#endif
