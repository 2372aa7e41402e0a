"""Runs one measured command: wall time, CPU seconds (user+sys) and peak RSS of its whole
process tree, with a timeout and a memory guard that kills the tree instead of letting the
machine swap or OOM."""
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Measured:
    """What a run did. `status` is ok | failed | timeout | memory-guard."""
    cmd: list
    status: str
    rc: int = None
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss: int = 0
    stdout: str = ""
    stderr_tail: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    def ok(self):
        return self.status == "ok"

    def reason(self):
        """A one-line reason for a run that did not succeed."""
        if self.status == "timeout":
            return f"timeout after {self.wall_s:.0f}s"
        if self.status == "memory-guard":
            return f"killed by the memory guard: {self.note}"
        tail = self.stderr_tail.strip().splitlines()[-3:]
        return f"exit {self.rc}: " + " | ".join(t.strip()[:200] for t in tail)


def tree(proc):
    try:
        return [proc] + proc.children(recursive=True)
    except psutil.Error:
        return [proc]


def high_water(q):
    """A process's peak RSS since it started its program (VmHWM; a new program starts a new
    count, unlike `ru_maxrss`, which a child inherits from the forking harness), or its RSS
    now when /proc does not say."""
    try:
        with open(f"/proc/{q.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return q.memory_info().rss
    except psutil.Error:
        return 0


def sample_tree(processes, cpu_seen):
    """(RSS now, sum of peak RSS) over `processes`; records each one's CPU time in `cpu_seen`."""
    rss = hwm = 0
    for q in processes:
        try:
            with q.oneshot():
                rss += q.memory_info().rss
                t = q.cpu_times()
                cpu_seen[q.pid] = t.user + t.system
            hwm += high_water(q)
        except psutil.Error:
            pass
    return rss, hwm


def kill_tree(pid):
    """Kills the process group started for `pid` (its own session), then any stragglers."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(cmd, *, timeout, mem_limit, log_path=None, env=None, cwd=None, sample_s=0.1):
    """Runs `cmd` in its own session; samples its process tree every `sample_s`.

    CPU time: the sum over the tree's processes of their last seen user+sys time, or the
    root's own rusage (which includes its reaped children) when larger. Peak RSS: the
    largest sum over the tree's live processes of their own peak RSS (VmHWM) at one sample,
    so a peak between two samples counts.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    err = open(log_path, "w") if log_path else subprocess.DEVNULL
    started = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=full_env, cwd=cwd,
                         start_new_session=True, text=True)
    root = psutil.Process(p.pid)
    cpu_seen, peak, status, note = {}, 0, None, ""
    out_chunks = []
    import threading
    reader = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()), daemon=True)
    reader.start()
    usage = None
    while True:
        done, wstatus, usage = os.wait4(p.pid, os.WNOHANG)
        if done:
            p.returncode = os.waitstatus_to_exitcode(wstatus)
            break
        rss, hwm = sample_tree(tree(root), cpu_seen)
        peak = max(peak, hwm)
        elapsed = time.perf_counter() - started
        if status is None and mem_limit and rss > mem_limit:
            status, note = "memory-guard", (f"process tree RSS {rss / 2**30:.1f} GiB > limit "
                                            f"{mem_limit / 2**30:.1f} GiB")
            kill_tree(p.pid)
        elif status is None and elapsed > timeout:
            status = "timeout"
            kill_tree(p.pid)
        time.sleep(sample_s)
    wall = time.perf_counter() - started
    kill_tree(p.pid)  # children left behind by a finished root (e.g. a JVM)
    reader.join(timeout=5)
    cpu = sum(cpu_seen.values())
    if usage is not None and status != "memory-guard":
        cpu = max(cpu, usage.ru_utime + usage.ru_stime)
    if log_path:
        err.close()
    tail = ""
    if log_path and os.path.exists(log_path):
        with open(log_path, errors="replace") as fh:
            tail = fh.read()[-4000:]
    if status is None:
        status = "ok" if p.returncode == 0 else "failed"
    return Measured(cmd=[str(c) for c in cmd], status=status, rc=p.returncode, wall_s=wall,
                    cpu_s=cpu, peak_rss=peak, stdout="".join(c or "" for c in out_chunks),
                    stderr_tail=tail, note=note)


def last_json(text):
    """The last line of `text` that parses as a JSON object, or {}."""
    import json
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return {}


def mem_available():
    """MemAvailable of the machine, in bytes."""
    return psutil.virtual_memory().available
