# tests/lib-pg.sh -- a private PostgreSQL server for a test script.  Source
# after lib.sh.
#
#   start_pg        initdb into $TRASH_DIRECTORY/pg and start the server on a
#                   free loopback port; exports PGHOST, PGPORT, PGUSER and
#                   PGDATABASE so that pn-sink-pg and psql connect through
#                   the environment.  The server is stopped when the script
#                   ends.
#   restart_pg      pg_ctl restart (-m fast): every connection is cut
#   stop_pg         pg_ctl stop (-m fast)
#   pg_start_again  pg_ctl start after stop_pg
#   sql 'STATEMENT' psql -X -q -A -t -v ON_ERROR_STOP=1 -c STATEMENT
#   sql_is 'STATEMENT' VALUE
#                   the statement answers VALUE (quiet; a condition for
#                   test_wait_until)
#
# PostgreSQL refuses to run as root: as root the data directory belongs to
# the 'postgres' user (or 'nobody') and initdb, pg_ctl and the server run as
# that user through runuser.  Authentication is 'trust', for local tests only.
# Scripts that need the server skip themselves when its binaries are missing.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

if [ ! -x "$PG_BINDIR/initdb" ] || [ ! -x "$PG_BINDIR/pg_ctl" ] || ! command -v psql >/dev/null; then
	test_skip_all "PostgreSQL 15 server not found in $PG_BINDIR (apt-get install postgresql)"
fi

# Runs a server binary as the server's user.
_pg_as () {
	if [ -n "$_pg_user" ]; then
		runuser -u "$_pg_user" -- "$@"
	else
		"$@"
	fi
}

# The server must not inherit the script's descriptors: a fifo's write end
# held open by the postmaster would keep a reader from ever seeing its end.
_pg_ctl () {
	(
		for fd in $(ls /proc/$BASHPID/fd); do
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done 2>/dev/null
		_pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 "$@" </dev/null >/dev/null
	)
}

# lib.sh stops registered processes before it removes the trash directory;
# the postmaster gets SIGTERM (a smart shutdown) like any other.
_pg_register () {
	PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid") && test_cleanup_kill "$PG_PID"
}

start_pg () {
	local dir=$TRASH_DIRECTORY/pg try port
	_pg_user=''
	if [ "$(id -u)" = 0 ]; then
		if getent passwd postgres >/dev/null; then _pg_user=postgres; else _pg_user=nobody; fi
		# the server's user must reach the trash directory
		chmod go+x "$TRASH_DIRECTORY" "$(dirname "$TRASH_DIRECTORY")" 2>/dev/null
	fi
	mkdir -p "$dir/data" "$dir/sock" || return 1
	[ -z "$_pg_user" ] || chown -R "$_pg_user" "$dir" || return 1
	chmod 700 "$dir/data"
	PG_DATA=$dir/data PG_LOG=$dir/server.log
	_pg_as "$PG_BINDIR/initdb" -D "$PG_DATA" -U pn -A trust -E UTF8 --no-locale \
		--no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + SRANDOM % 40000))
		cat >>"$PG_DATA/postgresql.conf" <<-CONF
		port = $port
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir/sock'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_wal_size = 1GB
		CONF
		_pg_ctl start && break
		port=''
	done
	[ -n "$port" ] || { cat "$PG_LOG"; return 1; }
	_pg_register
	PGHOST=127.0.0.1 PGPORT=$port PGUSER=pn PGDATABASE=postgres
	PGSOCKDIR=$dir/sock
	unset PGPASSWORD PGSERVICE PGOPTIONS PGHOSTADDR PGSSLMODE
	export PGHOST PGPORT PGUSER PGDATABASE PGSOCKDIR PG_DATA PG_LOG
}

restart_pg () { _pg_ctl restart -m fast && _pg_register; }
stop_pg () { _pg_ctl stop -m fast; }
pg_start_again () { _pg_ctl start && _pg_register; }

sql () { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
sql_is () { test "$(sql "$1" 2>/dev/null)" = "$2"; }
