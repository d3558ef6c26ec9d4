"""No default secret: every installation signs with its own random key, unless one is configured."""

from __future__ import annotations

import pytest

from retentio.act.context import voucher_code
from retentio.act.links import BadToken, link_secret, unsubscribe_url, verify
from retentio.db.session import get_engine
from retentio.errors import ConfigError
from retentio.secrets import secret_key, webhook_secret
from retentio.settings import get_settings, load_settings


@pytest.fixture
def no_configured_secret(monkeypatch):
    monkeypatch.delenv("RETENTIO_SECRET_KEY", raising=False)
    monkeypatch.delenv("RETENTIO_WEBHOOK_SECRET", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _fresh(tmp_path, name):
    return get_engine(f"sqlite:///{tmp_path / name}")


def test_two_fresh_installations_never_sign_alike(no_configured_secret, tmp_path, db):
    other = _fresh(tmp_path, "other.db")
    a, b = secret_key(db), secret_key(other)
    assert a != b and len(a) >= 32 and len(b) >= 32
    assert webhook_secret(db) not in (a, webhook_secret(other))
    token = unsubscribe_url(db, 1).rsplit("/", 1)[1]
    assert verify(token, link_secret(db)).customer_id == 1
    with pytest.raises(BadToken):
        verify(token, link_secret(other))  # a link of one shop is no key to another
    assert voucher_code("flow:1:step", a) != voucher_code("flow:1:step", b)


def test_the_secret_is_kept_with_the_data(no_configured_secret, tmp_path):
    first = secret_key(_fresh(tmp_path, "kept.db"))
    from retentio.secrets import _stored

    _stored.cache_clear()  # as after a restart
    assert secret_key(_fresh(tmp_path, "kept.db")) == first


def test_a_configured_secret_overrides_the_installations_own(monkeypatch, tmp_path):
    key = "k" * 40
    monkeypatch.setenv("RETENTIO_SECRET_KEY", key)
    get_settings.cache_clear()
    try:
        assert secret_key(_fresh(tmp_path, "a.db")) == secret_key(_fresh(tmp_path, "b.db")) == key
    finally:
        monkeypatch.delenv("RETENTIO_SECRET_KEY")
        get_settings.cache_clear()


@pytest.mark.parametrize("var", ["RETENTIO_SECRET_KEY", "RETENTIO_WEBHOOK_SECRET"])
@pytest.mark.parametrize("weak", ["changeme", "x" * 31, "ä" * 15])
def test_weak_secrets_are_refused_in_one_line_without_the_value(monkeypatch, var, weak):
    monkeypatch.setenv(var, weak)
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert var in text and "32" in text and weak not in text and "\n" not in text
