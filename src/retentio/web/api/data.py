"""Data: imports (multipart upload -> job), refresh (-> job), jobs, reject reports, history, saved mappings."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from retentio.auth.roles import Principal
from retentio.errors import ConfigError
from retentio.i18n import Msg
from retentio.jobs import get_job, list_jobs
from retentio.services import data
from retentio.web.api import authorized, engine, lang, router
from retentio.web.api.schemas import History, JobList, JobOut, Mapping
from retentio.web.idempotency import idempotent
from retentio.web.render import to_json

api = router("data")
KINDS = ("orders", "order-lines", "customers", "events", "subscriptions", "feedback", "cases")


def _json_field(name: str, raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(Msg("{name} must be a JSON object", name=name)) from None
    if not isinstance(value, dict):
        raise ConfigError(Msg("{name} must be a JSON object", name=name))
    return value


@api.post("/imports", response_model=JobOut, status_code=202,
          summary="Upload a file and import it as a job (Idempotency-Key)",
          description="multipart/form-data: `file` (CSV, Parquet or Excel), `kind`, and optionally `mapping` "
                      "(JSON: field -> column), `options` (JSON), `preset`. Answers with the job to follow.")
async def create_import(request: Request, file: UploadFile = File(...),
                        kind: str = Form(..., pattern="^(" + "|".join(KINDS) + ")$"),
                        mapping: str | None = Form(None, max_length=20000),
                        options: str | None = Form(None, max_length=5000),
                        preset: str | None = Form(None, max_length=60),
                        p: Principal = Depends(authorized)) -> Response:
    columns, opts = _json_field("mapping", mapping), _json_field("options", options)
    file.file.seek(0)
    sha = hashlib.sha256()
    while chunk := file.file.read(1024 * 1024):
        sha.update(chunk)
    file.file.seek(0)
    fingerprint = json.dumps([kind, columns, opts, preset, file.filename, sha.hexdigest()], sort_keys=True).encode()

    async def produce() -> Response:
        def work():
            up = data.save_upload(engine(request), p, file.filename or "upload.csv", file.file)
            return data.start_import(engine(request), p, up["upload_id"], kind, mapping=columns, options=opts,
                                     preset=preset or None)
        job = await run_in_threadpool(work)
        _wake(request)
        return Response(to_json(job), 202, media_type="application/json",
                        headers={"Location": f"/api/v1/jobs/{job['id']}"})
    return await idempotent(request, p.ref, produce, body=fingerprint)


def _wake(request: Request) -> None:
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:
        runner.wake.set()


@api.post("/refresh", response_model=JobOut, status_code=202, summary="Start a refresh as a job (one at a time)")
async def refresh(request: Request, p: Principal = Depends(authorized)) -> Response:
    async def produce() -> Response:
        job = await run_in_threadpool(data.start_refresh, engine(request), p)
        _wake(request)
        return Response(to_json(job), 202, media_type="application/json",
                        headers={"Location": f"/api/v1/jobs/{job['id']}"})
    return await idempotent(request, p.ref, produce)


@api.get("/jobs", response_model=JobList, summary="Jobs, newest first")
def jobs(request: Request, kind: str | None = Query(None, pattern="^(import|refresh|flows)$"),
         limit: int = Query(20, ge=1, le=500), cursor: str | None = Query(None, max_length=200),
         p: Principal = Depends(authorized)):
    return list_jobs(engine(request), p, kind=kind, limit=limit, cursor=cursor)


@api.get("/jobs/{job_id}", response_model=JobOut, summary="One job with its progress and result")
def job(request: Request, job_id: int = Path(..., ge=1, le=2**62), p: Principal = Depends(authorized)):
    return get_job(engine(request), p, job_id)


@api.get("/jobs/{job_id}/rejects.csv", response_class=FileResponse, summary="An import's reject report",
         responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def rejects(request: Request, job_id: int = Path(..., ge=1, le=2**62), p: Principal = Depends(authorized)):
    path = data.reject_report(engine(request), p, job_id)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename="rejects.csv")


@api.get("/runs", response_model=History, summary="The latest imports and refreshes")
def runs(request: Request, limit: int = Query(20, ge=1, le=500), p: Principal = Depends(authorized)):
    return data.history(engine(request), p, lang(request), limit)


@api.get("/mappings", response_model=list[Mapping], summary="Saved column mappings")
def mappings(request: Request, p: Principal = Depends(authorized)):
    return data.list_mappings(engine(request), p)
