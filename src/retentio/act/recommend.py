""""Customers who bought A also bought …": co-purchase recommendations.

Computed by the analytics engine from order lines: for every product pair the
number of customers who bought both (support), the confidence P(B | A) and the
lift against B's base rate. A customer's candidates are the neighbours of the
products they bought, scored by summed confidence, without what they already
own. Pairs seen by fewer than ``min_support`` customers are dropped, so one
odd basket does not become a recommendation. Item-to-item co-occurrence is
written here in Ibis rather than taken from a recommender library because it
must run on the same engines as the rest of the analytics (DuckDB, PostgreSQL,
Spark) and be explainable to the marketer in one sentence.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine, text

BASKETS_SQL = """
SELECT DISTINCT o.customer_id, COALESCE(p.sku, l.sku) AS item, COALESCE(p.name, l.description, l.sku) AS name
FROM order_lines l JOIN orders o ON o.id = l.order_id LEFT JOIN products p ON p.id = l.product_id
WHERE o.status = 'placed' AND o.customer_id IS NOT NULL AND COALESCE(p.sku, l.sku) IS NOT NULL
"""


def load_baskets(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(text(BASKETS_SQL)).all()
    return pd.DataFrame(rows, columns=["customer_id", "item", "name"])


def pair_table(baskets: ibis.Table, min_support: int = 3) -> ibis.Table:
    """item, other, support, confidence, lift for every pair bought by ≥ min_support customers."""
    b = baskets.select("customer_id", "item").distinct()
    n = b.customer_id.nunique().as_scalar()
    item_counts = b.group_by("item").aggregate(n_item=b.customer_id.nunique())
    other = b.rename(other="item")
    pairs = (b.join(other, "customer_id").filter(lambda t: t.item != t.other)
             .group_by(["item", "other"]).aggregate(support=lambda t: t.customer_id.nunique())
             .filter(lambda t: t.support >= min_support))
    pairs = pairs.join(item_counts, "item")
    base = item_counts.rename(other="item", n_other="n_item")
    pairs = pairs.join(base, "other")
    return pairs.mutate(confidence=pairs.support / pairs.n_item,
                        lift=(pairs.support / pairs.n_item) / (pairs.n_other / n))


def recommend(baskets: pd.DataFrame, customer_ids, k: int = 3, min_support: int = 3,
              con=None) -> dict[int, list[str]]:
    """Up to ``k`` product names per customer, best first; customers without a signal get none."""
    if baskets.empty:
        return {}
    con = con or ibis.duckdb.connect()
    b = con.create_table("baskets", pa.Table.from_pandas(baskets, preserve_index=False), temp=True, overwrite=True)
    pairs = pair_table(b, min_support).filter(lambda t: t.lift > 1)
    wanted = con.create_table("wanted", pa.table({"customer_id": pa.array(list(customer_ids), pa.int64())}),
                              temp=True, overwrite=True)
    owned = b.join(wanted, "customer_id").select("customer_id", "item")
    cand = owned.join(pairs, "item").group_by(["customer_id", "other"]).aggregate(
        score=lambda t: t.confidence.sum())
    owned_again = owned.rename(other="item").mutate(owned=True)
    cand = cand.left_join(owned_again, ["customer_id", "other"]).filter(lambda t: t.owned.isnull())
    w = ibis.window(group_by="customer_id", order_by=[ibis.desc("score"), "other"])
    top = cand.mutate(rank=ibis.row_number().over(w)).filter(lambda t: t.rank < k)
    names = b.select(other="item", name="name").distinct(on="other", keep="first")
    out = top.join(names, "other").order_by(["customer_id", "rank"]).select("customer_id", "name").to_pandas()
    return {int(c): list(g["name"]) for c, g in out.groupby("customer_id", sort=False)}
