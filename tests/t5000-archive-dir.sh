#!/bin/bash
# t5000-archive-dir: pn-archive on a directory: layout, round trips (1M
# records byte for byte), idempotent re-runs, crashes mid-write, damaged
# objects, gaps and overlaps, filters, bad input, {field} partitions,
# records without a time, late records, cat --order offset.
. "$(dirname "$0")/lib.sh"
. "$PN_SRC/tests/lib-archive.sh"

# The visible files of an archive (what Athena would read), sorted.
visible () { (cd "$1" && find . -type f ! -name '.*' ! -name '_*' | sed 's|^\./||' | sort); }

# has_temp DIR: a write has a temp file under DIR (a condition for
# test_wait_until)
has_temp () { [ -n "$(find "$1" -name ".*.tmp.*" 2>/dev/null)" ]; }

test_expect_success 'usage errors are 64; -h and --version' '
	test_expect_code 64 pn-archive 2>err &&
	grep "no command given" err &&
	test_expect_code 64 pn-archive frobnicate x 2>err &&
	grep "unknown command .frobnicate." err &&
	test_expect_code 64 pn-archive write 2>err &&
	grep "no DEST given" err &&
	test_expect_code 64 pn-archive write --from 2026-01-01 d 2>err &&
	grep "from is not an option of write" err &&
	test_expect_code 64 pn-archive cat --max-records 5 d 2>err &&
	test_expect_code 64 pn-archive cat d e 2>err &&
	test_expect_code 64 pn-archive cat --from 2026-02-01 --to 2026-01-01 d 2>err &&
	test_expect_code 64 pn-archive write --max-bytes 10x d 2>err &&
	test_expect_code 64 pn-archive write --part-size 1M d 2>err &&
	pn-archive -h >help && grep "^usage: pn-archive write" help &&
	pn-archive cat --help >help && grep "^usage: pn-archive" help &&
	pn-archive --version >version && grep "^pn-archive (pn)" version &&
	grep "^zstd " version && grep "^libcurl " version
'

test_expect_success 'write: Hive partitions, Confluent names, a manifest each' '
	gen_meta 3000 3 >in &&
	pn-archive write arch in 2>err &&
	test_must_be_empty err &&
	visible arch >actual &&
	jq -r "\"\(._partition) \(._offset) \(._timestamp)\"" in |
	awk "{ h = int((\$3 - 1764028800000) / 3600000); k = h \" \" \$1
	       if (!(k in seen)) printf \"topic=pings/dt=2025-11-25/hour=%02d/pings+%d+%010d.ndjson.zst\n\", h, \$1, \$2
	       seen[k] = 1 }" | sort >expect &&
	test_line_count = 72 expect &&
	test_cmp expect actual &&
	test -f "arch/topic=pings/dt=2025-11-25/hour=05/_pings+1+0000000208.manifest.json" &&
	jq -c "[.topic, .partition, .first_offset, .last_offset, .records, .min_time, .time_field]" \
		"arch/topic=pings/dt=2025-11-25/hour=05/_pings+1+0000000208.manifest.json" >actual &&
	echo "[\"pings\",1,208,249,42,1764046800000,\"_timestamp\"]" >expect &&
	test_cmp expect actual
'

test_expect_success 'objects are zstd frames with checksums that zstd reads' '
	(cd arch && find . -name "*.ndjson.zst" | sort | xargs zstd -t -q) &&
	zstd -lv "arch/topic=pings/dt=2025-11-25/hour=05/pings+1+0000000208.ndjson.zst" >info &&
	grep "Check: XXH64" info &&
	(cd arch && find . -name "*.ndjson.zst" | xargs zstdcat) | sort >actual &&
	sort in >expect &&
	test_cmp expect actual
'

test_expect_success 'each manifest has the xxh64 that xxhsum prints for its object' '
	(cd arch && find . -name "*.ndjson.zst" | sed "s|^\./||" | sort | xargs xxhsum -H64) |
		awk "{ print \$2, \$1 }" >expect &&
	test_line_count = 72 expect &&
	find arch -name "_*.manifest.json" | xargs jq -r "\"\(.object) \(.xxh64)\"" | sort >actual &&
	test_cmp expect actual
'

# FNV-1a 64 of a file, as archives written before XXH64 carry it
fnv1a64 () {
	"$PYTHON" -c "import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], \"rb\").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print(\"%016x\" % h)" "$1"
}

