"""Flink peer: `notification_rates` and `order_metrics` maintained by a PyFlink streaming job
on Flink's local mini-cluster (the machine's JDK 17), from the same generated records.

Usage (in the Flink venv):
  python flink_views.py --data DIR --out DIR [--parallelism 1]
      writes OUT/<view>.csv (canonical shape, see semantics.py) and prints one JSON line with
      the JVM start time apart from the job time.

The three topic files are read by Flink's filesystem connector with the `raw` format into a
BYTES column (one record per line, bytes untouched); a Python table function runs
semantics.decode (validation as Pulso's decoder); the rest is Flink SQL in streaming mode,
with retractions: Top-N (ROW_NUMBER) for dedup, earliest send/creation and latest decision,
MAX for the notification flags, joins, and GROUP BY sums per view key. Both views leave the
job as one changelog through the `print` sink (mini-batch enabled to thin it), read back
by the driver once the job is done.
Deviation: the dedup tie-break compares the raw text as Java strings (UTF-16 order), which
differs from byte order only between supplementary and U+E000..U+FFFF characters.
"""
import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import semantics as S  # noqa: E402

FACT_FIELDS = [
    ("topic", "STRING"), ("dkey", "STRING"), ("ts", "BIGINT"), ("rawline", "STRING"),
    ("kind", "STRING"), ("entity", "STRING"), ("event_id", "STRING"), ("tenant", "STRING"),
    ("channel", "STRING"), ("provider", "STRING"), ("fallback", "INT"), ("cost", "BIGINT"),
    ("delivered", "INT"), ("opened", "INT"), ("clicked", "INT"), ("converted", "INT"),
    ("bounced", "INT"), ("hard", "INT"), ("failed", "INT"), ("total", "BIGINT"),
]


def fact_values(f):
    """The FACT_FIELDS values of a semantics fact tuple."""
    kind = f[S.KIND]
    channel = provider = ""
    fallback = cost = failed = hard = total = 0
    flags = {"delivered": 0, "opened": 0, "clicked": 0, "converted": 0, "bounced": 0}
    if kind == "send":
        channel, provider, fallback, cost, failed = f[8], f[9], f[10], f[11][0], f[11][1]
    elif kind == "hook":
        if f[8] == "failed":
            failed = 1
        else:
            flags[f[8]] = 1
        hard = f[9]
    elif kind == "created":
        # An order's currency rides in the `channel` field (order_metrics is per currency).
        total, channel = f[8], f[9]
    return (f[S.TOPIC], f[S.KEY], f[S.TS], f[S.RAW], kind, f[S.ENTITY], f[S.EVENT_ID],
            f[S.TENANT], channel, provider, fallback, cost, flags["delivered"], flags["opened"],
            flags["clicked"], flags["converted"], flags["bounced"], hard, failed, total)


