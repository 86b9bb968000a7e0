#!/bin/bash
# bench.sh — pn-produce vs kcat -P and pn-consume --meta vs kcat -C -J on the
# same generated ping file, on a real three-broker Apache Kafka cluster
# (scripts/kafka-cluster: KRaft, three combined nodes on loopback), in one run.
#
#   scripts/bench.sh [RECORDS]        (default 1000000; make bench runs it)
#
# Prints records/s and peak RSS of each and the ratio pn / kcat.  Each
# producer writes to a topic of its own, 12 partitions with replication
# factor 3 (acks=all then waits for two followers, as in production): 12
# gives every broker four partitions to lead, so all three work, without
# the per-partition cost of more on two cores; both consumers read the
# topic pn-produce wrote.  The two sides get the same settings (idempotence,
# acks=all, linger.ms=5) so they do the same work.  The brokers share the
# machine's two cores with the programs, so single runs vary by ±20% or
# more: each side runs BENCH_RUNS times (default 3), alternating, and the
# median time counts.
#
# A secondary row reads the same pings from the dev broker (pn-broker -n 3,
# librdkafka's mock cluster: 64 partitions, as it keeps only ~5 MB each);
# BENCH_MOCK=0 leaves it out.  Not a test: nothing here asserts a time.
set -eu
records=${1:-1000000}
runs=${BENCH_RUNS:-3}
partitions=12
mock_partitions=64	# the mock keeps ~5 MB per partition: 1M pings need 30+
here=$(cd "$(dirname "$0")" && pwd)
PN_BIN=${PN_BIN:-$(dirname "$here")/build/bin}
PATH=$PN_BIN:$here:$PATH
for tool in kcat /usr/bin/time java; do
	command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh bench)" >&2; exit 69; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pn-bench.XXXXXX")
mock_pid=
cleanup () {
	[ -z "$mock_pid" ] || kill $mock_pid 2>/dev/null || true
	kafka-cluster stop "$work/kafka" >/dev/null 2>&1 || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "generating $records pings..." >&2
gen-pings "$records" 1 >"$work/pings.ndjson"
bytes=$(stat -c %s "$work/pings.ndjson")

echo "starting a three-broker Kafka cluster..." >&2
kafka-cluster start "$work/kafka" >/dev/null
brokers=$(cat "$work/kafka/bootstrap")
for i in $(seq "$runs"); do
	kafka-cluster topic "$work/kafka" bench-pn-$i:$partitions:3 >/dev/null
	kafka-cluster topic "$work/kafka" bench-kcat-$i:$partitions:3 >/dev/null
done
same=(-X enable.idempotence=true -X acks=all -X linger.ms=5)

. "$here/bench-lib.sh"

for i in $(seq "$runs"); do
	bench_run pn-produce.$i pn-produce -b "$brokers" -t bench-pn-$i "${same[@]}" "$work/pings.ndjson"
	bench_run kcat-P.$i sh -c 'b=$1 f=$2 t=$3; shift 3; exec kcat -P -b "$b" -t "$t" "$@" <"$f"' \
		sh "$brokers" "$work/pings.ndjson" bench-kcat-$i "${same[@]}"
done
for i in $(seq "$runs"); do
	bench_run pn-consume.$i pn-consume -b "$brokers" -t bench-pn-1 -e --meta
	bench_run kcat-C.$i kcat -C -b "$brokers" -t bench-pn-1 -e -J -q -o beginning
done
names=(pn-produce kcat-P pn-consume kcat-C)

# The mock, read only: one topic written once, then the two readers in turn.
# No sticky partitioning: piled into few partitions, 1M pings would pass the
# 5 MB the mock keeps per partition and the oldest would vanish.
if [ "${BENCH_MOCK:-1}" != 0 ]; then
	pn-broker -n 3 -t bench-mock:$mock_partitions -w "$work/mock-bootstrap" >/dev/null &
	mock_pid=$!
	for _ in $(seq 100); do [ -s "$work/mock-bootstrap" ] && break; sleep 0.1; done
	mock=$(cat "$work/mock-bootstrap")
	echo "filling the dev broker..." >&2
	pn-produce -b "$mock" -t bench-mock -X sticky.partitioning.linger.ms=0 "$work/pings.ndjson"
	for i in $(seq "$runs"); do
		bench_run pn-consume-mock.$i pn-consume -b "$mock" -t bench-mock -e --meta
		bench_run kcat-C-mock.$i kcat -C -b "$mock" -t bench-mock -e -J -q -o beginning
	done
	names+=(pn-consume-mock kcat-C-mock)
fi

for name in "${names[@]}"; do
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

printf "\npn bench: %d pings, %.1f MB; Apache Kafka, 3 brokers on loopback, %d partitions,\n" \
	"$records" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$partitions"
printf "replication factor 3; median of %d runs each\n\n" "$runs"
report "pn-produce" pn-produce kcat-P "kcat -P"
echo
report "pn-consume --meta" pn-consume kcat-C "kcat -C -J"
if [ -n "$mock_pid" ]; then
	printf "\ndev broker (in-process mock), 3 brokers, %d partitions:\n\n" "$mock_partitions"
	report "pn-consume --meta" pn-consume-mock kcat-C-mock "kcat -C -J"
fi

row () {	# task pn-name pn-label peer-name peer-label
	local ps pk pl ks kk kl
	read -r ps pk pl <"$work/$2"
	read -r ks kk kl <"$work/$4"
	bench_row "$1" rec "$3" "$(bench_rate "$records" "$ps")" "$pk" "$5" "$(bench_rate "$records" "$ks")" "$kk"
}
row "produce (JSON, 1M pings, 3 brokers)" pn-produce pn-produce kcat-P "kcat -P"
row "consume --meta (JSON, 3 brokers)" pn-consume pn-consume kcat-C "kcat -C -J"
if [ -n "$mock_pid" ]; then
	row "consume --meta (JSON, mock 3 brokers)" pn-consume-mock pn-consume kcat-C-mock "kcat -C -J"
fi
