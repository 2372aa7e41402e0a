"""Pathway peer: `notification_rates` and `order_metrics` maintained incrementally by Pathway
(differential dataflow underneath), from the same generated records as Pulso.

Usage (in the Pathway venv; PATHWAY_THREADS sets its worker threads):
  python pathway_views.py --data DIR --out DIR
      reads the three topic files once (interleaved like `pulso replay`), writes
      OUT/<view>.csv (canonical shape) and prints one JSON line of timings.
  python pathway_views.py --data DIR --out DIR --rate 50000 --epoch 1000 --seconds 10
      latency mode: feeds the records at RATE records/s in commits of EPOCH records and
      reports p50/p99 of the time from each commit to both views being updated.

Decoding/validation is semantics.py (Python) inside the input connector; dedup, cohorts and
aggregates are Pathway operators (groupby/argmin/ix/join/reduce), so retractions (a better
duplicate, an earlier send, a later decision) flow through as in Pulso.
"""
import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import semantics as S  # noqa: E402

import pathway as pw  # noqa: E402

OFFSET = 1 << 62  # makes microsecond times non-negative and fixed-width in sort keys


class Fact(pw.Schema):
    """A decoded, accepted record (see semantics.decode), flattened."""
    topic: str
    dkey: str
    dedup_order: str   # (timestamp, raw text) as one sortable string
    order: str         # (timestamp, event_id) as one sortable string
    ts: int
    kind: str
    entity: str
    tenant: str
    channel: str
    provider: str
    fallback: int
    cost: int
    delivered: int
    opened: int
    clicked: int
    converted: int
    bounced: int
    hard: int
    failed: int
    total: int


def fact_row(f):
    """The Fact columns of a semantics fact tuple."""
    ts20 = "%020d" % (f[S.TS] + OFFSET)
    kind = f[S.KIND]
    row = dict(topic=f[S.TOPIC], dkey=f[S.KEY], dedup_order=ts20 + f[S.RAW],
               order=ts20 + f[S.EVENT_ID], ts=f[S.TS], kind=kind, entity=f[S.ENTITY],
               tenant=f[S.TENANT], channel="", provider="", fallback=0, cost=0, delivered=0,
               opened=0, clicked=0, converted=0, bounced=0, hard=0, failed=0, total=0)
    if kind == "send":
        row.update(channel=f[8], provider=f[9], fallback=f[10], cost=f[11][0], failed=f[11][1])
    elif kind == "hook":
        row[f[8]] = 1
        row["hard"] = f[9]
    elif kind == "created":
        # An order's currency rides in `channel` (order_metrics is per currency).
        row.update(total=f[8], channel=f[9])
    return row


class Feeder(pw.io.python.ConnectorSubject):
    """Decodes the records and sends the accepted ones; in paced mode, commits every `epoch`
    records at `rate` records/s and notes each commit's wall time and cumulative count."""

    def __init__(self, records, rate=None, epoch=1000, seconds=None):
        super().__init__()
        self.records, self.rate, self.epoch, self.seconds = records, rate, epoch, seconds
        self.commits = []  # (due wall time, accepted facts so far)
        self.accepted = 0
        self.done_at = None
        self.seen = 0  # accepted facts counted by the engine so far (paced mode)
        self.seen_changed = threading.Condition()

    def counted(self, n):
        """Called by the count subscription: the engine has absorbed `n` facts."""
        with self.seen_changed:
            self.seen = max(self.seen, n)
            self.seen_changed.notify_all()

    @property
    def _deletions_enabled(self):
        return False

    def run(self):
        records = self.records
        if self.rate is None:
            for topic, value in records:
                f = S.decode(topic, value)
                if f is not None:
                    self.next(**fact_row(f))
                    self.accepted += 1
            self.commit()
            self.done_at = time.perf_counter()
            return
        # A warm-up commit fed at once; the schedule starts once the engine has absorbed it.
        for topic, value in records[:self.epoch]:
            f = S.decode(topic, value)
            if f is not None:
                self.next(**fact_row(f))
                self.accepted += 1
        self.commit()
        with self.seen_changed:
            self.seen_changed.wait_for(lambda: self.seen >= self.accepted, timeout=60)
        records = records[self.epoch:]
        start = time.perf_counter()
        self.started = start
        limit = len(records) if self.seconds is None else min(
            len(records), int(self.rate * self.seconds))
        for k, i in enumerate(range(0, limit, self.epoch)):
            due = start + min(i + self.epoch, limit) / self.rate
            for topic, value in records[i:i + self.epoch]:
                f = S.decode(topic, value)
                if f is not None:
                    self.next(**fact_row(f))
                    self.accepted += 1
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            self.commit()
            self.commits.append((due, self.accepted))
        self.done_at = time.perf_counter()


