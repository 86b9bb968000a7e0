#!/bin/bash
# demo.sh — what `make demo` runs: the original system's day on a laptop.
#
# Starts the embedded dev broker with the system's three topics and a
# private PostgreSQL with the dashboard's campaign table, generates a day
# of dispatches and pings (scripts/gen-day), publishes them (Confluent Avro
# through a schema registry when PN_SCHEMA_REGISTRY names one, JSON
# otherwise), runs the live campaign report and the archive (scripts/
# pn-pipeline) until they have caught up, shows one merchant's dashboard
# and the archive, then rebuilds the table from the archive alone and
# compares.  Stops everything it started.
#
#   DEMO_DISPATCHES   notifications in the day (default 100000)
#   PN_SCHEMA_REGISTRY  a schema registry URL: publish as Confluent Avro
set -eu
here=$(cd "$(dirname "$0")" && pwd -P)
src=$(dirname "$here")
PN_BIN=${PN_BIN:-$src/build/bin}
export PATH=$PN_BIN:$here:$PATH LC_ALL=C TZ=UTC
dispatches=${DEMO_DISPATCHES:-100000}
registry=${PN_SCHEMA_REGISTRY:-}
merchant=shop-7.myshopify.com

. "$here/lib-standalone.sh"
standalone_init pn-demo
work=$TRASH_DIRECTORY
# shellcheck source=../tests/lib-pg.sh
. "$src/tests/lib-pg.sh"

t0=$(date +%s.%N)
elapsed () { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%4.1fs", b - a }'; }
step () { printf '\n[%s] %s\n' "$(elapsed)" "$*"; }
indent () { sed 's/^/    /'; }
count () { wc -l <"$1" | tr -d ' '; }
# the sum of a start-offsets file's offsets: records consumed
offsets_sum () { tr -c '0-9\n' ' ' <"$1" | awk '{ for (i = 2; i <= NF; i += 2) s += $i } END { print s + 0 }'; }

step "dev broker: pushnotification-dispatch, pushnotification-ping, campaign-reporting"
pn-broker -n 3 -t pushnotification-dispatch:6 -t pushnotification-ping:6 \
	-t campaign-reporting:6 -w "$work/bootstrap" >/dev/null 2>"$work/broker.log" &
test_cleanup_kill $!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers=$(cat "$work/bootstrap")
echo "    3 brokers at $brokers (in memory)"

step "PostgreSQL: a private server and the dashboard's campaign table"
start_pg
gen-day "$work/day" "$dispatches" 2026
for table in campaign campaign_rebuilt; do
	sql "CREATE TABLE $table (id bigint PRIMARY KEY, merchant text NOT NULL,
		created_at timestamp NOT NULL, impressions bigint NOT NULL DEFAULT 0,
		clicks bigint NOT NULL DEFAULT 0)"
	psql -X -q -v ON_ERROR_STOP=1 \
		-c "\\copy $table (id, merchant, created_at) FROM '$work/day/campaigns.tsv'"
done
echo "    port $PGPORT, $(count "$work/day/campaigns.tsv") campaigns of the day seeded"

step "a day of the platform (scripts/gen-day): published"
produce=(pn-produce -b "$brokers" --key source_id)
format=JSON
if [ -n "$registry" ]; then
	produce+=(--avro --schema-registry "$registry")
	format="Confluent Avro via $registry"
fi
"${produce[@]}" -t pushnotification-dispatch ${registry:+--schema "$src/schemas/push_notification_dispatch.avsc"} \
	"$work/day/dispatch.ndjson"
"${produce[@]}" -t pushnotification-ping ${registry:+--schema "$src/schemas/push_notification_ping.avsc"} \
	--reject "$work/rejected.ndjson" "$work/day/ping.ndjson" 2>"$work/produce.log"
pings=$(( $(count "$work/day/ping.ndjson") - $(count "$work/rejected.ndjson") ))
printf '    %-34s %8d\n' "dispatches" "$(count "$work/day/dispatch.ndjson")" \
	"pings (delivered, clicked)" "$pings" \
	"malformed lines set aside" "$(count "$work/rejected.ndjson")"
echo "    as $format"

