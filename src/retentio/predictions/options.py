"""What a prediction run is asked for, and the time frame it works in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from retentio.models.backtest import MODELS, Thresholds


@dataclass
class PredictionOptions:
    unit: str = "weeks"
    calibration_end: dt.date | None = None
    holdout_end: dt.date | None = None
    models: tuple[str, ...] = tuple(MODELS)
    penalizer: float = 0.0
    intervals: bool = True
    thresholds: Thresholds | None = None


def last_day(ctx) -> dt.date:
    """The last day with data in the refresh (as_of_local is the start of the next day)."""
    return ctx.as_of_local.date() - dt.timedelta(days=1)


def default_split(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """Holdout = the last third of the history, between 4 weeks and a year, in whole weeks."""
    span = (last - first).days
    weeks = int(min(max(span / 3, 28), 365) // 7)
    return last - dt.timedelta(days=7 * weeks), last
