#!/bin/bash
# t3400-aggregate-pieces: the state kept per input partition in a directory
# (--state DIR/): the same results as one checkpoint, a piece per
# partition, restarts that skip what was applied, control records that
# load and let go of partitions, and fencing of an owner that lost its
# partition (a "zombie").
. "$(dirname "$0")/lib.sh"

oracle () { "$PYTHON" "$PN_SRC/tests/oracle-aggregate.py" "$@"; }
final_table () { "$PYTHON" "$PN_SRC/tests/final-table.py" "$@"; }
REPORT="--where source=campaign --group-by source_id:id --count delivered_time:impressions --count clicked_time:clicks"

# Pings with the coordinates pn-consume --meta gives them on a topic of 4
# partitions keyed by campaign: partition source_id % 4, offsets counted
# per partition.
with_coordinates () {
	"$PYTHON" -c '
import json, sys
next_offset = [0, 0, 0, 0]
for line in sys.stdin:
    r = json.loads(line)
    p = int(r.get("source_id") or 0) % 4
    out = {"_topic": "pings", "_partition": p, "_offset": next_offset[p]}
    next_offset[p] += 1
    out.update(r)
    print(json.dumps(out, separators=(",", ":")))
'
}

# control KIND PARTITION: a control record of pn-consume's
control () {
	printf '{"_control":"%s","_topic":"pings","_partition":%d}\n' "$1" "$2"
}

# saved_offset DIR N: the piece of partition 0 has saved offset N
saved_offset () {
	pn-aggregate --state "$1" --print-offsets | grep -q "\"0\":$2}"
}

test_expect_success 'setup: 20000 pings on 4 partitions keyed by campaign' '
	gen-pings 20000 5 | with_coordinates >pings &&
	oracle pings $REPORT >expect
'

test_expect_success 'a state directory gives what one checkpoint gives, a piece per partition' '
	pn-aggregate $REPORT --state one.state pings >out-file &&
	pn-aggregate $REPORT --state st/ --stats pings >out-dir 2>stats &&
	final_table id out-dir >actual &&
	test_cmp expect actual &&
	final_table id out-file >actual-file &&
	test_cmp expect actual-file &&
	(cd st && ls pings) >pieces &&
	for p in 0 1 2 3; do printf "%s\n" $p.ckpt $p.next $p.owner; done >want &&
	test_cmp want pieces &&
	test_jq ".split_keys == 0 and .loaded == 0" stats &&
	pn-aggregate --state st/ --print-offsets >offsets &&
	pn-aggregate --state one.state --print-offsets >offsets-file &&
	test_cmp offsets-file offsets
'

test_expect_success 'a restart skips what the pieces applied and emits their groups again' '
	pn-aggregate $REPORT --state st/ --stats pings >again 2>stats &&
	test_jq ".skipped == 20000 and .applied == 0 and .loaded == 4" stats &&
	final_table id again >actual &&
	test_cmp expect actual
'

test_expect_success 'a pipeline killed halfway and run again over everything: exact' '
	head -n 9000 pings | pn-aggregate $REPORT --state half/ >out1 &&
	pn-aggregate $REPORT --state half/ pings >out2 &&
	cat out1 out2 >out &&
	final_table id out >actual &&
	test_cmp expect actual
'

test_expect_success '"revoked" saves the partition and lets it go; "assigned" takes it again' '
	grep "\"_partition\":1," pings >p1 &&
	{
		control assigned 1 &&
		head -n 100 p1 &&
		control revoked 1 &&
		sed -n "101,105p" p1 &&
		control assigned 1 &&
		sed -n "101,200p" p1
	} >moves &&
	pn-aggregate $REPORT --state mv/ --stats moves >out 2>err &&
	# the revocation goes on after the partition rows, with the saved offset
	grep "^{\"_control\":\"revoked\"" out >passed &&
	echo "{\"_control\":\"revoked\",\"_topic\":\"pings\",\"_partition\":1,\"_offset\":100,\"_epoch\":1}" >want-passed &&
	test_cmp want-passed passed &&
	grep "which this process let go, are left to its new owner" err &&
	grep "^{" err | test_jq ".controls == 3 and .dropped == 1 and .loaded == 1 and .not_owned == 5" &&
	echo "{\"pings\":{\"1\":200}}" >want &&
	pn-aggregate --state mv/ --print-offsets >offsets &&
	test_cmp want offsets
