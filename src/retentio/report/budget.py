"""The report's budget section: the guides' split beside the shop's own evidence (docs/budget.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from retentio.auth.roles import OPERATOR
from retentio.formatting import Fmt
from retentio.i18n import tr


def budget_context(engine: Engine, lang: str, f: Fmt) -> dict[str, Any] | None:
    from retentio.services import planning

    b = planning.budget(engine, OPERATOR)
    r, g = b["rule"], b["retention_gain"]
    if not r["sales"]["orders"]:
        return None
    out = {"rule": tr(lang, "Rule of the guides: {a} % acquisition, {r} % retention, for {n} sales a day over the "
                            "last {days} days.", a=r["acquisition"], r=r["retention"],
                      n=f.num(r["sales"]["per_day"], 1), days=f.num(r["sales"]["days"])),
           "gain": None, "flows": []}
    if g:
        out["gain"] = tr(lang, "+{p} points of retention are worth {profit} in expected margin (80 % interval {lo} "
                               "to {hi}), {rel} of what the customer base is expected to bring.",
                         p=f.num(g["points"]), profit=f.money(g["profit"]), lo=f.money(g["low"]),
                         hi=f.money(g["high"]), rel=f.share(g["relative"], 1))
    out["flows"] = [(x["flow"], f.num(x["treated"]), f.pct(x["uplift_pp"]) if x["uplift_pp"] is not None else "–",
                     f.money(x["cost_per_retained"]) if x["cost_per_retained"] is not None else "–")
                    for x in b["flows"]]
    out["sources"] = tr(lang, "Reichheld and Sasser (1990) found 25 to 85 % more profit for five points fewer "
                              "defections in the service businesses they studied; Carroll (1991) warned that such "
                              "figures do not carry over to every business. Enter your acquisition cost on the "
                              "budget page for a split by payback.")
    return out
