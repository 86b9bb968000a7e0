#!/bin/bash
# t6100-registry-errors: every way the schema registry can fail pn-produce
# and pn-consume: no registry, 401, 404 (40401, 40403), 409, 422, 5xx with
# retries, connection refused, TLS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-registry.sh"

ping=$PN_SRC/schemas/push_notification_ping.avsc

test_expect_success 'start the dev broker and the registry double' '
	start_broker reg:1 auth:1 unknown:1 tls:1 flaky:1 &&
	start_registry &&
	gen-pings 20 3 >pings
'

test_expect_success 'usage: --schema, --key-schema and --subject go with --avro (64)' '
	test_expect_code 64 pn-produce -b "$BROKERS" -t reg --schema $ping pings 2>err &&
	grep "go with --avro" err
'

test_expect_success 'no registry configured: 78 from both programs' '
	test_expect_code 78 pn-produce -b "$BROKERS" -t reg --avro --schema $ping pings 2>err &&
	grep "needs a schema registry: --schema-registry URL, or schema.registry.url in -F" err &&
	test_expect_code 78 pn-consume -b "$BROKERS" -t reg -e --avro 2>err &&
	grep "need a schema registry" err
'

test_expect_success 'a subject with no versions and no --schema: 40401, exit 78' '
	test_expect_code 78 pn-produce -b "$BROKERS" -t reg --avro --schema-registry "$REGISTRY" \
		pings 2>err &&
	echo "pn-produce: schema registry '\''$REGISTRY'\'': cannot read the latest schema of subject '\''reg-value'\'': Subject '\''reg-value'\'' not found. (40401)" >expect &&
	test_cmp expect err
'

test_expect_success 'a schema the registry finds invalid: 422, exit 78' '
	# a symbol must be a name; the registry checks what pn leaves to it
	echo "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"1a\"]}" >sym.avsc &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t reg --avro --schema sym.avsc \
		--schema-registry "$REGISTRY" pings 2>err &&
	grep "cannot register the schema under subject .reg-value.: the registry finds the schema invalid (422, 42201): .*enum symbol must be a valid schema name" err
'

test_expect_success 'pn refuses a schema with a field or a symbol twice itself (78)' '
	echo "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}" >dup.avsc &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t reg --avro --schema dup.avsc \
		--schema-registry "$REGISTRY" pings 2>err &&
	echo "pn-produce: bad schema '\''dup.avsc'\'': enum '\''E'\'' has the symbol '\''A'\'' twice" >expect &&
	test_cmp expect err &&
	echo "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"a\",\"type\":\"long\"}]}" >dupf.avsc &&
	test_expect_code 78 pn-consume -b "$BROKERS" -t reg -e --schema dupf.avsc \
		--schema-registry "$REGISTRY" 2>err &&
	echo "pn-consume: bad schema '\''dupf.avsc'\'': record '\''R'\'' has two fields '\''a'\''" >expect &&
	test_cmp expect err
'

test_expect_success 'an incompatible schema: 409, exit 78' '
	pn-produce -b "$BROKERS" -t reg --avro --schema $ping --schema-registry "$REGISTRY" pings &&
	sed "s/\"name\": \"merchant\", \"type\": \"string\"/\"name\": \"merchant\", \"type\": \"int\"/" \
		$ping >incompatible.avsc &&
	! cmp -s $ping incompatible.avsc &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t reg --avro --schema incompatible.avsc \
		--schema-registry "$REGISTRY" pings 2>err &&
	grep "the schema is incompatible with the subject.s earlier versions (409): Schema being registered is incompatible" err
'

test_expect_success 'a message naming a schema id the registry does not know: 40403, 65 or --reject' '
	pn-produce -b "$BROKERS" -t unknown --avro --subject reg-value --schema-registry "$REGISTRY" pings &&
	printf "{\"_value_base64\":\"%s\"}\n" "$(printf "\000\000\000\003\347\002" | base64)" |
		pn-produce -b "$BROKERS" -t unknown &&
	test_expect_code 65 pn-consume -b "$BROKERS" -t unknown -e --schema-registry "$REGISTRY" \
		>out 2>err &&
	test_line_count = 20 out &&
	echo "pn-consume: error (at topic '\''unknown'\'', partition 0, offset 20): schema registry '\''$REGISTRY'\'': cannot read schema 999: Schema 999 not found (40403)" >expect &&
	test_cmp expect err &&
	printf "{\"_value_base64\":\"%s\"}\n" "$(printf "\000\000\000\003\347\002" | base64)" |
		pn-produce -b "$BROKERS" -t unknown &&
	registry_log | grep -c "^GET /schemas/ids/999" >asked.before &&
	pn-consume -b "$BROKERS" -t unknown -e --schema-registry "$REGISTRY" --reject rej >out 2>err &&
	test_line_count = 20 out &&
	test_line_count = 2 rej &&
	test $(grep -c "Schema 999 not found (40403)" err) = 2 &&
	# an unknown id is asked once per run, not once per message
	registry_log | grep -c "^GET /schemas/ids/999" >asked.after &&
	test $(cat asked.after) = $(($(cat asked.before) + 1))
'

test_expect_success '5xx answers are retried with backoff and then succeed' '
	registry_fail 500 2 &&
	pn-produce -b "$BROKERS" -t flaky --avro --schema $ping --schema-registry "$REGISTRY" \
		-v pings 2>err &&
	test $(grep -c "schema registry: retrying register the schema" err) = 2 &&
	registry_fail 502 3 &&
	pn-consume -b "$BROKERS" -t flaky -e --schema-registry "$REGISTRY" >out &&
	test_cmp pings out
