"""Cross-origin access for the tracking endpoint only: the shop's own pages may post events to it.

The allowed origin is the shop's address (``shop_url``); nothing else of the
API answers another origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response

router = APIRouter(include_in_schema=False)
TRACK = "/api/v1/track"


def shop_origin(request: Request) -> str | None:
    url = request.app.state.shop_config().shop_url
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin and origin == shop_origin(request):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}


@router.options(TRACK)
def preflight(request: Request) -> Response:
    headers = cors_headers(request)
    if not headers:
        return Response(status_code=403)
    return Response(status_code=204, headers={**headers, "Access-Control-Allow-Methods": "POST",
                                              "Access-Control-Allow-Headers": "Authorization, Content-Type",
                                              "Access-Control-Max-Age": "600"})
