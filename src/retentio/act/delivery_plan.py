"""From message candidates to outbox rows: targeting, guardrails, rendering.

Every candidate ends as exactly one outbox row: ``pending`` (to be sent, with
``not_before`` after the quiet hours) or ``skipped`` with the reason (no
consent, suppressed, no address, frequency cap, budget). Skipped rows keep the
idempotency key taken, so a later run does not reconsider the same decision,
and they are what the dry run and the audit show.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from retentio.act import context as ctxmod
from retentio.act import guardrails
from retentio.act.errors import FlowFailed
from retentio.act.recommend import load_baskets, recommend
from retentio.act.targeting import rank_by_value
from retentio.act.templates import render, render_script
from retentio.db.act_models import OutboxMessage
from retentio.db.bulk import in_chunks
from retentio.db.types import table_of
from retentio.errors import ConfigError
from retentio.refresh import json_safe

if TYPE_CHECKING:
    from retentio.act.runner import RunContext, RunReport


def insert_ignore(conn: Connection, table: Table, rows: list[dict], keys: list[str]) -> None:
    """Insert, leaving rows whose unique key already exists untouched (SQLite and PostgreSQL)."""
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for chunk in in_chunks(rows, 2000):
        conn.execute(ins(table).on_conflict_do_nothing(index_elements=keys), chunk)


def idempotency_key(c: dict) -> str:
    return f"{c['flow_key']}:{c['step_id']}:{c['customer_id']}:{c['occurrence']}"


def _skip(c: dict, reason: str) -> None:
    if c["status"] is None:
        c["status"], c["reason"] = "skipped", reason


def _target(cands: list[dict], view: pd.DataFrame) -> None:
    """Budgeted costly steps: keep the candidates with the highest expected incremental value."""
    costly = [c for c in cands if "cost" in c["options"] and c["targeting"]]
    by_flow: dict[str, list[dict]] = {}
    for c in costly:
        by_flow.setdefault(c["flow_key"], []).append(c)
    for group in by_flow.values():
        spec = group[0]["targeting"]
        frame = pd.DataFrame({"i": range(len(group)), "customer_id": [c["customer_id"] for c in group],
                              "cost": [float(c["options"]["cost"]) for c in group]})
        frame["churn_probability"] = view["churn_probability"].reindex(frame["customer_id"]).to_numpy()
        frame["clv"] = view["clv"].reindex(frame["customer_id"]).to_numpy()
        ranked = rank_by_value(frame, uplift=float(spec.get("uplift", 0.1)), budget=spec.get("budget"))
        for row in ranked.itertuples():
            group[row.i]["eiv"] = round(float(row.eiv), 2)
            if not row.selected:
                _skip(group[row.i], row.reason)


def guard(conn: Connection, rc: RunContext, cands: list[dict]) -> None:
    view, cfg = rc.view, rc.cfg
    emails = [c for c in cands if c["channel"] == "email"]
    for c in emails:
        row = view.loc[c["customer_id"]] if c["customer_id"] in view.index else None
        address = row["email"] if row is not None else None
        c["address"] = address if isinstance(address, str) and "@" in address else None
        if c["address"] is None:
            _skip(c, "no_address")
        elif c["purpose"] == "marketing" and (row is None or not bool(row["email_marketing"])):
            _skip(c, "no_consent")
    blocked = guardrails.suppressed(conn, "email", [c["address"] for c in emails if c["address"]])
    for c in emails:
        if c["address"] and c["address"].lower() in blocked:
            _skip(c, "suppressed")
    used = guardrails.recent_counts(conn, [c["customer_id"] for c in emails], rc.now, cfg.frequency_window_days)
    guardrails.apply_cap(cands, used, cfg.frequency_cap)
    for c in cands:
        quiet = c["channel"] == "email" and c["purpose"] == "marketing"
        c["not_before"] = guardrails.not_before(rc.now, rc.tz(c["customer_id"]), cfg) if quiet else rc.now


def _top_reasons(conn: Connection, run: int | None, ids: list[int]) -> dict[int, str]:
    """The main churn reason per customer, from the refresh the run's view was built from."""
    out: dict[int, str] = {}
    if run is None:
        return out
    for chunk in in_chunks(ids):
        listed = ",".join(str(int(c)) for c in chunk)
        for cid, reasons in conn.execute(text(
                f"SELECT customer_id, reasons FROM customer_predictions WHERE run_id = {int(run)} "
                f"AND customer_id IN ({listed})")):
            reasons = json.loads(reasons) if isinstance(reasons, str) else reasons
            if reasons:
                out[int(cid)] = reasons[0]["reason"]
    return out


