/* Unit tests for common/pn_buf.h: the growable buffer and base64. */
#include "pn_buf.h"
#include "unit.h"

#define CHECK_BUF(b, want, what)                                            \
	do {                                                                \
		CHECK_MEM((b)->data, (b)->len, want, sizeof(want) - 1, "%s", what); \
		CHECK((b)->cap > (b)->len && (b)->data[(b)->len] == '\0',   \
		      "%s: not NUL-terminated", what);                      \
	} while (0)

static void test_add(void)
{
	struct pn_buf b = PN_BUF_INIT, c;
	size_t cap;

	CHECK(b.data == NULL && b.len == 0 && b.cap == 0, "PN_BUF_INIT owns nothing");
	pn_buf_init(&c);
	CHECK(c.data == NULL && c.len == 0 && c.cap == 0, "pn_buf_init owns nothing");
	pn_buf_reset(&c);		/* harmless on an empty buffer */
	pn_buf_release(&c);		/* and so is release */
	CHECK(c.data == NULL && c.len == 0 && c.cap == 0, "released");

	pn_buf_add(&b, "abc", 3);
	CHECK_BUF(&b, "abc", "add");
	pn_buf_add(&b, "", 0);
	CHECK_BUF(&b, "abc", "add nothing");
	pn_buf_addc(&b, '\0');
	pn_buf_addc(&b, 'd');
	CHECK_BUF(&b, "abc\0d", "addc, a NUL included");
	pn_buf_adds(&b, "efg");
	CHECK_BUF(&b, "abc\0defg", "adds");

	cap = b.cap;
	pn_buf_reset(&b);
	CHECK(b.len == 0 && b.cap == cap && b.data && b.data[0] == '\0', "reset keeps memory");
	pn_buf_adds(&b, "x");
	CHECK_BUF(&b, "x", "after reset");

	/* growth: many small adds, then one big one */
	pn_buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		pn_buf_addc(&b, 'a' + i % 26);
	CHECK(b.len == 10000 && b.cap > 10000 && b.data[10000] == '\0', "10000 addc");
	for (int i = 0; i < 10000; i++)
		if (!CHECK(b.data[i] == 'a' + i % 26, "byte %d", i))
			break;
	{
		size_t n = 3 << 20;
		char *big = malloc(n);

		memset(big, 'z', n);
		pn_buf_add(&b, big, n);
		CHECK(b.len == 10000 + n && b.data[b.len] == '\0' && b.data[9999] == 'a' + 9999 % 26 &&
		      b.data[10000] == 'z' && b.data[b.len - 1] == 'z', "a 3 MB add");
		free(big);
	}

	/* grow reserves room without changing the content */
	pn_buf_reset(&b);
	pn_buf_adds(&b, "keep");
	pn_buf_grow(&b, 1 << 16);
	CHECK(b.cap >= 4 + (1 << 16) + 1, "grow: cap %zu", b.cap);
	CHECK_BUF(&b, "keep", "grow");
	pn_buf_release(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0, "released");

	/* the header's invariant: data is NUL-terminated when cap > 0 */
	pn_buf_grow(&b, 10);
	CHECK(b.cap > 0 && b.data[0] == '\0',
	     "pn_buf_grow() on an empty buffer allocates without terminating data");
	pn_buf_release(&b);
}

