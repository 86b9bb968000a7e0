#!/bin/bash
# t6020-avro-evolution: writer and reader schemas differ.  Each message is
# decoded with its own writer schema, or resolved to a reader schema given
# with --schema, as the Avro specification resolves them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-kafka.sh"
. "$(dirname "$0")/lib-registry.sh"

test_expect_success 'start the dev broker and the registry double; two versions of a schema' '
	start_broker ev:1 &&
	start_registry &&
	cat >v1.avsc <<-\EOF &&
	{"type":"record","name":"Ping","namespace":"pn.ev","fields":[
	 {"name":"merchant","type":"string"},
	 {"name":"source_id","type":"int"},
	 {"name":"legacy","type":"string"},
	 {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
	 {"name":"score","type":"float"},
	 {"name":"clicked_time","type":["null","string"]}]}
	EOF
	cat >v2.avsc <<-\EOF
	{"type":"record","name":"Ping","namespace":"pn.ev","fields":[
	 {"name":"merchant","type":"string"},
	 {"name":"source_id","type":"long"},
	 {"name":"platform","type":"string","default":"web"},
	 {"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"],"default":"RED"}},
	 {"name":"score","type":["null","double"]},
	 {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
	 {"name":"clicked_time","type":["null","string"],"default":null}]}
	EOF
'

test_expect_success 'v1 records, then v2 records (a missing field takes its default)' '
	cat >v1.in <<-\EOF &&
	{"merchant":"a","source_id":1,"legacy":"x","color":"GREEN","score":0.5,"clicked_time":"2025-11-25 10:00:00"}
	EOF
	cat >v2.in <<-\EOF &&
	{"merchant":"b","source_id":8589934592,"color":"BLUE","score":null,"tags":["t"]}
	EOF
	pn-produce -b "$BROKERS" -t ev --avro --schema v1.avsc --schema-registry "$REGISTRY" v1.in &&
	pn-produce -b "$BROKERS" -t ev --avro --schema v2.avsc --schema-registry "$REGISTRY" v2.in &&
	registry_log | grep -c "^POST /subjects/ev-value/versions" >posts &&
	test $(cat posts) = 2
'

test_expect_success 'without a reader schema each message reads as it was written' '
	pn-consume -b "$BROKERS" -t ev -e --schema-registry "$REGISTRY" >out &&
	cat >expect <<-\EOF &&
	{"merchant":"a","source_id":1,"legacy":"x","color":"GREEN","score":0.5,"clicked_time":"2025-11-25 10:00:00"}
	{"merchant":"b","source_id":8589934592,"platform":"web","color":"BLUE","score":null,"tags":["t"],"clicked_time":null}
	EOF
	test_cmp expect out
'

test_expect_success '--schema v2: v1 data resolved (defaults, dropped field, int->long, float->double union)' '
	pn-consume -b "$BROKERS" -t ev -e --schema-registry "$REGISTRY" --schema v2.avsc >out &&
	cat >expect <<-\EOF &&
	{"merchant":"a","source_id":1,"color":"GREEN","score":0.5,"clicked_time":"2025-11-25 10:00:00","platform":"web","tags":[]}
	{"merchant":"b","source_id":8589934592,"platform":"web","color":"BLUE","score":null,"tags":["t"],"clicked_time":null}
	EOF
	test_cmp expect out
'

test_expect_success '--schema v1 cannot read v2 data: 65, with the message position and the field' '
	test_expect_code 65 pn-consume -b "$BROKERS" -t ev -e --schema-registry "$REGISTRY" \
		--schema v1.avsc >out 2>err &&
	test_line_count = 1 out &&
	echo "pn-consume: error (at topic '\''ev'\'', partition 0, offset 1): schema 2: field '\''source_id'\'': the writer'\''s long cannot be read as the reader'\''s int" >expect &&
	test_cmp expect err
'

test_expect_success 'an enum symbol the reader lacks takes the reader enum default' '
	sed "s/\"BLUE\"\\]/\"BLUE\",\"PINK\"]/" v2.avsc >v3.avsc &&
	echo "{\"merchant\":\"c\",\"source_id\":3,\"color\":\"PINK\",\"score\":1}" >v3.in &&
	pn-produce -b "$BROKERS" -t ev --avro --schema v3.avsc --schema-registry "$REGISTRY" v3.in &&
	pn-consume -b "$BROKERS" -t ev -o 2 -e --schema-registry "$REGISTRY" --schema v2.avsc >out &&
	jq -c "[.color, .score]" out >actual &&
	echo "[\"RED\",1]" >expect &&
	test_cmp expect actual
'

test_expect_success 'a new field without a default is incompatible: the registry says 409, exit 78' '
	sed "s/{\"name\":\"merchant\",\"type\":\"string\"},/&{\"name\":\"required\",\"type\":\"string\"},/" v2.avsc >bad.avsc &&
	grep required bad.avsc &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t ev --avro --schema bad.avsc \
		--schema-registry "$REGISTRY" v2.in 2>err &&
	grep "cannot register the schema under subject .ev-value.: the schema is incompatible with the subject.s earlier versions (409)" err
'

test_expect_success 'a default that does not fit its type is a bad schema (78)' '
	echo "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}]}" >baddef.avsc &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t ev --avro --schema baddef.avsc \
		--schema-registry "$REGISTRY" v2.in 2>err &&
	grep "bad schema .baddef.avsc.: the default of field .a. does not fit its type: expected an int, got a string" err &&
	echo "{\"type\":\"record\",\"name\":\"R\"}" >nofields.avsc &&
	test_expect_code 78 pn-produce -b "$BROKERS" -t ev --avro --schema nofields.avsc \
		--schema-registry "$REGISTRY" v2.in 2>err &&
	grep "bad schema .nofields.avsc.: invalid schema: " err
'

test_done
