"""Receivers for shop webhooks: ``POST /webhooks/{shopify|woocommerce|shopware}`` (docs/web.md).

Authenticated by each platform's HMAC signature over the raw body, not by an
API key; a wrong or missing signature gets 401 and changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from retentio.web.problems import Problem
from retentio.webhooks import PLATFORMS, receive

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/{platform}", summary="A shop platform's webhook (HMAC-signed)",
             responses={401: {"model": Problem, "description": "Signature missing or wrong",
                              "content": {"application/problem+json": {}}},
                        422: {"model": Problem, "description": "Not a JSON object",
                              "content": {"application/problem+json": {}}}})
async def webhook(request: Request, platform: str = Path(..., pattern="^(shopify|woocommerce|shopware)$")):
    assert platform in PLATFORMS
    body = await request.body()
    result = await run_in_threadpool(receive, request.app.state.engine, platform, dict(request.headers), body)
    return JSONResponse(result)