static void test_addf(void)
{
	struct pn_buf b = PN_BUF_INIT;
	char longer[1000];

	pn_buf_addf(&b, "%d-%s-%c", 42, "x", 'y');
	CHECK_BUF(&b, "42-x-y", "addf");
	pn_buf_addf(&b, "%s", "");
	CHECK_BUF(&b, "42-x-y", "addf of nothing");
	pn_buf_addf(&b, "|%05.1f|%x|%%", 3.14159, 255);
	CHECK_BUF(&b, "42-x-y|003.1|ff|%", "addf appends");

	/* longer than the 64 bytes addf first reserves: the retry path */
	memset(longer, 'L', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	pn_buf_reset(&b);
	pn_buf_adds(&b, "<");
	pn_buf_addf(&b, "%s>%d", longer, 7);
	CHECK(b.len == 1 + 999 + 2 && b.data[0] == '<' && b.data[1] == 'L' &&
	      b.data[999] == 'L' && !strcmp(b.data + 1000, ">7"), "addf of 1002 bytes: len %zu",
	      b.len);
	/* exactly filling the space left, one byte either side */
	for (size_t fill = 0; fill < 200; fill++) {
		pn_buf_release(&b);
		pn_buf_addf(&b, "%.*s", (int)fill, longer);
		if (!CHECK(b.len == fill && strspn(b.data, "L") == fill && b.data[fill] == '\0',
			   "addf of %zu bytes: len %zu", fill, b.len))
			break;
	}
	pn_buf_release(&b);
}

static void test_integers(void)
{
	static const struct { int64_t v; const char *s; } i64[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -1, "-1" },
		{ 9, "9" },
		{ 10, "10" },
		{ -10, "-10" },
		{ 1234567890, "1234567890" },
		{ INT64_MAX, "9223372036854775807" },
		{ INT64_MIN, "-9223372036854775808" },
		{ INT64_MIN + 1, "-9223372036854775807" },
	};
	static const struct { uint64_t v; const char *s; } u64[] = {
		{ 0, "0" },
		{ 7, "7" },
		{ 1000000, "1000000" },
		{ (uint64_t)INT64_MAX + 1, "9223372036854775808" },
		{ UINT64_MAX, "18446744073709551615" },
	};
	struct pn_buf b = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(i64); i++) {
		pn_buf_reset(&b);
		pn_buf_add_i64(&b, i64[i].v);
		CHECK(b.len == strlen(i64[i].s) && !strcmp(b.data, i64[i].s),
		      "add_i64: got %s, want %s", b.data, i64[i].s);
	}
	for (size_t i = 0; i < NELEM(u64); i++) {
		pn_buf_reset(&b);
		pn_buf_add_u64(&b, u64[i].v);
		CHECK(b.len == strlen(u64[i].s) && !strcmp(b.data, u64[i].s),
		      "add_u64: got %s, want %s", b.data, u64[i].s);
	}
	pn_buf_reset(&b);
	pn_buf_adds(&b, "n=");
	pn_buf_add_i64(&b, -5);
	pn_buf_addc(&b, ',');
	pn_buf_add_u64(&b, 5);
	CHECK_BUF(&b, "n=-5,5", "integers append");
	pn_buf_release(&b);
}

static void test_detach(void)
{
	struct pn_buf b = PN_BUF_INIT;
	size_t len = 99;
	char *p;

	pn_buf_adds(&b, "hello");
	p = pn_buf_detach(&b, &len);
	CHECK(p && len == 5 && !strcmp(p, "hello"), "detach: %zu", len);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0, "detach leaves the buffer empty");
	free(p);

	/* the buffer can be used again */
	pn_buf_adds(&b, "again");
	p = pn_buf_detach(&b, NULL);
	CHECK(p && !strcmp(p, "again"), "detach without len");
	free(p);

	/* an empty buffer still gives an empty string to free() */
	len = 99;
	p = pn_buf_detach(&b, &len);
	CHECK(p && len == 0 && p[0] == '\0', "detach of nothing");
	free(p);

	/* reset but allocated */
	pn_buf_adds(&b, "gone");
	pn_buf_reset(&b);
	p = pn_buf_detach(&b, &len);
	CHECK(p && len == 0 && p[0] == '\0', "detach after reset");
	free(p);
}

/* ---- base64 ----------------------------------------------------------- */

static void test_base64_vectors(void)
{
	/* RFC 4648 section 10, and a few with every bit set */
	static const struct { const char *raw; size_t n; const char *b64; } cases[] = {
#define B(raw, b64) { raw, sizeof(raw) - 1, b64 }
		B("", ""),
		B("f", "Zg=="),
		B("fo", "Zm8="),
		B("foo", "Zm9v"),
		B("foob", "Zm9vYg=="),
		B("fooba", "Zm9vYmE="),
		B("foobar", "Zm9vYmFy"),
		B("\0", "AA=="),
		B("\0\0\0", "AAAA"),
		B("\xff", "/w=="),
		B("\xff\xff", "//8="),
		B("\xff\xff\xff", "////"),
		B("\xfb\xef\xbe", "++++"),
		B("\x14\xfb\x9c\x03\xd9\x7e", "FPucA9l+"),
		B("\x14\xfb\x9c\x03\xd9", "FPucA9k="),
		B("\x14\xfb\x9c\x03", "FPucAw=="),
#undef B
	};
	struct pn_buf b = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t bn = strlen(cases[i].b64);
		char *in = unit_exact(cases[i].b64, bn);

		pn_buf_reset(&b);
		pn_buf_add_base64(&b, cases[i].raw, cases[i].n);
		CHECK_MEM(b.data, b.len, cases[i].b64, bn, "encode %s",
			  unit_show(cases[i].raw, cases[i].n));
		pn_buf_reset(&b);
		CHECK(pn_buf_add_unbase64(&b, in, bn) == 0, "decode '%s' failed", cases[i].b64);
		CHECK_MEM(b.data, b.len, cases[i].raw, cases[i].n, "decode '%s'", cases[i].b64);
		free(in);
	}

	/* both append */
	pn_buf_reset(&b);
	pn_buf_adds(&b, "b64:");
	pn_buf_add_base64(&b, "foo", 3);
	CHECK_MEM(b.data, b.len, "b64:Zm9v", 8, "encode appends");
	pn_buf_reset(&b);
	pn_buf_adds(&b, "raw:");
	CHECK(pn_buf_add_unbase64(&b, "Zm9v", 4) == 0, "decode");
	CHECK_MEM(b.data, b.len, "raw:foo", 7, "decode appends");
	pn_buf_release(&b);
}

