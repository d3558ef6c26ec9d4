"""From a file's own column names to the canonical fields of an import kind.

Precedence: explicit ``--map field=column`` flags, then a mapping file, then a
preset, then canonical names and aliases.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from retentio.errors import ConfigError, InputFileError
from retentio.ingest.schema import Field, fields_for, norm_header

OPTION_KEYS = {
    "delimiter", "encoding", "decimal", "date_format", "currency", "time_zone", "sheet",
    "cancelled_prefix", "synthesize_order_id", "header",
}


@dataclass
class Mapping:
    kind: str
    columns: dict[str, str]  # canonical field -> source column
    options: dict[str, Any] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)  # unmapped source columns

    def required(self) -> set[str]:
        """Fields that must have a value in every row of this file."""
        req = {f.name for f in fields_for(self.kind) if f.required}
        if self.kind == "orders":
            if self.options.get("synthesize_order_id"):
                req = (req - {"order_id"}) | {"customer_id"}
            req |= {"quantity", "unit_price"} if self.line_level else {"total"}
        return req

    @property
    def line_level(self) -> bool:
        return self.kind == "orders" and "total" not in self.columns and {
            "quantity", "unit_price"} <= self.columns.keys()


def list_presets() -> dict[str, str]:
    out = {}
    for entry in resources.files("retentio.ingest").joinpath("presets").iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = tomllib.loads(entry.read_text("utf-8")).get("description", "")
    return out


def load_preset(name: str) -> dict[str, Any]:
    path = resources.files("retentio.ingest").joinpath("presets", f"{name}.toml")
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(sorted(list_presets()))}")
    return tomllib.loads(path.read_text("utf-8"))


def load_mapping_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"mapping file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"mapping file {path}: invalid TOML ({exc})") from None
    unknown = set(data) - {"columns", "options", "kind", "description"}
    if unknown:
        raise ConfigError(f"mapping file {path}: unknown sections {sorted(unknown)} (use [columns] and [options])")
    return data


def parse_map_flags(flags: list[str]) -> dict[str, str]:
    out = {}
    for flag in flags:
        if "=" not in flag:
            raise ConfigError(f"--map expects FIELD=COLUMN, got {flag!r}")
        key, value = flag.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def layered_spec(kind: str, preset: str | None, mapping_file: Path | None,
                 map_flags: dict[str, str], option_flags: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    columns: dict[str, str] = {}
    options: dict[str, Any] = {}
    for layer in (load_preset(preset) if preset else None,
                  load_mapping_file(mapping_file) if mapping_file else None):
        if not layer:
            continue
        if layer.get("kind") and layer["kind"] != kind:
            raise ConfigError(f"this mapping is for `import {layer['kind']}`, not `import {kind}`")
        columns.update(layer.get("columns", {}))
        options.update(layer.get("options", {}))
    columns.update(map_flags)
    options.update({k: v for k, v in option_flags.items() if v is not None})
    bad = set(options) - OPTION_KEYS
    if bad:
        raise ConfigError(f"unknown mapping options {sorted(bad)}; known: {sorted(OPTION_KEYS)}")
    known = {f.name for f in fields_for(kind)}
    unknown_fields = set(columns) - known
    if unknown_fields:
        raise ConfigError(f"`import {kind}` has no field(s) {sorted(unknown_fields)}; fields: {', '.join(sorted(known))}")
    return columns, options


def resolve(kind: str, source_columns: list[str], columns: dict[str, str],
            options: dict[str, Any], path: Path) -> Mapping:
    fields = fields_for(kind)
    by_norm: dict[str, str] = {}
    for col in source_columns:
        by_norm.setdefault(norm_header(col), col)
    resolved: dict[str, str] = {}
    for f in fields:
        if f.name in columns:
            wanted = columns[f.name]
            if wanted not in source_columns:
                match = by_norm.get(norm_header(wanted))
                if match is None:
                    raise InputFileError(
                        f"{path}: column {wanted!r} (mapped to {f.name}) is not in the file; "
                        f"columns are: {', '.join(source_columns)}")
                wanted = match
            resolved[f.name] = wanted
            continue
        match = _auto(f, by_norm)
        if match is not None and match not in resolved.values():
            resolved[f.name] = match
    mapping = Mapping(kind, resolved, options,
                      [c for c in source_columns if c not in resolved.values()])
    _check_required(mapping, fields, source_columns, path)
    return mapping


def _auto(f: Field, by_norm: dict[str, str]) -> str | None:
    for candidate in (f.name, *f.aliases):
        if candidate in by_norm:
            return by_norm[candidate]
    return None


def _check_required(m: Mapping, fields: list[Field], source_columns: list[str], path: Path) -> None:
    required = [f.name for f in fields if f.required]
    if m.kind == "orders" and m.options.get("synthesize_order_id"):
        required.remove("order_id")
        if "customer_id" not in m.columns:
            required.append("customer_id")
    if m.kind == "orders" and "total" not in m.columns and not m.line_level:
        required.append("total")
    missing = [name for name in required if name not in m.columns]
    if missing:
        hint = " ".join(f"--map {name}=YOUR_COLUMN" for name in missing)
        extra = ""
        if m.kind == "orders" and "total" in missing:
            extra = " (or give quantity and unit_price for one row per article)"
        raise InputFileError(
            f"{path}: required column(s) {', '.join(missing)} not found{extra}; columns in the file: "
            f"{', '.join(source_columns)}. Map them with {hint} or a mapping file.")
