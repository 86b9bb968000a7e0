#!/bin/bash
# t5100-archive-s3: pn-archive on S3 (s3rver): round trips, multipart
# uploads, listings past one page, idempotent re-runs, a crash mid-upload,
# damaged objects, {field} partitions, SigV4 signatures, wrong
# credentials, a missing bucket, no service.
. "$(dirname "$0")/lib.sh"
. "$PN_SRC/tests/lib-archive.sh"
. "$PN_SRC/tests/lib-s3.sh"

test_expect_success 'start s3rver' '
	start_s3 audit other
'

test_expect_success 'write and cat round trip through S3' '
	gen_meta 3000 3 >in &&
	pn-archive write s3://audit/pings in 2>err &&
	test_must_be_empty err &&
	pn-archive cat s3://audit/pings >out 2>err &&
	test_must_be_empty err &&
	test_cmp in out
'

test_expect_success 'the same layout as on a directory, and zstd reads the objects' '
	pn-archive write dir in &&
	pn-archive ls s3://audit/pings >s3-list &&
	pn-archive ls dir >dir-list &&
	test_cmp dir-list s3-list &&
	key=pings/topic=pings/dt=2025-11-25/hour=05/pings+1+0000000208.ndjson.zst &&
	s3curl -o obj "$(s3url audit "$key")" &&
	zstd -t -q obj &&
	cmp obj "dir/topic=pings/dt=2025-11-25/hour=05/pings+1+0000000208.ndjson.zst"
'

test_expect_success 'verify: every object ok' '
	pn-archive verify s3://audit/pings >verdicts &&
	test_line_count = 72 verdicts &&
	jq -r .status verdicts | sort -u >actual &&
	echo ok >expect &&
	test_cmp expect actual
'

test_expect_success 'a re-run writes the same objects, adds none' '
	pn-archive write s3://audit/pings in &&
	pn-archive ls s3://audit/pings >list2 &&
	test_cmp s3-list list2 &&
	s3curl "$AWS_ENDPOINT_URL/audit/?list-type=2&prefix=pings%2F" >listing &&
	grep -o "<Key>[^<]*</Key>" listing | wc -l >n &&
	echo 144 >expect &&
	test_cmp expect n
'

test_expect_success 'large objects go up in parts (multipart upload)' '
	gen_meta 300000 1 >big &&
	pn-archive write -v --part-size 5M --partition-by "{topic}" s3://audit/big big 2>err &&
	grep "uploaded part 2 " err &&
	pn-archive cat s3://audit/big >big-out &&
	cmp big big-out &&
	pn-archive verify s3://audit/big >verdicts &&
	rm -f big-out
'

test_expect_success 'listings past one page (ListObjectsV2 continuation)' '
	head -n 1200 in >in1200 &&
	pn-archive write --max-records 2 --partition-by "{topic}" s3://other/many in1200 &&
	pn-archive ls s3://other/many >list &&
	test_line_count = 600 list &&
	pn-archive cat s3://other/many >out &&
	test_cmp in1200 out
'

