"""Live path: `pulso run --brokers` against the local broker (scripts/broker.sh, tansu, on a
port of its own): the sustained rate from the broker into every view, next to a bare
librdkafka consumer draining the same topics (the ceiling), then the produce-to-view p50/p99
at 10%, 50% and 90% of Pulso's sustained rate (paced production of a mixed load plus uniquely
named tracking events, each polled on /v1/timelines/shipment/<id> until visible)."""
import datetime
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

import psutil

import procs
import semantics

JOBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jobs")
TOPICS = ["orders.events", "inventory.events", "notifications.events", "notifications.dlq",
          "tracking.events", "casos.creados", "casos.asignados", "casos.actualizados",
          "casos.cerrados", "notificaciones.enviadas", "sla.violados", "sla.cumplidos",
          "ciudadanos.registrados", "dependencias.configuradas"]
MAX_VALUE = 900_000  # the broker's default message size limit, with headroom


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def records_seen(api):
    try:
        return sum(row["records"] for row in get(f"{api}/v1/pipeline_health")["rows"])
    except Exception:
        return -1


class Broker:
    """scripts/broker.sh on `port`; stops it at the end only if this run started it."""

    def __init__(self, repo, port, log):
        self.repo, self.port, self.log = repo, port, log
        self.env = dict(os.environ, PULSO_BROKER_PORT=str(port))
        self.started = False

    def start(self):
        script = os.path.join(self.repo, "scripts", "broker.sh")
        running = subprocess.run([script, "status"], env=self.env,
                                 capture_output=True).returncode == 0
        r = subprocess.run([script, "start"], env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"broker.sh start failed: {(r.stderr or r.stdout)[-300:]}")
        self.started = not running and "already accepts" not in r.stdout
        self.log(f"  broker: {r.stdout.strip()}")

    def stop(self):
        if self.started:
            subprocess.run([os.path.join(self.repo, "scripts", "broker.sh"), "stop"],
                           env=self.env, capture_output=True)


class Sampler(threading.Thread):
    """Samples a running process tree's peak RSS and CPU time until stopped."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.proc, self.peak, self.cpu, self.stop_flag = psutil.Process(pid), 0, {}, False

    def run(self):
        while not self.stop_flag:
            _, hwm = procs.sample_tree(procs.tree(self.proc), self.cpu)
            self.peak = max(self.peak, hwm)
            time.sleep(0.2)

    def cpu_s(self):
        return sum(self.cpu.values())


def produce_all(brokers, prefix, data_dir, log):
    """Creates the prefixed topics (3 partitions) and produces every record of the folder."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": brokers})
    new = [NewTopic(prefix + t, 3) for t in TOPICS] + [NewTopic(prefix + "pulso.dlq", 1)]
    for f in admin.create_topics(new).values():
        f.result()
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 20,
                         "message.max.bytes": 2_000_000, "batch.num.messages": 10000})
    total, skipped, started = 0, 0, time.perf_counter()
    for t in TOPICS:
        path = os.path.join(data_dir, t + ".jsonl")
        if not os.path.exists(path):
            continue
        for i, value in enumerate(semantics.read_lines(path)):
            if len(value) > MAX_VALUE:
                skipped += 1
                continue
            while True:
                try:
                    producer.produce(prefix + t, value, key=str(i).encode())
                    break
                except BufferError:
                    producer.poll(0.05)
            total += 1
    producer.flush()
    secs = time.perf_counter() - started
    log(f"  produced {total} records ({skipped} over {MAX_VALUE} bytes skipped) in {secs:.1f}s")
    return total, producer


TIMESTAMP = re.compile(rb'"(timestamp|failure_timestamp)":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)')


def shifted(load, days):
    """The load with each record's event time (`timestamp`, `failure_timestamp`) `days`
    later, and that time (RFC 3339, whole seconds, or None), so that a load that follows the
    caught-up records in event time is not rejected `too_late` against them."""
    out = []
    for topic, value in load:
        stamp = [None]

        def move(m):
            try:
                t = datetime.datetime.strptime(m.group(2).decode(), "%Y-%m-%dT%H:%M:%S")
            except ValueError:  # a bad record's time stays as bad as it was
                return m.group(0)
            t += datetime.timedelta(days=days)
            stamp[0] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
            return b'"' + m.group(1) + b'":"' + t.strftime("%Y-%m-%dT%H:%M:%S").encode()

        out.append((topic, TIMESTAMP.sub(move, value, count=1), stamp[0]))
    return out


