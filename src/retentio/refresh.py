"""``retentio refresh``: compute every stored result in one run.

KPI series (week, month, quarter), cohort tables, per-customer scores and
segments are computed by the analytics engine and written to the result
tables with a run record; reports and the dashboard read those, never the raw
orders.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, func, select

from retentio.analytics import cohorts, customers, kpis, lifecycle, segments, window
from retentio.analytics.definitions import boundaries, is_return, purchases, revenue
from retentio.analytics.engine import Backend, Tables, make_backend
from retentio.db.bulk import append_frame, rebuilding
from retentio.db.models import (
    CohortResult,
    CustomerPrediction,
    CustomerScore,
    KpiResult,
    Order,
    RefreshRun,
    Subscription,
)
from retentio.db.session import session_scope
from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.ingest.writer import records
from retentio.shop import ShopConfig, load_config
from retentio.timezones import as_utc, to_local, to_utc

log = logging.getLogger(__name__)
GRANULARITIES = ("week", "month", "quarter")
SECOND_PURCHASE_BINS = [0, 7, 14, 30, 60, 90, 180, 365, np.inf]


@dataclass
class Context:
    """What one refresh works on: the loaded tables and the time frame."""

    engine: Engine
    backend: Backend
    tables: Tables
    cfg: ShopConfig
    as_of_local: dt.datetime
    as_of_utc: dt.datetime
    first_local: dt.datetime
    last_local: dt.datetime
    window: window.WindowChoice
    warnings: list[dict] = field(default_factory=list)  # Msg.to_json(): shown in the reader's language

    def close(self, *, keep_backend: bool = False) -> None:
        self.tables.release()
        if not keep_backend:
            self.backend.close()


def data_range(engine: Engine) -> tuple[dt.datetime, dt.datetime]:
    """First and last moment with data: orders, and contracts starting or being cancelled (a
    subscription business may have no orders at all)."""
    # One scalar subquery per bound: SQLite answers a lone min() or max() from the index in microseconds,
    # but min() and max() in one SELECT by scanning the whole index (4.9 s at 10M orders).
    bounds = [func.min(Order.placed_at), func.max(Order.placed_at), func.min(Subscription.started_at),
              func.max(Subscription.started_at), func.max(Subscription.cancelled_at)]
    with session_scope(engine) as s:
        times = list(s.execute(select(*(select(b).scalar_subquery() for b in bounds))).one())
    found = [t for t in map(as_utc, times) if t is not None]
    if not found:
        raise RetentioError(Msg("no orders or contracts yet: import some with `retentio import orders FILE` (or "
                                "`import subscriptions`, or run `retentio demo`)"))
    return min(found), max(found)


def resolve_as_of(as_of: dt.date | None, last_utc: dt.datetime, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """The end of the given day (default: the day of the newest order), local and UTC."""
    day = as_of or to_local(last_utc, tz).date()
    end_local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return end_local, to_utc(end_local, tz)


def open_context(engine: Engine, *, as_of: dt.date | None = None, engine_name: str = "duckdb",
                 active_window: int | None = None, backend: Backend | None = None) -> Context:
    cfg = load_config(engine)
    first_utc, last_utc = data_range(engine)
    as_of_local, as_of_utc = resolve_as_of(as_of, last_utc, cfg.time_zone)
    if as_of_utc <= first_utc:
        raise RetentioError(Msg("--as-of {day} is before the first order ({first})", day=str(as_of),
                                first=first_utc.date().isoformat()))
    backend = backend or make_backend(engine_name, engine)
    tables = backend.load(engine, cfg.time_zone, as_of_utc - dt.timedelta(microseconds=1))
    hist = backend.execute(window.gap_histogram(tables.orders))
    choice = window.choose_window(hist, active_window, cfg.active_window_days)
    ctx = Context(engine, backend, tables, cfg, as_of_local, as_of_utc,
                  to_local(first_utc, cfg.time_zone), min(to_local(last_utc, cfg.time_zone), as_of_local), choice)
    span = (ctx.as_of_local - ctx.first_local).total_seconds() / 86400
    warning = window.span_warning(span, choice.days)
    if warning:
        ctx.warnings.append(warning.to_json())
    return ctx


def compute_kpis(ctx: Context, granularity: str, window_days: int) -> pd.DataFrame:
    points = boundaries(ctx.first_local, ctx.as_of_local, granularity)
    return kpis.kpi_series(ctx.backend, ctx.tables, points, window_days, granularity)


def second_purchase_stats(facts: pd.DataFrame) -> dict[str, Any]:
    buyers = facts[facts["purchases"] >= 1]
    days = buyers["days_to_second"].dropna()
    counts, _ = np.histogram(days, bins=SECOND_PURCHASE_BINS)
    labels = ["0–7", "8–14", "15–30", "31–60", "61–90", "91–180", "181–365", ">365"]
    return {
        "customers": len(buyers),
        "with_second": len(days),
        "share_with_second": float(len(days) / len(buyers) * 100) if len(buyers) else None,
        "median_days": float(days.median()) if len(days) else None,
        "p25_days": float(days.quantile(0.25)) if len(days) else None,
        "p75_days": float(days.quantile(0.75)) if len(days) else None,
        "histogram": [{"bin": lab, "customers": int(c)} for lab, c in zip(labels, counts, strict=True)],
    }


def score_customers(ctx: Context) -> tuple[pd.DataFrame, dict[str, Any]]:
    facts = customers.load_facts(ctx.backend, ctx.tables, ctx.as_of_local)
    shop_interval = lifecycle.typical_interval(facts, ctx.window.days)
    th = lifecycle.Thresholds(ctx.cfg.lifecycle_active, ctx.cfg.lifecycle_at_risk, ctx.cfg.lifecycle_inactive)
    facts = pd.concat([facts, lifecycle.classify(facts, shop_interval, th)], axis=1)
    facts["rfm_segment"] = segments.rfm_segment(facts["r_score"], facts["f_score"])
    summary = {
        "typical_interval_days": shop_interval,
        "second_purchase": second_purchase_stats(facts),
        "lifecycle": facts["lifecycle"].value_counts().reindex(lifecycle.STATUSES, fill_value=0).astype(int).to_dict(),
        "recovery_tracks": facts["recovery_track"].value_counts().reindex(lifecycle.TRACKS, fill_value=0).astype(int).to_dict(),
        "segments": [
            {"segment": seg, "customers": int(g["customer_id"].count()), "revenue": float(g["revenue"].sum()),
             "avg_recency_days": float(g["recency_days"].mean()), "avg_purchases": float(g["purchases"].mean())}
            for seg, g in facts.groupby("rfm_segment", sort=False)
        ],
        "customers": len(facts),
        "purchasing_customers": int((facts["purchases"] > 0).sum()),
        "revenue_customers": float(facts["revenue"].sum()),
    }
    order = {s: i for i, s in enumerate(segments.SEGMENT_ORDER)}
    summary["segments"].sort(key=lambda s: order.get(s["segment"], 99))
    return facts, summary


def order_totals(ctx: Context) -> dict[str, Any]:
    o = ctx.tables.orders
    p = purchases(o)
    row = ctx.backend.execute(o.aggregate(
        orders=o.count(), revenue=revenue(o).sum(),
        guest_revenue=revenue(o).sum(where=o.customer_id.isnull()),
        returns=o.count(where=is_return(o)),
    )).iloc[0]
    n_p = ctx.backend.execute(p.aggregate(n=p.count())).iloc[0]["n"]
    def num(v) -> float:
        return 0.0 if v is None or v != v else float(v)

    return {"orders": int(row["orders"]), "purchases": int(n_p), "revenue": num(row["revenue"]),
            "guest_revenue": num(row["guest_revenue"]), "returns_and_cancellations": int(num(row["returns"]))}


def json_safe(obj: Any) -> Any:
    """NaN and numpy scalars out: PostgreSQL's JSONB rejects NaN, SQLite would keep it."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def currencies(ctx: Context) -> list[str]:
    """From the loaded orders: a scan of the operational table costs minutes at 100M orders."""
    o = ctx.tables.orders
    found = ctx.backend.execute(o.select("currency").distinct())["currency"]
    return sorted(str(c) for c in found.dropna())


