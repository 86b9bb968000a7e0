#!/bin/bash
# scripts/bench-move.sh -- what it costs to move a partition's state
# between members of the consumer group, at 10k and 1M groups.
#
# Usage: PN_BIN=build/bin scripts/bench-move.sh
#
# 1. pn-aggregate alone (no Kafka): the new owner loads its piece, applies
#    its first record and emits the groups again; the last owner saves it
#    on "revoked".  The median of 3 runs, with the piece's size: what every
#    emission that changes the partition writes.
#
# 2. With Kafka's rebalance in the loop (BENCH_MOVE_KAFKA=0 leaves it out):
#    a real three-broker cluster (scripts/kafka-cluster) and a private
#    PostgreSQL.  A topic of one partition (replication factor 3) holds one
#    record per group; the state directory already holds them applied
#    (built by pn-aggregate from the same records with their offsets).
#    Each member runs what `scripts/pn-pipeline report` runs:
#      pn-consume -g G --meta --commit-from S/ --wait-for-sink |
#        pn-aggregate --state S/ | pn-sink-pg --ack-to S/
#    with -v on every stage, --emit-interval 10ms so that a record's row
#    leaves within 10 ms of being applied (pn-pipeline's default of 1 s
#    would add up to a second), and an upsert into a table of its own.
#    A move: member A (client.id pn-move-z) owns the partition, has loaded
#    it and written its rows (a record produced then is in the table and
#    in the piece); member B (client.id pn-move-a) joins.  The range
#    assignor gives the one partition to the member whose id sorts first,
#    which the client.id decides: B, every time.  As soon as A logs
#    "revoked", one new record (a group of its own) goes to the topic
#    through a pn-produce already connected (linger.ms=0); B's first
#    record applied is that record, its row in B's output.  Both members
#    stop after each move; the next one starts A again.  Median of 3.
#
#    Every stage's standard error goes through a filter that stamps each
#    line with the wall clock as it arrives (the programs write their
#    stderr unbuffered), and B's output goes through tee to one that
#    stamps the row of the new record; the sink's acknowledgement is the
#    mtime of the piece's .sunk file.  All are the same clock, to within a
#    few ms (mtime: the kernel's tick).  The events of a move:
#      join      B's pn-consume starts
#      revoked   A's pn-consume: "revoked 1 partition(s)" (heard at A's
#                next heartbeat, heartbeat.interval.ms, 3 s by default)
#      saved     A's pn-aggregate: "state saved and let go"
#      sunk      A's pn-sink-pg wrote the rows and acknowledged (.sunk)
#      assigned  B's pn-consume: "assigned 1 partition(s)" (A's commit,
#                its rejoin and the group's sync)
#      loaded    B's pn-aggregate: "state loaded"
#      applied   the new record's row leaves B's pn-aggregate, once the
#                record is fetched (A revoked cleanly and its sink
#                acknowledged the whole piece: B emits no group again)
#    and the figures: the move from the join and from "revoked" to
#    "applied", and its parts: rebalance notice (join -> revoked), save
#    wait (revoked -> sunk), group sync (sunk -> assigned), load (assigned
#    -> loaded), fetch and apply (loaded -> applied).  A record that
#    reached Kafka only after B had loaded would lengthen the move: the
#    script warns when it was written after "loaded".  A saved its piece
#    when it wrote the row of the record before the join, so its save on
#    "revoked" finds nothing changed; a partition with changes not yet
#    saved (a live stream, the default --emit-interval of 1 s) adds one
#    save of the piece, as in the first part.
#
# BENCH_MOVE_SIZES (default "10000 1000000") sets the numbers of groups.
# The report gets a row per size for each part (bench_note, bench_move_row).
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
src=$(dirname "$here")
PN_BIN=${PN_BIN:-$src/build/bin}
case $PN_BIN in /*) ;; *) PN_BIN=$(pwd -P)/$PN_BIN ;; esac
export PATH=$PN_BIN:$here:$PATH LC_ALL=C TZ=UTC
sizes=${BENCH_MOVE_SIZES:-10000 1000000}

. "$here/lib-standalone.sh"
standalone_init pn-bench-move
work=$TRASH_DIRECTORY
. "$here/bench-lib.sh"
query=(-g k --count '*:n' --sum v)

# records N TOPIC: one record per group 0..N-1, in partition 0 of TOPIC
records () {
	awk -v n="$1" -v t="$2" 'BEGIN { for (i = 0; i < n; i++)
		printf "{\"_topic\":\"%s\",\"_partition\":0,\"_offset\":%d,\"k\":%d,\"v\":1}\n", t, i, i, i }'
}
ms () { awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }'; }

# ---- 1. pn-aggregate alone ----
control () { printf '{"_control":"%s","_topic":"m","_partition":0}\n' "$1"; }
for groups in $sizes; do
	state=$work/state-$groups/
	records "$groups" m >"$work/records"
	pn-aggregate "${query[@]}" --state "$state" "$work/records" >/dev/null
	{
		control assigned
		printf '{"_topic":"m","_partition":0,"_offset":%d,"k":1,"v":1}\n' "$groups"
		control revoked
	} >"$work/move"
	for i in 1 2 3; do
		bench_run "move-$groups.$i" pn-aggregate "${query[@]}" --state "$state" "$work/move"
	done
	bench_median "move-$groups"
	read -r seconds kb rows <"$work/move-$groups"
	bytes=$(stat -c %s "$state/m/0.ckpt")
	echo "bench-move: $groups groups: ${seconds}s to load, apply one record, emit $rows rows" \
		"and save; piece $bytes bytes; peak RSS ${kb} KB" >&2
	bench_note "| $groups groups | $(ms "$seconds") |" \
		"$(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1048576 }') |" \
		"$(awk -v k="$kb" 'BEGIN { printf "%.1f MB", k / 1024 }') |"
	rm -rf "$state" "$work/records"
done
[ "${BENCH_MOVE_KAFKA:-1}" != 0 ] || exit 0

# ---- 2. with Kafka's rebalance in the loop ----
# shellcheck source=../tests/lib-pg.sh
. "$src/tests/lib-pg.sh"
start_pg
cd "$work"
standalone_at_exit "kafka-cluster stop '$work/kafka' >/dev/null"
# at exit, before the cluster stops: the producer's input ends
standalone_at_exit "exec 7>&-"
echo "bench-move: starting a three-node Kafka cluster" >&2
kafka-cluster start "$work/kafka" >/dev/null
brokers=$(cat "$work/kafka/bootstrap")
group=bench-move

# stamp: each line of the standard input, after the wall clock
stamp () { perl -MTime::HiRes=time -ne 'BEGIN { $| = 1 } printf "%.6f %s", time, $_'; }
now () { date +%s.%N; }
# when FILE (stamped lines) first has a line holding TEXT, or nothing
when () { awk -v t="$2" 'index($0, t) { print $1; exit }' "$1" 2>/dev/null; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds; fails after SECONDS
wait_for () {
	local deadline=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.005
	done
}

# member NAME CLIENT_ID: the report's three stages, as pn-pipeline runs
# them, on fifos; NAME.pids holds their pids, pn-consume's first, NAME.*.log the stamped
# stderr, NAME.marks the stamped rows of the records produced during moves
member () {
	local name=$1 client=$2
	rm -f "$name".[12]
	mkfifo "$name.1" "$name.2"
	pn-consume -b "$brokers" -t "$topic" -g "$group" --meta --commit-from "$state" \
		--wait-for-sink -v -X client.id="$client" >"$name.1" 2> >(stamp >"$name.consume.log") &
	echo $! >"$name.pids"
	pn-aggregate --state "$state" -v --emit-interval 10ms "${query[@]}" <"$name.1" \
		2> >(stamp >"$name.aggregate.log") |
		tee >(grep --line-buffered -F '"k":1000000' | stamp >"$name.marks") >"$name.2" &
	echo $! >>"$name.pids"
	pn-sink-pg -t moves -k k -m upsert --ack-to "$state" <"$name.2" 2>"$name.sink.log" &
	echo $! >>"$name.pids"
	# shellcheck disable=SC2046
	test_cleanup_kill $(cat "$name.pids")
}
# stop NAME...: the members end as pn-pipeline ends them, by their heads
stop () {
	local name
	for name in "$@"; do kill -TERM "$(head -n 1 "$name.pids")" 2>/dev/null || true; done
	for name in "$@"; do
		# shellcheck disable=SC2046
		wait $(cat "$name.pids") || { echo "bench-move: member $name failed" >&2; logs "$name".*.log; exit 1; }
	done
}
# produce LINE: one record through the producer on fd 7
produce () { echo "$1" >&7; produced=$((produced + 1)); }
caught_up () {
	[ "$(sql "SELECT count(*) FROM moves WHERE k = $1")" = 1 ] &&
		[ "$(cat "$state/$topic/0.next" 2>/dev/null)" = "$produced" ]
}
logs () { tail -n 20 "$@" >&2; }

# move SIZE I: one move; appends its events' times to events-SIZE
move () {
	local groups=$1 i=$2 ready=$((2000000000 + $2)) key=$((1000000000 + $2))
	local t_join t_rev t_saved t_sunk t_asg t_load t_apply t_prod
	rm -f a.* b.*
	member a pn-move-z
	produce "{\"k\":$ready,\"v\":1}"
	wait_for 600 caught_up $ready || { echo "bench-move: A never caught up" >&2; logs a.*.log; exit 1; }
	t_join=$(now)
	member b pn-move-a
	wait_for 120 grep -q 'revoked 1 partition' a.consume.log ||
		{ echo "bench-move: A was never revoked" >&2; logs a.*.log b.*.log; exit 1; }
	produce "{\"k\":$key,\"v\":1}"
	t_prod=$(now)
	wait_for 600 grep -q "\"k\":$key," b.marks ||
		{ echo "bench-move: B never applied the new record" >&2; logs a.*.log b.*.log; exit 1; }
	t_rev=$(when a.consume.log 'revoked 1 partition')
	t_saved=$(when a.aggregate.log 'state saved and let go')
	# the mtime comes from the kernel's coarse clock, up to a tick behind
	# the others: never before the save it acknowledges
	t_sunk=$(stat -c %.9Y "$state/$topic/0.sunk")
	t_sunk=$(awk -v a="$t_sunk" -v b="$t_saved" 'BEGIN { printf "%.6f", (a > b ? a : b) }')
	t_asg=$(when b.consume.log 'assigned 1 partition')
	t_load=$(when b.aggregate.log 'state loaded')
	t_apply=$(when b.marks "\"k\":$key,")
	stop a b
	case " $t_join $t_rev $t_saved $t_sunk $t_asg $t_load $t_apply " in
	*"  "*) echo "bench-move: move $i: an event is missing from the logs" >&2
		logs a.*.log b.*.log; exit 1 ;;
	esac
	awk -v p="$t_prod" -v l="$t_load" -v i="$i" 'BEGIN { if (p > l)
		printf "bench-move: warning: move %d: the record was written %.0f ms after B loaded\n",
			i, (p - l) * 1000 }' >&2
	echo "$t_join $t_rev $t_saved $t_sunk $t_asg $t_load $t_apply" >>"events-$groups"
}

# the parts of a move, from its events: total from the join, from
# "revoked", then rebalance notice, save wait (and in it the save alone),
# group sync, load, re-emit and apply; one line of seconds
parts () {
	awk '{ print $7 - $1, $7 - $2, $2 - $1, $4 - $2, $3 - $2, $5 - $4, $6 - $5, $7 - $6 }'
}

sql "CREATE TABLE moves (k bigint PRIMARY KEY, n bigint NOT NULL, sum_v bigint NOT NULL)"
for groups in $sizes; do
	topic=moves-$groups
	state=$work/kafka-state-$groups/
	kafka-cluster topic "$work/kafka" "$topic:1:3" >&2
	echo "bench-move: $groups groups into $topic and its state" >&2
	records "$groups" "$topic" >records
	pn-aggregate "${query[@]}" --state "$state" records >/dev/null
	cut -d, -f4- records | sed 's/^/{/' | pn-produce -b "$brokers" -t "$topic" -X linger.ms=20
	produced=$groups
	rm -f records
	mkfifo produce.in
	pn-produce -b "$brokers" -t "$topic" -X linger.ms=0 <produce.in 2>produce.log &
	producer=$!
	test_cleanup_kill $producer
	exec 7>produce.in
	: >"events-$groups"
	for i in 1 2 3; do
		echo "bench-move: $groups groups, move $i" >&2
		move "$groups" "$i"
	done
	exec 7>&-
	wait $producer
	rm -f produce.in
	parts <"events-$groups" >"parts-$groups"
	# the median of each column
	for c in 1 2 3 4 5 6 7 8; do
		cut -d' ' -f$c "parts-$groups" | sort -g | sed -n 2p
	done | paste -s -d' ' >"median-$groups"
	read -r total from_rev notice wait save sync load emit <"median-$groups"
	echo "bench-move: $groups groups, Kafka in the loop, median of 3:" \
		"join to first record applied $(ms "$total"), from revoked $(ms "$from_rev");" \
		"rebalance notice $(ms "$notice"), save wait $(ms "$wait") (the save $(ms "$save"))," \
		"group sync $(ms "$sync"), load $(ms "$load"), fetch, apply $(ms "$emit")" >&2
	echo "bench-move: the runs (s: total, from revoked, notice, wait, save, sync, load, emit):" >&2
	sed 's/^/  /' "parts-$groups" >&2
	bench_move_row "| $groups groups | $(ms "$total") | $(ms "$from_rev") | $(ms "$notice") |" \
		"$(ms "$wait") ($(ms "$save")) | $(ms "$sync") | $(ms "$load") | $(ms "$emit") |"
	rm -rf "$state"
done
echo "bench-move: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
