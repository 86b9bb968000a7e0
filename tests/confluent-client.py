#!/usr/bin/python3
"""confluent-client.py -- the Confluent Python client as the original workers
used it (confluent_kafka.avro.AvroProducer / AvroConsumer, python3-confluent-
kafka 1.7.0 on Debian 12), for pn's interop tests.

  confluent-client.py produce BROKERS REGISTRY TOPIC SCHEMA.avsc <NDJSON
      each line's object is the value, produced with the schema registered
      under TOPIC-value; a "_key" member becomes a string key
  confluent-client.py consume BROKERS REGISTRY TOPIC COUNT >NDJSON
      reads COUNT messages from the beginning of every partition and writes
      each value as JSON in pn's documented forms (bytes and fixed base64,
      decimals as strings, dates and times ISO 8601), so the output compares
      with pn-consume's
"""
import base64
import datetime
import decimal
import json
import sys
import uuid

from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from confluent_kafka.avro import AvroConsumer, AvroProducer, loads


def produce(brokers, registry, topic, schema_path):
    with open(schema_path) as f:
        schema = loads(f.read())
    p = AvroProducer({"bootstrap.servers": brokers, "schema.registry.url": registry},
                     default_value_schema=schema)
    n = 0
    for line in sys.stdin:
        value = json.loads(line)
        key = value.pop("_key", None)
        p.produce(topic=topic, value=value, key=None if key is None else str(key).encode())
        n += 1
        if n % 1000 == 0:
            p.poll(0)
    left = p.flush(30)
    if left:
        sys.exit("confluent-client: %d messages not delivered" % left)


def natural(v):
    """A decoded value in pn's JSON forms."""
    if isinstance(v, dict):
        return {k: natural(x) for k, x in v.items()}
    if isinstance(v, list):
        return [natural(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, datetime.datetime):
        utc = v.tzinfo is not None
        if utc:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return v.isoformat(timespec="microseconds") + ("Z" if utc else "")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, datetime.time):
        return v.isoformat(timespec="microseconds")
    if isinstance(v, float) and v != v:
        return "NaN"
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def consume(brokers, registry, topic, count):
    c = AvroConsumer({"bootstrap.servers": brokers, "schema.registry.url": registry,
                      "group.id": "confluent-client", "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10)
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.topics[topic].partitions])
    got = 0
    idle = 0
    while got < count and idle < 100:
        m = c.poll(0.2)
        if m is None:
            idle += 1
            continue
        if m.error():
            sys.exit("confluent-client: %s" % m.error())
        idle = 0
        print(json.dumps(natural(m.value()), separators=(",", ":"), ensure_ascii=False))
        got += 1
    c.close()
    if got < count:
        sys.exit("confluent-client: read %d of %d messages" % (got, count))


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] == "produce":
        produce(*a[1:])
    elif len(a) == 5 and a[0] == "consume":
        consume(a[1], a[2], a[3], int(a[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