def _utc(series: pd.Series, tz: str) -> pd.Series:
    s = pd.to_datetime(series)
    return s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")


def scores_frame(run_id: int, facts: pd.DataFrame, tz: str) -> pd.DataFrame:
    """The rows of ``customer_scores`` for this run: a frame of their own, so that writing them in
    another thread shares nothing with the prediction stage, which reads ``facts`` meanwhile."""
    return pd.DataFrame({
        "run_id": run_id, "customer_id": facts["customer_id"].astype("int64"),
        "first_purchase_at": _utc(facts["first_purchase"], tz), "last_purchase_at": _utc(facts["last_purchase"], tz),
        "purchases": facts["purchases"], "revenue": facts["revenue"].round(2), "recency_days": facts["recency_days"],
        "r_score": facts["r_score"], "f_score": facts["f_score"], "m_score": facts["m_score"],
        "rfm_segment": facts["rfm_segment"], "lifecycle": facts["lifecycle"], "recovery_track": facts["recovery_track"],
        "expected_interval_days": facts["expected_interval_days"], "interval_source": facts["interval_source"],
        "days_to_second_purchase": facts["days_to_second"],
    })


def store_scores(engine: Engine, scores: pd.DataFrame) -> None:
    append_frame(engine, CustomerScore.__table__, scores)


