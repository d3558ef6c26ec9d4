"""Planning for every face: the budget advisor (and the communication calendar). Aggregates only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from retentio.auth.roles import Principal, require
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.services.common import plain


def budget(engine: Engine, actor: Principal, *, cac: float | None = None, points: float = 5.0) -> dict[str, Any]:
    """The guides' split by sales volume, and the evidence from the shop's own CLV model and control groups."""
    from retentio.planning.budget import advise

    require(actor, "aggregates:read")
    if cac is not None and not 0 < cac <= 1e6:
        raise ConfigError(Msg("the customer acquisition cost must lie between 0 and 1,000,000"))
    if not 0 < points <= 50:
        raise ConfigError(Msg("retention points must lie between 0 and 50"))
    return plain(advise(engine, cac=cac, points=points))


VIEWS = {"week": 7, "month": 31}


def calendar(engine: Engine, actor: Principal, *, view: str = "week", start: str | None = None,
             now=None) -> dict[str, Any]:
    """Planned contacts per day, flow and channel, against the caps and quiet hours (aggregates)."""
    import datetime as dt
    import zoneinfo

    from retentio.planning.calendar import shop_view
    from retentio.services.common import now_or
    from retentio.shop import load_config

    require(actor, "aggregates:read")
    if view not in VIEWS:
        raise ConfigError(Msg("view must be week or month"))
    tz = zoneinfo.ZoneInfo(load_config(engine).time_zone)
    if start:
        try:
            day = dt.date.fromisoformat(start)
        except ValueError:
            raise ConfigError(Msg("start must be a date like 2026-12-07")) from None
        begin = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    else:
        begin = now_or(now)
    return plain({**shop_view(engine, begin, VIEWS[view]), "view": view})


def customer_calendar(engine: Engine, actor: Principal, customer: str, *, days: int = 60, now=None
                      ) -> dict[str, Any]:
    """One customer's last contact, planned contacts, milestones and caps."""
    from retentio.planning.calendar import customer_view
    from retentio.services.common import customer_id_of, now_or

    require(actor, "customers:read")
    if not 1 <= days <= 366:
        raise ConfigError(Msg("days must lie between 1 and 366"))
    with engine.connect() as conn:
        cid = customer_id_of(conn, customer)
    return plain(customer_view(engine, cid, now_or(now), days))