test_expect_success 'an archive written before XXH64 (fnv1a64 manifests) reads and verifies' '
	gen_meta 300 1 >old-in &&
	pn-archive write --max-records 100 --partition-by "{topic}" old old-in &&
	for m in old/pings/_*.manifest.json; do
		o=old/$(jq -r .object "$m") &&
		jq -c "del(.xxh64) + {fnv1a64: \"$(fnv1a64 "$o")\"}" "$m" >m.new &&
		mv m.new "$m" || return 1
	done &&
	! grep -l xxh64 old/pings/_*.manifest.json &&
	pn-archive verify old >verdicts &&
	test_line_count = 3 verdicts &&
	pn-archive cat old >out &&
	test_cmp old-in out &&
	m=old/pings/_pings+0+0000000100.manifest.json &&
	sed "s/\"fnv1a64\":\"./\"fnv1a64\":\"f/" "$m" >m.new && mv m.new "$m" &&
	test_expect_code 65 pn-archive cat old >out 2>err &&
	grep "error (at pings/pings+0+0000000100.ndjson.zst): object is damaged: checksum" err
'

test_expect_success 'cat gives the records back in time order' '
	pn-archive cat arch >out 2>err &&
	test_must_be_empty err &&
	test_cmp in out
'

test_expect_success 'partitions merge by time whatever the records hold' '
	cat >nested <<-\EOF &&
	{"_topic":"n","_partition":0,"_offset":0,"x":{"a":[1,{"b":"}\"]"}],"c":"\\"},"s":"a\"b\\","_timestamp":3000}
	{"_topic":"n","_partition":1,"_offset":0,"x":[],"_timestamp": 1000 ,"z":null}
	{ "_topic" : "n" , "_partition" : 1 , "_offset" : 1 , "x" : "\"," , "_timestamp" : 4000 }
	{"_timestamp":5000,"_topic":"n","_partition":0,"_offset":1,"y":[[],{}]}
	EOF
	pn-archive write nested-arch nested &&
	pn-archive cat nested-arch >out &&
	{ sed -n 2p nested && sed -n 1p nested && sed -n 3,4p nested; } >expect &&
	test_cmp expect out
'

test_expect_success 'ls: one manifest line per object, counts add up' '
	pn-archive ls arch >list &&
	test_line_count = 72 list &&
	jq -s "map(.records) | add" list >sum &&
	echo 3000 >expect &&
	test_cmp expect sum &&
	jq -r .object list | sort >objs &&
	visible arch >expect &&
	test_cmp expect objs
'

test_expect_success 'verify: every object ok' '
	pn-archive verify arch >verdicts 2>err &&
	test_must_be_empty err &&
	test_line_count = 72 verdicts &&
	jq -r .status verdicts | sort -u >actual &&
	echo ok >expect &&
	test_cmp expect actual
'

test_expect_success 'a re-run rewrites the same objects, byte for byte' '
	(cd arch && find . -type f | sort | xargs md5sum) >before &&
	pn-archive write arch in &&
	(cd arch && find . -type f | sort | xargs md5sum) >after &&
	test_cmp before after
'

test_expect_success 'many partitions at once: objects of many frames, read back whole' '
	gen_meta 40000 8 >many &&
	pn-archive write --partition-by "{topic}" many-arch many &&
	obj=many-arch/pings/pings+7+0000000000.ndjson.zst &&
	zstd -l "$obj" | awk "NR == 2 { exit !(\$1 > 1) }" &&
	(cd many-arch && find . -name "*.ndjson.zst" | xargs zstd -t -q) &&
	pn-archive verify many-arch >verdicts &&
	test_line_count = 8 verdicts &&
	! grep -v "\"status\":\"ok\"" verdicts &&
	pn-archive cat many-arch >out &&
	test_cmp many out &&
	pn-archive cat --partition 7 many-arch >out7 &&
	jq -c "select(._partition == 7)" many >expect7 &&
	test_cmp expect7 out7 &&
	cp "$obj" saved-many &&
	size=$(stat -c %s "$obj") &&
	printf "\377" | dd of="$obj" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null &&
	test_expect_code 65 pn-archive cat --partition 7 many-arch >out7 2>err &&
	grep "error (at pings/pings+7+0000000000.ndjson.zst): object is damaged: checksum" err &&
	test_must_be_empty out7 &&
	cp saved-many "$obj"
'