PREDICTION_COLUMNS = [c.name for c in CustomerPrediction.__table__.columns if c.name not in ("id", "run_id")]
# Keyed by a float score, so each run's rows land all over it: SQLite rebuilds it once per write instead
# (benchmarks/bench_store.py: 1M predictions appended 1.3x, the previous run deleted 2.1x faster).
REBUILT_INDEXES = ("ix_customer_predictions_value_at_risk",)


def store_predictions(engine: Engine, run_id: int, preds: pd.DataFrame, as_of_utc: dt.datetime) -> None:
    df = preds.copy()
    # A next-purchase date is only given for customers more likely active than not.
    days = df.pop("next_purchase_in_days")
    days = days.where(np.isfinite(days.astype(float)) & (df["p_alive"].fillna(1.0) >= 0.5))
    wait = pd.to_timedelta(days, unit="D")
    df["next_purchase_at"] = (pd.Timestamp(as_of_utc) + wait).dt.floor("s")
    for col in PREDICTION_COLUMNS:
        if col not in df:
            df[col] = None
    df = df[PREDICTION_COLUMNS]
    # The prediction stage gives every reason as JSON text; lists (a caller of its own) become text here.
    # The check runs in C: a Python test of a million values took 0.8 s.
    if pd.api.types.infer_dtype(df["reasons"], skipna=True) not in ("string", "empty"):
        df["reasons"] = pd.Series([r if isinstance(r, str) else None if r is None or r != r else
                                   json.dumps(json_safe(r), ensure_ascii=False) for r in df["reasons"]],
                                  index=df.index, dtype=object)
    append_frame(engine, CustomerPrediction.__table__, df.assign(run_id=run_id), json_text=("reasons",),
                 rebuild=REBUILT_INDEXES)


def store_kpis(conn, run_id: int, granularity: str, window_days: int, df: pd.DataFrame) -> None:
    if df.empty:
        return
    out = df.assign(run_id=run_id, granularity=granularity, active_window_days=window_days)
    cols = [c.name for c in KpiResult.__table__.columns if c.name != "id"]
    conn.execute(KpiResult.__table__.insert(), records(out[cols]))


STEPS = ("load", "kpis", "cohorts", "customers", "predictions", "store", "view")


