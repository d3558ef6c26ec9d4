"""Exact TreeSHAP contributions of a LightGBM model, summed per group of features, over distinct decisions.

LightGBM's ``pred_contrib`` runs path-dependent TreeSHAP (Lundberg et al. 2020, *From local
explanations to global understanding with explainable AI for trees*, Algorithm 2) for every row and
tree: 85 s for 1M customers with the churn model's 400 trees, and nearly every row is distinct
(99.99 %, even with each feature cut to the model's own split points; docs/models.md).

But the algorithm looks at a row only through its decision — left or right — at each split of a tree:
it follows the row's branch at every node and weighs the other branch by its cover. So two rows with
the same decisions in a tree get the same contributions from it, exactly. A tree with k splits has at
most 2**k decision patterns, and a few trees together few enough to count: per group of trees, each
row's patterns are packed into one integer, LightGBM computes the contributions of the group's trees
(``start_iteration``/``num_iteration``) once for one row of each pattern that occurs, and every row
takes its pattern's values. The patterns come from vectorised comparisons with LightGBM's own rule for
missing values (``NumericalDecision`` in its tree.h).

Exactness rests on reproducing LightGBM's decisions, which tests/models/test_treeshap.py checks
against ``pred_contrib`` for each way of treating missing values. A check at run time guards the
sums: each row's contributions plus the bias must add up to the model's raw score (SHAP's local
accuracy); rows that do not — none are expected — are computed by ``pred_contrib`` itself, as are
models with categorical splits and trees with more splits than a group may pack.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PACK_BITS = 16  # patterns per group of trees: at most 65,536 (a 0.6 MB table per reason group)
BLOCK_ROWS = 1_000_000
SLICE_ROWS = 65_536  # rows summed at a time: their sums stay in the cache (see _block_total)
ZERO = 1e-35  # LightGBM's kZeroThreshold


def _splits(node: dict, out: list[tuple[int, float, bool, str]]) -> None:
    if "split_feature" in node:
        out.append((node["split_feature"], node["threshold"], node["default_left"], node["missing_type"]))
        _splits(node["left_child"], out)
        _splits(node["right_child"], out)


def _categorical(node: dict) -> bool:
    if "split_feature" not in node:
        return False
    return node["decision_type"] != "<=" or _categorical(node["left_child"]) or _categorical(node["right_child"])


def _groups(trees: list[list]) -> list[tuple[int, int]]:
    """Consecutive trees packed into groups of at most PACK_BITS splits: (first tree, number of trees)."""
    groups, start, bits = [], 0, 0
    for i, splits in enumerate(trees):
        if bits and bits + len(splits) > PACK_BITS:
            groups.append((start, i - start))
            start, bits = i, 0
        bits += len(splits)
    groups.append((start, len(trees) - start))
    return groups


def _goes_left(x: np.ndarray, threshold: float, default_left: bool, missing: str, nan: np.ndarray | None
               ) -> np.ndarray:
    if nan is None and missing != "Zero":  # the common case: nothing missing in this column
        return x <= threshold
    nan = np.zeros(len(x), bool) if nan is None else nan
    if missing == "NaN":
        return np.where(nan, default_left, x <= threshold)
    x = np.where(nan, 0.0, x)  # without NaN handling LightGBM reads a missing value as 0
    if missing == "Zero":
        return np.where(np.abs(x) <= ZERO, default_left, x <= threshold)
    return x <= threshold


def grouped_contributions(booster, X: pd.DataFrame, group_of: np.ndarray, n_groups: int, *,
                          with_raw: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Per row, the TreeSHAP contributions to the raw score summed per feature group.

    Parameters
    ----------
    booster : lightgbm.Booster
    X : DataFrame with the booster's features in its order, numeric
    group_of : int array, the group index of each feature
    n_groups : number of groups

    with_raw : also return the raw score per row (computed anyway for the local-accuracy check, so a
        caller that needs the predictions too does not predict a second time)

    Returns
    -------
    ndarray of shape (len(X), n_groups); with ``with_raw``, also the raw scores, shape (len(X),)
    """
    model = booster.dump_model()
    trees = [t["tree_structure"] for t in model["tree_info"]]
    onehot = np.zeros((X.shape[1] + 1, n_groups + 1))
    onehot[np.arange(X.shape[1]), group_of] = 1.0
    onehot[:, n_groups] = 1.0  # every feature plus the bias: the raw score, for the check
    if any(_categorical(t) for t in trees) or not all(pd.api.types.is_numeric_dtype(X[c]) for c in X.columns):
        both = booster.predict(X, pred_contrib=True) @ onehot
        return (both[:, :n_groups], both[:, n_groups]) if with_raw else both[:, :n_groups]
    splits: list[list] = []
    for tree in trees:
        splits.append([])
        _splits(tree, splits[-1])
    values = X.to_numpy(dtype=np.float64)
    out = np.empty((len(X), n_groups))
    raws = np.empty(len(X))
    for lo in range(0, len(X), BLOCK_ROWS):
        block = values[lo:lo + BLOCK_ROWS]
        total = _block_total(booster, block, splits, onehot)
        raw = booster.predict(block, raw_score=True)
        off = np.flatnonzero(~np.isclose(total[:, n_groups], raw, rtol=1e-9, atol=1e-9))
        if len(off):
            total[off] = booster.predict(block[off], pred_contrib=True) @ onehot
        out[lo:lo + len(block)] = total[:, :n_groups]
        raws[lo:lo + len(block)] = raw
    return (out, raws) if with_raw else out