test_expect_success EXPENSIVE '1M records round trip byte for byte' '
	gen_meta 1000000 1 >big &&
	pn-archive write --stats big-arch big 2>stats &&
	test_jq ".records == 1000000 and .objects == 24 and .duplicates == 0" stats &&
	pn-archive cat big-arch >big-out &&
	cmp big big-out &&
	rm -f big-out
'

test_expect_success 'cat --from/--to, --topic, --partition select records' '
	pn-archive cat --from 2025-11-25T06:30 --to "2025-11-25 12:00:00Z" arch >out &&
	awk -F"\"_timestamp\":" "{ t = \$2 + 0; if (t >= 1764052200000 && t < 1764072000000) print }" in >expect &&
	test_cmp expect out &&
	pn-archive cat -t pings -p 2 arch >out &&
	grep "\"_partition\":2," in >expect &&
	test_cmp expect out &&
	pn-archive cat -t other arch >out &&
	test_must_be_empty out &&
	pn-archive ls -p 1 --from 2025-11-25T23:00 arch >list &&
	test_line_count = 1 list
'

test_expect_success '--max-records and --max-bytes rotate objects' '
	head -n 600 in >in600 &&
	pn-archive write --max-records 50 --partition-by "{topic}/{partition}" rot in600 &&
	visible rot >actual &&
	for p in 0 1 2; do
		for o in 0 50 100 150; do
			printf "pings/%d/pings+%d+%010d.ndjson.zst\n" $p $p $o
		done
	done | sort >expect &&
	test_cmp expect actual &&
	pn-archive write --max-bytes 4k --partition-by "{topic}" rotb in600 &&
	pn-archive ls rotb >list &&
	jq -c "select(.raw_bytes > 4096)" list >big-ones &&
	test_must_be_empty big-ones &&
	test_line_count -gt 30 list &&
	pn-archive cat rotb >out &&
	test_cmp in600 out
'

aged_objects_at_least () { [ "$(visible aged 2>/dev/null | wc -l)" -ge "$1" ]; }

test_expect_success '--max-age closes objects while the input is quiet' '
	rm -f fifo && mkfifo fifo &&
	{ pn-archive write --max-age 500ms --partition-by "{topic}" aged <fifo 2>err & } &&
	pid=$! &&
	exec 9>fifo &&
	head -n 10 in >&9 &&
	# the three objects close each on its own clock: wait for all three
	test_wait_until 30 aged_objects_at_least 3 &&
	visible aged >objs &&
	test_line_count = 3 objs &&
	kill -0 $pid &&
	sed -n 11,20p in >&9 &&
	exec 9>&- &&
	wait $pid &&
	pn-archive cat aged >out &&
	head -n 20 in >expect &&
	test_cmp expect out &&
	visible aged >objs &&
	test_line_count = 6 objs
'

live_objects_at_least () { [ "$(visible live 2>/dev/null | wc -l)" -ge "$1" ]; }

test_expect_success '--max-age still closes objects with --stats-interval shorter' '
	rm -f fifo && mkfifo fifo &&
	{ pn-archive write --max-age 500ms --stats-interval 100ms --partition-by "{topic}" \
		live <fifo 2>err & } &&
	pid=$! &&
	test_when_finished "kill $pid 2>/dev/null; true" &&
	exec 9>fifo &&
	head -n 10 in >&9 &&
	test_wait_until 30 live_objects_at_least 3 &&
	exec 9>&- &&
	wait $pid &&
	pn-archive cat live >out &&
	head -n 10 in >expect &&
	test_cmp expect out
'

test_expect_success 'a killed write leaves no object visible; a re-run completes it' '
	rm -f fifo && mkfifo fifo &&
	{ pn-archive write --partition-by "{topic}/{partition}" crash <fifo 2>err & } &&
	pid=$! &&
	exec 9>fifo &&
	head -n 1000 in >&9 &&
	test_wait_until 30 has_temp crash &&
	kill -KILL $pid &&
	{ wait $pid; test $? = 137; } &&
	exec 9>&- &&
	visible crash >actual &&
	test_must_be_empty actual &&
	pn-archive ls crash >list &&
	test_must_be_empty list &&
	pn-archive write --partition-by "{topic}/{partition}" crash in &&
	pn-archive verify crash >verdicts &&
	pn-archive cat crash >out &&
	test_cmp in out
'

