#!/bin/bash
# t2300-consume-lag: pn-consume --lag (a group's lag without joining it)
# and --list (brokers and partitions), on three brokers: the mock's or a
# real cluster's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
kafka_kills_brokers

# lag/0 holds 40 records, lag/1 30, lag/2 20; other/0 and other/1 none
test_expect_success 'setup: three brokers, 90 records over three partitions' '
	start_broker -n 3 lag:3 other:2 &&
	for p in 0 1 2; do
		seq 1 $((40 - 10 * p)) | sed "s/.*/{\"n\":&,\"_partition\":$p}/" || return 1
	done >lag.in &&
	pn-produce -b "$BROKERS" -t lag --keep-partition lag.in
'

# lag_line TOPIC PARTITION GROUP COMMITTED START END LAG: the record expected
lag_line () {
	printf "{\"_topic\":\"%s\",\"_partition\":%d,\"group\":\"%s\",\"committed\":%s,\"start\":%d,\"end\":%d,\"lag\":%d}\n" "$@"
}

test_expect_success 'a group that read part: the exact lag of each partition, without joining' '
	# -g with -p commits to the group without joining it
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t lag -g part -p 0 -c 25 >read0 &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t lag -g part -p 1 -c 10 >read1 &&
	pn-consume -b "$BROKERS" -g part --lag -t lag >out 2>err &&
	{
		lag_line lag 0 part 25 0 40 15 &&
		lag_line lag 1 part 10 0 30 20 &&
		lag_line lag 2 part null 0 20 20
	} >expect &&
	test_cmp expect out &&
	printf "pn-consume: group \047part\047: lag 55 on 3 partition(s), most 20 on lag/1\n" >expect.err &&
	test_cmp expect.err err
'

test_expect_success 'without -t: the topics the group committed to' '
	pn-consume -b "$BROKERS" -g part --lag >all 2>err &&
	test_cmp expect all
'

test_expect_success '-p: those partitions only' '
	pn-consume -b "$BROKERS" -g part --lag -t lag -p 2 -p 0 >out &&
	lag_line lag 0 part 25 0 40 15 >expect &&
	lag_line lag 2 part null 0 20 20 >>expect &&
	test_cmp expect out
'

test_expect_success '--max-lag: 1 when a partition lags more, with the summary even with -q' '
	pn-consume -b "$BROKERS" -g part --lag -t lag --max-lag 20 -q >out 2>err &&
	test_line_count = 3 out &&
	test_must_be_empty err &&
	test_expect_code 1 pn-consume -b "$BROKERS" -g part --lag -t lag --max-lag 19 -q >out 2>err &&
	test_line_count = 3 out &&
	printf "pn-consume: group \047part\047: lag 55 on 3 partition(s), most 20 on lag/1; 2 over --max-lag 19\n" >expect.err &&
	test_cmp expect.err err
'

test_expect_success 'a member of the group reads the rest: lag 0, --max-lag 0 passes' '
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t lag -g part -e >rest &&
	test_line_count = 55 rest &&
	pn-consume -b "$BROKERS" -g part --lag -t lag --max-lag 0 >out 2>err &&
	{
		lag_line lag 0 part 40 0 40 0 &&
		lag_line lag 1 part 30 0 30 0 &&
		lag_line lag 2 part 20 0 20 0
	} >expect &&
	test_cmp expect out &&
	grep "lag 0 on 3 partition(s)" err
'

test_expect_success 'new records show as lag again' '
	echo "{\"n\":41,\"_partition\":0}" >more.in &&
	pn-produce -b "$BROKERS" -t lag --keep-partition more.in &&
	test_expect_code 1 pn-consume -b "$BROKERS" -g part --lag -t lag --max-lag 0 >out 2>err &&
	lag_line lag 0 part 40 0 41 1 >expect &&
	head -n 1 out >actual &&
	test_cmp expect actual &&
	grep "most 1 on lag/0; 1 over --max-lag 0$" err
'

test_expect_success 'a group without commits: committed null, the lag from the log start' '
	pn-consume -b "$BROKERS" -g nobody --lag -t lag -t other >out &&
	{
		lag_line lag 0 nobody null 0 41 41 &&
		lag_line lag 1 nobody null 0 30 30 &&
		lag_line lag 2 nobody null 0 20 20 &&
		lag_line other 0 nobody null 0 0 0 &&
		lag_line other 1 nobody null 0 0 0
	} >expect &&
	test_cmp expect out &&
	test_expect_code 78 pn-consume -b "$BROKERS" -g nobody --lag >out 2>err &&
	test_must_be_empty out &&
	grep "^pn-consume: group .nobody. has committed no offsets: name its topics with -t" err
'

test_expect_success 'a topic that does not exist is named, 78; a partition it lacks, 64' '
	test_expect_code 78 pn-consume -b "$BROKERS" -g part --lag -t lag -t no-such >out 2>err &&
	test_must_be_empty out &&
	printf "pn-consume: topic \047no-such\047 does not exist\n" >expect &&
	test_cmp expect err &&
	test_expect_code 78 pn-consume -b "$BROKERS" --list -t no-such >out 2>err &&
	test_must_be_empty out &&
	test_cmp expect err &&
	test_expect_code 64 pn-consume -b "$BROKERS" -g part --lag -t lag -p 3 >out 2>err &&
	grep "^pn-consume: topic .lag. has no partition 3 (it has 3)$" err
