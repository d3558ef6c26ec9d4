"""The scheduler: what is due when, in the shop's time zone, and each slot once however often it ticks."""

from __future__ import annotations

import datetime as dt

import pytest

from retentio import scheduler
from retentio.shop import ShopConfig, set_config

UTC = dt.UTC


@pytest.mark.parametrize("now,hour,tz,due", [
    (dt.datetime(2026, 12, 2, 4, 59, tzinfo=UTC), 6, "Europe/Berlin", False),   # 05:59 in Berlin
    (dt.datetime(2026, 12, 2, 5, 0, tzinfo=UTC), 6, "Europe/Berlin", True),     # 06:00 in Berlin
    (dt.datetime(2026, 7, 2, 4, 0, tzinfo=UTC), 6, "Europe/Berlin", True),      # summer time: 06:00
    (dt.datetime(2026, 12, 2, 23, 30, tzinfo=UTC), 6, "Europe/Berlin", False),  # 00:30 next day: before 6
    (dt.datetime(2026, 12, 2, 12, 0, tzinfo=UTC), None, "UTC", False),
])
def test_daily_refresh_in_the_shops_time(now, hour, tz, due):
    cfg = ShopConfig(time_zone=tz, schedule_refresh_hour=hour)
    kinds = [k for k, _key in scheduler.due(cfg, now)]
    assert ("refresh" in kinds) == due


def test_refresh_key_is_the_shops_local_date():
    cfg = ShopConfig(time_zone="Pacific/Auckland", schedule_refresh_hour=1)
    (kind, key), = scheduler.due(cfg, dt.datetime(2026, 12, 2, 13, 0, tzinfo=UTC))  # 02:00 on 3 Dec there
    assert kind == "refresh" and key.endswith("2026-12-03")


def test_flows_slots():
    cfg = ShopConfig(schedule_flows_minutes=15)
    a = scheduler.due(cfg, dt.datetime(2026, 12, 2, 10, 0, 1, tzinfo=UTC))
    b = scheduler.due(cfg, dt.datetime(2026, 12, 2, 10, 14, 59, tzinfo=UTC))
    c = scheduler.due(cfg, dt.datetime(2026, 12, 2, 10, 15, 0, tzinfo=UTC))
    assert a == b != c


def test_ticks_make_one_job_per_slot(db):
    from retentio import jobs
    from retentio.auth.roles import OPERATOR

    set_config(db, "schedule_refresh_hour", 3)
    set_config(db, "schedule_flows_minutes", 60)
    now = dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    for _ in range(3):
        scheduler.tick(db, now)
    scheduler.tick(db, now + dt.timedelta(minutes=30))
    listed = jobs.list_jobs(db, OPERATOR)["jobs"]
    assert sorted(j["kind"] for j in listed) == ["flows", "refresh"]
    scheduler.tick(db, now + dt.timedelta(minutes=61))
    assert len(jobs.list_jobs(db, OPERATOR)["jobs"]) == 3


def test_status_names_the_next_runs(db):
    from retentio.auth.roles import OPERATOR

    set_config(db, "schedule_refresh_hour", 6)
    out = scheduler.status(db, OPERATOR)
    assert out["refresh_hour"] == 6 and out["next"]["refresh"] and out["next"]["flows"] is None
