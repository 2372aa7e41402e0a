"""DuckDB peer: `notification_rates` and `order_metrics` of VIEWS.md computed in batch with SQL.

Usage (in a venv with duckdb):
  python duckdb_views.py --data DIR --out DIR [--threads N]
      one batch computation; writes OUT/<view>.csv (canonical shape, see semantics.py) and
      prints one JSON line of timings.
  python duckdb_views.py --data DIR --out DIR --preload N --batches 1000,10000 --repeat 5
      incremental-update comparison: loads the first N records (interleaved as `pulso replay`
      orders them), computes the views, then for each batch size appends that many next
      records and recomputes both views from scratch, `--repeat` times; prints JSON timings.

Semantics match semantics.py / Pulso's decoder for these topics, in SQL. Known deviations,
none of which the generator produces: DuckDB's JSON reader is lenient (trailing commas, NaN
accepted); money goes through a double's shortest text (exact for <= 15 significant digits);
leap seconds (`:60`) are rejected; ties on (timestamp, event_id) between different events are
broken by the raw text.
"""
import argparse
import json
import os
import sys
import time

import duckdb

TOPICS = ("notifications.events", "orders.events", "notificaciones.enviadas")

MACROS = r"""
CREATE OR REPLACE MACRO jt(x) AS coalesce(json_type(x), 'NULL');
CREATE OR REPLACE MACRO js(x) AS json_extract_string(x, '$');
CREATE OR REPLACE MACRO is_str(x) AS jt(x) = 'VARCHAR';
CREATE OR REPLACE MACRO absent(x) AS jt(x) = 'NULL';
CREATE OR REPLACE MACRO is_id(x) AS jt(x) = 'VARCHAR' AND js(x) <> '';
CREATE OR REPLACE MACRO opt_id(x) AS absent(x) OR is_id(x);
CREATE OR REPLACE MACRO opt_str(x) AS absent(x) OR is_str(x);
CREATE OR REPLACE MACRO is_int(x) AS jt(x) IN ('BIGINT', 'UBIGINT') AND TRY_CAST(js(x) AS BIGINT) IS NOT NULL;
CREATE OR REPLACE MACRO opt_int(x) AS absent(x) OR is_int(x);
CREATE OR REPLACE MACRO cents(x) AS CASE WHEN jt(x) IN ('BIGINT', 'UBIGINT', 'DOUBLE')
    THEN TRY_CAST(round(TRY_CAST(js(x) AS DECIMAL(38, 6)), 2) * 100 AS BIGINT) END;
CREATE OR REPLACE MACRO is_money(x) AS cents(x) IS NOT NULL AND cents(x) >= 0;
CREATE OR REPLACE MACRO in_enum(x, allowed) AS jt(x) = 'VARCHAR' AND list_contains(allowed, js(x));
CREATE OR REPLACE MACRO ts_us(x) AS CASE WHEN jt(x) = 'VARCHAR' AND regexp_full_match(js(x),
    '\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})')
    THEN epoch_us(TRY_CAST(js(x) AS TIMESTAMPTZ)) END;
CREATE OR REPLACE MACRO version_ok(x) AS absent(x) OR (jt(x) = 'VARCHAR'
    AND regexp_full_match(js(x), '[0-9]+\.[0-9]+')
    AND coalesce(nullif(ltrim(split_part(js(x), '.', 1), '0'), ''), '0') = '1');
CREATE OR REPLACE MACRO tenant_ok(x) AS absent(x) OR (jt(x) = 'VARCHAR'
    AND regexp_full_match(js(x), '[A-Za-z0-9_.\-]{1,64}'));
CREATE OR REPLACE MACRO id_128(x) AS jt(x) = 'VARCHAR' AND length(js(x)) BETWEEN 1 AND 128;
"""

# Raw records of one topic file, with their position in the file.
LOAD = r"""
INSERT INTO raw
SELECT ?, line, row_number() OVER () - 1 AS pos
FROM read_csv(?, columns = {'line': 'VARCHAR'}, header = false, delim = '\x01', quote = '',
              escape = '', auto_detect = false, max_line_size = 8000000, ignore_errors = true,
              new_line = '\n', strict_mode = false)
"""

