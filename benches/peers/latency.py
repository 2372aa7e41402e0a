"""Latency stage: records fed at fixed rates in 1k-record epochs (commits); p50/p99 of the
time from an epoch's due instant to both views (Pulso: every view, and the two views only)
being updated, for Pulso (`pulso-incremental latency`, in-process dataflows, 1 and 2
workers) and Pathway
(`jobs/pathway_views.py --rate`), on the same views-subset records; the highest rate each
sustains with p99 < 1 s."""
import os
import statistics

import envs
import procs

from batch import PEER_VIEWS

JOBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jobs")
GIVE_UP_P99_S = 10.0  # above this at one rate, higher rates are not run for that engine


def engines(ctx):
    out = []
    if ctx.wants("pulso"):
        out += [("pulso-w1", 1), ("pulso-w2", 2), ("pulso-two-views-w1", 1),
                ("pulso-two-views-w2", 2)]
    if ctx.wants("pathway"):
        out.append(("pathway", ctx.args.pathway_threads))
    return out


def command(ctx, engine, workers, data_dir, rate, seconds):
    if engine.startswith("pulso"):
        views = ["--views", PEER_VIEWS] if engine.startswith("pulso-two-views") else []
        return [ctx.incremental, "--input", data_dir, "--workers", str(workers)] + views + [
            "latency", "--rate", str(rate), "--epoch-records", str(ctx.args.epoch_records),
            "--seconds", str(seconds)], {}
    return [ctx.python("pathway"), os.path.join(JOBS, "pathway_views.py"), "--data", data_dir,
            "--out", os.path.join(ctx.work, "runs", "latency-pathway"), "--rate", str(rate),
            "--epoch", str(ctx.args.epoch_records), "--seconds", str(seconds)], \
        {"PATHWAY_THREADS": str(workers)}


def run_stage(ctx, ds):
    """Every (rate, engine), interleaved, `stage_reps` times; returns runs and a summary."""
    data_dir, runs, gave_up = ds["subset"], [], {}
    seconds = ctx.args.latency_seconds
    for rep in range(ctx.args.stage_reps):
        for rate in ctx.rates:
            for engine, workers in engines(ctx):
                rec = {"engine": engine, "workers": workers, "rate": rate, "rep": rep}
                if engine in gave_up and rate > gave_up[engine][0]:
                    rec.update(status="skipped", reason=gave_up[engine][1])
                    runs.append(rec)
                    continue
                try:
                    cmd, env = command(ctx, engine, workers, data_dir, rate, seconds)
                except envs.EnvError as e:
                    rec.update(status="failed", reason=f"install: {e}")
                    runs.append(rec)
                    continue
                ctx.log(f"  latency rep {rep + 1}: {engine} at {rate} records/s ...")
                m = procs.run(cmd, timeout=max(120, seconds * 20), mem_limit=ctx.mem_limit,
                              env=env, log_path=os.path.join(
                                  ctx.logs, f"latency-{engine}-{rate}-r{rep}.log"))
                rec.update(status=m.status, wall_s=m.wall_s, peak_rss=m.peak_rss,
                           command=" ".join(m.cmd))
                if m.ok():
                    j = procs.last_json(m.stdout)
                    rec.update(p50_s=j.get("p50_s"), p99_s=j.get("p99_s"),
                               achieved_rate=j.get("achieved_rate"),
                               epochs=j.get("epochs", j.get("commits")),
                               records=j.get("records"))
                    ctx.log(f"    p50 {fmt_s(rec['p50_s'])}, p99 {fmt_s(rec['p99_s'])}, "
                            f"achieved {rec['achieved_rate'] or 0:,.0f}/s")
                    if rec["p99_s"] is not None and rec["p99_s"] > GIVE_UP_P99_S and rep == 0:
                        gave_up[engine] = (rate, f"p99 {rec['p99_s']:.1f}s > "
                                                 f"{GIVE_UP_P99_S:.0f}s already at {rate} "
                                                 "records/s")
                else:
                    rec["reason"] = m.reason()
                    ctx.log(f"    {rec['reason']}")
                runs.append(rec)
                ctx.checkpoint()
    return {"runs": runs, "summary": summarize(runs), "seconds": seconds,
            "records_available": ds["subset_records"]}


def fmt_s(v):
    return "-" if v is None else f"{v * 1000:.0f} ms"


def summarize(runs):
    """Median p50/p99 per (engine, rate), and the highest rate with p99 < 1 s."""
    by = {}
    for r in runs:
        by.setdefault((r["engine"], r["rate"]), []).append(r)
    rows, best, best_100ms = [], {}, {}
    for (engine, rate), rs in sorted(by.items()):
        ok = [r for r in rs if r.get("p99_s") is not None]
        row = {"engine": engine, "rate": rate, "reps": len(ok)}
        if ok:
            for k in ("p50_s", "p99_s", "achieved_rate", "peak_rss"):
                vals = [r[k] for r in ok if r.get(k) is not None]
                row[k] = statistics.median(vals) if vals else None
            if row["p99_s"] < 1.0:
                best[engine] = max(best.get(engine, 0), rate)
            if row["p99_s"] < 0.1:
                best_100ms[engine] = max(best_100ms.get(engine, 0), rate)
        else:
            row["status"] = "; ".join(sorted({f"{r['status']}: {r.get('reason', '')}"
                                               for r in rs}))
        rows.append(row)
    return {"rows": rows, "max_rate_p99_under_1s": best, "max_rate_p99_under_100ms": best_100ms}
