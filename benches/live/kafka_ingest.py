#!/usr/bin/env python3
"""Live-path figures of `pulso run --brokers`: sustained ingest throughput from the broker into
all views, and produce-to-view latency at a stated rate.

Usage (broker on 127.0.0.1:9092, `pulso` built in release):
  build/venv-py/bin/pip install confluent-kafka
  build/venv-py/bin/python benches/live/kafka_ingest.py --data DIR --pulso target/release/pulso

1. Produces every record of DIR/<topic>.jsonl (from `pulso generate`) to fresh prefixed topics
   (3 partitions), starts `pulso run` on them and times how long it takes until
   /v1/pipeline_health counts every record: the sustained ingest rate.
2. Then produces tracking events with unique entity ids at --rate records/s for --seconds,
   and for a sample of them polls /v1/timelines/shipment/<id> until the entry is visible:
   the produce-to-view latency, reported as p50/p99.
"""
import argparse, json, os, signal, subprocess, sys, tempfile, time, urllib.request
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

TOPICS = ["orders.events", "inventory.events", "notifications.events", "notifications.dlq",
          "tracking.events", "casos.creados", "casos.asignados", "casos.actualizados",
          "casos.cerrados", "notificaciones.enviadas", "sla.violados", "sla.cumplidos",
          "ciudadanos.registrados", "dependencias.configuradas"]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def records_seen(api):
    try:
        health = get(f"{api}/v1/pipeline_health")
        return sum(row["records"] for row in health["rows"])
    except Exception:
        return -1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--pulso", default="target/release/pulso")
    p.add_argument("--brokers", default="127.0.0.1:9092")
    p.add_argument("--workers", default="2")
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--port", default="18090")
    a = p.parse_args()

    prefix = f"bench{int(time.time())}."
    admin = AdminClient({"bootstrap.servers": a.brokers})
    for f in admin.create_topics([NewTopic(prefix + t, 3) for t in TOPICS]).values():
        f.result()
    producer = Producer({"bootstrap.servers": a.brokers, "linger.ms": 20,
                         "message.max.bytes": 2_000_000, "batch.num.messages": 10000})
    total = 0
    started = time.time()
    for t in TOPICS:
        path = os.path.join(a.data, t + ".jsonl")
        if not os.path.exists(path):
            continue
        with open(path, "rb") as fh:
            for i, line in enumerate(fh):
                value = line.rstrip(b"\n")
                if len(value) > 900_000:
                    continue  # the broker's default message limit
                while True:
                    try:
                        producer.produce(prefix + t, value, key=str(i).encode())
                        break
                    except BufferError:
                        producer.poll(0.05)
                total += 1
    producer.flush()
    print(f"produced {total} records in {time.time() - started:.1f}s")

    out = tempfile.mkdtemp()
    api = f"http://127.0.0.1:{a.port}"
    engine = subprocess.Popen([a.pulso, "run", "--brokers", a.brokers, "--topic-prefix", prefix,
                               "--out", out, "--http", f"127.0.0.1:{a.port}", "--workers", a.workers,
                               "--snapshot-secs", "3600"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.time()
        while records_seen(api) < total:
            time.sleep(0.05)
            if time.time() - t0 > 600:
                sys.exit("timed out waiting for catch-up")
        secs = time.time() - t0
        print(f"ingest: {total} records into all views in {secs:.1f}s = {total / secs:,.0f} events/s "
              f"(workers={a.workers}, including consumer start)")

        # Sampled entities are checked by a thread of their own, every 5 ms, so the producer
        # keeps its pace and the poll interval adds at most ~5 ms to a sample.
        import threading
        samples, pending, lock, done = [], {}, threading.Lock(), threading.Event()

        def check():
            while not (done.is_set() and not pending):
                with lock:
                    todo = list(pending.items())
                for e, sent in todo:
                    try:
                        seen = get(f"{api}/v1/timelines/shipment/{e}")["rows"]
                    except Exception:
                        seen = []
                    if seen:
                        with lock:
                            samples.append(time.time() - sent)
                            del pending[e]
                time.sleep(0.005)

        checker = threading.Thread(target=check, daemon=True)
        checker.start()
        interval = 1.0 / a.rate
        n = int(a.rate * a.seconds)
        every = max(1, int(a.rate // 20))  # 20 samples per second
        next_send = time.time()
        for i in range(n):
            now = time.time()
            if now < next_send:
                time.sleep(next_send - now)
            next_send += interval
            entity = f"lat-{prefix}{i}"
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            value = json.dumps({"event_id": entity, "event_type": "PICKED_UP", "timestamp": ts,
                                "entity_id": entity, "entity_type": "shipment"}).encode()
            producer.produce(prefix + "tracking.events", value, key=entity.encode())
            producer.poll(0)
            if i % every == 0:
                producer.flush()
                with lock:
                    pending[entity] = time.time()
        producer.flush()
        done.set()
        checker.join(timeout=30)
        samples.sort()
        if samples:
            p50 = samples[len(samples) // 2] * 1e3
            p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e3
            print(f"produce-to-view at {a.rate:.0f} events/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms "
                  f"({len(samples)} samples, {len(pending)} not seen)")
    finally:
        engine.send_signal(signal.SIGINT)
        engine.wait(timeout=60)


if __name__ == "__main__":
    main()
