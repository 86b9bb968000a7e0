#!/bin/bash
# t9100-scale-out: the campaign report shared by two pipeline instances,
# each owning half of a 12-partition topic keyed by campaign and keeping
# its own checkpoint, gives the same table as one instance.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-pg.sh"
. "$(dirname "$0")/lib-day.sh"

test_expect_success 'setup: a day of pings on a topic keyed by subscriber' '
	setup_day 20000 6 ping-by-campaign:12 &&
	expected_table >expect &&
	pn-produce -b "$BROKERS" -t pushnotification-ping --key subscriber_id day/good.ndjson
'

test_expect_success 'the repartition step: one campaign, one partition of 12' '
	pn-consume -b "$BROKERS" -t pushnotification-ping -e |
		pn-produce -b "$BROKERS" -t ping-by-campaign --key source_id &&
	pn-consume -b "$BROKERS" -t ping-by-campaign -e --meta >keyed &&
	test_line_count = $(wc -l <day/good.ndjson) keyed &&
	jq -r "[.source_id, ._partition] | @tsv" keyed | sort -u >pairs &&
	cut -f1 pairs | uniq -d >split-campaigns &&
	test_must_be_empty split-campaigns
'

test_expect_success 'one instance over all partitions' '
	pipeline report -b "$BROKERS" -t ping-by-campaign -s one.state --once 2>log &&
	campaign_table >actual &&
	test_cmp expect actual
'

test_expect_success 'two instances, partitions 0-5 and 6-11, own checkpoints: the same table' '
	reset_table || return 1
	pipeline report -b "$BROKERS" -t ping-by-campaign -p 0-5 -s a.state --once 2>loga &
	first=$! &&
	pipeline report -b "$BROKERS" -t ping-by-campaign -p 6-11 -s b.state --once 2>logb &&
	wait $first &&
	campaign_table >actual &&
	test_cmp expect actual &&
	pn-aggregate --state a.state --print-offsets | jq -r ".\"ping-by-campaign\" | keys[]" |
		sort -n >parts-a &&
	pn-aggregate --state b.state --print-offsets | jq -r ".\"ping-by-campaign\" | keys[]" |
		sort -n >parts-b &&
	seq 0 5 >expect-a && seq 6 11 >expect-b &&
	test_cmp expect-a parts-a &&
	test_cmp expect-b parts-b
'

test_expect_success 'without the repartition step, two instances get it wrong' '
	reset_table || return 1
	pipeline report -b "$BROKERS" -p 0-2 -s c.state --once 2>logc &
	first=$! &&
	pipeline report -b "$BROKERS" -p 3-5 -s d.state --once 2>logd &&
	wait $first &&
	campaign_table >actual &&
	! cmp -s expect actual
'

test_done
