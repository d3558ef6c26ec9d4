"""SMTP with STARTTLS, implicit TLS and AUTH against aiosmtpd, with certificates from a private CA (trustme)."""

from __future__ import annotations

import ssl

import pytest
import trustme
from tests.act.servers import SmtpSink

from retentio.act.channels import Outgoing, SmtpChannel


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return server, path


def _msg() -> Outgoing:
    return Outgoing(1, "k1", "email", 1, "kunde@example.org", "transactional", "Grüße", "Hallo ä", None, None, "de", "t")


def test_starttls_with_login(ca):
    server, cafile = ca
    with SmtpSink(tls=server, logins={"shop": "ge@heim:1"}) as sink:
        ch = SmtpChannel(f"smtp://shop:ge%40heim%3A1@127.0.0.1:{sink.port}?starttls=1&cafile={cafile}",
                         "shop@example.com")
        assert ch.send(_msg()).ok
        ch.close()
    assert [m["To"] for m in sink.messages] == ["kunde@example.org"]


def test_implicit_tls(ca):
    server, cafile = ca
    with SmtpSink(tls=server, implicit_tls=True) as sink:
        ch = SmtpChannel(f"smtps://127.0.0.1:{sink.port}?cafile={cafile}", "shop@example.com")
        assert ch.send(_msg()).ok
        ch.close()
    assert len(sink.messages) == 1


def test_an_untrusted_certificate_is_refused_and_the_message_kept(ca):
    server, _ = ca
    with SmtpSink(tls=server) as sink:
        ch = SmtpChannel(f"smtp://127.0.0.1:{sink.port}?starttls=1", "shop@example.com")  # system CAs only
        result = ch.send(_msg())
    assert not result.ok and not result.permanent and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert sink.messages == []


def test_a_wrong_password_keeps_the_message_for_a_retry(ca):
    server, cafile = ca
    with SmtpSink(tls=server, logins={"shop": "right"}) as sink:
        ch = SmtpChannel(f"smtp://shop:wrong@127.0.0.1:{sink.port}?starttls=1&cafile={cafile}", "shop@example.com")
        result = ch.send(_msg())
    assert not result.ok and not result.permanent and "authentication" in result.error
    assert sink.messages == []


def test_credentials_without_tls_are_refused_for_remote_hosts():
    with pytest.raises(ValueError, match="need TLS"):
        SmtpChannel("smtp://user:pw@mail.example.com:587", "shop@example.com")
    SmtpChannel("smtp://user:pw@mail.example.com:587?starttls=1", "shop@example.com")  # fine
    with pytest.raises(ValueError, match="ASCII"):
        SmtpChannel("smtp://user:gr%C3%BC%C3%9Fe@mail.example.com:587?starttls=1", "shop@example.com")
