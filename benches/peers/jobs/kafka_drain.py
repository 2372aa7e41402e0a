"""The ceiling of the live path: a bare librdkafka consumer (confluent-kafka) draining every
partition of the given topics from the beginning, doing nothing with the records.

Usage: python kafka_drain.py --brokers HOST:PORT --topics a,b,c --expect N
Prints one JSON line: records, bytes, seconds (first poll to last record), rate.
"""
import argparse
import json
import time

from confluent_kafka import Consumer, TopicPartition


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--brokers", required=True)
    p.add_argument("--topics", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--timeout", type=float, default=600)
    a = p.parse_args()
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": f"drain{time.time()}",
                  "enable.auto.commit": False, "fetch.max.bytes": 52428800,
                  "max.partition.fetch.bytes": 10485760, "queued.min.messages": 1000000})
    parts = []
    for t in a.topics.split(","):
        md = c.list_topics(t, timeout=10).topics[t]
        parts += [TopicPartition(t, p, 0) for p in md.partitions]  # offset 0 = beginning
    c.assign(parts)
    n = size = 0
    start = time.perf_counter()
    first = None
    while n < a.expect and time.perf_counter() - start < a.timeout:
        msgs = c.consume(num_messages=10000, timeout=0.5)
        for m in msgs:
            if m.error() is None:
                n += 1
                size += len(m.value() or b"")
        if msgs and first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    c.close()
    secs = end - (first or start)
    print(json.dumps({"records": n, "bytes": size, "seconds": secs,
                      "seconds_incl_connect": end - start, "rate": n / max(secs, 1e-9)}))


if __name__ == "__main__":
    main()
