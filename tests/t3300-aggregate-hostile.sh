#!/bin/bash
# t3300-aggregate-hostile: input from outside that must not corrupt the
# results or the checkpoint: numbers beyond a double, offsets at the edge
# of 64 bits, NUL and control characters in topics, escaped names.
. "$(dirname "$0")/lib.sh"

test_expect_success 'a number beyond a double is bad input, not a null' '
	printf "{\"k\":\"a\",\"v\":1}\n{\"k\":\"a\",\"v\":1e400}\n" >in &&
	test_expect_code 65 pn-aggregate -g k --sum v in >out 2>err &&
	echo "pn-aggregate: error (at in:2): field '"'"'v'"'"' is 1e400, beyond a double" >expect &&
	test_cmp expect err &&
	test_expect_code 65 pn-aggregate -g k --max v in >out 2>err &&
	test_cmp expect err &&
	! grep null out
'

test_expect_success 'a sum that overflows a double is an error naming the group' '
	printf "{\"k\":\"a\",\"v\":1e308}\n{\"k\":\"b\",\"v\":1}\n{\"k\":\"a\",\"v\":1e308}\n" >in &&
	test_expect_code 65 pn-aggregate -g k --sum v --max v in >out 2>err &&
	echo "pn-aggregate: error (at in:3): --sum sum_v: the sum of group [\"a\"] goes beyond a double" >expect &&
	test_cmp expect err &&
	! grep null out &&
	pn-aggregate -g k --sum v --reject rej in >out 2>err &&
	printf "{\"k\":\"a\",\"sum_v\":1e+308}\n{\"k\":\"b\",\"sum_v\":1}\n" >expect &&
	test_cmp expect out &&
	test_line_count = 1 rej
'

test_expect_success 'an _offset at INT64_MAX or negative is bad input, the checkpoint intact' '
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":5,\"k\":\"a\"}\n" >in1 &&
	pn-aggregate --state st -g k --count "*" in1 >out &&
	cp st st.before &&
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":9223372036854775807,\"k\":\"a\"}\n" >in &&
	test_expect_code 65 pn-aggregate --state st -g k --count "*" in >out 2>err &&
	echo "pn-aggregate: error (at in:1): field '"'"'_offset'"'"' must be an offset" >expect &&
	test_cmp expect err &&
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":-1,\"k\":\"a\"}\n" >in &&
	test_expect_code 65 pn-aggregate --state st -g k --count "*" in >out 2>err &&
	test_cmp expect err &&
	pn-aggregate --state st --print-offsets >actual &&
	echo "{\"t\":{\"0\":6}}" >expect &&
	test_cmp expect actual &&
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":9223372036854775806,\"k\":\"a\"}\n" >in &&
	pn-aggregate --state st -g k --count "*" in >out &&
	pn-aggregate --state st -g k --count "*" in >out &&
	echo "{\"k\":\"a\",\"count\":2}" >expect &&
	test_cmp expect out
'

test_expect_success 'a NUL or control character in _topic is bad input, no alias' '
	printf "%s\n" "{\"_topic\":\"pings\\u0000x\",\"_partition\":0,\"_offset\":999999,\"k\":\"a\"}" >in &&
	test_expect_code 65 pn-aggregate --state st2 -g k --count "*" in >out 2>err &&
	echo "pn-aggregate: error (at in:1): field '"'"'_topic'"'"' must be a topic name (no NUL or control character)" >expect &&
	test_cmp expect err &&
	printf "%s\n" "{\"_topic\":\"pi\\rngs\",\"_partition\":0,\"_offset\":1,\"k\":\"a\"}" >in &&
	test_expect_code 65 pn-aggregate --state st2 -g k --count "*" in >out 2>err &&
	test_cmp expect err &&
	printf "%s\n" "{\"_topic\":\"pings\",\"_partition\":0,\"_offset\":7,\"k\":\"a\"}" >in &&
	pn-aggregate --state st2 -g k --count "*" in >out &&
	echo "{\"k\":\"a\",\"count\":1}" >expect &&
	test_cmp expect out
'

test_expect_success 'member names are compared decoded; a name twice: the last counts' '
	printf "%s\n" "{\"\\u0041b\":\"x\",\"v\":1}" "{\"Ab\":\"x\",\"v\\u0000\":5,\"v\":2}" \
		"{\"Ab\":\"y\",\"Ab\":\"x\",\"v\":4,\"v\":3}" >in &&
	pn-aggregate -g Ab --sum v in >out &&
	echo "{\"Ab\":\"x\",\"sum_v\":6}" >expect &&
	test_cmp expect out
'

test_expect_success 'a rewritten checkpoint keeps its mode, owner and group' '
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":1,\"k\":\"a\"}\n" >in &&
	pn-aggregate --state st3 -g k --count "*" in >out &&
	chmod 640 st3 &&
	if [ "$(id -u)" = 0 ]; then chown nobody:"$(id -gn nobody)" st3 || return 1; fi &&
	stat -c "%a %U %G" st3 >expect &&
	printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":2,\"k\":\"a\"}\n" >in &&
	pn-aggregate --state st3 -g k --count "*" in >out &&
	pn-aggregate --state st3 --print-offsets | grep "\"0\":3" &&
	stat -c "%a %U %G" st3 >actual &&
	test_cmp expect actual
'

test_done
