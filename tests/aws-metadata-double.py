#!/usr/bin/env python3
"""A test double of the AWS credential services a cloud machine has.

    aws-metadata-double.py PORTFILE KEYFILE

This is not the real thing: the EC2 instance metadata service answers only
on 169.254.169.254 inside EC2, and a container credentials endpoint only
inside ECS or EKS, so neither can run here.  This server plays both on a
loopback port, as their documentation describes them, for the tests of
pn's credential chain (common/pn_awscred.c):

  IMDSv2   PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds
           gives a session token; GET /latest/meta-data/iam/security-
           credentials/ (the role's name) and .../ROLE (its credentials)
           need it in X-aws-ec2-metadata-token, or answer 401: a GET
           without a token is refused, as on an instance that requires v2.
  container  GET /container/credentials needs the Authorization header to
           be $CONTAINER_AUTH (when set), or answers 401.

Each credentials answer is new: AKIMDS1, AKIMDS2, ... (AKCONT1, ... for the
container), secret SK<key>, session token TOK<key>, expiring $LIFETIME
seconds later (default 3600).  With REAL_LIFETIME, they stop working
that many seconds after they were handed out whatever their Expiration
says, as a revoked session or a client clock behind would have it.  Each
is added to KEYFILE as a line
"KEY SECRET TOKEN EXPIRES" (the file rewritten whole, through a rename),
the form tests/sigv4-server.py @KEYFILE accepts.  It writes the port it listens on
to PORTFILE and logs one line per request on stderr.
"""
import datetime
import http.server
import json
import os
import secrets
import sys
import threading

PORTFILE, KEYFILE = sys.argv[1:3]
LIFETIME = float(os.environ.get("LIFETIME", "3600"))
REAL_LIFETIME = float(os.environ.get("REAL_LIFETIME", LIFETIME))
CONTAINER_AUTH = os.environ.get("CONTAINER_AUTH")
ROLE = "pn-test-role"
CREDS = "/latest/meta-data/iam/security-credentials/"
tokens = set()
issued = {"IMDS": 0, "CONT": 0}
lock = threading.Lock()


def hand_out(kind):
    with lock:
        return hand_out_locked(kind)


def hand_out_locked(kind):
    issued[kind] += 1
    key = "AK%s%d" % (kind, issued[kind])
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=LIFETIME)
    try:
        with open(KEYFILE) as f:
            lines = f.readlines()
    except FileNotFoundError:
        lines = []
    lines.append("%s SK%s TOK%s %.3f\n" % (key, key, key, expires.timestamp() -
                                           LIFETIME + REAL_LIFETIME))
    with open(KEYFILE + ".tmp", "w") as f:
        f.writelines(lines)
    os.rename(KEYFILE + ".tmp", KEYFILE)
    return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": key,
            "SecretAccessKey": "SK" + key, "Token": "TOK" + key,
            "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ")}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, what):
        body = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        sys.stderr.write("%s %s: %d %s\n" % (self.command, self.path, status, what))
        sys.stderr.flush()

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        if length:
            self.rfile.read(length)
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if self.path != "/latest/api/token":
            self.answer(404, "", "not found")
        elif not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            self.answer(400, "", "no or bad token TTL")
        else:
            token = secrets.token_hex(16)
            tokens.add(token)
            self.answer(200, token, "token, ttl " + ttl)

    def do_GET(self):
        if self.path.startswith("/container/"):
            auth = self.headers.get("Authorization")
            if CONTAINER_AUTH and auth != CONTAINER_AUTH:
                self.answer(401, "", "wrong Authorization %r" % auth)
            else:
                creds = hand_out("CONT")
                self.answer(200, json.dumps(creds), "credentials " + creds["AccessKeyId"])
            return
        if self.headers.get("X-aws-ec2-metadata-token") not in tokens:
            self.answer(401, "", "no valid session token (IMDSv2)")
        elif self.path == CREDS:
            self.answer(200, ROLE, "role")
        elif self.path == CREDS + ROLE:
            creds = hand_out("IMDS")
            self.answer(200, json.dumps(creds), "credentials " + creds["AccessKeyId"])
        else:
            self.answer(404, "", "not found")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
