"""Saved flows: every change is a new version; enabling is a switch, tuning a new version."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from retentio.act.flow_model import Flow, builtin_flows, parse_flow
from retentio.db.act_models import FlowDef, FlowVersion
from retentio.db.session import session_scope
from retentio.errors import ConfigError
from retentio.i18n import Msg


@dataclass
class StoredFlow:
    flow: Flow
    version: int
    enabled: bool
    builtin: bool
    last_run_at: dt.datetime | None


def _same(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def save_flow(engine: Engine, flow: Flow, *, builtin: bool = False) -> int:
    """Store ``flow``; returns its version (unchanged when the definition is the same)."""
    data = flow.to_dict()
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as s:
        row = s.get(FlowDef, flow.key)
        if row is None:
            s.add(FlowDef(key=flow.key, version=1, enabled=False, builtin=builtin, updated_at=now))
            s.flush()
            s.add(FlowVersion(flow_key=flow.key, version=1, definition=data, created_at=now))
            return 1
        current = s.scalar(select(FlowVersion.definition).where(
            FlowVersion.flow_key == flow.key, FlowVersion.version == row.version))
        if current is not None and _same(current, data):
            return row.version
        row.version += 1
        row.updated_at = now
        s.add(FlowVersion(flow_key=flow.key, version=row.version, definition=data, created_at=now))
        return row.version


def install_builtins(engine: Engine) -> list[str]:
    """Add the built-in library (disabled) where a flow of that key does not exist yet."""
    added = []
    with session_scope(engine) as s:
        existing = set(s.scalars(select(FlowDef.key)))
    for flow in builtin_flows():
        if flow.key not in existing:
            save_flow(engine, flow, builtin=True)
            added.append(flow.key)
    return added


def load_flows(engine: Engine, *, enabled_only: bool = False) -> list[StoredFlow]:
    install_builtins(engine)
    with session_scope(engine) as s:
        q = select(FlowDef, FlowVersion.definition).join(
            FlowVersion, (FlowVersion.flow_key == FlowDef.key) & (FlowVersion.version == FlowDef.version))
        if enabled_only:
            q = q.where(FlowDef.enabled.is_(True))
        rows = s.execute(q).all()
    out = [StoredFlow(parse_flow(d, f"flow {r.key}"), r.version, r.enabled, r.builtin, r.last_run_at) for r, d in rows]
    return sorted(out, key=lambda f: (-f.flow.priority, f.flow.key))


def get_flow(engine: Engine, key: str, version: int | None = None) -> StoredFlow:
    for sf in load_flows(engine):
        if sf.flow.key == key:
            if version is None or version == sf.version:
                return sf
            with session_scope(engine) as s:
                d = s.scalar(select(FlowVersion.definition).where(
                    FlowVersion.flow_key == key, FlowVersion.version == version))
            if d is None:
                raise ConfigError(Msg("flow {key} has no version {version}", key=key, version=version))
            return StoredFlow(parse_flow(d), version, sf.enabled, sf.builtin, sf.last_run_at)
    raise ConfigError(Msg("unknown flow {key!r}; `retentio flows list` shows them", key=key))


def set_enabled(engine: Engine, key: str, enabled: bool) -> None:
    get_flow(engine, key)
    with session_scope(engine) as s:
        row = s.get(FlowDef, key)
        assert row is not None  # get_flow above raised otherwise
        row.enabled = enabled


def tune(engine: Engine, key: str, path: str, value: Any) -> int:
    """Change one setting, e.g. ``control_share`` or ``steps.wait.days`` or ``trigger.days_before``."""
    data = get_flow(engine, key).flow.to_dict()
    parts = path.split(".")
    node: Any = data
    for p in parts[:-1]:
        if isinstance(node, list):
            node = next((s for s in node if s.get("id") == p), None)
        else:
            node = node.setdefault(p, {}) if p in ("exit", "reentry", "targeting", "audience") else node.get(p)
        if node is None:
            raise ConfigError(Msg("flow {key}: no setting {path!r}", key=key, path=path))
    node[parts[-1]] = value
    return save_flow(engine, parse_flow(data, f"flow {key}"))
