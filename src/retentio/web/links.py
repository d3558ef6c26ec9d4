"""Unsubscribe and feedback pages behind signed links (no login).

* ``GET /u/{token}`` shows a confirmation page and changes nothing: mail
  scanners and link previews fetch GET links, so a GET must never unsubscribe.
* ``POST /u/{token}`` unsubscribes: from the page's button, or as RFC 8058
  one-click from the mail client (body ``List-Unsubscribe=One-Click``).
* ``GET /f/{token}`` shows the 0–10 question, ``POST /f/{token}`` records it.

The signed token is the credential. A CSRF token would add nothing: whoever
holds the link can already post the one-click form, which must work without
cookies by RFC 8058.

Every answer is an HTML page naming the shop, in the customer's language
(the browser's or the shop's for a link that is not valid), with a strict
Content-Security-Policy and the other protective headers; bodies over 16 KiB
are refused with 413. A link that is forged, cut, well-signed but malformed,
or for a customer who no longer exists gets 404, never 500; errors are logged
by kind, never with their data.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from retentio.act.consent import customer_lang, record_feedback, unsubscribe
from retentio.act.links import BadToken, LinkClaim, link_secret, verify
from retentio.i18n import LANGS, tr

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024
_env = jinja2.Environment(loader=jinja2.PackageLoader("retentio.web", "templates"), autoescape=True)


def browser_lang(request: Request, default: str) -> str:
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return default


def create_app(engine: Engine) -> FastAPI:
    """An app with only the link pages (the full app in :mod:`retentio.web.app` includes them too)."""
    from retentio.web.security import SecurityMiddleware

    app = FastAPI(title="Retentio links", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(links_router(engine))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:  # never a 500 with data in it
        log.warning("link page failed: %s", type(exc).__name__)
        return HTMLResponse("<!doctype html><title>Error</title><p>Error", 500)

    app.add_middleware(SecurityMiddleware)
    return app


def links_router(engine: Engine) -> APIRouter:
    from retentio.shop import load_config

    app = APIRouter(include_in_schema=False)
    secret_cache: dict[str, str] = {}

    def secret() -> str:
        if "value" not in secret_cache:
            secret_cache["value"] = link_secret(engine)
        return secret_cache["value"]

    def shop() -> dict[str, Any]:
        cfg = load_config(engine)
        return {"name": cfg.name, "logo_url": cfg.logo_url, "legal_name": cfg.legal_name or cfg.name,
                "address": cfg.postal_address, "url": cfg.shop_url, "lang": cfg.locale[:2]}

    def page(lang: str, title: str, paragraphs: list[str], status: int = 200, **extra: Any) -> HTMLResponse:
        html = _env.get_template("link_page.html").render(lang=lang, title=title, paragraphs=paragraphs,
                                                          shop=shop(), **extra)
        return HTMLResponse(html, status)

    def refused(request: Request, status: int = 404) -> HTMLResponse:
        lang = browser_lang(request, shop()["lang"] if shop()["lang"] in LANGS else "de")
        return page(lang, tr(lang, "This link is not valid."),
                    [tr(lang, "Please use the link from your most recent email, or contact us.")], status)

    def claim_of(token: str, action: str) -> LinkClaim | None:
        try:
            claim = verify(token, secret())
        except BadToken:
            return None
        return claim if claim.action == action else None

    async def form_of(request: Request) -> dict[str, list[str]] | None:
        body = await request.body()
        if len(body) > MAX_BODY:
            return None
        return parse_qs(body.decode("utf-8", "replace"))

    @app.get("/u/{token}", response_class=HTMLResponse)
    def unsubscribe_page(token: str, request: Request) -> HTMLResponse:
        claim = claim_of(token, "unsubscribe")
        lang = customer_lang(engine, claim.customer_id) if claim else None
        if claim is None or lang is None:
            return refused(request)
        return page(lang, tr(lang, "Unsubscribe from the newsletter"),
                    [tr(lang, "Do you no longer want to receive marketing emails from us?")], form="unsubscribe",
                    button=tr(lang, "Unsubscribe"))

    @app.post("/u/{token}", response_class=HTMLResponse)
    async def unsubscribe_post(token: str, request: Request) -> HTMLResponse:
        claim = claim_of(token, "unsubscribe")
        if claim is None or await form_of(request) is None:
            return refused(request)
        if not unsubscribe(engine, claim.customer_id, claim.channel, claim.purpose):
            return refused(request)
        lang = customer_lang(engine, claim.customer_id) or "de"
        return page(lang, tr(lang, "Unsubscribe from the newsletter"),
                    [tr(lang, "You are unsubscribed. You will receive no more marketing emails; order and service "
                              "messages still reach you.")])

    @app.get("/f/{token}", response_class=HTMLResponse)
    def feedback_page(token: str, request: Request) -> HTMLResponse:
        claim = claim_of(token, "feedback")
        lang = customer_lang(engine, claim.customer_id) if claim else None
        if claim is None or lang is None:
            return refused(request)
        return page(lang, tr(lang, "Your opinion"),
                    [tr(lang, "How likely are you to recommend us? (0 = not at all, 10 = extremely)")],
                    form="feedback", button=tr(lang, "Send"),
                    comment_label=tr(lang, "Anything you would like to tell us?"))

    @app.post("/f/{token}", response_class=HTMLResponse)
    async def feedback_post(token: str, request: Request) -> HTMLResponse:
        claim = claim_of(token, "feedback")
        lang = customer_lang(engine, claim.customer_id) if claim else None
        form = await form_of(request)
        if claim is None or lang is None or form is None:
            return refused(request)
        raw = (form.get("score") or [""])[0]
        if not raw.isdigit() or not 0 <= int(raw) <= 10:
            return page(lang, tr(lang, "Your opinion"), [tr(lang, "Please choose a score from 0 to 10.")], 422,
                        form="feedback", button=tr(lang, "Send"),
                        comment_label=tr(lang, "Anything you would like to tell us?"))
        comment = (form.get("comment") or [""])[0][:2000].replace("\x00", "")
        record_feedback(engine, claim.customer_id, int(raw), comment)
        return page(lang, tr(lang, "Your opinion"), [tr(lang, "Thank you for your feedback!")])

    @app.get("/s/{token}", response_class=HTMLResponse)
    def survey_page(token: str, request: Request) -> HTMLResponse:
        claim = claim_of(token, "survey")
        lang = customer_lang(engine, claim.customer_id) if claim else None
        if claim is None or lang is None or claim.invitation is None:
            return refused(request)
        from retentio.services import voice

        state = voice.survey_state(engine, claim.customer_id, claim.invitation)
        if state is None:
            return refused(request)
        return survey_form(lang, state)

    def survey_form(lang: str, state: dict[str, Any], status: int = 200,
                    problem: str | None = None) -> HTMLResponse:
        title = tr(lang, "Your opinion")
        if state["answer"] is not None:  # asked once, answered once: show what is stored
            return page(lang, title, [tr(lang, "Thank you! We have your answer: {score}.",
                                         score=state["answer"]["score"])], status)
        question = (tr(lang, "How likely are you to recommend us? (0 = not at all, 10 = extremely)")
                    if state["kind"] == "nps" else
                    tr(lang, "How satisfied are you with how we handled your request? (1 = not at all, 5 = very)"))
        return page(lang, title, [problem] if problem else [question], status, form="feedback",
                    low=state["low"], high=state["high"], button=tr(lang, "Send"),
                    comment_label=tr(lang, "Anything you would like to tell us?"))

    @app.post("/s/{token}", response_class=HTMLResponse)
    async def survey_post(token: str, request: Request) -> HTMLResponse:
        claim = claim_of(token, "survey")
        lang = customer_lang(engine, claim.customer_id) if claim else None
        form = await form_of(request)
        if claim is None or lang is None or form is None or claim.invitation is None:
            return refused(request)
        from retentio.services import voice

        state = voice.survey_state(engine, claim.customer_id, claim.invitation)
        if state is None:
            return refused(request)
        raw = (form.get("score") or [""])[0]
        if not raw.isdigit() or not state["low"] <= int(raw) <= state["high"]:
            return survey_form(lang, state, 422, tr(lang, "Please choose a score from {low} to {high}.",
                                                    low=state["low"], high=state["high"]))
        comment = (form.get("comment") or [""])[0][:2000]
        voice.answer_survey(engine, claim.customer_id, claim.invitation, int(raw), comment)
        return page(lang, tr(lang, "Your opinion"), [tr(lang, "Thank you for your feedback!")])

    return app