test_expect_success 'a write killed mid-upload leaves nothing visible' '
	mkfifo fifo &&
	{ pn-archive write -v --part-size 5M --partition-by "{topic}" s3://audit/crash <fifo 2>err & } &&
	pid=$! &&
	exec 9>fifo &&
	cat big >&9 &&
	test_wait_until 30 grep -q "uploaded part 1 " err &&
	kill -KILL $pid &&
	{ wait $pid; test $? = 137; } &&
	exec 9>&- &&
	pn-archive ls s3://audit/crash >list &&
	test_must_be_empty list &&
	s3curl "$AWS_ENDPOINT_URL/audit/?list-type=2&prefix=crash%2F" >listing &&
	! grep "<Key>" listing
'

test_expect_success 'a damaged object: verify and cat name it and fail' '
	key=pings/topic=pings/dt=2025-11-25/hour=05/pings+1+0000000208.ndjson.zst &&
	cp obj damaged &&
	printf "\\377" | dd of=damaged bs=1 seek=100 conv=notrunc 2>/dev/null &&
	s3curl -T damaged "$(s3url audit "$key")" &&
	test_expect_code 65 pn-archive verify s3://audit/pings >verdicts 2>err &&
	grep "error (at topic=pings/dt=2025-11-25/hour=05/pings+1+0000000208.ndjson.zst): object is damaged: checksum" err &&
	grep -c "\"status\":\"damaged\"" verdicts >n &&
	echo 1 >expect && test_cmp expect n &&
	test_expect_code 65 pn-archive cat s3://audit/pings >out 2>err &&
	grep "error (at topic=pings/dt=2025-11-25/hour=05/pings+1+0000000208.ndjson.zst): object is damaged" err &&
	s3curl -T obj "$(s3url audit "$key")" &&
	pn-archive verify s3://audit/pings >verdicts
'

test_expect_success '{field} partitions on S3: odd values, the same objects as on a directory' '
	cat >odd <<-\EOF &&
	{"_topic":"t","_partition":0,"_offset":0,"_timestamp":1764028800000,"m":"a/b"}
	{"_topic":"t","_partition":0,"_offset":1,"_timestamp":1764028800000,"m":".."}
	{"_topic":"t","_partition":0,"_offset":2,"_timestamp":1764032400000,"m":"café über+1"}
	{"_topic":"t","_partition":1,"_offset":0,"_timestamp":1764028800000,"m":42}
	{"_topic":"t","_partition":0,"_offset":3,"_timestamp":1764028800000}
	{"_topic":"t","_partition":0,"_offset":4,"_timestamp":1764028800000,"m":"a/b"}
	{"_topic":"t","_partition":1,"_offset":1,"m":"%"}
	EOF
	pn-archive write --partition-by "m={m}/{partition}" s3://audit/fields odd 2>err &&
	grep "warning (at odd:5): no field .m." err &&
	pn-archive write --partition-by "m={m}/{partition}" odd-dir odd 2>err &&
	pn-archive ls s3://audit/fields >s3-list &&
	pn-archive ls odd-dir >dir-list &&
	test_cmp dir-list s3-list &&
	jq -r .object s3-list | sort >actual &&
	cat >expect <<-\EOF &&
	m=%25/1/t+1+0000000001.ndjson.zst
	m=%2E./0/t+0+0000000001.ndjson.zst
	m=42/1/t+1+0000000000.ndjson.zst
	m=__HIVE_DEFAULT_PARTITION__/0/t+0+0000000003.ndjson.zst
	m=a%2Fb/0/t+0+0000000000.ndjson.zst
	m=café%20über%2B1/0/t+0+0000000002.ndjson.zst
	EOF
	test_cmp expect actual &&
	key="fields/m=café%20über%2B1/0/t+0+0000000002.ndjson.zst" &&
	s3curl -o obj "$(s3url audit "$key")" &&
	zstdcat obj >rec &&
	sed -n 3p odd >expect && test_cmp expect rec &&
	pn-archive verify s3://audit/fields >verdicts &&
	test_line_count = 6 verdicts &&
	pn-archive cat s3://audit/fields >out &&
	{ sed -n 1,2p odd && sed -n 4p odd && sed -n 7p odd && sed -n 3p odd &&
	  sed -n 5,6p odd; } >expect &&
	test_cmp expect out &&
	pn-archive cat --order offset s3://audit/fields >out &&
	{ sed -n 1,3p odd && sed -n 5,6p odd && sed -n 4p odd && sed -n 7p odd; } >expect &&
	test_cmp expect out &&
	pn-archive cat --from 2025-11-25T00:30 s3://audit/fields >out &&
	sed -n 3p odd >expect &&
	test_cmp expect out
'

test_expect_success 'wrong credentials, no credentials, a missing bucket: 78' '
	AWS_ACCESS_KEY_ID=nobody test_expect_code 78 pn-archive ls s3://audit/pings 2>err &&
	grep "InvalidAccessKeyId" err &&
	AWS_ACCESS_KEY_ID=nobody test_expect_code 78 pn-archive write s3://audit/x in 2>err &&
	grep "cannot use .s3://audit/x.: .*InvalidAccessKeyId" err &&
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY pn-archive ls s3://audit/pings 2>err;
	test $? = 78 &&
	grep "no S3 credentials" err &&
	test_expect_code 78 pn-archive cat s3://no-such-bucket/pings 2>err &&
	grep "NoSuchBucket" err &&
	test_expect_code 78 pn-archive write s3://no-such-bucket/pings </dev/null 2>err &&
	grep "cannot use .s3://no-such-bucket/pings.: .*NoSuchBucket" err
'

# s3rver does not check signatures: tests/sigv4-server.py does, from the
# AWS specification, for a session token too.
test_expect_success 'requests carry valid SigV4 signatures, the session token signed' '
	"$PYTHON" "$PN_SRC/tests/sigv4-server.py" sigv4.port AKTEST SKTEST TOKTEST 2>sigv4.log &
	test_cleanup_kill $! &&
	wait_for_file sigv4.port &&
	ep=http://127.0.0.1:$(cat sigv4.port) &&
	export AWS_ACCESS_KEY_ID=AKTEST AWS_SECRET_ACCESS_KEY=SKTEST AWS_SESSION_TOKEN=TOKTEST &&
	test_when_finished "export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER; unset AWS_SESSION_TOKEN" &&
	pn-archive write --endpoint $ep --part-size 5M --partition-by "{topic}" s3://b/p big &&
	pn-archive write --endpoint $ep s3://b/p in1200 &&
	pn-archive ls --endpoint $ep s3://b/p >list &&
	test_must_be_empty list &&
	grep "^signed POST /b/p/pings/pings%2B0%2B0000000000.ndjson.zst?uploads=$" sigv4.log &&
	grep "^signed PUT /b/p/pings/pings%2B0%2B0000000000.ndjson.zst?partNumber=2&uploadId=u1$" sigv4.log &&
	grep "^signed POST /b/p/pings/pings%2B0%2B0000000000.ndjson.zst?uploadId=u1$" sigv4.log &&
	grep "^signed PUT /b/p/topic%3Dpings/dt%3D2025-11-25/hour%3D00/_pings%2B0%2B0000000000.manifest.json$" sigv4.log &&
	grep "^signed GET /b/?encoding-type=url&list-type=2&prefix=p%2F$" sigv4.log &&
	grep "^signed GET /b/?list-type=2&max-keys=1&prefix=p%2F$" sigv4.log &&
	! grep "^refused" sigv4.log &&
	AWS_SECRET_ACCESS_KEY=wrong test_expect_code 78 pn-archive ls --endpoint $ep s3://b/p 2>err &&
	grep "SignatureDoesNotMatch" err &&
	env -u AWS_SESSION_TOKEN pn-archive ls --endpoint $ep s3://b/p 2>err;
	test $? = 78 &&
	grep "x-amz-security-token not signed" err
'

# XML cannot carry a CR (a parser reads it as LF): listings are asked for
# URL-encoded, and keys decoded when the answer says they are.
test_expect_success 'listings are asked for with encoding-type=url and decoded' '
	d="topic%3Dp%0Dq/dt%3D2025-11-25/hour%3D00" &&
	cat >listing.xml <<-EOF &&
	<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>
	<Contents><Key>p/$d/p%0Dq%2B0%2B0000000001.ndjson.zst</Key><Size>1</Size></Contents>
	<Contents><Key>p/$d/_p%0Dq%2B0%2B0000000001.manifest.json</Key><Size>1</Size></Contents>
	<Contents><Key>p/a+b/x%2By%2B0%2B0000000002.ndjson.zst</Key><Size>1</Size></Contents>
	</ListBucketResult>
	EOF
	{ LISTING=listing.xml "$PYTHON" "$PN_SRC/tests/sigv4-server.py" enc.port AKTEST SKTEST 2>enc.log & } &&
	test_cleanup_kill $! &&
	wait_for_file enc.port &&
	ep=http://127.0.0.1:$(cat enc.port) &&
	AWS_ACCESS_KEY_ID=AKTEST AWS_SECRET_ACCESS_KEY=SKTEST \
		test_expect_code 65 pn-archive verify --endpoint $ep s3://b/p >out 2>err &&
	jq -r .object out | sort >actual &&
	printf "a b/x+y+0+0000000002.ndjson.zst\ntopic=p\rq/dt=2025-11-25/hour=00/p\rq+0+0000000001.ndjson.zst\n" >expect &&
	test_cmp expect actual &&
	grep "^signed GET /b/p/topic%3Dp%0Dq/dt%3D2025-11-25/hour%3D00/_p%0Dq%2B0%2B0000000001.manifest.json$" enc.log &&
	printf "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Contents><Key>p/x%%00y</Key><Size>1</Size></Contents></ListBucketResult>" >listing.xml &&
	AWS_ACCESS_KEY_ID=AKTEST AWS_SECRET_ACCESS_KEY=SKTEST \
		test_expect_code 69 pn-archive ls --endpoint $ep s3://b/p >out 2>err &&
	grep "not URL-encoded as asked" err
'

# One request in two fails with HTTP 500 (the first of each pair): each is
# retried once.
test_expect_success 'failed requests are retried with backoff' '
	FAIL=2 "$PYTHON" "$PN_SRC/tests/sigv4-server.py" flaky.port AKTEST SKTEST 2>flaky.log &
	test_cleanup_kill $! &&
	wait_for_file flaky.port &&
	AWS_ACCESS_KEY_ID=AKTEST AWS_SECRET_ACCESS_KEY=SKTEST pn-archive write -v \
		--endpoint http://127.0.0.1:$(cat flaky.port) --partition-by "{topic}" \
		s3://b/p in1200 2>err &&
	grep -c "InternalError: injected failure (HTTP 500); retrying" err >n &&
	echo 7 >expect && test_cmp expect n &&
	grep -c "^signed PUT" flaky.log >n &&
	echo 6 >expect && test_cmp expect n
'

test_expect_success 'a service that keeps failing is 69 after the retries' '
	FAIL=1 "$PYTHON" "$PN_SRC/tests/sigv4-server.py" down.port AKTEST SKTEST 2>down.log &
	test_cleanup_kill $! &&
	wait_for_file down.port &&
	AWS_ACCESS_KEY_ID=AKTEST AWS_SECRET_ACCESS_KEY=SKTEST test_expect_code 69 pn-archive ls \
		--retries 2 --endpoint http://127.0.0.1:$(cat down.port) s3://b/p 2>err &&
	grep "InternalError: injected failure (HTTP 500)" err &&
	grep -c "^refused" down.log >n &&
	echo 3 >expect && test_cmp expect n
'

test_expect_success 'an unreachable endpoint is 69 after the retries' '
	test_expect_code 69 pn-archive ls --retries 2 --endpoint http://127.0.0.1:1 s3://audit/pings 2>err &&
	grep "cannot reach S3 at .http://127.0.0.1:1." err &&
	test_expect_code 78 pn-archive ls --endpoint ftp://x s3://audit/pings 2>err &&
	grep "bad S3 endpoint" err &&
	test_expect_code 64 pn-archive ls s3:// 2>err
'

test_done
