"""The Arrow CSV path gives the same records, lines and rejects as the csv module, or steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from retentio.ingest import fastcsv, readers
from retentio.ingest.readers import ReadOptions, open_source

HERE = Path(__file__).parent

# (name, bytes, delimiter or None to sniff, whether the Arrow path must take it)
CASES = [
    ("plain", b"order_id,customer_id,total\n1,c1,10\n2,c2,20\n", None, True),
    ("quoted with doubled quotes and delimiters", b'a,b\n"x,""y""",5\n"",6\n', None, True),
    ("blank lines, blank records and wrong widths",
     b"a,b\n1,2\n\n3\n  \n\"x,\"\"y\",5\n6,7,8\n,\n \t, \n , , \nlast,9", None, True),
    ("CRLF, a BOM, a semicolon", b"\xef\xbb\xbfa;b\r\n1;2\r\n\r\n3;4\r\n", None, True),
    ("blank lines before the header", b",,\n  \na,b\n1,2\n", None, True),
    ("no final line break", b"a,b\n1,2", None, True),
    ("NUL inside a field", b"a,b\nx\x00y,2\n" + b"plain,row\n" * 30, None, True),
    ("text after a closing quote", b'a,b\n"abc"def,3\nx""y,4\n', None, True),
    ("one quote in the middle of a field", b'a,b\nab"c,2\n', None, False),
    ("tab separated, umlauts", "kunde\tbetrag\nMüller\t12,50\n".encode(), "\t", True),
    ("only a header", b"a,b\n", None, True),
    ("a field spanning lines", b'a,b\n"x\ny",2\n3,4\n', None, False),
    ("an unclosed quote", b'a,b\n"x,2\n3,4\n', None, False),
    ("lone CR line ends", b"a,b\r1,2\r3,4\r", ",", False),
    ("bytes that are not UTF-8", b"a,b\n\xff\xfe,2\n3,4\n", ",", False),
]


def _read(path: Path, delimiter: str | None):
    source, chunks = open_source(path, ReadOptions(delimiter=delimiter, chunk_rows=2))
    rows, lines = [], []
    for chunk in chunks:
        rows += [[str(v) for v in r] for r in chunk.frame.itertuples(index=False)]
        lines += list(chunk.lines)
        assert chunk.text_only
    return source.columns, rows, lines, [(r.line, r.reason) for r in source.raw_rejects]


@pytest.mark.parametrize(("name", "data", "delimiter", "fast"), CASES, ids=[c[0] for c in CASES])
def test_arrow_path_matches_the_csv_module(tmp_path, monkeypatch, name, data, delimiter, fast):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    taken = fastcsv.read(path, "utf-8", delimiter or readers.sniff_delimiter(data.decode("utf-8", "replace")),
                         None) is not None
    assert taken == fast
    arrow = _read(path, delimiter)
    monkeypatch.setattr(fastcsv, "read", lambda *a, **k: None)
    assert _read(path, delimiter) == arrow


def _csv_files() -> list[Path]:
    return sorted(p for d in ("malformed", "hostile") if (HERE / d).is_dir()
                  for p in (HERE / d).rglob("*") if p.suffix == ".csv")


@pytest.mark.parametrize("path", _csv_files(), ids=lambda p: p.name)
def test_corpus_files_read_alike(monkeypatch, path):
    """Every CSV of the malformed and hostile corpora: the same columns, records, lines and rejects either way."""
    from retentio.errors import InputFileError

    def outcome():
        try:
            return _read(path, None)
        except InputFileError as exc:
            return str(exc)

    first = outcome()
    monkeypatch.setattr(fastcsv, "read", lambda *a, **k: None)
    assert outcome() == first


def test_lines_of_a_large_file(tmp_path):
    """Line numbers stay exact past Arrow's block boundaries and across CRLF and blank lines."""
    n = 30_000
    body = "".join(f"{i},c{i % 7}\r\n" + ("\r\n" if i % 1000 == 0 else "") for i in range(n))
    path = tmp_path / "big.csv"
    path.write_bytes(("id,customer\r\n" + body + "1,2,3\r\n").encode())
    got = fastcsv.read(path, "utf-8", ",", None)
    assert got is not None
    ids = [int(v) for v in got.table.column(0).to_pylist()]
    assert ids == list(range(n))
    # line 1 the header; each record's line counts the blank lines before it
    expected = [2 + i + sum(1 for j in range(0, i, 1000)) for i in range(n)]
    assert got.lines.tolist() == expected
    assert got.rejects and got.rejects[0][0] == 2 + n + n // 1000
