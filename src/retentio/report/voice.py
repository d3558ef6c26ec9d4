"""The report's loyalty, NPS and service-case section, from the same services the dashboard uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from retentio.auth.roles import OPERATOR
from retentio.errors import NotFound
from retentio.formatting import Fmt
from retentio.i18n import tr


def voice_context(engine: Engine, lang: str, f: Fmt) -> dict[str, Any] | None:
    from retentio.services import loyalty, voice

    out: dict[str, Any] = {}
    try:
        rep = loyalty.report(engine, OPERATOR)
    except NotFound:
        rep = None
    if rep is not None:
        liab, e = rep["liability"], rep["effect"]
        effect = (tr(lang, "Effect on repurchase: not measured (no control group held out at rollout).")
                  if e["method"] == "none" else
                  tr(lang, "Repurchase within {days} days: members {m}, control {c}; difference {d} ({lo} to {hi}).",
                     days=e["horizon_days"], m=f.share(e["member_rate"], 1), c=f.share(e["control_rate"], 1),
                     d=f.pct(e["difference"] * 100), lo=f.pct(e["ci_low"] * 100), hi=f.pct(e["ci_high"] * 100)))
        out["loyalty"] = {
            "summary": tr(lang, "{name}: {members} members, {control} in the control group.", name=rep["program"]["name"],
                          members=f.num(rep["members"].get("member", 0)), control=f.num(rep["members"].get("control", 0))),
            "liability": tr(lang, "Outstanding: {available} points available, {pending} pending = {liability}.",
                            available=f.num(liab["available_points"]), pending=f.num(liab["pending_points"]),
                            liability=f.money(liab["liability"])),
            "effect": effect,
            "tiers": [(t["tier"], f.num(t["members"])) for t in rep["tiers"]["distribution"]]}
    nps = voice.report(engine, OPERATOR, "quarter")
    if nps["overall"]["n"]:
        o = nps["overall"]
        out["nps"] = {"summary": tr(lang, "NPS {nps} (95 % interval {lo} to {hi}), n = {n}; CSAT {csat} (n = {m}).",
                                    nps=f.num(o["nps"], 1), lo=f.num(o["ci_low"], 1), hi=f.num(o["ci_high"], 1),
                                    n=f.num(o["n"]), csat=f.pct(nps["csat"]["csat"]), m=f.num(nps["csat"]["n"])),
                      "rows": [(str(r["period"])[:7], f.num(r["nps"], 1), f.num(r["n"])) for r in nps["over_time"][-8:]],
                      "churn": [(r["group"], f.share(r["churn_rate"], 1), f.num(r["n"])) for r in nps["churn_after"]]}
    cases = voice.cases_report(engine, OPERATOR)
    if cases["sla"] or cases["counts"]["open"]:
        out["cases"] = {"summary": tr(lang, "{open} open cases, {overdue} overdue.", open=f.num(cases["counts"]["open"]),
                                      overdue=f.num(cases["counts"]["overdue"])),
                        "outcomes": [(g["group"], f.share(g["repurchase_rate"], 1), f.share(g["raw_rate"], 1),
                                      f.num(g["n"])) for g in cases["outcomes"]["groups"]]}
    return out or None
