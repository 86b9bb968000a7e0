#!/bin/bash
# t6000-avro-types: every Avro type through pn-produce --avro and pn-consume,
# read back by the Confluent Python client too; what does not fit a schema.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-registry.sh"

AVRO=$PN_SRC/tests/avro

test_expect_success 'start the dev broker and the registry double' '
	start_broker all:1 again:1 ping:1 bad:1 badall:1 raw:1 tomb:1 keyed:1 scalar:1 &&
	start_registry &&
	test -n "$REGISTRY"
'

test_expect_success 'every type and logical type round-trips to its documented JSON form' '
	pn-produce -b "$BROKERS" -t all --avro --schema "$AVRO/all-types.avsc" \
		--schema-registry "$REGISTRY" "$AVRO/all-types.ndjson" &&
	pn-consume -b "$BROKERS" -t all -e --schema-registry "$REGISTRY" >out &&
	test_cmp "$AVRO/all-types.expect" out
'

test_expect_success 'the documented forms go back to the same bytes: consume | produce is lossless' '
	pn-produce -b "$BROKERS" -t again --avro --schema "$AVRO/all-types.avsc" \
		--schema-registry "$REGISTRY" out &&
	pn-consume -b "$BROKERS" -t again -e --schema-registry "$REGISTRY" >again &&
	test_cmp out again &&
	# the payloads themselves, as pn-consume writes them without a registry
	pn-consume -b "$BROKERS" -t all -e >all.raw &&
	pn-consume -b "$BROKERS" -t again -e >again.raw &&
	test_line_count = 4 all.raw &&
	test_cmp all.raw again.raw
'

test_expect_success 'the Confluent Python AvroConsumer reads the same values' '
	$PYTHON "$PN_SRC/tests/confluent-client.py" consume "$BROKERS" "$REGISTRY" all 4 \
		>py.out 2>py.err &&
	# python-avro 1.11 has no local-timestamp types (it reads longs) and
	# writes millisecond times with six digits; a float it widens to double
	norm="del(.ltsms, .ltsus, .f)" &&
	jq -cS "$norm" out >expect &&
	jq -cS "$norm | .tms |= sub(\"000\$\"; \"\") | .tsms |= sub(\"000Z\$\"; \"Z\")" py.out >actual &&
	test_cmp expect actual &&
	jq -r .f py.out >floats &&
	printf "1.5\n-0\nNaN\n3.4028234663852886e+38\n" >expect &&
	test_cmp expect floats
'

test_expect_success 'the writer schema is fetched by id once per run' '
	registry_log | grep -c "^GET /schemas/ids/" >before &&
	pn-consume -b "$BROKERS" -t all -e --schema-registry "$REGISTRY" >/dev/null &&
	registry_log | grep -c "^GET /schemas/ids/" >after &&
	test $(cat after) = $(($(cat before) + 1))
'

# check_bad SCHEMA LINE MESSAGE: 65 and the exact message with the field path
check_bad () {
	printf "%s\n" "$2" >bad.in &&
	topic=bad && case $1 in *all-types*) topic=badall ;; esac &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t $topic --avro --schema "$1" \
		--schema-registry "$REGISTRY" bad.in 2>err &&
	echo "pn-produce: error (at bad.in:1): $3" >expect &&
	test_cmp expect err
}

ping=$PN_SRC/schemas/push_notification_ping.avsc
ok_ping='"merchant":"m","source":"campaign","source_id":1,"subscriber_id":2'
test_expect_success 'a record that does not fit the schema: 65, the field path and the reason' '
	check_bad $ping "{\"merchant\":\"m\",\"source\":\"s\",\"source_id\":\"12\",\"subscriber_id\":1}" \
		"field '\''source_id'\'': expected a long, got a string" &&
	check_bad $ping "{\"merchant\":\"m\",\"source\":\"s\",\"source_id\":1}" \
		"field '\''subscriber_id'\'': missing, and the schema gives no default" &&
	check_bad $ping "{$ok_ping,\"delivered_time\":5}" \
		"field '\''delivered_time'\'': a number fits no branch of the union [null, string]" &&
	check_bad $ping "{$ok_ping,\"extra\":5}" \
		"field '\''extra'\'': not in the schema of record '\''com.pushowl.push_notification_ping'\''" &&
	check_bad $ping "{$ok_ping,\"source_id\":1.5}" \
		"field '\''source_id'\'': expected a long, got a number that is not a 64-bit integer" &&
	check_bad $ping "[1]" "not a JSON object"
'

