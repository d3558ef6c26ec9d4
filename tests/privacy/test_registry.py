"""The registry of personal data covers the schema, and its links reach every customer row."""

from __future__ import annotations

from retentio.privacy.export import all_tables
from retentio.privacy.registry import CLASSES, REGISTRY, customer_tables, unclassified


def test_every_column_of_the_schema_has_a_class():
    assert unclassified(all_tables()) == []


def test_a_table_without_a_link_says_why_and_a_customer_id_column_means_a_link():
    md = all_tables()
    for name, entry in REGISTRY.items():
        assert all(k in CLASSES for k in entry.columns.values()), name
        if entry.link is None:
            assert entry.why_unlinked, name
            personal = [c for c, k in entry.columns.items() if k != "none"]
            # Unlinked personal data is either scrubbed by the erasure or belongs to staff, not customers.
            assert not personal or entry.scrub or name in ("users", "login_failures"), name
        if "customer_id" in md.tables[name].c and name != "erasures":
            assert entry.link is not None, f"{name} holds customer ids but the export cannot find them"


def test_parents_come_before_their_children():
    order = customer_tables()
    for name in order:
        link = REGISTRY[name].link
        if link is not None and link.kind == "parent":
            assert order.index(link.parent) < order.index(name), name
