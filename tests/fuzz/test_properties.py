"""Property-based tests (hypothesis) for the amount parser, the readers and the engine.

Kept fast: few examples, a deadline, and the shipped rulebooks loaded once. Expected values are
computed here from the drawn data (integers of cents, Decimal sums of the raw text), never from what
the code returns.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from functools import lru_cache

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutate import CEDI_HEADER, cedi, totem, write_csv

from budgetclimat.money import parse_cents, parse_xs_decimal

FAST = settings(max_examples=25, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# --- the amount parser -------------------------------------------------------------------------------


def _fmt(cents: int, style: str) -> str:
    sign = "-" if cents < 0 else ""
    units, frac = divmod(abs(cents), 100)
    grouped = f"{units:,}"
    return {
        "plain": f"{sign}{units}.{frac:02d}",
        "fr-comma": f"{sign}{units},{frac:02d}",
        "fr-space": f"{sign}{grouped.replace(',', ' ')},{frac:02d}",
        "fr-nbsp": f"{sign}{grouped.replace(',', chr(0xA0))},{frac:02d}",
        "fr-nnbsp": f"{sign}{grouped.replace(',', chr(0x202F))},{frac:02d}",
        "fr-euro": f"{sign}{grouped.replace(',', ' ')},{frac:02d} €",
        "fr-paren": f"({grouped.replace(',', ' ')},{frac:02d})" if sign else f"{units},{frac:02d}",
        "en": f"{sign}{grouped}.{frac:02d}",
        "de": f"{sign}{grouped.replace(',', '.')},{frac:02d}",
        "trailing-minus": f"{units}.{frac:02d}-" if sign else f"{units}.{frac:02d}",
    }[style]


STYLES = ["plain", "fr-comma", "fr-space", "fr-nbsp", "fr-nnbsp", "fr-euro", "fr-paren", "en", "de", "trailing-minus"]


@FAST
@given(st.lists(st.tuples(st.integers(-(10**15), 10**15), st.sampled_from(STYLES)), min_size=1, max_size=30))
def test_amount_parser_round_trips_french_and_english_formats_to_the_cent(amounts):
    texts = pd.Series([_fmt(c, s) for c, s in amounts], dtype="string")
    cents, bad = parse_cents(texts)
    assert not bad.any(), list(texts[bad])
    assert [int(c) for c in cents] == [c for c, _ in amounts], list(texts)


@FAST
@given(st.integers(-(10**12), 10**12), st.integers(3, 6))
def test_amount_parser_rounds_sub_cent_amounts_half_up(cents, extra):
    # A TOTEM amount (xs:decimal) with more than two decimals: rounded half up (away from zero), as
    # money.parse_xs_decimal documents (CSV/XLSX refuse such a value: amount-too-precise).
    digits = f"{abs(cents) // 100}.{abs(cents) % 100:02d}" + "5" + "0" * (extra - 3)
    text = ("-" if cents < 0 else "") + digits
    expected = int((Decimal(text) * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    got, bad = parse_xs_decimal(pd.Series([text], dtype="string"))
    assert not bad.any() and int(got.iloc[0]) == expected


# --- readers: lines in = lines out, totals = Decimal sums of the raw text ---------------------------------


def _validate(path):
    from budgetclimat.read import read_budget

    return read_budget(path)


@SLOW
@given(st.data())
def test_totem_lines_in_equal_lines_out(tmp_path_factory, data):
    t = totem()
    picks = data.draw(st.lists(st.integers(0, len(t.blocks) - 1), min_size=1, max_size=40, unique=True))
    blocks = [t.blocks[i] for i in sorted(picks)]
    path = tmp_path_factory.mktemp("totem") / "ca.xml"
    path.write_bytes(t.bytes(blocks=blocks))
    doc = _validate(path)
    assert len(doc.lines) == len(blocks)
    # Independent sum: the MtReal values of the chosen blocks, as written.
    import re

    expected = sum(int(Decimal(m.group(1)) * 100) for b in blocks for m in [re.search(r'<MtReal V="([^"]*)"', b)] if m)
    assert int(doc.lines["amount_cents"].sum()) == expected


@SLOW
@given(st.data())
def test_csv_lines_in_equal_lines_out(tmp_path_factory, data):
    header, rows = cedi()
    picks = sorted(data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=60, unique=True)))
    chosen = [rows[i] for i in picks]
    path = tmp_path_factory.mktemp("cedi") / "ca.csv"
    path.write_bytes(write_csv(header, chosen))
    doc = _validate(path)
    assert len(doc.lines) == len(chosen)
    amount = CEDI_HEADER.index("Montant")
    assert int(doc.lines["amount_cents"].sum()) == sum(int(Decimal(r[amount]) * 100) for r in chosen)
    assert sorted(doc.lines["source_row"].astype(int)) == [i + 2 for i in range(len(chosen))]


# --- the engine: pieces, class totals, order ----------------------------------------------------------


@lru_cache(maxsize=1)
def _montpellier_lines() -> pd.DataFrame:
    from budgetclimat.read import read_budget

    from mutate import TOTEM_FILE

    return read_budget(TOTEM_FILE).lines


@lru_cache(maxsize=1)
def _rules():
    from budgetclimat.pipeline import resolve_ruleset

    return resolve_ruleset(None)


def _run(lines: pd.DataFrame):
    from budgetclimat.pipeline import run_lines

    return run_lines(lines, _rules())


sample_of_lines = st.lists(st.integers(0, 1696), min_size=5, max_size=120, unique=True)


@SLOW
@given(sample_of_lines, st.randoms(use_true_random=False))
def test_engine_pieces_sum_to_lines_totals_add_up_and_order_does_not_matter(picks, rnd):
    lines = _montpellier_lines().iloc[sorted(picks)].reset_index(drop=True)
    result = _run(lines)
    register = result.register
    amounts = lines.set_index("line_id")["amount_cents"].astype("int64")
    axes = sorted(register["axis"].unique())
    assert axes, "at least one axis"
    for axis in axes:
        on_axis = register[register["axis"] == axis]
        # Every line on every axis, and its pieces sum to it exactly.
        pieces = on_axis.groupby("line_id")["amount_share_cents"].sum().astype("int64")
        assert set(pieces.index) == set(amounts.index)
        assert (pieces.sort_index() == amounts.sort_index()).all()
        # Class totals + out of scope = total of the lines.
        in_scope = on_axis[on_axis["scope"] == "in"]
        by_class = in_scope.groupby("class")["amount_share_cents"].sum()
        out = on_axis.loc[on_axis["scope"] == "out", "amount_share_cents"].sum()
        assert int(by_class.sum()) + int(out) == int(amounts.sum())
        assert set(on_axis["scope"]) <= {"in", "out"}
        assert in_scope["class"].notna().all() and set(in_scope["class"]) <= {"TF", "FSC", "N", "D", "IM", "AA"}

    # The order of the lines does not change any line's result.
    order = list(range(len(lines)))
    rnd.shuffle(order)
    shuffled = _run(lines.iloc[order].reset_index(drop=True)).register
    key = ["line_id", "axis", "piece"]
    columns = ["scope", "class", "amount_share_cents", "rule_id"]
    a = register.sort_values(key).reset_index(drop=True)[key + columns]
    b = shuffled.sort_values(key).reset_index(drop=True)[key + columns]
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_properties_use_the_real_files():
    # The strategies draw from the shipped budgets: make sure they are the ones the docs describe.
    assert len(totem(True).blocks) == 1697
    header, rows = cedi(True)
    assert header == CEDI_HEADER and len(rows) == 1251
    assert list(csv.reader(io.StringIO("a,b")))[0] == ["a", "b"]


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
