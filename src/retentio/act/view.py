"""The customer view: one row per customer with everything segments, flows and messages ask about.

Built from the operational tables and the latest refresh (scores, lifecycle,
predictions), read as Arrow and handed to the analytics engine, where segments
are evaluated in bulk. Times are naive UTC here; day counts are relative to
the ``now`` the view was built for.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from retentio.analytics.sources import fetch_arrow
from retentio.results import latest_run

VIEW_SQL = """
SELECT c.id AS customer_id, c.external_id, c.email, c.first_name, c.last_name, c.locale, c.country,
       c.time_zone, CAST(c.birthday AS TEXT) AS birthday, {t[c.created_at]} AS created_at,
       @RESULTS@
       cs.status AS email_consent, {t[cs.double_opt_in_at]} AS double_opt_in_at, f.nps_last, k.open_cases,
       COALESCE(o.orders_90d, 0) AS orders_90d, COALESCE(o.revenue_90d, 0) AS revenue_90d,
       COALESCE(ev.events_30d, 0) AS events_30d, COALESCE(ev.carts_30d, 0) AS carts_abandoned_30d,
       COALESCE(ev.views_30d, 0) AS product_views_30d,
       COALESCE(la.points_available, 0) AS points_available, COALESCE(la.points_pending, 0) AS points_pending,
       lt.loyalty_tier, {t[lr.last_redemption_at]} AS last_redemption_at,
       {t[lc.last_contact_at]} AS last_contact_at
FROM customers c
@RESULT_JOINS@LEFT JOIN consents cs ON cs.customer_id = c.id AND cs.channel = 'email' AND cs.purpose = 'marketing'
LEFT JOIN (SELECT customer_id, score AS nps_last FROM (
             SELECT customer_id, score, ROW_NUMBER() OVER (PARTITION BY customer_id
                                                           ORDER BY submitted_at DESC, id DESC) AS rn
             FROM feedback) ranked WHERE rn = 1) f ON f.customer_id = c.id
LEFT JOIN (SELECT customer_id, COUNT(*) AS open_cases FROM service_cases WHERE closed_at IS NULL
           GROUP BY customer_id) k ON k.customer_id = c.id
LEFT JOIN (SELECT customer_id, COUNT(*) AS orders_90d, SUM(CAST(net_total AS {real})) AS revenue_90d FROM orders
           WHERE status = 'placed' AND placed_at > '@SINCE_90@' AND placed_at <= '@NOW@' GROUP BY customer_id) o
       ON o.customer_id = c.id
LEFT JOIN (SELECT customer_id, COUNT(*) AS events_30d,
                  SUM(CASE WHEN type = 'cart_abandoned' THEN 1 ELSE 0 END) AS carts_30d,
                  SUM(CASE WHEN type = 'product_viewed' THEN 1 ELSE 0 END) AS views_30d
           FROM events WHERE occurred_at > '@SINCE_30@' AND occurred_at <= '@NOW@' GROUP BY customer_id) ev
       ON ev.customer_id = c.id
LEFT JOIN (SELECT customer_id, SUM(CASE WHEN kind = 'available' THEN balance ELSE 0 END) AS points_available,
                  SUM(CASE WHEN kind = 'pending' THEN balance ELSE 0 END) AS points_pending
           FROM ledger_accounts WHERE customer_id > 0 GROUP BY customer_id) la ON la.customer_id = c.id
LEFT JOIN (SELECT customer_id, to_tier AS loyalty_tier FROM (
             SELECT customer_id, to_tier, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY id DESC) AS rn
             FROM loyalty_tier_changes) ranked_tiers WHERE rn = 1) lt ON lt.customer_id = c.id
LEFT JOIN (SELECT customer_id, MAX(effective_at) AS last_redemption_at FROM ledger_transactions
           WHERE kind = 'redeem' GROUP BY customer_id) lr ON lr.customer_id = c.id
LEFT JOIN (SELECT customer_id, MAX(sent_at) AS last_contact_at FROM outbox
           WHERE status = 'sent' AND sent_at <= '@NOW@' GROUP BY customer_id) lc ON lc.customer_id = c.id
