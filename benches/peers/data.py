"""Generated input folders: `pulso generate` once per (size, seed), cached under the work
folder, plus a "views subset" folder linking the three topic files that notification_rates
and order_metrics read (what the peers consume, and Pulso's same-views runs)."""
import json
import os
import subprocess

from semantics import TOPICS


def count_lines(path):
    """Lines (records) of a file."""
    n = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return n


def dataset(pulso, work, size, seed=1, log=print):
    """The folder of `pulso generate --scale size --seed seed` (made once) and its record
    counts: {"dir", "subset", "records", "subset_records", "bytes"}."""
    base = os.path.join(work, "data", f"n{size}-s{seed}")
    full, subset = os.path.join(base, "all"), os.path.join(base, "views-subset")
    meta = os.path.join(base, "meta.json")
    if os.path.exists(meta):
        with open(meta) as fh:
            return json.load(fh)
    os.makedirs(full, exist_ok=True)
    os.makedirs(subset, exist_ok=True)
    # No meta.json: whatever the folder holds is from an unfinished run (`pulso generate`
    # refuses a folder that holds topic files rather than append to them).
    for f in os.listdir(full):
        if f.endswith(".jsonl"):
            os.remove(os.path.join(full, f))
    log(f"generating {size} records (seed {seed}) into {full}")
    subprocess.run([pulso, "generate", "--out", full, "--seed", str(seed), "--scale", str(size)],
                   check=True, stdout=subprocess.DEVNULL)
    for t in TOPICS:
        link = os.path.join(subset, t + ".jsonl")
        if not os.path.islink(link):
            os.symlink(os.path.join("..", "all", t + ".jsonl"), link)
    files = [f for f in os.listdir(full) if f.endswith(".jsonl")]
    records = sum(count_lines(os.path.join(full, f)) for f in files)
    sub = sum(count_lines(os.path.join(full, t + ".jsonl")) for t in TOPICS
              if os.path.exists(os.path.join(full, t + ".jsonl")))
    size_bytes = sum(os.path.getsize(os.path.join(full, f)) for f in files)
    info = {"size": size, "seed": seed, "dir": full, "subset": subset, "records": records,
            "subset_records": sub, "bytes": size_bytes}
    with open(meta, "w") as fh:
        json.dump(info, fh)
    return info
