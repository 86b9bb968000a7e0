#!/bin/bash
# t3000-aggregate: the query language, results against an independent
# computation, emission, bad input, checkpoints.
. "$(dirname "$0")/lib.sh"

oracle () { "$PYTHON" "$PN_SRC/tests/oracle-aggregate.py" "$@"; }
final_table () { "$PYTHON" "$PN_SRC/tests/final-table.py" "$@"; }
REPORT="--where source=campaign --group-by source_id:id --count delivered_time:impressions --count clicked_time:clicks"

test_expect_success 'usage errors are 64' '
	test_expect_code 64 pn-aggregate --count x 2>err &&
	grep "no --group-by given" err &&
	test_expect_code 64 pn-aggregate -g k 2>err &&
	grep "no aggregate given" err &&
	test_expect_code 64 pn-aggregate -g k --count x -w "nonsense" 2>err &&
	grep "bad --where .nonsense." err &&
	test_expect_code 64 pn-aggregate -g k --sum "*" 2>err &&
	test_expect_code 64 pn-aggregate -g k --count x --emit sometimes 2>err &&
	pn-aggregate -h >help && grep "^usage: pn-aggregate" help &&
	pn-aggregate --version >version && grep "^pn-aggregate (pn)" version &&
	! grep "^libpq" version &&
	readelf -d "$(command -v pn-aggregate)" | grep NEEDED >needed &&
	! grep "libpq\|libavro" needed
'

test_expect_success 'the campaign report equals an independent count' '
	gen-pings 20000 11 >pings &&
	pn-aggregate $REPORT pings >out &&
	final_table id out >actual &&
	oracle pings $REPORT >expect &&
	test_cmp expect actual
'

for seed in 1 2 3; do
	test_expect_success "every aggregate on awkward records (seed $seed)" "
		\"\$PYTHON\" \"\$PN_SRC/tests/gen-random-records.py\" 5000 $seed >rnd &&
		pn-aggregate -w src=campaign -g k --key-type as-is --count \"*:n\" --count v \
			--sum v --min f --max f --count-distinct t --latest t rnd >out 2>err &&
		final_table k out >actual &&
		oracle rnd --where src=campaign --group-by k --count \"*:n\" --count v --sum v \
			--min f --max f --count-distinct t --latest t >expect &&
		test_cmp expect actual
	"
done

test_expect_success 'rows are natural JSON, group fields first' '
	cat >in <<-\EOF &&
	{"id":1,"c":"x","v":2}
	{"id":"1","c":"x","v":3}
	{"id":1,"c":"y","v":1.5}
	{"id":null,"v":1}
	{"c":"x","v":1}
	{"id":"\u00e9","c":"x","v":1}
	{"id":"é","c":"x","v":1}
	EOF
	pn-aggregate -g id --key-type as-is --count "*:n" --sum v --latest c >out 2>err <in &&
	cat >expect <<-\EOF &&
	{"id":1,"n":2,"sum_v":3.5,"latest_c":"y"}
	{"id":"1","n":1,"sum_v":3,"latest_c":"x"}
	{"id":"é","n":2,"sum_v":2,"latest_c":"x"}
	EOF
	test_cmp expect out &&
	grep "2 records had a missing or null --group-by field" err
'

test_expect_success '--sum stays exact in 64 bits, turns double past them' '
	printf "{\"k\":1,\"v\":9007199254740993}\n{\"k\":1,\"v\":1}\n{\"k\":2,\"v\":9223372036854775807}\n{\"k\":2,\"v\":1}\n" >in &&
	pn-aggregate -g k --sum v --emit final in >out &&
	printf "{\"k\":1,\"sum_v\":9007199254740994}\n{\"k\":2,\"sum_v\":9.2233720368547758e+18}\n" >expect &&
	test_cmp expect out
'

