#!/bin/bash
# t5400-archive-s3-credentials: pn's S3 credentials come from where the AWS
# SDKs find them, in their order: the environment, the shared files
# (AWS_PROFILE, a config-file-only profile, a profile named but missing),
# a container endpoint with its authorization token, the instance
# metadata service (IMDSv2); temporary ones are fetched again before they
# expire while a long write (or a pn-aggregate saving its state in S3)
# goes on, and at once when S3 calls them expired.  Every request goes to
# tests/sigv4-server.py, which checks the access key, the signature, the
# session token and the expiry; the container endpoint and the metadata
# service are tests/aws-metadata-double.py on loopback.
. "$(dirname "$0")/lib.sh"
. "$PN_SRC/tests/lib-archive.sh"

# Nothing of the tester's own: no ~/.aws, no role of the machine.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 \
	AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
	AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
	AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_EC2_METADATA_SERVICE_ENDPOINT
export HOME=$TRASH_DIRECTORY/home AWS_EC2_METADATA_DISABLED=true

# signers ACTION: the access keys that signed the requests logged since
# the log was last cut (cut_log), one per line, sorted, without repeats.
signers () {
	grep "^signed $1 " s3.log | sed "s/.* by //" | sort -u
}
cut_log () {
	: >s3.log
}
# expired KEYFILE KEY: KEY, handed out by the metadata double, has expired.
expired () {
	local at
	at=$(awk -v k="$2" '$1 == k { print int($4) + 1 }' "$1")
	[ -n "$at" ] && [ "$at" -le "$(date +%s)" ]
}

# start_doubles NAME [VAR=VALUE...]: a pair of doubles of its own: the S3
# double accepting the keys in NAME-keys (and STORE from the environment),
# the metadata double handing out keys there with the settings given
# (LIFETIME, REAL_LIFETIME); ports in NAME-s3.port and NAME-md.port, logs
# in NAME-s3.log and NAME-md.log.
start_doubles () {
	local name=$1
	shift
	printf "AKNONE SKNONE\n" >"$name-keys" &&
	{ "$PYTHON" "$PN_SRC/tests/sigv4-server.py" "$name-s3.port" "@$name-keys" \
		2>>"$name-s3.log" & } &&
	test_cleanup_kill $! &&
	{ env "$@" "$PYTHON" "$PN_SRC/tests/aws-metadata-double.py" "$name-md.port" \
		"$name-keys" 2>>"$name-md.log" & } &&
	test_cleanup_kill $! &&
	wait_for_file "$name-s3.port" &&
	wait_for_file "$name-md.port"
}

test_expect_success 'start the signature-checking S3 double and the metadata double' '
	mkdir -p home/.aws &&
	printf "AKENV SKENV\nAKFILE SKFILE\nAKPROD SKPROD\nAKCFG SKCFG TOKCFG\n" >keys &&
	{ "$PYTHON" "$PN_SRC/tests/sigv4-server.py" s3.port @keys 2>>s3.log & } &&
	test_cleanup_kill $! &&
	{ CONTAINER_AUTH=Bearer-c0ntainer "$PYTHON" "$PN_SRC/tests/aws-metadata-double.py" \
		md.port keys 2>>md.log & } &&
	test_cleanup_kill $! &&
	wait_for_file s3.port &&
	wait_for_file md.port &&
	export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat s3.port) &&
	md=http://127.0.0.1:$(cat md.port) &&
	gen_meta 20 1 >in
'

test_expect_success 'the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' '
	AWS_ACCESS_KEY_ID=AKENV AWS_SECRET_ACCESS_KEY=SKENV \
		pn-archive write --partition-by "{topic}" s3://b/env in &&
	echo AKENV >expect &&
	signers PUT >actual &&
	test_cmp expect actual &&
	! grep ^refused s3.log &&
	AWS_ACCESS_KEY_ID=AKENV AWS_SECRET_ACCESS_KEY=wrong \
		test_expect_code 78 pn-archive ls s3://b/env 2>err &&
	grep "SignatureDoesNotMatch" err &&
	AWS_ACCESS_KEY_ID=AKENV test_expect_code 78 pn-archive ls s3://b/env 2>err &&
	echo "pn-archive: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" >expect &&
	test_cmp expect err
'