test_expect_success 'SIGTERM: what was read is committed, whole' '
	rm -f fifo && mkfifo fifo &&
	{ pn-archive write term <fifo 2>err & } &&
	pid=$! &&
	exec 9>fifo &&
	head -n 1000 in >&9 &&
	test_wait_until 30 has_temp term &&
	test_wait_until 30 test_input_taken $pid &&
	kill -TERM $pid &&
	{ wait $pid; st=$?; } &&
	exec 9>&- &&
	test $st = 0 &&
	pn-archive verify term >verdicts &&
	pn-archive cat term >out &&
	test -s out &&
	n=$(wc -l <out) &&
	head -n $n in >expect &&
	test_cmp expect out
'

test_expect_success 'a damaged object: verify and cat name it, cat stops there' '
	gen_meta 300 1 >in1 &&
	pn-archive write --max-records 100 --partition-by "{topic}" dmg in1 &&
	obj=dmg/pings/pings+0+0000000100.ndjson.zst &&
	cp "$obj" saved &&
	printf "\\377" | dd of="$obj" bs=1 seek=200 conv=notrunc 2>/dev/null &&
	! cmp -s saved "$obj" &&
	test_expect_code 65 pn-archive verify dmg >verdicts 2>err &&
	grep "error (at pings/pings+0+0000000100.ndjson.zst): object is damaged: checksum" err &&
	jq -c "[.object, .status]" verdicts >actual &&
	cat >expect <<-\EOF &&
	["pings/pings+0+0000000000.ndjson.zst","ok"]
	["pings/pings+0+0000000100.ndjson.zst","damaged"]
	["pings/pings+0+0000000200.ndjson.zst","ok"]
	EOF
	test_cmp expect actual &&
	test_expect_code 65 pn-archive cat dmg >out 2>err &&
	grep "error (at pings/pings+0+0000000100.ndjson.zst): object is damaged" err &&
	head -n 100 in1 >expect &&
	test_cmp expect out
'

test_expect_success 'an object with fewer records than its manifest: cat stops with 65' '
	cp -R dmg short &&
	cp saved short/pings/pings+0+0000000100.ndjson.zst &&
	m=short/pings/_pings+0+0000000000.manifest.json &&
	jq -c ".records += 1" "$m" >m.new && mv m.new "$m" &&
	test_expect_code 65 pn-archive cat short >out 2>err &&
	grep "error (at pings/pings+0+0000000000.ndjson.zst): object is damaged: 100 records, the manifest says 101" err &&
	head -n 100 in1 >expect &&
	test_cmp expect out
'

test_expect_success 'a truncated object, a lost manifest, a lost object' '
	head -c 100 saved >"$obj" &&
	test_expect_code 65 pn-archive cat dmg >out 2>err &&
	grep "object is damaged: 100 bytes, the manifest says" err &&
	cp saved "$obj" &&
	pn-archive verify dmg >verdicts &&
	mv dmg/pings/_pings+0+0000000200.manifest.json lost &&
	test_expect_code 65 pn-archive cat dmg >out 2>err &&
	grep "error (at pings/pings+0+0000000200.ndjson.zst): no manifest" err &&
	test_must_be_empty out &&
	test_expect_code 65 pn-archive verify dmg >verdicts 2>err &&
	grep "\"status\":\"damaged\",\"error\":\"no manifest\"" verdicts &&
	mv lost dmg/pings/_pings+0+0000000200.manifest.json &&
	rm dmg/pings/pings+0+0000000200.ndjson.zst &&
	test_expect_code 65 pn-archive verify dmg >verdicts 2>err &&
	grep "a manifest without its object" err
'

test_expect_success 'verify reports gaps and overlaps in the offsets' '
	sed -e "/\"_offset\":1[0-4],/d" in1 >holes &&
	pn-archive write --partition-by "{topic}" gap holes &&
	test_expect_code 1 pn-archive verify --stats gap >verdicts 2>err &&
	grep "pings+0: offsets 10..14 are missing" err &&
	grep "^{\"records\":295,\"objects\":1,\"damaged\":0,\"gaps\":1,\"overlaps\":0}$" err &&
	grep "^{\"topic\":\"pings\",\"partition\":0,\"gap\":{\"from\":10,\"to\":14}}$" verdicts &&
	pn-archive write --max-records 100 --partition-by "{topic}" ovl in1 &&
	pn-archive write --max-records 70 --partition-by "{topic}" ovl in1 &&
	test_expect_code 1 pn-archive verify ovl >verdicts 2>err &&
	grep "^{\"topic\":\"pings\",\"partition\":0,\"overlap\":{\"from\":100,\"to\":299}}$" verdicts &&
	pn-archive cat --stats ovl >out 2>err &&
	test_cmp in1 out &&
	grep "\"duplicates\":200" err
