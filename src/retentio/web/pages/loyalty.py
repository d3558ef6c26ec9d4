"""Loyalty: the programme's liability, movements, tiers and effect (twin: /api/v1/loyalty)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import NotFound
from retentio.i18n import tr
from retentio.services import loyalty
from retentio.web.pages.common import engine, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


def chart(data: dict, lang: str) -> dict:
    rows = data["monthly"][-24:]
    return {"lang": lang, "x": [r["month"] for r in rows], "axes": [{"format": "num"}],
            "series": [{"name": tr(lang, "Issued"), "kind": "bar", "data": [r["issued"] for r in rows]},
                       {"name": tr(lang, "Redeemed"), "kind": "bar", "data": [r["redeemed"] for r in rows]},
                       {"name": tr(lang, "Expired"), "kind": "bar", "data": [r["expired"] for r in rows]}]}


@router.get("/loyalty")
def loyalty_page(request: Request, p: Principal = Depends(viewer)) -> Response:
    title = tr(request.state.lang, "Loyalty")
    try:
        data = loyalty.report(engine(request), p)
    except NotFound:
        return render(request, "loyalty.html", title=title, d=None)
    return render(request, "loyalty.html", title=title, d=data, chart=chart(data, request.state.lang),
                  currency=data["program"]["currency"])
