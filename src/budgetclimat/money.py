"""Exact money: amounts are integer cents (int64) end to end; euros appear only for display.

Parsing is vectorised over a whole column (:func:`parse_amounts`). One parser serves every reader and
every profile; a value that could be read two ways is reported, never guessed.

What a cell may look like (after trimming):

* spaces, non-breaking spaces (U+00A0), narrow and thin spaces (U+202F, U+2009) as thousands
  separators, in groups of three only (``1 234 567,89``);
* a sign: ``-123,45``, ``−123,45`` (U+2212), ``+12``, ``123,45-`` (ERP exports), ``(123,45)`` (accounting);
* a currency: ``123,45 €``, ``€123.45``, ``123,45 EUR``;
* scientific notation (``1.5E+06``, seen in real exports).

The decimal mark, cell by cell:

* both ``,`` and ``.`` in valid thousands groups: the last one is the decimal mark (``1.234,56``,
  ``1,234.56``);
* several ``,`` (or several ``.``) in groups of three: thousands separators (``1,234,567``);
* one ``,`` or ``.`` followed by one, two or four and more digits, or after four or more digits
  (``1234,567``): a decimal mark;
* one ``,`` or ``.`` after one to three digits and followed by exactly three (``1,234``, ``1.234``) could
  be either. **The column settles it one way only**: the other cells' unambiguous marks (a ``,`` decimal
  in ``12,5`` or ``1.234,56``, a ``.`` thousands in ``1.234.567``) say which mark is the decimal one; the
  other mark is then a thousands separator (``1.234`` is 1 234 € in a comma column). The column's own
  decimal mark followed by exactly three digits would be three decimals, which no amount in euros has:
  that cell stays **ambiguous**. When the column has no evidence, the profile's ``read.decimal`` (a
  format's documented mark) stands for it; when the evidence is mixed or absent, the cell is ambiguous:
  an error naming it.

An amount is never rounded: a decimal part longer than two digits must end in zeros (``1234,500`` read
with ``,`` as decimal mark is 1 234,50 €), else the cell is ``too-precise`` (``1234.565``). Apostrophes as
thousands separators (``1'234.56``) are refused as ambiguous: a Swiss or a programmer's convention,
not a French export's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

# Problems a cell may have (values of ParsedAmounts.problem).
NOT_A_NUMBER = "not-a-number"
AMBIGUOUS = "ambiguous"
TOO_PRECISE = "too-precise"
TOO_LARGE = "too-large"

_SPACE = "[ \u00a0\u202f\u2009]"
_CURRENCY = r"(?i)^(?:€|eur)\s*|\s*(?:€|eur|euros?)$"
# Integer part at most 15 digits: cents stay well inside int64 (9.2e16 €).
_MAX_DIGITS = 15
# The largest amount accepted in any format, in euros (TOTEM and CSV/XLSX alike).
MAX_AMOUNT_EUROS = 10**_MAX_DIGITS

_SHAPES = {
    "int": r"\d+",
    "both_comma": r"\d{1,3}(?:\.\d{3})+,\d+",  # 1.234,56: comma decimal
    "both_dot": r"\d{1,3}(?:,\d{3})+\.\d+",  # 1,234.56: dot decimal
    "dots": r"\d{1,3}(?:\.\d{3}){2,}",  # 1.234.567: dot thousands
    "commas": r"\d{1,3}(?:,\d{3}){2,}",  # 1,234,567: comma thousands
    "comma3": r"\d{1,3},\d{3}",  # 1,234: either
    "dot3": r"\d{1,3}\.\d{3}",  # 1.234: either
    "comma": r"\d*,\d+",  # 12,5 / 1234,567: comma decimal
    "dot": r"\d*\.\d+",  # 12.5: dot decimal
    "sci": r"\d+(?:[.,]\d+)?[eE][+-]?\d+",
}
# Which shapes are evidence of which decimal mark.
_COMMA_EVIDENCE = ("both_comma", "dots", "comma")
_DOT_EVIDENCE = ("both_dot", "commas", "dot")


@dataclass
class ParsedAmounts:
    """A column of amounts read: ``cents`` (nullable Int64, ``<NA>`` when empty or unreadable),
    ``problem`` (``<NA>`` or one of the problem codes), ``mark`` (the column's decimal mark when its
    cells settle it, else the hint, else None) and ``readings`` (for ambiguous cells: the two readings
    as text, for messages)."""

    cents: pd.Series
    problem: pd.Series
    mark: str | None
    readings: pd.Series

    @property
    def bad(self) -> pd.Series:
        return self.problem.notna().astype(bool)


def parse_amounts(values: pd.Series, decimal: str | None = None) -> ParsedAmounts:
    """Read a column of amount texts into exact cents (see the module docstring for the rules).

    ``decimal`` is the format's documented decimal mark (a profile's ``read.decimal``): used only to
    settle ``1,234`` / ``1.234`` when the column's own cells give no evidence.
    """
    index = values.index
    text = values.astype("string").str.strip()
    # Fast path: the common machine shapes (``-1234``, ``1234.5``, ``1234,56``) in one pass.
    simple = text.str.fullmatch(r"-?\d{1,15}(?:[.,]\d{1,2})?").fillna(False).to_numpy()
    cents = pd.Series(pd.NA, index=index, dtype="Int64")
    comma_seen = dot_seen = False
    if simple.any():
        plain = text[simple]
        comma_seen = bool(plain.str.contains(",", regex=False).any())
        dot_seen = bool(plain.str.contains(".", regex=False).any())
        parts = _extract(plain, r"^(?P<a>-?)(?P<b>\d+)(?:[.,](?P<c>\d+))?$")
        units = parts[1].astype("int64")
        frac = parts[2].fillna("").astype("string").str.pad(2, side="right", fillchar="0").astype("int64")
        value = units * 100 + frac
        cents.loc[simple] = value.where(parts[0] != "-", -value).astype("int64").to_numpy()
    if simple.all():
        problem = pd.Series(pd.NA, index=index, dtype="string")
        return ParsedAmounts(cents, problem, _mark(comma_seen, dot_seen, decimal), pd.Series(pd.NA, index=index, dtype="string"))
    rest = _parse_general(text[~simple], decimal, comma_seen, dot_seen)
    cents.loc[~simple] = rest.cents.to_numpy()
    problem = pd.Series(pd.NA, index=index, dtype="string")
    problem.loc[~simple] = rest.problem.to_numpy()
    readings = pd.Series(pd.NA, index=index, dtype="string")
    readings.loc[~simple] = rest.readings.to_numpy()
    return ParsedAmounts(cents.astype("Int64"), problem, rest.mark, readings)


def _extract(text: pd.Series, pattern: str) -> pd.DataFrame:
    """``Series.str.extract`` through Arrow's RE2 (pandas' own falls back to Python per cell): one
    column per named group, numbered 0, 1…; ``<NA>`` where the cell is empty or does not match."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(text.astype("string").to_numpy(dtype=object, na_value=None), type=pa.string())
    got = pc.extract_regex(array, pattern)
    valid = got.is_valid().to_numpy(zero_copy_only=False)
    out = {}
    for i in range(got.type.num_fields):
        column = pd.Series(got.field(i).to_numpy(zero_copy_only=False), index=text.index, dtype="string")
        out[i] = column.where(valid, pd.NA)
    return pd.DataFrame(out, index=text.index)


