"""The model card."""

from __future__ import annotations

from fastapi import Depends, Request

from retentio.auth.roles import Principal
from retentio.services import models
from retentio.web.api import authorized, engine, lang, router
from retentio.web.api.schemas import ModelCard

api = router("predictions")


@api.get("/predictions", response_model=ModelCard, summary="Chosen model and why, backtest, spend and churn models")
def card(request: Request, p: Principal = Depends(authorized)):
    return models.model_card(engine(request), p, lang(request))
