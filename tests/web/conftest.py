"""A small shop for the web tests, built once per session and copied per test, on SQLite and PostgreSQL.

The shop is the demo generator's (400 customers, refreshed with predictions),
with hostile names (issue 9's corpus) in the shop name and on a few customers,
one user and one API key per role, and a saved segment.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from retentio.auth.keys import create_key
from retentio.auth.roles import OPERATOR, ROLES
from retentio.auth.users import add_user
from retentio.db.models import Customer
from retentio.db.session import get_engine
from retentio.loyalty.rules import DEFAULT_RULES

SHOP_NAME = '<script>alert("shop")</script> & Söhne'
HOSTILE_ID = "<img src=x onerror=alert(1)>"
HOSTILE_FIRST = "<svg onload=alert(2)>\"'"
HOSTILE_LAST = '<script>alert("kunde")</script>'
MARKUP = re.compile(r"<script>alert|<img src=x|<svg onload")
PASSWORD = "correct horse battery staple"
KEY_ROLES = (*ROLES, "ingest", "tracking")


@dataclass
class WebShop:
    engine: sa.Engine
    keys: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # role -> e-mail

    def client(self, **kwargs) -> TestClient:
        from retentio.web.app import create_app

        return TestClient(create_app(self.engine, background=False, **kwargs))

    def api(self, role: str = "admin", **kwargs) -> TestClient:
        c = self.client(**kwargs)
        c.headers["Authorization"] = f"Bearer {self.keys[role]}"
        return c

    def browser(self, role: str = "admin", lang: str = "en") -> TestClient:
        c = self.client()
        login(c, self.users[role], PASSWORD)
        c.cookies.set("retentio_lang", lang)
        return c


def login(client: TestClient, email: str, password: str, next_url: str = "/"):
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"email": email, "password": password, "login_token": token,
                                       "next": next_url}, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def build(engine: sa.Engine) -> dict:
    """The shop, its users and keys; returns {"keys": …, "users": …}."""
    from retentio.act import segments
    from retentio.demo.generator import generate
    from retentio.demo.run import store
    from retentio.refresh import refresh
    from retentio.shop import set_config

    store(engine, generate(400, 11))
    set_config(engine, "name", SHOP_NAME)
    set_config(engine, "time_zone", "Europe/Berlin")
    with engine.begin() as conn:
        ids = conn.execute(sa.select(Customer.id).order_by(Customer.id).limit(4)).scalars().all()
        conn.execute(sa.update(Customer).where(Customer.id == ids[1]).values(first_name=HOSTILE_FIRST,
                                                                             last_name=HOSTILE_LAST))
        conn.execute(sa.update(Customer).where(Customer.id == ids[2]).values(external_id=HOSTILE_ID,
                                                                             first_name=HOSTILE_FIRST))
    refresh(engine)
    segments.save_segment(engine, "vip", {"field": "clv", "gte": 50.0}, "valuable customers")
    from retentio.db.models import Order
    from retentio.services import loyalty

    with engine.connect() as conn:
        first = conn.execute(sa.select(sa.func.min(Order.placed_at))).scalar_one()
    rules = {**DEFAULT_RULES, "control_share": 0.2}
    loyalty.create_program(engine, OPERATOR, "club", "Club", rules=rules, starts_at=first + dt.timedelta(days=200))
    loyalty.sync(engine, OPERATOR)
    users, keys = {}, {}
    for role in ROLES:
        users[role] = add_user(engine, OPERATOR, f"{role}@example.com", role, PASSWORD)["email"]
    for role in KEY_ROLES:
        keys[role] = create_key(engine, OPERATOR, f"{role} key", role)[1]
    return {"keys": keys, "users": users}


@pytest.fixture(scope="session")
def web_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("webshop")
    engine = get_engine(f"sqlite:///{folder / 'shop.db'}")
    creds = build(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    get_engine.cache_clear()
    return folder, creds


def pg_shop(pg_admin):
    """A new PostgreSQL database with the web shop; a generator that drops it at the end."""
    from tests.conftest import PG_URL

    name = f"retentio_web_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name)
    engine = get_engine(url.render_as_string(hide_password=False))
    creds = build(engine)
    yield engine, creds
    engine.dispose()
    with pg_admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_web(pg_admin):
    yield from pg_shop(pg_admin)


@pytest.fixture(scope="module")
def pg_own_web(pg_admin):
    """A PostgreSQL shop of the module's own, for tests that may change anything (the fuzzer, the browser)."""
    yield from pg_shop(pg_admin)


def copy_template(folder: Path, target: Path) -> sa.Engine:
    shutil.copy(folder / "shop.db", target / "shop.db")
    if (folder / "shop.db.files").exists():
        shutil.copytree(folder / "shop.db.files", target / "shop.db.files")
    return get_engine(f"sqlite:///{target / 'shop.db'}")


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite"),
                        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)])
def web(request, tmp_path) -> WebShop:
    """The web shop on each database kind (PostgreSQL: one database per session, shared by the tests)."""
    from retentio.act import view_store

    view_store.forget()
    if request.param == "postgres":
        engine, creds = request.getfixturevalue("pg_web")
    else:
        folder, creds = request.getfixturevalue("web_template")
        engine = copy_template(folder, tmp_path)
    return WebShop(engine, creds["keys"], creds["users"])


@pytest.fixture
def sqlite_web(web_template, tmp_path) -> WebShop:
    from retentio.act import view_store

    view_store.forget()
    folder, creds = web_template
    return WebShop(copy_template(folder, tmp_path), creds["keys"], creds["users"])
