"""The outbox worker: claims due messages, sends them once, records the outcome.

States of an outbox row and who moves them::

    pending ──claim──▶ claimed ──mark──▶ sending ──channel ok──▶ sent
       ▲                  │                 │
       └── retry later ◀──┴── error ◀───────┘        (failed after MAX_ATTEMPTS
                                                      or a permanent error)

* Claiming is one ``UPDATE … WHERE id IN (SELECT … LIMIT n)``; on PostgreSQL
  the sub-select takes ``FOR UPDATE SKIP LOCKED`` so parallel workers never
  claim the same row. Claims carry a lease; a worker that dies leaves its rows
  to be re-claimed when the lease runs out.
* A ``claimed`` row that was never marked ``sending`` was certainly not sent
  and is simply taken again.
* The row is committed as ``sending`` before the transport is touched. A
  re-claimed ``sending`` row is *in doubt* — the server may have accepted it
  before the worker died — and is counted in ``recoveries`` and sent again
  with the same Message-ID / Idempotency-Key, so the receiver can recognise
  the copy. This window is the time between the server's acceptance and one
  commit; docs/delivery.md measures it.
* Every completion is conditional on ``worker = me``: a worker whose lease
  was taken over cannot overwrite the new owner's result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Engine, bindparam, text, update

from retentio.act.channels import CallListChannel, Channel, Outgoing, Result
from retentio.act.context import send_time_values
from retentio.db.act_models import CallListEntry, OutboxMessage
from retentio.db.models import Consent
from retentio.db.types import sql_time, table_of

MAX_ATTEMPTS = 8
DUE = ("(status = 'pending' AND not_before <= :now) "
       "OR (status IN ('claimed', 'sending') AND lease_until < :now)")


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


CRASHED = "in doubt: the worker sending it stopped"


class Worker:
    def __init__(self, engine: Engine, channels: dict[str, Channel], *, worker_id: str | None = None,
                 batch: int = 50, lease_seconds: float = 120, channel_names: list[str] | None = None,
                 require_double_opt_in: bool = True,
                 send_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.engine, self.channels = engine, {"call_list": CallListChannel(), **channels}
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch, self.lease = batch, dt.timedelta(seconds=lease_seconds)
        self.only = channel_names or list(self.channels)
        self.require_doi = require_double_opt_in
        # When a message really goes out (a voucher's validity counts from here), also in a replayed demo.
        self.send_clock = send_clock
        self.stats: Counter = Counter()

    def claim(self, now: dt.datetime) -> list[Outgoing]:
        pg = self.engine.dialect.name == "postgresql"
        names = ", ".join(f"'{c}'" for c in self.only if c.isidentifier())
        sql = (f"UPDATE outbox SET status = 'claimed', worker = :w, lease_until = :lease, "
               f"attempts = attempts + 1, "
               f"recoveries = recoveries + CASE WHEN status = 'sending' THEN 1 ELSE 0 END, "
               f"last_error = CASE WHEN status = 'sending' THEN '{CRASHED}' ELSE last_error END "
               f"WHERE id IN (SELECT id FROM outbox WHERE ({DUE}) AND channel IN ({names}) "
               f"ORDER BY priority DESC, id LIMIT :n{' FOR UPDATE SKIP LOCKED' if pg else ''}) "
               f"RETURNING id, idempotency_key, channel, customer_id, address, purpose, subject, body_text, "
               f"body_html, payload, locale, flow_key, recoveries, last_error")
        stmt = text(sql).columns(*[OutboxMessage.__table__.c[c] for c in (
            "id", "idempotency_key", "channel", "customer_id", "address", "purpose", "subject", "body_text",
            "body_html", "payload", "locale", "flow_key", "recoveries", "last_error")])
        with self.engine.begin() as conn:
            d = conn.dialect.name
            rows = conn.execute(stmt, {"w": self.id, "lease": sql_time(d, now + self.lease), "now": sql_time(d, now),
                                       "n": self.batch}).all()
        # A message a stopped worker was sending: it may have gone out. Counted once, when taken over.
        recovered = sum(1 for r in rows if r.last_error == CRASHED)
        if recovered:
            self.stats["in_doubt"] += recovered
        return [Outgoing(r.id, r.idempotency_key, r.channel, r.customer_id, r.address, r.purpose, r.subject,
                         r.body_text, r.body_html, r.payload, r.locale, r.flow_key)
                for r in sorted(rows, key=lambda r: r.id)]

    def _withdrawn(self, batch: list[Outgoing]) -> set[int]:
        """Marketing emails whose consent was withdrawn (or address suppressed) since they were planned."""
        ids = sorted({m.customer_id for m in batch
                      if m.channel == "email" and m.purpose == "marketing" and m.customer_id is not None})
        if not ids:
            return set()
        with self.engine.connect() as conn:
            c = Consent.__table__
            ok = {r.customer_id for r in conn.execute(c.select().where(
                c.c.customer_id.in_(ids), c.c.channel == "email", c.c.purpose == "marketing",
                c.c.status == "granted", *( [c.c.double_opt_in_at.is_not(None)] if self.require_doi else [])))}
            addresses = [m.address.lower() for m in batch if m.address and m.channel == "email"]
            blocked = {a for (a,) in conn.execute(text("SELECT address FROM suppressions WHERE channel = 'email' "
                                                      "AND address IN :a").bindparams(
                bindparam("a", expanding=True)), {"a": addresses})} if addresses else set()
        return {m.id for m in batch if m.channel == "email" and (
            (m.purpose == "marketing" and m.customer_id not in ok) or (m.address or "").lower() in blocked)}

    def _set(self, conn, msg_id: int, **values) -> int:
        t = table_of(OutboxMessage)
        return conn.execute(update(t).where(t.c.id == msg_id, t.c.worker == self.id).values(**values)).rowcount

    def process(self, msg: Outgoing, now: Callable[[], dt.datetime]) -> str:
        with self.engine.begin() as conn:
            if not self._set(conn, msg.id, status="sending", lease_until=now() + self.lease):
                return "lost_lease"
            issue_offer(conn, msg, self.send_clock())
        channel = self.channels.get(msg.channel)
        try:
            outgoing = at_send_time(msg, self.send_clock())
            result = channel.send(outgoing) if channel else Result(False, True,
                                                                   f"no channel {msg.channel!r} configured")
        except Exception as exc:  # a bug or an unforeseen error must not make the message a poison pill
            result = Result(False, error=f"{type(exc).__name__}: {exc}"[:300])
        with self.engine.begin() as conn:
            if result.ok:
                if not self._set(conn, msg.id, status="sent", sent_at=now(), lease_until=None,
                                 message_id=result.message_id, last_error=None):
                    return "lost_lease"
                if result.local_rows:
                    conn.execute(table_of(CallListEntry).insert(),
                                 [{**r, "created_at": now()} for r in result.local_rows])
                return "sent"
            attempts, recoveries = conn.execute(text("SELECT attempts, recoveries FROM outbox WHERE id = :i"),
                                                {"i": msg.id}).one()
            if result.in_doubt:
                # The server had the whole message and went silent: it may have delivered it. Counted, and
                # sent once more with the same Message-ID (the receiver can drop the copy); not a third time.
                if (recoveries or 0) >= 1:
                    self._set(conn, msg.id, status="in_doubt", lease_until=None, recoveries=(recoveries or 0) + 1,
                              last_error=f"in doubt, not sent again: {result.error}"[:500])
                    return "in_doubt"  # counted by run() as this message's outcome
                self.stats["in_doubt"] += 1
                self._set(conn, msg.id, status="pending", lease_until=None, recoveries=(recoveries or 0) + 1,
                          last_error=f"in doubt: {result.error}"[:500], not_before=now() + backoff(attempts or 1))
                return "retry"
            attempts = attempts or 0
            if result.permanent or attempts >= MAX_ATTEMPTS:
                self._set(conn, msg.id, status="failed", lease_until=None, last_error=result.error)
                return "failed"
            self._set(conn, msg.id, status="pending", lease_until=None, last_error=result.error,
                      not_before=now() + backoff(attempts))
            return "retry"

    def run(self, *, until_empty: bool = True, max_messages: int | None = None, poll_seconds: float = 5.0,
            stop: Callable[[], bool] = lambda: False, on_progress: Callable[[str], None] | None = None,
            clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> Counter:
        done = 0
        try:
            while not stop():
                batch = self.claim(clock())
                if not batch:
                    if until_empty:
                        break
                    time.sleep(poll_seconds)
                    continue
                withdrawn = self._withdrawn(batch)
                for msg in batch:
                    if msg.id in withdrawn:
                        with self.engine.begin() as conn:
                            self._set(conn, msg.id, status="skipped", reason="consent_withdrawn_or_suppressed",
                                      lease_until=None)
                        outcome = "skipped"
                    else:
                        outcome = self.process(msg, clock)
                    self.stats[outcome] += 1
                    done += 1
                    if on_progress:
                        on_progress(outcome)
                    if stop() or (max_messages and done >= max_messages):
                        return self.stats
        finally:
            self.release()
            for ch in self.channels.values():
                ch.close()
        return self.stats

    def release(self) -> None:
        """Hand back rows this worker claimed but did not start (on stop; a kill leaves them to the lease)."""
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET status = 'pending', worker = NULL, lease_until = NULL, "
                              "attempts = attempts - 1 WHERE worker = :w AND status = 'claimed'"), {"w": self.id})


def issue_offer(conn, msg: Outgoing, sent_at: dt.datetime) -> None:
    """The message's voucher becomes a real one in the ledger's voucher table when the message goes out:
    valid from the send date, for this customer, once per message (a retry finds it issued)."""
    v = (msg.payload or {}).get("voucher")
    if not isinstance(v, dict) or not v.get("code") or not v.get("percent"):
        return
    from decimal import Decimal

    from retentio.errors import Conflict
    from retentio.loyalty.vouchers import issue_voucher

    # The same code issued for another reason (a Conflict): the message still goes out, its code works.
    with contextlib.suppress(Conflict):
        issue_voucher(conn, customer_id=msg.customer_id, kind="percent", value=Decimal(str(v["percent"])),
                      expires_at=sent_at + dt.timedelta(days=int(v.get("valid_days") or 30)), source="flow",
                      source_ref=f"flow:{msg.key}", code=str(v["code"]), now=sent_at)


def at_send_time(msg: Outgoing, sent_at: dt.datetime) -> Outgoing:
    """The frozen message with what depends on the send date filled in (a voucher's last day)."""
    values = send_time_values(msg.payload, sent_at)
    if not values:
        return msg

    def fill(text: str | None) -> str | None:
        if text is None:
            return None
        for marker, value in values.items():
            text = text.replace(marker, value)
        return text

    payload = dict(msg.payload or {})
    if isinstance(payload.get("script"), str):
        payload["script"] = fill(payload["script"])
    if isinstance(payload.get("voucher"), dict):
        payload["voucher"] = {**payload["voucher"], "valid_until": fill(payload["voucher"].get("valid_until"))}
    return replace(msg, subject=fill(msg.subject), body_text=fill(msg.body_text), body_html=fill(msg.body_html),
                   payload=payload)


def pending_email(engine: Engine) -> int:
    """Emails waiting in the outbox (to say so when no SMTP server is configured)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND status IN "
                                     "('pending', 'claimed')")).scalar() or 0)


def make_channels(smtp_url: str, sender: str, sender_name: str, rate: float, webhook_secret: str) -> dict:
    """The configured transports; email only when an SMTP URL is set."""
    from retentio.act.channels import FileChannel, SmtpChannel, WebhookChannel

    channels: dict[str, Channel] = {"webhook": WebhookChannel(webhook_secret)}
    if smtp_url.startswith("file://"):
        channels["email"] = FileChannel(smtp_url[len("file://"):], sender, sender_name)
    elif smtp_url:
        channels["email"] = SmtpChannel(smtp_url, sender, sender_name, rate)
    return channels