'

test_expect_success '5xx until the retries run out: 75; 503: 69; consume stops before committing' '
	registry_fail 500 5 &&
	test_expect_code 75 pn-produce -b "$BROKERS" -t flaky --avro --schema $ping \
		--schema-registry "$REGISTRY" pings 2>err &&
	grep "cannot register the schema under subject .flaky-value.: server error 500 (50001): injected failure (5 attempts)" err &&
	registry_fail 503 5 &&
	test_expect_code 69 pn-produce -b "$BROKERS" -t flaky --avro --schema $ping \
		--schema-registry "$REGISTRY" pings 2>err &&
	grep "server error 503 (50301)" err &&
	registry_fail 500 5 &&
	test_expect_code 75 pn-consume -b "$BROKERS" -t flaky -g g1 -F "$KAFKA_PROPS" -e \
		--schema-registry "$REGISTRY" >out 2>err &&
	test_must_be_empty out &&
	grep "cannot read schema 1: server error 500" err &&
	pn-consume -b "$BROKERS" -t flaky -g g1 -F "$KAFKA_PROPS" -e \
		--schema-registry "$REGISTRY" >out &&
	test_cmp pings out
'

test_expect_success 'no registry listening: 69 after the retries' '
	test_expect_code 69 pn-produce -b "$BROKERS" -t reg --avro --schema $ping \
		--schema-registry http://127.0.0.1:1 pings 2>err &&
	grep "schema registry .http://127.0.0.1:1.: cannot register the schema under subject .reg-value.: .*(5 attempts)" err
'

test_expect_success 'a list of registries: the next one after a connection error' '
	pn-produce -b "$BROKERS" -t reg --avro --schema $ping -v \
		--schema-registry "http://127.0.0.1:1,$REGISTRY/" pings 2>err &&
	grep "schema registry .http://127.0.0.1:1.: .*onnect" err &&
	! grep "retrying" err
'

test_expect_success 'basic auth: 401 without credentials (78), user:password from -F works' '
	kill $REGISTRY_PID && wait $REGISTRY_PID 2>/dev/null;
	start_registry --user "pn:s3cret" &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t auth --avro --schema $ping \
		--schema-registry "$REGISTRY" pings 2>err &&
	grep "cannot register the schema under subject .auth-value.: unauthorized (401): check schema.registry.basic.auth.user.info" err &&
	printf "schema.registry.url=%s\nschema.registry.basic.auth.user.info=pn:wrong\n" "$REGISTRY" >wrong.properties &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t auth --avro --schema $ping -F wrong.properties \
		pings 2>err &&
	grep "unauthorized (401)" err &&
	printf "schema.registry.url=%s\nschema.registry.basic.auth.user.info=pn:s3cret\n" "$REGISTRY" >sr.properties &&
	pn-produce -b "$BROKERS" -t auth --avro --schema $ping -F sr.properties pings &&
	test_expect_code 78 pn-consume -b "$BROKERS" -t auth -e --schema-registry "$REGISTRY" 2>err &&
	grep "cannot read schema 1: unauthorized (401)" err &&
	pn-consume -b "$BROKERS" -t auth -e -F sr.properties >out &&
	test_cmp pings out
'

test_expect_success 'userinfo in a registry URL is never printed: 401, 5xx, refused' '
	authed=$(echo "$REGISTRY" | sed "s|://|://pn:s3cret@|") &&
	wrong=$(echo "$REGISTRY" | sed "s|://|://pn:wr0ngpw@|") &&
	shown=$(echo "$REGISTRY" | sed "s|://|://***@|") &&
	pn-produce -b "$BROKERS" -t auth --avro --schema $ping --schema-registry "$authed" pings &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t auth --avro --schema $ping \
		--schema-registry "$wrong" pings 2>err &&
	grep -F "schema registry '\''$shown'\'': " err && ! grep wr0ngpw err &&
	test_expect_code 78 pn-consume -b "$BROKERS" -t auth -e --schema-registry "$wrong" 2>err &&
	grep -F "$shown" err && ! grep wr0ngpw err &&
	registry_fail 500 5 &&
	test_expect_code 75 pn-produce -b "$BROKERS" -t auth --avro --schema $ping \
		--schema-registry "$authed" pings 2>err &&
	grep "server error 500" err && ! grep s3cret err &&
	test_expect_code 69 pn-produce -b "$BROKERS" -t auth --avro --schema $ping -v \
		--schema-registry "http://pn:t0psecret@127.0.0.1:1,http://pn:t0psecret@127.0.0.1:1/x" \
		pings 2>err &&
	grep -F "http://***@127.0.0.1:1" err && ! grep t0psecret err
'

test_expect_success 'TLS: https with the CA from schema.registry.ssl.ca.location' '
	kill $REGISTRY_PID && wait $REGISTRY_PID 2>/dev/null;
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null &&
	start_registry --tls cert.pem key.pem &&
	case $REGISTRY in https://*) ;; *) false ;; esac &&
	test_expect_code 69 pn-produce -b "$BROKERS" -t tls --avro --schema $ping \
		--schema-registry "$REGISTRY" pings 2>err &&
	grep -i "certificate" err &&
	printf "schema.registry.ssl.ca.location=%s\n" "$PWD/cert.pem" >tls.properties &&
	pn-produce -b "$BROKERS" -t tls --avro --schema $ping --schema-registry "$REGISTRY" \
		-F tls.properties pings &&
	pn-consume -b "$BROKERS" -t tls -e --schema-registry "$REGISTRY" -F tls.properties >out &&
	test_cmp pings out
'

test_done
