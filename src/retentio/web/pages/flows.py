"""Flows: the library with status; a flow's switch, settings, diagram, message preview, test send and effect;
the outbox (twins: /api/v1/flows…, /api/v1/outbox)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import RetentioError
from retentio.i18n import tr
from retentio.services import flows
from retentio.web.pages.common import back, changer, engine, failed, number, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)
BOX_W, BOX_H, GAP = 260, 44, 26


def layout(diagram: dict[str, Any]) -> dict[str, Any]:
    """Boxes in a column; forward jumps curve to the right, the next step is a straight arrow."""
    rows = {n["id"]: n["row"] for n in diagram["nodes"]}
    boxes = [{**n, "x": 10, "y": 10 + n["row"] * (BOX_H + GAP)} for n in diagram["nodes"]]
    paths = []
    for e in diagram["edges"]:
        if e["to"] not in rows:
            continue
        a, b = rows[e["from"]], rows[e["to"]]
        y1, y2 = 10 + a * (BOX_H + GAP) + BOX_H, 10 + b * (BOX_H + GAP)
        if b == a + 1:
            paths.append({"d": f"M {10 + BOX_W / 2} {y1} L {10 + BOX_W / 2} {y2}", "label": e["label"],
                          "lx": 14 + BOX_W / 2, "ly": (y1 + y2) / 2 + 4})
        else:
            bend = 10 + BOX_W + 30 + 14 * abs(b - a)
            ya, yb = y1 - BOX_H / 2, y2 + BOX_H / 2
            paths.append({"d": f"M {10 + BOX_W} {ya} C {bend} {ya}, {bend} {yb}, {10 + BOX_W} {yb}",
                          "label": e["label"], "lx": bend - 20, "ly": (ya + yb) / 2})
    height = 20 + len(boxes) * (BOX_H + GAP)
    return {"boxes": boxes, "paths": paths, "width": BOX_W + 160, "height": height, "box_w": BOX_W, "box_h": BOX_H}


@router.get("/flows")
def flows_page(request: Request, p: Principal = Depends(viewer)) -> Response:
    rows = flows.list_flows(engine(request), p, request.state.lang)
    return render(request, "flows.html", title=tr(request.state.lang, "Flows"), rows=rows)


@router.get("/flows/outbox")
def outbox_page(request: Request, status: str | None = Query(None), flow: str | None = Query(None),
                cursor: str | None = Query(None), p: Principal = Depends(viewer)) -> Response:
    data = flows.outbox(engine(request), p, status=status or None, flow=flow or None, cursor=cursor)
    return render(request, "outbox.html", title=tr(request.state.lang, "Outbox"), d=data, only=status or "",
                  flow=flow or "")


@router.get("/flows/{key}")
def flow_page(request: Request, key: str, p: Principal = Depends(viewer)) -> Response:
    f = flows.get_flow(engine(request), p, key, request.state.lang)
    report = flows.effect(engine(request), p, key)
    return render(request, "flow.html", title=f["name"], f=f, diagram=layout(f["diagram"]), report=report)


@router.post("/flows/{key}/switch")
async def switch(request: Request, key: str, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    flows.set_enabled(engine(request), p, key, form.get("enabled") == "1")
    return back(f"/flows/{key}" if form.get("from") == "flow" else "/flows")


@router.post("/flows/{key}/settings")
async def settings(request: Request, key: str, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    share = number(form.get("control_share"))
    changes = {"control_share": share / 100 if share is not None and share > 1 else share,
               "priority": number(form.get("priority"), int), "targeting.budget": number(form.get("budget"))}
    flows.update_settings(engine(request), p, key, {k: v for k, v in changes.items()
                                                    if v is not None or k == "targeting.budget"})
    return back(f"/flows/{key}")


@router.post("/flows/{key}/preview")
async def preview(request: Request, key: str, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        out = flows.preview(engine(request), p, key, str(form.get("customer") or "").strip(),
                            str(form.get("step") or "") or None, str(form.get("lang") or "") or None)
    except RetentioError as exc:
        return failed(request, exc)
    return render(request, "_flow_preview.html", pv=out, customer=str(form.get("customer") or ""), key=key,
                  step=str(form.get("step") or ""))


@router.post("/flows/{key}/test-send")
async def test_send(request: Request, key: str, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        out = flows.test_send(engine(request), p, key, str(form.get("customer") or ""), str(form.get("address") or ""),
                              str(form.get("step") or "") or None)
    except RetentioError as exc:
        return failed(request, exc)
    return render(request, "_message.html", kind="ok",
                  text=tr(request.state.lang, "Test message sent to {address}.", address=out["address"]))
