"""NPS and the service desk: the survey report with comments, the case queue and a case
(twins: /api/v1/surveys/report, /api/v1/surveys/comments, /api/v1/cases, /api/v1/cases/{id})."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from retentio.auth.roles import Principal
from retentio.db.voice_models import CASE_CATEGORIES, CASE_PRIORITIES, CASE_STATUSES
from retentio.i18n import tr
from retentio.services import voice
from retentio.web.pages.common import changer, engine, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)
DIMENSIONS = ("rfm_segment", "lifecycle", "churn_band", "tier", "cohort")


def chart(rows: list[dict], lang: str) -> dict:
    return {"lang": lang, "x": [str(r["period"])[:7] for r in rows], "axes": [{"format": "num", "min": -100,
                                                                                "max": 100}],
            "series": [{"name": "NPS", "data": [r["nps"] for r in rows]},
                       {"name": tr(lang, "from"), "data": [r["ci_low"] for r in rows], "dashed": True},
                       {"name": tr(lang, "to"), "data": [r["ci_high"] for r in rows], "dashed": True}]}


@router.get("/surveys")
def surveys_page(request: Request, period: Literal["month", "quarter", "year"] = "quarter",
                 by: Literal["rfm_segment", "lifecycle", "churn_band", "tier", "cohort"] = "lifecycle",
                 q: str | None = Query(None, max_length=120),
                 kind: Literal["promoter", "passive", "detractor", ""] = "",
                 p: Principal = Depends(viewer)) -> Response:
    data = voice.report(engine(request), p, period)
    comments = voice.comments(engine(request), p, q, kind or None, 50) if p.can("customers:read") else None
    if request.headers.get("hx-target") == "comments":
        return render(request, "_comments.html", comments=comments)
    return render(request, "surveys.html", title=tr(request.state.lang, "NPS and surveys"), d=data,
                  chart=chart(data["over_time"], request.state.lang), period=period, by=by, q=q or "",
                  kind=kind, comments=comments, dimensions=DIMENSIONS)


@router.get("/cases")
def cases_page(request: Request, state: Literal["open", "overdue", "closed", "all"] = "open",
               owner: str | None = Query(None, max_length=320), p: Principal = Depends(viewer)) -> Response:
    report = voice.cases_report(engine(request), p)
    queue = voice.list_cases(engine(request), p, state=state, owner=owner or None) if p.can("customers:read") \
        else None
    return render(request, "cases.html", title=tr(request.state.lang, "Service cases"), report=report, queue=queue,
                  state=state, owner=owner or "", categories=CASE_CATEGORIES, priorities=CASE_PRIORITIES)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, p: Principal = Depends(viewer)) -> Response:
    c = voice.get_case(engine(request), p, case_id)
    return render(request, "case.html", title=tr(request.state.lang, "Case {id}", id=case_id), c=c,
                  statuses=CASE_STATUSES)


@router.post("/cases")
async def create(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    # A refusal (role, unknown customer, wrong category) becomes the app's error page or htmx message.
    out = voice.create_case(engine(request), p, str(form.get("customer") or ""), str(form.get("category") or ""),
                            str(form.get("priority") or "normal"), str(form.get("description") or "") or None,
                            str(form.get("owner") or "") or None)
    return RedirectResponse(f"/cases/{out['id']}", 303)


@router.post("/cases/{case_id}")
async def update(request: Request, case_id: int, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    status = str(form.get("status") or "") or None
    owner = form.get("owner")
    voice.update_case(engine(request), p, case_id, status=status, owner=str(owner or "") or None,
                      note=str(form.get("note") or "") or None, resolution=str(form.get("resolution") or "") or None,
                      assign=owner is not None and str(owner) != str(form.get("owner_was") or ""))
    return RedirectResponse(f"/cases/{case_id}", 303)
