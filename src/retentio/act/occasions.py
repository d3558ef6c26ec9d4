"""Calendar occasions for seasonal flows.

Public holidays come from the maintained ``holidays`` library (any country and
subdivision it knows); retail occasions that are not public holidays
(Valentine's Day, Mother's Day, Black Friday, Christmas Eve as the gift
deadline) are computed here, Easter Sunday with ``dateutil.easter`` as the
holidays library uses it too.
"""

from __future__ import annotations

import datetime as dt

import holidays
from dateutil.easter import easter

from retentio.errors import ConfigError
from retentio.i18n import Msg


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _mothers_day(year: int, country: str) -> dt.date:
    if country in ("GB", "UK"):  # Mothering Sunday: three weeks before Easter Sunday
        return easter(year) - dt.timedelta(days=21)
    return _nth_weekday(year, 5, 6, 2)  # DE, AT, CH, US, …: second Sunday of May


RETAIL = {
    "valentines_day": lambda y, c: dt.date(y, 2, 14),
    "easter": lambda y, c: easter(y),
    "mothers_day": _mothers_day,
    "fathers_day": lambda y, c: easter(y) + dt.timedelta(days=39) if c in ("DE", "AT") else _nth_weekday(y, 6, 6, 3),
    "black_friday": lambda y, c: _nth_weekday(y, 11, 3, 4) + dt.timedelta(days=1),
    "christmas": lambda y, c: dt.date(y, 12, 24),
    "new_year": lambda y, c: dt.date(y, 12, 31),
}


def occasion_date(occasion: str, year: int, country: str = "DE", subdiv: str | None = None) -> dt.date:
    """The date of ``occasion`` in ``year``: a retail occasion, or a public holiday by its English name."""
    if occasion in RETAIL:
        return RETAIL[occasion](year, country.upper())
    try:
        cal = holidays.country_holidays(country.upper(), subdiv=subdiv, years=year, language="en_US")
    except NotImplementedError:
        raise ConfigError(Msg("unknown country {country!r} for holidays", country=country)) from None
    for day, name in sorted(cal.items()):
        if name.lower() == occasion.replace("_", " ").lower():
            return day
    known = sorted(set(RETAIL) | {n.lower().replace(" ", "_") for n in cal.values()})
    raise ConfigError(Msg("unknown occasion {occasion!r}; known: {value}", occasion=occasion, value=', '.join(known)))


def occasions_between(occasion: str, start: dt.date, end: dt.date, days_before: int = 0,
                      country: str = "DE", subdiv: str | None = None) -> list[tuple[int, dt.date]]:
    """(year, send day) for every occurrence whose send day (occasion − days_before) lies in (start, end]."""
    out = []
    for year in range(start.year, end.year + 2):
        send = occasion_date(occasion, year, country, subdiv) - dt.timedelta(days=days_before)
        if start < send <= end:
            out.append((year, send))
    return out
