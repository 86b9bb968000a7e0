#!/bin/bash
# t1300-produce-transactions: pn-produce -X transactional.id=ID sends its
# whole input as one transaction, committed at the end, aborted on a bad
# line, a failed delivery or a stop signal.
#
# librdkafka's mock (2.0.2) takes the transaction calls but keeps no
# transaction state in its logs: it shows read_committed consumers every
# record, aborted or still open, and gives a second producer with the same
# transactional.id a producer id of its own instead of fencing the first.
# So the mock shows the exit statuses and messages; what readers see and
# the fencing are shown on the real cluster only (REAL_KAFKA).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
kafka_kills_brokers
. "$(dirname "$0")/lib-registry.sh"

test_expect_success 'start Kafka' '
	start_broker whole:4 src:1 copy:1 bad:2 aborted:2 reject:2 avro:2 term:4 down:4 \
		fenced:2
'

# read_committed TOPIC / read_uncommitted TOPIC: the topic to its end, as
# each kind of reader sees it (read_committed is librdkafka's default)
read_committed () {
	pn-consume -b "$BROKERS" -t "$1" -e -X isolation.level=read_committed
}
read_uncommitted () {
	pn-consume -b "$BROKERS" -t "$1" -e -X isolation.level=read_uncommitted
}
# uncommitted_holds TOPIC N: a read_uncommitted reader sees N records or
# more (the records of an open transaction reached the brokers)
uncommitted_holds () {
	test "$(read_uncommitted "$1" | wc -l)" -ge "$2"
}
# acked_holds ERR N: pn-produce's last --stats-interval line in ERR counts N
# acknowledged records or more.  Records a reader sees may still wait for
# their acknowledgement: a broker killed then has the producer send them
# again.
acked_holds () {
	grep "^{\"" "$1" | tail -n 1 | test_jq ".acked >= $2" >/dev/null
}
# committed_holds TOPIC N: a read_committed reader sees N records or more.
# The commit returns once the coordinator has logged it; the brokers write
# its markers, which make the records readable, a moment later.
committed_holds () {
	test "$(read_committed "$1" | wc -l)" -ge "$2"
}

test_expect_success 'a transactional run commits its whole input' '
	gen-pings 5000 13 >whole.in &&
	pn-produce -b "$BROKERS" -t whole -X transactional.id=t1300-whole --stats \
		whole.in 2>err &&
	grep "\"acked\":5000,\"failed\":0,.*\"committed\":5000," err &&
	test_wait_until 60 committed_holds whole 5000 &&
	topic_holds_exactly whole whole.in &&
	read_committed whole >committed &&
	test_line_count = 5000 committed
'

test_expect_success 'keys, headers, timestamps and partitions go through a transaction intact' '
	cat >src.in <<-\EOF &&
	{"a":1,"_key":"k1","_timestamp":1700000000000}
	{"b":"x","_headers":[["trace","t1"],["empty",null]],"_timestamp":1700000000001}
	{"c":[1,{"d":null}],"_key":7,"_headers":{"h":"v"},"_timestamp":1700000000002}
	EOF
	pn-produce -b "$BROKERS" -t src -H src=test src.in &&
	pn-consume -b "$BROKERS" -t src -e --meta >orig &&
	pn-produce -b "$BROKERS" -t copy --keep-partition -X transactional.id=t1300-copy orig &&
	test_wait_until 60 committed_holds copy 3 &&
	pn-consume -b "$BROKERS" -t copy -e --meta >copy.out &&
	jq -c "del(._topic, ._offset)" orig >expect &&
	jq -c "del(._topic, ._offset)" copy.out >actual &&
	test_cmp expect actual
'

test_expect_success 'a bad line aborts the transaction: 65, the line and the abort named' '
	printf "{\"n\":1}\n{\"n\":2}\nhello\n{\"n\":4}\n" >bad.in &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t bad -X transactional.id=t1300-bad \
		bad.in 2>err &&
	cat >expect <<-\EOF &&
	pn-produce: error (at bad.in:3): invalid JSON (byte 1)
	pn-produce: transaction aborted: none of its 2 records is visible
	EOF
	test_cmp expect err
'

test_expect_success REAL_KAFKA 'after a bad line, read_committed sees nothing, read_uncommitted the aborted records' '
	test_when_finished "kill \$producer 2>/dev/null; true" &&
	mkfifo aborted.feed || return 1
	pn-produce -b "$BROKERS" -t aborted -X transactional.id=t1300-aborted \
		<aborted.feed 2>aborted.err &
	producer=$!
	exec 9>aborted.feed &&
	gen-pings 100 5 >&9 &&
	test_wait_until 60 uncommitted_holds aborted 100 &&
	read_committed aborted >open &&
	test_must_be_empty open &&
	echo "[1]" >&9 &&
	exec 9>&- &&
	test_expect_code 65 wait $producer &&
	grep "^pn-produce: error (at <stdin>:101): not a JSON object" aborted.err &&
	grep "^pn-produce: transaction aborted: none of its 100 records is visible" aborted.err &&
	read_committed aborted >committed &&
	test_must_be_empty committed &&
	read_uncommitted aborted >uncommitted &&
	test_line_count = 100 uncommitted
'

