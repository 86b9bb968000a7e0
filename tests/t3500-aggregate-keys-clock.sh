#!/bin/bash
# t3500-aggregate-keys-clock: one JSON type per group field (7 and "7" are
# never two groups that a sink writes onto one row), across restarts and
# partitions; and a stream time that one far-future record cannot throw
# forward (--max-ahead), while a backfill of old records still expires
# groups and closes windows as it did live.
. "$(dirname "$0")/lib.sh"

Q="-w source=campaign -g source_id:id --count delivered_time:impressions"
CONFLICT="--group-by field 'source_id' is a string (\"7\"), earlier records made it a number: give --key-type string or number to merge them"
DAY=86400000

# ping ID TIME_MS [OFFSET PARTITION]: a delivered ping of campaign ID (a
# JSON value) at TIME_MS in t, with its coordinates when given
ping () {
	if test $# -ge 4; then
		printf "{\"_topic\":\"pings\",\"_partition\":%d,\"_offset\":%d," "$4" "$3"
	else
		printf "{"
	fi
	printf "\"source\":\"campaign\",\"source_id\":%s,\"delivered_time\":\"d\",\"t\":%s}\n" "$1" "$2"
}

now_ms () { echo $(($(date +%s) * 1000)); }

test_expect_success 'usage errors of --key-type and --max-ahead are 64' '
	test_expect_code 64 pn-aggregate $Q --key-type loose 2>err &&
	grep "bad --key-type .loose.: strict, string, number or as-is" err &&
	test_expect_code 64 pn-aggregate $Q --max-ahead soon 2>err &&
	grep "bad --max-ahead .soon." err
'

test_expect_success 'a group field whose type changes is bad input: 65, input and line' '
	{ ping 7 0 && ping null 0 && ping "\"7\"" 0 && ping 7 0; } >mixed &&
	test_expect_code 65 pn-aggregate $Q mixed >out 2>err &&
	echo "pn-aggregate: error (at mixed:3): $CONFLICT" >expect &&
	grep -v "null --group-by field" err >err.1 &&
	test_cmp expect err.1 &&
	echo "{\"id\":7,\"impressions\":1}" >expect &&
	test_cmp expect out
'

test_expect_success 'a missing or null group field still sets no type and is not counted' '
	{ ping null 0 && echo "{\"source\":\"campaign\",\"delivered_time\":\"d\"}" &&
	  ping "\"7\"" 0; } >nulls &&
	pn-aggregate $Q --stats nulls >out 2>err &&
	echo "{\"id\":\"7\",\"impressions\":1}" >expect &&
	test_cmp expect out &&
	grep "^{" err | test_jq ".null_key == 2 and .applied == 1"
'

test_expect_success 'records filtered out by --where set no type' '
	{ echo "{\"source\":\"flow\",\"source_id\":\"7\"}" && ping 7 0; } >filtered &&
	pn-aggregate $Q filtered >out &&
	echo "{\"id\":7,\"impressions\":1}" >expect &&
	test_cmp expect out
'

test_expect_success '--reject sets them aside, counted in --stats' '
	pn-aggregate $Q --reject rej --stats mixed >out 2>err &&
	ping "\"7\"" 0 >expect &&
	test_cmp expect rej &&
	echo "{\"id\":7,\"impressions\":2}" >expect &&
	test_cmp expect out &&
	grep "^{" err | test_jq ".rejected == 1 and .applied == 2 and .null_key == 1"
'

test_expect_success '--key-type string and number merge 7 and "7" into one group' '
	pn-aggregate $Q --key-type string mixed >out &&
	echo "{\"id\":\"7\",\"impressions\":3}" >expect &&
	test_cmp expect out &&
	pn-aggregate $Q --key-type number mixed >out &&
	echo "{\"id\":7,\"impressions\":3}" >expect &&
	test_cmp expect out &&
	pn-aggregate $Q --key-type as-is mixed >out &&
	printf "{\"id\":7,\"impressions\":2}\n{\"id\":\"7\",\"impressions\":1}\n" >expect &&
	test_cmp expect out
'

test_expect_success '--key-type number: a string that is no number stays a string' '
	{ ping "\"07\"" 0 && ping 7 0; } >notnum &&
	test_expect_code 65 pn-aggregate $Q --key-type number notnum >out 2>err &&
	grep "error (at notnum:2): --group-by field .source_id. is a number (7), earlier records made it a string" err
'

test_expect_success 'the type survives a restart (--state FILE)' '
	ping 7 0 0 0 >a &&
	ping "\"7\"" 0 1 0 >b &&
	pn-aggregate $Q --state st a >out1 &&
	test_expect_code 65 pn-aggregate $Q --state st b >out2 2>err &&
	echo "pn-aggregate: error (at b:1): $CONFLICT" >expect &&
	test_cmp expect err &&
	pn-aggregate $Q --state st --reject rej2 b >out2 2>err &&
	pn-aggregate --state st --print-offsets >offsets &&
	echo "{\"pings\":{\"0\":2}}" >expect &&
	test_cmp expect offsets
'

test_expect_success 'a --key-type that changes the keys is another query for a checkpoint' '
	test_expect_code 78 pn-aggregate $Q --key-type string --state st b 2>err &&
	grep "checkpoint .st. was made by another query" err
'

test_expect_success 'the partitions of a state directory agree on the type' '
	{ ping 7 0 0 0 && ping "\"8\"" 0 0 1; } >two &&
	test_expect_code 65 pn-aggregate $Q --state sd/ two >out 2>err &&
	grep "error (at two:2): --group-by field .source_id. is a string (\"8\"), earlier records made it a number" err
