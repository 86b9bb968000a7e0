#!/usr/bin/env python3
"""The table a sink ends with after applying changelog files in order: the
last row of each group, one canonical JSON row per group, sorted.

    final-table.py KEY[,KEY...] FILE...

A last line without its newline (a writer killed mid-line) is not a row.
"""
import json
import sys


def norm(v):
    # 1e10 and 10000000000 are one number: compare numbers, not spellings
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v

keys = sys.argv[1].split(",")
table = {}
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
            row = json.loads(line)
            if next(iter(row), None) == "_control":
                continue  # a control record (pn(7)), not a row
            # metadata (_topic, _partition, _epoch, ...) is no column
            table[json.dumps([row[k] for k in keys])] = {
                k: norm(v) for k, v in row.items() if not k.startswith("_")}
for r in sorted(json.dumps(row, ensure_ascii=False, separators=(",", ":"))
                for row in table.values()):
    print(r)
