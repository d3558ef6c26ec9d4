"""The ledger checks itself: every invariant of docs/loyalty.md as one query each.

``retentio loyalty check`` runs them; the property tests run them after every
random sequence of movements. An empty list means the ledger is sound.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, func, select, text

from retentio.loyalty import program as prog
from retentio.loyalty import store

CHECKS: dict[str, str] = {
    # Double entry: every transaction's postings sum to zero.
    "unbalanced_transactions": """
        SELECT t.id FROM ledger_transactions t JOIN ledger_postings p ON p.transaction_id = t.id
        WHERE t.program_id = :p GROUP BY t.id HAVING SUM(p.amount) <> 0""",
    "transactions_without_postings": """
        SELECT t.id FROM ledger_transactions t WHERE t.program_id = :p
        AND NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.transaction_id = t.id)""",
    # Balance = sum of postings = the last posting's balance; version = number of postings.
    "balance_not_sum": """
        SELECT a.id FROM ledger_accounts a LEFT JOIN ledger_postings p ON p.account_id = a.id
        WHERE a.program_id = :p GROUP BY a.id, a.balance, a.version
        HAVING COALESCE(SUM(p.amount), 0) <> a.balance OR COUNT(p.id) <> a.version""",
    "running_balance_broken": """
        SELECT p.id FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
        WHERE a.program_id = :p AND p.balance_after <> (
            SELECT SUM(q.amount) FROM ledger_postings q
            WHERE q.account_id = p.account_id AND q.account_version <= p.account_version)""",
    "negative_customer_balance": """
        SELECT p.id FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.account_id
        WHERE a.program_id = :p AND a.floor_zero AND p.balance_after < 0""",
    # A pending earning is released or reversed at most once, and never both.
    "settled_twice": """
        SELECT settles_id FROM ledger_transactions WHERE program_id = :p AND settles_id IS NOT NULL
        GROUP BY settles_id HAVING COUNT(*) > 1""",
    # Returns never take back more than the earning gave.
    "returned_more_than_earned": """
        SELECT e.id FROM ledger_transactions e JOIN ledger_transactions r ON r.reverses_id = e.id
        WHERE e.program_id = :p AND e.kind = 'earn' AND r.kind IN ('return', 'reverse')
        GROUP BY e.id, e.points HAVING SUM(r.points) > e.points""",
}


def check(conn: Connection, program: prog.Program, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every violated invariant with up to five example ids; tiers are recomputed and compared too."""
    problems = []
    for name, sql in CHECKS.items():
        ids = [r[0] for r in conn.execute(text(sql), {"p": program.id}).fetchmany(5)]
        if ids:
            problems.append({"check": name, "examples": ids})
    total = conn.execute(text("SELECT COALESCE(SUM(p.amount), 0) FROM ledger_postings p JOIN ledger_accounts a "
                              "ON a.id = p.account_id WHERE a.program_id = :p"), {"p": program.id}).scalar_one()
    if int(total) != 0:
        problems.append({"check": "postings_do_not_sum_to_zero", "examples": [int(total)]})
    if now is None:  # as of the last tier bookkeeping: later reviews are not due in the stored history yet
        now = conn.execute(select(func.max(store.TIER.c.recorded_at))
                           .where(store.TIER.c.program_id == program.id)).scalar() or dt.datetime.now(dt.UTC)
    computed = {c: changes[-1].to_tier for c, changes in store.computed(conn, program, now).items()}
    stored = store.current(conn, program)
    wrong = [c for c, t in computed.items() if c in stored and stored[c] != t]
    if wrong:
        problems.append({"check": "stored_tier_differs_from_recomputed", "examples": wrong[:5]})
    return problems
