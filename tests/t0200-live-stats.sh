#!/bin/bash
# t0200-live-stats: --stats-interval, --metrics and librdkafka statistics
# while the programs run: on time on a quiet input, growing, valid JSON and
# Prometheus text, replaced whole, ending on the values of --stats.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-pg.sh"

PROM_CHECK="$PYTHON $PN_SRC/tests/prom-check.py"

# stats_lines FILE: the lines of FILE that are pn counters, not messages nor
# librdkafka statistics (which begin with "{ ")
stats_lines () { grep "^{\"" "$1"; }

# has_stats_line N FILE: FILE holds N counter lines or more (a condition)
has_stats_line () { [ -f "$2" ] && [ "$(stats_lines "$2" | wc -l)" -ge "$1" ]; }

# has_records N FILE: a counter line of FILE says records >= N (a condition)
has_records () { stats_lines "$2" | test_jq "select(.records >= $1)" >/dev/null 2>&1; }

# has_written N FILE: a counter line of FILE says written >= N (a condition)
has_written () { stats_lines "$2" | test_jq "select(.written >= $1)" >/dev/null 2>&1; }

# prom_of PREFIX: the last --stats line on stdin as prom-check.py prints
# samples (counters _total, seconds and groups gauges), without labels
prom_of () {
	jq -c -S --arg p "$1" "with_entries(.key = \$p + .key +
		(if .key == \"seconds\" or .key == \"groups\" then \"\" else \"_total\" end) |
		.value |= (. * 1000 | round / 1000))" | tail -n 1
}

# unlabelled FILE: prom-check.py of FILE with the labels left out, the
# values rounded as --stats writes them
unlabelled () {
	$PROM_CHECK "$1" >samples.json &&
	jq -c -S "with_entries(.key |= sub(\"\\\\{.*\";\"\") | .value |= (. * 1000 | round / 1000))" samples.json
}

test_expect_success 'setup: a broker, an idle topic and 3000 records' '
	start_broker idle:2 nums:3 quiet:1 sent:2 &&
	seq 1 3000 | sed "s/.*/{\"n\":&,\"source_id\":\"c&\",\"_timestamp\":1700000000000}/" \
		>nums.in &&
	pn-produce -b "$BROKERS" -t nums nums.in
'

test_expect_success 'pn-consume -g on an idle topic prints its counters while it waits' '
	pn-consume -b "$BROKERS" -F "$KAFKA_PROPS" -t idle -g live1 --stats-interval 200ms \
		>out 2>err &
	pid=$!
	test_cleanup_kill $pid
	test_wait_until 60 has_stats_line 3 err &&
	test_running $pid &&
	stats_lines err | test_jq "has(\"records\") and has(\"commits\") and has(\"seconds\")" \
		>/dev/null &&
	echo "{\"n\":1}" | pn-produce -b "$BROKERS" -t idle &&
	test_wait_until 60 has_records 1 err &&
	kill -TERM $pid &&
	wait $pid &&
	test_line_count = 1 out &&
	stats_lines err | jq -s -e "length >= 4 and (map(.seconds) | . == sort) and
		(map(.records) | . == sort) and .[-1].records == 1" >/dev/null
'

test_expect_success 'the lines are the keys of --stats, the last one its line' '
	pn-consume -b "$BROKERS" -t nums -e --stats >out 2>final &&
	pn-consume -b "$BROKERS" -t nums -e --stats-interval 10ms >out 2>lines &&
	test_line_count = 3000 out &&
	jq -c keys final >expect &&
	stats_lines lines | jq -c keys | sort -u >actual &&
	test_cmp expect actual &&
	stats_lines lines | tail -n 1 | test_jq ".records == 3000" >/dev/null
'

test_expect_success '--stats with --stats-interval ends with one line, not two' '
	pn-consume -b "$BROKERS" -t nums -e --stats --stats-interval 1h >out 2>err &&
	stats_lines err >lines &&
	test_line_count = 1 lines
'

