#!/usr/bin/env python3
"""A stand-in S3 endpoint that checks AWS Signature Version 4, for tests.

    sigv4-server.py PORTFILE ACCESS_KEY SECRET [TOKEN]
    sigv4-server.py PORTFILE @KEYFILE

With @KEYFILE, the credentials accepted are the lines of KEYFILE, read
again at each request: "ACCESS_KEY SECRET [TOKEN|- [EXPIRES]]", EXPIRES in
epoch seconds after which the key is refused as ExpiredToken (temporary
credentials, as tests/aws-metadata-double.py hands them out); each log line
then ends with " by ACCESS_KEY".

With FAIL=N in the environment, one request in N (the 1st, N+1th, ...)
gets HTTP 500 InternalError before any check, for the retry tests.
With LISTING=FILE, a listing (GET ?list-type=2) answers FILE's content.
With STORE=1, it keeps what is PUT (one-part objects, in memory) and
answers GETs and listings from it, NoSuchKey for a key it does not have.

s3rver accepts any signature; real S3 does not.  This server recomputes
each request's signature from the AWS specification (canonical request,
string to sign, derived key) and answers 403 SignatureDoesNotMatch when it
differs, when the date is not today's or when a session TOKEN is expected
but not sent and signed.  Signed requests get a minimal success: PUT 200,
POST ?uploads an UploadId, GET ?list-type=2 an empty listing.  It writes
the port it listens on to PORTFILE and logs one line per request on stderr.
"""
import datetime
import hashlib
import hmac
import http.server
import os
import sys
import urllib.parse
import xml.sax.saxutils

PORTFILE = sys.argv[1]
KEYFILE = sys.argv[2][1:] if sys.argv[2].startswith("@") else None
if not KEYFILE:
    KEY, SECRET = sys.argv[2:4]
    TOKEN = sys.argv[4] if len(sys.argv) > 4 else None
FAIL = int(os.environ.get("FAIL", "0"))
LISTING = os.environ.get("LISTING")
STORE = os.environ.get("STORE") == "1"
objects = {}  # STORE: "/bucket/key" (decoded) -> bytes
requests = 0


def uri_encode(s, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def accepted():
    """The credentials accepted: {key: (secret, token, expires)}."""
    if not KEYFILE:
        return {KEY: (SECRET, TOKEN, None)}
    keys = {}
    with open(KEYFILE) as f:
        for line in f:
            w = line.split()
            if w:
                keys[w[0]] = (w[1], w[2] if len(w) > 2 and w[2] != "-" else None,
                              float(w[3]) if len(w) > 3 else None)
    return keys


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    key = None

    def by(self):
        return " by %s" % self.key if KEYFILE else ""

    def refuse(self, code, why, status=403):
        body = ("<Error><Code>%s</Code><Message>%s</Message></Error>" % (code, why)).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        sys.stderr.write("refused %s %s: %s%s\n" % (self.command, self.path, why, self.by()))

    def check(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "no SigV4 Authorization header"
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        key, date, region, service, term = fields["Credential"].split("/")
        keys = accepted()
        if key not in keys or term != "aws4_request" or service != "s3":
            return "bad credential scope " + fields["Credential"]
        SECRET, TOKEN, expires = keys[key]
        self.key = key
        if expires is not None and datetime.datetime.now().timestamp() > expires:
            return "ExpiredToken: the credentials of %s expired" % key
        amz_date = self.headers.get("x-amz-date", "")
        if not amz_date.startswith(date) or date != datetime.datetime.utcnow().strftime("%Y%m%d"):
            return "bad date " + amz_date
        signed = fields["SignedHeaders"].split(";")
        for need in ["host", "x-amz-date", "x-amz-content-sha256"] + (
                ["x-amz-security-token"] if TOKEN else []):
            if need not in signed:
                return "header %s not signed" % need
        for h in signed:
            if h not in self.headers:
                return "signed header %s is not in the request" % h
        if TOKEN and self.headers.get("x-amz-security-token") != TOKEN:
            return "wrong session token"
        path, _, query = self.path.partition("?")
        params = []
        for part in query.split("&") if query else []:
            name, _, value = part.partition("=")
            params.append((uri_encode(urllib.parse.unquote(name), False),
                           uri_encode(urllib.parse.unquote(value), False)))
        canonical_query = "&".join("%s=%s" % p for p in sorted(params))
        canonical_path = uri_encode(urllib.parse.unquote(path), True)
        canonical_headers = "".join(
            "%s:%s\n" % (h, " ".join(self.headers.get(h, "").split())) for h in signed)
        request = "\n".join([self.command, canonical_path, canonical_query, canonical_headers,
                             fields["SignedHeaders"],
                             self.headers.get("x-amz-content-sha256", "")])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, "/".join([date, region, service, term]),
                             hashlib.sha256(request.encode()).hexdigest()])
        k = hmac256(("AWS4" + SECRET).encode(), date)
        k = hmac256(hmac256(hmac256(k, region), service), term)
        want = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, fields["Signature"]):
            return "signature mismatch; canonical request was:\n" + request
        return None

    def handle_any(self):
        global requests
        length = int(self.headers.get("Content-Length", "0") or 0)
        data = self.rfile.read(length) if length else b""
        requests += 1
        if FAIL and (requests - 1) % FAIL == 0:
            self.refuse("InternalError", "injected failure", 500)
            return
        why = self.check()
        if why:
            self.refuse("ExpiredToken" if why.startswith("ExpiredToken") else
                        "SignatureDoesNotMatch", why)
            return
        body = b""
        path, _, query = self.path.partition("?")
        name = urllib.parse.unquote(path)
        if STORE and self.command == "PUT" and not query:
            objects[name] = data
        elif STORE and self.command == "GET" and "list-type=2" in query:
            params = urllib.parse.parse_qs(query)
            under = name.rstrip("/") + "/" + params.get("prefix", [""])[0]
            keys = sorted(k for k in objects if k.startswith(under))
            body = ("<ListBucketResult><IsTruncated>false</IsTruncated>%s</ListBucketResult>" %
                    "".join("<Contents><Key>%s</Key><Size>%d</Size></Contents>" % (
                        xml.sax.saxutils.escape(k[len(name.rstrip("/")) + 1:]), len(objects[k]))
                        for k in keys)).encode()
        elif STORE and self.command == "GET":
            if name not in objects:
                self.refuse("NoSuchKey", "no such key", 404)
                return
            body = objects[name]
        elif STORE and self.command == "DELETE" and not query:
            objects.pop(name, None)
        elif self.command == "GET" and "list-type=2" in self.path:
            body = b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"
            if LISTING:
                with open(LISTING, "rb") as f:
                    body = f.read()
        elif self.command == "POST" and "uploads" in self.path:
            body = b"<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>"
        self.send_response(200)
        self.send_header("ETag", '"e"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        sys.stderr.write("signed %s %s%s\n" % (self.command, self.path, self.by()))

    do_GET = do_PUT = do_POST = do_DELETE = handle_any

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
