"""The demo's flows: the built-in library switched on and run over the shop's last weeks.

Runs once a day at 09:00 UTC (a daily cron job) from ``days`` before the data's
end, so waits, quiet hours and caps behave as in production; the worker then "sends"
the email into a folder of ``.eml`` files that any mail program opens. The
demo's customers never received these messages, so the effect report is an
A/A check: it must not find a lift.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from retentio.act.flow_store import load_flows, set_enabled
from retentio.act.runner import run_flows
from retentio.act.worker import Worker, make_channels
from retentio.results import latest_run
from retentio.shop import load_config


def run_demo_flows(engine: Engine, mail_dir: Path, days: int = 28) -> dict:
    for sf in load_flows(engine):
        set_enabled(engine, sf.flow.key, True)
    end = latest_run(engine).as_of
    start = (end - dt.timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
    cfg = load_config(engine)
    # The worker's clock steps through the weeks (quiet hours, caps); what a message promises (a voucher's
    # last day) counts from when its .eml file is actually written.
    w = Worker(engine, make_channels(f"file://{mail_dir}", cfg.sender_email, cfg.sender_name or cfg.name, 0,
                                     "demo-webhook-secret-not-used-by-any-flow"),
               require_double_opt_in=cfg.require_double_opt_in)
    t, queued = start, 0
    while t <= end:
        report = run_flows(engine, t)
        queued += sum(c.get("queued", 0) for c in report.flows.values())
        w.run(clock=lambda t=t: t)
        t += dt.timedelta(days=1)
    return {"queued": queued, **dict(w.stats), "from": start, "to": end}
