#!/bin/bash
# t4000-sink-pg: modes, keys, batches, types and bad input against a real server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pg.sh"

test_expect_success 'pn-sink-pg -h and --version' '
	pn-sink-pg -h >help &&
	grep "^usage: pn-sink-pg" help &&
	pn-sink-pg --version >version &&
	grep "^pn-sink-pg (pn) " version &&
	grep "^libpq " version
'

test_expect_success 'usage errors are 64' '
	test_expect_code 64 pn-sink-pg --no-such-flag 2>err &&
	grep "^usage: pn-sink-pg" err &&
	test_expect_code 64 pn-sink-pg -k id 2>err &&
	grep "no table given" err &&
	test_expect_code 64 pn-sink-pg -t x 2>err &&
	grep "mode upsert needs the key fields" err &&
	test_expect_code 64 pn-sink-pg -t x -k id -m merge 2>err &&
	grep "bad mode .merge." err &&
	test_expect_code 64 pn-sink-pg -t x -k id --map nocolon 2>err &&
	grep "bad mapping .nocolon." err &&
	test_expect_code 64 pn-sink-pg -t x -k id, 2>err &&
	grep "empty name" err
'

test_expect_success 'start PostgreSQL' '
	start_pg &&
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, impressions bigint, clicks bigint)"
'

test_expect_success 'no server answering is 69' '
	echo "{\"id\":1}" >in &&
	test_expect_code 69 env PGPORT=1 pn-sink-pg -t campaign -k id in 2>err &&
	grep "^pn-sink-pg: cannot connect to .host=127.0.0.1 port=1 dbname=postgres.: " err
'

test_expect_success 'a missing table or column, or no unique key for upsert, is 78' '
	echo "{\"id\":1,\"x\":2}" >in &&
	test_expect_code 78 pn-sink-pg -t nosuch -k id in 2>err &&
	echo "pn-sink-pg: table '\''nosuch'\'' does not exist" >expect &&
	test_cmp expect err &&
	test_expect_code 78 pn-sink-pg -t campaign -k id in 2>err &&
	echo "pn-sink-pg: table '\''campaign'\'' has no column '\''x'\''" >expect &&
	test_cmp expect err &&
	test_expect_code 78 pn-sink-pg -t campaign -k clicks -f impressions in 2>err &&
	grep "upsert needs a primary key or unique index on the --pk columns" err &&
	test_expect_code 78 pn-sink-pg -t nosuchschema.campaign -k id in 2>err
'

test_expect_success 'upsert: the last row per key wins within a batch and across batches' '
	cat >in <<-\EOF &&
	{"id":1,"impressions":1,"clicks":0}
	{"id":2,"impressions":1,"clicks":0}
	{"id":1,"impressions":2,"clicks":1}
	{"id":3,"impressions":9,"clicks":9}
	{"id":1,"impressions":3,"clicks":1}
	EOF
	pn-sink-pg -t campaign -k id --stats in 2>err &&
	grep "\"lines\":5,\"rows\":5,\"written\":3,\"duplicates\":2,\"absent\":0,\"failed\":0,\"rejected\":0,\"batches\":1," err &&
	sql "SELECT * FROM campaign ORDER BY id" >actual &&
	printf "1|3|1\n2|1|0\n3|9|9\n" >expect &&
	test_cmp expect actual &&
	printf "{\"id\":2,\"impressions\":5,\"clicks\":2}\n{\"id\":4,\"impressions\":1,\"clicks\":1}\n" |
		pn-sink-pg -t campaign -k id --batch-rows 1 --stats 2>err &&
	grep "\"written\":2,.*\"batches\":2," err &&
	sql "SELECT * FROM campaign ORDER BY id" >actual &&
	printf "1|3|1\n2|5|2\n3|9|9\n4|1|1\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'update: rows whose key is absent are counted and reported' '
	cat >in <<-\EOF &&
	{"id":1,"impressions":10,"clicks":5}
	{"id":77,"impressions":1,"clicks":1}
	{"id":2,"impressions":20,"clicks":6}
	EOF
	pn-sink-pg -t campaign -k id -m update --stats in 2>err &&
	grep "^pn-sink-pg: warning (at in:2): no row in .campaign. has this key$" err &&
	grep "^pn-sink-pg: warning: 1 records found no row with their key in .campaign. (--mode update)$" err &&
	grep "\"written\":2,\"duplicates\":0,\"absent\":1," err &&
	sql "SELECT * FROM campaign ORDER BY id" >actual &&
	printf "1|10|5\n2|20|6\n3|9|9\n4|1|1\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'keys that differ as text but are equal to the server: the last row wins' '
	sql "CREATE TABLE twins (id bigint PRIMARY KEY, impressions bigint, clicks bigint)" &&
	sql "INSERT INTO twins VALUES (1, 10, 5), (2, 20, 6)" &&
	cat >in <<-\EOF &&
	{"id":"001","impressions":100,"clicks":1}
	{"id":1,"impressions":101,"clicks":2}
	{"id":"+8","impressions":1,"clicks":1}
	{"id":8,"impressions":2,"clicks":2}
	EOF
	pn-sink-pg -v -t twins -k id in 2>err &&
	grep "batch refused (.*); writing it row by row" err &&
	printf "{\"id\":\"002\",\"impressions\":7,\"clicks\":7}\n{\"id\":2,\"impressions\":8,\"clicks\":8}\n" |
		pn-sink-pg -v -t twins -k id -m update 2>err &&
	grep "batch refused (.*); writing it row by row" err &&
	sql "SELECT * FROM twins ORDER BY id" >actual &&
	printf "1|101|2\n2|8|8\n8|2|2\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'update with --fields: other columns keep their values' '
	echo "{\"id\":3,\"impressions\":0,\"clicks\":42}" >in &&
	pn-sink-pg -t campaign -k id -m update -f id,clicks in &&
	sql "SELECT * FROM campaign WHERE id = 3" >actual &&
	echo "3|9|42" >expect &&
	test_cmp expect actual
