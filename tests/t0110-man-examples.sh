#!/bin/bash
# t0110-man-examples: the EXAMPLES of every man page run as written, with
# their names replaced by local ones: the brokers by the embedded broker's,
# the DSN by a private PostgreSQL's, S3 and /var/lib/pn by directories of
# the test.  Each example must exit 0, every command of it (pipefail), and
# print the output it shows, if it shows any.  An example that follows a
# stream (no -e) runs until it has written something, then its pn-consume
# or pn-pipeline gets SIGTERM, which must end it with 0 too.  Examples that
# need what a test cannot have here are skipped, with the reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-pg.sh"

# The examples are command lines: the embedded broker shows that they are
# right; the real cluster would only make them slower.
test_have_prereq MOCK_KAFKA ||
	test_skip_all "the examples run on the embedded broker (PN_TEST_KAFKA=mock)"

PAGES="pn-aggregate.1 pn-archive.1 pn-broker.1 pn-consume.1 pn-pipeline.1 pn-produce.1 pn-sink-pg.1 pn.7"

# extract PAGE DIR: each example of PAGE's EXAMPLES (a .Bd -literal block)
# into DIR/PAGE.N/: "script", its commands, each wrapped to report its exit
# status; "text", the commands on one line; "title", the first one's first
# line; "out", the lines the example shows that are not commands.  A command
# starts with "$ " and goes on over the next lines until it parses whole.
extract () {
	"$PYTHON" - "$PN_SRC/man/$1" "$2/$1" <<-\PY
	import os, re, shlex, subprocess, sys
	src, prefix = sys.argv[1], sys.argv[2]
	def complete(cmd):
	    if cmd.endswith("\\"):
	        return False
	    return subprocess.run(["bash", "-n"], input=cmd, text=True,
	                          stderr=subprocess.DEVNULL).returncode == 0
	def unescape(line):
	    for roff, text in (("\\e", "\\"), ("\\(aq", "'"), ("\\(dq", '"'),
	                       ("\\-", "-"), ("\\&", "")):
	        line = line.replace(roff, text)
	    return line
	blocks, block, section = [], None, None
	for line in open(src, encoding="utf-8"):
	    line = line.rstrip("\n")
	    if line.startswith(".Sh "):
	        section = line[4:]
	    elif section == "EXAMPLES" and line.startswith(".Bd -literal"):
	        block = []
	    elif block is not None and line == ".Ed":
	        blocks.append(block)
	        block = None
	    elif block is not None and not line.startswith("."):
	        block.append(unescape(line))
	for n, lines in enumerate(blocks, 1):
	    cmds, out = [], []
	    for line in lines:
	        if cmds and not complete(cmds[-1]):
	            cmds[-1] += "\n" + line
	        elif line.startswith("$ "):
	            cmds.append(line[2:])
	        else:
	            out.append(line)
	    d = "%s.%d" % (prefix, n)
	    os.makedirs(d)
	    with open(d + "/script", "w") as f:
	        for cmd in cmds:
	            f.write("{ %s\n} || _ex_failed $? %s\n"
	                    % (cmd, shlex.quote(cmd.split("\n")[0])))
	    with open(d + "/text", "w") as f:
	        f.write(" ".join(" ".join(c.split()) for c in cmds) + "\n")
	    with open(d + "/title", "w") as f:
	        f.write(cmds[0].split("\n")[0].rstrip(" \\") + "\n")
	    with open(d + "/out", "w") as f:
	        f.writelines(l + "\n" for l in out)
	PY
}

