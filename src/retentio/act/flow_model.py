"""Flow definitions: trigger, steps, exit and re-entry rules, as data.

A flow is written in TOML (``retentio flows import my_flow.toml``) or built in
Python with :class:`Flow` / :func:`parse_flow`; both end in the same validated
dict, which is what gets versioned in ``flow_versions``. docs/flows.md has the
full reference; the built-in library is in ``act/library/flows``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from retentio.errors import ConfigError
from retentio.i18n import Msg

LIBRARY = Path(__file__).parent / "library"
TRIGGERS = ("event", "contract_ending", "date", "state", "calendar", "loyalty")
LOYALTY_EVENTS = ("points_expiring", "tier_changed", "voucher_expiring", "nth_purchase")
EVENTS = ("first_purchase", "order_placed", "cart_abandoned", "nps_answered", "case_closed")
DATES = ("birthday", "first_purchase_anniversary")
STATES = ("lifecycle", "churn_risk", "segment", "no_contact")
STEP_TYPES = ("wait", "send", "branch", "split", "call_list", "webhook", "exit")
CHANNELS = ("email", "webhook", "call_list")
REENTRY = ("per_occurrence", "once", "after_days")


@dataclass
class Step:
    id: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Flow:
    key: str
    name: dict[str, str]
    trigger: dict[str, Any]
    steps: list[Step]
    priority: int = 50
    purpose: str = "marketing"
    control_share: float = 0.1
    variants: list[str] = field(default_factory=lambda: ["A"])
    audience: dict[str, Any] | None = None
    exit: dict[str, Any] = field(default_factory=dict)
    reentry: dict[str, Any] = field(default_factory=lambda: {"policy": "per_occurrence"})
    targeting: dict[str, Any] | None = None
    description: dict[str, str] = field(default_factory=dict)

    def step_index(self, step_id: str) -> int:
        for i, s in enumerate(self.steps):
            if s.id == step_id:
                return i
        raise ConfigError(Msg("flow {key}: no step {step_id!r}", key=self.key, step_id=step_id))

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "description": self.description, "priority": self.priority,
                "purpose": self.purpose, "control_share": self.control_share, "variants": self.variants,
                "audience": self.audience, "exit": self.exit, "reentry": self.reentry,
                "targeting": self.targeting, "trigger": self.trigger,
                "steps": [{"id": s.id, "type": s.type, **s.options} for s in self.steps]}


def _need(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise ConfigError(Msg("{where}: missing {key!r}", where=where, key=key))
    return d[key]


def _check_trigger(tr: dict, where: str) -> None:
    kind = _need(tr, "type", where)
    if kind not in TRIGGERS:
        raise ConfigError(Msg("{where}: trigger type {kind!r} is not one of {value}", where=where, kind=kind, value=', '.join(TRIGGERS)))
    if kind == "event" and not isinstance(_need(tr, "event", where), str):
        raise ConfigError(Msg("{where}: event must be a name", where=where))
    if kind == "date" and _need(tr, "date", where) not in DATES:
        raise ConfigError(Msg("{where}: date must be one of {value}", where=where, value=', '.join(DATES)))
    if kind == "state" and _need(tr, "state", where) not in STATES:
        raise ConfigError(Msg("{where}: state must be one of {value}", where=where, value=', '.join(STATES)))
    if kind == "calendar":
        _need(tr, "occasion", where)
    if kind == "contract_ending" and int(tr.get("days_before", 30)) < 0:
        raise ConfigError(Msg("{where}: days_before must be ≥ 0", where=where))
    if kind == "loyalty":
        if _need(tr, "event", where) not in LOYALTY_EVENTS:
            raise ConfigError(Msg("{where}: a loyalty trigger's event is one of {value}", where=where,
                                  value=", ".join(LOYALTY_EVENTS)))
        if tr["event"] == "nth_purchase" and not (isinstance(tr.get("n"), int) and tr["n"] >= 1):
            raise ConfigError(Msg("{where}: nth_purchase needs n (a whole number from 1)", where=where))
        if tr.get("direction", "up") not in ("up", "down", "any"):
            raise ConfigError(Msg("{where}: direction must be up, down or any", where=where))


def _check_step(s: dict, ids: set[str], where: str) -> None:
    kind = s["type"]
    if kind not in STEP_TYPES:
        raise ConfigError(Msg("{where}: step type {kind!r} is not one of {value}", where=where, kind=kind, value=', '.join(STEP_TYPES)))
    if kind == "wait":
        if not any(k in s for k in ("days", "hours", "minutes", "at")):
            raise ConfigError(Msg("{where}: wait needs days, hours, minutes or at", where=where))
        if "at" in s:
            dt.time.fromisoformat(s["at"])
    elif kind in ("send", "call_list"):
        _need(s, "template", where)
        if s.get("survey") is not None and s["survey"] not in ("nps", "csat"):
            raise ConfigError(Msg("{where}: survey must be nps or csat", where=where))
        if kind == "send" and s.get("channel", "email") not in ("email",):
            raise ConfigError(Msg("{where}: send goes by email; use a webhook or call_list step for the others", where=where))
    elif kind == "webhook":
        _need(s, "url", where)
    elif kind == "branch":
        _need(s, "if", where)
        for target in (s.get("then"), s.get("else")):
            if target is not None and target not in ids:
                raise ConfigError(Msg("{where}: branch goes to unknown step {target!r}", where=where, target=target))
    elif kind == "split":
        for target in _need(s, "branches", where).values():
            if target not in ids:
                raise ConfigError(Msg("{where}: split goes to unknown step {target!r}", where=where, target=target))


def parse_flow(data: dict[str, Any], source: str = "flow") -> Flow:
    """Validate a flow definition (as read from TOML or built in Python)."""
    key = _need(data, "key", source)
    where = f"{source} ({key})"
    if not isinstance(key, str) or not key.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(Msg("{where}: key must be letters, digits, - and _", where=where))
    trigger = _need(data, "trigger", where)
    _check_trigger(trigger, where)
    raw_steps = _need(data, "steps", where)
    if not raw_steps:
        raise ConfigError(Msg("{where}: a flow needs at least one step", where=where))
    ids = [s.get("id") or f"step{i + 1}" for i, s in enumerate(raw_steps)]
    if len(set(ids)) != len(ids):
        raise ConfigError(Msg("{where}: step ids must be unique", where=where))
    steps = []
    for sid, s in zip(ids, raw_steps, strict=True):
        s = {**s, "id": sid}
        _need(s, "type", f"{where} step {sid}")
        _check_step(s, set(ids), f"{where} step {sid}")
        steps.append(Step(sid, s["type"], {k: v for k, v in s.items() if k not in ("id", "type")}))
    share = float(data.get("control_share", 0.1))
    if not 0 <= share < 1:
        raise ConfigError(Msg("{where}: control_share must be in [0, 1)", where=where))
    purpose = data.get("purpose", "marketing")
    if purpose not in ("marketing", "transactional"):
        raise ConfigError(Msg("{where}: purpose must be marketing or transactional", where=where))
    reentry = data.get("reentry", {"policy": "per_occurrence"})
    if reentry.get("policy", "per_occurrence") not in REENTRY:
        raise ConfigError(Msg("{where}: re-entry policy must be one of {value}", where=where, value=', '.join(REENTRY)))
    variants = list(data.get("variants", ["A"]))
    if not variants or "control" in variants:
        raise ConfigError(Msg("{where}: variants must be a non-empty list of names other than 'control'", where=where))
    name = data.get("name", key)
    return Flow(key=key, name=name if isinstance(name, dict) else {"de": name, "en": name}, trigger=trigger,
                steps=steps, priority=int(data.get("priority", 50)), purpose=purpose, control_share=share,
                variants=variants, audience=data.get("audience"), exit=data.get("exit", {}), reentry=reentry,
                targeting=data.get("targeting"), description=data.get("description", {}))


def load_flow_file(path: Path) -> Flow:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(Msg("{path}: {exc}", path=path, exc=exc)) from None
    return parse_flow(data, str(path))


@lru_cache(maxsize=1)
def _builtin_definitions() -> tuple[dict[str, Any], ...]:
    # Package data does not change while the process runs: parse the library once.
    return tuple(load_flow_file(p).to_dict() for p in sorted((LIBRARY / "flows").glob("*.toml")))


def builtin_flows() -> list[Flow]:
    return [parse_flow(d, f"built-in flow {d['key']}") for d in _builtin_definitions()]