test_expect_success 'the credentials file: the default profile, AWS_PROFILE, comments and case' '
	cat >home/.aws/credentials <<-\EOF &&
	# keys of the two accounts
	[default]
	aws_access_key_id = AKFILE
	aws_secret_access_key = SKFILE

	; the production account
	[ prod ]    # the one pn-archive writes to
	AWS_Access_Key_ID	=	AKPROD ; inline comment
	aws_secret_access_key=SKPROD
	EOF
	cut_log &&
	pn-archive write -v --partition-by "{topic}" s3://b/file in 2>err &&
	grep "S3 credentials from the shared files ($HOME/.aws/credentials, profile default)" err &&
	AWS_PROFILE=prod pn-archive ls s3://b/file &&
	printf "GET by AKFILE\nGET by AKPROD\n" >expect &&
	grep "^signed GET" s3.log | sed "s/^signed GET [^ ]* /GET /" | sort -u >actual &&
	test_cmp expect actual &&
	mv home/.aws/credentials elsewhere &&
	cut_log &&
	AWS_SHARED_CREDENTIALS_FILE=~/../elsewhere AWS_PROFILE=prod pn-archive ls s3://b/file &&
	echo AKPROD >expect &&
	signers GET >actual &&
	test_cmp expect actual &&
	! grep ^refused s3.log
'

test_expect_success 'a profile only in the config file, its session token signed' '
	cat >config <<-\EOF &&
	[default]
	region = eu-west-1
	[profile   cfg]
	aws_access_key_id = AKCFG
	aws_secret_access_key = SKCFG
	aws_session_token = TOKCFG
	s3 =
	  addressing_style = path
	EOF
	cut_log &&
	AWS_CONFIG_FILE=config AWS_PROFILE=cfg pn-archive write -v --partition-by "{topic}" \
		s3://b/cfg in 2>err &&
	grep "S3 credentials from the shared files (config, profile cfg)" err &&
	echo AKCFG >expect &&
	signers PUT >actual &&
	test_cmp expect actual &&
	! grep ^refused s3.log
'

test_expect_success 'a profile named but in neither file is a configuration error (78)' '
	AWS_CONFIG_FILE=config AWS_PROFILE=nosuch test_expect_code 78 \
		pn-archive ls s3://b/cfg 2>err &&
	echo "pn-archive: AWS_PROFILE names profile '\''nosuch'\'', which is neither in '\''$HOME/.aws/credentials'\'' nor in '\''config'\''" >expect &&
	test_cmp expect err &&
	printf "[profile role]\nrole_arn = arn:aws:iam::1:role/r\n" >role-config &&
	AWS_CONFIG_FILE=role-config AWS_PROFILE=role test_expect_code 78 \
		pn-archive ls s3://b/cfg 2>err &&
	grep "profile .role. in .* has no aws_access_key_id" err
'

test_expect_success 'a container endpoint with its authorization token, or its file; 69 unreachable' '
	cut_log &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI=$md/container/credentials \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=Bearer-c0ntainer \
		pn-archive write -v --partition-by "{topic}" s3://b/cont in 2>err &&
	grep "S3 credentials from the container endpoint ($md/container/credentials)" err &&
	echo AKCONT1 >expect &&
	signers PUT >actual &&
	test_cmp expect actual &&
	echo Bearer-c0ntainer >token &&
	cut_log &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI=$md/container/credentials \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=ignored AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token \
		pn-archive ls s3://b/cont &&
	echo AKCONT2 >expect &&
	signers GET >actual &&
	test_cmp expect actual &&
	! grep ^refused s3.log &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI=$md/container/credentials \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=Bearer-wrong \
		test_expect_code 78 pn-archive ls s3://b/cont 2>err &&
	echo "pn-archive: the container credentials endpoint '\''$md/container/credentials'\'' answered HTTP 401" >expect &&
	test_cmp expect err &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI=http://192.0.2.1/creds \
		test_expect_code 78 pn-archive ls s3://b/cont 2>err &&
	grep "is neither https:// nor http:// to a loopback or container agent address" err &&
	AWS_CONTAINER_CREDENTIALS_FULL_URI=http://u:s3cret@127.0.0.1:1/creds \
		test_expect_code 69 pn-archive ls s3://b/cont 2>err &&
	grep "^pn-archive: cannot reach the container credentials endpoint .http://\*\*\*@127.0.0.1:1/creds.: " err &&
	! grep s3cret err
'

