#!/bin/bash
# scripts/bench-report.sh -- what `make bench` runs: every benchmark in one
# run, then one markdown report of pn beside its peers.
#
# Usage: PN_BIN=build/bin scripts/bench-report.sh [REPORT]
#                                        (default build/bench-report.md)
#
# Each scripts/bench-*.sh prints its details (on the standard error here)
# and adds its rows to the report through bench_row (scripts/bench-lib.sh);
# the report goes to the standard output and to REPORT.  Benchmarks are not
# tests: a slow run fails nothing, but a bench whose outputs disagree with
# its peer's exits non-zero, and so does this script.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
src=$(dirname "$here")
report=${1:-$src/build/bench-report.md}
mkdir -p "$(dirname "$report")"
rows=$(mktemp)
notes=$(mktemp)
moves=$(mktemp)
trap 'rm -f "$rows" "$notes" "$moves"' EXIT
export PN_BENCH_REPORT=$rows PN_BENCH_NOTES=$notes PN_BENCH_MOVES=$moves
status=0
for bench in bench.sh bench-aggregate.sh bench-sink-pg.sh bench-avro.sh bench-archive.sh \
	     bench-pipeline.sh bench-streams.sh bench-move.sh; do
	echo "== $bench" >&2
	"$here/$bench" >&2 || { echo "bench-report: $bench failed" >&2; status=1; }
done
{
	echo "# pn bench report"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Rates are records (or MB, or rows) per second, peak RSS from /usr/bin/time;"
	echo "the last column is pn's rate over the peer's (above 1: pn is faster)."
	echo
	echo "| task | pn | rate | peak RSS | peer | rate | peak RSS | pn / peer |"
	echo "|---|---|---|---|---|---|---|---|"
	cat "$rows"
	if [ -s "$notes" ]; then
		echo
		echo "A partition that moves (scripts/bench-move.sh): the new owner loads its"
		echo "piece, applies a record and emits its groups again, the last one saved it;"
		echo "the piece is also what each emission that changes the partition writes."
		echo
		echo "| state | move | piece | peak RSS |"
		echo "|---|---|---|---|"
		cat "$notes"
	fi
	if [ -s "$moves" ]; then
		echo
		echo "The same with Kafka's rebalance in the loop (scripts/bench-move.sh, three"
		echo "brokers, a topic of one partition): a second member joins and the partition"
		echo "moves to it; from its join, or from the last owner's \"revoked\", to the new"
		echo "record's row leaving the new owner's pn-aggregate; medians of 3, each part"
		echo "on its own: the rebalance notice (join to revoked: the last owner's next"
		echo "heartbeat), the save wait (revoked to the sink's acknowledgement; the save"
		echo "alone in brackets), the group's sync (to assigned), the load, and the"
		echo "first fetch (after a clean revocation the sink has every row of the piece,"
		echo "so nothing is emitted again)."
		echo
		echo "| state | move from join | from revoked | notice | save wait (save) | sync | load | fetch, apply |"
		echo "|---|---|---|---|---|---|---|---|"
		cat "$moves"
	fi
} | tee "$report"
echo >&2
echo "bench-report: written to $report" >&2
exit $status