test_expect_success 'pn-consume --metrics: valid, labelled, equal to --stats at the end' '
	pn-consume -b "$BROKERS" -t nums -g live2 -e --stats --metrics m.prom >out 2>err &&
	test_line_count = 3000 out &&
	$PROM_CHECK m.prom >samples &&
	printf "pn_consume_records_total{topic=\042nums\042,group=\042live2\042} 3000\n" >pat &&
	grep -x -F -f pat m.prom &&
	grep "^# TYPE pn_consume_records_total counter$" m.prom &&
	grep "^# TYPE pn_consume_seconds gauge$" m.prom &&
	stats_lines err | prom_of pn_consume_ >expect &&
	unlabelled m.prom >actual &&
	test_cmp expect actual &&
	ls -a >files &&
	! grep "tmp" files
'

test_expect_success '--metrics alone: written while running, every 10s by default' '
	mkfifo feed1 || return 1
	pn-produce -b "$BROKERS" -t quiet --metrics p.prom <feed1 >out 2>err &
	pid=$!
	test_cleanup_kill $pid
	exec 7>feed1 &&
	echo "{\"n\":1}" >&7 &&
	test_wait_until 60 test -e p.prom &&
	test_running $pid &&
	$PROM_CHECK p.prom >samples &&
	printf "pn_produce_acked_total{topic=\042quiet\042} 1\n" >pat &&
	grep -x -F -f pat p.prom &&
	kill -TERM $pid &&
	wait $pid &&
	exec 7>&- &&
	test_must_be_empty err
'

test_expect_success 'the metrics file is replaced whole: a reader never sees half of it' '
	mkfifo feed2 || return 1
	pn-produce -b "$BROKERS" -t quiet --stats-interval 10ms --metrics w.prom <feed2 \
		>out 2>err &
	pid=$!
	test_cleanup_kill $pid
	exec 8>feed2 &&
	test_wait_until 60 test -e w.prom &&
	$PROM_CHECK --watch w.prom 3 >versions &&
	kill -TERM $pid &&
	wait $pid &&
	exec 8>&- &&
	test "$(cat versions)" -ge 20 &&
	ls -a >files &&
	! grep "tmp" files
'

test_expect_success 'pn-aggregate on a quiet pipe writes them on time' '
	mkfifo feed3 || return 1
	pn-aggregate -g source_id:id --count "*:n" --emit final --stats-interval 100ms \
		--metrics a.prom <feed3 >out 2>err &
	pid=$!
	test_cleanup_kill $pid
	exec 9>feed3 &&
	head -n 5 nums.in >&9 &&
	test_wait_until 30 has_records 5 err &&
	test_wait_until 30 has_stats_line 3 err &&
	test_running $pid &&
	$PROM_CHECK a.prom >samples &&
	grep "\"pn_aggregate_groups\": 5.0" samples &&
	grep "^# TYPE pn_aggregate_groups gauge$" a.prom &&
	kill -TERM $pid &&
	wait $pid &&
	exec 9>&- &&
	test_line_count = 5 out &&
	stats_lines err | prom_of pn_aggregate_ >expect &&
	unlabelled a.prom >actual &&
	test_cmp expect actual
'

test_expect_success 'pn-sink-pg: rows written while its input is quiet, as a table label' '
	start_pg &&
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, impressions bigint, clicks bigint)" &&
	mkfifo feed5 || return 1
	pn-sink-pg -t campaign -k id --batch-ms 50ms --stats-interval 100ms --metrics s.prom \
		<feed5 >out 2>serr &
	pid=$!
	test_cleanup_kill $pid
	exec 7>feed5 &&
	printf "{\"id\":1,\"impressions\":1,\"clicks\":0}\n{\"id\":2,\"impressions\":3,\"clicks\":1}\n" >&7 &&
	test_wait_until 30 has_written 2 serr &&
	test_running $pid &&
	$PROM_CHECK s.prom >samples &&
	kill -TERM $pid &&
	wait $pid &&
	exec 7>&- &&
	printf "pn_sink_pg_written_total{table=\042campaign\042} 2\n" >pat &&
	grep -x -F -f pat s.prom &&
	stats_lines serr | prom_of pn_sink_pg_ >expect &&
	unlabelled s.prom >actual &&
	test_cmp expect actual
