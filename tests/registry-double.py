#!/usr/bin/python3
"""registry-double.py -- a TEST DOUBLE of Confluent Schema Registry's REST API.

No schema registry server can be installed on the test machines, so the
tests run this small stand-in.  It is not a registry: it keeps everything
in memory, knows only Avro, and implements just what pn and the Confluent
Python client call, with the status codes and error bodies the Schema
Registry API reference documents:

  POST /subjects/{subject}/versions   {"schema": "..."} -> {"id": N}
        the same schema again answers its existing id; a schema that does
        not parse is 422 {"error_code": 42201}; one the subject's latest
        version cannot be read by (BACKWARD, the registry's default
        compatibility) is 409 {"error_code": 409}
  GET  /subjects/{subject}/versions/latest
        -> {"subject", "version", "id", "schema"}; 404 {"error_code": 40401}
  GET  /schemas/ids/{id}  -> {"schema": "..."}; 404 {"error_code": 40403}
  with --user U:P, a request without those basic credentials is 401
        {"error_code": 401, "message": "Unauthorized"}

Test controls (not part of the real API, under /_double/):
  POST /_double/fail/{status}/{count}  the next count requests answer status
        (500, 503...) with {"error_code": status * 100 + 1}
  GET  /_double/log                    the requests served so far, one a line

usage: registry-double.py [--user U:P] [--tls CERT KEY] URL_FILE
Listens on a free loopback port and writes its base URL to URL_FILE.
"""
import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

CT = "application/vnd.schemaregistry.v1+json"


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.subjects = {}      # subject -> [(version, id)]
        self.by_id = {}         # id -> schema text
        self.id_of = {}         # canonical text -> id
        self.fail = []          # statuses to answer next
        self.log = []


STORE = Store()
USER = None


def canonical(text):
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests read /_double/log
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CT)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.answer(status, {"error_code": code, "message": message})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def pre(self, method):
        """Logging, injected failures and authentication; True if answered."""
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts[:1] == ["_double"]:
            if method == "POST" and len(parts) == 4 and parts[1] == "fail":
                self.body()
                with STORE.lock:
                    STORE.fail += [int(parts[2])] * int(parts[3])
                self.answer(200, {})
            elif method == "GET" and parts[1:] == ["log"]:
                with STORE.lock:
                    text = "".join(line + "\n" for line in STORE.log).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
            else:
                self.error(404, 404, "HTTP 404 Not Found")
            return True
        with STORE.lock:
            STORE.log.append(method + " " + self.path)
            status = STORE.fail.pop(0) if STORE.fail else None
        if status:
            self.body()
            self.error(status, status * 100 + 1, "injected failure")
            return True
        if USER:
            expect = "Basic " + base64.b64encode(USER.encode()).decode()
            if self.headers.get("Authorization") != expect:
                self.body()
                self.error(401, 401, "Unauthorized")
                return True
        return False

    def do_GET(self):
        if self.pre("GET"):
            return
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        from urllib.parse import unquote
        parts = [unquote(p) for p in parts]
        with STORE.lock:
            if len(parts) == 3 and parts[:2] == ["schemas", "ids"]:
                try:
                    sid = int(parts[2])
                except ValueError:
                    sid = -1
                if sid not in STORE.by_id:
                    return self.error(404, 40403, "Schema %s not found" % parts[2])
                return self.answer(200, {"schema": STORE.by_id[sid]})
            if len(parts) == 4 and parts[0] == "subjects" and parts[2] == "versions":
                versions = STORE.subjects.get(parts[1])
                if not versions:
                    return self.error(404, 40401, "Subject '%s' not found." % parts[1])
                if parts[3] == "latest":
                    version, sid = versions[-1]
                else:
                    found = [v for v in versions if str(v[0]) == parts[3]]
                    if not found:
                        return self.error(404, 40402, "Version %s not found." % parts[3])
                    version, sid = found[0]
                return self.answer(200, {"subject": parts[1], "version": version, "id": sid,
                                         "schema": STORE.by_id[sid]})
        self.error(404, 404, "HTTP 404 Not Found")

    def do_POST(self):
        if self.pre("POST"):
            return
        from urllib.parse import unquote
        parts = [unquote(p) for p in self.path.split("?")[0].split("/") if p]
        raw = self.body()
        if not (len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions"):
            return self.error(404, 404, "HTTP 404 Not Found")
        subject = parts[1]
        try:
            text = json.loads(raw)["schema"]
            parsed = avro.schema.parse(text)
        except Exception as e:  # the registry's answer to any unparsable schema
            return self.error(422, 42201, "Either the input schema or one of its references "
                              "is invalid: %s" % str(e).splitlines()[0][:200])
        with STORE.lock:
            key = canonical(text)
            versions = STORE.subjects.setdefault(subject, [])
            sid = STORE.id_of.get(key)
            if sid is not None and any(v[1] == sid for v in versions):
                return self.answer(200, {"id": sid})
            if versions:
                latest = avro.schema.parse(STORE.by_id[versions[-1][1]])
                result = ReaderWriterCompatibilityChecker().get_compatibility(parsed, latest)
                if result.compatibility is not SchemaCompatibilityType.compatible:
                    return self.error(409, 409, "Schema being registered is incompatible with "
                                      "an earlier schema for subject \"%s\"" % subject)
            if sid is None:
                sid = len(STORE.by_id) + 1
                STORE.by_id[sid] = text
                STORE.id_of[key] = sid
            versions.append((len(versions) + 1, sid))
            self.answer(200, {"id": sid})


def main():
    global USER
    args = sys.argv[1:]
    tls = None
    while args and args[0].startswith("--"):
        if args[0] == "--user":
            USER = args[1]
            args = args[2:]
        elif args[0] == "--tls":
            tls = (args[1], args[2])
            args = args[3:]
        else:
            sys.exit(__doc__)
    if len(args) != 1:
        sys.exit(__doc__)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    url = "%s://127.0.0.1:%d" % (scheme, server.server_address[1])
    with open(args[0] + ".tmp", "w") as f:
        f.write(url + "\n")
    import os
    os.rename(args[0] + ".tmp", args[0])
    server.serve_forever()


if __name__ == "__main__":
    main()