def build(facts):
    """Both views from the accepted facts."""
    best = facts.groupby(pw.this.topic, pw.this.dkey).reduce(
        wid=pw.reducers.argmin(pw.this.dedup_order))
    winners = facts.ix(best.wid)

    sends = winners.filter(pw.this.kind == "send")
    first = sends.groupby(pw.this.entity).reduce(wid=pw.reducers.argmin(pw.this.order))
    first = sends.ix(first.wid)
    notes = winners.filter((pw.this.kind == "send") | (pw.this.kind == "hook"))
    flags = notes.groupby(pw.this.entity).reduce(
        pw.this.entity,
        delivered=pw.reducers.max(pw.this.delivered), opened=pw.reducers.max(pw.this.opened),
        clicked=pw.reducers.max(pw.this.clicked), converted=pw.reducers.max(pw.this.converted),
        bounced=pw.reducers.max(pw.this.bounced), hard=pw.reducers.max(pw.this.hard),
        failed=pw.reducers.max(pw.this.failed))
    cohort = first.join(flags, first.entity == flags.entity).select(
        first.tenant, first.channel, first.provider, first.ts, first.fallback, first.cost,
        flags.delivered, flags.opened, flags.clicked, flags.converted, flags.bounced,
        flags.hard, flags.failed)

    created = winners.filter(pw.this.kind == "created")
    firstc = created.groupby(pw.this.entity).reduce(wid=pw.reducers.argmin(pw.this.order))
    created = created.ix(firstc.wid)
    decisions = winners.filter((pw.this.kind == "confirmed") | (pw.this.kind == "cancelled"))
    lastd = decisions.groupby(pw.this.entity).reduce(wid=pw.reducers.argmax(pw.this.order))
    lastd = decisions.ix(lastd.wid)
    orders = created.join_left(lastd, created.entity == lastd.entity).select(
        created.tenant, created.ts, created.total, currency=created.channel,
        status=pw.coalesce(lastd.kind, "pending"))

    def fan_out(table):
        parts = [table.with_columns(granularity=g, window_start_us=pw.this.ts - pw.this.ts % size)
                 for g, size in S.GRANULARITIES]
        return pw.Table.concat_reindex(*parts)

    rates = fan_out(cohort).groupby(
        pw.this.tenant, pw.this.channel, pw.this.provider, pw.this.granularity,
        pw.this.window_start_us).reduce(
        tenant_id=pw.this.tenant, channel=pw.this.channel, provider=pw.this.provider,
        granularity=pw.this.granularity, window_start_us=pw.this.window_start_us,
        sent=pw.reducers.count(), delivered=pw.reducers.sum(pw.this.delivered),
        opened=pw.reducers.sum(pw.this.opened), clicked=pw.reducers.sum(pw.this.clicked),
        converted=pw.reducers.sum(pw.this.converted), bounced=pw.reducers.sum(pw.this.bounced),
        hard_bounced=pw.reducers.sum(pw.this.hard), failed=pw.reducers.sum(pw.this.failed),
        fallback=pw.reducers.sum(pw.this.fallback), cost_total_cents=pw.reducers.sum(pw.this.cost))

    orders = orders.with_columns(
        c=pw.if_else(pw.this.status == "confirmed", 1, 0),
        x=pw.if_else(pw.this.status == "cancelled", 1, 0),
        p=pw.if_else(pw.this.status == "pending", 1, 0))
    metrics = fan_out(orders).groupby(
        pw.this.tenant, pw.this.currency, pw.this.granularity, pw.this.window_start_us).reduce(
        tenant_id=pw.this.tenant, currency=pw.this.currency, granularity=pw.this.granularity,
        window_start_us=pw.this.window_start_us,
        orders_created=pw.reducers.count(), orders_confirmed=pw.reducers.sum(pw.this.c),
        orders_cancelled=pw.reducers.sum(pw.this.x), orders_pending=pw.reducers.sum(pw.this.p),
        revenue_confirmed_cents=pw.reducers.sum(pw.this.c * pw.this.total),
        revenue_lost_cents=pw.reducers.sum(pw.this.x * pw.this.total),
        revenue_pending_cents=pw.reducers.sum(pw.this.p * pw.this.total))
    return rates, metrics


