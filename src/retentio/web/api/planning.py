"""Planning: the budget advisor (and the communication calendar)."""

from __future__ import annotations

from typing import Literal

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel

from retentio.auth.roles import Principal
from retentio.services import planning
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import Obj, Open

api = router("planning")


class Split(BaseModel):
    acquisition: int
    retention: int


class Budget(Open):
    rule: Obj
    retention_gain: Obj | None = None
    flows: list[Obj]
    new_customer: Obj | None = None
    payback: Obj
    recommended: Split | None = None
    missing: list[str]
    inputs: Obj


@api.get("/budget", response_model=Budget,
         summary="Split between acquisition and retention: the guides' rule and the shop's own evidence")
def budget(request: Request, cac: float | None = Query(None, gt=0, le=1e6, description="Customer acquisition cost"),
           points: float = Query(5.0, gt=0, le=50, description="Retention points to value"),
           p: Principal = Depends(authorized)):
    return planning.budget(engine(request), p, cac=cac, points=points)


class CalendarRow(BaseModel):
    day: str
    flow: str
    channel: str
    planned: int
    dropped: int
    held: int


class Calendar(Open):
    start: str
    days: int
    view: str
    time_zone: str
    rows: list[CalendarRow]
    totals: list[Obj]
    caps: Obj
    flows: list[str]


class CustomerCalendar(Open):
    last_contact: Obj | None = None
    days_since_contact: int | None = None
    planned: list[Obj]
    milestones: list[Obj]
    caps: Obj


@api.get("/calendar", response_model=Calendar,
         summary="Planned contacts per day, flow and channel against the caps and quiet hours")
def calendar(request: Request, view: Literal["week", "month"] = Query("week"),
             start: str | None = Query(None, max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$"),
             p: Principal = Depends(authorized)):
    return planning.calendar(engine(request), p, view=view, start=start)


@api.get("/customers/{ref}/calendar", response_model=CustomerCalendar,
         summary="One customer: last contact, planned contacts, milestones and caps")
def customer_calendar(request: Request, ref: str = Path(..., min_length=1, max_length=128),
                      days: int = Query(60, ge=1, le=366), p: Principal = Depends(authorized)):
    return planning.customer_calendar(engine(request), p, ref, days=days)
