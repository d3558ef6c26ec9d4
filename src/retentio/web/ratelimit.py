"""Requests per API key and minute, with the IETF ``RateLimit-*`` headers and 429 + ``Retry-After``.

A sliding window of one minute per key, kept in the process: enough for one
app server; several servers each apply the limit on their own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from fastapi import Request
from starlette.exceptions import HTTPException

WINDOW = 60.0


class Limiter:
    def __init__(self, per_minute: int) -> None:
        self.limit = max(1, int(per_minute))
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds until a slot frees)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            q = self.hits.setdefault(key, deque())
            while q and q[0] <= now - WINDOW:
                q.popleft()
            reset = math.ceil(q[0] + WINDOW - now) if q else int(WINDOW)
            if len(q) >= self.limit:
                return False, 0, max(1, reset)
            q.append(now)
            return True, self.limit - len(q), max(1, reset)


def apply(request: Request, key: str) -> None:
    limiter: Limiter = request.app.state.limiter
    ok, remaining, reset = limiter.check(key)
    headers = {"RateLimit-Limit": str(limiter.limit), "RateLimit-Remaining": str(remaining),
               "RateLimit-Reset": str(reset), "RateLimit-Policy": f"{limiter.limit};w={int(WINDOW)}"}
    request.state.ratelimit_headers = headers
    if not ok:
        raise HTTPException(429, "Too many requests for this key; wait before retrying.",
                            headers={**headers, "Retry-After": str(reset)})
