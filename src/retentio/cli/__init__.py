"""The `retentio` command line: thin wrappers that parse, call a service and render."""

from __future__ import annotations

import sys

from retentio.cli.app import app
from retentio.cli.output import err_console
from retentio.errors import RetentioError

# Registering commands is a side effect of importing their modules.
from retentio.cli import data_cmds, delivery_cmds, flow_cmds, predict_cmds, report_cmds, segment_cmds  # noqa: F401  isort:skip


def main() -> None:
    try:
        app()
    except RetentioError as exc:
        err_console.print(f"[bold red]Error:[/] {exc}")
        sys.exit(2)
