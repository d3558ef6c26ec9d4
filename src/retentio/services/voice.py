"""Surveys and service cases for every face: role checks here, the rules in retentio.voice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select

from retentio.auth.roles import Principal, require
from retentio.db.act_models import OutboxMessage
from retentio.db.loyalty_models import LoyaltyProgram
from retentio.db.models import Customer, CustomerPrediction, Order, RefreshRun, ServiceCase
from retentio.db.voice_models import SurveyDecision
from retentio.errors import ConfigError, NotFound
from retentio.i18n import Msg
from retentio.services.common import check_limit, customer_id_of, now_or, plain
from retentio.voice import analysis, cases, surveys

PERIODS = ("month", "quarter", "year")
DIMENSIONS = ("rfm_segment", "lifecycle", "churn_band", "tier", "cohort")


def _sla(engine: Engine) -> dict[str, int]:
    from retentio.shop import load_config

    return load_config(engine).sla()


# -- closing the loop ------------------------------------------------------------------------------
def _detractor(engine: Engine):
    sla = _sla(engine)

    def open_(conn, inv, score: int, comment: str | None, now: dt.datetime) -> int:
        return cases.open_case(conn, inv.customer_id, category=cases.guess_category(comment), priority="high",
                               description=comment, origin="survey", actor="survey", now=now,
                               external_id=f"survey:{inv.id}", sla=sla)
    return open_


def _promoter(conn, inv, now: dt.datetime) -> int | None:
    """The promoter bonus, once per answer, for members of a programme that has one."""
    from retentio.loyalty import program as prog
    from retentio.loyalty.ledger import Ledger

    for row in conn.execute(select(LoyaltyProgram.key)):
        p = prog.get(conn, row.key)
        bonus = next((b for b in p.rules.bonuses if b.kind == "promoter" and b.points), None)
        cohort = conn.execute(select(prog.MEM.c.cohort).where(prog.MEM.c.program_id == p.id,
                                                              prog.MEM.c.customer_id == inv.customer_id)).scalar()
        if bonus is None or cohort != "member" or not bonus.valid_on(now.date()):
            continue
        return Ledger(conn, p.id).bonus(f"bonus:promoter:{inv.id}", inv.customer_id, bonus.points, at=now,
                                        expires_at=p.rules.lot_expiry(now), reference=f"survey:{inv.id}",
                                        actor="survey", meta={"bonus": "promoter"}).id
    return None


# -- surveys -----------------------------------------------------------------------------------------
def survey_state(engine: Engine, customer_id: int, invitation_id: int) -> dict[str, Any] | None:
    """For the link page (no login): the invitation's scale and its stored answer; None if it is not theirs."""
    with engine.connect() as conn:
        try:
            inv = surveys.invitation(conn, invitation_id)
        except NotFound:
            return None
        if int(inv.customer_id) != customer_id:
            return None
        old = surveys.stored_answer(conn, invitation_id)
    low, high = surveys.SCALE[inv.kind]
    return {"kind": inv.kind, "low": low, "high": high,
            "answer": None if old is None else {"score": old.score, "comment": old.comment}}