WHERE c.erased_at IS NULL
"""

SCHEMA = pa.schema([
    ("customer_id", pa.int64()), ("external_id", pa.string()), ("email", pa.string()),
    ("first_name", pa.string()), ("last_name", pa.string()), ("locale", pa.string()), ("country", pa.string()),
    ("time_zone", pa.string()), ("birthday", pa.string()), ("created_at", pa.timestamp("us")),
    ("purchases", pa.int64()), ("revenue", pa.float64()), ("lifecycle", pa.string()),
    ("rfm_segment", pa.string()), ("recovery_track", pa.string()), ("r_score", pa.int64()),
    ("f_score", pa.int64()), ("m_score", pa.int64()), ("first_purchase_at", pa.timestamp("us")),
    ("last_purchase_at", pa.timestamp("us")), ("expected_interval_days", pa.float64()),
    ("p_alive", pa.float64()), ("churn_probability", pa.float64()), ("clv", pa.float64()),
    ("value_at_risk", pa.float64()), ("expected_purchases", pa.float64()), ("email_consent", pa.string()),
    ("double_opt_in_at", pa.timestamp("us")), ("nps_last", pa.int64()), ("open_cases", pa.int64()),
    ("orders_90d", pa.int64()), ("revenue_90d", pa.float64()), ("events_30d", pa.int64()),
    ("carts_abandoned_30d", pa.int64()), ("product_views_30d", pa.int64()), ("points_available", pa.int64()),
    ("points_pending", pa.int64()), ("loyalty_tier", pa.string()), ("last_redemption_at", pa.timestamp("us")),
    ("last_contact_at", pa.timestamp("us")),
])


# The run's stored results in the view: read back from the tables, or given by the refresh that has them.
SCORE_COLUMNS = ("purchases", "revenue", "lifecycle", "rfm_segment", "recovery_track", "r_score", "f_score",
                 "m_score", "first_purchase_at", "last_purchase_at", "expected_interval_days")
PREDICTION_COLUMNS = ("p_alive", "churn_probability", "clv", "value_at_risk", "expected_purchases")
_TIMES = ("first_purchase_at", "last_purchase_at")
STORED_RESULTS = ", ".join(f"{{t[s.{c}]}} AS {c}" if c in _TIMES else f"s.{c}" for c in SCORE_COLUMNS) + ", " + \
    ", ".join(f"p.{c}" for c in PREDICTION_COLUMNS) + ","
STORED_JOINS = """LEFT JOIN customer_scores s ON s.customer_id = c.id AND s.run_id = @RUN_ID@
LEFT JOIN customer_predictions p ON p.customer_id = c.id AND p.run_id = @RUN_ID@ AND c.objected_at IS NULL
"""


def _sql(run_id: int, now: dt.datetime, *, stored: bool = True) -> str:
    """The view's SQL for one refresh and one moment; the times are literals in the stored format
    (text in SQLite, compared as text; cast from the literal to timestamp in PostgreSQL). ``stored``
    False: without the run's scores and predictions, which the caller joins (:func:`result_columns`)."""
    def lit(t: dt.datetime) -> str:
        return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    results, joins = (STORED_RESULTS, STORED_JOINS) if stored else ("c.objected_at IS NOT NULL AS objected,", "")
    return (VIEW_SQL.replace("@RESULTS@", results).replace("@RESULT_JOINS@", joins)
            .replace("@RUN_ID@", str(int(run_id))).replace("@SINCE_90@", lit(now - dt.timedelta(days=90)))
            .replace("@SINCE_30@", lit(now - dt.timedelta(days=30))).replace("@NOW@", lit(now)))


def result_columns(engine: Engine, scores: pd.DataFrame, preds: pd.DataFrame | None) -> pa.Table:
    """A refresh's scores and predictions as the view reads them back from the tables: the frames it has just
    written (``refresh.scores_frame`` and the predictions it stores), so that the view need not wait for them
    to be written and read again. SQLite hands times over in whole seconds, PostgreSQL to the microsecond."""
    cols: dict[str, pa.Array] = {"customer_id": pa.array(scores["customer_id"].to_numpy("int64"))}
    whole_seconds = engine.dialect.name == "sqlite"
    for c in SCORE_COLUMNS:
        col = scores[c]
        if c in _TIMES:
            col = pd.to_datetime(col, utc=True).dt.tz_localize(None)
            col = col.dt.floor("s") if whole_seconds else col
        cols[c] = pa.array(col, from_pandas=True).cast(SCHEMA.field(c).type)
    return _with_predictions(pa.table(cols), preds)


def _with_predictions(table: pa.Table, preds: pd.DataFrame | None) -> pa.Table:
    if preds is None or not len(preds):
        for c in PREDICTION_COLUMNS:
            table = table.append_column(c, pa.nulls(table.num_rows, SCHEMA.field(c).type))
        return table
    p = pa.table({"customer_id": pa.array(preds["customer_id"].to_numpy("int64")),
                  **{c: pa.array(preds[c], from_pandas=True).cast(SCHEMA.field(c).type) for c in PREDICTION_COLUMNS}})
    at = pc.index_in(table.column("customer_id"), value_set=p.column("customer_id"))
    for c in PREDICTION_COLUMNS:
        table = table.append_column(c, p.column(c).take(at))
    return table


