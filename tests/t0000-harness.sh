#!/bin/bash
# t0000-harness: check that tests/lib.sh itself behaves.
. "$(dirname "$0")/lib.sh"

test_expect_success 'environment is set up' '
	test "$(pwd -P)" = "$(cd "$TRASH_DIRECTORY" && pwd -P)" &&
	test -f "$PN_SRC/tests/lib.sh" &&
	case ":$PATH:" in *":$PN_BIN:$PN_SRC/scripts:"*) true ;; *) false ;; esac &&
	test "$TEST_NAME" = t0000-harness
'

test_expect_success 'each test starts in the trash directory' '
	mkdir sub && cd sub
'
test_expect_success 'previous cd does not leak' '
	test "$(pwd -P)" = "$(cd "$TRASH_DIRECTORY" && pwd -P)"
'

test_expect_success 'test_cmp accepts equal files and rejects different ones' '
	printf "a\nb\n" >one &&
	printf "a\nb\n" >two &&
	printf "a\nc\n" >three &&
	test_cmp one two &&
	! test_cmp one three >diff &&
	grep "^-b" diff &&
	grep "^+c" diff
'

test_expect_success 'test_must_fail' '
	test_must_fail false &&
	test_must_fail sh -c "exit 3" &&
	! test_must_fail true 2>err &&
	grep "command succeeded" err &&
	! test_must_fail sh -c "kill -TERM \$\$" 2>err &&
	grep "died by signal 15" err &&
	! test_must_fail no-such-command-pn 2>err &&
	grep "could not run" err &&
	test_must_fail ok=sigpipe sh -c "kill -PIPE \$\$" &&
	test_must_fail ok=success true
'

test_expect_success 'test_expect_code' '
	test_expect_code 0 true &&
	test_expect_code 1 false &&
	test_expect_code 3 sh -c "exit 3" &&
	! test_expect_code 2 sh -c "exit 3" 2>err &&
	grep "exited with 3, wanted 2" err
'

test_expect_success 'test_line_count' '
	printf "1\n2\n3\n" >lines &&
	test_line_count = 3 lines &&
	test_line_count -gt 2 lines &&
	test_line_count -lt 4 lines &&
	! test_line_count = 2 lines >out
'

test_expect_success 'test_when_finished runs after a passing test' '
	test_when_finished "rm -f marker-pass" &&
	>marker-pass
'
test_expect_success '... and the file is gone' '
	test ! -e marker-pass
'

# Run a failing test in a nested script, with its own trash directory.
test_expect_success 'test_when_finished runs after a failing test' '
	cat >t9999-nested.sh <<-EOF &&
	. "$PN_SRC/tests/lib.sh"
	test_expect_success "fails" "
		test_when_finished \"echo cleaned >$PWD/cleanup-ran\" &&
		echo some output && false
	"
	test_expect_failure "known breakage" "false"
	test_expect_success MISSING "skipped" "false"
	test_prereq_hint HINTED "HINT=1 runs it"
	test_expect_success HINTED "hinted" "false"
	test_skip "cannot run" "no such service"
	test_done
	EOF
	test_when_finished "rm -rf \"\$(sed -n \"s/.*trash kept in //p\" tap)\"" &&
	test_expect_code 1 env PN_TEST_VERBOSE=0 bash t9999-nested.sh >tap &&
	test "$(cat cleanup-ran)" = cleaned &&
	grep "^not ok 1 - fails$" tap &&
	grep "^# some output$" tap &&
	grep "^not ok 2 - known breakage # TODO known breakage$" tap &&
	grep "^ok 3 # skip skipped (missing MISSING)$" tap &&
	grep "^ok 4 # skip hinted (missing HINTED: HINT=1 runs it)$" tap &&
	grep "^ok 5 # skip cannot run (no such service)$" tap &&
	grep "^1\.\.5$" tap
'

test_expect_success 'a body that exits counts as a failure' '
	cat >t9998-exit.sh <<-EOF &&
	. "$PN_SRC/tests/lib.sh"
	test_expect_success "exits" "exit 0"
	test_done
	EOF
	test_when_finished "rm -rf \"\$(sed -n \"s/.*trash kept in //p\" tap)\"" &&
	test_expect_code 1 env PN_TEST_VERBOSE=0 bash t9998-exit.sh >tap &&
	grep "^not ok 1 - exits$" tap
'

test_set_prereq HAVE_IT
test_expect_success 'prereqs: have and have-not' '
	test_have_prereq HAVE_IT &&
	! test_have_prereq NOT_SET &&
	test_have_prereq HAVE_IT,!NOT_SET &&
	! test_have_prereq HAVE_IT,!HAVE_IT
'
test_expect_success HAVE_IT 'a test with a satisfied prereq runs' '
	true
'

# the sleeps stand for a slow writer and a long-lived service: the waiting
# and the killing are what is tested
test_expect_success 'wait_for_file and test_cleanup_kill' '
	(sleep 1 && echo up >ready) &
	sleep 300 &
	echo $! >sleeper.pid &&
	test_cleanup_kill $! &&
	wait_for_file ready 5 &&
	! wait_for_file never 1
'
test_expect_success 'test_wait_until: late truth holds; never is a failure, named, polled less after 2 s' '
	(sleep 3 && : >late) &
	test_wait_until 20 test -e late &&
	probes=0 &&
	never () { probes=$((probes + 1)); false; } &&
	! test_wait_until 6 never 2>err &&
	grep "^test_wait_until: .never. still false after the time allowed$" err &&
	# 5-6 s: about 20 probes in the first 2 s, then 2 a second; polling
	# every 0.1 s throughout would be about 50 (a busy machine, fewer)
	test "$probes" -ge 2 && test "$probes" -le 36
'
test_expect_success 'registered pid is still running until exit' '
	kill -0 "$(cat sleeper.pid)"
'

test_expect_success 'test_cleanup_kill leaves alone a PID that is another process now' '
	sleep 300 &
	other=$! &&
	test_when_finished "kill $other" &&
	# what a reused PID looks like: registered with another start time
	saved_pids=("${_pn_kill_pids[@]}") saved_atexit=("${_pn_atexit[@]}") &&
	_pn_kill_pids=("$other:1") _pn_atexit=() &&
	_pn_kill_registered &&
	_pn_kill_pids=("${saved_pids[@]}") _pn_atexit=("${saved_atexit[@]}") &&
	test_running $other
'

test_expect_success 'test_input_taken: the pipe drained and its reader waiting' '
	mkfifo fifo &&
	{ sed -u "s/^/read /" <fifo >taken & } &&
	reader=$! &&
	test_cleanup_kill $reader &&
	exec 9>fifo &&
	echo one >&9 &&
	test_wait_until 10 test_input_taken $reader &&
	echo "read one" >expect &&
	test_cmp expect taken &&
	kill -STOP $reader &&
	echo two >&9 &&
	! test_input_taken $reader &&
	kill -CONT $reader &&
	test_wait_until 10 test_input_taken $reader &&
	exec 9>&- &&
	wait $reader &&
	test_line_count = 2 taken
'

test_done
