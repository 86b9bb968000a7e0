#!/bin/bash
# t3410-aggregate-pieces-s3: the state per partition in an S3 bucket
# (--state s3://BUCKET/PREFIX/), shared by group members on any machine:
# the same results, restarts, fencing, and pn-consume committing what the
# bucket's pieces saved.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-s3.sh"

oracle () { "$PYTHON" "$PN_SRC/tests/oracle-aggregate.py" "$@"; }
final_table () { "$PYTHON" "$PN_SRC/tests/final-table.py" "$@"; }
REPORT="--where source=campaign --group-by source_id:id --count delivered_time:impressions --count clicked_time:clicks"
STATE=s3://state/report/

test_expect_success 'setup: S3, and 20000 pings on 4 partitions keyed by campaign' '
	start_s3 state &&
	start_broker pings:4 &&
	gen-pings 20000 9 >gen &&
	pn-produce -b "$BROKERS" -t pings --key source_id gen &&
	pn-consume -b "$BROKERS" -t pings -e --meta >pings &&
	oracle pings $REPORT >expect
'

test_expect_success 'pieces in S3: the same table, offsets from the bucket' '
	pn-aggregate $REPORT --state $STATE pings >out &&
	final_table id out >actual &&
	test_cmp expect actual &&
	pn-aggregate --state $STATE --print-offsets >offsets &&
	pn-aggregate $REPORT --state local.state pings >/dev/null &&
	pn-aggregate --state local.state --print-offsets >want &&
	test_cmp want offsets
'

test_expect_success 'a restart on another machine resumes from the bucket' '
	mkdir elsewhere && cd elsewhere &&
	pn-aggregate $REPORT --state $STATE --stats ../pings >again 2>stats &&
	test_jq ".skipped == 20000 and .applied == 0 and .loaded == 4" stats &&
	final_table id again >actual &&
	test_cmp ../expect actual
'

# saved STATE: partition 0 has a piece in STATE (not only "{}")
saved () { pn-aggregate --state "$1" --print-offsets | grep -q "\"0\":"; }

# owner_at NAME: a pn-aggregate that owns partition 0 with its state in
# s3://state/NAME/, fed through descriptor 8, its stderr in NAME.err and
# its pid in OWNER; back once it has saved its first piece
owner_at () {
	mkfifo "$1.feed" || return 1
	pn-aggregate $REPORT --state "s3://state/$1/" --emit-interval 50ms --stats \
		<"$1.feed" >"$1.out" 2>"$1.err" &
	OWNER=$!
	test_cleanup_kill $OWNER &&
	exec 8>"$1.feed" &&
	cat p0 >&8 &&
	test_wait_until 30 saved "s3://state/$1/"
}
# more_of_p0: the next records of partition 0 to the owner_at
more_of_p0 () { grep "\"_partition\":0," pings | sed -n "6,10p" >&8; }

test_expect_success 'an owner whose partition was claimed by another is fenced' '
	{
		echo "{\"_control\":\"assigned\",\"_topic\":\"pings\",\"_partition\":0}" &&
		grep "\"_partition\":0," pings | head -n 5
	} >p0 &&
	owner_at z &&
	echo "{\"_control\":\"assigned\",\"_topic\":\"pings\",\"_partition\":0}" |
		pn-aggregate $REPORT --state s3://state/z/ >/dev/null &&
	more_of_p0 &&
	test_wait_until 30 grep -q "taken over by another owner" z.err &&
	exec 8>&- &&
	wait $OWNER &&
	grep "^{" z.err | test_jq ".fenced == 1"
'

# Two claims at the same moment read the same epoch and write the next
# one: S3 keeps one of the owner files, and the other claimant must find
# out at its first check.  Here the other claim is written by hand, after.
test_expect_success 'two claims of one epoch at once: the claimant S3 did not keep is fenced' '
	owner_at twin &&
	s3curl -o owner "$(s3url state twin/pings/0.owner)" &&
	read -r epoch host pid <owner &&
	echo "$epoch another-host 1" >other &&
	s3curl -T other "$(s3url state twin/pings/0.owner)" &&
	more_of_p0 &&
	test_wait_until 30 grep -q "taken over by another owner" twin.err &&
	exec 8>&- &&
	wait $OWNER &&
	grep "^{" twin.err | test_jq ".fenced == 1" &&
	s3curl -o owner "$(s3url state twin/pings/0.owner)" &&
	test_cmp other owner
'

test_expect_success 'pn-consume --commit-from s3://: the group gets what the pieces saved' '
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t pings -g report -e --meta \
		--commit-from s3://state/g/ |
		pn-aggregate $REPORT --state s3://state/g/ >out &&
	final_table id out >actual &&
	test_cmp expect actual &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t pings -g report -e >rest &&
	test_must_be_empty rest
'

# last of the tests on s3rver: it stops it
test_expect_success 'S3 gone at an owner check: the owner file named, 69, no piece put' '
	owner_at gone &&
	kill $S3_PID &&
	{ wait $S3_PID 2>/dev/null; true; } &&
	more_of_p0 &&
	exec 8>&- &&
	test_expect_code 69 wait $OWNER &&
	grep "^pn-aggregate: cannot read .s3://state/gone/pings/0.owner.: " gone.err &&
	! grep "cannot write" gone.err
'

test_expect_success 'an unreachable bucket: the state cannot be opened (69)' '
	echo "{\"_topic\":\"pings\",\"_partition\":0,\"_offset\":0,\"source_id\":1}" >one &&
	AWS_ENDPOINT_URL=http://127.0.0.1:1 test_expect_code 69 \
		pn-aggregate $REPORT --state s3://state/x/ one 2>err &&
	grep "cannot reach S3" err
'

test_done