test_expect_success 'IMDSv2: a session token first, then the role and its credentials' '
	: >md.log &&
	cut_log &&
	AWS_EC2_METADATA_DISABLED= AWS_EC2_METADATA_SERVICE_ENDPOINT=$md \
		pn-archive write -v --partition-by "{topic}" s3://b/imds in 2>err &&
	grep "S3 credentials from the instance metadata ($md)" err &&
	echo AKIMDS1 >expect &&
	signers PUT >actual &&
	test_cmp expect actual &&
	! grep ^refused s3.log &&
	cat >expect <<-\EOF &&
	PUT /latest/api/token: 200 token, ttl 21600
	GET /latest/meta-data/iam/security-credentials/: 200 role
	GET /latest/meta-data/iam/security-credentials/pn-test-role: 200 credentials AKIMDS1
	EOF
	test_cmp expect md.log &&
	curl -sS -o /dev/null -w "%{http_code}\n" \
		$md/latest/meta-data/iam/security-credentials/ >code &&
	echo 401 >expect &&
	test_cmp expect code &&
	grep "no valid session token (IMDSv2)" md.log
'

test_expect_success 'no source: every one named, 78, quickly without a metadata service' '
	nc_port=$("$PYTHON" -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	start=$(date +%s) &&
	AWS_EC2_METADATA_DISABLED= AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$nc_port \
		test_expect_code 78 pn-archive ls s3://b/none 2>err &&
	test $(($(date +%s) - start)) -le 5 &&
	grep "^pn-archive: no S3 credentials found: tried environment (AWS_ACCESS_KEY_ID not set), shared files (no profile .default. in .$HOME/.aws/credentials. or .$HOME/.aws/config.), container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set), instance metadata (http://127.0.0.1:$nc_port: .*)$" err &&
	test_expect_code 78 pn-archive ls s3://b/none 2>err &&
	grep "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)$" err
'

# A metadata service that takes the connection and never answers: given
# up after 3 s in all.
test_expect_success 'a metadata service that does not answer is given up quickly' '
	{ "$PYTHON" -c "
import socket, sys, time
s = socket.socket()
s.bind((\"127.0.0.1\", 0))
s.listen(8)
open(sys.argv[1], \"w\").write(str(s.getsockname()[1]))
time.sleep(120)
" mute.port & } &&
	test_cleanup_kill $! &&
	wait_for_file mute.port &&
	start=$(date +%s) &&
	AWS_EC2_METADATA_DISABLED= AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$(cat mute.port) \
		test_expect_code 78 pn-archive ls s3://b/none 2>err &&
	test $(($(date +%s) - start)) -le 6 &&
	grep "instance metadata (http://127.0.0.1:$(cat mute.port): Operation timed out after 3[0-9]* milliseconds" err
'

test_expect_success 'precedence: the environment, then the files, then the metadata service' '
	cp elsewhere home/.aws/credentials &&
	export AWS_EC2_METADATA_DISABLED= AWS_EC2_METADATA_SERVICE_ENDPOINT=$md &&
	test_when_finished "export AWS_EC2_METADATA_DISABLED=true; unset AWS_EC2_METADATA_SERVICE_ENDPOINT" &&
	: >md.log &&
	cut_log &&
	AWS_ACCESS_KEY_ID=AKENV AWS_SECRET_ACCESS_KEY=SKENV pn-archive ls s3://b/env &&
	echo AKENV >expect &&
	signers GET >actual &&
	test_cmp expect actual &&
	cut_log &&
	pn-archive ls s3://b/env &&
	echo AKFILE >expect &&
	signers GET >actual &&
	test_cmp expect actual &&
	test_must_be_empty md.log &&
	rm home/.aws/credentials &&
	cut_log &&
	pn-archive ls s3://b/env &&
	echo AKIMDS2 >expect &&
	signers GET >actual &&
	test_cmp expect actual
'

# The double hands out credentials that last 6 s, and the S3 double
# refuses them once they have expired.  An object closes when the record
# after its last comes: the first goes up, the write waits past the expiry
# of the credentials that signed it, the second goes up signed with new
# ones, and no request is refused on the way.
manifests_put () {
	[ "$(grep -c "^signed PUT .*manifest.json by " short-s3.log)" -ge "$1" ]
}
first_signer () {
	sed -n "s/^signed PUT .*manifest.json by //p" short-s3.log | head -n 1
}

test_expect_success 'temporary credentials fetched again before they expire, mid-write' '
	start_doubles short LIFETIME=6 &&
	mkfifo feed &&
	{ AWS_EC2_METADATA_DISABLED= \
	  AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$(cat short-md.port) \
		pn-archive write -v --endpoint http://127.0.0.1:$(cat short-s3.port) \
		--max-records 2 --partition-by "{topic}" s3://b/long <feed 2>long.err & } &&
	writer=$! &&
	exec 3>feed &&
	test_when_finished "exec 3>&-" &&
	head -n 3 in >&3 &&
	test_wait_until 30 manifests_put 1 &&
	test_wait_until 30 expired short-keys "$(first_signer)" &&
	sed -n 4,5p in >&3 &&
	test_wait_until 30 manifests_put 2 &&
	exec 3>&- &&
	wait $writer &&
	grep "S3 credentials refreshed from the instance metadata, valid until" long.err &&
	! grep ^refused short-s3.log &&
	sed -n "s/^signed PUT .*manifest.json by //p" short-s3.log | sort -u >signers &&
	test_line_count -ge 2 signers &&
	grep -c "credentials AKIMDS" short-md.log >n &&
	test $(cat n) -ge 2
'

# Credentials that S3 calls expired before their Expiration (a revoked
# session, a clock behind): the refused request is sent again, once, with
# credentials fetched anew.
test_expect_success 'credentials S3 calls expired before their time are fetched anew' '
	start_doubles early REAL_LIFETIME=3 &&
	mkfifo early-feed &&
	{ AWS_EC2_METADATA_DISABLED= \
	  AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$(cat early-md.port) \
		pn-archive write -v --endpoint http://127.0.0.1:$(cat early-s3.port) \
		--max-records 2 --partition-by "{topic}" s3://b/early <early-feed 2>early.err & } &&
	writer=$! &&
	exec 3>early-feed &&
	test_when_finished "exec 3>&-" &&
	head -n 3 in >&3 &&
	test_wait_until 30 grep -q "^signed PUT .*manifest.json by AKIMDS1$" early-s3.log &&
	test_wait_until 30 expired early-keys AKIMDS1 &&
	sed -n 4,5p in >&3 &&
	test_wait_until 30 grep -q "^signed PUT .*manifest.json by AKIMDS2$" early-s3.log &&
	exec 3>&- &&
	wait $writer &&
	grep "^refused PUT .*: ExpiredToken: the credentials of AKIMDS1 expired by AKIMDS1$" \
		early-s3.log >refused &&
	test_line_count = 1 refused &&
	grep "ExpiredToken.*; fetching new credentials$" early.err &&
	grep "S3 credentials refreshed from the instance metadata" early.err
'

# pn-aggregate keeps its state in S3 through the same client: a long
# aggregation saves its pieces across the expiry of its credentials.
pieces_put () {
	[ "$(grep -c "^signed PUT /b/rep/pings/0.ckpt by " agg-s3.log)" -ge "$1" ]
}
test_expect_success 'pn-aggregate --state s3:// saves its state across an expiry' '
	STORE=1 start_doubles agg LIFETIME=6 &&
	export AWS_EC2_METADATA_DISABLED= \
		AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$(cat agg-md.port) \
		AWS_ENDPOINT_URL=http://127.0.0.1:$(cat agg-s3.port) &&
	test_when_finished "export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=http://127.0.0.1:$(cat s3.port); unset AWS_EC2_METADATA_SERVICE_ENDPOINT" &&
	mkfifo agg-feed &&
	{ pn-aggregate -v --state s3://b/rep/ --emit-interval 50ms --group-by source_id:id \
		--count "*:n" <agg-feed >agg.out 2>agg.err & } &&
	aggregator=$! &&
	exec 3>agg-feed &&
	test_when_finished "exec 3>&-" &&
	head -n 2 in >&3 &&
	test_wait_until 30 pieces_put 1 &&
	first=$(sed -n "s/^signed PUT .*0.ckpt by //p" agg-s3.log | head -n 1) &&
	test_wait_until 30 expired agg-keys "$first" &&
	n=$(grep -c "^signed PUT /b/rep/pings/0.ckpt by " agg-s3.log) &&
	sed -n 3,4p in >&3 &&
	test_wait_until 30 pieces_put $((n + 1)) &&
	exec 3>&- &&
	wait $aggregator &&
	grep "S3 credentials refreshed from the instance metadata" agg.err &&
	sed -n "s/^signed PUT .*0.ckpt by //p" agg-s3.log | sort -u >signers &&
	test_line_count -ge 2 signers &&
	grep "^refused" agg-s3.log | grep -v ": no such key by " >bad;
	test_must_be_empty bad &&
	pn-aggregate --state s3://b/rep/ --print-offsets >offsets &&
	echo "{\"pings\":{\"0\":4}}" >expect &&
	test_cmp expect offsets
'

test_done
