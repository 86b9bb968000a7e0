#!/bin/bash
# t5300-archive-hostile: records and manifests from outside: offsets at the
# edge of 64 bits, topics that alias others, patterns and {field} values
# that leave DEST, damaged manifests.
. "$(dirname "$0")/lib.sh"
. "$PN_SRC/tests/lib-archive.sh"

rec () { printf '{"_topic":"%s","_partition":%s,"_offset":%s,"_timestamp":1764028800000,"v":%s}\n' "$@"; }

test_expect_success 'an _offset at INT64_MAX is bad input' '
	rec pings 0 9223372036854775807 1 >in &&
	test_expect_code 65 pn-archive write arch in 2>err &&
	echo "pn-archive: error (at in:1): field '"'"'_offset'"'"' must be an offset" >expect &&
	test_cmp expect err
'

test_expect_success 'a manifest with last_offset at INT64_MAX: offsets does not overflow' '
	rec pings 0 5 1 >in &&
	pn-archive write arch2 in &&
	m=$(find arch2 -name "_*.manifest.json") &&
	sed "s/\"last_offset\":5/\"last_offset\":9223372036854775807/" "$m" >m.tmp && mv m.tmp "$m" &&
	grep -q 9223372036854775807 "$m" &&
	pn-archive offsets arch2 >out 2>err &&
	grep "warning: .* has a bad manifest ('"'"'last_offset'"'"' is missing, or not null or an integer from 0 up to 9223372036854775806)" err &&
	echo "{\"pings\":{\"0\":5}}" >expect &&
	test_cmp expect out
'

test_expect_success 'a NUL or CR in _topic is bad input: no object overwritten' '
	rec pings 0 5 1 >in &&
	pn-archive write arch3 in &&
	find arch3 -type f | sort >before &&
	obj=$(find arch3 -name "pings+0+0000000005.ndjson.zst") &&
	cp "$obj" obj.before &&
	printf "%s\n" "{\"_topic\":\"pings\\u0000x\",\"_partition\":0,\"_offset\":5,\"_timestamp\":1764028800000,\"v\":666}" >bad &&
	test_expect_code 65 pn-archive write arch3 bad 2>err &&
	echo "pn-archive: error (at bad:1): field '"'"'_topic'"'"' must be a topic name (no NUL or control character)" >expect &&
	test_cmp expect err &&
	printf "%s\n" "{\"_topic\":\"pi\\rngs\",\"_partition\":0,\"_offset\":5,\"_timestamp\":1764028800000,\"v\":666}" >bad &&
	test_expect_code 65 pn-archive write arch3 bad 2>err &&
	printf "%s\n" "{\"_topic\":\"pings\\u0000x\",\"_timestamp\":1764028800000,\"v\":666}" >bad &&
	test_expect_code 65 pn-archive write arch3 bad 2>err &&
	find arch3 -type f | sort >after &&
	test_cmp before after &&
	cmp obj.before "$obj"
'

test_expect_success '--partition-by must stay inside DEST: relative, no .. segment' '
	rec pings 0 5 1 >in &&
	mkdir -p box/dest &&
	for p in "{topic}/../../x" "../../out" "%Y/../../.." "/abs/%Y" "a/.." ; do
		test_expect_code 64 pn-archive write --partition-by "$p" box/dest in 2>err &&
		grep "^pn-archive: bad --partition-by '"'"'$p'"'"': " err || return 1
	done &&
	find box -type f >actual &&
	test_must_be_empty actual &&
	pn-archive write --partition-by "x..y/..z/{topic}" box/dest in &&
	test -f "box/dest/x..y/..z/pings/pings+0+0000000005.ndjson.zst"
'

test_expect_success 'a --partition-by expansion over 1023 bytes is an error, not a flat archive' '
	rec pings 0 5 1 >in &&
	long=$(printf "d%.0s" $(seq 1 1100)) &&
	test_expect_code 65 pn-archive write --partition-by "$long/%Y" arch4 in 2>err &&
	echo "pn-archive: error (at in:1): the --partition-by directories are longer than 1023 bytes" >expect &&
	test_cmp expect err &&
	! find arch4 -name "*.zst" | grep .
'

