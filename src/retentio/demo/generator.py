"""Simulate the demo shop.

Purchases follow the modified BG/NBD process (Batislam, Denizel & Filiztekin
2007) in calendar weeks: after acquisition each customer buys at Poisson rate
λ ~ Gamma(r, α) and, after every purchase including the first, drops out for
good with probability p ~ Beta(a, b).
Order totals follow the Gamma-Gamma spend model (Fader, Hardie & Lee 2005b):
ν ~ Gamma(q, γ), spend ~ Gamma(p, ν). These parameters are returned as
``truth`` so that model code can be checked against them. Seasonality enters
through acquisition (a Christmas peak of new customers and gift orders), which
leaves each customer's purchase process as specified.

Cancelled orders, partial returns and guest orders are added on top of the
process and are not purchases by definition, so they do not disturb it.
NPS answers and service cases depend on the customer's dropout probability p,
which is what makes them predictive of churn.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from faker import Faker

from retentio.demo.catalogue import AFFINITY, CANCEL_REASONS, CASE_CATEGORIES, CATEGORIES, PLANS, PRODUCTS

TZ = "Europe/Berlin"


@dataclass
class Truth:
    start: str = "2023-11-01"
    end: str = "2026-10-31"
    bgnbd_r: float = 0.75
    bgnbd_alpha: float = 6.0  # weeks
    bgnbd_a: float = 0.8
    bgnbd_b: float = 4.0
    gg_p: float = 6.0
    gg_q: float = 4.0
    gg_gamma: float = 22.0
    time_unit: str = "weeks"
    notes: list[str] = field(default_factory=lambda: [
        "The purchase process is MBG/NBD (Batislam et al. 2007): BG/NBD with the dropout coin also tossed "
        "right after the first purchase; the bgnbd_* parameters are its r, alpha, a, b (time in weeks).",
        "Gamma-Gamma holds for order totals of purchases (status placed, total > 0).",
        "Cancelled orders, returns (negative records) and guest orders are extra and not purchases.",
    ])


@dataclass
class DemoData:
    customers: pd.DataFrame
    products: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame
    subscriptions: pd.DataFrame
    feedback: pd.DataFrame
    cases: pd.DataFrame
    events: pd.DataFrame
    consents: pd.DataFrame
    truth: dict
    latent: pd.DataFrame  # per-customer λ, p, ν: the hidden truth


def _acquisition_days(rng: np.random.Generator, n: int, days: int, start: dt.date) -> np.ndarray:
    d = np.arange(days)
    dates = pd.to_datetime(start) + pd.to_timedelta(d, unit="D")
    growth = 1 + 0.6 * d / days
    month = dates.month.to_numpy()
    season = np.where(month == 12, 2.2, np.where(month == 11, 1.6, 1.0))
    season = season * np.where((dates.month == 12) & (dates.day > 22), 0.4, 1.0)
    weekday = np.where(dates.day_of_week.to_numpy() >= 5, 0.8, 1.05)
    w = growth * season * weekday
    return np.sort(rng.choice(d, size=n, p=w / w.sum()))


def generate(n_customers: int = 20_000, seed: int = 42) -> DemoData:
    truth = Truth()
    rng = np.random.default_rng(seed)
    start = dt.date.fromisoformat(truth.start)
    end = dt.date.fromisoformat(truth.end)
    days = (end - start).days + 1
    horizon_w = days / 7

    # Latent customer parameters.
    lam = rng.gamma(truth.bgnbd_r, 1 / truth.bgnbd_alpha, n_customers)  # per week
    p_drop = rng.beta(truth.bgnbd_a, truth.bgnbd_b, n_customers)
    nu = rng.gamma(truth.gg_q, 1 / truth.gg_gamma, n_customers)
    acq_day = _acquisition_days(rng, n_customers, days - 14, start)
    acq_w = acq_day / 7 + rng.uniform(0.35, 0.9, n_customers) / 7  # daytime

    cust_idx, t_w = [], []
    for i in range(n_customers):
        t = acq_w[i]
        while True:
            cust_idx.append(i)
            t_w.append(t)
            if rng.random() < p_drop[i]:
                break
            t += rng.exponential(1 / lam[i])
            if t >= horizon_w:
                break
    cust_idx = np.asarray(cust_idx)
    t_w = np.asarray(t_w)
    # Shop hours: keep the weekly position, spread the time of day between 7:00 and 23:00.
    day_float = t_w * 7
    day_int = np.floor(day_float)
    hour = 7 + (day_float - day_int) * 16
    local_ts = (pd.Timestamp(start) + pd.to_timedelta(day_int, unit="D") + pd.to_timedelta(hour * 3600, unit="s")).floor("s")
    spend = rng.gamma(truth.gg_p, 1 / nu[cust_idx]).round(2).clip(min=0.5)

    customers = _customers(rng, n_customers, seed, acq_day, start)
    products = pd.DataFrame(PRODUCTS, columns=["sku", "name", "category", "price"])
    orders = pd.DataFrame({
        "external_id": [f"B{100000 + k}" for k in range(len(cust_idx))],
        "cust": cust_idx, "local": local_ts, "net_total": spend, "status": "placed",
        "channel": np.where(rng.random(len(cust_idx)) < 0.9, "online", "store"),
    })
    orders = orders.sort_values("local", kind="stable").reset_index(drop=True)
    pref = rng.choice(len(CATEGORIES), size=n_customers, p=[0.5, 0.25, 0.08, 0.07, 0.10])
    lines = _lines(rng, orders, pref, products)

    extras = _extras(rng, orders, customers, start, days)
    orders = pd.concat([orders, extras], ignore_index=True)
    subs = _subscriptions(rng, orders, p_drop, end)
    feedback, cases = _voice(rng, orders, p_drop, end)
    events = _events(rng, orders, end)
    consents = _consents(rng, customers)

    for frame, col in ((orders, "local"),):
        frame["placed_at"] = frame[col].dt.tz_localize(TZ, ambiguous=True, nonexistent="shift_forward").dt.tz_convert("UTC")
    latent = pd.DataFrame({"customer": customers["external_id"], "lambda_per_week": lam, "p_dropout": p_drop,
                           "nu": nu, "acquired_week": acq_w})
    return DemoData(customers, products, orders, lines, subs, feedback, cases, events, consents,
                    asdict(truth), latent)


def _customers(rng, n, seed, acq_day, start) -> pd.DataFrame:
    german = rng.random(n) < 0.72
    fde, fen = Faker("de_DE"), Faker("en_GB")
    fde.seed_instance(seed)
    fen.seed_instance(seed + 1)
    first = [fde.first_name() if g else fen.first_name() for g in german]
    last = [fde.last_name() if g else fen.last_name() for g in german]
    domains = np.array(["example.de", "example.com", "example.org", "example.net"])
    email = [f"{_ascii(fn)}.{_ascii(ln)}.{k}@{domains[k % 4]}".lower()
             for k, (fn, ln) in enumerate(zip(first, last, strict=True))]
    country_de = rng.choice(["DE", "AT", "CH"], size=n, p=[0.8, 0.12, 0.08])
    country_en = rng.choice(["GB", "IE", "US"], size=n, p=[0.7, 0.1, 0.2])
    country = np.where(german, country_de, country_en)
    tz = pd.Series(country).map({"DE": "Europe/Berlin", "AT": "Europe/Vienna", "CH": "Europe/Zurich",
                                 "GB": "Europe/London", "IE": "Europe/Dublin", "US": "America/New_York"})
    birthday = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 55, n), unit="D")
    created = (pd.Timestamp(start) + pd.to_timedelta(acq_day, unit="D") + pd.Timedelta(hours=8)).tz_localize(TZ).tz_convert("UTC")
    return pd.DataFrame({
        "external_id": [f"K{10000 + k}" for k in range(n)], "email": email, "first_name": first, "last_name": last,
        "birthday": pd.Series(birthday.date).where(rng.random(n) < 0.8, None),
        "locale": np.where(german, "de_DE", np.where(country == "US", "en_US", "en_GB")),
        "country": country, "time_zone": tz, "created_at": created,
    })


def _ascii(s: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")):
        s = s.replace(a, b)
    return "".join(ch for ch in s if ch.isalnum())


def _lines(rng, orders: pd.DataFrame, pref: np.ndarray, products: pd.DataFrame) -> pd.DataFrame:
    by_cat = {c: products.index[products["category"] == c].to_numpy() for c in CATEGORIES}
    price = products["price"].to_numpy()
    december = orders["local"].dt.month.to_numpy() == 12
    out_order, out_line, out_prod, out_qty = [], [], [], []
    for k, (cust, total) in enumerate(zip(orders["cust"].to_numpy(), orders["net_total"].to_numpy(), strict=True)):
        cat = pref[cust] if not (december[k] and rng.random() < 0.35) else 4
        acc, n = 0.0, 0
        while acc < total * 0.85 or n == 0:
            prod = rng.choice(by_cat[CATEGORIES[cat]])
            qty = 1 if price[prod] > 20 or rng.random() < 0.7 else 2
            out_order.append(k)
            out_line.append(n + 1)
            out_prod.append(prod)
            out_qty.append(qty)
            acc += price[prod] * qty
            n += 1
            if n >= 6:
                break
            cat = rng.choice(len(CATEGORIES), p=AFFINITY[cat])
    lines = pd.DataFrame({"order": out_order, "line_no": out_line, "product": out_prod, "quantity": out_qty})
    lines["list_amount"] = price[lines["product"]] * lines["quantity"]
    # Scale unit prices per order so lines add up to the simulated total
    # (discounts and surcharges), keeping the Gamma-Gamma spend exact.
    factor = orders["net_total"].to_numpy()[lines["order"]] / lines.groupby("order")["list_amount"].transform("sum")
    lines["unit_price"] = (price[lines["product"]] * factor).round(4)
    lines["net_amount"] = (lines["unit_price"] * lines["quantity"]).round(2)
    diff = orders["net_total"].to_numpy() - lines.groupby("order")["net_amount"].sum().reindex(range(len(orders))).to_numpy()
    last = lines.groupby("order")["line_no"].transform("max") == lines["line_no"]
    lines.loc[last, "net_amount"] = (lines.loc[last, "net_amount"] + diff[lines.loc[last, "order"]]).round(2)
    lines["sku"] = products["sku"].to_numpy()[lines["product"]]
    lines["description"] = products["name"].to_numpy()[lines["product"]]
    return lines


def _extras(rng, orders: pd.DataFrame, customers: pd.DataFrame, start: dt.date, days: int) -> pd.DataFrame:
    n = len(orders)
    ret = orders.sample(frac=0.05, random_state=int(rng.integers(1 << 31)))
    returns = pd.DataFrame({
        "external_id": "R" + ret["external_id"].str[1:], "cust": ret["cust"],
        "local": ret["local"] + pd.to_timedelta(rng.integers(4, 25, len(ret)), unit="D"),
        "net_total": -(ret["net_total"] * rng.uniform(0.2, 1.0, len(ret))).round(2),
        "status": "returned", "channel": ret["channel"],
    })
    canc = orders.sample(frac=0.02, random_state=int(rng.integers(1 << 31)))
    cancelled = pd.DataFrame({
        "external_id": "S" + canc["external_id"].str[1:], "cust": canc["cust"],
        "local": canc["local"] + pd.Timedelta(minutes=3), "net_total": canc["net_total"],
        "status": "cancelled", "channel": canc["channel"],
    })
    g = int(n * 0.03)
    guest_days = rng.integers(0, days, g)
    guests = pd.DataFrame({
        "external_id": [f"G{500000 + k}" for k in range(g)], "cust": -1,
        "local": pd.Timestamp(start) + pd.to_timedelta(guest_days, unit="D") + pd.to_timedelta(rng.integers(7 * 3600, 22 * 3600, g), unit="s"),
        "net_total": rng.gamma(4.0, 9.0, g).round(2), "status": "placed", "channel": "online",
    })
    end = pd.Timestamp(start) + pd.Timedelta(days=days)
    out = pd.concat([returns, cancelled, guests], ignore_index=True)
    return out[out["local"] < end]


def _subscriptions(rng, orders, p_drop, end: dt.date) -> pd.DataFrame:
    firsts = orders[orders["status"] == "placed"].groupby("cust")["local"].min()
    firsts = firsts[firsts.index >= 0]
    chosen = firsts.sample(frac=0.12, random_state=int(rng.integers(1 << 31)))
    rows = []
    end_ts = pd.Timestamp(end)
    for k, (cust, first) in enumerate(chosen.items()):
        started = (first + pd.Timedelta(days=int(rng.integers(1, 60)))).normalize()
        if started >= end_ts:
            continue
        plan, price = PLANS[int(rng.integers(len(PLANS)))]
        months = rng.geometric(min(0.9, 0.03 + 0.5 * p_drop[cust]))
        cancel = started + pd.DateOffset(months=int(months))
        reason = None
        if cancel < end_ts:
            reason = CANCEL_REASONS[int(rng.choice(len(CANCEL_REASONS), p=[0.3, 0.15, 0.15, 0.1, 0.2, 0.1]))]
            ends = cancel + pd.DateOffset(months=1)
        else:
            cancel, ends = None, None
        rows.append({"external_id": f"A{20000 + k}", "cust": cust, "plan": plan, "monthly_amount": price,
                     "started": started, "cancelled": cancel, "ends": ends, "cancellation_reason": reason})
    return pd.DataFrame(rows)


def _voice(rng, orders, p_drop, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    purchases = orders[(orders["status"] == "placed") & (orders["cust"] >= 0)]
    firsts = purchases.groupby("cust")["local"].min()
    asked = firsts.sample(frac=0.3, random_state=int(rng.integers(1 << 31)))
    score = np.clip(np.round(10.2 - 11 * p_drop[asked.index] + rng.normal(0, 1.4, len(asked))), 0, 10).astype(int)
    comments_low = ["Lieferung kam zu spät", "Kaffee war zu sauer", "Preis zu hoch", "Delivery was late",
                    "Kundenservice hat nicht geantwortet"]
    comments_high = ["Super Kaffee, schnelle Lieferung!", "Tolle Beratung", "Love the espresso", "Gerne wieder"]
    comment = [comments_low[int(rng.integers(5))] if s <= 6 and rng.random() < 0.5 else
               (comments_high[int(rng.integers(4))] if s >= 9 and rng.random() < 0.3 else None) for s in score]
    end_ts = pd.Timestamp(end)
    fb = pd.DataFrame({"external_id": [f"N{k}" for k in range(len(asked))], "cust": asked.index,
                       "local": asked.to_numpy() + pd.to_timedelta(rng.integers(7, 15, len(asked)), unit="D"),
                       "score": score, "comment": comment, "source": "email_survey"})
    fb = fb[fb["local"] < end_ts]
    prob = 0.03 + 0.12 * p_drop[purchases["cust"].to_numpy()]
    hit = purchases[rng.random(len(purchases)) < prob]
    closed_days = rng.integers(0, 12, len(hit))
    opened = hit["local"] + pd.to_timedelta(rng.integers(1, 20, len(hit)), unit="D")
    cases = pd.DataFrame({
        "external_id": [f"T{k}" for k in range(len(hit))], "cust": hit["cust"].to_numpy(), "opened": opened.to_numpy(),
        "closed": (opened + pd.to_timedelta(closed_days, unit="D")).where(rng.random(len(hit)) < 0.9).to_numpy(),
        "category": rng.choice(CASE_CATEGORIES, len(hit), p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1]),
        "satisfaction": np.clip(np.round(5 - 4 * p_drop[hit["cust"].to_numpy()] + rng.normal(0, 0.8, len(hit))), 1, 5).astype(int),
    })
    cases["resolution"] = np.where(cases["closed"].notna(), rng.choice(["refund", "replacement", "explained", "voucher"], len(cases)), None)
    return fb, cases[cases["opened"] < end_ts]


def _events(rng, orders, end: dt.date) -> pd.DataFrame:
    p = orders[(orders["status"] == "placed") & (orders["cust"] >= 0)]
    views = p.sample(frac=0.6, random_state=int(rng.integers(1 << 31)))
    carts = p.sample(frac=0.12, random_state=int(rng.integers(1 << 31)))
    ev = pd.concat([
        pd.DataFrame({"cust": views["cust"], "type": "product_viewed",
                      "local": views["local"] - pd.to_timedelta(rng.integers(5, 600, len(views)), unit="min")}),
        pd.DataFrame({"cust": p["cust"], "type": "login", "local": p["local"] - pd.Timedelta(minutes=2)}),
        pd.DataFrame({"cust": carts["cust"], "type": "cart_abandoned",
                      "local": carts["local"] + pd.to_timedelta(rng.integers(3, 40, len(carts)), unit="D")}),
    ], ignore_index=True)
    ev = ev[ev["local"] < pd.Timestamp(end)].reset_index(drop=True)
    ev["event_key"] = [f"E{k}" for k in range(len(ev))]
    return ev


def _consents(rng, customers) -> pd.DataFrame:
    granted = rng.random(len(customers)) < 0.74
    doi = customers["created_at"] + pd.to_timedelta(rng.integers(60, 3600 * 24, len(customers)), unit="s")
    return pd.DataFrame({"customer": customers["external_id"], "status": np.where(granted, "granted", "denied"),
                         "recorded_at": customers["created_at"], "double_opt_in_at": doi.where(granted)})


def local_to_utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.tz_localize(zoneinfo.ZoneInfo(TZ), ambiguous=True, nonexistent="shift_forward").dt.tz_convert("UTC")
