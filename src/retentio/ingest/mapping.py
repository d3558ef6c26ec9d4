"""From a file's own column names to the canonical fields of an import kind.

Precedence: explicit ``--map field=column`` flags, then a mapping file, then a
preset, then canonical names and aliases. A preset or mapping file may name a
field by several candidate columns (``unit_price = ["UnitPrice", "Price"]``):
the first one the file has is used, so one preset covers every release of a
dataset. Without ``--preset`` (and without a mapping), a file whose columns
fit a preset is imported with it, and the summary says so (``--preset none``
turns this off). docs/import.md has every option.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from retentio.errors import ConfigError, InputFileError
from retentio.i18n import Msg
from retentio.ingest.schema import Field, fields_for, norm_header

OPTION_KEYS = {
    "delimiter", "encoding", "decimal", "date_format", "currency", "time_zone", "sheet",
    "cancelled_prefix", "synthesize_order_id", "count_only", "header",
}
READ_OPTIONS = ("delimiter", "encoding", "sheet", "header")


@dataclass
class Mapping:
    kind: str
    columns: dict[str, str]  # canonical field -> source column
    options: dict[str, Any] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)  # unmapped source columns
    preset: str | None = None
    preset_detected: bool = False

    def required(self) -> set[str]:
        """Fields that must have a value in every row of this file."""
        req = {f.name for f in fields_for(self.kind) if f.required}
        if self.kind == "orders":
            if self.options.get("synthesize_order_id"):
                req = (req - {"order_id"}) | {"customer_id"}
            if not self.options.get("count_only"):
                req |= {"quantity", "unit_price"} if self.line_level else {"total"}
        return req

    @property
    def line_level(self) -> bool:
        return self.kind == "orders" and "total" not in self.columns and {
            "quantity", "unit_price"} <= self.columns.keys()


@dataclass
class Spec:
    """What the layers ask for, before the file is seen."""

    columns: dict[str, str | list[str]]
    options: dict[str, Any]
    preset: str | None = None
    explicit: bool = False  # a mapping file or --map flags: no preset is looked for


@lru_cache(maxsize=1)
def _presets() -> dict[str, dict[str, Any]]:
    out = {}
    for entry in resources.files("retentio.ingest").joinpath("presets").iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = tomllib.loads(entry.read_text("utf-8"))
    return out


def list_presets() -> dict[str, str]:
    return {name: p.get("description", "") for name, p in _presets().items()}


def load_preset(name: str) -> dict[str, Any]:
    if name not in _presets():
        raise ConfigError(Msg("unknown preset {name!r}; available: {names}", name=name,
                              names=", ".join(sorted(_presets()))))
    return _presets()[name]


def load_mapping_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(Msg("mapping file {path} not found", path=str(path))) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(Msg("mapping file {path}: invalid TOML ({error})", path=str(path), error=str(exc))) from None
    except UnicodeDecodeError:
        raise ConfigError(Msg("mapping file {path}: not UTF-8 text", path=str(path))) from None
    unknown = set(data) - {"columns", "options", "kind", "description"}
    if unknown:
        raise ConfigError(Msg("mapping file {path}: unknown sections {names} (use [columns] and [options])",
                              path=str(path), names=str(sorted(unknown))))
    return data


def parse_map_flags(flags: list[str]) -> dict[str, str]:
    out = {}
    for flag in flags:
        if "=" not in flag:
            raise ConfigError(Msg("--map expects FIELD=COLUMN, got {flag!r}", flag=flag))
        key, value = flag.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _merge(kind: str, layer: dict[str, Any], columns: dict, options: dict) -> None:
    if layer.get("kind") and layer["kind"] != kind:
        raise ConfigError(Msg("this mapping is for `import {theirs}`, not `import {ours}`", theirs=layer["kind"],
                              ours=kind))
    columns.update(layer.get("columns", {}))
    options.update(layer.get("options", {}))


def layered_spec(kind: str, preset: str | None, mapping_file: Path | None,
                 map_flags: dict[str, str], option_flags: dict[str, Any]) -> Spec:
    columns: dict[str, str | list[str]] = {}
    options: dict[str, Any] = {}
    use_preset = preset if preset and preset != "none" else None
    if use_preset:
        _merge(kind, load_preset(use_preset), columns, options)
    if mapping_file:
        _merge(kind, load_mapping_file(mapping_file), columns, options)
    columns.update(map_flags)
    options.update({k: v for k, v in option_flags.items() if v is not None})
    _check(kind, columns, options)
    return Spec(columns, options, use_preset, explicit=bool(mapping_file or map_flags or preset))


def _check(kind: str, columns: dict, options: dict) -> None:
    bad = set(options) - OPTION_KEYS
    if bad:
        raise ConfigError(Msg("unknown mapping options {names}; known: {known}", names=str(sorted(bad)),
                              known=", ".join(sorted(OPTION_KEYS))))
    known = {f.name for f in fields_for(kind)}
    unknown_fields = set(columns) - known
    if unknown_fields:
        raise ConfigError(Msg("`import {kind}` has no field(s) {names}; fields: {fields}", kind=kind,
                              names=str(sorted(unknown_fields)), fields=", ".join(sorted(known))))
    if "header" in options and not (isinstance(options["header"], list)
                                    and all(isinstance(h, str) for h in options["header"])):
        raise ConfigError(Msg('the header option is a list of column names, e.g. header = ["customer_id", "date"]'))


def _find(wanted: str | list[str], source_columns: list[str], by_norm: dict[str, str]) -> str | None:
    for name in [wanted] if isinstance(wanted, str) else wanted:
        if name in source_columns:
            return name
        if norm_header(name) in by_norm:
            return by_norm[norm_header(name)]
    return None


def _by_norm(source_columns: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for col in source_columns:
        out.setdefault(norm_header(col), col)
    return out


def detect_preset(kind: str, source_columns: list[str]) -> str | None:
    """The preset whose every column the file has (the one naming most columns if several do)."""
    by_norm = _by_norm(source_columns)
    fits = []
    for name, p in _presets().items():
        if p.get("kind", kind) != kind or not p.get("columns"):
            continue
        cols = p["columns"]
        if all(_find(w, source_columns, by_norm) is not None for w in cols.values()):
            fits.append((len(cols), name))
    return max(fits)[1] if fits else None


def preset_read_options(name: str) -> dict[str, Any]:
    return {k: v for k, v in load_preset(name).get("options", {}).items() if k in READ_OPTIONS}


def resolve(kind: str, source_columns: list[str], spec: Spec, path: Path) -> Mapping:
    fields = fields_for(kind)
    by_norm = _by_norm(source_columns)
    resolved: dict[str, str] = {}
    for f in fields:
        if f.name in spec.columns:
            wanted = spec.columns[f.name]
            match = _find(wanted, source_columns, by_norm)
            if match is None:
                names = wanted if isinstance(wanted, str) else " / ".join(wanted)
                raise InputFileError(Msg("{path}: column {wanted!r} (mapped to {field}) is not in the file; "
                                         "columns are: {columns}", path=str(path), wanted=names, field=f.name,
                                         columns=", ".join(source_columns)))
            resolved[f.name] = match
            continue
        match = _auto(f, by_norm)
        if match is not None and match not in resolved.values():
            resolved[f.name] = match
    mapping = Mapping(kind, resolved, spec.options, [c for c in source_columns if c not in resolved.values()],
                      preset=spec.preset)
    _check_required(mapping, fields, source_columns, path)
    _check_kind(mapping, source_columns, path)
    return mapping


def _auto(f: Field, by_norm: dict[str, str]) -> str | None:
    for candidate in (f.name, *f.aliases):
        if candidate in by_norm:
            return by_norm[candidate]
    return None


def _check_required(m: Mapping, fields: list[Field], source_columns: list[str], path: Path) -> None:
    required = [f.name for f in fields if f.required]
    hints: list[Msg] = []
    if m.kind == "orders":
        if m.options.get("synthesize_order_id"):
            required.remove("order_id")
            if "customer_id" not in m.columns:
                required.append("customer_id")
        elif "order_id" not in m.columns:
            hints.append(Msg("a file without order numbers: --make-order-id builds one from customer and time"))
        if m.options.get("count_only"):
            if "total" in m.columns or m.line_level:
                raise InputFileError(Msg("{path}: --count-only is for files without amounts, but column {col!r} "
                                         "holds them", path=str(path), col=m.columns.get("total") or
                                         m.columns.get("unit_price")))
        elif "total" not in m.columns and not m.line_level:
            required.append("total")
            hints.append(Msg("one row per article: give quantity and unit_price instead of total"))
            hints.append(Msg("a file without amounts (an event log): --count-only counts orders without revenue"))
    missing = [name for name in required if name not in m.columns]
    if missing:
        flags = " ".join(f"--map {name}=YOUR_COLUMN" for name in missing)
        raise InputFileError(Msg(
            "{path}: required column(s) {missing} not found; columns in the file: {columns}. "
            "Map them with {flags} or a mapping file{more}.", path=str(path), missing=", ".join(missing),
            columns=", ".join(source_columns), flags=flags,
            more=Msg("; or: {hints}", hints=hints) if hints else ""))


def _check_kind(m: Mapping, source_columns: list[str], path: Path) -> None:
    """An orders file given to ``import customers`` would turn order dates and amounts into custom
    attributes; refuse it and name the right command."""
    if m.kind != "customers" or not m.extra_columns:
        return
    orders = {f.name: f for f in fields_for("orders")}
    names = {norm_header(c): c for c in m.extra_columns}

    def matching(*field_names: str, skip: tuple[str, ...] = ()) -> list[str]:
        cands = {n for name in field_names for n in (name, *orders[name].aliases) if n not in skip}
        return [names[n] for n in names if n in cands]

    dates = matching("placed_at", skip=("created_at", "timestamp"))
    orderish = matching("order_id", "total", "quantity", "unit_price")
    if dates and orderish:
        raise InputFileError(Msg(
            "{path}: this looks like an orders file (columns {columns}), not a customer list; import it with "
            "`retentio import orders`", path=str(path), columns=", ".join([*dates, *orderish])))
