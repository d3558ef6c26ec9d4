"""At risk: value at risk with reasons and filters; chosen customers onto a call list or into a segment
(twins: /api/v1/at-risk, /api/v1/call-lists/{name}/entries, /api/v1/segments/{name}/customers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import RetentioError
from retentio.i18n import tr
from retentio.labels import REASONS
from retentio.services import risk
from retentio.web.pages.common import changer, engine, failed, number, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/at-risk")
def at_risk_page(request: Request, top: int = Query(50, ge=1, le=500), min_risk: str | None = Query(None),
                 lifecycle: list[str] = Query([]), reason: str | None = Query(None), min_clv: str | None = Query(None),
                 p: Principal = Depends(viewer)) -> Response:
    risk_min = number(min_risk) or 0.0
    try:
        data = risk.at_risk(engine(request), p, top=top, min_churn=risk_min / 100 if risk_min > 1 else risk_min,
                            lifecycle=lifecycle or None, reason=reason or None, min_clv=number(min_clv))
    except RetentioError as exc:
        if "no results yet" not in exc.msg.msgid:
            raise
        return render(request, "_page_empty.html", title=tr(request.state.lang, "At risk"))
    template = "_risk_table.html" if request.headers.get("hx-request") and request.headers.get("hx-target") == "risk" \
        else "at_risk.html"
    return render(request, template, title=tr(request.state.lang, "At risk"), d=data, top=top,
                  min_risk=min_risk or "", lifecycle=lifecycle, reason=reason or "", min_clv=min_clv or "",
                  reasons=list(REASONS))


@router.post("/at-risk/act")
async def act(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    refs = [str(v) for v in form.getlist("customers")]
    target = str(form.get("target") or "")
    try:
        if form.get("action") == "segment":
            out = risk.add_to_segment(engine(request), p, refs, target)
            text = tr(request.state.lang, "{n} customers added to segment {name}.", n=out["added"], name=out["segment"])
        else:
            out = risk.add_to_call_list(engine(request), p, refs, target, str(form.get("note") or "") or None)
            text = tr(request.state.lang, "{n} customers put on call list {name}.", n=out["added"], name=out["list"])
    except RetentioError as exc:
        return failed(request, exc)
    return render(request, "_message.html", kind="ok", text=text)
