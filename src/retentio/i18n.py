"""German and English: which language a screen speaks, and the gettext catalogue behind it.

Source strings are English and marked in the code (``_("…")``, ``tr(lang,
"…")``, ``N_("…")`` for tables of labels, and the ``Msg``/error classes); the
German catalogue is ``locale/de/LC_MESSAGES/retentio.po``, extracted and
updated with Babel (``python tools/catalog.py update``) and compiled to ``.mo``
when the package is built. A source checkout without a compiled catalogue
compiles it on first use. ``tests/test_i18n.py`` fails on any marked string
without a German translation.

Messages that are stored (refresh warnings, why a model was not used) are
kept as :class:`Msg` — the English source text and its arguments — and
translated when shown, so one stored run reads right in both languages.
"""

from __future__ import annotations

import contextlib
import gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGS = ("de", "en")
DEFAULT_LANG = "de"
DOMAIN = "retentio"
LOCALEDIR = Path(__file__).parent / "locale"

_current: ContextVar[str | None] = ContextVar("retentio_lang", default=None)


def _code(value: str) -> str:
    return value.strip().lower().replace("-", "_").split("_")[0].split(".")[0]


def check_lang(value: str) -> str:
    code = _code(value)
    if code not in LANGS:
        from retentio.errors import ConfigError

        raise ConfigError(Msg("language {lang!r} is not supported; use de or en", lang=value))
    return code


def resolve_lang(explicit: str | None = None, shop_locale: str | None = None) -> str:
    """--lang, then RETENTIO_LANG (both must name de or en), then the system locale, the shop's, German."""
    for given in (explicit, os.environ.get("RETENTIO_LANG")):
        if given:
            return check_lang(given)
    for candidate in (os.environ.get("LC_ALL"), os.environ.get("LC_MESSAGES"), os.environ.get("LANG"), shop_locale):
        if candidate and _code(candidate) in LANGS:
            return _code(candidate)
    return DEFAULT_LANG


def current_lang() -> str:
    """The language of the screen being produced (set by the CLI, the web request, a report)."""
    return _current.get() or resolve_lang()


def set_lang(lang: str) -> None:
    _current.set(check_lang(lang))


@contextmanager
def using(lang: str) -> Iterator[str]:
    token = _current.set(check_lang(lang))
    try:
        yield lang
    finally:
        _current.reset(token)


def _compiled(lang: str) -> gettext.NullTranslations:
    po = LOCALEDIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    if not po.exists():
        return gettext.NullTranslations()
    # A source checkout (or an editable install) has no compiled catalogue yet.
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    with contextlib.suppress(OSError):  # a read-only install keeps it in memory
        mo.write_bytes(buf.getvalue())
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@lru_cache(maxsize=4)
def translations(lang: str) -> gettext.NullTranslations:
    return gettext.NullTranslations() if lang == "en" else _compiled(lang)


def _arg(value: Any, lang: str) -> Any:
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, float):
        from retentio.formatting import Fmt

        return Fmt(lang).num(value, 3, trim=True)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Msg) for v in value):
        return "; ".join(v.render(lang) for v in value)
    return value


def tr(lang: str, msgid: str, **args: Any) -> str:
    """``msgid`` in ``lang``, with ``{name}`` placeholders filled (floats in the language's notation)."""
    text = translations(lang).gettext(msgid) if msgid else msgid
    if not args:
        return text
    return text.format(**{k: _arg(v, lang) for k, v in args.items()})


def trn(lang: str, singular: str, plural: str, n: int, **args: Any) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **{k: _arg(v, lang) for k, v in args.items()})


def _(msgid: str, **args: Any) -> str:
    """``msgid`` in the current language."""
    return tr(current_lang(), msgid, **args)


def N_(msgid: str) -> str:
    """Mark a string for the catalogue; translated where it is shown."""
    return msgid


