"""RFM grid, lifecycle, and saved segments: CRUD, preview, members, CSV export, lists of customers."""

from __future__ import annotations

from fastapi import Depends, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse

from retentio.auth.roles import Principal
from retentio.services import risk, segments
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import (
    ConditionIn,
    CustomerPage,
    CustomerRefs,
    Lifecycle,
    ListAdded,
    RfmGrid,
    Segment,
    SegmentIn,
    SegmentPreview,
    SegmentUpdate,
)
from retentio.web.idempotency import idempotent

api = router("segments")
Name = Path(..., min_length=1, max_length=80)


@api.get("/rfm", response_model=RfmGrid, summary="Customers and revenue per R × F cell")
def rfm(request: Request, p: Principal = Depends(authorized)):
    return segments.rfm_grid(engine(request), p)


@api.get("/lifecycle", response_model=Lifecycle, summary="Lifecycle status and recovery tracks")
def lifecycle(request: Request, p: Principal = Depends(authorized)):
    return segments.lifecycle(engine(request), p)


@api.get("/segments", response_model=list[Segment], summary="Saved segments")
def list_(request: Request, p: Principal = Depends(authorized)):
    return segments.list_segments(engine(request), p)


@api.post("/segments", response_model=Segment, status_code=201, summary="Create a segment (Idempotency-Key)")
async def create(request: Request, body: SegmentIn, p: Principal = Depends(authorized)) -> Response:
    from fastapi.concurrency import run_in_threadpool

    from retentio.web.render import to_json

    async def produce() -> Response:
        out = await run_in_threadpool(segments.save_segment, engine(request), p, body.name, body.definition,
                                      body.description, create_only=True)
        return Response(to_json(out), 201, media_type="application/json")
    return await idempotent(request, p.ref, produce)


@api.post("/segments/preview", response_model=SegmentPreview, summary="Preview a condition without saving it")
def preview_condition(request: Request, body: ConditionIn, p: Principal = Depends(authorized)):
    return segments.preview(engine(request), p, body.definition)


@api.get("/segments/{name}", response_model=Segment, summary="One saved segment")
def get(request: Request, name: str = Name, p: Principal = Depends(authorized)):
    return segments.get_segment(engine(request), p, name)


@api.put("/segments/{name}", response_model=Segment, summary="Replace a segment's condition (a new version)")
def put(request: Request, body: SegmentUpdate, name: str = Name, p: Principal = Depends(authorized)):
    segments.get_segment(engine(request), p, name)
    return segments.save_segment(engine(request), p, name, body.definition, body.description)


@api.delete("/segments/{name}", status_code=204, summary="Delete a segment")
def delete(request: Request, name: str = Name, p: Principal = Depends(authorized)) -> Response:
    segments.delete_segment(engine(request), p, name)
    return Response(status_code=204)


@api.get("/segments/{name}/preview", response_model=SegmentPreview, summary="Size, value and reach of a segment")
def preview(request: Request, name: str = Name, p: Principal = Depends(authorized)):
    return segments.preview(engine(request), p, segments.get_segment(engine(request), p, name)["definition"])


@api.get("/segments/{name}/members", response_model=CustomerPage, summary="The segment's customers, a page at a "
                                                                          "time")
def members(request: Request, name: str = Name, limit: int = Query(50, ge=1, le=500),
            cursor: str | None = Query(None, max_length=200), p: Principal = Depends(authorized)):
    return segments.members(engine(request), p, name, limit=limit, cursor=cursor)


@api.get("/segments/{name}/export.csv", response_class=PlainTextResponse, summary="The members as CSV",
         responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def export(request: Request, name: str = Name, p: Principal = Depends(authorized)) -> Response:
    body = segments.export_csv(engine(request), p, name)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="segment.csv"'})


@api.post("/segments/{name}/customers", response_model=ListAdded, summary="Add customers to a list segment")
def add_customers(request: Request, body: CustomerRefs, name: str = Name, p: Principal = Depends(authorized)):
    return risk.add_to_segment(engine(request), p, body.customers, name)
