"""Roles, permissions and the principal a service acts for.

Four roles, each including the one before it:

* **viewer** – aggregate dashboards, no personal data;
* **analyst** – + customers, predictions, exports;
* **marketer** – + segments and flows (edit, enable, preview, test send);
* **admin** – + imports, refresh, settings, users, keys, data deletion.

Two roles exist for API keys only, because a machine should hold no more
than it needs: **ingest** writes customers, orders, lines and events and
reads nothing; **tracking** is the publishable key a shop front end embeds,
limited to posting events.

Every service function calls :func:`require` first, so the pages, the API
and the CLI cannot differ in what a role may do. The CLI acts as the local
operator (:data:`OPERATOR`): whoever can open the database file has it all.
"""

from __future__ import annotations

from dataclasses import dataclass

from retentio.errors import ConfigError, PermissionDenied
from retentio.i18n import Msg

ROLES = ("viewer", "analyst", "marketer", "admin")
KEY_ONLY_ROLES = ("ingest", "tracking")

# permission -> the roles that hold it
PERMISSIONS: dict[str, frozenset[str]] = {}


def _grant(perm: str, lowest: str | None = None, extra: tuple[str, ...] = ()) -> None:
    holders = set(ROLES[ROLES.index(lowest):]) if lowest else set()
    PERMISSIONS[perm] = frozenset(holders | set(extra))


_grant("aggregates:read", "viewer")
_grant("customers:read", "analyst")
_grant("predictions:read", "analyst")
_grant("exports", "analyst")
_grant("segments:read", "analyst")
_grant("segments:write", "marketer")
_grant("flows:read", "analyst")
_grant("flows:write", "marketer")
_grant("flows:send_test", "marketer")
_grant("calls:write", "marketer")
_grant("imports", "admin")
_grant("refresh", "admin")
_grant("jobs:read", "analyst")
_grant("settings:read", "admin")
_grant("settings:write", "admin")
_grant("users", "admin")
_grant("keys", "admin")
_grant("data:delete", "admin")
_grant("privacy:export", "admin")
_grant("ingest", "admin", extra=("ingest",))
# The shop's checkout debits points and redeems vouchers with its server-side (ingest) key.
_grant("loyalty:redeem", "marketer", extra=("ingest",))
_grant("loyalty:vouchers", "marketer")
_grant("loyalty:admin", "admin")
_grant("cases:write", "marketer")
_grant("events:track", "admin", extra=("ingest", "tracking"))


@dataclass(frozen=True)
class Principal:
    """Who acts: a signed-in user, an API key, or the local operator (CLI, scheduler)."""

    kind: str  # user | key | operator
    id: int | None
    name: str
    role: str

    @property
    def ref(self) -> str:
        """A stable, PII-free reference for records (job owner, idempotency scope)."""
        return f"{self.kind}:{self.id}" if self.id is not None else self.kind

    def can(self, perm: str) -> bool:
        return self.role in PERMISSIONS[perm]

    def may_see_people(self) -> bool:
        return self.can("customers:read")


OPERATOR = Principal("operator", None, "operator", "admin")


def check_role(role: str, *, for_key: bool = False) -> str:
    allowed = ROLES + (KEY_ONLY_ROLES if for_key else ())
    if role not in allowed:
        raise ConfigError(Msg("role must be one of {roles}, not {role!r}", roles=", ".join(allowed), role=role))
    return role


def require(principal: Principal, perm: str) -> None:
    """Refuse unless ``principal``'s role holds ``perm``."""
    if perm not in PERMISSIONS:  # a typo in a service must fail loudly, not grant
        raise KeyError(perm)
    if principal.role not in PERMISSIONS[perm]:
        raise PermissionDenied(Msg("your role ({role}) may not do this", role=principal.role))


def allowed(role: str) -> set[str]:
    return {p for p, holders in PERMISSIONS.items() if role in holders}
