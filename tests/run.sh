#!/bin/bash
# tests/run.sh -- run pn's TAP test scripts and summarise them.
#
# Usage: tests/run.sh [-j N] [SCRIPT...]
#   SCRIPT is a path, a name (t1000-produce-basic) or a number prefix (t1000);
#   without any, every tests/tNNNN-*.sh runs, in sorted order.
#   -j N runs N scripts at a time, the longest first (tests/durations); each
#   script's report is still printed as a block, in sorted order.
#   --durations prints a new tests/durations from the last runs' times.
# Environment: PN_TEST_RESULTS (default build/test-results: each script's TAP
# goes to <name>.out, its stderr to <name>.err, its times to <name>.time,
# each test's seconds to <name>.tests),
# PN_TEST_TIMEOUT (seconds per script, default 600: a guard against hangs,
# long enough for a busy machine), PN_TEST_KAFKA_SHARE=0 (each real run
# starts a cluster of its own),
# PN_TEST_KAFKA: the Kafka of the scripts
# that source tests/lib-kafka.sh: mock (default), real, or both (each such
# script runs twice, the real run reported as <name>@real).  The last line
# is "N passed, N failed"; the exit status is 0 only when nothing failed.
set -u

here=$(cd "$(dirname "$0")" && pwd -P)
src=$(dirname "$here")
jobs=1 durations=0
usage () { echo "usage: tests/run.sh [-j N] [SCRIPT...] | --durations" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	-j) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	--durations) durations=1; shift ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
case $jobs in ''|*[!0-9]*|0) usage ;; esac

scripts=()
if [ $# = 0 ]; then
	for f in "$here"/t[0-9][0-9][0-9][0-9]-*.sh; do
		[ -f "$f" ] && scripts+=("$f")
	done
else
	for a in "$@"; do
		if [ -f "$a" ]; then
			scripts+=("$(cd "$(dirname "$a")" && pwd -P)/$(basename "$a")")
		elif [ -f "$here/$a.sh" ]; then
			scripts+=("$here/$a.sh")
		else
			n=${#scripts[@]}
			for f in "$here/$a"-*.sh; do
				[ -f "$f" ] && scripts+=("$f")
			done
			[ "${#scripts[@]}" -gt "$n" ] || { echo "run.sh: no test script '$a'" >&2; exit 2; }
		fi
	done
	mapfile -t scripts < <(printf '%s\n' "${scripts[@]}" | sort -u)
fi

# A script that sources lib-kafka.sh runs once per Kafka asked for; the
# real cluster's run is the entry "<path>@real".
kafka=${PN_TEST_KAFKA:-mock}
case $kafka in mock|real|both) ;; *) echo "run.sh: PN_TEST_KAFKA is '$kafka', not mock, real or both" >&2; exit 2 ;; esac
runs=()
for f in "${scripts[@]}"; do
	if ! grep -q '^\. .*lib-kafka\.sh' "$f" || [ "$kafka" = mock ]; then
		runs+=("$f")
	elif [ "$kafka" = real ]; then
		runs+=("$f@real")
	else
		runs+=("$f" "$f@real")
	fi
done
scripts=("${runs[@]}")

