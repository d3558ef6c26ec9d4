"""Display names of the codes that data and results carry (lifecycle, RFM segment, reasons, statuses).

Codes are stored (``at_risk``, ``lost_touch``, ``no_consent``); these tables
give each one its English text, marked for the catalogue, and :func:`label`
shows it in a language. An unknown code is shown as it is.
"""

from __future__ import annotations

from retentio.i18n import N_, current_lang, tr

LIFECYCLE = {
    "new": N_("New"), "active": N_("Active"), "reactivated": N_("Reactivated"), "at_risk": N_("At risk"),
    "inactive": N_("Inactive"), "churned": N_("Churned"),
}
TRACKS = {
    "cancelled_contract": N_("Cancelled contract"), "inactive": N_("Reactivation"),
    "behavioural_churn": N_("Behavioural churn"),
}
SEGMENTS = {
    "champions": N_("Champions"), "loyal": N_("Loyal"), "potential_loyalist": N_("Potential Loyalist"),
    "new": N_("New Customers"), "promising": N_("Promising"), "need_attention": N_("Need Attention"),
    "about_to_sleep": N_("About to Sleep"), "at_risk": N_("At Risk"), "cant_lose_them": N_("Can't Lose Them"),
    "hibernating": N_("Hibernating"), "lost": N_("Lost"),
}
REASONS = {
    "lost_touch": N_("No purchase for a long time – overdue against their own rhythm"),
    "declining_activity": N_("Buying less often than before"),
    "low_engagement": N_("Little attachment: short relationship, few purchases"),
    "dissatisfied": N_("Dissatisfied according to their rating (NPS)"),
    "complaint": N_("Open or recent complaint"),
    "service": N_("Weak service experience"),
    "quality": N_("Returns or quality problems"),
    "price": N_("Price or cost"),
    "contract": N_("Contract without commitment or ending"),
    "checkout": N_("Payment method and billing"),
    "low_value": N_("Low order value"),
    "no_interaction": N_("No activity in the shop or newsletter"),
    "other": N_("Other characteristics"),
}
SKIPS = {
    "no_consent": N_("no consent"), "frequency_cap": N_("frequency cap"), "no_address": N_("no address"),
    "suppressed": N_("suppressed"), "budget": N_("budget"), "not_worth_cost": N_("not worth the cost"),
    "unsubscribed": N_("unsubscribed"), "consent_withdrawn_or_suppressed": N_("consent withdrawn"),
    "flow_failed": N_("flow failed"),
    "survey_floor_24h": N_("survey: asked within 24 hours"), "survey_global_gap": N_("survey: asked recently"),
    "survey_cadence": N_("survey: not due yet"), "survey_inactive": N_("survey switched off"),
}
VERDICTS = {
    "lift": N_("Effect shown: more purchases than the control group"),
    "harm": N_("Harmful: fewer purchases than the control group"),
    "no_detectable_difference": N_("No detectable difference (interval includes 0)"),
    "too_few": N_("Too few customers for a conclusion"),
    "no_control": N_("No control group (control_share 0): the effect cannot be measured"),
}
VERDICTS_SHORT = {
    "lift": N_("effect"), "harm": N_("harm"), "no_detectable_difference": N_("not shown"),
    "too_few": N_("too few"), "no_control": N_("no control group"),
}
WINDOW_SOURCES = {
    "call": N_("set for this call"), "shop": N_("shop setting"), "derived": N_("derived from the repurchase cycle"),
    "fallback": N_("default, too few repeat purchases"),
}
ORDER_STATUSES = {"placed": N_("placed"), "cancelled": N_("cancelled"), "returned": N_("returned")}
INTERVAL_SOURCES = {"own": N_("own rhythm"), "shop": N_("shop's rhythm")}
CONSENT_STATUSES = {"granted": N_("granted"), "denied": N_("denied"), "withdrawn": N_("withdrawn"),
                    "pending": N_("pending")}
