# tests/lib.sh -- a small TAP test harness for pn, after git's t/test-lib.sh.
#
# A test script tests/tNNNN-name.sh looks like:
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect_success 'setup' '
#       printf "a\nb\n" >expect
#   '
#   test_expect_success PREREQ 'does a thing' '
#       pn something >actual &&
#       test_cmp expect actual
#   '
#   test_done
#
# Bodies are eval'ed in the script's own shell (no subshell), so variables
# they set are seen by later tests; a body passes when its last command does,
# so chain its commands with &&.  Each body starts in $TRASH_DIRECTORY with
# stdin from /dev/null.  Options: -v (body output to stderr instead of a log),
# -i (stop at the first failure), -d (keep the trash directory).

_pn_verbose=${PN_TEST_VERBOSE:-0}
_pn_immediate=0
for _pn_arg in "$@"; do
	case $_pn_arg in
	-v|--verbose) _pn_verbose=1 ;;
	-i|--immediate) _pn_immediate=1 ;;
	-d|--debug) PN_TEST_KEEP=1 ;;
	*) echo "lib.sh: unknown option '$_pn_arg'" >&2; exit 1 ;;
	esac
done

# TAP goes to the script's original stdout even while a body's output is
# redirected to its log, e.g. when a body calls exit and the EXIT trap reports.
exec {_pn_out}>&1 {_pn_err}>&2

# Tests that choose at random (kill points, pauses) use $RANDOM, seeded
# here and printed, so a failure can be replayed: PN_TEST_SEED=N re-runs a
# script with the same choices.  (Services that need a free port draw from
# $SRANDOM instead: one seed given to parallel scripts must not make them
# collide.)
PN_TEST_SEED=${PN_TEST_SEED:-$((SRANDOM % 32768))}
RANDOM=$PN_TEST_SEED
echo "# PN_TEST_SEED=$PN_TEST_SEED" >&"$_pn_out"

