"""Receivers for shop webhooks: ``POST /webhooks/{shopify|woocommerce|shopware}`` (docs/web.md).

Authenticated by each platform's HMAC signature over the raw body, not by an
API key; a wrong or missing signature gets 401 and changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from retentio.webhooks import PLATFORMS, receive

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/{platform}", summary="A shop platform's webhook (HMAC-signed)",
             responses={401: {"description": "Signature missing or wrong"}})
async def webhook(request: Request, platform: str = Path(..., pattern="^(shopify|woocommerce|shopware)$")):
    assert platform in PLATFORMS
    body = await request.body()
    result = await run_in_threadpool(receive, request.app.state.engine, platform, dict(request.headers), body)
    return JSONResponse(result)
