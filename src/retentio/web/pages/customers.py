"""Customers: search by number, e-mail or name; the customer page with its timeline
(twins: /api/v1/customers/search, /api/v1/customers/{ref})."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal, require
from retentio.i18n import tr
from retentio.services import customers
from retentio.web.pages.common import engine, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/customers")
def customers_page(request: Request, q: str = Query("", max_length=120), p: Principal = Depends(viewer)) -> Response:
    require(p, "customers:read")
    found = customers.search(engine(request), p, q) if q.strip() else None
    return render(request, "customers.html", title=tr(request.state.lang, "Customers"), q=q, found=found)


@router.get("/customers/search")
def search(request: Request, q: str = Query("", max_length=120), p: Principal = Depends(viewer)) -> Response:
    found = customers.search(engine(request), p, q) if q.strip() else {"query": q, "customers": []}
    return render(request, "_search_results.html", found=found, q=q)


@router.get("/customers/{ref:path}")
def customer_page(request: Request, ref: str, p: Principal = Depends(viewer)) -> Response:
    from retentio.services import planning

    prof = customers.profile(engine(request), p, ref)
    contacts = planning.customer_calendar(engine(request), p, ref, days=60)
    return render(request, "customer.html", title=ref, c=prof["customer"], prof=prof, contacts=contacts)
