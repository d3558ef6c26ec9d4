"""Streaming readers: a file in, chunks of raw cells with their source line out.

CSV is read by Arrow where the physical line of every record can be known
(:mod:`retentio.ingest.fastcsv`: no record spans lines), and otherwise with
the standard ``csv`` module, which reports the line of each record (quoted
fields may span lines). Either way a record with the wrong number of fields
becomes a rejected row with its line number, not an exception for the whole
file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from retentio.errors import InputFileError
from retentio.i18n import Msg
from retentio.ingest import fastcsv
from retentio.ingest.encoding import detect_encoding, utf16_without_bom

SAMPLE_BYTES = 256 * 1024
_SURROGATE = re.compile("[\udc80-\udcff]")


@dataclass
class ReadOptions:
    delimiter: str | None = None  # None: sniff; "whitespace": runs of blanks
    encoding: str | None = None  # None: detect
    sheet: str | None = None
    header: list[str] | None = None  # for header-less files
    chunk_rows: int = 50_000


@dataclass
class Chunk:
    frame: pd.DataFrame  # raw cells, one column per header name
    lines: list[int]  # the source line (CSV/Excel row, Parquet record number) of each row
    text_only: bool = False  # every cell is a string (CSV): no structured values to look for


@dataclass
class RawReject:
    line: int
    reason: str


@dataclass
class Source:
    path: Path
    format: str
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    total_hint: int | None = None  # for the progress bar
    raw_rejects: list[RawReject] = field(default_factory=list)
    excel_epoch: dt.datetime | None = None  # an .xlsx workbook's date system
    merged_filled: int = 0  # Excel cells filled from a merged range


def name_columns(header: list[str]) -> list[str]:
    """Unnamed columns (a trailing delimiter, an empty Excel header cell) are called column_N (1-based)."""
    return [h if h else f"column_{i}" for i, h in enumerate(header, start=1)]


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm"):
        return "excel"
    if suffix == ".xls":
        raise InputFileError(Msg("{path}: legacy .xls files are not supported; save as .xlsx or CSV", path=str(path)))
    return "csv"


def sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def open_source(path: Path, opts: ReadOptions) -> tuple[Source, Iterator[Chunk]]:
    if not path.exists():
        raise InputFileError(Msg("{path}: file not found", path=str(path)))
    if path.is_dir():
        raise InputFileError(Msg("{path}: is a directory, not a file", path=str(path)))
    fmt = detect_format(path)
    if fmt == "parquet":
        return _parquet(path, opts)
    if fmt == "excel":
        return _excel(path, opts)
    return _csv(path, opts)


def _csv(path: Path, opts: ReadOptions) -> tuple[Source, Iterator[Chunk]]:
    with path.open("rb") as raw_fh:
        sample = raw_fh.read(SAMPLE_BYTES)
    if not sample.strip(b" \t\r\n\x00"):
        raise InputFileError(Msg("{path}: file is empty", path=str(path)))
    if opts.encoding:
        encoding = opts.encoding  # the user's word wins over every guess
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputFileError(Msg("{path}: unknown encoding {encoding!r}", path=str(path),
                                     encoding=encoding)) from None
    else:
        has_bom = sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if not has_bom and (utf16 := utf16_without_bom(sample)):
            raise InputFileError(Msg("{path}: looks like UTF-16 text without a byte-order mark: pass --encoding {enc}",
                                     path=str(path), enc=utf16))
        controls = sum(sample.count(bytes([b])) for b in (*range(0, 9), *range(14, 32)))
        if not has_bom and controls > 0.05 * len(sample):
            raise InputFileError(Msg("{path}: looks like a binary file, not CSV text", path=str(path)))
        encoding = detect_encoding(sample, path)
    text_sample = sample.decode(encoding, errors="replace")
    if not text_sample.strip("\ufeff \t\r\n\x00"):
        raise InputFileError(Msg("{path}: file is empty", path=str(path)))
    delimiter = opts.delimiter or sniff_delimiter(text_sample[:65536])
    size = path.stat().st_size
    per_line = max(1, len(sample) / max(1, text_sample.count("\n")))
    if delimiter != "whitespace":
        fast = fastcsv.read(path, encoding, delimiter, list(opts.header) if opts.header else None)
        if fast is not None:
            if not opts.header:
                _check_header(path, fast.header, fast.header_line)
            columns = list(opts.header) if opts.header else name_columns(fast.header)
            source = Source(path, "csv", columns, encoding, delimiter, int(size / per_line),
                            raw_rejects=[RawReject(line, reason) for line, reason in fast.rejects])
            return source, (Chunk(frame, lines, text_only=True) for frame, lines in fast.chunks(columns,
                                                                                               opts.chunk_rows))
    fh = path.open("r", encoding=encoding, errors="surrogateescape", newline="")
    if delimiter == "whitespace":
        records = _whitespace_records(fh)
    else:
        reader = csv.reader(fh, delimiter=delimiter, strict=False)
        records = _csv_records(reader)
    header_line = 0
    if opts.header:
        header = list(opts.header)
    else:
        header = None
        for line, row in records:
            if any(cell.strip() for cell in row):
                header, header_line = [c.strip().lstrip("\ufeff") for c in row], line
                break
        if header is None:
            fh.close()
            raise InputFileError(Msg("{path}: file is empty", path=str(path)))
        try:
            _check_header(path, header, header_line)
        except InputFileError:
            fh.close()
            raise
        header = name_columns(header)
    assert header is not None  # set by --header or found above
    source = Source(path, "csv", header, encoding, delimiter, int(size / per_line))

    def chunks() -> Iterator[Chunk]:
        rows: list[list[str]] = []
        lines: list[int] = []
        width = len(header)
        try:
            for line, row in records:
                if not row or not any(cell.strip() for cell in row):
                    continue  # blank line: no record
                if len(row) != width:
                    hint = Msg("check quoting and the delimiter {delimiter!r}", delimiter=delimiter)
                    if any("\n" in c for c in row):
                        hint = Msg("a quote is not closed, so the record runs over several lines")
                    source.raw_rejects.append(RawReject(line, str(Msg(
                        "expected {width} fields, found {found} ({hint})", width=width, found=len(row), hint=hint))))
                    continue
                if any(_SURROGATE.search(c) for c in row):
                    source.raw_rejects.append(RawReject(line, str(Msg(
                        "bytes that are not valid {encoding}; pass --encoding (e.g. cp1252)", encoding=encoding))))
                    continue
                rows.append(row)
                lines.append(line)
                if len(rows) >= opts.chunk_rows:
                    yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines, text_only=True)
                    rows, lines = [], []
        except csv.Error as exc:
            raise InputFileError(Msg("{path}: unreadable CSV near line {line}: {error}", path=str(path),
                                     line=lines[-1] + 1 if lines else header_line + 1, error=str(exc))) from None
        except UnicodeDecodeError as exc:
            raise InputFileError(Msg("{path}: the text is not {encoding} ({error}); pass another --encoding",
                                     path=str(path), encoding=encoding, error=str(exc)[:80])) from None
        finally:
            fh.close()
        if rows or not lines:
            yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines, text_only=True)

    return source, chunks()


def _check_header(path: Path, header: list[str], line: int) -> None:
    dupes = {h for h in header if header.count(h) > 1 and h}
    if dupes:
        raise InputFileError(Msg("{path}: line {line}: duplicate column names {names}", path=str(path),
                                 line=line, names=str(sorted(dupes))))
    if any("\x00" in h for h in header):
        raise InputFileError(Msg("{path}: line {line}: the header holds NUL bytes (a binary file, or the wrong "
                                 "--encoding?)", path=str(path), line=line))


def _csv_records(reader) -> Iterator[tuple[int, list[str]]]:
    """Records with the line they start on (a quoted field may span lines)."""
    prev = 0
    for row in reader:
        yield prev + 1, row
        prev = reader.line_num


def _whitespace_records(fh: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    for number, line in enumerate(fh, start=1):
        yield number, line.split()


def _parquet(path: Path, opts: ReadOptions) -> tuple[Source, Iterator[Chunk]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(Msg("{path}: not a readable Parquet file ({error})", path=str(path),
                                 error=str(exc)[:200])) from None
    names = list(pf.schema_arrow.names)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(Msg("{path}: duplicate column names {names}", path=str(path), names=str(dupes)))
    source = Source(path, "parquet", name_columns(names), total_hint=pf.metadata.num_rows)

    def chunks() -> Iterator[Chunk]:
        start = 0
        try:
            for batch in pf.iter_batches(batch_size=opts.chunk_rows):
                frame = batch.to_pandas()
                frame.columns = source.columns
                yield Chunk(frame, list(range(start + 1, start + len(frame) + 1)))
                start += len(frame)
        except (OSError, ValueError) as exc:  # a corrupt row group
            raise InputFileError(Msg("{path}: not a readable Parquet file ({error})", path=str(path),
                                     error=str(exc)[:200])) from None

    return source, chunks()


_MERGE = re.compile(rb'<mergeCell [^>]*ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def merged_ranges(wb, ws) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of each merged range, 1-based; read from the sheet's XML,
    which openpyxl's read-only mode does not expose."""
    from openpyxl.utils.cell import range_boundaries

    path = getattr(ws, "_worksheet_path", None)
    archive = getattr(wb, "_archive", None)
    if not path or archive is None:
        return []
    found: list[tuple[int, int, int, int]] = []
    tail = b""
    with archive.open(path) as fh:
        while block := fh.read(1 << 20):
            data = tail + block
            found += [tuple(range_boundaries(m.decode())) for m in _MERGE.findall(data)]  # type: ignore[misc]
            tail = data[-200:]
            # a match that straddled the boundary is found again with the tail: drop duplicates below
    return sorted(set(found))


