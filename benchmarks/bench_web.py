"""How fast the dashboard answers at a million customers on SQLite, measured through a real uvicorn server.

    python benchmarks/bench_web.py                       # 1,000,000 customers, ~4,000,000 orders
    python benchmarks/bench_web.py --customers 100000 --reuse-db

Builds (or reuses) a shop in benchmarks/out/, refreshes it (predictions
included, so the pages read what a user's would), starts ``uvicorn`` on it in
a subprocess, signs in, and times sequential requests from this process:
the overview, the cohort page, customer search, a customer page, a segment
preview and the KPI API. The baseline is a trivial endpoint of the same
server (``/healthz``) measured in the same run, so the ratio shows what the
application adds to the HTTP round trip. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out"
FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Klara", "Lukas",
         "Mia", "Noah", "Olga", "Paul", "Rosa", "Stefan", "Tina", "Uwe", "Vera", "Willi", "Yara", "Zoe"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger"]
PASSWORD = "benchmark password"


def build(db: Path, customers: int, orders: int, predictions: bool) -> dict:
    import pandas as pd

    from retentio.auth.keys import create_key
    from retentio.auth.roles import OPERATOR
    from retentio.auth.users import add_user
    from retentio.db.bulk import append_frame
    from retentio.db.models import Customer, Order
    from retentio.db.session import get_engine
    from retentio.refresh import refresh
    from retentio.shop import set_config

    engine = get_engine(f"sqlite:///{db}")
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    first = np.array(FIRST)[rng.integers(0, len(FIRST), customers)]
    last = np.array(LAST)[rng.integers(0, len(LAST), customers)]
    ids = np.arange(1, customers + 1)
    append_frame(engine, Customer.__table__, pd.DataFrame({
        "id": ids, "external_id": np.char.add("K", ids.astype(str)), "first_name": first, "last_name": last,
        "email": [f"{f.lower()}.{ln.lower()}{i}@example.com" for f, ln, i in zip(first, last, ids, strict=True)],
        "locale": np.where(rng.random(customers) < 0.8, "de_DE", "en_GB"), "country": "DE"}))
    # Customers buy at their own rate: a few many times, most a few times.
    rate = rng.gamma(0.8, 1.6, customers)
    cust = rng.choice(ids, size=orders, p=rate / rate.sum())
    start = np.datetime64("2023-06-01T00:00:00")
    secs = rng.integers(0, int(3.4 * 365 * 86400), orders)
    append_frame(engine, Order.__table__, pd.DataFrame({
        "id": np.arange(1, orders + 1), "external_id": np.char.add("O", np.arange(1, orders + 1).astype(str)),
        "customer_id": cust, "placed_at": pd.to_datetime(start + secs.astype("timedelta64[s]")).tz_localize("UTC"),
        "currency": "EUR", "net_total": np.round(rng.gamma(3.0, 15.0, orders), 2),
        "status": np.where(rng.random(orders) < 0.03, "cancelled", "placed"), "channel": "online"}))
    set_config(engine, "time_zone", "Europe/Berlin")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    refresh(engine, predictions=predictions)
    refresh_s = time.perf_counter() - t0
    from retentio.act import segments

    segments.save_segment(engine, "vip", {"field": "clv", "gte": 100.0})
    add_user(engine, OPERATOR, "bench@example.com", "admin", PASSWORD)
    key = create_key(engine, OPERATOR, "bench", "admin")[1]
    return {"load_s": round(load_s, 1), "refresh_s": round(refresh_s, 1), "key": key}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=None, help="default: 4 per customer")
    ap.add_argument("--requests", type=int, default=200, help="per endpoint")
    ap.add_argument("--reuse-db", action="store_true")
    ap.add_argument("--no-predictions", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import httpx

    orders = args.orders or 4 * args.customers
    OUT.mkdir(exist_ok=True)
    db = OUT / f"web-{args.customers}.db"
    meta = OUT / f"web-{args.customers}.json"
    if not (args.reuse_db and db.exists() and meta.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        import shutil

        shutil.rmtree(str(db) + ".files", ignore_errors=True)
        built = build(db, args.customers, orders, not args.no_predictions)
        meta.write_text(json.dumps(built))
    built = json.loads(meta.read_text())
    port = free_port()
    code = ("import sys, uvicorn; from retentio.db.session import get_engine; from retentio.web.app import create_app;"
            "uvicorn.run(create_app(get_engine(sys.argv[1]), background=False), host='127.0.0.1',"
            " port=int(sys.argv[2]), log_level='warning')")
    env = {**os.environ, "RETENTIO_API_RATE_PER_MINUTE": "100000000",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code, f"sqlite:///{db}", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        web = httpx.Client(base_url=base, timeout=120)
        page = web.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text).group(1)
        web.post("/login", data={"email": "bench@example.com", "password": PASSWORD, "login_token": token})
        api = httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {built['key']}"})
        rng = random.Random(3)
        t0 = time.perf_counter()
        first = api.post("/api/v1/segments/preview", json={"definition": {"field": "lifecycle", "in": ["at_risk"]}})
        warm_view_s = time.perf_counter() - t0  # the first reader loads the materialised view once
        assert first.status_code == 200, first.text
        n_cust = args.customers
        conditions = [{"field": "lifecycle", "in": ["at_risk", "inactive"]},
                      {"all": [{"field": "clv", "gte": 50.0}, {"field": "churn_probability", "gte": 0.5}]},
                      {"field": "days_since_last_purchase", "between": [30, 120]}, {"segment": "vip"}]
        endpoints = {
            "baseline /healthz": lambda: web.get("/healthz"),
            "overview page": lambda: web.get("/"),
            "cohort page": lambda: web.get("/cohorts"),
            "customer search": lambda: web.get("/customers/search", params={"q": rng.choice(
                [f"K{rng.randint(1, n_cust)}", rng.choice(LAST)[:4].lower(), f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                 f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}"])}),
            "customer page": lambda: web.get(f"/customers/K{rng.randint(1, n_cust)}"),
            "segment preview (API)": lambda: api.post("/api/v1/segments/preview",
                                                      json={"definition": rng.choice(conditions)}),
            "KPI API": lambda: api.get("/api/v1/kpis", params={"period": rng.choice(["week", "month", "quarter"])}),
        }
        for call in endpoints.values():  # one warm-up call each (the KPI variants are stored on first use)
            for _ in range(3):
                r = call()
                assert r.status_code == 200, r.text[:300]
        results = {}
        for name, call in endpoints.items():
            times = []
            for _ in range(args.requests):
                t = time.perf_counter()
                r = call()
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (name, r.status_code)
            results[name] = {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1)}
        base_p50 = results["baseline /healthz"]["p50_ms"]
        print(f"{'endpoint':<24}{'p50 ms':>9}{'p95 ms':>9}{'p50 / baseline':>16}")
        for name, r in results.items():
            print(f"{name:<24}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p50_ms'] / base_p50:>16.1f}")
        print(json.dumps({"customers": n_cust, "orders": orders, **{k: v for k, v in built.items() if k != "key"},
                          "first_preview_s": round(warm_view_s, 2), "results": results,
                          "machine": f"{platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}"}))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
