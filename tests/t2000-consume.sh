#!/bin/bash
# t2000-consume: start positions, groups and commits, stops, payloads, output errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"

test_expect_success 'setup: a broker and 1000 numbered records' '
	start_broker nums:2 group:3 raw:1 time:1 big:4 trickle:2 &&
	seq 0 999 | awk "{ printf \"{\\\"n\\\":%d,\\\"_key\\\":\\\"k%d\\\",\\\"_partition\\\":%d,\\\"_timestamp\\\":%.0f}\\n\", \$1, \$1, \$1 % 2, 1700000000000 + \$1 }" >nums.in &&
	pn-produce -b "$BROKERS" -t nums --keep-partition nums.in &&
	pn-produce -b "$BROKERS" -t group nums.in
'

test_expect_success 'plain assignment reads every partition from the beginning' '
	pn-consume -b "$BROKERS" -t nums -e >all &&
	test_line_count = 1000 all
'

test_expect_success '-p and -o N read one partition from an offset' '
	pn-consume -b "$BROKERS" -t nums -p 1 -o 490 -e >out &&
	jq -c .n out >actual &&
	printf "981\n983\n985\n987\n989\n991\n993\n995\n997\n999\n" >expect &&
	test_cmp expect actual
'

test_expect_success '-p with a partition the topic does not have is 64, not a wait' '
	test_expect_code 64 pn-consume -b "$BROKERS" -t nums -p 99 -e >out 2>err &&
	grep "topic .nums. has no partition 99" err &&
	test_must_be_empty out
'

test_expect_success '-o -N reads the last N of each partition' '
	pn-consume -b "$BROKERS" -t nums -o -2 -e >out &&
	jq -c .n out | sort -n >actual &&
	printf "996\n997\n998\n999\n" >expect &&
	test_cmp expect actual
'

# librdkafka 2.0.2's mock cluster answers every time lookup (ListOffsets by
# timestamp) with the end of the partition (kcat -o s@TIME too), so this runs
# only against a real Kafka (PN_TEST_KAFKA=real)
test_expect_success REAL_KAFKA '-o @TIME starts at the first record at or after TIME' '
	topic=pn-test-time-$$ &&
	pn-produce -b "$BROKERS" -t $topic -p 0 nums.in &&
	pn-consume -b "$BROKERS" -t $topic -o @1700000000995 -e >out &&
	jq -c .n out >actual &&
	printf "995\n996\n997\n998\n999\n" >expect &&
	test_cmp expect actual &&
	pn-consume -b "$BROKERS" -t $topic -o "@2023-11-14T22:13:20.997Z" -e >out &&
	jq -c .n out >actual &&
	printf "997\n998\n999\n" >expect &&
	test_cmp expect actual
'

test_expect_success '--until stops each partition before TIME' '
	pn-consume -b "$BROKERS" -t nums --until 1700000000004 -e >out &&
	jq -c .n out | sort -n >actual &&
	printf "0\n1\n2\n3\n" >expect &&
	test_cmp expect actual &&
	pn-consume -b "$BROKERS" -t nums --until 1700000000004 >out2 &&
	jq -c .n out2 | sort -n >actual &&
	test_cmp expect actual
'

test_expect_success '--start-offsets resumes where a file says' '
	echo "{\"nums\":{\"0\":498,\"1\":499}}" >start.json &&
	pn-consume -b "$BROKERS" -t nums --start-offsets start.json -e >out &&
	jq -c .n out | sort -n >actual &&
	printf "996\n998\n999\n" >expect &&
	test_cmp expect actual
'

test_expect_success '--start-offsets: partitions missing on either side are warned about' '
	echo "{\"nums\":{\"0\":498,\"7\":1},\"other\":{\"0\":5}}" >start.json &&
	pn-consume -b "$BROKERS" -t nums --start-offsets start.json -e >out 2>err &&
	jq -c .n out | sort -n >actual &&
	test_line_count = 502 actual &&
	grep "^pn-consume: warning: the start-offsets file names nums/7, which is not read$" err &&
	grep "^pn-consume: warning: the start-offsets file names other/0, which is not read$" err &&
	grep "^pn-consume: warning: nums/1 is not in .start.json.: it starts as -o says$" err &&
	! grep "nums/0" err
'

test_expect_success 'a bad start-offsets file is a configuration error' '
	echo "{\"nums\":{\"zero\":1}}" >bad.json &&
	test_expect_code 78 pn-consume -b "$BROKERS" -t nums --start-offsets bad.json -e 2>err &&
	grep "bad start-offsets file .bad.json." err &&
	echo "{" >bad.json &&
	test_expect_code 78 pn-consume -b "$BROKERS" -t nums --start-offsets bad.json -e 2>err
'

test_expect_success '-c N stops after N records' '
	pn-consume -b "$BROKERS" -t nums -c 7 >out &&
	test_line_count = 7 out
'

test_expect_success 'a consumer group resumes from its commits after a restart' '
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t group -g g1 -c 400 >part1 &&
	test_line_count = 400 part1 &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t group -g g1 -e >part2 &&
	test_line_count = 600 part2 &&
	cat part1 part2 | sort >actual &&
	sort all >expect &&
	test_cmp expect actual &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t group -g g1 -e >part3 &&
	test_line_count = 0 part3
'

