#include <string.h>
#include <time.h>

#include "pn_pg_copy.h"

void pn_pg_copy_add(struct pn_buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	pn_buf_grow(b, n + 8);
	for (i = 0; i < n; i++) {
		char c = s[i], e;

		switch (c) {
		case '\\': e = '\\'; break;
		case '\t': e = 't'; break;
		case '\n': e = 'n'; break;
		case '\r': e = 'r'; break;
		default: continue;
		}
		pn_buf_add(b, s + run, i - run);
		pn_buf_addc(b, '\\');
		pn_buf_addc(b, e);
		run = i + 1;
	}
	pn_buf_add(b, s + run, n - run);
}

/* Epoch milliseconds as an ISO 8601 UTC time. */
static int add_epoch_ms(struct pn_buf *b, int64_t ms)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;
	char text[64];

	if (!gmtime_r(&secs, &tm))
		return -1;
	if (!strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	pn_buf_addf(b, "%s.%03dZ", text, frac);
	return 0;
}

int pn_pg_copy_value(struct pn_buf *b, const struct pn_json *j, int i, enum pn_pg_kind kind,
		     struct pn_buf *tmp, const char **why)
{
	const struct pn_tok *t = &j->tok[i];
	const char *s = j->text + t->start;
	size_t n = t->end - t->start;
	int64_t v;

	switch (t->type) {
	case PN_JSON_STRING:
		if (kind == PN_PG_JSON) {
			s = pn_json_raw(j, i, &n);	/* a JSON string, quotes and all */
			pn_pg_copy_add(b, s, n);
			return 0;
		}
		if (!memchr(s, '\\', n)) {
			pn_pg_copy_add(b, s, n);
			return 0;
		}
		pn_buf_reset(tmp);
		pn_json_unescape(s, n, tmp);
		/* text cannot hold one: the server would cut the value there */
		if (memchr(tmp->data, '\0', tmp->len)) {
			*why = "holds a NUL (\\u0000)";
			return -1;
		}
		pn_pg_copy_add(b, tmp->data, tmp->len);
		return 0;
	case PN_JSON_PRIMITIVE:
		if (*s == 'n') {
			pn_buf_add(b, "\\N", 2);
			return 0;
		}
		if (kind == PN_PG_TIME && *s != 't' && *s != 'f') {
			if (pn_json_int64(s, n, &v) || add_epoch_ms(b, v)) {
				*why = "is a number but not a time in epoch milliseconds";
				return -1;
			}
			return 0;
		}
		pn_buf_add(b, s, n);	/* numbers and true/false need no escapes */
		return 0;
	case PN_JSON_OBJECT:
	case PN_JSON_ARRAY:
		if (kind != PN_PG_JSON && kind != PN_PG_TEXT) {
			*why = t->type == PN_JSON_OBJECT ? "is an object" : "is a list";
			return -1;
		}
		s = pn_json_raw(j, i, &n);
		pn_pg_copy_add(b, s, n);
		return 0;
	}
	*why = "has an unknown type";
	return -1;
}

int pn_pg_copy_split(const char *row, size_t len, struct pn_buf *out, const char **vals, int max)
{
	size_t offs[256];
	int isnull[256], nf = 0;
	size_t i = 0;

	if (max > 256)
		max = 256;
	pn_buf_reset(out);
	while (nf < max) {
		if (i + 2 <= len && row[i] == '\\' && row[i + 1] == 'N' &&
		    (i + 2 == len || row[i + 2] == '\t')) {
			isnull[nf] = 1;
			offs[nf++] = 0;
			i += 2;
		} else {
			isnull[nf] = 0;
			offs[nf++] = out->len;
			for (; i < len && row[i] != '\t'; i++) {
				char c = row[i];

				if (c == '\\' && i + 1 < len) {
					c = row[++i];
					c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
				}
				pn_buf_addc(out, c);
			}
			pn_buf_addc(out, '\0');
		}
		if (i >= len)
			break;
		i++;	/* the tab */
	}
	for (int k = 0; k < nf; k++)
		vals[k] = isnull[k] ? NULL : out->data + offs[k];
	return nf;
}
