"""Weighted green budget: exact weighted amounts, combination rules, presets, class mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from budgetclimat.engine.match import first_match
from budgetclimat.errors import ConfigError
from budgetclimat.paths import rules_dir
from budgetclimat.rulebook import load_rulebook
from budgetclimat.rulebook.kinds import weight_to_bp
from budgetclimat.views.evaluate import apply_weights, weights_preset
from budgetclimat.views.weighted import weighted_view, weights_from_classes

LINES = pd.DataFrame({"line_id": ["a", "b", "c"], "amount_cents": [101, 101, 1000]})
WEIGHTS = pd.DataFrame({
    "line_id": ["a", "b", "b", "c"],
    "objective": ["attenuation", "attenuation", "eau", "eau"],
    "weight_bp": [4000, 4000, 10000, 3333],
})


def test_weighted_amounts_are_exact_and_lines_sum_to_total():
    result = weighted_view(LINES, WEIGHTS)
    totals = result.totals.set_index("objective")
    # attenuation: 0.4 × 1.01 € twice = 0.808 € -> 81 cents; lines 41 + 40 (largest remainder, ties by order)
    assert totals.loc["attenuation", "weighted_cents"] == 81
    assert result.lines["weighted_attenuation_cents"].tolist() == [41, 40, 0]
    # eau: 1.01 € + 0.3333 × 10 € = 4.343 € -> 434 cents
    assert totals.loc["eau", "weighted_cents"] == 434
    for objective in result.objectives:
        assert result.lines[f"weighted_{objective}_cents"].sum() == totals.loc[objective, "weighted_cents"]
    assert result.base_cents == 1202
    assert totals.loc["eau", "share"] == pytest.approx(434 / 1202)


def test_combined_share_max_by_default():
    result = weighted_view(LINES, WEIGHTS)
    # per line max weight: a 0.4, b 1.0, c 0.3333 -> 40.4 + 101 + 333.3 = 474.7 -> 475 cents
    assert result.combine == "max" and not result.double_counting
    assert result.combined_cents == 475
    assert result.lines["weight_combined"].tolist() == pytest.approx([0.4, 1.0, 0.3333])


def test_combined_sum_is_labelled_double_counting():
    result = weighted_view(LINES, WEIGHTS, combine="sum")
    # 40.4 + (40.4 + 101) + 333.3 = 515.1 -> 515 cents
    assert result.combined_cents == 515
    assert result.double_counting
    summary = result.summary("en")
    assert summary["combined"]["double_counting"] is True
    assert "DOUBLE COUNTING" in summary["combined"]["label"]


def test_per_objective_totals_are_never_summed_silently():
    summary = weighted_view(LINES, WEIGHTS).summary("fr")
    assert "total" not in summary and "weighted_cents" not in summary
    assert summary["combined"]["rule"] == "max"


def test_bad_combine_rule_is_refused():
    with pytest.raises(ConfigError):
        weighted_view(LINES, WEIGHTS, combine="mean")


def test_weights_from_numbers_percentages_and_scale():
    assert weight_to_bp(0.4) == 4000
    assert weight_to_bp("40 %") == 4000
    assert weight_to_bp("significant", scale={"significant": 0.4}) == 4000
    with pytest.raises(ConfigError):
        weight_to_bp(1.2)


def test_weights_from_classes_with_split_pieces():
    # One line of 100.00 € split 30 % TF / 70 % N on attenuation; another FSC on biodiversity.
    register = pd.DataFrame({
        "line_id": ["x", "x", "y"], "axis": ["attenuation", "attenuation", "biodiversite"],
        "class": ["TF", "N", "FSC"], "amount_share_cents": [3000, 7000, 5000],
    })
    lines = pd.DataFrame({"line_id": ["x", "y"], "amount_cents": [10000, 5000]})
    mapping = weights_preset(load_rulebook(rules_dir() / "weights" / "i4ce-classes.yaml")).from_classes
    result = weighted_view(lines, weights_from_classes(register, mapping))
    totals = result.totals.set_index("objective")["weighted_cents"]
    assert totals["attenuation"] == 3000  # 30 € × 1.0 + 70 € × 0
    assert totals["biodiversite"] == 2000  # 50 € × 0.4
    assert result.lines.set_index("line_id").loc["x", "weight_attenuation"] == pytest.approx(0.3)


@pytest.mark.parametrize("name", ["i4ce-classes.yaml", "rio-markers-eu.yaml", "eu-climat-2021-2027.yaml"])
def test_every_case_of_the_shipped_weights_rulebooks(name):
    from budgetclimat.engine.cases import case_line

    rulebook = load_rulebook(rules_dir() / "weights" / name)
    weights_preset(rulebook)
    for rule in rulebook.rules:
        assert rule.cases
        for case in rule.cases:
            assert first_match(rulebook, case_line(rulebook, case)).iloc[0] == case.expect["rule"], (rule.id, case.line)


def test_presets_carry_their_source_weights():
    rio = weights_preset(load_rulebook(rules_dir() / "weights" / "rio-markers-eu.yaml"))
    assert rio.rule_weights["RIO-ENR"] == {"attenuation": 10000}
    assert rio.rule_weights["RIO-RESEAUX-CHALEUR"] == {"attenuation": 4000}
    eu = weights_preset(load_rulebook(rules_dir() / "weights" / "eu-climat-2021-2027.yaml"))
    assert "climat" in eu.objectives  # user-defined objective
    i4ce = weights_preset(load_rulebook(rules_dir() / "weights" / "i4ce-classes.yaml"))
    assert i4ce.from_classes == {"TF": 10000, "FSC": 4000, "N": 0, "D": 0, "IM": 0, "AA": 0}


def test_unknown_objective_and_bad_weight_are_refused(tmp_path: Path):
    path = tmp_path / "w.yaml"
    path.write_text("rulebook: {id: w, kind: weights}\nrules:\n  - id: W1\n    when: {nature: '611'}\n    then: {weights: {mobilite: 1}}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        weights_preset(load_rulebook(path))
    assert exc.value.params["value"] == "mobilite"
    path.write_text("rulebook: {id: w, kind: weights}\nrules:\n  - id: W1\n    when: {nature: '611'}\n    then: {weights: {eau: 1.5}}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rulebook(path)
    assert exc.value.params["line"] == 5


def test_apply_rules_then_classes_for_unmatched_lines(tmp_path: Path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "rulebook:\n  id: w\n  kind: weights\n  from_classes: {TF: 1, FSC: 0.4}\n  objectives: {mobilite: {fr: Mobilité}}\n"
        "rules:\n  - id: W1\n    when: {nature: {prefix: ['2182']}}\n    then: {weights: {mobilite: 1, attenuation: 0.4}}\n",
        encoding="utf-8",
    )
    lines = pd.DataFrame({"line_id": ["v", "s"], "nature": ["21828", "2313"], "amount_cents": [1000, 2000]})
    register = pd.DataFrame({"line_id": ["v", "s"], "axis": ["attenuation"] * 2, "class": ["D", "TF"], "amount_share_cents": [1000, 2000]})
    result, rule = apply_weights(lines, load_rulebook(path), register)
    totals = result.totals.set_index("objective")["weighted_cents"]
    assert rule.tolist()[0] == "W1" and pd.isna(rule.tolist()[1])
    assert totals["mobilite"] == 1000
    assert totals["attenuation"] == 400 + 2000  # rule on v (0.4), class TF on s (1.0); v's class D is not used