'

test_expect_success 'each save of a piece is told after its rows ("saved")' '
	pn-aggregate $REPORT --state sv/ pings >out &&
	grep "^{\"_control\":\"saved\"" out | jq -c "[._partition, ._offset]" | sort >saves &&
	pn-aggregate --state sv/ --print-offsets |
		jq -c ".pings | to_entries[] | [(.key | tonumber), .value]" | sort >all-saved &&
	test_cmp all-saved saves &&
	tail -n 1 out | grep "^{\"_control\":\"saved\""
'

test_expect_success '--emit final: a save while it holds the rows back is not told' '
	{ control assigned 1 && head -n 100 p1 && control revoked 1; } >held &&
	pn-aggregate $REPORT --state sv2/ --emit final held >final &&
	echo "{\"pings\":{\"1\":100}}" >want-saved &&
	pn-aggregate --state sv2/ --print-offsets >saved &&
	test_cmp want-saved saved &&
	echo "{\"_control\":\"revoked\",\"_topic\":\"pings\",\"_partition\":1,\"_offset\":100,\"_epoch\":1}" >want-out &&
	test_cmp want-out final
'

# ids ROWS: the group ids of pn-aggregate rows, each once
ids () { grep -v "^{\"_control\"" "$1" | jq -r .id | sort -u; }

test_expect_success '"assigned" emits nothing again of a piece the sink has whole' '
	grep "\"_partition\":1," pings >p1 &&
	{ control assigned 1 && head -n 100 p1 && control revoked 1; } >first &&
	pn-aggregate $REPORT --state ack/ first >out1 &&
	# what pn-sink-pg --ack-to writes once the revocation passed it
	echo 100 >ack/pings/1.sunk &&
	{ control assigned 1 && sed -n "101,110p" p1; } >second &&
	pn-aggregate $REPORT --state ack/ --stats second >out2 2>err &&
	grep "^{" err | test_jq ".loaded == 1 and .loaded_sunk == 1" &&
	ids out2 >emitted &&
	sed -n "101,110p" p1 | jq -r .source_id | sort -u >changed &&
	comm -23 emitted changed >not-changed &&
	test_must_be_empty not-changed &&
	test -s emitted &&
	# the piece now ends at 110, the sink said 100: the groups changed
	# from offset 100 on are emitted again, those before are in the table
	control assigned 1 >third &&
	pn-aggregate $REPORT --state ack/ --stats third >out3 2>err &&
	grep "^{" err | test_jq ".loaded == 1 and .loaded_sunk == 0 and .reemitted > 0" &&
	ids out3 >since &&
	test_cmp emitted since &&
	# the sink said nothing: every group again
	rm ack/pings/1.sunk &&
	pn-aggregate $REPORT --state ack/ --stats third >out4 2>err &&
	cat out1 out2 >both &&
	ids both >want &&
	ids out4 >all &&
	test_cmp want all &&
	n=$(wc -l <want) &&
	grep "^{" err | test_jq ".reemitted == $n"
'

test_expect_success 'a damaged .sunk or .next is no offset: every group again, a warning' '
	echo "1x0" >ack/pings/1.sunk &&
	pn-aggregate $REPORT --state ack/ --stats third >out4 2>err &&
	grep "ack/pings/1.sunk. holds no offset: ignored" err &&
	grep "^{" err | test_jq ".loaded_sunk == 0" &&
	ids out4 >again &&
	test_cmp want again &&
	# past the piece (a state put back from a backup): no word on it
	echo 999 >ack/pings/1.sunk &&
	pn-aggregate $REPORT --state ack/ --stats third >out5 2>err &&
	grep "^{" err | test_jq ".loaded_sunk == 0" &&
	ids out5 >again &&
	test_cmp want again &&
	echo "oops" >ack/pings/1.next &&
	pn-aggregate --state ack/ --print-offsets >offsets 2>err &&
	grep "ack/pings/1.next. holds no offset: ignored" err &&
	! grep "\"1\"" offsets