TEST_NAME=$(basename "$0" .sh)
PN_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PN_BIN=${PN_BIN:-$PN_SRC/build/bin}
case $PN_BIN in /*) ;; *) PN_BIN=$(pwd -P)/$PN_BIN ;; esac
PATH=$PN_BIN:$PN_SRC/scripts:$PATH
LC_ALL=C TZ=UTC
export TEST_NAME PN_SRC PN_BIN PATH LC_ALL TZ

# The tests' Python is Debian's (scripts/deps.sh check installs it, with
# the Confluent client and avro for lib-registry.sh), never a version
# manager's python3 from PATH: pyenv's is a shell shim that costs 0.1 CPU
# seconds a start, and test_input_taken runs in wait loops.
PYTHON=/usr/bin/python3
export PYTHON

TRASH_DIRECTORY=${PN_TEST_TMP:-${TMPDIR:-/tmp}}/pn-test.$TEST_NAME.$$
case $TRASH_DIRECTORY in /*) ;; *) TRASH_DIRECTORY=$(pwd -P)/$TRASH_DIRECTORY ;; esac
rm -rf "$TRASH_DIRECTORY"
if ! mkdir -p "$TRASH_DIRECTORY/.pn-log" || ! cd "$TRASH_DIRECTORY"; then
	echo "Bail out! cannot create trash directory $TRASH_DIRECTORY"
	exit 1
fi
export TRASH_DIRECTORY
_pn_logdir=$TRASH_DIRECTORY/.pn-log

_pn_count=0 _pn_pass=0 _pn_fail=0 _pn_broken=0 _pn_fixed=0 _pn_skip=0
_pn_prereqs=' '		# set of satisfied prereqs, space separated
_pn_missing=''		# prereqs that the last test_have_prereq lacked
_pn_in_test=''		# description of the running test, '' between tests
_pn_body=''		# and its body
_pn_done=0
_pn_cleanups=()		# test_when_finished commands of the running test
_pn_kill_pids=()	# test_cleanup_kill pids
_pn_subshell=$BASH_SUBSHELL

say () { echo "$*" >&2; }

_pn_bug () {
	echo "Bail out! $TEST_NAME: bug in the test script: $*" >&"$_pn_out"
	exit 1
}

test_set_prereq () { _pn_prereqs="$_pn_prereqs$1 "; }

# test_prereq_hint NAME TEXT: what gives a missing prereq, shown with the
# tests it skips ("missing EXPENSIVE: PN_TEST_EXPENSIVE=1 runs it").
declare -A _pn_hints=()
test_prereq_hint () { _pn_hints[$1]=$2; }

# Prerequisite EXPENSIVE: the volume tests (100k records and more, seconds
# each).  make check sets PN_TEST_EXPENSIVE=1; PN_TEST_EXPENSIVE=0 skips
# them for a fast loop, and so does a script run by hand without it.
[ "${PN_TEST_EXPENSIVE:-0}" = 0 ] || test_set_prereq EXPENSIVE
test_prereq_hint EXPENSIVE "PN_TEST_EXPENSIVE=1 runs it"

# NAME[,NAME...]; a leading ! requires the prereq to be absent.
test_have_prereq () {
	local IFS=, p
	_pn_missing=''
	for p in $1; do
		case $p in
		!*) case $_pn_prereqs in *" ${p#!} "*) ;; *) continue ;; esac ;;
		*) case $_pn_prereqs in *" $p "*) continue ;; esac ;;
		esac
		_pn_missing=$_pn_missing${_pn_missing:+,}$p${_pn_hints[${p#!}]:+: ${_pn_hints[${p#!}]}}
	done
	[ -z "$_pn_missing" ]
}

test_when_finished () {
	[ -n "$_pn_in_test" ] || _pn_bug "test_when_finished outside a test"
	# A subshell would add the command to its own copy of the list and lose it.
	[ "$BASH_SUBSHELL" = "$_pn_subshell" ] ||
		_pn_bug "test_when_finished in a subshell"
	_pn_cleanups+=("$1")
}

# A separate function so that a 'return' in a body ends only the body.
_pn_eval_body () { eval "$1"; }

_pn_eval () {
	local _pn_st _pn_i
	_pn_eval_body "$1"
	_pn_st=$?
	for ((_pn_i = ${#_pn_cleanups[@]} - 1; _pn_i >= 0; _pn_i--)); do
		eval "${_pn_cleanups[_pn_i]}" && continue
		echo "test_when_finished command failed: ${_pn_cleanups[_pn_i]}"
		[ "$_pn_st" != 0 ] || _pn_st=1
	done
	return "$_pn_st"
}

# Print a failed test's body and (the end of) its output as TAP diagnostics.
_pn_diag () {
	local log=$_pn_logdir/$_pn_count.log
	printf '%s\n' "$1" | sed -e '/^[[:space:]]*$/d' -e 's/^/#  /' >&"$_pn_out"
	if [ -s "$log" ]; then
		echo "# output (last 200 lines of $log):" >&"$_pn_out"
		tail -n 200 "$log" | sed 's/^/# /' >&"$_pn_out"
	fi
}

_pn_test () {	# success|failure prereq description body
	local expect=$1 prereq=$2 desc=$3 body=$4 st
	_pn_count=$((_pn_count + 1))
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		_pn_skip=$((_pn_skip + 1))
		echo "ok $_pn_count # skip $desc (missing $_pn_missing)" >&"$_pn_out"
		return 0
	fi
	_pn_in_test=$desc _pn_body=$body _pn_cleanups=()
	local started=$EPOCHREALTIME
	cd "$TRASH_DIRECTORY" || _pn_bug "trash directory vanished"
	if [ "$_pn_verbose" = 1 ]; then
		say "expecting $expect: $body"
		_pn_eval "$body" </dev/null >&2
	else
		_pn_eval "$body" </dev/null >"$_pn_logdir/$_pn_count.log" 2>&1
	fi
	st=$?
	_pn_in_test='' _pn_cleanups=()
	# PN_TEST_TIMES (tests/run.sh sets it): each test's seconds, to see
	# where a script spends its time
	[ -z "${PN_TEST_TIMES:-}" ] ||
		awk -v a="$started" -v b="$EPOCHREALTIME" -v n="$_pn_count" -v d="$desc" \
			'BEGIN { printf "%6.1f %d %s\n", b - a, n, d }' >>"$PN_TEST_TIMES"
	case $expect,$st in
	success,0) _pn_pass=$((_pn_pass + 1))
		echo "ok $_pn_count - $desc" >&"$_pn_out" ;;
	success,*) _pn_fail=$((_pn_fail + 1))
		echo "not ok $_pn_count - $desc" >&"$_pn_out"
		_pn_diag "$body"
		[ "$_pn_immediate" = 0 ] || test_done ;;
	failure,0) _pn_fixed=$((_pn_fixed + 1))
		echo "ok $_pn_count - $desc # TODO known breakage vanished" >&"$_pn_out" ;;
	failure,*) _pn_broken=$((_pn_broken + 1))
		echo "not ok $_pn_count - $desc # TODO known breakage" >&"$_pn_out" ;;
	esac
}

# test_skip DESCRIPTION REASON: a test that cannot run here, reported as
# skipped with the reason.
test_skip () {
	_pn_count=$((_pn_count + 1)) _pn_skip=$((_pn_skip + 1))
	echo "ok $_pn_count # skip $1 ($2)" >&"$_pn_out"
}

test_expect_success () {
	[ $# = 2 ] || [ $# = 3 ] || _pn_bug "test_expect_success needs 2 or 3 arguments"
	if [ $# = 3 ]; then _pn_test success "$@"; else _pn_test success '' "$@"; fi
}

test_expect_failure () {
	[ $# = 2 ] || [ $# = 3 ] || _pn_bug "test_expect_failure needs 2 or 3 arguments"
	if [ $# = 3 ]; then _pn_test failure "$@"; else _pn_test failure '' "$@"; fi
}

# test_must_fail [ok=sigpipe,signal,success] CMD...: CMD must exit non-zero.
# Death by a signal, "not found" (127) and "cannot execute" (126) are not the
# failures a test means, unless ok= allows them.
test_must_fail () {
	local ok='' st msg
	case ${1:-} in ok=*) ok=,${1#ok=}, ; shift ;; esac
	"$@"
	st=$?
	if [ "$st" = 0 ]; then
		case $ok in *,success,*) return 0 ;; esac
		msg="command succeeded"
	elif [ "$st" -gt 128 ]; then
		case $ok in *,signal,*) return 0 ;; esac
		case $st$ok in 141*,sigpipe,*) return 0 ;; esac
		msg="died by signal $((st - 128))"
	elif [ "$st" = 126 ] || [ "$st" = 127 ]; then
		msg="could not run the command (exit $st)"
	else
		return 0
	fi
	echo "test_must_fail: $msg: $*" >&2
	return 1
}

test_expect_code () {
	local want=$1 st
	shift
	"$@"
	st=$?
	[ "$st" = "$want" ] && return 0
	echo "test_expect_code: command exited with $st, wanted $want: $*" >&2
	return 1
}

test_cmp () { diff -u "$1" "$2"; }

# test_line_count OP N FILE, OP one of = != -eq -ne -lt -le -gt -ge.
test_must_be_empty () {
	if [ -s "$1" ]; then
		echo "'$1' is not empty, it contains:"
		cat "$1"
		return 1
	fi
}

test_line_count () {
	[ $# = 3 ] || _pn_bug "usage: test_line_count OP N FILE"
	local n
	n=$(wc -l <"$3") || return 1
	n=$((n))
	test "$n" "$1" "$2" && return 0
	echo "test_line_count: $3 has $n lines, wanted $1 $2:"
	cat "$3"
	return 1
}

# wait_for_file FILE [SECONDS]: poll until FILE exists and is non-empty.
wait_for_file () {
	local i=0 n=$((${2:-10} * 10))
	while [ ! -s "$1" ]; do
		if [ "$i" -ge "$n" ]; then
			echo "wait_for_file: $1 missing or empty after ${2:-10}s" >&2
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# test_wait_until SECONDS COMMAND...: run COMMAND until it succeeds, every
# 0.1 s for the first 2 s and every 0.5 s after; fail, naming it, if it has
# not after SECONDS.  A condition to wait on, never a fixed sleep.  (A probe
# is often a psql, a jq or a pn tool, 20-40 ms of CPU: at 0.1 s the long
# waits of a make check slept between probes 1,234 times, on cores that
# what they waited for needed.)
test_wait_until () {
	local start=$SECONDS deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		if [ $SECONDS -ge $deadline ]; then
			echo "test_wait_until: '$*' still false after the time allowed" >&2
			return 1
		fi
		if [ $((SECONDS - start)) -lt 2 ]; then sleep 0.1; else sleep 0.5; fi
	done
}

# test_jq [-s] FILTER [FILE...]: jq -e, but false on an empty input too:
# jq 1.6 exits 0 when it reads nothing, so `grep PATTERN FILE | jq -e F`
# held when grep found no line.  Without -s the last value that FILTER
# gives decides, as with jq -e; with -s FILTER gets all inputs as one
# array, which must not be empty.
test_jq () {
	local filter
	if [ "$1" = -s ]; then
		filter="length > 0 and ($2)"
		shift 2
	else
		filter="length > 0 and (map($1) | last)"
		shift
	fi
	jq -e -s "$filter" "$@"
}

# test_has_lines N FILE: FILE exists and holds N lines or more (quiet; a
# condition for test_wait_until).
test_has_lines () {
	[ -f "$2" ] && [ "$(wc -l <"$2")" -ge "$1" ]
}

# test_input_taken PID: PID has read everything written so far to the pipe
# or FIFO on its standard input and is asleep waiting for more, so a signal
# sent now finds every line written handled (quiet; a condition for
# test_wait_until).  The pipe is looked at first: while it holds data the
# reader is runnable, never asleep in its wait for input.
test_input_taken () {
	"$PYTHON" - "$1" 2>/dev/null <<-\PY
	import fcntl, os, struct, sys, termios
	pid = sys.argv[1]
	fd = os.open("/proc/%s/fd/0" % pid, os.O_RDONLY | os.O_NONBLOCK)
	queued = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
	with open("/proc/%s/stat" % pid) as f:
	    state = f.read().rsplit(")", 1)[1].split()[0]
	sys.exit(0 if queued == 0 and state == "S" else 1)
	PY
}

# test_cleanup_kill PID...: kill PID (TERM, then KILL) when the script
# ends, if it is still the process it was.  Scripts run side by side and
# spawn many processes: by the end a PID that exited long ago may be another
# script's server, so each PID is kept with its start time and only that
# process is killed.
test_cleanup_kill () {
	local pid
	for pid in "$@"; do
		_pn_kill_pids+=("$pid:$(_pn_started_at "$pid")")
	done
}

# _pn_started_at PID: when PID started (clock ticks after boot, field 22 of
# /proc/PID/stat), or nothing when there is no such process
_pn_started_at () {
	local stat fields
	read -r stat 2>/dev/null </proc/"$1"/stat || return 0
	read -r -a fields <<<"${stat##*) }"
	echo "${fields[19]}"
}

# test_atexit COMMAND: run COMMAND (a string, eval'd) when the script ends,
# before the registered pids are killed, in the order registered; for
# services that a pid alone does not stop (a Kafka cluster that restarts
# its nodes).
_pn_atexit=()
test_atexit () { _pn_atexit+=("$1"); }

# test_running PID: PID is running (kill -0 also succeeds on a zombie
# child that nobody has waited for yet).
test_running () {
	kill -0 "$1" 2>/dev/null || return 1
	case $(ps -o stat= -p "$1" 2>/dev/null) in Z*) return 1 ;; esac
}

_pn_kill_registered () {
	local pid i cmd
	for cmd in "${_pn_atexit[@]}"; do eval "$cmd"; done
	_pn_atexit=()
	[ ${#_pn_kill_pids[@]} = 0 ] && return 0
	local live=() entry
	for entry in "${_pn_kill_pids[@]}"; do
		pid=${entry%%:*}
		# gone, or its PID is another process's now: not ours to kill
		if [ -n "${entry#*:}" ] && [ "$(_pn_started_at "$pid")" = "${entry#*:}" ]; then
			kill -TERM "$pid" 2>/dev/null
			live+=("$pid")
		fi
	done
	for pid in "${live[@]}"; do
		for ((i = 0; i < 50; i++)); do
			test_running "$pid" || break
			sleep 0.1
		done
		test_running "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null	# reaps our own children; others return at once
	done
	_pn_kill_pids=()
}

_pn_cleanup_trash () {
	cd / && rm -rf "$TRASH_DIRECTORY"
}

test_skip_all () {
	_pn_done=1
	echo "1..0 # SKIP $1" >&"$_pn_out"
	_pn_kill_registered
	_pn_cleanup_trash
	exit 0
}

test_done () {
	_pn_done=1
	echo "1..$_pn_count" >&"$_pn_out"
	[ "$_pn_fixed" = 0 ] || echo "# $_pn_fixed known breakage(s) vanished" >&"$_pn_out"
	[ "$_pn_broken" = 0 ] || echo "# still have $_pn_broken known breakage(s)" >&"$_pn_out"
	_pn_kill_registered
	if [ "$_pn_fail" != 0 ]; then
		echo "# failed $_pn_fail among $_pn_count test(s); trash kept in $TRASH_DIRECTORY;" \
			"PN_TEST_SEED=$PN_TEST_SEED replays its random choices" >&"$_pn_out"
		exit 1
	fi
	echo "# passed all $_pn_count test(s)" >&"$_pn_out"
	[ -n "${PN_TEST_KEEP:-}" ] || _pn_cleanup_trash
	exit 0
}

# Also catches a body that calls exit (or trips set -u) and scripts that
# never reach test_done: both must count as failures.
_pn_on_exit () {
	local st=$?
	_pn_kill_registered
	if [ -n "$_pn_in_test" ]; then
		echo "not ok $_pn_count - $_pn_in_test" >&"$_pn_out"
		echo "# the test body exited the script (status $st)" >&"$_pn_out"
		_pn_diag "$_pn_body"
		[ "$st" != 0 ] || st=1
	elif [ "$_pn_done" = 0 ]; then
		echo "# $TEST_NAME exited (status $st) before test_done" >&"$_pn_out"
		[ "$st" != 0 ] || st=1
	fi
	[ "$_pn_done" = 1 ] || echo "# trash kept in $TRASH_DIRECTORY" >&"$_pn_out"
	exit "$st"
}
trap _pn_on_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
