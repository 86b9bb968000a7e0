/*
 * pn_avro.c — compiling Avro schemas into pn's tree of nodes, the codec's
 * state and errors, and the Confluent framing.  The encoder, the decoder
 * and the logical types' text live beside it (see pn_avro_int.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#include "pn_avro_int.h"
#include "pn_err.h"

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

int pn_avro_fail(struct pn_avro_codec *c, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	int depth = c->depth < PN_AVRO_MAX_PATH ? c->depth : PN_AVRO_MAX_PATH;

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

const char *pn_avro_branch_name(const struct pn_avro_node *b)
{
	return b->name ? b->name : type_names[b->type];
}

void pn_avro_union_names(struct pn_buf *b, const struct pn_avro_node *n)
{
	pn_buf_addc(b, '[');
	for (int i = 0; i < n->nbranches; i++) {
		if (i)
			pn_buf_adds(b, ", ");
		pn_buf_adds(b, pn_avro_branch_name(n->branches[i]));
	}
	pn_buf_addc(b, ']');
}

/* ---- the Confluent framing ---- */

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
