"""Unsubscribe and feedback pages behind signed links (no login).

* ``GET /u/{token}`` shows a confirmation page and changes nothing: mail
  scanners and link previews fetch GET links, so a GET must never unsubscribe.
* ``POST /u/{token}`` unsubscribes: from the page's button, or as RFC 8058
  one-click from the mail client (body ``List-Unsubscribe=One-Click``).
* ``GET /f/{token}`` shows the 0–10 question, ``POST /f/{token}`` records it.

The signed token is the credential. A CSRF token would add nothing: whoever
holds the link can already post the one-click form, which must work without
cookies by RFC 8058.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from retentio import i18n
from retentio.act.consent import customer_lang, record_feedback, unsubscribe
from retentio.act.links import BadToken, LinkClaim, verify


def _page(lang: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width"><title>{escape(title)}</title><style>body{{font-family:system-ui,sans-serif;'
        f'max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}}button{{font-size:1rem;padding:.5rem 1.2rem}}'
        f'label{{margin-right:.4rem}}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>', status)


def _claim(token: str, action: str) -> LinkClaim:
    try:
        claim = verify(token)
    except BadToken:
        raise HTTPException(404, i18n.t("web_bad_link", "de") + " / " + i18n.t("web_bad_link", "en")) from None
    if claim.action != action:
        raise HTTPException(404, "wrong link type")
    return claim


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="Retentio links", docs_url=None, redoc_url=None)

    def t(key: str, lang: str) -> str:
        return i18n.t(f"web_{key}", lang)

    @app.get("/u/{token}", response_class=HTMLResponse)
    def unsubscribe_page(token: str) -> HTMLResponse:
        claim = _claim(token, "unsubscribe")
        lang = customer_lang(engine, claim.customer_id)
        return _page(lang, t("unsub_title", lang), f'<p>{t("unsub_ask", lang)}</p><form method="post">'
                     f'<button type="submit">{t("unsub_button", lang)}</button></form>')

    @app.post("/u/{token}", response_class=HTMLResponse)
    async def unsubscribe_post(token: str) -> HTMLResponse:
        claim = _claim(token, "unsubscribe")
        if not unsubscribe(engine, claim.customer_id, claim.channel, claim.purpose):
            raise HTTPException(404, "unknown customer")
        lang = customer_lang(engine, claim.customer_id)
        return _page(lang, t("unsub_title", lang), f'<p>{t("unsub_done", lang)}</p>')

    @app.get("/f/{token}", response_class=HTMLResponse)
    def feedback_page(token: str) -> HTMLResponse:
        claim = _claim(token, "feedback")
        lang = customer_lang(engine, claim.customer_id)
        radios = "".join(f'<label><input type="radio" name="score" value="{i}" required> {i}</label>'
                         for i in range(11))
        return _page(lang, t("fb_title", lang), f'<form method="post"><p>{t("fb_ask", lang)}</p><p>{radios}</p>'
                     f'<p><label for="c">{t("fb_comment", lang)}</label><br><textarea id="c" name="comment" '
                     f'rows="4" cols="40" maxlength="2000"></textarea></p>'
                     f'<button type="submit">{t("fb_send", lang)}</button></form>')

    @app.post("/f/{token}", response_class=HTMLResponse)
    async def feedback_post(token: str, request: Request) -> HTMLResponse:
        claim = _claim(token, "feedback")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        try:
            score = int(form.get("score", [""])[0])
            record_feedback(engine, claim.customer_id, score, form.get("comment", [""])[0][:2000])
        except ValueError:
            raise HTTPException(422, "score must be a whole number from 0 to 10") from None
        lang = customer_lang(engine, claim.customer_id)
        return _page(lang, t("fb_title", lang), f'<p>{t("fb_done", lang)}</p>')

    return app
