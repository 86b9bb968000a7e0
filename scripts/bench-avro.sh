#!/bin/bash
# bench-avro.sh — Confluent Avro beside the JSON path and kcat, one run:
# pn-produce --avro vs pn-produce (JSON) vs kcat -P on the same generated
# ping file, and pn-consume --meta decoding Avro vs pn-consume --meta on the
# JSON topic vs kcat -C -J on the Avro topic, through the same dev broker,
# with the registry test double (tests/registry-double.py) serving the
# schema.
#
#   scripts/bench-avro.sh [RECORDS]        (default 1000000; make bench runs it)
#
# Prints records/s and peak RSS of each and the ratios Avro / JSON (the
# target: at least 0.70 both ways) and Avro / kcat.  Each side runs
# BENCH_RUNS times (default 3), alternating; the median time counts.
# Not a test: nothing here asserts a time.
set -eu
records=${1:-1000000}
runs=${BENCH_RUNS:-3}
partitions=64	# the mock keeps ~5 MB per partition
here=$(cd "$(dirname "$0")" && pwd)
PN_BIN=${PN_BIN:-$here/../build/bin}
PATH=$PN_BIN:$here:$PATH
for tool in kcat /usr/bin/time /usr/bin/python3; do
	command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh bench)" >&2; exit 69; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pn-bench-avro.XXXXXX")
pids=()
cleanup () {
	[ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "generating $records pings..." >&2
gen-pings "$records" 1 >"$work/pings.ndjson"

topics=()
for i in $(seq "$runs"); do
	topics+=(-t json-$i:$partitions -t avro-$i:$partitions -t kcat-$i:$partitions)
done
pn-broker "${topics[@]}" -w "$work/bootstrap" >/dev/null &
pids+=($!)
/usr/bin/python3 "$here/../tests/registry-double.py" "$work/registry" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && [ -s "$work/registry" ] && break; sleep 0.1; done
brokers=$(cat "$work/bootstrap")
registry=$(cat "$work/registry")
schema=$here/../schemas/push_notification_ping.avsc
same=(-X enable.idempotence=true -X acks=all -X linger.ms=5 -X sticky.partitioning.linger.ms=0)

. "$(dirname "$0")/bench-lib.sh"

for i in $(seq "$runs"); do
	bench_run produce-json.$i pn-produce -b "$brokers" -t json-$i "${same[@]}" "$work/pings.ndjson"
	bench_run produce-avro.$i pn-produce -b "$brokers" -t avro-$i "${same[@]}" --avro \
		--schema "$schema" --schema-registry "$registry" "$work/pings.ndjson"
	bench_run produce-kcat.$i sh -c 'b=$1 f=$2 t=$3; shift 3; exec kcat -P -b "$b" -t "$t" "$@" <"$f"' \
		sh "$brokers" "$work/pings.ndjson" kcat-$i "${same[@]}"
done
for i in $(seq "$runs"); do
	bench_run consume-json.$i pn-consume -b "$brokers" -t json-1 -e --meta
	bench_run consume-avro.$i pn-consume -b "$brokers" -t avro-1 -e --meta --schema-registry "$registry"
	bench_run consume-kcat.$i kcat -C -b "$brokers" -t avro-1 -e -J -q -o beginning
done

for name in produce-json produce-avro produce-kcat consume-json consume-avro consume-kcat; do
	bench_median $name
done

report () {	# title avro json kcat
	printf "%s\n" "$1"
	awk -v n="$records" -v a="$(cat "$work/$2")" -v j="$(cat "$work/$3")" -v k="$(cat "$work/$4")" \
	    -v an="$5" -v jn="$6" -v kn="$7" 'BEGIN {
		split(a, A, " "); split(j, J, " "); split(k, K, " ")
		ar = n / (A[1] > 0 ? A[1] : 0.001); jr = n / (J[1] > 0 ? J[1] : 0.001)
		kr = n / (K[1] > 0 ? K[1] : 0.001)
		printf "  %-30s %10.0f rec/s %8.1f MB peak RSS\n", an, ar, A[2] / 1024
		printf "  %-30s %10.0f rec/s %8.1f MB peak RSS\n", jn, jr, J[2] / 1024
		printf "  %-30s %10.0f rec/s %8.1f MB peak RSS\n", kn, kr, K[2] / 1024
		printf "  %-30s %10.2fx (target >= 0.70)\n", "ratio Avro / JSON", ar / jr
		printf "  %-30s %10.2fx\n", "ratio Avro / kcat", ar / kr
		if (A[3] != J[3] && A[3] + J[3] > 0) printf "  (lines differ: %d vs %d)\n", A[3], J[3]
	}'
}

printf "\npn bench-avro: %d pings, %d partitions, dev broker (in-process mock),\n" \
	"$records" "$partitions"
printf "median of %d runs each\n\n" "$runs"
report "produce" produce-avro produce-json produce-kcat \
	"pn-produce --avro" "pn-produce (JSON)" "kcat -P (JSON)"
echo
report "consume --meta" consume-avro consume-json consume-kcat \
	"pn-consume (Avro -> JSON)" "pn-consume (JSON)" "kcat -C -J (Avro topic)"

row () {	# task pn-file pn-label peer-file peer-label
	local ps pk ks kk
	read -r ps pk _ <"$work/$2"
	read -r ks kk _ <"$work/$4"
	bench_row "$1" rec "$3" "$(bench_rate "$records" "$ps")" \
		"$pk" "$5" "$(bench_rate "$records" "$ks")" "$kk"
}
row "produce, Avro vs JSON (target ≥ 0.70)" produce-avro "pn-produce --avro" produce-json "pn-produce (JSON)"
row "consume, Avro vs JSON (target ≥ 0.70)" consume-avro "pn-consume (Avro)" consume-json "pn-consume (JSON)"
