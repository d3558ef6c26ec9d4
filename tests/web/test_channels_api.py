"""Test sends through real peers: a flow's message and the settings' test e-mail through aiosmtpd, the
webhook test through an HTTP receiver; a retried test send (same Idempotency-Key) sends once."""

from __future__ import annotations

from tests.act.servers import HttpReceiver, SmtpSink


def test_flow_test_send_reaches_the_smtp_server_once(sqlite_web):
    c = sqlite_web.api("marketer")
    with SmtpSink() as smtp:
        sqlite_web.api("admin").patch("/api/v1/settings", json={"smtp_url": smtp.url})
        body = {"customer": "K10001", "address": "qa@example.com"}
        first = c.post("/api/v1/flows/winback/test-send", json=body, headers={"Idempotency-Key": "t-1"})
        again = c.post("/api/v1/flows/winback/test-send", json=body, headers={"Idempotency-Key": "t-1"})
        assert first.status_code == again.status_code == 200, first.text
        assert len(smtp.messages) == 1
        msg = smtp.messages[0]
        assert msg["To"] == "qa@example.com" and msg["Subject"].startswith("[Test]")
        shown = sqlite_web.api("admin").get("/api/v1/settings").json()
        assert shown["settings"]["smtp_url"] == smtp.url and shown["smtp"]["source"] == "settings"
        assert sqlite_web.api("admin").post("/api/v1/settings/test-email",
                                            json={"address": "ops@example.com"}).status_code == 200
        assert len(smtp.messages) == 2
    # Outside the outbox: no message row, no cap used, no effect statistics touched.
    with sqlite_web.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM outbox WHERE address = 'qa@example.com'").scalar() == 0


def test_without_smtp_the_test_send_says_so(sqlite_web):
    r = sqlite_web.api("marketer").post("/api/v1/flows/winback/test-send",
                                        json={"customer": "K10001", "address": "qa@example.com"})
    assert r.status_code == 422 and "SMTP" in r.json()["detail"]


def test_webhook_test_is_signed(sqlite_web):
    with HttpReceiver() as hook:
        r = sqlite_web.api("admin").post("/api/v1/settings/test-webhook", json={"url": hook.url + "/x"})
        assert r.status_code == 200 and hook.requests[0]["json"]["type"] == "test"
        assert any(k.lower().startswith("x-retentio-signature") or k.lower() == "x-signature"
                   or "signature" in k.lower() for k in hook.requests[0]["headers"])


def test_smtp_password_is_never_shown_back(sqlite_web):
    admin = sqlite_web.api("admin")
    admin.patch("/api/v1/settings", json={"smtp_url": "smtp://mailer:s3cret-pass@mail.example:587"})
    shown = admin.get("/api/v1/settings").text
    assert "s3cret-pass" not in shown and "mailer:***@mail.example:587" in shown
    # Saving the form with the masked value leaves the stored password alone.
    admin.patch("/api/v1/settings", json={"smtp_url": "smtp://mailer:***@mail.example:587", "name": "Laden"})
    from retentio.shop import load_config

    assert load_config(sqlite_web.engine).smtp_url.endswith("s3cret-pass@mail.example:587")
