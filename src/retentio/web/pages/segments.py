"""Segments: the RFM grid and lifecycle (cells list their customers), saved segments with a condition builder,
a live preview, members and CSV export (twins: /api/v1/rfm, /lifecycle, /segments…)."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from retentio.act import segments as seg
from retentio.auth.roles import Principal
from retentio.errors import ConfigError, PermissionDenied, RetentioError
from retentio.i18n import Msg, tr
from retentio.services import segments
from retentio.web.pages.common import back, changer, engine, failed, viewer
from retentio.web.render import render

router = APIRouter(include_in_schema=False)
LIST_CONDITIONS = {"lifecycle": "lifecycle", "rfm_segment": "rfm_segment"}
ROW_KEY = re.compile(r"^[a-z0-9]{1,16}$")
MAX_ROWS = 30


@router.get("/segments")
def segments_page(request: Request, p: Principal = Depends(viewer)) -> Response:
    try:
        grid = segments.rfm_grid(engine(request), p)
        life = segments.lifecycle(engine(request), p)
    except RetentioError as exc:
        if "no results yet" not in exc.msg.msgid:
            raise
        return render(request, "_page_empty.html", title=tr(request.state.lang, "Segments"))
    saved = segments.list_segments(engine(request), p) if p.can("segments:read") else []
    cells = {(c["r_score"], c["f_score"]): c for c in grid["cells"]}
    top = max((c["customers"] for c in grid["cells"]), default=1) or 1
    return render(request, "segments.html", title=tr(request.state.lang, "Segments"), grid=grid, cells=cells,
                  top=top, life=life, saved=saved)


def _condition_of(kind: str, value: str) -> dict[str, Any]:
    if kind == "rfm":
        r, _sep, f = value.partition("-")
        if not (r.isdigit() and f.isdigit()):
            raise ConfigError(Msg("not an R-F cell: {value!r}", value=value[:10]))
        return {"all": [{"field": "r_score", "eq": int(r)}, {"field": "f_score", "eq": int(f)}]}
    if kind in LIST_CONDITIONS:
        return {"field": LIST_CONDITIONS[kind], "eq": value}
    raise ConfigError(Msg("unknown list {kind!r}", kind=kind[:20]))


@router.get("/segments/customers")
def cell_customers(request: Request, kind: str = Query(...), value: str = Query(..., max_length=40),
                   cursor: str | None = Query(None), p: Principal = Depends(viewer)) -> Response:
    page = segments.customers_where(engine(request), p, _condition_of(kind, value), cursor=cursor)
    nxt = f"/segments/customers?kind={kind}&value={value}&cursor={page['next_cursor']}" if page["next_cursor"] else None
    if request.query_params.get("rows"):
        return render(request, "_customer_rows_body.html", rows=page["customers"], next_url=nxt)
    return render(request, "_list_panel.html", heading=_heading(request, kind, value), rows=page["customers"],
                  next_url=nxt)


def _heading(request: Request, kind: str, value: str) -> str:
    from retentio.labels import label

    lang = request.state.lang
    if kind == "rfm":
        r, _sep, f = value.partition("-")
        return tr(lang, "R {r} · F {f}", r=r, f=f)
    return label("lifecycle" if kind == "lifecycle" else "segment", value, lang)


# The builder: a flat list of conditions joined by all/any, each a field, an operator and a value.

def definition_from_form(form) -> tuple[dict[str, Any] | None, str]:
    """The condition the builder's form describes (no JSON typing), and all/any.

    Each row carries its key (``row``); its inputs are ``field_KEY``, ``op_KEY`` and ``value_KEY`` (or
    ``low_KEY``/``high_KEY``), so removing a row in the browser never shifts another's values."""
    join = form.get("join") if form.get("join") in ("all", "any") else "all"
    parts = []
    for key in form.getlist("row")[:MAX_ROWS]:
        if not ROW_KEY.match(str(key)):
            continue
        name, op = str(form.get(f"field_{key}") or ""), str(form.get(f"op_{key}") or "")
        if not name:
            continue
        if name == "segment":
            ref = str(form.get(f"value_{key}") or "")
            if ref:
                parts.append({"segment": ref} if op != "not_in" else {"not": {"segment": ref}})
            continue
        if name not in seg.FIELDS or op not in seg.OPS:
            raise ConfigError(Msg("unknown field {field!r} in condition; fields: {fields}", field=name[:40],
                                  fields=", ".join(sorted(seg.FIELDS))))
        parts.append({"field": name, op: _value(name, op, form, key)})
    if not parts:
        return None, join
    return ({join: parts} if len(parts) > 1 else parts[0]), join


def _value(name: str, op: str, form, key: str) -> Any:
    kind = "number" if name in seg.NUMERIC else "bool" if name in seg.BOOL else "text"
    if op == "is_null":
        return form.get(f"value_{key}") == "true"
    if op in ("in", "not_in"):
        values = [str(v) for v in form.getlist(f"value_{key}") if v != ""]
        if len(values) == 1 and name not in seg.CODES and "," in values[0]:
            values = [x.strip() for x in values[0].split(",") if x.strip()]
        return [_num(v) for v in values] if kind == "number" else values
    if op == "between":
        return [_num(form.get(f"low_{key}")), _num(form.get(f"high_{key}"))]
    raw = form.get(f"value_{key}")
    if kind == "number":
        return _num(raw)
    if kind == "bool":
        return raw == "true"
    return str(raw or "")


