"""The view semantics of VIEWS.md / EVENTS.md for `notification_rates` and `order_metrics`,
in plain Python (standard library only), shared by the Python peers (Pathway, Bytewax, Flink).

This module is imported by jobs running in *different* virtual environments, so it must not
import anything outside the standard library.

What it implements, following Pulso's decoder (events/src/decode) and oracle (oracle/src):
- decoding and validation of the three topics those views read (`notifications.events`,
  `orders.events`, `notificaciones.enviadas`): size limit, strict UTF-8 JSON, object, version
  checks, required fields (`null` = absent), field types/enums/ranges, money in exact cents
  (round half away from zero), RFC 3339 timestamps with a zone, tenant default `"default"`,
  Conecta360 tenant `"conecta360"` and id `c360-<notificacion_id>`;
- deduplication per `(topic, idempotency key)`: the least `(timestamp, raw value bytes)` wins
  (comparing the decoded text compares the UTF-8 bytes: UTF-8 preserves code point order);
- the send-time cohort of a notification (earliest send by `(timestamp, event_id)`), distinct
  notification flags, fallback, cost of the earliest send;
- orders: earliest `ORDER_CREATED` by `(timestamp, event_id)`, status of the latest
  confirm/cancel by `(timestamp, event_id)`;
- windows at minute/hour/day, floored in UTC.

Known approximation (documented in RESULTS.md): ties on `(timestamp, event_id)` between two
*different* events are broken by the whole event in Pulso; here by the raw text. Such ties
need two events sharing an event id across topics, which the generator never produces.
"""
import json
import re
from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from datetime import date

TOPICS = ("notifications.events", "orders.events", "notificaciones.enviadas")
MAX_RECORD_BYTES = 1 << 20
CHANNELS = frozenset(("EMAIL", "SMS", "PUSH", "WHATSAPP"))
CATEGORIES = frozenset(("TRANSACTIONAL", "MARKETING"))
TIPOS = frozenset(("CREACION", "ASIGNACION", "ACTUALIZACION", "CIERRE"))
WEBHOOKS = {
    "NOTIFICATION_DELIVERED": "delivered",
    "NOTIFICATION_OPENED": "opened",
    "NOTIFICATION_CLICKED": "clicked",
    "NOTIFICATION_CONVERTED": "converted",
    "NOTIFICATION_BOUNCED": "bounced",
    "NOTIFICATION_FAILED": "failed",
}
GRANULARITIES = (("minute", 60_000_000), ("hour", 3_600_000_000), ("day", 86_400_000_000))
I64_MAX = (1 << 63) - 1

_TS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z")
_TENANT = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")
_VERSION = re.compile(r"([0-9]+)\.[0-9]+\Z")
_NUMERO_CASO = re.compile(r"CRV-[0-9]{4}-[0-9]{8}\Z")
_CURRENCY = re.compile(r"[A-Za-z]{3}\Z")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_CENT = Decimal("0.01")

# A decoded record ("fact"): a tuple, for speed and easy pickling across engines.
# (topic, dedup_key, ts_micros, raw_text, kind, entity, event_id, tenant, a, b, c, d)
#   kind "send":   a=channel, b=provider, c=fallback (0/1), d=(cost_cents, failed 0/1)
#   kind "hook":   a=outcome (delivered|opened|clicked|converted|bounced|failed), b=hard (0/1)
#   kind "created": a=total_cents; kind "confirmed"/"cancelled": no extras
TOPIC, KEY, TS, RAW, KIND, ENTITY, EVENT_ID, TENANT = range(8)


class Reject(Exception):
    """A record Pulso would send to its dead-letter topic."""


def _no_constants(name):
    raise Reject("non-JSON constant " + name)


# One decoder for all records: exact decimals for money, no NaN/Infinity (not JSON).
_JSON = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)


_DAYS = {}


def _days(y, mo, d):
    """Days since 1970-01-01 of a calendar date (cached: event times share few dates)."""
    key = (y, mo, d)
    days = _DAYS.get(key)
    if days is None:
        try:
            days = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORDINAL
        except ValueError:
            raise Reject("timestamp out of range")
        if len(_DAYS) < 100_000:
            _DAYS[key] = days
    return days