all() {	# a valid all-types record with one field replaced: all FIELD JSON
	# (jq holds numbers as doubles: the base has none past 2^53)
	sed -n 1p "$AVRO/all-types.ndjson" | sed "s/\"l\":[0-9]*/\"l\":1/" | jq -c ".$1 = $2"
}
test_expect_success 'nested paths, enums, fixed, decimals, dates, int range' '
	check_bad "$AVRO/all-types.avsc" "$(all rec "{\"x\":1,\"next\":{\"x\":\"no\",\"next\":null}}")" \
		"field '\''rec.next.x'\'': expected an int, got a string" &&
	check_bad "$AVRO/all-types.avsc" "$(all a "[1,\"x\"]")" \
		"field '\''a[1]'\'': expected a long, got a string" &&
	check_bad "$AVRO/all-types.avsc" "$(all m "{\"k\":\"x\"}")" \
		"field '\''m.k'\'': a string fits no branch of the union [null, double]" &&
	check_bad "$AVRO/all-types.avsc" "$(all e "\"PINK\"")" \
		"field '\''e'\'': '\''PINK'\'' is not a symbol of enum '\''pn.test.Color'\''" &&
	check_bad "$AVRO/all-types.avsc" "$(all fx "\"AAAA\"")" \
		"field '\''fx'\'': expected 4 bytes for fixed '\''pn.test.Four'\'', got 3" &&
	check_bad "$AVRO/all-types.avsc" "$(all by "\"not base64!\"")" \
		"field '\''by'\'': expected bytes (base64), got a string that is not base64" &&
	check_bad "$AVRO/all-types.avsc" "$(all dec "\"1.2345\"")" \
		"field '\''dec'\'': '\''1.2345'\'' has more decimal places than the scale" &&
	check_bad "$AVRO/all-types.avsc" "$(all decf "\"123456789012345678\"")" \
		"field '\''decf'\'': '\''123456789012345678'\'' has more digits than the precision" &&
	check_bad "$AVRO/all-types.avsc" "$(all date "\"2020-13-01\"")" \
		"field '\''date'\'': expected a date (YYYY-MM-DD or days), got '\''2020-13-01'\''" &&
	check_bad "$AVRO/all-types.avsc" "$(all i 3000000000)" \
		"field '\''i'\'': 3000000000 does not fit an int" &&
	check_bad "$AVRO/all-types.avsc" "$(all u true)" \
		"field '\''u'\'': a boolean fits no branch of the union [null, int, string, pn.test.Color, pn.test.Inner, array]"
'

test_expect_success 'union values: natural JSON or the Avro JSON wrapper' '
	cat >u.in <<-\EOF &&
	{"u":{"int":5}}
	{"u":{"string":"5"}}
	{"u":{"pn.test.Color":"RED"}}
	{"u":"RED"}
	{"u":2147483648}
	EOF
	while read -r line; do all u "$(echo "$line" | jq -c .u)"; done <u.in >u.ndjson &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t all --avro --schema-registry "$REGISTRY" \
		u.ndjson 2>err &&
	grep "error (at u.ndjson:5): field .u.: a number fits no branch" err &&
	pn-consume -b "$BROKERS" -t all -o 4 -e --schema-registry "$REGISTRY" >u.out &&
	jq -c .u u.out >actual &&
	printf "%s\n" 5 "\"5\"" "\"RED\"" "\"RED\"" >expect &&
	test_cmp expect actual
'

test_expect_success '--reject sets bad records aside and sends the rest' '
	rm -f rej &&
	{ all e "\"PINK\"" && all i 1 && all u true; } >mixed &&
	pn-produce -b "$BROKERS" -t all --avro --schema-registry "$REGISTRY" --reject rej \
		--stats mixed 2>err &&
	grep "\"sent\":1," err &&
	test_line_count = 2 rej &&
	sed -n "1p;3p" mixed >expect &&
	test_cmp expect rej
'

test_expect_success 'metadata fields shape the message; _value null is a tombstone' '
	printf "%s\n" "{$ok_ping,\"_key\":\"k1\",\"_headers\":[[\"h\",\"v\"]],\"_timestamp\":1700000000000}" \
		"{\"_key\":\"k2\",\"_value\":null}" >meta.in &&
	pn-produce -b "$BROKERS" -t tomb --avro --schema $ping --schema-registry "$REGISTRY" meta.in &&
	pn-consume -b "$BROKERS" -t tomb -e --meta --schema-registry "$REGISTRY" >meta.out &&
	cat >expect <<-\EOF &&
	{"_topic":"tomb","_partition":0,"_offset":0,"_timestamp":1700000000000,"_key":"k1","_headers":[["h","v"]],"merchant":"m","source":"campaign","source_id":1,"subscriber_id":2,"delivered_time":null,"clicked_time":null}
	EOF
	head -n 1 meta.out >actual &&
	test_cmp expect actual &&
	sed -n 2p meta.out | jq -c "[._key, ._value]" >actual &&
	echo "[\"k2\",null]" >expect &&
	test_cmp expect actual
