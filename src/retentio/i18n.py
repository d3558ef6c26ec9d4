"""German and English: which language a screen speaks, and the gettext catalogue behind it.

Source strings are English and marked in the code (``_("…")``, ``tr(lang,
"…")``, ``N_("…")`` for tables of labels, and the ``Msg``/error classes); the
German catalogue is ``locale/de/LC_MESSAGES/retentio.po``, extracted and
updated with Babel (``python tools/catalog.py update``) and compiled to ``.mo``
when the package is built. A source checkout without a compiled catalogue
compiles it on first use. ``tests/test_i18n.py`` fails on any marked string
without a German translation.

Messages that are stored (refresh warnings, why a model was not used) are
kept as :class:`Msg` — the English source text and its arguments — and
translated when shown, so one stored run reads right in both languages.
"""

from __future__ import annotations

import contextlib
import gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGS = ("de", "en")
DEFAULT_LANG = "de"
DOMAIN = "retentio"
LOCALEDIR = Path(__file__).parent / "locale"

_current: ContextVar[str | None] = ContextVar("retentio_lang", default=None)


def _code(value: str) -> str:
    return value.strip().lower().replace("-", "_").split("_")[0].split(".")[0]


def check_lang(value: str) -> str:
    code = _code(value)
    if code not in LANGS:
        from retentio.errors import ConfigError

        raise ConfigError(Msg("language {lang!r} is not supported; use de or en", lang=value))
    return code


def resolve_lang(explicit: str | None = None, shop_locale: str | None = None) -> str:
    """--lang, then RETENTIO_LANG (both must name de or en), then the system locale, the shop's, German."""
    for given in (explicit, os.environ.get("RETENTIO_LANG")):
        if given:
            return check_lang(given)
    for candidate in (os.environ.get("LC_ALL"), os.environ.get("LC_MESSAGES"), os.environ.get("LANG"), shop_locale):
        if candidate and _code(candidate) in LANGS:
            return _code(candidate)
    return DEFAULT_LANG


def current_lang() -> str:
    """The language of the screen being produced (set by the CLI, the web request, a report)."""
    return _current.get() or resolve_lang()


def set_lang(lang: str) -> None:
    _current.set(check_lang(lang))


@contextmanager
def using(lang: str) -> Iterator[str]:
    token = _current.set(check_lang(lang))
    try:
        yield lang
    finally:
        _current.reset(token)


def _compiled(lang: str) -> gettext.NullTranslations:
    po = LOCALEDIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if not po.exists():
        return gettext.NullTranslations()
    # A source checkout (or an editable install) has no compiled catalogue yet.
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    with contextlib.suppress(OSError):  # a read-only install keeps it in memory
        mo.write_bytes(buf.getvalue())
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@lru_cache(maxsize=4)
def translations(lang: str) -> gettext.NullTranslations:
    return gettext.NullTranslations() if lang == "en" else _compiled(lang)


# Integer arguments under these names are quoted as they are: a year, a port or a value from the
# user's file is not a count and must not gain thousands separators.
VERBATIM_ARGS = frozenset({"year", "version", "port", "value", "code", "id"})


def _arg(name: str, value: Any, lang: str) -> Any:
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Msg) for v in value):
        return "; ".join(v.render(lang) for v in value)
    if isinstance(value, bool) or (name in VERBATIM_ARGS and isinstance(value, int)):
        return value
    if isinstance(value, (int, float)):
        from retentio.formatting import Fmt

        return Fmt(lang).num(value) if isinstance(value, int) else Fmt(lang).num(value, 3, trim=True)
    return value


def tr(lang: str, msgid: str, /, **args: Any) -> str:
    """``msgid`` in ``lang``, with ``{name}`` placeholders filled (floats in the language's notation)."""
    text = translations(lang).gettext(msgid) if msgid else msgid
    if not args:
        return text
    return text.format(**{k: _arg(k, v, lang) for k, v in args.items()})


def trn(lang: str, singular: str, plural: str, n: int, /, **args: Any) -> str:
    """The singular or plural form for ``n`` (German and English: one for 1, the other for the rest);
    ``{n}`` is shown as a number of the language (1.234 in German)."""
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(**{"n": _arg("n", n, lang), **{k: _arg(k, v, lang) for k, v in args.items()}})


def _(msgid: str, /, **args: Any) -> str:
    """``msgid`` in the current language."""
    return tr(current_lang(), msgid, **args)


def N_(msgid: str) -> str:
    """Mark a string for the catalogue; translated where it is shown."""
    return msgid


class Msg:
    """A message to translate when shown: its English source text and arguments.

    Arguments may be messages themselves (a reason inside a sentence) or lists
    of messages (joined with "; ").
    """

    __slots__ = ("args", "msgid")

    def __init__(self, msgid: str, **args: Any) -> None:
        self.msgid = msgid
        self.args = args

    def render(self, lang: str | None = None) -> str:
        return tr(lang or current_lang(), self.msgid, **self.args)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r}, {self.args!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.msgid, self.args) == (other.msgid, other.args)

    def __hash__(self) -> int:
        return hash(self.msgid)

    def to_json(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Msg):
                return v.to_json()
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if hasattr(v, "item"):  # numpy scalars
                return v.item()
            if v is None or isinstance(v, (str, int, float, bool)):
                return v
            return str(v)  # paths, exceptions: their text

        return {"msg": self.msgid, "args": {k: plain(v) for k, v in self.args.items()}}

    @classmethod
    def from_json(cls, data: Any) -> Msg | str:
        if isinstance(data, Mapping) and "msg" in data:
            return cls(str(data["msg"]), **{k: cls._arg_from_json(v) for k, v in (data.get("args") or {}).items()})
        return "" if data is None else str(data)

    @classmethod
    def _arg_from_json(cls, v: Any) -> Any:
        if isinstance(v, Mapping) and "msg" in v:
            return cls.from_json(v)
        if isinstance(v, list):
            return [cls._arg_from_json(x) for x in v]
        return v


def message_text(stored: Any, lang: str | None = None) -> str:
    """A stored message (``Msg.to_json()``, a plain string, or a list of them) in ``lang``."""
    if stored is None:
        return ""
    if isinstance(stored, list):
        return "; ".join(message_text(s, lang) for s in stored)
    msg = stored if isinstance(stored, Msg) else Msg.from_json(stored)
    return msg.render(lang) if isinstance(msg, Msg) else msg