def _mark(comma_seen: bool, dot_seen: bool, decimal: str | None) -> str | None:
    if comma_seen and not dot_seen:
        return ","
    if dot_seen and not comma_seen:
        return "."
    if not comma_seen and not dot_seen and decimal in (",", "."):
        return decimal
    return None


def _parse_general(values: pd.Series, decimal: str | None, comma_before: bool, dot_before: bool) -> ParsedAmounts:
    """Every shape, for the cells the fast path left; ``*_before``: evidence of the fast-path cells."""
    index = values.index
    text = values.astype("string").str.strip()
    empty = (text.isna() | (text == "")).fillna(True).to_numpy()
    s = text.str.replace(_CURRENCY, "", regex=True).str.strip()
    paren = s.str.fullmatch(r"\(.*\)").fillna(False)
    s = s.mask(paren, s.str.slice(1, -1).str.strip())
    s = s.str.replace("\u2212", "-", regex=False)
    trailing = s.str.fullmatch(r"[^-+]*-").fillna(False)
    s = s.mask(trailing, s.str.slice(0, -1).str.strip())
    lead = _extract(s, r"^(?P<a>[-+]?)\s*(?P<b>.*)$")
    sign = lead[0].fillna("")
    body = lead[1].astype("string")
    negative = (paren ^ trailing) ^ (sign == "-").fillna(False)
    # Two signs at once ("-(12)", "(12)-") are not amounts.
    double_sign = ((paren & trailing) | ((paren | trailing) & (sign != "").fillna(False))).fillna(False)

    # Spaces only as thousands groups: "1 234 567,89".
    has_space = body.str.contains(_SPACE, regex=True).fillna(False)
    grouped = body.str.fullmatch(rf"\d{{1,3}}(?:{_SPACE}\d{{3}})+(?:[.,]\d+)?").fillna(False)
    body = body.mask(has_space & grouped, body.str.replace(_SPACE, "", regex=True))
    apostrophe = body.str.contains(r"['\u2019]", regex=True).fillna(False)

    shape = pd.Series(pd.NA, index=index, dtype="string")
    for name, pattern in _SHAPES.items():
        hit = body.str.fullmatch(pattern).fillna(False) & shape.isna()
        shape = shape.mask(hit, name)
    shape = shape.mask(double_sign | (has_space & ~grouped), pd.NA)

    comma_seen = comma_before or bool(shape.isin(_COMMA_EVIDENCE).any())
    dot_seen = dot_before or bool(shape.isin(_DOT_EVIDENCE).any())
    mark = _mark(comma_seen, dot_seen, decimal)

    # Normalise to "digits[.digits]" by shape.
    norm = pd.Series(pd.NA, index=index, dtype="string")
    no_comma = body.str.replace(",", "", regex=False)
    no_dot = body.str.replace(".", "", regex=False)
    comma_to_dot = no_dot.str.replace(",", ".", regex=False)
    norm = norm.mask(shape.isin(["int", "dot"]).fillna(False), body)
    norm = norm.mask(shape.isin(["both_dot", "commas"]).fillna(False), no_comma)
    norm = norm.mask((shape == "dots").fillna(False), no_dot)
    norm = norm.mask((shape == "both_comma").fillna(False), comma_to_dot)
    norm = norm.mask((shape == "comma").fillna(False), body.str.replace(",", ".", regex=False))
    ambiguous = shape.isin(["comma3", "dot3"]).fillna(False)
    # « 1.234 » in a column whose decimal mark is the comma can only be 1 234 (and « 1,234 » under a point);
    # under its own column's mark it would be three decimals, which no amount in euros has: still two
    # readings (1 234 € or 1,234 €), so it stays ambiguous, never read as 1,23 € or 1 234 € in silence.
    if mark == ",":
        norm = norm.mask((shape == "dot3").fillna(False), no_dot)
        ambiguous_left = ambiguous & (shape == "comma3").fillna(False)
    elif mark == ".":
        norm = norm.mask((shape == "comma3").fillna(False), no_comma)
        ambiguous_left = ambiguous & (shape == "dot3").fillna(False)
    else:
        ambiguous_left = ambiguous
    readings = pd.Series(pd.NA, index=index, dtype="string")
    if bool(ambiguous_left.any()):
        as_int = body.str.replace(r"[.,]", "", regex=True)
        as_dec = body.str.replace(".", ",", regex=False)
        readings = readings.mask(ambiguous_left, as_int + " € / " + as_dec + " €")

    parts = _extract(norm, r"^(?P<a>\d*)(?:\.(?P<b>\d*))?$")
    units_text = parts[0].fillna("").str.lstrip("0")
    frac = parts[1].fillna("").astype("string")
    ok = norm.notna().fillna(False) & ~apostrophe
    too_large = ok & (units_text.str.len() > _MAX_DIGITS).fillna(False)
    too_precise = ok & frac.str.slice(2).str.contains(r"[1-9]", regex=True).fillna(False)
    ok = ok & ~too_large & ~too_precise

    cents = pd.Series(pd.NA, index=index, dtype="Int64")
    if bool(ok.any()):
        u = units_text[ok].mask(units_text[ok] == "", "0").astype("int64")
        f2 = frac[ok].str.pad(2, side="right", fillchar="0").str.slice(0, 2).astype("int64")
        value = u * 100 + f2
        value = value.where(~negative[ok], -value)
        cents.loc[ok] = value.astype("int64")

    sci = (shape == "sci").fillna(False) & ~apostrophe
    problem = pd.Series(pd.NA, index=index, dtype="string")
    if bool(sci.any()):
        # Rare shapes: exact Decimal on the few cells concerned.
        cents_arr = cents.to_numpy(dtype=object, na_value=None)
        problem_arr = problem.to_numpy(dtype=object, na_value=None)
        neg = negative.to_numpy()
        texts = body.to_numpy(dtype=object, na_value=None)
        for pos in np.flatnonzero(sci.to_numpy()):
            got = _decimal_cents(str(texts[pos]).replace(",", "."))
            if isinstance(got, int):
                cents_arr[pos] = -got if neg[pos] else got
            else:
                problem_arr[pos] = got
        cents = pd.Series(cents_arr, index=index).astype("Int64")
        problem = pd.Series(problem_arr, index=index).astype("string")

    problem = problem.mask(too_precise, TOO_PRECISE).mask(too_large, TOO_LARGE)
    problem = problem.mask(ambiguous_left | apostrophe, AMBIGUOUS)
    unread = ~empty & cents.isna().to_numpy() & problem.isna().to_numpy()
    problem = problem.mask(pd.Series(unread, index=index), NOT_A_NUMBER)
    problem = problem.mask(pd.Series(empty, index=index), pd.NA)
    cents = cents.mask(problem.notna().to_numpy(), pd.NA)
    return ParsedAmounts(cents.astype("Int64"), problem.astype("string"), mark, readings)