VIEWS_SQL = """
CREATE TEMPORARY VIEW winners AS
SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY topic, dkey ORDER BY ts, rawline) AS rn
               FROM facts) WHERE rn = 1;
CREATE TEMPORARY VIEW first_send AS
SELECT * FROM (SELECT entity, tenant, channel, provider, ts, fallback, cost,
                      ROW_NUMBER() OVER (PARTITION BY entity ORDER BY ts, event_id, rawline) AS rn
               FROM winners WHERE kind = 'send') WHERE rn = 1;
CREATE TEMPORARY VIEW flags AS
SELECT entity, MAX(delivered) AS delivered, MAX(opened) AS opened, MAX(clicked) AS clicked,
       MAX(converted) AS converted, MAX(bounced) AS bounced, MAX(hard) AS hard,
       MAX(failed) AS failed
FROM winners WHERE kind IN ('send', 'hook') GROUP BY entity;
CREATE TEMPORARY VIEW cohort AS
SELECT s.tenant, s.channel, s.provider, s.ts, s.fallback, s.cost, f.delivered, f.opened,
       f.clicked, f.converted, f.bounced, f.hard, f.failed
FROM first_send s JOIN flags f ON s.entity = f.entity;
CREATE TEMPORARY VIEW created AS
SELECT * FROM (SELECT entity, tenant, channel AS currency, ts, total,
                      ROW_NUMBER() OVER (PARTITION BY entity ORDER BY ts, event_id, rawline) AS rn
               FROM winners WHERE kind = 'created') WHERE rn = 1;
CREATE TEMPORARY VIEW decision AS
SELECT * FROM (SELECT entity, kind,
                      ROW_NUMBER() OVER (PARTITION BY entity ORDER BY ts DESC, event_id DESC,
                                         rawline DESC) AS rn
               FROM winners WHERE kind IN ('confirmed', 'cancelled')) WHERE rn = 1;
CREATE TEMPORARY VIEW orders AS
SELECT c.tenant, c.currency, c.ts, c.total,
       CASE WHEN d.kind = 'confirmed' THEN 1 ELSE 0 END AS c,
       CASE WHEN d.kind = 'cancelled' THEN 1 ELSE 0 END AS x,
       CASE WHEN d.kind IS NULL THEN 1 ELSE 0 END AS p
FROM created c LEFT JOIN decision d ON c.entity = d.entity
"""


def fan_out(source, cols):
    """UNION ALL of `source` at the three granularities, with granularity and window_start."""
    parts = [f"SELECT {cols}, '{g}' AS granularity, ts - MOD(ts, CAST({size} AS BIGINT)) AS ws "
             f"FROM {source}" for g, size in S.GRANULARITIES]
    return " UNION ALL ".join(parts)


RESULT_SQL = f"""
SELECT 'n' AS v, tenant, channel, provider, granularity, ws,
       COUNT(*) AS a1, SUM(delivered) AS a2, SUM(opened) AS a3, SUM(clicked) AS a4,
       SUM(converted) AS a5, SUM(bounced) AS a6, SUM(hard) AS a7, SUM(failed) AS a8,
       SUM(fallback) AS a9, SUM(cost) AS a10
FROM ({fan_out('cohort', 'tenant, channel, provider, ts, fallback, cost, delivered, opened, clicked, converted, bounced, hard, failed')})
GROUP BY tenant, channel, provider, granularity, ws
UNION ALL
SELECT 'o' AS v, tenant, currency AS channel, '' AS provider, granularity, ws,
       COUNT(*) AS a1, SUM(c) AS a2, SUM(x) AS a3, SUM(p) AS a4,
       SUM(c * total) AS a5, SUM(x * total) AS a6, SUM(p * total) AS a7,
       0 AS a8, 0 AS a9, CAST(0 AS BIGINT) AS a10
FROM ({fan_out('orders', 'tenant, currency, ts, total, c, x, p')})
GROUP BY tenant, currency, granularity, ws
"""


CHANGE = re.compile(r"V(?::\d+)?> ([+-][IUD])\[(.*)\]$")