'

test_expect_success 'a piece of another type is refused when its partition comes (78)' '
	ping 7 0 0 0 >p0 &&
	ping "\"8\"" 0 0 1 >p1 &&
	# two processes, one partition each: each piece has its own type
	pn-aggregate $Q --state pieces/ p0 >out0 &&
	pn-aggregate $Q --state pieces/ p1 >out1 &&
	# one process takes both: the second piece does not fit the first
	{ ping 7 0 1 0 && ping "\"8\"" 0 1 1; } >both &&
	test_expect_code 78 pn-aggregate $Q --state pieces/ both >out 2>err &&
	grep "state of partition pings/1 (.*) does not fit the other partitions.: --group-by field .source_id. is a string in it and a number in the other partitions. state" err
'

test_expect_success 'setup: campaigns 1 and 2 two days ago, a ping ten years ahead' '
	now=$(now_ms) &&
	{
		ping 1 $((now - 3 * DAY)) 0 0 &&
		ping 2 $((now - 3 * DAY)) 1 0 &&
		ping 1 $((now - 2 * DAY)) 2 0 &&
		ping 2 $((now + 3650 * DAY)) 3 0
	} >before &&
	ping 1 $((now - DAY)) 4 0 >after
'

test_expect_success 'with --ttl 28d a far-future record expires nothing; counts stay right' '
	cat before after >all &&
	pn-aggregate $Q --time-field t --ttl 28d --emit final --stats all >out 2>err &&
	printf "{\"id\":1,\"impressions\":3}\n{\"id\":2,\"impressions\":2}\n" >expect &&
	test_cmp expect out &&
	grep "^{" err | test_jq ".future_times == 1 and .expired == 0" &&
	grep "1 records had an event time more than --max-ahead past the wall clock" err
'

test_expect_success '--max-ahead 0 is the Kafka Streams rule: the ping of ten years expires both' '
	pn-aggregate $Q --time-field t --ttl 28d --max-ahead 0 --emit final --stats all \
		>out 2>err &&
	printf "{\"id\":1,\"impressions\":1}\n{\"id\":2,\"impressions\":1}\n" >expect &&
	test_cmp expect out &&
	grep "^{" err | test_jq ".future_times == 0 and .expired == 3"
'

test_expect_success 'the clock survives a restart unmoved by the far-future record' '
	pn-aggregate $Q --time-field t --ttl 28d --state ttl.st before >out1 &&
	pn-aggregate $Q --time-field t --ttl 28d --state ttl.st --stats after >out2 2>err &&
	grep "^{" err | test_jq ".expired == 0 and .skipped == 0" &&
	grep "{\"id\":1,\"impressions\":3}" out2 &&
	grep "{\"id\":2,\"impressions\":2}" out2
'

test_expect_success 'a far-future record closes no window' '
	now=$(now_ms) &&
	hour=$((now - now % 3600000 - 5 * 3600000)) &&
	{
		ping 1 $((hour + 60000)) &&
		ping 1 $((hour + 3600000 + 60000)) &&
		ping 1 $((now + 3650 * DAY)) &&
		ping 1 $((hour + 120000))
	} >win &&
	pn-aggregate $Q --time-field t --window tumbling:1h --grace 5m --emit final \
		--stats win >out 2>err &&
	grep "^{" err | test_jq ".late == 0 and .future_times == 1" &&
	grep "\"window_start\":$hour,.*\"impressions\":2}" out
'

# Old pings with their own _timestamp, as pn-archive cat gives them back
test_expect_success 'a backfill of old records still expires groups and closes windows' '
	old=1764028800000 &&
	{
		printf "{\"_timestamp\":%d,\"source\":\"campaign\",\"source_id\":1,\"delivered_time\":\"d\"}\n" \
			$old $old $((old + 30 * DAY)) &&
		printf "{\"_timestamp\":%d,\"source\":\"campaign\",\"source_id\":2,\"delivered_time\":\"d\"}\n" \
			$old $((old + 31 * DAY))
	} | sort -t: -k2 -n >backfill &&
	pn-aggregate $Q --ttl 28d --emit final --stats backfill >out 2>err &&
	grep "^{" err | test_jq ".future_times == 0 and .expired == 2" &&
	printf "{\"id\":1,\"impressions\":1}\n{\"id\":2,\"impressions\":1}\n" >expect &&
	test_cmp expect out &&
	{
		ping 1 $((old + 60000)) &&
		ping 1 $((old + 3 * 3600000)) &&
		ping 1 $((old + 120000))
	} >oldwin &&
	pn-aggregate $Q --time-field t --window tumbling:1h --grace 5m --emit final \
		--stats oldwin >out 2>err &&
	grep "^{" err | test_jq ".late == 1 and .future_times == 0"
'

test_expect_success 'in a backfill, an event time far past its own _timestamp is held back' '
	old=1764028800000 &&
	{
		printf "{\"_timestamp\":%d,\"source\":\"campaign\",\"source_id\":1,\"delivered_time\":\"d\",\"t\":%d}\n" \
			$old $old $old $((old + 365 * DAY)) $old $((old + 60000))
	} >skewed &&
	pn-aggregate $Q --time-field t --ttl 28d --emit final --stats skewed >out 2>err &&
	grep "^{" err | test_jq ".future_times == 1 and .expired == 0" &&
	echo "{\"id\":1,\"impressions\":3}" >expect &&
	test_cmp expect out
'

test_done
