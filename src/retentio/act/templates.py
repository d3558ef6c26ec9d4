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

LAYOUT = (LIBRARY / "layout.html").read_text(encoding="utf-8")


@dataclass
class Rendered:
    subject: str
    text: str
    html: str | None
    lang: str


def _paragraphs(text: str) -> Markup:
    return Markup("\n".join(f"<p>{escape(p).replace(chr(10), Markup('<br>'))}</p>"
                            for p in text.strip().split("\n\n") if p.strip()))


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
                raise ConfigError(f"{path}: {exc}") from None
    raise ConfigError(f"no template {name!r} in {', '.join(map(str, dirs))}")


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
    except TemplateError as exc:  # includes SecurityError and undefined variables
        raise ConfigError(f"template {where}: {type(exc).__name__}: {exc}") from None


def render(name: str, lang: str, context: dict[str, Any]) -> Rendered:
    """Subject, text and HTML of template ``name`` in ``lang`` (English when the language is missing)."""
    tpl = load_template(name)
    part = tpl.get(lang) or tpl.get("en") or next(iter(tpl.values()))
    used = lang if lang in tpl else ("en" if "en" in tpl else next(iter(tpl)))
    where = f"{name}/{used}"
    subject = _render(part.get("subject", ""), context, False, where).strip()
    text = _render(part.get("text", ""), context, False, where).strip() + "\n"
    body = Markup(_render(part["html"], context, True, where)) if "html" in part else _paragraphs(text)
    html = _render(LAYOUT, {**context, "body": body, "subject": subject, "lang": used}, True, "layout")
    return Rendered(subject, text, html, used)


def render_script(name: str, lang: str, context: dict[str, Any]) -> str:
    tpl = load_template(name)
    part = tpl.get(lang) or tpl.get("en") or next(iter(tpl.values()))
    if "script" not in part:
        raise ConfigError(f"template {name}: a call list needs a 'script'")
    return _render(part["script"], context, False, f"{name}/{lang}").strip() + "\n"


def render_string(source: str, context: dict[str, Any], html: bool = False) -> str:
    """Render a user-supplied template string (previews in the UI and tests)."""
    return _render(source, context, html, "inline")
