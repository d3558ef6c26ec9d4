"""Data: upload a file, map its columns (suggested from the aliases and presets, editable, kept by name),
follow the import, download its rejects; start a refresh; the history (twins: /api/v1/imports, /refresh,
/jobs, /runs, /mappings)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from retentio.auth.roles import Principal
from retentio.errors import RetentioError
from retentio.i18n import tr
from retentio.ingest.schema import KINDS
from retentio.jobs import get_job, list_jobs
from retentio.services import data
from retentio.web.pages.common import changer, engine, failed, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)


def _wake(request: Request) -> None:
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:
        runner.wake.set()


@router.get("/data")
def data_page(request: Request, p: Principal = Depends(viewer)) -> Response:
    hist = data.history(engine(request), p, request.state.lang)
    jobs = list_jobs(engine(request), p, limit=10)["jobs"]
    mappings = data.list_mappings(engine(request), p) if p.can("imports") else []
    return render(request, "data.html", title=tr(request.state.lang, "Data"), hist=hist, jobs=jobs,
                  kinds=list(KINDS), mappings=mappings)


@router.post("/data/upload")
async def upload(request: Request, file: UploadFile = File(...), kind: str = Form(...),
                 p: Principal = Depends(changer)) -> Response:
    try:
        up = await run_in_threadpool(data.save_upload, engine(request), p, file.filename or "upload.csv", file.file)
        info = await run_in_threadpool(data.inspect_upload, engine(request), p, up["upload_id"], kind)
    except RetentioError as exc:
        return failed(request, exc)
    return render(request, "_mapping.html", info=info, mappings=data.list_mappings(engine(request), p))


@router.post("/data/inspect")
async def inspect(request: Request, p: Principal = Depends(changer)) -> Response:
    """The mapping form again, for other read options (delimiter, encoding, sheet)."""
    form = await request.form()
    options = {k: str(form.get(k) or "") for k in ("delimiter", "encoding", "sheet")}
    try:
        info = data.inspect_upload(engine(request), p, str(form.get("upload_id") or ""), str(form.get("kind") or ""),
                                   options)
    except RetentioError as exc:
        return failed(request, exc)
    mappings = data.list_mappings(engine(request), p)
    chosen = next((m for m in mappings if m["name"] == form.get("saved")), None)
    if chosen is not None and chosen.get("kind") == info["kind"]:
        info["suggested"] = {k: c for k, c in chosen["columns"].items() if c in info["columns"]}
    return render(request, "_mapping.html", info=info, mappings=mappings, options=options)


@router.post("/data/import")
async def start_import(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    kind = str(form.get("kind") or "")
    mapping = {k[4:]: str(v) for k, v in form.items() if k.startswith("map_") and v}
    options = {k: form.get(k) for k in data.WEB_OPTIONS if form.get(k)}
    try:
        job = data.start_import(engine(request), p, str(form.get("upload_id") or ""), kind, mapping=mapping,
                                options=options, save_as=str(form.get("save_as") or "") or None)
    except RetentioError as exc:
        return failed(request, exc)
    _wake(request)
    return render(request, "_job.html", job=job)


@router.post("/data/refresh")
def start_refresh(request: Request, p: Principal = Depends(changer)) -> Response:
    job = data.start_refresh(engine(request), p)
    _wake(request)
    return render(request, "_job.html", job=job)


@router.get("/data/jobs/{job_id}")
def job_status(request: Request, job_id: int, p: Principal = Depends(viewer)) -> Response:
    return render(request, "_job.html", job=get_job(engine(request), p, job_id))


@router.get("/data/jobs/{job_id}/rejects.csv")
def rejects(request: Request, job_id: int, p: Principal = Depends(viewer)) -> Response:
    return FileResponse(data.reject_report(engine(request), p, job_id), media_type="text/csv; charset=utf-8",
                        filename="rejects.csv")