def answer_survey(engine: Engine, customer_id: int, invitation_id: int, score: int, comment: str | None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """An answer through a signed link (the signature is the authorisation)."""
    with engine.begin() as conn:
        inv = surveys.invitation(conn, invitation_id)
        if int(inv.customer_id) != customer_id:
            raise NotFound(Msg("no such survey invitation"))
        return surveys.answer(conn, invitation_id, score, comment, now_or(now), on_detractor=_detractor(engine),
                              on_promoter=_promoter)


def ask(engine: Engine, actor: Principal, survey: str, customer: str, source_ref: str,
        now: dt.datetime | None = None) -> dict[str, Any]:
    """Ask one customer (throttled, recorded); the signed link when asked."""
    require(actor, "flows:write")
    from retentio.act.links import survey_url
    from retentio.shop import load_config

    if not (source_ref or "").strip() or len(source_ref) > 200:
        raise ConfigError(Msg("give a reference of 1 to 200 characters for this invitation"))
    cfg = load_config(engine)
    with engine.begin() as conn:
        cid = customer_id_of(conn, customer)
        d = surveys.decide(conn, survey, cid, now_or(now), f"api:{source_ref}", min_gap_days=cfg.survey_min_gap_days)
    link = survey_url(engine, cid, d.invitation_id) if d.asked and d.invitation_id else None
    return {"asked": d.asked, "reason": d.reason, "invitation": d.invitation_id, "url": link}


def report(engine: Engine, actor: Principal, period: str = "month", now: dt.datetime | None = None
           ) -> dict[str, Any]:
    require(actor, "aggregates:read")
    if period not in PERIODS:
        raise ConfigError(Msg("period must be one of {allowed}", allowed=", ".join(PERIODS)))
    now = now_or(now)
    with engine.connect() as conn:
        df = analysis.answers(conn)
        tiers = _tiers(conn)
        csat_scores = [int(r.satisfaction) for r in conn.execute(
            select(ServiceCase.satisfaction).where(ServiceCase.satisfaction.is_not(None)))]
        decisions: dict[str, int] = {}
        for r in conn.execute(select(SurveyDecision.reason)):
            decisions[r.reason] = decisions.get(r.reason, 0) + 1
        out = {"overall": surveys.nps(df["score"].astype(int).tolist() if not df.empty else []),
               "over_time": analysis.over_time(conn, period),
               "by": {d: analysis.by(conn, d, tiers) for d in DIMENSIONS},
               "churn_after": analysis.churn_after(conn, now), "csat": surveys.csat(csat_scores),
               "decisions": decisions}
    return plain(out)


def _tiers(conn) -> dict[int, str]:
    from retentio.loyalty import program as prog
    from retentio.loyalty import store

    out: dict[int, str] = {}
    for row in conn.execute(select(LoyaltyProgram.key)):
        out.update(store.current(conn, prog.get(conn, row.key)))
    return out


def comments(engine: Engine, actor: Principal, q: str | None = None, kind: str | None = None,
             limit: int | None = 50) -> list[dict[str, Any]]:
    require(actor, "customers:read")  # free text written by people
    if kind not in (None, "", "promoter", "passive", "detractor"):
        raise ConfigError(Msg("kind must be promoter, passive or detractor"))
    with engine.connect() as conn:
        rows = analysis.comments(conn, (q or "").strip()[:120] or None, kind or None, check_limit(limit, 50))
        ext = dict(conn.execute(select(Customer.id, Customer.external_id).where(
            Customer.id.in_({r["customer_id"] for r in rows}))).all()) if rows else {}
    return plain([{**{k: v for k, v in r.items() if k != "customer_id"}, "customer": ext.get(r["customer_id"])}
                  for r in rows])


# -- cases ---------------------------------------------------------------------------------------------
def list_cases(engine: Engine, actor: Principal, *, state: str = "open", owner: str | None = None,
               limit: int | None = 100, now: dt.datetime | None = None) -> dict[str, Any]:
    require(actor, "customers:read")
    if state not in ("open", "overdue", "closed", "all"):
        raise ConfigError(Msg("state must be open, overdue, closed or all"))
    now = now_or(now)
    c = ServiceCase
    open_ = c.status.in_(cases.OPEN) | (c.status.is_(None) & c.closed_at.is_(None))
    stmt = select(c, Customer.external_id.label("customer")).join(Customer, Customer.id == c.customer_id)
    if state == "open":
        stmt = stmt.where(open_)
    elif state == "overdue":
        stmt = stmt.where(open_, c.due_at < now)
    elif state == "closed":
        stmt = stmt.where(~open_)
    if owner:
        stmt = stmt.where(c.owner == owner)
    order = (c.due_at.is_(None), c.due_at, c.id) if state in ("open", "overdue") else (c.opened_at.desc(),)
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(*order).limit(check_limit(limit, 100))).all()
        counts = cases.counts(conn, now)
    return plain({"counts": counts, "cases": [_case_row(r, now) for r in rows]})


def _case_row(r, now: dt.datetime) -> dict[str, Any]:
    status = cases.status_of(r)
    return {"id": r.id, "customer": r.customer, "category": r.category, "priority": r.priority or "normal",
            "status": status, "owner": r.owner, "opened_at": r.opened_at, "due_at": r.due_at,
            "closed_at": r.closed_at, "overdue": bool(r.due_at and status in cases.OPEN and r.due_at < now),
            "origin": r.origin or "import", "satisfaction": r.satisfaction, "resolution": r.resolution}