'

test_expect_success 'offsets: where a writer resumes, before the first lost object' '
	pn-archive offsets rot >actual &&
	echo "{\"pings\":{\"0\":200,\"1\":200,\"2\":200}}" >expect &&
	test_cmp expect actual &&
	cp -r rot lost &&
	rm lost/pings/1/pings+1+0000000050.ndjson.zst &&
	rm lost/pings/2/_pings+2+0000000150.manifest.json &&
	pn-archive offsets lost >actual &&
	echo "{\"pings\":{\"0\":200,\"1\":50,\"2\":150}}" >expect &&
	test_cmp expect actual &&
	grep -v "\"_partition\":0," in600 | grep -v "\"_partition\":1,\"_offset\":[0-4]\?[0-9]," |
		grep -v "\"_partition\":2,\"_offset\":[0-9]\?[0-9]," |
		grep -v "\"_partition\":2,\"_offset\":1[0-4][0-9]," >rest &&
	pn-archive write --max-records 50 --partition-by "{topic}/{partition}" lost rest &&
	pn-archive offsets lost >actual &&
	echo "{\"pings\":{\"0\":200,\"1\":200,\"2\":200}}" >expect &&
	test_cmp expect actual &&
	pn-archive cat lost >out &&
	test_cmp in600 out
'

test_expect_success 'redelivered records are written once' '
	cat in1 >redo &&
	sed -n "101,150p" in1 >>redo &&
	pn-archive write --stats --partition-by "{topic}" redo-arch redo 2>err &&
	grep "50 records repeated an offset" err &&
	grep "\"duplicates\":50" err &&
	pn-archive cat redo-arch >out &&
	test_cmp in1 out
'

test_expect_success 'bad input: 65 with the position, or set aside with --reject' '
	head -n 5 in1 >bad && echo "not json" >>bad && sed -n 6,10p in1 >>bad &&
	test_expect_code 65 pn-archive write badarch bad 2>err &&
	grep "error (at bad:6): " err &&
	pn-archive cat badarch >out &&
	head -n 5 in1 >expect &&
	test_cmp expect out &&
	pn-archive write --reject rej badarch2 bad 2>err &&
	echo "not json" >expect && test_cmp expect rej &&
	pn-archive cat badarch2 >out &&
	head -n 10 in1 >expect &&
	test_cmp expect out &&
	echo "{\"a\":1}" >nots &&
	test_expect_code 65 pn-archive write -t x nots-arch nots 2>err &&
	grep "error (at nots:1): no time field to partition by" err &&
	echo "{\"_timestamp\":\"yesterday\",\"_topic\":\"t\"}" >nots &&
	test_expect_code 65 pn-archive write nots-arch nots 2>err &&
	grep "error (at nots:1): the time field is not an epoch time (s or ms) or an ISO 8601 time" err &&
	echo "{\"_timestamp\":1}" >nots &&
	test_expect_code 65 pn-archive write nots-arch nots 2>err &&
	grep "no _topic field" err
'

test_expect_success 'control records are not archived, and --stats counts them' '
	{ head -n 5 in1 &&
	  echo "{\"_control\":\"assigned\",\"_topic\":\"pings\",\"_partition\":3}" &&
	  sed -n 6,10p in1; } >ctl &&
	head -n 10 in1 >noctl &&
	pn-archive write --stats ctl-arch ctl 2>err &&
	grep "\"records\":10,.*\"controls\":1}" err &&
	pn-archive write noctl-arch noctl &&
	visible ctl-arch >actual &&
	visible noctl-arch >expect &&
	test_cmp expect actual &&
	pn-archive cat ctl-arch >out &&
	test_cmp noctl out
'

test_expect_success 'records without coordinates: --topic, --time-field, unique names' '
	cat >plain <<-\EOF &&
	{"id":1,"at":"2026-11-01T10:15:00Z"}
	{"id":2,"at":"2026-11-01T11:05:00Z"}
	{"id":3,"at":"2026-11-01T10:20:00.5+00:00"}
	EOF
	pn-archive write -t events --time-field at --partition-by "{topic}/%Y%m%d/%H" plain-arch plain &&
	visible plain-arch >names &&
	test_line_count = 2 names &&
	grep "^events/20261101/10/events+none+" names &&
	pn-archive write -t events --time-field at --partition-by "{topic}/%Y%m%d/%H" plain-arch plain &&
	visible plain-arch >names &&
	test_line_count = 4 names &&
	pn-archive cat --from 2026-11-01T10:00 --to 2026-11-01T11:00 plain-arch >out &&
	jq -c .id out >actual &&
	printf "1\n1\n3\n3\n" >expect &&
	test_cmp expect actual