'

test_expect_success 'a long batch over few keys: lines, absent keys and errors stay right' '
	awk "BEGIN {
		for (i = 1; i <= 19996; i++)
			if (i == 12345) print \"{\\\"id\\\":999,\\\"impressions\\\":1,\\\"clicks\\\":1}\"
			else printf \"{\\\"id\\\":%d,\\\"impressions\\\":%d,\\\"clicks\\\":0}\\n\", i % 4 + 1, i
	}" >in &&
	cat >>in <<-\EOF &&
	{"id":1,"impressions":-1,"clicks":1}
	{"id":2,"impressions":-2,"clicks":2}
	{"id":3,"impressions":"abc","clicks":3}
	{"id":999,"impressions":1,"clicks":1}
	EOF
	test_line_count = 20000 in &&
	test_expect_code 65 pn-sink-pg -t campaign -k id -m update --stats in 2>err &&
	grep "^pn-sink-pg: error (at in:19999): invalid input syntax for type bigint: \"abc\"$" err &&
	grep "^pn-sink-pg: warning (at in:20000): no row in .campaign. has this key$" err &&
	grep "\"lines\":20000,\"rows\":20000,\"written\":3,\"duplicates\":19995,\"absent\":1,\"failed\":1,.*\"batches\":1," err &&
	sql "SELECT * FROM campaign ORDER BY id" >actual &&
	printf "1|-1|1\n2|-2|2\n3|9|42\n4|19995|0\n" >expect &&
	test_cmp expect actual
'

# A key table slot keeps the length of a key below 64 KiB; longer keys are
# measured in their row.
test_expect_success 'keys longer than 64 KiB are told apart and replaced' '
	sql "CREATE TABLE longkey (k text PRIMARY KEY, n int)" &&
	awk "BEGIN {
		for (long = \"x\"; length(long) < 70000; long = long long) ;
		long = substr(long, 1, 70000)
		for (i = 1; i <= 6; i++)
			printf \"{\\\"k\\\":\\\"%s%s\\\",\\\"n\\\":%d}\\n\", i % 3 ? long : \"\", i % 3 == 1 ? \"a\" : \"b\", i
	}" >in &&
	pn-sink-pg -t longkey -k k --stats in 2>err &&
	grep "\"lines\":6,\"rows\":6,\"written\":3,\"duplicates\":3," err &&
	sql "SELECT length(k), right(k, 1), n FROM longkey ORDER BY n" >actual &&
	printf "70001|a|4\n70001|b|5\n1|b|6\n" >expect &&
	test_cmp expect actual
'

# Rows move down when a batch drops its dead rows; keys with no row are
# spread so that some move once, some many times.
test_expect_success 'keys with no row in a batch compacted many times: their own lines' '
	awk "BEGIN {
		for (i = 1; i <= 40000; i++)
			if (i % 4000 == 3500) printf \"{\\\"id\\\":%d,\\\"impressions\\\":1,\\\"clicks\\\":1}\\n\", 900 + i
			else printf \"{\\\"id\\\":%d,\\\"impressions\\\":%d,\\\"clicks\\\":0}\\n\", i % 4 + 1, i
	}" >in &&
	pn-sink-pg -t campaign -k id -m update --stats in 2>err &&
	grep "^pn-sink-pg: warning (at in:[0-9]*): no row" err | sed "s/.*(at in:\([0-9]*\)).*/\1/" >actual &&
	seq 3500 4000 40000 >expect &&
	test_cmp expect actual &&
	grep "\"lines\":40000,\"rows\":40000,\"written\":4,\"duplicates\":39986,\"absent\":10,\"failed\":0,.*\"batches\":1," err &&
	sql "SELECT * FROM campaign ORDER BY id" >actual &&
	printf "1|40000|0\n2|39997|0\n3|39998|0\n4|39999|0\n" >expect &&
	test_cmp expect actual
