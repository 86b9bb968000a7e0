/*
 * pn_avro_logical.c — the text forms of Avro's logical types, both ways:
 * "2026-11-26", "13:05:09.123", "2026-11-26T13:05:09.123456Z" for the
 * date, time and timestamp ints and longs, and exact decimal strings for
 * bytes and fixed decimals (big-endian two's complement, as Avro has them).
 * The encoder reads these forms, the decoder writes them (pn_avro_int.h).
 */
#include <stdint.h>
#include <string.h>

#include "pn_avro_int.h"
#include "pn_num.h"

/* ---- dates and times ---- */

static int two_digits(const char *p, int max)
{
	int v;

	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	v = (p[0] - '0') * 10 + p[1] - '0';
	return v > max ? -1 : v;
}

/* "HH:MM:SS[.ffffff]" as microseconds of the day. */
static int parse_clock_us(const char *s, int64_t *us)
{
	int h = two_digits(s, 23), m, sec;
	int64_t frac = 0, scale = 100000;
	const char *p = s + 8;

	if (h < 0 || s[2] != ':' || (m = two_digits(s + 3, 59)) < 0 || s[5] != ':' ||
	    (sec = two_digits(s + 6, 59)) < 0)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9' && scale; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p)
		return -1;
	*us = (h * 3600 + m * 60 + sec) * 1000000LL + frac;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* A time of day from microseconds, with `digits` fraction digits (3 or 6). */
static void add_clock(struct pn_buf *b, int64_t us, int digits)
{
	int64_t secs = us / 1000000, frac = us % 1000000;

	pn_buf_addf(b, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
		    (int)(secs % 60));
	if (digits == 3)
		pn_buf_addf(b, ".%03d", (int)(frac / 1000));
	else
		pn_buf_addf(b, ".%06d", (int)frac);
}

/* A date (or timestamp) as text; 0, or -1 outside years 1..9999. */
static int add_date(struct pn_buf *b, int64_t days)
{
	int y, m, d;

	if (days < -719162 || days > 2932896)
		return -1;
	pn_civil_from_days(days, &y, &m, &d);
	pn_buf_addf(b, "%04d-%02d-%02d", y, m, d);
	return 0;
}

void pn_avro_add_logical_long(struct pn_buf *b, const struct pn_avro_node *n, int64_t v)
{
	int64_t per_sec = 1000, us;
	size_t at = b->len;

	switch (n->logical) {
	case PN_AVRO_DATE:
		pn_buf_addc(b, '"');
		if (add_date(b, v) == 0) {
			pn_buf_addc(b, '"');
			return;
		}
		break;
	case PN_AVRO_TIME_MILLIS:
	case PN_AVRO_TIME_MICROS:
		per_sec = n->logical == PN_AVRO_TIME_MILLIS ? 1000 : 1000000;
		if (v < 0 || v >= 86400 * per_sec)
			break;
		pn_buf_addc(b, '"');
		add_clock(b, v * (1000000 / per_sec), per_sec == 1000 ? 3 : 6);
		pn_buf_addc(b, '"');
		return;
	case PN_AVRO_TS_MICROS:
	case PN_AVRO_LOCAL_TS_MICROS:
		per_sec = 1000000;
		/* fall through */
	case PN_AVRO_TS_MILLIS:
	case PN_AVRO_LOCAL_TS_MILLIS:
		if (v < INT64_MIN / (1000000 / per_sec) || v > INT64_MAX / (1000000 / per_sec))
			break;
		us = v * (1000000 / per_sec);
		pn_buf_addc(b, '"');
		if (add_date(b, floor_div(us, 86400000000LL)) < 0)
			break;
		pn_buf_addc(b, 'T');
		add_clock(b, us - floor_div(us, 86400000000LL) * 86400000000LL,
			  per_sec == 1000 ? 3 : 6);
		if (n->logical == PN_AVRO_TS_MILLIS || n->logical == PN_AVRO_TS_MICROS)
			pn_buf_addc(b, 'Z');
		pn_buf_addc(b, '"');
		return;
	default:
		break;
	}
	b->len = at;
	pn_buf_add_i64(b, v);
}

/* A logical type's text form as its number; 0, or -1 if it is not one. */
int pn_avro_parse_logical(const struct pn_avro_node *n, const char *s, int64_t *v)
{
	int64_t us;

	switch (n->logical) {
	case PN_AVRO_DATE:
		if (strlen(s) != 10 || pn_parse_iso_us(s, &us))
			return -1;
		*v = floor_div(us, 86400000000LL);
		return 0;
	case PN_AVRO_TIME_MILLIS:
	case PN_AVRO_TIME_MICROS:
		if (parse_clock_us(s, &us))
			return -1;
		*v = n->logical == PN_AVRO_TIME_MILLIS ? us / 1000 : us;
		return 0;
	case PN_AVRO_TS_MILLIS:
	case PN_AVRO_LOCAL_TS_MILLIS:
	case PN_AVRO_TS_MICROS:
	case PN_AVRO_LOCAL_TS_MICROS:
		if (pn_parse_iso_us(s, &us))
			return -1;
		*v = n->logical == PN_AVRO_TS_MILLIS || n->logical == PN_AVRO_LOCAL_TS_MILLIS
			     ? floor_div(us, 1000) : us;
		return 0;
	default:
		return -1;
	}
}

/* ---- decimals ---- */

/* The digits of the text, scaled, multiplied into a big-endian magnitude
 * byte by byte, then negated in two's complement. */
int pn_avro_decimal_to_bytes(const char *s, size_t n, int precision, int scale, size_t size,
			     struct pn_buf *out, const char **why)
{
	unsigned char mag[64];
	char digits[200];
	size_t len = 1, i = 0, nd = 0, width;
	int neg = 0, frac = -1, carry;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n || s[i] == '.')
		goto bad;
	for (; i < n; i++) {
		if (s[i] == '.' && frac < 0 && i + 1 < n) {
			frac = 0;
		} else if (s[i] < '0' || s[i] > '9') {
			goto bad;
		} else if (frac >= 0 && frac >= scale) {
			if (s[i] != '0') {
				*why = "has more decimal places than the scale";
				return -1;
			}
		} else {
			if (nd || s[i] != '0')
				digits[nd++] = s[i];
			frac += frac >= 0;
			if (nd > (size_t)precision) {
				*why = "has more digits than the precision";
				return -1;
			}
		}
	}
	/* (bounded by the precision: a schema's scale can be any size) */
	for (frac = frac < 0 ? 0 : frac; nd && frac < scale && nd <= (size_t)precision; frac++)
		digits[nd++] = '0';
	if (nd > (size_t)precision) {
		*why = "has more digits than the precision";
		return -1;
	}
	memset(mag, 0, sizeof(mag));
	for (size_t k = 0; k < nd; k++) {
		carry = digits[k] - '0';
		for (size_t q = 0; q < len; q++) {
			int x = mag[sizeof(mag) - 1 - q] * 10 + carry;

			mag[sizeof(mag) - 1 - q] = (unsigned char)x;
			carry = x >> 8;
		}
		if (carry)
			mag[sizeof(mag) - 1 - len++] = (unsigned char)carry;
	}
	len++; /* room for the sign */
	if (neg) {
		carry = 1;
		for (size_t k = 0; k < len; k++) {
			int x = (unsigned char)~mag[sizeof(mag) - 1 - k] + carry;

			mag[sizeof(mag) - 1 - k] = (unsigned char)x;
			carry = x >> 8;
		}
	}
	/* the shortest form: drop sign-extension bytes */
	while (len > 1) {
		unsigned char top = mag[sizeof(mag) - len], next = mag[sizeof(mag) - len + 1];

		if ((top == 0 && !(next & 0x80)) || (top == 0xff && (next & 0x80)))
			len--;
		else
			break;
	}
	width = size ? size : len;
	if (len > width) {
		*why = "does not fit the fixed size";
		return -1;
	}
	for (size_t k = len; k < width; k++)
		pn_buf_addc(out, (char)(neg ? 0xff : 0));
	pn_buf_add(out, mag + sizeof(mag) - len, len);
	return 0;
bad:
	*why = "is not a decimal number";
	return -1;
}

