"""Customers: search, a cursor-paged list, the profile; at risk; call lists."""

from __future__ import annotations

from fastapi import Depends, Path, Query, Request

from retentio.auth.roles import Principal
from retentio.services import customers, risk, segments
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import AtRisk, CustomerPage, CustomerRefs, ListAdded, Profile, SearchResult

api = router("customers")
LIFECYCLES = ("new", "active", "reactivated", "at_risk", "inactive", "churned")


@api.get("/customers", response_model=CustomerPage, summary="All customers, a page at a time (by id)")
def list_(request: Request, limit: int = Query(50, ge=1, le=500), cursor: str | None = Query(None, max_length=200),
          p: Principal = Depends(authorized)):
    return segments.customers_where(engine(request), p, None, limit=limit, cursor=cursor)


@api.get("/customers/search", response_model=SearchResult, summary="Search by customer number, e-mail or name")
def search(request: Request, q: str = Query(..., min_length=1, max_length=120), limit: int = Query(20, ge=1, le=100),
           p: Principal = Depends(authorized)):
    return customers.search(engine(request), p, q, limit)


@api.get("/customers/{ref}", response_model=Profile, summary="Everything about one customer, with a timeline")
def profile(request: Request, ref: str = Path(..., min_length=1, max_length=128), p: Principal = Depends(authorized)):
    return customers.profile(engine(request), p, ref)


@api.get("/at-risk", response_model=AtRisk, summary="Customers by value at risk (CLV × churn risk), with reasons")
def at_risk(request: Request, top: int = Query(50, ge=1, le=500), min_risk: float = Query(0.0, ge=0, le=1),
            lifecycle: list[str] = Query([], description="Only these lifecycle statuses"),
            reason: str | None = Query(None, max_length=40), min_clv: float | None = Query(None, ge=0, le=1e12),
            p: Principal = Depends(authorized)):
    return risk.at_risk(engine(request), p, top=top, min_churn=min_risk, lifecycle=lifecycle or None, reason=reason,
                        min_clv=min_clv)


@api.post("/call-lists/{name}/entries", response_model=ListAdded, summary="Put customers on a call list (once a day)")
def call_list(request: Request, body: CustomerRefs, name: str = Path(..., min_length=1, max_length=80),
              p: Principal = Depends(authorized)):
    return risk.add_to_call_list(engine(request), p, body.customers, name, body.note)
