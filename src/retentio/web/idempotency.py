"""``Idempotency-Key`` on every POST that creates something.

The first response under a key is stored and replayed for 24 hours; the same
key with a different body gets 422; a request arriving while the first is
still running gets 409. Keys belong to one principal (an API key or a user):
two clients never see each other's responses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from retentio.db.types import table_of
from retentio.db.web_models import IdempotentRequest
from retentio.web.problems import problem

TTL = dt.timedelta(hours=24)
MAX_KEY = 200


async def idempotent(request: Request, owner: str, produce: Callable[[], Awaitable[Response]], *,
                     body: bytes | None = None) -> Response:
    """``produce()`` once per (owner, Idempotency-Key); ``body`` stands for a request body already read as a form."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await produce()
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        return problem(422, f"Idempotency-Key must have 1 to {MAX_KEY} characters.", instance=request.url.path)
    if body is None:
        body = await request.body()
    digest = hashlib.sha256(request.method.encode() + b"\0" + request.url.path.encode() + b"\0" + body).hexdigest()
    engine = request.app.state.engine
    t = table_of(IdempotentRequest)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(delete(t).where(t.c.created_at < now - TTL))
        row = conn.execute(select(t).where(t.c.principal == owner, t.c.key == key)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(t.insert().values(principal=owner, key=key, method=request.method,
                                                   path=request.url.path[:400], body_hash=digest, created_at=now))
            except IntegrityError:
                row = conn.execute(select(t).where(t.c.principal == owner, t.c.key == key)).first()
    if row is not None:
        if row.body_hash != digest:
            return problem(422, "This Idempotency-Key was used with a different request.", instance=request.url.path)
        if row.status_code is None:
            return problem(409, "A request with this Idempotency-Key is still being processed.",
                           instance=request.url.path)
        return Response(row.response or "", status_code=row.status_code, media_type=row.media_type,
                        headers={"Idempotent-Replayed": "true"})
    try:
        response = await produce()
    except BaseException:
        with engine.begin() as conn:  # a failed attempt may be retried under the same key
            conn.execute(delete(t).where(t.c.principal == owner, t.c.key == key))
        raise
    if response.status_code >= 500:
        with engine.begin() as conn:
            conn.execute(delete(t).where(t.c.principal == owner, t.c.key == key))
        return response
    content = bytes(response.body).decode("utf-8", "replace") if hasattr(response, "body") else ""
    with engine.begin() as conn:
        conn.execute(update(t).where(t.c.principal == owner, t.c.key == key).values(
            status_code=response.status_code, media_type=response.media_type, response=content))
    return response