/*
 * Too many digits for the precision is data that does not fit its schema:
 * the encoder would refuse it, so it is refused here too, and what is
 * decoded can always be produced again.  The magnitude is divided by 10
 * byte by byte for each digit.
 */
int pn_avro_add_decimal(struct pn_buf *b, const unsigned char *p, size_t n, int precision,
			int scale)
{
	unsigned char mag[256];
	char digits[700];
	size_t nd = 0, len;
	int neg = n && (p[0] & 0x80), nonzero;

	/* sign-extension bytes carry no digits */
	while (n > 1 && ((p[0] == 0 && !(p[1] & 0x80)) || (p[0] == 0xff && (p[1] & 0x80)))) {
		p++;
		n--;
	}
	if (n > sizeof(mag))
		return -1;	/* over 600 digits */
	len = n;
	if (len)
		memcpy(mag, p, len);
	if (neg) {
		int carry = 1;

		for (size_t k = len; k-- > 0;) {
			int x = (unsigned char)~mag[k] + carry;

			mag[k] = (unsigned char)x;
			carry = x >> 8;
		}
	}
	do {
		int rem = 0;

		nonzero = 0;
		for (size_t k = 0; k < len; k++) {
			int x = rem * 256 + mag[k];

			mag[k] = (unsigned char)(x / 10);
			rem = x % 10;
			nonzero |= mag[k];
		}
		digits[nd++] = (char)('0' + rem);
	} while (nonzero && nd < sizeof(digits));
	if (nd > (size_t)(precision > 150 ? 150 : precision))
		return -1;
	pn_buf_addc(b, '"');
	if (neg)
		pn_buf_addc(b, '-');
	if ((int)nd <= scale) {
		/* "0.00ddd": the zeros written here, the scale may be large */
		pn_buf_add(b, "0.", 2);
		for (int k = (int)nd; k < scale; k++)
			pn_buf_addc(b, '0');
		scale = 0;
	}
	for (size_t k = nd; k-- > 0;) {
		pn_buf_addc(b, digits[k]);
		if ((int)k == scale && scale)
			pn_buf_addc(b, '.');
	}
	pn_buf_addc(b, '"');
	return 0;
}
