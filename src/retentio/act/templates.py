"""Message templates in a sandboxed Jinja2 environment.

Templates are user-authored content, so they run in Jinja2's
``ImmutableSandboxedEnvironment``: no attribute starting with ``_``, no
mutation of the context, no access to Python internals (``''.__class__``
raises ``SecurityError``). HTML output is autoescaped; the plain-text part is
rendered separately from the same source so both always say the same thing.

A template is a TOML file with one table per language (``de``, ``en``) holding
``subject``, ``text`` and optionally ``html`` (otherwise the text is set into
the HTML layout paragraph by paragraph) and ``script`` for call lists. The
built-in letters live in ``act/library/templates``; a directory given as
``RETENTIO_TEMPLATE_DIR`` overrides them by file name.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from retentio.act.flow_model import LIBRARY
from retentio.errors import ConfigError
from retentio.i18n import Msg

LAYOUT = (LIBRARY / "layout.html").read_text(encoding="utf-8")


@dataclass
class Rendered:
    subject: str
    text: str
    html: str | None
    lang: str


_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def _linkify(line: str) -> Markup:
    """Escape ``line`` and turn bare http(s) addresses into links; long addresses may break anywhere."""
    out, pos = [], 0
    for m in _URL.finditer(line):
        out.append(escape(line[pos:m.start()]))
        url = m.group(0)
        out.append(Markup('<a href="{0}" style="color:#1f6f8b;word-break:break-all">{0}</a>').format(url))
        pos = m.end()
    out.append(escape(line[pos:]))
    return Markup("").join(out)


def _paragraphs(text: str) -> Markup:
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(_linkify(line) for line in p.split("\n")))
        for p in text.strip().split("\n\n") if p.strip())


def _footer(context: dict[str, Any]) -> str:
    """The plain-text twin of the layout footer: why the mail came, how to stop it, who sent it."""
    shop, links, t = context.get("shop") or {}, context.get("links") or {}, context.get("t") or {}
    lines = []
    if links.get("unsubscribe"):
        lines.append(f"{t.get('unsubscribe_note', '')} {t.get('unsubscribe', '')}: {links['unsubscribe']}".strip())
    who = " · ".join(str(x) for x in (shop.get("legal_name") or shop.get("name"), shop.get("address"),
                                      shop.get("url")) if x)
    if who:
        lines.append(who)
    if shop.get("imprint"):
        lines.append(f"{t.get('imprint', 'Imprint')}: {shop['imprint']}")
    return "\n-- \n" + "\n".join(lines) + "\n" if lines else ""


@lru_cache(maxsize=2)
def environment(html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=html, undefined=StrictUndefined, trim_blocks=False,
                                        lstrip_blocks=False, keep_trailing_newline=False)
    env.filters["paragraphs"] = _paragraphs
    return env


def template_dirs() -> list[Path]:
    extra = os.environ.get("RETENTIO_TEMPLATE_DIR")
    return ([Path(extra)] if extra else []) + [LIBRARY / "templates"]


@lru_cache(maxsize=256)
def _load(name: str, dirs: tuple[Path, ...]) -> dict[str, dict[str, str]]:
    for d in dirs:
        path = d / f"{name}.toml"
        if path.exists():
            try:
                return tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(Msg("{path}: {exc}", path=path, exc=exc)) from None
    raise ConfigError(Msg("no template {name!r} in {value}", name=name, value=', '.join(map(str, dirs))))


def load_template(name: str) -> dict[str, dict[str, str]]:
    return _load(name, tuple(template_dirs()))


def list_templates() -> list[str]:
    names: set[str] = set()
    for d in template_dirs():
        names |= {p.stem for p in d.glob("*.toml")}
    return sorted(names)


@lru_cache(maxsize=512)
def _compile(source: str, html: bool):
    return environment(html).from_string(source)


def _render(source: str, context: dict[str, Any], html: bool, where: str) -> str:
    try:
        return _compile(source, html).render(context)
    # TemplateError covers SecurityError and undefined variables; the others are an author doing arithmetic
    # on text or looping over a number. Either way the template is at fault, and it is named.
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise ConfigError(Msg("template {where}: {name}: {exc}", where=where, name=type(exc).__name__, exc=exc)) from None


def _layout_context(context: dict[str, Any]) -> dict[str, Any]:
    """The layout's own variables with defaults, so a sparse preview context still renders the frame."""
    shop = {"name": "", "url": None, "logo_url": None, "legal_name": None, "address": None, "imprint": None,
            **(context.get("shop") or {})}
    shop["legal_name"] = shop["legal_name"] or shop["name"]
    t = {"unsubscribe": "", "unsubscribe_note": "", "imprint": "", **(context.get("t") or {})}
    return {"shop": shop, "t": t, "links": {"unsubscribe": None, **(context.get("links") or {})}}


def render(name: str, lang: str, context: dict[str, Any]) -> Rendered:
    """Subject, text and HTML of template ``name`` in ``lang`` (English when the language is missing)."""
    tpl = load_template(name)
    part = tpl.get(lang) or tpl.get("en") or next(iter(tpl.values()))
    used = lang if lang in tpl else ("en" if "en" in tpl else next(iter(tpl)))
    where = f"{name}/{used}"
    subject = _render(part.get("subject", ""), context, False, where).strip()
    text = _render(part.get("text", ""), context, False, where).strip() + "\n"
    body = Markup(_render(part["html"], context, True, where)) if "html" in part else _paragraphs(text)
    cta = None
    if part.get("button") and part.get("button_url"):
        url = _render(part["button_url"], context, False, where).strip()
        # Only web addresses become a button; an empty or odd value simply leaves it out.
        if url.startswith(("https://", "http://")):
            cta = {"label": _render(part["button"], context, False, where).strip(), "url": url}
    html = _render(LAYOUT, {**_layout_context(context), "body": body, "subject": subject, "lang": used, "cta": cta},
                   True, "layout")
    return Rendered(subject, text + _footer(context), html, used)


def render_script(name: str, lang: str, context: dict[str, Any]) -> str:
    tpl = load_template(name)
    part = tpl.get(lang) or tpl.get("en") or next(iter(tpl.values()))
    if "script" not in part:
        raise ConfigError(Msg("template {name}: a call list needs a 'script'", name=name))
    return _render(part["script"], context, False, f"{name}/{lang}").strip() + "\n"


def render_string(source: str, context: dict[str, Any], html: bool = False) -> str:
    """Render a user-supplied template string (previews in the UI and tests)."""
    return _render(source, context, html, "inline")
