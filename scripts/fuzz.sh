#!/bin/bash
# scripts/fuzz.sh -- run pn's libFuzzer targets, each for FUZZ_SECONDS
# (default 60), from seed corpora built here from the tests' inputs.
#
#   scripts/fuzz.sh BUILD_DIR [TARGET...]     (make fuzz: BUILD_DIR build/fuzz)
#
# BUILD_DIR/bin holds the fuzz-* targets and seed-avro (clang, libFuzzer,
# ASan, UBSan); PN_BIN the programs of the normal build, which write the
# seeds that need them (archive objects and manifests, checkpoints).  The
# corpus of a target, BUILD_DIR/corpus/TARGET, keeps what the runs found,
# so each run starts where the last one stopped; a crash is kept as
# BUILD_DIR/crashes/TARGET-crash-*, with the log beside it.  Prints one line
# per target; exits 1 if any crashed.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: scripts/fuzz.sh BUILD_DIR [TARGET...]}" && pwd) || exit 2
shift
seconds=${FUZZ_SECONDS:-60}
bin=${PN_BIN:-$src/build/bin}
if [ $# -gt 0 ]; then
	targets="$*"
else
	targets=$(cd "$build/bin" && ls fuzz-* | sed 's/^fuzz-//')
fi

# ---- seed corpora ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pn-fuzz-seeds.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# a file named after its content, as libFuzzer names what it finds
seed () {	# seed TARGET < bytes
	local f
	f=$tmp/seed
	cat >"$f"
	mkdir -p "$build/corpus/$1"
	mv "$f" "$build/corpus/$1/seed-$(sha1sum <"$f" | cut -c1-16)"
}

# one seed per line
seed_lines () {	# seed_lines TARGET FILE
	local line
	while IFS= read -r line; do
		printf '%s' "$line" | seed "$1"
	done <"$2"
}

make_seeds () {
	local t f
	# records as pn-consume --meta writes them, and the Avro fixtures
	"$src/scripts/gen-pings" 40 7 | awk '{
		printf "{\"_topic\":\"pings\",\"_partition\":%d,\"_offset\":%d,\"_timestamp\":%d,%s\n",
			NR % 2, NR, 1764028800000 + NR * 1000, substr($0, 2) }' >"$tmp/pings.ndjson"
	head -n 4 "$tmp/pings.ndjson" >"$tmp/few.ndjson"
	for t in json record; do
		seed_lines $t "$tmp/few.ndjson"
		seed_lines $t "$src/tests/avro/all-types.ndjson"
		seed $t <"$tmp/few.ndjson"
	done
	seed record <"$tmp/pings.ndjson"

	# Avro: the records encoded with each schema fuzz-avro knows
	"$build/bin/seed-avro" "$src/schemas/push_notification_ping.avsc" 0 \
		"$tmp" ping <"$tmp/few.ndjson" &&
	"$build/bin/seed-avro" "$src/tests/avro/all-types.avsc" 2 "$tmp" all \
		<"$src/tests/avro/all-types.ndjson" &&
	"$build/bin/seed-avro" "$src/tests/avro/all-types.avsc" 3 "$tmp" allr \
		<"$src/tests/avro/all-types.ndjson" &&
	printf '%s\n' '{"merchant":"a","source_id":1,"legacy":"x","color":"GREEN","score":0.5,"clicked_time":"2025-11-25 10:00:00"}' |
		"$build/bin/seed-avro" "$src/tests/fuzz/ping-v1.avsc" 4 "$tmp" v1 &&
	printf '%s\n' '{"merchant":"b","source_id":8589934592,"color":"BLUE","score":null,"tags":["t"]}' |
		"$build/bin/seed-avro" "$src/tests/fuzz/ping-v2.avsc" 5 "$tmp" v2 || return 1
	for f in "$tmp"/ping-* "$tmp"/all-* "$tmp"/allr-* "$tmp"/v1-* "$tmp"/v2-*; do
		seed avro <"$f"
	done

	# an archive written by pn-archive: manifests, objects, and their
	# content (byte 1: fuzz-objreader compresses it)
	"$bin/pn-archive" write "$tmp/archive" <"$tmp/pings.ndjson" || return 1
	for f in $(find "$tmp/archive" -name '_*.manifest.json'); do
		seed manifest <"$f"
	done
	for f in $(find "$tmp/archive" -name '*.ndjson.zst'); do
		{ printf '\0'; cat "$f"; } | seed objreader
		{ printf '\1'; zstd -dc "$f"; } | seed objreader
	done

	# a checkpoint of fuzz-query.h's query, as a file (byte 0) and as the
	# body fuzz-checkpoint wraps (byte 1)
	grep '"delivered_time":"' "$tmp/pings.ndjson" |
		"$bin/pn-aggregate" --state "$tmp/campaign.state" --where source=campaign \
			--group-by source_id:id --count delivered_time:impressions \
			--count clicked_time:clicks --sum subscriber_id:s --min subscriber_id:lo \
			--max subscriber_id:hi --count-distinct subscriber_id:subs \
			--latest merchant:last --time-field delivered_time --window tumbling:1h \
			--grace 1m >/dev/null || return 1
	{ printf '\0'; cat "$tmp/campaign.state"; } | seed checkpoint
	{ printf '\1'; head -c -8 "$tmp/campaign.state" | tail -c +17; } | seed checkpoint

	# start offsets, as pn-archive offsets and pn-aggregate write them
	"$bin/pn-archive" offsets "$tmp/archive" | seed offsets
	"$bin/pn-aggregate" --state "$tmp/campaign.state" --print-offsets | seed offsets

	# and the hand-written ones
	for t in "$src"/tests/fuzz/seeds/*/; do
		t=$(basename "$t")
		for f in "$src/tests/fuzz/seeds/$t"/*; do
			seed "$t" <"$f"
		done
	done
}

if ! make_seeds; then
	echo "pn: cannot build the seed corpora" >&2
	exit 1
fi

# ---- the runs ----
# -close_fd_mask=2: the library's messages about bad input are the normal
# case here; libFuzzer and the sanitizers keep writing to the log.
failed=0
mkdir -p "$build/crashes" "$build/logs"
# the targets that read files write one per execution, and checkpoints
# are saved with fsync: in memory when the machine has /dev/shm
run_tmp=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && run_tmp=/dev/shm
for t in $targets; do
	log=$build/logs/$t.log
	rm -f "$build/crashes/$t"-*
	(cd "$src" && PN_SRC=$src TMPDIR=$run_tmp ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build/bin/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$build/crashes/$t-" "$build/corpus/$t") >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	corpus=$(ls "$build/corpus/$t" | wc -l)
	if [ $rc -eq 0 ]; then
		printf 'fuzz-%-12s %10s executions in %ss, corpus %s, no crash\n' \
			"$t" "${execs:-?}" "$seconds" "$corpus"
	else
		failed=1
		crash=$(ls "$build/crashes/$t"-* 2>/dev/null | head -n 1)
		printf 'fuzz-%-12s %10s executions: CRASHED (exit %s): %s, log %s\n' \
			"$t" "${execs:-?}" "$rc" "${crash:-no crash file}" "$log"
		# once more with stderr, for what a target says before it aborts
		if [ -n "$crash" ]; then
			echo "---- $crash again, with stderr ----" >>"$log"
			(cd "$src" && PN_SRC=$src "$build/bin/fuzz-$t" "$crash") >>"$log" 2>&1
		fi
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz-[a-z0-9-]*: )' "$log" |
			awk '!seen[$0]++' | head -n 4 | cut -c1-300 | sed 's/^/    /'
	fi
done
exit $failed
