"""Bootstrap settings: the few values needed before the database is reachable.

Everything that an operator tunes at run time (activity window, shop time zone,
lifecycle thresholds) lives in the ``shop_settings`` table instead, see
:mod:`retentio.shop`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETENTIO_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///retentio.db")
    secret_key: str = DEV_SECRET
    engine: Literal["duckdb", "postgres", "pyspark"] = "duckdb"
    lang: str | None = None
    # Where the unsubscribe and survey links point (the `retentio serve` app).
    public_url: str = "http://127.0.0.1:8000"
    # smtp://user:password@host:587?starttls=1 or smtps://… ; empty: email is not sent.
    smtp_url: str = ""
    smtp_rate_per_second: float = 0.0  # 0: no limit
    webhook_secret: str = ""  # HMAC key for webhooks; falls back to secret_key

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        # A default secret would make signed links forgeable in production.
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "RETENTIO_SECRET_KEY must be set to a random value in production "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


def normalise_db_url(url_or_path: str) -> str:
    """Accept a SQLAlchemy URL or a bare file path (taken as SQLite)."""
    if "://" in url_or_path:
        if url_or_path.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; SQLAlchemy defaults to psycopg2.
            return "postgresql+psycopg://" + url_or_path[len("postgresql://") :]
        return url_or_path
    return f"sqlite:///{Path(url_or_path).expanduser().resolve()}"
