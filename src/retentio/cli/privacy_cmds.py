"""`retentio privacy …`: a customer's data export, erasure and objection; retention periods; the registry."""

from __future__ import annotations

from pathlib import Path

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, fmt_for, lang_of, state
from retentio.cli.output import emit, say, to_json
from retentio.i18n import _, current_lang, trn

privacy_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help=_("Privacy rights: export, erase, objection, retention periods."))
app.add_typer(privacy_app, name="privacy")


def _op():
    from retentio.auth.roles import OPERATOR

    return OPERATOR


@privacy_app.command("export", help=_("Everything stored about a customer: a JSON bundle plus a CSV per table."))
def export_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
               out: Path = typer.Option(None, "--out", help=_("Folder to write (default: privacy-export-NUMBER)")),
               fmt: str = typer.Option("files", "--format", help=_("files or json (the bundle to stdout)")),
               lang: str = LangOpt) -> None:
    from retentio.privacy.export import write_folder
    from retentio.services import privacy

    lang = lang_of(lang)
    check_format(fmt, ("files", "json"))
    data = privacy.export(state.engine(), _op(), customer)
    if fmt == "json":
        typer.echo(to_json(data))
        return
    folder = out or Path(f"privacy-export-{data['customer_id']}")
    written = write_folder(data, folder)
    rows = sum(len(r) for r in data["tables"].values())
    f = fmt_for(lang, state.engine())
    say(_("{rows} in {files} written to {folder}.", rows=trn(lang, "{n} row", "{n} rows", rows, n=f.num(rows)),
          files=trn(lang, "{n} file", "{n} files", len(written), n=f.num(len(written))), folder=str(folder)))


@privacy_app.command("erase", help=_("Erase a customer: personal data goes, orders and points stay anonymous."))
def erase_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
              yes: bool = typer.Option(False, "--yes", help=_("Do not ask for confirmation")),
              fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import privacy

    lang_of(lang)
    check_format(fmt)
    if not yes and not typer.confirm(_("Erase customer {customer}? This cannot be undone.", customer=customer)):
        raise typer.Exit(1)
    out = privacy.erase(state.engine(), _op(), customer)
    if fmt == "json":
        typer.echo(to_json(out))
        return
    say(_("Customer {customer} erased; {n} rows anonymised.", customer=customer,
          n=sum(v for k, v in out["tables"].items() if k != "scrubbed_blobs")))


@privacy_app.command("object", help=_("Record an objection to profiling (Art. 21): no predictions, no scores."))
def object_cmd(customer: str = typer.Argument(..., help=_("Customer number")),
               withdraw: bool = typer.Option(False, "--withdraw", help=_("The customer withdrew the objection")),
               lang: str = LangOpt) -> None:
    from retentio.services import privacy

    lang_of(lang)
    out = privacy.objection(state.engine(), _op(), customer, on=not withdraw)
    say(_("Customer {customer} is excluded from profiling.", customer=customer) if out["objected"] else
        _("Customer {customer} is profiled again from the next refresh.", customer=customer))


@privacy_app.command("retention", help=_("Erase customers inactive beyond the retention period; dry run first."))
def retention_cmd(apply: bool = typer.Option(False, "--apply", help=_("Erase them (without: only count)")),
                  years: int = typer.Option(None, "--years", help=_("Years of inactivity (default: the setting)")),
                  fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import privacy

    lang_of(lang)
    check_format(fmt)
    out = privacy.retention(state.engine(), _op(), dry_run=not apply, years=years)
    if fmt == "json":
        typer.echo(to_json(out))
    elif not out["enabled"]:
        say(_("No retention period is set (retentio config set retention_years N)."))
    elif out["dry_run"]:
        say(trn(current_lang(), "{n} customer inactive for {years} would be erased (--apply erases them).",
                "{n} customers inactive for {years} would be erased (--apply erases them).", out["customers"],
                years=_years(out["years"])))
    else:
        say(trn(current_lang(), "{n} customer inactive for {years} erased.", "{n} customers inactive for {years} erased.",
                out["erased"], years=_years(out["years"])))


def _years(n: int) -> str:
    return trn(current_lang(), "{n} year", "{n} years", n)


@privacy_app.command("log", help=_("The erasure log: when, who, which customer id; no personal data."))
def log_cmd(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import privacy

    lang_of(lang)
    check_format(fmt)
    emit(privacy.erasure_log(state.engine(), _op()), [
        ("erased_at", _("When"), lambda v: str(v)[:19]), ("customer_id", _("Customer id"), None),
        ("reason", _("Reason"), None), ("actor", _("By"), None)], fmt)


@privacy_app.command("registry", help=_("Every table and column with its class of personal data."))
def registry_cmd(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.services import privacy

    lang_of(lang)
    check_format(fmt)
    emit(privacy.registry(_op()), [("table", _("Table"), None), ("column", _("Column"), None),
                                   ("class", _("Class"), None)], fmt)