# plan PAGE TEXT: how to run an example, matched on its page and commands.
# Sets how (run, follow or skip), why (of a skip), known (a known breakage:
# why the example fails for now), prep (a command run in
# the example's directory first), input (its standard input), until (for
# follow: the condition to wait for before the SIGTERM), stop (the name of
# the processes that get it) and feed (the topic that gets more pings while
# it waits).  What an example starts with & is stopped at its end.
plan () {
	how=run why='' known='' prep='' input=/dev/null until='test -s stdout' stop=pn-consume
	feed=pushnotification-ping
	case "$1 $2" in
	"pn-aggregate.1 "*"--start-offsets <("*) how=follow ;;
	"pn-aggregate.1 "*"--ttl 28d --state campaign.st") input=pings-meta.ndjson ;;
	"pn-aggregate.1 "*) ;;
	"pn-archive.1 "*"| pn-archive write s3://"*)
		how=follow until='has_temp s3/audit/pushnotification-ping' ;;
	"pn-archive.1 "*) ;;
	"pn-broker.1 "*"-g report"*) how=follow ;;
	"pn-broker.1 "*) ;;
	"pn-consume.1 "*"--schema-registry"* | "pn-consume.1 "*"--schema "*)
		how=skip why="needs a schema registry and Avro records (t6000-t6100 run them on the registry double)" ;;
	"pn-consume.1 "*"-g campaign-pings"*) how=follow until='test -s campaign.ndjson' ;;
	"pn-consume.1 "*) ;;
	"pn-pipeline.1 "*"pn-pipeline report -b"*)
		how=follow until='test -s var/lib/pn/report.state' stop=pn-pipeline ;;
	"pn-pipeline.1 "*"pn-pipeline archive"*)
		how=follow prep='rm -rf s3/audit/pings' until='has_temp s3/audit/pings' stop=pn-pipeline ;;
	"pn-produce.1 "*"--avro"*)
		how=skip why="needs a schema registry (t6000-t6100 run it on the registry double)" ;;
	"pn-produce.1 "*) ;;
	"pn-sink-pg.1 "*"host=db1 dbname=reports"*)
		how=follow until='holds reports "SELECT count(*) > 0 FROM campaign WHERE impressions > 0"' ;;
	"pn-sink-pg.1 "*"--start-offsets offsets.json"*)
		how=follow until='holds postgres "SELECT count(*) > 0 FROM pn_offsets"' feed='' ;;
	"pn-sink-pg.1 "*) ;;
	"pn.7 "*"pn-pipeline report -b"*)
		how=follow until='test -s var/lib/pn/report.state' stop=pn-pipeline ;;
	"pn.7 "*"pn-pipeline archive"*)
		how=follow prep='rm -rf s3/audit/pings' until='has_temp s3/audit/pings' stop=pn-pipeline ;;
	# /shared is the machines' shared mount; the group is one of the
	# earlier examples', which librdkafka 2.0.2's mock cannot take over
	# with another assignor (it aborts): a broker of its own
	"pn.7 "*"-s /shared/report/"*)
		how=follow prep='mkdir shared && own_broker ping-by-campaign:12'
		until='test -n "$(ls -A shared/report 2>/dev/null)"' stop=pn-pipeline
		feed=ping-by-campaign ;;
	"pn.7 "*"-g archive --meta"*)
		how=follow prep='rm pings.ndjson' until='test -s pings.ndjson' ;;
	"pn.7 "*"-g campaign-pings"*)
		how=follow prep='topic_count campaign-ping >before' until='topic_grew campaign-ping before' ;;
	"pn.7 "*"pn-produce -t pushnotification-ping-replay --keep-partition pings.ndjson")
		prep='cp pings-meta.ndjson pings.ndjson' ;;
	"pn.7 "*) ;;
	*) how=unknown ;;
	esac
	# A group member that follows a stream gets a broker of its own: the
	# mock does not take a member's LeaveGroup, so joining a group that an
	# earlier example joined would wait out that member's 45 s session.
	case $how,$2 in
	follow,*" -g "*) [[ $prep == *own_broker* ]] || prep="fresh_broker${prep:+ && $prep}" ;;
	esac
}

# ready PID CONDITION: the example PID has ended (too early), or, after a
# few more pings for the topic $feed, CONDITION holds.  A group without
# commits starts at the beginning, but one that has committed waits for
# new records.
ready () {
	test_running $1 || return 0
	[ -z "$feed" ] || pn-produce -t "$feed" -k source_id -X message.timeout.ms=10000 \
		"$TRASH_DIRECTORY/fixtures/more" || return 1
	eval "$2"
}

# own_broker TOPIC:N...: a broker for this example alone, with the pings
own_broker () {
	pn-broker "${@/#/-t}" -w own.bootstrap >/dev/null 2>own-broker.log &
	test_cleanup_kill $!
	wait_for_file own.bootstrap 20 &&
	PN_BROKERS=$(cat own.bootstrap) &&
	pn-produce -t "${1%:*}" -k source_id stamped
}

# fresh_broker: a broker for this example alone, with the topics and the
# pings of the shared one
fresh_broker () {
	own_broker $TOPICS
}

# Conditions of the examples that follow a stream
has_temp () { [ -n "$(find "$1" -name ".*.tmp.*" 2>/dev/null)" ]; }
holds () { test "$(psql -X -A -t -d "$1" -c "$2" 2>/dev/null)" = t; }
topic_count () { pn-consume -t "$1" -e | wc -l; }
topic_grew () { test "$(topic_count "$1")" -gt "$(cat "$2")"; }

# The names of the examples and the local ones that replace them
substitute () {
	sed -e "s|kafka1:9092,kafka2:9092|$PN_BROKERS|g" -e "s|kafka1:9092|$PN_BROKERS|g" \
		-e "s|/tmp/pn-brokers|$PWD/pn-brokers|g" \
		-e "s|host=db1 dbname=reports|host=$PGHOST port=$PGPORT dbname=reports|g" \
		-e "s|s3://|$PWD/s3/|g" -e "s|/var/lib/pn/|$PWD/var/lib/pn/|g" \
		-e "s|/shared/|$PWD/shared/|g" "$1"
}

