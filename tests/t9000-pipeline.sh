#!/bin/bash
# t9000-pipeline: the whole campaign report, Kafka to PostgreSQL, through
# scripts/pn-pipeline: equal to an independent count of a generated day,
# also when stages are killed with SIGKILL, PostgreSQL restarts and the
# brokers go down in the middle of the stream.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
kafka_kills_brokers
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lib-day.sh"

test_expect_success 'setup: a generated day, the broker, the campaign table' '
	# the live pipelines read topics that exist before them, as a real
	# cluster wants (the mock makes a topic when it is first asked for)
	setup_day 30000 6 live1:6 live2:6 live3:6 &&
	expected_table >expect &&
	test_line_count -gt 100 expect
'

test_expect_success 'pings and dispatches go in; the malformed lines are set aside' '
	pn-produce -b "$BROKERS" -t pushnotification-dispatch --key source_id \
		day/dispatch.ndjson &&
	test_expect_code 0 pn-produce -b "$BROKERS" -t pushnotification-ping --key source_id \
		--reject rejected day/ping.ndjson 2>err &&
	test_line_count = 3 rejected &&
	grep -c "error (at day/ping.ndjson:" err >n && echo 3 >three && test_cmp three n
'

test_expect_success 'pn-pipeline report --once: the table equals the independent count' '
	pipeline report -b "$BROKERS" -s report.state --once 2>log &&
	campaign_table >actual &&
	test_cmp expect actual
'

test_expect_success 'a second run changes nothing: nothing is counted twice' '
	pipeline report -b "$BROKERS" -s report.state --once 2>log &&
	campaign_table >actual &&
	test_cmp expect actual
'

test_expect_success 'usage errors of pn-pipeline are 64' '
	test_expect_code 64 pipeline 2>err &&
	test_expect_code 64 pipeline nonsense 2>err &&
	grep "unknown pipeline" err &&
	test_expect_code 64 pipeline report 2>err &&
	grep "no brokers" err &&
	test_expect_code 64 pipeline archive -b x 2>err &&
	grep "no -D DEST" err &&
	test_expect_code 64 pipeline report -b x --max-backoff 0 2>err &&
	grep "bad backoff .0.: milliseconds" err &&
	test_expect_code 64 pipeline report -b x --backoff 1s 2>err &&
	grep "bad backoff .1s." err &&
	test_expect_code 64 pipeline report -b x --backoff 500 --max-backoff 100 2>err &&
	grep -- "--backoff 500 is above --max-backoff 100" err &&
	pipeline -h >help && grep "pn-pipeline report" help
'

# The live pipelines, report and archive, over a topic that is still being
# written: the pings go in, a chunk at a time, while things go wrong.  Ends
# when the checkpoint and the archive have every ping, then stops both
# with SIGTERM.
live_topic=0
start_live () {
	live_topic=$((live_topic + 1))
	topic=live$live_topic
	rm -f live.state
	: >pipeline.log && : >archive.log || return 1
	reset_table || return 1
	rm -rf live.archive
	# not through the function: $! must be pn-pipeline itself
	"$PN_SRC/scripts/pn-pipeline" report -b "$BROKERS" -F "$KAFKA_PROPS" -t $topic \
		-s live.state --backoff 100 --max-backoff 800 2>>pipeline.log &
	wrapper=$!
	test_cleanup_kill $wrapper
	"$PN_SRC/scripts/pn-pipeline" archive -b "$BROKERS" -t $topic -D live.archive \
		--backoff 100 --max-backoff 800 2>>archive.log &
	archiver=$!
	test_cleanup_kill $archiver
	split -n l/10 -d day/good.ndjson chunk. || return 1
}

produce_chunk () {
	pn-produce -b "$BROKERS" -t $topic --key source_id "$1"
}

# kill_stage PARENT NAME: kill -9 the stage NAME of a pn-pipeline once it
# runs (after a restart it comes back only after the backoff); one that
# ends on its own meanwhile needs no kill
kill_stage () {
	test_wait_until 60 pgrep -P "$1" -x "$2" >/dev/null || return 1
	pkill -9 -P "$1" -x "$2"
	return 0
}

# the checkpoint has applied all N pings of the topic
caught_up () {
	test -f live.state &&
	pn-aggregate --state live.state --print-offsets >offsets 2>/dev/null &&
	test "$(jq "[.\"$topic\"[]?] | add" offsets)" = "$1"
}

wait_caught_up () {
	test_wait_until 120 caught_up "$1" && return 0
	echo "the pipeline did not catch up with $1 pings"
	cat offsets pipeline.log
	return 1
}

# stops both pipelines: pn-consume stops, pn-aggregate emits what changed
# and pn-sink-pg writes its batch at the end of their input, and the
# archive closes its objects
stop_live () {
	kill -TERM $wrapper $archiver &&
	wait $wrapper &&
	wait $archiver
}

