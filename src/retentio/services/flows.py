"""Flows: the library with status, switches and settings, the steps as a diagram, preview, test send,
the effect report and the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, text

from retentio.auth.roles import Principal, require
from retentio.errors import ConfigError, NotFound, RetentioError
from retentio.i18n import Msg
from retentio.services.common import check_limit, decode_cursor, encode_cursor, plain

OUTBOX_STATUSES = ("pending", "claimed", "sending", "sent", "in_doubt", "failed", "skipped")
# What the settings form may change, with its checks: a typed value, or an error naming the setting.
SETTINGS = {
    "control_share": (float, 0.0, 0.9),
    "priority": (int, 0, 1000),
    "targeting.budget": (float, 0.0, 10_000_000.0),
}


def _stored(engine: Engine, key: str):
    from retentio.act import flow_store

    try:
        return flow_store.get_flow(engine, key)
    except ConfigError as exc:
        raise NotFound(exc.msg) from None


def _counts(engine: Engine) -> dict[str, dict[str, int]]:
    with engine.connect() as conn:
        return {q: {k: int(v) for k, v in conn.execute(text(sql)).all()} for q, sql in {
            "active": "SELECT flow_key, COUNT(*) FROM flow_enrolments WHERE status = 'active' GROUP BY flow_key",
            "sent": "SELECT flow_key, COUNT(*) FROM outbox WHERE status = 'sent' GROUP BY flow_key",
            "queued": "SELECT flow_key, COUNT(*) FROM outbox WHERE status IN ('pending', 'claimed', 'sending') "
                      "GROUP BY flow_key"}.items()}


def _summary(sf, lang: str, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    f = sf.flow
    return {"key": f.key, "name": f.name.get(lang) or f.name.get("en") or f.key,
            "description": f.description.get(lang) or f.description.get("en") or "", "enabled": sf.enabled,
            "version": sf.version, "builtin": sf.builtin, "priority": f.priority, "purpose": f.purpose,
            "control_share": f.control_share, "budget": (f.targeting or {}).get("budget"),
            "trigger": f.trigger, "last_run_at": plain(sf.last_run_at),
            **{k: v.get(f.key, 0) for k, v in counts.items()}}


def list_flows(engine: Engine, actor: Principal, lang: str = "en") -> list[dict[str, Any]]:
    from retentio.act import flow_store

    require(actor, "flows:read")
    flow_store.install_builtins(engine)
    counts = _counts(engine)
    return [_summary(sf, lang, counts) for sf in flow_store.load_flows(engine)]


def diagram(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Boxes in one column and the ways between them: next, branch (then/else), split, exit."""
    ids = [s["id"] for s in steps]
    nodes, edges = [], []
    for i, s in enumerate(steps):
        nodes.append({"id": s["id"], "type": s["type"], "row": i,
                      "detail": {k: v for k, v in s.items() if k not in ("id", "type")}})
        nxt = ids[i + 1] if i + 1 < len(ids) else None
        if s["type"] == "exit":
            continue
        if s["type"] == "branch":
            then = s.get("then") or nxt
            if then:
                edges.append({"from": s["id"], "to": then, "label": "then"})
            if s.get("else"):
                edges.append({"from": s["id"], "to": s["else"], "label": "else"})
            continue
        if s["type"] == "split":
            for name, target in (s.get("branches") or {}).items():
                edges.append({"from": s["id"], "to": target, "label": str(name)})
            continue
        if nxt:
            edges.append({"from": s["id"], "to": nxt, "label": ""})
    for e in edges:
        e["jump"] = ids.index(e["to"]) - ids.index(e["from"]) if e["to"] in ids else 0
    return {"nodes": nodes, "edges": edges}


def get_flow(engine: Engine, actor: Principal, key: str, lang: str = "en") -> dict[str, Any]:
    require(actor, "flows:read")
    sf = _stored(engine, key)
    definition = sf.flow.to_dict()
    return plain({**_summary(sf, lang, _counts(engine)), "definition": definition,
                  "diagram": diagram(definition["steps"]),
                  "message_steps": [s["id"] for s in definition["steps"] if s["type"] in ("send", "call_list",
                                                                                          "webhook")]})


def set_enabled(engine: Engine, actor: Principal, key: str, enabled: bool) -> dict[str, Any]:
    from retentio.act import flow_store

    require(actor, "flows:write")
    _stored(engine, key)
    flow_store.set_enabled(engine, key, bool(enabled))
    return {"key": key, "enabled": bool(enabled)}