# Typed facts of the accepted records among `src` (a table/view of (topic, line)).
PARSE = r"""
INSERT INTO facts
WITH parsed AS (
    SELECT topic, line, json_extract(line, [
        '$.event_id', '$.event_type', '$.timestamp', '$.tenant_id', '$.schema_version',  -- 1-5
        '$.notification_id', '$.channel', '$.provider', '$.category', '$.preferred_channel', -- 6-10
        '$.cost', '$.order_id', '$.caso_id', '$.template', '$.bounce_type',              -- 11-15
        '$.reason', '$.last_error', '$.retry_count', '$.customer_id', '$.items',         -- 16-20
        '$.total', '$.currency',                                                          -- 21-22
        '$.evento_id', '$.evento_tipo', '$.evento_version', '$.origen', '$.datos',        -- 23-27
        '$.metadata', '$.datos.notificacion_id', '$.datos.caso_id', '$.datos.numero_caso', -- 28-31
        '$.datos.tipo', '$.datos.canal', '$.datos.destinatario', '$.datos.estado',        -- 32-35
        '$.datos.fecha_envio', '$.datos.proveedor', '$.datos.costo_estimado'              -- 36-38
    ]) AS v
    FROM {src}
    WHERE line IS NOT NULL AND strlen(line) <= 1048576 AND json_valid(line)
      AND json_type(line) = 'OBJECT'
),
a AS (  -- envelope A checks
    SELECT *, js(v[2]) AS etype, ts_us(v[3]) AS ts, coalesce(js(v[4]), 'default') AS tenant
    FROM parsed
    WHERE topic <> 'notificaciones.enviadas'
      AND version_ok(v[5]) AND id_128(v[1]) AND is_str(v[2]) AND tenant_ok(v[4])
),
notif AS (
    SELECT topic, js(v[1]) AS dkey, ts, line,
           CASE WHEN etype = 'NOTIFICATION_SENT' THEN 'send' ELSE 'hook' END AS kind,
           js(v[6]) AS entity, js(v[1]) AS event_id, tenant,
           js(v[7]) AS channel, js(v[8]) AS provider,
           CASE WHEN NOT absent(v[10]) AND js(v[10]) <> js(v[7]) THEN 1 ELSE 0 END AS fallback,
           coalesce(cents(v[11]), 0) AS cost, 0 AS failed,
           CASE etype WHEN 'NOTIFICATION_DELIVERED' THEN 'delivered'
                      WHEN 'NOTIFICATION_OPENED' THEN 'opened'
                      WHEN 'NOTIFICATION_CLICKED' THEN 'clicked'
                      WHEN 'NOTIFICATION_CONVERTED' THEN 'converted'
                      WHEN 'NOTIFICATION_BOUNCED' THEN 'bounced'
                      WHEN 'NOTIFICATION_FAILED' THEN 'failed' END AS outcome,
           CASE WHEN js(v[15]) = 'HARD' THEN 1 ELSE 0 END AS hard, NULL::BIGINT AS total,
           NULL::VARCHAR AS currency
    FROM a
    WHERE topic = 'notifications.events' AND ts IS NOT NULL AND is_id(v[6]) AND CASE etype
        WHEN 'NOTIFICATION_SENT' THEN
            in_enum(v[7], ['EMAIL', 'SMS', 'PUSH', 'WHATSAPP']) AND is_str(v[8])
            AND (absent(v[9]) OR in_enum(v[9], ['TRANSACTIONAL', 'MARKETING']))
            AND (absent(v[10]) OR in_enum(v[10], ['EMAIL', 'SMS', 'PUSH', 'WHATSAPP']))
            AND (absent(v[11]) OR is_money(v[11])) AND opt_id(v[12]) AND opt_int(v[13])
            AND opt_str(v[14])
        WHEN 'NOTIFICATION_BOUNCED' THEN in_enum(v[15], ['HARD', 'SOFT']) AND opt_str(v[16])
        WHEN 'NOTIFICATION_FAILED' THEN opt_str(v[17]) AND opt_int(v[18])
        ELSE etype IN ('NOTIFICATION_DELIVERED', 'NOTIFICATION_OPENED', 'NOTIFICATION_CLICKED',
                       'NOTIFICATION_CONVERTED') END
),
ord AS (
    SELECT topic, js(v[1]) AS dkey, ts, line,
           CASE etype WHEN 'ORDER_CREATED' THEN 'created' WHEN 'ORDER_CONFIRMED' THEN 'confirmed'
                      ELSE 'cancelled' END AS kind,
           js(v[12]) AS entity, js(v[1]) AS event_id, tenant, NULL AS channel, NULL AS provider,
           0 AS fallback, 0 AS cost, 0 AS failed, NULL AS outcome, 0 AS hard,
           cents(v[21]) AS total,
           CASE WHEN etype = 'ORDER_CREATED' THEN coalesce(js(v[22]), 'USD') END AS currency
    FROM a
    WHERE topic = 'orders.events' AND ts IS NOT NULL AND is_id(v[12]) AND CASE etype
        WHEN 'ORDER_CREATED' THEN
            is_id(v[19]) AND is_money(v[21]) AND jt(v[20]) = 'ARRAY'
            AND json_array_length(v[20]) > 0
            AND list_bool_and(list_transform(from_json(v[20], '["JSON"]'), lambda it:
                jt(it) = 'OBJECT' AND is_id(json_extract(it, '$.sku'))
                AND is_int(json_extract(it, '$.quantity'))
                AND TRY_CAST(js(json_extract(it, '$.quantity')) AS BIGINT) >= 1
                AND is_money(json_extract(it, '$.unit_price'))))
            AND (absent(v[22]) OR (is_str(v[22]) AND regexp_full_match(js(v[22]), '[A-Za-z]{3}')))
        WHEN 'ORDER_CONFIRMED' THEN true
        WHEN 'ORDER_CANCELLED' THEN is_str(v[16])
        ELSE false END
),
c360 AS (
    SELECT topic, js(v[23]) AS dkey, ts_us(v[3]) AS ts, line, 'send' AS kind,
           'c360-' || js(v[29]) AS entity, js(v[23]) AS event_id, 'conecta360' AS tenant,
           js(v[33]) AS channel, coalesce(js(v[37]), 'unknown') AS provider, 0 AS fallback,
           coalesce(cents(v[38]), 0) AS cost,
           CASE WHEN js(v[35]) = 'FALLIDO' THEN 1 ELSE 0 END AS failed,
           NULL AS outcome, 0 AS hard, NULL::BIGINT AS total, NULL::VARCHAR AS currency
    FROM parsed
    WHERE topic = 'notificaciones.enviadas'
      AND version_ok(v[25]) AND (NOT is_str(v[24]) OR js(v[24]) = topic)
      AND id_128(v[23]) AND is_str(v[24]) AND jt(v[25]) = 'VARCHAR' AND ts_us(v[3]) IS NOT NULL
      AND is_str(v[26]) AND jt(v[27]) = 'OBJECT' AND (absent(v[28]) OR jt(v[28]) = 'OBJECT')
      AND is_int(v[29]) AND is_int(v[30])
      AND (absent(v[31]) OR (is_str(v[31]) AND regexp_full_match(js(v[31]), 'CRV-[0-9]{4}-[0-9]{8}')))
      AND in_enum(v[32], ['CREACION', 'ASIGNACION', 'ACTUALIZACION', 'CIERRE'])
      AND in_enum(v[33], ['EMAIL', 'SMS', 'PUSH', 'WHATSAPP']) AND opt_str(v[34])
      AND in_enum(v[35], ['ENVIADO', 'FALLIDO']) AND ts_us(v[36]) IS NOT NULL
      AND opt_str(v[37]) AND (absent(v[38]) OR is_money(v[38]))
)
SELECT * FROM notif UNION ALL SELECT * FROM ord UNION ALL SELECT * FROM c360
"""

