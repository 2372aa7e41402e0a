"""Soak benchmark (issue 15, item 6): runs `pulso run` on the built-in generator with a
compressed clock and short retention horizons for `--minutes`, samples the process every
`--interval` seconds, then writes the section "Soak" of RESULTS.md and a plot.

Run through `benches/soak.sh [options]` (builds Pulso, makes the venv with matplotlib), or
as `build/venv-bench/bin/python benches/soak.py [options]` once built. Each sample:

- RSS: `VmRSS` of /proc/PID/status; open file descriptors: the entries of /proc/PID/fd;
- from `GET /metrics`: records read (`pulso_records_total`), rejected
  (`pulso_rejected_total`), accepted = read - rejected, and the engine's events/s;
- produced: the generator's position recorded by the archive's progress files
  (`OUT/archive/_progress/worker-*.json`, the sum of the next offsets).

After the run (SIGINT, then the engine's last snapshot) the final counts come from
`OUT/views/pipeline_health.parquet` and the progress files: produced must equal
accepted + rejected. The API needs no token by default; set PULSO_API_TOKEN (an operator
token) when `--config` configures tokens.
"""
import argparse
import datetime
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SECTION = "Soak"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=20.0, help="length of the run (default 20)")
    p.add_argument("--rate", type=int, default=20000, help="generator records/s (default 20000)")
    p.add_argument("--time-scale", type=float, default=600.0,
                   help="event seconds per wall second (default 600)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port", type=int, default=18095, help="HTTP port of the API")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--config", default=os.path.join(REPO, "benches", "soak.json"),
                   help="the run's --config (default benches/soak.json: its retention)")
    bins = os.path.join(REPO, os.environ.get("PULSO_BIN_DIR") or os.path.join("target", "dist"))
    p.add_argument("--pulso", default=os.path.join(bins, "pulso"))
    p.add_argument("--work", default=os.path.join(REPO, "build", "soak-work"),
                   help="the run's OUT folder and log (emptied first)")
    p.add_argument("--results", default=os.path.join(REPO, "benches", "RESULTS.md"))
    p.add_argument("--plot", default=os.path.join(REPO, "benches", "soak.png"))
    p.add_argument("--keep", action="store_true",
                   help="keep the run's OUT folder (archive, views) instead of deleting it")
    p.add_argument("--no-build", action="store_true", help="(soak.sh) do not build Pulso")
    a = p.parse_args(argv)
    # Enough records that the generator does not run out: 1.2 x rate x duration.
    a.scale = int(a.rate * a.minutes * 60 * 1.2)
    return a


# ----- sampling ---------------------------------------------------------------------------

def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def http_get(url, timeout=5.0):
    request = urllib.request.Request(url)
    token = os.environ.get("PULSO_API_TOKEN")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


def metrics(api):
    """Sums of the counters of /metrics: read, rejected, and the engine's events/s."""
    read = rejected = 0
    eps = None
    for line in http_get(f"{api}/metrics").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        if name.startswith("pulso_records_total"):
            read += int(float(value))
        elif name.startswith("pulso_rejected_total"):
            rejected += int(float(value))
        elif name == "pulso_events_per_second":
            eps = float(value)
    return {"read": read, "rejected": rejected, "accepted": read - rejected,
            "events_per_second": eps}


def produced(out):
    """Records the generator handed to the engine, as the archive's progress files record."""
    total = 0
    for path in glob.glob(os.path.join(out, "archive", "_progress", "worker-*.json")):
        try:
            with open(path) as fh:
                total += sum(e["next_offset"] for e in json.load(fh)["offsets"])
        except (OSError, ValueError, KeyError):
            return None
    return total


