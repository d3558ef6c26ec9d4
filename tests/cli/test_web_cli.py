"""`retentio users …` and `retentio api-keys …`: the web app's accounts from the shell."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from retentio.cli import app

runner = CliRunner()


def run(db, *args, stdin: str | None = None):
    return runner.invoke(app, ["--db", str(db), "--lang", "en", *args], input=stdin)


def test_users_lifecycle(tmp_path):
    db = tmp_path / "shop.db"
    r = run(db, "users", "add", "Anna@Shop.example", "--role", "admin", "--password-stdin",
            stdin="a long enough secret\n")
    assert r.exit_code == 0 and "anna@shop.example" in r.output
    assert run(db, "users", "add", "bob@shop.example", "--role", "analyst", "--password-stdin",
               stdin="another long secret\n").exit_code == 0
    listed = json.loads(run(db, "users", "list", "--format", "json").output)
    assert [u["email"] for u in listed] == ["anna@shop.example", "bob@shop.example"]
    assert "password" not in json.dumps(listed)
    assert run(db, "users", "set-role", "bob@shop.example", "marketer").exit_code == 0
    bad = run(db, "users", "add", "carl@shop.example", "--role", "owner", "--password-stdin", stdin="x" * 12 + "\n")
    assert bad.exit_code != 0 and "role must be one of" in str(bad.exception)
    short = run(db, "users", "add", "carl@shop.example", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in str(short.exception)
    last = run(db, "users", "remove", "anna@shop.example")
    assert last.exit_code != 0 and "last admin" in str(last.exception)
    assert run(db, "users", "remove", "bob@shop.example").exit_code == 0


def test_api_keys_are_printed_once(tmp_path):
    db = tmp_path / "shop.db"
    r = run(db, "api-keys", "create", "--name", "shop sync", "--role", "ingest")
    assert r.exit_code == 0
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("rtk_")
    listed = run(db, "api-keys", "list", "--format", "json").output
    assert key not in listed and key[:12] in listed
    assert run(db, "api-keys", "revoke", "shop sync").exit_code == 0
    assert json.loads(run(db, "api-keys", "list", "--format", "json").output)[0]["active"] is False


def test_config_show_masks_secrets(tmp_path):
    db = tmp_path / "shop.db"
    assert run(db, "config", "set", "smtp_url", "smtp://mailer:hunter2hunter2@mail.example:587").exit_code == 0
    assert run(db, "config", "set", "shopify_webhook_secret", "shpss_abcdef123456").exit_code == 0
    shown = run(db, "config", "show", "--format", "json").output
    assert "hunter2" not in shown and "shpss_abcdef" not in shown and "mailer:***@mail.example" in shown