# run_example DIR: run the example extracted into DIR in a copy of the
# fixtures, DIR/run; its status, 0 or the first command's that failed, is
# the result.
run_example () {
	local d=$1 pid st page=${1##*/}
	plan "${page%.*}" "$(cat "$d/text")"
	cp -a fixtures "$d/run" && cd "$d/run" || return 1
	test_when_finished "PN_BROKERS=$PN_BROKERS"
	[ -z "$prep" ] || eval "$prep" || return 1
	{
		echo "set -o pipefail"
		echo '_ex_failed () { echo "exit $1: $2" >&2; kill $(jobs -p) 2>/dev/null; exit 1; }'
		substitute ../script
		echo 'kill $(jobs -p) 2>/dev/null; wait; exit 0'
	} >example.sh
	if [ "$how" = follow ]; then
		bash example.sh <"$input" >stdout 2>stderr &
		pid=$!
		test_wait_until 60 ready $pid "$until"
		st=$?
		if [ "$st" = 0 ] && test_running $pid; then
			pkill -TERM -P $pid -x "$stop"
			wait $pid
			st=$?
		else
			echo "the example ended before it had written anything, or never wrote"
			pkill -TERM -P $pid
			wait $pid
			st=1
		fi
	else
		bash example.sh <"$input" >stdout 2>stderr
		st=$?
	fi
	if [ "$st" != 0 ]; then
		echo "the example, as run:"
		cat example.sh
		echo "its standard error:"
		cat stderr
		return "$st"
	fi
	[ ! -s ../out ] || test_cmp ../out stdout
}

TOPICS="pushnotification-ping:4 pushnotification-ping-copy:4 pushnotification-ping-replay:4
	replay:4 campaign-ping:1 campaign-state:1 campaign-changes:2 ping-by-campaign:12"

test_expect_success 'the examples of every page' '
	mkdir ex &&
	for page in $PAGES; do
		extract $page ex || return 1
	done &&
	test $(ls ex | wc -l) -ge 40
'

test_expect_success 'setup: the broker, PostgreSQL, files and archives to run them on' '
	start_broker $TOPICS &&
	PN_BROKERS=$BROKERS && export PN_BROKERS &&
	start_pg &&
	sql "CREATE DATABASE reports" &&
	mkdir fixtures && cd fixtures &&
	ln -s "$PN_SRC/scripts" scripts &&
	ln -s "$PN_SRC/schemas" schemas &&
	# pings of 2026-11-01 and 2026-11-25, for the examples that pick days
	gen-pings 2000 5 >pings.ndjson &&
	awk "{ day = NR % 2 ? 1793491200000 : 1795564800000
		sub(/^\\{/, \"{\\\"_timestamp\\\":\" day + NR * 1000 \",\") } 1" pings.ndjson >stamped &&
	pn-produce -t pushnotification-ping -k source_id stamped &&
	head -n 20 stamped >more &&
	pn-produce -t ping-by-campaign -k source_id stamped &&
	pn-consume -t pushnotification-ping -e --meta >pings-meta.ndjson &&
	pn-archive write s3/audit/pushnotification-ping pings-meta.ndjson &&
	pn-archive write s3/audit/pings pings-meta.ndjson &&
	pn-archive write var/lib/pn/archive pings-meta.ndjson &&
	pn-aggregate --emit final -w source=campaign -g source_id:id \
		--count delivered_time:impressions --count clicked_time:clicks \
		pings.ndjson >changes.ndjson &&
	pn-produce -t campaign-changes -k id changes.ndjson &&
	jq -c "{source_id: .id, day: \"2026-11-25\", impressions, clicks}" changes.ndjson >daily.ndjson &&
	# the campaigns, for the examples that update their rows
	for db in postgres reports; do
		psql -X -q -v ON_ERROR_STOP=1 -d $db \
			-c "CREATE TABLE campaign (id bigint PRIMARY KEY, impressions bigint, clicks bigint)" &&
		jq -r .id changes.ndjson | sed "s/.*/INSERT INTO campaign VALUES (&, 0, 0);/" |
			psql -X -q -v ON_ERROR_STOP=1 -d $db || return 1
	done &&
	sql "CREATE SCHEMA reports; CREATE TABLE reports.daily (campaign bigint, day date,
		impressions bigint, clicks bigint, PRIMARY KEY (campaign, day))"
'

for page in $PAGES; do
for ((n = 1; n < 100; n++)); do
	d=$TRASH_DIRECTORY/ex/$page.$n
	[ -d "$d" ] || break
	plan $page "$(cat "$d/text")"
	desc="$page example $n: $(cat "$d/title")"
	case $how in
	skip) test_skip "$desc" "$why" ;;
	unknown) test_expect_success "$desc" '
		echo "no plan for this example: add it to plan () in $0" &&
		false
	' ;;
	*) if [ -n "$known" ]; then
		test_expect_failure "$desc ($known)" "run_example '$d'"
	else
		test_expect_success "$desc" "run_example '$d'"
	fi ;;
	esac
done
done

test_done
