# tests/lib-kafka.sh -- the Kafka a test script runs against.  Source after
# lib.sh.  PN_TEST_KAFKA selects it (tests/run.sh runs every script that
# sources this file in both modes):
#
#   mock  (default) pn-broker, librdkafka's in-process mock cluster: starts
#         in a second, fault injection by signal, ~5 MB kept per partition
#         (past that it acknowledges and drops: volume tests stay below it)
#   real  Apache Kafka (KRaft) from Maven Central, three combined
#         broker+controller nodes on loopback ports chosen at start
#         (scripts/kafka-cluster), data and logs in $TRASH_DIRECTORY/kafka
#
#   start_broker [-n BROKERS] TOPIC:PARTITIONS ...
#       starts the Kafka with the given topics and sets BROKERS (the
#       bootstrap list) and KAFKA_PROPS, a properties file for consumers
#       (a short session timeout, so a restarted group member does not wait
#       45 s for its old self to expire).  -n is the mock's broker count; a
#       real cluster always has three.  Mock: BROKER_PID is the broker's
#       pid; PN_BROKER_WRAP (e.g. "strace -f -e trace=none -o FILE") runs
#       it under another program.  Real: KAFKA_DIR is the cluster's
#       directory.  Everything is stopped when the script ends.
#   kafka_down / kafka_up
#       every broker unreachable / back (mock: SIGUSR1 / SIGUSR2 to the
#       broker; real: every node killed, then started on its data again)
#   kafka_topic TOPIC:PARTITIONS... [config=value]...   more topics
#   kafka_kills_brokers
#       says, before start_broker, that the script kills brokers (kafka_down,
#       kafka-cluster kill-node "$KAFKA_DIR"): KAFKA_DIR is set for it, and
#       the nodes it left down are started again when it ends.  Scripts
#       share tests/run.sh's clusters ("lanes", PN_TEST_KAFKA_LANES), one
#       script at a time, when one is free: it is wiped for them (every
#       topic deleted, no group member left).  Without a lane a script
#       starts a cluster of its own.
#
# Prerequisites: MOCK_KAFKA or REAL_KAFKA, for tests that only one can run.

PN_TEST_KAFKA=${PN_TEST_KAFKA:-mock}
case $PN_TEST_KAFKA in
mock) test_set_prereq MOCK_KAFKA ;;
real) test_set_prereq REAL_KAFKA ;;
*) echo "Bail out! PN_TEST_KAFKA is '$PN_TEST_KAFKA', not mock or real"; exit 1 ;;
esac
test_prereq_hint MOCK_KAFKA "PN_TEST_KAFKA=mock runs it"
test_prereq_hint REAL_KAFKA "PN_TEST_KAFKA=real runs it"

start_broker () {
	if [ "$1" = -n ]; then
		local nbrokers=$2
		shift 2
	fi
	KAFKA_PROPS=$TRASH_DIRECTORY/kafka.properties
	cat >"$KAFKA_PROPS" <<-PROPS
	# consumer groups in tests (see lib-kafka.sh)
	session.timeout.ms=3000
	heartbeat.interval.ms=500
	PROPS
	export KAFKA_PROPS
	if [ "$PN_TEST_KAFKA" = real ]; then
		start_real_cluster "$@"
	else
		start_mock_broker ${nbrokers:+-n "$nbrokers"} "$@"
	fi
}

start_mock_broker () {
	local args=()
	if [ "$1" = -n ]; then
		args+=(-n "$2")
		shift 2
	fi
	for t in "$@"; do
		args+=(-t "$t")
	done
	rm -f "$TRASH_DIRECTORY/bootstrap"
	# -v: broker.log says "brokers down" and "brokers up" when it has
	# acted on kafka_down and kafka_up
	${PN_BROKER_WRAP:-} pn-broker -v "${args[@]}" -w "$TRASH_DIRECTORY/bootstrap" >/dev/null \
		2>"$TRASH_DIRECTORY/broker.log" &
	BROKER_PID=$!
	test_cleanup_kill $BROKER_PID
	wait_for_file "$TRASH_DIRECTORY/bootstrap" 20 || return 1
	BROKERS=$(cat "$TRASH_DIRECTORY/bootstrap")
	export BROKERS BROKER_PID
}

