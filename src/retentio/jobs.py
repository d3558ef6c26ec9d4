"""Long work outside the request: imports, refreshes and flow runs as jobs with progress.

A job is a row in ``jobs``. Whoever starts one (a page, the API, the
scheduler) only inserts the row; a runner thread in ``retentio serve`` or in
``retentio scheduler`` claims it with a conditional update (so two runners
never take the same job), runs it, writes its progress at most twice a
second, and stores the result or the error. A runner that dies leaves its job
``running`` with a stale heartbeat; the next runner marks it failed as
interrupted. Nothing is half done by then: an import lands whole or not at
all, a refresh becomes visible only when complete.

``dedupe_key`` makes a job unique: the scheduler's "refresh of 2 December"
is inserted once however many processes tick, and a second refresh while one
is queued or running returns the first.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from retentio.auth.roles import Principal, require
from retentio.db.types import table_of
from retentio.db.web_models import Job
from retentio.errors import ConfigError, NotFound, RetentioError
from retentio.i18n import Msg
from retentio.services.common import check_limit, decode_cursor, encode_cursor, plain

log = logging.getLogger(__name__)
KINDS = ("import", "refresh", "flows", "retention")
PERMISSION = {"import": "imports", "refresh": "refresh", "flows": "flows:write", "retention": "data:delete"}
STALE = dt.timedelta(minutes=10)
HEARTBEAT_EVERY = 0.5


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _out(j: Job) -> dict[str, Any]:
    params = dict(j.params or {})
    params.pop("path", None)  # where the upload lies on the server is nobody's business
    return plain({"id": j.id, "kind": j.kind, "status": j.status, "done": j.done, "total": j.total,
                  "stage": j.stage, "params": params, "result": j.result, "error": j.error,
                  "created_by": j.created_by, "created_at": j.created_at, "started_at": j.started_at,
                  "finished_at": j.finished_at})


def enqueue(engine: Engine, actor: Principal, kind: str, params: dict[str, Any], *,
            dedupe_key: str | None = None) -> dict[str, Any]:
    """Queue a job; with ``dedupe_key``, an existing job of that key is returned instead of a second one."""
    if kind not in KINDS:
        raise ConfigError(Msg("unknown job kind {kind!r}", kind=kind))
    require(actor, PERMISSION[kind])
    from retentio.act.delivery_plan import insert_ignore

    t = table_of(Job)
    with engine.begin() as conn:
        if kind == "refresh" and dedupe_key is None:
            busy = conn.execute(select(t.c.id).where(t.c.kind == "refresh", t.c.status.in_(("queued", "running")))
                                .order_by(t.c.id).limit(1)).scalar()
            if busy is not None:
                return {**get_job(engine, actor, busy, conn=conn), "existing": True}
        row = {"kind": kind, "params": params, "status": "queued", "done": 0, "created_by": actor.ref,
               "created_at": _now(), "dedupe_key": dedupe_key}
        if dedupe_key is None:
            inserted = conn.execute(t.insert().values(**row)).inserted_primary_key
            assert inserted is not None
            job_id = inserted[0]
        else:
            insert_ignore(conn, t, [row], ["dedupe_key"])
            job_id = conn.execute(select(t.c.id).where(t.c.dedupe_key == dedupe_key)).scalar_one()
    return get_job(engine, actor, job_id)


def get_job(engine: Engine, actor: Principal, job_id: int, *, conn=None) -> dict[str, Any]:
    require(actor, "jobs:read")
    if conn is not None:
        row = conn.execute(select(table_of(Job)).where(table_of(Job).c.id == job_id)).first()
        if row is None:
            raise NotFound(Msg("no such job: {id}", id=job_id))
        j = Job(**dict(row._mapping))
        return _out(j)
    from retentio.db.session import session_scope

    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(Msg("no such job: {id}", id=job_id))
        return _out(job)


def list_jobs(engine: Engine, actor: Principal, *, kind: str | None = None, limit: int | None = None,
              cursor: str | None = None) -> dict[str, Any]:
    from retentio.db.session import session_scope

    require(actor, "jobs:read")
    limit = check_limit(limit, 20)
    before = decode_cursor(cursor).get("before")
    q = select(Job).order_by(Job.id.desc()).limit(limit + 1)
    if kind:
        q = q.where(Job.kind == kind)
    if before is not None:
        q = q.where(Job.id < int(before))
    with session_scope(engine) as s:
        jobs = [_out(j) for j in s.scalars(q)]
    more = len(jobs) > limit
    jobs = jobs[:limit]
    return {"jobs": jobs, "next_cursor": encode_cursor({"before": jobs[-1]["id"]}) if more and jobs else None}


def claim(engine: Engine) -> int | None:
    """Take the oldest queued job, or none; a conditional update, so each job goes to one runner."""
    t = table_of(Job)
    with engine.begin() as conn:
        stale = _now() - STALE
        conn.execute(update(t).where(t.c.status == "running", t.c.heartbeat_at < stale).values(
            status="failed", finished_at=_now(), error=Msg("interrupted: the process running it stopped").to_json()))
        for job_id in conn.execute(select(t.c.id).where(t.c.status == "queued").order_by(t.c.id).limit(5)).scalars():
            got = conn.execute(update(t).where(t.c.id == job_id, t.c.status == "queued").values(
                status="running", started_at=_now(), heartbeat_at=_now())).rowcount
            if got:
                return int(job_id)
    return None


class Progress:
    """Writes a job's progress, at most every HEARTBEAT_EVERY seconds (and always on a new stage)."""

    def __init__(self, engine: Engine, job_id: int) -> None:
        self.engine, self.job_id = engine, job_id
        self.last = 0.0
        self.stage: str | None = None

    def __call__(self, done: int | None = None, total: int | None = None, stage: str | None = None) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.last < HEARTBEAT_EVERY:
            return
        self.last, self.stage = now, stage or self.stage
        values: dict[str, Any] = {"heartbeat_at": _now()}
        if done is not None:
            values["done"] = int(done)
        if total is not None:
            values["total"] = int(total)
        if stage is not None:
            values["stage"] = stage[:80]
        t = table_of(Job)
        try:
            with self.engine.begin() as conn:
                conn.execute(update(t).where(t.c.id == self.job_id).values(**values))
        except Exception as exc:  # progress is a courtesy; a busy database must not fail the job
            log.debug("progress not written: %s", type(exc).__name__)