'

test_expect_success 'an owner whose partition was claimed by another is fenced (a zombie)' '
	grep "\"_partition\":0," pings | head -n 40 >p0 &&
	mkfifo feed || return 1
	pn-aggregate $REPORT --state z/ --emit-interval 50ms --stats <feed >a.out 2>a.err &
	zombie=$! &&
	test_cleanup_kill $zombie &&
	exec 7>feed &&
	{ control assigned 0 && head -n 10 p0; } >&7 &&
	test_wait_until 30 saved_offset z/ 10 &&
	wc -l <a.out >rows-before &&
	# another member takes partition 0: it loads what the first one saved
	{ control assigned 0 && sed -n "11,15p" p0; } |
		pn-aggregate $REPORT --state z/ >b.out &&
	echo "{\"pings\":{\"0\":15}}" >want &&
	pn-aggregate --state z/ --print-offsets >offsets &&
	test_cmp want offsets &&
	# the first wakes up with more records of it: nothing is written
	sed -n "11,20p" p0 >&7 &&
	test_wait_until 30 grep -q "taken over by another owner" a.err &&
	exec 7>&- &&
	wait $zombie &&
	wc -l <a.out >rows-after &&
	test_cmp rows-before rows-after &&
	grep "^{" a.err | test_jq ".fenced == 1" &&
	pn-aggregate --state z/ --print-offsets >offsets &&
	test_cmp want offsets
'

test_expect_success 'a record without coordinates is bad input with a state directory (65)' '
	echo "{\"source\":\"campaign\",\"source_id\":1}" >nocoord &&
	test_expect_code 65 pn-aggregate $REPORT --state nc/ nocoord 2>err &&
	grep "nocoord:1" err && grep "needs them (pn-consume --meta writes them)" err &&
	pn-aggregate $REPORT --state nc/ --reject rej nocoord >out &&
	test_cmp nocoord rej
'

test_expect_success 'a control record without its partition is bad input (65)' '
	echo "{\"_control\":\"assigned\",\"_topic\":\"pings\"}" >nopart &&
	test_expect_code 65 pn-aggregate $REPORT --state np/ nopart 2>err &&
	grep "nopart:1.*a control record needs _topic and _partition" err
'

test_expect_success 'a topic that cannot name a directory is refused, nothing written outside' '
	echo "{\"_topic\":\"..\",\"_partition\":0,\"_offset\":0,\"source_id\":1}" >dots &&
	test_expect_code 65 pn-aggregate $REPORT --state esc/ dots 2>err &&
	grep "cannot name a piece of state" err &&
	! test -e 0.owner && ! test -e esc/0.owner
'

test_expect_success 'with a checkpoint file, control records change nothing' '
	{ control assigned 2 && head -n 500 pings && control revoked 2 && sed -n "501,1000p" pings; } >with &&
	head -n 1000 pings | pn-aggregate $REPORT >plain &&
	pn-aggregate $REPORT --stats with >ctl 2>stats &&
	test_cmp plain ctl &&
	test_jq ".controls == 2" stats
'

test_expect_success 'a campaign in two partitions is reported' '
	{ head -n 1 pings && head -n 1 pings | sed "s/\"_partition\":[0-9]*/\"_partition\":9/"; } >split &&
	pn-aggregate -g source_id --count "*" --state sp/ --stats split >out 2>err &&
	grep "is not keyed by the --group-by fields" err &&
	grep "^{\"records" err | test_jq ".split_keys == 1"
'

test_done
