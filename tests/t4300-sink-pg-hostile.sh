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

test_done
