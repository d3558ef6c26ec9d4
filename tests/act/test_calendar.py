"""Occasions, quiet hours across DST, waits in the recipient's zone and stable variant assignment."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from retentio.act.flow_model import builtin_flows, parse_flow
from retentio.act.guardrails import in_quiet_hours, not_before
from retentio.act.occasions import occasion_date, occasions_between
from retentio.act.runner import wait_until
from retentio.act.variants import assign
from retentio.errors import ConfigError
from retentio.shop import ShopConfig


@pytest.mark.parametrize(("occasion", "year", "country", "expected"), [
    ("easter", 2026, "DE", dt.date(2026, 4, 5)), ("easter", 2027, "DE", dt.date(2027, 3, 28)),
    ("mothers_day", 2026, "DE", dt.date(2026, 5, 10)), ("mothers_day", 2027, "DE", dt.date(2027, 5, 9)),
    ("mothers_day", 2026, "GB", dt.date(2026, 3, 15)),  # Mothering Sunday: three weeks before Easter
    ("fathers_day", 2026, "DE", dt.date(2026, 5, 14)),  # Vatertag is Ascension Day
    ("black_friday", 2026, "DE", dt.date(2026, 11, 27)), ("valentines_day", 2026, "DE", dt.date(2026, 2, 14)),
    ("german_unity_day", 2026, "DE", dt.date(2026, 10, 3)), ("christmas_day", 2026, "AT", dt.date(2026, 12, 25)),
])
def test_occasion_dates(occasion, year, country, expected):
    assert occasion_date(occasion, year, country) == expected


def test_occasion_window_and_unknown_names():
    hits = occasions_between("christmas", dt.date(2026, 12, 1), dt.date(2026, 12, 4), days_before=21)
    assert hits == [(2026, dt.date(2026, 12, 3))]
    assert occasions_between("christmas", dt.date(2026, 12, 3), dt.date(2026, 12, 10), days_before=21) == []
    with pytest.raises(ConfigError, match="unknown occasion"):
        occasion_date("towel_day", 2026)


@pytest.mark.parametrize(("local", "inside"), [("19:59", False), ("20:00", True), ("23:30", True),
                                                ("07:59", True), ("08:00", False)])
def test_quiet_hours_over_midnight(local, inside):
    assert in_quiet_hours(dt.time.fromisoformat(local), dt.time(20), dt.time(8)) is inside


def test_quiet_hours_release_across_the_spring_dst_change():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    now = dt.datetime(2026, 3, 28, 23, 0, tzinfo=berlin)  # the night clocks go forward
    release = not_before(now.astimezone(dt.UTC), "Europe/Berlin", ShopConfig())
    assert release == dt.datetime(2026, 3, 29, 8, 0, tzinfo=berlin).astimezone(dt.UTC)
    assert release - now.astimezone(dt.UTC) == dt.timedelta(hours=8)  # 9 wall-clock hours, 8 real ones


@pytest.mark.parametrize(("step", "tz", "expected_local"), [
    ({"days": 1, "at": "10:00"}, "Europe/Berlin", dt.datetime(2026, 3, 11, 10, 0)),
    ({"at": "09:00"}, "Europe/Berlin", dt.datetime(2026, 3, 11, 9, 0)),   # 10:00 local now: tomorrow 09:00
    ({"at": "09:00"}, "America/New_York", dt.datetime(2026, 3, 10, 9, 0)),  # 05:00 there: today
    ({"hours": 2}, "Europe/Berlin", dt.datetime(2026, 3, 10, 12, 0)),
])
def test_wait_until_in_the_recipients_zone(step, tz, expected_local):
    now = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    assert wait_until(step, now, tz) == expected_local.replace(tzinfo=zoneinfo.ZoneInfo(tz)).astimezone(dt.UTC)


def test_assignment_is_stable_balanced_and_monotone_in_the_control_share():
    ids = range(20_000)
    small = [assign("winback", i, 0.1, ["A", "B"]) for i in ids]
    assert small == [assign("winback", i, 0.1, ["A", "B"]) for i in ids]
    share = small.count("control") / len(small)
    assert abs(share - 0.1) < 0.01 and abs(small.count("A") - small.count("B")) < 0.03 * len(small)
    larger = [assign("winback", i, 0.2, ["A", "B"]) for i in ids]
    assert all(b == "control" for a, b in zip(small, larger, strict=True) if a == "control")
    other = [assign("birthday", i, 0.1, ["A"]) for i in ids]
    overlap = sum(a == b == "control" for a, b in zip(small, other, strict=True))
    assert overlap < 0.02 * len(ids)  # flows draw independent control groups


def test_builtin_library_covers_the_occasions():
    keys = {f.key for f in builtin_flows()}
    assert {"onboarding", "feedback_request", "second_purchase", "reactivation", "winback", "birthday",
            "contract_expiry", "abandoned_cart", "detractor_recovery", "promoter_referral",
            "seasonal_christmas", "seasonal_easter", "seasonal_mothers_day", "seasonal_valentines_day"} <= keys


@pytest.mark.parametrize(("change", "message"), [
    ({"trigger": {"type": "sometime"}}, "trigger type"), ({"steps": []}, "at least one step"),
    ({"steps": [{"type": "wait"}]}, "wait needs"), ({"steps": [{"type": "send"}]}, "missing 'template'"),
    ({"steps": [{"type": "branch", "if": {}, "then": "nowhere"}]}, "unknown step"),
    ({"control_share": 1.0}, "control_share"), ({"variants": ["control"]}, "variants"),
    ({"reentry": {"policy": "sometimes"}}, "re-entry"), ({"key": "bad key!"}, "key must"),
    ({"purpose": "spam"}, "purpose")])
def test_flow_definitions_are_checked(change, message):
    base = {"key": "k", "trigger": {"type": "event", "event": "order_placed"},
            "steps": [{"type": "send", "template": "feedback_request"}]}
    with pytest.raises(ConfigError, match=message):
        parse_flow({**base, **change})
