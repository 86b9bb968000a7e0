/*
 * pn_cluster — what a Kafka cluster says about itself, as records: its
 * brokers and partitions (kcat -L), and a consumer group's lag
 * (kafka-consumer-groups --describe), without a JVM.
 *
 * Both only ask: the lag reads the group's commits (OffsetFetch, as
 * rd_kafka_committed() sends it) and each partition's log start and end
 * (ListOffsets), from a handle that never subscribes, so the group's
 * members are not disturbed by a rebalance.  Records follow the
 * underscore convention of pn-consume --meta: _topic and _partition
 * first, sorted by topic and partition.  A topic that does not exist is a
 * configuration error (78), as when pn-consume reads it.
 */
#ifndef PN_CLUSTER_H
#define PN_CLUSTER_H

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "pn_io.h"

/* What to list, or whose lag to count. */
struct pn_cluster_query {
	char **topics;		/* NULL with ntopics 0: every topic (the lag:
				 * every topic the group has committed to) */
	int ntopics;
	const int32_t *partitions;	/* -p: only these of each topic; the lag only */
	int npartitions;
	const char *group;	/* the lag's group */
	int64_t max_lag;	/* -1: none; else more on a partition is exit 1 */
	int timeout_ms;		/* the most each request waits for the cluster */
};

/*
 * Appends a record per broker, {"broker":1,"host":"k1","port":9092}, then
 * one per partition of the topics, {"_topic":"pings","_partition":0,
 * "leader":1,"replicas":[1,2,3],"isr":[1,2]} (with "error" when the
 * cluster names one), to out.  0, or the exit status after reporting.
 */
int pn_cluster_list(rd_kafka_t *rk, const struct pn_cluster_query *q, struct pn_out *out);

/*
 * Appends a record per partition, {"_topic":"pings","_partition":0,
 * "group":"report","committed":120,"start":0,"end":500,"lag":380}, to out
 * and reports a summary on stderr.  A partition without a commit has
 * "committed":null and counts its lag from the log start, where pn-consume
 * (auto.offset.reset=earliest) starts such a group; so does one whose
 * commit retention deleted, with a warning that counts the records lost.
 * 0; 1 when a partition lags more than q->max_lag; or the exit status
 * after reporting an error.  rk's group.id must be q->group.
 */
int pn_cluster_lag(rd_kafka_t *rk, const struct pn_cluster_query *q, struct pn_out *out);

#endif
