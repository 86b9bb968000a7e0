#include <string.h>

#include "pn_err.h"
#include "pn_kafka.h"
#include "pn_num.h"
#include "pn_start.h"

int pn_start_parse(struct pn_start *s, const char *arg, const char **why)
{
	*why = "bad offset";
	if (!strcmp(arg, "beginning")) {
		s->kind = PN_START_BEGINNING;
	} else if (!strcmp(arg, "end")) {
		s->kind = PN_START_END;
	} else if (!strcmp(arg, "stored")) {
		s->kind = PN_START_STORED;
	} else if (arg[0] == '@' || !strncmp(arg, "s@", 2)) {
		s->kind = PN_START_TIME;
		*why = "bad start time";
		return pn_parse_time(strchr(arg, '@') + 1, &s->value) ? -1 : 0;
	} else if (arg[0] == '-') {
		s->kind = PN_START_TAIL;
		return pn_parse_int(arg + 1, 1, INT64_MAX, &s->value) ? -1 : 0;
	} else {
		s->kind = PN_START_OFFSET;
		return pn_parse_int(arg, 0, INT64_MAX, &s->value) ? -1 : 0;
	}
	return 0;
}

int64_t pn_start_default(const struct pn_start *s)
{
	switch (s->kind) {
	case PN_START_BEGINNING: return RD_KAFKA_OFFSET_BEGINNING;
	case PN_START_END: return RD_KAFKA_OFFSET_END;
	case PN_START_OFFSET: return s->value;
	case PN_START_TAIL: return RD_KAFKA_OFFSET_TAIL(s->value);
	case PN_START_TIME: return s->value; /* resolved by offsets_for_times */
	case PN_START_STORED: return RD_KAFKA_OFFSET_INVALID;
	case PN_START_DEFAULT: break;
	}
	/* a group resumes from its commits; a plain reader reads everything */
	return s->group ? RD_KAFKA_OFFSET_INVALID : RD_KAFKA_OFFSET_BEGINNING;
}

void pn_start_plan(const struct pn_start *s, struct pn_commit *c,
		   rd_kafka_topic_partition_list_t *list, rd_kafka_topic_partition_list_t *by_time)
{
	for (int i = 0; i < list->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &list->elems[i];
		struct pn_commit_part *p = pn_commit_get(c, tp->topic, tp->partition);

		if (p->started)
			continue; /* a later rebalance resumes from the commits */
		p->started = 1;
		if (p->part.start < 0 && s->file)
			pn_warn("%s/%d is not in '%s': it starts as -o says", tp->topic,
				(int)tp->partition, s->file);
		if (p->part.start >= 0)
			tp->offset = p->part.start;
		else if (s->kind == PN_START_TIME)
			rd_kafka_topic_partition_list_add(by_time, tp->topic, tp->partition)->offset =
				s->value;
		else
			tp->offset = pn_start_default(s);
	}
}

/*
 * An explicit start offset that retention (or a deletion of records) has
 * already removed: Kafka would answer "out of range" and librdkafka would
 * apply auto.offset.reset, silently.  Records between the two are gone for
 * good, which an operator resuming from a checkpoint must hear about; the
 * partition starts at its log start, named in a warning with the count
 * lost.  A partition whose start cannot be asked keeps the offset given.
 */
enum { WATERMARK_TIMEOUT_MS = 10000, TIMES_TIMEOUT_MS = 10000 };

static void start_within_log(rd_kafka_t *rk, rd_kafka_topic_partition_t *tp)
{
	int64_t low, high;

	if (tp->offset < 0 || rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition,
							      &low, &high, WATERMARK_TIMEOUT_MS))
		return;
	if (tp->offset < low) {
		pn_warn("topic '%s' partition %d: offset %lld is no longer in the log, which "
			"starts at %lld (retention deleted it): %lld records lost; starting there",
			tp->topic, (int)tp->partition, (long long)tp->offset, (long long)low,
			(long long)(low - tp->offset));
		tp->offset = low;
	}
}

int pn_start_set(rd_kafka_t *rk, const struct pn_start *s, struct pn_commit *c,
		 rd_kafka_topic_partition_list_t *list)
{
	rd_kafka_topic_partition_list_t *by_time = rd_kafka_topic_partition_list_new(list->cnt);
	int status = 0;

	pn_start_plan(s, c, list, by_time);
	/* an offset set is one just planned: an assignment comes without */
	for (int i = 0; i < list->cnt; i++)
		start_within_log(rk, &list->elems[i]);
	if (by_time->cnt) {
		rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, by_time, TIMES_TIMEOUT_MS);

		if (err) {
			pn_error("cannot find offsets for the start time: %s", rd_kafka_err2str(err));
			status = pn_kafka_exit_status(err);
		}
		for (int i = 0; i < by_time->cnt && !err; i++) {
			rd_kafka_topic_partition_t *t = &by_time->elems[i];

			/* no record at or after the time: offsets_for_times answers the end */
			rd_kafka_topic_partition_list_find(list, t->topic, t->partition)->offset =
				t->offset;
		}
	}
	rd_kafka_topic_partition_list_destroy(by_time);
	return status;
}

static void warn_not_read(const struct pn_part *p)
{
	pn_warn("the start-offsets file names %s/%d, which is not read", p->topic,
		(int)p->partition);
}

static void warn_unassigned(struct pn_part *p, void *arg)
{
	if (p->start >= 0 && !rd_kafka_topic_partition_list_find(arg, p->topic, p->partition))
		warn_not_read(p);
}

void pn_start_warn_unassigned(struct pn_commit *c, const rd_kafka_topic_partition_list_t *list)
{
	pn_offsets_each(&c->parts, warn_unassigned, (void *)list);
}

struct topics {
	char *const *names;
	int n;
};

static void warn_unsubscribed(struct pn_part *p, void *arg)
{
	const struct topics *t = arg;

	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->names[i], p->topic))
			return;
	if (p->start >= 0)
		warn_not_read(p);
}

void pn_start_warn_unsubscribed(struct pn_commit *c, char *const *topics, int ntopics)
{
	struct topics t = { topics, ntopics };

	pn_offsets_each(&c->parts, warn_unsubscribed, &t);
}
