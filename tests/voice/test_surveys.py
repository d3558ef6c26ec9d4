"""Surveys: the NPS and CSAT formulas, throttling for any schedule, one answer per invitation, the loop."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retentio.auth.roles import OPERATOR
from retentio.db.loyalty_models import LedgerTransaction
from retentio.db.models import Customer, Feedback, ServiceCase
from retentio.db.voice_models import SurveyDecision, SurveyInvitation
from retentio.loyalty import program as prog
from retentio.services import voice
from retentio.voice import surveys

T0 = dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC)


@pytest.mark.parametrize(("scores", "expected"), [
    ([], None),
    ([7, 8, 7, 8], 0.0),  # all passives
    ([10, 9, 0], 100 * (2 / 3 - 1 / 3)),
    ([0, 1, 2], -100.0),
    ([9] * 10, 100.0),
    ([10, 8, 6, 9, 7, 3, 10, 10, 5, 8], 100 * (4 / 10 - 3 / 10)),
])
def test_nps_formula(scores, expected):
    out = surveys.nps(scores)
    assert out["n"] == len(scores)
    if expected is None:
        assert out["nps"] is None and out["ci_low"] is None
        return
    assert out["nps"] == pytest.approx(expected)
    assert out["promoters"] + out["passives"] + out["detractors"] == len(scores)
    assert out["ci_low"] <= out["nps"] <= out["ci_high"]
    if expected in (100.0, -100.0, 0.0) and len(set(scores)) <= 2 and all(7 <= s <= 8 for s in scores):
        assert out["ci_low"] == out["ci_high"] == 0.0  # no variance when everyone is a passive


def test_nps_interval_matches_the_trinomial_variance():
    scores = [10] * 50 + [8] * 30 + [3] * 20
    out = surveys.nps(scores)
    p, d = 0.5, 0.2
    se = ((p + d - (p - d) ** 2) / 100) ** 0.5
    assert out["ci_low"] == pytest.approx(100 * (0.3 - 1.959964 * se), abs=1e-3)
    assert out["ci_high"] == pytest.approx(100 * (0.3 + 1.959964 * se), abs=1e-3)


@pytest.mark.parametrize(("scores", "csat", "mean"), [([], None, None), ([5, 4, 3, 2, 1], 40.0, 3.0),
                                                      ([4, 4], 100.0, 4.0)])
def test_csat_formula(scores, csat, mean):
    out = surveys.csat(scores)
    assert out["csat"] == csat and out["mean"] == mean


@pytest.fixture
def shop(db):
    with db.begin() as conn:
        conn.execute(sa.insert(Customer), [{"id": i, "external_id": f"K{i}", "created_at": T0, "locale": "de_DE"}
                                           for i in (1, 2, 3)])
    return db


requests = st.lists(st.tuples(st.integers(0, 2000), st.sampled_from(["nps", "csat"]), st.sampled_from([1, 2])),
                    min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reqs=requests, gap=st.sampled_from([0, 30, 90]))
def test_nobody_is_asked_more_often_than_the_rules_allow(shop, reqs, gap):
    with shop.begin() as conn:
        conn.execute(sa.delete(SurveyInvitation))
        before = conn.execute(sa.select(sa.func.count()).select_from(SurveyDecision)).scalar_one()
        for k, (hours, kind, cust) in enumerate(sorted(reqs)):
            surveys.decide(conn, kind, cust, T0 + dt.timedelta(hours=hours * 7), f"r{before}-{k}", min_gap_days=gap)
        # Every wish to ask was decided and recorded, with its reason when not asked.
        after = conn.execute(sa.select(sa.func.count()).select_from(SurveyDecision)).scalar_one()
        assert after - before == len(reqs)
        invs = conn.execute(sa.select(SurveyInvitation.customer_id, SurveyInvitation.survey_id,
                                      SurveyInvitation.sent_at).order_by(SurveyInvitation.sent_at)).all()
        cadence = {r.id: r.cadence_days for r in conn.execute(sa.text("SELECT id, cadence_days FROM surveys"))}
    for cust in (1, 2):
        times = [r for r in invs if r.customer_id == cust]
        for a, b in itertools.pairwise(times):
            assert b.sent_at - a.sent_at >= max(dt.timedelta(hours=24), dt.timedelta(days=gap))
        for sid, days in cadence.items():
            own = [r.sent_at for r in times if r.survey_id == sid]
            if days and own:
                slots = [(t - own[0]) // dt.timedelta(days=days) for t in own]
                assert len(slots) == len(set(slots))  # at most once per slot of the type's own rhythm


def test_other_surveys_cannot_push_the_nps_rhythm_back(shop):
    with shop.begin() as conn:
        assert surveys.decide(conn, "nps", 1, T0, "a", min_gap_days=30).asked
        # A CSAT 150 days later; NPS is due at day 180 and is asked then (gap 30 d has passed by day 180).
        assert surveys.decide(conn, "csat", 1, T0 + dt.timedelta(days=150), "b", min_gap_days=30).asked
        assert surveys.decide(conn, "nps", 1, T0 + dt.timedelta(days=170), "c", min_gap_days=30).reason == "global_gap"
        assert surveys.decide(conn, "nps", 1, T0 + dt.timedelta(days=181), "d", min_gap_days=30).asked
        # The next slot starts at day 360, counted from the first NPS, not from the delayed one.
        assert surveys.decide(conn, "nps", 1, T0 + dt.timedelta(days=300), "e", min_gap_days=30).reason == "cadence"
        assert surveys.decide(conn, "nps", 1, T0 + dt.timedelta(days=361), "f", min_gap_days=30).asked
        # The 24-hour floor holds even without a configured gap.
        assert surveys.decide(conn, "csat", 2, T0, "g", min_gap_days=0).asked
        assert surveys.decide(conn, "nps", 2, T0 + dt.timedelta(hours=23), "h", min_gap_days=0).reason == "floor_24h"


def test_the_loop_one_case_per_detractor_one_reward_per_promoter_one_answer_per_invitation(shop):
    with shop.begin() as conn:
        p = prog.create(conn, "club", "Club", "EUR", None, T0, "test", now=T0)
        prog.enrol(conn, p, [1, 2, 3], T0)
        det = surveys.decide(conn, "nps", 1, T0, "x1").invitation_id
        pro = surveys.decide(conn, "nps", 2, T0, "x2").invitation_id
        pas = surveys.decide(conn, "nps", 3, T0, "x3").invitation_id
    first = voice.answer_survey(shop, 1, det, 2, "Lieferung kam zu spät", now=T0 + dt.timedelta(days=1))
    for _ in range(3):  # double clicks and replays
        again = voice.answer_survey(shop, 1, det, 2, "Lieferung kam zu spät", now=T0 + dt.timedelta(days=1))
        assert again["new"] is False
        voice.answer_survey(shop, 1, det, 10, "changed my mind", now=T0 + dt.timedelta(days=1))
        voice.answer_survey(shop, 2, pro, 10, None, now=T0 + dt.timedelta(days=1))
        voice.answer_survey(shop, 3, pas, 8, None, now=T0 + dt.timedelta(days=1))
    state = voice.survey_state(shop, 1, det)
    assert state["answer"]["score"] == 2  # the first answer stands and is shown again
    assert voice.survey_state(shop, 2, det) is None  # not their invitation
    with shop.connect() as conn:
        cases = conn.execute(sa.select(ServiceCase.customer_id, ServiceCase.category, ServiceCase.origin)).all()
        assert [(c.customer_id, c.category, c.origin) for c in cases] == [(1, "delivery", "survey")]
        rewards = conn.execute(sa.select(LedgerTransaction.customer_id, LedgerTransaction.points).where(
            LedgerTransaction.idem_key.like("bonus:promoter:%"))).all()
        assert [(r.customer_id, r.points) for r in rewards] == [(2, 100)]
        assert conn.execute(sa.select(sa.func.count()).select_from(Feedback)).scalar_one() == 3
    assert first["category"] == "detractor" and first["new"] is True


def test_csat_after_closing_a_case_is_stored_on_the_case(shop):
    out = voice.create_case(shop, OPERATOR, "K1", "delivery", "high", "parcel lost")
    assert out["status"] == "open" and out["due_at"] is not None
    closed = voice.update_case(shop, OPERATOR, out["id"], status="closed", resolution="refund")
    assert closed["csat"]["asked"] and "/s/" in closed["csat"]["url"]
    with shop.connect() as conn:
        inv = conn.execute(sa.select(SurveyInvitation.id).where(SurveyInvitation.case_id == out["id"])).scalar_one()
    voice.answer_survey(shop, 1, inv, 4, "ok")
    assert voice.get_case(shop, OPERATOR, out["id"])["satisfaction"] == 4
    assert [h["to_status"] for h in voice.get_case(shop, OPERATOR, out["id"])["history"]] == ["open", "closed"]