class Collector:
    """Keeps a view's current rows from its change stream, and the wall time each Pathway
    time closed."""

    def __init__(self, key_names, col_names):
        self.key_names, self.col_names = key_names, col_names
        self.rows = {}
        self.closed = []  # (pathway time, wall time)

    def on_change(self, key, row, time, is_addition):
        k = tuple(row[n] for n in self.key_names)
        if is_addition:
            self.rows[k] = tuple(row[n] for n in self.col_names)
        elif self.rows.get(k) == tuple(row[n] for n in self.col_names):
            del self.rows[k]

    def on_time_end(self, t):
        self.closed.append((t, time.perf_counter()))


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--rate", type=float, default=None, help="latency mode: records/s")
    p.add_argument("--epoch", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()

    t0 = time.perf_counter()
    records = S.interleaved(args.data)
    t_read = time.perf_counter() - t0
    feeder = Feeder(records, args.rate, args.epoch, args.seconds if args.rate else None)
    facts = pw.io.python.read(feeder, schema=Fact,
                              autocommit_duration_ms=None if args.rate else 1000)
    rates, metrics = build(facts)
    cr = Collector(list(S.NOTIFICATION_KEY), list(S.NOTIFICATION_COLUMNS))
    cm = Collector(list(S.ORDER_KEY), list(S.ORDER_COLUMNS))
    counts = []  # (pathway time, accepted so far)
    pw.io.subscribe(rates, on_change=cr.on_change, on_time_end=cr.on_time_end)
    pw.io.subscribe(metrics, on_change=cm.on_change, on_time_end=cm.on_time_end)
    if args.rate:
        total = facts.reduce(n=pw.reducers.count())
        def on_count(key, row, time, is_addition):
            if is_addition:
                counts.append((time, row["n"]))
                feeder.counted(row["n"])
        pw.io.subscribe(total, on_change=on_count)
    t1 = time.perf_counter()
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    t2 = time.perf_counter()
    result = {"engine": f"pathway {pw.__version__}", "read_s": t_read, "run_s": t2 - t1,
              "records": len(records), "accepted": feeder.accepted,
              "threads": os.environ.get("PATHWAY_THREADS", "1")}
    if args.rate is None:
        S.write_csv(os.path.join(args.out, "notification_rates.csv"), list(S.NOTIFICATION_KEY),
                    list(S.NOTIFICATION_COLUMNS), cr.rows)
        S.write_csv(os.path.join(args.out, "order_metrics.csv"), list(S.ORDER_KEY),
                    list(S.ORDER_COLUMNS), cm.rows)
    else:
        # A commit's views are updated once the count reached its facts and both views
        # closed a Pathway time at or after the count's (a conservative bound).
        lat = []
        for due, accepted in feeder.commits:
            t_count = next((t for t, n in counts if n >= accepted), None)
            if t_count is None:
                continue
            ends = []
            for c in (cr, cm):
                end = next((w for t, w in c.closed if t >= t_count), None)
                ends.append(end)
            if None not in ends:
                lat.append(max(ends) - due)
        fed = min(len(records) - args.epoch, int(args.rate * args.seconds))
        elapsed = feeder.done_at - feeder.started if feeder.commits else 0
        result.update(rate=args.rate, epoch=args.epoch, commits=len(feeder.commits),
                      samples=len(lat), p50_s=percentile(lat, 0.5), p99_s=percentile(lat, 0.99),
                      achieved_rate=fed / elapsed if elapsed else 0)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