PLAIN_EVENTS = ("first_purchase", "order_placed", "nps_answered", "case_closed")


def _event_properties(conn: Connection, cands: list[dict]) -> dict[str, dict]:
    """The triggering event's properties (a cart's items) for flows triggered by an imported event."""
    ids = sorted({int(c["occurrence"]) for c in cands if (c.get("trigger") or {}).get("type") == "event"
                  and c["trigger"].get("event") not in PLAIN_EVENTS and str(c["occurrence"]).isdigit()})
    out: dict[str, dict] = {}
    for chunk in in_chunks(ids):
        listed = ",".join(str(i) for i in chunk)
        for eid, props in conn.execute(text(f"SELECT id, properties FROM events WHERE id IN ({listed})")):
            props = json.loads(props) if isinstance(props, str) else props
            if isinstance(props, dict):
                out[str(eid)] = props
    return out


def render_candidates(conn: Connection, rc: RunContext, cands: list[dict]) -> None:
    live = [c for c in cands if c["status"] is None]
    if not live:
        return
    ids = sorted({c["customer_id"] for c in live})
    products = ctxmod.last_products(conn, ids, rc.now)
    # Co-purchase recommendations cost one engine query per run: only when a step asks for them.
    wants_recs = any(c["options"].get("recommendations") for c in live)
    recs = recommend(load_baskets(rc.engine), ids) if wants_recs else {}
    reasons = _top_reasons(conn, rc.run_id, ids)
    events = _event_properties(conn, live)
    vouchers = ctxmod.open_vouchers(conn, ids, rc.now)
    clv = rc.view["clv"].dropna()
    reference = float(np.quantile(clv, 0.9)) if len(clv) else 0.0
    secret = rc.secret
    for c in live:
        cid = c["customer_id"]
        c["locale"], c["key"] = rc.view.at[cid, "lang"], idempotency_key(c)
        survey_link = _survey(conn, rc, c) if c["options"].get("survey") else None
        if c["options"].get("survey") and survey_link is None:
            continue  # not asked: skipped with the throttling's reason
        row = rc.view.loc[cid].copy()
        row["top_reason"] = reasons.get(cid)
        lang = row["lang"]
        c["locale"], c["key"] = lang, idempotency_key(c)
        try:
            _render_one(c, row, lang, rc, products.get(cid, []), recs.get(cid, []), reference, secret,
                        events.get(str(c["occurrence"])), survey_link, vouchers.get(cid, []))
        except ConfigError as exc:  # a broken template fails its flow, not the run
            raise FlowFailed(c["flow_key"], exc.msg) from None


def _survey(conn: Connection, rc: RunContext, c: dict) -> str | None:
    """Ask through the survey throttling (docs/surveys.md); the link of the invitation, or None with the
    candidate skipped and the reason recorded."""
    from retentio.act.links import survey_url
    from retentio.voice.surveys import decide

    d = decide(conn, c["options"]["survey"], c["customer_id"], rc.now, c["key"],
               min_gap_days=rc.cfg.survey_min_gap_days)
    if not d.asked or d.invitation_id is None:
        c["status"], c["reason"] = "skipped", f"survey_{d.reason}"
        return None
    return survey_url(None, c["customer_id"], d.invitation_id, base=rc.cfg.public_url, secret=rc.secret)


