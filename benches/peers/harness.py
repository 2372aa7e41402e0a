"""Peer benchmark harness of issue 7: Pulso against DuckDB, Pathway, Flink and Bytewax on the
same generated events, in one run; writes benches/RESULTS.md.

Run through `benches/run_all.sh [--quick] [options]` (builds Pulso, makes the harness venv),
or directly as `build/venv-bench/bin/python benches/peers/harness.py [options]` once built.
See benches/README.md for the stages and options.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import batch  # noqa: E402
import data  # noqa: E402
import envs  # noqa: E402
import latency  # noqa: E402
import live  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import update  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
STAGES = ("batch", "latency", "update", "live")
ENGINES = ("pulso", "duckdb", "pathway", "bytewax", "flink")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: small N, short stages, 1 repetition outside the batch stage")
    p.add_argument("--sizes", help="generated sizes, comma-separated (default 1000000,10000000; "
                                   "--quick: 20000)")
    p.add_argument("--only", default="", help="stages and/or engines to run, e.g. "
                   "'batch,latency' or 'pulso,duckdb' (default: everything)")
    p.add_argument("--skip", default="", help="stages and/or engines to leave out")
    p.add_argument("--reps", type=int, help="repetitions of the batch runs (default 3)")
    p.add_argument("--large-reps", type=int,
                   help="repetitions of the batch runs at the sizes above the smallest "
                        "(default: --reps)")
    p.add_argument("--cap", default="",
                   help="engines run only up to a size, e.g. 'flink=1000000,bytewax=1000000': "
                        "larger runs are skipped, with their predicted time in RESULTS.md")
    p.add_argument("--stage-reps", type=int,
                   help="repetitions of latency/update/live runs (default 3; --quick: 1)")
    p.add_argument("--update-reps", type=int,
                   help="repetitions of the update stage (default: --stage-reps)")
    p.add_argument("--timeout", type=float, help="per-run timeout in seconds (default 3600; "
                                                 "--quick: 600)")
    p.add_argument("--mem-limit-gb", type=float,
                   help="memory guard for one run's process tree (default: available - 4 GiB)")
    p.add_argument("--rates", default="5000,10000,25000,50000,100000,200000,400000",
                   help="latency stage input rates, records/s (the issue's 25k..400k, plus "
                        "5k and 10k to locate the limit of engines that sustain less)")
    p.add_argument("--epoch-records", type=int, default=1000)
    p.add_argument("--latency-seconds", type=float, help="seconds of input per rate "
                                                         "(default 10; --quick: 2)")
    p.add_argument("--update-batches", default="1000,10000")
    p.add_argument("--update-repeat", type=int, default=5)
    p.add_argument("--live-size", type=int, help="records produced to the broker (default: "
                                                 "the smallest size)")
    p.add_argument("--live-seconds", type=float, help="seconds per latency rate of the live "
                                                      "stage (default 20; --quick: 4)")
    p.add_argument("--live-workers", type=int, default=2)
    p.add_argument("--broker-port", type=int, default=19092)
    p.add_argument("--http-port", type=int, default=18091)
    p.add_argument("--pathway-threads", type=int, default=1)
    p.add_argument("--flink-parallelism", type=int, default=1)
    p.add_argument("--work", default=os.path.join(REPO, "build", "bench-work"))
    p.add_argument("--results", default=os.path.join(REPO, "benches", "RESULTS.md"))
    p.add_argument("--report-only", action="store_true",
                   help="rewrite RESULTS.md from build/bench-work/results.json, run nothing")
    p.add_argument("--fresh", action="store_true",
                   help="forget the stages of earlier runs (by default a run replaces the "
                        "stages it runs and keeps the others in RESULTS.md)")
    a = p.parse_args(argv)
    q = a.quick
    a.sizes = a.sizes or ("20000" if q else "1000000,10000000")
    a.reps = a.reps or 3
    a.large_reps = a.large_reps or a.reps
    try:
        a.caps = {k.strip(): int(v) for k, v in
                  (item.split("=") for item in a.cap.split(",") if item.strip())}
    except ValueError:
        sys.exit(f"--cap {a.cap!r}: expected engine=records[,engine=records]")
    a.stage_reps = a.stage_reps or (1 if q else 3)
    a.update_reps = a.update_reps or a.stage_reps
    a.timeout = a.timeout or (600 if q else 3600)
    a.latency_seconds = a.latency_seconds or (2 if q else 10)
    a.live_seconds = a.live_seconds or (4 if q else 20)
    return a


class Context:
    """What every stage needs: options, paths, binaries, venvs, the memory limit, logging."""

    def __init__(self, args, argv):
        self.args, self.argv, self.repo = args, argv, REPO
        self.work = args.work
        self.logs = os.path.join(self.work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.sizes = sorted(int(s) for s in args.sizes.split(","))
        self.rates = [int(r) for r in args.rates.split(",")]
        only = {x.strip() for x in args.only.split(",") if x.strip()}
        skip = {x.strip() for x in args.skip.split(",") if x.strip()}
        unknown = (only | skip) - set(STAGES) - set(ENGINES)
        if unknown:
            sys.exit(f"unknown stage/engine: {', '.join(sorted(unknown))}")
        self.stages = [s for s in STAGES if (not (only & set(STAGES)) or s in only)
                       and s not in skip]
        self.engines = [e for e in ENGINES if (not (only & set(ENGINES)) or e in only)
                        and e not in skip]
        limit = args.mem_limit_gb * 2**30 if args.mem_limit_gb else procs.mem_available() - 4 * 2**30
        self.mem_limit = max(int(limit), 1 * 2**30)
        # benches/run_all.sh names the folder of the binaries it built (PGO: target/pgo/dist).
        bins = os.path.join(REPO, os.environ.get("PULSO_BIN_DIR") or os.path.join("target", "dist"))
        self.pulso = os.path.join(bins, "pulso")
        self.incremental = os.path.join(bins, "pulso-incremental")
        self.build = os.path.join(REPO, "build")
        self.skipped = {}
        self._pythons, self._env_errors = {}, {}
        self.results = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                        "argv": argv, "stages": {}, "installs": {},
                        "setup": {"mem_limit": self.mem_limit, "pulso": self.pulso,
                                  "pathway_threads": args.pathway_threads,
                                  "flink_parallelism": args.flink_parallelism}}
        self.results_path = os.path.join(self.work, "results.json")

    def wants(self, engine):
        return engine in self.engines

    def log(self, msg):
        print(msg, flush=True)

    def python(self, engine):
        """The venv python of a peer (installed on first use); EnvError when it can't be."""
        if engine in self._env_errors:
            raise envs.EnvError(self._env_errors[engine])
        if engine not in self._pythons:
            self.log(f"  preparing the {engine} venv ...")
            try:
                if engine == "flink":
                    self.results["installs"]["java"] = envs.ensure_java(
                        os.path.join(self.logs, "apt-java.log"))
                py = envs.ensure(self.build, engine, self.logs)
            except envs.EnvError as e:
                self._env_errors[engine] = str(e)
                self.results["installs"][engine] = f"failed: {e}"
                raise
            dist = {"duckdb": "duckdb", "pathway": "pathway", "bytewax": "bytewax",
                    "flink": "apache-flink"}[engine]
            self.results["installs"][engine] = f"{dist} {envs.version(py, dist)}"
            self._pythons[engine] = py
        return self._pythons[engine]

    def checkpoint(self):
        """Saves the results so far (a crash or timeout keeps what was measured)."""
        with open(self.results_path, "w") as fh:
            json.dump(self.results, fh, indent=1, default=str)


