"""`retentio users …`, `retentio api-keys …`, `retentio serve`, `retentio scheduler`: the web app from the shell."""

from __future__ import annotations

import sys

import typer

from retentio.cli.base import FormatOpt, LangOpt, app, check_format, lang_of, state
from retentio.cli.output import emit, say
from retentio.errors import ConfigError
from retentio.i18n import Msg, _

users_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help=_("People who sign in to the web app: add, list, change, remove."))
keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                       help=_("API keys: create (shown once), list, revoke."))
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="api-keys")
RoleHelp = _("viewer, analyst, marketer or admin")


def _password(stdin: bool) -> str:
    if stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    if not value:
        raise ConfigError(Msg("no password given"))
    return value


@users_app.command("add", help=_("Add a user; the password is asked for (or read from standard input)."))
def users_add(email: str = typer.Argument(..., help=_("E-mail address (the login)")),
              role: str = typer.Option(..., "--role", help=RoleHelp),
              name: str = typer.Option(None, "--name", help=_("Display name")),
              user_lang: str = typer.Option(None, "--user-lang", help=_("de or en for the pages")),
              password_stdin: bool = typer.Option(False, "--password-stdin", help=_("Read the password from "
                                                                                    "standard input")),
              lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR, check_role
    from retentio.auth.users import add_user

    lang_of(lang)
    check_role(role)
    user = add_user(state.engine(), OPERATOR, email, role, _password(password_stdin), name=name, lang=user_lang)
    say(_("User {email} added ({role}).", email=user["email"], role=user["role"]))


@users_app.command("list", help=_("All users with their role and last sign-in."))
def users_list(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.auth.users import list_users

    check_format(fmt)
    lang_of(lang)
    emit(list_users(state.engine(), OPERATOR), [("email", _("E-mail"), None), ("role", _("Role"), None),
                                                 ("last_login_at", _("Last sign-in"), None),
                                                 ("name", _("Name"), None)], fmt)


@users_app.command("set-role", help=_("Change a user's role."))
def users_role(email: str = typer.Argument(..., help=_("E-mail address")),
               role: str = typer.Argument(..., help=RoleHelp), lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.auth.users import update_user

    lang_of(lang)
    update_user(state.engine(), OPERATOR, email, role=role)
    say(_("{email}: {role}", email=email, role=role))


@users_app.command("password", help=_("Set a user's password (ends their sessions)."))
def users_password(email: str = typer.Argument(..., help=_("E-mail address")),
                   password_stdin: bool = typer.Option(False, "--password-stdin", help=_("Read the password from "
                                                                                         "standard input")),
                   lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.auth.users import update_user

    lang_of(lang)
    update_user(state.engine(), OPERATOR, email, password=_password(password_stdin))
    say(_("Password of {email} changed.", email=email))


@users_app.command("remove", help=_("Remove a user (the last admin stays)."))
def users_remove(email: str = typer.Argument(..., help=_("E-mail address")), lang: str = LangOpt) -> None:
    from retentio.auth.roles import OPERATOR
    from retentio.auth.users import remove_user

    lang_of(lang)
    remove_user(state.engine(), OPERATOR, email)
    say(_("User {email} removed.", email=email))


@keys_app.command("create", help=_("Create an API key; it is printed once and stored only as a hash."))
def keys_create(name: str = typer.Option(..., "--name", help=_("What the key is for")),
                role: str = typer.Option(..., "--role", help=_("viewer, analyst, marketer, admin, ingest (writes "
                                                               "data only) or tracking (events from a shop's "
                                                               "pages)")),
                fmt: str = typer.Option("table", "--format", "-f", help=_("table or json")),
                lang: str = LangOpt) -> None:
    from retentio.auth.keys import create_key
    from retentio.auth.roles import OPERATOR
    from retentio.cli.output import to_json

    check_format(fmt, ("table", "json"))
    lang_of(lang)
    row, token = create_key(state.engine(), OPERATOR, name, role)
    if fmt == "json":
        print(to_json({**row, "key": token}))
        return
    say(_("API key {name} ({role}), shown only now:", name=row["name"], role=row["role"]), err=True)
    print(token)


@keys_app.command("list", help=_("API keys (never the keys themselves)."))
def keys_list(fmt: str = FormatOpt, lang: str = LangOpt) -> None:
    from retentio.auth.keys import list_keys
    from retentio.auth.roles import OPERATOR

    check_format(fmt)
    lang_of(lang)
    emit(list_keys(state.engine(), OPERATOR), [("id", "#", None), ("name", _("Name"), None), ("role", _("Role"), None),
                                               ("prefix", _("Begins"), None), ("active", _("Active"), None),
                                               ("last_used_at", _("Last used"), None)], fmt)


@keys_app.command("revoke", help=_("Revoke an API key (by number or name)."))
def keys_revoke(key: str = typer.Argument(..., help=_("Key number or name")), lang: str = LangOpt) -> None:
    from retentio.auth.keys import revoke_key
    from retentio.auth.roles import OPERATOR

    lang_of(lang)
    row = revoke_key(state.engine(), OPERATOR, key)
    say(_("API key {name} revoked.", name=row["name"]))


@app.command(help=_("Serve the dashboard, the API and the pages behind signed links."))
def serve(host: str = typer.Option("127.0.0.1", "--host", help=_("Address to listen on")),
          port: int = typer.Option(8000, "--port", help=_("Port to listen on")),
          scheduler: bool = typer.Option(False, "--scheduler", help=_("Also run the schedule (refresh, flows, "
                                                                      "worker) in this process")),
          lang: str = LangOpt) -> None:
    import uvicorn

    from retentio.auth.users import has_users
    from retentio.web.app import create_app

    lang_of(lang)
    engine = state.engine()
    application = create_app(engine, background=True, scheduler=scheduler)
    say(_("Retentio listens on http://{host}:{port} (Ctrl-C stops)", host=host, port=port))
    if not has_users(engine):
        say(_("No user yet: add one with `retentio users add EMAIL --role admin`."), style="yellow")
    uvicorn.run(application, host=host, port=port, log_level="warning", server_header=False)


@app.command(help=_("Run the schedule (daily refresh, flows, worker) and the job queue without the web server."))
def scheduler(lang: str = LangOpt) -> None:
    import signal

    from retentio.jobs import Runner
    from retentio.scheduler import Scheduler

    lang_of(lang)
    engine = state.engine()
    runner = Runner(engine)
    sched = Scheduler(engine, wake=runner.wake)
    stop = {"flag": False}

    def _stop(*_args):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    runner.start()
    sched.start()
    say(_("Scheduler running (Ctrl-C stops)."))
    import time

    while not stop["flag"]:
        time.sleep(0.5)
    sched.stop()
    runner.stop()
    runner.join(timeout=30)
