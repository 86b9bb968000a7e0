# scripts/lib-standalone.sh -- for the scripts that start services outside
# the tests (demo, benchmarks): the hooks tests/lib.sh gives tests/lib-pg.sh.
# Source it, then call
#
#   standalone_init NAME    make TRASH_DIRECTORY, a new directory under
#                           $TMPDIR named after NAME; at exit every process
#                           registered with test_cleanup_kill gets SIGTERM
#                           and the directory is removed
#   standalone_at_exit CMD  run the shell command CMD at exit, before those
#                           processes are stopped (latest first); for what
#                           is stopped by a command, not a pid, such as
#                           scripts/kafka-cluster stop DIR
#
# and source tests/lib-pg.sh for start_pg and sql.

standalone_init () {
	_standalone_name=$1
	TRASH_DIRECTORY=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 74
	chmod 755 "$TRASH_DIRECTORY"	# the server's user must reach it when root
	_pn_kill_pids=()
	_pn_at_exit=()
	trap _standalone_cleanup EXIT
}

test_cleanup_kill () { _pn_kill_pids+=("$@"); }
standalone_at_exit () { _pn_at_exit=("$1" "${_pn_at_exit[@]}"); }
test_skip_all () { echo "$_standalone_name: $1" >&2; exit 1; }

_standalone_cleanup () {
	local pid cmd
	for cmd in "${_pn_at_exit[@]}"; do eval "$cmd" || true; done
	for pid in "${_pn_kill_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# the postmaster is no child of ours: give it 5 s to go
	for pid in "${_pn_kill_pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
	rm -rf "$TRASH_DIRECTORY"
}
