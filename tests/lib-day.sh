# tests/lib-day.sh -- a generated day on a dev broker and the dashboard's
# campaign table on a private PostgreSQL, for the whole-pipeline tests.
# Source after lib.sh, lib-kafka.sh and lib-pg.sh.
#
#   setup_day DISPATCHES PARTITIONS [TOPIC:N...]   gen-day into day/, start
#                   the broker with the three topics (the ping topic with
#                   PARTITIONS partitions) and any others, and PostgreSQL
#                   with the campaign table
#                   seeded from day/campaigns.tsv; day/good.ndjson holds
#                   the pings that are JSON objects
#   expected_table [FILE]  the campaign table an independent count of
#                   day/good.ndjson (or FILE) gives, as `campaign_table`
#                   prints it
#   campaign_table  id|impressions|clicks of every campaign, by id
#   reset_table     impressions and clicks back to 0
#   pipeline ARGS   scripts/pn-pipeline with the test's brokers
#   start_instance NAME  a member of the report's consumer group (group
#                   report, state directory shared/): scripts/pn-pipeline
#                   in directory NAME (its "machine", pipeline.log there)
#                   and its own session, so that it can be killed or stopped
#                   as a whole; sets NAME to the session, pn-pipeline's pid

# A day of 30000 dispatches is about 9 MB of pings: keyed by campaign over
# 6 partitions, each stays below the ~5 MB a partition keeps on the mock.
setup_day () {
	local dispatches=$1 partitions=$2
	shift 2
	gen-day day "$dispatches" 7 &&
	start_broker -n 2 pushnotification-dispatch:"$partitions" \
		pushnotification-ping:"$partitions" campaign-reporting:"$partitions" "$@" &&
	start_pg &&
	sql "CREATE TABLE campaign (id bigint PRIMARY KEY, merchant text NOT NULL,
		created_at timestamp NOT NULL, impressions bigint NOT NULL DEFAULT 0,
		clicks bigint NOT NULL DEFAULT 0)" &&
	psql -X -q -v ON_ERROR_STOP=1 \
		-c "\\copy campaign (id, merchant, created_at) FROM 'day/campaigns.tsv'" &&
	"$PYTHON" -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        if isinstance(json.loads(line), dict):
            sys.stdout.write(line)
    except ValueError:
        pass
' day/ping.ndjson >day/good.ndjson
}

expected_table () {
	"$PYTHON" "$PN_SRC/tests/oracle-aggregate.py" "${1:-day/good.ndjson}" --where source=campaign \
		--group-by source_id:id --count delivered_time:impressions \
		--count clicked_time:clicks >oracle.rows &&
	jq -r "[.id, .impressions, .clicks] | map(tostring) | join(\"|\")" oracle.rows \
		>oracle.counted &&
	# campaigns without a ping keep their zeros
	cut -f1 day/campaigns.tsv | sort >all.ids &&
	cut -d"|" -f1 oracle.counted | sort >counted.ids &&
	comm -23 all.ids counted.ids | sed "s/$/|0|0/" >oracle.zero &&
	sort -t"|" -k1,1n oracle.counted oracle.zero
}

campaign_table () {
	sql "SELECT id, impressions, clicks FROM campaign ORDER BY id"
}

reset_table () {
	sql "UPDATE campaign SET impressions = 0, clicks = 0"
}

pipeline () {
	"$PN_SRC/scripts/pn-pipeline" "$@"
}

start_instance () {
	mkdir -p "$1" || return 1
	(cd "$1" && exec setsid sh -c "echo \$\$ >session && exec \"\$0\" \"\$@\"" \
		"$PN_SRC/scripts/pn-pipeline" report -b "$BROKERS" -F "$KAFKA_PROPS" \
		-s "$TRASH_DIRECTORY/shared/" -g report --backoff 200 2>pipeline.log) &
	test_wait_until 30 test -s "$1/session" || return 1
	eval "$1=\$(cat \"$1/session\")"
	test_atexit "kill -9 -- -$(cat "$1/session") 2>/dev/null"
}
