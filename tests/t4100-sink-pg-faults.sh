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

# retried N FILE: the sink's FILE reports N or more lost connections
retried () { test "$(grep -c "lost the connection" "$2")" -ge "$1"; }

test_expect_success 'the server down for a while: reconnects with backoff' '
	sql "TRUNCATE campaign" &&
	changelog 20000 5000 >all &&
	last_per_key all >expect &&
	mkfifo feed2 || return 1
	pn-sink-pg -t campaign -k id --batch-rows 1000 --stats <feed2 2>down.err &
	sink=$!
	exec 9>feed2 &&
	head -n 10000 all >&9 &&
	stop_pg || return 1
	# the sink reads again only once it is back: feed it meanwhile
	tail -n +10001 all >&9 &
	feeder=$!
	# back once the sink has found it gone and tried again after a wait
	test_wait_until 60 retried 2 down.err &&
	pg_start_again &&
	wait $feeder &&
	exec 9>&- &&
	wait $sink &&
	sql "SELECT id, impressions, clicks FROM campaign ORDER BY id" >actual &&
	test_cmp expect actual
'

# The records' offsets are their values: the table must hold 1..N once
# each, and every batch must have stored its own next offset.
test_expect_success 'a batch lost while the next is read is written again, once, with its offsets' '
	sql "CREATE TABLE inflight (n bigint)" &&
	sql "CREATE TABLE audit (max_n bigint, next_offset bigint)" &&
	sql "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
		INSERT INTO audit SELECT (SELECT max(n) FROM new), (SELECT next_offset FROM pn_offsets
			WHERE sink = '\''inflight'\'' AND topic = '\''t'\'' AND partition = 0);
		RETURN NULL; END \$\$" &&
	sql "CREATE TRIGGER audit AFTER INSERT ON inflight REFERENCING NEW TABLE AS new
		FOR EACH STATEMENT EXECUTE FUNCTION audit()" &&
	records () { seq "$1" "$2" | awk "{ printf \"{\\\"n\\\":%d,\\\"_topic\\\":\\\"t\\\",\\\"_partition\\\":0,\\\"_offset\\\":%d}\\n\", \$1, \$1 }"; } &&
	mkfifo feed4 lock || return 1
	pn-sink-pg -t inflight -m insert --batch-rows 100 --batch-ms 1h --offsets-table pn_offsets \
		--stats <feed4 2>sink.err &
	sink=$!
	exec 9>feed4 &&
	records 1 99 >&9 &&
	# the batch table exists, made from the table: now the table can be locked
	test_wait_until 30 sql_is "SELECT count(*) FROM pg_class WHERE relname = '\''pn_sink_batch'\''" 1 ||
		return 1
	psql -X -q <lock >/dev/null &
	locker=$!
	exec 7>lock &&
	echo "BEGIN; LOCK TABLE inflight;" >&7 &&
	test_wait_until 30 sql_is "SELECT count(*) FROM pg_locks WHERE relation = '\''inflight'\''::regclass AND granted" 1 &&
	# a full batch: sent, its merge waits for the lock
	records 100 100 >&9 &&
	test_wait_until 30 sql_is "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\''pn-sink-pg'\'' AND wait_event_type = '\''Lock'\''" 1 &&
	# read while that batch is in flight, which then loses its connection
	records 101 150 >&9 &&
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\''pn-sink-pg'\''" >/dev/null &&
	echo "COMMIT;" >&7 &&
	exec 7>&- &&
	wait $locker &&
	records 151 250 >&9 &&
	exec 9>&- &&
	wait $sink &&
	sql "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM inflight" >actual &&
	echo "250|250|1|250" >expect &&
	test_cmp expect actual &&
	sql "SELECT max_n, next_offset FROM audit ORDER BY max_n" >actual &&
	printf "100|101\n200|201\n250|251\n" >expect &&
	test_cmp expect actual &&
	grep "lost the connection" sink.err &&
	grep "\"written\":250,.*\"batches\":3,\"retries\":1," sink.err &&
	pn-sink-pg -t inflight --offsets-table pn_offsets --print-offsets >actual &&
	echo "{\"t\":{\"0\":251}}" >expect &&
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
	test_wait_until 30 sql_is "SELECT count(*) FROM gone" 1 &&
	stop_pg &&
	test_when_finished "pg_start_again" &&
	echo "{\"id\":2,\"n\":2}" >&9 &&
	test_expect_code 75 wait $sink &&
	exec 9>&- &&
	grep "giving up on PostgreSQL after 1s" err
'

test_done