def parse_time(text):
    """RFC 3339 with a zone -> UTC microseconds (sub-microsecond digits truncated)."""
    if not isinstance(text, str):
        raise Reject("timestamp not a string")
    m = _TS.match(text)
    if not m:
        raise Reject("timestamp not RFC 3339")
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    days = _days(y, mo, d)
    h, mi, s = int(h), int(mi), int(s)
    if h > 23 or mi > 59 or s > 60:
        raise Reject("timestamp out of range")
    micros = ((days * 24 + h) * 60 + mi) * 60 + s
    micros *= 1_000_000
    if frac:
        micros += int((frac + "00000")[:6])
    if not z:
        oh, om = int(oh), int(om)
        if oh > 23 or om > 59:
            raise Reject("offset out of range")
        off = (oh * 60 + om) * 60_000_000
        micros += -off if sign == "+" else off
    return micros


def money(value):
    """A JSON number >= 0 -> integer cents, rounded half away from zero."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise Reject("money not a number")
    if isinstance(value, int):
        if value < 0 or value * 100 > I64_MAX:
            raise Reject("money out of range")
        return value * 100
    if value < 0:
        raise Reject("money negative")
    try:
        cents = int(value.quantize(_CENT, rounding=ROUND_HALF_UP) * 100)
    except (InvalidOperation, OverflowError):
        raise Reject("money out of range")
    if cents > I64_MAX:
        raise Reject("money out of range")
    return cents


def _req(m, name):
    v = m.get(name)
    if v is None:
        raise Reject("missing " + name)
    return v


def _id(m, name):
    v = _req(m, name)
    if not isinstance(v, str) or not v:
        raise Reject("invalid " + name)
    return v


def _opt_id(m, name):
    v = m.get(name)
    if v is not None and (not isinstance(v, str) or not v):
        raise Reject("invalid " + name)
    return v


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and -(1 << 63) <= v <= I64_MAX


def _opt_int(m, name):
    v = m.get(name)
    if v is not None and not _is_int(v):
        raise Reject("invalid " + name)
    return v


def _opt_str(m, name):
    v = m.get(name)
    if v is not None and not isinstance(v, str):
        raise Reject("invalid " + name)
    return v


def _opt_enum(m, name, allowed):
    v = m.get(name)
    if v is not None and (not isinstance(v, str) or v not in allowed):
        raise Reject("invalid " + name)
    return v


def _check_version(m, field):
    """`unsupported_version` when well-formed with a major other than 1; malformed is invalid."""
    v = m.get(field)
    if v is None:
        return
    if not isinstance(v, str):
        raise Reject("invalid " + field)
    vm = _VERSION.match(v)
    if not vm:
        raise Reject("invalid " + field)
    if vm.group(1).lstrip("0") != "1":
        raise Reject("unsupported version")


def _envelope_a(m):
    _check_version(m, "schema_version")
    for f in ("event_id", "event_type", "timestamp"):
        _req(m, f)
    event_id = m["event_id"]
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 128:
        raise Reject("invalid event_id")
    event_type = m["event_type"]
    if not isinstance(event_type, str):
        raise Reject("invalid event_type")
    ts = parse_time(m["timestamp"])
    tenant = m.get("tenant_id")
    if tenant is None:
        tenant = "default"
    elif not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise Reject("invalid tenant_id")
    return event_id, event_type, ts, tenant


def _notification(m, raw, topic):
    event_id, event_type, ts, tenant = _envelope_a(m)
    if event_type == "NOTIFICATION_SENT":
        for f in ("notification_id", "channel", "provider"):
            _req(m, f)
        nid = _id(m, "notification_id")
        channel = m["channel"]
        if not isinstance(channel, str) or channel not in CHANNELS:
            raise Reject("invalid channel")
        provider = m["provider"]
        if not isinstance(provider, str):
            raise Reject("invalid provider")
        _opt_enum(m, "category", CATEGORIES)
        preferred = _opt_enum(m, "preferred_channel", CHANNELS)
        cost = m.get("cost")
        cost = 0 if cost is None else money(cost)
        _opt_id(m, "order_id")
        _opt_int(m, "caso_id")
        _opt_str(m, "template")
        fallback = 1 if preferred is not None and preferred != channel else 0
        return (topic, event_id, ts, raw, "send", nid, event_id, tenant,
                channel, provider, fallback, (cost, 0))
    outcome = WEBHOOKS.get(event_type)
    if outcome is None:
        raise Reject("unknown event type")
    hard = 0
    if outcome == "bounced":
        _req(m, "notification_id")
        _req(m, "bounce_type")
        _id(m, "notification_id")
        bt = m["bounce_type"]
        if bt not in ("HARD", "SOFT"):
            raise Reject("invalid bounce_type")
        hard = 1 if bt == "HARD" else 0
        _opt_str(m, "reason")
    elif outcome == "failed":
        _id(m, "notification_id")
        _opt_str(m, "last_error")
        _opt_int(m, "retry_count")
    nid = _id(m, "notification_id")
    return (topic, event_id, ts, raw, "hook", nid, event_id, tenant, outcome, hard, 0, None)


def _order(m, raw, topic):
    event_id, event_type, ts, tenant = _envelope_a(m)
    if event_type == "ORDER_CREATED":
        for f in ("order_id", "customer_id", "items", "total"):
            _req(m, f)
        oid = _id(m, "order_id")
        _id(m, "customer_id")
        items = m["items"]
        if not isinstance(items, list) or not items:
            raise Reject("invalid items")
        for item in items:
            if not isinstance(item, dict):
                raise Reject("invalid item")
            for f in ("sku", "quantity", "unit_price"):
                _req(item, f)
            _id(item, "sku")
            q = item["quantity"]
            if not _is_int(q) or q < 1:
                raise Reject("invalid quantity")
            money(item["unit_price"])
        total = money(m["total"])
        c = m.get("currency")
        if c is not None and (not isinstance(c, str) or not _CURRENCY.match(c)):
            raise Reject("invalid currency")
        # Slot 9: the currency (`USD` when absent): order_metrics is per currency.
        currency = c if c is not None else "USD"
        return (topic, event_id, ts, raw, "created", oid, event_id, tenant, total, currency, None, None)
    if event_type == "ORDER_CONFIRMED":
        oid = _id(m, "order_id")
        return (topic, event_id, ts, raw, "confirmed", oid, event_id, tenant, None, None, None, None)
    if event_type == "ORDER_CANCELLED":
        _req(m, "order_id")
        _req(m, "reason")
        oid = _id(m, "order_id")
        if not isinstance(m["reason"], str):
            raise Reject("invalid reason")
        return (topic, event_id, ts, raw, "cancelled", oid, event_id, tenant, None, None, None, None)
    raise Reject("unknown event type")


def _c360(m, raw, topic):
    _check_version(m, "evento_version")
    tipo = m.get("evento_tipo")
    if isinstance(tipo, str) and tipo != topic:
        raise Reject("topic mismatch")
    for f in ("evento_id", "evento_tipo", "evento_version", "timestamp", "origen", "datos"):
        _req(m, f)
    evento_id = m["evento_id"]
    if not isinstance(evento_id, str) or not 1 <= len(evento_id) <= 128:
        raise Reject("invalid evento_id")
    if not isinstance(tipo, str):
        raise Reject("invalid evento_tipo")
    if not isinstance(m["evento_version"], str):
        raise Reject("invalid evento_version")
    ts = parse_time(m["timestamp"])
    if not isinstance(m["origen"], str):
        raise Reject("invalid origen")
    d = m["datos"]
    if not isinstance(d, dict):
        raise Reject("invalid datos")
    meta = m.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise Reject("invalid metadata")
    for f in ("notificacion_id", "caso_id", "tipo", "canal", "estado", "fecha_envio"):
        _req(d, f)
    nid = d["notificacion_id"]
    if not _is_int(nid) or not _is_int(d["caso_id"]):
        raise Reject("invalid id")
    numero = d.get("numero_caso")
    if numero is not None and (not isinstance(numero, str) or not _NUMERO_CASO.match(numero)):
        raise Reject("invalid numero_caso")
    if not isinstance(d["tipo"], str) or d["tipo"] not in TIPOS:
        raise Reject("invalid tipo")
    canal = d["canal"]
    if not isinstance(canal, str) or canal not in CHANNELS:
        raise Reject("invalid canal")
    _opt_str(d, "destinatario")
    estado = d["estado"]
    if estado not in ("ENVIADO", "FALLIDO"):
        raise Reject("invalid estado")
    parse_time(d["fecha_envio"])
    provider = _opt_str(d, "proveedor")
    cost = d.get("costo_estimado")
    cost = 0 if cost is None else money(cost)
    return (topic, evento_id, ts, raw, "send", "c360-%d" % nid, evento_id, "conecta360",
            canal, "unknown" if provider is None else provider, 0,
            (cost, 1 if estado == "FALLIDO" else 0))


_DECODERS = {
    "notifications.events": _notification,
    "orders.events": _order,
    "notificaciones.enviadas": _c360,
}


def decode(topic, value):
    """Decodes one raw record value (bytes) of `topic`: a fact tuple, or None when rejected."""
    if len(value) > MAX_RECORD_BYTES:
        return None
    try:
        text = value.decode("utf-8")
        m = _JSON.decode(text)
    except (UnicodeDecodeError, ValueError, Reject, RecursionError):
        return None
    if not isinstance(m, dict):
        return None
    try:
        return _DECODERS[topic](m, text, topic)
    except (Reject, TypeError):  # TypeError: an unhashable value where an enum was expected
        return None


def read_lines(path):
    """The raw record values of a JSONL file (bytes, without the line end)."""
    with open(path, "rb") as fh:
        for line in fh:
            if line.endswith(b"\n"):
                line = line[:-1]
            yield line


def interleaved(data_dir, topics=TOPICS):
    """(topic, raw value) of the topic files, interleaved in proportion to their lengths, the
    way `pulso replay` orders a folder (records of one topic keep their file order)."""
    import os
    per_topic = []
    for t in topics:
        path = os.path.join(data_dir, t + ".jsonl")
        if os.path.exists(path):
            per_topic.append((t, list(read_lines(path))))
    keyed = []
    for t, lines in per_topic:
        n = max(1, len(lines))
        keyed.extend(((i << 64) // n, t, v) for i, v in enumerate(lines))
    keyed.sort(key=lambda x: x[0])
    return [(t, v) for _, t, v in keyed]


def windows(ts):
    """(granularity, window_start) of the three tumbling windows holding `ts`."""
    return [(g, ts - ts % size) for g, size in GRANULARITIES]


# ----- entity summaries (shared by the incremental and batch implementations) -------------

def notification_summary(sends, hooks):
    """The cohort key and flags of one notification, from its winning send facts and webhook
    facts; None when it has no send (an orphan). Returns (cohort, counts) where cohort is
    (tenant, channel, provider, ts) and counts the tuple of NOTIFICATION_COLUMNS values."""
    if not sends:
        return None
    first = min(sends, key=lambda f: (f[TS], f[EVENT_ID], f[RAW]))
    outcomes = {h[8] for h in hooks}
    failed = "failed" in outcomes or any(s[11][1] for s in sends)
    hard = any(h[8] == "bounced" and h[9] for h in hooks)
    counts = (1, int("delivered" in outcomes), int("opened" in outcomes),
              int("clicked" in outcomes), int("converted" in outcomes),
              int("bounced" in outcomes), int(hard), int(failed), first[10], first[11][0])
    return (first[TENANT], first[8], first[9], first[TS]), counts


def order_summary(created, decisions):
    """(tenant, currency, created_ts) and the NOTIFICATION-like count tuple of one order, or
    None when the order has no ORDER_CREATED."""
    if not created:
        return None
    first = min(created, key=lambda f: (f[TS], f[EVENT_ID], f[RAW]))
    total = first[8]
    status = None
    if decisions:
        status = max(decisions, key=lambda f: (f[TS], f[EVENT_ID], f[RAW]))[KIND]
    if status == "confirmed":
        counts = (1, 1, 0, 0, total, 0, 0)
    elif status == "cancelled":
        counts = (1, 0, 1, 0, 0, total, 0)
    else:
        counts = (1, 0, 0, 1, 0, 0, total)
    return (first[TENANT], first[9], first[TS]), counts


NOTIFICATION_KEY = ("tenant_id", "channel", "provider", "granularity", "window_start_us")
NOTIFICATION_COLUMNS = ("sent", "delivered", "opened", "clicked", "converted", "bounced",
                        "hard_bounced", "failed", "fallback", "cost_total_cents")
ORDER_KEY = ("tenant_id", "currency", "granularity", "window_start_us")
ORDER_COLUMNS = ("orders_created", "orders_confirmed", "orders_cancelled", "orders_pending",
                 "revenue_confirmed_cents", "revenue_lost_cents", "revenue_pending_cents")


def notification_rows(cohort, counts):
    """The (view key, counts) contributions of one notification at every granularity."""
    tenant, channel, provider, ts = cohort
    return [((tenant, channel, provider, g, w), counts) for g, w in windows(ts)]


def order_rows(cohort, counts):
    """The (view key, counts) contributions of one order at every granularity."""
    tenant, currency, ts = cohort
    return [((tenant, currency, g, w), counts) for g, w in windows(ts)]


def dedup_better(a, b):
    """True when fact `a` wins over fact `b` of the same (topic, key)."""
    return (a[TS], a[RAW]) < (b[TS], b[RAW])


def write_csv(path, key_names, column_names, rows):
    """Writes {key tuple: counts tuple} as CSV (rows whose counts are all zero are dropped)."""
    import csv
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(key_names + column_names)
        for key, counts in sorted(rows.items()):
            if counts and counts[0] != 0:
                w.writerow(list(key) + list(counts))
