#!/bin/bash
# t6010-avro-interop: pn and the Confluent Python client (AvroProducer and
# AvroConsumer of python3-confluent-kafka, as the original workers used
# them) read each other's messages on the original two schemas.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-registry.sh"

ping=$PN_SRC/schemas/push_notification_ping.avsc
dispatch=$PN_SRC/schemas/push_notification_dispatch.avsc
client () { $PYTHON "$PN_SRC/tests/confluent-client.py" "$@"; }

# The original system's two schemas, as the workers register them (the
# project brief's text: both records in namespace com.pushowl).
cat >workers-dispatch.avsc <<'EOF'
{"type": "record", "name": "push_notification_dispatch", "namespace": "com.pushowl",
 "fields": [
  {"name": "title", "type": "string"},
  {"name": "description", "type": ["string", "null"]},
  {"name": "source", "type": "string"},
  {"name": "source_id", "type": "long"},
  {"name": "merchant", "type": "string"},
  {"name": "subscriber_id", "type": "long"}]}
EOF
cat >workers-ping.avsc <<'EOF'
{"type": "record", "name": "push_notification_ping", "namespace": "com.pushowl",
 "fields": [
  {"name": "merchant", "type": "string"},
  {"name": "source", "type": "string"},
  {"name": "source_id", "type": "long"},
  {"name": "subscriber_id", "type": "long"},
  {"name": "delivered_time", "type": ["null", "string"]},
  {"name": "clicked_time", "type": ["null", "string"]}]}
EOF
# The Parsing Canonical Form of an .avsc, as the Avro library of the
# workers' client computes it (python3-avro).
canonical () {
	$PYTHON -c "import sys, avro.schema; print(avro.schema.parse(open(sys.argv[1]).read()).canonical_form)" "$1"
}

test_expect_success 'the shipped schemas are the workers schemas, byte for byte in canonical form' '
	for s in dispatch ping; do
		canonical workers-$s.avsc >expect &&
		canonical "$PN_SRC/schemas/push_notification_$s.avsc" >actual &&
		grep "\"name\":\"com.pushowl.push_notification_$s\"" actual &&
		test_cmp expect actual || return 1
	done
'

test_expect_success 'start the dev broker and the registry double' '
	start_broker pushnotification-ping:4 pushnotification-dispatch:2 pn-ping:4 pn-dispatch:2 \
		workers-ping:1 &&
	start_registry
'

test_expect_success 'fixtures: pings with only delivered_time or only clicked_time, dispatches' '
	gen-pings 2000 5 >pings.full &&
	# the workers send the one time they know and leave the other out (the
	# schema has no defaults)
	jq -c "with_entries(select(.value != null))" pings.full >pings.workers &&
	grep -c clicked_time pings.workers >clicked &&
	test $(cat clicked) = 427 &&
	test $(grep -c delivered_time pings.workers) = 1573 &&
	! grep -q "null" pings.workers &&
	jq -c "{title: (\"Sale \" + (.source_id | tostring)),
		description: (if .source_id % 3 == 0 then null else \"Up to \\(.source_id % 70)% off\" end),
		source, source_id, merchant, subscriber_id}" pings.full | head -n 500 >dispatch.expect &&
	jq -c "with_entries(select(.value != null))" dispatch.expect >dispatch.workers
'

test_expect_success 'pings and dispatches written by the Confluent AvroProducer are read by pn-consume' '
	client produce "$BROKERS" "$REGISTRY" pushnotification-ping $ping <pings.workers &&
	client produce "$BROKERS" "$REGISTRY" pushnotification-dispatch $dispatch <dispatch.workers &&
	pn-consume -b "$BROKERS" -t pushnotification-ping -e --schema-registry "$REGISTRY" >pings.out &&
	sort pings.full >expect &&
	sort pings.out >actual &&
	test_cmp expect actual &&
	pn-consume -b "$BROKERS" -t pushnotification-dispatch -e --schema-registry "$REGISTRY" \
		>dispatch.out &&
	sort dispatch.expect >expect &&
	sort dispatch.out >actual &&
	test_cmp expect actual
'

test_expect_success 'the same through a properties file, as the Confluent clients take it' '
	printf "schema.registry.url=%s\n" "$REGISTRY" >sr.properties &&
	pn-consume -F sr.properties -b "$BROKERS" -t pushnotification-ping -e -c 10 >ten &&
	test_line_count = 10 ten
'

test_expect_success 'pn-produce --avro with the latest registered schema; the AvroConsumer reads the same values' '
	registry_log | grep -c "^POST" >posts.before &&
	pn-produce -b "$BROKERS" -t pn-ping --avro --subject pushnotification-ping-value \
		--schema-registry "$REGISTRY" pings.workers &&
	registry_log >log &&
	grep "^GET /subjects/pushnotification-ping-value/versions/latest" log &&
	test $(grep -c "^POST" log) = $(cat posts.before) &&
	client consume "$BROKERS" "$REGISTRY" pn-ping 2000 >py.out 2>py.err &&
	sort pings.full >expect &&
	sort py.out >actual &&
	test_cmp expect actual
'

test_expect_success 'pn-produce --avro --schema registers and shares the id of the same schema' '
	pn-produce -b "$BROKERS" -t pn-dispatch --avro --schema $dispatch \
		--schema-registry "$REGISTRY" -v dispatch.workers 2>err &&
	grep "subject .pn-dispatch-value.: schema id 2" err &&
	client consume "$BROKERS" "$REGISTRY" pn-dispatch 500 >py.out 2>py.err &&
	sort dispatch.expect >expect &&
	sort py.out >actual &&
	test_cmp expect actual
'

test_expect_success 'registering a shipped schema under the workers subject adds no version' '
	jq -Rs "{schema: .}" workers-ping.avsc >post.json &&
	curl -sf -X POST -H "Content-Type: application/vnd.schemaregistry.v1+json" \
		--data @post.json "$REGISTRY/subjects/workers-ping-value/versions" >posted &&
	jq .id posted >workers.id &&
	pn-produce -b "$BROKERS" -t workers-ping --avro --schema $ping \
		--schema-registry "$REGISTRY" pings.workers &&
	curl -sf "$REGISTRY/subjects/workers-ping-value/versions/latest" >latest &&
	test "$(jq .version latest)" = 1 &&
	test "$(jq .id latest)" = "$(cat workers.id)"
'

test_expect_success 'the bytes are the AvroProducer'\''s bytes' '
	pn-consume -b "$BROKERS" -t pushnotification-dispatch -e --meta >theirs &&
	pn-consume -b "$BROKERS" -t pn-dispatch -e --meta >ours &&
	jq -r "._value // ._value_base64" theirs | sort >expect &&
	jq -r "._value // ._value_base64" ours | sort >actual &&
	test_line_count = 500 actual &&
	test_cmp expect actual
'

test_done
