# tests/lib-s3.sh -- a private S3-compatible server (s3rver, from npm).
# Source after lib.sh.
#
#   start_s3 BUCKET...   start s3rver on a free loopback port with its data in
#                        $TRASH_DIRECTORY/s3, the buckets created; exports
#                        AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (S3RVER) and
#                        AWS_ENDPOINT_URL, sets S3_PID.  Stopped at the end.
#   s3curl CURL-ARGS...  an S3 request by curl(1), signed the same way (an
#                        independent client)
#   s3url BUCKET KEY     the URL of a key, path-style, each character outside
#                        RFC 3986's unreserved set percent-encoded
#
# s3rver 3.7.1 is installed into build/node by scripts/deps.sh check.  It
# checks the access key but not SigV4 signatures.  Its continuation tokens
# use DES, which Node 20's OpenSSL 3 only has in the legacy provider.

S3RVER=$PN_SRC/build/node/node_modules/.bin/s3rver

# pn looks for credentials where the AWS SDKs do, past the environment:
# keep the tester's ~/.aws and the role of a cloud machine out of the tests.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
	AWS_CONTAINER_CREDENTIALS_FULL_URI
AWS_SHARED_CREDENTIALS_FILE=$TRASH_DIRECTORY/.aws/credentials
AWS_CONFIG_FILE=$TRASH_DIRECTORY/.aws/config
AWS_EC2_METADATA_DISABLED=true
export AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_EC2_METADATA_DISABLED

if ! command -v node >/dev/null || [ ! -x "$S3RVER" ]; then
	test_skip_all "s3rver not installed in build/node (scripts/deps.sh check installs it)"
fi

# sets S3_PORT once s3rver says it listens
_s3_port () {
	S3_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TRASH_DIRECTORY/s3.log")
	[ -n "$S3_PORT" ]
}

start_s3 () {
	local args=() b
	for b in "$@"; do
		args+=(--configure-bucket "$b")
	done
	mkdir -p "$TRASH_DIRECTORY/s3" || return 1
	NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" -d "$TRASH_DIRECTORY/s3" -a 127.0.0.1 \
		-p 0 "${args[@]}" >"$TRASH_DIRECTORY/s3.log" 2>&1 </dev/null &
	S3_PID=$!
	test_cleanup_kill $S3_PID
	if ! test_wait_until 20 _s3_port; then
		echo "start_s3: s3rver did not start:" >&2
		cat "$TRASH_DIRECTORY/s3.log" >&2
		return 1
	fi
	AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
	AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
	export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL S3_PID S3_PORT
}

s3curl () {
	curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
s3url () {
	printf '%s/%s/' "$AWS_ENDPOINT_URL" "$1"
	printf '%s' "$2" | jq -sRr @uri | sed 's/%2F/\//g'
}
