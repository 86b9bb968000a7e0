#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#include "pn_avro.h"
#include "pn_err.h"
#include "pn_num.h"

/* ---- schemas ---- */

struct named {
	char *name;
	struct pn_avro_node *node;
};

struct compiler {
	struct pn_avro_schema *s;
	struct named *names;
	int nnames;
	struct pn_buf *why;
};

static const char *const type_names[] = {
	"null", "boolean", "int", "long", "float", "double", "bytes", "string",
	"record", "enum", "array", "map", "union", "fixed",
};

static struct pn_avro_node *new_node(struct compiler *cc, enum pn_avro_type type)
{
	struct pn_avro_node *n = pn_malloc(sizeof(*n));

	memset(n, 0, sizeof(*n));
	n->type = type;
	n->enum_default = -1;
	n->next_alloc = cc->s->nodes;
	cc->s->nodes = n;
	return n;
}

static int primitive_type(const char *name)
{
	for (int t = PN_AVRO_NULL; t <= PN_AVRO_STRING; t++)
		if (!strcmp(name, type_names[t]))
			return t;
	return -1;
}

static char *full_name(const char *name, const char *ns)
{
	struct pn_buf b = PN_BUF_INIT;

	if (!strchr(name, '.') && ns && *ns) {
		pn_buf_adds(&b, ns);
		pn_buf_addc(&b, '.');
	}
	pn_buf_adds(&b, name);
	return pn_buf_detach(&b, NULL);
}

static struct pn_avro_node *lookup(struct compiler *cc, const char *name, const char *ns)
{
	char *full = full_name(name, ns);
	struct pn_avro_node *found = NULL;

	for (int i = 0; i < cc->nnames && !found; i++)
		if (!strcmp(cc->names[i].name, full) || !strcmp(cc->names[i].name, name))
			found = cc->names[i].node;
	free(full);
	return found;
}

static int fail_schema(struct compiler *cc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail_schema(struct compiler *cc, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pn_buf_reset(cc->why);
	pn_buf_adds(cc->why, msg);
	return -1;
}

static struct pn_avro_node *compile(struct compiler *cc, json_t *j, const char *ns);

/* The namespace a named type's name gives its contents. */
static char *namespace_of(const char *full)
{
	const char *dot = strrchr(full, '.');

	return dot ? pn_strndup(full, dot - full) : pn_strdup("");
}

static void set_logical(struct pn_avro_node *n, json_t *j)
{
	const char *lt = json_string_value(json_object_get(j, "logicalType"));
	static const struct {
		const char *name;
		enum pn_avro_type type;
		enum pn_avro_logical logical;
	} known[] = {
		{ "decimal", PN_AVRO_BYTES, PN_AVRO_DECIMAL },
		{ "decimal", PN_AVRO_FIXED, PN_AVRO_DECIMAL },
		{ "uuid", PN_AVRO_STRING, PN_AVRO_UUID },
		{ "date", PN_AVRO_INT, PN_AVRO_DATE },
		{ "time-millis", PN_AVRO_INT, PN_AVRO_TIME_MILLIS },
		{ "time-micros", PN_AVRO_LONG, PN_AVRO_TIME_MICROS },
		{ "timestamp-millis", PN_AVRO_LONG, PN_AVRO_TS_MILLIS },
		{ "timestamp-micros", PN_AVRO_LONG, PN_AVRO_TS_MICROS },
		{ "local-timestamp-millis", PN_AVRO_LONG, PN_AVRO_LOCAL_TS_MILLIS },
		{ "local-timestamp-micros", PN_AVRO_LONG, PN_AVRO_LOCAL_TS_MICROS },
	};

	if (!lt)
		return;
	/* an unknown or misplaced logical type is ignored, as the spec says */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(lt, known[i].name) && n->type == known[i].type)
			n->logical = known[i].logical;
	if (n->logical == PN_AVRO_DECIMAL) {
		n->precision = (int)json_integer_value(json_object_get(j, "precision"));
		n->scale = (int)json_integer_value(json_object_get(j, "scale"));
		if (n->precision <= 0 || n->scale < 0 || n->scale > n->precision)
			n->logical = PN_AVRO_PLAIN;
	}
}

static int register_name(struct compiler *cc, struct pn_avro_node *n, json_t *j, const char *ns)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *own_ns = json_string_value(json_object_get(j, "namespace"));

	if (!name || !*name)
		return fail_schema(cc, "a %s has no name", type_names[n->type]);
	n->name = full_name(name, strchr(name, '.') ? NULL : own_ns ? own_ns : ns);
	for (int i = 0; i < cc->nnames; i++)
		if (!strcmp(cc->names[i].name, n->name))
			return fail_schema(cc, "type '%s' is defined twice", n->name);
	cc->names = pn_realloc(cc->names, (cc->nnames + 1) * sizeof(*cc->names));
	cc->names[cc->nnames++] = (struct named){ n->name, n };
	return 0;
}

static int compile_record(struct compiler *cc, struct pn_avro_node *n, json_t *j)
{
	json_t *fields = json_object_get(j, "fields");
	char *ns = namespace_of(n->name);
	int status = 0;

	if (!json_is_array(fields)) {
		free(ns);
		return fail_schema(cc, "record '%s' has no fields list", n->name);
	}
	n->nfields = (int)json_array_size(fields);
	n->fields = pn_malloc((n->nfields ? n->nfields : 1) * sizeof(*n->fields));
	memset(n->fields, 0, (n->nfields ? n->nfields : 1) * sizeof(*n->fields));
	for (int i = 0; i < n->nfields && status == 0; i++) {
		json_t *f = json_array_get(fields, i);
		const char *name = json_string_value(json_object_get(f, "name"));
		struct pn_avro_field *fd = &n->fields[i];

		if (!name) {
			status = fail_schema(cc, "a field of record '%s' has no name", n->name);
			break;
		}
		for (int k = 0; k < i; k++)
			if (!strcmp(n->fields[k].name, name))
				status = fail_schema(cc, "record '%s' has two fields '%s'", n->name,
						     name);
		if (status)
			break;
		fd->name = pn_strdup(name);
		fd->name_len = strlen(name);
		fd->type = compile(cc, json_object_get(f, "type"), ns);
		if (!fd->type)
			status = -1;
		fd->def_src = json_object_get(f, "default");
		fd->has_default = fd->def_src != NULL;
	}
	free(ns);
	return status;
}

