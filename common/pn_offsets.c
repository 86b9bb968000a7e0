#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pn_err.h"
#include "pn_json.h"
#include "pn_num.h"
#include "pn_offsets.h"

void pn_offsets_init_entries(struct pn_offsets *t, size_t size, void (*init)(struct pn_part *))
{
	memset(t, 0, sizeof(*t));
	t->entry_size = size;
	t->entry_init = init;
}

void pn_offsets_init(struct pn_offsets *t)
{
	pn_offsets_init_entries(t, sizeof(struct pn_part), NULL);
}

void pn_offsets_release(struct pn_offsets *t)
{
	for (int i = 0; i < t->ntopics; i++) {
		struct pn_topic_parts *tp = &t->topics[i];

		for (int32_t p = 0; p < tp->cap; p++)
			free(tp->by_partition[p]);
		free(tp->by_partition);
		free(tp->name);
	}
	free(t->topics);
	pn_offsets_init_entries(t, t->entry_size, t->entry_init);
}

static struct pn_topic_parts *find_topic(const struct pn_offsets *t, const char *topic)
{
	for (int i = 0; i < t->ntopics; i++)
		if (!strcmp(t->topics[i].name, topic))
			return &t->topics[i];
	return NULL;
}

static struct pn_topic_parts *get_topic(struct pn_offsets *t, const char *topic)
{
	struct pn_topic_parts *tp = find_topic(t, topic);

	if (tp)
		return tp;
	t->topics = pn_realloc(t->topics, (t->ntopics + 1) * sizeof(*t->topics));
	tp = &t->topics[t->ntopics++];
	memset(tp, 0, sizeof(*tp));
	tp->name = pn_strdup(topic);
	return tp;
}

static struct pn_part *get_part(const struct pn_offsets *t, struct pn_topic_parts *tp,
				int32_t partition)
{
	struct pn_part *p;

	if (partition >= tp->cap) {
		int32_t cap = tp->cap ? tp->cap : 8;

		while (cap <= partition)
			cap *= 2;
		tp->by_partition = pn_realloc(tp->by_partition, cap * sizeof(*tp->by_partition));
		memset(tp->by_partition + tp->cap, 0, (cap - tp->cap) * sizeof(*tp->by_partition));
		tp->cap = cap;
	}
	p = tp->by_partition[partition];
	if (!p) {
		p = pn_malloc(t->entry_size);
		memset(p, 0, t->entry_size);
		p->topic = tp->name;
		p->partition = partition;
		p->start = p->appended = p->flushed = -1;
		if (t->entry_init)
			t->entry_init(p);
		tp->by_partition[partition] = p;
	}
	return p;
}

struct pn_part *pn_offsets_get(struct pn_offsets *t, const char *topic, int32_t partition)
{
	return get_part(t, get_topic(t, topic), partition);
}

struct pn_part *pn_offsets_get_bound(struct pn_offsets *t, const void *handle,
				     int32_t partition)
{
	for (int i = 0; i < t->ntopics; i++)
		if (t->topics[i].handle == handle)
			return get_part(t, &t->topics[i], partition);
	return NULL;
}

void pn_offsets_bind(struct pn_offsets *t, const char *topic, const void *handle)
{
	get_topic(t, topic)->handle = handle;
}

struct pn_part *pn_offsets_find(const struct pn_offsets *t, const char *topic, int32_t partition)
{
	struct pn_topic_parts *tp = find_topic(t, topic);

	if (!tp || partition < 0 || partition >= tp->cap)
		return NULL;
	return tp->by_partition[partition];
}

void pn_offsets_each(struct pn_offsets *t, void (*fn)(struct pn_part *, void *), void *arg)
{
	for (int i = 0; i < t->ntopics; i++)
		for (int32_t p = 0; p < t->topics[i].cap; p++)
			if (t->topics[i].by_partition[p])
				fn(t->topics[i].by_partition[p], arg);
}

static int load_topic(struct pn_offsets *t, const char *path, const char *topic, json_t *parts)
{
	const char *key;
	json_t *v;

	if (!json_is_object(parts)) {
		pn_error("bad start-offsets file '%s': topic '%s' must map partitions to offsets",
			 path, topic);
		return -1;
	}
	json_object_foreach(parts, key, v) {
		int64_t partition;

		if (pn_parse_int(key, 0, PN_PARTITION_MAX, &partition) || !json_is_integer(v) ||
		    json_integer_value(v) < 0) {
			pn_error("bad start-offsets file '%s': topic '%s' partition '%s' needs "
				 "a partition number and an offset", path, topic, key);
			return -1;
		}
		pn_offsets_get(t, topic, (int32_t)partition)->start = json_integer_value(v);
	}
	return 0;
}

int pn_offsets_load_start(struct pn_offsets *t, const char *path)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	const char *topic;
	json_t *parts;
	int status = 0;

	if (!root) {
		pn_error("cannot read start-offsets file '%s' (line %d): %s", path, jerr.line,
			 jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		pn_error("bad start-offsets file '%s': expected an object of topics", path);
		status = -1;
	}
	json_object_foreach(root, topic, parts) {
		if (status || (status = load_topic(t, path, topic, parts)))
			break;
	}
	json_decref(root);
	return status;
}

void pn_offsets_write_json(const struct pn_offsets *t, struct pn_buf *b)
{
	int first_topic = 1;

	pn_buf_addc(b, '{');
	for (int i = 0; i < t->ntopics; i++) {
		const struct pn_topic_parts *tp = &t->topics[i];
		int first = 1;

		for (int32_t k = 0; k < tp->cap; k++) {
			struct pn_part *p = tp->by_partition[k];

			if (!p || p->flushed < 0)
				continue;
			if (first) {
				if (!first_topic)
					pn_buf_addc(b, ',');
				pn_json_add_string(b, tp->name, strlen(tp->name));
				pn_buf_addc(b, ':');
				pn_buf_addc(b, '{');
				first_topic = 0;
			}
			pn_buf_addf(b, "%s\"%d\":%lld", first ? "" : ",", (int)p->partition,
				    (long long)p->flushed);
			first = 0;
		}
		if (!first)
			pn_buf_addc(b, '}');
	}
	pn_buf_adds(b, "}\n");
}