def refresh(engine: Engine, *, as_of: dt.date | None = None, engine_name: str = "duckdb",
            active_window: int | None = None, backend: Backend | None = None,
            progress=None, predictions: bool = True, prediction_options=None) -> RefreshRun:
    """Compute everything and store it. Readers see the previous complete run until this one is
    complete: its rows are written under its own id first, and one transaction then marks it ok
    and removes the older rows."""
    started = time.perf_counter()
    step = progress or (lambda _msg: None)
    with session_scope(engine) as s:
        run = RefreshRun(started_at=dt.datetime.now(dt.UTC), as_of=dt.datetime.now(dt.UTC),
                         engine=engine_name, time_zone="UTC", status="running")
        s.add(run)
        s.flush()
        run_id = run.id
    ctx: Context | None = None
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retentio-store")
    try:
        step("load")
        _reapply_erasures(engine)
        ctx = open_context(engine, as_of=as_of, engine_name=engine_name, active_window=active_window,
                           backend=backend)
        timings: dict[str, float] = {"load": time.perf_counter() - started}
        step("kpis")
        t0 = time.perf_counter()
        kpi = {g: compute_kpis(ctx, g, ctx.window.days) for g in GRANULARITIES}
        step("cohorts")
        coh = {g: cohorts.cohort_table(ctx.backend, ctx.tables, g) for g in GRANULARITIES}
        step("customers")
        facts, summary = score_customers(ctx)
        summary["orders"] = order_totals(ctx)
        summary["currencies"] = currencies(ctx)
        timings["compute"] = time.perf_counter() - t0
        objectors = _objectors(engine)
        # Bulk-written first, in transactions of their own, under this run's id: readers only look at
        # runs marked ok, and the next refresh removes rows of a run that died here. The scores are
        # written while the predictions are computed: the database's work and the models' share the
        # cores (benchmarks/bench_refresh.py, docs/benchmarks.md).
        scores = scores_frame(run_id, _scores_without(facts, objectors), ctx.cfg.time_zone)
        scores_written = writer.submit(_timed, store_scores, engine, scores)
        preds = None
        if predictions:
            step("predictions")
            t1 = time.perf_counter()
            preds, summary["predictions"] = _predict(ctx, facts, summary["typical_interval_days"], prediction_options)
            timings["predictions"] = time.perf_counter() - t1
        step("store")
        t1 = time.perf_counter()
        timings["store_scores_beside_predictions"] = scores_written.result()
        preds = _predictions_without(preds, objectors)
        preds_written = (writer.submit(_timed, store_predictions, engine, run_id, preds, ctx.as_of_utc)
                         if preds is not None and len(preds) else None)
        # The customer view is built from the frames being written, while they are written (it read them back
        # after the switch before, 5-7 s at 1M customers). Readers open the view of the newest complete run,
        # so this run's file is not read before its switch. Out of core, one after the other: both at once
        # hold half a gigabyte more per million customers.
        if preds_written is not None and getattr(ctx.backend, "out_of_core", None):
            timings["store_predictions_before_view"] = preds_written.result()
        step("view")
        generation = _view_generation(engine)
        summary["customer_view"] = _materialise_view(engine, run_id, scores, preds, timings)
        if preds_written is not None and "store_predictions_before_view" not in timings:
            timings["store_predictions_beside_view"] = preds_written.result()
        timings["store"] = time.perf_counter() - t1
        summary["timings_s"] = timings
        summary["out_of_core"] = getattr(ctx.backend, "out_of_core", None)
        summary["orders_copy"] = getattr(ctx.backend, "orders_copy", None)
        summary["window"] = {"days": ctx.window.days, "source": ctx.window.source, "gaps": ctx.window.gaps_observed}
        t1 = time.perf_counter()
        with engine.begin() as conn:
            for g, df in kpi.items():
                store_kpis(conn, run_id, g, ctx.window.days, df)
            for g, df in coh.items():
                if not df.empty:
                    conn.execute(CohortResult.__table__.insert(), records(df.assign(run_id=run_id, granularity=g)))
            values = {
                "finished_at": dt.datetime.now(dt.UTC), "status": "ok", "as_of": ctx.as_of_utc,
                "time_zone": ctx.cfg.time_zone, "data_from": to_utc(ctx.first_local, ctx.cfg.time_zone),
                "data_to": to_utc(ctx.last_local, ctx.cfg.time_zone), "duration_s": time.perf_counter() - started,
                "active_window_days": ctx.window.days, "active_window_source": ctx.window.source,
                "row_counts": {"orders": summary["orders"]["orders"], "customers": summary["customers"],
                               **{f"kpi_{g}": len(df) for g, df in kpi.items()},
                               **{f"cohort_{g}": len(df) for g, df in coh.items()}},
                "summary": json_safe(summary), "warnings": ctx.warnings}
            conn.execute(RefreshRun.__table__.update().where(RefreshRun.__table__.c.id == run_id).values(**values))
            for model in (KpiResult, CohortResult):
                conn.execute(delete(model).where(model.run_id != run_id))
        # The switch to this run: its KPI and cohort rows and the run record.
        timings["switch"] = time.perf_counter() - t1
        _prune_views(engine, run_id)
        if _view_generation(engine) != generation:
            # An erasure or objection while the view was written rewrote the previous run's view, not this one's.
            summary["customer_view"]["rewritten"] = _rematerialise(engine)
        # Readers look at the newest complete run only, so the previous run's million scores and predictions go
        # now. (Removed beside the next refresh's load instead, they slowed it by as much: docs/benchmarks.md,
        # "Stop 26".) A run that dies first leaves them to the next one, which removes every other run's.
        t1 = time.perf_counter()
        try:
            remove_other_runs(engine, run_id)
            removed: dict[str, Any] = {"removed_s": time.perf_counter() - t1}
        except Exception as exc:  # the run is complete and visible; its predecessor's rows wait for the next one
            log.warning("the previous run's rows were not removed: %s", type(exc).__name__)
            removed = {"error": Msg("the previous run's rows were not removed ({kind})",
                                    kind=type(exc).__name__).to_json()}
        timings["previous_rows_removed"] = removed.get("removed_s")
        with session_scope(engine) as s:
            run = s.get(RefreshRun, run_id)
            run.summary = {**(run.summary or {}), "previous_runs": removed, "timings_s": dict(timings),
                           "customer_view": summary["customer_view"]}
            return run
    except Exception as exc:
        writer.shutdown(wait=True)  # no write of this run may still be going on when it is marked failed
        with session_scope(engine) as s:
            run = s.get(RefreshRun, run_id)
            run.status = "failed"
            run.error = (str(exc) if isinstance(exc, RetentioError) else type(exc).__name__)[:2000]
            run.finished_at = dt.datetime.now(dt.UTC)
        raise
    finally:
        writer.shutdown(wait=True)
        if ctx is not None:
            ctx.close(keep_backend=backend is not None)


