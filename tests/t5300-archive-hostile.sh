#!/bin/bash
# t5300-archive-hostile: records and manifests from outside: offsets at the
# edge of 64 bits, topics that alias others, patterns that leave DEST,
# damaged manifests.
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
	test_must_fail pn-archive offsets arch2 >out 2>err &&
	grep "offsets out of range" err
'

test_done