def _num(raw: Any) -> float | int:
    text = str(raw or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(Msg("not a number: {value!r}", value=text[:40])) from None
    return int(value) if value.is_integer() else value


def rows_of(definition: dict[str, Any] | None) -> tuple[list[dict[str, Any]], str, bool]:
    """The builder rows for a stored condition; False when it is nested beyond what the builder shows."""
    if not definition:
        return [], "all", True
    join = "all"
    parts = [definition]
    if "all" in definition or "any" in definition:
        join = "all" if "all" in definition else "any"
        parts = definition[join]
    rows = []
    for c in parts:
        if isinstance(c, dict) and "segment" in c:
            rows.append({"field": "segment", "op": "in", "value": c["segment"]})
        elif isinstance(c, dict) and "not" in c and isinstance(c["not"], dict) and "segment" in c["not"]:
            rows.append({"field": "segment", "op": "not_in", "value": c["not"]["segment"]})
        elif isinstance(c, dict) and "field" in c and len(c) == 2:
            op = next(k for k in c if k != "field")
            rows.append({"field": c["field"], "op": op, "value": c[op]})
        else:
            return [], join, False
    return rows, join, True


def _builder(request: Request, p: Principal, name: str | None, definition: dict | None, description: str | None,
             status: int = 200, error: str | None = None) -> Response:
    rows, join, flat = rows_of(definition)
    for r in rows:
        r["key"] = secrets.token_hex(4)
    return render(request, "segment_edit.html", status, title=tr(request.state.lang, "Segment"), name=name or "",
                  description=description or "", rows=rows or [{"field": "lifecycle", "op": "in", "value": []}],
                  join=join, flat=flat, definition=json.dumps(definition, ensure_ascii=False, indent=1),
                  fields=segments.fields(request.state.lang), saved=[s["name"] for s in
                                                                      segments.list_segments(engine(request), p)],
                  error=error, existing=name is not None)


@router.get("/segments/new")
def new_segment(request: Request, p: Principal = Depends(viewer)) -> Response:
    from retentio.auth.roles import require

    require(p, "segments:write")
    return _builder(request, p, None, None, None)


@router.get("/segments/builder/row")
def builder_row(request: Request, key: str | None = Query(None, max_length=16), p: Principal = Depends(viewer)
                ) -> Response:
    """A new row, or (with ``key``) the row again for the field just chosen, with that field's operators."""
    fields = segments.fields(request.state.lang)
    key = key if key and ROW_KEY.match(key) else secrets.token_hex(4)
    field = request.query_params.get(f"field_{key}") or "lifecycle"
    ops = next((f["ops"] for f in fields if f["name"] == field), ["in", "not_in"])
    op = request.query_params.get(f"op_{key}")
    return render(request, "_condition_row.html", key=key,
                  row={"field": field, "op": op if op in ops else ops[0], "value": None}, fields=fields,
                  saved=[s["name"] for s in segments.list_segments(engine(request), p)])


@router.post("/segments/preview")
async def preview(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    try:
        definition, _join = definition_from_form(form)
        data = segments.preview(engine(request), p, definition)
    except ConfigError as exc:
        return failed(request, exc)
    return render(request, "_segment_preview.html", pv=data, definition=definition)


@router.post("/segments/save")
async def save(request: Request, p: Principal = Depends(changer)) -> Response:
    form = await request.form()
    name = str(form.get("name") or "")
    description = str(form.get("description") or "")
    try:
        if form.get("mode") == "json":
            definition = json.loads(str(form.get("definition") or "null"))
        else:
            definition, _join = definition_from_form(form)
        segments.save_segment(engine(request), p, name, definition or {}, description,
                              create_only=form.get("existing") != "1")
    except PermissionDenied:
        raise
    except (ConfigError, ValueError) as exc:
        text = exc.msg.render(request.state.lang) if isinstance(exc, ConfigError) else \
            tr(request.state.lang, "the condition is not valid JSON")
        return _builder(request, p, name or None, None, description, 422, text)
    except RetentioError as exc:
        return _builder(request, p, name or None, None, description, 409, exc.msg.render(request.state.lang))
    return back(f"/segments/{name.strip()}")


@router.get("/segments/{name}")
def segment_page(request: Request, name: str, cursor: str | None = Query(None),
                 p: Principal = Depends(viewer)) -> Response:
    s = segments.get_segment(engine(request), p, name)
    pv = segments.preview(engine(request), p, s["definition"], sample=0)
    page = segments.members(engine(request), p, name, cursor=cursor) if p.can("customers:read") else None
    nxt = f"/segments/{name}?cursor={page['next_cursor']}" if page and page["next_cursor"] else None
    if page is not None and request.query_params.get("rows"):
        return render(request, "_customer_rows_body.html", rows=page["customers"], next_url=nxt)
    return render(request, "segment.html", title=name, s=s, pv=pv, page=page, next_url=nxt)


@router.get("/segments/{name}/edit")
def edit_segment(request: Request, name: str, p: Principal = Depends(viewer)) -> Response:
    from retentio.auth.roles import require

    require(p, "segments:write")
    s = segments.get_segment(engine(request), p, name)
    return _builder(request, p, s["name"], s["definition"], s["description"])


@router.get("/segments/{name}/export.csv")
def export(request: Request, name: str, p: Principal = Depends(viewer)) -> Response:
    body = segments.export_csv(engine(request), p, name)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="segment.csv"'})


@router.post("/segments/{name}/delete")
def delete(request: Request, name: str, p: Principal = Depends(changer)) -> Response:
    segments.delete_segment(engine(request), p, name)
    return back("/segments")
