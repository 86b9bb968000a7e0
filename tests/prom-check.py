#!/usr/bin/env python3
"""prom-check.py: a strict reader of the Prometheus text exposition format
(version 0.0.4), for the tests of --metrics.

  prom-check.py FILE
      checks FILE and prints its samples as one JSON object,
      {"name{labels}": value, ...}; exit 1 naming the line if it is bad
  prom-check.py --watch FILE SECONDS
      reads FILE over and over for SECONDS while a program rewrites it;
      every read must be a whole, valid file; prints the number of
      different versions seen
"""
import json
import re
import sys
import time

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Bad(Exception):
    pass


def parse_labels(text, where):
    labels, pos = [], 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise Bad("%s: bad label at %r" % (where, text[pos:]))
        labels.append(m.group(1))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                raise Bad("%s: expected ',' after a label" % where)
            pos += 1
    if len(set(labels)) != len(labels):
        raise Bad("%s: a label given twice" % where)


def parse(text):
    if not text.endswith("\n"):
        raise Bad("the file does not end with a newline")
    types, helps, samples = {}, set(), {}
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line[7:].split(" ", 1)
            if not NAME.match(parts[0]) or len(parts) != 2:
                raise Bad("%s: bad %s line" % (where, line[2:6]))
            if line[2:6] == "HELP":
                if parts[0] in helps:
                    raise Bad("%s: a second HELP for %s" % (where, parts[0]))
                helps.add(parts[0])
            else:
                if parts[0] in types:
                    raise Bad("%s: a second TYPE for %s" % (where, parts[0]))
                if parts[1] not in TYPES:
                    raise Bad("%s: unknown type %r" % (where, parts[1]))
                if any(k.split("{")[0] == parts[0] for k in samples):
                    raise Bad("%s: TYPE after the samples of %s" % (where, parts[0]))
                types[parts[0]] = parts[1]
            continue
        if line.startswith("#") or not line.strip():
            continue    # other comments and empty lines are allowed
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$", line)
        if not m:
            raise Bad("%s: bad sample %r" % (where, line))
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        parse_labels(labels, where)
        if name not in types:
            raise Bad("%s: sample of %s without a TYPE before it" % (where, name))
        if types[name] == "counter" and not name.endswith("_total"):
            raise Bad("%s: counter %s does not end in _total" % (where, name))
        try:
            v = float(value)
        except ValueError:
            raise Bad("%s: bad value %r" % (where, value))
        if types[name] == "counter" and v < 0:
            raise Bad("%s: a negative counter" % where)
        key = name + ("{%s}" % labels if labels else "")
        if key in samples:
            raise Bad("%s: a second sample of %s" % (where, key))
        samples[key] = v
    if not samples:
        raise Bad("no samples")
    return samples


def main():
    if sys.argv[1] == "--watch":
        path, seconds = sys.argv[2], float(sys.argv[3])
        end, versions, reads = time.monotonic() + seconds, set(), 0
        while time.monotonic() < end:
            with open(path) as f:
                text = f.read()
            reads += 1
            try:
                parse(text)
            except Bad as e:
                sys.exit("prom-check: read %d of %s: %s:\n%s" % (reads, path, e, text))
            versions.add(text)
        print(len(versions))
        return
    with open(sys.argv[1]) as f:
        text = f.read()
    try:
        samples = parse(text)
    except Bad as e:
        sys.exit("prom-check: %s: %s" % (sys.argv[1], e))
    print(json.dumps(samples, sort_keys=True))


main()