'

# The planner would hash the whole table for a large batch (it prices the
# index as if on disk); update joins through the key index, like ON CONFLICT.
scans () {
	sql "SELECT seq_scan || ' ' || coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = '$1'"
}
# index_scans_reach TABLE N: TABLE's index scans have reached N (sets seq1
# and idx1 to its counts)
index_scans_reach () {
	read -r seq1 idx1 <<<"$(scans "$1")" && [ "$idx1" -ge "$2" ]
}
test_expect_success 'large batches find their rows through the key index, not a table scan' '
	sql "CREATE TABLE wide (id bigint PRIMARY KEY, n bigint)" &&
	sql "INSERT INTO wide SELECT g, 0 FROM generate_series(1, 20000) g" &&
	sql "VACUUM ANALYZE wide" &&
	read -r seq0 idx0 <<-EOF &&
	$(scans wide)
	EOF
	awk "BEGIN { for (i = 1; i <= 20001; i++) printf \"{\\\"id\\\":%d,\\\"n\\\":%d}\\n\", i, 2 * i }" >in &&
	pn-sink-pg -t wide -k id -m update --stats in 2>err &&
	grep "\"written\":20000,.*\"absent\":1," err &&
	awk "BEGIN { for (i = 1; i <= 10000; i++) printf \"{\\\"id\\\":%d,\\\"n\\\":null}\\n\", 2 * i }" >in &&
	pn-sink-pg -t wide -k id --delete-on-tombstone --stats in 2>err &&
	grep "\"deleted\":10000," err &&
	# the server counts the scans once the sinks'\'' sessions have ended
	test_wait_until 30 index_scans_reach wide $((idx0 + 50000)) &&
	test "$seq1" = "$seq0" &&
	sql "SELECT count(*), sum(n) FROM wide" >actual &&
	echo "10000|200000000" >expect &&
	test_cmp expect actual
'

test_expect_success 'insert: a duplicate key is refused alone, the rest of the batch is written' '
	sql "CREATE TABLE events (id int PRIMARY KEY, what text)" &&
	printf "{\"id\":1,\"what\":\"a\"}\n{\"id\":2,\"what\":\"b\"}\n" >in &&
	pn-sink-pg -t events -k id -m insert in &&
	printf "{\"id\":3,\"what\":\"c\"}\n{\"id\":1,\"what\":\"again\"}\n{\"id\":4,\"what\":\"d\"}\n" >in2 &&
	test_expect_code 65 pn-sink-pg -t events -k id -m insert in2 2>err &&
	echo "pn-sink-pg: error (at in2:2): duplicate key value violates unique constraint \"events_pkey\"" >expect &&
	test_cmp expect err &&
	sql "SELECT * FROM events ORDER BY id" >actual &&
	printf "1|a\n2|b\n3|c\n4|d\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'insert without a key writes every row' '
	sql "CREATE TABLE log (n int, s text)" &&
	printf "{\"n\":1,\"s\":\"x\"}\n{\"n\":1,\"s\":\"x\"}\n" >in &&
	pn-sink-pg -t log -m insert in &&
	sql "SELECT count(*) FROM log" >actual &&
	echo 2 >expect &&
	test_cmp expect actual
'

