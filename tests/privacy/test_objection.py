"""Objection (Art. 21) and retention periods."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.helpers import write_csv

from retentio.act import view_store
from retentio.auth.roles import OPERATOR, Principal
from retentio.db.models import Customer, CustomerPrediction, CustomerScore
from retentio.errors import PermissionDenied
from retentio.ingest.importer import run_import
from retentio.refresh import refresh
from retentio.services import privacy

NOW = dt.datetime.now(dt.UTC)


def _day(days: int) -> str:
    return (NOW - dt.timedelta(days=days)).strftime("%Y-%m-%d")


@pytest.fixture
def shop(sqlite_engine, tmp_path):
    rng_rows = []
    for c in range(40):
        for k in range(1 + c % 4):
            rng_rows.append([f"O{c}-{k}", f"K{c}", _day(30 + 170 * k + 7 * c), 20 + c])
    # K99 bought once, five years ago.
    rng_rows.append(["OLD", "K99", _day(5 * 365 + 30), 50])
    write_csv(tmp_path / "orders.csv", ["order_id", "customer_id", "placed_at", "total"], rng_rows)
    run_import(sqlite_engine, "orders", tmp_path / "orders.csv")
    return sqlite_engine


def _cid(db, key: str) -> int:
    with db.connect() as conn:
        return conn.scalar(sa.select(Customer.id).where(Customer.external_id == key))


def test_an_objector_gets_no_predictions_and_no_value_segment(shop):
    refresh(shop)
    k3 = _cid(shop, "K3")
    with shop.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(CustomerPrediction)
                           .where(CustomerPrediction.customer_id == k3)) == 1
    with pytest.raises(PermissionDenied):
        privacy.objection(shop, Principal("user", 2, "m", "marketer"), "K3")
    privacy.objection(shop, OPERATOR, "K3")

    def state():
        with shop.connect() as conn:
            preds = conn.scalar(sa.select(sa.func.count()).select_from(CustomerPrediction)
                                .where(CustomerPrediction.customer_id == k3))
            rfm = conn.scalar(sa.select(CustomerScore.rfm_segment).where(CustomerScore.customer_id == k3))
            lifecycle = conn.scalar(sa.select(CustomerScore.lifecycle).where(CustomerScore.customer_id == k3))
        view, _ = view_store.current(shop)
        row = view_store.run_query(view.filter(view.customer_id == k3)).to_pylist()[0]
        return preds, rfm, lifecycle, row
    for _ in range(2):  # at once, and after the next refresh
        preds, rfm, lifecycle, row = state()
        assert preds == 0 and rfm is None and lifecycle is not None  # still counted in aggregates
        assert row["churn_probability"] is None and row["clv"] is None and row["rfm_segment"] is None
        refresh(shop)
    privacy.objection(shop, OPERATOR, "K3", on=False)
    refresh(shop)
    assert state()[0] == 1


def test_retention_dry_run_counts_and_the_real_run_erases_only_the_inactive(shop):
    off = privacy.retention(shop, OPERATOR, dry_run=True)
    assert off["enabled"] is False
    dry = privacy.retention(shop, OPERATOR, dry_run=True, years=3)
    assert dry["customers"] == 1 and dry["erased"] == 0
    with shop.connect() as conn:
        assert conn.scalar(sa.select(Customer.erased_at).where(Customer.external_id == "K99")) is None
    done = privacy.retention(shop, OPERATOR, dry_run=False, years=3)
    assert done["erased"] == 1
    with shop.connect() as conn:
        erased = conn.execute(sa.select(Customer.external_id).where(Customer.erased_at.is_not(None))).scalars().all()
    assert len(erased) == 1 and erased[0].startswith("erased:")
    assert [e["reason"] for e in privacy.erasure_log(shop, OPERATOR)] == ["retention"]
    assert privacy.retention(shop, OPERATOR, dry_run=True, years=3)["customers"] == 0
