"""Batch stage: `pulso replay` (1 and 2 workers: all views on all topics and on the views
subset, and on the views subset the peers' two views only, `--views`) and the peers
(DuckDB, Pathway, Bytewax, Flink) on the same generated records, interleaved,
repeated; each peer's two views are checked against Pulso's Parquet output."""
import os
import re
import shutil
import statistics

import compare
import envs
import procs

JOBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jobs")

# Default retained bytes per input record, before anything was measured (from 200k-record
# trial runs, rounded up), and a fixed base; refined by each run's peak RSS.
DEFAULT_BYTES_PER_RECORD = {"pulso-all": 5000, "pulso-subset": 5000, "pulso-two-views": 5000,
                            "duckdb": 3000, "pathway": 8000, "bytewax": 4000, "flink": 4000}

# The views the peers compute; scope "two-views" is Pulso computing these only.
PEER_VIEWS = "notification_rates,order_metrics"
BASE_BYTES = {"flink": 1_500_000_000, "pathway": 500_000_000}

PULSO_LINE = re.compile(r"replayed (\d+) records \((\d+) rejected\) on "
                        r"(?:\d+ process\(es\) x )?(\d+) worker\(s\) in "
                        r"([\d.]+)s: (\d+) events/s; read ([\d.]+)s")


class Predictor:
    """Predicts a run's peak RSS from the largest bytes/record seen for that engine (Pulso:
    per scope, since all views and the two-view subset retain different state per record)."""

    def __init__(self):
        self.per_record = dict(DEFAULT_BYTES_PER_RECORD)
        self.measured = set()
        self.seconds_per_record = {}

    def observe(self, engine, peak, records, wall_s=None):
        if records and wall_s:
            self.seconds_per_record[engine] = wall_s / records
        if records:
            b = peak / records
            if engine not in self.measured:
                self.per_record[engine] = b
                self.measured.add(engine)
            else:
                self.per_record[engine] = max(self.per_record[engine], b)

    def predict(self, engine, records):
        return BASE_BYTES.get(engine, 0) + self.per_record[engine] * records


def predicted_as(engine, scope):
    """The predictor's name for an engine's runs on a scope."""
    return f"pulso-{scope}" if engine == "pulso" else engine


def variants(ctx):
    """The runs of one repetition, interleaving Pulso and the peers."""
    pulso = [("pulso", "all", 1), ("pulso", "subset", 1), ("pulso", "two-views", 1),
             ("pulso", "all", 2), ("pulso", "subset", 2), ("pulso", "two-views", 2)]
    peers = [p for p in ("duckdb", "pathway", "bytewax", "flink") if ctx.wants(p)]
    if not ctx.wants("pulso"):
        pulso = []
    out = []
    while pulso or peers:
        if pulso:
            out.append(pulso.pop(0))
        if peers:
            out.append((peers.pop(0), "subset", None))
    return out


def peer_command(ctx, engine, data_dir, out):
    """The command of one peer batch run (after its venv is ready)."""
    py = ctx.python(engine)
    script = os.path.join(JOBS, f"{engine}_views.py")
    cmd = [py, script, "--data", data_dir, "--out", out]
    env = {}
    if engine == "pathway":
        env["PATHWAY_THREADS"] = str(ctx.args.pathway_threads)
    if engine == "flink":
        cmd += ["--parallelism", str(ctx.args.flink_parallelism)]
    return cmd, env


def compute_seconds(engine, m, parsed):
    """The engine's own compute time (excluding interpreter/JVM start and file reading where
    the job reports it)."""
    j = m.extra.get("job", {})
    if engine == "pulso":
        return parsed.get("engine_s")
    return {"duckdb": j.get("compute_s"), "pathway": j.get("run_s"),
            "bytewax": j.get("run_s"), "flink": j.get("job_s")}.get(engine)