test_expect_success 'composite keys, a schema-qualified table and --map' '
	sql "CREATE SCHEMA rep; CREATE TABLE rep.daily (campaign int, day date, hits int, PRIMARY KEY (campaign, day))" &&
	cat >in <<-\EOF &&
	{"source_id":1,"day":"2026-11-01","n":1}
	{"source_id":1,"day":"2026-11-02","n":2}
	{"source_id":2,"day":"2026-11-01","n":3}
	{"source_id":1,"day":"2026-11-01","n":4}
	EOF
	pn-sink-pg -t rep.daily -k source_id,day --map source_id:campaign --map n:hits --stats in 2>err &&
	grep "\"written\":3,\"duplicates\":1," err &&
	sql "SELECT * FROM rep.daily ORDER BY 1, 2" >actual &&
	printf "1|2026-11-01|4\n1|2026-11-02|2\n2|2026-11-01|3\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'values are converted per column type' '
	sql "CREATE TABLE typed (id int PRIMARY KEY, t text, b boolean, num numeric(10,3),
		f double precision, j json, jb jsonb, ts timestamp, tz timestamptz, d date)" &&
	cat >in <<-\EOF &&
	{"id":1,"t":"tab\there\\back\nnew\rcr \u00e9","b":true,"num":1.5,"f":-2e3,"j":{"a":[1,null,"x"]},"jb":{"b":{"c":true}},"ts":"2026-11-01T10:00:00","tz":"2026-11-01T10:00:00.5+02:00","d":"2026-11-01"}
	{"id":2,"t":{"nested":1},"b":false,"num":-0,"f":0.25,"j":[1,2],"jb":"str","ts":"2026-11-01 10:00:00.123456","tz":"2026-11-01 10:00:00.123456","d":null}
	{"id":3,"t":null,"b":null,"num":null,"f":null,"j":null,"jb":null,"ts":1767225600000,"tz":1767225600123,"d":"2026-12-31"}
	{"id":4,"t":12,"b":"yes","num":"7","f":1,"j":"\\N","jb":1,"ts":null,"tz":null,"d":null}
	EOF
	pn-sink-pg -t typed -k id in &&
	sql "SELECT t = E'\''tab\there\\\\back\nnew\rcr \u00e9'\'' FROM typed WHERE id = 1" >actual &&
	echo t >expect &&
	test_cmp expect actual &&
	sql "SELECT id, CASE WHEN id = 1 THEN '\''-'\'' ELSE t END, b, num, f, j, jb, ts, tz, d
		FROM typed ORDER BY id" >actual &&
	cat >expect <<-\EOF &&
	1|-|t|1.500|-2000|{"a":[1,null,"x"]}|{"b": {"c": true}}|2026-11-01 10:00:00|2026-11-01 08:00:00.5+00|2026-11-01
	2|{"nested":1}|f|0.000|0.25|[1,2]|"str"|2026-11-01 10:00:00.123456|2026-11-01 10:00:00.123456+00|
	3|||||||2026-01-01 00:00:00|2026-01-01 00:00:00.123+00|2026-12-31
	4|12|t|7.000|1|"\\N"|1|||
	EOF
	test_cmp expect actual
'

