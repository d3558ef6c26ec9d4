"""Settings, the schedule, channel tests, users and API keys (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from retentio import scheduler
from retentio.auth import keys, users
from retentio.auth.roles import Principal
from retentio.errors import Conflict
from retentio.i18n import Msg
from retentio.services import settings
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import (
    AddressIn,
    KeyCreated,
    KeyIn,
    KeyOut,
    Schedule,
    Sent,
    SettingsOut,
    UrlIn,
    UserIn,
    UserOut,
    UserUpdate,
)
from retentio.web.idempotency import idempotent
from retentio.web.render import to_json

api = router("settings")


@api.get("/settings", response_model=SettingsOut, summary="Shop settings (secrets masked)")
def get(request: Request, p: Principal = Depends(authorized)):
    return settings.get_settings(engine(request), p)


@api.patch("/settings", response_model=SettingsOut, summary="Change settings (all checked before any is stored)")
def patch(request: Request, changes: dict[str, Any] = Body(..., max_length=100), p: Principal = Depends(authorized)):
    return settings.update_settings(engine(request), p, changes)


@api.get("/schedule", response_model=Schedule, summary="The scheduler: settings, last and next runs")
def schedule(request: Request, p: Principal = Depends(authorized)):
    return scheduler.status(engine(request), p)


@api.post("/settings/test-email", response_model=Sent, summary="Send a test e-mail through the configured SMTP")
def test_email(request: Request, body: AddressIn, p: Principal = Depends(authorized)):
    return settings.test_email(engine(request), p, body.address)


@api.post("/settings/test-webhook", response_model=Sent, summary="Send a signed test call to a URL")
def test_webhook(request: Request, body: UrlIn, p: Principal = Depends(authorized)):
    return settings.test_webhook(engine(request), p, body.url)


@api.get("/users", response_model=list[UserOut], summary="Users")
def list_users(request: Request, p: Principal = Depends(authorized)):
    return [_plain(u) for u in users.list_users(engine(request), p)]


@api.post("/users", response_model=UserOut, status_code=201, summary="Add a user (Idempotency-Key)")
async def add_user(request: Request, body: UserIn, p: Principal = Depends(authorized)) -> Response:
    async def produce() -> Response:
        out = await run_in_threadpool(users.add_user, engine(request), p, body.email, body.role, body.password,
                                      name=body.name, lang=body.lang)
        return Response(to_json(_plain(out)), 201, media_type="application/json")
    return await idempotent(request, p.ref, produce)


@api.patch("/users/{user_id}", response_model=UserOut, summary="Change a user's role, password, name or language")
def update_user(request: Request, body: UserUpdate, user_id: int = Path(..., ge=1, le=2**62),
                p: Principal = Depends(authorized)):
    return _plain(users.update_user(engine(request), p, user_id, **body.model_dump(exclude_unset=True)))


@api.delete("/users/{user_id}", status_code=204, summary="Remove a user")
def remove_user(request: Request, user_id: int = Path(..., ge=1, le=2**62), p: Principal = Depends(authorized)):
    users.remove_user(engine(request), p, user_id)
    return Response(status_code=204)


@api.get("/api-keys", response_model=list[KeyOut], summary="API keys (never the keys themselves)")
def list_keys(request: Request, p: Principal = Depends(authorized)):
    return [_plain(k) for k in keys.list_keys(engine(request), p)]


@api.post("/api-keys", response_model=KeyCreated, status_code=201, summary="Create a key: shown once "
                                                                           "(Idempotency-Key)")
async def create_key(request: Request, body: KeyIn, p: Principal = Depends(authorized)) -> Response:
    async def produce() -> Response:
        row, token = await run_in_threadpool(keys.create_key, engine(request), p, body.name, body.role)
        return Response(to_json({**_plain(row), "key": token}), 201, media_type="application/json")
    return await idempotent(request, p.ref, produce)


@api.delete("/api-keys/{key_id}", status_code=204, summary="Revoke a key")
def revoke_key(request: Request, key_id: int = Path(..., ge=1, le=2**62), p: Principal = Depends(authorized)):
    if p.kind == "key" and p.id == key_id:
        raise Conflict(Msg("a key cannot revoke itself; use another admin key or the settings page"))
    keys.revoke_key(engine(request), p, key_id)
    return Response(status_code=204)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    from retentio.services.common import plain

    return plain(row)
