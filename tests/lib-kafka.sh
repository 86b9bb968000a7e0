# tests/lib-kafka.sh -- start pn-broker for a test script.  Source after lib.sh.
#
#   start_broker [-n BROKERS] TOPIC:PARTITIONS ...
#
# Starts the embedded dev broker in the background with the given topics,
# waits for its bootstrap list, and sets BROKERS and BROKER_PID.  The broker
# is stopped when the script ends.  KAFKA_PROPS names a properties file for
# consumers: the mock group coordinator ignores a leaving member, so a short
# session timeout keeps a restarted group member from waiting 45 s.
# PN_BROKER_WRAP (e.g. "strace -f -e trace=none -o FILE") runs the broker
# under another program, to see which signals reach it.

start_broker () {
	local args=()
	if [ "$1" = -n ]; then
		args+=(-n "$2")
		shift 2
	fi
	for t in "$@"; do
		args+=(-t "$t")
	done
	rm -f "$TRASH_DIRECTORY/bootstrap"
	${PN_BROKER_WRAP:-} pn-broker "${args[@]}" -w "$TRASH_DIRECTORY/bootstrap" >/dev/null \
		2>"$TRASH_DIRECTORY/broker.log" &
	BROKER_PID=$!
	test_cleanup_kill $BROKER_PID
	wait_for_file "$TRASH_DIRECTORY/bootstrap" 20 || return 1
	BROKERS=$(cat "$TRASH_DIRECTORY/bootstrap")
	KAFKA_PROPS=$TRASH_DIRECTORY/kafka.properties
	cat >"$KAFKA_PROPS" <<-PROPS
	# for consumer groups on the mock cluster (see lib-kafka.sh)
	session.timeout.ms=3000
	heartbeat.interval.ms=500
	PROPS
	export BROKERS BROKER_PID KAFKA_PROPS
}

# The JSON records of a file without pn's metadata fields, sorted: the
# content to compare when order across partitions does not matter.
strip_meta_sorted () {
	jq -c 'with_entries(select(.key | startswith("_") | not))' "$1" | sort
}
