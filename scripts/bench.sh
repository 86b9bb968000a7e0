#!/bin/bash
# bench.sh — pn-produce vs kcat -P and pn-consume --meta vs kcat -C -J on the
# same generated ping file through the same dev broker, in one run.
#
#   scripts/bench.sh [RECORDS]        (default 1000000; make bench runs it)
#
# Prints records/s and peak RSS of each and the ratio pn / kcat.  The two
# producers get the same settings (idempotence, acks=all, linger.ms=5) so
# they do the same work.  The broker shares the machine's two cores with
# the programs, so single runs vary by ±20%: each side runs BENCH_RUNS
# times (default 3), alternating, and the median time counts.
# Not a test: nothing here asserts a time.
set -eu
records=${1:-1000000}
runs=${BENCH_RUNS:-3}
partitions=64	# the mock keeps ~5 MB per partition: 1M pings need 30+
PN_BIN=${PN_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}
PATH=$PN_BIN:$(cd "$(dirname "$0")" && pwd):$PATH
for tool in kcat /usr/bin/time; do
	command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh bench)" >&2; exit 69; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pn-bench.XXXXXX")
broker_pid=
cleanup () {
	[ -z "$broker_pid" ] || kill $broker_pid 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "generating $records pings..." >&2
gen-pings "$records" 1 >"$work/pings.ndjson"
bytes=$(stat -c %s "$work/pings.ndjson")

topics=()
for i in $(seq "$runs"); do
	topics+=(-t bench-pn-$i:$partitions -t bench-kcat-$i:$partitions)
done
pn-broker "${topics[@]}" -w "$work/bootstrap" >/dev/null &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers=$(cat "$work/bootstrap")
# no sticky partitioning: piled into few partitions, 1M pings would pass the
# 5 MB the mock keeps per partition and the oldest would vanish
same=(-X enable.idempotence=true -X acks=all -X linger.ms=5 -X sticky.partitioning.linger.ms=0)

. "$(dirname "$0")/bench-lib.sh"

for i in $(seq "$runs"); do
	bench_run pn-produce.$i pn-produce -b "$brokers" -t bench-pn-$i "${same[@]}" "$work/pings.ndjson"
	bench_run kcat-P.$i sh -c 'b=$1 f=$2 t=$3; shift 3; exec kcat -P -b "$b" -t "$t" "$@" <"$f"' \
		sh "$brokers" "$work/pings.ndjson" bench-kcat-$i "${same[@]}"
done
for i in $(seq "$runs"); do
	bench_run pn-consume.$i pn-consume -b "$brokers" -t bench-pn-1 -e --meta
	bench_run kcat-C.$i kcat -C -b "$brokers" -t bench-pn-1 -e -J -q -o beginning
done

for name in pn-produce kcat-P pn-consume kcat-C; do
	bench_median $name
done

report () {	# label pn-name peer-name peer-label
	read -r pn_s pn_kb pn_lines <"$work/$2"
	read -r peer_s peer_kb peer_lines <"$work/$3"
	awk -v label="$1" -v peer="$4" -v n="$records" \
	    -v ps="$pn_s" -v pk="$pn_kb" -v pl="$pn_lines" \
	    -v ks="$peer_s" -v kk="$peer_kb" -v kl="$peer_lines" 'BEGIN {
		pr = n / (ps > 0 ? ps : 0.001); kr = n / (ks > 0 ? ks : 0.001)
		printf "%-22s %12.0f rec/s %8.1f MB peak RSS %9s\n", label, pr, pk / 1024, ""
		printf "%-22s %12.0f rec/s %8.1f MB peak RSS %9s\n", peer, kr, kk / 1024, ""
		printf "%-22s %12.2fx        %8.2fx memory\n", "ratio pn/" peer, pr / kr, pk / kk
		if (pl != kl && pl + kl > 0) printf "  (lines written differ: %d vs %d)\n", pl, kl
	}'
}

printf "\npn bench: %d pings, %.1f MB, %d partitions, dev broker (in-process mock),\n" \
	"$records" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$partitions"
printf "median of %d runs each\n\n" "$runs"
report "pn-produce" pn-produce kcat-P "kcat -P"
echo
report "pn-consume --meta" pn-consume kcat-C "kcat -C -J"

row () {	# task pn-name pn-label peer-name peer-label
	local ps pk pl ks kk kl
	read -r ps pk pl <"$work/$2"
	read -r ks kk kl <"$work/$4"
	bench_row "$1" rec "$3" "$(awk -v n="$records" -v s="$ps" 'BEGIN { print n / (s > 0 ? s : 0.001) }')" \
		"$pk" "$5" "$(awk -v n="$records" -v s="$ks" 'BEGIN { print n / (s > 0 ? s : 0.001) }')" "$kk"
}
row "produce (JSON, 1M pings)" pn-produce pn-produce kcat-P "kcat -P"
row "consume --meta (JSON)" pn-consume pn-consume kcat-C "kcat -C -J"
