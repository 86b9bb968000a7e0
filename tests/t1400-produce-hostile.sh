#!/bin/bash
# t1400-produce-hostile: member names twice and escaped, on the way to Kafka.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"

test_expect_success 'start the dev broker' '
	start_broker dup:1 &&
	test -n "$BROKERS"
'

test_expect_success 'a metadata member twice: the last one counts; names are decoded' '
	cat >in <<-\EOF &&
	{"a":1,"_headers":[["x","1"]],"_headers":[["y","2"]],"_key":"k1","_key":"k2"}
	{"b":2,"_timestamp":1700000000000,"\u005ftimestamp":1700000000009}
	EOF
	pn-produce -b "$BROKERS" -t dup in &&
	pn-consume -b "$BROKERS" -t dup -e --meta >out &&
	jq -c "[._key, ._headers]" out | head -n 1 >actual &&
	echo "[\"k2\",[[\"y\",\"2\"]]]" >expect &&
	test_cmp expect actual &&
	! grep -i "u005f" out &&
	sed -n 2p out | jq -r ._timestamp >actual &&
	echo 1700000000009 >expect &&
	test_cmp expect actual
'

test_done
