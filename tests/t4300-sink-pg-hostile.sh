#!/bin/bash
# t4300-sink-pg-hostile: input and settings from outside, refused plainly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"

test_expect_success 'start PostgreSQL' '
	start_pg &&
	sql "CREATE TABLE t (id bigint PRIMARY KEY, s text)"
'

test_expect_success 'settings no retry can mend are 78, not 69' '
	echo "{\"id\":1,\"s\":\"a\"}" >in &&
	test_expect_code 78 pn-sink-pg -d "sslmode=bogus" -t t -k id in 2>err &&
	grep "sslmode" err &&
	test_expect_code 78 pn-sink-pg -d "dbname=nosuchdb" -t t -k id in 2>err &&
	grep "database \"nosuchdb\" does not exist" err &&
	! grep "3D000" err &&
	test_expect_code 78 pn-sink-pg -d "nokeyword=1" -t t -k id in 2>err &&
	test_expect_code 78 pn-sink-pg -d "postgresql://h/db?bogus=1" -t t -k id in 2>err &&
	test_expect_code 69 env PGPORT=1 pn-sink-pg -t t -k id in 2>err
'

test_expect_success 'an _offset at INT64_MAX is bad input; the offsets table is untouched' '
	max=9223372036854775807 &&
	printf "{\"_topic\":\"p\",\"_partition\":0,\"_offset\":$max,\"id\":1,\"s\":\"a\"}\n" >in &&
	test_expect_code 65 pn-sink-pg -t t -k id --offsets-table pn_offsets in 2>err &&
	grep "error (at in:1): field .\?_offset.\? must be an offset" err &&
	sql "SELECT count(*) FROM t WHERE id = 1" >actual &&
	echo 0 >expect &&
	test_cmp expect actual
'

test_expect_success 'an escaped NUL in a text value or key is bad input, or set aside' '
	printf "%s\n" "{\"id\":9,\"s\":\"abc\\u0000def\"}" >in &&
	test_expect_code 65 pn-sink-pg -t t -k id in 2>err &&
	echo "pn-sink-pg: error (at in:1): field '"'"'s'"'"' holds a NUL (\\u0000), column '"'"'s'"'"' is text" >expect &&
	test_cmp expect err &&
	sql "SELECT count(*) FROM t WHERE id = 9" >actual &&
	echo 0 >expect &&
	test_cmp expect actual &&
	sql "CREATE TABLE tk (k text PRIMARY KEY, v bigint)" &&
	printf "%s\n" "{\"k\":\"a\\u0000x\",\"v\":1}" "{\"k\":\"a\\u0000y\",\"v\":2}" \
		"{\"k\":\"b\",\"v\":3}" >in &&
	pn-sink-pg -t tk -k k --reject rej in 2>err &&
	test_line_count = 2 rej &&
	sql "SELECT k, v FROM tk ORDER BY k" >actual &&
	echo "b|3" >expect &&
	test_cmp expect actual
'

test_expect_success 'a NUL in _topic is bad input: no alias in the offsets table' '
	printf "%s\n" "{\"_topic\":\"pings\\u0000x\",\"_partition\":0,\"_offset\":999999,\"id\":5,\"s\":\"x\"}" >in &&
	test_expect_code 65 pn-sink-pg -t t -k id --offsets-table pn_offsets in 2>err &&
	grep "error (at in:1): field .\?_topic.\? must be a topic name" err &&
	pn-sink-pg -t t --offsets-table pn_offsets --print-offsets >actual &&
	! grep pings actual
'

test_expect_success 'member names are compared decoded: \u0041b is Ab' '
	printf "%s\n" "{\"id\":1,\"\\u0041b\":5}" >in &&
	pn-sink-pg -t esc -k id --create in &&
	sql "SELECT column_name FROM information_schema.columns WHERE table_name = '"'"'esc'"'"' ORDER BY 1" >actual &&
	printf "Ab\nid\n" >expect &&
	test_cmp expect actual &&
	printf "%s\n" "{\"id\":2,\"Ab\":6}" "{\"i\\u0064\":3,\"A\\u0062\":7}" >in &&
	pn-sink-pg -t esc -k id in &&
	sql "SELECT id, \"Ab\" FROM esc ORDER BY id" >actual &&
	printf "1|5\n2|6\n3|7\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a member named twice: the last one counts' '
	printf "%s\n" "{\"id\":4,\"Ab\":1,\"Ab\":8}" "{\"id\":5,\"Ab\":1,\"\\u0041b\":9}" >in &&
	pn-sink-pg -t esc -k id in &&
	sql "SELECT id, \"Ab\" FROM esc WHERE id >= 4 ORDER BY id" >actual &&
	printf "4|8\n5|9\n" >expect &&
	test_cmp expect actual
'

test_done
