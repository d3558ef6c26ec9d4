"""Text cells: identifiers, names, e-mail addresses, time zones.

* **Identifiers** (customer, order, product, contract numbers) are compared
  after Unicode NFKC normalisation, with zero-width and other invisible
  format characters removed and surrounding blanks stripped, so ``K1`` from
  one export and ``Ｋ１\u200b`` (full-width letters and a zero-width space)
  from another are one customer. A whole number written with a decimal zero
  (``13085.0``: spreadsheets and float columns write ids so) is ``13085``.
  Letter case is kept: ``k1`` is another id.
* **Other text** is stripped of surrounding blanks and otherwise stored as it
  is. Control characters are rejected, and so are line breaks and text-direction
  overrides in single-line fields (names, addresses): they end up in e-mail
  headers and terminals.
* **E-mail addresses** are checked with ``email-validator`` (international
  domains and local parts included) and stored in its normalised form (the
  domain in lower case).
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

import numpy as np
import pandas as pd

from retentio.i18n import _
from retentio.ingest.schema import Field

# Unicode format characters (category Cf) that render as nothing.
INVISIBLE = re.compile("[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]")
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")
WHOLE_WITH_ZERO = re.compile(r"^(\d+)\.0+$")
LOCALE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")


def as_text(raw: pd.Series) -> pd.Series:
    if isinstance(raw.dtype, pd.StringDtype):  # the CSV reader's columns: text already
        text = raw.astype("string").str.strip()
    else:
        text = raw.astype(object).where(raw.notna(), None).astype("string").str.strip()
    return text.where(text != "", pd.NA)


def all_ascii(text: pd.Series) -> bool:
    """Whether every cell is ASCII, where Unicode normalisation and invisible characters cannot apply."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text, from_pandas=True, type=pa.large_string())
    return bool(pc.all(pc.string_is_ascii(arr)).as_py() is not False)


def error_series(index, mask: pd.Series, reasons) -> pd.Series:
    out = pd.Series([None] * len(index), index=index, dtype=object)
    if isinstance(reasons, pd.Series):
        out[mask] = reasons[mask]
    elif reasons is not None:
        out[mask] = reasons
    return out


def _is_structured(v, allow_dict: bool) -> bool:
    if isinstance(v, dict):
        return not allow_dict
    return isinstance(v, (list, tuple, set, np.ndarray))


def non_scalars(raw: pd.Series, *, allow_dict: bool = False) -> pd.Series | None:
    """Cells holding a list or structure (Parquet list/struct columns); None when the column cannot hold any."""
    if raw.dtype != object:
        return None
    return raw.map(lambda v: _is_structured(v, allow_dict)).astype(bool)


def normalise_key(text: pd.Series) -> pd.Series:
    """How identifiers are compared (see the module docstring)."""
    out = text if all_ascii(text) else text.str.normalize("NFKC").str.replace(INVISIBLE, "", regex=True)
    out = out.str.strip()
    if out.str.contains(".", regex=False).any():
        out = out.str.replace(WHOLE_WITH_ZERO, r"\1", regex=True)
    return out.where(out != "", pd.NA)


def _as_strings(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cells as text, and which were bytes that are not UTF-8."""
    undecodable = pd.Series(False, index=raw.index)
    if isinstance(raw.dtype, pd.StringDtype):  # the CSV reader's columns: text already
        return as_text(raw), undecodable
    if pd.api.types.is_float_dtype(raw.dtype):
        # Parquet/Excel ids such as 17850.0 are whole numbers stored as floats.
        whole = raw.notna() & np.isfinite(raw) & (raw == raw.round())
        raw = raw.astype(object).where(~whole, raw.where(whole).astype("Int64").astype(str))
    elif raw.dtype == object:
        def one(v):
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            if isinstance(v, bytes):
                try:
                    return v.decode("utf-8")
                except UnicodeDecodeError:
                    return b"\x00undecodable"
            return v

        raw = raw.map(one)
        undecodable = raw.map(lambda v: v == b"\x00undecodable").astype(bool)
        raw = raw.where(~undecodable, None)
    return as_text(raw.astype(object).where(raw.notna(), None).map(
        lambda v: v if v is None or isinstance(v, str) else str(v))), undecodable


@lru_cache(maxsize=200_000)
def _email(value: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_str(raw: pd.Series, fld: Field):
    from retentio.ingest.parse import Parsed

    text, undecodable = _as_strings(raw)
    errors = pd.Series([None] * len(raw), index=raw.index, dtype=object)

    def reject(mask: pd.Series, reason: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool) & errors.isna()
        if mask.any():
            errors[mask] = reason[mask] if isinstance(reason, pd.Series) else reason

    reject(undecodable, _("bytes that are not UTF-8 text"))
    control = text.str.contains(CONTROL, regex=True)
    if fld.key:
        reject(control, _("contains a control character"))
        text = normalise_key(text)
    else:
        reject(control, _("contains a control character"))
        if not fld.multiline:
            reject(text.str.contains(LINE_BREAK, regex=True), _("contains a line break"))
            reject(text.str.contains(BIDI, regex=True), _("contains invisible text-direction controls"))
    if fld.max_len:
        too_long = text.str.len().fillna(0) > fld.max_len
        reject(too_long, _("longer than {n} characters", n=fld.max_len))
    if fld.name == "email":
        uniq = pd.unique(text.dropna())
        normal = {v: _email(v) for v in uniq}
        checked = text.map(normal, na_action="ignore")
        tmpl = _("not a valid e-mail address: '{value}'")
        reject(text.notna() & checked.isna(), text.map(lambda v: tmpl.format(value=v), na_action="ignore"))
        text = checked.where(checked.notna(), text)
    elif fld.name == "time_zone":
        tmpl = _("unknown time zone '{value}' (use an IANA name such as Europe/Berlin)")
        reject(text.notna() & ~text.isin(_zones()), text.map(lambda v: tmpl.format(value=v), na_action="ignore"))
    elif fld.name == "locale":
        tmpl = _("not a language code: '{value}' (e.g. de, de_DE, en-GB)")
        bad = text.notna() & ~text.str.fullmatch(LOCALE).fillna(False)
        reject(bad, text.map(lambda v: tmpl.format(value=v), na_action="ignore"))
    return Parsed(text.astype(object).where(text.notna(), None), errors)
