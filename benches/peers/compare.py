"""Checks that a peer's views agree with Pulso's: reads Pulso's `OUT/views/<view>.parquet`
(plus the rows retention moved to `OUT/history/<view>/`)
and a peer's canonical CSV (see `semantics.write_csv`) and compares every row of
`notification_rates` and `order_metrics` on the key and the count/money columns (rates are
derived from those). Runs in the harness venv (needs pyarrow)."""
import csv
import glob
import os

from semantics import NOTIFICATION_KEY, NOTIFICATION_COLUMNS, ORDER_KEY, ORDER_COLUMNS

VIEWS = {
    "notification_rates": (NOTIFICATION_KEY, NOTIFICATION_COLUMNS,
                           ["sent", "delivered", "opened", "clicked", "converted", "bounced",
                            "hard_bounced", "failed", "fallback", "cost_total"]),
    "order_metrics": (ORDER_KEY, ORDER_COLUMNS,
                      ["orders_created", "orders_confirmed", "orders_cancelled",
                       "orders_pending", "revenue_confirmed_total", "revenue_lost_total",
                       "revenue_pending_total"]),
}


def _micros(ts):
    """A timestamp cell of pyarrow (datetime with tz) -> UTC microseconds."""
    import datetime
    delta = ts - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _cents(value):
    return int(value * 100) if not isinstance(value, int) else value * 100


def pulso_rows(views_dir, view):
    """{key: counts} of one of Pulso's whole views (snapshot and history), in the canonical
    shape."""
    import pyarrow.parquet as pq
    key_names, _, pulso_cols = VIEWS[view]
    # The whole view is the snapshot plus the rows retention expired into the history
    # (VIEWS.md, "Retention"): OUT/history/<view>/date=<day>/part-*.parquet.
    history = os.path.join(os.path.dirname(os.path.normpath(views_dir)), "history", view)
    paths = [os.path.join(views_dir, view + ".parquet")]
    paths += sorted(glob.glob(os.path.join(history, "**", "*.parquet"), recursive=True))
    table = [r for path in paths for r in pq.read_table(path).to_pylist()]
    rows = {}
    for r in table:
        key = tuple(_micros(r["window_start"]) if k == "window_start_us" else r[k]
                    for k in key_names)
        counts = tuple(_cents(r[c]) if c.endswith("_total") else r[c] for c in pulso_cols)
        rows[key] = counts
    return rows


def csv_rows(path, view):
    """{key: counts} of a peer's canonical CSV."""
    key_names, col_names, _ = VIEWS[view]
    rows = {}
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            key = tuple(int(r[k]) if k == "window_start_us" else r[k] for k in key_names)
            rows[key] = tuple(int(r[c]) for c in col_names)
    return rows


def compare(pulso_views_dir, peer_dir):
    """Compares both views; returns {view: {"agree": bool, "pulso_rows", "peer_rows",
    "missing", "extra", "different", "sample": [...], "totals": {...}}}."""
    result = {}
    for view, (key_names, col_names, _) in VIEWS.items():
        path = os.path.join(peer_dir, view + ".csv")
        if not os.path.exists(path):
            result[view] = {"agree": False, "error": f"no {view}.csv from the peer"}
            continue
        ours, theirs = pulso_rows(pulso_views_dir, view), csv_rows(path, view)
        missing = [k for k in ours if k not in theirs]
        extra = [k for k in theirs if k not in ours]
        different = [k for k in ours if k in theirs and ours[k] != theirs[k]]
        sample = []
        for k in (missing[:2] + extra[:2] + different[:3]):
            sample.append({"key": list(k), "pulso": ours.get(k), "peer": theirs.get(k)})
        day = lambda rows: [sum(c[i] for k, c in rows.items() if "day" in k)
                            for i in range(len(col_names))]
        result[view] = {
            "agree": not (missing or extra or different),
            "pulso_rows": len(ours), "peer_rows": len(theirs),
            "missing": len(missing), "extra": len(extra), "different": len(different),
            "sample": sample,
            "totals": {"columns": list(col_names), "pulso": day(ours), "peer": day(theirs)},
        }
    return result


def summary(result):
    """One line per view: 'agree (N rows)' or the counts of differences."""
    parts = []
    for view, r in result.items():
        if "error" in r:
            parts.append(f"{view}: {r['error']}")
        elif r["agree"]:
            parts.append(f"{view}: agree ({r['pulso_rows']} rows)")
        else:
            parts.append(f"{view}: DISAGREE ({r['missing']} missing, {r['extra']} extra, "
                         f"{r['different']} different of {r['pulso_rows']})")
    return "; ".join(parts)
