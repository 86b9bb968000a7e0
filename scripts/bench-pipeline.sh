#!/bin/bash
# scripts/bench-pipeline.sh -- the whole pipeline's sustained rate and memory.
#
# Usage: PN_BIN=build/bin scripts/bench-pipeline.sh [PINGS]   (default 1000000)
#
# Publishes PINGS pings (scripts/gen-pings, keyed by source_id) to the dev
# broker (64 partitions: the mock keeps about 5 MB per partition), starts a
# private PostgreSQL with the campaign table, then runs both live pipelines
# at once over the backlog, as pn-pipeline does, each stage under
# /usr/bin/time:
#   report   pn-consume --meta | pn-aggregate --state | pn-sink-pg -m update
#   archive  pn-consume --meta | pn-archive write DIR
# and prints pings/s from Kafka to the final PostgreSQL rows (and to the
# archive), the peak RSS of every process and their sum, and checks the
# table against an awk count.  Targets: >= 100k pings/s end to end on this
# 2-core machine; <= 100 MB for all pn processes together.
set -eu
pings=${1:-1000000}
partitions=64
src=$(cd "$(dirname "$0")/.." && pwd -P)
PN_BIN=${PN_BIN:-$src/build/bin}
case $PN_BIN in /*) ;; *) PN_BIN=$(pwd -P)/$PN_BIN ;; esac
export PATH=$PN_BIN:$src/scripts:$PATH LC_ALL=C TZ=UTC

. "$src/scripts/lib-standalone.sh"
standalone_init pn-bench-pipeline
work=$TRASH_DIRECTORY
# shellcheck source=../tests/lib-pg.sh
. "$src/tests/lib-pg.sh"
. "$src/scripts/bench-lib.sh"
start_pg
cd "$work"

pn-broker -t pushnotification-ping:$partitions -w bootstrap >/dev/null 2>broker.log &
test_cleanup_kill $!
for _ in $(seq 100); do [ -s bootstrap ] && break; sleep 0.1; done
brokers=$(cat bootstrap)

echo "generating and publishing $pings pings" >&2
gen-pings "$pings" 7 >pings.ndjson
pn-produce -b "$brokers" -t pushnotification-ping --key source_id \
	-X sticky.partitioning.linger.ms=0 pings.ndjson
bench_campaign_table
grep -o '"source":"campaign","source_id":[0-9]*' pings.ndjson | cut -d: -f3 | sort -u |
	sed 's/$/\t0\t0/' >ids.tsv
psql -X -q -v ON_ERROR_STOP=1 -c "\\copy campaign FROM 'ids.tsv'"

echo "running the report and the archive pipelines over the backlog" >&2
t0=$(date +%s.%N)
(
	bench_timed consume-r pn-consume -b "$brokers" -t pushnotification-ping --meta -e |
	bench_timed aggregate pn-aggregate --state report.state --where source=campaign \
		--group-by source_id:id --count delivered_time:impressions --count clicked_time:clicks |
	bench_timed sink pn-sink-pg -t campaign -k id -m update -f id,impressions,clicks
	date +%s.%N >report.end
) &
report=$!
(
	bench_timed consume-a pn-consume -b "$brokers" -t pushnotification-ping --meta -e |
	bench_timed archive pn-archive write archive
	date +%s.%N >archive.end
) &
archive=$!
wait $report $archive

bench_campaign_expect pings.ndjson >expect
sql "SELECT id, impressions, clicks FROM campaign" | sort >actual
same=identical
cmp -s expect actual || same=DIFFERENT

secs () { awk -v a="$t0" -v b="$(cat "$1")" 'BEGIN { print b - a }'; }
report_s=$(secs report.end)
archive_s=$(secs archive.end)
printf '\npn bench-pipeline: %d pings, %d partitions, both pipelines at once on %d cores\n\n' \
	"$pings" "$partitions" "$(nproc)"
awk -v n="$pings" -v r="$report_s" -v a="$archive_s" 'BEGIN {
	printf "%-46s %9.0f pings/s (%.2f s)  target >= 100k\n", "Kafka -> final PostgreSQL rows (report)", n / r, r
	printf "%-46s %9.0f pings/s (%.2f s)\n", "Kafka -> archive objects (archive)", n / a, a }'
total=0
printf '\n%-28s %10s\n' "process" "peak RSS"
for p in consume-r aggregate sink consume-a archive; do
	read -r _ kb _ <"$p.time"
	total=$((total + kb))
	printf '%-28s %7.1f MB\n' "$p" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
done
printf '%-28s %7.1f MB  target <= 100 MB\n' "all pn processes" "$(awk -v k="$total" 'BEGIN { print k / 1024 }')"
echo "table vs an awk count of the pings: $same"

if [ -n "${PN_BENCH_REPORT:-}" ]; then
	awk -v n="$pings" -v r="$report_s" -v a="$archive_s" -v kb="$total" 'BEGIN {
		printf "| whole pipeline, report (Kafka -> PostgreSQL rows) | pn-pipeline report | %.0f k pings/s | %.1f MB (all 5 processes) | target | 100 k pings/s | 100 MB | %.2f× |\n", n / r / 1e3, kb / 1024, n / r / 100000
		printf "| whole pipeline, archive (Kafka -> objects), at the same time | pn-pipeline archive | %.0f k pings/s | | | | | |\n", n / a / 1e3
	}' >>"$PN_BENCH_REPORT"
fi
[ "$same" = identical ]
