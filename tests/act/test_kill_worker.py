"""Kill the worker again and again during a large send: every message arrives, none is lost, no silent copies.

The worker runs in its own process and is killed with SIGKILL at random
moments — while starting, claiming, sending or committing. The SMTP server
runs in the test process and survives every kill. At the end:

* every outbox row is ``sent`` and every one of them reached the server (nothing lost);
* a message reached the server more than once only if the outbox counted it
  as *in doubt* (killed between the server's acceptance and the commit), and
  then with the same Message-ID, so the copy is recognisable;
* in-doubt messages are bounded by the number of kills (at most one per kill
  and worker: the one in flight).

On PostgreSQL two workers run in parallel and are killed independently.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import select
from tests.act.conftest import NOW
from tests.act.servers import SmtpSink
from tests.act.test_runner import flow, install

from retentio.act.runner import run_flows
from retentio.db.act_models import OutboxMessage
from retentio.db.models import Consent, Customer, Order

N = 1500
WORKER = """
import sys
from retentio.act.worker import Worker, make_channels
from retentio.db.session import make_engine
engine = make_engine(sys.argv[1])
w = Worker(engine, make_channels(sys.argv[2], "shop@example.com", "Shop", 0, "k"), batch=10, lease_seconds=1.5)
w.run(until_empty=True)
"""


def _bulk_shop(engine) -> None:
    t = NOW - dt.timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(Customer.__table__.insert(), [
            {"id": i, "external_id": f"K{i}", "email": f"k{i}@example.org", "first_name": "Anna", "locale":
             "de_DE" if i % 3 else "en_GB", "time_zone": "Europe/Berlin"} for i in range(1, N + 1)])
        conn.execute(Consent.__table__.insert(), [
            {"customer_id": i, "channel": "email", "purpose": "marketing", "status": "granted",
             "recorded_at": t, "double_opt_in_at": t} for i in range(1, N + 1)])
        conn.execute(Order.__table__.insert(), [
            {"id": i, "external_id": f"O{i}", "customer_id": i, "placed_at": t, "net_total": 10, "status": "placed"}
            for i in range(1, N + 1)])


def _spawn(url: str, smtp: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", WORKER, url, smtp], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _remaining(engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(OutboxMessage.id).where(
            OutboxMessage.status.in_(["pending", "claimed", "sending"]))).all())


@pytest.mark.slow
@pytest.mark.parametrize(("database", "workers"), [
    pytest.param("sqlite", 1, id="sqlite-one"),
    pytest.param("postgres", 1, id="postgres-one", marks=pytest.mark.postgres),
    # parallel workers are a PostgreSQL feature (SKIP LOCKED); SQLite runs one
    pytest.param("postgres", 2, id="postgres-two", marks=pytest.mark.postgres)])
def test_killed_workers_lose_nothing_and_copy_only_in_doubt(request, database, workers):
    db = request.getfixturevalue("pg_engine" if database == "postgres" else "sqlite_engine")
    _bulk_shop(db)
    install(db, flow("bulk", {"type": "event", "event": "order_placed"},
                     [{"id": "m", "type": "send", "template": "feedback_request"}]))
    run_flows(db, NOW.replace(hour=12))
    assert _remaining(db) == N
    url = db.url.render_as_string(hide_password=False)
    rng = random.Random(7)
    kills = 0
    deadline = time.monotonic() + 600
    with SmtpSink() as sink:
        procs: list[subprocess.Popen] = []
        while _remaining(db) and time.monotonic() < deadline:
            procs = [p for p in procs if p.poll() is None]
            before = _remaining(db)
            while len(procs) < workers:
                procs.append(_spawn(url, sink.url))
            # A worker needs a few seconds to start (imports); kill only once sending is under way, so a slow
            # machine still has its workers killed mid-send rather than before they send anything.
            started = time.monotonic()
            while _remaining(db) == before and time.monotonic() - started < 30 and all(
                    p.poll() is None for p in procs):
                time.sleep(0.05)
            time.sleep(rng.uniform(0.1, 0.8))
            victim = rng.choice(procs)
            if victim.poll() is None and _remaining(db):
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                procs.remove(victim)
                kills += 1
            if not _remaining(db):
                break
            if kills % 4 == 0:
                time.sleep(1.6)  # let leases of killed workers run out sometimes before the next start
        for p in procs:
            p.wait(timeout=60)
            assert p.returncode == 0, p.stderr.read().decode()[-2000:]
        received = sink.ids()
    with db.connect() as conn:
        rows = conn.execute(select(OutboxMessage.message_id, OutboxMessage.status, OutboxMessage.recoveries)).all()
    assert kills >= 5, "the test must actually kill workers mid-send"
    assert Counter(r.status for r in rows) == {"sent": N}
    assert set(received) == {r.message_id for r in rows}  # nothing lost, nothing foreign
    in_doubt = {r.message_id: r.recoveries for r in rows}
    copies = {mid: n for mid, n in received.items() if n > 1}
    for mid, n in copies.items():
        assert n <= 1 + in_doubt[mid], f"{mid} arrived {n} times but was in doubt {in_doubt[mid]} times"
    assert sum(1 for v in in_doubt.values() if v) <= kills
    print(f"\n{workers} worker(s), {kills} kills: {N} messages, {len(copies)} recognisable copies, "
          f"{sum(1 for v in in_doubt.values() if v)} in doubt")