test_expect_success '--where: =, !=, IS NULL, IS NOT NULL, IN; 42 is not "42"' '
	cat >in <<-\EOF &&
	{"k":"a","s":42}
	{"k":"b","s":"42"}
	{"k":"c","s":null}
	{"k":"d"}
	{"k":"e","s":"x"}
	EOF
	pn-aggregate -w s=42 -g k --count "*" <in >out && echo "{\"k\":\"a\",\"count\":1}" >expect && test_cmp expect out &&
	pn-aggregate -w "s=\"42\"" -g k --count "*" <in >out && echo "{\"k\":\"b\",\"count\":1}" >expect && test_cmp expect out &&
	pn-aggregate -w "s IS NULL" -g k --count "*" <in >out && printf "{\"k\":\"c\",\"count\":1}\n{\"k\":\"d\",\"count\":1}\n" >expect && test_cmp expect out &&
	pn-aggregate -w "s is not null" -w "s != x" -g k --count "*" <in >out && printf "{\"k\":\"a\",\"count\":1}\n{\"k\":\"b\",\"count\":1}\n" >expect && test_cmp expect out &&
	pn-aggregate -w "s IN (x, 42)" -g k --count "*" <in >out && printf "{\"k\":\"a\",\"count\":1}\n{\"k\":\"e\",\"count\":1}\n" >expect && test_cmp expect out
'

test_expect_success '--where numbers: 1 equals 1.0, 64-bit integers compare exactly' '
	printf "{\"k\":\"a\",\"s\":9007199254740993}\n{\"k\":\"b\",\"s\":9007199254740992}\n{\"k\":\"c\",\"s\":1.0}\n" >in &&
	pn-aggregate -w s=9007199254740993 -g k --count "*" <in >out &&
	echo "{\"k\":\"a\",\"count\":1}" >expect && test_cmp expect out &&
	pn-aggregate -w s=1 -g k --count "*" <in >out &&
	echo "{\"k\":\"c\",\"count\":1}" >expect && test_cmp expect out
'

test_expect_success 'malformed Kafka coordinates are bad input' '
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":\"7\",\"k\":\"a\"}\n" >in &&
	test_expect_code 65 pn-aggregate -g k --count "*" in 2>err &&
	echo "pn-aggregate: error (at in:1): field '"'"'_offset'"'"' must be an offset" >expect &&
	test_cmp expect err
'

test_expect_success '--print-offsets without a checkpoint is 78' '
	test_expect_code 78 pn-aggregate --state no-such-state --print-offsets >out 2>err &&
	grep "no checkpoint .no-such-state." err &&
	test_must_be_empty out
'

test_expect_success 'EMIT CHANGES: changed groups every interval, absolute values' '
	mkfifo feed || return 1
	pn-aggregate -g k --count "*" --emit-interval 200ms <feed >out &
	agg=$!
	exec 8>feed &&
	printf "{\"k\":\"a\"}\n{\"k\":\"b\"}\n{\"k\":\"a\"}\n" >&8 &&
	test_wait_until 30 test_has_lines 2 out &&
	cp out first &&
	printf "{\"k\":\"b\"}\n" >&8 &&
	test_wait_until 30 test_has_lines 3 out &&
	exec 8>&- &&
	wait $agg &&
	printf "{\"k\":\"a\",\"count\":2}\n{\"k\":\"b\",\"count\":1}\n" >expect &&
	test_cmp expect first &&
	printf "{\"k\":\"a\",\"count\":2}\n{\"k\":\"b\",\"count\":1}\n{\"k\":\"b\",\"count\":2}\n" >expect &&
	test_cmp expect out
'

test_expect_success '--emit final: every group once, at the end' '
	printf "{\"k\":\"a\"}\n{\"k\":\"b\"}\n{\"k\":\"a\"}\n" >in &&
	pn-aggregate -g k --count "*" --emit final --emit-interval 1ms in >out &&
	printf "{\"k\":\"a\",\"count\":2}\n{\"k\":\"b\",\"count\":1}\n" >expect &&
	test_cmp expect out
'

