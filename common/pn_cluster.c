#include <stdlib.h>
#include <string.h>

#include "pn_cluster.h"
#include "pn_err.h"
#include "pn_json.h"
#include "pn_kafka.h"

typedef rd_kafka_metadata_topic_t md_topic;
typedef rd_kafka_metadata_partition_t md_partition;
typedef rd_kafka_metadata_broker_t md_broker;

/* The metadata of every topic into *md: 0, or the exit status after
 * reporting.  One request for them all: a topic asked for alone would
 * cost a round trip each. */
static int read_metadata(rd_kafka_t *rk, const struct pn_cluster_query *q,
			 const struct rd_kafka_metadata **md)
{
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, md, q->timeout_ms);

	if (err) {
		pn_error("cannot read the cluster's metadata: %s", rd_kafka_err2str(err));
		return pn_kafka_exit_status(err);
	}
	return 0;
}

static int by_topic_name(const void *a, const void *b)
{
	return strcmp((*(const md_topic *const *)a)->topic, (*(const md_topic *const *)b)->topic);
}

static int by_partition_id(const void *a, const void *b)
{
	int32_t x = (*(const md_partition *const *)a)->id, y = (*(const md_partition *const *)b)->id;

	return (x > y) - (x < y);
}

static int by_broker_id(const void *a, const void *b)
{
	int32_t x = (*(const md_broker *const *)a)->id, y = (*(const md_broker *const *)b)->id;

	return (x > y) - (x < y);
}

static const md_topic *find_topic(const struct rd_kafka_metadata *md, const char *name)
{
	for (int i = 0; i < md->topic_cnt; i++)
		if (!strcmp(md->topics[i].topic, name))
			return &md->topics[i];
	return NULL;
}

/*
 * The topics of md that q names, or all of them when it names none,
 * sorted by name and each once, into *picked (malloc'ed, *n of them):
 * 0, or the exit status after naming a topic that does not exist (78) or
 * that the cluster reports an error for.
 */
static int pick_topics(const struct rd_kafka_metadata *md, const struct pn_cluster_query *q,
		       const md_topic ***picked, int *n)
{
	const md_topic **t = pn_malloc((q->ntopics ? q->ntopics : md->topic_cnt + 1) * sizeof(*t));
	int count = 0, kept = 0, status = 0;

	if (!q->ntopics) {
		for (int i = 0; i < md->topic_cnt; i++)
			if (!md->topics[i].err)
				t[count++] = &md->topics[i];
	}
	for (int i = 0; i < q->ntopics && !status; i++) {
		const md_topic *found = find_topic(md, q->topics[i]);

		if (!found || found->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
			pn_error("topic '%s' does not exist", q->topics[i]);
			status = PN_EX_CONFIG;
		} else if (found->err) {
			pn_error("cannot read topic '%s': %s", q->topics[i],
				 rd_kafka_err2str(found->err));
			status = pn_kafka_exit_status(found->err);
		} else {
			t[count++] = found;
		}
	}
	qsort(t, count, sizeof(*t), by_topic_name);
	/* -t pings -t pings: once */
	for (int i = 0; i < count; i++)
		if (!kept || t[kept - 1] != t[i])
			t[kept++] = t[i];
	*picked = t;
	*n = kept;
	return status;
}

/* ---- --list ---- */

static void add_broker(struct pn_buf *b, const md_broker *broker)
{
	pn_buf_addf(b, "{\"broker\":%d,\"host\":", (int)broker->id);
	pn_json_add_string(b, broker->host, strlen(broker->host));
	pn_buf_addf(b, ",\"port\":%d}\n", broker->port);
}

static void add_ids(struct pn_buf *b, const char *name, const int32_t *ids, int n)
{
	pn_buf_addf(b, ",\"%s\":[", name);
	for (int i = 0; i < n; i++)
		pn_buf_addf(b, "%s%d", i ? "," : "", (int)ids[i]);
	pn_buf_addc(b, ']');
}

/* Replicas and ISR in the cluster's order: the first replica is the
 * preferred leader. */
static void add_partition(struct pn_buf *b, const char *topic, const md_partition *p)
{
	pn_buf_adds(b, "{\"_topic\":");
	pn_json_add_string(b, topic, strlen(topic));
	pn_buf_addf(b, ",\"_partition\":%d,\"leader\":", (int)p->id);
	if (p->leader >= 0)
		pn_buf_addf(b, "%d", (int)p->leader);
	else
		pn_buf_adds(b, "null");
	add_ids(b, "replicas", p->replicas, p->replica_cnt);
	add_ids(b, "isr", p->isrs, p->isr_cnt);
	if (p->err) {
		const char *why = rd_kafka_err2str(p->err);

		pn_buf_adds(b, ",\"error\":");
		pn_json_add_string(b, why, strlen(why));
	}
	pn_buf_adds(b, "}\n");
}

static void list_brokers(const struct rd_kafka_metadata *md, struct pn_out *out)
{
	const md_broker **b = pn_malloc((md->broker_cnt + 1) * sizeof(*b));

	for (int i = 0; i < md->broker_cnt; i++)
		b[i] = &md->brokers[i];
	qsort(b, md->broker_cnt, sizeof(*b), by_broker_id);
	for (int i = 0; i < md->broker_cnt; i++) {
		add_broker(&out->buf, b[i]);
		pn_out_record(out);
	}
	free(b);
}

