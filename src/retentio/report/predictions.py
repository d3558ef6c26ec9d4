"""The report's predictions section: backtest plots, model table, churn model, value at risk."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from retentio import results
from retentio.i18n import Fmt, t
from retentio.report import charts

TOP_AT_RISK = 10


def _l(key: str, lang: str, **kw) -> str:
    return t(f"report_{key}", lang, **kw)


def prediction_context(engine: Engine, run, lang: str, f: Fmt) -> dict[str, Any] | None:
    info = (run.summary or {}).get("predictions")
    if not info:
        return None
    bt, chosen = info["backtest"], info["chosen"]
    out: dict[str, Any] = {"fallback": None, "models": [], "tracking_svg": "", "condexp_svg": "",
                           "calibration_svg": "", "churn_text": "", "contracts_text": "", "at_risk": []}
    if chosen["model"] == "rules":
        out["fallback"] = t("fallback_rules", lang, why=chosen.get("reason"))
    fitted = {k: m for k, m in bt.get("models", {}).items() if "holdout" in m}
    for key, m in bt.get("models", {}).items():
        row = {"name": m["name"], "best": key == bt.get("best")}
        if "holdout" in m:
            h = m["holdout"]
            row.update(params=", ".join(f"{k} = {f.num(v, 3)} ± {f.num(m['se'].get(k), 3)}"
                                        for k, v in m["params"].items()),
                       ll=f.num(m["log_likelihood"], 1), mae=f.num(h["mae"], 3), corr=f.num(h["correlation"], 3),
                       pred=f.num(h["predicted_total"]), act=f.num(h["actual_total"]),
                       brier=f.num(h["brier_no_purchase"], 4))
        else:
            row["error"] = m.get("error")
        out["models"].append(row)
    if fitted:
        best = fitted[bt["best"]]
        track = best["holdout"]["tracking"]
        unit = _l("step" if bt.get("unit") == "weeks" else "step_days", lang)
        out["tracking_svg"] = charts.tracking(
            [p["step"] for p in track], [p["actual"] for p in track],
            {m["name"]: [p["predicted"] for p in m["holdout"]["tracking"]] for m in fitted.values()}, f,
            (t("actual", lang), unit))
        freq = best["holdout"]["by_frequency"]
        out["condexp_svg"] = charts.grouped(
            [p["frequency"] for p in freq],
            {t("actual", lang): [p["actual"] for p in freq],
             f"{t('predicted', lang)} ({best['name']})": [p["predicted"] for p in freq]}, f)
        points = {f"{best['name']}: {_l('no_purchase', lang)}": (
            [p["predicted"] for p in best["holdout"]["calibration"]],
            [p["observed"] for p in best["holdout"]["calibration"]])}
        cm = info.get("churn_model") or {}
        if cm.get("status") == "ok":
            points[_l("churn_model", lang)] = ([p["predicted"] for p in cm["calibration"]],
                                               [p["observed"] for p in cm["calibration"]])
        out["calibration_svg"] = charts.calibration(points, f, (_l("calib_x", lang), _l("calib_y", lang)))
        out["chosen_text"] = _l("chosen", lang, name=best["name"], cal=bt["calibration_end"], hold=bt["holdout_end"])
    cm = info.get("churn_model") or {}
    if cm.get("status") == "ok":
        v = cm["validation"]
        out["churn_text"] = _l("churn_metrics", lang, h=f.num(cm["horizon_days"]), cut=cm["validation_cutoff"],
                               auc=f.num(v["roc_auc"], 3), pr=f.num(v["pr_auc"], 3), brier=f.num(v["brier"], 3),
                               lift=f.num(v["lift_at_10"], 2))
    ci = info.get("contracts") or {}
    if ci.get("status") == "ok":
        out["contracts_text"] = _l("contracts", lang, a=f.num(ci["params"]["alpha"], 3), b=f.num(ci["params"]["beta"], 3),
                                   n=f.num(ci["contracts"]), ended=f.num(ci["ended"]),
                                   r1=f.pct(ci["retention_rate"][0] * 100), r12=f.pct(ci["retention_rate"][11] * 100),
                                   s12=f.pct(ci["survival"][12] * 100))
    df, _ = results.predictions(engine, top=TOP_AT_RISK)
    for r in df.to_dict("records"):
        out["at_risk"].append({
            "id": r["external_id"], "status": t(r["lifecycle"], lang) if r.get("lifecycle") else "–",
            "clv": f.money(r["clv"]), "risk": f.pct(r["churn_probability"] * 100, 0),
            "var": f.money(r["value_at_risk"]),
            "reasons": "; ".join(t(f"reason_{x['reason']}", lang) for x in (r.get("reasons") or [])[:2])})
    return out
