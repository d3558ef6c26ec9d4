"""`retentio worker`, `retentio unsubscribe-link`, `retentio serve`."""

from __future__ import annotations

import signal
import sys

import typer

from retentio.cli.app import app, state
from retentio.cli.output import console, err_console, to_json
from retentio.settings import Settings
from retentio.shop import load_config


@app.command()
def worker(once: bool = typer.Option(False, "--once", help="Send what is due, then exit"),
           batch: int = typer.Option(50, "--batch", min=1, max=1000),
           max_messages: int = typer.Option(None, "--max", help="Stop after this many messages"),
           channel: list[str] = typer.Option(None, "--channel", help="Only these channels (email, webhook, call_list)"),
           lease: float = typer.Option(120.0, "--lease", help="Seconds a claim is held before others may retry it"),
           fmt: str = typer.Option("table", "--format", "-f", help="table or json (the final counts)")) -> None:
    """Deliver the outbox: exactly-once bookkeeping, retries with back-off; several may run on PostgreSQL."""
    from retentio.act.worker import Worker, make_channels

    settings = Settings()  # read now: the environment may have changed since the cached copy
    engine = state.engine()
    cfg = load_config(engine)
    channels = make_channels(settings.smtp_url, cfg.sender_email, cfg.sender_name or cfg.name,
                             settings.smtp_rate_per_second, settings.webhook_secret or settings.secret_key)
    names = channel or list({"call_list", *channels})
    if "email" in names and "email" not in channels:
        if channel:
            raise typer.BadParameter("email needs RETENTIO_SMTP_URL (e.g. smtp://user:pass@host:587?starttls=1)")
        err_console.print("[yellow]RETENTIO_SMTP_URL is not set: emails stay queued.[/]")
    w = Worker(engine, channels, batch=batch, lease_seconds=lease, channel_names=names,
               require_double_opt_in=cfg.require_double_opt_in)
    stopping = {"flag": False}

    def _stop(*_):
        stopping["flag"] = True  # finish the message in hand, hand back the rest

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    show = sys.stderr.isatty() and fmt == "table"
    if show:
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console) as bar:
            task = bar.add_task("sending…", total=None)
            stats = w.run(until_empty=once, max_messages=max_messages, stop=lambda: stopping["flag"],
                          on_progress=lambda o: bar.update(task, description=f"{dict(w.stats)}"))
    else:
        stats = w.run(until_empty=once, max_messages=max_messages, stop=lambda: stopping["flag"])
    result = {"worker": w.id, **{k: v for k, v in stats.items()}}
    if fmt == "json":
        print(to_json(result))
    else:
        console.print(" · ".join(f"{k}: {v}" for k, v in result.items()))


@app.command("unsubscribe-link")
def unsubscribe_link(customer: str = typer.Argument(..., help="Customer number"),
                     purpose: str = typer.Option("marketing", "--purpose")) -> None:
    """The signed one-click unsubscribe link of a customer (works without login)."""
    from retentio.act.links import unsubscribe_url
    from retentio.act.preview import customer_id_of

    print(unsubscribe_url(customer_id_of(state.engine(), customer), purpose=purpose))


@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port")) -> None:
    """Serve the unsubscribe and feedback pages behind the signed links."""
    import uvicorn

    from retentio.web.links import create_app

    uvicorn.run(create_app(state.engine()), host=host, port=port, log_level="warning")