PERIODS = {"week": N_("week"), "month": N_("month"), "quarter": N_("quarter")}
UNITS = {"weeks": N_("weeks"), "days": N_("days")}
STAGE_STATUSES = {"ok": N_("ok"), "skipped": N_("not run"), "failed": N_("failed")}
MESSAGE_STATUSES = {"pending": N_("queued"), "claimed": N_("being sent"), "sending": N_("being sent"),
                    "sent": N_("sent"), "in_doubt": N_("in doubt"), "failed": N_("failed"), "skipped": N_("skipped"),
                    "retry": N_("to retry"), "worker": N_("worker")}
# The models' own names (BG/NBD, …) are proper names, the same in both languages; stored predictions
# name their model by key.
MODEL_NAMES = {"Rules": N_("Rules"), "rules": N_("Rules"), "bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD",
               "paretonbd": "Pareto/NBD", "nbd": "NBD"}
PARAMETERS = {"typical_interval": N_("typical interval"), "alpha": "α", "beta": "β", "gamma": "γ"}
STAGES = {"transactions": N_("transaction model"), "spend": N_("spend model"), "churn": N_("churn model"),
          "contracts": N_("contracts")}

ROLES = {"viewer": N_("viewer"), "analyst": N_("analyst"), "marketer": N_("marketer"), "admin": N_("admin"),
         "ingest": N_("ingestion"), "tracking": N_("tracking")}
JOB_STATUSES = {"queued": N_("queued"), "running": N_("running"), "done": N_("done"), "failed": N_("failed")}
JOB_KINDS = {"import": N_("import"), "refresh": N_("refresh"), "flows": N_("flow run"),
             "retention": N_("retention period")}
MILESTONES = {"birthday": N_("Birthday"), "contract_end": N_("Contract ends"), "points_expire": N_("Points expire")}
TILES = {
    "crr": N_("Customer retention rate (CRR)"), "retained_share": N_("Retained share"),
    "churn_rate": N_("Churn (100 % − retained)"), "repeat_purchase_rate": N_("Repeat-purchase rate"),
    "n": N_("New customers"), "revenue": N_("Revenue"), "aov": N_("Average order value"),
    "purchase_frequency": N_("Purchase frequency"),
}
TIMELINE = {"order": N_("Order"), "event": N_("Event"), "message": N_("Message"), "feedback": N_("Feedback"),
            "case": N_("Service case"), "consent": N_("Consent")}

OPERATORS = {"eq": N_("is"), "ne": N_("is not"), "in": N_("is one of"), "not_in": N_("is none of"),
             "gt": N_("more than"), "gte": N_("at least"), "lt": N_("less than"), "lte": N_("at most"),
             "between": N_("between"), "is_null": N_("missing or present"), "contains": N_("contains")}

STEPS = {"wait": N_("wait"), "send": N_("send e-mail"), "branch": N_("branch"), "split": N_("A/B split"),
         "call_list": N_("call list"), "webhook": N_("webhook"), "exit": N_("exit")}
BRANCHES = {"then": N_("yes"), "else": N_("no")}

KINDS = {"orders": N_("orders"), "order-lines": N_("order lines"), "customers": N_("customers"),
         "events": N_("events"), "subscriptions": N_("contracts"), "feedback": N_("feedback (NPS)"),
         "cases": N_("service cases")}

