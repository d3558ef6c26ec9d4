"""Prediction models with scikit-learn's estimator contract (see docs/models.md).

Transaction models: :class:`BetaGeoFitter`, :class:`ModifiedBetaGeoFitter`,
:class:`ParetoNBDFitter`; spend: :class:`GammaGammaFitter`; contracts:
:class:`ShiftedBetaGeometricFitter`; supervised churn: :class:`ChurnModel`.
"""

from retentio.models.bgnbd import BetaGeoFitter, ModifiedBetaGeoFitter
from retentio.models.churn import ChurnModel
from retentio.models.gammagamma import GammaGammaFitter
from retentio.models.paretonbd import ParetoNBDFitter
from retentio.models.sbg import ShiftedBetaGeometricFitter

__all__ = ["BetaGeoFitter", "ChurnModel", "GammaGammaFitter", "ModifiedBetaGeoFitter", "ParetoNBDFitter",
           "ShiftedBetaGeometricFitter"]
