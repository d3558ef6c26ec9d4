"""Streaming readers: a file in, chunks of raw cells with their source line out.

CSV is read with the standard ``csv`` module rather than pandas because only
it reports the physical line of each record (quoted fields may span lines),
and a record with the wrong number of fields must become a rejected row with
its line number, not an exception for the whole file.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from charset_normalizer import from_bytes

from retentio.errors import InputFileError

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


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm"):
        return "excel"
    if suffix == ".xls":
        raise InputFileError(f"{path}: legacy .xls files are not supported; save as .xlsx or CSV")
    return "csv"


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4:  # a character cut by the sample's end
            return "utf-8"
    best = from_bytes(sample).best()
    # German Windows exports are cp1252; latin-1 would mis-read the euro sign.
    if best is None or best.encoding in ("latin_1", "iso8859_15"):
        return "cp1252"
    return best.encoding


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
        raise InputFileError(f"{path}: file not found")
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory, not a file")
    fmt = detect_format(path)
    if fmt == "parquet":
        return _parquet(path, opts)
    if fmt == "excel":
        return _excel(path, opts)
    return _csv(path, opts)


def _csv(path: Path, opts: ReadOptions) -> tuple[Source, Iterator[Chunk]]:
    with path.open("rb") as raw_fh:
        sample = raw_fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise InputFileError(f"{path}: file is empty")
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputFileError(f"{path}: looks like a binary file, not CSV text")
    encoding = opts.encoding or detect_encoding(sample)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputFileError(f"{path}: unknown encoding {encoding!r}") from None
    text_sample = sample.decode(encoding, errors="replace")
    delimiter = opts.delimiter or sniff_delimiter(text_sample[:65536])
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
            raise InputFileError(f"{path}: no header row found")
        dupes = {h for h in header if header.count(h) > 1 and h}
        if dupes:
            fh.close()
            raise InputFileError(f"{path}: line {header_line}: duplicate column names {sorted(dupes)}")
    assert header is not None  # set by --header or found above
    size = path.stat().st_size
    per_line = max(1, len(sample) / max(1, text_sample.count("\n")))
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
                    hint = f"check quoting and the delimiter {delimiter!r}"
                    if any("\n" in c for c in row):
                        hint = "a quote is not closed, so the record runs over several lines"
                    source.raw_rejects.append(RawReject(line, f"expected {width} fields, found {len(row)} ({hint})"))
                    continue
                if any(_SURROGATE.search(c) for c in row):
                    source.raw_rejects.append(RawReject(
                        line, f"bytes that are not valid {encoding}; pass --encoding (e.g. cp1252)"))
                    continue
                rows.append(row)
                lines.append(line)
                if len(rows) >= opts.chunk_rows:
                    yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines)
                    rows, lines = [], []
        except csv.Error as exc:
            raise InputFileError(f"{path}: unreadable CSV near line {lines[-1] + 1 if lines else header_line + 1}: {exc}") from None
        finally:
            fh.close()
        if rows or not lines:
            yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines)

    return source, chunks()


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
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from None
    source = Source(path, "parquet", list(pf.schema_arrow.names), total_hint=pf.metadata.num_rows)

    def chunks() -> Iterator[Chunk]:
        start = 0
        for batch in pf.iter_batches(batch_size=opts.chunk_rows):
            frame = batch.to_pandas()
            yield Chunk(frame, list(range(start + 1, start + len(frame) + 1)))
            start += len(frame)

    return source, chunks()


def _excel(path: Path, opts: ReadOptions) -> tuple[Source, Iterator[Chunk]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputFileError(f"{path}: not a readable Excel workbook ({exc})") from None
    if opts.sheet and opts.sheet not in wb.sheetnames:
        raise InputFileError(f"{path}: no sheet named {opts.sheet!r} (sheets: {', '.join(wb.sheetnames)})")
    ws = wb[opts.sheet] if opts.sheet else wb.worksheets[0]
    rows_iter = ws.iter_rows(values_only=True)
    header = None
    header_row = 0
    for idx, row in enumerate(rows_iter, start=1):
        if row and any(v is not None and str(v).strip() for v in row):
            header, header_row = [str(v).strip() if v is not None else "" for v in row], idx
            break
    if header is None:
        raise InputFileError(f"{path}: the sheet is empty")
    source = Source(path, "excel", header, total_hint=(ws.max_row or 0) - header_row)

    def chunks() -> Iterator[Chunk]:
        rows, lines = [], []
        width = len(header)
        for idx, row in enumerate(rows_iter, start=header_row + 1):
            if not row or all(v is None or not str(v).strip() for v in row):
                continue
            cells = list(row[:width]) + [None] * (width - len(row))
            if any(v is not None and str(v).strip() for v in row[width:]):
                source.raw_rejects.append(RawReject(idx, f"values beyond the {width} header columns"))
                continue
            rows.append(cells)
            lines.append(idx)
            if len(rows) >= opts.chunk_rows:
                yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines)
                rows, lines = [], []
        wb.close()
        yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), lines)

    return source, chunks()
