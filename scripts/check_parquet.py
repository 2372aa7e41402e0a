#!/usr/bin/env python3
"""Checks that every Parquet file Pulso wrote under a folder is readable by pyarrow and DuckDB.

    check_parquet.py DIR

Opens every `*.parquet` under DIR with pyarrow (pyarrow.parquet) and DuckDB and prints its
row count. When DIR is Hive-partitioned (a raw archive: `topic=…/date=…/part-….parquet`), it
also opens DIR as a whole with `pyarrow.dataset` (hive partitioning) and with DuckDB
`read_parquet('DIR/**/*.parquet', hive_partitioning=1)`, and checks the totals agree and the
partition columns match the `topic` column. Exits non-zero on any failure.
"""

import sys
from pathlib import Path


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} DIR", file=sys.stderr)
        return 2
    root = Path(sys.argv[1])
    try:
        import duckdb
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq
    except ImportError as e:
        print(f"FAIL: {e} (run scripts/pyenv.sh)", file=sys.stderr)
        return 1

    files = sorted(p for p in root.rglob("*.parquet") if p.is_file())
    if not files:
        print(f"FAIL: no *.parquet under {root}", file=sys.stderr)
        return 1
    failures = 0
    total = 0
    con = duckdb.connect()

    def fail(what: str, error: object) -> None:
        nonlocal failures
        failures += 1
        print(f"FAIL {what}: {error}", file=sys.stderr)

    for path in files:
        rel = path.relative_to(root)
        try:
            table = pq.read_table(path)
            rows = table.num_rows
        except Exception as e:  # noqa: BLE001 - report every failure
            fail(f"pyarrow {rel}", e)
            continue
        try:
            (duck_rows,) = con.execute(
                "SELECT count(*) FROM read_parquet(?)", [str(path)]
            ).fetchone()
        except Exception as e:  # noqa: BLE001
            fail(f"duckdb {rel}", e)
            continue
        if duck_rows != rows:
            fail(f"{rel}", f"pyarrow reads {rows} rows, duckdb {duck_rows}")
        total += rows
        print(f"{rel}: {rows} rows, {table.num_columns} columns")

    hive = any("=" in part for f in files for part in f.relative_to(root).parts[:-1])
    if hive:
        glob = str(root / "**" / "*.parquet")
        try:
            # Only the part files: not `_progress/`, nor `*.tmp` leftovers.
            dataset = ds.dataset(
                [str(f) for f in files],
                format="parquet",
                partitioning=ds.partitioning(
                    pa.schema([("topic", pa.string()), ("date", pa.string())]),
                    flavor="hive",
                ),
                partition_base_dir=str(root),
            )
            table = dataset.to_table()
            print(f"pyarrow.dataset (hive) {root}: {table.num_rows} rows, schema "
                  + ", ".join(f"{f.name}:{f.type}" for f in table.schema))
            if table.num_rows != total:
                fail("pyarrow.dataset", f"{table.num_rows} rows, files hold {total}")
        except Exception as e:  # noqa: BLE001
            fail("pyarrow.dataset", e)
        try:
            (rows, topics, dates, bad_dates) = con.execute(
                "SELECT count(*), count(DISTINCT topic), count(DISTINCT date),"
                " count(*) FILTER (WHERE strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m-%d')"
                " <> CAST(date AS VARCHAR))"
                " FROM read_parquet(?, hive_partitioning = 1)",
                [glob],
            ).fetchone()
            print(f"duckdb read_parquet('{glob}', hive_partitioning=1): {rows} rows,"
                  f" {topics} topics, {dates} dates")
            if rows != total:
                fail("duckdb hive", f"{rows} rows, files hold {total}")
            if bad_dates:
                fail("duckdb hive", f"{bad_dates} rows outside their date= directory")
        except Exception as e:  # noqa: BLE001
            fail("duckdb hive", e)

    print(f"{len(files)} files, {total} rows, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
