"""Preview any message step of any flow for any customer, through the same code as a real run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select

from retentio.act import delivery_plan
from retentio.act.context import send_time_values
from retentio.act.flow_store import get_flow
from retentio.act.runner import RunContext
from retentio.db.models import Customer
from retentio.db.session import session_scope
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.shop import load_config

MESSAGE_STEPS = ("send", "call_list", "webhook")


def customer_id_of(engine: Engine, ref: str) -> int:
    with session_scope(engine) as s:
        cid = s.scalar(select(Customer.id).where(Customer.external_id == ref))
    if cid is None:
        raise ConfigError(Msg("no customer with number {ref!r}", ref=ref))
    return int(cid)


def preview(engine: Engine, flow_key: str, customer_ref: str, step_id: str | None = None,
            now: dt.datetime | None = None, lang: str | None = None) -> dict[str, Any]:
    sf = get_flow(engine, flow_key)
    steps = [s for s in sf.flow.steps if s.type in MESSAGE_STEPS and (step_id is None or s.id == step_id)]
    if not steps:
        raise ConfigError(Msg("flow {key} has no message step {step}", key=flow_key, step=step_id) if step_id
                          else Msg("flow {key} has no message step", key=flow_key))
    step = steps[0]
    cid = customer_id_of(engine, customer_ref)
    rc = RunContext(engine, load_config(engine), now or dt.datetime.now(dt.UTC))
    if lang:
        rc.view.loc[cid, "lang"] = lang
    cand: dict[str, Any] = {"flow_key": sf.flow.key, "flow_version": sf.version, "step_id": step.id, "step_no": 0,
            "step_type": step.type, "options": step.options, "customer_id": cid, "enrolment_id": None,
            "occurrence": "preview", "variant": "A", "purpose": sf.flow.purpose, "priority": sf.flow.priority,
            "channel": {"send": "email"}.get(step.type, step.type), "targeting": None, "status": None,
            "reason": None, "trigger": sf.flow.trigger}
    with engine.connect() as conn:
        delivery_plan.guard(conn, rc, [cand])
        would = {"status": cand["status"] or "pending", "reason": cand["reason"],
                 "not_before": cand["not_before"].isoformat()}
        cand["status"] = None  # render even when the guardrails would skip it
        delivery_plan.render_candidates(conn, rc, [cand])
    # What the message would say if it went out now (a voucher's validity counts from sending).
    values = send_time_values(cand.get("payload"), rc.now)

    def fill(text):
        for marker, value in values.items():
            text = text.replace(marker, value) if isinstance(text, str) else text
        return text

    payload = cand.get("payload")
    if isinstance(payload, dict) and "script" in payload:
        payload = {**payload, "script": fill(payload["script"])}
    return {"flow": sf.flow.key, "step": step.id, "customer": customer_ref, "channel": cand["channel"],
            "locale": cand.get("locale"), "address": cand.get("address"), "subject": fill(cand.get("subject")),
            "text": fill(cand.get("body_text")), "html": fill(cand.get("body_html")), "payload": payload,
            "would_send": would}
