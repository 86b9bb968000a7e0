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
# same for every contender.
set -eu

rows=${1:-1000000}
keys=${2:-50000}
psql_rows=${PSQL_ROWS:-100000}
src=$(cd "$(dirname "$0")/.." && pwd -P)
PN_BIN=${PN_BIN:-$src/build/bin}
case $PN_BIN in /*) ;; *) PN_BIN=$(pwd -P)/$PN_BIN ;; esac
export PATH=$PN_BIN:$PATH LC_ALL=C TZ=UTC

. "$src/scripts/lib-standalone.sh"
standalone_init pn-bench-sink-pg
# shellcheck source=../tests/lib-pg.sh
. "$src/tests/lib-pg.sh"
start_pg
cd "$TRASH_DIRECTORY"

now () { date +%s.%N; }
rate () { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

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

table () {
	sql "SET client_min_messages = warning; DROP TABLE IF EXISTS campaign"
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, impressions bigint, clicks bigint)"
	sql "INSERT INTO campaign SELECT g, 0, 0 FROM generate_series(0, $keys - 1) g"
	sql "VACUUM ANALYZE campaign"
}

table
t0=$(now)
/usr/bin/time -f "%M %U %S" -o sink.time \
	pn-sink-pg -t campaign -k id --stats ${SINK_ARGS:-} rows.ndjson 2>sink.stats
t1=$(now)
sink_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
sql "SELECT md5(string_agg(id || ',' || impressions || ',' || clicks, ';' ORDER BY id)) FROM campaign" >sink.md5

table
t0=$(now)
/usr/bin/time -f "%M %U %S" -o psql.time \
	psql -X -q -v ON_ERROR_STOP=1 -f updates.sql >/dev/null
t1=$(now)
psql_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')

sql "CREATE TABLE plain (id bigint, impressions bigint, clicks bigint)"
t0=$(now)
/usr/bin/time -f "%M %U %S" -o copy.time \
	psql -X -q -v ON_ERROR_STOP=1 -c "\\copy plain FROM 'rows.tsv'"
t1=$(now)
copy_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')

sink_r=$(rate "$rows" "$sink_s")
psql_r=$(rate "$psql_rows" "$psql_s")
copy_r=$(rate "$rows" "$copy_s")
# client side only: the server's work is in the seconds, not in these
mem () { awk '{ printf "%.1f MB, %.2f s CPU", $1 / 1024, $2 + $3 }' "$1"; }
printf '%-34s %12s %10s   %s\n' "contender" "rows/s" "seconds" "client peak RSS, CPU"
printf '%-34s %12s %10.2f   %s\n' "pn-sink-pg --mode upsert" "$sink_r" "$sink_s" "$(mem sink.time)"
printf '%-34s %12s %10.2f   %s\n' "psql, one UPDATE per event ($psql_rows)" "$psql_r" "$psql_s" "$(mem psql.time)"
printf '%-34s %12s %10.2f   %s\n' "psql \\copy, no key (ceiling)" "$copy_r" "$copy_s" "$(mem copy.time)"
awk -v a="$sink_r" -v b="$psql_r" -v c="$copy_r" 'BEGIN {
	printf "pn-sink-pg / UPDATE per event: %.1fx\n", a / b
	printf "pn-sink-pg / \\copy ceiling:    %.2f\n", a / c
}'
echo "pn-sink-pg --stats: $(cat sink.stats)"

. "$src/scripts/bench-lib.sh"
read -r sink_kb _ <sink.time
read -r psql_kb _ <psql.time
read -r copy_kb _ <copy.time
bench_row "sink-pg upsert, 1M rows / 50k keys" rows "pn-sink-pg" "$sink_r" "$sink_kb" \
	"psql, one UPDATE per event" "$psql_r" "$psql_kb"
bench_row "sink-pg upsert vs the ceiling" rows "pn-sink-pg" "$sink_r" "$sink_kb" \
	"psql \\copy, no key" "$copy_r" "$copy_kb"
