#!/usr/bin/env python3
"""A caught-up engine under a paced load, with the CPU of each process: produces the
generated records of `--data` (`pulso generate`), runs `pulso run --brokers` until it has
counted them all, then produces the same records shifted 14 days on (the harness's live stage:
`live.paced_latency`) at `--rate` records/s for `--seconds`, and prints the tracking events'
produce-to-view p50/p99, the CPU seconds the producer (this process), Pulso and the broker
took during the load, and Pulso's minor page faults. `_RJEM_MALLOC_CONF` and `--config` pass
through to Pulso. Needs the bench venv (build/venv-bench) and the broker (scripts/broker.sh).

    build/venv-bench/bin/python benches/live/moderate_load.py --data D --rate 42000
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "peers"))
import live  # noqa: E402
import semantics  # noqa: E402


def stat(pid):
    """(CPU seconds, minor faults) of process `pid`."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[7])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="folder of `pulso generate`")
    parser.add_argument("--brokers", default="127.0.0.1:9092")
    parser.add_argument("--pulso", default="target/release/pulso")
    parser.add_argument("--rate", type=int, default=42000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--http", default="127.0.0.1:18082")
    parser.add_argument("--config", help="passed to `pulso run --config`")
    args = parser.parse_args()

    prefix = f"modload{int(time.time())}."
    total, producer = live.produce_all(args.brokers, prefix, args.data, print)
    api = f"http://{args.http}"
    out = tempfile.mkdtemp(prefix="pulso-modload-")
    command = [args.pulso, "run", "--brokers", args.brokers, "--topic-prefix", prefix,
               "--out", out, "--http", args.http, "--workers", "2", "--snapshot-secs", "3600",
               "--dlq-topic", prefix + "pulso.dlq"]
    if args.config:
        command += ["--config", args.config]
    engine = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start = time.time()
        while live.records_seen(api) < total and time.time() - start < 300:
            time.sleep(0.1)
        print(f"caught up with {total} records in {time.time() - start:.1f} s")
        broker = int(subprocess.check_output(["pgrep", "-f", "tansu"]).split()[0])
        load = semantics.interleaved(args.data, live.TOPICS)
        load = live.shifted([(t, v) for t, v in load if len(v) <= live.MAX_VALUE], 14)
        me = os.times()
        engine0, broker0, wall0 = stat(engine.pid), stat(broker), time.time()
        result = live.paced_latency(producer, api, prefix, load, 0, args.rate, args.seconds,
                                    print)
        engine1, broker1, wall1 = stat(engine.pid), stat(broker), time.time()
        mine = os.times()
        print(f"CPU-s during the load ({wall1 - wall0:.1f} s): producer "
              f"{mine[0] + mine[1] - me[0] - me[1]:.2f}, pulso {engine1[0] - engine0[0]:.2f}, "
              f"broker {broker1[0] - broker0[0]:.2f}; pulso minor faults "
              f"{engine1[1] - engine0[1]}; p50 {result['p50_s'] * 1e3:.0f} ms, "
              f"p99 {result['p99_s'] * 1e3:.0f} ms")
    finally:
        engine.terminate()
        engine.wait()
        subprocess.run(["rm", "-rf", out])


if __name__ == "__main__":
    main()
