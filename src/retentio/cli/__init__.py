"""The `retentio` command line: thin wrappers that parse, call a service and render.

The language is settled before any command module is imported, because help
texts are evaluated when the commands are defined; Click's own texts
("Usage:", "Show this message and exit.") come from the same catalogue.
"""

from __future__ import annotations

import gettext
import os
import sys
from typing import Any

COMMAND_MODULES = ("data_cmds", "report_cmds", "predict_cmds", "segment_cmds", "flow_cmds", "delivery_cmds",
                   "churn_cmds", "web_cmds", "loyalty_cmds", "voice_cmds", "privacy_cmds", "planning_cmds")


def _lang_in(args: list[str]) -> str | None:
    for i, a in enumerate(args):
        if a == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--lang="):
            return a.split("=", 1)[1]
    return None


def setup_language(args: list[str]) -> str:
    from retentio import i18n

    lang = i18n.check_lang(given) if (given := _lang_in(args)) else i18n.resolve_lang()
    i18n.set_lang(lang)
    # Click and Typer call the stdlib's gettext for their own texts: point it at our catalogue.
    i18n.translations(lang)  # compiles the catalogue in a source checkout
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALEDIR))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = lang
    return lang


def _translate_help_option() -> None:
    """Typer's vendored Click writes "Show this message and exit." as a literal, not through gettext
    like its other texts; give the --help option the catalogue's text."""
    try:
        import typer._click.decorators as decorators
    except ImportError:  # another Typer layout: its help text stays English
        return
    if getattr(decorators.help_option, "translated", False):
        return
    original = decorators.help_option

    def help_option(param_decls):
        apply = original(param_decls)

        def decorate(command):
            command = apply(command)
            from retentio.i18n import _

            command.params[-1].help = _("Show this message and exit.")
            return command
        return decorate

    help_option.translated = True  # type: ignore[attr-defined]
    decorators.help_option = help_option


def load_app():
    from importlib import import_module

    from retentio.cli.base import app

    _translate_help_option()

    for name in COMMAND_MODULES:
        import_module(f"retentio.cli.{name}")
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # `from retentio.cli import app` (tests, Typer's runner)
        return load_app()
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    from retentio.cli import errors

    args = list(sys.argv[1:] if argv is None else argv)
    errors.ARGV[:] = args
    try:
        setup_language(args)
        import typer

        command = typer.main.get_command(load_app())
        code = command.main(args=args, prog_name="retentio", standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except BaseException as exc:  # every way a command can end badly becomes one line
        if isinstance(exc, SystemExit):
            raise
        if errors.debug():
            raise
        try:
            line, status = errors.describe(exc)
        except Exception:  # describing must never become the traceback it replaces
            line, status = f"Error ({type(exc).__name__})", errors.BUG_EXIT
        print(line, file=sys.stderr)
        sys.exit(status)
    sys.exit(code if isinstance(code, int) else 0)