# Both views from scratch over the facts table.
VIEWS = r"""
CREATE OR REPLACE TEMP TABLE winners AS
    SELECT * FROM facts QUALIFY row_number() OVER (PARTITION BY topic, dkey ORDER BY ts, line) = 1;
CREATE OR REPLACE TEMP TABLE grans AS
    SELECT * FROM (VALUES ('minute', 60000000::BIGINT), ('hour', 3600000000), ('day', 86400000000)) g(granularity, size);
CREATE OR REPLACE TEMP TABLE notification_rates AS
WITH first_send AS (
    SELECT * FROM winners WHERE kind = 'send'
    QUALIFY row_number() OVER (PARTITION BY entity ORDER BY ts, event_id, line) = 1
), flags AS (
    SELECT entity,
           max(CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END) AS delivered,
           max(CASE WHEN outcome = 'opened' THEN 1 ELSE 0 END) AS opened,
           max(CASE WHEN outcome = 'clicked' THEN 1 ELSE 0 END) AS clicked,
           max(CASE WHEN outcome = 'converted' THEN 1 ELSE 0 END) AS converted,
           max(CASE WHEN outcome = 'bounced' THEN 1 ELSE 0 END) AS bounced,
           max(CASE WHEN outcome = 'bounced' AND hard = 1 THEN 1 ELSE 0 END) AS hard_bounced,
           max(CASE WHEN outcome = 'failed' OR failed = 1 THEN 1 ELSE 0 END) AS failed
    FROM winners WHERE kind IN ('send', 'hook') GROUP BY entity
)
SELECT s.tenant AS tenant_id, s.channel, s.provider, g.granularity,
       s.ts - (s.ts % g.size) AS window_start_us,
       count(*) AS sent, sum(f.delivered) AS delivered, sum(f.opened) AS opened,
       sum(f.clicked) AS clicked, sum(f.converted) AS converted, sum(f.bounced) AS bounced,
       sum(f.hard_bounced) AS hard_bounced, sum(f.failed) AS failed,
       sum(s.fallback) AS fallback, sum(s.cost) AS cost_total_cents
FROM first_send s JOIN flags f USING (entity) CROSS JOIN grans g
GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE order_metrics AS
WITH created AS (
    SELECT * FROM winners WHERE kind = 'created'
    QUALIFY row_number() OVER (PARTITION BY entity ORDER BY ts, event_id, line) = 1
), decision AS (
    SELECT entity, kind AS status FROM winners WHERE kind IN ('confirmed', 'cancelled')
    QUALIFY row_number() OVER (PARTITION BY entity ORDER BY ts DESC, event_id DESC, line DESC) = 1
)
SELECT c.tenant AS tenant_id, c.currency, g.granularity, c.ts - (c.ts % g.size) AS window_start_us,
       count(*) AS orders_created,
       count(*) FILTER (WHERE d.status = 'confirmed') AS orders_confirmed,
       count(*) FILTER (WHERE d.status = 'cancelled') AS orders_cancelled,
       count(*) FILTER (WHERE d.status IS NULL) AS orders_pending,
       coalesce(sum(c.total) FILTER (WHERE d.status = 'confirmed'), 0) AS revenue_confirmed_cents,
       coalesce(sum(c.total) FILTER (WHERE d.status = 'cancelled'), 0) AS revenue_lost_cents,
       coalesce(sum(c.total) FILTER (WHERE d.status IS NULL), 0) AS revenue_pending_cents
FROM created c LEFT JOIN decision d USING (entity) CROSS JOIN grans g
GROUP BY ALL;
"""