static void list_partitions(const md_topic *t, struct pn_out *out)
{
	const md_partition **p = pn_malloc((t->partition_cnt + 1) * sizeof(*p));

	for (int i = 0; i < t->partition_cnt; i++)
		p[i] = &t->partitions[i];
	qsort(p, t->partition_cnt, sizeof(*p), by_partition_id);
	for (int i = 0; i < t->partition_cnt; i++) {
		add_partition(&out->buf, t->topic, p[i]);
		pn_out_record(out);
	}
	free(p);
}

int pn_cluster_list(rd_kafka_t *rk, const struct pn_cluster_query *q, struct pn_out *out)
{
	const struct rd_kafka_metadata *md;
	const md_topic **topics = NULL;
	int ntopics, status = read_metadata(rk, q, &md);

	if (status)
		return status;
	status = pick_topics(md, q, &topics, &ntopics);
	if (!status) {
		list_brokers(md, out);
		for (int i = 0; i < ntopics; i++)
			list_partitions(topics[i], out);
	}
	free(topics);
	rd_kafka_metadata_destroy(md);
	return status;
}

/* ---- --lag ---- */

/*
 * The partitions of the topics into list: every one, or those of
 * q->partitions (a partition a topic lacks is a usage error, 64, as when
 * pn-consume -p reads it).  0, or the exit status after reporting.
 */
static int add_partitions(const md_topic *t, const struct pn_cluster_query *q,
			  rd_kafka_topic_partition_list_t *list)
{
	for (int i = 0; i < q->npartitions; i++) {
		if (q->partitions[i] >= t->partition_cnt) {
			pn_error("topic '%s' has no partition %d (it has %d)", t->topic,
				 (int)q->partitions[i], t->partition_cnt);
			return PN_EX_USAGE;
		}
		rd_kafka_topic_partition_list_add(list, t->topic, q->partitions[i]);
	}
	for (int i = 0; i < t->partition_cnt && !q->npartitions; i++)
		rd_kafka_topic_partition_list_add(list, t->topic, t->partitions[i].id);
	return 0;
}

/* The group's commits into the offsets of list (RD_KAFKA_OFFSET_INVALID:
 * none): 0, or the exit status after reporting. */
static int read_commits(rd_kafka_t *rk, const struct pn_cluster_query *q,
			rd_kafka_topic_partition_list_t *list)
{
	rd_kafka_resp_err_t err = rd_kafka_committed(rk, list, q->timeout_ms);

	for (int i = 0; i < list->cnt && !err; i++)
		err = list->elems[i].err;
	if (err) {
		pn_error("cannot read the commits of group '%s': %s", q->group,
			 rd_kafka_err2str(err));
		return pn_kafka_exit_status(err);
	}
	return 0;
}

/*
 * Without -t: the partitions of the topics the group has committed to,
 * from list sorted by topic.  A group that has committed to none is an
 * error (78): a mistyped group name would otherwise pass for one without
 * lag.
 */
static rd_kafka_topic_partition_list_t *
committed_topics(const char *group, rd_kafka_topic_partition_list_t *list)
{
	rd_kafka_topic_partition_list_t *kept = rd_kafka_topic_partition_list_new(list->cnt);

	for (int from = 0, to; from < list->cnt; from = to) {
		int committed = 0;

		for (to = from; to < list->cnt &&
		     !strcmp(list->elems[to].topic, list->elems[from].topic); to++)
			committed |= list->elems[to].offset >= 0;
		for (int i = from; i < to && committed; i++)
			rd_kafka_topic_partition_list_add(kept, list->elems[i].topic,
							  list->elems[i].partition)->offset =
				list->elems[i].offset;
	}
	if (!kept->cnt) {
		pn_error("group '%s' has committed no offsets: name its topics with -t to see "
			 "their lag from the log start", group);
		rd_kafka_topic_partition_list_destroy(kept);
		return NULL;
	}
	return kept;
}

/* The sums of the summary line. */
struct lag_tally {
	int64_t total;
	int partitions;
	int over;		/* partitions past --max-lag */
	int64_t most;		/* the largest lag, on most_topic/most_partition */
	const char *most_topic;
	int32_t most_partition;
};

/*
 * The records the group has yet to read on the partition whose log spans
 * [start, end): from its commit, or from the log start where pn-consume
 * starts a group without one.  A commit that retention deleted resumes at
 * the log start too (auto.offset.reset=earliest), the records in between
 * lost; a commit past the end (a topic deleted and made again) leaves
 * nothing to count.  Both are warned about.
 */
