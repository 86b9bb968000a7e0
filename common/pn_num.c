#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pn_num.h"

int pn_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int pn_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || *s < '0' || *s > '9')
		return -1; /* strtoull would take spaces and signs */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'B': case 'b': break; /* "10B": bytes, checked below */
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	case 't': case 'T': mult = 1ULL << 40; end++; break;
	default: return -1;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int pn_parse_duration(const char *s, int64_t *ms)
{
	char *end;
	long long v;
	int64_t mult;

	if (!s || *s < '0' || *s > '9')
		return -1; /* strtoll would take spaces and signs */
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s") || !*end)
		mult = 1000;
	else if (!strcmp(end, "m"))
		mult = 60 * 1000;
	else if (!strcmp(end, "h"))
		mult = 3600 * 1000;
	else if (!strcmp(end, "d"))
		mult = 86400 * 1000LL;
	else
		return -1;
	if (v > INT64_MAX / mult)
		return -1;
	*ms = v * mult;
	return 0;
}

/* Reads exactly n digits. */
static int fixed_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t pn_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void pn_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

static int parse_offset(const char *p, int64_t *offset_ms)
{
	int sign, hh, mm = 0;

	*offset_ms = 0;
	if (!*p)
		return 0;
	if ((*p == 'Z' || *p == 'z') && !p[1])
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (fixed_digits(&p, 2, &hh))
		return -1;
	if (*p == ':')
		p++;
	if (*p && fixed_digits(&p, 2, &mm))
		return -1;
	if (*p || hh > 23 || mm > 59)
		return -1;
	*offset_ms = sign * (hh * 3600 + mm * 60) * 1000LL;
	return 0;
}

int pn_parse_iso_us(const char *s, int64_t *us)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	int64_t offset, frac_us = 0;

	if (!s || fixed_digits(&p, 4, &y) || *p++ != '-' || fixed_digits(&p, 2, &mo) ||
	    *p++ != '-' || fixed_digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (fixed_digits(&p, 2, &h) || *p++ != ':' || fixed_digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (fixed_digits(&p, 2, &sec))
				return -1;
			if (*p == '.' || *p == ',') {
				int scale = 100000;

				for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
					frac_us += (*p - '0') * scale;
			}
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60 || parse_offset(p, &offset))
		return -1;
	*us = (pn_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000000LL +
	      frac_us - offset * 1000;
	return 0;
}

int pn_parse_time(const char *s, int64_t *ms)
{
	int64_t us;

	if (s && *s && strspn(s, "0123456789") == strlen(s))
		return pn_parse_int(s, 0, INT64_MAX, ms);
	if (pn_parse_iso_us(s, &us))
		return -1;
	/* floor: the whole milliseconds, as the digits say */
	*ms = us / 1000 - (us % 1000 < 0);
	return 0;
}
