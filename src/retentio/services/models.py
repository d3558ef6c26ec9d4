"""The model card: which prediction model was chosen and why, how it tracked, and the churn and spend models."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from retentio.auth.roles import Principal, require
from retentio.i18n import message_text
from retentio.services.common import plain


def _messages(obj: Any, lang: str | None) -> Any:
    """Stored messages ({"msg", "args"}) rendered in ``lang``, everywhere in the structure."""
    if isinstance(obj, dict):
        if set(obj) == {"msg", "args"}:
            return message_text(obj, lang)
        return {k: _messages(v, lang) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_messages(v, lang) for v in obj]
    return obj


def model_card(engine: Engine, actor: Principal, lang: str | None = None) -> dict[str, Any]:
    """What the last refresh predicted with: stages, the chosen model, the backtest table and tracking,
    the spend model with its holdout check, the churn model's metrics and calibration, and any fallback."""
    from retentio import results

    require(actor, "aggregates:read")
    run = results.current_run(engine)
    info = (run.summary or {}).get("predictions")
    if info is None:
        return {"as_of": plain(run.as_of), "available": False, "stages": {}, "chosen": None, "backtest": None,
                "churn_model": None, "contracts": None, "warnings": []}
    bt = info.get("backtest") or {}
    models = []
    for key, m in (bt.get("models") or {}).items():
        h = m.get("holdout") or {}
        models.append({"key": key, "name": m.get("name") or key, "params": m.get("params"), "se": m.get("se"),
                       "log_likelihood": m.get("log_likelihood"), "error": m.get("error"),
                       "mae": h.get("mae"), "predicted_total": h.get("predicted_total"),
                       "actual_total": h.get("actual_total"), "correlation": h.get("correlation"),
                       "brier": h.get("brier_no_purchase"), "best": key == bt.get("best"),
                       "tracking": h.get("tracking"), "calibration": h.get("by_frequency")})
    out = {"as_of": plain(run.as_of), "available": True, "stages": info.get("stages", {}),
           "chosen": info.get("chosen"), "models": models, "ranking": bt.get("ranking"),
           "fallback": bt.get("fallback"), "calibration_end": bt.get("calibration_end"),
           "holdout_end": bt.get("holdout_end"), "unit": bt.get("unit"), "spend": bt.get("spend"),
           "paper_tracking": bt.get("paper_tracking"), "churn_model": info.get("churn_model"),
           "contracts": info.get("contracts"), "horizon_days": info.get("prediction_horizon_days"),
           "churn_horizon_days": info.get("churn_horizon_days"), "margin": info.get("margin"),
           "discount_rate": info.get("discount_rate"), "warnings": info.get("warnings", [])}
    return plain(_messages(out, lang))
