#!/bin/bash
# t0200-live-stats: figures while the programs run: librdkafka statistics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"

test_expect_success 'setup: a broker, an idle topic and 3000 records' '
	start_broker idle:2 nums:3 quiet:1 &&
	seq 1 3000 | sed "s/.*/{\"n\":&,\"source_id\":\"c&\",\"_timestamp\":1700000000000}/" \
		>nums.in &&
	pn-produce -b "$BROKERS" -t nums nums.in
'

test_expect_success '-X statistics.interval.ms: librdkafka statistics, one JSON line each' '
	pn-consume -b "$BROKERS" -t idle -g live3 -X statistics.interval.ms=100 >out 2>cerr &
	pid=$!
	test_cleanup_kill $pid
	test_wait_until 60 grep -q "^{ \"name\":.*\"type\": *\"consumer\"" cerr &&
	kill -TERM $pid &&
	wait $pid &&
	grep "^{ \"name\":" cerr | jq -e -s "length >= 1 and all(.type == \"consumer\")" \
		>/dev/null &&
	mkfifo feed4 || return 1
	pn-produce -b "$BROKERS" -t quiet -X statistics.interval.ms=100 <feed4 >out 2>perr &
	pid=$!
	test_cleanup_kill $pid
	exec 7>feed4 &&
	test_wait_until 60 grep -q "^{ \"name\":.*\"type\": *\"producer\"" perr &&
	kill -TERM $pid &&
	wait $pid &&
	exec 7>&- &&
	grep "^{ \"name\":" perr | jq -e -s "all(.type == \"producer\")" >/dev/null &&
	test_must_be_empty out
'

test_expect_success 'without them, nothing but the usual on stderr' '
	pn-consume -b "$BROKERS" -t nums -e >out 2>nerr &&
	test_must_be_empty nerr
'

test_done