static int64_t partition_lag(const char *group, const rd_kafka_topic_partition_t *tp,
			     int64_t start, int64_t end)
{
	int64_t from = tp->offset >= 0 ? tp->offset : start;

	if (from < start) {
		pn_warn("group '%s' topic '%s' partition %d: committed offset %lld is no longer in "
			"the log, which starts at %lld (retention deleted it): %lld records lost",
			group, tp->topic, (int)tp->partition, (long long)from, (long long)start,
			(long long)(start - from));
		from = start;
	} else if (from > end) {
		pn_warn("group '%s' topic '%s' partition %d: committed offset %lld is past the end "
			"of the log, %lld", group, tp->topic, (int)tp->partition, (long long)from,
			(long long)end);
		from = end;
	}
	return end - from;
}

static void add_lag(struct pn_buf *b, const char *group, const rd_kafka_topic_partition_t *tp,
		    int64_t start, int64_t end, int64_t lag)
{
	pn_buf_adds(b, "{\"_topic\":");
	pn_json_add_string(b, tp->topic, strlen(tp->topic));
	pn_buf_addf(b, ",\"_partition\":%d,\"group\":", (int)tp->partition);
	pn_json_add_string(b, group, strlen(group));
	if (tp->offset >= 0)
		pn_buf_addf(b, ",\"committed\":%lld", (long long)tp->offset);
	else
		pn_buf_adds(b, ",\"committed\":null");
	pn_buf_addf(b, ",\"start\":%lld,\"end\":%lld,\"lag\":%lld}\n", (long long)start,
		    (long long)end, (long long)lag);
}

/* One partition's record and its share of the tally: 0, or the exit
 * status after reporting that its log could not be read. */
static int lag_of(rd_kafka_t *rk, const struct pn_cluster_query *q,
		  const rd_kafka_topic_partition_t *tp, struct lag_tally *t, struct pn_out *out)
{
	int64_t start, end, lag;
	rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, tp->topic, tp->partition,
								   &start, &end, q->timeout_ms);

	if (err) {
		pn_error("cannot read the log offsets of topic '%s' partition %d: %s", tp->topic,
			 (int)tp->partition, rd_kafka_err2str(err));
		return pn_kafka_exit_status(err);
	}
	lag = partition_lag(q->group, tp, start, end);
	add_lag(&out->buf, q->group, tp, start, end, lag);
	pn_out_record(out);
	t->total += lag;
	t->partitions++;
	t->over += q->max_lag >= 0 && lag > q->max_lag;
	if (!t->most_topic || lag > t->most) {
		t->most = lag;
		t->most_topic = tp->topic;
		t->most_partition = tp->partition;
	}
	return 0;
}

/* The one-line summary: on stderr unless -q, and even then when a
 * partition is over --max-lag, so that cron mails only an alert. */
static void report_tally(const struct pn_cluster_query *q, const struct lag_tally *t)
{
	if (!t->partitions || (!t->over && pn_verbosity < 1))
		return;
	if (t->over)
		pn_error("group '%s': lag %lld on %d partition(s), most %lld on %s/%d; %d over "
			 "--max-lag %lld", q->group, (long long)t->total, t->partitions,
			 (long long)t->most, t->most_topic, (int)t->most_partition, t->over,
			 (long long)q->max_lag);
	else
		pn_error("group '%s': lag %lld on %d partition(s), most %lld on %s/%d", q->group,
			 (long long)t->total, t->partitions, (long long)t->most, t->most_topic,
			 (int)t->most_partition);
}

/* The partitions whose lag to count, their commits read: NULL after
 * reporting, with *status set. */
static rd_kafka_topic_partition_list_t *lag_partitions(rd_kafka_t *rk,
						       const struct pn_cluster_query *q,
						       int *status)
{
	const struct rd_kafka_metadata *md;
	const md_topic **topics = NULL;
	rd_kafka_topic_partition_list_t *list, *kept;
	int ntopics;

	*status = read_metadata(rk, q, &md);
	if (*status)
		return NULL;
	list = rd_kafka_topic_partition_list_new(64);
	*status = pick_topics(md, q, &topics, &ntopics);
	for (int i = 0; i < ntopics && !*status; i++)
		*status = add_partitions(topics[i], q, list);
	free(topics);
	rd_kafka_metadata_destroy(md);
	if (!*status)
		*status = read_commits(rk, q, list);
	if (*status) {
		rd_kafka_topic_partition_list_destroy(list);
		return NULL;
	}
	rd_kafka_topic_partition_list_sort(list, NULL, NULL);
	if (q->ntopics)
		return list;
	kept = committed_topics(q->group, list);
	rd_kafka_topic_partition_list_destroy(list);
	if (!kept)
		*status = PN_EX_CONFIG;
	return kept;
}

int pn_cluster_lag(rd_kafka_t *rk, const struct pn_cluster_query *q, struct pn_out *out)
{
	struct lag_tally tally = { 0 };
	int status;
	rd_kafka_topic_partition_list_t *list = lag_partitions(rk, q, &status);

	if (!list)
		return status;
	for (int i = 0; i < list->cnt; i++) {
		int failed = lag_of(rk, q, &list->elems[i], &tally, out);

		if (failed && !status)
			status = failed;
	}
	report_tally(q, &tally);	/* before the list: it names a partition of it */
	rd_kafka_topic_partition_list_destroy(list);
	if (!status && tally.over)
		status = PN_EX_FAILED;
	return status;
}