step "live pipelines (scripts/pn-pipeline): campaign report and archive"
pipe_t0=$(date +%s.%N)
# a member of the consumer group "campaign-report", its state one piece
# per partition in a directory that other instances could share
pn-pipeline report -b "$brokers" -s "$work/report.state/" 2>"$work/report.log" &
report=$!
# objects are written once 2 s old, so the archive reaches the end of the
# topic while it runs, not only when stopped
pn-pipeline archive -b "$brokers" -D "$work/archive" -A 2s 2>"$work/archive.log" &
archive=$!
_pn_kill_pids+=($report $archive)
echo "    pn-consume | pn-aggregate | pn-sink-pg        (report, pid $report)"
echo "    pn-consume | pn-archive write                 (archive, pid $archive)"
# caught_up NAME COMMAND...: waits (up to 10 minutes, for a busy machine)
# until the start offsets COMMAND prints add up to every ping, then says
# how long the pipeline took
caught_up () {
	local name=$1 took
	shift
	for _ in $(seq 6000); do
		if "$@" >"$work/at" 2>/dev/null && [ "$(offsets_sum "$work/at")" = "$pings" ]; then
			took=$(awk -v a="$pipe_t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
			awk -v n="$pings" -v s="$took" -v name="$name" 'BEGIN {
				printf "    %s: caught up with %d pings in %.1fs (%.0f pings/s, start-up included)\n",
					name, n, s, n / s }'
			return 0
		fi
		sleep 0.1
	done
	echo "demo: the $name did not reach the end of the topic" >&2
	cat "$work"/*.log >&2
	return 1
}
caught_up report pn-aggregate --state "$work/report.state" --print-offsets
caught_up archive pn-archive offsets "$work/archive"

# SIGTERM: the first stage stops, the others drain what it wrote
kill -TERM $report $archive
wait $report $archive
pn-archive offsets "$work/archive" >"$work/at"
archived=$(offsets_sum "$work/at")
echo "    stopped with SIGTERM; the archive holds $archived of them"

step "the merchant dashboard: $merchant"
psql -X -q -P footer=off -c "SELECT id AS campaign, created_at, impressions, clicks,
	round(100.0 * clicks / nullif(impressions, 0), 1) AS \"ctr %\"
	FROM campaign WHERE merchant = '$merchant' ORDER BY created_at" | indent

step "the archive: zstd NDJSON, Hive partitions, one manifest per object"
pn-archive ls "$work/archive" >"$work/ls"
awk -F'"records":' '{ split($2, r, ","); n += r[1] }
	match($0, /"bytes":[0-9]+/) { b += substr($0, RSTART + 8, RLENGTH - 8) }
	END { printf "    %d objects, %d records, %.1f MB compressed\n", NR, n, b / 1048576 }' "$work/ls"
(cd "$work/archive" && find . -name '*.zst' | sed 's|^\./||' | sort | head -n 3) | indent
echo "    ..."
pn-archive verify "$work/archive" >/dev/null && echo "    pn-archive verify: every object ok, no gap"

step "rebuilt from the archive alone: pn-archive cat | pn-aggregate --emit final | pn-sink-pg"
pn-archive cat "$work/archive" |
	pn-aggregate --emit final --where source=campaign --group-by source_id:id \
		--count delivered_time:impressions --count clicked_time:clicks |
	pn-sink-pg -t campaign_rebuilt -k id -m update -f id,impressions,clicks
diff_rows=$(sql "SELECT count(*) FROM ((TABLE campaign EXCEPT TABLE campaign_rebuilt)
	UNION ALL (TABLE campaign_rebuilt EXCEPT TABLE campaign)) d")
# and an independent count of the generated file (less the lines that
# pn-produce refused), with awk
grep -vxFf "$work/rejected.ndjson" "$work/day/ping.ndjson" |
	awk '/"source":"campaign"/ {
		match($0, /"source_id":[0-9]+/); id = substr($0, RSTART + 12, RLENGTH - 12)
		if ($0 !~ /"delivered_time":null/) imp[id]++
		if ($0 !~ /"clicked_time":null/) clk[id]++
		seen[id] = 1
	} END { for (id in seen) printf "%s|%d|%d\n", id, imp[id], clk[id] }' |
	sort >"$work/awk.counts"
sql "SELECT id, impressions, clicks FROM campaign WHERE impressions + clicks > 0" | sort >"$work/table.counts"
sql "SELECT sum(impressions), sum(clicks) FROM campaign" | tr '|' ' ' >"$work/totals"
read -r impressions clicks <"$work/totals"
verdict=identical; [ "$diff_rows" = 0 ] || verdict="DIFFERENT ($diff_rows rows)"
awk_verdict=identical; cmp -s "$work/awk.counts" "$work/table.counts" || awk_verdict=DIFFERENT
printf '    %-40s %s\n' "live table vs rebuilt from the archive" "$verdict" \
	"live table vs an awk count of the day" "$awk_verdict"
printf '    %-40s %d impressions, %d clicks\n' "totals" "$impressions" "$clicks"

step "done; everything stopped and removed"
[ "$verdict" = identical ] && [ "$awk_verdict" = identical ] && [ "$archived" = "$pings" ]
