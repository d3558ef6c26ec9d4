"""Bootstrap settings: the few values needed before the database is reachable.

Everything that an operator tunes at run time (activity window, shop time zone,
the public address of the link pages, lifecycle thresholds) lives in the
``shop_settings`` table instead, see :mod:`retentio.shop`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retentio.errors import ConfigError
from retentio.i18n import Msg

MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETENTIO_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///retentio.db")
    # Empty: each installation creates its own random key (retentio.secrets).
    secret_key: str = ""
    engine: Literal["duckdb", "postgres", "pyspark"] = "duckdb"
    lang: str | None = None
    # smtp://user:password@host:587?starttls=1 or smtps://… ; file:///folder writes .eml files; empty: not sent.
    smtp_url: str = ""
    smtp_rate_per_second: float = 0.0  # 0: no limit
    webhook_secret: str = ""  # HMAC key for webhooks; empty: the installation's own
    sqlite_timeout: float = 30.0  # seconds to wait for a lock held by another process
    # Where materialised copies (the customer view) are kept; empty: beside a SQLite file, else the cache folder.
    data_dir: str = ""
    # Spark (docs/engines.md): a Spark Connect address (sc://host:15002) runs the analytics on a cluster;
    # empty: local mode. Spark reads the orders as Parquet written under spark_data_url (default: the
    # data folder; on a cluster a path all of it can read, e.g. s3a://bucket/retentio or a shared mount).
    spark_remote: str = ""
    spark_data_url: str = ""
    # The DuckDB engine's memory limit when it works out of core (e.g. "6GB"; empty: a third of the
    # machine's memory, at most 8 GB; docs/engines.md).
    analytics_memory: str = ""
    # The web app: sessions get the Secure flag behind HTTPS; API requests per key and minute.
    https: bool = False
    api_rate_per_minute: int = 600

    @field_validator("secret_key", "webhook_secret")
    @classmethod
    def _strong(cls, value: str) -> str:
        if value and len(value.encode()) < MIN_SECRET_BYTES:
            # The message names the rule, never the value.
            raise ValueError("too short")
        return value


def load_settings() -> Settings:
    """The settings as the environment says now (one line on a bad value, never the value)."""
    try:
        return Settings()
    except ValidationError as exc:
        names = sorted({f"RETENTIO_{str(e['loc'][0]).upper()}" for e in exc.errors() if e.get("loc")})
        if any(n in ("RETENTIO_SECRET_KEY", "RETENTIO_WEBHOOK_SECRET") for n in names):
            raise ConfigError(Msg("{names} must be at least {n} bytes long (e.g. from `python -c 'import secrets; "
                                  "print(secrets.token_urlsafe(32))'`)", names=", ".join(names),
                                  n=MIN_SECRET_BYTES)) from None
        raise ConfigError(Msg("invalid setting {names}", names=", ".join(names))) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()


def normalise_db_url(url_or_path: str) -> str:
    """Accept a SQLAlchemy URL or a bare file path (taken as SQLite)."""
    if "://" in url_or_path:
        if url_or_path.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; SQLAlchemy defaults to psycopg2.
            return "postgresql+psycopg://" + url_or_path[len("postgresql://") :]
        return url_or_path
    return f"sqlite:///{Path(url_or_path).expanduser().resolve()}"
