"""Commands about predictions: predict (model, backtest) and at-risk."""

from __future__ import annotations

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_choice, check_format, fmt_for, lang_of, state
from retentio.cli.data_cmds import parse_day
from retentio.cli.output import emit, say, to_json
from retentio.errors import ConfigError
from retentio.i18n import Msg, _, message_text


def _params(model: dict, f) -> str:
    from retentio.labels import params_text

    return params_text(model, f, compact=True)


def _day(f, value) -> str:
    from retentio.report.predictions import day_text

    return day_text(f, value)


def _name(model: dict) -> str:
    from retentio.labels import label

    return label("model", model.get("name"))


@app.command("at-risk", help=_("Customers ranked by value at risk (CLV × churn probability), with the reasons."))
def at_risk(top: int = typer.Option(50, "--top", help=_("How many customers")),
            min_churn: float = typer.Option(0.0, "--min-risk", help=_("Only churn risk ≥ this (0–1)")),
            fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio import results
    from retentio.labels import label, reasons_text
    from retentio.shop import load_config

    check_format(fmt)
    lang = lang_of(lang)
    engine = state.engine()
    cfg = load_config(engine)
    f = fmt_for(lang, engine)
    df, run = results.predictions(engine, top=top, min_churn=min_churn)
    rows = df.to_dict("records")
    for r in rows:
        r["name"] = " ".join(x for x in (r.get("first_name"), r.get("last_name")) if x) or None
        r["reasons_text"] = reasons_text(r.get("reasons"), top=1)
    meta = {"as_of": run.as_of, "currency": f.currency, "horizon_days": cfg.prediction_horizon_days,
            "model": ((run.summary or {}).get("predictions") or {}).get("chosen", {}).get("model")}
    if fmt != "table":
        keep = ["external_id", "name", "lifecycle", "model", "clv", "clv_low", "clv_high", "p_alive",
                "churn_probability", "churn_source", "value_at_risk", "expected_purchases", "expected_spend",
                "next_purchase_at", "reasons", "contract_renewal_probability", "contract_expected_months"]
        emit([{k: r.get(k) for k in keep} for r in rows], [(k, k, None) for k in keep], fmt, meta=meta)
        return
    cols = [("external_id", _("Customer"), None), ("lifecycle", _("Status"), lambda v: label("lifecycle", v)),
            ("clv", _("CLV"), f.money0), ("churn_probability", _("Risk"), f.share),
            ("value_at_risk", _("Value at risk"), f.money0), ("reasons_text", _("Main reason"), None),
            ("p_alive", _("P(alive)"), f.share)]
    emit(rows, cols, "table", title=_("Value at risk (top {n}, CLV × churn risk)", n=top),
         caption=_("Names, dates and all reasons: --format csv or json"))


@app.command(help=_("The transaction models: the chosen one, and with --backtest how every candidate tracks a "
                    "holdout."))
def predict(run_backtest: bool = typer.Option(False, "--backtest", help=_("Fit on a calibration period and score a "
                                                                          "holdout")),
            calibration_end: str = typer.Option(None, "--calibration-end", help=_("Last calibration day, YYYY-MM-DD")),
            holdout_end: str = typer.Option(None, "--holdout-end", help=_("Last holdout day, YYYY-MM-DD")),
            time_unit: str = typer.Option("weeks", "--time-unit", help=_("days or weeks")),
            engine_name: str = typer.Option("duckdb", "--engine", help=_("duckdb, postgres or pyspark")),
            fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio import results

    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    engine = state.engine()
    if not run_backtest:
        run = results.latest_run(engine)
        info = (run.summary or {}).get("predictions")
        if info is None:
            raise ConfigError(Msg("the last refresh stored no predictions; run `retentio refresh`"))
        if fmt == "json":
            print(to_json({"as_of": run.as_of, **info}))
            return
        f = fmt_for(lang, engine)
        chosen = info["chosen"]
        if chosen.get("model") == "rules":
            say(_("Rules instead of a stochastic model, because: {why}", why=message_text(chosen.get("reason"))
                  or _("the rules tracked the holdout best")))
        elif chosen.get("model"):
            say(f"{_name(chosen)} · {_params(chosen, f)} · LL {f.num(chosen['log_likelihood'], 1)}")
        from retentio.cli.data_cmds import say_stages

        say_stages(info.get("stages") or {})
        return
    from retentio.predictions import PredictionOptions, backtest
    from retentio.refresh import open_context

    check_choice("--time-unit", time_unit, ("days", "weeks"))
    opts = PredictionOptions(unit=time_unit, calibration_end=parse_day(calibration_end, "--calibration-end"),
                             holdout_end=parse_day(holdout_end, "--holdout-end"))
    ctx = open_context(engine, as_of=opts.holdout_end, engine_name=engine_name)
    try:
        result = backtest(ctx, opts)
    finally:
        ctx.close()
    if fmt == "json":
        print(to_json(result))
        return
    render_backtest(result, lang)


def render_backtest(result: dict, lang: str) -> None:
    from retentio.formatting import Fmt
    from retentio.labels import label

    f = Fmt(lang)
    if result.get("fallback"):
        say(_("Rules instead of a stochastic model, because: {why}", why=message_text(result["fallback"])))
    rows, unfit = [], []
    for key, m in result["models"].items():
        if "error" in m:
            rows.append({"model": _name(m), "params": _("not fitted, see below"), "best": ""})
            unfit.append(message_text(m["error"]))  # names the model itself
            continue
        h = m["holdout"]
        rows.append({"model": _name(m), "params": _params(m, f), "ll": m["log_likelihood"], "mae": h["mae"],
                     "corr": h["correlation"], "pred": h["predicted_total"], "act": h["actual_total"],
                     "brier": h["brier_no_purchase"], "best": "★" if key == result.get("best") else ""})
    cols = [("model", _("Model"), None), ("best", "", None), ("mae", _("MAE"), lambda v: f.num(v, 3)),
            ("pred", _("Σ predicted"), lambda v: f.num(v, 0)), ("act", _("Σ actual"), f.num),
            ("corr", _("Corr."), lambda v: f.num(v, 2)), ("brier", _("Brier"), lambda v: f.num(v, 3)),
            ("ll", _("Log-lik."), lambda v: f.num(v, 0)), ("params", _("Parameters (± SE)"), None)]
    emit(rows, cols, "table", title=_("Backtest: calibration to {cal}, holdout to {hold} ({unit})",
                                      cal=_day(f, result.get("calibration_end")), hold=_day(f, result.get("holdout_end")),
                                      unit=label("unit", result.get("unit"))),
         caption=_("MAE: mean absolute error of holdout purchases per customer; Brier: of the chance of no "
                   "purchase."))
    for line in unfit:
        say(line, style="yellow")
    spend = result.get("spend") or {}
    if spend.get("status") == "ok":
        h = spend["holdout"]
        say(_("Spend (Gamma-Gamma): {params}; mean spend of the {n} holdout buyers: predicted {pred}, actual "
              "{actual}", params=_params(spend, f), n=f.num(h["customers"]), pred=f.num(h["predicted_mean"], 2),
              actual=f.num(h["actual_mean"], 2)))
    best = result.get("best")
    if best:
        m = result["models"][best]
        emit(m["holdout"]["by_frequency"],
             [("frequency", "x", None), ("customers", _("Customers"), f.num),
              ("actual", _("actual"), lambda v: f.num(v, 2)), ("predicted", _("predicted"), lambda v: f.num(v, 2))],
             "table", title=_("Holdout purchases by calibration purchases · {name}", name=_name(m)))
        paper = result.get("paper_tracking") or {}
        if paper.get("steps") and best in paper["steps"][-1]["predicted"]:
            last = paper["steps"][-1]
            say(_("Cumulative repeat purchases since {start} (calibration and holdout, as Fader, Hardie & Lee 2005 "
                  "plot them): actual {actual}, {name} {pred}", start=_day(f, paper["start"]), actual=f.num(last["actual"]),
                  name=_name(m), pred=f.num(last["predicted"][best])))
        say(_("Best model on the holdout: {name}", name=_name(m)))