def _render_one(c: dict, row, lang: str, rc: RunContext, products: list[str], recs: list[str], reference: float,
                secret: str, event: dict | None, survey_link: str | None = None,
                vouchers: list[dict] | None = None) -> None:
    ctx = ctxmod.build(row, lang, rc.cfg, products=products, recs=recs, key=c["key"], step=c["options"],
                       clv_reference=reference, now=rc.now, secret=secret, purpose=c["purpose"], event=event,
                       extra={"occurrence": c["occurrence"], "vouchers": vouchers or [],
                              "purchase_number": (c.get("trigger") or {}).get("n")
                              if (c.get("trigger") or {}).get("event") == "nth_purchase" else None,
                              "occasion": (c["options"].get("occasion") or {}).get(lang, "")})
    if survey_link:
        ctx["links"]["feedback"] = survey_link
    c["voucher"] = ctx["voucher"]
    # The code and percentage travel with the message: the worker issues the real voucher when it goes out.
    send_time = {"voucher": {"valid_days": ctx["voucher"]["valid_days"], "lang": lang, "code": ctx["voucher"]["code"],
                             "percent": ctx["voucher"]["percent"]}} if ctx["voucher"] else {}
    if c["channel"] == "email":
        r = render(c["options"]["template"], lang, ctx)
        c["subject"], c["body_text"], c["body_html"] = r.subject, r.text, r.html
        c["payload"] = {"unsubscribe_url": ctx["links"]["unsubscribe"], **send_time}
    elif c["channel"] == "call_list":
        c["address"] = c["options"].get("list", c["flow_key"])
        c["payload"] = {"script": render_script(c["options"]["template"], lang, ctx),
                        "customer": ctx["customer"], "value": ctx["value"], "numbers": ctx["numbers"],
                        "last_products": ctx["last_products"], "open_cases": ctx["open_cases"],
                        "voucher": {**(ctx["voucher"] or {}), **send_time.get("voucher", {})} or None,
                        "eiv": c.get("eiv")}
    elif c["channel"] == "webhook":
        c["address"] = c["options"]["url"]
        c["payload"] = {"event": c["options"].get("event", c["flow_key"]), "flow": c["flow_key"],
                        "step": c["step_id"], "customer": row["external_id"], "occurrence": c["occurrence"],
                        "variant": c["variant"], "lifecycle": row.get("lifecycle"),
                        "churn_probability": _float(row.get("churn_probability")), "clv": _float(row.get("clv"))}


def _float(v) -> float | None:
    return None if v is None or v != v else float(v)


def plan(conn: Connection, rc: RunContext, cands: list[dict], report: RunReport) -> None:
    _target(cands, rc.view)
    guard(conn, rc, cands)
    render_candidates(conn, rc, cands)
    rows: list[dict[str, Any]] = []
    for c in cands:
        c.setdefault("key", idempotency_key(c))
        status = c["status"] or "pending"
        rows.append({"idempotency_key": c["key"], "flow_key": c["flow_key"], "step_id": c["step_id"],
                     "enrolment_id": c["enrolment_id"], "customer_id": c["customer_id"], "channel": c["channel"],
                     "purpose": c["purpose"], "priority": c["priority"], "address": c.get("address"),
                     "locale": c.get("locale"), "subject": c.get("subject"), "body_text": c.get("body_text"),
                     "body_html": c.get("body_html"), "payload": json_safe(c.get("payload")), "status": status,
                     "reason": c["reason"], "attempts": 0, "recoveries": 0, "not_before": c["not_before"],
                     "created_at": rc.now})
        report.flows[c["flow_key"]]["queued" if status == "pending" else f"skipped_{c['reason']}".split(" ")[0]] += 1
        report.actions.append({"flow": c["flow_key"], "step": c["step_id"], "customer_id": c["customer_id"],
                               "external_id": rc.view.at[c["customer_id"], "external_id"]
                               if c["customer_id"] in rc.view.index else None,
                               "channel": c["channel"], "variant": c["variant"], "status": status,
                               "reason": c["reason"], "not_before": c["not_before"].isoformat(),
                               "subject": c.get("subject"), "locale": c.get("locale"), "eiv": c.get("eiv"),
                               "at": rc.now.isoformat()})
    if rows:
        insert_ignore(conn, table_of(OutboxMessage), rows, ["idempotency_key"])