def setup(con, data):
    """Creates the tables and loads the raw lines of the three topic files."""
    con.execute(MACROS)
    con.execute("CREATE TABLE raw (topic VARCHAR, line VARCHAR, pos BIGINT)")
    con.execute("""CREATE TABLE facts (topic VARCHAR, dkey VARCHAR, ts BIGINT, line VARCHAR,
        kind VARCHAR, entity VARCHAR, event_id VARCHAR, tenant VARCHAR, channel VARCHAR,
        provider VARCHAR, fallback INTEGER, cost BIGINT, failed INTEGER, outcome VARCHAR,
        hard INTEGER, total BIGINT, currency VARCHAR)""")
    for t in TOPICS:
        path = os.path.join(data, t + ".jsonl")
        if os.path.exists(path):
            con.execute(LOAD, [t, path])


def write_outputs(con, out):
    """The two views as canonical CSV files."""
    os.makedirs(out, exist_ok=True)
    for view, order in (("notification_rates", "tenant_id, channel, provider, granularity, window_start_us"),
                        ("order_metrics", "tenant_id, currency, granularity, window_start_us")):
        con.execute(f"COPY (SELECT * FROM {view} ORDER BY {order}) TO '{out}/{view}.csv' (HEADER)")


def batch(con, args):
    t0 = time.perf_counter()
    setup(con, args.data)
    t1 = time.perf_counter()
    con.execute(PARSE.replace("{src}", "raw"))
    t2 = time.perf_counter()
    con.execute(VIEWS)
    t3 = time.perf_counter()
    write_outputs(con, args.out)
    records = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    accepted = con.execute("SELECT count(*) FROM facts").fetchone()[0]
    return {"load_s": t1 - t0, "parse_s": t2 - t1, "views_s": t3 - t2,
            "compute_s": t3 - t0, "records_loaded": records, "accepted": accepted}


def update(con, args):
    """Preload N records, then append batches and recompute the views from scratch."""
    setup(con, args.data)
    # The order `pulso replay` feeds a folder in: topics interleaved by relative position.
    con.execute("""CREATE TABLE ordered AS
        SELECT topic, line, row_number() OVER (ORDER BY pos::HUGEINT * 18446744073709551616
               // n, topic) AS ord
        FROM raw JOIN (SELECT topic, count(*) AS n FROM raw GROUP BY topic) USING (topic)""")
    total = con.execute("SELECT count(*) FROM ordered").fetchone()[0]
    sizes = [int(b) for b in args.batches.split(",")]
    preload = min(args.preload, total - sum(sizes) * args.repeat)
    t0 = time.perf_counter()
    con.execute(PARSE.replace("{src}", f"(SELECT * FROM ordered WHERE ord <= {preload})"))
    con.execute(VIEWS)
    result = {"preloaded": preload, "preload_s": time.perf_counter() - t0, "batches": {}}
    done = preload
    for size in sizes:
        runs = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            con.execute(PARSE.replace(
                "{src}", f"(SELECT * FROM ordered WHERE ord > {done} AND ord <= {done + size})"))
            con.execute(VIEWS)
            runs.append(time.perf_counter() - t)
            done += size
        result["batches"][str(size)] = runs
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: its default)")
    p.add_argument("--preload", type=int, default=0, help="update mode: records loaded first")
    p.add_argument("--batches", default="1000,10000")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    result = update(con, args) if args.preload else batch(con, args)
    result["engine"] = f"duckdb {duckdb.__version__}"
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
