"""Fixtures of the act tests: a database of each kind and a tiny shop builder."""

from __future__ import annotations

import datetime as dt

import pytest

from retentio.db.models import Consent, Customer, Event, Feedback, Order, OrderLine, Product

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


class Shop:
    """Inserts customers, consents, products, orders and events with explicit ids."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.n_orders = 0
        with engine.begin() as conn:
            conn.execute(Product.__table__.insert(), [
                {"id": i, "sku": f"P{i}", "name": name, "category": "x", "price": 10}
                for i, name in enumerate(["Kaffee", "Tee", "Tasse", "Mühle", "Filter"], start=1)])

    def customer(self, cid: int, *, consent: str | None = "granted", doi: bool = True, email: str | None = "auto",
                 locale: str = "de_DE", tz: str = "Europe/Berlin", first_name: str = "Anna",
                 birthday: dt.date | None = None) -> int:
        with self.engine.begin() as conn:
            conn.execute(Customer.__table__.insert(), [{
                "id": cid, "external_id": f"K{cid}", "email": f"k{cid}@example.org" if email == "auto" else email,
                "first_name": first_name, "last_name": "Muster", "locale": locale, "time_zone": tz,
                "birthday": birthday, "created_at": NOW - dt.timedelta(days=400)}])
            if consent:
                conn.execute(Consent.__table__.insert(), [{
                    "customer_id": cid, "channel": "email", "purpose": "marketing", "status": consent,
                    "recorded_at": NOW - dt.timedelta(days=400),
                    "double_opt_in_at": NOW - dt.timedelta(days=399) if doi else None}])
        return cid

    def order(self, cid: int, at: dt.datetime, total: float = 30.0, products=(1,)) -> int:
        self.n_orders += 1
        oid = self.n_orders
        with self.engine.begin() as conn:
            conn.execute(Order.__table__.insert(), [{"id": oid, "external_id": f"O{oid}", "customer_id": cid,
                                                     "placed_at": at, "net_total": total, "status": "placed"}])
            conn.execute(OrderLine.__table__.insert(), [
                {"order_id": oid, "line_no": i + 1, "product_id": p, "sku": f"P{p}", "quantity": 1,
                 "unit_price": total / len(products), "net_amount": total / len(products)}
                for i, p in enumerate(products)])
        return oid

    def event(self, cid: int, kind: str, at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(Event.__table__.insert(), [{"event_key": f"{kind}-{cid}-{at.isoformat()}",
                                                     "customer_id": cid, "type": kind, "occurred_at": at}])

    def feedback(self, cid: int, score: int, at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(Feedback.__table__.insert(), [{"external_id": f"F{cid}-{at:%s}", "customer_id": cid,
                                                        "score": score, "submitted_at": at}])


@pytest.fixture
def shop(db):
    return Shop(db)
