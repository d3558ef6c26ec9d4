"""Numbers, money, percentages and dates in the output's language, through Babel.

Babel is imported on first use: ``retentio --help`` should not pay for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

LOCALES = {"de": "de_DE", "en": "en_GB"}


def _missing(v: Any) -> bool:
    return v is None or v != v


class Fmt:
    """Formatting bound to one language (and so one Babel locale) and one currency."""

    def __init__(self, lang: str, currency: str = "EUR") -> None:
        self.lang = lang
        self.locale = LOCALES[lang]
        self.currency = currency

    def num(self, v, digits: int = 0, *, trim: bool = False) -> str:
        """``digits`` decimals (at most that many with ``trim``)."""
        if _missing(v):
            return "–"
        from babel.numbers import format_decimal

        decimals = ("#" if trim else "0") * digits
        return format_decimal(v, format=f"#,##0.{decimals}" if digits else "#,##0", locale=self.locale)

    def pct(self, v, digits: int = 1) -> str:
        """``v`` in percent points (12.5 -> "12,5 %")."""
        if _missing(v):
            return "–"
        from babel.numbers import format_percent

        zeros = "0" * digits
        pattern = f"#,##0.{zeros}\u00a0%" if self.lang == "de" else f"#,##0.{zeros}%"
        return format_percent(v / 100, format=pattern.replace(".\u00a0", "\u00a0").replace(".%", "%"),
                              locale=self.locale)

    def share(self, v, digits: int = 0) -> str:
        """A probability or share in [0, 1] as a percentage."""
        return "–" if _missing(v) else self.pct(100 * v, digits)

    def money(self, v, currency: str | None = None) -> str:
        if _missing(v):
            return "–"
        from babel.numbers import format_currency

        return format_currency(v, currency or self.currency, locale=self.locale)

    def money0(self, v, currency: str | None = None) -> str:
        """Whole currency units, for headline figures and narrow tables."""
        if _missing(v):
            return "–"
        from babel.numbers import format_currency

        pattern = "#,##0\u00a0¤" if self.lang == "de" else "¤#,##0"
        return format_currency(v, currency or self.currency, format=pattern, currency_digits=False,
                               locale=self.locale)

    def date(self, v: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
        if v is None or v != v:
            return "–"
        from babel.dates import format_date

        return format_date(v, format=fmt, locale=self.locale)

    def datetime(self, v: dt.datetime | None, tz: str | None = None) -> str:
        if v is None or v != v:
            return "–"
        from babel.dates import format_datetime

        return format_datetime(v, format="medium", tzinfo=tz, locale=self.locale)

    def period(self, d: dt.date, granularity: str) -> str:
        if granularity == "month":
            from babel.dates import format_date

            return format_date(d, format="MMM yyyy", locale=self.locale)
        if granularity == "quarter":
            return f"Q{(d.month - 1) // 3 + 1} {d.year}"
        iso = d.isocalendar()
        return f"{'KW' if self.lang == 'de' else 'W'} {iso.week:02d}/{iso.year}"