def read_changelog(path):
    """The final rows of both views from the printed changelog (`V> +I[n, acme, ...]`):
    inserts and update-afters set a key's row, deletes and update-befores remove it.
    Values are split on ", " (no generated tenant or provider contains one)."""
    views, changes = {"n": {}, "o": {}}, 0
    with open(path, errors="replace") as fh:
        for line in fh:
            m = CHANGE.match(line.rstrip("\n"))
            if not m:
                continue
            changes += 1
            r = m.group(2).split(", ")
            if r[0] == "n":
                key = (r[1], r[2], r[3], r[4], int(r[5]))
                counts = tuple(int(x) for x in r[6:16])
            else:
                key = (r[1], r[2], r[4], int(r[5]))
                counts = tuple(int(x) for x in r[6:13])
            if m.group(1) in ("+I", "+U"):
                views[r[0]][key] = counts
            elif views[r[0]].get(key) == counts:
                del views[r[0]][key]
    return views, changes


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--parallelism", type=int, default=1)
    args = p.parse_args()

    os.makedirs(args.out, exist_ok=True)
    changelog = os.path.join(args.out, "changelog.txt")
    t0 = time.perf_counter()
    from pyflink.table import EnvironmentSettings, TableEnvironment, DataTypes
    from pyflink.table.udf import udtf
    # The JVM inherits this process's stdout: point it at the changelog file.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    fd = os.open(changelog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.close(fd)
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t1 = time.perf_counter()
    conf = env.get_config()
    conf.set("parallelism.default", str(args.parallelism))
    conf.set("table.exec.mini-batch.enabled", "true")
    conf.set("table.exec.mini-batch.allow-latency", "2 s")
    conf.set("table.exec.mini-batch.size", "20000")
    conf.set("python.fn-execution.bundle.size", "10000")
    conf.set("python.executable", sys.executable)
    conf.set("python.client.executable", sys.executable)
    conf.set("python.files", os.path.join(HERE, "..", "semantics.py"))

    types = {"STRING": DataTypes.STRING(), "BIGINT": DataTypes.BIGINT(), "INT": DataTypes.INT()}

    @udtf(result_types=[types[t] for _, t in FACT_FIELDS])
    def decode(topic, line):
        import semantics as SS
        f = SS.decode(topic, line)
        if f is not None:
            yield fact_values(f)

    env.create_temporary_function("pulso_decode", decode)
    sources = []
    for i, topic in enumerate(S.TOPICS):
        path = os.path.join(os.path.realpath(args.data), topic + ".jsonl")
        if not os.path.exists(path):
            continue
        env.execute_sql(f"""CREATE TEMPORARY TABLE src{i} (line BYTES) WITH (
            'connector' = 'filesystem', 'path' = 'file://{path}', 'format' = 'raw')""")
        sources.append(f"SELECT '{topic}' AS topic, line FROM src{i}")
    env.create_temporary_view("src", env.sql_query(" UNION ALL ".join(sources)))
    names = ", ".join(n for n, _ in FACT_FIELDS)
    env.create_temporary_view("facts", env.sql_query(
        f"SELECT {', '.join('T.' + n for n, _ in FACT_FIELDS)} FROM src, "
        f"LATERAL TABLE(pulso_decode(src.topic, src.line)) AS T({names})"))
    for stmt in VIEWS_SQL.split(";"):
        if stmt.strip():
            env.execute_sql(stmt)
    # Both views leave the job through Flink's `print` sink (the changelog, printed by the
    # JVM), not through PyFlink's result iterator, which costs a Py4J round trip per row.
    cols = ", ".join(f"a{i} BIGINT" for i in range(1, 11))
    env.execute_sql(f"""CREATE TEMPORARY TABLE changes (v STRING, tenant STRING,
        channel STRING, provider STRING, granularity STRING, ws BIGINT, {cols})
        WITH ('connector' = 'print', 'print-identifier' = 'V')""")
    env.execute_sql("INSERT INTO changes " + RESULT_SQL).wait()
    t2 = time.perf_counter()
    sys.stdout.flush()
    os.dup2(saved_stdout, 1)
    views, changes = read_changelog(changelog)
    os.makedirs(args.out, exist_ok=True)
    S.write_csv(os.path.join(args.out, "notification_rates.csv"), list(S.NOTIFICATION_KEY),
                list(S.NOTIFICATION_COLUMNS), views["n"])
    S.write_csv(os.path.join(args.out, "order_metrics.csv"), list(S.ORDER_KEY),
                list(S.ORDER_COLUMNS), views["o"])
    import importlib.metadata as md
    print(json.dumps({"engine": f"flink {md.version('apache-flink')} (PyFlink, mini-cluster)",
                      "jvm_start_s": t1 - t0, "job_s": t2 - t1, "changes": changes,
                      "parallelism": args.parallelism}), flush=True)


if __name__ == "__main__":
    main()
