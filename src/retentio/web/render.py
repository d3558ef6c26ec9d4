"""Rendering pages: one autoescaping Jinja2 environment, the request's language, numbers per locale.

A page is in one language: ``?lang=de|en`` (kept in a cookie), else the
cookie, else the signed-in user's language, else the browser's
``Accept-Language``, else the shop's locale. Money is in the data's currency,
dates in the shop's time zone.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from retentio.formatting import Fmt
from retentio.i18n import LANGS, N_, tr, trn
from retentio.labels import label, reasons_text

_env = jinja2.Environment(loader=jinja2.PackageLoader("retentio.web", "templates"),
                          autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                          undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)

NAV = (  # (path, label, permission)
    ("/", N_("Overview"), "aggregates:read"),
    ("/cohorts", N_("Cohorts"), "aggregates:read"),
    ("/segments", N_("Segments"), "aggregates:read"),
    ("/customers", N_("Customers"), "customers:read"),
    ("/at-risk", N_("At risk"), "predictions:read"),
    ("/predictions", N_("Predictions"), "aggregates:read"),
    ("/flows", N_("Flows"), "flows:read"),
    ("/loyalty", N_("Loyalty"), "aggregates:read"),
    ("/surveys", N_("NPS"), "aggregates:read"),
    ("/cases", N_("Cases"), "aggregates:read"),
    ("/calendar", N_("Calendar"), "aggregates:read"),
    ("/budget", N_("Budget"), "aggregates:read"),
    ("/data", N_("Data"), "jobs:read"),
    ("/settings", N_("Settings"), "settings:read"),
)


def request_lang(request: Request, user_lang: str | None = None, shop_locale: str | None = None) -> str:
    given = request.query_params.get("lang")
    if given in LANGS:
        return given  # type: ignore[return-value]
    cookie = request.cookies.get("retentio_lang")
    if cookie in LANGS:
        return cookie  # type: ignore[return-value]
    if user_lang in LANGS:
        return user_lang  # type: ignore[return-value]
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    code = (shop_locale or "de")[:2]
    return code if code in LANGS else "de"


def _json_attr(value: Any) -> str:
    """JSON for a data-* attribute: plain text, so autoescaping quotes it for the attribute (read by app.js)."""
    from retentio.services.common import plain

    return json.dumps(plain(value), ensure_ascii=False)


class View:
    """What every template may use: the language, formatters, labels, the user and their permissions."""

    def __init__(self, request: Request, lang: str, currency: str, time_zone: str) -> None:
        self.request, self.lang, self.f, self.tz = request, lang, Fmt(lang, currency), time_zone

    def _(self, msgid: str, /, **args: Any) -> str:
        return tr(self.lang, msgid, **args)

    def ngettext(self, singular: str, plural: str, n: int, /, **args: Any) -> str:
        return trn(self.lang, singular, plural, n, **args)

    def money(self, v: Any) -> str:
        return self.f.money(v)

    def money0(self, v: Any) -> str:
        return self.f.money0(v)

    def num(self, v: Any, digits: int = 0) -> str:
        return self.f.num(v, digits)

    def pct(self, v: Any, digits: int = 1) -> str:
        return self.f.pct(v, digits)

    def share(self, v: Any, digits: int = 0) -> str:
        return self.f.share(v, digits)

    def day(self, v: Any) -> str:
        if v in (None, ""):
            return "–"
        if isinstance(v, str):
            v = dt.date.fromisoformat(v[:10])
        return self.f.date(v)

    def when(self, v: Any) -> str:
        """An instant in the shop's time zone."""
        if v in (None, ""):
            return "–"
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v)
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.UTC)
        return self.f.datetime(v, self.tz)

    def period(self, v: Any, granularity: str) -> str:
        if isinstance(v, str):
            v = dt.date.fromisoformat(v[:10])
        return self.f.period(v, granularity)

    def label(self, kind: str, code: Any) -> str:
        return label(kind, code, self.lang)

    def reasons(self, reasons: Any, top: int | None = None) -> str:
        return reasons_text(reasons, self.lang, top) or "–"

    def message(self, stored: Any) -> str:
        from retentio.i18n import message_text

        return message_text(stored, self.lang)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    from retentio.services.dashboard import currency_of

    engine = request.app.state.engine
    session = getattr(request.state, "session", None)
    principal = session.principal if session else None
    cfg = request.app.state.shop_config()
    lang = getattr(request.state, "lang", None) or request_lang(request, session.lang if session else None,
                                                                cfg.locale)
    run = context.pop("run", None)
    if "currency" not in context:
        try:
            from retentio.results import latest_run

            context["currency"] = currency_of(engine, run or latest_run(engine, required=False))
        except Exception:
            context["currency"] = cfg.currency
    view = View(request, lang, context["currency"], cfg.time_zone)
    nav = [(path, tr(lang, text)) for path, text, perm in NAV if principal is not None and principal.can(perm)]
    html = _env.get_template(template).render(
        v=view, _=view._, ngettext=view.ngettext, lang=lang, shop=cfg, user=principal, can=(principal.can if principal else lambda p: False),
        nav=nav, path=request.url.path, csrf=session.csrf_token if session else "", json_attr=_json_attr,
        query=request.url.query, **context)
    response = HTMLResponse(html, status)
    if request.query_params.get("lang") in LANGS:
        response.set_cookie("retentio_lang", lang, max_age=365 * 86400, httponly=True, samesite="lax",
                            secure=request.app.state.https)
    return response


def to_json(value: Any) -> str:
    from retentio.services.common import plain

    return json.dumps(plain(value), ensure_ascii=False)
