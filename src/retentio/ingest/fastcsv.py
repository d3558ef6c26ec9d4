"""Vectorised CSV reading for the common case, with the physical line of every record kept.

Arrow's CSV parser reads a file ten times faster than the ``csv`` module, but
it counts records, not lines, and a reject must name the line a user finds
in an editor. The line of each record is exact when no record spans lines,
that is when every physical line holds an even number of quote characters
(a doubled quote inside a field adds two). Then record *k* is the *k*-th
non-empty line, and numpy finds those lines from the newline positions.

This path is taken only when it gives the same records as
:mod:`retentio.ingest.readers`' ``csv`` path (checked against it in
tests/ingest/test_fastcsv.py): UTF-8 text, a one-character delimiter, CRLF or
LF line ends, quotes balanced on every line, valid UTF-8 throughout, and the
file small enough to hold in memory. Anything else (a multi-line field, a
stray quote, a lone CR, cp1252 bytes) returns ``None`` and the caller reads
with the ``csv`` module, which reports those cases row by row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from retentio.i18n import Msg

MAX_BYTES = 2 << 30  # beyond this the csv module streams; Arrow would hold the file and its table at once
ENCODINGS = {"utf-8", "utf-8-sig", "ascii"}
NL, CR, QUOTE = 10, 13, 34


class FastRead:
    """The records of a file read by Arrow, with their lines; ``None`` from :func:`read` when it does not apply."""

    def __init__(self, header: list[str], header_line: int, table: pa.Table, lines: np.ndarray,
                 rejects: list[tuple[int, str]]) -> None:
        self.header = header
        self.header_line = header_line
        self.table = table
        self.lines = lines
        self.rejects = rejects

    def chunks(self, columns: list[str], chunk_rows: int) -> Iterator[tuple[pd.DataFrame, list[int]]]:
        table = self.table.rename_columns(columns)
        types = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
        for start in range(0, max(1, table.num_rows), chunk_rows):
            part = table.slice(start, chunk_rows)
            yield part.to_pandas(types_mapper=types.get), self.lines[start:start + chunk_rows].tolist()


def _line_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive, without the line break) of every physical line."""
    nl = np.flatnonzero(buf == NL)
    starts = np.concatenate(([0], nl + 1))
    ends = np.concatenate((nl, [len(buf)]))
    if starts[-1] == len(buf):  # a final line break ends the last line; it does not open another
        starts, ends = starts[:-1], ends[:-1]
    crlf = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == CR)
    return starts, ends - crlf


def _balanced(buf: np.ndarray, starts: np.ndarray) -> bool:
    quotes = np.flatnonzero(buf == QUOTE)
    if not len(quotes):
        return True
    per_line = np.bincount(np.searchsorted(starts, quotes, side="right") - 1, minlength=len(starts))
    return not (per_line % 2).any()


def read(path: Path, encoding: str, delimiter: str, header: list[str] | None) -> FastRead | None:
    """All records of ``path`` (a header found as the csv path finds it), or None when this path does not apply."""
    if encoding.lower() not in ENCODINGS or len(delimiter) != 1 or delimiter == '"':
        return None
    if path.stat().st_size > MAX_BYTES:
        return None
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # the csv path reads such files as utf-8-sig: same lines, no BOM in the header
    buf = np.frombuffer(data, dtype=np.uint8)
    cr = np.flatnonzero(buf == CR)
    if len(cr) and (cr[-1] == len(buf) - 1 or not (buf[cr + 1] == NL).all()):
        return None  # a lone CR (old Mac line ends, or inside a field): the csv module decides
    starts, ends = _line_bounds(buf)
    if not _balanced(buf, starts):
        return None
    first_data = 0
    header_line = 0
    if header is None:
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            text = data[s:e].decode("utf-8", errors="replace")
            if text.strip(" \t\ufeff"):
                row = next(csv.reader([text], delimiter=delimiter, strict=False), [])
                if any(c.strip() for c in row):
                    header = [c.strip().lstrip("\ufeff") for c in row]
                    header_line, first_data = i + 1, i + 1
                    break
            # a line of only blanks or delimiters comes before the header: skipped like the csv path does
        if header is None:
            return None
    width = len(header)
    starts, ends = starts[first_data:], ends[first_data:]
    nonempty = np.flatnonzero(ends > starts)
    line_of = nonempty + first_data + 1  # physical, 1-based
    invalid: list[tuple[int | None, str, int]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    if not len(nonempty):
        empty = pa.table({f"c{i}": pa.array([], pa.string()) for i in range(width)})
        return FastRead(header, header_line, empty, np.zeros(0, dtype=np.int64), [])
    body = data[int(starts[0]):]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(width)], use_threads=False,
                                           block_size=1 << 26),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                             escape_char=False, newlines_in_values=False,
                                             ignore_empty_lines=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(width)},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException):
        return None  # invalid UTF-8 and the like: the csv path rejects those rows one by one
    if any(n is None or not 0 < n <= len(line_of) for n, _, _ in invalid):
        return None
    bad = np.zeros(len(line_of), dtype=bool)
    rejects: list[tuple[int, str]] = []
    for number, text, found in invalid:
        k = int(number or 0) - 1  # never 0 here: checked above
        bad[k] = True
        if any(c.strip() for c in next(csv.reader([text], delimiter=delimiter, strict=False), [])):
            # (a line of only blanks and delimiters is no record)
            hint = Msg("check quoting and the delimiter {delimiter!r}", delimiter=delimiter)
            rejects.append((int(line_of[k]), str(Msg("expected {width} fields, found {found} ({hint})",
                                                              width=width, found=found, hint=hint))))
    lines = line_of[~bad]
    if len(lines) != table.num_rows:
        return None  # Arrow saw other records than the lines say: never guess, read it the slow way
    keep = _not_blank(table)
    if keep is not None:
        table, lines = table.filter(pa.array(keep)), lines[keep]
    return FastRead(header, header_line, table, lines, rejects)


def _not_blank(table: pa.Table) -> np.ndarray | None:
    """Rows with something in a cell (a line of only delimiters is no record), or None when all have."""
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return None
    blank = None
    for col in table.columns:
        empty = pc.equal(pc.utf8_trim_whitespace(col), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    arr = np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool) if blank is not None else None
    if arr is None or not arr.any():
        return None
    return ~arr