static int compile_enum(struct compiler *cc, struct pn_avro_node *n, json_t *j)
{
	json_t *symbols = json_object_get(j, "symbols");
	const char *def = json_string_value(json_object_get(j, "default"));
	int count = (int)json_array_size(symbols);

	if (!json_is_array(symbols))
		return fail_schema(cc, "enum '%s' has no symbols list", n->name);
	n->symbols = pn_malloc((count ? count : 1) * sizeof(*n->symbols));
	for (int i = 0; i < count; i++) {
		const char *sym = json_string_value(json_array_get(symbols, i));

		n->symbols[n->nsymbols++] = pn_strdup(sym ? sym : "");
		if (def && !strcmp(def, n->symbols[i]))
			n->enum_default = i;
		for (int k = 0; k < i; k++)
			if (!strcmp(n->symbols[k], n->symbols[i]))
				return fail_schema(cc, "enum '%s' has the symbol '%s' twice", n->name,
						   n->symbols[i]);
	}
	return 0;
}

static struct pn_avro_node *compile_object(struct compiler *cc, json_t *j, const char *ns)
{
	json_t *tj = json_object_get(j, "type");
	const char *type = json_string_value(tj);
	struct pn_avro_node *n;
	int t;

	if (!type)
		return json_is_object(tj) || json_is_array(tj) ? compile(cc, tj, ns) : NULL;
	if ((t = primitive_type(type)) >= 0) {
		n = new_node(cc, t);
		set_logical(n, j);
		return n;
	}
	if (!strcmp(type, "record") || !strcmp(type, "error")) {
		n = new_node(cc, PN_AVRO_RECORD);
		if (register_name(cc, n, j, ns) || compile_record(cc, n, j))
			return NULL;
		return n;
	}
	if (!strcmp(type, "enum")) {
		n = new_node(cc, PN_AVRO_ENUM);
		if (register_name(cc, n, j, ns) || compile_enum(cc, n, j))
			return NULL;
		return n;
	}
	if (!strcmp(type, "fixed")) {
		n = new_node(cc, PN_AVRO_FIXED);
		if (register_name(cc, n, j, ns))
			return NULL;
		n->size = (size_t)json_integer_value(json_object_get(j, "size"));
		set_logical(n, j);
		return n;
	}
	if (!strcmp(type, "array") || !strcmp(type, "map")) {
		n = new_node(cc, type[0] == 'a' ? PN_AVRO_ARRAY : PN_AVRO_MAP);
		n->items = compile(cc, json_object_get(j, type[0] == 'a' ? "items" : "values"), ns);
		return n->items ? n : NULL;
	}
	n = lookup(cc, type, ns);
	if (!n)
		fail_schema(cc, "unknown type '%s'", type);
	return n;
}

static struct pn_avro_node *compile(struct compiler *cc, json_t *j, const char *ns)
{
	struct pn_avro_node *n;
	int t;

	if (json_is_string(j)) {
		if ((t = primitive_type(json_string_value(j))) >= 0)
			return new_node(cc, t);
		n = lookup(cc, json_string_value(j), ns);
		if (!n)
			fail_schema(cc, "unknown type '%s'", json_string_value(j));
		return n;
	}
	if (json_is_array(j)) {
		n = new_node(cc, PN_AVRO_UNION);
		n->nbranches = (int)json_array_size(j);
		n->branches = pn_malloc((n->nbranches ? n->nbranches : 1) * sizeof(*n->branches));
		for (int i = 0; i < n->nbranches; i++)
			if (!(n->branches[i] = compile(cc, json_array_get(j, i), ns)))
				return NULL;
		return n;
	}
	if (json_is_object(j))
		return compile_object(cc, j, ns);
	fail_schema(cc, "a type must be a name, an object or a list");
	return NULL;
}

/* The default of field f, Avro binary and natural JSON; -1 if it does not fit. */
static int compile_default(struct compiler *cc, struct pn_avro_field *f)
{
	char *text = json_dumps(f->def_src, JSON_COMPACT | JSON_ENCODE_ANY);
	struct pn_avro_codec c;
	struct pn_json j;
	struct pn_avro_schema one = { f->type, NULL, NULL };
	const struct pn_avro_node *type = f->type;
	int status = -1;

	pn_avro_codec_init(&c);
	pn_json_init(&j);
	c.default_mode = 1;
	/* a union's default is a value of its first branch */
	if (type->type == PN_AVRO_UNION && type->nbranches) {
		pn_buf_addc(&c.out, 0);
		one.root = type->branches[0];
	}
	if (text && pn_json_parse(&j, text, strlen(text)) == 0 &&
	    pn_avro_encode(&c, &one, &j, 0, 0) == 0) {
		f->def_bin = pn_malloc(c.out.len + 1);
		memcpy(f->def_bin, c.out.data, c.out.len);
		f->def_bin_len = c.out.len;
		one.root = f->type;
		pn_buf_reset(&c.out);
		if (pn_avro_decode(&c, &one, NULL, f->def_bin, f->def_bin_len) == 0) {
			f->def_json = pn_strdup(c.out.data);
			status = 0;
		}
	}
	if (status)
		fail_schema(cc, "the default of field '%s' does not fit its type: %s", f->name,
			    c.why.len ? c.why.data : "not JSON");
	free(text);
	pn_json_release(&j);
	pn_avro_codec_release(&c);
	return status;
}

struct pn_avro_schema *pn_avro_schema_new(const char *text, size_t len, struct pn_buf *why)
{
	struct pn_avro_schema *s = pn_malloc(sizeof(*s));
	struct compiler cc = { s, NULL, 0, why };
	avro_schema_t checked;
	json_error_t jerr;
	json_t *root = NULL;
	int status = -1;

	memset(s, 0, sizeof(*s));
	/* avro-c's word first: its parser is the reference for a valid schema */
	if (avro_schema_from_json_length(text, len, &checked)) {
		fail_schema(&cc, "invalid schema: %s", avro_strerror());
		goto out;
	}
	avro_schema_decref(checked);
	root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (!root) {
		fail_schema(&cc, "invalid schema: %s", jerr.text);
		goto out;
	}
	s->root = compile(&cc, root, "");
	if (!s->root)
		goto out;
	for (struct pn_avro_node *n = s->nodes; n; n = n->next_alloc)
		for (int i = 0; i < n->nfields; i++)
			if (n->fields[i].has_default && compile_default(&cc, &n->fields[i]))
				goto out;
	s->text = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
	status = 0;
out:
	for (struct pn_avro_node *n = s->nodes; n; n = n->next_alloc)
		for (int i = 0; i < n->nfields; i++)
			n->fields[i].def_src = NULL;
	free(cc.names);
	json_decref(root);
	if (status) {
		pn_avro_schema_free(s);
		return NULL;
	}
	return s;
}

struct pn_avro_schema *pn_avro_schema_load(const char *path, struct pn_buf *why)
{
	FILE *f = fopen(path, "r");
	struct pn_buf text = PN_BUF_INIT;
	struct pn_avro_schema *s = NULL;
	char chunk[65536];
	size_t n;