def _join_results(table: pa.Table, results: pa.Table) -> pa.Table:
    """``table`` (the view's SQL without results, in its row order) with ``results`` joined by customer; a
    customer who objected to profiling keeps no predictions, as in the stored view's join."""
    at = pc.index_in(table.column("customer_id"), value_set=results.column("customer_id"))
    objected = pc.fill_null(table.column("objected"), False)
    cols = {}
    for f in SCHEMA:
        if f.name in SCORE_COLUMNS or f.name in PREDICTION_COLUMNS:
            col = results.column(f.name).take(at)
            if f.name in PREDICTION_COLUMNS:
                col = pc.if_else(objected, pa.scalar(None, f.type), col)
            cols[f.name] = col.cast(f.type)
        else:
            cols[f.name] = table.column(f.name)
    return pa.table(cols, schema=SCHEMA)


def load_view(engine: Engine, now: dt.datetime, *, run_id: int | None = None,
              require_double_opt_in: bool = True, results: pa.Table | None = None) -> pa.Table:
    """The customer view as Arrow, with the derived day counts and contactability at ``now``.

    ``results``: the run's scores and predictions as :func:`result_columns` gives them; read from the tables
    when not given."""
    if run_id is None:
        run = latest_run(engine, required=False)
        run_id = run.id if run is not None else None
    sql = _sql(-1 if run_id is None else run_id, now, stored=results is None)
    if results is None:
        table = fetch_arrow(engine, sql, {}, SCHEMA, key=("customers", "c.id"))
    else:
        slim = pa.schema([f for f in SCHEMA if f.name not in SCORE_COLUMNS and f.name not in PREDICTION_COLUMNS]
                         + [pa.field("objected", pa.bool_())])
        table = _join_results(fetch_arrow(engine, sql, {}, slim, key=("customers", "c.id")), results)
    now_naive = pa.scalar(now.astimezone(dt.UTC).replace(tzinfo=None), pa.timestamp("us"))
    days = {name: pc.divide(pc.cast(pc.subtract(now_naive, table.column(col)), pa.int64()), 86_400e6)
            for name, col in (("days_since_last_purchase", "last_purchase_at"),
                              ("days_since_first_purchase", "first_purchase_at"),
                              ("days_since_signup", "created_at"),
                              ("days_since_last_redemption", "last_redemption_at"),
                              ("days_since_last_contact", "last_contact_at"))}
    for name, col in days.items():
        table = table.append_column(name, col)
    consent = pc.equal(table.column("email_consent"), "granted")
    if require_double_opt_in:
        consent = pc.and_(consent, pc.is_valid(table.column("double_opt_in_at")))
    reachable = pc.and_kleene(pc.fill_null(consent, False), pc.is_valid(table.column("email")))
    table = table.append_column("email_marketing", pc.fill_null(reachable, False))
    lang = pc.if_else(pc.starts_with(pc.fill_null(table.column("locale"), ""), "de"), "de", "en")
    table = table.append_column("lang", lang)
    return _expiring(engine, table, now)


def _expiring(engine: Engine, table: pa.Table, now: dt.datetime) -> pa.Table:
    """Points whose lots end within the programme's reminder period, and when the first of them ends."""
    from retentio.loyalty import lots
    from retentio.loyalty import program as prog

    soon: dict[int, tuple[int, dt.datetime | None]] = {}
    with engine.connect() as conn:
        for key in conn.exec_driver_sql("SELECT key FROM loyalty_programs").scalars():
            p = prog.get(conn, key)
            for cid, postings in lots.load(conn, p.id).items():
                n, first = lots.expiring(lots.fifo(postings), now, p.rules.reminder_days)
                if n:
                    soon[cid] = (soon.get(cid, (0, None))[0] + n, first)
    ids = table.column("customer_id").to_pylist()
    points = pa.array([soon.get(c, (0, None))[0] for c in ids], pa.int64())
    first = pa.array([None if (v := soon.get(c, (0, None))[1]) is None else v.astimezone(dt.UTC).replace(tzinfo=None)
                      for c in ids], pa.timestamp("us"))
    return table.append_column("points_expiring_soon", points).append_column("next_points_expiry", first)


def view_frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas().set_index("customer_id", drop=False)


def to_engine(table: pa.Table, con=None) -> ibis.Table:
    """Register the view in an in-process DuckDB (or the given Ibis connection)."""
    con = con or ibis.duckdb.connect()
    return con.create_table("customer_view", table, temp=True, overwrite=True)