def paced_latency(producer, api, prefix, load, at, rate, seconds, log):
    """Produces `load` records from index `at` on at `rate` records/s for `seconds` (fewer
    when the load runs out: a stage goes on where the one before stopped, as a load started
    again would be `too_late` behind the watermark it pushed on), 20 of them per
    second being unique tracking events polled on the timelines API; p50/p99 of their
    produce-to-visible time. The tracking events carry the event time of the load record
    produced last (the stream's own clock, not the wall clock, which would be years ahead of
    the generated load and make all of it `too_late`)."""
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
                        samples.append(time.perf_counter() - sent)
                        del pending[e]
            if done.is_set() and time.perf_counter() - done_at[0] > 30:
                break
            time.sleep(0.005)

    done_at = [0.0]
    checker = threading.Thread(target=check, daemon=True)
    checker.start()
    n = max(0, min(int(rate * seconds), len(load) - at))
    every = max(1, int(rate // 20))
    stream_time = next((load[j][2] for j in range(at, len(load)) if load[j][2]), None)
    start = time.perf_counter()
    for i in range(n):
        due = start + i / rate
        now = time.perf_counter()
        if due > now + 0.001:
            time.sleep(due - now)
        if i % every == 0:
            entity = f"lat-{prefix}{at + i}"
            ts = stream_time or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            value = json.dumps({"event_id": entity, "event_type": "PICKED_UP", "timestamp": ts,
                                "entity_id": entity, "entity_type": "shipment"}).encode()
            producer.produce(prefix + "tracking.events", value, key=entity.encode())
            producer.flush()
            with lock:
                pending[entity] = time.perf_counter()
        else:
            topic, value, stamp = load[at + i]
            stream_time = stamp or stream_time
            while True:
                try:
                    producer.produce(prefix + topic, value)
                    break
                except BufferError:
                    producer.poll(0.01)
            if i % 1000 == 0:
                producer.poll(0)
    producer.flush()
    achieved = n / (time.perf_counter() - start)
    done_at[0] = time.perf_counter()
    done.set()
    checker.join(timeout=60)
    samples.sort()
    res = {"target_rate": rate, "achieved_rate": achieved, "samples": len(samples),
           "not_seen": len(pending), "next": at + n}
    if samples:
        res["p50_s"] = samples[len(samples) // 2]
        res["p99_s"] = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    log(f"    at {rate:,.0f}/s (achieved {achieved:,.0f}/s): p50 "
        f"{res.get('p50_s', float('nan')) * 1000:.0f} ms, p99 "
        f"{res.get('p99_s', float('nan')) * 1000:.0f} ms ({len(samples)} samples)")
    return res


def run_stage(ctx, ds, load_ds):
    """Returns the stage's figures; the broker and Pulso are stopped on the way out."""
    brokers = f"127.0.0.1:{ctx.args.broker_port}"
    broker = Broker(ctx.repo, ctx.args.broker_port, ctx.log)
    result = {"records_dataset": ds["records"], "brokers": brokers}
    engine = producer = None
    try:
        broker.start()
        prefix = f"bench{int(time.time())}."
        total, producer = produce_all(brokers, prefix, ds["dir"], ctx.log)
        result["records"] = total
        # The ceiling: a bare consumer draining the same topics.
        drains = []
        for rep in range(ctx.args.stage_reps):
            m = procs.run([ctx.python("duckdb"), os.path.join(JOBS, "kafka_drain.py"),
                           "--brokers", brokers, "--expect", str(total),
                           "--topics", ",".join(prefix + t for t in TOPICS)],
                          timeout=ctx.args.timeout, mem_limit=ctx.mem_limit,
                          log_path=os.path.join(ctx.logs, f"live-drain-r{rep}.log"))
            j = procs.last_json(m.stdout) if m.ok() else {"error": m.reason()}
            j.update(peak_rss=m.peak_rss, cpu_s=m.cpu_s)
            drains.append(j)
            ctx.log(f"  bare consumer: {j.get('rate', 0):,.0f} records/s")
        result["drain"] = drains
        # Pulso from the beginning of the topics into every view.
        runs = []
        api = f"http://127.0.0.1:{ctx.args.http_port}"
        for rep in range(ctx.args.stage_reps):
            out = os.path.join(ctx.work, "runs", f"live-r{rep}")
            subprocess.run(["rm", "-rf", out])
            cmd = [ctx.pulso, "run", "--brokers", brokers, "--topic-prefix", prefix,
                   "--out", out, "--http", f"127.0.0.1:{ctx.args.http_port}",
                   "--workers", str(ctx.args.live_workers), "--snapshot-secs", "3600",
                   "--dlq-topic", prefix + "pulso.dlq"]
            log = open(os.path.join(ctx.logs, f"live-pulso-r{rep}.log"), "w")
            t0 = time.perf_counter()
            engine = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
            sampler = Sampler(engine.pid)
            sampler.start()
            first, seen = None, -1
            while seen < total:
                seen = records_seen(api)
                if first is None and seen > 0:
                    first = time.perf_counter()
                if engine.poll() is not None or time.perf_counter() - t0 > ctx.args.timeout:
                    break
                time.sleep(0.05)
            t1 = time.perf_counter()
            run = {"rep": rep, "records": total, "seen": seen, "seconds": t1 - t0,
                   "seconds_from_first": t1 - (first or t0), "command": " ".join(cmd),
                   "workers": ctx.args.live_workers}
            run["rate"] = total / run["seconds"]
            try:
                rows = get(f"{api}/v1/pipeline_health")["rows"]
                run["rejected"] = sum(r.get("rejected", 0) for r in rows)
                run["too_late"] = sum(r.get("rejected_too_late", 0) for r in rows)
            except Exception:
                pass
            run["rate_from_first"] = total / max(1e-9, run["seconds_from_first"])
            run["status"] = "ok" if seen >= total else f"stopped at {seen} of {total}"
            run["peak_rss"], run["cpu_s"] = sampler.peak, sampler.cpu_s()
            ctx.log(f"  pulso run: {total} records into all views in {run['seconds']:.1f}s = "
                    f"{run['rate']:,.0f}/s ({run['status']}), peak RSS "
                    f"{sampler.peak / 2**20:.0f} MiB")
            if rep == ctx.args.stage_reps - 1 and run["status"] == "ok":
                # Produce-to-view latency on the caught-up engine, at fractions of its rate.
                sustained = sorted(r["rate"] for r in runs + [run])[len(runs + [run]) // 2]
                load = semantics.interleaved(load_ds["dir"], TOPICS)
                load = shifted([(t, v) for t, v in load if len(v) <= MAX_VALUE], 14)
                result["latency"], at = [], 0
                for frac in (0.1, 0.5, 0.9):
                    rate = max(100.0, frac * sustained)
                    res = paced_latency(producer, api, prefix, load, at, rate,
                                        ctx.args.live_seconds, ctx.log)
                    at = res["next"]
                    res["fraction"] = frac
                    result["latency"].append(res)
                    time.sleep(2)
            sampler.stop_flag = True
            engine.send_signal(signal.SIGINT)
            try:
                engine.wait(timeout=60)
            except subprocess.TimeoutExpired:
                procs.kill_tree(engine.pid)
                engine.wait()
            engine = None
            log.close()
            runs.append(run)
            ctx.checkpoint()
        result["pulso"] = runs
    except Exception as e:  # a live-stage failure is recorded, not fatal to the harness
        result["status"] = f"failed: {type(e).__name__}: {e}"
        ctx.log(f"  live stage failed: {e}")
    finally:
        if engine is not None:
            procs.kill_tree(engine.pid)
        if producer is not None:
            producer.flush(5)
            producer = None  # its librdkafka threads go before the broker does
            import gc
            gc.collect()
        broker.stop()
    return result