class Msg:
    """A message to translate when shown: its English source text and arguments.

    Arguments may be messages themselves (a reason inside a sentence) or lists
    of messages (joined with "; ").
    """

    __slots__ = ("args", "msgid")

    def __init__(self, msgid: str, **args: Any) -> None:
        self.msgid = msgid
        self.args = args

    def render(self, lang: str | None = None) -> str:
        return tr(lang or current_lang(), self.msgid, **self.args)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r}, {self.args!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.msgid, self.args) == (other.msgid, other.args)

    def __hash__(self) -> int:
        return hash(self.msgid)

    def to_json(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Msg):
                return v.to_json()
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if hasattr(v, "item"):  # numpy scalars
                return v.item()
            return v

        return {"msg": self.msgid, "args": {k: plain(v) for k, v in self.args.items()}}

    @classmethod
    def from_json(cls, data: Any) -> Msg | str:
        if isinstance(data, Mapping) and "msg" in data:
            return cls(str(data["msg"]), **{k: cls._arg_from_json(v) for k, v in (data.get("args") or {}).items()})
        return "" if data is None else str(data)

    @classmethod
    def _arg_from_json(cls, v: Any) -> Any:
        if isinstance(v, Mapping) and "msg" in v:
            return cls.from_json(v)
        if isinstance(v, list):
            return [cls._arg_from_json(x) for x in v]
        return v


def message_text(stored: Any, lang: str | None = None) -> str:
    """A stored message (``Msg.to_json()``, a plain string, or a list of them) in ``lang``."""
    if stored is None:
        return ""
    if isinstance(stored, list):
        return "; ".join(message_text(s, lang) for s in stored)
    msg = stored if isinstance(stored, Msg) else Msg.from_json(stored)
    return msg.render(lang) if isinstance(msg, Msg) else msg