	if (!f) {
		pn_buf_reset(why);
		pn_buf_addf(why, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		pn_buf_add(&text, chunk, n);
	if (ferror(f)) {
		pn_buf_reset(why);
		pn_buf_addf(why, "cannot read '%s': %s", path, strerror(errno));
	} else {
		s = pn_avro_schema_new(text.data ? text.data : "", text.len, why);
	}
	fclose(f);
	pn_buf_release(&text);
	return s;
}

void pn_avro_schema_free(struct pn_avro_schema *s)
{
	struct pn_avro_node *n, *next;

	if (!s)
		return;
	for (n = s->nodes; n; n = next) {
		next = n->next_alloc;
		free(n->name);
		for (int i = 0; i < n->nfields; i++) {
			free(n->fields[i].name);
			free(n->fields[i].def_bin);
			free(n->fields[i].def_json);
		}
		free(n->fields);
		for (int i = 0; i < n->nsymbols; i++)
			free(n->symbols[i]);
		free(n->symbols);
		free(n->branches);
		free(n);
	}
	free(s->text);
	free(s);
}

/* ---- the codec, its errors and the field path ---- */

void pn_avro_codec_init(struct pn_avro_codec *c)
{
	memset(c, 0, sizeof(*c));
}

void pn_avro_codec_release(struct pn_avro_codec *c)
{
	pn_buf_release(&c->out);
	pn_buf_release(&c->tmp);
	pn_buf_release(&c->bin);
	pn_buf_release(&c->why);
}

enum { MAX_PATH = sizeof(((struct pn_avro_codec *)0)->path) / sizeof(void *) };

static inline void push_name(struct pn_avro_codec *c, const char *name, size_t len)
{
	if (c->depth < MAX_PATH) {
		c->path[c->depth] = name;
		c->path_len[c->depth] = len;
	}
	c->depth++;
}

static inline void push_index(struct pn_avro_codec *c, int64_t i)
{
	if (c->depth < MAX_PATH) {
		c->path[c->depth] = NULL;
		c->path_index[c->depth] = i;
	}
	c->depth++;
}

static inline void pop(struct pn_avro_codec *c)
{
	c->depth--;
}

static int fail(struct pn_avro_codec *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets why to "field 'a.b[2]': reason" (or the reason alone at the top). */
static int fail(struct pn_avro_codec *c, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	int depth = c->depth < MAX_PATH ? c->depth : MAX_PATH;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pn_buf_reset(&c->why);
	if (depth) {
		pn_buf_adds(&c->why, "field '");
		for (int i = 0; i < depth; i++) {
			if (c->path[i]) {
				if (i)
					pn_buf_addc(&c->why, '.');
				pn_buf_add(&c->why, c->path[i], c->path_len[i]);
			} else {
				pn_buf_addf(&c->why, "[%lld]", (long long)c->path_index[i]);
			}
		}
		pn_buf_adds(&c->why, "': ");
	}
	pn_buf_adds(&c->why, msg);
	return -1;
}

/* ---- Avro binary primitives ---- */

static inline void put_long(struct pn_buf *b, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	char *p;

	if (b->cap - b->len < 11)
		pn_buf_grow(b, 10);
	p = b->data + b->len;
	while (u > 0x7f) {
		*p++ = (char)((u & 0x7f) | 0x80);
		u >>= 7;
	}
	*p++ = (char)u;
	b->len = p - b->data;
	b->data[b->len] = '\0';
}

static inline void put_bytes(struct pn_buf *b, const void *p, size_t n)
{
	put_long(b, (int64_t)n);
	pn_buf_add(b, p, n);
}

void pn_avro_frame(struct pn_buf *b, uint32_t id)
{
	char h[PN_AVRO_FRAME_LEN] = { 0, (char)(id >> 24), (char)(id >> 16), (char)(id >> 8),
				      (char)id };

	pn_buf_add(b, h, sizeof(h));
}

int pn_avro_unframe(const void *p, size_t n, uint32_t *id)
{
	const unsigned char *u = p;

	if (!p || n < PN_AVRO_FRAME_LEN || u[0] != 0)
		return -1;
	*id = (uint32_t)u[1] << 24 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 8 | u[4];
	return 0;
}

/* ---- time and decimal text ---- */

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

static void add_logical_long(struct pn_buf *b, const struct pn_avro_node *n, int64_t v)
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
static int parse_logical_text(const struct pn_avro_node *n, const char *s, int64_t *v)
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

/*
 * The unscaled value of decimal text ("-12.3", scale 2 -> -1230) as
 * big-endian two's complement bytes in out; `size` 0 for the shortest,
 * else exactly that many.  0, or -1 with a reason.
 */
static int decimal_to_bytes(const char *s, size_t n, int precision, int scale, size_t size,
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
 * Two's complement big-endian bytes as decimal text with `scale` places;
 * -1 when the value has more digits than `precision` (up to the 150 the
 * encoder takes): data that does not fit its schema, which the encoder
 * would refuse, so what is decoded can always be produced again.
 */
static int add_decimal(struct pn_buf *b, const unsigned char *p, size_t n, int precision,
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

/* ---- encoding: natural JSON -> Avro binary ---- */

static const char *json_kind(const struct pn_json *j, int t)
{
	switch (j->tok[t].type) {
	case PN_JSON_OBJECT: return "an object";
	case PN_JSON_ARRAY: return "a list";
	case PN_JSON_STRING: return "a string";
	default: break;
	}
	switch (j->text[j->tok[t].start]) {
	case 'n': return "null";
	case 't': case 'f': return "a boolean";
	default: return "a number";
	}
}

static const char *expected(const struct pn_avro_node *n)
{
	static const char *const what[] = {
		"null", "a boolean", "an int", "a long", "a float", "a double",
		"bytes (base64)", "a string", "an object", "an enum symbol", "a list",
		"an object (map)", "a union", "a fixed (base64)",
	};

	switch (n->logical) {
	case PN_AVRO_DECIMAL: return "a decimal (string or number)";
	case PN_AVRO_DATE: return "a date (YYYY-MM-DD or days)";
	case PN_AVRO_TIME_MILLIS: case PN_AVRO_TIME_MICROS: return "a time of day (HH:MM:SS.fff)";
	case PN_AVRO_TS_MILLIS: case PN_AVRO_TS_MICROS: case PN_AVRO_LOCAL_TS_MILLIS:
	case PN_AVRO_LOCAL_TS_MICROS: return "a timestamp (ISO 8601 or a number)";
	default: return what[n->type];
	}
}

static inline int is_null(const struct pn_json *j, int t)
{
	return j->tok[t].type == PN_JSON_PRIMITIVE && j->text[j->tok[t].start] == 'n';
}

static inline int is_bool(const struct pn_json *j, int t)
{
	char ch = j->text[j->tok[t].start];

	return j->tok[t].type == PN_JSON_PRIMITIVE && (ch == 't' || ch == 'f');
}

static inline int is_number(const struct pn_json *j, int t)
{
	return j->tok[t].type == PN_JSON_PRIMITIVE && !is_null(j, t) && !is_bool(j, t);
}

/* A string token decoded (only when it has escapes) into c->tmp. */
static const char *tok_string(struct pn_avro_codec *c, const struct pn_json *j, int t,
			      size_t *len)
{
	const char *s = j->text + j->tok[t].start;
	size_t n = j->tok[t].end - j->tok[t].start;

	if (!memchr(s, '\\', n)) {
		*len = n;
		return s;
	}
	pn_buf_reset(&c->tmp);
	pn_json_unescape(s, n, &c->tmp);
	*len = c->tmp.len;
	return c->tmp.data;
}

/* The string token as a NUL-terminated copy in c->tmp. */
static const char *tok_cstring(struct pn_avro_codec *c, const struct pn_json *j, int t)
{
	size_t len;
	const char *s = tok_string(c, j, t, &len);

	if (s != c->tmp.data) {
		pn_buf_reset(&c->tmp);
		pn_buf_add(&c->tmp, s, len);
	}
	return c->tmp.data;
}

static int enc(struct pn_avro_codec *c, const struct pn_avro_node *n, const struct pn_json *j,
	       int t);

static int enc_integer(struct pn_avro_codec *c, const struct pn_avro_node *n,
		       const struct pn_json *j, int t)
{
	int64_t v;

	if (j->tok[t].type == PN_JSON_STRING && n->logical != PN_AVRO_PLAIN) {
		if (parse_logical_text(n, tok_cstring(c, j, t), &v))
			return fail(c, "expected %s, got '%s'", expected(n), c->tmp.data);
	} else if (!is_number(j, t)) {
		return fail(c, "expected %s, got %s", expected(n), json_kind(j, t));
	} else if (pn_json_int64(j->text + j->tok[t].start, j->tok[t].end - j->tok[t].start,
				 &v)) {
		return fail(c, "expected %s, got a number that is not a 64-bit integer",
			    expected(n));
	}
	if (n->type == PN_AVRO_INT && (v < INT32_MIN || v > INT32_MAX))
		return fail(c, "%lld does not fit an int", (long long)v);
	put_long(&c->out, v);
	return 0;
}

static int enc_real(struct pn_avro_codec *c, const struct pn_avro_node *n,
		    const struct pn_json *j, int t)
{
	char num[64], *end;
	size_t len = j->tok[t].end - j->tok[t].start;
	double d;

	if (j->tok[t].type == PN_JSON_STRING) {
		const char *s = tok_cstring(c, j, t);

		if (!strcmp(s, "NaN"))
			d = NAN;
		else if (!strcmp(s, "Infinity"))
			d = INFINITY;
		else if (!strcmp(s, "-Infinity"))
			d = -INFINITY;
		else
			return fail(c, "expected %s, got a string", expected(n));
	} else if (!is_number(j, t) || len >= sizeof(num)) {
		return fail(c, "expected %s, got %s", expected(n), json_kind(j, t));
	} else {
		memcpy(num, j->text + j->tok[t].start, len);
		num[len] = '\0';
		d = strtod(num, &end);
		if (isinf(d))	/* 1e400: "Infinity" says so, a number may not */
			return fail(c, "%s does not fit a double", num);
	}
	if (n->type == PN_AVRO_FLOAT) {
		float f = (float)d;

		if (isinf(f) && !isinf(d))
			return fail(c, "%s does not fit a float", num);
		pn_buf_add(&c->out, &f, 4); /* little-endian, as Avro wants (x86, arm) */
	} else {
		pn_buf_add(&c->out, &d, 8);
	}
	return 0;
}

/* bytes and fixed from base64 (or, in a schema default, code points). */
static int enc_binary(struct pn_avro_codec *c, const struct pn_avro_node *n,
		      const struct pn_json *j, int t)
{
	size_t len;
	const char *s, *why = NULL;

	if (j->tok[t].type != PN_JSON_STRING && !(n->logical == PN_AVRO_DECIMAL && is_number(j, t)))
		return fail(c, "expected %s, got %s", expected(n), json_kind(j, t));
	s = j->tok[t].type == PN_JSON_STRING ? tok_string(c, j, t, &len)
					    : pn_json_raw(j, t, &len);
	pn_buf_reset(&c->bin);
	if (n->logical == PN_AVRO_DECIMAL) {
		if (decimal_to_bytes(s, len, n->precision > 150 ? 150 : n->precision, n->scale,
				     n->type == PN_AVRO_FIXED ? n->size : 0, &c->bin, &why))
			return fail(c, "'%.*s' %s", (int)len, s, why);
	} else if (c->default_mode) {
		/* defaults of bytes are ISO-8859-1 text (the Avro spec) */
		for (size_t i = 0; i < len; i++) {
			unsigned char b = (unsigned char)s[i];

			if (b >= 0xc4)
				return fail(c, "a bytes default must be code points below 256");
			if (b >= 0xc2 && i + 1 < len)
				b = (unsigned char)(((b & 0x1f) << 6) | (s[++i] & 0x3f));
			pn_buf_addc(&c->bin, (char)b);
		}
	} else if (pn_buf_add_unbase64(&c->bin, s, len)) {
		return fail(c, "expected %s, got a string that is not base64", expected(n));
	}
	if (n->type == PN_AVRO_FIXED) {
		if (c->bin.len != n->size)
			return fail(c, "expected %zu bytes for fixed '%s', got %zu", n->size,
				    n->name, c->bin.len);
		pn_buf_add(&c->out, c->bin.data, n->size);
	} else {
		put_bytes(&c->out, c->bin.data, c->bin.len);
	}
	return 0;
}

static inline int field_is(const struct pn_avro_field *f, const char *name, size_t len)
{
	return f->name_len == len && (!len || (f->name[0] == name[0] && !memcmp(f->name, name, len)));
}

/* The field called name, trying `hint` first: records usually come in
 * schema order. */
static int find_field(const struct pn_avro_node *n, const char *name, size_t len, int hint)
{
	if (hint < n->nfields && field_is(&n->fields[hint], name, len))
		return hint;
	for (int i = 0; i < n->nfields; i++)
		if (field_is(&n->fields[i], name, len))
			return i;
	/* a name with escapes, compared decoded (rare: after a miss) */
	for (int i = 0; memchr(name, '\\', len) && i < n->nfields; i++)
		if (pn_json_str_eq(name, len, n->fields[i].name, n->fields[i].name_len))
			return i;
	return -1;
}

static int admits_null(const struct pn_avro_node *n, int *branch)
{
	if (n->type == PN_AVRO_NULL) {
		*branch = -1;
		return 1;
	}
	for (int i = 0; n->type == PN_AVRO_UNION && i < n->nbranches; i++)
		if (n->branches[i]->type == PN_AVRO_NULL) {
			*branch = i;
			return 1;
		}
	return 0;
}

static int enc_record(struct pn_avro_codec *c, const struct pn_avro_node *n,
		      const struct pn_json *j, int t, int skip_meta)
{
	int local[32], *at = n->nfields <= 32 ? local : pn_malloc(n->nfields * sizeof(int));
	int k = t + 1, status = 0, branch;

	if (j->tok[t].type != PN_JSON_OBJECT) {
		status = fail(c, "expected an object for record '%s', got %s", n->name,
			      json_kind(j, t));
		goto out;
	}
	for (int i = 0; i < n->nfields; i++)
		at[i] = -1;
	for (int m = 0; m < j->tok[t].size; m++, k = pn_json_skip(j, k + 1)) {
		const char *name = j->text + j->tok[k].start;
		size_t len = j->tok[k].end - j->tok[k].start;
		int f;

		if (skip_meta && pn_json_is_meta_name(name, len))
			continue;
		f = find_field(n, name, len, m);
		if (f < 0) {
			push_name(c, name, len);
			status = fail(c, "not in the schema of record '%s'", n->name);
			pop(c);
			goto out;
		}
		at[f] = k + 1;
	}
	for (int i = 0; i < n->nfields && status == 0; i++) {
		const struct pn_avro_field *f = &n->fields[i];

		push_name(c, f->name, f->name_len);
		if (at[i] >= 0)
			status = enc(c, f->type, j, at[i]);
		else if (f->has_default)
			pn_buf_add(&c->out, f->def_bin, f->def_bin_len);
		else if (admits_null(f->type, &branch)) {
			if (branch >= 0)
				put_long(&c->out, branch);
		} else
			status = fail(c, "missing, and the schema gives no default");
		pop(c);
	}
out:
	if (at != local)
		free(at);
	return status;
}

static int enc_enum(struct pn_avro_codec *c, const struct pn_avro_node *n,
		    const struct pn_json *j, int t)
{
	size_t len;
	const char *s;

	if (j->tok[t].type != PN_JSON_STRING)
		return fail(c, "expected a symbol of enum '%s', got %s", n->name, json_kind(j, t));
	s = tok_string(c, j, t, &len);
	for (int i = 0; i < n->nsymbols; i++)
		if (strlen(n->symbols[i]) == len && !memcmp(n->symbols[i], s, len)) {
			put_long(&c->out, i);
			return 0;
		}
	return fail(c, "'%.*s' is not a symbol of enum '%s'", (int)len, s, n->name);
}

static int enc_array(struct pn_avro_codec *c, const struct pn_avro_node *n,
		     const struct pn_json *j, int t)
{
	int k = t + 1;

	if (j->tok[t].type != PN_JSON_ARRAY)
		return fail(c, "expected a list, got %s", json_kind(j, t));
	if (j->tok[t].size)
		put_long(&c->out, j->tok[t].size);
	for (int i = 0; i < j->tok[t].size; i++, k = pn_json_skip(j, k)) {
		push_index(c, i);
		if (enc(c, n->items, j, k))
			return -1;
		pop(c);
	}
	put_long(&c->out, 0);
	return 0;
}

static int enc_map(struct pn_avro_codec *c, const struct pn_avro_node *n,
		   const struct pn_json *j, int t)
{
	int k = t + 1;

	if (j->tok[t].type != PN_JSON_OBJECT)
		return fail(c, "expected an object (map), got %s", json_kind(j, t));
	if (j->tok[t].size)
		put_long(&c->out, j->tok[t].size);
	for (int i = 0; i < j->tok[t].size; i++, k = pn_json_skip(j, k + 1)) {
		size_t len;
		const char *key = tok_string(c, j, k, &len);

		put_bytes(&c->out, key, len);
		push_name(c, j->text + j->tok[k].start, j->tok[k].end - j->tok[k].start);
		if (enc(c, n->items, j, k + 1))
			return -1;
		pop(c);
	}
	put_long(&c->out, 0);
	return 0;
}

/* "NaN", "Infinity" or "-Infinity": how the decoder writes those floats. */
static int is_special_float(const struct pn_json *j, int t)
{
	return pn_json_tok_eq(j, t, "NaN", 3) || pn_json_tok_eq(j, t, "Infinity", 8) ||
	       pn_json_tok_eq(j, t, "-Infinity", 9);
}

/* How well branch b takes JSON value t: 0 not at all, higher is better. */
static int branch_fit(const struct pn_avro_node *b, const struct pn_json *j, int t)
{
	int64_t v;

	switch (b->type) {
	case PN_AVRO_NULL: return is_null(j, t) ? 9 : 0;
	case PN_AVRO_BOOLEAN: return is_bool(j, t) ? 9 : 0;
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		if (j->tok[t].type == PN_JSON_STRING)
			return b->logical != PN_AVRO_PLAIN ? 3 : 0;
		if (!is_number(j, t) ||
		    pn_json_int64(j->text + j->tok[t].start, j->tok[t].end - j->tok[t].start, &v))
			return 0;
		return b->type == PN_AVRO_INT ? (v >= INT32_MIN && v <= INT32_MAX ? 8 : 0) : 7;
	case PN_AVRO_FLOAT: return is_number(j, t) || is_special_float(j, t) ? 5 : 0;
	case PN_AVRO_DOUBLE: return is_number(j, t) || is_special_float(j, t) ? 6 : 0;
	case PN_AVRO_STRING: return j->tok[t].type == PN_JSON_STRING ? 9 : 0;
	case PN_AVRO_ENUM: return j->tok[t].type == PN_JSON_STRING ? 8 : 0;
	case PN_AVRO_BYTES:
	case PN_AVRO_FIXED:
		return j->tok[t].type == PN_JSON_STRING ||
		       (b->logical == PN_AVRO_DECIMAL && is_number(j, t)) ? 2 : 0;
	case PN_AVRO_RECORD: return j->tok[t].type == PN_JSON_OBJECT ? 8 : 0;
	case PN_AVRO_MAP: return j->tok[t].type == PN_JSON_OBJECT ? 7 : 0;
	case PN_AVRO_ARRAY: return j->tok[t].type == PN_JSON_ARRAY ? 9 : 0;
	case PN_AVRO_UNION: return 0;
	}
	return 0;
}

static const char *branch_name(const struct pn_avro_node *b)
{
	return b->name ? b->name : type_names[b->type];
}

static void union_names(struct pn_buf *b, const struct pn_avro_node *n)
{
	pn_buf_addc(b, '[');
	for (int i = 0; i < n->nbranches; i++) {
		if (i)
			pn_buf_adds(b, ", ");
		pn_buf_adds(b, branch_name(n->branches[i]));
	}
	pn_buf_addc(b, ']');
}

static int enc_union(struct pn_avro_codec *c, const struct pn_avro_node *n,
		     const struct pn_json *j, int t)
{
	size_t at = c->out.len;
	int fit[64], tried[64], ntried = 0, nb = n->nbranches < 64 ? n->nbranches : 64;

	/* try the branches the value fits, best fit first */
	for (int i = 0; i < nb; i++)
		fit[i] = branch_fit(n->branches[i], j, t);
	for (;;) {
		int best = -1;

		for (int i = 0; i < nb; i++)
			if (fit[i] > 0 && (best < 0 || fit[i] > fit[best]))
				best = i;
		if (best < 0)
			break;
		fit[best] = 0;
		tried[ntried++] = best;
		put_long(&c->out, best);
		if (enc(c, n->branches[best], j, t) == 0)
			return 0;
		c->out.len = at;
	}
	/* the Avro JSON encoding's wrapper: {"long": 5}, {"com.x.Rec": {...}} */
	if (j->tok[t].type == PN_JSON_OBJECT && j->tok[t].size == 1) {
		for (int i = 0; i < n->nbranches; i++) {
			const char *name = branch_name(n->branches[i]);

			if (pn_json_tok_eq(j, t + 1, name, strlen(name))) {
				put_long(&c->out, i);
				if (enc(c, n->branches[i], j, t + 2) == 0)
					return 0;
				c->out.len = at;
				return -1;
			}
		}
	}
	if (ntried == 1) {
		/* one candidate: its own reason says most */
		put_long(&c->out, tried[0]);
		enc(c, n->branches[tried[0]], j, t);
		c->out.len = at;
		return -1;
	}
	pn_buf_reset(&c->tmp);
	union_names(&c->tmp, n);
	return fail(c, "%s fits no branch of the union %s", json_kind(j, t), c->tmp.data);
}

static int enc(struct pn_avro_codec *c, const struct pn_avro_node *n, const struct pn_json *j,
	       int t)
{
	size_t len;
	const char *s;

	switch (n->type) {
	case PN_AVRO_NULL:
		if (!is_null(j, t))
			return fail(c, "expected null, got %s", json_kind(j, t));
		return 0;
	case PN_AVRO_BOOLEAN:
		if (!is_bool(j, t))
			return fail(c, "expected a boolean, got %s", json_kind(j, t));
		pn_buf_addc(&c->out, j->text[j->tok[t].start] == 't');
		return 0;
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		return enc_integer(c, n, j, t);
	case PN_AVRO_FLOAT:
	case PN_AVRO_DOUBLE:
		return enc_real(c, n, j, t);
	case PN_AVRO_BYTES:
	case PN_AVRO_FIXED:
		return enc_binary(c, n, j, t);
	case PN_AVRO_STRING:
		if (j->tok[t].type != PN_JSON_STRING)
			return fail(c, "expected a string, got %s", json_kind(j, t));
		s = tok_string(c, j, t, &len);
		put_bytes(&c->out, s, len);
		return 0;
	case PN_AVRO_RECORD:
		return enc_record(c, n, j, t, 0);
	case PN_AVRO_ENUM:
		return enc_enum(c, n, j, t);
	case PN_AVRO_ARRAY:
		return enc_array(c, n, j, t);
	case PN_AVRO_MAP:
		return enc_map(c, n, j, t);
	case PN_AVRO_UNION:
		return enc_union(c, n, j, t);
	}
	return fail(c, "unknown type");
}

int pn_avro_encode(struct pn_avro_codec *c, const struct pn_avro_schema *s,
		   const struct pn_json *j, int tok, int skip_meta)
{
	c->depth = 0;
	if (s->root->type == PN_AVRO_RECORD)
		return enc_record(c, s->root, j, tok, skip_meta);
	return enc(c, s->root, j, tok);
}

/* ---- decoding: Avro binary -> natural JSON ---- */

struct rd {
	const unsigned char *p, *end;
	int64_t items_left;	/* array and map items the data may still hold */
	int nest;		/* records, arrays and maps we are in */
};

static int is_container(const struct pn_avro_node *n)
{
	return n->type == PN_AVRO_RECORD || n->type == PN_AVRO_ARRAY || n->type == PN_AVRO_MAP;
}

static int truncated(struct pn_avro_codec *c)
{
	return fail(c, "truncated or malformed Avro data");
}

static inline int get_long(struct pn_avro_codec *c, struct rd *r, int64_t *v)
{
	uint64_t u = 0;
	int shift = 0;

	*v = 0;
	while (r->p < r->end) {
		unsigned char b = *r->p++;

		u |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
		if ((shift += 7) > 63)
			break;
	}
	return truncated(c);
}

static int get_bytes(struct pn_avro_codec *c, struct rd *r, const unsigned char **p,
		     size_t *n)
{
	int64_t len;

	if (get_long(c, r, &len))
		return -1;
	if (len < 0 || len > r->end - r->p)
		return truncated(c);
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
	return 0;
}

static void add_real(struct pn_buf *b, double d, int is_float)
{
	char num[40];

	if (isnan(d)) {
		pn_buf_adds(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		pn_buf_adds(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	/* the shortest text that reads back as the same value */
	for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
		snprintf(num, sizeof(num), "%.*g", prec, d);
		if (is_float ? (float)strtod(num, NULL) == (float)d : strtod(num, NULL) == d)
			break;
	}
	/* JSON numbers need a digit before an exponent or point: %g gives one */
	pn_buf_adds(b, num);
	if (!strpbrk(num, ".eEn"))
		pn_buf_add(b, ".0", 2);
}

static int dec(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r);

static int dec_block_count(struct pn_avro_codec *c, struct rd *r, int64_t *count)
{
	int64_t size;

	if (get_long(c, r, count))
		return -1;
	if (*count < 0) {
		if (*count == INT64_MIN)
			return truncated(c);	/* no count to negate */
		*count = -*count;
		if (get_long(c, r, &size))
			return -1;
	}
	/*
	 * Every item takes a byte at least, but for nulls (and empty
	 * records): a million of those in a whole value, not per block,
	 * or a few bytes of block counts would ask for gigabytes of "null".
	 */
	if (*count > r->items_left)
		return truncated(c);
	r->items_left -= *count;
	return 0;
}

static int dec_array_or_map(struct pn_avro_codec *c, const struct pn_avro_node *w,
			    const struct pn_avro_node *rn, struct rd *r);

static int dec_record(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r)
{
	pn_buf_addc(&c->out, '{');
	for (int i = 0; i < n->nfields; i++) {
		const struct pn_avro_field *f = &n->fields[i];

		if (i)
			pn_buf_addc(&c->out, ',');
		pn_json_add_string(&c->out, f->name, f->name_len);
		pn_buf_addc(&c->out, ':');
		push_name(c, f->name, f->name_len);
		if (dec(c, f->type, r))
			return -1;
		pop(c);
	}
	pn_buf_addc(&c->out, '}');
	return 0;
}

static int dec_one(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r)
{
	const unsigned char *p;
	size_t len;
	int64_t v;
	float f;
	double d;

	switch (n->type) {
	case PN_AVRO_NULL:
		pn_buf_add(&c->out, "null", 4);
		return 0;
	case PN_AVRO_BOOLEAN:
		if (r->p >= r->end || *r->p > 1)
			return truncated(c);
		pn_buf_adds(&c->out, *r->p++ ? "true" : "false");
		return 0;
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		if (get_long(c, r, &v))
			return -1;
		if (n->type == PN_AVRO_INT && (v < INT32_MIN || v > INT32_MAX))
			return truncated(c);
		if (n->logical == PN_AVRO_PLAIN)
			pn_buf_add_i64(&c->out, v);
		else
			add_logical_long(&c->out, n, v);
		return 0;
	case PN_AVRO_FLOAT:
		if (r->end - r->p < 4)
			return truncated(c);
		memcpy(&f, r->p, 4);
		r->p += 4;
		add_real(&c->out, f, 1);
		return 0;
	case PN_AVRO_DOUBLE:
		if (r->end - r->p < 8)
			return truncated(c);
		memcpy(&d, r->p, 8);
		r->p += 8;
		add_real(&c->out, d, 0);
		return 0;
	case PN_AVRO_STRING:
		if (get_bytes(c, r, &p, &len))
			return -1;
		pn_json_add_string(&c->out, (const char *)p, len);
		return 0;
	case PN_AVRO_BYTES:
	case PN_AVRO_FIXED:
		if (n->type == PN_AVRO_BYTES) {
			if (get_bytes(c, r, &p, &len))
				return -1;
		} else {
			if ((size_t)(r->end - r->p) < n->size)
				return truncated(c);
			p = r->p;
			len = n->size;
			r->p += len;
		}
		if (n->logical == PN_AVRO_DECIMAL) {
			if (add_decimal(&c->out, p, len, n->precision, n->scale))
				return fail(c, "a decimal with more digits than its precision %d",
					    n->precision);
		} else {
			pn_buf_addc(&c->out, '"');
			pn_buf_add_base64(&c->out, p, len);
			pn_buf_addc(&c->out, '"');
		}
		return 0;
	case PN_AVRO_RECORD:
		return dec_record(c, n, r);
	case PN_AVRO_ENUM:
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= n->nsymbols)
			return fail(c, "enum index %lld out of range", (long long)v);
		pn_json_add_string(&c->out, n->symbols[v], strlen(n->symbols[v]));
		return 0;
	case PN_AVRO_ARRAY:
	case PN_AVRO_MAP:
		return dec_array_or_map(c, n, NULL, r);
	case PN_AVRO_UNION:
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= n->nbranches)
			return fail(c, "union branch %lld out of range", (long long)v);
		return dec(c, n->branches[v], r);
	}
	return truncated(c);
}

/* ---- resolution: writer data read as a reader schema ---- */

static int dec_resolve(struct pn_avro_codec *c, const struct pn_avro_node *w,
		       const struct pn_avro_node *rn, struct rd *r);

static const char *short_name(const char *full)
{
	const char *dot = full ? strrchr(full, '.') : NULL;

	return dot ? dot + 1 : full ? full : "";
}

static int same_name(const struct pn_avro_node *a, const struct pn_avro_node *b)
{
	return !strcmp(a->name, b->name) || !strcmp(short_name(a->name), short_name(b->name));
}

/* Can data of writer type w be read as reader type rn (not a union)? */
static int matches(const struct pn_avro_node *w, const struct pn_avro_node *rn)
{
	if (w->type == rn->type) {
		if (w->type == PN_AVRO_RECORD || w->type == PN_AVRO_ENUM)
			return same_name(w, rn);
		if (w->type == PN_AVRO_FIXED)
			return same_name(w, rn) && w->size == rn->size;
		return 1;
	}
	switch (w->type) {
	case PN_AVRO_INT:
		return rn->type == PN_AVRO_LONG || rn->type == PN_AVRO_FLOAT ||
		       rn->type == PN_AVRO_DOUBLE;
	case PN_AVRO_LONG:
		return rn->type == PN_AVRO_FLOAT || rn->type == PN_AVRO_DOUBLE;
	case PN_AVRO_FLOAT:
		return rn->type == PN_AVRO_DOUBLE;
	case PN_AVRO_STRING:
		return rn->type == PN_AVRO_BYTES;
	case PN_AVRO_BYTES:
		return rn->type == PN_AVRO_STRING;
	default:
		return 0;
	}
}

static int mismatch(struct pn_avro_codec *c, const struct pn_avro_node *w,
		    const struct pn_avro_node *rn)
{
	return fail(c, "the writer's %s cannot be read as the reader's %s", branch_name(w),
		    branch_name(rn));
}

static int resolve_record(struct pn_avro_codec *c, const struct pn_avro_node *w,
			  const struct pn_avro_node *rn, struct rd *r)
{
	int first = 1;

	pn_buf_addc(&c->out, '{');
	for (int i = 0; i < w->nfields; i++) {
		const struct pn_avro_field *f = &w->fields[i];
		int k = find_field(rn, f->name, f->name_len, i);
		size_t at = c->out.len;

		push_name(c, f->name, f->name_len);
		if (k < 0) {
			/* a field the reader does not know: read past it */
			if (dec(c, f->type, r))
				return -1;
			c->out.len = at;
		} else {
			if (!first)
				pn_buf_addc(&c->out, ',');
			pn_json_add_string(&c->out, f->name, f->name_len);
			pn_buf_addc(&c->out, ':');
			if (dec_resolve(c, f->type, rn->fields[k].type, r))
				return -1;
			first = 0;
		}
		pop(c);
	}
	for (int k = 0; k < rn->nfields; k++) {
		const struct pn_avro_field *f = &rn->fields[k];

		if (find_field(w, f->name, f->name_len, k) >= 0)
			continue;
		if (!f->has_default) {
			push_name(c, f->name, f->name_len);
			return fail(c, "not in the writer's schema and the reader's gives no "
				       "default");
		}
		if (!first)
			pn_buf_addc(&c->out, ',');
		pn_json_add_string(&c->out, f->name, f->name_len);
		pn_buf_addc(&c->out, ':');
		pn_buf_adds(&c->out, f->def_json);
		first = 0;
	}
	pn_buf_addc(&c->out, '}');
	return 0;
}

static int dec_array_or_map(struct pn_avro_codec *c, const struct pn_avro_node *w,
			    const struct pn_avro_node *rn, struct rd *r)
{
	int is_map = w->type == PN_AVRO_MAP, first = 1;
	int64_t count, index = 0;
	const unsigned char *p;
	size_t len;

	pn_buf_addc(&c->out, is_map ? '{' : '[');
	for (;;) {
		if (dec_block_count(c, r, &count))
			return -1;
		if (!count)
			break;
		for (int64_t i = 0; i < count; i++, index++) {
			if (!first)
				pn_buf_addc(&c->out, ',');
			first = 0;
			if (is_map) {
				if (get_bytes(c, r, &p, &len))
					return -1;
				pn_json_add_string(&c->out, (const char *)p, len);
				pn_buf_addc(&c->out, ':');
				push_name(c, (const char *)p, len);
			} else {
				push_index(c, index);
			}
			if (rn ? dec_resolve(c, w->items, rn->items, r) : dec(c, w->items, r))
				return -1;
			pop(c);
		}
	}
	pn_buf_addc(&c->out, is_map ? '}' : ']');
	return 0;
}

static int dec_resolve_one(struct pn_avro_codec *c, const struct pn_avro_node *w,
			   const struct pn_avro_node *rn, struct rd *r)
{
	int64_t v;
	float f;

	if (w->type == PN_AVRO_UNION) {
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= w->nbranches)
			return fail(c, "union branch %lld out of range", (long long)v);
		return dec_resolve(c, w->branches[v], rn, r);
	}
	if (rn->type == PN_AVRO_UNION) {
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < rn->nbranches; i++) {
				const struct pn_avro_node *b = rn->branches[i];

				/* the first branch of the same type, else one it promotes to */
				if (pass == 0 ? b->type == w->type && matches(w, b) : matches(w, b))
					return dec_resolve(c, w, b, r);
			}
		pn_buf_reset(&c->tmp);
		union_names(&c->tmp, rn);
		return fail(c, "the writer's %s fits no branch of the reader's %s",
			    branch_name(w), c->tmp.data);
	}
	if (!matches(w, rn))
		return mismatch(c, w, rn);
	switch (w->type) {
	case PN_AVRO_RECORD:
		return resolve_record(c, w, rn, r);
	case PN_AVRO_ENUM:
		if (get_long(c, r, &v))
			return -1;
		if (v < 0 || v >= w->nsymbols)
			return fail(c, "enum index %lld out of range", (long long)v);
		for (int i = 0; i < rn->nsymbols; i++)
			if (!strcmp(rn->symbols[i], w->symbols[v])) {
				pn_json_add_string(&c->out, rn->symbols[i], strlen(rn->symbols[i]));
				return 0;
			}
		if (rn->enum_default < 0)
			return fail(c, "'%s' is not a symbol of the reader's enum '%s'",
				    w->symbols[v], rn->name);
		pn_json_add_string(&c->out, rn->symbols[rn->enum_default],
				   strlen(rn->symbols[rn->enum_default]));
		return 0;
	case PN_AVRO_ARRAY:
	case PN_AVRO_MAP:
		return dec_array_or_map(c, w, rn, r);
	case PN_AVRO_INT:
	case PN_AVRO_LONG:
		if (rn->type == PN_AVRO_FLOAT || rn->type == PN_AVRO_DOUBLE) {
			if (get_long(c, r, &v))
				return -1;
			add_real(&c->out, rn->type == PN_AVRO_FLOAT ? (float)v : (double)v,
				 rn->type == PN_AVRO_FLOAT);
			return 0;
		}
		return dec(c, rn->logical != PN_AVRO_PLAIN ? rn : w, r);
	case PN_AVRO_FLOAT:
		if (rn->type == PN_AVRO_DOUBLE) {
			if (r->end - r->p < 4)
				return truncated(c);
			memcpy(&f, r->p, 4);
			r->p += 4;
			add_real(&c->out, f, 0);
			return 0;
		}
		return dec(c, w, r);
	case PN_AVRO_STRING:
	case PN_AVRO_BYTES:
		/* string <-> bytes: the same bytes, written as the reader's type says */
		return dec(c, rn, r);
	default:
		return dec(c, rn->logical != PN_AVRO_PLAIN ? rn : w, r);
	}
}

/*
 * A recursive schema lets data nest as deep as its bytes allow: a message
 * of a few kilobytes would decode to JSON that no pn program reads
 * (pn_json refuses nesting past PN_JSON_MAX_DEPTH), and a larger one
 * would exhaust the stack.  Data is refused where its JSON would be.
 */
static int nest_too_deep(struct pn_avro_codec *c)
{
	return fail(c, "records, arrays and maps nested deeper than %d", PN_JSON_MAX_DEPTH);
}

static int dec(struct pn_avro_codec *c, const struct pn_avro_node *n, struct rd *r)
{
	int status;

	if (!is_container(n))
		return dec_one(c, n, r);
	if (r->nest == PN_JSON_MAX_DEPTH)
		return nest_too_deep(c);
	r->nest++;
	status = dec_one(c, n, r);
	r->nest--;
	return status;
}

/* Unions pick a branch first: the nesting is the containers' that both
 * sides agree on. */
static int dec_resolve(struct pn_avro_codec *c, const struct pn_avro_node *w,
		       const struct pn_avro_node *rn, struct rd *r)
{
	int status;

	if (w == rn)
		return dec(c, w, r);	/* the same schema: nothing to resolve */
	if (!is_container(w) || !is_container(rn))
		return dec_resolve_one(c, w, rn, r);
	if (r->nest == PN_JSON_MAX_DEPTH)
		return nest_too_deep(c);
	r->nest++;
	status = dec_resolve_one(c, w, rn, r);
	r->nest--;
	return status;
}

int pn_avro_decode(struct pn_avro_codec *c, const struct pn_avro_schema *w,
		   const struct pn_avro_schema *rs, const void *p, size_t n)
{
	struct rd r = { p, (const unsigned char *)p + n, (int64_t)n + 1000000, 0 };
	int status;

	c->depth = 0;
	status = rs ? dec_resolve(c, w->root, rs->root, &r) : dec(c, w->root, &r);
	if (status == 0 && r.p != r.end)
		return fail(c, "%zu bytes left after the value", (size_t)(r.end - r.p));
	return status;
}