def source_commit():
    """The commit the measured binaries were built from (`-dirty`: with uncommitted changes)."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def keep_earlier(ctx):
    """Carries over the stages (and their inputs, installs) of the previous run that this run
    does not repeat, so that stages can be run one at a time into one RESULTS.md."""
    ctx.results["datasets"] = {}
    if ctx.args.fresh or not os.path.exists(ctx.results_path):
        return
    try:
        with open(ctx.results_path) as fh:
            prev = json.load(fh)
    except ValueError:
        return
    kept = {k: v for k, v in prev.get("stages", {}).items() if k not in ctx.stages}
    for stage in kept.values():  # results of runs older than per-stage provenance
        stage.setdefault("argv", prev.get("argv", []))
        stage.setdefault("finished", prev.get("finished", "?"))
    if kept:
        ctx.log(f"keeping the earlier results of: {', '.join(kept)} (--fresh to drop them)")
        ctx.results["stages"].update(kept)
        ctx.results["datasets"].update(prev.get("datasets", {}))
        for k, v in prev.get("installs", {}).items():
            ctx.results["installs"].setdefault(k, v)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    ctx = Context(args, argv)
    if args.report_only:
        with open(ctx.results_path) as fh:
            results = json.load(fh)
        if "runs" in results["stages"].get("batch", {}):
            results["stages"]["batch"]["summary"] = batch.summarize(
                results["stages"]["batch"]["runs"])
        report.write(results, ctx, args.results)
        ctx.log(f"wrote {args.results} from {ctx.results_path}")
        return
    for binary in (ctx.pulso, ctx.incremental):
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: run benches/run_all.sh (it builds it)")
    commit = source_commit()
    ctx.log(f"stages: {', '.join(ctx.stages)}; engines: {', '.join(ctx.engines)}; sizes: "
            f"{ctx.sizes}; memory limit {ctx.mem_limit / 2**30:.1f} GiB")
    # Install the peers first, so an install failure is known before anything is measured.
    for engine in ctx.engines:
        if engine != "pulso":
            try:
                ctx.python(engine)
            except envs.EnvError as e:
                ctx.log(f"  {engine}: {e}")
    keep_earlier(ctx)
    datasets = {s: data.dataset(ctx.pulso, ctx.work, s, 1, ctx.log) for s in ctx.sizes}
    ctx.results["datasets"].update({str(s): d for s, d in datasets.items()})
    for stage in ctx.stages:
        ctx.log(f"== stage {stage}")
        started = time.perf_counter()
        try:
            if stage == "batch":
                res = batch.run_stage(ctx, datasets)
            elif stage == "latency":
                # The largest size up to 2M: larger folders would only cost memory, since no
                # engine gets through more than ~2M records in the seconds of a rate point.
                small = [s for s in ctx.sizes if s <= 2_000_000] or [min(ctx.sizes)]
                res = latency.run_stage(ctx, datasets[max(small)])
            elif stage == "update":
                res = update.run_stage(ctx, datasets)
            else:
                size = args.live_size or min(ctx.sizes)
                ds = datasets.get(size) or data.dataset(ctx.pulso, ctx.work, size, 1, ctx.log)
                # As many records as the caught-up ones: the three produce-to-view stages go
                # through the load once (a load started again would be too late).
                load = data.dataset(ctx.pulso, ctx.work, max(20000, size), 2, ctx.log)
                res = live.run_stage(ctx, ds, load)
        except Exception as e:  # one stage failing must not lose the others
            traceback.print_exc()
            res = {"status": f"failed: {type(e).__name__}: {e}"}
        res["stage_seconds"] = time.perf_counter() - started
        res["argv"] = argv
        res["commit"] = commit
        res["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        ctx.results["stages"][stage] = res
        ctx.checkpoint()
    ctx.results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    ctx.checkpoint()
    report.write(ctx.results, ctx, args.results)
    ctx.log(f"wrote {args.results} (raw figures: {ctx.results_path})")


if __name__ == "__main__":
    main()
