"""A programme's rules: earning, bonuses, expiry, tiers. Checked when saved, versioned when changed."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from retentio.errors import ConfigError
from retentio.i18n import Msg

BONUS_KINDS = ("first_purchase", "nth_purchase", "birthday", "referral", "survey", "review", "promoter")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VoucherSpec(_Strict):
    kind: Literal["value", "percent"] = "value"
    value: Decimal = Field(gt=0, le=100_000)
    min_order: Decimal | None = Field(default=None, ge=0)
    valid_days: int = Field(default=60, ge=1, le=3650)

    @model_validator(mode="after")
    def _percent(self) -> VoucherSpec:
        if self.kind == "percent" and self.value > 100:
            raise ValueError("a percentage voucher is at most 100 %")
        return self


class Bonus(_Strict):
    kind: Literal["first_purchase", "nth_purchase", "birthday", "referral", "survey", "review", "promoter"]
    points: int = Field(default=0, ge=0, le=10_000_000)
    n: int | None = Field(default=None, ge=2, le=1000)  # nth_purchase: which purchase
    voucher: VoucherSpec | None = None  # a gift instead of, or beside, points
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None  # inclusive

    @model_validator(mode="after")
    def _check(self) -> Bonus:
        if self.kind == "nth_purchase" and self.n is None:
            raise ValueError("an nth_purchase bonus needs n")
        if not self.points and self.voucher is None:
            raise ValueError("a bonus gives points, a voucher or both")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (self.valid_until is None
                                                                         or day <= self.valid_until)


class Tier(_Strict):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    enter: Decimal = Field(ge=0)  # qualifying amount to reach the tier
    keep: Decimal = Field(ge=0)  # … and to keep it at a review
    multiplier: Decimal = Field(default=Decimal(1), ge=Decimal(1), le=10)
    free_shipping: bool = False
    exclusive_offers: bool = False


class Tiers(_Strict):
    basis: Literal["points", "spend"] = "points"
    period: Literal["calendar_year", "rolling_12m", "lifetime"] = "rolling_12m"
    downgrade: Literal["one_down", "recalculate"] = "one_down"
    levels: list[Tier] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _order(self) -> Tiers:
        keys = [t.key for t in self.levels]
        if len(set(keys)) != len(keys):
            raise ValueError("tier keys must be unique")
        if self.levels[0].enter != 0 or self.levels[0].keep != 0:
            raise ValueError("the first tier is the entry tier: enter and keep 0")
        for lower, upper in zip(self.levels, self.levels[1:], strict=False):
            if upper.enter <= lower.enter:
                raise ValueError("tiers must be listed with rising enter thresholds")
        for t in self.levels:
            if t.keep > t.enter:
                raise ValueError(f"tier {t.key}: keep must not exceed enter")
        return self


class Rules(_Strict):
    points_per_unit: Decimal = Field(default=Decimal(1), ge=0, le=1000)  # per currency unit of net revenue
    point_value: Decimal = Field(default=Decimal("0.01"), gt=0, le=1000)  # currency per point
    return_window_days: int = Field(default=30, ge=0, le=365)
    expiry_months: int | None = Field(default=24, ge=1, le=240)  # None: points never expire
    reminder_days: int = Field(default=30, ge=1, le=365)
    earn_from: dt.date | None = None
    earn_until: dt.date | None = None
    min_redeem_points: int = Field(default=100, ge=1)
    # Customers who first buy after the start join on that purchase; a stable share is held out.
    auto_enrol: bool = True
    control_share: float = Field(default=0.0, ge=0, lt=1)
    bonuses: list[Bonus] = Field(default_factory=list, max_length=50)
    tiers: Tiers = Field(default_factory=lambda: Tiers(levels=[Tier(key="member", enter=Decimal(0),
                                                                     keep=Decimal(0))]))

    def earns_on(self, day: dt.date) -> bool:
        return (self.earn_from is None or day >= self.earn_from) and (self.earn_until is None
                                                                       or day <= self.earn_until)

    def lot_expiry(self, earned_at: dt.datetime) -> dt.datetime | None:
        if self.expiry_months is None:
            return None
        month = earned_at.month - 1 + self.expiry_months
        year, month = earned_at.year + month // 12, month % 12 + 1
        # The last day of the month when the day does not exist there (31 Jan + 1 month -> 28/29 Feb).
        day = min(earned_at.day, calendar.monthrange(year, month)[1])
        return earned_at.replace(year=year, month=month, day=day)

    def tier(self, key: str) -> Tier:
        for t in self.tiers.levels:
            if t.key == key:
                return t
        return self.tiers.levels[0]


DEFAULT_RULES: dict[str, Any] = {
    "points_per_unit": 1, "point_value": "0.01", "return_window_days": 30, "expiry_months": 24,
    "reminder_days": 30, "min_redeem_points": 500,
    "bonuses": [
        {"kind": "first_purchase", "points": 100},
        {"kind": "nth_purchase", "n": 5, "voucher": {"kind": "value", "value": "10", "valid_days": 60}},
        {"kind": "birthday", "points": 200},
        {"kind": "referral", "points": 500},
        {"kind": "survey", "points": 50},
        {"kind": "review", "points": 50},
        {"kind": "promoter", "points": 100},
    ],
    "tiers": {"basis": "points", "period": "rolling_12m", "downgrade": "one_down", "levels": [
        {"key": "bronze", "enter": 0, "keep": 0},
        {"key": "silver", "enter": 500, "keep": 400, "multiplier": "1.25"},
        {"key": "gold", "enter": 1500, "keep": 1200, "multiplier": "1.5", "free_shipping": True,
         "exclusive_offers": True},
    ]},
}


def parse_rules(raw: dict[str, Any] | None) -> Rules:
    """The rules, or one clear error naming the first wrong field."""
    try:
        return Rules.model_validate(raw if raw is not None else DEFAULT_RULES)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "rules"
        raise ConfigError(Msg("loyalty rules: {field}: {problem}", field=where,
                              problem=err["msg"].removeprefix("Value error, "))) from None


def rules_json(rules: Rules) -> dict[str, Any]:
    return rules.model_dump(mode="json")
