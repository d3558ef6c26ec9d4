"""Tiers as a pure function of the ledger and the rules.

A member's tier history is computed by :func:`walk` from two inputs only: the
qualifying movements in the ledger (points earned net of returns, or net
spend) and the tier rules. Nothing about a tier is stored that could not be
recomputed; the stored history (``loyalty_tier_changes``) is checked against
the walk, and :func:`recompute` appends whatever differs.

The walk, for levels ``L0 < L1 < …`` with thresholds ``enter ≥ keep``:

* **Upgrade** at any qualifying movement: the member moves to the highest
  level whose ``enter`` the qualifying amount reaches (``calendar_year``: since
  1 January; ``rolling_12m``: the 12 months up to the movement; ``lifetime``).
* **Review** on each anniversary of enrolment (``calendar_year``: each
  1 January, over the year just ended): below the current level's ``keep``, the
  member goes one level down (``one_down``) or to the highest level whose
  ``keep`` is met (``recalculate``).

This is the rule set whose absence produced ERPNext's wrong tiers
(frappe/erpnext#22167, #41564): there the tier was stored and patched on each
invoice, so a cancelled invoice or a changed rule left it wrong for good.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from retentio.loyalty.rules import Tiers


class Movement(NamedTuple):
    """A ledger transaction as far as tiers care."""

    kind: str
    points: int
    net_amount: Decimal | None
    effective_at: dt.datetime


@dataclass(frozen=True)
class Qual:
    at: dt.datetime
    amount: Decimal


@dataclass(frozen=True)
class Change:
    at: dt.datetime
    from_tier: str | None
    to_tier: str
    reason: str  # enrolled | upgrade | review


def add_years(t: dt.datetime, years: int) -> dt.datetime:
    try:
        return t.replace(year=t.year + years)
    except ValueError:  # 29 February in a common year
        return t.replace(year=t.year + years, day=28)


def qualifying(rows: Iterable, basis: str) -> list[Qual]:
    """Qualifying movements from ledger transactions (``kind, points, net_amount, effective_at``)."""
    out = []
    for r in rows:
        if basis == "points":
            sign = {"earn": 1, "bonus": 1, "return": -1, "reverse": -1}.get(r.kind)
            if sign:
                out.append(Qual(r.effective_at, Decimal(sign * int(r.points))))
        elif r.kind in ("earn", "return", "reverse") and r.net_amount is not None:
            out.append(Qual(r.effective_at, Decimal(r.net_amount)))
    out.sort(key=lambda q: q.at)
    return out


def _window_at(quals: list[Qual], t: dt.datetime, period: str) -> Decimal:
    """The qualifying amount for an upgrade at instant ``t`` (movements up to and including ``t``)."""
    if period == "lifetime":
        return sum((q.amount for q in quals if q.at <= t), Decimal(0))
    if period == "calendar_year":
        jan1 = t.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        return sum((q.amount for q in quals if jan1 <= q.at <= t), Decimal(0))
    since = add_years(t, -1)
    return sum((q.amount for q in quals if since < q.at <= t), Decimal(0))


def _window_review(quals: list[Qual], r: dt.datetime, period: str) -> Decimal:
    """The qualifying amount at a review at instant ``r``: the year that ends just before ``r``."""
    if period == "lifetime":
        return sum((q.amount for q in quals if q.at < r), Decimal(0))
    since = add_years(r, -1)
    return sum((q.amount for q in quals if since <= q.at < r), Decimal(0))


def _reviews(enrolled_at: dt.datetime, until: dt.datetime, period: str) -> list[dt.datetime]:
    out = []
    if period == "calendar_year":
        y = enrolled_at.year + 1
        while (r := enrolled_at.replace(year=y, month=1, day=1, hour=0, minute=0, second=0, microsecond=0)) <= until:
            out.append(r)
            y += 1
    else:
        k = 1
        while (r := add_years(enrolled_at, k)) <= until:
            out.append(r)
            k += 1
    return out


def walk(quals: list[Qual], enrolled_at: dt.datetime, tiers: Tiers, until: dt.datetime) -> list[Change]:
    """The member's tier history from enrolment up to ``until`` (see the module's rules)."""
    levels = tiers.levels
    level = 0
    changes = [Change(enrolled_at, None, levels[0].key, "enrolled")]
    # (time, 0 = movement / 1 = review): at the same instant a movement counts before the review.
    points = [(q.at, 0) for q in quals if enrolled_at <= q.at <= until and q.amount > 0]
    points += [(r, 1) for r in _reviews(enrolled_at, until, tiers.period)]
    for at, what in sorted(set(points)):
        if what == 0:
            amount = _window_at(quals, at, tiers.period)
            target = max((i for i in range(level + 1, len(levels)) if amount >= levels[i].enter), default=level)
            if target != level:
                changes.append(Change(at, levels[level].key, levels[target].key, "upgrade"))
                level = target
        elif level > 0:
            amount = _window_review(quals, at, tiers.period)
            if amount < levels[level].keep:
                if tiers.downgrade == "one_down":
                    target = level - 1
                else:
                    target = max((i for i in range(level) if amount >= levels[i].keep), default=0)
                changes.append(Change(at, levels[level].key, levels[target].key, "review"))
                level = target
    return changes


def tier_at(changes: list[Change], t: dt.datetime) -> str:
    current = changes[0].to_tier
    for c in changes:
        if c.at > t:
            break
        current = c.to_tier
    return current