def _reapply_erasures(engine: Engine) -> None:
    """A restored backup must not bring an erased person back into the results (docs/privacy.md)."""
    from retentio.privacy.erase import reapply

    reapply(engine)


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _objectors(engine: Engine) -> set[int]:
    """Customers who objected to profiling (Art. 21): they keep no RFM scores and no predictions."""
    from retentio.privacy.objection import objected

    with engine.connect() as conn:
        return set(objected(conn))


def _scores_without(facts: pd.DataFrame, ids: set[int]) -> pd.DataFrame:
    from retentio.privacy.objection import PROFILE_SCORE_COLUMNS

    mask = facts["customer_id"].isin(ids) if ids else None
    if mask is None or not mask.any():
        return facts
    facts = facts.copy()
    for col in PROFILE_SCORE_COLUMNS:
        facts[col] = facts[col].astype(object).where(~mask, None)
    return facts


def _predictions_without(preds: pd.DataFrame | None, ids: set[int]) -> pd.DataFrame | None:
    if ids and preds is not None and len(preds):
        return preds[~preds["customer_id"].isin(ids)]
    return preds


def remove_other_runs(engine: Engine, run_id: int) -> None:
    """Every other run's customer scores and predictions (those of the run this one replaced, and of any
    that died before its own were removed)."""
    with engine.begin() as conn:
        conn.execute(delete(CustomerScore).where(CustomerScore.run_id != run_id))
        with rebuilding(conn, CustomerPrediction.__table__, REBUILT_INDEXES):
            conn.execute(delete(CustomerPrediction).where(CustomerPrediction.run_id != run_id))


def _materialise_view(engine: Engine, run_id: int, scores: pd.DataFrame, preds: pd.DataFrame | None,
                      timings: dict[str, float]) -> dict[str, Any]:
    """The customer view for pages and flows; the run is complete without it (readers rebuild it)."""
    from retentio.act import view_store
    from retentio.act.view import result_columns

    t0 = time.perf_counter()
    try:
        facts = view_store.materialise(engine, run_id, results=result_columns(engine, scores, preds), prune=False)
    except Exception as exc:  # a full disk must not undo a finished refresh
        facts = {"error": Msg("the customer view was not written ({kind})", kind=type(exc).__name__).to_json()}
    timings["view"] = time.perf_counter() - t0
    return facts


def _view_generation(engine: Engine) -> str:
    from retentio.act import view_store

    return view_store.generation(engine)


def _rematerialise(engine: Engine) -> str:
    from retentio.act import view_store

    try:
        return view_store.rematerialise(engine)
    except Exception as exc:  # the run is complete: no view file rather than one that holds what was erased
        log.warning("customer view not rewritten: %s", type(exc).__name__)
        for old in view_store.view_dir(engine).glob("customer_view-run*.parquet"):
            old.unlink(missing_ok=True)
        return f"removed ({type(exc).__name__})"


def _prune_views(engine: Engine, run_id: int) -> None:
    from retentio.act import view_store

    try:
        view_store.prune_older(engine, run_id)
    except OSError as exc:  # readers take the newest run's file; an older one left over is only disk space
        log.warning("older customer views not removed: %s", type(exc).__name__)


def _predict(ctx: Context, facts: pd.DataFrame, typical_interval: float, options) -> tuple[pd.DataFrame | None,
                                                                                         dict[str, Any]]:
    """The prediction stages; whatever goes wrong there, the KPIs and segments are still stored."""
    from retentio.predictions import predict

    try:
        return predict(ctx, facts, typical_interval, options)
    except Exception as exc:  # the stages isolate themselves; this is the last line of defence
        failed = {"status": "failed", "reason": Msg("unexpected error ({kind})", kind=type(exc).__name__).to_json()}
        return None, {"stages": {k: failed for k in ("transactions", "spend", "churn", "contracts")},
                      "chosen": {"model": None, "reason": failed["reason"]}, "backtest": {"models": {}},
                      "churn_model": failed, "contracts": failed, "warnings": []}
