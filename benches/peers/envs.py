"""Python virtual environments of the peers, under build/ (created on first use, idempotent).

Each peer gets its own venv, since their dependency pins conflict (Pathway, PyFlink and
Bytewax pin different pyarrow/numpy/protobuf ranges). A peer whose install fails is
recorded as "failed: <reason>" by the caller instead of stopping the run.
"""
import os
import shutil
import subprocess
import sys

# name -> (venv folder under build/, pip packages, module that must import afterwards)
PEERS = {
    "duckdb": ("venv-bench", ["psutil", "duckdb", "pyarrow", "confluent-kafka"], "duckdb"),
    "pathway": ("venv-pathway", ["pathway"], "pathway"),
    "bytewax": ("venv-bytewax", ["bytewax"], "bytewax"),
    "flink": ("venv-flink", ["apache-flink"], "pyflink.table"),
}


class EnvError(Exception):
    """A peer's environment could not be made."""


def _python(build, name):
    return os.path.join(build, PEERS[name][0], "bin", "python")


def _imports(py, module):
    return subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0


def java_version():
    """The `java -version` line of the machine's JDK, or None."""
    if not shutil.which("java"):
        return None
    r = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return (r.stderr or r.stdout).splitlines()[0] if r.returncode == 0 else None


def ensure_java(log):
    """JDK 17 for PyFlink: installs Debian's openjdk-17-jre-headless when java is missing and
    we are root. Returns the version line or raises EnvError."""
    v = java_version()
    if v:
        return v
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EnvError("no java on PATH (install a JDK 17)")
    with open(log, "a") as fh:
        for cmd in (["apt-get", "update"],
                    ["apt-get", "install", "-y", "openjdk-17-jre-headless"]):
            subprocess.run(cmd, stdout=fh, stderr=fh, env=dict(os.environ,
                           DEBIAN_FRONTEND="noninteractive"))
    v = java_version()
    if not v:
        raise EnvError(f"installing openjdk-17-jre-headless failed (see {log})")
    return v


def ensure(build, name, logs):
    """The python of peer `name`'s venv, creating and filling it when needed."""
    folder, packages, module = PEERS[name]
    py = _python(build, name)
    if os.path.exists(py) and _imports(py, module):
        return py
    log = os.path.join(logs, f"pip-{name}.log")
    with open(log, "a") as fh:
        if not os.path.exists(py):
            r = subprocess.run([sys.executable, "-m", "venv", os.path.join(build, folder)],
                               stdout=fh, stderr=fh)
            if r.returncode != 0:
                raise EnvError(f"python -m venv failed (see {log})")
        r = subprocess.run([py, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
                           + packages, stdout=fh, stderr=fh)
    if r.returncode != 0 or not _imports(py, module):
        with open(log, errors="replace") as fh:
            tail = [line.strip() for line in fh.read().splitlines() if line.strip()][-1:]
        raise EnvError(f"pip install {' '.join(packages)} failed: {' '.join(tail)[:200]}")
    return py


def version(py, dist):
    """The installed version of distribution `dist` in the venv of `py`."""
    r = subprocess.run([py, "-c", f"import importlib.metadata as m; print(m.version('{dist}'))"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "?"
