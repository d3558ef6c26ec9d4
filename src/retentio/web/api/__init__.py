"""The REST API under ``/api/v1``: one module per resource, each route parsing, calling a service, returning it.

Every route needs an API key (``Authorization: Bearer``) and counts against
the key's rate limit; errors are RFC 9457 problem details.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from retentio.auth.roles import Principal
from retentio.web import ratelimit
from retentio.web.auth import api_principal
from retentio.web.problems import ERROR_RESPONSES

PREFIX = "/api/v1"


def authorized(request: Request) -> Principal:
    principal = api_principal(request)
    ratelimit.apply(request, principal.ref)
    return principal


def router(tag: str) -> APIRouter:
    return APIRouter(prefix=PREFIX, tags=[tag], dependencies=[Depends(authorized)],
                     responses=ERROR_RESPONSES)  # type: ignore[arg-type]


def engine(request: Request):
    return request.app.state.engine


def lang(request: Request) -> str:
    return getattr(request.state, "lang", None) or "en"
