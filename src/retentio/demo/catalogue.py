"""The demo shop's catalogue: a German coffee and tea roaster ("Bohne & Blatt")."""

from __future__ import annotations

import numpy as np

CATEGORIES = ["Kaffee", "Tee", "Zubehör", "Süßes", "Geschenke"]

PRODUCTS: list[tuple[str, str, str, float]] = [
    ("KAF-001", "Espresso Classico 500 g", "Kaffee", 12.90),
    ("KAF-002", "Café Crema Hausmischung 1 kg", "Kaffee", 22.50),
    ("KAF-003", "Äthiopien Yirgacheffe 250 g", "Kaffee", 9.90),
    ("KAF-004", "Kolumbien Supremo 500 g", "Kaffee", 13.50),
    ("KAF-005", "Entkoffeiniert Schweizer Wasser 250 g", "Kaffee", 8.90),
    ("KAF-006", "Weihnachtsröstung 500 g", "Kaffee", 14.90),
    ("KAF-007", "Cold Brew Mischung 500 g", "Kaffee", 11.90),
    ("KAF-008", "Guatemala Antigua 250 g", "Kaffee", 10.50),
    ("TEE-001", "Darjeeling First Flush 100 g", "Tee", 11.50),
    ("TEE-002", "Earl Grey Premium 100 g", "Tee", 7.90),
    ("TEE-003", "Sencha Japan 100 g", "Tee", 9.50),
    ("TEE-004", "Rooibos Vanille 100 g", "Tee", 5.90),
    ("TEE-005", "Kräutergarten Bio 80 g", "Tee", 6.50),
    ("TEE-006", "Winterpunsch Früchtetee 150 g", "Tee", 6.90),
    ("ZUB-001", "Handmühle Keramikmahlwerk", "Zubehör", 49.00),
    ("ZUB-002", "French Press 1 l", "Zubehör", 29.90),
    ("ZUB-003", "Handfilter V60 mit 100 Filtern", "Zubehör", 24.90),
    ("ZUB-004", "Teekanne Glas 1,2 l", "Zubehör", 34.50),
    ("ZUB-005", "Milchkännchen Edelstahl", "Zubehör", 14.90),
    ("ZUB-006", "Entkalker 3er-Pack", "Zubehör", 9.90),
    ("SUE-001", "Cantuccini 250 g", "Süßes", 4.90),
    ("SUE-002", "Schokoladentafel Zartbitter 70 %", "Süßes", 3.50),
    ("SUE-003", "Lebkuchen-Mischung 400 g", "Süßes", 7.90),
    ("SUE-004", "Espressobohnen in Schokolade 200 g", "Süßes", 6.50),
    ("GES-001", "Geschenkbox Kaffeeliebe", "Geschenke", 39.90),
    ("GES-002", "Geschenkbox Teezeit", "Geschenke", 34.90),
    ("GES-003", "Gutschein 25 €", "Geschenke", 25.00),
    ("GES-004", "Adventskalender Kaffee & Tee", "Geschenke", 44.90),
]

# Row: category of the first article; column: probability of the next one's
# category. Coffee buyers add accessories and sweets, tea buyers sweets.
AFFINITY = np.array([
    [0.55, 0.05, 0.22, 0.15, 0.03],
    [0.08, 0.55, 0.12, 0.22, 0.03],
    [0.60, 0.20, 0.10, 0.07, 0.03],
    [0.35, 0.35, 0.05, 0.20, 0.05],
    [0.30, 0.25, 0.10, 0.30, 0.05],
])

PLANS = [("Kaffee-Abo Monat 500 g", 17.90), ("Kaffee-Abo Monat 1 kg", 29.90), ("Tee-Abo Entdecker", 14.90)]
CANCEL_REASONS = ["price", "quality", "delivery", "service", "no_need", "competitor"]
CASE_CATEGORIES = ["delivery", "quality", "return", "payment", "product_question", "complaint"]