test_expect_success 'bad input stops with 65 and its position; what came before is emitted' '
	printf "{\"k\":\"a\",\"v\":1}\n{\"k\":\"a\",\"v\":\"2\"}\n{\"k\":\"a\",\"v\":3}\n" >in &&
	test_expect_code 65 pn-aggregate -g k --sum v in >out 2>err &&
	echo "pn-aggregate: error (at in:2): field '"'"'v'"'"' is a string, --sum needs a number" >expect &&
	test_cmp expect err &&
	echo "{\"k\":\"a\",\"sum_v\":1}" >expect &&
	test_cmp expect out &&
	printf "{\"k\":\"a\"}\n[1]\n" >in2 &&
	test_expect_code 65 pn-aggregate -g k --count "*" in2 2>err &&
	grep "error (at in2:2): not a JSON object" err
'

test_expect_success '--reject sets bad lines aside and goes on' '
	printf "{\"k\":\"a\",\"v\":1}\n{\"k\":\"a\",\"v\":\"2\"}\nnope\n{\"k\":\"a\",\"v\":3}\n" >in &&
	pn-aggregate -g k --sum v --reject rej in >out 2>err &&
	printf "{\"k\":\"a\",\"v\":\"2\"}\nnope\n" >expect &&
	test_cmp expect rej &&
	echo "{\"k\":\"a\",\"sum_v\":4}" >expect &&
	test_cmp expect out
'

# Records as pn-consume --meta writes them, offsets 0..N-1 of one partition.
with_meta () {
	awk "{ sub(/^\\{/, \"{\\\"_topic\\\":\\\"pings\\\",\\\"_partition\\\":0,\\\"_offset\\\":\" NR - 1 \",\") } 1" "$1"
}

test_expect_success '--state: a rerun skips what the checkpoint applied' '
	gen-pings 6000 5 >p && with_meta p >pm &&
	head -n 2500 pm >first &&
	pn-aggregate $REPORT --state st first >out1 &&
	pn-aggregate $REPORT --state st --stats pm >out2 2>stats &&
	grep "\"skipped\":2500," stats &&
	final_table id out1 out2 >actual &&
	final_table id out1 >groups1 &&
	final_table id out2 >groups2 &&
	comm -23 groups1 groups2 >unsent &&
	cut -d, -f1 unsent | sort -u >ids1 &&
	cut -d, -f1 groups2 | sort -u >ids2 &&
	comm -23 ids1 ids2 >not_again &&
	test_must_be_empty not_again &&
	oracle p $REPORT >expect &&
	test_cmp expect actual &&
	pn-aggregate --state st --print-offsets >offsets &&
	echo "{\"pings\":{\"0\":6000}}" >expect &&
	test_cmp expect offsets
'

test_expect_success 'a checkpoint of another query or a corrupt one is refused (78)' '
	test_expect_code 78 pn-aggregate -g source_id --count "*" --state st pm >out 2>err &&
	grep "checkpoint .st. was made by another query" err &&
	cp st bad && printf "X" | dd of=bad bs=1 seek=40 conv=notrunc 2>/dev/null &&
	test_expect_code 78 pn-aggregate $REPORT --state bad pm >out 2>err &&
	grep "checkpoint .bad. is corrupt" err &&
	echo "not a checkpoint" >junk &&
	test_expect_code 78 pn-aggregate $REPORT --state junk pm 2>err &&
	grep "is not a pn-aggregate checkpoint" err
'

test_expect_success 'SIGTERM: emits, checkpoints and exits 0' '
	mkfifo feed2 || return 1
	pn-aggregate -g k --count "*" --state st2 <feed2 >out &
	agg=$!
	exec 7>feed2 &&
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":0,\"k\":\"a\"}\n" >&7 &&
	test_wait_until 30 test_input_taken $agg &&
	kill -TERM $agg &&
	wait $agg &&
	exec 7>&- &&
	echo "{\"k\":\"a\",\"count\":1}" >expect &&
	test_cmp expect out &&
	pn-aggregate --state st2 --print-offsets >offsets &&
	echo "{\"t\":{\"0\":1}}" >expect &&
	test_cmp expect offsets
'

test_expect_success 'a full disk is 74, and the checkpoint is not advanced' '
	test_expect_code 74 pn-aggregate $REPORT --state st3 pm >/dev/full 2>err &&
	! test -e st3
'

test_done
