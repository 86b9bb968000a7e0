#!/bin/bash
# t1100-produce-errors: usage, bad input, --reject, faults and signals.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
kafka_kills_brokers

for prog in pn-produce pn-consume pn-broker; do
	test_expect_success "$prog -h and --version" "
		$prog -h >help &&
		grep '^usage: $prog' help &&
		$prog --version >version &&
		grep '^$prog (pn) ' version &&
		grep '^librdkafka ' version
	"
	test_expect_success "$prog: a bad flag is a usage error (64)" "
		test_expect_code 64 $prog --no-such-flag 2>err &&
		grep '^usage: $prog' err
	"
done

test_expect_success 'usage errors: no topic, bad partition' '
	test_expect_code 64 pn-produce -b 127.0.0.1:1 2>err &&
	grep "no topic given" err &&
	test_expect_code 64 pn-produce -b 127.0.0.1:1 -t x -p abc 2>err &&
	grep "bad partition .abc." err &&
	test_expect_code 64 pn-consume -b 127.0.0.1:1 -t x -o nowhere 2>err
'

test_expect_success 'bad configuration is 78 and names its origin' '
	test_expect_code 78 pn-produce -t x </dev/null 2>err &&
	grep "no Kafka brokers given" err &&
	test_expect_code 78 pn-produce -b 127.0.0.1:1 -t x -X no.such.prop=1 </dev/null 2>err &&
	grep "bad Kafka setting .no.such.prop. (-X)" err &&
	printf "# comment\nacks = all\n\nlinger.ms=abc\n" >bad.properties &&
	test_expect_code 78 pn-produce -F bad.properties -b 127.0.0.1:1 -t x </dev/null 2>err &&
	grep "bad.properties:4" err
'

test_expect_success 'schema.registry.* settings are kept out of librdkafka' '
	printf "schema.registry.url=http://localhost:8081\nschema.registry.basic.auth.user.info=u:p\n" >sr.properties &&
	pn-produce -F sr.properties -b 127.0.0.1:1 -t x </dev/null
'

test_expect_success 'no broker answering: every record fails, exit 69' '
	printf "{\"a\":1}\n{\"a\":2}\n" >in &&
	test_expect_code 69 pn-produce -b 127.0.0.1:1 -t x -X message.timeout.ms=1500 in 2>err &&
	grep "delivery failed (at in:1): Local: Message timed out" err &&
	grep "2 of 2 records were not acknowledged" err
'

# librdkafka 2.0.2's mock cluster thread died of the first signal that
# reached it, and pn-broker then hung at its next act (t0110's pn-broker.1
# example 2 waited out the 600 s guard).  A burst made that near certain.
# The signal after a burst is sent once the burst is taken (none pending):
# two pending signals are taken in number order, not in the order sent.
burst () {
	for ((i = 0; i < 20; i++)); do
		kill -USR1 $1 && kill -USR2 $1 || return 1
	done
	test_wait_until 30 signals_taken $1
}
signals_taken () { ! grep -Eq "^(Sig|Shd)Pnd:.*[1-9a-f]" /proc/$1/status; }
refused () { test_expect_code 69 pn-produce -b $b -t burst -X message.timeout.ms=1000 one 2>err; }
taken () { pn-produce -b $b -t burst -X message.timeout.ms=2000 one 2>err; }
test_expect_success MOCK_KAFKA 'pn-broker: after bursts of SIGUSR1/2, the last signal holds; SIGTERM stops it' '
	pn-broker -v -n 3 -t burst:2 -w burst.bootstrap >/dev/null 2>burst.err &
	pid=$! &&
	test_cleanup_kill $pid &&
	wait_for_file burst.bootstrap 20 &&
	b=$(cat burst.bootstrap) &&
	printf "{\"a\":1}\n" >one &&
	burst $pid && kill -USR1 $pid &&
	test_wait_until 60 refused &&
	burst $pid && kill -USR2 $pid &&
	test_wait_until 60 taken &&
	pn-consume -b $b -t burst -e >got &&
	grep -qx "{\"a\":1}" got && ! grep -vx "{\"a\":1}" got &&
	burst $pid && kill -TERM $pid &&
	test_wait_until 30 eval "! test_running $pid" &&
	wait $pid &&
	! grep "failed to poll" burst.err &&
	test ! -e burst.bootstrap
'

# The mock keeps about 5 MB per partition and silently drops older records
# past that: the big streams below spread over 8 partitions without sticky
# partitioning, so every partition stays well under it.  The topics of the
# bad lines below are made here, at once: a real cluster made each one on
# its first use, in about 5 s.
test_expect_success 'start the dev broker' '
	start_broker bad:1 reject:1 big:1 term:8 fault:8 $(seq -f "bad%g:1" 11)
'

