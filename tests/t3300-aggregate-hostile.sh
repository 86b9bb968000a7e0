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

test_done
