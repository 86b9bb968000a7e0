#!/bin/bash
# t2100-consume-cluster: pn-consume on a real three-broker cluster, where
# the mock cannot show it: a broker lost and back under a consuming group,
# a group member killed (the real coordinator rebalances), and a topic
# whose start retention deleted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
kafka_kills_brokers

test_have_prereq REAL_KAFKA ||
	test_skip_all "needs the real cluster (PN_TEST_KAFKA=real)"

test_expect_success 'start a three-broker cluster' '
	start_broker moving:6 shared:6 &&
	kafka_topic old:1 retention.ms=86400000
'

# every record of FILE... holds each seq of 1..N at least once
holds_all () { # N FILE...
	local n=$1
	shift
	test "$(cat "$@" | jq -r .seq | sort -un | wc -l)" = "$n"
}

numbered () { # N SEED: N pings, each with its seq
	gen-pings "$1" "$2" | awk "{ sub(/^\\{/, \"{\\\"seq\\\":\" NR \",\") } 1"
}

test_expect_success 'a broker killed and restarted under a consuming group: every record read' '
	numbered 30000 5 >all &&
	split -l 10000 -d all chunk. &&
	pn-produce -b "$BROKERS" -t moving chunk.00 || return 1
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t moving -g readers >out 2>consume.err &
	consumer=$!
	test_cleanup_kill $consumer &&
	test_wait_until 60 holds_all 10000 out &&
	kafka-cluster kill-node "$KAFKA_DIR" 2 &&
	pn-produce -b "$BROKERS" -t moving chunk.01 &&
	test_wait_until 120 holds_all 20000 out &&
	kafka-cluster start-node "$KAFKA_DIR" 2 &&
	pn-produce -b "$BROKERS" -t moving chunk.02 &&
	test_wait_until 120 holds_all 30000 out &&
	kill -TERM $consumer &&
	wait $consumer &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t moving -g readers -e >rest &&
	test_must_be_empty rest
'

# MEMBER's last assignment was N partitions
holds_partitions () { # ERRFILE N
	grep "assigned [0-9]* partition" "$1" | tail -n 1 | grep -q "assigned $2 partition"
}

test_expect_success 'two members of a group, one killed: the other takes its partitions' '
	numbered 20000 6 >all2 &&
	split -l 10000 -d all2 half. || return 1
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t shared -g pair -v -v >one 2>one.err &
	first=$!
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t shared -g pair -v -v >two 2>two.err &
	second=$!
	test_cleanup_kill $first $second &&
	test_wait_until 60 holds_partitions one.err 3 &&
	test_wait_until 60 holds_partitions two.err 3 &&
	# keyed by subscriber: every partition gets records, so both members do
	pn-produce -b "$BROKERS" -t shared --key subscriber_id half.00 &&
	test_wait_until 60 holds_all 10000 one two &&
	test -s one && test -s two &&
	kill -KILL $second &&
	pn-produce -b "$BROKERS" -t shared --key subscriber_id half.01 &&
	test_wait_until 120 holds_all 20000 one two &&
	holds_partitions one.err 6 &&
	kill -TERM $first &&
	wait $first
'

test_expect_success 'retention deleted the start: -o beginning starts at the log start' '
	# records of 2023 on a topic that keeps a day: retention deletes them
	seq 1 500 | awk "{ printf \"{\\\"n\\\":%d,\\\"_timestamp\\\":1700000000000}\\n\", \$1 }" >old.in &&
	pn-produce -b "$BROKERS" -t old old.in &&
	log_start_is () { test "$(kafka-cluster admin "$KAFKA_DIR" log-start old 0)" = "$1"; } &&
	test_wait_until 120 log_start_is 500 &&
	seq 501 600 | sed "s/.*/{\"n\":&}/" >new.in &&
	pn-produce -b "$BROKERS" -t old new.in &&
	pn-consume -b "$BROKERS" -t old -o beginning -e --meta >out &&
	jq -c .n out >actual &&
	seq 501 600 >expect &&
	test_cmp expect actual &&
	head -n 1 out | jq -c ._offset >first &&
	echo 500 >expect &&
	test_cmp expect first
'

test_expect_success '--start-offsets before the log start: a warning with the count lost, then the log start' '
	echo "{\"old\":{\"0\":120}}" >start.json &&
	pn-consume -b "$BROKERS" -t old --start-offsets start.json -e >out 2>err &&
	grep "^pn-consume: warning: topic .old. partition 0: offset 120 is no longer in the log, which starts at 500 (retention deleted it): 380 records lost; starting there" err &&
	jq -c .n out >actual &&
	seq 501 600 >expect &&
	test_cmp expect actual &&
	pn-consume -b "$BROKERS" -t old -p 0 -o 3 -e >out 2>err &&
	grep "offset 3 is no longer in the log" err &&
	jq -c .n out >actual &&
	test_cmp expect actual
'

test_done
