"""The survey page behind a signed link: one answer per invitation, the stored answer on a second visit,
other customers' and forged links refused, the customer's language, and the loop behind it."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import sqlalchemy as sa

from retentio.act.links import LinkClaim, link_secret, sign, survey_url
from retentio.db.models import Customer, ServiceCase
from retentio.voice import surveys


def _invite(engine, kind: str = "nps", ref: str = "t1") -> tuple[int, int, str]:
    with engine.begin() as conn:
        cid = conn.execute(sa.select(Customer.id).where(Customer.external_id == "K10001")).scalar_one()
        inv = surveys.decide(conn, kind, cid, dt.datetime.now(dt.UTC), ref, min_gap_days=0).invitation_id
    return cid, inv, urlsplit(survey_url(engine, cid, inv)).path


def test_one_answer_per_invitation_and_the_stored_answer_on_a_second_visit(sqlite_web):
    engine = sqlite_web.engine
    _, _, path = _invite(engine)
    c = sqlite_web.client()
    page = c.get(path)
    assert page.status_code == 200 and 'name="score"' in page.text and 'value="10"' in page.text
    assert c.post(path, data={"score": "11"}).status_code == 422
    before = _cases(engine)
    assert c.post(path, data={"score": "3", "comment": "Lieferung kam zu spät"}).status_code == 200
    assert c.post(path, data={"score": "10"}).status_code == 200  # a second click changes nothing
    again = c.get(path)
    assert 'name="score"' not in again.text and "3" in re.sub(r"<[^>]+>", " ", again.text)
    assert _cases(engine) == before + 1  # the detractor's one case


def test_csat_links_use_the_five_point_scale(sqlite_web):
    _, _, path = _invite(sqlite_web.engine, "csat", "t2")
    page = sqlite_web.client().get(path)
    assert 'value="5"' in page.text and 'value="6"' not in page.text and 'value="0"' not in page.text


def test_forged_and_foreign_links_are_refused(sqlite_web):
    engine = sqlite_web.engine
    cid, inv, _ = _invite(engine, ref="t3")
    secret = link_secret(engine)
    other = sign(LinkClaim("survey", cid + 1, invitation=inv), secret)  # someone else's invitation
    c = sqlite_web.client()
    assert c.get(f"/s/{other}").status_code == 404
    assert c.post(f"/s/{other}", data={"score": "0"}).status_code == 404
    forged = sign(LinkClaim("survey", cid, invitation=inv), "x" * 40)
    assert c.get(f"/s/{forged}").status_code == 404
    feedback = sign(LinkClaim("feedback", cid), secret)  # a valid token for another action
    assert c.get(f"/s/{feedback}").status_code == 404


def _cases(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(ServiceCase)).scalar_one()