def update_settings(engine: Engine, actor: Principal, key: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change control share, priority or budget; each change is a new version of the flow."""
    from retentio.act import flow_store

    require(actor, "flows:write")
    _stored(engine, key)
    version = None
    for path, raw in changes.items():
        if path not in SETTINGS:
            raise ConfigError(Msg("unknown flow setting {key!r}; settings: {names}", key=path,
                                  names=", ".join(SETTINGS)))
        kind, low, high = SETTINGS[path]
        try:
            value = kind(raw) if raw is not None and raw != "" else None
        except (TypeError, ValueError):
            raise ConfigError(Msg("invalid value {value!r} for {key}", value=str(raw)[:40], key=path)) from None
        if value is None and path != "targeting.budget":
            raise ConfigError(Msg("invalid value {value!r} for {key}", value="", key=path))
        if value is not None and not low <= value <= high:
            raise ConfigError(Msg("{key} must lie between {low} and {high}", key=path, low=low, high=high))
        version = flow_store.tune(engine, key, path, value)
    return {"key": key, "version": version}


def preview(engine: Engine, actor: Principal, key: str, customer: str, step: str | None = None,
            lang: str | None = None) -> dict[str, Any]:
    """The message for one customer, rendered by the run's own code, and whether it would go out now."""
    from retentio.act.preview import preview as render

    require(actor, "flows:write")
    _stored(engine, key)
    try:
        return plain(render(engine, key, customer, step, lang=lang))
    except ConfigError as exc:
        if "no customer" in exc.msg.msgid:
            raise NotFound(exc.msg) from None
        raise


def test_send(engine: Engine, actor: Principal, key: str, customer: str, address: str, step: str | None = None,
              ) -> dict[str, Any]:
    """Send the previewed message once to ``address`` (marked as a test), outside the outbox, caps and
    effect statistics."""
    from email_validator import EmailNotValidError, validate_email

    from retentio.act.channels import Outgoing
    from retentio.services.settings import email_channel

    require(actor, "flows:send_test")
    try:
        address = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ConfigError(Msg("not a valid e-mail address: {value!r}", value=address[:80])) from None
    p = preview(engine, actor, key, customer, step)
    if p["channel"] != "email":
        raise ConfigError(Msg("only e-mail steps can be sent as a test"))
    channel = email_channel(engine)
    now = dt.datetime.now(dt.UTC)
    result = channel.send(Outgoing(id=0, key=f"test:{key}:{customer}:{now.timestamp():.0f}", channel="email",
                                   customer_id=None, address=address, purpose="transactional",
                                   subject=f"[Test] {p['subject'] or ''}", body_text=p["text"], body_html=p["html"],
                                   locale=p["locale"], flow_key=key))
    if not result.ok:
        raise RetentioError(Msg("the test message was not sent: {error}", error=(result.error or "")[:200]))
    return {"sent": True, "address": address, "message_id": result.message_id}


def effect(engine: Engine, actor: Principal, key: str | None = None) -> list[dict[str, Any]]:
    from retentio.act.effect import effect_report

    require(actor, "flows:read")
    if key:
        _stored(engine, key)
    return [plain(c.as_dict()) for c in effect_report(engine, None, key)]


def outbox(engine: Engine, actor: Principal, *, status: str | None = None, flow: str | None = None,
           limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
    """Messages newest first, with their status and why they were not sent or failed."""
    require(actor, "customers:read")
    if status and status not in OUTBOX_STATUSES:
        raise ConfigError(Msg("status must be one of {allowed}, not {value!r}", allowed=", ".join(OUTBOX_STATUSES),
                              value=status))
    limit = check_limit(limit)
    before = decode_cursor(cursor).get("before")
    where: list[str] = []
    params: dict[str, Any] = {"n": limit + 1}
    if status:
        where.append("o.status = :s")
        params["s"] = status
    if flow:
        where.append("o.flow_key = :f")
        params["f"] = flow
    if before is not None:
        where.append("o.id < :b")
        params["b"] = int(before)
    sql = ("SELECT o.id, o.flow_key AS flow, o.step_id AS step, o.channel, o.purpose, o.status, o.reason, "
           "o.attempts, o.recoveries AS in_doubt, o.subject, o.not_before, o.sent_at, o.created_at, o.last_error, "
           "c.external_id AS customer FROM outbox o LEFT JOIN customers c ON c.id = o.customer_id "
           + ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY o.id DESC LIMIT :n")
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(sql), params)]
        totals = {k: int(v) for k, v in conn.execute(text("SELECT status, COUNT(*) FROM outbox GROUP BY status"))}
    more = len(rows) > limit
    rows = rows[:limit]
    return {"messages": plain(rows), "totals": totals,
            "next_cursor": encode_cursor({"before": rows[-1]["id"]}) if more and rows else None}
