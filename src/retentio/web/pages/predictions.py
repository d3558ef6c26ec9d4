"""Predictions: the model card: chosen model and why, backtest tracking and calibration, the spend and churn
models, and the fallback with its reason (twin: /api/v1/predictions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import RetentioError
from retentio.i18n import tr
from retentio.services import models
from retentio.web.pages.common import engine, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)
COLORS = ("#2457c5", "#b42318", "#1b7f3b", "#9a6700", "#6b3fa0", "#0e7490")


def charts(card: dict[str, Any], lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fitted = [m for m in card.get("models") or [] if m.get("tracking")]
    if fitted:
        steps = [t["step"] for t in fitted[0]["tracking"]]
        series: list[dict[str, Any]] = [{"name": tr(lang, "Actual"), "data": [t["actual"] for t in fitted[0]["tracking"]], "color": "#17202e"}]
        for i, m in enumerate(fitted):
            series.append({"name": m["name"], "data": [t["predicted"] for t in m["tracking"]], "dashed": True,
                           "color": COLORS[i % len(COLORS)]})
        out["tracking"] = {"x": steps, "lang": lang, "axes": [{"format": "num", "min": 0}], "series": series}
    best = next((m for m in card.get("models") or [] if m.get("best") and m.get("calibration")), None)
    if best:
        cal = best["calibration"]
        out["by_frequency"] = {"x": [c["frequency"] for c in cal], "lang": lang, "axes": [{"format": "num", "min": 0}],
                               "series": [{"name": tr(lang, "Actual"), "kind": "bar", "color": "#8fb0ea",
                                           "data": [c["actual"] for c in cal]},
                                          {"name": best["name"], "data": [c["predicted"] for c in cal],
                                           "color": "#b42318"}]}
    churn = card.get("churn_model") or {}
    if churn.get("calibration"):
        cal = churn["calibration"]
        out["churn_calibration"] = {"x": [c["bin"] for c in cal], "lang": lang,
                                    "axes": [{"format": "share", "min": 0, "max": 1}],
                                    "series": [{"name": tr(lang, "Predicted"), "data": [c["predicted"] for c in cal],
                                                "color": "#2457c5", "dashed": True},
                                               {"name": tr(lang, "Observed"), "data": [c["observed"] for c in cal],
                                                "color": "#17202e"}]}
    if churn.get("importance"):
        items = sorted(churn["importance"].items(), key=lambda kv: kv[1])
        out["importance"] = {"x": [k for k, _v in items], "lang": lang, "axes": [{"format": "num", "min": 0}],
                             "series": [{"name": tr(lang, "Importance"), "kind": "bar", "color": "#8fb0ea",
                                         "data": [v for _k, v in items]}]}
    return out


@router.get("/predictions")
def predictions_page(request: Request, p: Principal = Depends(viewer)) -> Response:
    try:
        card = models.model_card(engine(request), p, request.state.lang)
    except RetentioError as exc:
        if "no results yet" not in exc.msg.msgid:
            raise
        return render(request, "_page_empty.html", title=tr(request.state.lang, "Predictions"))
    return render(request, "predictions.html", title=tr(request.state.lang, "Predictions"), card=card,
                  charts=charts(card, request.state.lang))