def _block_total(booster, block: np.ndarray, splits: list[list], onehot: np.ndarray) -> np.ndarray:
    """Per row of ``block``, its contributions summed per group (and in the last column, the raw score).

    First, per group of trees, every row's pattern as an index into a table of the patterns that occur;
    then the tables' rows are added up a slice of rows at a time. Adding each group's values to the whole
    block in turn moved the block through memory 150 times (15 s of a 1M-customer refresh); a slice
    stays in the processor's cache while all groups are added to it."""
    columns = np.ascontiguousarray(block.T)  # one feature's values side by side: fast comparisons
    nans = [m if m.any() else None for m in np.isnan(columns)]
    width = onehot.shape[1]
    total = np.zeros((len(block), width))
    rows = np.arange(len(block))
    tables, codes = [], []
    for first, count in _groups(splits):
        if sum(len(t) for t in splits[first:first + count]) > PACK_BITS:  # one tree too big to count
            total += booster.predict(block, pred_contrib=True, start_iteration=first, num_iteration=count) @ onehot
            continue
        code = np.zeros(len(block), dtype=np.int32)
        bit = 0
        for tree in splits[first:first + count]:
            for feature, threshold, default_left, missing in tree:
                left = _goes_left(columns[feature], threshold, default_left, missing, nans[feature])
                np.bitwise_or(code, left.view(np.uint8) << np.uint8(bit) if bit < 8 else
                              left.astype(np.int32) << bit, out=code, casting="unsafe")
                bit += 1
        rep = np.full(1 << bit, -1, dtype=np.int64)
        rep[code] = rows  # one row of each pattern that occurs (any one: they are interchangeable)
        present = np.flatnonzero(rep >= 0)
        index = np.zeros(1 << bit, dtype=np.uint16)  # at most 2**PACK_BITS patterns: they fit
        index[present] = np.arange(len(present))
        codes.append(index[code])
        tables.append(booster.predict(block[rep[present]], pred_contrib=True, start_iteration=first,
                                      num_iteration=count) @ onehot)
    buf = np.empty((min(SLICE_ROWS, len(block)), width))
    for lo in range(0, len(block), SLICE_ROWS):
        part = total[lo:lo + SLICE_ROWS]
        got = buf[:len(part)]
        for table, code in zip(tables, codes, strict=True):
            np.take(table, code[lo:lo + SLICE_ROWS], axis=0, out=got)
            part += got
    return total