def run_one(ctx, size, ds, rep, engine, scope, workers, predictor, reference):
    """One measured run; returns its record (dict)."""
    data_dir = ds["dir"] if scope == "all" else ds["subset"]
    records = ds["records"] if scope == "all" else ds["subset_records"]
    name = f"{engine}-{scope}" + (f"-w{workers}" if workers else "")
    rec = {"size": size, "rep": rep, "engine": engine, "scope": scope, "workers": workers,
           "name": name, "records": records}
    skip = ctx.skipped.get((engine, scope))
    if skip:
        rec.update(status="skipped", reason=skip)
        return rec
    cap = ctx.args.caps.get(engine)
    if cap is not None and size > cap:
        per = predictor.seconds_per_record.get(predicted_as(engine, scope))
        eta = f"; one repetition would take ~{per * records / 60:.0f} min" if per else ""
        rec.update(status="skipped", reason=f"not run above {cap:,} records (--cap){eta}")
        return rec
    predicted = predicted_as(engine, scope)
    need = predictor.predict(predicted, records)
    if need > ctx.mem_limit:
        rec.update(status="skipped", reason=(
            f"predicted peak RSS {need / 2**30:.1f} GiB "
            f"({predictor.per_record[predicted]:.0f} B/record x {records}) exceeds the "
            f"memory limit {ctx.mem_limit / 2**30:.1f} GiB"))
        return rec
    out = os.path.join(ctx.work, "runs", f"n{size}", f"{name}-r{rep}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    log = os.path.join(ctx.logs, f"batch-n{size}-{name}-r{rep}.log")
    if engine == "pulso":
        cmd = [ctx.pulso, "replay", "--input", data_dir, "--out", out,
               "--workers", str(workers)]
        if scope == "two-views":
            cmd += ["--views", PEER_VIEWS]
        env = {}
    else:
        try:
            cmd, env = peer_command(ctx, engine, data_dir, out)
        except envs.EnvError as e:
            rec.update(status="failed", reason=f"install: {e}")
            return rec
    ctx.log(f"  [{size}] rep {rep + 1}: {name} ...")
    m = procs.run(cmd, timeout=ctx.args.timeout, mem_limit=ctx.mem_limit, log_path=log, env=env)
    rec.update(status=m.status, wall_s=m.wall_s, cpu_s=m.cpu_s, peak_rss=m.peak_rss,
               command=" ".join(m.cmd))
    if not m.ok():
        rec["reason"] = m.reason()
        if m.status in ("timeout", "memory-guard"):
            ctx.skipped[(engine, scope)] = f"{m.status} at {size} records"
        ctx.log(f"    {m.status}: {rec['reason']}")
        return rec
    predictor.observe(predicted, m.peak_rss, records, m.wall_s)
    if engine == "pulso":
        mm = PULSO_LINE.search(m.stdout)
        if mm:
            rec["engine_s"] = float(mm.group(4))
            rec["read_s"] = float(mm.group(6))
            rec["rejected"] = int(mm.group(2))
            rec["records"] = int(mm.group(1))
        rec["views"] = os.path.join(out, "views")
        if reference.get(size) is None and scope == "all":
            reference[size] = rec["views"]
        elif size not in reference:
            reference[size] = rec["views"]  # a subset run has the same two views
    else:
        rec["job"] = procs.last_json(m.stdout)
        m.extra["job"] = rec["job"]
        rec["engine_s"] = compute_seconds(engine, m, rec)
        if size not in reference:  # Pulso's own runs were skipped or failed at this size
            reference[size] = reference_views(ctx, size, ds)
        ref = reference.get(size)
        if ref and rep == 0:
            rec["agreement"] = compare.compare(ref, out)
            rec["agreement_summary"] = compare.summary(rec["agreement"])
        elif not ref:
            rec["agreement_summary"] = "not checked: no Pulso output at this size"
    ctx.log(f"    {m.wall_s:.1f}s wall, {m.cpu_s:.1f} CPU-s, peak RSS "
            f"{m.peak_rss / 2**20:.0f} MiB" + (f"; {rec.get('agreement_summary')}"
                                              if rec.get("agreement_summary") else ""))
    return rec


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def summarize(runs):
    """Medians per (size, name)."""
    groups = {}
    for r in runs:
        groups.setdefault((r["size"], r["name"]), []).append(r)
    rows = []
    for (size, name), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        ok = [r for r in rs if r["status"] == "ok"]
        first = rs[0]
        row = {"size": size, "name": name, "engine": first["engine"], "scope": first["scope"],
               "workers": first["workers"], "records": first["records"], "reps": len(ok)}
        if not ok:
            row["status"] = next((f"{r['status']}: {r.get('reason', '')}" for r in rs), "")
            rows.append(row)
            continue
        for k in ("wall_s", "cpu_s", "peak_rss", "engine_s"):
            row[k] = median_of(ok, k)
        row["events_per_s"] = row["records"] / row["wall_s"]
        row["engine_events_per_s"] = (row["records"] / row["engine_s"]
                                      if row.get("engine_s") else None)
        row["events_per_cpu_s"] = row["records"] / row["cpu_s"] if row["cpu_s"] else None
        row["bytes_per_record"] = row["peak_rss"] / row["records"]
        agree = [r for r in ok if r.get("agreement_summary")]
        if agree:
            row["agreement_summary"] = agree[0]["agreement_summary"]
            row["agreement"] = agree[0].get("agreement")
        jobs = [r["job"] for r in ok if r.get("job")]
        if first["engine"] == "flink":
            row["jvm_start_s"] = median_of(jobs, "jvm_start_s")
        if first["engine"] == "duckdb" and jobs:
            row["breakdown"] = ", ".join(f"{k[:-2]} {median_of(jobs, k):.1f}s"
                                         for k in ("load_s", "parse_s", "views_s"))
        row["status"] = "ok" if len(ok) == len(rs) else f"{len(rs) - len(ok)} run(s) failed"
        rows.append(row)
    return rows


def reference_views(ctx, size, ds):
    """Pulso's views of a size when the Pulso runs themselves are not selected (unmeasured
    replay of the views subset), for the agreement checks."""
    out = os.path.join(ctx.work, "runs", f"n{size}", "pulso-reference")
    m = procs.run([ctx.pulso, "replay", "--input", ds["subset"], "--out", out, "--workers", "2"],
                  timeout=ctx.args.timeout, mem_limit=ctx.mem_limit,
                  log_path=os.path.join(ctx.logs, f"reference-n{size}.log"))
    return os.path.join(out, "views") if m.ok() else None


def run_stage(ctx, datasets):
    """All sizes; returns {"runs": [...], "summary": [...]}."""
    predictor = Predictor()
    reference = {}
    runs = []
    for size in ctx.sizes:
        ds = datasets[size]
        if not ctx.wants("pulso"):
            reference[size] = reference_views(ctx, size, ds)
        reps = ctx.args.reps if size == min(ctx.sizes) else ctx.args.large_reps
        for rep in range(reps):
            for engine, scope, workers in variants(ctx):
                runs.append(run_one(ctx, size, ds, rep, engine, scope, workers, predictor,
                                    reference))
                ctx.checkpoint()
    return {"runs": runs, "summary": summarize(runs),
            "bytes_per_record_used": predictor.per_record}
