"""The budget page: the guides' split by sales volume beside the shop's own evidence (twin: /api/v1/budget)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.i18n import tr
from retentio.services import planning
from retentio.web.pages.common import engine, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/budget")
def budget_page(request: Request, cac: str = Query("", max_length=20), points: str = Query("5", max_length=8),
                p: Principal = Depends(viewer)) -> Response:
    from retentio.web.pages.common import number

    cac_value = number(cac)
    pts = number(points) or 5.0
    cac_value = cac_value if cac_value and 0 < cac_value <= 1e6 else None
    pts = pts if 0 < pts <= 50 else 5.0
    out = planning.budget(engine(request), p, cac=cac_value, points=pts)
    return render(request, "budget.html", title=tr(request.state.lang, "Budget"), b=out, cac=cac_value or "",
                  points=pts)


@router.get("/calendar")
def calendar_page(request: Request, view: str = Query("week", max_length=8), start: str = Query("", max_length=10),
                  p: Principal = Depends(viewer)) -> Response:
    view = view if view in planning.VIEWS else "week"
    out = planning.calendar(engine(request), p, view=view, start=start or None)
    cells: dict[str, dict[str, dict]] = {}
    for r in out["rows"]:
        cells.setdefault(r["day"], {})[f"{r['flow']} · {r['channel']}"] = r
    columns = sorted({k for day in cells.values() for k in day})
    return render(request, "calendar.html", title=tr(request.state.lang, "Calendar"), c=out, cells=cells,
                  columns=columns, view=view)
