"""The overview: KPI tiles against the previous period, trends, revenue and new customers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from retentio.auth.roles import Principal, require
from retentio.errors import ConfigError
from retentio.i18n import Msg, message_text
from retentio.services.common import plain, rows_of
from retentio.timezones import to_local

PERIODS = ("week", "month", "quarter")
# Tile -> how its change is read: points for rates, relative for amounts; which direction is good.
TILES = (("crr", "points", 1), ("retained_share", "points", 1), ("churn_rate", "points", -1),
         ("repeat_purchase_rate", "points", 1), ("n", "relative", 1), ("revenue", "relative", 1),
         ("aov", "relative", 1), ("purchase_frequency", "relative", 1))


def check_period(period: str) -> str:
    if period not in PERIODS:
        raise ConfigError(Msg("period must be one of {allowed}, not {value!r}", allowed=", ".join(PERIODS),
                              value=period))
    return period


def check_window(days: int | None) -> int | None:
    if days is not None and not 1 <= int(days) <= 3650:
        raise ConfigError(Msg("the activity window must lie between 1 and 3650 days"))
    return days


def currency_of(engine: Engine, run) -> str:
    from retentio.shop import load_config

    found = (run.summary or {}).get("currencies") if run is not None else None
    return found[0] if found and len(found) == 1 else load_config(engine).currency


def kpi_series(engine: Engine, actor: Principal, period: str = "month", window: int | None = None,
               lang: str | None = None) -> dict[str, Any]:
    """The stored KPI series per period (an unseen window is computed once and stored)."""
    from retentio import results

    require(actor, "aggregates:read")
    df, run = results.kpis(engine, check_period(period), check_window(window))
    return {"period": period, "active_window_days": int(df.attrs["active_window_days"]),
            "active_window_source": "call" if window else run.active_window_source,
            "as_of": plain(run.as_of), "time_zone": run.time_zone, "currency": currency_of(engine, run),
            "run_id": run.id, "warnings": [message_text(w, lang) for w in run.warnings or []],
            "rows": rows_of(df)}


def _complete(rows: list[dict[str, Any]], as_of_local: dt.date) -> list[dict[str, Any]]:
    """Periods that have ended by the as-of day (the running one would compare half a month with a whole)."""
    done = [r for r in rows if dt.date.fromisoformat(str(r["period_end"])[:10]) <= as_of_local]
    return done or rows


def _change(now: Any, before: Any, how: str) -> float | None:
    if now is None or before is None:
        return None
    if how == "points":
        return float(now) - float(before)
    return None if not before else (float(now) - float(before)) / abs(float(before)) * 100


def overview(engine: Engine, actor: Principal, period: str = "month", window: int | None = None,
             lang: str | None = None) -> dict[str, Any]:
    """Tiles for the last complete period with the change against the one before, and the trends."""
    from retentio import results

    data = kpi_series(engine, actor, period, window, lang)
    run = results.current_run(engine)
    as_of_local = to_local(run.as_of, run.time_zone).date()
    rows = data["rows"]
    complete = _complete(rows, as_of_local)
    last = complete[-1] if complete else None
    prev = complete[-2] if len(complete) > 1 else None
    tiles = []
    for key, how, good in TILES:
        value = last.get(key) if last else None
        before = prev.get(key) if prev else None
        tiles.append({"key": key, "value": value, "previous": before, "change": _change(value, before, how),
                      "change_kind": how, "good_direction": good})
    summary = run.summary or {}
    crr_above = [r["period_start"] for r in rows if r.get("crr") is not None and r["crr"] > 100 + 1e-9]
    return {**data, "tiles": tiles, "tile_period": last and {"start": last["period_start"], "end": last["period_end"],
                                                             "warmup": last.get("warmup", False)},
            "customers": summary.get("customers"), "lifecycle": summary.get("lifecycle", {}),
            "data_from": plain(run.data_from), "data_to": plain(run.data_to), "crr_above_100": crr_above,
            "tile_reactivated": bool(last and last.get("crr") is not None and last.get("retained_share") is not None
                                     and last["crr"] > last["retained_share"] + 1e-9),
            "refreshed_at": plain(run.finished_at)}
