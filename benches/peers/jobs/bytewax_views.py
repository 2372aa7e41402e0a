"""Bytewax peer: `notification_rates` and `order_metrics` maintained incrementally by a
Bytewax dataflow (one worker), from the same generated records as Pulso.

Usage (in the Bytewax venv):
  python bytewax_views.py --data DIR --out DIR
      writes OUT/<view>.csv (canonical shape, see semantics.py) and prints one JSON line.

Bytewax has no retraction-aware operators, so the dataflow carries explicit (+1/-1)
changes, the way a Bytewax user maintains such views:
  decode (semantics.py) -> stateful dedup per (topic, key): emits -old/+new winner
  -> stateful entity state per notification/order: keeps its winning events, recomputes its
     summary and emits -old/+new contributions per view key (all three granularities)
  -> stateful sum per view key -> the latest rows, collected at the end.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import semantics as S  # noqa: E402

import bytewax.operators as op  # noqa: E402
from bytewax.dataflow import Dataflow  # noqa: E402
from bytewax.inputs import DynamicSource, StatelessSourcePartition  # noqa: E402
from bytewax.testing import run_main  # noqa: E402


class _Part(StatelessSourcePartition):
    def __init__(self, records, batch):
        self.records, self.batch, self.at = records, batch, 0

    def next_batch(self):
        if self.at >= len(self.records):
            raise StopIteration()
        chunk = self.records[self.at:self.at + self.batch]
        self.at += self.batch
        return chunk


class RecordsSource(DynamicSource):
    """(topic, raw value) records, in batches, split over workers by index."""

    def __init__(self, records, batch=1000):
        self.records, self.batch = records, batch

    def build(self, step_id, worker_index, worker_count):
        return _Part(self.records[worker_index::worker_count], self.batch)


def dedup(winner, fact):
    """Keeps the winning record of one (topic, key); emits the change of winner."""
    if winner is None:
        return fact, [(1, fact)]
    if S.dedup_better(fact, winner):
        return fact, [(-1, winner), (1, fact)]
    return winner, []


def entity(state, change):
    """Keeps one notification's or order's winning events and its current contributions;
    emits (-old, +new) contributions as (view, key, signed counts)."""
    sign, fact = change
    if state is None:
        state = ({}, [])
    events, old = state
    k = (fact[S.TOPIC], fact[S.KEY])
    if sign > 0:
        events[k] = fact
    else:
        events.pop(k, None)
    if fact[S.KIND] in ("send", "hook"):
        view = "n"
        summary = S.notification_summary(
            [f for f in events.values() if f[S.KIND] == "send"],
            [f for f in events.values() if f[S.KIND] == "hook"])
        new = S.notification_rows(*summary) if summary else []
    else:
        view = "o"
        summary = S.order_summary(
            [f for f in events.values() if f[S.KIND] == "created"],
            [f for f in events.values() if f[S.KIND] != "created"])
        new = S.order_rows(*summary) if summary else []
    if new == old:
        return (events, old), []
    out = [(view, key, tuple(-c for c in counts)) for key, counts in old]
    out += [(view, key, counts) for key, counts in new]
    return (events, new), out


def aggregate(total, change):
    """Sums the signed contributions of one view key; emits the key's current counts."""
    view, key, counts = change
    total = counts if total is None else tuple(a + b for a, b in zip(total, counts))
    return total, (view, key, total)


def build_flow(records, views):
    flow = Dataflow("pulso_peer_views")
    raw = op.input("records", flow, RecordsSource(records))
    facts = op.filter_map("decode", raw, lambda r: S.decode(r[0], r[1]))
    keyed = op.key_on("by_dedup_key", facts, lambda f: f[S.TOPIC] + "\x00" + f[S.KEY])
    winners = op.flat_map("winner_changes", op.stateful_map("dedup", keyed, dedup),
                          lambda kv: kv[1])
    by_entity = op.key_on("by_entity", winners,
                          lambda c: ("n" if c[1][S.KIND] in ("send", "hook") else "o")
                          + c[1][S.ENTITY])
    contributions = op.flat_map("contributions", op.stateful_map("entity", by_entity, entity),
                                lambda kv: kv[1])
    by_key = op.key_on("by_view_key", contributions, lambda c: c[0] + repr(c[1]))
    rows = op.stateful_map("aggregate", by_key, aggregate)

    def collect(_step, kv):
        view, key, counts = kv[1]
        views[view][key] = counts

    op.inspect("collect", rows, collect)
    return flow


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    t0 = time.perf_counter()
    records = S.interleaved(args.data)
    t1 = time.perf_counter()
    views = {"n": {}, "o": {}}
    run_main(build_flow(records, views))
    t2 = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    S.write_csv(os.path.join(args.out, "notification_rates.csv"), list(S.NOTIFICATION_KEY),
                list(S.NOTIFICATION_COLUMNS), views["n"])
    S.write_csv(os.path.join(args.out, "order_metrics.csv"), list(S.ORDER_KEY),
                list(S.ORDER_COLUMNS), views["o"])
    import importlib.metadata as md
    print(json.dumps({"engine": f"bytewax {md.version('bytewax')}", "read_s": t1 - t0,
                      "run_s": t2 - t1, "records": len(records), "workers": 1}), flush=True)


if __name__ == "__main__":
    main()