# Each bad line: the exact message, 65, and nothing from that line on is sent.
check_bad_line () {
	desc=$1 line=$2 msg=$3
	bad_count=$((bad_count + 1))
	test_expect_success "bad input: $desc" '
		topic=bad$bad_count &&
		{ printf "{\"n\":1}\n{\"n\":2}\n" && printf "%b\n" "$line" && printf "{\"n\":4}\n"; } >in &&
		test_expect_code 65 pn-produce -b "$BROKERS" -t $topic in 2>err &&
		echo "pn-produce: error (at in:3): $msg" >expect &&
		test_cmp expect err &&
		pn-consume -b "$BROKERS" -t $topic -e >out &&
		sort out >actual &&
		printf "{\"n\":1}\n{\"n\":2}\n" >expect &&
		test_cmp expect actual
	'
}
bad_count=0
check_bad_line 'not JSON' 'hello' 'invalid JSON (byte 1)'
check_bad_line 'an array' '[1,2]' 'not a JSON object'
check_bad_line 'a truncated line' '{"n":3,"s":"ab' 'truncated JSON (byte 15)'
check_bad_line 'trailing garbage' '{"n":3} x' 'unexpected data after the JSON value (byte 9)'
check_bad_line 'a NUL byte' '{"n":3,"s":"a\0b"}' 'NUL byte in input (byte 14)'
check_bad_line 'invalid UTF-8' '{"n":3,"s":"\xff"}' 'invalid UTF-8 in a string (byte 13)'
check_bad_line 'a raw control character' '{"n":3,"s":"\001"}' 'control character in a string must be escaped (byte 13)'
check_bad_line 'an empty line' '' 'empty line, expected a JSON value (byte 1)'
check_bad_line 'bad _headers' '{"n":3,"_headers":"x"}' "field '_headers' must be a list of [name, value] pairs"
check_bad_line 'bad _timestamp' '{"n":3,"_timestamp":"yesterday"}' "field '_timestamp' must be milliseconds since the epoch or an ISO 8601 time"

test_expect_success 'bad input from a named file among several' '
	printf "{\"a\":1}\n" >one &&
	printf "{\"a\":2}\n{\"a\":\n" >two &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t bad99 one two 2>err &&
	grep "^pn-produce: error (at two:2): truncated JSON" err
'

test_expect_success 'a 10 MB line is read whole and refused as too large for Kafka' '
	{ printf "{\"n\":1}\n{\"big\":\"" && head -c 10485760 /dev/zero | tr "\\0" x && printf "\"}\n{\"n\":3}\n"; } >big.in &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t big big.in 2>err &&
	grep "error (at big.in:2): record is larger than message.max.bytes" err &&
	pn-consume -b "$BROKERS" -t big -e >out &&
	echo "{\"n\":1}" >expect &&
	test_cmp expect out
'

test_expect_success '--reject sets bad lines aside and sends the rest' '
	printf "{\"n\":1}\nnope\n{\"n\":3}\n[4]\n{\"n\":5}\n" >in &&
	pn-produce -b "$BROKERS" -t reject --reject rejects --stats in 2>err &&
	printf "nope\n[4]\n" >expect &&
	test_cmp expect rejects &&
	grep "error (at in:2)" err &&
	grep "error (at in:4)" err &&
	grep "\"rejected\":2," err &&
	pn-consume -b "$BROKERS" -t reject -e >out &&
	printf "{\"n\":1}\n{\"n\":3}\n{\"n\":5}\n" >expect &&
	test_cmp expect out
'

test_expect_success 'a reject file that cannot be opened is 74' '
	echo "{\"n\":1}" >in &&
	test_expect_code 74 pn-produce -b "$BROKERS" -t reject --reject no-such-dir/rej in 2>err &&
	grep "cannot open reject file .no-such-dir/rej." err
'

test_expect_success 'SIGTERM mid-stream: stops reading, every acknowledged record is there' '
	mkfifo feed || return 1
	# paced: a stream still running when the signal comes, not a file read at once
	for i in $(seq 1 50); do gen-pings 1000 $i; sleep 0.1; done >feed &
	feeder=$!
	test_when_finished "kill $feeder 2>/dev/null; true"
	pn-produce -b "$BROKERS" -t term -X sticky.partitioning.linger.ms=0 --stats <feed 2>term.err &
	producer=$!
	# some records are in (a read of one waits for it), more are coming
	timeout 60 pn-consume -b "$BROKERS" -t term -c 1 >/dev/null &&
	kill -TERM $producer &&
	wait $producer &&
	acked=$(sed -n "s/.*\"acked\":\([0-9]*\),.*/\1/p" term.err) &&
	grep "\"sent\":$acked,\"acked\":$acked,\"failed\":0," term.err &&
	test "$acked" -gt 0 && test "$acked" -lt 50000 &&
	pn-consume -b "$BROKERS" -t term -e >out &&
	test_line_count = "$acked" out
'

test_expect_success 'brokers down and back mid-produce: nothing lost, nothing doubled' '
	gen-pings 40000 9 | awk "{ sub(/^\\{/, \"{\\\"seq\\\":\" NR \",\") } 1" >all &&
	head -n 20000 all >first && tail -n +20001 all >second &&
	mkfifo feed2 || return 1
	pn-produce -b "$BROKERS" -t fault -X sticky.partitioning.linger.ms=0 --stats <feed2 2>fault.err &
	producer=$!

	exec 9>feed2 &&
	cat first >&9 &&
	# down once records are going in (a read of one waits for it)
	timeout 60 pn-consume -b "$BROKERS" -t fault -c 1 >/dev/null &&
	kafka_down &&
	cat second >&9 &&
	# the outage itself: its length is the point, requests time out and retry
	sleep 3 &&
	kafka_up &&
	exec 9>&- &&
	wait $producer &&
	grep "\"acked\":40000,\"failed\":0" fault.err &&
	topic_holds_exactly fault all
'

test_done