# --- legacy keyed texts (being moved into the catalogue) ---
TEXT: dict[str, dict[str, str]] = {
    "period_start": {"de": "Periode", "en": "Period"},
    "s": {"de": "S (Beginn)", "en": "S (start)"},
    "e": {"de": "E (Ende)", "en": "E (end)"},
    "n": {"de": "N (neu)", "en": "N (new)"},
    "retained": {"de": "gehalten", "en": "retained"},
    "crr": {"de": "CRR", "en": "CRR"},
    "retained_share": {"de": "Gehalten %", "en": "Retained %"},
    "churn_rate": {"de": "Abwanderung %", "en": "Churn %"},
    "repeat_purchase_rate": {"de": "Wiederkauf %", "en": "Repeat %"},
    "purchases": {"de": "Käufe", "en": "Purchases"},
    "purchasing_customers": {"de": "Käufer", "en": "Buyers"},
    "purchase_frequency": {"de": "Kaufhäufigkeit", "en": "Frequency"},
    "revenue": {"de": "Umsatz", "en": "Revenue"},
    "aov": {"de": "Ø Bestellwert", "en": "AOV"},
    "cohort_start": {"de": "Kohorte", "en": "Cohort"},
    "cohort_size": {"de": "Größe", "en": "Size"},
    "customers": {"de": "Kunden", "en": "Customers"},
    "segment": {"de": "Segment", "en": "Segment"},
    "share": {"de": "Anteil", "en": "Share"},
    "avg_recency_days": {"de": "Ø Tage seit Kauf", "en": "Avg days since purchase"},
    "avg_purchases": {"de": "Ø Käufe", "en": "Avg purchases"},
    "kpi_title": {"de": "Kundenbindung je {period}", "en": "Retention by {period}"},
    "cohort_title": {"de": "Kohorten ({period}) – {metric}", "en": "Cohorts ({period}) – {metric}"},
    "segments_title": {"de": "RFM-Segmente", "en": "RFM segments"},
    "lifecycle_title": {"de": "Lebenszyklus", "en": "Lifecycle"},
    "window_note": {"de": "Aktivitätsfenster: {days} Tage ({source})",
                    "en": "Activity window: {days} days ({source})"},
    "src_call": {"de": "per Aufruf gesetzt", "en": "set for this call"},
    "src_shop": {"de": "Shop-Einstellung", "en": "shop setting"},
    "src_derived": {"de": "aus dem Wiederkaufzyklus abgeleitet", "en": "derived from the repurchase cycle"},
    "src_fallback": {"de": "Standardwert, zu wenige Wiederkäufe", "en": "default, too few repeat purchases"},
    "as_of": {"de": "Stand", "en": "As of"},
    "week": {"de": "Woche", "en": "week"},
    "month": {"de": "Monat", "en": "month"},
    "quarter": {"de": "Quartal", "en": "quarter"},
    "warmup": {"de": "Anlaufphase: weniger als ein Aktivitätsfenster Daten vor Periodenbeginn",
               "en": "warm-up: less than one activity window of data before the period start"},
    # lifecycle
    "new": {"de": "Neu", "en": "New"},
    "active": {"de": "Aktiv", "en": "Active"},
    "reactivated": {"de": "Reaktiviert", "en": "Reactivated"},
    "at_risk": {"de": "Gefährdet", "en": "At risk"},
    "inactive": {"de": "Inaktiv", "en": "Inactive"},
    "churned": {"de": "Abgewandert", "en": "Churned"},
    "cancelled_contract": {"de": "Kündigung", "en": "Cancelled contract"},
    "behavioural_churn": {"de": "Abwanderung (Verhalten)", "en": "Behavioural churn"},
    "track_inactive": {"de": "Revitalisierung", "en": "Reactivation"},
    # RFM segments
    "champions": {"de": "Champions", "en": "Champions"},
    "loyal": {"de": "Treue Kunden", "en": "Loyal"},
    "potential_loyalist": {"de": "Potenziell treu", "en": "Potential Loyalist"},
    "seg_new": {"de": "Neukunden", "en": "New"},
    "promising": {"de": "Vielversprechend", "en": "Promising"},
    "need_attention": {"de": "Brauchen Aufmerksamkeit", "en": "Need Attention"},
    "about_to_sleep": {"de": "Kurz vor dem Einschlafen", "en": "About to Sleep"},
    "seg_at_risk": {"de": "Gefährdet", "en": "At Risk"},
    "cant_lose_them": {"de": "Nicht verlieren!", "en": "Can't Lose Them"},
    "hibernating": {"de": "Winterschlaf", "en": "Hibernating"},
    "lost": {"de": "Verloren", "en": "Lost"},
    # profile
    "profile": {"de": "Kundenprofil", "en": "Customer profile"},
    "orders": {"de": "Bestellungen", "en": "Orders"},
    "no_refresh": {"de": "Noch keine Auswertung: `retentio refresh` ausführen.",
                   "en": "No results yet: run `retentio refresh`."},
    "unknown_customer": {"de": "Kunde {id} nicht gefunden", "en": "Customer {id} not found"},
    # report
    "report_title": {"de": 'Kundenbindungsbericht', "en": 'Retention report'},
    "report_customers": {"de": 'Kunden', "en": 'Customers'},
    "report_revenue": {"de": 'Nettoumsatz', "en": 'Net revenue'},
    "report_rpr": {"de": 'Wiederkaufrate', "en": 'Repeat-purchase rate'},
    "report_t2": {"de": 'Median bis zum 2. Kauf', "en": 'Median time to 2nd purchase'},
    "report_crr": {"de": 'Kundenbindungsrate (letzter Monat)', "en": 'Retention rate (last period)'},
    "report_churn": {"de": 'Abwanderungsrate (letzter Monat)', "en": 'Churn rate (last period)'},
    "report_trend": {"de": 'Kennzahlen im Zeitverlauf', "en": 'KPI trends'},
    "report_revnew": {"de": 'Umsatz und Neukunden', "en": 'Revenue and new customers'},
    "report_new": {"de": 'Neukunden', "en": 'New customers'},
    "report_cohorts": {"de": 'Kohorten: Anteil wiederkaufender Kunden', "en": 'Cohorts: share of customers buying'},
    "report_cohort_rev": {"de": 'Kumulierter Umsatz je Kunde (Kohorte)', "en": 'Cumulative revenue per customer (cohort)'},
    "report_segments": {"de": 'RFM-Segmente: Anteil an Kunden und Umsatz', "en": 'RFM segments: share of customers and revenue'},
    "report_lifecycle": {"de": 'Lebenszyklus-Status', "en": 'Lifecycle status'},
    "report_tracks": {"de": 'Rückgewinnungspfade', "en": 'Recovery tracks'},
    "report_second": {"de": 'Zeit bis zum zweiten Kauf (Tage)', "en": 'Time to second purchase (days)'},
    "report_days": {"de": 'Tage', "en": 'days'},
    "report_with_second": {"de": '{share} der Kunden haben ein zweites Mal gekauft; Median {median} Tage (Quartile {p25}–{p75}).', "en": '{share} of customers bought a second time; median {median} days (quartiles {p25}–{p75}).'},
    "report_defs": {"de": 'Definitionen: CRR = (E − N) / S × 100 mit S = aktive Kunden zu Periodenbeginn, E = am Ende, N = Neukunden der Periode; aktiv = Kauf in den letzten {w} Tagen oder laufender Vertrag. Gehalten = zu Beginn und Ende aktiv, Abwanderung = 100 % − gehalten.', "en": 'Definitions: CRR = (E − N) / S × 100 with S = customers active at the period start, E = at its end, N = new customers in the period; active = a purchase in the last {w} days or a running contract. Retained = active at start and end, churn = 100 % − retained.'},
    "report_predictions": {"de": 'Prognosen: Modellwahl im Backtest', "en": 'Predictions: model choice by backtest'},
    "report_tracking": {"de": 'Kumulierte Wiederkäufe im Prüfzeitraum: tatsächlich und je Modell',
                        "en": 'Cumulative repeat purchases in the holdout: actual and per model'},
    "report_step": {"de": 'Wochen nach Kalibrierungsende', "en": 'weeks after the calibration end'},
    "report_step_days": {"de": 'Tage nach Kalibrierungsende', "en": 'days after the calibration end'},
    "report_condexp": {"de": 'Käufe im Prüfzeitraum je Kunde nach Käufen in der Kalibrierung',
                       "en": 'Holdout purchases per customer by calibration purchases'},
    "report_calib": {"de": 'Kalibrierung: vorhergesagte und beobachtete Anteile', "en": 'Calibration: forecast and observed shares'},
    "report_calib_x": {"de": 'vorhergesagt', "en": 'forecast'},
    "report_calib_y": {"de": 'beobachtet', "en": 'observed'},
    "report_no_purchase": {"de": 'kein Kauf im Prüfzeitraum', "en": 'no purchase in the holdout'},
    "report_churn_model": {"de": 'Abwanderungsmodell', "en": 'Churn model'},
    "report_churn_metrics": {"de": 'Abwanderungsmodell (kein Kauf in {h} Tagen), geprüft auf dem Stichtag {cut}: ROC AUC {auc}, PR AUC {pr}, Brier {brier}, Lift in den oberen 10 % {lift}.',
                             "en": 'Churn model (no purchase within {h} days), validated at the cutoff {cut}: ROC AUC {auc}, PR AUC {pr}, Brier {brier}, lift in the top 10 % {lift}.'},
    "report_chosen": {"de": 'Gewählt: {name} (geringster mittlerer absoluter Fehler je Kunde im Prüfzeitraum), neu geschätzt auf der ganzen Historie. Kalibrierung bis {cal}, Prüfzeitraum bis {hold}.',
                      "en": 'Chosen: {name} (lowest mean absolute error per customer on the holdout), refitted on the whole history. Calibration to {cal}, holdout to {hold}.'},
    "report_at_risk": {"de": 'Höchster Kundenwert in Gefahr', "en": 'Highest value at risk'},
    "report_generated": {"de": 'Erstellt', "en": 'Generated'},
    "report_run": {"de": 'Auswertung', "en": 'Refresh'},
    "report_period0": {"de": 'Periode 0 = Erstkaufperiode (immer 100 %).', "en": 'Period 0 = first-purchase period (always 100 %).'},
    "report_warmup": {"de": 'Perioden in der Anlaufphase (weniger als ein Aktivitätsfenster Vorlauf) sind ausgegraut.', "en": 'Warm-up periods (less than one activity window of history) are greyed out.'},
    # Predictions.
    "at_risk_title": {"de": "Gefährdeter Kundenwert (Top {n}, CLV × Abwanderungsrisiko)",
                      "en": "Value at risk (top {n}, CLV × churn risk)"},
    "customer_no": {"de": "Kunde", "en": "Customer"},
    "name": {"de": "Name", "en": "Name"},
    "status": {"de": "Status", "en": "Status"},
    "clv": {"de": "CLV", "en": "CLV"},
    "p_alive": {"de": "P(aktiv)", "en": "P(alive)"},
    "churn_probability": {"de": "Risiko", "en": "Churn risk"},
    "value_at_risk": {"de": "Wert in Gefahr", "en": "Value at risk"},
    "next_purchase": {"de": "Nächster Kauf ca.", "en": "Next purchase ~"},
    "reasons": {"de": "Gründe", "en": "Reasons"},
    "expected_purchases": {"de": "Erw. Käufe", "en": "Exp. purchases"},
    "expected_spend": {"de": "Erw. Bon", "en": "Exp. spend"},
    "model": {"de": "Modell", "en": "Model"},
    "log_likelihood": {"de": "Log-Likelihood", "en": "Log-likelihood"},
    "parameters": {"de": "Parameter (± Standardfehler)", "en": "Parameters (± standard error)"},
    "mae": {"de": "MAE je Kunde", "en": "MAE per customer"},
    "correlation": {"de": "Korrelation", "en": "Correlation"},
    "predicted": {"de": "vorhergesagt", "en": "predicted"},
    "actual": {"de": "tatsächlich", "en": "actual"},
    "brier": {"de": "Brier (kein Kauf)", "en": "Brier (no purchase)"},
    "backtest_title": {"de": "Backtest: Kalibrierung bis {cal}, Prüfzeitraum bis {hold} ({unit})",
                       "en": "Backtest: calibration to {cal}, holdout to {hold} ({unit})"},
    "by_frequency_title": {"de": "Käufe im Prüfzeitraum nach Käufen in der Kalibrierung",
                           "en": "Holdout purchases by calibration purchases"},
    "best_model": {"de": "Bestes Modell im Prüfzeitraum: {name}", "en": "Best model on the holdout: {name}"},
    "fallback_rules": {"de": "Keine Modellprognose – Regeln statt Modell, weil: {why}",
                       "en": "No model forecast – rules instead, because: {why}"},
    "prediction_line": {"de": "{model}: P(aktiv) {alive} · erwartete Käufe in {days} Tagen {exp} ({lo}–{hi}) · "
                              "Bon {spend} · CLV {clv} ({clv_lo}–{clv_hi}) · Risiko {risk} · nächster Kauf ca. {next}",
                        "en": "{model}: P(alive) {alive} · expected purchases in {days} days {exp} ({lo}–{hi}) · "
                              "spend {spend} · CLV {clv} ({clv_lo}–{clv_hi}) · churn risk {risk} · next purchase ~{next}"},
    "contract_line": {"de": "Vertrag: verlängert im nächsten Monat mit {p}; erwartet noch {m} Monate (2 Jahre, abgezinst)",
                      "en": "Contract: renews next month with {p}; {m} more months expected (2 years, discounted)"},
    "report_contracts": {"de": 'Verträge (sBG, Monate): α = {a}, β = {b}; {n} Verträge, {ended} beendet. Verlängerungsquote im 1. Monat {r1}, im 12. Monat {r12}; nach 12 Monaten noch aktiv: {s12}.',
                         "en": 'Contracts (sBG, months): α = {a}, β = {b}; {n} contracts, {ended} ended. Renewal rate in month 1 {r1}, in month 12 {r12}; still active after 12 months: {s12}.'},
    # Churn reasons (predictions): what pushes a customer's churn risk up.
    "reason_lost_touch": {"de": "Lange kein Kauf – überfällig gemessen am eigenen Kaufrhythmus",
                          "en": "No purchase for a long time – overdue against their own rhythm"},
    "reason_declining_activity": {"de": "Kauft seltener als früher", "en": "Buying less often than before"},
    "reason_low_engagement": {"de": "Wenig Bindung: kurze Kundenbeziehung, wenige Käufe",
                              "en": "Little attachment: short relationship, few purchases"},
    "reason_dissatisfied": {"de": "Unzufrieden laut Bewertung (NPS)", "en": "Dissatisfied according to their rating (NPS)"},
    "reason_complaint": {"de": "Offene oder kürzliche Reklamation", "en": "Open or recent complaint"},
    "reason_service": {"de": "Schwache Service-Erfahrung", "en": "Weak service experience"},
    "reason_quality": {"de": "Retouren oder Qualitätsprobleme", "en": "Returns or quality problems"},
    "reason_price": {"de": "Preis bzw. Kosten", "en": "Price or cost"},
    "reason_contract": {"de": "Vertrag ohne Bindung oder läuft aus", "en": "Contract without commitment or ending"},
    "reason_checkout": {"de": "Zahlungsweg und Abrechnung", "en": "Payment method and billing"},
    "reason_low_value": {"de": "Geringer Bestellwert", "en": "Low order value"},
    "reason_no_interaction": {"de": "Keine Aktivität im Shop oder Newsletter",
                              "en": "No activity in the shop or newsletter"},
    "verdict_lift": {"de": "Wirkung nachgewiesen: mehr Käufe als in der Kontrollgruppe",
                     "en": "Effect shown: more purchases than the control group"},
    "verdict_harm": {"de": "Schadet: weniger Käufe als in der Kontrollgruppe",
                     "en": "Harmful: fewer purchases than the control group"},
    "verdict_no_detectable_difference": {"de": "Kein nachweisbarer Unterschied (Intervall enthält 0)",
                                         "en": "No detectable difference (interval includes 0)"},
    "verdict_too_few": {"de": "Zu wenige Kunden für eine Aussage", "en": "Too few customers for a conclusion"},
    "report_flows": {"de": "Flows: Wirkung gegenüber der Kontrollgruppe", "en": "Flows: effect against the control group"},
    "report_flows_summary": {"de": "{n} Flows aktiv · {sent} Nachrichten versandt · {skipped} nicht versandt ({reasons})",
                             "en": "{n} flows on · {sent} messages sent · {skipped} not sent ({reasons})"},
    "report_flows_note": {"de": "Verglichen werden alle der Variante zugeteilten Kunden mit der per Hash festen "
                                "Kontrollgruppe (intent to treat); Kauf innerhalb des Zuordnungsfensters; 95-%-Intervall "
                                "nach Newcombe. „Wirkung“ nur, wenn das Intervall die 0 ausschließt.",
                          "en": "Everyone assigned to the variant is compared with the hash-fixed control group "
                                "(intent to treat); purchase within the attribution window; 95 % interval by "
                                "Newcombe. \u201cEffect\u201d only when the interval excludes 0."},
    "report_treated": {"de": "Variante", "en": "Treated"},
    "report_control": {"de": "Kontrolle", "en": "Control"},
    "report_sent": {"de": "versandt", "en": "sent"},
    "report_conv": {"de": "Kaufrate", "en": "Conversion"},
    "report_uplift": {"de": "Zusatzeffekt [95 %]", "en": "Uplift [95 %]"},
    "report_rev_diff": {"de": "Δ Umsatz/Kunde", "en": "Δ revenue/customer"},
    "skip_no_consent": {"de": "ohne Einwilligung", "en": "no consent"},
    "skip_frequency_cap": {"de": "Kontaktlimit", "en": "frequency cap"},
    "skip_no_address": {"de": "ohne Adresse", "en": "no address"},
    "skip_suppressed": {"de": "gesperrt", "en": "suppressed"},
    "skip_budget": {"de": "Budget", "en": "budget"},
    "skip_not_worth_cost": {"de": "lohnt nicht", "en": "not worth the cost"},
    "skip_unsubscribed": {"de": "abgemeldet", "en": "unsubscribed"},
    "skip_consent_withdrawn_or_suppressed": {"de": "Einwilligung entzogen", "en": "consent withdrawn"},
    "web_unsub_title": {"de": "Vom Newsletter abmelden", "en": "Unsubscribe from the newsletter"},
    "web_unsub_ask": {"de": "Möchten Sie keine Werbe-E-Mails mehr von uns erhalten?",
                  "en": "Do you no longer want to receive marketing emails from us?"},
    "web_unsub_button": {"de": "Abmelden", "en": "Unsubscribe"},
    "web_unsub_done": {"de": "Sie sind abgemeldet. Sie erhalten keine Werbe-E-Mails mehr; Bestell- und "
                         "Servicenachrichten bekommen Sie weiterhin.",
                   "en": "You are unsubscribed. You will receive no more marketing emails; order and "
                         "service messages still reach you."},
    "web_fb_title": {"de": "Ihre Meinung", "en": "Your opinion"},
    "web_fb_ask": {"de": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen? (0 = gar nicht, 10 = sehr)",
               "en": "How likely are you to recommend us? (0 = not at all, 10 = extremely)"},
    "web_fb_comment": {"de": "Möchten Sie uns etwas mitteilen?", "en": "Anything you would like to tell us?"},
    "web_fb_send": {"de": "Absenden", "en": "Send"},
    "web_fb_done": {"de": "Danke für Ihre Rückmeldung!", "en": "Thank you for your feedback!"},
    "web_bad_link": {"de": "Dieser Link ist ungültig.", "en": "This link is not valid."},
    "mail_unsubscribe": {"de": "Abmelden", "en": "Unsubscribe"},
    "mail_unsubscribe_note": {"de": "Sie erhalten diese E-Mail, weil Sie dem Newsletter zugestimmt haben.",
                              "en": "You receive this email because you subscribed to our newsletter."},
    "mail_hello": {"de": "Hallo {name}", "en": "Hi {name}"},
    "mail_hello_anon": {"de": "Guten Tag", "en": "Hello"},
    "short_lift": {"de": "Wirkung", "en": "effect"},
    "short_harm": {"de": "Schaden", "en": "harm"},
    "short_no_detectable_difference": {"de": "kein Nachweis", "en": "not shown"},
    "short_too_few": {"de": "zu wenige", "en": "too few"},
    "short_no_control": {"de": "ohne Kontrollgruppe", "en": "no control group"},
    "verdict_no_control": {"de": "Ohne Kontrollgruppe (control_share 0): keine Aussage zur Wirkung möglich",
                           "en": "No control group (control_share 0): the effect cannot be measured"},
    "reason_other": {"de": "Sonstige Merkmale", "en": "Other characteristics"},

}


def t(key: str, lang: str, **kw) -> str:
    entry = TEXT.get(key)
    text = entry.get(lang, entry["en"]) if entry else key
    return text.format(**kw) if kw else text


def segment_label(seg: str | None, lang: str) -> str:
    if not seg:
        return "–"
    key = {"new": "seg_new", "at_risk": "seg_at_risk"}.get(seg, seg)
    return t(key, lang)


def track_label(track: str | None, lang: str) -> str:
    if not track:
        return "–"
    return t("track_inactive" if track == "inactive" else track, lang)



from retentio.formatting import LOCALES, Fmt  # noqa: E402,F401  (legacy import path)