def get_case(engine: Engine, actor: Principal, case_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """A case with the customer's context: value at risk, churn reasons, recent orders and messages."""
    require(actor, "customers:read")
    now = now_or(now)
    with engine.connect() as conn:
        r = conn.execute(select(ServiceCase, Customer.external_id.label("customer"))
                         .join(Customer, Customer.id == ServiceCase.customer_id)
                         .where(ServiceCase.id == case_id)).first()
        if r is None:
            raise NotFound(Msg("no case {id}", id=case_id))
        run = conn.execute(select(RefreshRun.id).where(RefreshRun.status == "ok").order_by(RefreshRun.id.desc())
                           .limit(1)).scalar()
        pred = conn.execute(select(CustomerPrediction.value_at_risk, CustomerPrediction.churn_probability,
                                   CustomerPrediction.clv, CustomerPrediction.reasons)
                            .where(CustomerPrediction.run_id == run,
                                   CustomerPrediction.customer_id == r.customer_id)).first() if run else None
        orders = conn.execute(select(Order.external_id, Order.placed_at, Order.net_total, Order.status)
                              .where(Order.customer_id == r.customer_id).order_by(Order.placed_at.desc())
                              .limit(5)).all()
        messages = conn.execute(select(OutboxMessage.flow_key, OutboxMessage.subject, OutboxMessage.status,
                                       OutboxMessage.created_at).where(OutboxMessage.customer_id == r.customer_id)
                                .order_by(OutboxMessage.id.desc()).limit(5)).all()
        hist = cases.history(conn, case_id)
    return plain({**_case_row(r, now), "description": r.description,
                  "context": {"value_at_risk": pred.value_at_risk if pred else None,
                              "churn_probability": pred.churn_probability if pred else None,
                              "clv": pred.clv if pred else None, "reasons": (pred.reasons or [])[:3] if pred else [],
                              "orders": [dict(o._mapping) for o in orders],
                              "messages": [dict(m._mapping) for m in messages]},
                  "history": [{k: v for k, v in h.items() if k not in ("id", "case_id")} for h in hist]})


def create_case(engine: Engine, actor: Principal, customer: str, category: str, priority: str = "normal",
                description: str | None = None, owner: str | None = None, external_id: str | None = None,
                origin: str = "web") -> dict[str, Any]:
    require(actor, "cases:write")
    with engine.begin() as conn:
        cid = customer_id_of(conn, customer)
        case_id = cases.open_case(conn, cid, category=category, priority=priority, description=description,
                                  origin=origin, actor=actor.ref, owner=owner, sla=_sla(engine),
                                  external_id=f"{origin}:{external_id}" if external_id else None)
    return get_case(engine, actor, case_id)


def update_case(engine: Engine, actor: Principal, case_id: int, *, status: str | None = None,
                owner: str | None = None, note: str | None = None, resolution: str | None = None,
                assign: bool = False) -> dict[str, Any]:
    """Change status (closing asks for CSAT), owner, or add a note."""
    require(actor, "cases:write")
    from retentio.shop import load_config

    now = now_or(None)
    csat = None
    with engine.begin() as conn:
        if assign:
            cases.assign(conn, case_id, owner, actor=actor.ref, now=now)
        if status:
            old = cases.set_status(conn, case_id, status, actor=actor.ref, note=note, resolution=resolution, now=now)
            if status in cases.DONE and old not in cases.DONE:
                row = cases.get(conn, case_id)
                csat = surveys.decide(conn, "csat", int(row.customer_id), now, f"case:{case_id}:csat",
                                      min_gap_days=load_config(engine).survey_min_gap_days, case_id=case_id)
        elif note:
            cases.add_note(conn, case_id, note, actor=actor.ref, now=now)
    out = get_case(engine, actor, case_id)
    if csat is not None:
        from retentio.act.links import survey_url

        out["csat"] = {"asked": csat.asked, "reason": csat.reason,
                       "url": survey_url(engine, _case_customer(engine, case_id), csat.invitation_id)
                       if csat.asked and csat.invitation_id else None}
    return out


def _case_customer(engine: Engine, case_id: int) -> int:
    with engine.connect() as conn:
        return int(cases.get(conn, case_id).customer_id)


def cases_report(engine: Engine, actor: Principal, now: dt.datetime | None = None) -> dict[str, Any]:
    require(actor, "aggregates:read")
    now = now_or(now)
    with engine.connect() as conn:
        return plain({"counts": cases.counts(conn, now), "sla": analysis.sla_report(conn, _sla(engine)),
                      "outcomes": analysis.complaint_outcomes(conn, now),
                      "value_at_risk": analysis.value_at_risk_by_category(conn)})
