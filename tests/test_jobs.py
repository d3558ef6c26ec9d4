"""Jobs: each is claimed by one runner, progress is written, the outcome stored; a dead runner's job fails."""

from __future__ import annotations

import datetime as dt
import threading

import sqlalchemy as sa

from retentio import jobs
from retentio.auth.roles import OPERATOR, Principal
from retentio.db.web_models import Job


def test_each_job_is_claimed_once_by_concurrent_runners(db):
    for _ in range(12):
        jobs.enqueue(db, OPERATOR, "flows", {})
    claimed: list[int] = []
    lock = threading.Lock()

    def take():
        while (job_id := jobs.claim(db)) is not None:
            with lock:
                claimed.append(job_id)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 12


def test_dedupe_key_makes_one_job(db):
    a = jobs.enqueue(db, OPERATOR, "flows", {}, dedupe_key="slot-1")
    b = jobs.enqueue(db, OPERATOR, "flows", {}, dedupe_key="slot-1")
    assert a["id"] == b["id"]


def test_a_runner_that_died_leaves_a_failed_job_not_a_stuck_one(db):
    job = jobs.enqueue(db, OPERATOR, "flows", {})
    jobs.claim(db)
    with db.begin() as conn:
        conn.execute(sa.update(Job).where(Job.id == job["id"]).values(
            heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    jobs.claim(db)
    out = jobs.get_job(db, OPERATOR, job["id"])
    assert out["status"] == "failed" and "interrupted" in out["error"]["msg"]


def test_a_failing_job_stores_its_reason_and_the_runner_goes_on(db, tmp_path):
    bad = jobs.enqueue(db, OPERATOR, "import", {"kind": "orders", "path": str(tmp_path / "missing.csv")})
    good = jobs.enqueue(db, OPERATOR, "flows", {})
    assert jobs.run_pending(db) == 2
    assert jobs.get_job(db, OPERATOR, bad["id"])["status"] == "failed"
    assert jobs.get_job(db, OPERATOR, good["id"])["status"] == "done"


def test_who_may_start_what(db):
    import pytest

    from retentio.errors import PermissionDenied

    analyst = Principal("user", 1, "a@example.com", "analyst")
    with pytest.raises(PermissionDenied):
        jobs.enqueue(db, analyst, "refresh", {})
    with pytest.raises(PermissionDenied):
        jobs.enqueue(db, analyst, "import", {})
    jobs.enqueue(db, Principal("user", 2, "m@example.com", "marketer"), "flows", {})
    assert jobs.list_jobs(db, analyst)["jobs"]


def test_progress_is_written_and_throttled(db):
    job = jobs.enqueue(db, OPERATOR, "flows", {})
    p = jobs.Progress(db, job["id"])
    p(10, 100, "import")
    p(20, 100, "import")  # within HEARTBEAT_EVERY: not written
    got = jobs.get_job(db, OPERATOR, job["id"])
    assert (got["done"], got["total"], got["stage"]) == (10, 100, "import")
    p(30, 100, "store")  # a new stage is always written
    assert jobs.get_job(db, OPERATOR, job["id"])["done"] == 30
