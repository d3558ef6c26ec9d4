"""Privacy rights: a customer's data export (JSON and a zip of JSON + CSVs), erasure, objection; retention
periods, the erasure log and the registry. Admin keys only (the services check)."""

from __future__ import annotations

from fastapi import Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from retentio.auth.roles import Principal
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.services import privacy
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import Open

api = router("privacy")
Ref = Path(..., min_length=1, max_length=128)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErasureIn(_In):
    # An erasure cannot be undone: the body repeats the customer number, so a wrong URL erases nobody.
    confirm: str = Field(min_length=1, max_length=128, description="The customer number again")


class ObjectionIn(_In):
    objected: bool


class RetentionIn(_In):
    apply: bool = False
    years: int | None = Field(default=None, ge=1, le=30)
    confirm: str | None = Field(default=None, max_length=10, description='"erase" when apply is true')


class Export(Open):
    customer_id: int
    tables: dict[str, list[dict]]


class Erased(Open):
    customer_id: int
    tables: dict[str, int]


class Objection(Open):
    customer_id: int
    objected: bool


class Retention(Open):
    enabled: bool
    customers: int
    erased: int
    dry_run: bool


class LogEntry(BaseModel):
    erased_at: str
    customer_id: int
    reason: str
    actor: str


class RegistryRow(BaseModel):
    table: str
    column: str
    class_: str = Field(alias="class")
    linked: bool
    why_unlinked: str | None = None


@api.get("/customers/{ref}/privacy-export", response_model=Export,
         summary="Everything stored about one customer (GDPR Art. 15, 20)")
def export(request: Request, ref: str = Ref, p: Principal = Depends(authorized)):
    return privacy.export(engine(request), p, ref)


@api.get("/customers/{ref}/privacy-export.zip", response_class=Response,
         summary="The same as a zip: customer.json and one CSV per table",
         responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
def export_zip(request: Request, ref: str = Ref, p: Principal = Depends(authorized)):
    from retentio.privacy.export import zip_bytes

    data = privacy.export(engine(request), p, ref)
    return Response(zip_bytes(data), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="privacy-export-{data["customer_id"]}.zip"'})


@api.post("/customers/{ref}/erasure", response_model=Erased,
          summary="Erase one customer (Art. 17): personal data goes, orders and points stay anonymous")
def erase(request: Request, body: ErasureIn, ref: str = Ref, p: Principal = Depends(authorized)):
    if body.confirm != ref:
        raise ConfigError(Msg("confirm with the customer number to erase"))
    return privacy.erase(engine(request), p, ref)


@api.put("/customers/{ref}/objection", response_model=Objection,
         summary="Record or withdraw an objection to profiling (Art. 21)")
def objection(request: Request, body: ObjectionIn, ref: str = Ref, p: Principal = Depends(authorized)):
    return privacy.objection(engine(request), p, ref, on=body.objected)


@api.post("/privacy/retention", response_model=Retention,
          summary="Customers inactive beyond the retention period: count (dry run) or erase")
def retention(request: Request, body: RetentionIn, p: Principal = Depends(authorized)):
    if body.apply and body.confirm != "erase":
        raise ConfigError(Msg('to erase, send "confirm": "erase" with "apply": true'))
    return privacy.retention(engine(request), p, dry_run=not body.apply, years=body.years)


@api.get("/privacy/erasures", response_model=list[LogEntry], summary="The erasure log (no personal data)")
def erasures(request: Request, p: Principal = Depends(authorized)):
    return privacy.erasure_log(engine(request), p)


@api.get("/privacy/registry", response_model=list[RegistryRow], summary="Every column with its class of personal data",
         response_model_by_alias=True)
def registry(request: Request, p: Principal = Depends(authorized)):
    return privacy.registry(p)
