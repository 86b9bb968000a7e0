#!/usr/bin/env python3
"""Deterministic awkward records for pn-aggregate's tests.

    gen-random-records.py COUNT SEED

Keys of every JSON type that can be one (42 and "42" apart, unicode written
raw and as \\u escapes, true, nested escapes), nulls and missing fields,
64-bit integers past a double's precision, floats for min/max only.
"""
import json
import random
import sys

count, seed = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)
keys = [42, "42", "é", "x\"y", "tab\there", "\U0001F600", True, 0, -7, "", "A", "a b"]
for i in range(count):
    rec = {}
    if rnd.random() < 0.95:
        rec["k"] = rnd.choice(keys) if rnd.random() < 0.97 else None
    if rnd.random() < 0.9:
        rec["src"] = rnd.choice(["campaign", "flow", "campaign", 42])
    r = rnd.random()
    if r < 0.8:
        rec["v"] = rnd.choice([1, 2, 3, 9007199254740993, -5, 1 << 40])
    elif r < 0.9:
        rec["v"] = None
    if rnd.random() < 0.7:
        rec["f"] = rnd.choice([1.5, -0.25, 3, 1e10, 2.75])
    if rnd.random() < 0.8:
        rec["t"] = rnd.choice(["a", "b", "c", None, "é"])
    line = json.dumps(rec, ensure_ascii=rnd.random() < 0.5, separators=(",", ":"))
    print(line)
