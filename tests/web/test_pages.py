"""The dashboard's pages: sign-in, sessions, CSRF, throttling, headers, both languages, hostile names."""

from __future__ import annotations

import re

import pytest
from tests.web.conftest import MARKUP, PASSWORD, csrf_of, login

from retentio.auth.keys import digest

PAGES = ["/", "/cohorts", "/segments", "/segments/vip", "/segments/new", "/customers", "/customers?q=K1",
         "/at-risk", "/predictions", "/flows", "/flows/winback", "/flows/outbox", "/data", "/settings",
         "/cohorts?period=quarter&metric=revenue", "/?period=week&window=60"]


def test_every_page_redirects_to_the_login_without_a_session(sqlite_web):
    c = sqlite_web.client()
    for path in PAGES:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_page_in_both_languages_escapes_hostile_names(web, lang):
    c = web.browser("admin", lang)
    customer = c.get("/customers/search?q=K1").text
    for path in [*PAGES, "/customers/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"]:
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert f'<html lang="{lang}">' in r.text
        assert not MARKUP.search(r.text), (path, MARKUP.search(r.text))
        assert "&lt;script&gt;alert(&#34;shop&#34;)&lt;/script&gt;" in r.text  # the shop's name, as text
    assert "K1" in customer
    overview = c.get("/").text
    words = ("Übersicht", "Kundenbindungsrate") if lang == "de" else ("Overview", "Customer retention rate")
    assert all(w in overview for w in words)
    other = ("Customer retention rate", "Sign out") if lang == "de" else ("Kundenbindungsrate", "Abmelden")
    assert not any(w in overview for w in other), "one language per screen"


def test_login_rotates_the_session_and_logout_ends_it(sqlite_web):
    c = sqlite_web.client()
    c.cookies.set("retentio_session", "planted-by-an-attacker")
    r = login(c, "admin@example.com", PASSWORD)
    assert r.status_code == 303
    token = r.cookies.get("retentio_session") or c.cookies.get("retentio_session")
    assert token and token != "planted-by-an-attacker"
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    with sqlite_web.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM web_sessions").scalars().all()
    assert digest(token) in stored and token not in stored  # only the digest is kept
    # A second login gets a new token; the first one stays valid until its own logout.
    c2 = sqlite_web.client()
    assert login(c2, "admin@example.com", PASSWORD).cookies.get("retentio_session") != token
    page = c.get("/")
    assert page.status_code == 200
    assert c.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False).status_code == 303
    c.cookies.set("retentio_session", token)
    assert c.get("/", follow_redirects=False).status_code == 303


def test_a_planted_cookie_is_not_a_session(sqlite_web):
    c = sqlite_web.client()
    c.cookies.set("retentio_session", "x" * 43)
    assert c.get("/", follow_redirects=False).status_code == 303


def test_state_changes_need_the_csrf_token(sqlite_web):
    c = sqlite_web.browser("admin")
    page = c.get("/flows")
    assert c.post("/flows/winback/switch", data={"enabled": "1"}).status_code == 403
    assert c.post("/flows/winback/switch", data={"enabled": "1", "csrf_token": "forged"}).status_code == 403
    from retentio.act.flow_store import get_flow

    assert not get_flow(sqlite_web.engine, "winback").enabled
    ok = c.post("/flows/winback/switch", data={"enabled": "1", "csrf_token": csrf_of(page.text)},
                follow_redirects=False)
    assert ok.status_code == 303 and get_flow(sqlite_web.engine, "winback").enabled
    # The header htmx sends works too.
    assert c.post("/flows/winback/switch", data={"enabled": "0"},
                  headers={"X-CSRF-Token": csrf_of(page.text)}, follow_redirects=False).status_code == 303


def test_the_login_form_needs_its_token(sqlite_web):
    c = sqlite_web.client()
    r = c.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "login_token": "x"},
               follow_redirects=False)
    assert r.status_code == 403 and "retentio_session" not in r.cookies


def test_failed_logins_are_throttled_even_with_the_right_password_afterwards(sqlite_web):
    c = sqlite_web.client()
    for _ in range(5):
        assert login(c, "analyst@example.com", "wrong password!").status_code == 401
    r = login(c, "analyst@example.com", PASSWORD)
    assert r.status_code == 429 and "retentio_session" not in r.cookies
    # Another address is not blocked by these failures.
    assert login(sqlite_web.client(), "viewer@example.com", PASSWORD).status_code == 303


def test_unknown_and_wrong_password_answer_alike(sqlite_web):
    a = login(sqlite_web.client(), "nobody@example.com", PASSWORD)
    b = login(sqlite_web.client(), "admin@example.com", "not the password")
    assert a.status_code == b.status_code == 401
    alert = re.compile(r'role="alert">([^<]+)<')
    assert alert.search(a.text).group(1) == alert.search(b.text).group(1)


def test_security_headers_and_no_inline_script(sqlite_web):
    c = sqlite_web.browser("admin")
    r = c.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in r.text.replace("<script src=", "")  # every script is a file
    assert "http://" not in r.text.split("<body")[0] and "https://" not in r.text.split("<body")[0]  # no CDN


def test_a_viewer_sees_no_personal_data_and_no_controls(sqlite_web):
    c = sqlite_web.browser("viewer")
    overview = c.get("/").text
    assert 'href="/customers"' not in overview and 'href="/settings"' not in overview
    assert c.get("/customers").status_code == 403
    assert c.get("/customers/K10001").status_code == 403
    cohorts = c.get("/cohorts").text
    assert "/cohorts/customers" not in cohorts  # cells are not links
    flows = c.get("/flows")
    assert flows.status_code == 403


def test_a_marketer_sees_flow_switches_an_analyst_does_not(sqlite_web):
    assert "data-flow-switch" in sqlite_web.browser("marketer").get("/flows").text
    assert "data-flow-switch" not in sqlite_web.browser("analyst").get("/flows").text


def test_oversized_bodies_are_refused(sqlite_web):
    c = sqlite_web.browser("admin")
    assert c.post("/segments/preview", content=b"x" * (2 * 1024 * 1024)).status_code == 413


def test_pages_are_served_while_an_import_holds_the_write_lock(sqlite_web):
    """A long import holds SQLite's write lock; signed-in pages (which only read, and touch the session at
    most once a minute, best effort) still answer promptly."""
    import datetime as dt
    import time

    import sqlalchemy as sa

    c = sqlite_web.browser("analyst")
    with sqlite_web.engine.begin() as conn:  # make the next request want to touch its session
        conn.execute(sa.text("UPDATE web_sessions SET last_seen_at = :t"),
                     {"t": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S.%f")})
    locker = sa.create_engine(sqlite_web.engine.url)
    with locker.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # what an import's transaction does
        t0 = time.perf_counter()
        r = c.get("/")
        assert r.status_code == 200 and time.perf_counter() - t0 < 5
        conn.exec_driver_sql("ROLLBACK")
    locker.dispose()


def test_the_at_risk_page_names_the_model_not_its_key(sqlite_web):
    data = sqlite_web.api("analyst").get("/api/v1/at-risk").json()
    assert data["model"] and data["model_name"]
    page = sqlite_web.browser("analyst").get("/at-risk").text
    assert f"model: {data['model_name']};" in page.replace("&#34;", '"').replace("&amp;", "&")
    if data["model_name"] != data["model"]:
        assert f"model: {data['model']};" not in page
