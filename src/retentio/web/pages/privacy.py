"""A customer's privacy rights on their page (admins): download their data, record an objection, erase them."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from retentio.auth.roles import Principal
from retentio.errors import ConfigError, RetentioError
from retentio.i18n import Msg
from retentio.services import privacy
from retentio.web.pages.common import back, changer, engine, failed, viewer

router = APIRouter(include_in_schema=False)


@router.get("/customers/{ref:path}/privacy-export.zip")
def export_zip(request: Request, ref: str, p: Principal = Depends(viewer)) -> Response:
    from retentio.privacy.export import zip_bytes

    data = privacy.export(engine(request), p, ref)
    return Response(zip_bytes(data), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="privacy-export-{data["customer_id"]}.zip"'})


@router.post("/customers/{ref:path}/objection")
def objection(request: Request, ref: str, objected: str = Form("on"), p: Principal = Depends(changer)) -> Response:
    try:
        privacy.objection(engine(request), p, ref, on=objected == "on")
    except RetentioError as exc:
        return failed(request, exc)
    return back(f"/customers/{quote(ref, safe='')}")


@router.post("/customers/{ref:path}/erasure")
def erasure(request: Request, ref: str, confirm: str = Form(""), p: Principal = Depends(changer)) -> Response:
    try:
        if confirm.strip() != ref:
            raise ConfigError(Msg("confirm with the customer number to erase"))
        privacy.erase(engine(request), p, ref)
    except RetentioError as exc:
        return failed(request, exc)
    return back("/customers")
