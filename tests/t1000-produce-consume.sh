#!/bin/bash
# t1000-produce-consume: records round trip through Kafka exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"

test_expect_success 'start the dev broker' '
	start_broker rt:8 keyed:6 meta:1 copy:1 fixed:4 zstd:2 ctl:1 &&
	test -n "$BROKERS"
'

test_expect_success EXPENSIVE '100k records round trip exactly, in order within each partition' '
	gen-pings 100000 7 | awk "{ sub(/^\\{/, \"{\\\"seq\\\":\" NR \",\") } 1" >in.ndjson &&
	# no sticky partitioning: a fast run would pile past the 5 MB the mock keeps
	# per partition (older records then vanish) in one partition
	pn-produce -b "$BROKERS" -t rt -X sticky.partitioning.linger.ms=0 --stats in.ndjson 2>stats &&
	grep "\"acked\":100000," stats &&
	pn-consume -b "$BROKERS" -t rt -e --meta >out.ndjson &&
	test_line_count = 100000 out.ndjson &&
	sort in.ndjson >expect &&
	strip_meta_sorted out.ndjson >actual &&
	test_cmp expect actual &&
	jq -r "[._partition, ._offset, .seq] | @tsv" out.ndjson | sort -k1,1n -k2,2n >order &&
	awk "\$1 == p && \$3 <= s { bad++ } { p = \$1; s = \$3 } END { exit bad > 0 }" order &&
	test $(cut -f1 order | sort -u | wc -l) = 8
'

test_expect_success 'one key always lands on one partition' '
	gen-pings 5000 3 >keyed.ndjson &&
	pn-produce -b "$BROKERS" -t keyed -k merchant keyed.ndjson &&
	pn-consume -b "$BROKERS" -t keyed -e --meta >keyed.out &&
	test_line_count = 5000 keyed.out &&
	jq -r "[.merchant, ._partition, ._key == .merchant] | @tsv" keyed.out | sort -u >pairs &&
	! grep -v "	true\$" pairs &&
	test $(cut -f1 pairs | sort | uniq -d | wc -l) = 0 &&
	test $(cut -f2 pairs | sort -u | wc -l) -gt 1
'

test_expect_success '--meta writes the coordinates, key, headers and timestamp' '
	cat >meta.in <<-\EOF &&
	{"a":1,"_key":"k1","_timestamp":1700000000000}
	{"b":"x","_headers":[["trace","t1"],["trace","t2"],["empty",null]],"_timestamp":"2023-11-14T22:13:20.001Z"}
	{"c":[1,{"d":null}],"_key":7,"_headers":{"h":"v"},"_timestamp":1700000000002,"_offset":99,"_topic":"ignored"}
	EOF
	pn-produce -b "$BROKERS" -t meta -H "src=test" meta.in &&
	pn-consume -b "$BROKERS" -t meta -e --meta >meta.out &&
	cat >expect <<-\EOF &&
	{"_topic":"meta","_partition":0,"_offset":0,"_timestamp":1700000000000,"_key":"k1","_headers":[["src","test"]],"a":1}
	{"_topic":"meta","_partition":0,"_offset":1,"_timestamp":1700000000001,"_key":null,"_headers":[["trace","t1"],["trace","t2"],["empty",null],["src","test"]],"b":"x"}
	{"_topic":"meta","_partition":0,"_offset":2,"_timestamp":1700000000002,"_key":"7","_headers":[["h","v"],["src","test"]],"c":[1,{"d":null}]}
	EOF
	test_cmp expect meta.out
'

test_expect_success 'pn-consume --meta | pn-produce --keep-partition reproduces a stream' '
	pn-consume -b "$BROKERS" -t meta -e --meta >orig &&
	pn-produce -b "$BROKERS" -t copy --keep-partition orig &&
	pn-consume -b "$BROKERS" -t copy -e --meta >copy.out &&
	sed "s/\"_topic\":\"meta\"/\"_topic\":\"copy\"/" orig >expect &&
	test_cmp expect copy.out
'

test_expect_success 'without --meta, object payloads are written as they are' '
	pn-consume -b "$BROKERS" -t meta -e >plain.out &&
	cat >expect <<-\EOF &&
	{"a":1}
	{"b":"x"}
	{"c":[1,{"d":null}]}
	EOF
	test_cmp expect plain.out
'

test_expect_success '--partition sends every record to one partition' '
	gen-pings 100 1 >few &&
	pn-produce -b "$BROKERS" -t fixed -p 2 few &&
	pn-consume -b "$BROKERS" -t fixed -e --meta >fixed.out &&
	test_line_count = 100 fixed.out &&
	jq -r ._partition fixed.out | sort -u >actual &&
	echo 2 >expect &&
	test_cmp expect actual
'

test_expect_success 'compressed batches (-z zstd) come back the same' '
	gen-pings 2000 2 >z.in &&
	pn-produce -b "$BROKERS" -t zstd -z zstd z.in &&
	pn-consume -b "$BROKERS" -t zstd -e >z.out &&
	sort z.in >expect &&
	sort z.out >actual &&
	test_cmp expect actual &&
	test_expect_code 64 pn-produce -b "$BROKERS" -t zstd -z lzma z.in 2>err &&
	grep "bad compression .lzma." err
'

test_expect_success 'control records are not sent, and --stats counts them' '
	gen-pings 10 4 >ctl.base &&
	{ head -n 5 ctl.base &&
	  echo "{\"_control\":\"assigned\",\"_topic\":\"pings\",\"_partition\":3}" &&
	  tail -n 5 ctl.base; } >ctl.in &&
	pn-produce -b "$BROKERS" -t ctl --stats ctl.in 2>stats &&
	grep "^{\"lines\":11,\"sent\":10,\"acked\":10,.*\"controls\":1," stats &&
	pn-consume -b "$BROKERS" -t ctl -e >ctl.out &&
	test_cmp ctl.base ctl.out
'

test_done
