"""Consent as a log of statements: who said yes or no to what, when, and what that adds up to.

Every statement (an import row, an unsubscribe click, a double opt-in) is an
event in ``consent_events``; ``consents`` holds the current state per customer,
channel and purpose. The state changes only by these rules:

* a **withdrawal** (an unsubscribe, or a "no" after a "yes") always applies;
* after a withdrawal, only a **newer explicit opt-in** grants again: a
  statement that carries its own date (a consent date or the double opt-in
  time), later than the withdrawal — and a double opt-in later than the
  withdrawal where the shop requires double opt-in. Re-importing an older
  file, or one without consent dates, changes nothing;
* otherwise a dated statement applies when it is newer than the state, an
  undated one (an import without a consent column date) when there is no
  withdrawal to respect;
* the same statement from the same source is recorded once.

Events that change nothing are kept with the reason, so "why is this customer
not mailed?" always has an answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from retentio.db.bulk import in_chunks
from retentio.db.models import Consent, ConsentEvent
from retentio.db.types import table_of
from retentio.i18n import N_

GRANTED, DENIED, WITHDRAWN = "granted", "denied", "withdrawn"
NOT_APPLIED = {
    "withdrawal_stands": N_("a withdrawal stands until a newer explicit opt-in"),
    "doi_required": N_("a new opt-in after a withdrawal needs a newer double opt-in"),
    "older": N_("older than the current consent"),
    "unchanged": N_("unchanged"),
}


@dataclass(frozen=True)
class Statement:
    customer_id: int
    status: str  # granted | denied | withdrawn
    source: str
    effective_at: dt.datetime | None = None  # when the customer decided, if known
    double_opt_in_at: dt.datetime | None = None
    channel: str = "email"
    purpose: str = "marketing"

    def key(self) -> str:
        parts = (self.customer_id, self.channel, self.purpose, self.status, self.source,
                 _iso(self.effective_at), _iso(self.double_opt_in_at))
        return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:64]

    @property
    def dated(self) -> dt.datetime | None:
        """The statement's own date: when the customer decided, or confirmed by double opt-in."""
        times = [t for t in (self.effective_at, self.double_opt_in_at) if t is not None]
        return max(times) if times else None


def _iso(t: dt.datetime | None) -> str:
    return "" if t is None else t.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass
class State:
    status: str
    at: dt.datetime  # when this state began
    double_opt_in_at: dt.datetime | None = None
    source: str | None = None


def decide(state: State | None, st: Statement, *, require_doi: bool, now: dt.datetime) -> tuple[State | None, str]:
    """The state after statement ``st`` (None: unchanged) and a code saying why."""
    when = st.dated or now
    if state is None:
        status = WITHDRAWN if st.status == WITHDRAWN else st.status
        return State(status, when, st.double_opt_in_at, st.source), "applied"
    if st.status in (DENIED, WITHDRAWN):
        if state.status in (DENIED, WITHDRAWN):
            return None, "unchanged"
        if st.dated is not None and st.dated < state.at:
            return None, "older"
        # A "no" after a "yes" is a withdrawal, whatever the source calls it.
        return State(WITHDRAWN, when, state.double_opt_in_at, st.source), "applied"
    # A grant.
    if state.status == WITHDRAWN:
        if st.dated is None or st.dated <= state.at:
            return None, "withdrawal_stands"
        if require_doi and (st.double_opt_in_at is None or st.double_opt_in_at <= state.at):
            return None, "doi_required"
        return State(GRANTED, when, st.double_opt_in_at, st.source), "applied"
    if st.dated is not None and st.dated < state.at and state.status != "pending":
        return None, "older"
    doi = st.double_opt_in_at or (state.double_opt_in_at if state.status == GRANTED else None)
    new = State(GRANTED, when if st.dated is not None or state.status != GRANTED else state.at, doi, st.source)
    if state.status == GRANTED and new.double_opt_in_at == state.double_opt_in_at:
        return None, "unchanged"
    return new, "applied"


def record(conn: Connection, statements: Iterable[Statement], *, require_doi: bool,
           now: dt.datetime | None = None) -> Counter:
    """Log the statements and apply them in order; counts of what happened (applied, kept, …)."""
    now = now or dt.datetime.now(dt.UTC)
    items = list(statements)
    counts: Counter = Counter()
    if not items:
        return counts
    events = table_of(ConsentEvent)
    keys = [s.key() for s in items]
    seen: set[str] = set()
    for chunk in in_chunks(keys):
        seen |= set(conn.scalars(select(events.c.event_key).where(events.c.event_key.in_(chunk))))
    fresh = []
    for s, k in zip(items, keys, strict=True):
        if k in seen:
            counts["repeated"] += 1
        else:
            seen.add(k)
            fresh.append((s, k))
    if not fresh:
        return counts
    consents = table_of(Consent)
    states: dict[tuple[int, str, str], State] = {}
    row_ids: dict[tuple[int, str, str], int] = {}
    for chunk in in_chunks(sorted({s.customer_id for s, _ in fresh})):
        for r in conn.execute(select(consents).where(consents.c.customer_id.in_(chunk))):
            key = (r.customer_id, r.channel, r.purpose)
            states[key] = State(r.status, _aware(r.recorded_at), _aware(r.double_opt_in_at), r.source)
            row_ids[key] = r.id
    log, changed = [], {}
    for s, k in fresh:
        key = (s.customer_id, s.channel, s.purpose)
        new, why = decide(states.get(key), s, require_doi=require_doi, now=now)
        if new is not None:
            states[key] = changed[key] = new
        counts["applied" if new is not None else why] += 1
        log.append({"event_key": k, "customer_id": s.customer_id, "channel": s.channel, "purpose": s.purpose,
                    "status": s.status, "source": s.source[:120], "effective_at": s.effective_at,
                    "double_opt_in_at": s.double_opt_in_at, "recorded_at": now, "applied": new is not None,
                    "note": None if new is not None else NOT_APPLIED.get(why, why)})
    conn.execute(events.insert(), log)
    inserts = [{"customer_id": c, "channel": ch, "purpose": p, "status": st.status, "source": st.source,
                "recorded_at": st.at, "double_opt_in_at": st.double_opt_in_at}
               for (c, ch, p), st in changed.items() if (c, ch, p) not in row_ids]
    updates = [{"rid": row_ids[key], "s": st.status, "src": st.source, "at": st.at, "doi": st.double_opt_in_at}
               for key, st in changed.items() if key in row_ids]
    if inserts:
        conn.execute(consents.insert(), inserts)
    if updates:
        from sqlalchemy import bindparam, update

        conn.execute(update(consents).where(consents.c.id == bindparam("rid")).values(
            status=bindparam("s"), source=bindparam("src"), recorded_at=bindparam("at"),
            double_opt_in_at=bindparam("doi")), updates)
    return counts


def _aware(t):
    if t is None:
        return None
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t
