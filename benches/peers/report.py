"""Writes benches/RESULTS.md from the harness's results (never edited by hand)."""
import datetime
import os
import platform
import subprocess

import semantics


def _sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except Exception:
        return "?"


def machine():
    cpu = _sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = _sh("grep MemTotal /proc/meminfo | awk '{print $2}'")
    return {
        "nproc": _sh("nproc"), "cpu": cpu or platform.processor(),
        "ram_gib": f"{int(mem) / 2**20:.1f}" if mem.isdigit() else "?",
        "kernel": platform.release(), "os": _sh(". /etc/os-release; echo $PRETTY_NAME"),
        "python": platform.python_version(), "rustc": _sh("rustc --version"),
        "java": _sh("java -version 2>&1 | head -1"),
        "load": _sh("cat /proc/loadavg | cut -d' ' -f1-3"),
    }


def f_int(v):
    return "-" if v is None else f"{v:,.0f}"


def f_s(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def f_ms(v):
    return "-" if v is None else f"{v * 1000:,.0f}"


def f_mib(v):
    return "-" if v is None else f"{v / 2**20:,.0f}"


def f_x(v):
    return "-" if v is None else f"{v:.2f}x"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def batch_section(res):
    lines = ["## 1. Batch throughput: `pulso replay` and the peers on the same records", ""]
    if "summary" not in res:
        return lines + [f"Stage {res.get('status', 'not run')}.", ""]
    lines += [
        "Medians of the repetitions. *records*: every line of the input files (bad records "
        "included). *all*: all 14 topics, every view; *subset*: the three topic files that "
        "`notification_rates` and `order_metrics` read (what the peers get); *two-views*: the "
        "views subset, and Pulso computes and writes only those two views, as the peers do "
        "(`replay --views notification_rates,order_metrics`). "
        "*events/s*: records / wall time of the whole command (start-up, reading, computing, "
        "writing results); *engine events/s*: records / the engine's own compute time "
        "(Pulso: the dataflow pass printed by `replay`, excluding reading files and writing "
        "Parquet; DuckDB: load+parse+views SQL; Pathway/Bytewax: the dataflow run; Flink: job "
        "time after JVM start). CPU-s: user+sys of the whole process tree. Peak RSS: largest "
        "sum of RSS over the process tree. *B/record*: peak RSS / records (the retained-state "
        "figure, an upper bound). *Pulso/peer*: Pulso's events/s on the same subset (1 worker "
        "| 2 workers) divided by the peer's (> 1: Pulso faster): every view, and the two "
        "views only.", ""]
    rows_by_size = {}
    for r in res["summary"]:
        rows_by_size.setdefault(r["size"], []).append(r)
    for size, rows in rows_by_size.items():
        rows = sorted(rows, key=lambda r: (r["engine"] != "pulso", r["name"]))
        def pulso_runs(scope):
            return {r["workers"]: r for r in rows if r["engine"] == "pulso"
                    and r["scope"] == scope and r.get("events_per_s")}
        pulso_sub, pulso_two = pulso_runs("subset"), pulso_runs("two-views")
        lines.append(f"### N = {size:,} generated")
        lines.append("")
        out = []
        for r in rows:
            if not r.get("events_per_s"):
                out.append([r["name"], f_int(r["records"]), r.get("status", "")] + ["-"] * 10)
                continue
            ratio, ratio_two = "-", "-"
            if r["engine"] != "pulso":
                def ratios(ours):
                    return " \\| ".join(
                        f_x(ours[w]["events_per_s"] / r["events_per_s"]) if w in ours
                        else "-" for w in (1, 2))
                ratio, ratio_two = ratios(pulso_sub), ratios(pulso_two)
            agree = r.get("agreement_summary", "") if r["engine"] != "pulso" else ""
            status = r["status"] if r["status"] != "ok" else f"ok ({r['reps']} reps)"
            if r.get("jvm_start_s"):
                status += f"; JVM start {r['jvm_start_s']:.1f}s excluded from engine time"
            if r.get("breakdown"):
                status += f"; {r['breakdown']}"
            out.append([r["name"], f_int(r["records"]), status, f_s(r["wall_s"]),
                        f_int(r["events_per_s"]), f_int(r.get("engine_events_per_s")),
                        f_s(r["cpu_s"]), f_int(r.get("events_per_cpu_s")),
                        f_mib(r["peak_rss"]), f_int(r["bytes_per_record"]), ratio, ratio_two,
                        agree])
        lines.append(table(["run", "records", "status", "wall s", "events/s",
                            "engine events/s", "CPU-s", "events/CPU-s", "peak RSS MiB",
                            "B/record", "Pulso/peer, every view (w1 \\| w2)",
                            "Pulso/peer, two views (w1 \\| w2)", "agreement with Pulso"], out))
        lines.append("")
        for r in rows:
            ag = r.get("agreement")
            if ag and not all(v.get("agree") for v in ag.values()):
                for view, v in ag.items():
                    if not v.get("agree"):
                        lines.append(f"- {r['name']} `{view}` differs: {v.get('error') or ''}"
                                     f"{v.get('missing', 0)} missing, {v.get('extra', 0)} "
                                     f"extra, {v.get('different', 0)} different rows; "
                                     f"first: `{v.get('sample', [])[:2]}`")
        lines.append("")
        for r in rows:
            ag = r.get("agreement")
            if ag and all(v.get("agree") for v in ag.values()):
                t = ag["notification_rates"]["totals"]
                o = ag["order_metrics"]["totals"]
                lines.append(f"- {r['name']}: every row of both views equal to Pulso's "
                             f"(day totals: sent {t['pulso'][0]:,}, delivered {t['pulso'][1]:,}; "
                             f"orders {o['pulso'][0]:,}, confirmed {o['pulso'][1]:,}).")
        lines.append("")
    return lines


def latency_section(res):
    lines = ["## 2. Incremental latency: input to updated views, 1k-record epochs", ""]
    if "summary" not in res:
        return lines + [f"Stage {res.get('status', 'not run')}.", ""]
    lines += [
        f"Same views-subset records for both engines ({res['records_available']:,} available; "
        f"{res['seconds']:.0f} s of input per rate, fewer when the records run out). "
        "Latency of an epoch: from the instant its last record was due (rate schedule) to "
        "the instant the views include it — Pulso: `pulso-incremental latency` (the "
        "dataflows of `pulso run` in-process, every view, and *two-views*: the two views "
        "Pathway computes, `--views`; as in `pulso run`, the workers "
        "send their changes a batch at a time to a consumer thread that applies each closed "
        "epoch to the serving store; no HTTP); Pathway: `jobs/pathway_views.py --rate` "
        "(Python connector commits; the view subscriptions' time-end callbacks). An engine that cannot keep up "
        "falls behind the schedule, so its latency grows with the run. Medians over "
        "repetitions; `achieved` is records / time to finish.", ""]
    rows = []
    for r in res["summary"]["rows"]:
        rows.append([r["engine"], f_int(r["rate"]), f_ms(r.get("p50_s")), f_ms(r.get("p99_s")),
                     f_int(r.get("achieved_rate")), f_mib(r.get("peak_rss")), r["reps"],
                     r.get("status", "ok")])
    lines.append(table(["engine", "rate /s", "p50 ms", "p99 ms", "achieved /s",
                        "peak RSS MiB", "reps", "status"], rows))
    lines.append("")
    best = res["summary"]["max_rate_p99_under_1s"]
    engines = sorted({r["engine"] for r in res["summary"]["rows"]})
    best_100ms = res["summary"].get("max_rate_p99_under_100ms", {})
    for e in engines:
        lines.append(f"- highest tested rate with p99 < 1 s, {e}: "
                     + (f"{best[e]:,} records/s" if e in best else "none of the tested rates")
                     + "; with p99 < 100 ms: "
                     + (f"{best_100ms[e]:,} records/s" if e in best_100ms else "none"))
    lines.append("")
    return lines


def update_section(res):
    lines = ["## 3. Incremental update cost once N records are in", ""]
    if "summary" not in res:
        return lines + [f"Stage {res.get('status', 'not run')}.", ""]
    lines += [
        "Pulso: `pulso-incremental update` preloads N records (epochs of 50k) and then "
        "applies batches as single epochs, each inserted once the serving store has applied "
        "every epoch before it (time from its insertion to the store having applied it: "
        "every view updated and served). DuckDB: appends the batch's parsed records to its "
        "table and recomputes both views from scratch (`duckdb_views.py --preload`).", ""]
    lines += [f"N = {res.get('size', 0):,} generated ({res.get('records', 0):,} records, "
              f"{res.get('subset_records', 0):,} in the views subset); the issue asks for "
              f"10M: " + (f"note: {res['note']}." if res.get("note") else
                          "this run's largest size was used (see Inputs)."), ""]
    rows = []
    for name, e in res["summary"].items():
        if "status" in e:
            rows.append([name, "-", "-", e["status"], "-", "-", "-", "-"])
            continue
        b = e["batches"]
        rows.append([name, f_int(e["preload"]), f_s(e["preload_s"]),
                     f_ms(b.get("1000", {}).get("median_s")), f_ms(b.get("1000", {}).get("max_s")),
                     f_ms(b.get("10000", {}).get("median_s")),
                     f_ms(b.get("10000", {}).get("max_s")), f_mib(e["peak_rss"])])
    lines.append(table(["run", "preloaded records", "preload s", "1k batch median ms",
                        "1k max ms", "10k batch median ms", "10k max ms", "peak RSS MiB"], rows))
    lines.append("")
    s = res["summary"]
    for ours in ("pulso-subset-w1", "pulso-all-w1"):
        if ours in s and "duckdb-subset" in s and "status" not in s[ours] \
                and "status" not in s["duckdb-subset"]:
            for b in ("1000", "10000"):
                p, d = s[ours]["batches"].get(b), s["duckdb-subset"]["batches"].get(b)
                if p and d:
                    lines.append(f"- batch of {int(b):,}: DuckDB recompute / {ours} = "
                                 f"{d['median_s'] / p['median_s']:.1f}x")
    lines.append("")
    return lines


def live_section(res):
    lines = ["## 4. Live path: broker -> every view", ""]
    if "pulso" not in res:
        return lines + [f"Stage {res.get('status', 'not run')}.", ""]
    drain = [d for d in res.get("drain", []) if d.get("rate")]
    lines += [
        f"{res.get('records', 0):,} records of the generated folder produced to fresh topics "
        f"(3 partitions) on the local broker ({res['brokers']}, tansu via scripts/broker.sh). "
        "Ceiling: a bare librdkafka consumer (confluent-kafka, `jobs/kafka_drain.py`) "
        "draining them. Pulso: `pulso run --brokers` from the beginning until "
        "`/v1/pipeline_health` counts every record (consumer start included).", ""]
    rows = []
    for d in drain:
        rows.append(["bare consumer (ceiling)", f_int(d.get("records")), f_s(d.get("seconds")),
                     f_int(d.get("rate")), "-", f_mib(d.get("peak_rss")), f_s(d.get("cpu_s"))])
    for r in res["pulso"]:
        rows.append([f"pulso run, {r['workers']} workers ({r['status']})", f_int(r["records"]),
                     f_s(r["seconds"]), f_int(r["rate"]),
                     f"{f_int(r.get('rejected'))} ({f_int(r.get('too_late'))})",
                     f_mib(r["peak_rss"]), f_s(r["cpu_s"])])
    lines.append(table(["reader", "records", "seconds", "records/s", "rejected (too_late)",
                        "peak RSS MiB", "CPU-s"], rows))
    lines.append("")
    ok = sorted(r["rate"] for r in res["pulso"] if r["status"] == "ok")
    if ok and drain:
        med = ok[len(ok) // 2]
        dr = sorted(d["rate"] for d in drain)[len(drain) // 2]
        lines += [f"- Pulso sustains {med:,.0f} records/s into every view = "
                  f"{med / dr * 100:.1f}% of the bare consumer's {dr:,.0f}/s.", ""]
    if res.get("latency"):
        lines += ["Produce-to-view on the caught-up engine: a mixed load (a second generated "
                  "folder, seed 2, all topics, its event times moved 14 days on so that it "
                  "follows the caught-up records) produced at the rate, 20 uniquely named "
                  "tracking events per second among them (timed like the load record before "
                  "them), each polled on `/v1/timelines/shipment/<id>` every 5 ms until "
                  "visible.", ""]
        rows = [[f"{l['fraction'] * 100:.0f}%", f_int(l["target_rate"]),
                 f_int(l["achieved_rate"]), f_ms(l.get("p50_s")), f_ms(l.get("p99_s")),
                 l["samples"], l["not_seen"]] for l in res["latency"]]
        lines.append(table(["of sustained", "target /s", "achieved /s", "p50 ms", "p99 ms",
                            "samples", "not seen"], rows))
        lines.append("")
    if res.get("status"):
        lines += [f"Stage {res['status']}.", ""]
    return lines


def skips_section(results):
    lines = ["## What failed or was skipped", ""]
    items = []
    for k, v in results.get("installs", {}).items():
        if str(v).startswith("failed"):
            items.append(f"- install {k}: {v}")
    b = results["stages"].get("batch", {})
    seen = set()
    for r in b.get("runs", []):
        if r["status"] != "ok":
            key = (r["size"], r["name"], r["status"], r.get("reason"))
            if key not in seen:
                seen.add(key)
                items.append(f"- batch N={r['size']:,} {r['name']}: {r['status']}: "
                             f"{r.get('reason', '')}")
    l = results["stages"].get("latency", {})
    seen = set()
    for r in l.get("runs", []):
        if r["status"] != "ok" and (r["engine"], r.get("reason")) not in seen:
            seen.add((r["engine"], r.get("reason")))
            items.append(f"- latency {r['engine']} from {r['rate']:,}/s: {r['status']}: "
                         f"{r.get('reason', '')}")
    for name, st in results["stages"].items():
        if str(st.get("status", "")).startswith(("failed", "skipped")):
            items.append(f"- stage {name}: {st['status']}")
    return lines + (items or ["Nothing."]) + [""]


def write(results, ctx, path):
    m = machine()
    setup = results.get("setup", {})
    mem_limit = setup.get("mem_limit", ctx.mem_limit)
    pathway_threads = setup.get("pathway_threads", ctx.args.pathway_threads)
    flink_parallelism = setup.get("flink_parallelism", ctx.args.flink_parallelism)
    started = results.get("started", "")
    lines = [
        "# Benchmarks: Pulso and its peers, side by side",
        "",
        "<!-- Written by benches/peers/harness.py (report.py). Do not edit its sections by "
        "hand: rerun the harness. Sections whose title says hand-measured or hand-run are "
        "kept as they are. -->",
        "",
        f"Last run: {started[:19]}Z .. {results.get('finished', '')[:19]}Z, "
        f"`benches/run_all.sh {' '.join(results['argv'])}` (see benches/README.md); each "
        "section names the run it comes from.",
        "",
        "## Machine",
        "",
        table(["", ""], [["cores (nproc)", m["nproc"]], ["CPU", m["cpu"]],
                         ["RAM", f"{m['ram_gib']} GiB"], ["OS / kernel",
                                                           f"{m['os']} / {m['kernel']}"],
                         ["load average when this file was written", m["load"]],
                         ["memory guard per run", f"{mem_limit / 2**30:.1f} GiB"],
                         ["rustc", m["rustc"]], ["python", m["python"]], ["java", m["java"]]]
              + [[f"peer {k}" if k != "java" else "java used by Flink", v]
                 for k, v in results.get("installs", {}).items()]),
        "",
        "The machine is shared (other builds may run): engines are interleaved within each "
        "repetition so that background load spreads over all of them, and medians are "
        "reported.",
        "",
        "## Inputs",
        "",
    ]
    rows = [[f"{int(s):,}", f"{d['records']:,}", f"{d['subset_records']:,}",
             f"{d['bytes'] / 2**20:,.0f}"] for s, d in sorted(results.get("datasets", {}).items(),
                                                             key=lambda kv: int(kv[0]))]
    lines += [table(["--scale", "records (14 topics)", "records of the views subset", "MiB"],
                    rows), "",
              "`pulso generate --seed 1 --scale N`: realistic streams with 1% exact and 0.6% "
              "conflicting duplicates, 3.5% bad records of every DLQ reason, late and "
              "reordered arrivals, orphans.", ""]
    for section, fn in (("batch", batch_section), ("latency", latency_section),
                        ("update", update_section), ("live", live_section)):
        if section in results["stages"]:
            st = results["stages"][section]
            body = fn(st)
            if st.get("argv") is not None:
                at = f" at commit {st['commit']}" if st.get("commit") else ""
                body.insert(2, f"From `benches/run_all.sh {' '.join(st['argv'])}`{at}, finished "
                               f"{st.get('finished', '?')[:19]}Z, stage time "
                               f"{st.get('stage_seconds', 0) / 60:.1f} min.")
                body.insert(3, "")
            lines += body
    lines += skips_section(results)
    lines += [
        "## How each engine computes the views", "",
        "All peers implement VIEWS.md for `notification_rates` and `order_metrics` from the raw "
        "records, with Pulso's rules: the decoder's validation for the three topics (size, "
        "strict UTF-8 JSON, versions, required fields with null as absent, types, enums, "
        "money in exact cents, RFC 3339 times with a zone), tenant default `default`, "
        "Conecta360 sends as `c360-<id>` of tenant `conecta360` (FALLIDO = failed), "
        "dedup per (topic, id) keeping the least (timestamp, raw bytes), the send-time cohort "
        "of the earliest send by (timestamp, event_id), distinct-notification flags, orders "
        "by their earliest creation and latest decision, minute/hour/day windows. "
        "The Python peers share `benches/peers/semantics.py` for decoding; DuckDB does it in "
        "SQL. Agreement is checked row by row (every key, every count and money column) "
        "against Pulso's Parquet output of the same N.", "",
        "Known deviations (none is exercised by the generator): ties on (timestamp, "
        "event_id) between different events are broken by raw text (Pulso: by the whole "
        "event); DuckDB's JSON reader accepts trailing commas and NaN, reads money through a "
        "double's shortest text and rejects leap seconds; Flink compares raw text in UTF-16 "
        "order and splits its printed changelog on `, `.", "",
        "Engine set-ups: DuckDB in-memory, default threads; Pathway "
        f"{pathway_threads} thread(s) (PATHWAY_THREADS); Bytewax 1 worker "
        f"(run_main); Flink parallelism {flink_parallelism}, local mini-cluster, "
        "streaming mode with mini-batch, Python UDTF for decoding, results through the "
        "`print` sink. Per-run logs and raw figures: build/bench-work/ (results.json).", "",
    ]
    lead, tail = kept_sections(path)
    top = lines.index("## Machine")
    lines[top:top] = lead
    lines += tail
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


# Sections of RESULTS.md that other scripts write and a harness run keeps as they are.
KEPT = ("## Soak",)  # benches/soak.py
# Sections written by hand (a session's measurements outside the harness), also kept: their
# headings say so.
HAND = ("hand-measured", "hand-run")


def is_kept(line):
    """Whether `line` opens a section that a harness run keeps."""
    line = line.strip()
    return line.startswith("## ") and (line in KEPT or any(h in line for h in HAND))


def kept_sections(path):
    """The lines of the kept sections of `path` (each up to the next `## `), as two lists:
    those before its first harness-written section (they stay at the top) and the others."""
    if not os.path.exists(path):
        return [], []
    with open(path) as fh:
        old = fh.read().splitlines()
    lead, tail = [], []
    harness_seen = False
    for i, line in enumerate(old):
        if not line.startswith("## "):
            continue
        if not is_kept(line):
            harness_seen = True
            continue
        end = next((j for j in range(i + 1, len(old)) if old[j].startswith("## ")), len(old))
        (tail if harness_seen else lead).extend(old[i:end])
    return lead, tail
