"""Everything known about one customer, for `retentio customer ID` and the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from retentio.db.models import (
    Consent,
    Customer,
    CustomerPrediction,
    Event,
    Feedback,
    Order,
    OrderLine,
    ServiceCase,
    Subscription,
)
from retentio.db.session import session_scope
from retentio.errors import RetentioError
from retentio.i18n import Msg
from retentio.results import latest_run, predictions, scores

MAX_EVENTS = 50


def _row(obj, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}


def customer_profile(engine: Engine, ref: str) -> dict[str, Any]:
    with session_scope(engine) as s:
        cust = s.scalars(select(Customer).where(Customer.external_id == ref)).first()
        if cust is None and ref.isdigit():
            cust = s.get(Customer, int(ref))
        if cust is None:
            raise RetentioError(Msg("customer {ref!r} not found (give the customer number from your data)", ref=ref))
        cid = cust.id
        orders = s.scalars(select(Order).where(Order.customer_id == cid).order_by(Order.placed_at)).all()
        lines_by_order: dict[int, list[dict]] = {}
        if orders:
            for line in s.scalars(select(OrderLine).where(OrderLine.order_id.in_([o.id for o in orders]))
                                  .order_by(OrderLine.order_id, OrderLine.line_no)):
                lines_by_order.setdefault(line.order_id, []).append(
                    _row(line, ("id", "order_id", "product_id")))
        profile = {
            "customer": _row(cust),
            "consents": [_row(c, ("id", "customer_id")) for c in s.scalars(select(Consent).where(Consent.customer_id == cid))],
            "orders": [{**_row(o, ("customer_id",)), "lines": lines_by_order.get(o.id, [])} for o in orders],
            "events": [_row(e, ("customer_id",)) for e in s.scalars(
                select(Event).where(Event.customer_id == cid).order_by(Event.occurred_at.desc()).limit(MAX_EVENTS))],
            "subscriptions": [_row(x, ("customer_id",)) for x in s.scalars(select(Subscription).where(Subscription.customer_id == cid))],
            "feedback": [_row(x, ("customer_id",)) for x in s.scalars(
                select(Feedback).where(Feedback.customer_id == cid).order_by(Feedback.submitted_at))],
            "cases": [_row(x, ("customer_id",)) for x in s.scalars(
                select(ServiceCase).where(ServiceCase.customer_id == cid).order_by(ServiceCase.opened_at))],
        }
    run = latest_run(engine, required=False)
    profile["scores"] = None
    if run is not None:
        sc = scores(engine, cid)
        if not sc.empty:
            rec = sc.iloc[0].to_dict()
            profile["scores"] = {k: (None if v != v else v) if isinstance(v, float) else v for k, v in rec.items()}
        pr, _ = predictions(engine, cid)
        profile["predictions"] = None
        if not pr.empty:
            keep = [c.name for c in CustomerPrediction.__table__.columns if c.name not in ("id", "run_id")]
            rec = pr.iloc[0][keep].to_dict()
            profile["predictions"] = {k: (None if v != v else v) if isinstance(v, float) else v
                                      for k, v in rec.items()}
        profile["as_of"] = run.as_of
    return profile
