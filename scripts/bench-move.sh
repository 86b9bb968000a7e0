#!/bin/bash
# scripts/bench-move.sh -- what a partition's state costs when it moves
# between members of the consumer group, at 10k and 1M groups: the new
# owner loads its piece, applies its first record and emits the groups
# again; the last owner saves it on "revoked".  Measured on pn-aggregate
# alone (no Kafka: a rebalance adds the group protocol's own round trips,
# about the session's heartbeat interval), the median of 3 runs, with the
# piece's size: what every emission that changes the partition writes.
#
# Usage: PN_BIN=build/bin scripts/bench-move.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
. "$here/bench-lib.sh"
PATH=${PN_BIN:-$(dirname "$here")/build/bin}:$PATH
work=$(mktemp -d "${TMPDIR:-/tmp}/pn-bench-move.XXXXXX")
trap 'rm -rf "$work"' EXIT
query=(-g k --count '*:n' --sum v)
control () { printf '{"_control":"%s","_topic":"m","_partition":0}\n' "$1"; }

for groups in 10000 1000000; do
	state=$work/state-$groups/
	# one record per group, all in partition 0
	awk -v n="$groups" 'BEGIN { for (i = 0; i < n; i++)
		printf "{\"_topic\":\"m\",\"_partition\":0,\"_offset\":%d,\"k\":%d,\"v\":1}\n", i, i }' \
		>"$work/records"
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
	bench_note "| $groups groups | $(awk -v s="$seconds" 'BEGIN { printf "%.0f ms", s * 1000 }') |" \
		"$(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1048576 }') |" \
		"$(awk -v k="$kb" 'BEGIN { printf "%.1f MB", k / 1024 }') |"
done
