#!/bin/bash
# t4200-sink-pg-offsets: Kafka offsets stored with the rows; resuming exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lib-kafka.sh"

test_expect_success 'start PostgreSQL' '
	start_pg &&
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, n bigint)" &&
	sql "CREATE TABLE events (id bigint PRIMARY KEY, n bigint)"
'

test_expect_success '--print-offsets needs --offsets-table' '
	test_expect_code 64 pn-sink-pg -t campaign --print-offsets 2>err &&
	grep "needs --offsets-table" err
'

test_expect_success 'offsets are stored with the rows and printed for pn-consume' '
	cat >in <<-\EOF &&
	{"id":1,"n":1,"_topic":"pings","_partition":0,"_offset":0}
	{"id":2,"n":1,"_topic":"pings","_partition":1,"_offset":0}
	{"id":1,"n":2,"_topic":"pings","_partition":0,"_offset":1}
	{"id":3,"n":1,"_topic":"pings","_partition":1,"_offset":1}
	{"id":4,"n":1,"_topic":"clicks","_partition":3,"_offset":41}
	{"id":5,"n":1}
	EOF
	pn-sink-pg -t campaign -k id --offsets-table pn_offsets in &&
	pn-sink-pg -t campaign --offsets-table pn_offsets --print-offsets >actual &&
	echo "{\"clicks\":{\"3\":42},\"pings\":{\"0\":2,\"1\":2}}" >expect &&
	test_cmp expect actual &&
	sql "SELECT sink, topic, partition, next_offset FROM pn_offsets ORDER BY 2, 3" >actual &&
	printf "campaign|clicks|3|42\ncampaign|pings|0|2\ncampaign|pings|1|2\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'records already written are skipped: insert twice, nothing doubled' '
	cat >in <<-\EOF &&
	{"id":1,"n":1,"_topic":"t","_partition":0,"_offset":10}
	{"id":2,"n":2,"_topic":"t","_partition":0,"_offset":11}
	EOF
	pn-sink-pg -t events -k id -m insert --offsets-table pn_offsets in &&
	cat >>in <<-\EOF &&
	{"id":3,"n":3,"_topic":"t","_partition":0,"_offset":12}
	EOF
	pn-sink-pg -t events -k id -m insert --offsets-table pn_offsets --stats in 2>err &&
	grep "\"rows\":1,\"written\":1,.*\"skipped\":2," err &&
	sql "SELECT * FROM events ORDER BY id" >actual &&
	printf "1|1\n2|2\n3|3\n" >expect &&
	test_cmp expect actual &&
	pn-sink-pg -t events --offsets-table pn_offsets --print-offsets >actual &&
	echo "{\"t\":{\"0\":13}}" >expect &&
	test_cmp expect actual
'

test_expect_success 'bad coordinates are bad input' '
	echo "{\"id\":9,\"n\":1,\"_topic\":\"t\",\"_partition\":0,\"_offset\":\"x\"}" >in &&
	test_expect_code 65 pn-sink-pg -t events -k id --offsets-table pn_offsets in 2>err &&
	echo "pn-sink-pg: error (at in:1): field '\''_offset'\'' must be an offset" >expect &&
	test_cmp expect err
'

test_expect_success 'an offsets table that cannot be made: 78, named' '
	echo "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":0,\"id\":1,\"n\":1}" >one &&
	sql "CREATE TABLE unmade (id bigint PRIMARY KEY, n bigint)" &&
	test_expect_code 78 pn-sink-pg -t unmade -k id --offsets-table nosuch.offsets one 2>err &&
	grep "cannot create the offsets table \"nosuch\".\"offsets\": .*schema \"nosuch\" does not exist" err
'

test_expect_success 'start the dev broker' '
	start_broker pings:2
'

test_expect_success 'pn-consume --start-offsets from --print-offsets resumes exactly' '
	sql "CREATE TABLE live (id bigint PRIMARY KEY, n bigint)" &&
	seq 1 100 | awk "{ print \"{\\\"id\\\":\" \$1 % 10 \",\\\"n\\\":\" \$1 \"}\" }" >first &&
	pn-produce -b "$BROKERS" -t pings -k id first &&
	pn-consume -b "$BROKERS" -t pings --meta -e >part1 &&
	pn-sink-pg -t live -k id --offsets-table pn_offsets part1 &&
	pn-sink-pg -t live --offsets-table pn_offsets --print-offsets >offsets &&
	seq 101 150 | awk "{ print \"{\\\"id\\\":\" \$1 % 10 \",\\\"n\\\":\" \$1 \"}\" }" >second &&
	pn-produce -b "$BROKERS" -t pings -k id second &&
	pn-consume -b "$BROKERS" -t pings --meta -e --start-offsets offsets >part2 &&
	test_line_count = 50 part2 &&
	pn-sink-pg -t live -k id --offsets-table pn_offsets --stats part1 part2 2>err &&
	grep "\"rows\":50,.*\"skipped\":100," err &&
	sql "SELECT id, n FROM live ORDER BY id" >actual &&
	seq 141 150 | awk "{ print \$1 % 10 \"|\" \$1 }" | sort -n >expect &&
	test_cmp expect actual
'

test_done