# running_again LOG: the pipeline of LOG started again after each of its
# restarts.  A stop during the backoff that follows a kill would leave
# what the killed stage lost unsent: the checkpoint can be caught up while
# the table misses the rows of a killed pn-sink-pg's last batch, which
# only the next run sends again (it emits every group of the checkpoint).
# A kill can also land before the stages start (on the pn-aggregate that
# reads the checkpoint's offsets): a restart without a run of its own.  So
# the last restart must be followed by a start.
running_again () {
	grep -E ": started \(pids|restarting" "$1" | tail -n 1 | grep -q ": started (pids"
}

# once every ping is in: the table must equal the independent count
finish_live () {
	wait_caught_up $(wc -l <day/good.ndjson) &&
	for log in pipeline.log archive.log; do
		test_wait_until 60 running_again $log && continue
		echo "$log, its end:"
		tail -n 20 $log
		return 1
	done &&
	stop_live &&
	campaign_table >actual &&
	test_cmp expect actual
}


test_expect_success 'kill -9 of each stage at random points: the same table' '
	start_live &&
	n=0 &&
	for chunk in chunk.*; do
		produce_chunk $chunk || return 1
		# a random pause: the kills land at random points of the stream
		sleep 0.$((RANDOM % 3 + 1))
		case $n in
		1|4|7) kill_stage $wrapper pn-consume ;;
		2|5|8) kill_stage $wrapper pn-aggregate ;;
		3|6|9) kill_stage $wrapper pn-sink-pg ;;
		esac || return 1
		case $n in
		2|6) kill_stage $archiver pn-consume ;;
		3|7|8) kill_stage $archiver pn-archive ;;
		esac || return 1
		n=$((n + 1))
	done &&
	finish_live &&
	grep -c "restarting in" pipeline.log >restarts &&
	test $(cat restarts) -ge 3 &&
	# each wait doubles the one before, from --backoff (100) up to
	# --max-backoff (800)
	sed -n "s/.*restarting in \([0-9]*\)ms$/\1/p" pipeline.log >waits &&
	awk "{ want = NR == 1 ? 100 : (2 * prev > 800 ? 800 : 2 * prev); prev = \$1 }
		\$1 != want { print \"wait \" NR \" is \" \$1 \", not \" want; bad = 1 }
		END { exit bad }" waits &&
	grep -c "restarting in" archive.log >restarts &&
	test $(cat restarts) -ge 2 &&
	pn-archive verify live.archive >verdicts &&
	pn-archive cat live.archive >archived &&
	test_line_count = $(wc -l <day/good.ndjson) archived &&
	jq -c "del(._topic, ._partition, ._offset, ._timestamp, ._key, ._headers)" archived |
		sort >back &&
	jq -c "del(._timestamp)" day/good.ndjson | sort >sent &&
	test_cmp sent back &&
	pn-archive ls live.archive >objects &&
	pipeline archive -b "$BROKERS" -t $topic -D live.archive --once 2>/dev/null &&
	pn-archive ls live.archive >objects.again &&
	test_cmp objects objects.again
'

test_expect_success 'PostgreSQL restarted and the brokers down mid-stream: the same table' '
	start_live &&
	n=0 &&
	for chunk in chunk.*; do
		produce_chunk $chunk || return 1
		# paced: the faults come while the stream is flowing; the
		# outage lasts long enough for every stage to feel it
		sleep 0.2
		case $n in
		3) restart_pg ;;
		6) kafka_down && sleep 2 && kafka_up ;;
		esac
		n=$((n + 1))
	done &&
	finish_live
'

test_expect_success 'a row PostgreSQL refuses ends pn-pipeline with 65, without a restart loop' '
	echo "{\"merchant\":\"m\",\"source\":\"campaign\",\"source_id\":\"abc\",\"delivered_time\":\"2026-11-25 10:00:00\",\"clicked_time\":null}" |
		pn-produce -b "$BROKERS" -t refused &&
	test_expect_code 65 pipeline report -b "$BROKERS" -t refused -s refused.state \
		--backoff 100 2>log &&
	grep "invalid input syntax for type bigint" log &&
	grep "a stage exited 65, which a restart cannot fix" log &&
	grep -c "report: started" log >starts &&
	echo 1 >one && test_cmp one starts
'

test_expect_success 'SIGTERM stops every stage and exits 0' '
	start_live &&
	produce_chunk chunk.00 &&
	wait_caught_up $(wc -l <chunk.00) &&
	kill -TERM $wrapper &&
	wait $wrapper &&
	grep "report: stopped" pipeline.log &&
	! pgrep -P $wrapper >/dev/null
'

test_done
