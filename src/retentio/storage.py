"""Where Retentio keeps files beside the database: materialised views, uploaded imports, reject reports.

``RETENTIO_DATA_DIR`` when set; else beside a SQLite database (``shop.db`` ->
``shop.db.files/``); else (PostgreSQL) in the user's cache folder, keyed by
the database URL.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import Engine


def data_root(engine: Engine) -> Path:
    from retentio.settings import get_settings

    configured = get_settings().data_dir
    if configured:
        return Path(configured).expanduser()
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser().resolve()
        return path.with_name(path.name + ".files")
    key = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "retentio" / key


def folder(engine: Engine, name: str) -> Path:
    path = data_root(engine) / name
    path.mkdir(parents=True, exist_ok=True)
    return path
