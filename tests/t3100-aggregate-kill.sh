#!/bin/bash
# t3100-aggregate-kill: kill -9 the live pipeline at random points and
# restart it; the table a sink ends with equals an uninterrupted run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"

REPORT="--where source=campaign --group-by source_id:id --count delivered_time:impressions --count clicked_time:clicks"
KILLS=${PN_TEST_KILLS:-8}

test_expect_success 'setup: pings in a topic' '
	start_broker pings:4 &&
	gen-pings 40000 21 >pings &&
	pn-produce -b "$BROKERS" -t pings -k source_id pings &&
	"$PYTHON" "$PN_SRC/tests/oracle-aggregate.py" pings $REPORT >expect
'

# at_work: this run's aggregator has emitted, or is over (nothing was left)
at_work () { test -s changelog.$run || ! test_running $aggregator; }

# One run of the pipeline, resuming from the checkpoint; killed with -9
# $1 seconds after its first emission, or left to finish when $1 is "end".
run_pipeline () {
	local start=()
	rm -f pipe
	mkfifo pipe || return 1
	if test -f state; then
		pn-aggregate --state state --print-offsets >start.json || return 1
		start=(--start-offsets start.json)
	fi
	# throttled to about 20k records/s, so the kills land mid-stream
	pn-consume -b "$BROKERS" -t pings -e --meta "${start[@]}" 2>>consume.err |
		awk '{ print } NR % 500 == 0 { fflush(); system("sleep 0.02") }' >pipe &
	consumer=$!
	pn-aggregate $REPORT --state state --emit-interval 50ms <pipe >>changelog.$run 2>>agg.err &
	aggregator=$!
	if test "$1" = end; then
		wait $consumer && wait $aggregator
		return
	fi
	# the random kill point, counted from the first emission: a slow start
	# must not let the kill land before the run has done anything
	test_wait_until 60 at_work || return 1
	sleep "$1"
	pkill -9 -P $$ -x pn-consume 2>/dev/null
	kill -9 $consumer $aggregator 2>/dev/null
	wait $consumer $aggregator 2>/dev/null
	return 0
}

test_expect_success "kill -9 at $KILLS random points, then finish" '
	run=0 &&
	for i in $(seq 1 $KILLS); do
		run=$(printf %02d $i) &&
		run_pipeline "0.$(( (RANDOM % 4) + 1 ))" || return 1
	done &&
	test $(for f in changelog.0*; do test -s $f && echo $f; done | wc -l) -ge 3 &&
	run=99 &&
	run_pipeline end &&
	"$PYTHON" "$PN_SRC/tests/final-table.py" id changelog.* >actual &&
	test_cmp expect actual
'

test_expect_success 'the checkpoint holds every partition at its end' '
	pn-aggregate --state state --print-offsets >offsets &&
	pn-consume -b "$BROKERS" -t pings -e --meta -o -1 >last &&
	jq -c "{(._partition|tostring): (._offset + 1)}" last | jq -cs "add | {pings: .}" >expect_offsets &&
	jq -cS . offsets >a && jq -cS . expect_offsets >b &&
	test_cmp b a
'

test_expect_success '--commit-from: the group commits what the checkpoint applied' '
	pn-consume -b "$BROKERS" -t pings -c 15000 --meta >head.out &&
	pn-aggregate $REPORT --state half <head.out >/dev/null &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t pings -g report -e --meta \
		--commit-from half >all.out &&
	# with -g and --meta: the records, and control records of the group
	grep -v "^{\"_control\":" all.out >records.out &&
	test_line_count = 40000 records.out &&
	grep "^{\"_control\":\"assigned\"" all.out &&
	pn-consume -F "$KAFKA_PROPS" -b "$BROKERS" -t pings -g report -e >rest &&
	test_line_count = 25000 rest
'

test_expect_success '--commit-from without -g is a usage error' '
	test_expect_code 64 pn-consume -b "$BROKERS" -t pings --commit-from x 2>err &&
	grep "needs -g" err
'

test_done