def _excel(path: Path, opts: ReadOptions) -> tuple[Source, Iterator[Chunk]]:
    """The first (or --sheet) sheet; merged cells are filled from their top-left cell (docs/import.md)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputFileError(Msg("{path}: not a readable Excel workbook ({error})", path=str(path),
                                 error=str(exc)[:200])) from None
    if opts.sheet and opts.sheet not in wb.sheetnames:
        raise InputFileError(Msg("{path}: no sheet named {sheet!r} (sheets: {names})", path=str(path),
                                 sheet=opts.sheet, names=", ".join(wb.sheetnames)))
    ws = wb[opts.sheet] if opts.sheet else wb.worksheets[0]
    merged = merged_ranges(wb, ws)
    rows_iter = ws.iter_rows(values_only=True)
    header = None
    header_row = 0
    for idx, row in enumerate(rows_iter, start=1):
        if row and any(v is not None and str(v).strip() for v in row):
            header, header_row = [str(v).strip() if v is not None else "" for v in row], idx
            break
    if header is None:
        raise InputFileError(Msg("{path}: the sheet is empty", path=str(path)))
    dupes = sorted({h for h in header if header.count(h) > 1 and h})
    if dupes:
        raise InputFileError(Msg("{path}: line {line}: duplicate column names {names}", path=str(path),
                                 line=header_row, names=str(dupes)))
    header = name_columns(header)
    source = Source(path, "excel", header, total_hint=(ws.max_row or 0) - header_row,
                    excel_epoch=getattr(wb, "epoch", None))
    # cells to fill, by row: (column index, source row, source column index)
    fills: dict[int, list[tuple[int, int, int]]] = {}
    for min_col, min_row, max_col, max_row in merged:
        if max_row <= header_row:
            continue
        for r in range(max(min_row, header_row + 1), max_row + 1):
            for c in range(min_col, max_col + 1):
                if (r, c) != (min_row, min_col):
                    fills.setdefault(r, []).append((c - 1, min_row, min_col - 1))
    sources = {(r, c) for cells in fills.values() for _, r, c in cells}

    def chunks() -> Iterator[Chunk]:
        rows, lines = [], []
        width = len(header)
        kept: dict[tuple[int, int], object] = {}
        for idx, row in enumerate(rows_iter, start=header_row + 1):
            row = list(row or ())
            for col in range(len(row)):
                if (idx, col) in sources:
                    kept[(idx, col)] = row[col]
            for col, src_row, src_col in fills.get(idx, ()):
                if col < width and (src_row, src_col) in kept:
                    row += [None] * (col + 1 - len(row))
                    if row[col] is None:
                        row[col] = kept[(src_row, src_col)]
                        source.merged_filled += 1
            if all(v is None or not str(v).strip() for v in row):
                continue
            cells = list(row[:width]) + [None] * (width - len(row))
            if any(v is not None and str(v).strip() for v in row[width:]):
                source.raw_rejects.append(RawReject(idx, str(Msg("values beyond the {width} header columns",
                                                                 width=width))))
                continue
            rows.append(cells)
            lines.append(idx)
            if len(rows) >= opts.chunk_rows:
                yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines)
                rows, lines = [], []
        wb.close()
        yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines)

    return source, chunks()
