"""The report's predictions section: stages, model table, tracking plots, churn model, value at risk."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from retentio import results
from retentio.formatting import Fmt
from retentio.i18n import N_, message_text, tr
from retentio.labels import label, reasons_text
from retentio.report import charts

TOP_AT_RISK = 10
STAGE_NAMES = {"transactions": N_("Transaction model"), "spend": N_("Spend model"), "churn": N_("Churn model"),
               "contracts": N_("Contracts")}


def _params(m: dict, f: Fmt) -> str:
    from retentio.labels import params_text

    return params_text(m, f, lang=f.lang)


def _name(m: dict, lang: str) -> str:
    from retentio.labels import label

    return label("model", m.get("name"), lang)


def prediction_context(engine: Engine, run, lang: str, f: Fmt) -> dict[str, Any] | None:
    info = (run.summary or {}).get("predictions")
    if not info:
        return None
    bt, chosen = info.get("backtest") or {}, info.get("chosen") or {}
    out: dict[str, Any] = {"fallback": None, "models": [], "tracking_svg": "", "paper_svg": "", "condexp_svg": "",
                           "calibration_svg": "", "churn_text": "", "contracts_text": "", "spend_text": "",
                           "at_risk": [], "stages": [], "warnings": [message_text(w, lang) for w in
                                                                      info.get("warnings") or []]}
    for key, stage in (info.get("stages") or {}).items():
        out["stages"].append({"name": tr(lang, STAGE_NAMES.get(key, key)), "status": label("stage", stage["status"],
                                                                                            lang),
                              "ok": stage["status"] == "ok", "why": message_text(stage.get("reason"), lang)})
    if chosen.get("model") == "rules":
        out["fallback"] = tr(lang, "Rules instead of a stochastic model, because: {why}",
                             why=message_text(chosen.get("reason"), lang) or tr(lang, "the rules tracked the holdout "
                                                                                      "best"))
    fitted = {k: m for k, m in (bt.get("models") or {}).items() if "holdout" in m}
    for key, m in (bt.get("models") or {}).items():
        row = {"name": _name(m, lang), "best": key == bt.get("best")}
        if "holdout" in m:
            h = m["holdout"]
            row.update(params=_params(m, f), ll=f.num(m["log_likelihood"], 1), mae=f.num(h["mae"], 3),
                       corr=f.num(h["correlation"], 3), pred=f.num(h["predicted_total"]), act=f.num(h["actual_total"]),
                       brier=f.num(h["brier_no_purchase"], 4))
        else:
            row["error"] = message_text(m.get("error"), lang)
        out["models"].append(row)
    if fitted and bt.get("best") in fitted:
        best = fitted[bt["best"]]
        track = best["holdout"]["tracking"]
        unit = tr(lang, "weeks after the calibration end") if bt.get("unit") == "weeks" else \
            tr(lang, "days after the calibration end")
        out["tracking_svg"] = charts.tracking(
            [p["step"] for p in track], [p["actual"] for p in track],
            {_name(m, lang): [p["predicted"] for p in m["holdout"]["tracking"]] for m in fitted.values()}, f,
            (tr(lang, "actual"), unit))
        paper = bt.get("paper_tracking") or {}
        if paper.get("steps"):
            steps = paper["steps"]
            names = {k: _name(m, lang) for k, m in fitted.items()}
            out["paper_svg"] = charts.tracking(
                [p["step"] for p in steps], [p["actual"] for p in steps],
                {names[k]: [p["predicted"][k] for p in steps] for k in steps[0]["predicted"] if k in names}, f,
                (tr(lang, "actual"), tr(lang, "weeks since the first purchase") if bt.get("unit") == "weeks"
                 else tr(lang, "days since the first purchase")), boundary=paper.get("calibration_steps"))
        freq = best["holdout"]["by_frequency"]
        # Translated outside the f-strings: Babel's extractor cannot see a call inside one (Python 3.11).
        predicted, no_purchase = tr(lang, "predicted"), tr(lang, "no purchase in the holdout")
        out["condexp_svg"] = charts.grouped(
            [p["frequency"] for p in freq],
            {tr(lang, "actual"): [p["actual"] for p in freq],
             f"{predicted} ({best['name']})": [p["predicted"] for p in freq]}, f)
        points = {f"{best['name']}: {no_purchase}": (
            [p["predicted"] for p in best["holdout"]["calibration"]],
            [p["observed"] for p in best["holdout"]["calibration"]])}
        cm = info.get("churn_model") or {}
        if cm.get("status") == "ok":
            points[tr(lang, "Churn model")] = ([p["predicted"] for p in cm["calibration"]],
                                               [p["observed"] for p in cm["calibration"]])
        out["calibration_svg"] = charts.calibration(points, f, (tr(lang, "forecast"), tr(lang, "observed")))
        out["chosen_text"] = tr(lang, "Chosen: {name} (lowest mean absolute error per customer on the holdout), "
                                      "refitted on the whole history. Calibration to {cal}, holdout to {hold}.",
                                name=_name(chosen if chosen.get("name") else best, lang),
                                cal=day_text(f, bt["calibration_end"]), hold=day_text(f, bt["holdout_end"]))
    spend = bt.get("spend") or {}
    if spend.get("status") == "ok" and spend["holdout"].get("customers"):
        h = spend["holdout"]
        out["spend_text"] = tr(lang, "Spend (Gamma-Gamma, {params}): the {n} customers who bought in the holdout "
                                     "spent {actual} per purchase day; predicted {pred}.", params=_params(spend, f),
                               n=f.num(h["customers"]), actual=f.money(h["actual_mean"]), pred=f.money(h["predicted_mean"]))
    bound = (chosen.get("plausibility") or {})
    if bound.get("capped") and any(bound["capped"].values()):
        out["warnings"].append(tr(lang, "{n} values were held to what the shop's customers did within {days} days "
                                        "(at most {p} purchase days, {r}).", n=f.num(sum(bound["capped"].values())),
                                  days=f.num(bound["horizon_days"]), p=f.num(bound["purchases"]),
                                  r=f.money(bound["revenue"])))
    cm = info.get("churn_model") or {}
    if cm.get("status") == "ok":
        v = cm["validation"]
        out["churn_text"] = tr(lang, "Churn model (no purchase within {h} days), validated at the cutoff {cut}: ROC "
                                     "AUC {auc}, PR AUC {pr}, Brier {brier}, lift in the top {share} {lift}.",
                               h=f.num(cm["horizon_days"]), cut=day_text(f, cm["validation_cutoff"]), share=f.share(0.1),
                               auc=f.num(v["roc_auc"], 3),
                               pr=f.num(v["pr_auc"], 3), brier=f.num(v["brier"], 3), lift=f.num(v["lift_at_10"], 2))
    ci = info.get("contracts") or {}
    if ci.get("status") == "ok" and ci.get("model") == "geometric":
        out["contracts_text"] = tr(lang, "Contracts (one churn rate for all, months): {rate} end each month; {n} "
                                         "contracts, {ended} ended; still active after 12 months: {s12}.",
                                   rate=f.share(ci["params"]["churn_rate"], 1), n=f.num(ci["contracts"]),
                                   ended=f.num(ci["ended"]), s12=f.share(ci["survival"][12], 1))
    elif ci.get("status") == "ok":
        out["contracts_text"] = tr(lang, "Contracts (sBG, months): α = {a}, β = {b}; {n} contracts, {ended} ended. "
                                         "Renewal rate in month 1 {r1}, in month 12 {r12}; still active after 12 "
                                         "months: {s12}.", a=f.num(ci["params"]["alpha"], 3),
                                   b=f.num(ci["params"]["beta"], 3), n=f.num(ci["contracts"]), ended=f.num(ci["ended"]),
                                   r1=f.share(ci["retention_rate"][0], 1), r12=f.share(ci["retention_rate"][11], 1),
                                   s12=f.share(ci["survival"][12], 1))
    df, _run = results.predictions(engine, top=TOP_AT_RISK)
    for r in df.to_dict("records"):
        out["at_risk"].append({
            "id": r["external_id"], "status": label("lifecycle", r.get("lifecycle"), lang),
            "clv": f.money(r["clv"]), "risk": f.share(r["churn_probability"]), "var": f.money(r["value_at_risk"]),
            "reasons": reasons_text(r.get("reasons"), lang, top=2)})
    return out


def day_text(f, value) -> str:
    """A stored ISO date in the report's language."""
    import datetime as dt

    if isinstance(value, str):
        try:
            return f.date(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return value
    return f.date(value) if value is not None else "–"