def final_health(out):
    """read / rejected of the last view snapshot (`pipeline_health.parquet`), or None."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return None
    path = os.path.join(out, "views", "pipeline_health.parquet")
    if not os.path.exists(path):
        return None
    rows = pq.read_table(path).to_pylist()
    read = sum(r["records"] for r in rows)
    rejected = sum(r["rejected"] for r in rows)
    return {"read": read, "rejected": rejected, "accepted": read - rejected}


def folder_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def wait_for_api(api, engine, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if engine.poll() is not None:
            return False
        try:
            http_get(f"{api}/health", timeout=1)
            return True
        except OSError:
            time.sleep(0.2)
    return False


def run(a):
    out = os.path.join(a.work, "out")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    api = f"http://127.0.0.1:{a.port}"
    cmd = [a.pulso, "run", "--out", out, "--http", f"127.0.0.1:{a.port}",
           "--rate", str(a.rate), "--time-scale", f"{a.time_scale:g}",
           "--workers", str(a.workers), "--scale", str(a.scale), "--config", a.config]
    log_path = os.path.join(a.work, "pulso.log")
    print(f"soak: {' '.join(cmd)}\nsoak: {a.minutes:g} min, a sample every {a.interval:g} s; "
          f"log {log_path}", flush=True)
    log = open(log_path, "w")
    t0 = time.monotonic()
    engine = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    samples, status = [], "ok"
    try:
        if not wait_for_api(api, engine):
            raise SystemExit(f"soak: the API never came up; see {log_path}")
        end = t0 + a.minutes * 60
        due = time.monotonic()
        while True:
            if engine.poll() is not None:
                status = f"pulso exited early with {engine.returncode}"
                break
            now = time.monotonic()
            try:
                sample = {"t": now - t0, "rss": rss_bytes(engine.pid),
                          "fds": open_fds(engine.pid)}
            except OSError:
                status = "pulso exited early"
                break
            try:
                sample.update(metrics(api))
            except (OSError, ValueError) as e:
                sample["error"] = str(e)
            sample["produced"] = produced(out)
            samples.append(sample)
            print(f"soak: t={sample['t']:6.0f}s rss={sample['rss'] / 2**20:8.1f} MiB "
                  f"fds={sample['fds']:4d} read={sample.get('read', '?')} "
                  f"rejected={sample.get('rejected', '?')} produced={sample['produced']}",
                  flush=True)
            if now >= end:
                break
            due += a.interval
            time.sleep(max(0.0, min(due, end) - time.monotonic()))
    finally:
        if engine.poll() is None:
            engine.send_signal(signal.SIGINT)
            try:
                engine.wait(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(engine.pid, signal.SIGKILL)
                engine.wait()
                status = "pulso did not stop within 300 s of SIGINT (killed)"
        log.close()
    final = {"health": final_health(out), "produced": produced(out),
             "out_bytes": folder_bytes(out), "exit": engine.returncode}
    if not a.keep:
        shutil.rmtree(out, ignore_errors=True)
    return cmd, samples, final, status


# ----- report -----------------------------------------------------------------------------

def mib(b):
    return f"{b / 2**20:,.0f}" if b is not None else "–"


def at(samples, seconds):
    """The first sample at or after `seconds`, or None when the run was shorter."""
    return next((s for s in samples if s["t"] >= seconds), None)


def summary(a, samples, final):
    rows = []
    first, last = samples[0], samples[-1]
    rows.append([f"RSS at start (first sample, t = {first['t']:.0f} s)", f"{mib(first['rss'])} MiB"])
    s5, s20 = at(samples, 300), at(samples, 1200)
    rows.append(["RSS at 5 min", f"{mib(s5['rss'])} MiB" if s5 else "– (run shorter)"])
    rows.append(["RSS at 20 min", f"{mib(s20['rss'])} MiB" if s20 else "– (run shorter)"])
    if last is not s20:
        rows.append([f"RSS at the end (t = {last['t'] / 60:.1f} min)", f"{mib(last['rss'])} MiB"])
    rows.append(["peak RSS sampled", f"{mib(max(s['rss'] for s in samples))} MiB"])
    after = [s["rss"] for s in samples if s["t"] >= 300]
    if s5 and len(after) > 1:
        spread = (max(after) - min(after)) / s5["rss"] * 100
        growth = (last["rss"] - s5["rss"]) / s5["rss"] * 100
        rows.append(["max variation of RSS after minute 5 ((max - min) / RSS at 5 min)",
                     f"{spread:.1f}% ({mib(min(after))}..{mib(max(after))} MiB; "
                     f"end vs 5 min: {growth:+.1f}%)"])
    else:
        rows.append(["max variation of RSS after minute 5", "– (run shorter than 5 min)"])
    fds = [s["fds"] for s in samples]
    rows.append(["open file descriptors min / max", f"{min(fds)} / {max(fds)}"])
    elapsed = last["t"]
    rows.append(["records read at the last sample (rate over the run)",
                 f"{last.get('read', 0):,} ({last.get('read', 0) / max(elapsed, 1e-9):,.0f}/s; "
                 f"generator paced at {a.rate:,}/s)"])
    rows.append(["event time: the scaled clock advanced / the stream covered (read × time "
                 "scale / rate)",
                 f"{elapsed * a.time_scale / 3600:,.0f} h / "
                 f"{last.get('read', 0) * a.time_scale / a.rate / 3600:,.0f} h"])
    h, p = final["health"], final["produced"]
    if h is not None and p is not None:
        verdict = "equal" if p == h["read"] else f"differ by {p - h['read']:+,}"
        rows.append(["records produced (archive progress) vs accepted + rejected (final "
                     "pipeline_health)",
                     f"{p:,} vs {h['accepted']:,} + {h['rejected']:,} = {h['read']:,} "
                     f"({verdict})"])
    else:
        lp = last.get("produced")
        rows.append(["records produced vs accepted + rejected (last sample; no final "
                     "snapshot)",
                     f"{lp} vs {last.get('accepted')} + {last.get('rejected')}"])
    rows.append(["OUT folder at the end (archive, views, rejects)",
                 f"{mib(final['out_bytes'])} MiB"])
    return rows


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def commit():
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"],
                              cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def section(a, cmd, samples, final, status, plot_name):
    finished = datetime.datetime.now(datetime.timezone.utc).isoformat()[:19]
    shown = [c if not c.startswith(REPO) else os.path.relpath(c, REPO) for c in cmd]
    with open(a.config) as fh:
        retention = json.load(fh).get("retention", {})
    lines = [
        f"## {SECTION}",
        "",
        f"From `benches/soak.sh --minutes {a.minutes:g}` at commit {commit()}, finished "
        f"{finished}Z on {os.cpu_count()} cores; status: {status}. Written by "
        "benches/soak.py (it replaces this section only).",
        "",
        f"Command: `{' '.join(shown)}` for {a.minutes:g} min, sampled every {a.interval:g} s. "
        f"The generator's event time advances {a.time_scale:g} s per wall second; "
        f"`retention` of `{os.path.relpath(a.config, REPO)}`: `{json.dumps(retention)}`.",
        "",
        table(["", ""], summary(a, samples, final)),
        "",
        f"![RSS and records read over time]({plot_name})",
        "",
        "Samples (RSS from /proc/PID/status, fds = entries of /proc/PID/fd, counters from "
        "`/metrics`, produced = the archive progress files' next offsets):",
        "",
    ]
    rows = [[f"{s['t']:.0f}", mib(s["rss"]), s["fds"], f"{s.get('read', 0):,}",
             f"{s.get('accepted', 0):,}", f"{s.get('rejected', 0):,}",
             f"{s['produced']:,}" if s.get("produced") is not None else "–",
             f"{s['events_per_second']:,.0f}" if s.get("events_per_second") is not None
             else "–"]
            for s in samples]
    lines += [table(["t (s)", "RSS (MiB)", "open fds", "read", "accepted", "rejected",
                     "produced", "events/s"], rows), ""]
    return lines


def write_section(path, lines):
    """Replaces the `## Soak` section of `path` (up to the next `## ` heading), or appends it."""
    text = open(path).read() if os.path.exists(path) else ""
    old = text.splitlines()
    start = next((i for i, l in enumerate(old) if l.strip() == f"## {SECTION}"), None)
    if start is None:
        new = old + ([""] if old and old[-1].strip() else []) + lines
    else:
        end = next((i for i in range(start + 1, len(old)) if old[i].startswith("## ")), len(old))
        new = old[:start] + lines + old[end:]
    with open(path, "w") as fh:
        fh.write("\n".join(new).rstrip("\n") + "\n")


def plot(samples, path, a):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    minutes = [s["t"] / 60 for s in samples]
    fig, left = plt.subplots(figsize=(9, 4.5))
    left.plot(minutes, [s["rss"] / 2**20 for s in samples], color="tab:blue", label="RSS")
    left.set_xlabel("wall time (min)")
    left.set_ylabel("RSS (MiB)", color="tab:blue")
    left.set_ylim(bottom=0)
    right = left.twinx()
    right.plot(minutes, [s.get("read", 0) / 1e6 for s in samples], color="tab:orange",
               label="records read")
    right.set_ylabel("records read (millions)", color="tab:orange")
    right.set_ylim(bottom=0)
    handles = left.get_lines() + right.get_lines()
    left.legend(handles, [h.get_label() for h in handles], loc="upper left")
    left.set_title(f"pulso run soak: {a.rate:,} records/s, time scale {a.time_scale:g}, "
                   f"{a.workers} workers")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.exists(a.pulso):
        sys.exit(f"{a.pulso} is missing: run benches/soak.sh (it builds it)")
    cmd, samples, final, status = run(a)
    if not samples:
        sys.exit(f"soak: no sample taken ({status}); see {os.path.join(a.work, 'pulso.log')}")
    with open(os.path.join(a.work, "samples.json"), "w") as fh:
        json.dump({"command": cmd, "samples": samples, "final": final, "status": status}, fh,
                  indent=1)
    plot(samples, a.plot, a)
    plot_name = os.path.relpath(a.plot, os.path.dirname(os.path.abspath(a.results)))
    write_section(a.results, section(a, cmd, samples, final, status, plot_name))
    print(f"soak: wrote the section \"{SECTION}\" of {a.results} and {a.plot} ({status})")
    if status != "ok":
        sys.exit(1)


if __name__ == "__main__":
    main()
