#!/usr/bin/env python3
"""Produce-to-consume latency of the broker alone, no Pulso: 20 timestamped records a second
into one topic while a filler load of `--rate` records/s goes to another, read back by one
`confluent_kafka` consumer (partitions assigned, no group). Prints p50/p99 in ms. Shows how
long the broker holds a fetch: run it with `--fetch-wait-ms 500` (librdkafka's default) and
with 10. Needs confluent-kafka (build/venv-bench) and the broker (scripts/broker.sh).

    build/venv-bench/bin/python benches/live/broker_latency.py --brokers 127.0.0.1:19092 \
        --fetch-wait-ms 500 --rate 42000
"""
import argparse
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brokers", default="127.0.0.1:9092")
    parser.add_argument("--fetch-wait-ms", default="500")
    parser.add_argument("--rate", type=int, default=8000, help="filler records per second")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()

    prefix = f"brokerlat{int(time.time())}."
    probe, filler = prefix + "probe", prefix + "filler"
    admin = AdminClient({"bootstrap.servers": args.brokers})
    for future in admin.create_topics([NewTopic(t, 3, 1) for t in (probe, filler)]).values():
        future.result()
    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": prefix + "g",
                         "fetch.wait.max.ms": args.fetch_wait_ms})
    consumer.assign([TopicPartition(t, p, 0) for t in (probe, filler) for p in range(3)])
    latencies, stop = [], threading.Event()

    def consume():
        while not stop.is_set():
            for message in consumer.consume(1000, 0.1):
                if not message.error() and message.topic() == probe:
                    latencies.append(time.perf_counter() - float(message.value()))

    reader = threading.Thread(target=consume)
    reader.start()
    time.sleep(3)
    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 20})
    every = max(1, args.rate // 20)
    start = time.perf_counter()
    for i in range(args.rate * args.seconds):
        due = start + i / args.rate
        now = time.perf_counter()
        if due > now + 0.001:
            time.sleep(due - now)
        if i % every == 0:
            producer.produce(probe, str(time.perf_counter()).encode())
            producer.flush()
        else:
            while True:
                try:
                    producer.produce(filler, b"x" * 200)
                    break
                except BufferError:
                    producer.poll(0.01)
    producer.flush()
    time.sleep(2)
    stop.set()
    reader.join()
    latencies.sort()
    if not latencies:
        raise SystemExit("no probe record came back")
    p50 = latencies[len(latencies) // 2] * 1e3
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3
    print(f"fetch.wait.max.ms {args.fetch_wait_ms}, filler {args.rate}/s: "
          f"{len(latencies)} probes, p50 {p50:.0f} ms, p99 {p99:.0f} ms")


if __name__ == "__main__":
    main()
