"""Cells for CSV and XLSX files that people open in a spreadsheet program.

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is run as a formula by Excel, LibreOffice and Google Sheets
(``=HYPERLINK(…)``, ``+cmd|' /C calc'!A0``, ``@SUM(…)``). Following OWASP's
CSV-injection guidance, such cells are prefixed with a single quote, which
the spreadsheet shows as text; numbers stay numbers. Every export of
customer-supplied text (call lists, segment members, reject reports, the
CLI's ``--format csv``) goes through :func:`neutralise`.
"""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