'

# 50k records, about 10 MB: far more than a pipe holds
test_expect_success 'output errors: /dev/full is 74, a closed pipe a quiet stop' '
	gen_meta 50000 1 >mid &&
	pn-archive write mid-arch mid &&
	test_expect_code 74 pn-archive cat arch >/dev/full 2>err &&
	grep "standard output" err &&
	test_expect_code 74 pn-archive cat mid-arch >/dev/full 2>err &&
	grep "cannot write to standard output" err &&
	pn-archive cat mid-arch 2>err | head -n 1 >first &&
	test "${PIPESTATUS[0]}" = 0 &&
	test_must_be_empty err &&
	head -n 1 mid >expect &&
	test_cmp expect first
'

# lines FILE N...: lines N... of FILE, in the order given
lines () {
	local f=$1 n
	shift
	for n; do sed -n "${n}p" "$f"; done
}

# records of one partition whose field m takes odd values (a slash, dots,
# unicode and spaces, numbers, a control character, null, missing, empty)
odd_records () {
	cat <<-\EOF
	{"_topic":"t","_partition":0,"_offset":0,"_timestamp":1764028800000,"m":"a/b"}
	{"_topic":"t","_partition":0,"_offset":1,"_timestamp":1764028800000,"m":".."}
	{"_topic":"t","_partition":0,"_offset":2,"_timestamp":1764028800000,"m":"café über"}
	{"_topic":"t","_partition":0,"_offset":3,"_timestamp":1764028800000,"m":42}
	{"_topic":"t","_partition":0,"_offset":4,"_timestamp":1764028800000,"m":-1.5e+3}
	{"_topic":"t","_partition":0,"_offset":5,"_timestamp":1764028800000}
	{"_topic":"t","_partition":0,"_offset":6,"_timestamp":1764028800000,"m":null}
	{"_topic":"t","_partition":0,"_offset":7,"_timestamp":1764028800000,"m":""}
	{"_topic":"t","_partition":0,"_offset":8,"_timestamp":1764028800000,"m":true}
	{"_topic":"t","_partition":0,"_offset":9,"_timestamp":1764028800000,"m":"_x.y%z\u0001\u0085"}
	{"_topic":"t","_partition":0,"_offset":10,"_timestamp":1764028800000,"m":"__HIVE_DEFAULT_PARTITION__"}
	{"_topic":"t","_partition":0,"_offset":11,"_timestamp":1764028800000,"m":"."}
	{"_topic":"t","_partition":0,"_offset":12,"_timestamp":1764028800000,"m":"a/b"}
	EOF
}

test_expect_success '{field} partitions: odd values stay one directory name each' '
	odd_records >odd &&
	pn-archive write --stats --partition-by "m={m}/dt=%Y-%m-%d" odd-arch odd 2>err &&
	grep "^pn-archive: warning (at odd:6): no field .m. for --partition-by: filed under __HIVE_DEFAULT_PARTITION__ (said once)$" err &&
	test_line_count = 2 err &&
	grep "\"missing_field\":1,\"controls\":0}$" err &&
	visible odd-arch >actual &&
	cat >expect <<-\EOF &&
	m=%2E./dt=2025-11-25/t+0+0000000001.ndjson.zst
	m=%2E/dt=2025-11-25/t+0+0000000011.ndjson.zst
	m=%5F_HIVE_DEFAULT_PARTITION__/dt=2025-11-25/t+0+0000000010.ndjson.zst
	m=%5Fx.y%25z%01%C2%85/dt=2025-11-25/t+0+0000000009.ndjson.zst
	m=-1.5e%2B3/dt=2025-11-25/t+0+0000000004.ndjson.zst
	m=42/dt=2025-11-25/t+0+0000000003.ndjson.zst
	m=__HIVE_DEFAULT_PARTITION__/dt=2025-11-25/t+0+0000000005.ndjson.zst
	m=a%2Fb/dt=2025-11-25/t+0+0000000000.ndjson.zst
	m=café%20über/dt=2025-11-25/t+0+0000000002.ndjson.zst
	m=true/dt=2025-11-25/t+0+0000000008.ndjson.zst
	EOF
	test_cmp expect actual &&
	find odd-arch -mindepth 1 -maxdepth 1 | sed "s|^odd-arch/||" | sort >dirs &&
	test_line_count = 10 dirs &&
	pn-archive verify odd-arch >verdicts &&
	test_line_count = 10 verdicts &&
	! grep -v "\"status\":\"ok\"" verdicts &&
	pn-archive ls odd-arch >list &&
	jq -s "map(.records) | add" list >n && echo 13 >expect && test_cmp expect n &&
	pn-archive cat odd-arch >out &&
	test_cmp odd out &&
	pn-archive cat --order offset odd-arch >out &&
	test_cmp odd out &&
	pn-archive offsets odd-arch >actual &&
	echo "{\"t\":{\"0\":13}}" >expect &&
	test_cmp expect actual &&
	pn-archive write --partition-by "m={m}/dt=%Y-%m-%d" odd-arch odd 2>err &&
	visible odd-arch >again &&
	visible odd-arch | wc -l >n && echo 10 >expect && test_cmp expect n
