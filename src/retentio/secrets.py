"""Per-installation secrets: what signs unsubscribe and feedback links and derives voucher codes.

There is no default secret. At first use a random one (256 bits from the
operating system's CSPRNG) is created and kept with the shop's data in
``install_secrets``, so two installations never sign alike and links keep
working across restarts. ``RETENTIO_SECRET_KEY`` (at least 32 bytes)
overrides it, e.g. for several app servers sharing one key. Secrets are never
printed, not even in an error.
"""

from __future__ import annotations

import datetime as dt
import secrets as _random
from functools import lru_cache

from sqlalchemy import Engine, select

from retentio.db.models import InstallSecret
from retentio.db.types import table_of

MIN_BYTES = 32


@lru_cache(maxsize=32)
def _stored(url: str, name: str, engine: Engine) -> str:
    t = table_of(InstallSecret)
    with engine.begin() as conn:
        value = conn.scalar(select(t.c.value).where(t.c.name == name))
        if value is None:
            from retentio.act.delivery_plan import insert_ignore

            # Two processes starting at once: the first insert wins, both read the winner.
            insert_ignore(conn, t, [{"name": name, "value": _random.token_urlsafe(32),
                                     "created_at": dt.datetime.now(dt.UTC)}], ["name"])
            value = conn.scalar(select(t.c.value).where(t.c.name == name))
    return str(value)


def secret_key(engine: Engine) -> str:
    """The key that signs links: RETENTIO_SECRET_KEY, or this installation's own."""
    from retentio.settings import get_settings

    configured = get_settings().secret_key
    if configured:
        return configured
    return _stored(engine.url.render_as_string(hide_password=True), "links", engine)


def webhook_secret(engine: Engine, settings=None) -> str:
    from retentio.settings import get_settings

    s = settings or get_settings()
    return s.webhook_secret or _stored(engine.url.render_as_string(hide_password=True), "webhooks", engine)
