#!/usr/bin/env python3
"""An independent pn-aggregate, for the tests: the same query over a whole
NDJSON file, computed the obvious way with Python's json module, printing
the final table as one sorted JSON row per group.

    oracle-aggregate.py FILE [--where F=V]... --group-by F[:N]... \
        [--count F[:N]] [--sum F[:N]] [--min F[:N]] [--max F[:N]] \
        [--count-distinct F[:N]] [--latest F[:N]] [--time-field F] \
        [--window tumbling:SIZE|hopping:SIZE,ADVANCE] [--grace D] [--ttl D]

--where takes only F=V with V a JSON value or a bare word (a string).
Python keeps 42 and "42" apart, ints exact, and decodes escapes: the
semantics pn-aggregate documents.  Event time, windows, grace and TTL
follow ksqlDB as pn-aggregate(1) describes them, computed here with
datetime and brute force.
"""
import datetime
import json
import re
import sys

UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "": 1000}


def duration(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|)", text)
    return int(m.group(1)) * UNITS[m.group(2)]


def event_time(v):
    if isinstance(v, bool):
        raise ValueError("not a time")
    if isinstance(v, (int, float)):
        return round(v * 1000) if abs(v) < 1e11 else round(v)
    if v.isdigit():
        return int(v)
    t = datetime.datetime.fromisoformat(v)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    delta = t - epoch
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def window_starts(t, size, advance):
    # every start on the advance grid whose window [start, start+size) holds t
    start = (t // advance) * advance
    while start + size > t:
        yield start
        start -= advance


def norm(v):
    # 1e10 and 10000000000 are one number: compare numbers, not spellings
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def split(spec):
    field, _, name = spec.rpartition(":") if ":" in spec else (spec, "", "")
    return (field, name) if name else (spec, None)


def const(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def same(a, b):
    # JSON types apart: True is not 1, 1 is not "1"; 1 and 1.0 are equal
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def canon(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def main(argv):
    path, args = argv[0], argv[1:]
    wheres, groups, aggs = [], [], []
    time_field, window, grace, ttl = "_timestamp", None, 86400000, None
    for flag, value in zip(args[::2], args[1::2]):
        if flag == "--time-field":
            time_field = value
        elif flag == "--window":
            kind, _, sizes = value.partition(":")
            size, _, advance = sizes.partition(",")
            window = (duration(size), duration(advance or size))
        elif flag == "--grace":
            grace = duration(value)
        elif flag == "--ttl":
            ttl = duration(value)
        elif flag == "--where":
            field, _, v = value.partition("=")
            wheres.append((field, const(v)))
        elif flag == "--group-by":
            field, name = split(value)
            groups.append((field, name or field))
        else:
            kind = flag[2:].replace("-", "_")
            field, name = split(value)
            default = kind if field == "*" else kind + "_" + field
            aggs.append((kind, field, name or default))
    table, last_time, stream_time = {}, {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if not all(rec.get(k) is not None and same(rec[k], v) for k, v in wheres):
                continue
            key_values = [rec.get(g) for g, _ in groups]
            if any(v is None for v in key_values):
                continue
            key = tuple(canon(v) for v in key_values)
            if window is None and ttl is None:
                apply(table.setdefault(key, [None] * len(aggs)), aggs, rec)
                continue
            t = event_time(rec[time_field])
            stream_time = t if stream_time is None else max(stream_time, t)
            if window is None:
                keys = [key]
            else:
                keys = [key + (start,) for start in window_starts(t, *window)
                        if start + window[0] + grace > stream_time]
            for k in keys:
                if ttl is not None and k in table and last_time[k] <= stream_time - ttl:
                    del table[k]
                apply(table.setdefault(k, [None] * len(aggs)), aggs, rec)
                last_time[k] = max(last_time.get(k, t), t)
    rows = []
    for key, state in table.items():
        row = {name: json.loads(k) for (_, name), k in zip(groups, key)}
        if window is not None:
            row["window_start"] = key[-1]
            row["window_end"] = key[-1] + window[0]
        for (kind, _, name), s in zip(aggs, state):
            if kind == "count_distinct":
                s = len(s or ())
            elif kind == "count":
                s = s or 0
            row[name] = norm(s)
        rows.append(canon(row))
    for r in sorted(rows):
        print(r)


def apply(state, aggs, rec):
            for i, (kind, field, _) in enumerate(aggs):
                v = None if field == "*" else rec.get(field)
                if kind == "count":
                    state[i] = (state[i] or 0) + (1 if field == "*" or v is not None else 0)
                elif v is None:
                    continue
                elif kind == "sum":
                    state[i] = v if state[i] is None else state[i] + v
                elif kind == "min":
                    state[i] = v if state[i] is None else min(state[i], v)
                elif kind == "max":
                    state[i] = v if state[i] is None else max(state[i], v)
                elif kind == "count_distinct":
                    state[i] = (state[i] or set()) | {canon(v)}
                elif kind == "latest":
                    state[i] = v


main(sys.argv[1:])
