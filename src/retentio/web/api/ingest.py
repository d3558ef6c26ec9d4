"""Live data: batches of customers, orders, order lines and events; events from a shop front end."""

from __future__ import annotations

from fastapi import Depends, Request

from retentio.auth.roles import Principal
from retentio.services import ingestion
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import Batch, IngestResult, TrackBatch

api = router("ingestion")
DESCRIPTION = ("Up to 1,000 records with the canonical field names of `retentio import {kind}` (docs/import.md). "
               "Each is validated like a row of a file and imported by its external id (a repeat changes nothing), "
               "or rejected with its reasons; the batch lands whole or not at all.")


def _route(kind: str):
    def ingest(request: Request, body: Batch, p: Principal = Depends(authorized)):
        return ingestion.ingest(engine(request), p, kind, body.records)
    ingest.__name__ = f"ingest_{kind.replace('-', '_')}"
    api.post(f"/{kind}", response_model=IngestResult, summary=f"Ingest {kind}",
             description=DESCRIPTION.format(kind=kind))(ingest)


for _kind in ("customers", "orders", "order-lines", "events"):
    _route(_kind)


@api.post("/track", response_model=IngestResult, summary="Events from a shop front end (publishable key)",
          description="For the `tracking` key a shop embeds in its pages: product views, carts, logins and the "
                      "like, for known customers only. It can neither read nor create anything else.")
def track(request: Request, body: TrackBatch, p: Principal = Depends(authorized)):
    return ingestion.track(engine(request), p, body.events)
