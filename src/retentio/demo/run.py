"""`retentio demo`: generate, store, refresh, report."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from sqlalchemy import Engine

from retentio.db.models import (
    Consent,
    Customer,
    Event,
    Feedback,
    Order,
    OrderLine,
    Product,
    ServiceCase,
    ShopSetting,
    Subscription,
)
from retentio.db.session import get_engine
from retentio.demo.generator import DemoData, generate, local_to_utc
from retentio.formatting import Fmt
from retentio.i18n import tr, using
from retentio.ingest.writer import lookup_ids, records
from retentio.refresh import refresh
from retentio.shop import set_config

console = Console(stderr=True)
BATCH = 50_000


def _insert(conn, model, frame: pd.DataFrame) -> None:
    rows = records(frame)
    for i in range(0, len(rows), BATCH):
        conn.execute(model.__table__.insert(), rows[i : i + BATCH])


def store(engine: Engine, d: DemoData) -> None:
    with engine.begin() as conn:
        _insert(conn, Customer, d.customers)
        cid = lookup_ids(conn, Customer.__table__, "external_id", d.customers["external_id"])
        by_index = d.customers["external_id"].map(cid).to_numpy()
        _insert(conn, Product, d.products)
        pid = lookup_ids(conn, Product.__table__, "sku", d.products["sku"])
        o = d.orders
        cust = pd.Series([int(by_index[c]) if c >= 0 else None for c in o["cust"]], dtype="Int64")
        _insert(conn, Order, pd.DataFrame({
            "external_id": o["external_id"], "customer_id": cust, "placed_at": o["placed_at"], "currency": "EUR",
            "net_total": o["net_total"], "status": o["status"], "channel": o["channel"]}))
        oid = lookup_ids(conn, Order.__table__, "external_id", o["external_id"])
        ln = d.lines
        _insert(conn, OrderLine, pd.DataFrame({
            "order_id": o["external_id"].iloc[ln["order"]].map(oid).to_numpy(), "line_no": ln["line_no"],
            "product_id": ln["sku"].map(pid), "sku": ln["sku"], "description": ln["description"],
            "quantity": ln["quantity"].astype(float), "unit_price": ln["unit_price"], "net_amount": ln["net_amount"]}))
        s = d.subscriptions
        _insert(conn, Subscription, pd.DataFrame({
            "external_id": s["external_id"], "customer_id": by_index[s["cust"]], "plan": s["plan"],
            "started_at": local_to_utc(s["started"]), "ends_at": local_to_utc(s["ends"]),
            "cancelled_at": local_to_utc(s["cancelled"]), "cancellation_reason": s["cancellation_reason"],
            "monthly_amount": s["monthly_amount"]}))
        f = d.feedback
        _insert(conn, Feedback, pd.DataFrame({
            "external_id": f["external_id"], "customer_id": by_index[f["cust"]], "score": f["score"],
            "comment": f["comment"], "submitted_at": local_to_utc(f["local"]), "source": f["source"]}))
        c = d.cases
        _insert(conn, ServiceCase, pd.DataFrame({
            "external_id": c["external_id"], "customer_id": by_index[c["cust"]], "opened_at": local_to_utc(c["opened"]),
            "closed_at": local_to_utc(c["closed"]), "category": c["category"], "resolution": c["resolution"],
            "satisfaction": c["satisfaction"]}))
        e = d.events
        _insert(conn, Event, pd.DataFrame({
            "event_key": e["event_key"], "customer_id": by_index[e["cust"]], "type": e["type"],
            "occurred_at": local_to_utc(e["local"]), "properties": None}))
        k = d.consents
        _insert(conn, Consent, pd.DataFrame({
            "customer_id": k["customer"].map(cid), "channel": "email", "purpose": "marketing", "status": k["status"],
            "source": "signup_form", "recorded_at": k["recorded_at"], "double_opt_in_at": k["double_opt_in_at"]}))
        conn.execute(ShopSetting.__table__.insert(), [{"key": "demo_truth", "value": d.truth}])


def run_demo(out: Path, *, n_customers: int = 20_000, seed: int = 42, lang: str = "de") -> Path:
    with using(lang):
        return _run_demo(out, n_customers, seed, lang)


def _run_demo(out: Path, n_customers: int, seed: int, lang: str) -> Path:
    from retentio.cli.output import say

    out.mkdir(parents=True, exist_ok=True)
    db = out / "retentio-demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.rmtree(Path(str(db) + ".files"), ignore_errors=True)  # the old demo's customer view and uploads
    t0 = time.perf_counter()
    steps = 6

    def status(n: int, text: str):
        return console.status(f"[{n}/{steps}] {text} ({time.perf_counter() - t0:.0f} s)")

    with status(1, tr(lang, "Generating the demo shop ({n} customers) …", n=n_customers)):
        data = generate(n_customers, seed)
    engine = get_engine(f"sqlite:///{db.resolve()}")
    for key, value in (("name", "Bohne & Blatt Rösterei"), ("time_zone", "Europe/Berlin"), ("currency", "EUR"),
                       ("locale", "de_DE" if lang == "de" else "en_GB"), ("category", "coffee_tea"),
                       ("legal_name", "Bohne & Blatt Rösterei GmbH"),
                       ("postal_address", "Röstereiweg 1, 12345 Musterstadt"),
                       ("imprint", "Geschäftsführung: Erika Muster · Amtsgericht Musterstadt HRB 12345 · "
                                   "USt-IdNr. DE123456789"),
                       ("shop_url", "https://bohne-und-blatt.example"), ("demo", True)):
        set_config(engine, key, value)
    with status(2, tr(lang, "Storing …")):
        store(engine, data)
    (out / "demo_truth.json").write_text(json.dumps(data.truth, indent=2), encoding="utf-8")
    data.latent.to_csv(out / "demo_latent.csv", index=False)
    with status(3, tr(lang, "Refreshing (KPIs, cohorts, segments, predictions) …")):
        run = refresh(engine)
    from retentio.demo.flows import run_demo_flows
    from retentio.report.html import write_report

    mail = out / "mail"
    shutil.rmtree(mail, ignore_errors=True)
    with status(4, tr(lang, "Running the flows over the last 4 weeks …")):
        sent = run_demo_flows(engine, mail)
    from retentio.demo.voice import run_demo_loyalty, run_demo_surveys

    with status(5, tr(lang, "Loyalty programme, NPS survey and service cases over the shop's history …")):
        end = run.as_of if isinstance(run.as_of, dt.datetime) else dt.datetime.combine(run.as_of, dt.time(),
                                                                                        dt.UTC)
        run_demo_loyalty(engine, end)
        voiced = run_demo_surveys(engine, data.latent, end)
    with status(6, tr(lang, "Writing the report …")):
        report = write_report(engine, out / "retentio-report.html", lang, "month")
    secs = time.perf_counter() - t0
    s = run.summary
    f = Fmt(lang)
    say(tr(lang, "Demo ready in {secs} s: {customers} customers, {orders} orders, activity window {days} days.",
           secs=f"{secs:.0f}", customers=f.num(s["customers"]), orders=f.num(s["orders"]["orders"]),
           days=run.active_window_days), style="bold green", err=True)
    say(tr(lang, "Flows: {n} messages in 4 weeks, as email files in {path}", n=f.num(sent.get("sent", 0)),
           path=str(mail.resolve())), err=True)
    say(tr(lang, "Loyalty and NPS: {asked} customers asked, {answered} answered; see loyalty report, surveys report, "
                 "cases list", asked=f.num(voiced["asked"]), answered=f.num(voiced["answered"])), err=True)
    say(tr(lang, "Database: {path}", path=str(db.resolve())), err=True)
    say(tr(lang, "Report:   {path}", path=str(report.resolve())), err=True)
    say(tr(lang, "Next: retentio --db {db} kpis · segments · at-risk · predict · customer K10001", db=str(db)), err=True)
    say(tr(lang, "      retentio --db {db} flows list · flows report · flows outbox · flows calls", db=str(db)),
        err=True)
    email, password = demo_login(engine)
    # Short lines, so that nothing wraps in an 80-column terminal (the password least of all).
    say(tr(lang, "Dashboard: retentio --db {db} serve", db=str(db)), style="bold")
    say(tr(lang, "then open http://127.0.0.1:8000"), style="bold")
    say(tr(lang, "Sign in as {email} with the password {password}", email=email, password=password), style="bold")
    return report


DEMO_ADMIN = "admin@example.com"


def demo_login(engine) -> tuple[str, str]:
    """An admin for the demo's dashboard, with a new random password each time the demo is built."""
    import secrets

    from retentio.auth.roles import OPERATOR
    from retentio.auth.users import add_user

    password = secrets.token_urlsafe(12)
    add_user(engine, OPERATOR, DEMO_ADMIN, "admin", password, name="Demo")
    return DEMO_ADMIN, password
