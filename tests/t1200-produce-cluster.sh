#!/bin/bash
# t1200-produce-cluster: pn-produce on a real three-broker cluster, where
# the mock cannot show it: a broker lost and back under a running producer
# (leaders move; the idempotent producer neither loses nor doubles), and
# the topic's own max.message.bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
kafka_kills_brokers

test_have_prereq REAL_KAFKA ||
	test_skip_all "needs the real cluster (PN_TEST_KAFKA=real)"

test_expect_success 'start a three-broker cluster' '
	start_broker moved:6 &&
	kafka_topic small:1 max.message.bytes=2000
'

# how many records the topic holds, at least N
topic_holds () { # TOPIC N
	test "$(kafka-cluster admin "$KAFKA_DIR" count "$1")" -ge "$2"
}

leaders_of () { # TOPIC: the node ids leading its partitions, sorted
	kafka-cluster admin "$KAFKA_DIR" leaders "$1" | cut -d" " -f2 | sort -u
}

test_expect_success 'a broker killed and restarted under pn-produce: leaders move, nothing lost or doubled' '
	gen-pings 60000 11 | awk "{ sub(/^\\{/, \"{\\\"seq\\\":\" NR \",\") } 1" >all &&
	split -l 20000 -d all chunk. &&
	leaders_of moved >leaders.before &&
	grep -qx 1 leaders.before &&
	mkfifo feed || return 1
	pn-produce -b "$BROKERS" -t moved -X sticky.partitioning.linger.ms=0 --stats <feed 2>produce.err &
	producer=$!
	exec 9>feed &&
	cat chunk.00 >&9 &&
	test_wait_until 60 topic_holds moved 20000 &&
	kafka-cluster kill-node "$KAFKA_DIR" 1 &&
	cat chunk.01 >&9 &&
	test_wait_until 120 topic_holds moved 40000 &&
	leaders_of moved >leaders.down &&
	! grep -qx 1 leaders.down &&
	# revive: the node that is down starts again (as when a lane returns)
	kafka-cluster revive "$KAFKA_DIR" &&
	cat chunk.02 >&9 &&
	exec 9>&- &&
	wait $producer &&
	grep "\"acked\":60000,\"failed\":0" produce.err &&
	topic_holds_exactly moved all
'

test_expect_success 'a record over the topic max.message.bytes is bad input (65), the rest delivered' '
	for i in $(seq 20); do
		if [ $i = 11 ]; then pad=3000; else pad=300; fi
		printf "{\"n\":%d,\"pad\":\"%s\"}\n" $i "$(head -c $pad /dev/zero | tr "\\0" x)"
	done >small.in &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t small --stats small.in 2>err &&
	grep "^pn-produce: error (at small.in:11): record is larger than the topic.s max.message.bytes (2000)" err &&
	grep "\"acked\":10,\"failed\":0," err &&
	pn-consume -b "$BROKERS" -t small -e >out &&
	jq -c .n out >actual &&
	seq 10 >expect &&
	test_cmp expect actual
'

test_expect_success '--reject sets the too-large record aside and goes on' '
	pn-produce -b "$BROKERS" -t small --reject rejects --stats small.in 2>err &&
	sed -n 11p small.in >expect &&
	test_cmp expect rejects &&
	grep "\"acked\":19,\"failed\":0,\"rejected\":1," err
'

test_done