test_expect_success '-g with -p: those partitions, committed to the group without joining it' '
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t nums -g gp -p 1 -c 200 -v >p1 2>err &&
	jq -c ".n % 2" p1 | sort -u >actual &&
	echo 1 >expect &&
	test_cmp expect actual &&
	! grep "assigned .* partition" err &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t nums -g gp -p 1 -e >rest &&
	test_line_count = 300 rest &&
	jq -c ".n % 2" rest | sort -u >actual &&
	test_cmp expect actual
'

test_expect_success 'a group with -o beginning rereads everything once' '
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t group -g g1 -o beginning -e >again &&
	test_line_count = 1000 again
'

test_expect_success 'payloads that are not JSON objects are written as _value' '
	cat >raw.in <<-\EOF &&
	{"_value":"plain text"}
	{"_value":"[1,2]"}
	{"_value":null}
	{"_value_base64":"/wA="}
	{"_value":""}
	{"_key_base64":"/w==","_value":"binary key"}
	{"_value":"{\"pretty\":\n  true}"}
	EOF
	pn-produce -b "$BROKERS" -t raw raw.in &&
	pn-consume -b "$BROKERS" -t raw -e --stats >raw.out 2>stats &&
	cat >expect <<-\EOF &&
	{"_value":"plain text"}
	{"_value":"[1,2]"}
	{"_value":null}
	{"_value_base64":"/wA="}
	{"_value":""}
	{"_value":"binary key"}
	{"pretty":   true}
	EOF
	test_cmp expect raw.out &&
	grep "\"non_object\":6," stats &&
	pn-consume -b "$BROKERS" -t raw -e --meta -c 6 >meta.out &&
	tail -n 1 meta.out | grep "\"_key_base64\":\"/w==\""
'

# librdkafka stops fetching while its queue is over
# queued.max.messages.kbytes (2 MB here) and, left alone, looks again up to
# a second later; pn-consume wakes its fetchers when the queue runs low.
# 12 MB over 4 partitions: 3 MB each, below the ~5 MB a partition keeps on
# the mock (past that it acknowledges and drops)
test_expect_success 'a backlog larger than the fetch queue: all of it, in order, fetchers woken' '
	awk "BEGIN { pad = sprintf(\"%300s\", \"\"); gsub(/ /, \"x\", pad)
		for (i = 0; i < 40000; i++)
			printf \"{\\\"n\\\":%d,\\\"_partition\\\":%d,\\\"pad\\\":\\\"%s\\\"}\n\", i, i % 4, pad }" >big.in &&
	test $(wc -c <big.in) -gt 12000000 &&
	pn-produce -b "$BROKERS" -t big --keep-partition big.in &&
	pn-consume -b "$BROKERS" -t big -e --meta --stats >big.out 2>stats &&
	test_line_count = 40000 big.out &&
	jq -r "[._partition, .n, ._offset] | @tsv" big.out >seen &&
	awk "\$2 % 4 != \$1 || \$3 != int(\$2 / 4) { bad++ } END { exit bad > 0 }" seen &&
	sort -n -k2 seen | cut -f2 >ns && seq 0 39999 >expect && test_cmp expect ns &&
	test_jq ".records == 40000 and .fetch_wakes > 0" stats
'

test_expect_success 'a consumer that has caught up does not wake the fetchers' '
	pn-consume -b "$BROKERS" -t trickle --stats >trickle.out 2>trickle.stats &
	pid=$!
	for i in 1 2 3 4 5; do
		seq $((i * 10 - 9)) $((i * 10)) | sed "s/.*/{\"n\":&}/" >t.in &&
		pn-produce -b "$BROKERS" -t trickle t.in || return 1
		# paced: the consumer catches up between the batches
		sleep 0.2
	done &&
	test_wait_until 30 test_has_lines 50 trickle.out &&
	kill -TERM $pid &&
	wait $pid &&
	test_line_count = 50 trickle.out &&
	test_jq ".records == 50 and .fetch_wakes == 0" trickle.stats
'

test_expect_success 'the output round trips through pn-produce' '
	pn-consume -b "$BROKERS" -t raw -e --meta >orig &&
	pn-produce -b "$BROKERS" -t raw2 --keep-partition orig &&
	pn-consume -b "$BROKERS" -t raw2 -e --meta >copy &&
	sed "s/\"_topic\":\"raw\"/\"_topic\":\"raw2\"/" orig >expect &&
	test_cmp expect copy
'

test_expect_success 'a reader that goes away is a quiet stop' '
	{ pn-consume -b "$BROKERS" -t nums -e 2>err; echo $? >status; } | head -n 1 >first &&
	test_line_count = 1 first &&
	echo 0 >expect &&
	test_cmp expect status &&
	test_must_be_empty err
'

test_expect_success 'a full disk is an output error (74)' '
	test_expect_code 74 pn-consume -b "$BROKERS" -t nums -e >/dev/full 2>err &&
	grep "cannot write to standard output: No space left on device" err
'

test_expect_success 'SIGTERM: flushes what it read and exits 0' '
	pn-consume -b "$BROKERS" -t nums >term.out 2>err &
	pid=$!
	test_wait_until 60 test_has_lines 1000 term.out &&
	kill -TERM $pid &&
	wait $pid &&
	test_line_count = 1000 term.out
'

test_expect_success 'usage and configuration errors' '
	test_expect_code 64 pn-consume -b "$BROKERS" -t nums -o stored 2>err &&
	grep "o stored needs a consumer group" err &&
	test_expect_code 78 pn-consume -F no-such.properties -b "$BROKERS" -t nums -e 2>err &&
	grep "cannot open configuration file .no-such.properties." err
'

test_done
