"""Surveys: whom to ask (three levels of throttling), one answer per invitation, and closing the loop.

Throttling, checked in this order for every wish to ask (a flow's message,
a closed case), each refusal recorded with its reason in ``survey_decisions``:

1. **floor_24h** — never two invitations to one person within 24 hours, whatever is configured;
2. **global_gap** — no invitation within ``survey_min_gap_days`` (default 90) of the previous one,
   across all surveys;
3. **cadence** — each survey type has its own rhythm in fixed slots counted from the person's first
   invitation of that type (NPS: every 180 days). A slot is used once. The slots do not move when
   another survey delays an invitation, so other surveys cannot push a type's rhythm back.

An answer closes the loop: an NPS detractor (0–6) opens exactly one service case,
a promoter (9–10) books exactly one ``promoter`` bonus in the loyalty ledger
(when the person is a member and the programme has that bonus), a CSAT answer
is stored on its case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from retentio.db.models import Feedback, ServiceCase
from retentio.db.types import table_of
from retentio.db.voice_models import Survey, SurveyDecision, SurveyInvitation, SurveyResponse
from retentio.errors import ConfigError, NotFound
from retentio.i18n import Msg

SUR, INV = table_of(Survey), table_of(SurveyInvitation)
DEC, RES = table_of(SurveyDecision), table_of(SurveyResponse)
FLOOR = dt.timedelta(hours=24)
DEFAULT_GAP_DAYS = 90
BUILTIN = {"nps": ("nps", 180), "csat": ("csat", 0)}
SCALE = {"nps": (0, 10), "csat": (1, 5)}


@dataclass(frozen=True)
class Decision:
    asked: bool
    reason: str
    invitation_id: int | None = None


def ensure(conn: Connection, now: dt.datetime | None = None) -> dict[str, Any]:
    """The built-in surveys (NPS every 180 days, CSAT after each closed case), created on first use."""
    have = {r.key: r for r in conn.execute(select(SUR))}
    for key, (kind, cadence) in BUILTIN.items():
        if key not in have:
            try:
                with conn.begin_nested():
                    conn.execute(insert(SUR).values(key=key, kind=kind, cadence_days=cadence, active=True,
                                                    created_at=now or dt.datetime.now(dt.UTC)))
            except IntegrityError:  # created meanwhile by another process
                pass
    return {r.key: r for r in conn.execute(select(SUR))}


def category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def decide(conn: Connection, survey_key: str, customer_id: int, now: dt.datetime, source_ref: str, *,
           min_gap_days: int = DEFAULT_GAP_DAYS, case_id: int | None = None) -> Decision:
    """Ask or not, record why; asking twice for the same ``source_ref`` is the same invitation."""
    surveys = ensure(conn, now)
    survey = surveys.get(survey_key)
    if survey is None:
        raise NotFound(Msg("no survey {key!r}", key=survey_key))
    done = conn.execute(select(INV.c.id).where(INV.c.source_ref == source_ref)).scalar()
    if done is not None:
        return Decision(True, "asked", int(done))
    reason = _refusal(conn, survey, customer_id, now, max(int(min_gap_days), 0))
    conn.execute(insert(DEC).values(survey_id=survey.id, customer_id=customer_id, decided_at=now,
                                    asked=reason is None, reason=reason or "asked", source_ref=source_ref[:255]))
    if reason:
        return Decision(False, reason)
    inv = conn.execute(insert(INV).values(survey_id=survey.id, customer_id=customer_id, source_ref=source_ref[:255],
                                          case_id=case_id, sent_at=now).returning(INV.c.id)).scalar_one()
    return Decision(True, "asked", int(inv))


def _refusal(conn: Connection, survey, customer_id: int, now: dt.datetime, gap_days: int) -> str | None:
    if not survey.active:
        return "inactive"
    past = conn.execute(select(INV.c.survey_id, INV.c.sent_at).where(INV.c.customer_id == customer_id)
                        .order_by(INV.c.sent_at)).all()
    if any(now - FLOOR < r.sent_at <= now + FLOOR for r in past):
        return "floor_24h"
    if gap_days and any(abs(now - r.sent_at) < dt.timedelta(days=gap_days) for r in past):
        return "global_gap"
    own = [r.sent_at for r in past if r.survey_id == survey.id]
    if survey.cadence_days and own:
        cadence = dt.timedelta(days=survey.cadence_days)
        slot = (now - own[0]) // cadence
        start = own[0] + slot * cadence
        if any(start <= t < start + cadence for t in own):
            return "cadence"
    return None


def invitation(conn: Connection, invitation_id: int):
    row = conn.execute(select(INV, SUR.c.kind, SUR.c.key).join(SUR, SUR.c.id == INV.c.survey_id)
                       .where(INV.c.id == invitation_id)).first()
    if row is None:
        raise NotFound(Msg("no such survey invitation"))
    return row


def stored_answer(conn: Connection, invitation_id: int):
    return conn.execute(select(RES).where(RES.c.invitation_id == invitation_id)).first()


def answer(conn: Connection, invitation_id: int, score: int, comment: str | None, now: dt.datetime,
           on_detractor=None, on_promoter=None) -> dict[str, Any]:
    """Store the one answer to an invitation (a second answer returns the first) and close the loop."""
    inv = invitation(conn, invitation_id)
    low, high = SCALE[inv.kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise ConfigError(Msg("the score must be a whole number from {low} to {high}", low=low, high=high))
    comment = (comment or "").replace("\x00", "").strip()[:2000] or None
    old = stored_answer(conn, invitation_id)
    if old is not None:
        return {"invitation": invitation_id, "score": old.score, "comment": old.comment, "new": False}
    try:
        with conn.begin_nested():
            conn.execute(insert(RES).values(invitation_id=invitation_id, survey_id=inv.survey_id,
                                            customer_id=inv.customer_id, score=score, comment=comment,
                                            answered_at=now))
    except IntegrityError:  # a double click that raced the first: the first answer stands
        old = stored_answer(conn, invitation_id)
        return {"invitation": invitation_id, "score": old.score, "comment": old.comment, "new": False}
    out: dict[str, Any] = {"invitation": invitation_id, "score": score, "comment": comment, "new": True}
    if inv.kind == "nps":
        # Feedback is what the analytics, segments and flows read (imported answers land there too).
        conn.execute(insert(table_of(Feedback)).values(external_id=f"survey:{invitation_id}",
                                                       customer_id=inv.customer_id, score=score, comment=comment,
                                                       submitted_at=now, source="nps"))
        out["category"] = category(score)
        if score <= 6 and on_detractor is not None:
            out["case"] = on_detractor(conn, inv, score, comment, now)
        if score >= 9 and on_promoter is not None:
            out["reward"] = on_promoter(conn, inv, now)
    elif inv.case_id is not None:
        conn.execute(update(table_of(ServiceCase)).where(ServiceCase.id == inv.case_id).values(satisfaction=score))
    return out


def nps(scores: list[int]) -> dict[str, Any]:
    """NPS = % promoters − % detractors, with a 95 % interval from the trinomial variance
    (Var = (p_P + p_D − (p_P − p_D)²) / n), and n. None when nobody answered."""
    n = len(scores)
    p = sum(s >= 9 for s in scores)
    d = sum(s <= 6 for s in scores)
    if n == 0:
        return {"n": 0, "promoters": 0, "passives": 0, "detractors": 0, "nps": None, "ci_low": None,
                "ci_high": None}
    pp, pd_ = p / n, d / n
    score = pp - pd_
    se = ((pp + pd_ - score ** 2) / n) ** 0.5
    return {"n": n, "promoters": p, "passives": n - p - d, "detractors": d, "nps": 100 * score,
            "ci_low": max(-100.0, 100 * (score - 1.96 * se)), "ci_high": min(100.0, 100 * (score + 1.96 * se))}


def csat(scores: list[int]) -> dict[str, Any]:
    """CSAT = share of 4 and 5 on the 1–5 scale, with the mean."""
    n = len(scores)
    if n == 0:
        return {"n": 0, "csat": None, "mean": None}
    return {"n": n, "csat": 100 * sum(s >= 4 for s in scores) / n, "mean": sum(scores) / n}
