"""`retentio churn fit`: model a labelled customer table (e.g. a Telco-style snapshot with a churn column)."""

from __future__ import annotations

from pathlib import Path

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import emit, say, to_json, write_csv
from retentio.i18n import _, current_lang, trn

churn_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help=_("A churn model for a labelled snapshot: a customer table with a churned column."))
app.add_typer(churn_app, name="churn")


@churn_app.command("fit", help=_("Cross-validate and fit a churn model on the imported customers' attributes (or "
                                 "on FILE), and score every customer with the reasons."))
def fit_cmd(label: str = typer.Option(..., "--label", help=_("The column saying whether the customer churned "
                                                             "(yes/no, 1/0, true/false)")),
            file: Path = typer.Argument(None, help=_("Read this file instead of the imported customers")),
            folds: int = typer.Option(5, "--folds", min=2, max=20, help=_("Cross-validation folds (stratified)")),
            out: Path = typer.Option(None, "--out", help=_("Write every customer's score here (CSV)")),
            top: int = typer.Option(20, "--top", help=_("How many of the riskiest customers to list")),
            fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.formatting import Fmt
    from retentio.labels import reasons_text
    from retentio.snapshots import fit

    check_format(fmt, ("table", "json"))
    lang = lang_of(lang)
    result = fit(None if file else state.engine(), label, file=file, folds=folds)
    if out:
        rows = result.scores.assign(reasons=[reasons_text(r) for r in result.scores["reasons"]])
        with out.open("w", newline="", encoding="utf-8") as fh:
            write_csv(rows.to_dict("records"), list(rows.columns), fh)
    if fmt == "json":
        print(to_json(result.as_dict(top=None if out is None else top)))
        return
    f = Fmt(lang)
    m = result.metrics
    say(_("{n} customers, {churners} churned ({rate}); {k}-fold stratified cross-validation:", n=f.num(result.customers),
          churners=f.num(result.churners), rate=f.share(m["base_rate"], 1), k=result.folds), style="bold")
    say(_("ROC AUC {auc} (folds {low}–{high}) · PR AUC {pr} · Brier {brier} · lift in the top {share} {lift}",
          auc=f.num(m["roc_auc"], 3), low=f.num(min(result.fold_auc), 3), high=f.num(max(result.fold_auc), 3),
          pr=f.num(m["pr_auc"], 3), brier=f.num(m["brier"], 3), share=f.share(0.1),
          lift=f.num(m["lift_at_10"], 2)))
    if result.unlabelled:
        say(trn(current_lang(), "{n} customer has no value in {label}: they are scored, but not used to train or "
                "validate.", "{n} customers have no value in {label}: they are scored, but not used to train or "
                "validate.", result.unlabelled, label=label), style="yellow")
    emit(result.calibration, [("bin", _("Forecast"), None), ("customers", _("Customers"), f.num),
                              ("predicted", _("predicted"), f.share), ("observed", _("observed"), f.share)],
         "table", title=_("Calibration (cross-validated)"))
    rows = result.scores.sort_values("churn_probability", ascending=False).head(top).to_dict("records")
    for r in rows:
        r["reasons_text"] = reasons_text(r["reasons"], top=2)
    emit(rows, [("customer", _("Customer"), None), ("churn_probability", _("Risk"), f.share),
                ("label", _("Churned"), lambda v: _("yes") if v else _("no")), ("reasons_text", _("Reasons"), None)],
         "table", title=_("Highest churn risk (top {n})", n=top))
    if out:
        say(_("All scores: {path}", path=str(out)))