'

test_expect_success 'usage: --lag needs -g, --max-lag needs --lag, one report at a time' '
	test_expect_code 64 pn-consume -b "$BROKERS" --lag -t lag 2>err &&
	grep "^pn-consume: --lag counts the lag of a group: it needs -g$" err &&
	test_expect_code 64 pn-consume -b "$BROKERS" -t lag --max-lag 5 2>err &&
	grep "^pn-consume: --max-lag needs --lag$" err &&
	test_expect_code 64 pn-consume -b "$BROKERS" -g part --lag --list 2>err &&
	grep "^pn-consume: --lag and --list are two reports: give one$" err
'

test_expect_success 'usage: --timeout is a duration above 0, for --lag and --list' '
	for bad in 0 -1s 5x ""; do
		test_expect_code 64 pn-consume -b "$BROKERS" --list --timeout "$bad" 2>err &&
		grep "^pn-consume: bad --timeout .$bad.$" err || return 1
	done &&
	test_expect_code 64 pn-consume -b "$BROKERS" -t lag --timeout 5s 2>err &&
	grep "^pn-consume: --timeout is for --lag and --list$" err &&
	pn-consume -b "$BROKERS" --list --timeout 500ms -t lag >list &&
	test -s list
'

test_expect_success '--list: three brokers, each partition with its leader, replicas and ISR' '
	pn-consume -b "$BROKERS" --list >list 2>err &&
	test_must_be_empty err &&
	jq -c "select(has(\"broker\")) | [.broker, (.host | length > 0), .port > 0]" list >brokers &&
	test_line_count = 3 brokers &&
	! grep false brokers &&
	jq -r "select(._topic == \"lag\" or ._topic == \"other\") | \"\(._topic) \(._partition)\"" list >parts &&
	printf "lag 0\nlag 1\nlag 2\nother 0\nother 1\n" >expect &&
	test_cmp expect parts &&
	test_jq -s "[.[] | select(._topic == \"lag\" or ._topic == \"other\")] |
		all(.replicas | length == 3) and
		all(.leader as \$l | .replicas | any(. == \$l)) and
		all((.isr | length > 0) and (.isr - .replicas == [])) and
		all(has(\"error\") | not)" list
'

test_expect_success '--list -t: only those topics; brokers first' '
	pn-consume -b "$BROKERS" --list -t other >list &&
	jq -c "select(has(\"broker\")) | .broker" list | sort -n >ids &&
	test_line_count = 3 ids &&
	head -n 3 list | test_jq -s "all(has(\"broker\"))" &&
	tail -n +4 list | jq -r "\"\(._topic) \(._partition)\"" >parts &&
	printf "other 0\nother 1\n" >expect &&
	test_cmp expect parts
'

test_expect_success 'a full disk is an output error (74), also past --max-lag' '
	test_expect_code 74 pn-consume -b "$BROKERS" --list >/dev/full 2>err &&
	grep "cannot write to standard output: No space left on device" err &&
	test_expect_code 74 pn-consume -b "$BROKERS" -g part --lag -t lag --max-lag 0 >/dev/full 2>err &&
	grep "cannot write to standard output: No space left on device" err
'

# the retention of a real cluster (the mock has none) deletes what a
# group had not read: counted lost, the lag from the log start
test_expect_success REAL_KAFKA 'a commit that retention deleted: a warning with the records lost' '
	kafka_topic old:1 &&
	seq 1 500 | awk "{ printf \"{\\\"n\\\":%d,\\\"_timestamp\\\":1700000000000}\\n\", \$1 }" >old.in &&
	pn-produce -b "$BROKERS" -t old old.in &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t old -g behind -p 0 -c 120 >read &&
	kafka-cluster admin "$KAFKA_DIR" config old retention.ms=86400000 &&
	log_start_is () { test "$(kafka-cluster admin "$KAFKA_DIR" log-start old 0)" = "$1"; } &&
	test_wait_until 120 log_start_is 500 &&
	pn-consume -b "$BROKERS" -g behind --lag -t old >out 2>err &&
	lag_line old 0 behind 120 500 500 0 >expect &&
	test_cmp expect out &&
	grep "^pn-consume: warning: group .behind. topic .old. partition 0: committed offset 120 is no longer in the log, which starts at 500 (retention deleted it): 380 records lost$" err
'

# last: the cluster stays down
test_expect_success 'brokers that cannot be reached: 69, named, once --timeout is over' '
	kafka_down &&
	test_expect_code 69 pn-consume -b "$BROKERS" --list --timeout 2s >out 2>err &&
	test_must_be_empty out &&
	grep "^pn-consume: cannot read the cluster.s metadata: " err &&
	SECONDS=0 &&
	test_expect_code 69 pn-consume -b "$BROKERS" -g part --lag -t lag --timeout 2s >out 2>err &&
	test $SECONDS -lt 10 &&
	test_must_be_empty out &&
	grep "^pn-consume: cannot read the cluster.s metadata: " err
'

test_done