def _run_import(engine: Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from retentio.ingest.importer import run_import

    path = Path(params["path"])
    report = path.with_name(path.name + ".rejects.csv")
    summary = run_import(engine, params["kind"], path, preset=params.get("preset"),
                         map_flags=params.get("mapping") or {}, option_flags=params.get("options") or {},
                         report_path=report, progress=lambda done, total: progress(done, total, "import"))
    out = summary.to_dict()
    out["report"] = "rejects.csv" if summary.report_path else None
    out["file"] = params.get("filename")
    return out


def _run_refresh(engine: Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from retentio.refresh import STEPS, refresh
    from retentio.settings import get_settings

    run = refresh(engine, engine_name=params.get("engine") or get_settings().engine,
                  progress=lambda step: progress(STEPS.index(step) + 1 if step in STEPS else None, len(STEPS), step))
    return {"run_id": run.id, "duration_s": run.duration_s, "as_of": plain(run.as_of)}


def _run_flows(engine: Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from retentio.act.runner import run_flows

    progress(stage="flows")
    report = run_flows(engine)
    return plain({"flows": report.flows, "failed": {k: str(v) for k, v in report.failed.items()}})


def _run_retention(engine: Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from retentio.privacy import retention
    from retentio.shop import load_config

    progress(stage="retention")
    return plain(retention.run(engine, load_config(engine).retention_years, dry_run=bool(params.get("dry_run"))))


RUNNERS: dict[str, Callable[[Engine, dict[str, Any], Progress], dict[str, Any]]] = {
    "import": _run_import, "refresh": _run_refresh, "flows": _run_flows, "retention": _run_retention}


def run(engine: Engine, job_id: int) -> None:
    """Run a claimed job to its end; the outcome is stored, never raised."""
    from retentio.db.session import session_scope

    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None
        kind, params = job.kind, dict(job.params or {})
    progress = Progress(engine, job_id)
    status, result, error = "done", None, None
    try:
        result = RUNNERS[kind](engine, params, progress)
    except RetentioError as exc:
        status, error = "failed", exc.to_json()
    except Exception as exc:  # the job fails alone; its reason is stored without data
        log.exception("job %s (%s) failed", job_id, kind)
        status, error = "failed", Msg("unexpected error ({kind})", kind=type(exc).__name__).to_json()
    t = table_of(Job)
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == job_id).values(status=status, result=plain(result), error=error,
                                                             finished_at=_now(), heartbeat_at=_now()))


def run_pending(engine: Engine, limit: int | None = None) -> int:
    """Run queued jobs one after another until none is left (or ``limit`` ran)."""
    n = 0
    while limit is None or n < limit:
        job_id = claim(engine)
        if job_id is None:
            return n
        run(engine, job_id)
        n += 1
    return n


class Runner(threading.Thread):
    """A daemon thread that runs queued jobs; ``stop()`` lets it finish the job in hand."""

    def __init__(self, engine: Engine, poll: float = 1.0) -> None:
        super().__init__(name=f"retentio-jobs-{uuid.uuid4().hex[:6]}", daemon=True)
        self.engine, self.poll = engine, poll
        self._stop = threading.Event()
        self.wake = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                job_id = claim(self.engine)
            except Exception as exc:
                log.warning("job runner could not claim: %s", type(exc).__name__)
                job_id = None
            if job_id is not None:
                run(self.engine, job_id)
                continue
            self.wake.wait(self.poll)
            self.wake.clear()
