"""Loyalty: the points ledger, earning rules, tiers, vouchers and their reports (docs/loyalty.md)."""
