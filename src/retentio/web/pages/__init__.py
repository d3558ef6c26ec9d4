"""The dashboard's pages, one module per page: parse the request, call the service, render a template.

Every page has its JSON twin under /api/v1 (docs/web.md lists them); both call the same service function.
"""

from __future__ import annotations

from retentio.web.pages import (
    at_risk,
    cohorts,
    customers,
    data,
    flows,
    login,
    loyalty,
    overview,
    planning,
    predictions,
    privacy,
    segments,
    settings,
    voice,
)

PAGE_ROUTERS = [login.router, overview.router, cohorts.router, segments.router, privacy.router, customers.router, at_risk.router,
                predictions.router, flows.router, loyalty.router, voice.router, planning.router, data.router,
                settings.router]
