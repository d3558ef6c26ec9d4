"""`retentio worker`, `retentio unsubscribe-link`."""

from __future__ import annotations

import typer

from retentio.cli.base import LangOpt, app, lang_of, state
from retentio.cli.output import say, to_json
from retentio.errors import ConfigError
from retentio.i18n import Msg, _


@app.command(help=_("Deliver the outbox: exactly-once bookkeeping, retries with back-off; several may run on "
                    "PostgreSQL."))
def worker(once: bool = typer.Option(False, "--once", help=_("Send what is due, then exit")),
           batch: int = typer.Option(50, "--batch", min=1, max=1000, help=_("Messages claimed at a time")),
           max_messages: int = typer.Option(None, "--max", help=_("Stop after this many messages")),
           channel: list[str] = typer.Option(None, "--channel", metavar="CHANNEL", help=_("Only these channels (email, webhook, "
                                                                       "call_list)")),
           lease: float = typer.Option(120.0, "--lease", help=_("Seconds a claim is held before others may retry it")),
           fmt: str = typer.Option("table", "--format", "-f", help=_("table or json (the final counts)")),
           lang: str = LangOpt) -> None:
    import signal
    import sys

    from retentio.act.worker import Worker, pending_email
    from retentio.shop import load_config, public_url_warning

    lang_of(lang)
    engine = state.engine()
    cfg = load_config(engine)
    from retentio.services.settings import delivery_channels

    channels = delivery_channels(engine)
    names = channel or list({"call_list", "webhook", *channels})
    if "email" not in channels:
        if channel and "email" in channel:
            raise ConfigError(Msg("email needs RETENTIO_SMTP_URL (e.g. smtp://user:pass@host:587?starttls=1)"))
        waiting = pending_email(engine)
        say(_("RETENTIO_SMTP_URL is not set: {n} emails stay queued until it is.", n=waiting) if waiting
            else _("RETENTIO_SMTP_URL is not set: no email is sent (webhooks and call lists still are)."),
            style="yellow", err=True)
    warning = public_url_warning(cfg)
    if warning:
        say(_("Warning: {text}", text=str(warning)), style="yellow", err=True)
    w = Worker(engine, channels, batch=batch, lease_seconds=lease, channel_names=names,
               require_double_opt_in=cfg.require_double_opt_in)
    stopping = {"flag": False}

    def _stop(*_args):
        stopping["flag"] = True  # finish the message in hand, hand back the rest

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if sys.stderr.isatty() and fmt == "table":
        from rich.progress import Progress, SpinnerColumn, TextColumn

        from retentio.cli.output import err_console

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console) as bar:
            task = bar.add_task(_("sending …"), total=None)
            stats = w.run(until_empty=once, max_messages=max_messages, stop=lambda: stopping["flag"],
                          on_progress=lambda o: bar.update(task, description=_stats_line(w.stats)))
    else:
        stats = w.run(until_empty=once, max_messages=max_messages, stop=lambda: stopping["flag"])
    result = {"worker": w.id, **dict(stats.items())}
    if fmt == "json":
        print(to_json(result))
    else:
        say(_stats_line(result))


def _stats_line(stats) -> str:
    from retentio.labels import label

    return " · ".join(f"{label('message', k)}: {v}" for k, v in stats.items())


@app.command("unsubscribe-link", help=_("The signed one-click unsubscribe link of a customer (works without login)."))
def unsubscribe_link(customer: str = typer.Argument(..., help=_("Customer number")),
                     purpose: str = typer.Option("marketing", "--purpose", help=_("marketing or transactional"))
                     ) -> None:
    from retentio.act.links import unsubscribe_url
    from retentio.act.preview import customer_id_of
    from retentio.shop import load_config

    engine = state.engine()
    print(unsubscribe_url(engine, customer_id_of(engine, customer), purpose=purpose,
                          base=load_config(engine).public_url))
