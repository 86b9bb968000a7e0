#include <stdlib.h>
#include <string.h>

#include "pn_catalog.h"
#include "pn_err.h"
#include "pn_offsets.h"
#include "pn_signal.h"

struct names {
	char **v;
	size_t n, cap;
};

static void names_add(struct names *s, const char *name)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = pn_realloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = pn_strdup(name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_has(const struct names *s, const char *name)
{
	return s->n && bsearch(&name, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

struct listing {
	struct names data, manifests;
};

static int classify(void *ctx, const char *rel, uint64_t size)
{
	struct listing *l = ctx;
	const char *b = pn_base_name(rel);

	(void)size;
	if (b[0] == '.')
		return 0;	/* a temp file of a write under way, or dead */
	if (b[0] == '_' && pn_ends_with(b, PN_MANIFEST_SUFFIX))
		names_add(&l->manifests, rel);
	else if (b[0] != '_' && pn_ends_with(b, PN_MANIFEST_OBJECT_SUFFIX))
		names_add(&l->data, rel);
	return 0;
}

/* Does the object's name rule it out?  <topic>+<partition>+... */
static int name_filtered_out(const char *rel, const struct pn_archive_filter *f)
{
	const char *b = pn_base_name(rel);
	size_t k;

	if (!f->topic)
		return 0;
	k = strlen(f->topic);
	if (strncmp(b, f->topic, k) || b[k] != '+')
		return 1;
	if (f->partition >= 0) {
		char *end;
		long p = strtol(b + k + 1, &end, 10);

		return end == b + k + 1 || *end != '+' || p != f->partition;
	}
	return 0;
}

static int manifest_selected(const struct pn_manifest *m, const struct pn_archive_filter *f)
{
	if (f->topic && strcmp(m->topic, f->topic))
		return 0;
	if (f->partition >= 0 && m->partition != f->partition)
		return 0;
	if (m->min_time < 0)	/* records without a time: in no time range */
		return pn_archive_filter_all_times(f);
	return m->max_time >= f->from && m->min_time < f->to;
}

static int cmp_manifest(const void *a, const void *b)
{
	const struct pn_manifest *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	if (c)
		return c;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	if (x->first_offset != y->first_offset)
		return x->first_offset < y->first_offset ? -1 : 1;
	if (x->min_time != y->min_time)
		return x->min_time < y->min_time ? -1 : 1;
	return strcmp(x->object, y->object);
}

static void names_release(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

int pn_catalog_load(struct pn_store *st, const struct pn_archive_filter *f,
		    struct pn_catalog *c)
{
	struct listing l = { { NULL, 0, 0 }, { NULL, 0, 0 } };
	struct names none = { NULL, 0, 0 }, orphans = { NULL, 0, 0 };
	struct names bad = { NULL, 0, 0 }, bad_why = { NULL, 0, 0 };
	struct pn_buf name = PN_BUF_INIT, text = PN_BUF_INIT, why = PN_BUF_INIT;
	size_t cap = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = pn_store_list(st, classify, &l);
	if (rc)
		goto out;
	if (l.data.n > 1)
		qsort(l.data.v, l.data.n, sizeof(char *), cmp_str);
	if (l.manifests.n > 1)
		qsort(l.manifests.v, l.manifests.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < l.manifests.n; i++) {
		const char *b = pn_base_name(l.manifests.v[i]);
		struct pn_buf obj = PN_BUF_INIT;

		pn_buf_add(&obj, l.manifests.v[i], b - l.manifests.v[i]);
		pn_buf_add(&obj, b + 1, strlen(b + 1) - (sizeof(PN_MANIFEST_SUFFIX) - 1));
		pn_buf_adds(&obj, PN_MANIFEST_OBJECT_SUFFIX);
		if (!names_has(&l.data, obj.data) && !name_filtered_out(obj.data, f))
			names_add(&orphans, l.manifests.v[i]);
		pn_buf_release(&obj);
	}
	for (size_t i = 0; i < l.data.n && !pn_stop; i++) {
		struct pn_manifest m;

		if (name_filtered_out(l.data.v[i], f))
			continue;
		pn_manifest_name(l.data.v[i], &name);
		if (!names_has(&l.manifests, name.data)) {
			names_add(&none, l.data.v[i]);
			continue;
		}
		if ((rc = pn_store_get(st, name.data, &text)))
			goto out;
		if (pn_manifest_parse(text.data, text.len, &m, &why)) {
			/* one damaged manifest: that object is unknown, not the rest */
			pn_manifest_release(&m);
			names_add(&bad, l.data.v[i]);
			names_add(&bad_why, why.data);
			continue;
		}
		m.object = pn_strdup(l.data.v[i]);
		if (!manifest_selected(&m, f)) {
			pn_manifest_release(&m);
			continue;
		}
		if (c->n == cap) {
			cap = cap ? 2 * cap : 64;
			c->m = pn_realloc(c->m, cap * sizeof(*c->m));
		}
		c->m[c->n++] = m;
	}
	if (c->n > 1)
		qsort(c->m, c->n, sizeof(*c->m), cmp_manifest);
out:
	c->no_manifest = none.v;
	c->n_no_manifest = none.n;
	c->orphans = orphans.v;
	c->n_orphans = orphans.n;
	c->bad = bad.v;
	c->bad_why = bad_why.v;
	c->n_bad = bad.n;
	names_release(&l.data);
	names_release(&l.manifests);
	pn_buf_release(&name);
	pn_buf_release(&text);
	pn_buf_release(&why);
	return rc;
}

void pn_catalog_release(struct pn_catalog *c)
{
	for (size_t i = 0; i < c->n_bad; i++) {
		free(c->bad[i]);
		free(c->bad_why[i]);
	}
	free(c->bad);
	free(c->bad_why);
	for (size_t i = 0; i < c->n; i++)
		pn_manifest_release(&c->m[i]);
	free(c->m);
	for (size_t i = 0; i < c->n_no_manifest; i++)
		free(c->no_manifest[i]);
	free(c->no_manifest);
	for (size_t i = 0; i < c->n_orphans; i++)
		free(c->orphans[i]);
	free(c->orphans);
	memset(c, 0, sizeof(*c));
}

/* An object whose records are unknown (no manifest, a damaged one) and
 * whose name says where it starts: a writer resumes there at the latest. */
static void offsets_hole(struct pn_offsets *t, const char *object, struct pn_buf *topic)
{
	struct pn_part *p;
	int32_t partition;
	int64_t first;

	if (pn_manifest_coords(object, topic, &partition, &first))
		return;
	p = pn_offsets_get(t, topic->data, partition);
	if (p->flushed < 0 || first < p->flushed)
		p->flushed = first;
}

void pn_catalog_offsets(const struct pn_catalog *c, struct pn_buf *out)
{
	struct pn_offsets t;
	struct pn_part *p = NULL;
	struct pn_buf topic = PN_BUF_INIT;
	int gap = 0;		/* p's run of offsets has ended */

	pn_offsets_init(&t);
	/* the catalog is sorted by topic, partition and first offset */
	for (size_t i = 0; i < c->n; i++) {
		const struct pn_manifest *m = &c->m[i];

		if (m->partition < 0 || m->first_offset < 0)
			continue;
		if (!p || p->partition != m->partition || strcmp(p->topic, m->topic)) {
			p = pn_offsets_get(&t, m->topic, m->partition);
			p->flushed = m->first_offset;	/* the archive starts here */
			gap = 0;
		}
		if (m->first_offset > p->flushed)
			gap = 1;	/* resume before it */
		else if (!gap && m->last_offset + 1 > p->flushed)
			p->flushed = m->last_offset + 1;
	}
	/* not covered: what they hold is not known */
	for (size_t i = 0; i < c->n_bad; i++)
		offsets_hole(&t, c->bad[i], &topic);
	for (size_t i = 0; i < c->n_no_manifest; i++)
		offsets_hole(&t, c->no_manifest[i], &topic);
	pn_buf_release(&topic);
	pn_offsets_write_json(&t, out);
	pn_offsets_release(&t);
}
