"""Shop settings, delivery channels (with test sends), and the channels the worker uses."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine

from retentio.auth.roles import Principal, require
from retentio.errors import ConfigError, RetentioError
from retentio.i18n import Msg

SECRET_KEYS = ("smtp_url", "shopify_webhook_secret", "woocommerce_webhook_secret", "shopware_webhook_secret")


def mask_url(url: str) -> str:
    """``smtp://user:***@host:587``: the password is never shown back."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def smtp_url(engine: Engine) -> str:
    """The SMTP URL in force: the shop setting, else RETENTIO_SMTP_URL."""
    from retentio.settings import load_settings
    from retentio.shop import load_config

    return load_config(engine).smtp_url or load_settings().smtp_url


def delivery_channels(engine: Engine) -> dict[str, Any]:
    from retentio.act.worker import make_channels
    from retentio.secrets import webhook_secret
    from retentio.settings import load_settings
    from retentio.shop import load_config

    settings = load_settings()
    cfg = load_config(engine)
    return make_channels(smtp_url(engine), cfg.sender_email, cfg.sender_name or cfg.name,
                         settings.smtp_rate_per_second, webhook_secret(engine, settings))


def email_channel(engine: Engine):
    channel = delivery_channels(engine).get("email")
    if channel is None:
        raise ConfigError(Msg("no SMTP server is configured: set one on the settings page or in RETENTIO_SMTP_URL"))
    return channel


def get_settings(engine: Engine, actor: Principal) -> dict[str, Any]:
    from retentio.settings import load_settings
    from retentio.shop import ShopConfig, load_config

    require(actor, "settings:read")
    cfg = load_config(engine).as_dict()
    cfg["smtp_url"] = mask_url(cfg["smtp_url"])
    for key in SECRET_KEYS[1:]:
        cfg[key] = "***" if cfg[key] else ""
    env_smtp = load_settings().smtp_url
    types = {f.name: str(f.type) for f in fields(ShopConfig)}
    return {"settings": cfg, "types": types,
            "smtp": {"source": "settings" if load_config(engine).smtp_url else "environment" if env_smtp else None,
                     "url": mask_url(smtp_url(engine))}}


def update_settings(engine: Engine, actor: Principal, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply several settings at once: all are checked before any is stored."""
    from retentio.shop import _coerce, set_config

    require(actor, "settings:write")
    checked = {}
    for key, value in changes.items():
        if key == "demo":
            raise ConfigError(Msg("unknown setting {key!r}; settings: {names}", key=key, names="…"))
        if key in SECRET_KEYS and isinstance(value, str) and ("***" in value or (value == "" and key != "smtp_url")):
            continue  # the masked value came back unchanged from the form
        checked[key] = _coerce(key, value)
    from retentio.shop import load_config

    current = load_config(engine).as_dict()
    merged = {**current, **checked}
    th = (merged["lifecycle_active"], merged["lifecycle_at_risk"], merged["lifecycle_inactive"])
    if not th[0] < th[1] < th[2]:  # checked before anything is stored
        raise ConfigError(Msg("lifecycle thresholds must increase (active < at_risk < inactive), got {th}",
                              th=str(th)))
    for key, value in checked.items():
        set_config(engine, key, value)
    return get_settings(engine, actor)


def test_email(engine: Engine, actor: Principal, address: str) -> dict[str, Any]:
    from email_validator import EmailNotValidError, validate_email

    from retentio.act.channels import Outgoing
    from retentio.shop import load_config

    require(actor, "settings:write")
    try:
        address = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ConfigError(Msg("not a valid e-mail address: {value!r}", value=address[:80])) from None
    cfg = load_config(engine)
    now = dt.datetime.now(dt.UTC)
    result = email_channel(engine).send(Outgoing(
        id=0, key=f"settings-test:{now.timestamp():.0f}", channel="email", customer_id=None, address=address,
        purpose="transactional", subject=f"Retentio: test ({cfg.name})",
        body_text=f"This is a test message from Retentio for {cfg.name}.\n\n"
                  f"Dies ist eine Testnachricht von Retentio für {cfg.name}.\n"))
    if not result.ok:
        raise RetentioError(Msg("the test message was not sent: {error}", error=(result.error or "")[:200]))
    return {"sent": True, "address": address}


def test_webhook(engine: Engine, actor: Principal, url: str) -> dict[str, Any]:
    from retentio.act.channels import Outgoing

    require(actor, "settings:write")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(Msg("a webhook URL starts with https:// or http://"))
    now = dt.datetime.now(dt.UTC)
    channel = delivery_channels(engine)["webhook"]
    result = channel.send(Outgoing(id=0, key=f"webhook-test:{now.timestamp():.0f}", channel="webhook",
                                   customer_id=None, address=url, purpose="transactional",
                                   payload={"type": "test", "sent_at": now.isoformat()}))
    if not result.ok:
        raise RetentioError(Msg("the test call failed: {error}", error=(result.error or "")[:200]))
    return {"sent": True, "url": url}
