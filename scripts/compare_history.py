#!/usr/bin/env python3
"""Checks with DuckDB that a run's Parquet snapshot and history together are a whole view.

    compare_history.py RETAINED_OUT WHOLE_VIEWS_DIR

For every view that has history (notification_rates, notification_bounces, order_metrics,
sla_compliance, timelines): the rows of RETAINED_OUT/views/<view>.parquet together with those
of RETAINED_OUT/history/<view>/date=*/part-*.parquet must be exactly the rows of
WHOLE_VIEWS_DIR/<view>.parquet (a run without retention), as multisets. Exits non-zero on any
difference, printing a few.
"""

import sys
from pathlib import Path

VIEWS = ["notification_rates", "notification_bounces", "order_metrics", "sla_compliance", "timelines"]


def main() -> int:
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} RETAINED_OUT WHOLE_VIEWS_DIR", file=sys.stderr)
        return 2
    import duckdb

    out, whole = Path(sys.argv[1]), Path(sys.argv[2])
    con = duckdb.connect()
    failures = 0
    for view in VIEWS:
        snapshot = f"read_parquet('{out / 'views' / (view + '.parquet')}')"
        parts = sorted((out / "history" / view).glob("date=*/part-*.parquet"))
        if parts:
            files = ", ".join(f"'{p}'" for p in parts)
            retained = f"(SELECT * FROM {snapshot} UNION ALL SELECT * FROM read_parquet([{files}], hive_partitioning=false))"
        else:
            retained = f"(SELECT * FROM {snapshot})"
        expected = f"read_parquet('{whole / (view + '.parquet')}')"
        missing = con.execute(f"SELECT * FROM {expected} EXCEPT ALL SELECT * FROM {retained}").fetchall()
        extra = con.execute(f"SELECT * FROM {retained} EXCEPT ALL SELECT * FROM {expected}").fetchall()
        rows = con.execute(f"SELECT count(*) FROM {expected}").fetchone()[0]
        in_history = con.execute(
            f"SELECT count(*) FROM {retained}"
        ).fetchone()[0] - con.execute(f"SELECT count(*) FROM {snapshot}").fetchone()[0]
        print(f"{view}: {rows} rows, {in_history} from history, {len(missing)} missing, {len(extra)} extra")
        for row in missing[:3]:
            print(f"  missing {row}")
        for row in extra[:3]:
            print(f"  extra {row}")
        failures += len(missing) + len(extra)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
