"""Service cases: SLA due times, the status workflow, and the matched comparison on simulated truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa

from retentio.auth.roles import OPERATOR, Principal
from retentio.db.models import Customer, Order, ServiceCase
from retentio.errors import ConfigError, Conflict, PermissionDenied
from retentio.services import voice
from retentio.voice import analysis, cases

T = dt.datetime(2025, 6, 1, 10, tzinfo=dt.UTC)
TRUE_RATE = {1: 0.25, 2: 0.5, 5: 0.8}


@pytest.mark.parametrize(("priority", "category", "sla", "hours"), [
    ("urgent", "delivery", None, 4), ("high", "price", None, 24), ("normal", None, None, 72),
    ("low", "other", None, 168), ("high", "delivery", {"high": 12}, 12),
    ("high", "complaint", {"high": 12, "complaint": {"high": 2}}, 2),
    ("normal", "complaint", {"complaint": {"high": 2}}, 72),
])
def test_sla_hours(priority, category, sla, hours):
    assert cases.sla_hours(priority, category, sla) == hours


def test_status_workflow_and_roles(db):
    with db.begin() as conn:
        conn.execute(sa.insert(Customer).values(id=1, external_id="K1"))
    c = voice.create_case(db, OPERATOR, "K1", "delivery", "urgent", "lost")
    assert c["due_at"] is not None and c["status"] == "open"
    with pytest.raises(ConfigError):
        voice.create_case(db, OPERATOR, "K1", "shoes")
    with pytest.raises(ConfigError):  # closing needs a resolution
        voice.update_case(db, OPERATOR, c["id"], status="closed")
    voice.update_case(db, OPERATOR, c["id"], status="in_progress", owner="anna@shop.example", assign=True)
    with pytest.raises(Conflict):
        voice.update_case(db, OPERATOR, c["id"], status="in_progress")
    voice.update_case(db, OPERATOR, c["id"], status="resolved", resolution="replacement")
    voice.update_case(db, OPERATOR, c["id"], status="open", note="came back")  # reopened
    out = voice.get_case(db, OPERATOR, c["id"])
    assert out["closed_at"] is None and out["owner"] == "anna@shop.example"
    assert [h["kind"] for h in out["history"]] == ["opened", "assigned", "status", "status", "status"]
    analyst = Principal("user", 9, "a", "analyst")
    assert voice.get_case(db, analyst, c["id"])["id"] == c["id"]
    with pytest.raises(PermissionDenied):
        voice.update_case(db, analyst, c["id"], note="x")
    with db.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(sa.text("DELETE FROM case_events"))


def test_matched_comparison_removes_the_selection_that_the_raw_rates_show(db):
    """Complaints come mostly from rare buyers; repurchase depends only on how often people bought before.
    The raw rates differ a lot; the matched ones must agree within their intervals."""
    rng = np.random.default_rng(5)
    n = 3000
    customers, orders, case_rows = [], [], []
    oid = 0
    kinds = {}
    for i in range(1, n + 1):
        k = kinds[i] = int(rng.choice([1, 2, 5], p=[0.5, 0.3, 0.2]))  # purchases before T
        customers.append({"id": i, "external_id": f"K{i}"})
        for j in range(k):
            oid += 1
            orders.append({"id": oid, "external_id": f"O{oid}", "customer_id": i, "status": "placed",
                           "net_total": 20, "placed_at": T - dt.timedelta(days=10 + 50 * j + int(rng.integers(0, 20)))})
        if rng.random() < {1: 0.3, 2: 0.1, 5: 0.03}[k]:
            resolved = rng.random() < 0.7
            case_rows.append({"external_id": f"C{i}", "customer_id": i, "opened_at": T, "category": "delivery",
                              "closed_at": T + dt.timedelta(days=2) if resolved else None})
        if rng.random() < TRUE_RATE[k]:  # the truth: no effect of any case
            oid += 1
            orders.append({"id": oid, "external_id": f"O{oid}", "customer_id": i, "status": "placed",
                           "net_total": 20, "placed_at": T + dt.timedelta(days=int(rng.integers(5, 170)))})
    with db.begin() as conn:
        conn.execute(sa.insert(Customer), customers)
        conn.execute(sa.insert(Order), orders)
        conn.execute(sa.insert(ServiceCase), case_rows)
        out = analysis.complaint_outcomes(conn, T + dt.timedelta(days=200))
    g = {r["group"]: r for r in out["groups"]}
    assert g["none"]["raw_rate"] - g["resolved"]["raw_rate"] > 0.08  # the selection is real
    # The truth each matched rate estimates: the true repurchase rates weighted like the resolved group.
    resolved_k = [kinds[c["customer_id"]] for c in case_rows if c["closed_at"] is not None]
    truth = sum(TRUE_RATE[k] * resolved_k.count(k) / len(resolved_k) for k in TRUE_RATE)
    for grp in ("resolved", "unresolved", "none"):
        assert g[grp]["ci_low"] <= truth <= g[grp]["ci_high"], (grp, truth, g[grp])
    assert abs(g["none"]["raw_rate"] - truth) > 0.08  # unmatched, the groups differ