test_expect_success 'with --reject, bad lines are set aside and the rest committed' '
	printf "{\"n\":1}\nnope\n{\"n\":3}\n[4]\n{\"n\":5}\n" >reject.in &&
	pn-produce -b "$BROKERS" -t reject -X transactional.id=t1300-reject --reject rejects \
		--stats reject.in 2>err &&
	printf "nope\n[4]\n" >expect &&
	test_cmp expect rejects &&
	grep "\"rejected\":2,.*\"committed\":3," err &&
	test_wait_until 60 committed_holds reject 3 &&
	read_committed reject >out &&
	sort out >actual &&
	printf "{\"n\":1}\n{\"n\":3}\n{\"n\":5}\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'Confluent Avro in a transaction: committed, and aborted by a record the schema refuses' '
	start_registry &&
	ping=$PN_SRC/schemas/push_notification_ping.avsc &&
	gen-pings 200 9 >avro.in &&
	pn-produce -b "$BROKERS" -t avro --avro --schema "$ping" --schema-registry "$REGISTRY" \
		-X transactional.id=t1300-avro --stats avro.in 2>err &&
	grep "\"acked\":200,.*\"committed\":200," err &&
	test_wait_until 60 committed_holds avro 200 &&
	pn-consume -b "$BROKERS" -t avro -e --schema-registry "$REGISTRY" >avro.out &&
	test_line_count = 200 avro.out &&
	{ head -n 5 avro.in && head -n 1 avro.in | jq -c ".source_id = \"x\""; } >avro-bad.in &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t avro --avro --schema "$ping" \
		--schema-registry "$REGISTRY" -X transactional.id=t1300-avro avro-bad.in 2>err &&
	grep "^pn-produce: error (at avro-bad.in:6): field .source_id.: expected a long, got a string" err &&
	grep "^pn-produce: transaction aborted: none of its 5 records is visible" err
'

test_expect_success 'SIGTERM mid-input aborts the transaction: exit 1, nothing visible' '
	test_when_finished "kill \$producer 2>/dev/null; true" &&
	mkfifo term.feed || return 1
	pn-produce -b "$BROKERS" -t term -X transactional.id=t1300-term --stats \
		<term.feed 2>term.err &
	producer=$!
	exec 9>term.feed &&
	gen-pings 1000 7 >&9 &&
	test_wait_until 60 uncommitted_holds term 1000 &&
	test_wait_until 30 test_input_taken $producer &&
	kill -TERM $producer &&
	test_expect_code 1 wait $producer &&
	exec 9>&- &&
	grep "^pn-produce: stopped by signal 15" term.err &&
	grep "^pn-produce: transaction aborted: none of its 1000 records is visible" term.err &&
	grep "\"sent\":1000,.*\"committed\":0," term.err &&
	if test_have_prereq REAL_KAFKA
	then
		read_committed term >committed &&
		test_must_be_empty committed &&
		read_uncommitted term >uncommitted &&
		test_line_count = 1000 uncommitted
	fi
'

test_expect_success 'brokers down mid-transaction: deliveries fail, the transaction is aborted (1)' '
	test_when_finished "kill \$producer 2>/dev/null; true" &&
	mkfifo down.feed || return 1
	pn-produce -b "$BROKERS" -t down -X transactional.id=t1300-down \
		-X message.timeout.ms=3000 --stats-interval 50ms <down.feed 2>down.err &
	producer=$!
	exec 9>down.feed &&
	gen-pings 500 3 >&9 &&
	test_wait_until 60 acked_holds down.err 500 &&
	kafka_down &&
	gen-pings 500 4 >&9 &&
	exec 9>&- &&
	test_wait_until 60 grep -q "records were not acknowledged" down.err &&
	kafka_up &&
	test_expect_code 1 wait $producer &&
	grep "^pn-produce: delivery failed (at <stdin>:[0-9]*): " down.err &&
	grep "^pn-produce: 500 of 1000 records were not acknowledged" down.err &&
	grep "^pn-produce: transaction aborted: none of its 1000 records is visible" down.err &&
	if test_have_prereq REAL_KAFKA
	then
		read_committed down >committed &&
		test_must_be_empty committed
	fi
'

test_expect_success REAL_KAFKA 'a second producer with the same transactional.id fences the first' '
	test_when_finished "kill \$first 2>/dev/null; true" &&
	mkfifo fenced.feed || return 1
	pn-produce -b "$BROKERS" -t fenced -X transactional.id=t1300-fenced \
		<fenced.feed 2>first.err &
	first=$!
	exec 9>fenced.feed &&
	printf "{\"from\":\"first\",\"n\":%d}\n" $(seq 100) >&9 &&
	test_wait_until 60 uncommitted_holds fenced 100 &&
	printf "{\"from\":\"second\",\"n\":%d}\n" $(seq 10) >second.in &&
	pn-produce -b "$BROKERS" -t fenced -X transactional.id=t1300-fenced second.in &&
	test_wait_until 60 committed_holds fenced 10 &&
	printf "{\"from\":\"first\",\"n\":%d}\n" $(seq 101 200) >&9 &&
	exec 9>&- &&
	test_expect_code 1 wait $first &&
	grep "^pn-produce: transaction fenced: another producer started with transactional.id .t1300-fenced." first.err &&
	read_committed fenced >out &&
	sort out >actual &&
	sort second.in >expect &&
	test_cmp expect actual
'

test_expect_success 'pn-consume reads committed records by default' '
	pn-consume -b "$BROKERS" -t whole -e >default.out &&
	test_line_count = 5000 default.out &&
	if test_have_prereq REAL_KAFKA
	then
		pn-consume -b "$BROKERS" -t aborted -e >default.aborted &&
		test_must_be_empty default.aborted
	fi
'

test_done