test_expect_success '{field} values cannot leave DEST, hide, or break a name' '
	mkdir -p fbox/dest &&
	i=0 &&
	for v in "../../x" "/abs" ".." "." ".hidden" "_hidden" "a\\u0000b" "\\n" "x/../../y" "%2F"; do
		i=$((i + 1)) &&
		printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":%d,\"_timestamp\":1764028800000,\"m\":\"%s\"}\n" \
			$i "$v" || return 1
	done >fin &&
	pn-archive write --partition-by "{m}" fbox/dest fin &&
	find fbox -type f ! -path "fbox/dest/*" >outside &&
	test_must_be_empty outside &&
	(cd fbox/dest && find . -mindepth 1 -maxdepth 1 -type d | sed "s|^\./||" | sort) >actual &&
	cat >expect <<-\EOF &&
	%252F
	%2E
	%2E.%2F..%2Fx
	%2E.
	%2Ehidden
	%2Fabs
	%5Fhidden
	%0A
	a%00b
	x%2F..%2F..%2Fy
	EOF
	sort expect >e && test_cmp e actual &&
	find fbox/dest -mindepth 2 -type d >nested &&
	test_must_be_empty nested &&
	pn-archive cat fbox/dest >out &&
	test_cmp fin out
'

test_expect_success 'a {field} value over 255 bytes is bad input, nothing written' '
	long=$(printf "v%.0s" $(seq 1 300)) &&
	printf "{\"_topic\":\"t\",\"_timestamp\":1764028800000,\"m\":\"%s\"}\n" "$long" >lin &&
	test_expect_code 65 pn-archive write --partition-by "m={m}" larch lin 2>err &&
	echo "pn-archive: error (at lin:1): a --partition-by directory name is longer than 255 bytes" >expect &&
	test_cmp expect err &&
	! find larch -type f | grep .
'

# three objects of pings, an hour apart, offsets 0, 1 and 2
three () {
	for o in 0 1 2; do
		printf '{"_topic":"pings","_partition":0,"_offset":%d,"_timestamp":%d}\n' $o $((1764028800000 + o * 3600000))
	done
}

test_expect_success 'one damaged manifest: verify gives every verdict, precisely' '
	three >in &&
	pn-archive write arch5 in &&
	m=arch5/topic=pings/dt=2025-11-25/hour=01/_pings+0+0000000001.manifest.json &&
	sed "s/\"records\":1/\"records\":99999999999999999999/" $m >m.tmp && mv m.tmp $m &&
	test_expect_code 65 pn-archive verify arch5 >out 2>err &&
	jq -r ".status" out | sort >actual &&
	printf "damaged\nok\nok\n" >expect &&
	test_cmp expect actual &&
	grep "\"error\":\"bad manifest: not JSON: too big integer near '"'"'99999999999999999999'"'"' (at byte [0-9]*)\"" out &&
	! grep gap out &&
	test_expect_code 65 pn-archive cat arch5 >out 2>err &&
	grep "bad manifest: not JSON: too big integer" err &&
	echo "{\"records\":1}" >$m &&
	test_expect_code 65 pn-archive verify arch5 >out 2>err &&
	grep "bad manifest: '"'"'topic'"'"' is missing or not a string" out
'

test_expect_success 'offsets: an object with a damaged or no manifest is not covered' '
	three >in &&
	pn-archive write arch6 in &&
	echo "[]" >arch6/topic=pings/dt=2025-11-25/hour=01/_pings+0+0000000001.manifest.json &&
	pn-archive offsets arch6 >out 2>err &&
	echo "{\"pings\":{\"0\":1}}" >expect &&
	test_cmp expect out &&
	grep "warning: .*pings+0+0000000001.ndjson.zst.* has a bad manifest (not a JSON object)" err &&
	rm arch6/topic=pings/dt=2025-11-25/hour=01/_pings+0+0000000001.manifest.json &&
	rm arch6/topic=pings/dt=2025-11-25/hour=00/_pings+0+0000000000.manifest.json &&
	pn-archive offsets arch6 >out 2>err &&
	echo "{\"pings\":{\"0\":0}}" >expect &&
	test_cmp expect out
'

test_done
