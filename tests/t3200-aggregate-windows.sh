#!/bin/bash
# t3200-aggregate-windows: event time, tumbling and hopping windows,
# grace and late records, --ttl, and their checkpoints.
. "$(dirname "$0")/lib.sh"

oracle () { "$PYTHON" "$PN_SRC/tests/oracle-aggregate.py" "$@"; }
final_table () { "$PYTHON" "$PN_SRC/tests/final-table.py" "$@"; }
gen_timed () { "$PYTHON" "$PN_SRC/tests/gen-timed-records.py" "$@"; }

# Records as pn-consume --meta writes them, offsets 0..N-1 of one partition.
with_meta () {
	awk "{ sub(/^\\{/, \"{\\\"_topic\\\":\\\"pings\\\",\\\"_partition\\\":0,\\\"_offset\\\":\" NR - 1 \",\") } 1" "$1"
}

test_expect_success 'usage errors of the time options are 64' '
	test_expect_code 64 pn-aggregate -g k --count "*" --window sliding:1h 2>err &&
	grep "bad --window .sliding:1h.: expected tumbling:SIZE or hopping:SIZE,ADVANCE" err &&
	test_expect_code 64 pn-aggregate -g k --count "*" --window tumbling:0 2>err &&
	grep "bad window size" err &&
	test_expect_code 64 pn-aggregate -g k --count "*" --window hopping:1h,2h 2>err &&
	grep "bad advance" err &&
	test_expect_code 64 pn-aggregate -g k --count "*" --window hopping:1d,1s 2>err &&
	grep "more than 1000 windows" err &&
	test_expect_code 64 pn-aggregate -g k --count "*" --grace 1h 2>err &&
	grep -- "--grace needs --window" err &&
	test_expect_code 64 pn-aggregate -g k --count "*" --ttl soon 2>err &&
	grep "bad --ttl .soon." err
'

