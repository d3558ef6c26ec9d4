"""The registry of personal data: every table and column with its class, and how a customer's rows are found.

Classes (docs/privacy.md):

* ``identifying`` – names the person (customer number, name, birthday);
* ``contact`` – reaches the person (e-mail address);
* ``behavioural`` – what the person did or what we derived from it (orders, points, scores);
* ``free_text`` – whatever somebody typed (comments, notes, message bodies) or a blob that may hold
  anything (job results, cached API answers);
* ``none`` – no personal data (configuration, aggregates, staff bookkeeping).

The export walks the links below; the erasure clears identifying, contact and
free-text columns of the linked rows and keeps behavioural ones, so every KPI
and ledger total stays as it was. Tables whose blobs cannot be tied to one
customer by a key are ``scrub`` tables: the erasure replaces the person's
strings wherever they occur in them. A test fails when a column of the schema
is missing here, so a new column cannot slip past the export and the erasure.
"""

from __future__ import annotations

from dataclasses import dataclass

IDENTIFYING, CONTACT, BEHAVIOURAL, FREE_TEXT, NONE = "identifying", "contact", "behavioural", "free_text", "none"
CLASSES = (IDENTIFYING, CONTACT, BEHAVIOURAL, FREE_TEXT, NONE)
ERASED_CLASSES = (IDENTIFYING, CONTACT, FREE_TEXT)


@dataclass(frozen=True)
class Link:
    """How a table's rows of one customer are found.

    ``customer``: its ``column`` holds the customer id; ``parent``: its ``column`` holds the id of a
    linked row of ``parent``; ``address``: its ``column`` holds the customer's e-mail address.
    """

    kind: str
    column: str
    parent: str | None = None


@dataclass(frozen=True)
class Entry:
    columns: dict[str, str]
    link: Link | None = None
    why_unlinked: str | None = None  # for tables without a link: why no customer's rows live there
    scrub: bool = False  # blobs that may quote a person: the erasure replaces their strings in them
    export: bool = True
    label: str = ""


def _cls(spec: str) -> dict[str, str]:
    """``"a b:identifying c:free_text"`` -> {a: behavioural, b: identifying, c: free_text}."""
    out = {}
    for item in spec.split():
        name, _, kind = item.partition(":")
        out[name] = kind or BEHAVIOURAL
    return out


def _none(spec: str) -> dict[str, str]:
    return {name: NONE for name in spec.split()}


C = Link("customer", "customer_id")
STAFF = "staff accounts and their sessions, not customers; `retentio users` manages and deletes them"
CONFIG = "configuration or bookkeeping without people in it"
AGGREGATE = "aggregates over many customers; an erasure leaves them unchanged by design"

