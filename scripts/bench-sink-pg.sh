#!/bin/bash
# scripts/bench-sink-pg.sh -- pn-sink-pg against the ways it replaces.
#
# Usage: PN_BIN=build/bin scripts/bench-sink-pg.sh [ROWS] [KEYS]
#
# Starts a private PostgreSQL 15 (as tests/lib-pg.sh does), generates ROWS
# changelog rows (default 1000000) over KEYS keys (default 50000) in a
# fixed pseudo-random order, and times:
#   pn-sink-pg     --mode upsert into a table keyed by id (default batches)
#   psql UPDATE    one UPDATE per event through psql, as the JDBC sink in
#                  update mode does row by row (on the first PSQL_ROWS rows,
#                  default 100000, since it is slow; the rate is what counts)
#   \copy          plain COPY into a table without a key: the ceiling
# and prints rows/s and the ratios.  The server runs with fsync off, the
# same for every contender.  On this two-core machine a single run of the
# same binary varies by a third, so pn-sink-pg and \copy each run
# BENCH_RUNS times (default 3), alternating, and the median time counts;
# after each pn-sink-pg run the table must hold the last values of every key.
set -eu

rows=${1:-1000000}
keys=${2:-50000}
runs=${BENCH_RUNS:-3}
psql_rows=${PSQL_ROWS:-100000}
src=$(cd "$(dirname "$0")/.." && pwd -P)
PN_BIN=${PN_BIN:-$src/build/bin}
case $PN_BIN in /*) ;; *) PN_BIN=$(pwd -P)/$PN_BIN ;; esac
export PATH=$PN_BIN:$PATH LC_ALL=C TZ=UTC

. "$src/scripts/lib-standalone.sh"
standalone_init pn-bench-sink-pg
# shellcheck source=../tests/lib-pg.sh
. "$src/tests/lib-pg.sh"
. "$src/scripts/bench-lib.sh"
start_pg
cd "$TRASH_DIRECTORY"
work=$TRASH_DIRECTORY

echo "generating $rows changelog rows over $keys keys" >&2
awk -v n="$rows" -v k="$keys" 'BEGIN {
	srand(1)
	for (i = 1; i <= n; i++) {
		id = int(rand() * k)
		c[id]++
		printf "{\"id\":%d,\"impressions\":%d,\"clicks\":%d}\n", id, c[id], int(c[id] / 10)
	}
}' >rows.ndjson
jq -r '[.id, .impressions, .clicks] | @tsv' rows.ndjson >rows.tsv
head -n "$psql_rows" rows.ndjson |
	jq -r '"UPDATE campaign SET impressions = \(.impressions), clicks = \(.clicks) WHERE id = \(.id);"' >updates.sql
# what the table must hold after pn-sink-pg: the last values per key
awk -F '\t' -v k="$keys" '{ last[$1] = $2 "|" $3 }
	END { for (i = 0; i < k; i++) print i "|" (i in last ? last[i] : "0|0") }' rows.tsv >expect

table () {
	sql "SET client_min_messages = warning; DROP TABLE IF EXISTS campaign"
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, impressions bigint, clicks bigint)"
	sql "INSERT INTO campaign SELECT g, 0, 0 FROM generate_series(0, $keys - 1) g"
	sql "VACUUM ANALYZE campaign"
}

for i in $(seq "$runs"); do
	table
	bench_run sink.$i pn-sink-pg -t campaign -k id --stats ${SINK_ARGS:-} rows.ndjson
	sql "SELECT * FROM campaign ORDER BY id" >actual
	cmp -s expect actual || { echo "bench: pn-sink-pg left the wrong table (run $i)" >&2; exit 1; }
	sql "SET client_min_messages = warning; DROP TABLE IF EXISTS plain"
	sql "CREATE TABLE plain (id bigint, impressions bigint, clicks bigint)"
	bench_run copy.$i psql -X -q -v ON_ERROR_STOP=1 -c "\\copy plain FROM 'rows.tsv'"
done
table
bench_run update psql -X -q -v ON_ERROR_STOP=1 -f updates.sql
bench_median sink
bench_median copy

read -r sink_s sink_kb _ <sink
read -r copy_s copy_kb _ <copy
read -r psql_s psql_kb _ <update
sink_r=$(bench_rate "$rows" "$sink_s")
psql_r=$(bench_rate "$psql_rows" "$psql_s")
copy_r=$(bench_rate "$rows" "$copy_s")
row () { awk -v l="$1" -v r="$2" -v s="$3" -v kb="$4" 'BEGIN {
	printf "%-34s %12.0f %10.2f   %.1f MB\n", l, r, s, kb / 1024 }'; }
printf '%-34s %12s %10s   %s\n' "contender (median of $runs)" "rows/s" "seconds" "client peak RSS"
row "pn-sink-pg --mode upsert" "$sink_r" "$sink_s" "$sink_kb"
row "psql, one UPDATE per event ($psql_rows)" "$psql_r" "$psql_s" "$psql_kb"
row "psql \\copy, no key (ceiling)" "$copy_r" "$copy_s" "$copy_kb"
awk -v a="$sink_r" -v b="$psql_r" -v c="$copy_r" 'BEGIN {
	printf "pn-sink-pg / UPDATE per event: %.1fx\n", a / b
	printf "pn-sink-pg / \\copy ceiling:    %.2f\n", a / c
}'
runs_of () { for i in $(seq "$runs"); do cut -d' ' -f1 "$1.$i"; done | tr '\n' ' '; }
echo "pn-sink-pg runs (s): $(runs_of sink)  \\copy runs (s): $(runs_of copy)"
echo "pn-sink-pg --stats: $(cat sink.$runs.err)"

bench_row "sink-pg upsert, 1M rows / 50k keys" rows "pn-sink-pg" "$sink_r" "$sink_kb" \
	"psql, one UPDATE per event" "$psql_r" "$psql_kb"
bench_row "sink-pg upsert vs the ceiling" rows "pn-sink-pg" "$sink_r" "$sink_kb" \
	"psql \\copy, no key" "$copy_r" "$copy_kb"
