"""Prediction models with scikit-learn's estimator contract (see docs/models.md).

Transaction models: ``BetaGeoFitter``, ``ModifiedBetaGeoFitter``,
``ParetoNBDFitter``; spend: ``GammaGammaFitter``; contracts:
``ShiftedBetaGeometricFitter``; supervised churn: ``ChurnModel``.
Imported on first use, so that the command line does not load LightGBM and
scikit-learn for commands that do not need them.
"""

from importlib import import_module

_WHERE = {"BetaGeoFitter": "bgnbd", "ModifiedBetaGeoFitter": "bgnbd", "ParetoNBDFitter": "paretonbd",
          "GammaGammaFitter": "gammagamma", "ShiftedBetaGeometricFitter": "sbg", "ChurnModel": "churn"}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"retentio.models.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'retentio.models' has no attribute {name!r}")
