"""Exact TreeSHAP over distinct decisions against LightGBM's own ``pred_contrib``."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from retentio.models import treeshap
from retentio.models.churn import ChurnModel


def _data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"recency": rng.exponential(60, n).round(), "purchases": rng.poisson(3, n).astype(float),
                      "value": rng.gamma(2, 30, n), "zeroish": np.where(rng.random(n) < 0.4, 0.0, rng.normal(size=n)),
                      "nps": np.where(rng.random(n) < 0.6, np.nan, rng.integers(0, 11, n).astype(float))})
    logit = 0.02 * X["recency"] - 0.4 * X["purchases"] + 0.3 * X["zeroish"] - 0.1 * X["nps"].fillna(7) + 0.5
    return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)


@pytest.mark.parametrize(("params", "block", "pack"), [
    ({}, 1_000_000, 16),                                   # missing values the NaN way (LightGBM's default)
    ({"use_missing": False}, 700, 16),                      # NaN read as 0; several row blocks
    ({"zero_as_missing": True}, 1_000_000, 5),              # zeros as missing; a tree per group or two
    ({"num_leaves": 31}, 1_000_000, 16),                    # trees too big to count: LightGBM's own way
])
def test_grouped_contributions_equal_lightgbms(monkeypatch, params, block, pack):
    monkeypatch.setattr(treeshap, "BLOCK_ROWS", block)
    monkeypatch.setattr(treeshap, "PACK_BITS", pack)
    X, y = _data(3000)
    booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1, "seed": 1, **params},
                        lgb.Dataset(X, y), num_boost_round=60)
    group_of = np.array([0, 1, 1, 2, 0])
    got = treeshap.grouped_contributions(booster, X, group_of, 3)
    full = booster.predict(X, pred_contrib=True)
    want = np.stack([full[:, :-1][:, group_of == g].sum(axis=1) for g in range(3)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


def test_rows_that_do_not_add_up_are_recomputed(monkeypatch):
    """Rows put in a wrong pattern (here: thresholds moved on purpose) whose sum then misses the raw score
    are redone by LightGBM: every row keeps SHAP's local accuracy."""
    X, y = _data(2000, seed=3)
    booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1}, lgb.Dataset(X, y), 30)
    real = treeshap._goes_left
    monkeypatch.setattr(treeshap, "_goes_left", lambda x, t, d, m, n: real(x, t + 5.0, d, m, n))
    calls = []
    predict = booster.predict
    monkeypatch.setattr(booster, "predict", lambda data, **kw: calls.append(len(data)) or predict(data, **kw))
    got = treeshap.grouped_contributions(booster, X, np.arange(5), 5)
    assert 0 < calls[-1] < len(X)  # only the rows that did not add up were redone
    bias = booster.predict(X.head(1), pred_contrib=True)[0, -1]
    np.testing.assert_allclose(got.sum(axis=1) + bias, booster.predict(X, raw_score=True), rtol=1e-9, atol=1e-9)


def test_reasons_json_is_the_reasons_as_text():
    X, y = _data(3000, seed=5)
    reason_of = {"recency": "lost_touch", "purchases": "low_engagement", "value": "price", "zeroish": "quality",
                 "nps": "service"}
    model = ChurnModel(n_estimators=80).fit(X, y)
    as_text = [json.loads(t) for t in model.reasons_json(X, reason_of)]
    assert as_text == model.reasons(X, reason_of)
    assert any(len(r) == 3 for r in as_text) and any(len(r) == 0 for r in as_text)


@pytest.mark.parametrize(("push", "kept"), [(0.049996, False), (0.05, True), (0.0500004, True), (0.04, False)])
def test_a_push_just_below_the_threshold_is_left_out_though_it_rounds_up_to_it(push, kept):
    names = np.array(["price", "service"])
    values = np.array([[0.5, push]])
    want = [{"reason": "price", "push": 0.5}] + ([{"reason": "service", "push": round(push, 4)}] if kept else [])
    assert json.loads(ChurnModel._as_json(names, values, top=3, min_push=0.05)[0]) == want


@pytest.mark.parametrize("top", [0, 1, 3, 7])
def test_reasons_text_is_what_json_dumps_writes(top):
    # Whole pushes (2.0, not 2), large and tiny ones, ties, names that need escaping, rows with no reason.
    rng = np.random.default_rng(top)
    names = np.array(["lost_touch", 'qualität "x"', "a\\b", "</script>", "ünïcode ✓"])
    scale = 10.0 ** rng.integers(0, 5, (4000, len(names)))
    values = np.round(rng.normal(0, 1.5, (4000, len(names))) * scale) / scale
    values[:50] = [2.0, 1.0, 100.0, 0.05, 1e-5]
    values[50:60] = 0.0
    values[60:70] = 12345.678912
    got = ChurnModel._as_json(names, values, top, 0.05)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    pushes = np.round(np.take_along_axis(values, order, axis=1), 4)
    expected = [json.dumps([{"reason": str(names[j]), "push": float(v)} for j, v in zip(o, pv, strict=True)
                            if v >= 0.05]) for o, pv in zip(order, pushes, strict=True)]
    assert got == expected
    assert '{"reason": "a\\\\b", "push": 100.0}' in got[0] or top == 0  # a float, not 100


def test_predictions_with_reasons_are_predict_proba_and_reasons():
    X, y = _data(3000, seed=6)
    reason_of = {"recency": "lost_touch", "purchases": "low_engagement", "value": "price", "zeroish": "quality",
                 "nps": "service"}
    model = ChurnModel(n_estimators=80).fit(X, y)
    probability, why = model.predict_with_reasons(X, reason_of)
    np.testing.assert_allclose(probability, model.predict_proba(X), rtol=1e-12, atol=1e-12)
    assert why == model.reasons_json(X, reason_of)