static int in_alphabet(const char *s, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789+/=";

	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(b64, s[i]))
			return 0;
	return 1;
}

static void test_base64_round_trip(void)
{
	struct pn_buf enc = PN_BUF_INIT, dec = PN_BUF_INIT;
	unsigned char raw[256];

	for (size_t n = 0; n <= 20; n++) {
		for (int rep = 0; rep < 50; rep++) {
			for (size_t i = 0; i < n; i++)
				raw[i] = rep == 0 ? 0 : rep == 1 ? 0xff : (unsigned char)unit_rand();
			pn_buf_reset(&enc);
			pn_buf_add_base64(&enc, raw, n);
			CHECK(enc.len == (n + 2) / 3 * 4, "length %zu encodes to %zu bytes", n, enc.len);
			CHECK(in_alphabet(enc.data, enc.len), "%s encodes outside the alphabet",
			      unit_show(raw, n));
			pn_buf_reset(&dec);
			if (!CHECK(pn_buf_add_unbase64(&dec, enc.data, enc.len) == 0 &&
				   unit_memeq(dec.data, dec.len, raw, n),
				   "round trip of %s via %s", unit_show(raw, n), enc.data))
				break;
		}
	}
	/* every byte value */
	for (int i = 0; i < 256; i++)
		raw[i] = i;
	pn_buf_reset(&enc);
	pn_buf_add_base64(&enc, raw, 256);
	pn_buf_reset(&dec);
	CHECK(pn_buf_add_unbase64(&dec, enc.data, enc.len) == 0 && dec.len == 256 &&
	      !memcmp(dec.data, raw, 256), "all 256 byte values");
	pn_buf_release(&enc);
	pn_buf_release(&dec);
}

static void test_base64_invalid(void)
{
	static const struct { const char *s; size_t n; } cases[] = {
#define I(s) { s, sizeof(s) - 1 }
		I("Z"),
		I("Zg"),
		I("Zg="),
		I("Zm9vY"),
		I("Zg==="),		/* length */
		I("Z==="),		/* too much padding */
		I("===="),
		I("=Zg="),
		I("Zm=v"),		/* data after padding */
		I("Zg==Zg=="),
		I("Zm9vYg=A"),
		I("Zm9v!A=="),		/* outside the alphabet */
		I("Zm9 "),
		I("Zm 9v"),
		I("Zm9v\n"),
		I("Zm\0v"),		/* NUL */
		I("Zm-_"),		/* the URL-safe alphabet is not ours */
		I("Zm9\xc3"),
#undef I
	};
	struct pn_buf b = PN_BUF_INIT;

	for (size_t i = 0; i < NELEM(cases); i++) {
		char *in = unit_exact(cases[i].s, cases[i].n);

		pn_buf_reset(&b);
		CHECK(pn_buf_add_unbase64(&b, in, cases[i].n) == -1, "%s accepted",
		      unit_show(cases[i].s, cases[i].n));
		free(in);
	}
	pn_buf_release(&b);
}

static void test_split_list(void)
{
	static const struct {
		const char *s;
		int n;		/* -1: refused */
		const char *joined;
	} cases[] = {
		{ "a", 1, "a|" },
		{ "id,merchant", 2, "id|merchant|" },
		{ "a,b,c", 3, "a|b|c|" },
		{ "", -1, NULL },
		{ "a,", -1, NULL },
		{ ",a", -1, NULL },
		{ "a,,b", -1, NULL },
		{ "with space,x", 2, "with space|x|" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		int n = 42;
		char **v = pn_split_list(cases[i].s, ',', &n);
		struct pn_buf joined = PN_BUF_INIT;

		if (cases[i].n < 0) {
			CHECK(v == NULL && n == 0, "'%s' accepted", cases[i].s);
			continue;
		}
		CHECK(v != NULL && n == cases[i].n, "'%s': %d items", cases[i].s, n);
		for (int k = 0; v && k < n; k++)
			pn_buf_addf(&joined, "%s|", v[k]);
		CHECK(joined.data && !strcmp(joined.data, cases[i].joined), "'%s' split as '%s'",
		      cases[i].s, joined.data ? joined.data : "");
		pn_buf_release(&joined);
		pn_free_list(v, n);
	}
}

int main(int argc, char **argv)
{
	unit_init(argc, argv);
	test_add();
	test_addf();
	test_integers();
	test_detach();
	test_base64_vectors();
	test_base64_round_trip();
	test_base64_invalid();
	test_split_list();
	return unit_done();
}
