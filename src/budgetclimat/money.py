"""Exact money: amounts are integer cents (int64) end to end; euros appear only for display.

Parsing is vectorised over a whole column: French and English formats (``1 234 567,89``, ``1,234,567.89``,
non-breaking spaces, ``€``, ``(12,50)`` for negatives) and scientific notation (``1.5E+06``, seen in
real exports). A value that is not an amount is reported, never guessed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

_SPACES = r"[\s\u00a0\u202f\u2009']"
_PLAIN = r"^(-?)(\d+)(?:\.(\d*))?$"


def parse_cents(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of amount strings into cents.

    Returns ``(cents, bad)``: ``cents`` is nullable ``Int64`` (``<NA>`` where the cell is empty or
    unparseable), ``bad`` is a boolean mask of non-empty cells that are not amounts. Amounts with more
    than two decimals are rounded half up to the cent.
    """
    raw = values.astype("string")
    text = raw.str.strip()
    empty = text.isna() | (text == "")
    s = text.str.replace(_SPACES, "", regex=True).str.replace("€", "", regex=False)
    s = s.str.replace(r"^\((.*)\)$", r"-\1", regex=True)  # accounting negatives
    s = s.str.replace(r"^\+", "", regex=True)
    s = s.str.replace(r"^(.*)-$", r"-\1", regex=True)  # trailing minus (ERP exports)
    has_comma = s.str.contains(",", regex=False).fillna(False)
    has_dot = s.str.contains(".", regex=False).fillna(False)
    # Both separators: the last one is the decimal mark.
    both = has_comma & has_dot
    comma_last = s.str.rfind(",") > s.str.rfind(".")
    s = s.mask(both & comma_last, s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    s = s.mask(both & ~comma_last, s.str.replace(",", "", regex=False))
    # Only commas: a single comma is a decimal mark; several are thousands separators.
    only_comma = has_comma & ~has_dot
    n_comma = s.str.count(",")
    s = s.mask(only_comma & (n_comma == 1), s.str.replace(",", ".", regex=False))
    s = s.mask(only_comma & (n_comma > 1) & s.str.fullmatch(r"-?\d{1,3}(,\d{3})+"), s.str.replace(",", "", regex=False))
    # Several dots and no comma: thousands separators (1.234.567).
    s = s.mask(~has_comma & (s.str.count(r"\.") > 1) & s.str.fullmatch(r"-?\d{1,3}(\.\d{3})+"), s.str.replace(".", "", regex=False))

    parts = s.str.extract(_PLAIN)
    plain = parts[1].notna()
    cents = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if plain.any():
        p = parts[plain]
        units = p[1].astype("int64")
        frac = p[2].fillna("").astype("string")
        first2 = frac.str.pad(2, side="right", fillchar="0").str.slice(0, 2).astype("int64")
        third = frac.str.slice(2, 3)
        round_up = (third.str.len() > 0) & (third.fillna("0").str.fullmatch(r"[5-9]")).fillna(False)
        c = units * 100 + first2 + round_up.astype("int64")
        sign = np.where(p[0] == "-", -1, 1)
        cents.loc[plain] = (c * sign).astype("int64")
    rest = ~plain & ~empty
    if rest.any():
        # Scientific notation and other rare shapes: exact Decimal parsing on the few cells concerned.
        parsed = s[rest].map(_decimal_cents)
        cents.loc[rest] = parsed.astype("Int64")
    bad = ~empty & cents.isna()
    return cents, bad.astype(bool)


def _decimal_cents(text: object) -> object:
    if text is None or text is pd.NA:
        return pd.NA
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return pd.NA
    if not value.is_finite():
        return pd.NA
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cents_to_euros(cents: pd.Series) -> pd.Series:
    """Cents to euros for display or export (float64 with exactly two meaningful decimals)."""
    return (cents.astype("Float64") / 100).round(2)


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
