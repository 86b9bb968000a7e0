#!/bin/bash
# t4400-sink-pg-fencing: rows that name their owner epoch (_epoch, as
# pn-aggregate --state DIR/ writes them) are fenced: once the table has
# rows of a partition from one owner, the rows of an older owner (a
# zombie that wakes up after its partition moved) are dropped, counted;
# whichever sink writes first, the table ends with the newer owner values.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"

# rows EPOCH N [PARTITION]: ids 1 to 3 with n = N + id, from the owner of
# EPOCH of partition PARTITION (0) of topic pings
rows () {
	for id in 1 2 3; do
		printf "{\"id\":%d,\"n\":%d,\"_topic\":\"pings\",\"_partition\":%d,\"_epoch\":%d}\n" \
			$id $(($2 + id)) "${3:-0}" "$1"
	done
}

# The table as id|n, and fresh rows of ids 1 to 3 to update.
table () { sql "SELECT id, n FROM campaign ORDER BY id"; }
fresh () { sql "TRUNCATE campaign; INSERT INTO campaign SELECT g, 0 FROM generate_series(1, 3) g"; }
SINK="-t campaign -k id -m update"

test_expect_success 'start PostgreSQL' '
	start_pg &&
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, n bigint)" &&
	printf "1|21\n2|22\n3|23\n" >newer
'

test_expect_success 'the new owner writes first: the zombie rows after them are dropped' '
	fresh &&
	rows 2 20 >new-owner &&
	rows 1 10 >zombie &&
	pn-sink-pg $SINK --stats new-owner 2>err1 &&
	grep "^{" err1 | test_jq ".written == 3 and .fenced_rows == 0" &&
	pn-sink-pg $SINK --stats zombie 2>err2 &&
	grep "^{" err2 | test_jq ".rows == 3 and .written == 0 and .fenced_rows == 3" &&
	grep "3 rows of partition pings/0 from an owner older than epoch 2, which has written to .campaign., are dropped" err2 &&
	table >actual &&
	test_cmp newer actual &&
	sql "SELECT sink, topic, partition, epoch FROM pn_fences" >actual &&
	echo "campaign|pings|0|2" >expect &&
	test_cmp expect actual
'

test_expect_success 'the zombie writes first: the new owner rows overwrite them' '
	fresh &&
	sql "TRUNCATE pn_fences" &&
	pn-sink-pg $SINK --stats zombie 2>err1 &&
	grep "^{" err1 | test_jq ".written == 3 and .fenced_rows == 0" &&
	pn-sink-pg $SINK --stats new-owner 2>err2 &&
	grep "^{" err2 | test_jq ".written == 3 and .fenced_rows == 0" &&
	table >actual &&
	test_cmp newer actual &&
	sql "SELECT epoch FROM pn_fences" >actual &&
	echo 2 >expect &&
	test_cmp expect actual
'

test_expect_success 'epochs are per partition and per sink; rows without one are written' '
	fresh &&
	sql "CREATE TABLE other (id bigint PRIMARY KEY, n bigint)" &&
	sql "INSERT INTO other SELECT g, 0 FROM generate_series(1, 3) g" &&
	rows 1 30 1 >p1 &&
	printf "{\"id\":3,\"n\":40}\n" >plain &&
	pn-sink-pg $SINK --stats zombie p1 plain 2>err &&
	grep "^{" err | test_jq ".written == 4 and .fenced_rows == 3" &&
	printf "1|31\n2|32\n3|40\n" >expect &&
	table >actual &&
	test_cmp expect actual &&
	pn-sink-pg -t other -k id -m update --stats zombie 2>err &&
	grep "^{" err | test_jq ".written == 3 and .fenced_rows == 0" &&
	sql "SELECT sink, topic, partition, epoch FROM pn_fences ORDER BY 1, 3" >actual &&
	printf "campaign|pings|0|2\ncampaign|pings|1|1\nother|pings|0|1\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a newer owner raises the epoch, in upsert mode too' '
	fresh &&
	rows 3 50 >third &&
	pn-sink-pg -t campaign -k id --stats third new-owner zombie 2>err &&
	grep "^{" err | test_jq ".written == 3 and .fenced_rows == 6" &&
	printf "1|51\n2|52\n3|53\n" >expect &&
	table >actual &&
	test_cmp expect actual &&
	sql "SELECT epoch FROM pn_fences WHERE sink = '\''campaign'\'' AND partition = 0" >actual &&
	echo 3 >expect &&
	test_cmp expect actual
'

test_expect_success '--fence-table names the table, made when the first epoch comes' '
	fresh &&
	pn-sink-pg $SINK --fence-table my_fences plain &&
	test_must_fail sql "SELECT 1 FROM my_fences" 2>/dev/null &&
	pn-sink-pg $SINK --fence-table my_fences zombie &&
	sql "SELECT sink, topic, partition, epoch FROM my_fences" >actual &&
	echo "campaign|pings|0|1" >expect &&
	test_cmp expect actual
'

test_expect_success 'a fence table that cannot be made: 78, named' '
	test_expect_code 78 pn-sink-pg $SINK --fence-table nosuch.fences zombie 2>err &&
	grep "cannot create the fence table \"nosuch\".\"fences\": .*schema \"nosuch\" does not exist" err
'

test_expect_success 'a bad _epoch, or one without its partition, is bad input (65)' '
	echo "{\"id\":1,\"n\":1,\"_topic\":\"pings\",\"_partition\":0,\"_epoch\":\"x\"}" >bad &&
	test_expect_code 65 pn-sink-pg $SINK bad 2>err &&
	echo "pn-sink-pg: error (at bad:1): field '\''_epoch'\'' must be an owner epoch (an integer, 0 or more)" >expect &&
	test_cmp expect err &&
	echo "{\"id\":1,\"n\":1,\"_topic\":\"pings\",\"_epoch\":4}" >nopart &&
	test_expect_code 65 pn-sink-pg $SINK nopart 2>err &&
	grep "nopart:1.*_epoch.* needs the _topic and _partition of its owner" err
'

test_expect_success 'a changelog of pn-aggregate --state DIR/ carries its owner epochs' '
	fresh &&
	printf "{\"_topic\":\"clicks\",\"_partition\":%d,\"_offset\":0,\"k\":%d}\n" 0 1 1 2 >in &&
	pn-aggregate -g k:id --count "*:n" --state st/ in >changes &&
	pn-sink-pg $SINK --stats changes 2>err &&
	grep "^{" err | test_jq ".written == 2 and .fenced_rows == 0" &&
	sql "SELECT sink, topic, partition, epoch FROM pn_fences WHERE topic = '\''clicks'\'' ORDER BY 3" >actual &&
	printf "campaign|clicks|0|1\ncampaign|clicks|1|1\n" >expect &&
	test_cmp expect actual
'

test_done
