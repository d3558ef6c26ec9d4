"""What each import kind expects: canonical fields, their types and aliases.

A file in the canonical format needs no mapping at all; common aliases
(English and German shop-system exports) are recognised too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from retentio.i18n import Msg


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # str | int | money | float | datetime | date | enum | json | bool
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: dict[str, str] = field(default_factory=dict)  # synonym -> canonical
    max_len: int | None = None
    min: float | None = None
    max: float | None = None
    key: bool = False  # an identifier: normalised (docs/import.md, "Identifiers")
    future: bool = False  # a time that may lie ahead (a contract's end)
    multiline: bool = False  # free text that may hold line breaks


def norm_header(name: str) -> str:
    """``" Bestell-Nr. "`` -> ``"bestell_nr"``: how headers are compared."""
    s = str(name).strip().lstrip("\ufeff").lower()
    s = s.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    s = re.sub(r"[^a-z0-9]+", "_", s)
    return s.strip("_")


STATUS = {
    "placed": "placed", "completed": "placed", "complete": "placed", "paid": "placed",
    "shipped": "placed", "delivered": "placed", "open": "placed", "processing": "placed",
    "bezahlt": "placed", "versendet": "placed", "abgeschlossen": "placed", "geliefert": "placed",
    "offen": "placed", "bestellt": "placed",
    "cancelled": "cancelled", "canceled": "cancelled", "void": "cancelled",
    "storniert": "cancelled", "storno": "cancelled", "abgebrochen": "cancelled",
    "returned": "returned", "refunded": "returned", "return": "returned", "refund": "returned",
    "retoure": "returned", "retourniert": "returned", "zurueckgesendet": "returned",
    "erstattet": "returned",
}
CHANNEL = {
    "online": "online", "web": "online", "webshop": "online", "shop": "online", "app": "online",
    "ecommerce": "online", "e_commerce": "online",
    "store": "store", "offline": "store", "pos": "store", "filiale": "store", "laden": "store",
    "retail": "store", "stationaer": "store",
}

CUSTOMER_ID = Field(
    "customer_id", "str", key=True, max_len=128,
    aliases=("customer", "customer_number", "customerid", "customer_no", "client_id", "kunde",
             "kundennummer", "kunden_nr", "kundennr", "kunden_id", "user_id"),
)

KINDS: dict[str, list[Field]] = {
    "orders": [
        Field("order_id", "str", True, key=True, max_len=128,
              aliases=("order", "order_number", "order_no", "invoice", "invoice_no", "invoiceno",
                       "bestellung", "bestellnummer", "bestell_nr", "auftragsnummer", "belegnummer")),
        CUSTOMER_ID,
        Field("placed_at", "datetime", True,
              aliases=("order_date", "date", "created_at", "ordered_at", "invoice_date",
                       "invoicedate", "timestamp", "bestelldatum", "datum", "auftragsdatum")),
        Field("total", "money", aliases=("amount", "net_total", "order_total", "revenue", "value",
                                          "betrag", "summe", "gesamt", "umsatz", "nettobetrag")),
        Field("currency", "str", aliases=("waehrung", "currency_code")),
        Field("status", "enum", choices=STATUS, aliases=("order_status", "bestellstatus")),
        Field("channel", "enum", choices=CHANNEL, aliases=("sales_channel", "kanal", "vertriebskanal")),
        # Line-level files (one row per article) carry these instead of a total.
        Field("sku", "str", key=True, max_len=128, aliases=("stockcode", "stock_code", "product_id", "article",
                                                   "artikelnummer", "artikel_nr")),
        Field("description", "str", max_len=300, multiline=True,
              aliases=("product_name", "artikel", "bezeichnung")),
        Field("category", "str", max_len=120, aliases=("product_category", "kategorie")),
        Field("quantity", "float", aliases=("qty", "menge", "anzahl")),
        Field("unit_price", "money", aliases=("price", "unitprice", "einzelpreis", "preis")),
        Field("country", "str", max_len=64, aliases=("land",)),
    ],
    "order-lines": [
        Field("order_id", "str", True, key=True, max_len=128, aliases=("order", "order_number", "bestellnummer")),
        Field("line_no", "int", min=0, aliases=("line", "position", "pos")),
        Field("sku", "str", True, key=True, max_len=128, aliases=("stockcode", "product_id", "artikelnummer")),
        Field("description", "str", max_len=300, multiline=True, aliases=("product_name", "bezeichnung")),
        Field("category", "str", max_len=120, aliases=("kategorie",)),
        Field("quantity", "float", True, aliases=("qty", "menge", "anzahl")),
        Field("unit_price", "money", True, aliases=("price", "einzelpreis", "preis")),
    ],
    "customers": [
        Field("customer_id", "str", True, key=True, max_len=128, aliases=(*CUSTOMER_ID.aliases, "id")),
        Field("email", "str", max_len=320, aliases=("e_mail", "mail", "email_address")),
        Field("first_name", "str", max_len=120, aliases=("firstname", "given_name", "vorname")),
        Field("last_name", "str", max_len=120, aliases=("lastname", "surname", "family_name", "nachname")),
        Field("birthday", "date", aliases=("birth_date", "date_of_birth", "dob", "geburtstag", "geburtsdatum")),
        Field("locale", "str", max_len=16, aliases=("language", "lang", "sprache")),
        Field("country", "str", max_len=64, aliases=("land",)),
        Field("time_zone", "str", max_len=64, aliases=("timezone", "tz", "zeitzone")),
        Field("created_at", "datetime", aliases=("registered_at", "signup_date", "angelegt_am")),
        Field("email_consent", "bool", aliases=("newsletter", "marketing_consent", "opt_in", "einwilligung")),
        Field("double_opt_in_at", "datetime", aliases=("doi_at", "double_opt_in")),
        Field("consent_at", "datetime", aliases=("consent_date", "consent_given_at", "opt_in_at", "opt_in_date",
                                                  "einwilligung_am", "einwilligungsdatum", "newsletter_seit")),
        Field("consent_source", "str", max_len=120, aliases=("opt_in_source",)),
    ],
    "events": [
        Field("event_id", "str", key=True, max_len=128, aliases=("id",)),
        Field("customer_id", "str", True, key=True, max_len=128, aliases=CUSTOMER_ID.aliases),
        Field("type", "str", True, max_len=64, aliases=("event", "event_type", "name", "ereignis")),
        Field("occurred_at", "datetime", True, aliases=("timestamp", "time", "date", "zeitpunkt")),
        Field("properties", "json", aliases=("props", "data", "payload")),
    ],
    "subscriptions": [
        Field("subscription_id", "str", True, key=True, max_len=128, aliases=("contract_id", "vertrag", "vertragsnummer", "abo_id")),
        Field("customer_id", "str", True, key=True, max_len=128, aliases=CUSTOMER_ID.aliases),
        Field("plan", "str", max_len=120, aliases=("product", "tarif", "abo")),
        Field("started_at", "datetime", True, aliases=("start", "start_date", "beginn", "vertragsbeginn")),
        Field("ends_at", "datetime", future=True, aliases=("end", "end_date", "ende", "vertragsende")),
        Field("cancelled_at", "datetime", aliases=("canceled_at", "cancellation_date", "gekuendigt_am", "kuendigungsdatum")),
        Field("cancellation_reason", "str", max_len=64, aliases=("reason", "churn_reason", "kuendigungsgrund")),
        Field("monthly_amount", "money", aliases=("mrr", "monthly_fee", "monatsbeitrag")),
    ],
    "feedback": [
        Field("feedback_id", "str", key=True, max_len=128, aliases=("id", "response_id")),
        Field("customer_id", "str", True, key=True, max_len=128, aliases=CUSTOMER_ID.aliases),
        Field("score", "int", True, min=0, max=10, aliases=("nps", "nps_score", "rating", "bewertung")),
        Field("comment", "str", multiline=True, aliases=("text", "kommentar", "anmerkung")),
        Field("submitted_at", "datetime", True, aliases=("date", "answered_at", "datum")),
        Field("source", "str", max_len=64, aliases=("channel", "quelle")),
    ],
    "cases": [
        Field("case_id", "str", True, key=True, max_len=128, aliases=("ticket", "ticket_id", "id", "vorgang")),
        Field("customer_id", "str", True, key=True, max_len=128, aliases=CUSTOMER_ID.aliases),
        Field("opened_at", "datetime", True, aliases=("created_at", "opened", "eroeffnet_am")),
        Field("closed_at", "datetime", aliases=("resolved_at", "closed", "geschlossen_am")),
        Field("category", "str", max_len=64, aliases=("topic", "kategorie", "grund")),
        Field("resolution", "str", max_len=200, multiline=True, aliases=("loesung", "ergebnis")),
        Field("satisfaction", "int", min=1, max=5, aliases=("csat", "zufriedenheit")),
    ],
}


def fields_for(kind: str) -> list[Field]:
    try:
        return KINDS[kind]
    except KeyError:
        from retentio.errors import ConfigError

        raise ConfigError(Msg("unknown import kind {kind!r}; choose one of {kinds}", kind=kind,
                              kinds=", ".join(KINDS))) from None
