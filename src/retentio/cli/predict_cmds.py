"""Commands about predictions: predict (model, backtest) and at-risk."""

from __future__ import annotations

import datetime as dt

import typer

from retentio import results
from retentio.cli.app import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import console, emit, to_json
from retentio.i18n import Fmt, t
from retentio.shop import load_config


def reason_text(reasons, lang: str) -> str:
    return "; ".join(t(f"reason_{r['reason']}", lang) for r in reasons or [])


def _params(model: dict) -> str:
    return ", ".join(f"{k}={v:.4g}±{(model['se'].get(k) or float('nan')):.2g}" for k, v in model["params"].items())


@app.command("at-risk")
def at_risk(top: int = typer.Option(50, "--top", help="How many customers"),
            min_churn: float = typer.Option(0.0, "--min-risk", help="Only churn risk ≥ this (0–1)"),
            fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    """Customers ranked by value at risk (CLV × churn probability), with the reasons."""
    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    cfg = load_config(engine)
    f = Fmt(lang, cfg.currency)
    df, run = results.predictions(engine, top=top, min_churn=min_churn)
    rows = df.to_dict("records")
    for r in rows:
        r["name"] = " ".join(x for x in (r.get("first_name"), r.get("last_name")) if x) or None
        r["reasons_text"] = reason_text((r.get("reasons") or [])[:1], lang)
    meta = {"as_of": run.as_of, "currency": cfg.currency, "horizon_days": cfg.prediction_horizon_days,
            "model": ((run.summary or {}).get("predictions") or {}).get("chosen", {}).get("model")}
    if fmt != "table":
        keep = ["external_id", "name", "lifecycle", "model", "clv", "clv_low", "clv_high", "p_alive",
                "churn_probability", "churn_source", "value_at_risk", "expected_purchases", "expected_spend",
                "next_purchase_at", "reasons", "contract_renewal_probability", "contract_expected_months"]
        emit([{k: r.get(k) for k in keep} for r in rows], [(k, k, None) for k in keep], fmt, meta=meta)
        return
    def pct(v):
        return f.pct(v * 100, 0) if v is not None and v == v else "–"

    # The table keeps to what fits a terminal; names, dates and all reasons are in --format json/csv.
    cols = [("external_id", t("customer_no", lang), None),
            ("lifecycle", t("status", lang), lambda v: t(v, lang) if v else "–"),
            ("clv", t("clv", lang), f.money0), ("p_alive", t("p_alive", lang), pct),
            ("churn_probability", t("churn_probability", lang), pct),
            ("value_at_risk", t("value_at_risk", lang), f.money0),
            ("reasons_text", t("reasons", lang), None)]
    emit(rows, cols, "table", title=t("at_risk_title", lang, n=top))


@app.command()
def predict(run_backtest: bool = typer.Option(False, "--backtest", help="Fit on a calibration period and score a holdout"),
            calibration_end: str = typer.Option(None, "--calibration-end", help="Last calibration day, YYYY-MM-DD"),
            holdout_end: str = typer.Option(None, "--holdout-end", help="Last holdout day, YYYY-MM-DD"),
            time_unit: str = typer.Option("weeks", "--time-unit", help="days or weeks"),
            engine_name: str = typer.Option("duckdb", "--engine", help="duckdb, postgres or pyspark"),
            fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    """The transaction models: fitted parameters, and with --backtest how each one tracks a holdout."""
    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    engine = state.engine()
    if not run_backtest:
        run = results.latest_run(engine)
        info = (run.summary or {}).get("predictions")
        if info is None:
            raise typer.BadParameter("the last refresh stored no predictions; run `retentio refresh`")
        if fmt == "json":
            print(to_json({"as_of": run.as_of, **info}))
            return
        chosen = info["chosen"]
        if chosen["model"] == "rules":
            console.print(t("fallback_rules", lang, why=chosen.get("reason")))
        else:
            console.print(f"[bold]{chosen['name']}[/] · {_params(chosen)} · LL {chosen['log_likelihood']:.3f}")
        return
    from retentio.predictions import PredictionOptions, backtest
    from retentio.refresh import open_context

    opts = PredictionOptions(unit=time_unit, calibration_end=_date(calibration_end), holdout_end=_date(holdout_end))
    hold = opts.holdout_end
    ctx = open_context(engine, as_of=hold, engine_name=engine_name)
    try:
        result = backtest(ctx, opts)
    finally:
        ctx.close()
    if fmt == "json":
        print(to_json(result))
        return
    render_backtest(result, lang)


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def render_backtest(result: dict, lang: str) -> None:
    f = Fmt(lang)
    if result.get("fallback"):
        console.print(t("fallback_rules", lang, why=result["fallback"]))
    rows = []
    for key, m in result["models"].items():
        if "error" in m:
            rows.append({"model": m["name"], "params": m["error"]})
            continue
        h = m["holdout"]
        rows.append({"model": m["name"], "params": _params(m), "ll": m["log_likelihood"], "mae": h["mae"],
                     "corr": h["correlation"], "pred": h["predicted_total"], "act": h["actual_total"],
                     "brier": h["brier_no_purchase"], "best": "★" if key == result.get("best") else ""})
    cols = [("model", t("model", lang), None), ("best", "", None), ("params", t("parameters", lang), None),
            ("ll", t("log_likelihood", lang), lambda v: f.num(v, 1)), ("mae", t("mae", lang), lambda v: f.num(v, 3)),
            ("corr", t("correlation", lang), lambda v: f.num(v, 3)),
            ("pred", f"Σ {t('predicted', lang)}", lambda v: f.num(v, 0)), ("act", f"Σ {t('actual', lang)}", f.num),
            ("brier", t("brier", lang), lambda v: f.num(v, 4))]
    emit(rows, cols, "table", title=t("backtest_title", lang, cal=result.get("calibration_end"),
                                        hold=result.get("holdout_end"), unit=result.get("unit")))
    best = result.get("best")
    if best:
        m = result["models"][best]
        emit(m["holdout"]["by_frequency"],
             [("frequency", "x", None), ("customers", t("customers", lang), f.num),
              ("actual", t("actual", lang), lambda v: f.num(v, 2)),
              ("predicted", t("predicted", lang), lambda v: f.num(v, 2))],
             "table", title=f"{t('by_frequency_title', lang)} · {m['name']}")
        console.print(t("best_model", lang, name=m["name"]))
