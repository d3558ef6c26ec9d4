"""Settings (admins): shop settings, delivery channels with test buttons, the schedule, shop webhooks,
users and API keys (twins: /api/v1/settings, /schedule, /users, /api-keys)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from retentio import scheduler
from retentio.auth import keys, users
from retentio.auth.roles import ROLES, Principal
from retentio.errors import RetentioError
from retentio.i18n import N_, tr
from retentio.services import settings
from retentio.web.pages.common import back, changer, engine, failed, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)
GROUPS = (
    (N_("Shop"), ("name", "time_zone", "currency", "locale", "category")),
    (N_("Analytics"), ("active_window_days", "lifecycle_active", "lifecycle_at_risk", "lifecycle_inactive",
                   "prediction_horizon_days", "margin", "discount_rate", "cost_per_message")),
    (N_("Contact rules"), ("frequency_cap", "frequency_window_days", "quiet_hours_start", "quiet_hours_end",
                       "require_double_opt_in", "attribution_days")),
    (N_("Shop identity in e-mails"), ("sender_name", "sender_email", "legal_name", "postal_address", "imprint",
                                  "logo_url", "shop_url", "public_url")),
    (N_("Surveys and cases"), ("survey_min_gap_days", "sla_urgent_hours", "sla_high_hours", "sla_normal_hours",
                               "sla_low_hours")),
    (N_("Schedule"), ("schedule_refresh_hour", "schedule_flows_minutes", "schedule_worker")),
    (N_("Privacy"), ("retention_years",)),
    (N_("Delivery"), ("smtp_url",)),
    (N_("Shop webhooks"), ("shopify_webhook_secret", "woocommerce_webhook_secret", "shopware_webhook_secret")),
)
TEXTAREA = ("postal_address", "imprint")


def _page(request: Request, p: Principal, status: int = 200, **extra) -> Response:
    data = settings.get_settings(engine(request), p)
    return render(request, "settings.html", status, title=tr(request.state.lang, "Settings"), s=data["settings"],
                  types=data["types"], smtp=data["smtp"], groups=GROUPS, textarea=TEXTAREA,
                  schedule=scheduler.status(engine(request), p), users=users.list_users(engine(request), p),
                  keys=keys.list_keys(engine(request), p), roles=ROLES, **extra)


@router.get("/settings")
def settings_page(request: Request, p: Principal = Depends(viewer)) -> Response:
    return _page(request, p)


@router.post("/settings")
async def save(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    changes: dict[str, Any] = {}
    for _title, keys_ in GROUPS:
        for key in keys_:
            if key in ("require_double_opt_in", "schedule_worker"):
                changes[key] = form.get(key) == "1"
            elif key in form:
                changes[key] = str(form.get(key))
    try:
        settings.update_settings(engine(request), p, changes)
    except RetentioError as exc:
        return _page(request, p, 422, error=exc.msg.render(request.state.lang))
    return _page(request, p, notice=tr(request.state.lang, "Settings saved."))


@router.post("/settings/test-email")
async def test_email(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        settings.test_email(engine(request), p, str(form.get("address") or ""))
    except RetentioError as exc:
        return failed(request, exc)
    return render(request, "_message.html", kind="ok", text=tr(request.state.lang, "Test e-mail sent."))


@router.post("/settings/test-webhook")
async def test_webhook(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        settings.test_webhook(engine(request), p, str(form.get("url") or ""))
    except RetentioError as exc:
        return failed(request, exc)
    return render(request, "_message.html", kind="ok", text=tr(request.state.lang, "Test call delivered."))


@router.post("/settings/users")
async def add_user(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        users.add_user(engine(request), p, str(form.get("email") or ""), str(form.get("role") or ""),
                       str(form.get("password") or ""), name=str(form.get("name") or "") or None)
    except RetentioError as exc:
        return _page(request, p, 422, error=exc.msg.render(request.state.lang))
    return back("/settings#users")


@router.post("/settings/users/{user_id}")
async def change_user(request: Request, user_id: int, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        if form.get("action") == "remove":
            users.remove_user(engine(request), p, user_id)
        else:
            users.update_user(engine(request), p, user_id, role=str(form.get("role") or "") or None)
    except RetentioError as exc:
        return _page(request, p, 409, error=exc.msg.render(request.state.lang))
    return back("/settings#users")


@router.post("/settings/keys")
async def create_key(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        row, token = keys.create_key(engine(request), p, str(form.get("name") or ""), str(form.get("role") or ""))
    except RetentioError as exc:
        return _page(request, p, 422, error=exc.msg.render(request.state.lang))
    return _page(request, p, new_key=token, new_key_name=row["name"])


@router.post("/settings/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: int, p: Principal = Depends(changer)) -> Response:
    keys.revoke_key(engine(request), p, key_id)
    return back("/settings#keys")
