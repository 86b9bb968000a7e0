# tests/lib-archive.sh -- records for pn-archive's tests.  Source after lib.sh.
#
#   gen_meta N [PARTS [SEED]]
#       N ping records (scripts/gen-pings) as pn-consume --meta writes them:
#       topic "pings", PARTS partitions round robin, offsets from 0 in each,
#       _timestamp spread evenly over the day from 2025-11-25T00:00Z.

gen_meta () {
	gen-pings "$1" "${3:-42}" | awk -v parts="${2:-1}" -v n="$1" '{
		p = (NR - 1) % parts
		printf "{\"_topic\":\"pings\",\"_partition\":%d,\"_offset\":%d,\"_timestamp\":%.0f,%s\n",
			p, off[p]++, 1764028800000 + int((NR - 1) * 86400000 / n), substr($0, 2)
	}'
}
