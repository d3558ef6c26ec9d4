"""Surveys (NPS/CSAT report, comments, invitations) and service cases (queue, case, create, update, report)."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from retentio.auth.roles import Principal
from retentio.db.voice_models import CASE_CATEGORIES, CASE_PRIORITIES, CASE_STATUSES
from retentio.services import voice
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import Open

api = router("voice")
CaseId = Path(..., ge=1, le=2**62)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskIn(_In):
    customer: str = Field(min_length=1, max_length=128)
    reference: str = Field(min_length=1, max_length=200)


class CaseIn(_In):
    customer: str = Field(min_length=1, max_length=128)
    category: Literal[CASE_CATEGORIES]  # type: ignore[valid-type]
    priority: Literal[CASE_PRIORITIES] = "normal"  # type: ignore[valid-type]
    description: str | None = Field(default=None, max_length=5000)
    owner: str | None = Field(default=None, max_length=320)
    external_id: str | None = Field(default=None, max_length=100)


class CaseUpdate(_In):
    status: Literal[CASE_STATUSES] | None = None  # type: ignore[valid-type]
    owner: str | None = Field(default=None, max_length=320)
    note: str | None = Field(default=None, max_length=2000)
    resolution: str | None = Field(default=None, max_length=200)


@api.get("/surveys/report", response_model=Open,
         summary="NPS over time, by segment, lifecycle, risk, tier and cohort; churn after; CSAT; decisions")
def report(request: Request, period: Literal["month", "quarter", "year"] = "month",
           p: Principal = Depends(authorized)):
    return voice.report(engine(request), p, period)


@api.get("/surveys/comments", response_model=list[Open], summary="Comments, newest first, searchable")
def comments(request: Request, q: str | None = Query(None, max_length=120),
             kind: Literal["promoter", "passive", "detractor"] | None = None,
             limit: int = Query(50, ge=1, le=500), p: Principal = Depends(authorized)):
    return voice.comments(engine(request), p, q, kind, limit)


@api.post("/surveys/{key}/invitations", response_model=Open,
          summary="Ask one customer (throttled; the reason is returned and recorded when not asked)")
def ask(request: Request, body: AskIn, key: Literal["nps", "csat"] = Path(...), p: Principal = Depends(authorized)):
    return voice.ask(engine(request), p, key, body.customer, body.reference)


@api.get("/cases", response_model=Open, summary="The case queue: open, overdue, closed or all; by owner")
def list_(request: Request, state: Literal["open", "overdue", "closed", "all"] = "open",
          owner: str | None = Query(None, max_length=320), limit: int = Query(100, ge=1, le=500),
          p: Principal = Depends(authorized)):
    return voice.list_cases(engine(request), p, state=state, owner=owner, limit=limit)


@api.get("/cases/report", response_model=Open,
         summary="Time to resolution against the SLA, complaint outcomes (matched), value at risk by category")
def cases_report(request: Request, p: Principal = Depends(authorized)):
    return voice.cases_report(engine(request), p)


@api.post("/cases", response_model=Open, status_code=201, summary="Open a case")
def create(request: Request, body: CaseIn, p: Principal = Depends(authorized)):
    return voice.create_case(engine(request), p, body.customer, body.category, body.priority, body.description,
                             body.owner, body.external_id, origin="api")


@api.get("/cases/{case_id}", response_model=Open, summary="A case with the customer's context and its history")
def get(request: Request, case_id: int = CaseId, p: Principal = Depends(authorized)):
    return voice.get_case(engine(request), p, case_id)


@api.patch("/cases/{case_id}", response_model=Open,
           summary="Change status (closing asks for CSAT), owner, resolution, or add a note")
def patch(request: Request, body: CaseUpdate, case_id: int = CaseId, p: Principal = Depends(authorized)):
    sent = body.model_fields_set
    return voice.update_case(engine(request), p, case_id, status=body.status, owner=body.owner, note=body.note,
                             resolution=body.resolution, assign="owner" in sent)
