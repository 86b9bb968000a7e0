#!/bin/bash
# bench.sh — pn-produce vs kcat -P and pn-consume --meta vs kcat -C -J on the
# same generated ping file through the same dev broker, in one run.
#
#   scripts/bench.sh [RECORDS]        (default 1000000; make bench runs it)
#
# Prints records/s and peak RSS of each and the ratio pn / kcat.  The two
# producers get the same settings (idempotence, acks=all, linger.ms=5) so
# they do the same work.  Not a test: nothing here asserts a time.
set -eu
records=${1:-1000000}
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

pn-broker -t bench-pn:$partitions -t bench-kcat:$partitions -w "$work/bootstrap" >/dev/null &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers=$(cat "$work/bootstrap")
# no sticky partitioning: piled into few partitions, 1M pings would pass the
# 5 MB the mock keeps per partition and the oldest would vanish
same=(-X enable.idempotence=true -X acks=all -X linger.ms=5 -X sticky.partitioning.linger.ms=0)

# run NAME COMMAND...: time it, keep "seconds peak_kb lines" in $work/NAME
run () {
	local name=$1
	shift
	echo "running $name..." >&2
	/usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
		echo "bench: $name failed:" >&2
		cat "$work/$name.err" >&2
		exit 1
	}
	echo "$(cat "$work/$name.time") $(wc -l <"$work/$name.out")" >"$work/$name"
	rm -f "$work/$name.out"
}

run pn-produce pn-produce -b "$brokers" -t bench-pn "${same[@]}" "$work/pings.ndjson"
run kcat-P sh -c 'b=$1 f=$2; shift 2; exec kcat -P -b "$b" -t bench-kcat "$@" <"$f"' \
	sh "$brokers" "$work/pings.ndjson" "${same[@]}"
run pn-consume pn-consume -b "$brokers" -t bench-pn -e --meta
run kcat-C kcat -C -b "$brokers" -t bench-pn -e -J -q -o beginning

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

printf "\npn bench: %d pings, %.1f MB, %d partitions, dev broker (in-process mock)\n\n" \
	"$records" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$partitions"
report "pn-produce" pn-produce kcat-P "kcat -P"
echo
report "pn-consume --meta" pn-consume kcat-C "kcat -C -J"
