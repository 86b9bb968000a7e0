#!/usr/bin/env python3
"""Deterministic records with event times for pn-aggregate's window tests.

    gen-timed-records.py COUNT SEED

Each record has a key k, a value v and its event time twice: as epoch
milliseconds in _timestamp and in t, written in one of the forms
pn-aggregate reads (epoch seconds, milliseconds, fractional seconds,
ISO 8601 with Z or an offset, Python's str(datetime) with and without
microseconds and offset).  Times mostly move forward, a few minutes a
record, with some records hours late, so windows close and grace matters.
"""
import datetime
import random
import json
import sys

count, seed = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)
utc = datetime.timezone.utc
plus2 = datetime.timezone(datetime.timedelta(hours=2))
now = 1793520000000  # 2026-11-01T08:00:00Z
for i in range(count):
    now += rnd.randrange(0, 240000)
    t = now - (rnd.randrange(0, 6 * 3600000) if rnd.random() < 0.1 else 0)
    t -= t % 1000 if rnd.random() < 0.3 else 0
    when = datetime.datetime.fromtimestamp(t / 1000, utc)
    form = rnd.randrange(7)
    if form == 0:
        tv = t // 1000 if t % 1000 == 0 else t
    elif form == 1:
        tv = t
    elif form == 2:
        tv = t / 1000 if t % 1000 else t // 1000
    elif form == 3:
        tv = when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t % 1000)
    elif form == 4:
        tv = str(when.astimezone(plus2))
    elif form == 5:
        tv = str(when.replace(tzinfo=None))
    else:
        tv = str(t)
    rec = {"k": rnd.choice(["a", "b", "c", "7", "é"]), "v": rnd.randrange(100), "t": tv,
           "_timestamp": t}
    print(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
