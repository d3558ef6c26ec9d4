"""Stable, hash-based assignment of customers to control and variants.

``u = SHA-256("flow_key:customer_id")`` read as a number in [0, 1). The
customer is in the control group when ``u < control_share`` and otherwise in
variant ``floor((u − share) / (1 − share) × len(variants))``. The assignment
depends on nothing but the flow key and the customer, so it never changes
between runs, versions or machines; raising the control share only moves
treated customers into control, never the reverse.
"""

from __future__ import annotations

import hashlib


def unit(flow_key: str, customer_id: int) -> float:
    digest = hashlib.sha256(f"{flow_key}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(flow_key: str, customer_id: int, control_share: float, variants: list[str]) -> str:
    u = unit(flow_key, customer_id)
    if u < control_share:
        return "control"
    k = int((u - control_share) / (1 - control_share) * len(variants))
    return variants[min(k, len(variants) - 1)]
