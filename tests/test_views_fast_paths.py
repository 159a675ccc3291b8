"""The views' hash-lookup paths (issue 12) give what the general pandas paths give.

Each case is computed here independently (Python sets and dicts, Decimal-free integer arithmetic done by
hand) and compared with the vectorised helpers: ``isin_mask`` (Arrow ``is_in``), ``per_distinct``
(factorise + take), the weighted numerators on integer codes (``np.add.at``), the carbon view without
merge when the mapping is in the lines' order, and ``register_columns`` by ``get_indexer``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from budgetclimat.views.base import in_scope_lines, isin_mask, per_distinct
from budgetclimat.views import carbon as carbon_mod
from budgetclimat.views.carbon import carbon_view, default_settings
from budgetclimat.views.weighted import weighted_view


@pytest.mark.parametrize("dtype", ["string", object])
def test_isin_mask_is_membership_with_missing_values(dtype):
    values = pd.Series(["a", "b", None, "c", "a", "é"], dtype=dtype)
    cases = [["b", None], ["c"], [], ["é", "zz"], ["a", "a"]]
    for among in cases:
        expected = [v in set(among) if v is not None else None in among for v in values.astype(object).where(values.notna(), None)]
        got = isin_mask(values, pd.Series(among, dtype=dtype))
        assert got.tolist() == expected, among
        assert got.dtype == bool and len(got) == len(values)
    assert isin_mask(pd.Series([], dtype=dtype), pd.Series(["a"], dtype=dtype)).tolist() == []


def test_per_distinct_equals_the_elementwise_function():
    values = pd.Series(["r1", None, "r2", "r1", "r3", None], dtype="string", index=[10, 11, 12, 13, 14, 15], name="rule")
    table = {"r1": "construction", "r2": None}
    got = per_distinct(values, lambda s: s.map(table).astype("string"))
    assert got.tolist() == ["construction", pd.NA, pd.NA, "construction", pd.NA, pd.NA]
    assert got.dtype == "string" and list(got.index) == [10, 11, 12, 13, 14, 15]
    floats = per_distinct(values, lambda s: s.map({"r1": 1.5, "r3": 2.0}).astype("float64").fillna(0.0))
    assert floats.tolist() == [1.5, 0.0, 0.0, 1.5, 2.0, 0.0] and floats.dtype == "float64"
    assert per_distinct(pd.Series([], dtype="string"), lambda s: s.map(table).astype("string")).tolist() == []


def test_in_scope_lines_by_hash_lookup():
    lines = pd.DataFrame({"line_id": pd.Series(["a", "b", "c", "d"], dtype="string")})
    register = pd.DataFrame({
        "line_id": ["a", "a", "b", "c", "c", "d"],
        "scope": ["out", "out", "out", "in", "out", "in"],
        "rule_id": ["S1", "S1", None, "R", "S2", "R"],  # b: out for want of a rulebook (no rule): stays in scope
    })
    assert in_scope_lines(lines, register).tolist() == [False, True, False, True]


def test_weighted_numerators_with_pieces_missing_amounts_and_strangers():
    lines = pd.DataFrame({"line_id": ["a", "b", "c", "d"], "amount_cents": [1000, -333, 7, 0]})
    weights = pd.DataFrame({
        "line_id": ["a", "a", "b", "zz", "c", "c", "d", "a"],
        "objective": ["attenuation", "attenuation", "eau", "eau", "unknown", "adaptation", "eau", "eau"],
        "weight_bp": [10000, 4000, 3333, 10000, 10000, 10000, 5000, 2500],
        "amount_cents": [600, 400, None, 5, 7, None, None, None],  # pieces of a; None: the line's amount
    })
    result = weighted_view(lines, weights)
    by_line = result.lines.set_index("line_id")
    # exact numerators by hand: a/attenuation 600×10000 + 400×4000; b/eau -333×3333; c/adaptation 7×10000;
    # a/eau 1000×2500; d/eau 0; zz (not a line) and "unknown" (not an objective) left out
    expected = {("a", "attenuation"): 7_600_000, ("b", "eau"): -1_109_889, ("c", "adaptation"): 70_000, ("a", "eau"): 2_500_000}
    sums = dict(zip(result.sums.objectives, result.sums.weighted_num, strict=True))
    assert sums["attenuation"] == 7_600_000
    assert sums["eau"] == -1_109_889 + 2_500_000
    assert sums["adaptation"] == 70_000
    assert result.sums.lines_weighted == tuple(sum(1 for (_, o) in expected if o == obj) for obj in result.sums.objectives)
    assert by_line.loc["a", "weight_attenuation"] == pytest.approx(0.76)
    assert by_line.loc["b", "weight_eau"] == pytest.approx(0.3333)
    assert by_line.loc["d", "weight_eau"] == 0.0
    # cents per line: floors of numerator / 10 000, the total's cents (139.0111 -> 139) by largest remainder
    assert by_line["weighted_eau_cents"].tolist() == [250, -111, 0, 0]
    assert by_line["weighted_attenuation_cents"].tolist() == [760, 0, 0, 0]
    assert by_line["weighted_adaptation_cents"].tolist() == [0, 0, 7, 0]


def test_weighted_register_columns_by_lookup():
    lines = pd.DataFrame({"line_id": ["a", "b"], "amount_cents": [100, 200]})
    weights = pd.DataFrame({"line_id": ["a", "b"], "objective": ["attenuation", "eau"], "weight_bp": [5000, 10000]})
    result = weighted_view(lines, weights)
    ids = pd.Series(["b", "x", "a"], dtype="string", index=[7, 8, 9])
    columns = result.register_columns(ids)
    assert columns["weight_attenuation"].tolist() == [0.0, pd.NA, 0.5]
    assert columns["weight_eau"].tolist() == [1.0, pd.NA, 0.0]
    assert columns["weight_eau"].dtype == "Float64" and list(columns["weight_eau"].index) == [7, 8, 9]


def test_carbon_view_without_merge_equals_the_merged_one():
    settings = default_settings()
    category = sorted(settings.categories)[0]
    lines = pd.DataFrame({
        "line_id": pd.Series(["l1", "l2", "l3", "l4"], dtype="string"),
        "exercice": pd.Series([2023, 2023, 2024, 2023], dtype="Int64"),
        "nature": pd.Series(["2313", "6064", "611", "6411"], dtype="string"),
        "amount_cents": np.array([100_000_00, 2_500_00, -40_00, 9_00], dtype="int64"),
    })
    mapping = pd.DataFrame({
        "line_id": lines["line_id"].to_numpy(),  # object, in the lines' order: the fast path
        "carbon_category": [category, category, category, None],
        "carbon_exclusion": [None, None, None, "staff"],
        "carbon_rule": ["R1", "R1", "R2", "R3"],
    })
    for dtype in ("string", "str", object):
        mapping["line_id"] = pd.Series(lines["line_id"].to_numpy(dtype=object), dtype=dtype)
        assert carbon_mod._aligned(lines["line_id"], mapping["line_id"])
        fast = carbon_view(lines, mapping, settings)
        shuffled = carbon_view(lines, mapping.iloc[[3, 1, 0, 2]].reset_index(drop=True), settings)  # not aligned: the merge
        assert not carbon_mod._aligned(lines["line_id"], mapping.iloc[[3, 1, 0, 2]]["line_id"])
        assert fast.lines.equals(shuffled.lines)
        assert [str(d) for d in fast.lines.dtypes] == [str(d) for d in shuffled.lines.dtypes]
    assert fast.sums.gco2e == shuffled.sums.gco2e == int(fast.lines["gco2e"].sum())
    assert fast.lines["carbon_method"].tolist() == ["spend", "spend", "spend", "excluded"]
    assert fast.lines["carbon_exclusion"].tolist()[3] == "staff"


def test_rule_weights_are_the_inner_merge_on_rule_ids():
    from budgetclimat.views.evaluate import _rule_weights

    rng = np.random.default_rng(12)
    for _ in range(100):
        rules = [f"R{i}" for i in range(int(rng.integers(0, 5)))]
        rows = [(r, o, int(rng.integers(0, 10_000))) for r in rules for o in rng.choice(["a", "b", "c"], size=rng.integers(0, 3), replace=False)]
        rng.shuffle(rows)
        table = pd.DataFrame(rows, columns=["rule_id", "objective", "weight_bp"])
        n = int(rng.integers(0, 30))
        rule = pd.Series(rng.choice(rules + ["X", None], size=n) if n else [], dtype="string")
        ids = pd.Series([f"L{i}" for i in range(n)], dtype="string")
        # the oracle: each line's rule's rows, lines in order, a rule's rows in table order
        expected = [(i, o, bp) for i, r in zip(ids, rule.astype(object), strict=True) if r is not pd.NA
                    for (rid, o, bp) in rows if rid == r]
        got = _rule_weights(ids, rule, table)
        assert list(zip(got["line_id"], got["objective"], got["weight_bp"], strict=True)) == expected


def test_carbon_rules_with_labels_normalised_late_are_first_match():
    """The carbon rulebook tried in two passes (rules before the first label rule, then all rules on the
    lines left) gives ``first_match``'s rule on every line: on Montpellier's lines and on hand-made lines
    that reach the label rule (6042 with and without a catering word) and rules after it."""
    from pathlib import Path

    from budgetclimat.engine.match import first_match
    from budgetclimat.model import conform
    from budgetclimat.paths import rules_dir
    from budgetclimat.read import read_budgets
    from budgetclimat.rulebook import load_rulebook
    from budgetclimat.views.evaluate import _first_match_label_late

    rb = load_rulebook(rules_dir() / "carbon" / "m57-m14-ademe-2023.yaml")
    root = Path(__file__).resolve().parents[1]
    real = conform(pd.concat([d.lines for d in read_budgets([root / "examples" / "montpellier-ca-2018-m57.xml"])], ignore_index=True))
    made = real.iloc[[0] * 6].reset_index(drop=True).copy()
    made["sens"], made["operation"], made["chapitre"] = "D", "reel", "011"
    made["nature"] = pd.Series(["6042", "6042", "6042", "6042", "6064", "64111"], dtype="string")
    made["label"] = pd.Series(["Achat de REPAS scolaires", "Prestations de services", None, "Cantine  centrale", "Papier", "Salaires"], dtype="string")
    made["line_id"] = pd.Series([f"made-{i}" for i in range(6)], dtype="string")
    for lines in (real, made, pd.concat([made, real], ignore_index=True)):
        expected = first_match(rb, lines)
        got = _first_match_label_late(rb, lines, None)
        assert got.equals(expected) and got.dtype == expected.dtype
    decided = _first_match_label_late(rb, made, None).tolist()
    assert decided[0] == decided[3] == "CARB-RESTAURATION"  # the label rule, reached in the second pass
    assert decided[1] == decided[2] == "CARB-PRESTATIONS"  # 6042 without a catering word (or label): a rule after it
    assert decided[4] == "CARB-FOURNITURES-PAPIER" and decided[5] == "CARB-PERSONNEL"  # after the label rule; first pass
    assert len(set(_first_match_label_late(rb, real, None).dropna())) > 5  # non-vacuous: many rules decide


def test_index_in_is_get_indexer():
    from budgetclimat.views.base import index_in

    values = pd.Series(["b", "x", None, "a", "b", "é"], dtype="string")
    for among in (["a", "b", None], ["a", "b"], ["é"], []):
        for dtype in ("string", "str"):
            positions = {v: i for i, v in enumerate(among)}
            expected = [positions.get(None if v is pd.NA else v, -1) for v in values]
            assert index_in(values, pd.Series(among, dtype=dtype)).tolist() == expected
