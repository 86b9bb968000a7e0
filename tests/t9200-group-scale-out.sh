#!/bin/bash
# t9200-group-scale-out: the campaign report run by any number of
# pn-pipeline instances in one consumer group, sharing a state directory,
# while pings stream in: instances join, one is killed with SIGKILL, one
# is paused and resumed, the report scales 1 -> 3 -> 1 and fails over to
# a new instance after its machine is lost; after every step the campaign
# table equals an independent count of the pings produced so far.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lib-day.sh"

# The real cluster takes 200k pings; the mock keeps about 5 MB a
# partition, so it gets a smaller day.
if [ "$PN_TEST_KAFKA" = real ]; then dispatches=200000; else dispatches=30000; fi

# produce_chunk K: the K-th tenth of the day's pings, keyed by campaign;
# upto then holds every ping produced so far.
produce_chunk () {
	pn-produce -b "$BROKERS" -t pushnotification-ping --key source_id "chunk.0$1" &&
	cat "chunk.0$1" >>upto
}

# The table, once the instances have caught up with what was produced.
table_is_exact () {
	expected_table upto >expect &&
	test_wait_until 240 table_matches
}
table_matches () {
	campaign_table >actual && cmp -s expect actual
}

test_expect_success 'setup: a day of pings, a topic of 4 partitions, the table' '
	setup_day $dispatches 4 &&
	split -n l/7 -d day/good.ndjson chunk. &&
	: >upto
'

test_expect_success 'one instance' '
	start_instance a &&
	produce_chunk 0 &&
	table_is_exact
'

test_expect_success 'two more join: three share the partitions, and the pieces' '
	start_instance b &&
	start_instance c &&
	produce_chunk 1 &&
	table_is_exact &&
	(cd shared/pushnotification-ping && ls *.ckpt *.owner) >pieces &&
	printf "%s\n" 0.ckpt 0.owner 1.ckpt 1.owner 2.ckpt 2.owner 3.ckpt 3.owner >want &&
	test_cmp want pieces
'

test_expect_success 'one is killed with SIGKILL: its partitions and state move' '
	kill -9 -- -$a &&
	produce_chunk 2 &&
	table_is_exact
'

test_expect_success 'one is paused and resumed' '
	kill -STOP -- -$b &&
	# the pause is the point: shorter than the session, no rebalance
	sleep 1 &&
	kill -CONT -- -$b &&
	produce_chunk 3 &&
	table_is_exact
'

test_expect_success 'another joins: three again' '
	start_instance d &&
	produce_chunk 4 &&
	table_is_exact
'

test_expect_success 'back to one: two leave cleanly' '
	kill -TERM $c $d &&
	test_wait_until 60 eval "! kill -0 $c 2>/dev/null && ! kill -0 $d 2>/dev/null" &&
	produce_chunk 5 &&
	table_is_exact
'

test_expect_success 'failover: the last machine is lost, a new one resumes from the shared state' '
	kill -9 -- -$b &&
	mv b/pipeline.log b.log && rm -rf b &&
	start_instance e &&
	produce_chunk 6 &&
	table_is_exact &&
	test_cmp upto day/good.ndjson
'

test_done
