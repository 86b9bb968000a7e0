#!/bin/bash
# t4100-sink-pg-faults: the server restarted or down mid-stream; nothing lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"

# N changelog rows over K keys: key (i * 7919) % K, the values grow with i,
# so the last row per key is the one that must be in the table.
changelog () {
	awk -v n="$1" -v k="$2" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "{\"id\":%d,\"impressions\":%d,\"clicks\":%d}\n", (i * 7919) % k, i, i % 97
	}'
}

# The table contents the changelog must leave: the last row per key.
last_per_key () {
	awk -F '[:,}]' '{ v[$2] = $4 "|" $6 } END { for (k in v) print k "|" v[k] }' "$1" | sort -n
}

test_expect_success 'start PostgreSQL' '
	start_pg &&
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, impressions bigint, clicks bigint)"
'

test_expect_success 'pg_ctl restart in the middle of a 1M-row stream: exact final contents' '
	changelog 1000000 50000 >all &&
	head -n 500000 all >first && tail -n +500001 all >second &&
	last_per_key all >expect &&
	test_line_count = 50000 expect &&
	mkfifo feed || return 1
	pn-sink-pg -t campaign -k id --stats <feed 2>sink.err &
	sink=$!
	exec 9>feed &&
	cat first >&9 &&
	restart_pg &&
	cat second >&9 &&
	exec 9>&- &&
	wait $sink &&
	sql "SELECT id, impressions, clicks FROM campaign ORDER BY id" >actual &&
	test_cmp expect actual &&
	grep "\"lines\":1000000,\"rows\":1000000," sink.err &&
	grep "lost the connection" sink.err &&
	! grep "\"retries\":0," sink.err
'

test_expect_success 'the server down for a while: reconnects with backoff' '
	sql "TRUNCATE campaign" &&
	changelog 20000 5000 >all &&
	last_per_key all >expect &&
	mkfifo feed2 || return 1
	pn-sink-pg -t campaign -k id --batch-rows 1000 --stats <feed2 2>sink.err &
	sink=$!
	exec 9>feed2 &&
	head -n 10000 all >&9 &&
	stop_pg || return 1
	# the sink reads again only once it is back: feed it meanwhile
	tail -n +10001 all >&9 &
	feeder=$!
	sleep 2 &&
	pg_start_again &&
	wait $feeder &&
	exec 9>&- &&
	wait $sink &&
	sql "SELECT id, impressions, clicks FROM campaign ORDER BY id" >actual &&
	test_cmp expect actual
'

test_expect_success 'no server at the start: 69' '
	sql "CREATE TABLE gone (id int PRIMARY KEY, n int)" &&
	stop_pg &&
	test_when_finished "pg_start_again" &&
	printf "{\"id\":1,\"n\":1}\n" >in &&
	test_expect_code 69 pn-sink-pg -t gone -k id in 2>err &&
	grep "cannot connect" err
'

test_expect_success 'lost for longer than --retry-for mid-stream: 75' '
	mkfifo feed3 || return 1
	pn-sink-pg -t gone -k id --retry-for 1s --batch-ms 100ms <feed3 2>err &
	sink=$!
	exec 9>feed3 &&
	echo "{\"id\":1,\"n\":1}" >&9 &&
	for i in $(seq 1 50); do
		test "$(sql "SELECT count(*) FROM gone")" = 1 && break
		sleep 0.1
	done &&
	stop_pg &&
	test_when_finished "pg_start_again" &&
	echo "{\"id\":2,\"n\":2}" >&9 &&
	test_expect_code 75 wait $sink &&
	exec 9>&- &&
	grep "giving up on PostgreSQL after 1s" err
'

test_done
