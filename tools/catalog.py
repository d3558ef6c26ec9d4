"""Maintain the German message catalogue with Babel (the gettext tooling the ecosystem uses).

    python tools/catalog.py extract   # src -> src/retentio/locale/retentio.pot
    python tools/catalog.py update    # extract, then merge the template into the German .po
    python tools/catalog.py check     # exit 1 on a marked string without a German translation
    python tools/catalog.py compile   # .po -> .mo (the package build does this too)

Marked strings: ``_("…")``, ``N_("…")``, ``tr(lang, "…")``, ``trn(lang, "…", "…", n)``, ``ngettext("…", "…", n)`` (templates), ``Msg("…")``
and the error classes (``RetentioError("…")`` and its subclasses), in Python and in the Jinja2 templates.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "retentio"
LOCALE = PACKAGE / "locale"
POT = LOCALE / "retentio.pot"
PO = LOCALE / "de" / "LC_MESSAGES" / "retentio.po"

ERRORS = ("RetentioError", "InputFileError", "ConfigError", "ModelFitError", "InsufficientDataError",
          "BadToken", "SegmentError", "FlowFailed", "PermissionDenied", "NotFound", "Conflict", "LoginRefused",
          "BadSignature")
KEYWORDS = {"_": None, "N_": None, "Msg": None, "tr": (2,), "trn": (2, 3), "ngettext": (1, 2), **{e: None for e in ERRORS}}
METHODS = [("**.py", "python"), ("**/templates/**.j2", "jinja2"), ("**/templates/**.html", "jinja2")]


def extract():
    """Every marked message in the package: a Babel catalogue (msgid -> locations)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="retentio", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), METHODS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
            options_map={"**/templates/**": {"extensions": "jinja2.ext.i18n"}}):
        catalog.add(message, locations=[(f"retentio/{filename}", lineno)], auto_comments=comments,
                    context=context)
    return catalog


def _write(catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True, omit_header=False)


def read(path: Path = PO):
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        return read_po(fh, locale="de")


def problems() -> list[str]:
    """Marked strings missing from the German catalogue, untranslated, fuzzy, or with other placeholders."""
    import string

    def fields(text: str) -> set[str]:
        try:
            return {f for _, f, _, _ in string.Formatter().parse(text) if f}
        except ValueError:
            return {"<unbalanced braces>"}

    po = read()
    out = []
    for msg in extract():
        if not msg.id:
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        entry = po.get(msg.id, context=msg.context)
        where = ", ".join(f"{f}:{n}" for f, n in msg.locations[:2])
        if entry is None:
            out.append(f"missing: {ids[0]!r} ({where})")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            out.append(f"untranslated: {ids[0]!r} ({where})")
            continue
        if any(fields(s) - fields(ids[-1]) - {"n"} for s in strings):
            out.append(f"placeholders differ: {ids[0]!r} -> {strings[0]!r}")
    return out


def update() -> None:
    template = extract()
    _write(template, POT)
    po = read() if PO.exists() else None
    if po is None:
        from babel.messages.catalog import Catalog

        po = Catalog(locale="de", project="retentio", charset="utf-8")
    po.update(template, no_fuzzy_matching=True)
    po.obsolete.clear()
    _write(po, PO)


def compile_catalogues(root: Path = LOCALE) -> list[Path]:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    done = []
    for po in root.glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parts[-3])
        with po.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)
        done.append(po.with_suffix(".mo"))
    return done


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "check"
    if cmd == "extract":
        _write(extract(), POT)
    elif cmd == "update":
        update()
    elif cmd == "compile":
        compile_catalogues()
    elif cmd == "check":
        bad = problems()
        print("\n".join(bad) or "catalogue complete")
        return 1 if bad else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