'

test_expect_success '{field} partitions: an object or array value is bad input' '
	echo "{\"_topic\":\"t\",\"_timestamp\":1,\"m\":{\"a\":1}}" >objv &&
	test_expect_code 65 pn-archive write --partition-by "{m}" objv-arch objv 2>err &&
	grep "error (at objv:1): a --partition-by field is an object or an array" err &&
	pn-archive write --reject objv-rej --partition-by "{m}" objv-arch objv &&
	test_cmp objv objv-rej
'

test_expect_success 'a malformed --partition-by is a usage error: 64, nothing written' '
	head -n 3 in >in3 &&
	for p in "{" "m={m" "dt=%Y/{}" "x}/{topic}" "{a/b}" "%{topic}" "{a%Y}" "a{b{c}}"; do
		test_expect_code 64 pn-archive write --partition-by "$p" bad-pattern in3 2>err &&
		grep "^pn-archive: bad --partition-by " err || return 1
	done &&
	test_expect_code 64 pn-archive write --partition-by "m={m" bad-pattern in3 2>err &&
	grep "has an unclosed .{.$" err &&
	test_expect_code 64 pn-archive write --partition-by "m={m/%Y" bad-pattern in3 2>err &&
	grep "has a .{. not closed before the next ./. or .{.$" err &&
	test_expect_code 64 pn-archive write --partition-by "x}" bad-pattern in3 2>err &&
	grep "has a .}. without its .{.$" err &&
	test ! -e bad-pattern &&
	pn-archive write --partition-by "dt={date}/hour={hour}/%H" dh-arch in3 2>err &&
	grep "^pn-archive: warning (at in3:1): no field .date. for --partition-by" err &&
	grep "^pn-archive: warning (at in3:1): no field .hour. for --partition-by" err &&
	test_line_count = 2 err &&
	visible dh-arch >actual &&
	grep -c "^dt=__HIVE_DEFAULT_PARTITION__/hour=__HIVE_DEFAULT_PARTITION__/00/" actual >n &&
	echo 3 >expect && test_cmp expect n
'

