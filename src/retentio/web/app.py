"""The one ASGI app: dashboard pages at ``/``, the API under ``/api/v1``, its OpenAPI document at
``/api/openapi.json`` with offline docs at ``/api/docs``, shop webhooks, and the pages behind links.

``create_app(engine, background=True)`` also starts the job runner (imports
and refreshes outside the request) and, with ``scheduler=True``, the
scheduler; both stop with the server.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException

from retentio import __version__
from retentio.errors import RetentioError
from retentio.web.auth import CsrfFailed, LoginRequired, login_url
from retentio.web.problems import api_error
from retentio.web.render import request_lang

log = logging.getLogger(__name__)
API_DESCRIPTION = """Retentio's REST API: every page of the dashboard has its JSON twin here.

* Authenticate with `Authorization: Bearer KEY` (`retentio api-keys create`, or the settings page).
* Errors are RFC 9457 problem details (`application/problem+json`).
* POSTs that create something take an `Idempotency-Key` header: the first response is replayed for 24 hours.
* Each key has a rate limit; see the `RateLimit-*` headers, and `Retry-After` on 429.
"""


def _api_path(path: str) -> bool:
    return path.startswith(("/api/", "/webhooks/"))


def create_app(engine: Engine, *, background: bool = True, scheduler: bool = False) -> FastAPI:
    from retentio.settings import load_settings
    from retentio.shop import load_config
    from retentio.web import cors, webhooks
    from retentio.web.api import cohorts as cohorts_api
    from retentio.web.api import customers, data, flows, ingest, overview, predictions, segments, settings
    from retentio.web.api import loyalty as loyalty_api
    from retentio.web.api import planning as planning_api
    from retentio.web.api import privacy as privacy_api
    from retentio.web.api import voice as voice_api
    from retentio.web.links import links_router
    from retentio.web.pages import PAGE_ROUTERS
    from retentio.web.ratelimit import Limiter
    from retentio.web.security import SecurityMiddleware

    boot = load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threads: list[Any] = []
        if background:
            from retentio.jobs import Runner

            app.state.runner = Runner(engine)
            threads.append(app.state.runner)
        if scheduler:
            from retentio.scheduler import Scheduler

            threads.append(Scheduler(engine, wake=app.state.runner.wake if background else None))
        for t in threads:
            t.start()
        try:
            yield
        finally:
            for t in threads:
                t.stop()

    app = FastAPI(title="Retentio", version=__version__, description=API_DESCRIPTION,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.engine = engine
    app.state.https = boot.https
    app.state.limiter = Limiter(boot.api_rate_per_minute)
    app.state.runner = None
    app.state.shop_config = lambda: load_config(engine)

    @app.middleware("http")
    async def per_request(request: Request, call_next):
        path = request.url.path
        if _api_path(path):
            request.state.lang = request_lang(request, None, "en") if request.headers.get("accept-language") \
                else "en"
        response = await call_next(request)
        for k, v in (getattr(request.state, "ratelimit_headers", None) or {}).items():
            response.headers.setdefault(k, v)
        if path == cors.TRACK:
            for k, v in cors.cors_headers(request).items():
                response.headers[k] = v
        return response

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, LoginRequired):
            return RedirectResponse(login_url(exc.next_url), 303)
        if _api_path(request.url.path) or request.url.path in ("/api/openapi.json",):
            return api_error(request, exc)
        from retentio.web.pages.common import error_page

        return error_page(request, exc)

    for kind in (RetentioError, RequestValidationError, HTTPException, LoginRequired, CsrfFailed, Exception):
        app.add_exception_handler(kind, on_error)

    static = resources.files("retentio.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.include_router(cors.router)
    for module in (overview, cohorts_api, segments, customers, predictions, flows, loyalty_api, voice_api, data,
                   settings, ingest, privacy_api, planning_api):
        app.include_router(module.api)
    app.include_router(webhooks.router)
    app.include_router(links_router(engine))
    for router in PAGE_ROUTERS:
        app.include_router(router)

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", 301)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(SecurityMiddleware, https=boot.https)
    from starlette.middleware.gzip import GZipMiddleware

    app.add_middleware(GZipMiddleware, minimum_size=2048)
    return app


# Swagger UI from the vendored bundle; its start-up code is a static file (the CSP allows no inline script).
DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Retentio API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui" data-url="/api/openapi.json"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/swagger/init.js"></script></body></html>
"""
