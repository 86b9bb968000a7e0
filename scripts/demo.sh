#!/bin/bash
# demo.sh — what `make demo` runs: a day's worth of ping events through the
# embedded dev broker and back, the way the live pipeline will read them.
#
# Starts pn-broker with the original system's topics, generates pings with
# gen-pings, sends them with pn-produce (keyed by source_id, so a campaign's
# events stay in one partition), reads them back with pn-consume --meta, and
# prints a short report.  Stops everything it started.  Later stages
# (pn-aggregate, pn-sink-pg, pn-archive) extend this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PN_BIN=${PN_BIN:-$here/../build/bin}
PATH=$PN_BIN:$here:$PATH
records=${DEMO_RECORDS:-50000}

work=$(mktemp -d "${TMPDIR:-/tmp}/pn-demo.XXXXXX")
broker_pid=
cleanup () {
	[ -z "$broker_pid" ] || kill "$broker_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
step () { printf '\n== %s\n' "$*"; }

step "starting the dev broker (librdkafka mock cluster, in memory)"
pn-broker -n 3 -t pushnotification-dispatch:6 -t pushnotification-ping:6 \
	-t campaign-reporting:6 -w "$work/bootstrap" >/dev/null &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers=$(cat "$work/bootstrap")
echo "   brokers: $brokers"

step "generating $records ping events (scripts/gen-pings)"
gen-pings "$records" 2026 >"$work/pings.ndjson"
head -n 2 "$work/pings.ndjson" | sed 's/^/   /'

step "pn-produce -t pushnotification-ping --key source_id"
pn-produce -b "$brokers" -t pushnotification-ping --key source_id --stats \
	"$work/pings.ndjson" 2>"$work/produce.stats"
sed 's/^/   /' "$work/produce.stats"

step "pn-consume -t pushnotification-ping --meta -e"
pn-consume -b "$brokers" -t pushnotification-ping --meta -e --stats \
	>"$work/consumed.ndjson" 2>"$work/consume.stats"
sed 's/^/   /' "$work/consume.stats"
head -n 1 "$work/consumed.ndjson" | sed 's/^/   /'

step "round trip"
sent=$(wc -l <"$work/pings.ndjson")
got=$(wc -l <"$work/consumed.ndjson")
# The payloads must come back byte for byte: strip the metadata prefix.
sed 's/^{"_topic":[^}]*"_key":[^,]*,/{/' "$work/consumed.ndjson" | sort >"$work/back"
sort "$work/pings.ndjson" >"$work/sent"
if cmp -s "$work/sent" "$work/back"; then verdict="identical"; else verdict="DIFFERENT"; fi
printf '   %-28s %8d\n   %-28s %8d\n   %-28s %8s\n' \
	"records sent" "$sent" "records read back" "$got" "payloads" "$verdict"

step "records per partition (one campaign, one partition)"
awk -F'"_partition":' '{ split($2, a, ","); n[a[1]]++ }
	END { for (p in n) printf "   partition %s  %6d\n", p, n[p] }' "$work/consumed.ndjson" | sort

step "top campaigns (what pn-aggregate will keep live in PostgreSQL)"
printf '   %-10s %-26s %12s %8s\n' "campaign" "merchant" "impressions" "clicks"
awk '/"source":"campaign"/ {
	match($0, /"source_id":[0-9]+/); id = substr($0, RSTART + 12, RLENGTH - 12)
	match($0, /"merchant":"[^"]*"/); m[id] = substr($0, RSTART + 12, RLENGTH - 13)
	if ($0 !~ /"delivered_time":null/) imp[id]++
	if ($0 !~ /"clicked_time":null/) clk[id]++
} END { for (id in m) printf "%d %s %d %d\n", id, m[id], imp[id], clk[id] }' \
	"$work/consumed.ndjson" | sort -k3,3nr -k1,1n | head -n 5 |
	awk '{ printf "   %-10s %-26s %12d %8d\n", $1, $2, $3, $4 }'

[ "$verdict" = identical ] && [ "$sent" = "$got" ]
