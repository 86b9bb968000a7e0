#!/bin/bash
# bench-aggregate.sh — pn-aggregate vs jq and awk computing the original
# campaign report on the same generated ping file, in one run; the three
# final tables are checked identical.  Then the memory per key at 1M
# distinct keys, and the cost of checkpointing.
#
#   scripts/bench-aggregate.sh [RECORDS]     (default 1000000)
set -eu
records=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
PN_BIN=${PN_BIN:-$here/../build/bin}
PATH=$PN_BIN:$here:$PATH
for tool in jq python3 /usr/bin/time; do
	command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh bench)" >&2; exit 69; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/pn-bench-agg.XXXXXX")
trap 'rm -rf "$work"' EXIT
final_table () { python3 "$here/../tests/final-table.py" "$@"; }

echo "generating $records pings..." >&2
gen-pings "$records" 1 >"$work/pings"

# time NAME COMMAND...: seconds and peak KB into $work/NAME.time, output in $work/NAME.out
measure () {
	local name=$1
	shift
	echo "running $name..." >&2
	/usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" <"$work/pings" >"$work/$name.out"
}

measure pn-aggregate pn-aggregate --where source=campaign --group-by source_id:id \
	--count delivered_time:impressions --count clicked_time:clicks --emit final
# (jq's reduce with .[k] |= … is quadratic here: 1 min per 100k records;
# group_by is its fast way, at the price of holding every record)
measure jq jq -c -n '[inputs | select(.source == "campaign")
	| [.source_id, .delivered_time != null, .clicked_time != null]]
	| group_by(.[0])
	| map({id: .[0][0], impressions: (map(select(.[1])) | length),
	       clicks: (map(select(.[2])) | length)}) | .[]'
measure awk awk '/"source":"campaign"/ {
	match($0, /"source_id":-?[0-9]+/); id = substr($0, RSTART + 12, RLENGTH - 12)
	seen[id] = 1
	if ($0 !~ /"delivered_time":null/) imp[id]++
	if ($0 !~ /"clicked_time":null/) clk[id]++
} END { for (id in seen) printf "{\"id\":%s,\"impressions\":%d,\"clicks\":%d}\n", id, imp[id], clk[id] }'

for name in pn-aggregate jq awk; do
	final_table id "$work/$name.out" >"$work/$name.table"
done
same=identical
cmp -s "$work/pn-aggregate.table" "$work/jq.table" || same=DIFFERENT
cmp -s "$work/pn-aggregate.table" "$work/awk.table" || same=DIFFERENT

# 1M distinct keys, count only: the state per key
seq 1 1000000 | awk '{ printf "{\"k\":%d}\n", $1 }' >"$work/keys"
/usr/bin/time -f "%e %M" -o "$work/keys.time" pn-aggregate -g k --count '*' --emit final \
	<"$work/keys" >/dev/null
/usr/bin/time -f "%e %M" -o "$work/empty.time" pn-aggregate -g k --count '*' </dev/null >/dev/null
# checkpoint cost at the default 1 s interval: ten passes over the pings
# through a pipe (long enough for several emissions), without and with
# --state, three interleaved rounds, the fastest of each (this machine's
# speed drifts by 10-20% between runs)
passes () { for _ in 1 2 3 4 5 6 7 8 9 10; do cat "$work/pings"; done; }
for round in 1 2 3; do
	for v in nostate state; do
		args=()
		[ $v = nostate ] || args=(--state "$work/state")
		rm -f "$work/state"
		passes | /usr/bin/time -f "%e %M" -o "$work/$v.try" pn-aggregate \
			--where source=campaign --group-by source_id:id \
			--count delivered_time:impressions --count clicked_time:clicks \
			"${args[@]}" >/dev/null
		if [ ! -f "$work/$v.time" ] || awk -v t="$(cut -d" " -f1 "$work/$v.try")" \
		   -v b="$(cut -d" " -f1 "$work/$v.time")" 'BEGIN { exit !(t < b) }'; then
			mv "$work/$v.try" "$work/$v.time"
		fi
	done
done

printf "\npn-aggregate bench: %d pings, the campaign report (tables %s)\n\n" "$records" "$same"
read -r pn_s pn_kb <"$work/pn-aggregate.time"
for name in pn-aggregate jq awk; do
	read -r s kb <"$work/$name.time"
	awk -v n="$name" -v r="$records" -v s="$s" -v kb="$kb" -v ps="$pn_s" 'BEGIN {
		s = s > 0 ? s : 0.001; p = ps > 0 ? ps : 0.001
		printf "%-14s %12.0f rec/s %8.1f MB peak RSS", n, r / s, kb / 1024
		if (n == "pn-aggregate") printf "\n"; else printf "   pn is %.1fx faster\n", s / p }'
done
read -r _ keys_kb <"$work/keys.time"
read -r _ empty_kb <"$work/empty.time"
read -r state_s _ <"$work/state.time"
read -r nostate_s _ <"$work/nostate.time"
. "$(dirname "$0")/bench-lib.sh"
read -r jq_s jq_kb <"$work/jq.time"
read -r awk_s awk_kb <"$work/awk.time"
bench_row "aggregate, campaign report" rec pn-aggregate "$(bench_rate "$records" "$pn_s")" "$pn_kb" \
	jq "$(bench_rate "$records" "$jq_s")" "$jq_kb"
bench_row "aggregate, campaign report" rec pn-aggregate "$(bench_rate "$records" "$pn_s")" "$pn_kb" \
	awk "$(bench_rate "$records" "$awk_s")" "$awk_kb"
awk -v k="$keys_kb" -v e="$empty_kb" 'BEGIN {
	printf "\nstate at 1M distinct keys (count only): %.0f bytes per key\n", (k - e) * 1024 / 1000000 }'
awk -v a="$nostate_s" -v b="$state_s" 'BEGIN {
	printf "10 passes, emitting every 1 s (the default): %.2f s with --state, %.2f s without (%+.0f%%)\n", b, a, (b - a) / (a > 0 ? a : 0.001) * 100 }'
[ "$same" = identical ]
