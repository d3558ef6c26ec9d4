"""The erasure log: who erased which customer when, with keyed hashes instead of the person's keys.

Nothing in it identifies the person without the installation's privacy key:
``key_hash`` and ``contact_hash`` are HMAC-SHA256 of the customer number and
the e-mail address. It is what :func:`retentio.privacy.erase.reapply` matches
re-imported rows against (docs/privacy.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db.models import Base, BigId
from retentio.db.types import UTCDateTime


class Erasure(Base):
    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Unique per erasure, so the log file beside the database merges back without duplicates.
    erasure_key: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    contact_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # request | retention
    actor: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