test_expect_success 'every time format lands in its tumbling window' '
	cat >in <<-\EOF &&
	{"k":"s","t":1793527200}
	{"k":"ms","t":1793527200999}
	{"k":"frac","t":1793527259.5}
	{"k":"iso","t":"2026-11-01T10:59:59.999Z"}
	{"k":"offset","t":"2026-11-01T12:30:00+02:00"}
	{"k":"python","t":"2026-11-01 10:15:00.123456"}
	{"k":"python-offset","t":"2026-11-01 11:15:00.123456+01:00"}
	{"k":"digits","t":"1793527200000"}
	{"k":"next","t":"2026-11-01T11:00:00Z"}
	EOF
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t --emit final \
		<in >out &&
	cat >expect <<-\EOF &&
	{"k":"s","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"ms","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"frac","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"iso","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"offset","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"python","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"python-offset","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"digits","window_start":1793527200000,"window_end":1793530800000,"n":1}
	{"k":"next","window_start":1793530800000,"window_end":1793534400000,"n":1}
	EOF
	test_cmp expect out
'

for w in tumbling:1h hopping:1h,20m hopping:45m,10m; do
	for seed in 1 2; do
		test_expect_success "--window $w equals an independent computation (seed $seed)" "
			gen_timed 4000 $seed >in &&
			pn-aggregate -g k --count '*:n' --sum v --max v --count-distinct v \
				--window $w --time-field t --grace 30m --stats in >out 2>err &&
			final_table k,window_start out >actual &&
			oracle in --group-by k --count '*:n' --sum v --max v --count-distinct v \
				--window $w --time-field t --grace 30m >expect &&
			test_cmp expect actual &&
			grep '\"late\":[1-9]' err &&
			grep 'late records came after their window had closed' err
		"
	done
done

test_expect_success '_timestamp is the default event time' '
	gen_timed 2000 3 >in &&
	pn-aggregate -g k --count "*:n" --window tumbling:30m in >out &&
	final_table k,window_start out >actual &&
	oracle in --group-by k --count "*:n" --window tumbling:30m >expect &&
	test_cmp expect actual
'

test_expect_success 'late records: not applied after end + grace, counted and reported' '
	cat >in <<-\EOF &&
	{"k":"a","t":"2026-11-01T10:10:00Z"}
	{"k":"a","t":"2026-11-01T11:04:00Z"}
	{"k":"a","t":"2026-11-01T10:50:00Z"}
	{"k":"a","t":"2026-11-01T11:06:00Z"}
	{"k":"a","t":"2026-11-01T10:59:00Z"}
	EOF
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t --grace 5m \
		--stats --emit final <in >out 2>err &&
	cat >expect <<-\EOF &&
	{"k":"a","window_start":1793527200000,"window_end":1793530800000,"n":2}
	{"k":"a","window_start":1793530800000,"window_end":1793534400000,"n":2}
	EOF
	test_cmp expect out &&
	grep "\"late\":1," err &&
	grep "1 late records came after their window had closed" err
'

# feed FILE: FILE's lines with a pause every 500, so emissions run mid-stream
feed () {
	awk "{ print; fflush() } NR % 500 == 0 { system(\"sleep 0.05\") }" "$1"
}

test_expect_success '--emit final writes each window once, when it closes' '
	gen_timed 4000 4 >in &&
	mkfifo feed || return 1
	feed in >feed &
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t --grace 10m \
		--emit final --emit-interval 50ms --stats <feed >out 2>err &&
	wait &&
	sed "s/,\"n\":.*//" out | sort | uniq -d >dups &&
	test_must_be_empty dups &&
	sort out >actual &&
	oracle in --group-by k --count "*:n" --window tumbling:1h --time-field t \
		--grace 10m >expect.unsorted &&
	sort expect.unsorted >expect &&
	test_cmp expect actual &&
	grep "\"groups\":[0-9]," err
'

test_expect_success 'closed windows are forgotten: the state stays small' '
	gen_timed 20000 5 >in &&
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t --grace 10m \
		--stats in >out 2>err &&
	grep "\"groups\":[0-9]," err &&
	grep "\"expired\":[1-9][0-9][0-9]" err
'

test_expect_success 'bad event times are bad input (65), or set aside with --reject' '
	cat >in <<-\EOF &&
	{"k":"a","t":"2026-11-01T10:10:00Z"}
	{"k":"a","t":"yesterday"}
	{"k":"a"}
	{"k":"a","t":true}
	{"k":"a","t":"2026-11-01T10:20:00Z"}
	EOF
	test_expect_code 65 pn-aggregate -g k --count "*:n" --window tumbling:1h \
		--time-field t in >out 2>err &&
	grep "error (at in:2): field .t. is not a time (epoch seconds or milliseconds, ISO 8601)" err &&
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t \
		--reject rej in >out 2>err &&
	test_line_count = 3 rej &&
	grep "\"n\":2" out &&
	test_expect_code 65 pn-aggregate -g k --count "*:n" --ttl 1h in >out 2>err &&
	grep "error (at in:1): no event time: field ._timestamp. is missing (set --time-field, or run pn-consume --meta)" err
'

test_expect_success '--ttl: the result does not depend on when emissions ran' '
	gen_timed 6000 6 >in &&
	oracle in --group-by k --count "*:n" --sum v --time-field t --ttl 20m >expect &&
	pn-aggregate -g k --count "*:n" --sum v --time-field t --ttl 20m --emit final \
		--stats in >out1 2>err &&
	final_table k out1 >actual1 &&
	test_cmp expect actual1 &&
	grep "\"expired\":[1-9]" err &&
	mkfifo feed2 || return 1
	feed in >feed2 &
	pn-aggregate -g k --count "*:n" --sum v --time-field t --ttl 20m \
		--emit-interval 10ms <feed2 >out2 &&
	wait &&
	final_table k out2 >actual2 &&
	test_cmp expect actual2
'

test_expect_success '--state with windows: a resumed run equals one run' '
	gen_timed 5000 7 >p && with_meta p >pm &&
	head -n 2000 pm >first &&
	Q="-g k --count *:n --sum v --window hopping:1h,30m --time-field t --grace 20m" &&
	pn-aggregate $Q --state st first >out1 &&
	pn-aggregate $Q --state st --stats pm >out2 2>stats &&
	grep "\"skipped\":2000," stats &&
	final_table k,window_start out1 out2 >actual &&
	oracle p --group-by k --count "*:n" --sum v --window hopping:1h,30m --time-field t \
		--grace 20m >expect &&
	test_cmp expect actual
'

test_expect_success 'the stream time survives a restart: late stays late' '
	cat >a <<-\EOF &&
	{"_topic":"x","_partition":0,"_offset":0,"k":"a","t":"2026-11-01T10:10:00Z"}
	{"_topic":"x","_partition":0,"_offset":1,"k":"a","t":"2026-11-01T12:00:00Z"}
	EOF
	cat >b <<-\EOF &&
	{"_topic":"x","_partition":0,"_offset":2,"k":"a","t":"2026-11-01T10:20:00Z"}
	EOF
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t --grace 5m \
		--state st2 a >out1 &&
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t --grace 5m \
		--state st2 --stats b >out2 2>err &&
	echo "{\"k\":\"a\",\"window_start\":1793534400000,\"window_end\":1793538000000,\"n\":1}" >expect &&
	test_cmp expect out2 &&
	grep "\"late\":1," err
'

test_expect_success 'another window is another query; an old format is refused (78)' '
	test_expect_code 78 pn-aggregate -g k --count "*:n" --window tumbling:2h \
		--time-field t --state st2 b 2>err &&
	grep "made by another query" err &&
	pn-aggregate -g k --count "*:n" --window tumbling:1h --time-field t --grace 1h \
		--state st2 b >out &&
	cp st2 old && printf "\001" | dd of=old bs=1 seek=7 conv=notrunc 2>/dev/null &&
	test_expect_code 78 pn-aggregate -g k --count "*:n" --window tumbling:1h \
		--time-field t --state old b 2>err &&
	grep "checkpoint .old. has format 1, this pn-aggregate reads formats 2 to 4" err
'

test_done