'

test_expect_success 'pn-archive write: the same, its destination as a label' '
	pn-archive write -t nums arch --stats --stats-interval 10ms --metrics ar.prom nums.in \
		>out 2>err &&
	$PROM_CHECK ar.prom >samples &&
	printf "pn_archive_records_total{destination=\042arch\042} 3000\n" >pat &&
	grep -x -F -f pat ar.prom &&
	stats_lines err | tail -n 1 | prom_of pn_archive_ >expect &&
	unlabelled ar.prom >actual &&
	test_cmp expect actual
'

test_expect_success 'pn-produce: counters while it sends and when it is done' '
	pn-produce -b "$BROKERS" -t sent --stats-interval 10ms --metrics pp.prom nums.in \
		2>err &&
	stats_lines err | tail -n 1 | test_jq ".acked == 3000" >/dev/null &&
	stats_lines err | prom_of pn_produce_ >expect &&
	unlabelled pp.prom >actual &&
	test_cmp expect actual
'

test_expect_success 'label values are escaped' '
	dest=$(printf "a\042b\134c") &&
	pn-archive write -t nums "$dest" --metrics esc.prom nums.in &&
	$PROM_CHECK esc.prom >samples &&
	printf "pn_archive_records_total{destination=\042a\134\042b\134\134c\042} 3000\n" >pat &&
	grep -x -F -f pat esc.prom
'

test_expect_success '-X statistics.interval.ms: librdkafka statistics, one JSON line each' '
	pn-consume -b "$BROKERS" -t idle -g live3 -X statistics.interval.ms=100 >out 2>cerr &
	pid=$!
	test_cleanup_kill $pid
	test_wait_until 60 grep -q "^{ \"name\":.*\"type\": *\"consumer\"" cerr &&
	kill -TERM $pid &&
	wait $pid &&
	grep "^{ \"name\":" cerr | test_jq -s "length >= 1 and all(.type == \"consumer\")" \
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
	grep "^{ \"name\":" perr | test_jq -s "all(.type == \"producer\")" >/dev/null &&
	test_must_be_empty out
'

test_expect_success 'without them, nothing but the usual on stderr' '
	pn-consume -b "$BROKERS" -t nums -e >out 2>nerr &&
	test_must_be_empty nerr
'

test_expect_success 'pn-pipeline --metrics-dir: a metrics file per stage' '
	pn-pipeline archive -b "$BROKERS" -t nums -D arch2 --once --metrics-dir mdir \
		2>pipeline.err &&
	$PROM_CHECK mdir/archive-consume.prom >samples &&
	$PROM_CHECK mdir/archive-write.prom >samples &&
	printf "pn_consume_records_total{topic=\042nums\042} 3000\n" >pat &&
	grep -x -F -f pat mdir/archive-consume.prom &&
	printf "pn_archive_records_total{destination=\042arch2\042} 3000\n" >pat &&
	grep -x -F -f pat mdir/archive-write.prom
'

test_expect_success 'usage errors: a bad interval 64, a metrics file nowhere 74' '
	test_expect_code 64 pn-consume -b "$BROKERS" -t nums -e --stats-interval 5ms 2>err &&
	grep "bad --stats-interval .5ms." err &&
	test_expect_code 64 pn-aggregate -g k --count "*" --stats-interval soon </dev/null 2>err &&
	grep "bad --stats-interval .soon." err &&
	test_expect_code 74 pn-aggregate -g k --count "*" --metrics no/such/m.prom \
		</dev/null 2>err &&
	grep "^pn-aggregate: cannot write the metrics file .no/such/m.prom.: No such file or directory$" err &&
	test_expect_code 64 pn-archive cat arch --metrics m2.prom >out 2>err &&
	grep "metrics is an option of write only" err &&
	test_expect_code 64 pn-consume -b "$BROKERS" -g live4 --lag --metrics m3.prom 2>err &&
	grep "^pn-consume: --stats-interval and --metrics count records read, not --lag or --list$" err
'

test_done
