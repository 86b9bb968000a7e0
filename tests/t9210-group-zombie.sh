#!/bin/bash
# t9210-group-zombie: a member of the report's consumer group is paused
# (SIGSTOP) with changelog rows in its pipe, longer than the session
# timeout; its partitions move to the other member, which writes newer
# counts; then the paused member wakes up and its sink writes the rows it
# held.  pn-sink-pg fences them (their owner epoch is older than the one
# the table has), so the campaign table keeps equal to an independent
# count of the pings, before and after the stream finishes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lib-day.sh"

# stage SESSION PROGRAM: the pid of an instance stage
stage () { pgrep -s "$1" -x "$2"; }

produce_chunk () {
	pn-produce -b "$BROKERS" -t pushnotification-ping --key source_id "chunk.0$1" &&
	cat "chunk.0$1" >>upto
}

table_is_exact () {
	expected_table upto >expect &&
	test_wait_until 120 table_matches
}
table_matches () {
	campaign_table >actual && cmp -s expect actual
}

# The partitions whose owner file names process PID.
owned_by () {
	grep -l " $1\$" shared/pushnotification-ping/*.owner 2>/dev/null
}

# Every ping produced so far is applied and saved in the pieces.
all_saved () {
	pn-aggregate --state shared/ --print-offsets >saved &&
	[ "$(jq "[.[] | .[]] | add" saved)" = "$(wc -l <upto)" ]
}

# process PID has ended
gone () { ! kill -0 "$1" 2>/dev/null; }

test_expect_success 'setup: a day of pings, a topic of 4 partitions, the table' '
	setup_day 20000 4 &&
	split -n l/4 -d day/good.ndjson chunk. &&
	: >upto
'

test_expect_success 'two instances share the partitions' '
	start_instance a &&
	start_instance b &&
	produce_chunk 0 &&
	table_is_exact &&
	agg_a=$(stage $a pn-aggregate) && sink_a=$(stage $a pn-sink-pg) &&
	consume_a=$(stage $a pn-consume) && agg_b=$(stage $b pn-aggregate) &&
	test_wait_until 60 eval "owned_by $agg_a >/dev/null && owned_by $agg_b >/dev/null"
'

test_expect_success 'one is paused with rows in its pipe; its partitions move' '
	# its sink falls behind: the rows of the next pings wait in its pipe
	kill -STOP $sink_a &&
	produce_chunk 1 &&
	test_wait_until 120 all_saved &&
	kill -STOP -- -$a &&
	owned_by $agg_a >was-a &&
	test_wait_until 120 eval "! owned_by $agg_a >/dev/null" &&
	owned_by $agg_b >now-b &&
	test_line_count = 4 now-b &&
	# the other writes newer counts of every partition
	produce_chunk 2 &&
	table_is_exact
'

test_expect_success 'it wakes up: its sink writes the rows it held, fenced' '
	# its consumer stays asleep and dies: no new rebalance writes every
	# group again after its rows, which would hide them
	kill -9 $a &&
	kill -CONT $agg_a $sink_a &&
	kill -9 $consume_a &&
	test_wait_until 60 eval "gone $agg_a && gone $sink_a" &&
	{ table_matches || { diff -u expect actual | head -n 8; false; }; } &&
	grep "from an owner older than epoch .*, are dropped (fenced" a/pipeline.log
'

test_expect_success 'the stream finishes: the table equals the count of every ping' '
	produce_chunk 3 &&
	table_is_exact &&
	test_cmp upto day/good.ndjson &&
	kill -TERM $b &&
	test_wait_until 60 gone $b &&
	table_matches
'

test_done