SETTINGS = {
    "name": N_("Shop name"), "time_zone": N_("Time zone"), "currency": N_("Currency"), "locale": N_("Locale"),
    "category": N_("What the shop sells"), "active_window_days": N_("Activity window in days (empty: automatic)"),
    "lifecycle_active": N_("Active up to × own rhythm"), "lifecycle_at_risk": N_("At risk up to × own rhythm"),
    "lifecycle_inactive": N_("Inactive up to × own rhythm"), "prediction_horizon_days": N_("Prediction horizon (days)"),
    "margin": N_("Gross margin (0–1)"), "discount_rate": N_("Yearly discount rate"),
    "frequency_cap": N_("At most this many marketing messages …"), "frequency_window_days": N_("… within days"),
    "quiet_hours_start": N_("Quiet hours from"), "quiet_hours_end": N_("Quiet hours until"),
    "require_double_opt_in": N_("Marketing e-mail only after double opt-in"),
    "attribution_days": N_("Attribution window (days)"), "sender_name": N_("Sender name"),
    "sender_email": N_("Sender address"), "legal_name": N_("Legal name"), "postal_address": N_("Postal address"),
    "imprint": N_("Imprint"), "logo_url": N_("Logo URL"), "shop_url": N_("Shop URL"),
    "public_url": N_("Public address of Retentio's links"),
    "schedule_refresh_hour": N_("Refresh daily at hour (empty: off)"),
    "schedule_flows_minutes": N_("Run flows every N minutes (0: off)"),
    "schedule_worker": N_("Deliver the outbox continuously"), "smtp_url": N_("SMTP URL"),
    "shopify_webhook_secret": N_("Shopify webhook secret"),
    "woocommerce_webhook_secret": N_("WooCommerce webhook secret"),
    "shopware_webhook_secret": N_("Shopware app secret"), "demo": N_("Demo shop"),
    "survey_min_gap_days": N_("At least this many days between two surveys to one person"),
    "sla_urgent_hours": N_("Case due within hours: urgent"), "sla_high_hours": N_("Case due within hours: high"),
    "sla_normal_hours": N_("Case due within hours: normal"), "sla_low_hours": N_("Case due within hours: low"),
    "cost_per_message": N_("Cost of one marketing message (budget advisor)"),
    "retention_years": N_("Erase customers inactive for this many years (empty: off)"),
}

# Consent channels and purposes, as the customer page and `retentio customer` name them.
CONSENT_CHANNELS = {"email": N_("E-mail")}
CONSENT_PURPOSE_NAMES = {"marketing": N_("advertising"), "transactional": N_("service messages")}

TABLES = {
    "lifecycle": LIFECYCLE, "track": TRACKS, "segment": SEGMENTS, "reason": REASONS, "skip": SKIPS,
    "verdict": VERDICTS, "verdict_short": VERDICTS_SHORT, "window_source": WINDOW_SOURCES,
    "order_status": ORDER_STATUSES, "interval_source": INTERVAL_SOURCES, "consent": CONSENT_STATUSES,
    "period": PERIODS, "unit": UNITS, "stage": STAGE_STATUSES, "stage_name": STAGES, "model": MODEL_NAMES, "message": MESSAGE_STATUSES,
    "role": ROLES, "job": JOB_STATUSES, "job_kind": JOB_KINDS, "tile": TILES, "timeline": TIMELINE,
    "op": OPERATORS, "step": STEPS, "branch": BRANCHES, "kind": KINDS,
    "setting": SETTINGS, "milestone": MILESTONES, "channel": CONSENT_CHANNELS, "purpose": CONSENT_PURPOSE_NAMES,
}


def label(kind: str, code: str | None, lang: str | None = None) -> str:
    """The display text of ``code`` (a table of :data:`TABLES`); "–" for none."""
    if code is None or code != code or code == "":
        return "–"
    text = TABLES.get(kind, {}).get(str(code).split(" ")[0])
    return tr(lang or current_lang(), text) if text else str(code)


def reasons_text(reasons, lang: str | None = None, top: int | None = None) -> str:
    """Churn reasons (``[{"reason": code, "push": …}]``) as one line."""
    items = list(reasons or [])[:top] if top else list(reasons or [])
    return "; ".join(label("reason", r.get("reason"), lang) for r in items if isinstance(r, dict))


def params_text(model: dict, f, *, compact: bool = False, lang: str | None = None) -> str:
    """A fitted model's parameters with standard errors, in the language of ``f``: "r = 0,731 ± 0,030, α = …"."""
    se = model.get("se") or {}
    eq, pm = ("=", "±") if compact else (" = ", " ± ")
    out = []
    for k, v in (model.get("params") or {}).items():
        name = PARAMETERS.get(k, k)
        name = tr(lang or current_lang(), name) if name.isascii() and k in PARAMETERS else name
        out.append(f"{name}{eq}{f.num(v, 3, trim=compact)}" + (f"{pm}{f.num(se[k], 3 if not compact else 2, trim=compact)}"
                                                               if se.get(k) is not None else ""))
    return ", ".join(out)