'

test_expect_success 'Avro keys (--key-schema, subject <topic>-key) are decoded as JSON values' '
	cat >key.avsc <<-\EOF &&
	{"type":"record","name":"Key","fields":[{"name":"merchant","type":"string"},{"name":"n","type":"int"}]}
	EOF
	printf "%s\n" "{$ok_ping,\"_key\":{\"merchant\":\"m\",\"n\":1}}" >k.in &&
	pn-produce -b "$BROKERS" -t keyed --avro --schema $ping --key-schema key.avsc \
		--schema-registry "$REGISTRY" k.in &&
	registry_log | grep "^POST /subjects/keyed-key/versions" &&
	pn-consume -b "$BROKERS" -t keyed -e --meta --schema-registry "$REGISTRY" >k.out &&
	jq -c ._key k.out >actual &&
	echo "{\"merchant\":\"m\",\"n\":1}" >expect &&
	test_cmp expect actual &&
	printf "%s\n" "{$ok_ping,\"_key\":{\"merchant\":\"m\"}}" >k2.in &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t keyed --avro --schema $ping \
		--key-schema key.avsc --schema-registry "$REGISTRY" k2.in 2>err &&
	grep "error (at k2.in:1): key: field .n.: missing" err
'

test_expect_success 'a schema that is not a record: values travel as _value' '
	echo "{\"type\":\"array\",\"items\":\"long\"}" >arr.avsc &&
	printf "%s\n" "{\"_value\":[1,2,3]}" "{\"_value\":[]}" >arr.in &&
	pn-produce -b "$BROKERS" -t scalar --avro --schema arr.avsc --schema-registry "$REGISTRY" arr.in &&
	pn-consume -b "$BROKERS" -t scalar -e --schema-registry "$REGISTRY" >arr.out &&
	test_cmp arr.in arr.out &&
	echo "{\"a\":[1]}" >noval.in &&
	test_expect_code 65 pn-produce -b "$BROKERS" -t scalar --avro --schema-registry "$REGISTRY" \
		noval.in 2>err &&
	grep "error (at noval.in:1): the schema is not a record: give the value as _value" err
'

test_expect_success 'an undecodable message stops pn-consume with its position (65)' '
	gen-pings 3 >three &&
	pn-produce -b "$BROKERS" -t raw --avro --schema $ping --schema-registry "$REGISTRY" three &&
	echo "{\"not\":\"avro\"}" | pn-produce -b "$BROKERS" -t raw &&
	# framed, schema 1, but cut short
	printf "{\"_value_base64\":\"%s\"}\n" "$(printf "\000\000\000\000\001\002" | base64)" |
		pn-produce -b "$BROKERS" -t raw &&
	pn-produce -b "$BROKERS" -t raw --avro --schema $ping --schema-registry "$REGISTRY" three &&
	test_expect_code 65 pn-consume -b "$BROKERS" -t raw -e --schema-registry "$REGISTRY" \
		>out 2>err &&
	test_line_count = 3 out &&
	echo "pn-consume: error (at topic '\''raw'\'', partition 0, offset 3): not Confluent Avro: no magic byte 0 and schema id" >expect &&
	test_cmp expect err
'

test_expect_success 'with --reject they are set aside as records and the rest goes on' '
	rm -f rej &&
	pn-consume -b "$BROKERS" -t raw -e --schema-registry "$REGISTRY" --reject rej \
		--stats >out 2>err &&
	test_line_count = 6 out &&
	test_line_count = 2 rej &&
	grep "offset 4): schema 1: field .b.: truncated or malformed Avro data" err &&
	grep "\"rejected\":2," err &&
	# as pn-consume --meta writes any payload, so they can be replayed
	cat >expect <<-\EOF &&
	[3,"avro",null]
	[4,null,"\u0000\u0000\u0000\u0000\u0001\u0002"]
	EOF
	jq -c "[._offset, .not, ._value]" rej >actual &&
	test_cmp expect actual
'

test_done