test_expect_success 'records without a time: taken by a time-free pattern, apart' '
	cat >untimed <<-\EOF &&
	{"_topic":"u","_partition":0,"_offset":0,"m":"a"}
	{"_topic":"u","_partition":0,"_offset":1,"_timestamp":null,"m":"b"}
	{"_topic":"u","_partition":0,"_offset":2,"_timestamp":1764028800000,"m":"a"}
	{"_topic":"u","_partition":1,"_offset":0,"_timestamp":1764028700000,"m":"a"}
	{"_topic":"u","_partition":0,"_offset":3,"m":"a"}
	EOF
	test_expect_code 65 pn-archive write untimed-refused untimed 2>err &&
	grep "error (at untimed:1): no time field to partition by (see --time-field)" err &&
	test_expect_code 65 pn-archive write --partition-by "{topic}/%%/m={m}/%H" untimed-refused untimed 2>err &&
	pn-archive write --partition-by "{topic}/%%/m={m}" untimed-arch untimed &&
	pn-archive ls untimed-arch >list &&
	jq -c "[.object, .first_offset, .last_offset, .min_time, .max_time]" list >actual &&
	cat >expect <<-\EOF &&
	["u/%/m=a/u+0+0000000000.ndjson.zst",0,3,null,null]
	["u/%/m=b/u+0+0000000001.ndjson.zst",1,1,null,null]
	["u/%/m=a/u+0+0000000002.ndjson.zst",2,2,1764028800000,1764028800000]
	["u/%/m=a/u+1+0000000000.ndjson.zst",0,0,1764028700000,1764028700000]
	EOF
	test_cmp expect actual &&
	pn-archive verify untimed-arch >verdicts &&
	test_line_count = 4 verdicts &&
	pn-archive cat untimed-arch >out &&
	lines untimed 1 2 4 3 5 >expect &&
	test_cmp expect out &&
	pn-archive cat --order offset untimed-arch >out &&
	lines untimed 1 2 3 5 4 >expect &&
	test_cmp expect out &&
	pn-archive cat --to 2030-01-01 untimed-arch >out &&
	lines untimed 4 3 >expect &&
	test_cmp expect out &&
	pn-archive ls --from 2020-01-01 untimed-arch >list &&
	test_line_count = 2 list &&
	echo "{\"_topic\":\"u\",\"_timestamp\":\"yesterday\"}" >badtime &&
	test_expect_code 65 pn-archive write --partition-by "{topic}" untimed-arch badtime 2>err &&
	grep "the time field is not an epoch time" err &&
	m=untimed-arch/u/%/m=b/_u+0+0000000001.manifest.json &&
	sed "s/\"max_time\":null/\"max_time\":5/" "$m" >m.tmp && mv m.tmp "$m" &&
	test_expect_code 65 pn-archive verify untimed-arch >verdicts 2>err &&
	grep "min_time and max_time are not both null" verdicts
'

test_expect_success 'late records: cat keeps every offset of interleaved objects' '
	for x in "0 0" "1 0" "2 0" "3 1" "4 0" "5 1"; do
		set -- $x &&
		printf "{\"_topic\":\"t\",\"_partition\":0,\"_offset\":%d,\"_timestamp\":%d}\n" \
			$1 $((1764028800000 + $2 * 3600000)) || return 1
	done >late &&
	pn-archive write late-arch late &&
	visible late-arch >objs &&
	test_line_count = 2 objs &&
	pn-archive cat --stats late-arch >out 2>err &&
	test_cmp late out &&
	grep "\"duplicates\":0}" err &&
	pn-archive cat --order offset late-arch >out &&
	test_cmp late out &&
	pn-archive cat --from 2025-11-25T01:00 late-arch >out &&
	grep "_offset\":[35]," late >expect &&
	test_cmp expect out
'

test_expect_success 'cat --order offset: the same records, a partition at a time' '
	test_expect_code 64 pn-archive cat --order random arch 2>err &&
	grep "bad --order .random.: time or offset" err &&
	test_expect_code 64 pn-archive ls --order offset arch 2>err &&
	grep "order is an option of cat only" err &&
	pn-archive cat --order time arch >out &&
	test_cmp in out &&
	pn-archive cat --order offset --stats arch >out 2>err &&
	grep "^{\"records\":3000,\"objects\":72,\"duplicates\":0}$" err &&
	sort in >expect && sort out >actual && test_cmp expect actual &&
	jq -r "[._partition, ._offset] | @tsv" out >order &&
	sort -n -k1,1 -k2,2 order >sorted &&
	test_cmp sorted order &&
	for range in "--from 2025-11-25T06:30" "--to 2025-11-25T12:00:00.001Z" \
		     "--from 2025-11-25T06:30:01 --to 2025-11-25T12:00"; do
		pn-archive cat $range arch >t-out &&
		pn-archive cat --order offset $range arch >o-out &&
		test -s o-out && sort t-out >expect && sort o-out >actual &&
		test_cmp expect actual || return 1
	done &&
	pn-archive cat --order offset many-arch >out &&
	sort many >expect && sort out >actual && test_cmp expect actual &&
	for p in 0 1 2 3 4 5 6 7; do jq -c "select(._partition == $p)" many || return 1; done >expect &&
	test_cmp expect out &&
	pn-archive cat --order offset ovl >out 2>err &&
	test_cmp in1 out &&
	grep "200 records repeated offsets" err
'

test_expect_success 'a missing archive is 78; an unwritable one 74' '
	test_expect_code 78 pn-archive ls no-such-dir 2>err &&
	grep "cannot read directory .no-such-dir." err &&
	echo x >afile &&
	test_expect_code 74 pn-archive write afile/sub in1 2>err &&
	grep "cannot create" err
'

test_done
