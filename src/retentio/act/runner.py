"""Running the flows once: enrol who triggered, move due enrolments along, write the outbox.

One run is one database transaction: new enrolments, step moves and outbox
rows are committed together or not at all, so a crash mid-run leaves nothing
half-done and the next run repeats the work without duplicates (enrolments
are unique per flow, customer and occurrence; outbox rows per idempotency
key). A dry run is the same run rolled back, so it shows exactly what would
happen and why; a replay is a dry run stepping day by day through a past
period.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from retentio.act import delivery_plan, triggers
from retentio.act.errors import FlowFailed
from retentio.act.flow_model import Flow
from retentio.act.flow_store import StoredFlow, load_flows
from retentio.act.links import link_secret
from retentio.act.segments import members, resolver
from retentio.act.variants import assign
from retentio.act.view import load_view, to_engine, view_frame
from retentio.db.act_models import Enrolment, FlowDef
from retentio.db.bulk import in_chunks
from retentio.db.models import Order
from retentio.db.types import table_of
from retentio.errors import ConfigError
from retentio.results import latest_run
from retentio.shop import ShopConfig, load_config

MAX_MOVES = 50  # steps one enrolment may take in one run without a wait (guards against branch loops)


@dataclass
class RunReport:
    now: dt.datetime
    dry_run: bool
    flows: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    actions: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[str, Any] = field(default_factory=dict)  # flow key -> why (a message), left out of the run

    def as_dict(self) -> dict[str, Any]:
        from retentio.i18n import message_text

        return {"now": self.now.isoformat(), "dry_run": self.dry_run,
                "flows": {k: dict(v) for k, v in self.flows.items()}, "actions": self.actions,
                "failed": {k: message_text(v) for k, v in self.failed.items()}}


class RunContext:
    """The customer view and condition results of one run, shared by all flows."""

    def __init__(self, engine: Engine, cfg: ShopConfig, now: dt.datetime) -> None:
        self.engine, self.cfg, self.now = engine, cfg, now
        run = latest_run(engine, required=False)
        self.run_id = run.id if run is not None else None  # the refresh whose scores the view carries
        table = load_view(engine, now, run_id=self.run_id, require_double_opt_in=cfg.require_double_opt_in)
        self.view = view_frame(table)
        self.view_t = to_engine(table)
        self.resolve = resolver(engine)
        self._members: dict[str, set[int]] = {}
        # Read (or created) before the run's transaction: creating it inside would wait on our own lock.
        self.secret = link_secret(engine)

    def members(self, cond: dict | None) -> set[int]:
        key = repr(cond)
        if key not in self._members:
            ids = members(self.view_t, cond, self.resolve).column("customer_id").to_pylist()
            self._members[key] = set(ids)
        return self._members[key]

    def tz(self, customer_id: int) -> str:
        tz = self.view.at[customer_id, "time_zone"] if customer_id in self.view.index else None
        return tz if isinstance(tz, str) and tz else self.cfg.time_zone


def _lookback(flow: Flow) -> dt.timedelta:
    return dt.timedelta(days=float(flow.trigger.get("lookback_days", 7)))


def enrol(conn: Connection, rc: RunContext, sf: StoredFlow, since: dt.datetime, report: RunReport) -> None:
    flow, now = sf.flow, rc.now
    try:
        hits = triggers.find(rc.engine, flow.trigger, since, now, rc.view,
                             lambda tr: rc.members(triggers.state_condition(tr)), rc.cfg.time_zone)
        if flow.audience and not hits.empty:
            hits = hits[hits["customer_id"].isin(rc.members(flow.audience))]
    except ConfigError as exc:
        raise FlowFailed(flow.key, exc.msg) from None
    if hits.empty:
        return
    # One new enrolment per customer and run: the latest occurrence.
    hits = hits.sort_values(["occurred_at", "occurrence"], kind="stable").drop_duplicates("customer_id", keep="last")
    ids = [int(c) for c in hits["customer_id"]]
    prior = pd.DataFrame(_existing(conn, flow.key, ids), columns=["customer_id", "occurrence", "status", "entered_at"])
    block: set[int] = set(prior.loc[prior["status"] == "active", "customer_id"])
    policy = flow.reentry.get("policy", "per_occurrence")
    if policy == "once":
        block |= set(prior["customer_id"])
    elif policy == "after_days":
        recent = prior["entered_at"] > now - dt.timedelta(days=float(flow.reentry.get("days", 30)))
        block |= set(prior.loc[recent, "customer_id"])
    seen = set(zip(prior["customer_id"], prior["occurrence"], strict=True))
    rows = []
    for cid, occ in zip(ids, hits["occurrence"], strict=True):
        if cid in block or (cid, occ) in seen:
            continue
        variant = assign(flow.key, cid, flow.control_share, flow.variants)
        rows.append({"flow_key": flow.key, "flow_version": sf.version, "customer_id": cid, "occurrence": occ,
                     "variant": variant, "status": "control" if variant == "control" else "active", "step": 0,
                     "entered_at": now, "next_run_at": now})
    if rows:
        delivery_plan.insert_ignore(conn, table_of(Enrolment), rows, ["flow_key", "customer_id", "occurrence"])
    counts = Counter(r["variant"] == "control" for r in rows)
    report.flows[flow.key]["entered"] += counts[False]
    report.flows[flow.key]["control"] += counts[True]


def _existing(conn: Connection, key: str, ids: list[int]) -> list[tuple]:
    out: list[tuple] = []
    for chunk in in_chunks(ids):
        out += conn.execute(select(Enrolment.customer_id, Enrolment.occurrence, Enrolment.status,
                                   Enrolment.entered_at).where(Enrolment.flow_key == key,
                                                               Enrolment.customer_id.in_(chunk))).all()
    return out


def _purchased_since(conn: Connection, due: Sequence[Any], now: dt.datetime) -> set[int]:
    """Enrolment ids whose customer placed an order after entering."""
    last: dict[int, dt.datetime] = {}
    for chunk in in_chunks(sorted({e.customer_id for e in due})):
        for cid, t in conn.execute(select(Order.customer_id, func.max(Order.placed_at)).where(
                Order.customer_id.in_(chunk), Order.status == "placed", Order.placed_at <= now)
                .group_by(Order.customer_id)):
            if cid is not None:
                last[int(cid)] = _aware(t)
    return {e.id for e in due if e.customer_id in last and last[e.customer_id] > e.entered_at}


def _aware(t) -> dt.datetime:
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def wait_until(step: dict, now: dt.datetime, tz: str) -> dt.datetime:
    until = now + dt.timedelta(days=float(step.get("days", 0)), hours=float(step.get("hours", 0)),
                               minutes=float(step.get("minutes", 0)))
    if "at" in step:
        zone = zoneinfo.ZoneInfo(tz)
        local = until.astimezone(zone)
        at = dt.time.fromisoformat(step["at"])
        target = dt.datetime.combine(local.date(), at, zone)
        if target < local:
            target = dt.datetime.combine(local.date() + dt.timedelta(days=1), at, zone)
        until = target.astimezone(dt.UTC)
    return until


def advance(conn: Connection, rc: RunContext, flows: dict[str, StoredFlow], report: RunReport) -> list[dict]:
    """Move every due enrolment until it waits or ends; returns the message candidates."""
    now = rc.now
    table = table_of(Enrolment)
    due = conn.execute(select(table).where(
        table.c.status == "active", table.c.next_run_at <= now, table.c.flow_key.in_(list(flows)))
        .order_by(table.c.id)).all() if flows else []
    bought = _purchased_since(conn, due, now)
    candidates: list[dict] = []
    moved: list[dict[str, Any]] = []  # written in one executemany at the end, not one UPDATE per enrolment

    def finish(e, status: str, reason: str | None, step: int) -> None:
        moved.append({"eid": e.id, "new_step": step, "new_next": None, "new_status": status, "new_reason": reason,
                      "new_finished": now})

    for e in due:
        flow = flows[e.flow_key].flow
        try:
            _move(e, flow, rc, report, bought, candidates, moved, finish, now)
        except ConfigError as exc:  # a condition of this flow cannot be evaluated
            raise FlowFailed(flow.key, exc.msg) from None
    if moved:
        conn.execute(update(table).where(table.c.id == bindparam("eid")).values(
            step=bindparam("new_step"), next_run_at=bindparam("new_next"), status=bindparam("new_status"),
            exit_reason=bindparam("new_reason"), finished_at=bindparam("new_finished")), moved)
    return candidates


def _move(e, flow: Flow, rc: RunContext, report: RunReport, bought: set[int], candidates: list[dict],
          moved: list[dict[str, Any]], finish, now: dt.datetime) -> None:
    """One due enrolment: its steps until it waits or ends."""
    counter = report.flows[flow.key]
    exit_rule = flow.exit or {}
    if exit_rule.get("on_purchase") and e.id in bought:
        finish(e, "exited", "purchased", e.step)
        counter["exited_purchase"] += 1
        return
    if exit_rule.get("condition") and e.customer_id in rc.members(exit_rule["condition"]):
        finish(e, "exited", "condition", e.step)
        counter["exited_condition"] += 1
        return
    idx, moves, waiting = e.step, 0, None
    while idx < len(flow.steps) and moves < MAX_MOVES:
        moves += 1
        step = flow.steps[idx]
        opts = step.options
        if step.type == "wait":
            waiting = wait_until(opts, now, rc.tz(e.customer_id))
            idx += 1
            break
        if step.type == "exit":
            idx = len(flow.steps)
            break
        if step.type == "branch":
            hit = e.customer_id in rc.members(opts["if"])
            target = opts.get("then") if hit else opts.get("else")
            idx = flow.step_index(target) if target else idx + 1
            continue
        if step.type == "split":
            target = opts["branches"].get(e.variant)
            idx = flow.step_index(target) if target else idx + 1
            continue
        candidates.append({
            "flow_key": flow.key, "flow_version": e.flow_version, "step_id": step.id, "step_no": idx,
            "step_type": step.type, "options": opts, "customer_id": e.customer_id, "enrolment_id": e.id,
            "occurrence": e.occurrence, "variant": e.variant, "purpose": flow.purpose,
            "priority": flow.priority, "channel": {"send": "email"}.get(step.type, step.type),
            "targeting": flow.targeting, "trigger": flow.trigger, "status": None, "reason": None})
        idx += 1
    if waiting is not None and idx <= len(flow.steps):
        moved.append({"eid": e.id, "new_step": idx, "new_next": waiting, "new_status": "active",
                      "new_reason": None, "new_finished": None})
    else:
        finish(e, "done", None, idx)
        counter["completed"] += 1


def _run(conn: Connection, rc: RunContext, flows: list[StoredFlow], report: RunReport,
         since: dt.datetime | None = None) -> None:
    for sf in flows:
        start = since or (sf.last_run_at if sf.last_run_at else rc.now - _lookback(sf.flow))
        enrol(conn, rc, sf, min(start, rc.now), report)
        conn.execute(update(FlowDef).where(FlowDef.key == sf.flow.key).values(last_run_at=rc.now))
    candidates = advance(conn, rc, {sf.flow.key: sf for sf in flows}, report)
    delivery_plan.plan(conn, rc, candidates, report)


def _isolated(engine: Engine, flows: list[StoredFlow], work, *, keep: bool) -> dict[str, Any]:
    """Run ``work(conn, flows)`` in one transaction; a flow that fails is left out and the run repeated
    without it (nothing of it stays), so one broken flow never stops the others."""
    failed: dict[str, Any] = {}
    while True:
        usable = [sf for sf in flows if sf.flow.key not in failed]
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                work(conn, usable)
            except FlowFailed as exc:
                trans.rollback()
                failed[exc.flow_key] = exc.why.to_json()
                continue
            except BaseException:
                trans.rollback()
                raise
            if keep:
                trans.commit()
            else:
                trans.rollback()
        return failed


def run_flows(engine: Engine, now: dt.datetime | None = None, *, keys: list[str] | None = None,
              dry_run: bool = False) -> RunReport:
    """One run of the enabled flows (or of ``keys``, enabled or not, when given)."""
    now = now or dt.datetime.now(dt.UTC)
    flows = [sf for sf in load_flows(engine) if (sf.flow.key in keys if keys else sf.enabled)]
    rc = RunContext(engine, load_config(engine), now)
    holder = {"report": RunReport(now, dry_run)}

    def work(conn: Connection, usable: list[StoredFlow]) -> None:
        holder["report"] = RunReport(now, dry_run)
        _run(conn, rc, usable, holder["report"])

    failed = _isolated(engine, flows, work, keep=not dry_run)
    report = holder["report"]
    report.failed = failed
    return report


def replay(engine: Engine, start: dt.datetime, end: dt.datetime, *, keys: list[str] | None = None,
           step: dt.timedelta = dt.timedelta(days=1)) -> RunReport:
    """What the flows would have done, run by run, over a past period; nothing is kept."""
    flows = [sf for sf in load_flows(engine) if (sf.flow.key in keys if keys else sf.enabled)]
    cfg = load_config(engine)
    holder = {"report": RunReport(end, True)}

    def work(conn: Connection, usable: list[StoredFlow]) -> None:
        holder["report"] = RunReport(end, True)
        t = start
        while t < end:
            nxt = min(t + step, end)
            _run(conn, RunContext(engine, cfg, nxt), usable, holder["report"], since=t)
            t = nxt

    failed = _isolated(engine, flows, work, keep=False)
    holder["report"].failed = failed
    return holder["report"]
