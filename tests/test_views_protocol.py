"""Views as a protocol: mergeable sums (two halves of a run's lines merged give the whole run's totals),
and a new view is one module plus one sheet (a toy view registered here shows in the JSON and the workbook)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conftest import DATA, FIXTURES, invoke  # noqa: E402

MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"


@pytest.fixture(scope="module")
def montpellier():
    from budgetclimat.pipeline import run

    return run([MONTPELLIER])


def _half(result, positions):
    """The view inputs of the lines at ``positions`` (and their register rows, facts)."""
    from budgetclimat.views.base import ViewInputs

    lines = result.lines.iloc[positions].reset_index(drop=True)
    register = result.register[result.register["line_id"].isin(lines["line_id"])]
    facts = result.facts.iloc[positions].reset_index(drop=True) if len(result.facts.columns) else None
    return ViewInputs(lines, register, result.ruleset, facts)


def test_the_sums_of_two_halves_merged_are_the_whole_runs(montpellier):
    from budgetclimat.views.builtin import compute_carbon, compute_weighted
    from budgetclimat.views.carbon import CarbonResult
    from budgetclimat.views.weighted import WeightedResult

    n = len(montpellier.lines)
    halves = [_half(montpellier, list(range(0, n, 2))), _half(montpellier, list(range(1, n, 2)))]

    whole = montpellier.views["weighted"]
    parts = [compute_weighted(h) for h in halves]
    assert all(p.sums.base_cents > 0 and p.sums.combined_num > 0 for p in parts)  # both halves carry weight
    merged = parts[0].sums + parts[1].sums
    assert merged == whole.sums
    # The base is the in-scope real expenses: computed here from the raw lines and the register's scope.
    lines = montpellier.lines
    ruled_out = montpellier.register.loc[(montpellier.register["scope"] == "out") & montpellier.register["rule_id"].notna(), "line_id"]
    base = lines[(lines["sens"] == "D") & (lines["operation"] == "reel") & ~lines["line_id"].isin(ruled_out)]
    assert merged.base_cents == sum(int(v) for v in base["amount_cents"]) and merged.lines == len(base)
    joined = WeightedResult(pd.concat([p.lines for p in parts], ignore_index=True), merged)
    assert joined.summary() == whole.summary()

    whole_c = montpellier.views["carbon"]
    parts_c = [compute_carbon(h) for h in halves]
    assert all(p.sums.gco2e > 0 for p in parts_c)
    merged_c = parts_c[0].sums + parts_c[1].sums
    assert (merged_c.lines, merged_c.gco2e, merged_c.at_low, merged_c.at_high) == (
        whole_c.sums.lines, whole_c.sums.gco2e, whole_c.sums.at_low, whole_c.sums.at_high)
    assert merged_c.gco2e == sum(int(g) for g in whole_c.lines["gco2e"])  # the lines' own grams
    for name in ("by_method", "by_category", "by_exclusion", "factors_used"):
        pd.testing.assert_frame_equal(getattr(merged_c, name), getattr(whole_c.sums, name), check_dtype=False)
    joined_c = CarbonResult(pd.concat([p.lines for p in parts_c], ignore_index=True), merged_c)
    assert joined_c.summary() == whole_c.summary()
    # Tonnes per method rendered from the merged grams: the excluded lines weigh nothing.
    by_method = joined_c.by_method.set_index("carbon_method")
    assert by_method.loc["excluded", "tco2e"] == 0
    assert Decimal(int(by_method["amount_cents"].sum())) == sum(Decimal(int(v)) for v in lines["amount_cents"])


def test_weighted_sums_of_other_objectives_do_not_merge():
    from budgetclimat.views.weighted import WeightedSums

    a = WeightedSums(("attenuation",), "max", 1, 100, (5000,), (1,), 5000)
    b = WeightedSums(("eau",), "max", 1, 100, (5000,), (1,), 5000)
    assert (a + a).weighted_cents == (1,)  # 2 × 0.5 cent = 1 cent, not 2 × round(0.5)
    with pytest.raises(ValueError):
        a + b


@dataclass
class ToyView:
    """A view per line: the count and cents of the lines it saw."""

    lines: pd.DataFrame
    sums = None

    def summary(self, lang=None) -> dict:
        return {"lines": len(self.lines), "amount_cents": int(self.lines["amount_cents"].sum())}


def _toy_sheet(ctx) -> None:
    view = ctx.prep.views.get("toy")
    ws = ctx.wb.create_sheet("Toy view")
    ws.append(["lines", len(view.lines) if view is not None else None])


def test_a_toy_view_is_one_module_and_one_sheet(tmp_path):
    import openpyxl

    from budgetclimat.export.workbook.sheets import VIEW_SHEETS, ViewSheet, register_view_sheet, unregister_view_sheet
    from budgetclimat.views.base import VIEWS, ViewSpec, register_view, unregister_view

    source = FIXTURES / "totem" / "bp-2020-m57-utf8.xml"
    register_view(ViewSpec("toy", lambda inputs: ToyView(inputs.lines[["line_id", "amount_cents"]])))
    register_view_sheet(ViewSheet("sheet-toy", ("toy",), _toy_sheet))
    try:
        invoke(["classify", source, "-o", tmp_path / "a.xlsx", "--pack", tmp_path / "p.xlsx", "--summary-json", tmp_path / "s.json"])
    finally:
        unregister_view("toy")
        unregister_view_sheet("sheet-toy")
    assert "toy" not in VIEWS and "sheet-toy" not in VIEW_SHEETS
    data = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    keys = list(data)
    assert keys.index("toy") == keys.index("carbon") + 1  # a line view: after the others, before by_year/territory
    assert data["toy"] == {"lines": data["lines"], "amount_cents": data["total_cents"]}
    for name in ("a.xlsx", "p.xlsx"):
        sheets = openpyxl.load_workbook(tmp_path / name, read_only=True).sheetnames
        assert sheets.index("Toy view") == sheets.index("Budget carbone") + 1
        rows = list(openpyxl.load_workbook(tmp_path / name, read_only=True)["Toy view"].iter_rows(values_only=True))
        assert rows == [("lines", data["lines"])]
