#!/bin/bash
# bench-archive.sh — pn-archive write vs `zstd -3` and pn-archive cat vs
# zstdcat on the same NDJSON file (pings as pn-consume --meta writes them,
# one partition, a day of _timestamps), in one run, on a directory archive;
# the records that come back are checked byte for byte.  Then cat of the
# same number of pings over 8 partitions, in the default order (merged by
# time, every record looked at) and with --order offset (objects whole),
# against zstdcat of that file; the records are checked byte for byte (time
# order) and as a sorted multiset (offset order).  Rates are MB/s of
# uncompressed NDJSON; sizes are what each leaves on disk.  zstd -3
# compresses on one worker thread beside the one that reads (its default
# -T1), pn-archive on two beside the one that reads, parses and groups the
# records; user seconds show the CPU each spent in all.
#
#   scripts/bench-archive.sh [RECORDS]     (default 1000000)
set -eu
records=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
PN_BIN=${PN_BIN:-$here/../build/bin}
PATH=$PN_BIN:$here:$PATH
for tool in zstd zstdcat /usr/bin/time; do
	command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh bench)" >&2; exit 69; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/pn-bench-archive.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$here/../tests/lib-archive.sh"

echo "generating $records pings with Kafka coordinates..." >&2
gen_meta "$records" 1 >"$work/pings"
bytes=$(stat -c %s "$work/pings")
gen_meta "$records" 8 >"$work/pings8"
bytes8=$(stat -c %s "$work/pings8")

# measure NAME COMMAND...: wall and user seconds and peak KB of the run
# with the least wall time so far into $work/NAME.time
measure () {
	local name=$1 s best
	shift
	echo "running $name..." >&2
	/usr/bin/time -f "%e %U %M" -o "$work/$name.try" "$@"
	read -r s _ <"$work/$name.try"
	best=$(cut -d" " -f1 "$work/$name.time" 2>/dev/null || echo 1e9)
	if awk -v s="$s" -v b="$best" 'BEGIN { exit !(s < b) }'; then
		mv "$work/$name.try" "$work/$name.time"
	fi
}

# five rounds, each tool in turn; the best run of each counts (the machine
# is shared: the best run is the one least disturbed)
for i in 1 2 3 4 5; do
	rm -rf "$work/arch" "$work/pings.zst"
	measure write pn-archive write "$work/arch" "$work/pings"
	measure zstd zstd -3 -q -o "$work/pings.zst" "$work/pings"
	measure cat sh -c 'pn-archive cat "$1" >"$2"' sh "$work/arch" "$work/cat.out"
	measure zstdcat sh -c 'zstdcat "$1" >"$2"' sh "$work/pings.zst" "$work/zstdcat.out"
done
# 8 partitions: written once; cat in both orders beside zstdcat, five rounds
pn-archive write "$work/arch8" "$work/pings8"
zstd -3 -q -o "$work/pings8.zst" "$work/pings8"
for i in 1 2 3 4 5; do
	measure cat8 sh -c 'pn-archive cat "$1" >"$2"' sh "$work/arch8" "$work/cat8.out"
	measure cat8o sh -c 'pn-archive cat --order offset "$1" >"$2"' sh "$work/arch8" "$work/cat8o.out"
	measure zstdcat8 sh -c 'zstdcat "$1" >"$2"' sh "$work/pings8.zst" "$work/zstdcat8.out"
done
objects8=$(find "$work/arch8" -name '*.ndjson.zst' | wc -l)
same=identical
cmp -s "$work/pings" "$work/cat.out" || same=DIFFERENT
cmp -s "$work/pings" "$work/zstdcat.out" || same=DIFFERENT
cmp -s "$work/pings8" "$work/cat8.out" || same=DIFFERENT
sort "$work/pings8" >"$work/pings8.sorted"
sort "$work/cat8o.out" | cmp -s - "$work/pings8.sorted" || same=DIFFERENT
arch_bytes=$(find "$work/arch" -name '*.ndjson.zst' -printf '%s\n' | awk '{ s += $1 } END { print s }')
manifest_bytes=$(find "$work/arch" -name '_*.manifest.json' -printf '%s\n' | awk '{ s += $1 } END { print s }')
objects=$(find "$work/arch" -name '*.ndjson.zst' | wc -l)
zstd_bytes=$(stat -c %s "$work/pings.zst")

printf "\npn-archive bench: %d records, %.1f MB NDJSON, %d objects (records back %s)\n\n" \
	"$records" "$(echo "$bytes" | awk '{ print $1 / 1e6 }')" "$objects" "$same"
row () {	# NAME PEER [BYTES]
	read -r s u kb <"$work/$1.time"
	read -r ps pu pkb <"$work/$2.time"
	awk -v n="$1" -v p="$2" -v b="${3:-$bytes}" -v s="$s" -v u="$u" -v kb="$kb" \
	    -v ps="$ps" -v pu="$pu" -v pkb="$pkb" 'BEGIN {
		s = s > 0 ? s : 0.001; ps = ps > 0 ? ps : 0.001
		printf "%-11s %7.0f MB/s  %5.2f s wall %5.2f s user %7.1f MB peak RSS\n", n, b / s / 1e6, s, u, kb / 1024
		printf "%-11s %7.0f MB/s  %5.2f s wall %5.2f s user %7.1f MB peak RSS\n", p, b / ps / 1e6, ps, pu, pkb / 1024
		printf "%-11s %7.2f (target >= 0.80)\n\n", n "/" p, ps / s }'
}
row write zstd
row cat zstdcat
printf "8 partitions, %d objects: cat8 merged by time, cat8o --order offset\n\n" "$objects8"
row cat8 zstdcat8 "$bytes8"
row cat8o zstdcat8 "$bytes8"

. "$(dirname "$0")/bench-lib.sh"
mb=$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')
mb8=$(awk -v b="$bytes8" 'BEGIN { print b / 1e6 }')
mbrow () {	# task pn-name pn-label peer-name peer-label [MB]
	local s kb ps pkb m=${6:-$mb}
	read -r s _ kb <"$work/$2.time"
	read -r ps _ pkb <"$work/$4.time"
	bench_row "$1" MB "$3" "$(bench_rate "$m" "$s")" "$kb" "$5" "$(bench_rate "$m" "$ps")" "$pkb"
}
mbrow "archive write, $(awk -v a="$arch_bytes" -v z="$zstd_bytes" 'BEGIN { printf "%.3f", a / z }') of zstd's size" write "pn-archive write" zstd "zstd -3"
mbrow "archive cat" cat "pn-archive cat" zstdcat "zstdcat"
mbrow "archive cat, 8 partitions, time order (default) vs zstdcat" cat8 "pn-archive cat" \
	zstdcat8 "zstdcat" "$mb8"
mbrow "archive cat, 8 partitions, --order offset vs zstdcat" cat8o "pn-archive cat --order offset" \
	zstdcat8 "zstdcat" "$mb8"
awk -v a="$arch_bytes" -v m="$manifest_bytes" -v z="$zstd_bytes" -v b="$bytes" 'BEGIN {
	printf "size: archive objects %d bytes (+ %d in manifests), zstd -3 %d bytes\n", a, m, z
	printf "      ratio %.2f vs %.2f; archive/zstd %.3f (target <= 1.05)\n", b / a, b / z, a / z }'