# The nodes are killed, not stopped, at the end: their data is thrown
# away, and a clean stop of a whole quorum takes seconds.  The tests'
# JVMs compile with C1 only: a cluster starts in 7 s instead of 10 and its
# nodes use 8.7 CPU seconds instead of 15, with test volumes that the
# slower steady state does not notice (the benchmarks keep the default).
start_real_cluster () {
	export PN_KAFKA_JVM_OPTS=${PN_KAFKA_JVM_OPTS--XX:TieredStopAtLevel=1}
	if take_lane; then
		_pn_kafka_cluster=$_pn_lane/kafka
		if [ "$_pn_kafka_own" = 1 ]; then
			KAFKA_DIR=$_pn_kafka_cluster
			export KAFKA_DIR
			test_atexit revive_lane
		fi
	else
		KAFKA_DIR=$TRASH_DIRECTORY/kafka
		_pn_kafka_cluster=$KAFKA_DIR
		export KAFKA_DIR
		test_atexit 'kafka-cluster kill "$KAFKA_DIR"'
		kafka-cluster start "$KAFKA_DIR" >/dev/null 2>"$TRASH_DIRECTORY/kafka.log" || {
			cat "$TRASH_DIRECTORY/kafka.log" >&2
			return 1
		}
	fi
	BROKERS=$(cat "$_pn_kafka_cluster/bootstrap")
	export BROKERS
	[ $# = 0 ] || kafka_topic "$@"
}

_pn_kafka_own=0 _pn_lane='' _pn_kafka_cluster=''
kafka_kills_brokers () { _pn_kafka_own=1; }

# take_lane: a free lane of tests/run.sh's, ready and wiped, in _pn_lane.
# The lock is an open file that the script and its children keep until
# they are all gone (so nobody else wipes the lane under a straggler).
# run.sh writes "ready" or "failed" to each lane's state once its start
# is over.
take_lane () {
	local lane fd
	[ -n "${PN_TEST_KAFKA_LANES:-}" ] || return 1
	for lane in "$PN_TEST_KAFKA_LANES"/lane*; do
		exec {fd}>>"$lane/lock" || continue
		if flock -n "$fd" && wait_for_file "$lane/state" 180 &&
		   [ "$(cat "$lane/state")" = ready ] &&
		   kafka-cluster admin "$lane/kafka" wipe 2>>"$TRASH_DIRECTORY/kafka.log"; then
			_pn_lane=$lane
			echo "# the shared cluster $lane" >>"$TRASH_DIRECTORY/kafka.log"
			return 0
		fi
		exec {fd}>&-
	done
	return 1
}

# revive_lane: the lane goes back whole, its nodes all up, or it is marked
# failed (later scripts then start clusters of their own)
revive_lane () {
	kafka-cluster revive "$KAFKA_DIR" >/dev/null 2>>"$TRASH_DIRECTORY/kafka.log" && return 0
	echo "# the shared cluster $_pn_lane could not be revived: failed" >>"$TRASH_DIRECTORY/kafka.log"
	echo failed >"$_pn_lane/state.tmp" && mv "$_pn_lane/state.tmp" "$_pn_lane/state"
}

kafka_topic () {
	if [ "$PN_TEST_KAFKA" = real ]; then
		kafka-cluster topic "$_pn_kafka_cluster" "$@"
	else
		echo "kafka_topic: the mock's topics are made at start" >&2
		return 1
	fi
}

# a shared cluster goes back whole only to a script that said it kills
own_cluster () {
	[ -z "$_pn_lane" ] || [ "$_pn_kafka_own" = 1 ] && return 0
	echo "$1: the script shares a cluster: it must call kafka_kills_brokers" >&2
	return 1
}

kafka_down () {
	if [ "$PN_TEST_KAFKA" = real ]; then
		own_cluster kafka_down && kafka-cluster kill "$KAFKA_DIR"
	else
		mock_signal USR1 down
	fi
}

kafka_up () {
	if [ "$PN_TEST_KAFKA" = real ]; then
		own_cluster kafka_up && kafka-cluster start-node "$KAFKA_DIR" 1 2 3
	else
		mock_signal USR2 up
	fi
}

# mock_signal SIGNAL up|down: the signal to pn-broker, then a wait until
# it has acted (it looks at signals every 100 ms): a test that writes
# right after kafka_down must not have its records taken in between.
mock_signal () {
	local said
	said=$(grep -c "brokers $2\$" "$TRASH_DIRECTORY/broker.log")
	kill -"$1" "$BROKER_PID" &&
	test_wait_until 20 eval \
		"test \$(grep -c 'brokers $2\$' '$TRASH_DIRECTORY/broker.log') -gt $said"
}

# topic_holds_exactly TOPIC FILE: the topic holds the lines of FILE, each
# once, in any order (read to its end without metadata).
topic_holds_exactly () {
	pn-consume -b "$BROKERS" -t "$1" -e >"$1.read" &&
	test_line_count = "$(wc -l <"$2")" "$1.read" &&
	sort "$2" >"$1.expect" &&
	sort "$1.read" >"$1.actual" &&
	test_cmp "$1.expect" "$1.actual"
}

# The JSON records of a file without pn's metadata fields, sorted: the
# content to compare when order across partitions does not matter.
strip_meta_sorted () {
	jq -c 'del(._topic, ._partition, ._offset, ._timestamp, ._key, ._key_base64, ._headers)' \
		"$1" | sort
}