REGISTRY: dict[str, Entry] = {
    # -- the customer ----------------------------------------------------------------------------------
    "customers": Entry(_cls("id external_id:identifying email:contact first_name:identifying "
                            "last_name:identifying birthday:identifying locale country time_zone created_at "
                            "attributes:free_text objected_at erased_at"), Link("customer", "id"),
                       label="profile"),
    "consents": Entry(_cls("id customer_id channel purpose status source recorded_at double_opt_in_at"), C,
                      label="consent"),
    "consent_events": Entry(_cls("id event_key customer_id channel purpose status source effective_at "
                                 "double_opt_in_at recorded_at applied note:free_text"), C,
                            label="consent history"),
    "orders": Entry(_cls("id external_id customer_id placed_at currency net_total status channel"), C),
    "order_lines": Entry(_cls("id order_id line_no product_id sku description quantity unit_price net_amount"),
                         Link("parent", "order_id", "orders")),
    "events": Entry(_cls("id event_key customer_id type occurred_at properties:free_text"), C),
    "subscriptions": Entry(_cls("id external_id customer_id plan started_at ends_at cancelled_at "
                                "cancellation_reason monthly_amount"), C),
    "feedback": Entry(_cls("id external_id customer_id score comment:free_text submitted_at source"), C),
    "service_cases": Entry(_cls("id external_id customer_id opened_at closed_at category resolution:free_text "
                                "satisfaction status priority owner:none due_at description:free_text origin"),
                           C, label="cases"),
    "case_events": Entry(_cls("id case_id at actor:none kind from_status to_status note:free_text"),
                         Link("parent", "case_id", "service_cases")),
    # -- what Retentio derived and did -----------------------------------------------------------------
    "customer_scores": Entry(_cls("id run_id customer_id first_purchase_at last_purchase_at purchases revenue "
                                  "recency_days r_score f_score m_score rfm_segment lifecycle recovery_track "
                                  "expected_interval_days interval_source days_to_second_purchase"), C,
                             label="scores"),
    "customer_predictions": Entry(_cls("id run_id customer_id model p_alive p_alive_low p_alive_high "
                                       "expected_purchases expected_purchases_low expected_purchases_high "
                                       "p_no_purchase expected_spend clv clv_low clv_high next_purchase_at "
                                       "churn_probability churn_source value_at_risk reasons "
                                       "contract_renewal_probability contract_expected_months"), C,
                                  label="predictions"),
    "flow_enrolments": Entry(_cls("id flow_key flow_version customer_id occurrence variant status step "
                                  "entered_at next_run_at finished_at exit_reason"), C),
    "outbox": Entry(_cls("id idempotency_key flow_key step_id enrolment_id customer_id channel purpose priority "
                         "address:contact locale subject:free_text body_text:free_text body_html:free_text "
                         "payload:free_text status reason attempts recoveries not_before lease_until worker:none "
                         "message_id created_at sent_at last_error:free_text"), C, label="messages"),
    "suppressions": Entry(_cls("id channel address:contact reason created_at"), Link("address", "address")),
    "call_list_entries": Entry(_cls("id outbox_id list_name customer_id priority_value script:free_text "
                                    "context:free_text created_at exported_at"), C),
    # -- loyalty -----------------------------------------------------------------------------------------
    "loyalty_members": Entry(_cls("id program_id customer_id enrolled_at cohort source"), C),
    "ledger_accounts": Entry(_cls("id program_id customer_id kind floor_zero balance version"), C),
    "ledger_transactions": Entry(_cls("id program_id idem_key kind customer_id points effective_at booked_at "
                                      "settles_id reverses_id release_at expires_at net_amount reference "
                                      "actor:none meta:free_text"), C, label="ledger"),
    "ledger_postings": Entry(_cls("id transaction_id account_id amount balance_after account_version"),
                             Link("parent", "account_id", "ledger_accounts")),
    "loyalty_tier_changes": Entry(_cls("id program_id customer_id from_tier to_tier changed_at reason "
                                       "rules_version recorded_at"), C),
    "vouchers": Entry(_cls("id code program_id customer_id kind value currency min_order valid_from expires_at "
                           "max_uses source source_ref transaction_id created_at"), C),
    "voucher_redemptions": Entry(_cls("id voucher_id use_no idem_key order_ref order_total discount "
                                      "redeemed_at"), Link("parent", "voucher_id", "vouchers")),
    # -- surveys -----------------------------------------------------------------------------------------
    "survey_invitations": Entry(_cls("id survey_id customer_id source_ref case_id sent_at"), C),
    "survey_decisions": Entry(_cls("id survey_id customer_id decided_at asked reason source_ref"), C),
    "survey_responses": Entry(_cls("id invitation_id survey_id customer_id score comment:free_text answered_at"),
                              C),
    # -- blobs that may quote anybody --------------------------------------------------------------------
    "import_runs": Entry(_cls("id:none kind:none source:none started_at:none finished_at:none rows_read:none "
                              "rows_imported:none rows_rejected:none reject_report:none status:none "
                              "error:free_text summary:free_text"), why_unlinked="import bookkeeping",
                         scrub=True, export=False),
    "jobs": Entry(_cls("id:none kind:none params:free_text status:none done:none total:none stage:none "
                       "result:free_text error:free_text created_by:none dedupe_key:none created_at:none "
                       "started_at:none finished_at:none heartbeat_at:none"), why_unlinked="background jobs",
                  scrub=True, export=False),
    "idempotent_requests": Entry(_cls("id:none principal:none key:none method:none path:none body_hash:none "
                                      "status_code:none media_type:none response:free_text created_at:none"),
                                 why_unlinked="API answers kept for retries (24 hours)", scrub=True, export=False),
    "webhook_deliveries": Entry(_cls("id:none platform:none delivery_id:none topic:none received_at:none "
                                     "result:free_text replayed:none"), why_unlinked="shop webhook receipts",
                                scrub=True, export=False),
    "refresh_runs": Entry(_none("id started_at finished_at status as_of engine time_zone data_from data_to "
                                "duration_s active_window_days active_window_source row_counts summary warnings "
                                "error"), why_unlinked=AGGREGATE, export=False),
    # -- no customers in here ----------------------------------------------------------------------------
    "erasures": Entry(_none("id erasure_key customer_id key_hash contact_hash reason actor erased_at"),
                      why_unlinked="the erasure log: keyed hashes only, kept to re-apply erasures", export=False),
    "kpi_results": Entry(_none("id run_id granularity active_window_days period_start period_end s e n retained "
                               "crr retained_share churn_rate repeat_purchase_rate purchases purchasing_customers "
                               "purchase_frequency revenue aov"), why_unlinked=AGGREGATE, export=False),
    "cohort_results": Entry(_none("id run_id granularity cohort_start period_index cohort_size customers "
                                  "retention_pct revenue cum_revenue_per_customer"), why_unlinked=AGGREGATE,
                            export=False),
    "products": Entry(_none("id sku name category price"), why_unlinked=CONFIG, export=False),
    "data_changes": Entry(_none("name token changes"), why_unlinked=CONFIG, export=False),
    "install_secrets": Entry(_none("name value created_at"), why_unlinked=CONFIG, export=False),
    "shop_settings": Entry(_none("key value"), why_unlinked=CONFIG, export=False),
    "segments": Entry(_none("id name description definition version updated_at"), why_unlinked=CONFIG,
                      export=False),
    "flows": Entry(_none("key version enabled builtin last_run_at updated_at"), why_unlinked=CONFIG, export=False),
    "flow_versions": Entry(_none("id flow_key version definition created_at"), why_unlinked=CONFIG, export=False),
    "loyalty_programs": Entry(_none("id key name currency rules rules_version starts_at created_at"),
                              why_unlinked=CONFIG, export=False),
    "loyalty_rule_versions": Entry(_none("id program_id version rules created_at created_by"), why_unlinked=CONFIG,
                                   export=False),
    "surveys": Entry(_none("id key kind cadence_days active created_at"), why_unlinked=CONFIG, export=False),
    "users": Entry(_cls("id:none email:contact name:identifying role:none password_hash:none lang:none "
                        "created_at:none last_login_at:none"), why_unlinked=STAFF, export=False),
    "api_keys": Entry(_none("id name role prefix key_hash created_at created_by last_used_at revoked_at"),
                      why_unlinked=CONFIG, export=False),
    "web_sessions": Entry(_none("id token_hash user_id csrf_token created_at expires_at last_seen_at"),
                          why_unlinked=STAFF, export=False),
    "login_failures": Entry(_cls("id:none key:identifying at:none"), why_unlinked=STAFF, export=False),
}


def customer_tables() -> list[str]:
    """Tables holding a customer's rows, parents before children."""
    return [name for name, e in REGISTRY.items() if e.link is not None]


def personal_columns(table: str) -> list[str]:
    return [c for c, k in REGISTRY[table].columns.items() if k in ERASED_CLASSES]


def unclassified(metadata) -> list[str]:
    """``table.column`` of every column in ``metadata`` the registry does not know (and stale entries)."""
    missing = []
    for table in metadata.sorted_tables:
        entry = REGISTRY.get(table.name)
        known = entry.columns if entry else {}
        missing += [f"{table.name}.{c.name}" for c in table.columns if known.get(c.name) not in CLASSES]
    names = {t.name for t in metadata.sorted_tables}
    for name, entry in REGISTRY.items():
        cols = {c.name for c in metadata.tables[name].columns} if name in names else set()
        missing += [f"{name}.{c} (not in the schema)" for c in entry.columns if c not in cols]
    return missing
