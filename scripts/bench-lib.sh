# scripts/bench-lib.sh -- what the bench scripts share.  Source it.
#
#   bench_row TASK UNIT PN_LABEL PN_RATE PN_KB PEER_LABEL PEER_RATE PEER_KB
#       appends one markdown row (pn beside its peer, rates in UNIT per
#       second, peak RSS, and pn's rate over the peer's) to the file named
#       by PN_BENCH_REPORT, when it is set (scripts/bench-report.sh sets
#       it); a KB of 0 is shown as "-" (not measured)
#   bench_note LINE...
#       appends a line (a markdown table row) to the file named by
#       PN_BENCH_NOTES, a table of figures without a peer (partition
#       moves), printed after the main table
#   bench_move_row LINE...
#       appends a line to the file named by PN_BENCH_MOVES: a partition
#       that moves with Kafka's rebalance in the loop (scripts/bench-move.sh),
#       a table of its own after the notes
#   bench_run NAME COMMAND...
#       runs COMMAND under /usr/bin/time, counting and dropping its output,
#       and keeps "seconds peak_kb lines" in $work/NAME; exits on failure
#   bench_median NAME
#       the median seconds, the largest peak RSS and the lines of the runs
#       $work/NAME.1, NAME.2, ... into $work/NAME
#   bench_rate AMOUNT SECONDS
#       AMOUNT per second (a time of 0 counts as 1 ms)
#   bench_timed NAME COMMAND...
#       runs COMMAND under /usr/bin/time, as one stage of a pipeline (its
#       input and output untouched), and keeps "seconds peak_kb cpu_seconds"
#       (user + system) in $work/NAME.time; its exit status is COMMAND's
#   bench_campaign_table
#       (re)creates the campaign report's table in the PostgreSQL of
#       tests/lib-pg.sh: id bigint PRIMARY KEY, impressions, clicks
#   bench_campaign_expect PINGS
#       the campaign report of the NDJSON pings file PINGS, counted by awk:
#       "id|impressions|clicks" lines, sorted, as
#       sql "SELECT id, impressions, clicks FROM campaign" | sort prints it

bench_row () {
	[ -n "${PN_BENCH_REPORT:-}" ] || return 0
	awk -v task="$1" -v unit="$2" -v pl="$3" -v pr="$4" -v pk="$5" \
	    -v kl="$6" -v kr="$7" -v kk="$8" '
	function mb(kb) { return kb > 0 ? sprintf("%.1f MB", kb / 1024) : "-" }
	function rate(r) {
		if (unit == "MB") return sprintf("%.0f", r)
		return r >= 1e6 ? sprintf("%.2f M", r / 1e6) : sprintf("%.0f k", r / 1e3)
	}
	BEGIN {
		printf "| %s | %s | %s %s/s | %s | %s | %s %s/s | %s | %.2f× |\n",
			task, pl, rate(pr), unit, mb(pk), kl, rate(kr), unit, mb(kk), pr / (kr > 0 ? kr : 1)
	}' >>"$PN_BENCH_REPORT"
}

bench_rate () {
	awk -v n="$1" -v s="$2" 'BEGIN { print n / (s > 0 ? s : 0.001) }'
}

bench_note () {
	[ -n "${PN_BENCH_NOTES:-}" ] || return 0
	echo "$*" >>"$PN_BENCH_NOTES"
}

bench_move_row () {
	[ -n "${PN_BENCH_MOVES:-}" ] || return 0
	echo "$*" >>"$PN_BENCH_MOVES"
}

bench_run () {
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

bench_median () {
	local f
	# NAME.1, NAME.2, ...: not bench_run's NAME.1.time and NAME.1.err
	for f in "$work/$1".[0-9]*; do
		case ${f##*.} in *[!0-9]*) ;; *) cat "$f" ;; esac
	done | sort -n | awk '{ s[NR] = $1; if ($2 > kb) kb = $2; l = $3 }
		END { print s[int((NR + 1) / 2)], kb, l }' >"$work/$1"
}

bench_timed () {
	local name=$1
	shift
	/usr/bin/time -f "%e %M %U %S" -o "$work/$name.time" "$@" || return
	awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$work/$name.time" >"$work/$name.time.tmp" &&
		mv "$work/$name.time.tmp" "$work/$name.time"
}

bench_campaign_table () {
	sql "SET client_min_messages = warning; DROP TABLE IF EXISTS campaign"
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, impressions bigint NOT NULL DEFAULT 0,
		clicks bigint NOT NULL DEFAULT 0)"
}

bench_campaign_expect () {
	awk '/"source":"campaign"/ {
		match($0, /"source_id":[0-9]+/); id = substr($0, RSTART + 12, RLENGTH - 12)
		if ($0 !~ /"delivered_time":null/) imp[id]++
		if ($0 !~ /"clicked_time":null/) clk[id]++
		seen[id] = 1
	} END { for (id in seen) printf "%s|%d|%d\n", id, imp[id], clk[id] }' "$1" | sort
}
