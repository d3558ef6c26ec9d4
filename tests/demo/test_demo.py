"""The demo shop: deterministic, realistic, and true to its generating parameters."""

from __future__ import annotations

import re

import numpy as np
import pytest

from retentio.demo.generator import generate


@pytest.fixture(scope="module")
def small():
    return generate(n_customers=3000, seed=7)


def test_deterministic_for_a_seed(small):
    again = generate(n_customers=3000, seed=7)
    assert small.orders["net_total"].sum() == again.orders["net_total"].sum()
    assert small.customers["email"].tolist() == again.customers["email"].tolist()


def test_lines_add_up_to_order_totals(small):
    purchases = small.orders[small.orders["status"] == "placed"].reset_index(drop=True)
    sums = small.lines.groupby("order")["net_amount"].sum()
    n = len(sums)
    assert np.allclose(sums.to_numpy(), small.orders["net_total"].to_numpy()[:n], atol=0.011)
    assert len(purchases) >= n


def test_latent_parameters_match_the_truth(small):
    """Moments of the simulated λ and p agree with Gamma(r, α) and Beta(a, b)."""
    t = small.truth
    lam, p = small.latent["lambda_per_week"], small.latent["p_dropout"]
    assert lam.mean() == pytest.approx(t["bgnbd_r"] / t["bgnbd_alpha"], rel=0.08)
    assert p.mean() == pytest.approx(t["bgnbd_a"] / (t["bgnbd_a"] + t["bgnbd_b"]), rel=0.06)
    spend = small.orders.loc[small.orders["status"] == "placed", "net_total"]
    # E[z] = p·γ/(q − 1) for the Gamma-Gamma model.
    assert spend.mean() == pytest.approx(t["gg_p"] * t["gg_gamma"] / (t["gg_q"] - 1), rel=0.1)


def test_german_and_english_customers_and_christmas_peak(small):
    locales = small.customers["locale"].str[:2].value_counts(normalize=True)
    assert 0.6 < locales["de"] < 0.85 and locales["en"] > 0.15
    new_by_month = small.customers["created_at"].dt.tz_convert("Europe/Berlin").dt.month.value_counts()
    assert new_by_month[12] > new_by_month[[3, 4, 5, 6]].mean() * 1.5


def test_nps_relates_to_dropout(small):
    fb = small.feedback.merge(small.latent.reset_index(), left_on="cust", right_on="index")
    assert np.corrcoef(fb["score"], fb["p_dropout"])[0, 1] < -0.4


@pytest.mark.slow
def test_run_demo_writes_report(tmp_path, capsys):
    from retentio.auth.sessions import login
    from retentio.db.session import get_engine
    from retentio.demo.run import run_demo

    report = run_demo(tmp_path / "demo", n_customers=2000, seed=3, lang="en")
    # The sign-in line fits an 80-column terminal, so the password is not wrapped away from its label.
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "password" in ln)
    assert len(line) <= 80, line
    assert "then open http://127.0.0.1:8000" in out.splitlines()
    email, password = re.fullmatch(r"Sign in as (\S+) with the password (\S+)", line.strip()).groups()
    token, _ = login(get_engine(f"sqlite:///{tmp_path / 'demo' / 'retentio-demo.db'}"), email, password)
    assert token
    html = report.read_text(encoding="utf-8")
    assert "Retention report" in html and "<svg" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing to fetch: opens offline
    for section in ('id="trends"', 'id="cohorts"', 'id="segments"', 'id="lifecycle"', 'id="second-purchase"'):
        assert section in html