# XML Schema's xs:decimal, the grammar of TOTEM amounts: a sign, digits, a point, digits; nothing else.
XS_DECIMAL = r"^([+-]?)(\d*)(?:\.(\d*))?$"


def parse_xs_decimal(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse ``xs:decimal`` text (TOTEM ``V`` attributes) into cents: ``(cents, bad)``.

    Only the schema's grammar is read (``1234.56``, ``-0.5``, ``.5``): a comma, a space or an exponent is
    not an amount there, so such a cell is ``bad`` (reported naming its XML line), never guessed. More than
    two decimals are rounded half up, away from zero (Decimal ``ROUND_HALF_UP``), as TOTEM sources do.
    Integer parts beyond :data:`MAX_AMOUNT_EUROS` are ``bad`` too (callers screen them first to say so).
    """
    text = values.astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
    parts = text.str.extract(XS_DECIMAL)
    units_text = parts[1].fillna("")
    frac = parts[2].fillna("")
    ok = (parts[0].notna() & ((units_text.str.len() > 0) | (frac.str.len() > 0)) & (units_text.str.len() <= _MAX_DIGITS)).to_numpy(dtype=bool)
    ok &= ~empty
    cents = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if ok.any():
        units = pd.to_numeric(units_text[ok].replace("", "0")).astype("int64")
        first2 = frac[ok].str.pad(2, side="right", fillchar="0").str.slice(0, 2).astype("int64")
        up = frac[ok].str.slice(2, 3).str.fullmatch(r"[5-9]").fillna(False).astype("int64")
        sign = np.where(parts[0][ok] == "-", -1, 1)
        cents[ok] = ((units * 100 + first2 + up) * sign).astype("int64")
    bad = ~empty & ~ok
    return cents, pd.Series(bad, index=values.index, dtype=bool)


def parse_cents(values: pd.Series, decimal: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse a column of amount strings into cents: ``(cents, bad)``, for tables that are not budgets (the
    measures' costs of the territory view). TOTEM amounts use :func:`parse_xs_decimal`.

    ``cents`` is nullable ``Int64`` (``<NA>`` where the cell is empty or not an amount); ``bad`` marks
    non-empty cells that are not amounts or ambiguous. Unlike :func:`parse_amounts`, a value more
    precise than the cent (an estimated cost ``0.005``) is rounded half up.
    """
    parsed = parse_amounts(values, decimal)
    cents, problem = parsed.cents.copy(), parsed.problem
    precise = (problem == TOO_PRECISE).fillna(False).to_numpy()
    if precise.any():
        text = values.astype("string").to_numpy(dtype=object, na_value=None)
        for pos in np.flatnonzero(precise):
            cents.iloc[pos] = _round_half_up(str(text[pos]), decimal)
        problem = problem.mask(precise, pd.NA)
    return cents.astype("Int64"), problem.notna().astype(bool)


def _round_half_up(text: str, decimal: str | None) -> object:
    from decimal import ROUND_HALF_UP

    s = re.sub(r"[\s\u00a0\u202f\u2009€]", "", text)
    negative = s.startswith("(") and s.endswith(")")
    s = s.strip("()")
    if "," in s and "." not in s:
        s = s.replace(",", ".")
    else:
        s = s.replace(",", "")
    try:
        value = Decimal(s)
    except InvalidOperation:
        return pd.NA
    cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return -cents if negative else cents


def float_problems(num: np.ndarray) -> np.ndarray:
    """For numbers typed in a workbook (binary floats): a problem code where the value is not a whole
    number of cents (``1234.565``) or is too large or not finite; ``None`` elsewhere. Binary noise
    (``1234.5600000001`` from a formula) is not a problem: each value is rounded to the cent."""
    num = np.asarray(num, dtype="float64")
    out = np.full(num.shape, None, dtype=object)
    finite = np.isfinite(num)
    out[~finite & ~np.isnan(num)] = NOT_A_NUMBER
    scaled = np.where(finite, num * 100, 0.0)
    off = np.abs(scaled - np.rint(scaled))
    tolerance = np.maximum(1e-4, np.abs(scaled) * 1e-14)
    out[finite & (off > tolerance)] = TOO_PRECISE
    out[finite & (np.abs(num) >= 10.0**_MAX_DIGITS)] = TOO_LARGE
    return out


def _decimal_cents(text: object) -> object:
    """Exact cents of a scientific-notation text, or a problem code."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return NOT_A_NUMBER
    if not value.is_finite():
        return NOT_A_NUMBER
    scaled = value * 100
    if scaled != scaled.to_integral_value():
        return TOO_PRECISE
    if abs(value) >= Decimal(10) ** _MAX_DIGITS:
        return TOO_LARGE
    return int(scaled)


def format_euros(cents: int, lang: str = "fr") -> str:
    """``123456789`` -> ``1 234 567,89 €`` (fr) or ``€1,234,567.89`` (en)."""
    sign = "-" if cents < 0 else ""
    units, rem = divmod(abs(int(cents)), 100)
    if lang == "en":
        return f"{sign}€{units:,}.{rem:02d}"
    return f"{sign}{units:,}".replace(",", "\u202f") + f",{rem:02d} €"


def allocate(total_cents: pd.Series, shares: pd.Series, group: pd.Series) -> pd.Series:
    """Split each group's total into pieces proportional to ``shares``, exact to the cent.

    Largest-remainder (Hamilton) rounding: every piece gets the floor of its exact part, then the
    cents left over go to the pieces with the largest fractional remainders (ties: first piece in
    order). The pieces of a group always sum to the group's total. ``total_cents`` is repeated on every
    piece of its group; ``shares`` need not be normalised (they are divided by their group sum).
    Negative totals are handled symmetrically.
    """
    frame = pd.DataFrame(
        {"total": total_cents.astype("int64").to_numpy(), "share": shares.astype("float64").to_numpy(), "g": group.to_numpy()}
    )
    share_sum = frame.groupby("g", sort=False)["share"].transform("sum")
    weight = np.where(share_sum.to_numpy() > 0, frame["share"].to_numpy() / np.where(share_sum == 0, 1, share_sum), 0.0)
    sign = np.sign(frame["total"].to_numpy())
    absolute = np.abs(frame["total"].to_numpy())
    exact = absolute * weight
    floor = np.floor(exact).astype("int64")
    frame["floor"] = floor
    frame["rem"] = exact - floor
    frame["order"] = np.arange(len(frame))
    left = (absolute - frame.groupby("g", sort=False)["floor"].transform("sum").to_numpy()).astype("int64")
    # Groups whose shares are all zero keep everything on their first piece.
    zero_group = share_sum.to_numpy() <= 0
    frame["left"] = left
    ranked = frame.sort_values(["g", "rem", "order"], ascending=[True, False, True], kind="stable")
    rank = ranked.groupby("g", sort=False).cumcount()
    extra = pd.Series((rank.to_numpy() < ranked["left"].to_numpy()).astype("int64"), index=ranked.index).sort_index()
    pieces = floor + extra.to_numpy()
    first_of_group = ~frame["g"].duplicated().to_numpy()
    pieces = np.where(zero_group, np.where(first_of_group, absolute, 0), pieces)
    return pd.Series(pieces * sign, index=total_cents.index, dtype="int64")


def euros_text(cents: pd.Series) -> pd.Series:
    """Integer cents as exact euro text with two decimals (``-1234.56``), no float on the way."""
    values = cents.astype("int64").to_numpy()
    units = np.abs(values) // 100
    rest = np.abs(values) % 100
    sign = np.where(values < 0, "-", "")
    text = pd.Series(sign, dtype="string") + pd.Series(units.astype(str), dtype="string") + "." + pd.Series(rest.astype(str), dtype="string").str.zfill(2)
    text.index = cents.index
    return text