test_expect_success 'a type error is isolated: reported with its line, the rest written, 65' '
	cat >in <<-\EOF &&
	{"id":10,"t":"ok","num":1}
	{"id":11,"t":"bad","num":"abc"}
	{"id":12,"t":"ok","num":2}
	{"id":13,"t":"bad","num":{"x":1}}
	{"id":14,"t":"bad","ts":"yesterday-ish"}
	EOF
	test_expect_code 65 pn-sink-pg -t typed -k id -f id,t,num,ts --stats in 2>err &&
	cat >expect <<-\EOF &&
	pn-sink-pg: error (at in:4): field '\''num'\'' is an object, column '\''num'\'' is numeric(10,3)
	pn-sink-pg: error (at in:2): invalid input syntax for type numeric: "abc"
	{"lines":4,"rows":3,"written":2,"duplicates":0,"absent":0,"failed":1,"rejected":0,"batches":1,
	EOF
	sed "s/\"retries\".*//" err >actual &&
	test_cmp expect actual &&
	sql "SELECT id FROM typed WHERE id >= 10 ORDER BY id" >actual &&
	printf "10\n12\n" >expect &&
	test_cmp expect actual
'

# the input stays open until the row is reported: the batch went while it
# was quiet, not at its end
test_expect_success 'a row refused in a batch written while the input is quiet is 65, not 74' '
	{
		echo "{\"id\":20,\"t\":\"bad\",\"num\":\"abc\"}"
		test_wait_until 60 grep -q "invalid input syntax" quiet.err
		echo $? >reported
	} | test_expect_code 65 pn-sink-pg -t typed -k id -f id,t,num --batch-ms 200ms 2>quiet.err &&
	test "$(cat reported)" = 0 &&
	grep "error (at <stdin>:1): invalid input syntax for type numeric: \"abc\"" quiet.err &&
	! grep "cannot read" quiet.err
'

test_expect_success 'rows refused in batches merged while the next is read: their own lines' '
	sql "CREATE TABLE checked2 (id int PRIMARY KEY, n int CHECK (n >= 0))" &&
	awk "BEGIN { for (i = 1; i <= 300; i++) printf \"{\\\"id\\\":%d,\\\"n\\\":%d}\\n\", i, i == 50 || i == 250 ? -1 : i }" >in &&
	pn-sink-pg -t checked2 -k id --batch-rows 100 --reject rej --stats in 2>err &&
	grep "^pn-sink-pg: error (at in:50): new row for relation \"checked2\" violates check constraint" err &&
	grep "^pn-sink-pg: error (at in:250): new row for relation \"checked2\" violates check constraint" err &&
	printf "{\"id\":50,\"n\":-1}\n{\"id\":250,\"n\":-1}\n" >expect &&
	test_cmp expect rej &&
	grep "\"written\":298,.*\"failed\":2,\"rejected\":2,\"batches\":3," err &&
	sql "SELECT count(*), sum(n) FROM checked2" >actual &&
	echo "298|$((300 * 301 / 2 - 50 - 250))" >expect &&
	test_cmp expect actual &&
	sql "TRUNCATE checked2" &&
	test_expect_code 65 pn-sink-pg -t checked2 -k id --batch-rows 100 in 2>err &&
	grep "^pn-sink-pg: error (at in:50): " err &&
	! grep "at in:250" err &&
	sql "SELECT count(*), max(id) FROM checked2" >actual &&
	echo "199|200" >expect &&
	test_cmp expect actual
'

test_expect_success '--reject sets refused rows and bad lines aside and goes on' '
	cat >in <<-\EOF &&
	{"id":20,"t":"ok","num":1}
	{"id":21,"t":"bad","num":"abc"}
	not json
	{"id":22,"t":"ok","num":2}
	{"id":23,"t":"bad","ts":"yesterday-ish"}
	{"t":"no key"}
	{"id":null,"t":"null key"}
	[1]
	{"id":24,"t":"ok","extra":1}
	EOF
	pn-sink-pg -t typed -k id -f id,t,num,ts --reject rejects --stats in 2>err &&
	cat >expect <<-\EOF &&
	not json
	{"t":"no key"}
	{"id":null,"t":"null key"}
	[1]
	{"id":21,"t":"bad","num":"abc"}
	{"id":23,"t":"bad","ts":"yesterday-ish"}
	EOF
	test_cmp expect rejects &&
	grep "^pn-sink-pg: error (at in:3): invalid literal (byte 1)$" err &&
	grep "^pn-sink-pg: error (at in:6): key field .id. is missing$" err &&
	grep "^pn-sink-pg: error (at in:7): key field .id. is null$" err &&
	grep "^pn-sink-pg: error (at in:8): not a JSON object$" err &&
	grep "^pn-sink-pg: error (at in:5): invalid input syntax for type timestamp: \"yesterday-ish\"$" err &&
	grep "\"rows\":5,\"written\":3,\"duplicates\":0,\"absent\":0,\"failed\":2,\"rejected\":6," err &&
	sql "SELECT id FROM typed WHERE id >= 20 ORDER BY id" >actual &&
	printf "20\n22\n24\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'a bad line stops the input; the rows before it are written' '
	printf "{\"id\":30}\n{\"id\":31,\n{\"id\":32}\n" >in &&
	test_expect_code 65 pn-sink-pg -t typed -k id in 2>err &&
	echo "pn-sink-pg: error (at in:2): truncated JSON (byte 10)" >expect &&
	test_cmp expect err &&
	sql "SELECT id FROM typed WHERE id >= 30 ORDER BY id" >actual &&
	echo 30 >expect &&
	test_cmp expect actual
'

test_expect_success 'without --fields, the first record sets the columns' '
	printf "{\"id\":40,\"t\":\"a\",\"_offset\":5}\n{\"id\":41,\"t\":\"b\",\"num\":3}\n" >in &&
	test_expect_code 65 pn-sink-pg -t typed -k id in 2>err &&
	echo "pn-sink-pg: error (at in:2): field '\''num'\'' is not among the columns the first record set (see --fields)" >expect &&
	test_cmp expect err
'

test_expect_success 'SQL injection in table and column names and in values is inert' '
	sql "CREATE TABLE \"we\"\"ird; DROP TABLE campaign; --\" (\"i\"\"d\" int PRIMARY KEY, \"v); DROP TABLE campaign; --\" text)" &&
	cat >in <<-\EOF &&
	{"k":1,"v":"x'\''); DROP TABLE campaign; --"}
	{"k":2,"v":"\\\\.\n\\N"}
	EOF
	pn-sink-pg -t "we\"ird; DROP TABLE campaign; --" -k k --map "k:i\"d" \
		--map "v:v); DROP TABLE campaign; --" in &&
	sql "SELECT * FROM \"we\"\"ird; DROP TABLE campaign; --\" ORDER BY 1" >actual &&
	printf "1|x'\''); DROP TABLE campaign; --\n2|\\\\\\\\.\n\\\\N\n" >expect &&
	test_cmp expect actual &&
	sql "SELECT count(*) FROM campaign" >actual &&
	echo 4 >expect &&
	test_cmp expect actual &&
	test_expect_code 78 pn-sink-pg -t "campaign; DROP TABLE campaign" -k id in 2>err &&
	test_expect_code 78 pn-sink-pg -t campaign -k "id; DROP TABLE campaign" in 2>err &&
	sql "SELECT count(*) FROM campaign" >actual &&
	test_cmp expect actual
'

test_expect_success '--delete-on-tombstone: a record with only null values deletes its row' '
	sql "CREATE TABLE tomb (id int, day int, n int, s text, PRIMARY KEY (id, day))" &&
	cat >in <<-\EOF &&
	{"id":1,"day":1,"n":1,"s":"a"}
	{"id":2,"day":1,"n":2,"s":"b"}
	{"id":3,"day":1,"n":3,"s":"c"}
	EOF
	pn-sink-pg -t tomb -k id,day in &&
	cat >in <<-\EOF &&
	{"id":1,"day":1,"n":null,"s":null}
	{"id":2,"day":1,"n":null,"s":null}
	{"id":2,"day":1,"n":5,"s":null}
	{"id":3,"day":1}
	{"id":4,"day":1,"n":null,"s":null}
	EOF
	pn-sink-pg -t tomb -k id,day --delete-on-tombstone --stats in 2>err &&
	grep "\"deleted\":3," err &&
	sql "SELECT * FROM tomb ORDER BY id" >actual &&
	printf "2|1|5|\n" >expect &&
	test_cmp expect actual &&
	echo "{\"id\":2,\"day\":1,\"n\":null,\"s\":null}" >in &&
	pn-sink-pg -t tomb -k id,day -m update --delete-on-tombstone --stats in 2>err &&
	grep "\"absent\":0,.*\"deleted\":1," err &&
	sql "SELECT count(*) FROM tomb" >actual &&
	echo 0 >expect &&
	test_cmp expect actual
'

test_expect_success '--create makes a missing table from the first record' '
	cat >in <<-\EOF &&
	{"source_id":1,"day":"mon","n":1.5,"m":2,"b":true,"o":{"a":1},"z":null,"_offset":3}
	{"source_id":1,"day":"mon","n":2,"m":3,"b":false,"o":[],"z":"x"}
	EOF
	pn-sink-pg -t rep.created -k source_id,day --map source_id:campaign --create in &&
	sql "SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = '\''rep'\'' AND table_name = '\''created'\'' ORDER BY ordinal_position" >actual &&
	cat >expect <<-\EOF &&
	campaign|bigint
	day|text
	n|numeric
	m|bigint
	b|boolean
	o|jsonb
	z|text
	EOF
	test_cmp expect actual &&
	sql "SELECT * FROM rep.created" >actual &&
	echo "1|mon|2|3|f|[]|x" >expect &&
	test_cmp expect actual &&
	pn-sink-pg -t rep.created -k source_id,day --map source_id:campaign --create in &&
	test_expect_code 78 pn-sink-pg -t nosuchschema.x -k id --create in 2>err &&
	grep "cannot create table .nosuchschema.x.: schema \"nosuchschema\" does not exist" err
'

test_expect_success 'a constraint refuses one row; an error not about the data stops with 1' '
	sql "CREATE TABLE checked (id int PRIMARY KEY, n int CHECK (n >= 0))" &&
	printf "{\"id\":1,\"n\":1}\n{\"id\":2,\"n\":-1}\n{\"id\":3,\"n\":3}\n" >in &&
	pn-sink-pg -t checked -k id --reject checked.rej in 2>err &&
	grep "^pn-sink-pg: error (at in:2): new row for relation \"checked\" violates check constraint \"checked_n_check\"$" err &&
	echo "{\"id\":2,\"n\":-1}" >expect &&
	test_cmp expect checked.rej &&
	sql "SELECT id FROM checked ORDER BY id" >actual &&
	printf "1\n3\n" >expect &&
	test_cmp expect actual &&
	sql "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION '\''boom'\''; END \$\$" &&
	sql "CREATE TRIGGER boom BEFORE INSERT OR UPDATE ON checked FOR EACH ROW EXECUTE FUNCTION boom()" &&
	test_expect_code 1 pn-sink-pg -t checked -k id --reject checked2.rej in 2>err &&
	echo "pn-sink-pg: cannot write to '\''checked'\'': boom" >expect &&
	test_cmp expect err &&
	test_must_be_empty checked2.rej
'

test_expect_success '--batch-ms writes a batch while the input is quiet' '
	sql "CREATE TABLE quiet (id int PRIMARY KEY, n int)" &&
	mkfifo feed || return 1
	pn-sink-pg -t quiet -k id --batch-ms 200ms <feed 2>err &
	sink=$!
	exec 8>feed &&
	echo "{\"id\":1,\"n\":1}" >&8 &&
	test_wait_until 30 sql_is "SELECT count(*) FROM quiet" 1 &&
	exec 8>&- &&
	wait $sink
'

test_expect_success 'a full batch takes the records whose key it holds; a new key starts the next' '
	sql "CREATE TABLE full1 (id int PRIMARY KEY, n int)" &&
	for k in 1 2 1 2 1 3 1; do echo "{\"id\":$k,\"n\":$((n += 1))}"; done >in &&
	pn-sink-pg -t full1 -k id --batch-rows 2 --stats in 2>err &&
	grep "\"lines\":7,\"rows\":7,\"written\":4,\"duplicates\":3,.*\"batches\":2," err &&
	sql "SELECT * FROM full1 ORDER BY id" >actual &&
	printf "1|7\n2|4\n3|6\n" >expect &&
	test_cmp expect actual
'

# A pipe that always has data ready never times out: the batch must still
# go once its first record has waited --batch-ms, full or not.
test_expect_success 'input that never pauses: a batch is written every --batch-ms' '
	sql "CREATE TABLE busy (id int PRIMARY KEY, n int)" &&
	awk "BEGIN { for (i = 1; i <= 1000000; i++) printf \"{\\\"id\\\":%d,\\\"n\\\":%d}\\n\", i % 2, i }" >busy.in &&
	cat busy.in | pn-sink-pg -t busy -k id --batch-rows 2 --batch-ms 20ms --stats 2>err &&
	batches=$(sed -n "s/.*\"batches\":\([0-9]*\),.*/\1/p" err) &&
	test "$batches" -ge 3 &&
	sql "SELECT * FROM busy ORDER BY id" >actual &&
	printf "0|1000000\n1|999999\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'control records are not written, and --stats counts them' '
	sql "CREATE TABLE ctl (id int PRIMARY KEY, n int)" &&
	sql "CREATE TABLE noctl (id int PRIMARY KEY, n int)" &&
	for k in 1 2 3 1; do echo "{\"id\":$k,\"n\":$((n += 1))}"; done >noctl.in &&
	control="{\"_control\":\"assigned\",\"_topic\":\"pings\",\"_partition\":3}" &&
	{ echo "$control" && head -n 2 noctl.in && echo "$control" &&
	  tail -n 2 noctl.in; } >ctl.in &&
	pn-sink-pg -t ctl -k id --stats ctl.in 2>err &&
	grep "^{\"lines\":6,\"rows\":4,\"written\":3,.*\"controls\":2," err &&
	pn-sink-pg -t noctl -k id noctl.in &&
	sql "SELECT * FROM noctl ORDER BY id" >expect &&
	sql "SELECT * FROM ctl ORDER BY id" >actual &&
	test_cmp expect actual
'

test_expect_success '--ack-to: a revocation passed on is written, then acknowledged' '
	sql "CREATE TABLE acked (id int PRIMARY KEY, n int)" &&
	{
		echo "{\"id\":1,\"n\":1}" &&
		echo "{\"_control\":\"revoked\",\"_topic\":\"pings\",\"_partition\":2}" &&
		echo "{\"id\":2,\"n\":2}" &&
		echo "{\"_control\":\"revoked\",\"_topic\":\"pings\",\"_partition\":2,\"_offset\":41}"
	} >ack.in &&
	pn-sink-pg -t acked -k id --batch-ms 1h --ack-to acks/ --stats ack.in 2>err &&
	echo 41 >want &&
	test_cmp want acks/pings/2.sunk &&
	grep "\"controls\":2,\"acked\":1," err &&
	test "$(sql "SELECT count(*) FROM acked")" = 2 &&
	echo "{\"_control\":\"revoked\",\"_topic\":\"pings\",\"_offset\":9}" >noack.in &&
	test_expect_code 65 pn-sink-pg -t acked -k id --ack-to acks/ noack.in 2>err &&
	grep "noack.in:1.*a control record needs _topic and _partition" err
'

test_expect_success '--ack-to: a save is acknowledged once its rows are written, not sooner' '
	sql "CREATE TABLE saves (id int PRIMARY KEY, n int)" &&
	mkfifo feed3 || return 1
	pn-sink-pg -t saves -k id --batch-ms 1h --ack-to acks/ --stats <feed3 2>saves.err &
	sink=$!
	test_cleanup_kill $sink &&
	exec 9>feed3 &&
	echo "{\"id\":1,\"n\":1}" >&9 &&
	echo "{\"_control\":\"saved\",\"_topic\":\"pings\",\"_partition\":3,\"_offset\":7}" >&9 &&
	test_wait_until 30 test_input_taken $sink &&
	! test -e acks/pings/3.sunk &&
	test "$(sql "SELECT count(*) FROM saves")" = 0 &&
	exec 9>&- &&
	wait $sink &&
	echo 7 >want &&
	test_cmp want acks/pings/3.sunk &&
	test "$(sql "SELECT count(*) FROM saves")" = 1 &&
	grep "\"acked\":0,\"saves_acked\":1,\"acks_fenced\":0," saves.err
'

test_expect_success '--ack-to: the word of an owner that lost its partition is not written' '
	mkdir -p acks/pings &&
	printf "2 elsewhere 1\n" >acks/pings/4.owner &&
	{
		echo "{\"id\":3,\"n\":3}" &&
		echo "{\"_control\":\"saved\",\"_topic\":\"pings\",\"_partition\":4,\"_offset\":9,\"_epoch\":1}" &&
		echo "{\"_control\":\"revoked\",\"_topic\":\"pings\",\"_partition\":4,\"_offset\":9,\"_epoch\":1}"
	} >stale.in &&
	pn-sink-pg -t saves -k id --ack-to acks/ --stats stale.in 2>err &&
	! test -e acks/pings/4.sunk &&
	grep "partition pings/4 has a newer owner than the one whose rows were written" err &&
	grep "\"acked\":0,\"saves_acked\":0,\"acks_fenced\":2," err &&
	sed "s/_epoch.:1/_epoch\":2/" stale.in >owner.in &&
	pn-sink-pg -t saves -k id --ack-to acks/ --stats owner.in 2>err &&
	echo 9 >want &&
	test_cmp want acks/pings/4.sunk &&
	grep "\"acked\":1,\"saves_acked\":1,\"acks_fenced\":0," err &&
	echo "{\"_control\":\"saved\",\"_topic\":\"pings\",\"_partition\":4,\"_offset\":9,\"_epoch\":-1}" >badepoch.in &&
	test_expect_code 65 pn-sink-pg -t saves -k id --ack-to acks/ badepoch.in 2>err &&
	grep "badepoch.in:1.*field ._epoch. must be an owner epoch" err
'

# the rows of ids $@ are all in saves (a condition)
saves_hold () {
	test "$(sql "SELECT count(*) FROM saves WHERE id IN ($(echo "$@" | tr " " ,))")" = $#
}

test_expect_success '--ack-to: an owner file locked (pn-aggregate writing) is not waited on' '
	mkdir -p acks/pings &&
	printf "3 here 1\n" >acks/pings/5.owner &&
	{ flock acks/pings/5.owner sh -c "touch held; while [ ! -e release ]; do sleep 0.05; done" & } &&
	holder=$! &&
	test_cleanup_kill $holder &&
	test_wait_until 30 test -e held &&
	mkfifo feed5 || return 1
	pn-sink-pg -t saves -k id --batch-ms 50ms --ack-to acks/ --stats <feed5 2>err &
	sink=$!
	test_cleanup_kill $sink &&
	exec 9>feed5 &&
	echo "{\"id\":21,\"n\":21}" >&9 &&
	echo "{\"_control\":\"saved\",\"_topic\":\"pings\",\"_partition\":5,\"_offset\":4,\"_epoch\":3}" >&9 &&
	test_wait_until 30 saves_hold 21 &&
	# the save waits for the lock; the rows that follow do not
	echo "{\"id\":22,\"n\":22}" >&9 &&
	test_wait_until 30 saves_hold 21 22 &&
	! test -e acks/pings/5.sunk &&
	echo "{\"_control\":\"revoked\",\"_topic\":\"pings\",\"_partition\":5,\"_offset\":6,\"_epoch\":3}" >&9 &&
	exec 9>&- &&
	test_running $sink &&
	! test -e acks/pings/5.sunk &&
	touch release &&
	wait $sink &&
	wait $holder &&
	echo 6 >want &&
	test_cmp want acks/pings/5.sunk &&
	grep "\"acked\":1,\"saves_acked\":1,\"acks_fenced\":0," err
'

test_expect_success '--ack-to: a store that takes no acknowledgement ends the run (74)' '
	mkdir -p badacks && echo x >badacks/pings &&
	{
		echo "{\"id\":11,\"n\":11}" &&
		echo "{\"_control\":\"saved\",\"_topic\":\"pings\",\"_partition\":3,\"_offset\":7}" &&
		echo "{\"id\":12,\"n\":12}"
	} >badack.in &&
	test_expect_code 74 pn-sink-pg -t saves -k id --ack-to badacks/ badack.in 2>err &&
	grep "cannot write .badacks/pings/3.sunk.: Not a directory" err &&
	test "$(sql "SELECT count(*) FROM saves WHERE id IN (11, 12)")" = 2
'

test_expect_success 'SIGTERM: the batch in hand is written, exit 0' '
	sql "CREATE TABLE term (id int PRIMARY KEY, n int)" &&
	mkfifo feed2 || return 1
	pn-sink-pg -t term -k id --batch-rows 1000000 --batch-ms 1h --stats <feed2 2>term.err &
	sink=$!
	exec 8>feed2 &&
	for i in $(seq 1 500); do echo "{\"id\":$i,\"n\":$i}"; done >&8 &&
	test_wait_until 30 test_input_taken $sink &&
	test "$(sql "SELECT count(*) FROM term")" = 0 &&
	kill -TERM $sink &&
	wait $sink &&
	exec 8>&- &&
	grep "\"rows\":500,\"written\":500," term.err &&
	test "$(sql "SELECT count(*) FROM term")" = 500
'

test_done
