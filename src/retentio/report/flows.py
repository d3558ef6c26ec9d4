"""The report's flows section: what the flows sent and whether it helped (treatment vs control)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from retentio.act.effect import effect_report
from retentio.formatting import Fmt
from retentio.i18n import tr
from retentio.labels import label


def flows_context(engine: Engine, lang: str, f: Fmt) -> dict[str, Any] | None:
    with engine.connect() as conn:
        counts = conn.execute(text(
            "SELECT status, COALESCE(reason, ''), COUNT(*) FROM outbox GROUP BY status, reason")).all()
        names = dict(conn.execute(text("SELECT key, version FROM flows WHERE enabled")).all())
    if not counts:
        return None
    from retentio.act.flow_store import load_flows

    title = {sf.flow.key: sf.flow.name.get(lang, sf.flow.key) for sf in load_flows(engine)}
    sent = sum(n for s, _, n in counts if s == "sent")
    skipped = {r.split(" ")[0]: n for s, r, n in counts if s == "skipped"}
    rows = []
    for c in effect_report(engine):
        ci = "–" if c.uplift_low_pp is None or c.uplift_low_pp != c.uplift_low_pp else \
            f"[{f.num(c.uplift_low_pp, 1)}; {f.num(c.uplift_high_pp, 1)}]"
        rows.append({"flow": title.get(c.flow, c.flow), "variant": c.variant, "treated": f.num(c.treated),
                     "control": f.num(c.control), "sent": f.num(c.messages_sent),
                     "conv_t": f.pct(100 * c.conv_treated) if c.treated else "–",
                     "conv_c": f.pct(100 * c.conv_control) if c.control else "–",
                     "uplift": "–" if c.uplift_pp != c.uplift_pp else f"{f.num(c.uplift_pp, 1)} pp {ci}",
                     "revenue": f.money(c.revenue_diff) if c.revenue_diff == c.revenue_diff else "–",
                     "verdict": label("verdict_short", c.verdict, lang), "good": c.verdict == "lift",
                     "bad": c.verdict == "harm"})
    reasons = ", ".join(f"{label('skip', k, lang)} {f.num(v)}" for k, v in sorted(skipped.items(), key=lambda x: -x[1]))
    return {"rows": rows, "summary": tr(lang, "{n} flows on · {sent} messages sent · {skipped} not sent ({reasons})",
                                        n=len(names), sent=f.num(sent), skipped=f.num(sum(skipped.values())),
                                        reasons=reasons or "–")}
