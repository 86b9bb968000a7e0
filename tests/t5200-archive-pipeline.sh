#!/bin/bash
# t5200-archive-pipeline: pn-archive in the pipelines of its man page: a
# topic archived from pn-consume --meta, a backfill through pn-aggregate
# without Kafka, a replay through pn-produce into another topic.
. "$(dirname "$0")/lib.sh"
. "$PN_SRC/tests/lib-kafka.sh"

final_table () { "$PYTHON" "$PN_SRC/tests/final-table.py" "$@"; }
REPORT="--where source=campaign --group-by source_id:id --count delivered_time:impressions --count clicked_time:clicks"

test_expect_success 'setup: pings in a topic of 4 partitions' '
	start_broker pings:4 replay:4 &&
	gen-pings 20000 7 >pings &&
	pn-produce -b "$BROKERS" -t pings --key source_id pings
'

test_expect_success 'archive the topic from pn-consume --meta' '
	pn-consume -b "$BROKERS" -t pings --meta -e >consumed &&
	test_line_count = 20000 consumed &&
	pn-consume -b "$BROKERS" -t pings --meta -e |
	pn-archive write --stats arch 2>stats &&
	test_jq ".records == 20000 and .duplicates == 0" stats &&
	pn-archive verify arch >verdicts &&
	pn-archive ls arch >list &&
	jq -r "\"\\(.topic) \\(.partition) \\(.first_offset)\"" list | sort -u >actual &&
	printf "pings 0 0\npings 1 0\npings 2 0\npings 3 0\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'cat gives every partition back in offset order' '
	pn-archive cat arch >out &&
	test_line_count = 20000 out &&
	for p in 0 1 2 3; do
		grep "\"_partition\":$p," consumed >expect.$p &&
		grep "\"_partition\":$p," out >actual.$p &&
		test_cmp expect.$p actual.$p || return 1
	done
'

test_expect_success 'a backfill from the archive equals the report from the topic' '
	pn-archive cat arch | pn-aggregate --emit final $REPORT >from-archive &&
	pn-aggregate --emit final $REPORT pings >from-file &&
	final_table id from-archive >actual &&
	final_table id from-file >expect &&
	test_cmp expect actual
'

test_expect_success 'a replay into another topic keeps keys and partitions' '
	pn-archive cat arch | pn-produce -b "$BROKERS" -t replay --keep-partition &&
	pn-consume -b "$BROKERS" -t replay --meta -e >replayed &&
	jq -c "del(._topic, ._offset, ._timestamp)" replayed | sort >actual &&
	jq -c "del(._topic, ._offset, ._timestamp)" consumed | sort >expect &&
	test_cmp expect actual
'

test_done
