"""Operational knobs stored in the database and editable at run time.

``retentio config set time_zone Europe/Berlin`` changes them without a restart;
bootstrap values (database URL, secret key) are in :mod:`retentio.settings`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import asdict, dataclass, fields
from typing import Any

from sqlalchemy import Engine, select

from retentio.db.models import ShopSetting
from retentio.db.session import session_scope
from retentio.errors import ConfigError
from retentio.i18n import Msg

URL_KEYS = ("public_url", "shop_url", "logo_url")
CATEGORIES = ("general", "coffee_tea", "food", "fashion", "beauty", "electronics", "home", "books", "sports",
              "toys", "software")


@dataclass
class ShopConfig:
    name: str = "Shop"
    time_zone: str = "UTC"
    currency: str = "EUR"
    locale: str = "de_DE"
    active_window_days: int | None = None  # None: derived from the repurchase cycle
    lifecycle_active: float = 1.5
    lifecycle_at_risk: float = 2.5
    lifecycle_inactive: float = 4.0
    # Predictions: horizon of expected purchases and CLV, the gross margin on
    # revenue, and the yearly discount rate applied to future cash flows.
    prediction_horizon_days: int = 365
    margin: float = 1.0
    discount_rate: float = 0.1
    # Contact guardrails (docs/delivery.md): at most `frequency_cap` marketing
    # messages per customer within `frequency_window_days`, across all flows;
    # nothing marketing between quiet_hours_start and quiet_hours_end in the
    # recipient's own time zone; marketing email only after double opt-in.
    frequency_cap: int = 2
    frequency_window_days: int = 7
    quiet_hours_start: str = "20:00"
    quiet_hours_end: str = "08:00"
    require_double_opt_in: bool = True
    sender_name: str = ""  # empty: the shop name
    sender_email: str = "shop@example.com"
    attribution_days: int = 14
    # Where customers reach the shop and the link pages (`retentio serve` behind it), and who sends:
    # German commercial e-mail needs the sender's identity and imprint (§ 5 DDG, § 7 UWG).
    public_url: str = "http://127.0.0.1:8000"
    shop_url: str = ""
    logo_url: str = ""
    legal_name: str = ""
    postal_address: str = ""
    imprint: str = ""
    # What the shop sells: letters use the matching tips (docs/messages.md).
    category: str = "general"
    demo: bool = False
    # Delivery: an SMTP URL here wins over RETENTIO_SMTP_URL (its password is never shown back).
    smtp_url: str = ""
    # The scheduler (docs/web.md): refresh daily at this hour of the shop's day (empty: off), run the flows
    # every N minutes (0: off), deliver the outbox continuously.
    schedule_refresh_hour: int | None = None
    schedule_flows_minutes: int = 0
    schedule_worker: bool = False
    # Shop webhooks: the secret each platform signs with (docs/web.md); never shown back.
    shopify_webhook_secret: str = ""
    woocommerce_webhook_secret: str = ""
    shopware_webhook_secret: str = ""
    # Surveys (docs/surveys.md): at least this many days between two invitations to one person, across all
    # surveys. Service cases (docs/cases.md): hours to the due time by priority.
    survey_min_gap_days: int = 90
    sla_urgent_hours: int = 4
    sla_high_hours: int = 24
    sla_normal_hours: int = 72
    sla_low_hours: int = 168
    # Privacy (docs/privacy.md): erase customers inactive for this many years (empty: off), daily.
    retention_years: int | None = None
    # Budget advisor (docs/budget.md): what one marketing message costs (sending, tools), in the shop's currency.
    cost_per_message: float = 0.01

    def sla(self) -> dict[str, int]:
        return {"urgent": self.sla_urgent_hours, "high": self.sla_high_hours, "normal": self.sla_normal_hours,
                "low": self.sla_low_hours}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _coerce(key: str, value: Any) -> Any:
    types = {f.name: f.type for f in fields(ShopConfig)}
    if key not in types:
        raise ConfigError(Msg("unknown setting {key!r}; settings: {names}", key=key, names=", ".join(types)))
    if value in (None, "", "auto", "none") and key == "active_window_days":
        return None
    if value in (None, "", "off", "none") and key in ("schedule_refresh_hour", "retention_years"):
        return None
    try:
        if key == "active_window_days":
            value = int(value)
            if not 1 <= value <= 3650:
                raise ValueError
        elif key == "retention_years":
            value = int(value)
            if not 1 <= value <= 30:
                raise ValueError
        elif key == "prediction_horizon_days":
            value = int(value)
            if not 7 <= value <= 3650:
                raise ValueError
        elif key == "cost_per_message":
            value = float(str(value).replace(",", "."))
            if not 0 <= value <= 100:
                raise ValueError
        elif key in ("margin", "discount_rate"):
            value = float(value)
            if not 0 <= value <= (1 if key == "margin" else 2):
                raise ValueError
        elif key.startswith("lifecycle_"):
            value = float(value)
            if value <= 0:
                raise ValueError
        elif key in ("frequency_cap", "frequency_window_days", "attribution_days"):
            value = int(value)
            if not 0 <= value <= 365:
                raise ValueError
        elif key in ("quiet_hours_start", "quiet_hours_end"):
            dt.time.fromisoformat(str(value))
        elif key == "require_double_opt_in":
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        elif key == "sender_email" and "@" not in str(value):
            raise ValueError
        elif key in URL_KEYS:
            value = str(value).strip()
            if value and not value.startswith(("https://", "http://")):
                raise ValueError
        elif key == "category" and value not in CATEGORIES:
            raise ConfigError(Msg("category must be one of {names}", names=", ".join(CATEGORIES)))
        elif key in ("demo", "schedule_worker"):
            value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        elif key.endswith("_webhook_secret"):
            value = str(value).strip()
            if value and len(value) < 8:
                raise ValueError
        elif key == "smtp_url":
            value = str(value).strip()
            if value and not value.startswith(("smtp://", "smtps://", "file://")):
                raise ValueError
        elif key == "schedule_refresh_hour":
            value = None if value in (None, "", "off", "none") else int(value)
            if value is not None and not 0 <= value <= 23:
                raise ValueError
        elif key == "survey_min_gap_days" or (key.startswith("sla_") and key.endswith("_hours")):
            value = int(value)
            if not 0 <= value <= (3650 if key == "survey_min_gap_days" else 24 * 365):
                raise ValueError
        elif key == "schedule_flows_minutes":
            value = int(value)
            if not 0 <= value <= 1440:
                raise ValueError
        elif key == "time_zone":
            zoneinfo.ZoneInfo(str(value))
        elif key == "currency" and not (isinstance(value, str) and len(value) == 3):
            raise ValueError
    except (ValueError, TypeError, zoneinfo.ZoneInfoNotFoundError):
        raise ConfigError(Msg("invalid value {value!r} for {key}", value=value, key=key)) from None
    return value.upper() if key == "currency" else value


def load_config(engine: Engine) -> ShopConfig:
    with session_scope(engine) as s:
        stored = {row.key: row.value for row in s.scalars(select(ShopSetting))}
    cfg = ShopConfig()
    for key, value in stored.items():
        if hasattr(cfg, key):
            setattr(cfg, key, value)
    th = (cfg.lifecycle_active, cfg.lifecycle_at_risk, cfg.lifecycle_inactive)
    if not th[0] < th[1] < th[2]:
        raise ConfigError(Msg("lifecycle thresholds must increase (active < at_risk < inactive), got {th}", th=str(th)))
    return cfg


def public_url_warning(cfg: ShopConfig) -> Msg | None:
    """Links to the local machine reach nobody but the operator (fine in the demo)."""
    from urllib.parse import urlsplit

    host = urlsplit(cfg.public_url).hostname or ""
    if not cfg.demo and (host in ("localhost", "::1") or host.startswith("127.")):
        return Msg("the public address of the unsubscribe and feedback links is {url}: customers cannot reach it. "
                   "Set it with `retentio config set public_url https://…`", url=cfg.public_url)
    return None


def set_config(engine: Engine, key: str, value: Any) -> Any:
    value = _coerce(key, value)
    with session_scope(engine) as s:
        row = s.get(ShopSetting, key)
        if row is None:
            s.add(ShopSetting(key=key, value=value))
        else:
            row.value = value
    return value
