"""The scheduler: refresh daily, flows at an interval, the worker continuously, without cron.

The schedule is part of the shop settings (``schedule_refresh_hour``,
``schedule_flows_minutes``, ``schedule_worker``), editable on the settings
page. Each tick turns what is due into a job with a key naming its slot
("refresh of 2026-12-02", "flows of slot 29433120"), so however many
processes tick, each slot runs once. The job runner does the work.

Run it inside ``retentio serve --scheduler`` or as its own process with
``retentio scheduler``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zoneinfo
from typing import Any

from sqlalchemy import Engine, select

from retentio.auth.roles import OPERATOR, Principal, require
from retentio.db.web_models import Job
from retentio.services.common import plain

log = logging.getLogger(__name__)
TICK_SECONDS = 20.0


def _local(now: dt.datetime, tz: str) -> dt.datetime:
    return now.astimezone(zoneinfo.ZoneInfo(tz))


def due(cfg, now: dt.datetime) -> list[tuple[str, str]]:
    """(kind, dedupe key) of the jobs due at ``now``."""
    out = []
    if cfg.schedule_refresh_hour is not None:
        local = _local(now, cfg.time_zone)
        if local.hour >= cfg.schedule_refresh_hour:
            out.append(("refresh", f"scheduled-refresh:{local.date().isoformat()}"))
    if cfg.schedule_flows_minutes:
        slot = int(now.timestamp() // (cfg.schedule_flows_minutes * 60))
        out.append(("flows", f"scheduled-flows:{cfg.schedule_flows_minutes}:{slot}"))
    if cfg.retention_years:
        out.append(("retention", f"scheduled-retention:{_local(now, cfg.time_zone).date().isoformat()}"))
    return out


def tick(engine: Engine, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    from retentio import jobs
    from retentio.shop import load_config

    now = now or dt.datetime.now(dt.UTC)
    cfg = load_config(engine)
    return [jobs.enqueue(engine, OPERATOR, kind, {"scheduled": True}, dedupe_key=key) for kind, key in due(cfg, now)]


def next_runs(cfg, now: dt.datetime) -> dict[str, str | None]:
    out: dict[str, str | None] = {"refresh": None, "flows": None}
    if cfg.schedule_refresh_hour is not None:
        local = _local(now, cfg.time_zone)
        at = local.replace(hour=cfg.schedule_refresh_hour, minute=0, second=0, microsecond=0)
        if at <= local:
            at = (at + dt.timedelta(days=1)).replace(hour=cfg.schedule_refresh_hour)
        out["refresh"] = at.astimezone(dt.UTC).isoformat()
    if cfg.schedule_flows_minutes:
        step = cfg.schedule_flows_minutes * 60
        out["flows"] = dt.datetime.fromtimestamp((now.timestamp() // step + 1) * step, dt.UTC).isoformat()
    return out


def status(engine: Engine, actor: Principal) -> dict[str, Any]:
    """The schedule, the last run of each kind and the next one."""
    from retentio.db.session import session_scope
    from retentio.shop import load_config

    require(actor, "settings:read")
    cfg = load_config(engine)
    now = dt.datetime.now(dt.UTC)
    last = {}
    with session_scope(engine) as s:
        for kind in ("refresh", "flows", "import"):
            j = s.scalar(select(Job).where(Job.kind == kind).order_by(Job.id.desc()).limit(1))
            last[kind] = plain({"id": j.id, "status": j.status, "created_at": j.created_at,
                                "finished_at": j.finished_at}) if j else None
    return {"refresh_hour": cfg.schedule_refresh_hour, "flows_minutes": cfg.schedule_flows_minutes,
            "worker": cfg.schedule_worker, "time_zone": cfg.time_zone, "last": last, "next": next_runs(cfg, now)}


class Scheduler(threading.Thread):
    """Ticks every TICK_SECONDS; runs the outbox worker while the setting says so."""

    def __init__(self, engine: Engine, tick_seconds: float = TICK_SECONDS, wake=None) -> None:
        super().__init__(name="retentio-scheduler", daemon=True)
        self.engine, self.tick_seconds, self.wake = engine, tick_seconds, wake
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from retentio.shop import load_config

        while not self._stop.is_set():
            try:
                if tick(self.engine) and self.wake is not None:
                    self.wake.set()
                if load_config(self.engine).schedule_worker:
                    self._deliver()
            except Exception as exc:  # one bad tick must not end the schedule
                log.warning("scheduler tick failed: %s", type(exc).__name__)
            self._stop.wait(self.tick_seconds)

    def _deliver(self) -> None:
        from retentio.act.worker import Worker
        from retentio.services.settings import delivery_channels
        from retentio.shop import load_config

        cfg = load_config(self.engine)
        w = Worker(self.engine, delivery_channels(self.engine), require_double_opt_in=cfg.require_double_opt_in)
        w.run(until_empty=True, stop=self._stop.is_set)
