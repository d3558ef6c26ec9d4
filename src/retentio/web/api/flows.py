"""Flows: list, get, settings, switch, preview, test send, effect report; the outbox."""

from __future__ import annotations

from fastapi import Depends, Path, Query, Request

from retentio.auth.roles import Principal
from retentio.services import flows
from retentio.web.api import authorized, engine, lang, router
from retentio.web.api.schemas import (
    Flow,
    FlowSettings,
    FlowSummary,
    FlowSwitched,
    FlowVersion,
    MessagePreview,
    Outbox,
    PreviewIn,
    Sent,
    TestSendIn,
)

api = router("flows")
Key = Path(..., min_length=1, max_length=80)
STATUSES = ("pending", "claimed", "sending", "sent", "in_doubt", "failed", "skipped")


@api.get("/flows", response_model=list[FlowSummary], summary="The flow library with status and counts")
def list_(request: Request, p: Principal = Depends(authorized)):
    return flows.list_flows(engine(request), p, lang(request))


@api.get("/flows/report", response_model=list[dict], summary="Treatment vs control for every flow")
def report_all(request: Request, p: Principal = Depends(authorized)):
    return flows.effect(engine(request), p)


@api.get("/flows/{key}", response_model=Flow, summary="One flow with its steps as a diagram")
def get(request: Request, key: str = Key, p: Principal = Depends(authorized)):
    return flows.get_flow(engine(request), p, key, lang(request))


@api.patch("/flows/{key}", response_model=FlowVersion, summary="Change control share, priority or budget")
def patch(request: Request, body: FlowSettings, key: str = Key, p: Principal = Depends(authorized)):
    changes = {k if k != "budget" else "targeting.budget": v for k, v in body.model_dump(exclude_unset=True).items()}
    return flows.update_settings(engine(request), p, key, changes)


@api.post("/flows/{key}/enable", response_model=FlowSwitched, summary="Switch a flow on")
def enable(request: Request, key: str = Key, p: Principal = Depends(authorized)):
    return flows.set_enabled(engine(request), p, key, True)


@api.post("/flows/{key}/disable", response_model=FlowSwitched, summary="Switch a flow off")
def disable(request: Request, key: str = Key, p: Principal = Depends(authorized)):
    return flows.set_enabled(engine(request), p, key, False)


@api.post("/flows/{key}/preview", response_model=MessagePreview, summary="Render a message for one customer")
def preview(request: Request, body: PreviewIn, key: str = Key, p: Principal = Depends(authorized)):
    return flows.preview(engine(request), p, key, body.customer, body.step, body.lang)


@api.post("/flows/{key}/test-send", response_model=Sent, summary="Send the message once to a test address "
                                                                  "(Idempotency-Key)")
async def test_send(request: Request, body: TestSendIn, key: str = Key, p: Principal = Depends(authorized)):
    from fastapi import Response
    from fastapi.concurrency import run_in_threadpool

    from retentio.web.idempotency import idempotent
    from retentio.web.render import to_json

    async def produce() -> Response:
        out = await run_in_threadpool(flows.test_send, engine(request), p, key, body.customer, body.address,
                                      body.step)
        return Response(to_json(out), media_type="application/json")
    return await idempotent(request, p.ref, produce)


@api.get("/flows/{key}/report", response_model=list[dict], summary="Treatment vs control for one flow")
def report(request: Request, key: str = Key, p: Principal = Depends(authorized)):
    return flows.effect(engine(request), p, key)


@api.get("/outbox", response_model=Outbox, summary="Messages: queued, sent, failed, in doubt, skipped, with reasons")
def outbox(request: Request, status: str | None = Query(None, pattern="^(" + "|".join(STATUSES) + ")$"),
           flow: str | None = Query(None, max_length=80), limit: int = Query(50, ge=1, le=500),
           cursor: str | None = Query(None, max_length=200), p: Principal = Depends(authorized)):
    return flows.outbox(engine(request), p, status=status, flow=flow, limit=limit, cursor=cursor)