# run_name RUN: REPLY, the NAME of a run: the script's name, and @real for
# the real cluster's run.  No fork: with $(basename) in the scheduler's
# loop it was 20,000 processes a make check.
run_name () {
	local f=${1%@real} b
	b=${f##*/}
	REPLY=${b%.sh}${1#"$f"}
}
# names[i]: the NAME of scripts[i]
names=()
for ((i = 0; i < ${#scripts[@]}; i++)); do
	run_name "${scripts[i]}"
	names[i]=$REPLY
done

results=${PN_TEST_RESULTS:-$src/build/test-results}
mkdir -p "$results" || exit 2
results=$(cd "$results" && pwd -P)
tmo=${PN_TEST_TIMEOUT:-600}

# Runs in the background; the .rc file appears only once the script is over.
run_one () {
	local n f=${1%@real} mode=mock
	run_name "$1"
	n=$REPLY
	[ "$f" = "$1" ] || mode=real
	local start=$SECONDS rc
	rm -f "$results/$n.tests"
	(cd "$src" && PN_TEST_KAFKA=$mode PN_TEST_TIMES=$results/$n.tests \
		timeout -k 10 "$tmo" bash "$f" </dev/null \
		>"$results/$n.out" 2>"$results/$n.err")
	rc=$?
	# wall seconds, then the CPU seconds (user, system) of the script and
	# what it waited for (servers it started as daemons are not counted);
	# times in a pipe would run in a fork, which counts nothing
	times >"$results/$n.time.tmp"
	awk -v wall=$((SECONDS - start)) '
		function sec(t) { split(t, f, /[ms]/); return f[1] * 60 + f[2] }
		NR == 2 { printf "%d %.1f %.1f\n", wall, sec($1), sec($2) }' \
		"$results/$n.time.tmp" >"$results/$n.time"
	rm -f "$results/$n.time.tmp"
	echo $rc >"$results/$n.rc.tmp" && mv "$results/$n.rc.tmp" "$results/$n.rc"
}

total_pass=0 total_fail=0

report () {
	local n out rc line ok=0 fail=0 skip=0 todo=0 plan='' note='' died=0 missing=''
	run_name "$1"
	n=$REPLY
	out=$results/$n.out
	rc=$(cat "$results/$n.rc")
	while IFS= read -r line; do
		if [[ $line =~ ^ok\ [0-9]+\ \#\ (skip|SKIP) ]]; then
			skip=$((skip + 1))
			# the prerequisites the skipped tests lacked, each once
			[[ $line =~ \(missing\ ([^()]*)\)$ ]] &&
				[[ "; $missing; " != *"; ${BASH_REMATCH[1]}; "* ]] &&
				missing="${missing:+$missing; }${BASH_REMATCH[1]}"
		elif [[ $line =~ ^ok\ [0-9]+ ]]; then
			ok=$((ok + 1))
		elif [[ $line =~ ^not\ ok\ [0-9]+.*\#\ TODO ]]; then
			todo=$((todo + 1))
		elif [[ $line =~ ^not\ ok\ [0-9]+ ]]; then
			fail=$((fail + 1))
		elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
			plan=${BASH_REMATCH[1]}
			[[ $line =~ \#\ SKIP\ ?(.*) ]] && note="skipped: ${BASH_REMATCH[1]}"
		fi
	done <"$out"
	# A script that died says so only through its exit status or a missing
	# or wrong plan; count it as one failure unless a test already failed.
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		note="timed out after ${tmo}s"
	elif [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
		note="exited with status $rc"
	elif [ -z "$plan" ]; then
		note="no plan: died before test_done?"
	elif [ "$plan" != $((ok + fail + skip + todo)) ]; then
		note="planned $plan tests, ran $((ok + fail + skip + todo))"
	fi
	case $note in ''|skipped:*) ;; *) died=1; [ "$fail" != 0 ] || fail=1 ;; esac
	[ -z "$missing" ] || note="${note:+$note; }missing $missing"
	[ "$todo" = 0 ] || note="${note:+$note; }$todo known breakage(s)"
	printf '%s ... %d ok, %d failed, %d skipped%s\n' \
		"$n" "$ok" "$fail" "$skip" "${note:+ ($note)}"
	total_pass=$((total_pass + ok))
	total_fail=$((total_fail + fail))
	[ "$fail" = 0 ] && return
	grep -m 1 '^# PN_TEST_SEED=' "$out" | sed 's/^# /    replay: /'
	# The diagnostics are the "# " lines that follow each real "not ok":
	# the body, then its output.  The output's last 30 lines come first,
	# so that a log cut short still shows what failed.
	awk 'function flush(  i, from) {
		from = nout > 30 ? nout - 29 : 1
		if (nout) print "    # output (last " (nout - from + 1) " of " nout " lines):"
		for (i = from; i <= nout; i++) print "    " out[i]
		for (i = 1; i <= nbody; i++) print "    " body[i]
		show = nout = nbody = inout = 0
	     }
	     show && !/^#/ { flush() }
	     /^not ok [0-9]+/ && !/# TODO/ { print "    " $0; show = 1; next }
	     show && /^# output \(last/ { inout = 1; next }
	     show && inout { out[++nout] = $0; next }
	     show { body[++nbody] = $0 }
	     END { if (show) flush() }' "$out"
	[ "$died" = 1 ] || return
	if ! grep -Eq '^not ok [0-9]+' "$out"; then
		echo "    --- last lines of $out:"
		tail -n 10 "$out" | sed 's/^/    /'
	fi
	if [ -s "$results/$n.err" ]; then
		echo "    --- last lines of $results/$n.err:"
		tail -n 20 "$results/$n.err" | sed 's/^/    /'
	fi
}

pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; exit 130' INT TERM

# --durations: tests/durations from the times of the last runs here.
if [ "$durations" = 1 ]; then
	sed -n '1,/^$/p' "$here/durations"
	for f in "$results"/*.time; do
		[ -f "$f" ] && echo "$(basename "$f" .time) $(cut -d' ' -f1 "$f")"
	done | sort -k2,2nr -k1,1
	exit 0
fi

# The longest runs start first, so that the last ones to end are short:
# the wall time of the previous run here (NAME.time), else that of
# tests/durations (seconds on two cores, make check's default), else 10 s.
# Reports still come in sorted order.
weight () {
	local n w
	run_name "$1"
	n=$REPLY
	if [ -s "$results/$n.time" ]; then
		read -r w _ <"$results/$n.time"
	else
		w=$(awk -v n="$n" '$1 == n { print $2 }' "$here/durations")
	fi
	echo "${w:-10}"
}
order=()
mapfile -t order < <(for ((i = 0; i < ${#scripts[@]}; i++)); do
	echo "$(weight "${scripts[i]}") $i"
done | sort -s -k1,1nr | awk '{ print $2 }')

launched=0 reported=0 count=${#scripts[@]}
# Report, in sorted order, every run that is over and whose predecessors are.
flush () {
	while [ "$reported" -lt "$count" ] &&
	      [ -f "$results/${names[reported]}.rc" ]; do
		report "${scripts[reported]}"
		reported=$((reported + 1))
	done
}
# running: now, how many launched runs are not over, and now_real, of them
# on the real cluster (each such run holds a lane, or three JVM brokers of
# its own); real_left, the real runs not over, launched or not.  Without a
# fork: the loop below calls it often.
running () {
	local i real
	now=0 now_real=0 real_left=0
	for i in "${!scripts[@]}"; do
		[ -f "$results/${names[i]}.rc" ] && continue
		real=0
		[ "${scripts[i]}" = "${scripts[i]%@real}" ] || real=1
		real_left=$((real_left + real))
		[ -n "${started[i]:-}" ] || continue
		now=$((now + 1)) now_real=$((now_real + real))
	done
}
# next_run: next, the index of the first run in launch order not started
# yet that may start now, or nothing
next_run () {
	local i r
	next=''
	for i in "${order[@]}"; do
		[ -z "${started[i]:-}" ] || continue
		r=${scripts[i]}
		[ "$r" != "${r%@real}" ] && [ "$now_real" -ge "$real_jobs" ] && continue
		next=$i
		return
	done
}

# At most half the jobs (rounded up) run a real cluster at once: the JVMs
# take the cores from everything else, and with three clusters at once on
# two cores the S3 test server reset connections (t3410@real failed once).
real_jobs=$(((jobs + 1) / 2))

# Shared clusters ("lanes"), one per real job: a real run takes a free one
# (lib-kafka.sh wipes it first, and starts again the nodes that a script
# which kills brokers left down) instead of starting three JVMs of its
# own.  PN_TEST_KAFKA_SHARE=0 turns them off.
lanes='' lane_starts=()
start_lanes () {
	local k n=$1
	lanes=$(mktemp -d "${TMPDIR:-/tmp}/pn-kafka-lanes.XXXXXX") || return
	export PN_TEST_KAFKA_LANES=$lanes
	for ((k = 1; k <= n; k++)); do
		mkdir "$lanes/lane$k" || return
		# its state, ready or failed, whole once there (lib-kafka.sh waits)
		(if PN_KAFKA_JVM_OPTS=${PN_KAFKA_JVM_OPTS--XX:TieredStopAtLevel=1} \
			"$src/scripts/kafka-cluster" start "$lanes/lane$k/kafka" \
			>/dev/null 2>"$lanes/lane$k/log"
		 then state=ready; else state=failed; fi
		 echo $state >"$lanes/lane$k/state.tmp" &&
			mv "$lanes/lane$k/state.tmp" "$lanes/lane$k/state") &
		lane_starts+=($!)
	done
}
stop_lanes () {
	local lane
	[ -n "$lanes" ] || return 0
	wait "${lane_starts[@]}" 2>/dev/null
	for lane in "$lanes"/lane*; do
		"$src/scripts/kafka-cluster" kill "$lane/kafka"
	done
	rm -rf "$lanes"
	lanes=''
}
trap stop_lanes EXIT
sharing=0
for s in "${scripts[@]}"; do
	[ "$s" = "${s%@real}" ] || sharing=$((sharing + 1))
done
[ "$sharing" = 0 ] || [ "${PN_TEST_KAFKA_SHARE:-1}" = 0 ] ||
	start_lanes $((sharing < real_jobs ? sharing : real_jobs))
# Once every real run is over the lanes go: their nine JVMs would idle
# through the mock runs still going (after running).
lanes_done () {
	[ -n "$lanes" ] && [ "$real_left" = 0 ] && stop_lanes
}
started=()
for n in "${names[@]}"; do
	rm -f "$results/$n.rc" "$results/$n.out" "$results/$n.err"
done
# A run that ends ends its run_one job: wait -n returns then (or when a
# lane's start is over), and the next runs start.
while [ "$launched" -lt "$count" ]; do
	running
	lanes_done
	next=''
	[ "$now" -ge "$jobs" ] || next_run
	if [ -z "$next" ]; then
		wait -n 2>/dev/null || sleep 0.1
	else
		run_one "${scripts[next]}" &
		pids+=($!)
		started[next]=1
		launched=$((launched + 1))
	fi
	flush
done
while [ "$reported" -lt "$count" ]; do
	running
	lanes_done
	wait -n 2>/dev/null || sleep 0.1
	flush
done

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
