"""Which text encoding a CSV file is in.

Real exports are UTF-8 (often with a byte-order mark) or, from German Windows
programs, Windows-1252. Statistical detectors guess exotic code pages on thin
evidence (a small cp1252 file with one "ü" was read as cp775, giving "M³ller"),
so the rule here is fixed and explainable:

1. a byte-order mark names the encoding;
2. text that decodes as UTF-8 is UTF-8;
3. text that decodes as Windows-1252 *and reads as Western text* is cp1252.
   It does not read so when letters surround punctuation or symbols ("Gr„e",
   "Stra§e": DOS or Mac umlauts seen through cp1252) or when C1 control
   characters appear;
4. otherwise the file is refused and ``--encoding`` asked for, naming the
   encodings under which the sample does read as text.

``--encoding`` always wins, also for UTF-16 without a byte-order mark.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from retentio.errors import InputFileError
from retentio.i18n import Msg

CANDIDATES = ("cp850", "mac_roman")
_OK_INSIDE_WORDS = {"\u2019", "\u2018", "\u00b7", "\u00ad", "-"}
# Symbols that do not touch a letter in real text ("Wei§" is a Mac "ß" read as cp1252).
_NEVER_BY_LETTERS = set("§¶†‡¤¦¨¬¯±²³µ¹ºª¼½¾×÷™¸¿¡")
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")


def _suspicious(text: str) -> int:
    """Signs of reading text in the wrong code page: control characters, punctuation inside a
    word ("Gr„e"), symbols next to letters ("Wei§"), a capital inside a lower-case word ("JŠger")."""
    bad = 0
    n = len(text)
    for i, ch in enumerate(text):
        if ch.isascii():
            continue
        cat = unicodedata.category(ch)
        before = text[i - 1] if i > 0 else " "
        after = text[i + 1] if i + 1 < n else " "
        if cat == "Cc":
            bad += 1
        elif not cat.startswith("L"):
            next_to_letter = before.isalpha() or after.isalpha()
            inside_word = before.isalpha() and after.isalpha()
            bad += (ch in _NEVER_BY_LETTERS and next_to_letter) or (ch not in _OK_INSIDE_WORDS and inside_word)
        elif cat == "Lu" and before.isalpha() and after.islower():
            bad += 1
    return bad


def _decodes(sample: bytes, encoding: str) -> str | None:
    try:
        return sample.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf") and exc.start >= len(sample) - 4:  # a character cut by the sample's end
            return sample[:exc.start].decode(encoding, errors="strict")
        return None


def utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when every other byte of mostly-ASCII text is NUL."""
    head = sample[:4096]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes, path: object = "") -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(sample, "utf-8") is not None:
        return "utf-8"
    cp1252 = _decodes(sample, "cp1252")
    if cp1252 is not None and _suspicious(cp1252) == 0:
        return "cp1252"
    if _UTF8_SEQUENCE.search(sample):
        raise InputFileError(Msg(
            "{path}: the file mixes UTF-8 with another encoding. Pass --encoding utf-8 to import the UTF-8 rows "
            "(the others are rejected with their line), or the other encoding", path=str(path)))
    readable = [enc for enc in CANDIDATES if (text := _decodes(sample, enc)) is not None and _suspicious(text) == 0]
    example = ""
    if cp1252 is not None:
        for word in cp1252.split():
            if _suspicious(word):
                example = word[:40]
                break
    raise InputFileError(Msg(
        "{path}: the text encoding is not clear: it is not UTF-8{example}. Pass --encoding{hint}.",
        path=str(path),
        example=Msg(", and as Windows-1252 it would read {word!r}", word=example) if example else "",
        hint=Msg(" (it reads as text in: {names})", names=", ".join(readable)) if readable else ""))
