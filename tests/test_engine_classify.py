"""The engine on hand-built frames: precedence, splits to the cent, facts, answers, overrides, staff costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from budgetclimat import model
from budgetclimat.engine import classify, explain
from budgetclimat.engine.answers import conform_answers
from budgetclimat.errors import ConfigError
from budgetclimat.rulebook import load_rulebooks

FIXTURES = Path(__file__).parent / "fixtures" / "rulebooks"
DEFAULTS = {
    "source_file": "test.csv", "source_row": 2, "source_format": "test", "exercice": 2024, "doc_type": "CA",
    "budget_code": "00", "budget_kind": "principal", "nomenclature": "M57", "section": "F", "sens": "D",
    "operation": "reel", "amount_basis": "executed",
}  # fmt: skip


def make_lines(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**DEFAULTS, **row} for row in rows])
    if "line_id" not in frame:
        frame["line_id"] = [f"L{i}" for i in range(len(frame))]
    return model.conform(frame)


@pytest.fixture(scope="module")
def ruleset():
    return load_rulebooks([FIXTURES / "scope.yaml", FIXTURES / "attenuation.yaml"])


def rows_of(register: pd.DataFrame, line_id: str) -> list[tuple]:
    r = register[register["line_id"] == line_id]
    return list(zip(r["class"], r["amount_share_cents"]))


def check_invariant(lines: pd.DataFrame, register: pd.DataFrame, axes: list[str]) -> None:
    for axis in axes:
        reg = register[register["axis"] == axis]
        assert set(reg["line_id"]) == set(lines["line_id"])
        sums = reg.groupby("line_id")["amount_share_cents"].sum()
        expected = lines.set_index("line_id")["amount_cents"]
        assert (sums.reindex(expected.index) == expected).all()
        out = reg[reg["scope"] == "out"]
        assert out["class"].isna().all() and out["scope_reason"].notna().all()
        assert reg[reg["scope"] == "in"]["class"].notna().all()


def test_first_match_and_scope(ruleset):
    lines = make_lines(
        {"nature": "21828", "section": "I", "label": "Véhicule ÉLECTRIQUE", "amount_cents": 1000},
        {"nature": "21828", "section": "I", "label": "Camion benne", "amount_cents": 1000},
        {"nature": "6811", "operation": "ordre", "ordre_kind": "section", "amount_cents": 700},
        {"nature": "1641", "section": "I", "amount_cents": 500},
        {"nature": "1675", "section": "I", "amount_cents": 500},
    )
    reg = classify(lines, ruleset).register
    first = reg.set_index("line_id")
    assert first.loc["L0", "rule_id"] == "ATT-VEH-ELEC" and first.loc["L0", "class"] == "TF"
    assert first.loc["L1", "rule_id"] == "ATT-VEH-AA" and first.loc["L1", "question_id"] == "motorisation"
    assert first.loc["L1", "allowed_answers"] == "electrique | hydrogene | essence | gazole"
    assert first.loc["L2", "scope"] == "out" and first.loc["L2", "scope_reason"] == "opération d'ordre"
    assert first.loc["L3", "rule_id"] == "SCOPE-DETTE"
    # SCOPE-PPP-INVEST keeps 1675 in scope although SCOPE-DETTE (prefix 16) comes later.
    assert first.loc["L4", "scope"] == "in" and first.loc["L4", "rule_id"] == "DEFAULT"
    check_invariant(lines, reg, ["attenuation"])


def test_nomenclature_not_covered_is_out_of_scope_not_dropped(ruleset):
    lines = make_lines({"nature": "6064", "nomenclature": "M52", "amount_cents": 123})
    reg = classify(lines, ruleset).register
    assert len(reg) == 1
    assert reg.iloc[0]["scope"] == "out" and reg.iloc[0]["scope_reason"] == "nomenclature non couverte"


@pytest.mark.parametrize("amount, expected", [(1, [0, 1]), (-333, [-100, -233]), (10001, [3000, 7001]), (5, [2, 3]), (-1, [0, -1])])
def test_fixed_split_to_the_cent(ruleset, amount, expected):
    reg = classify(make_lines({"nature": "2313", "section": "I", "amount_cents": amount}), ruleset).register
    assert list(reg["class"]) == ["TF", "FSC"]
    assert list(reg["amount_share_cents"]) == expected
    assert list(reg["share"]) == [0.3, 0.7]


def test_invariant_on_random_amounts(ruleset):
    rng = np.random.default_rng(7)
    natures = ["2313", "2151", "21828", "6064", "64111", "1641", "60612", "7311"]
    n = 400
    lines = make_lines(
        *[
            {"nature": natures[i % len(natures)], "chapitre": "012" if natures[i % len(natures)] == "64111" else None,
             "section": "I" if natures[i % len(natures)][0] in "12" else "F", "sens": "R" if natures[i % len(natures)] == "7311" else "D",
             "amount_cents": int(rng.integers(-10**7, 10**9)), "fonction": ["020", "212", None][i % 3]}
            for i in range(n)
        ]
    )  # fmt: skip
    answers = conform_answers(pd.DataFrame({"line_id": ["L1", "L17"], "fact": ["part_modes_doux", "part_modes_doux"], "value": ["0.333", "66,7 %"]}))
    result = classify(lines, ruleset, answers)
    check_invariant(lines, result.register, ["attenuation"])


def test_fact_based_split_and_missing_fact(ruleset):
    lines = make_lines(
        {"nature": "2151", "section": "I", "amount_cents": 10001},
        {"nature": "2151", "section": "I", "amount_cents": 10001},
    )
    answers = conform_answers(pd.DataFrame({"line_id": ["L0"], "fact": ["part_modes_doux"], "value": ["30 %"]}), "a.csv")
    reg = classify(lines, ruleset, answers).register
    assert rows_of(reg, "L0") == [("TF", 3000), ("D", 7001)]
    assert set(reg.loc[reg["line_id"] == "L0", "decided_by"]) == {"answer"}
    l1 = reg[reg["line_id"] == "L1"].iloc[0]
    assert (l1["class"], l1["question_id"], l1["decided_by"]) == ("AA", "part-modes-doux", "rule")


def test_fact_condition_reruns_rules(ruleset):
    lines = make_lines({"nature": "21828", "section": "I", "label": "Achat véhicule", "amount_cents": 1000})
    answers = conform_answers(pd.DataFrame({"line_id": ["L0"], "fact": ["motorisation"], "value": ["Gazole"]}))
    reg = classify(lines, ruleset, answers).register
    assert (reg.iloc[0]["rule_id"], reg.iloc[0]["class"], reg.iloc[0]["decided_by"]) == ("ATT-VEH-THERM", "D", "answer")


def test_answers_by_key_carry_over_and_stale(ruleset):
    lines = make_lines(
        {"nature": "21828", "section": "I", "label": "Achat   véhicule électrique?", "amount_cents": 1000, "line_id": "2025CA-00-00007"},
        {"nature": "21828", "section": "I", "label": "Achat camion", "fonction": "822", "amount_cents": 1000, "line_id": "2025CA-00-00008"},
    )
    answers = conform_answers(
        pd.DataFrame(
            {
                "nature": ["21828", "21828", "21828"],
                "fonction": [None, "822", None],
                "label": ["ACHAT VEHICULE ELECTRIQUE?", "achat camion", "vieux libellé"],
                "fact": ["motorisation", "motorisation", "motorisation"],
                "value": ["electrique", "gazole", "gazole"],
            }
        ),
        "reponses-2024.csv",
    )
    result = classify(lines, ruleset, answers)
    reg = result.register.set_index("line_id")
    assert reg.loc["2025CA-00-00007", "class"] == "TF"
    assert reg.loc["2025CA-00-00008", "class"] == "D"
    stale = result.findings[result.findings["code"] == "answer-stale"]
    assert len(stale) == 1
    assert stale.iloc[0]["file"] == "reponses-2024.csv" and stale.iloc[0]["row"] == 4 and stale.iloc[0]["level"] == "warning"


def test_override_replaces_rules_output(ruleset):
    lines = make_lines(
        {"nature": "21828", "section": "I", "label": "Camion", "amount_cents": 1001},
        {"nature": "6064", "amount_cents": 999},
        {"nature": "6811", "operation": "ordre", "amount_cents": 5},
    )
    answers = conform_answers(
        pd.DataFrame(
            {
                "line_id": ["L0", "L1", "L1", "L2"],
                "class": ["fsc", "TF", "D", "TF"],
                "share": [None, "0.5", "50 %", None],
                "comment": ["vu avec le service", None, None, None],
                "author": ["AB", "CD", "CD", None],
            }
        ),
        "ans.xlsx",
    )
    result = classify(lines, ruleset, answers)
    reg = result.register
    l0 = reg[reg["line_id"] == "L0"].iloc[0]
    assert (l0["class"], l0["decided_by"], l0["comment"], l0["author"], l0["rule_id"]) == ("FSC", "override", "vu avec le service", "AB", "ATT-VEH-AA")
    assert pd.isna(l0["question_id"])
    assert rows_of(reg, "L1") == [("TF", 500), ("D", 499)]
    assert reg[reg["line_id"] == "L2"].iloc[0]["scope"] == "out"
    assert "answer-out-of-scope" in set(result.findings["code"])
    check_invariant(lines, reg, ["attenuation"])


def test_override_shares_must_sum_to_one(ruleset):
    lines = make_lines({"nature": "6064", "amount_cents": 999})
    answers = conform_answers(pd.DataFrame({"line_id": ["L0", "L0"], "class": ["TF", "D"], "share": ["0.5", "0.4"]}), "a.csv")
    with pytest.raises(ConfigError) as info:
        classify(lines, ruleset, answers)
    assert info.value.code == "answers-share-sum"


def test_bad_class_in_answers_is_a_config_error(ruleset):
    answers = conform_answers(pd.DataFrame({"line_id": ["L0"], "class": ["XX"]}), "a.csv")
    with pytest.raises(ConfigError) as info:
        classify(make_lines({"nature": "6064", "amount_cents": 1}), ruleset, answers)
    assert info.value.code == "answers-bad-class" and info.value.params["row"] == 2


def staff_lines():
    return make_lines(
        {"nature": "6064", "fonction": "020", "amount_cents": 30000},
        {"nature": "2313", "section": "I", "fonction": "212", "amount_cents": 10000},
        {"nature": "7311", "sens": "R", "fonction": "212", "amount_cents": 5000},
        {"nature": "6811", "operation": "ordre", "fonction": "212", "amount_cents": 88888},
        {"nature": "64111", "chapitre": "012", "fonction": "212", "amount_cents": 999},
        {"nature": "64111", "chapitre": "012", "fonction": "810", "amount_cents": 500},
        {"nature": "64111", "chapitre": "012", "fonction": None, "amount_cents": 100},
    )


def test_staff_costs_option_3a(ruleset):
    lines = staff_lines()
    reg = classify(lines, ruleset).register
    # Basis: in-scope expenses other than staff: N 30000, TF 3000, FSC 7000 (revenue and ordre excluded).
    # 999 × (3000, 7000, 30000) / 40000 = 74.925, 174.825, 749.25 -> floors 74 + 174 + 749 = 997;
    # 2 cents left go to the largest remainders, TF (.925) and FSC (.825): TF 75, FSC 175, N 749.
    assert rows_of(reg, "L4") == [("TF", 75), ("FSC", 175), ("N", 749)]
    # 500 × (3000, 7000, 30000) / 40000 = 37.5, 87.5, 375 -> 499, 1 left, tie .5/.5 -> first piece (TF).
    assert rows_of(reg, "L5") == [("TF", 38), ("FSC", 87), ("N", 375)]
    assert set(reg.loc[reg["line_id"].isin(["L4", "L5", "L6"]), "allocation"]) == {"3a"}
    assert set(reg.loc[reg["line_id"] == "L4", "decided_by"]) == {"staff"}
    assert list(reg.loc[reg["line_id"] == "L4", "share"].round(6)) == [0.075, 0.175, 0.75]
    check_invariant(lines, reg, ["attenuation"])


def test_staff_costs_option_3b(tmp_path, ruleset):
    text = (FIXTURES / "attenuation.yaml").read_text(encoding="utf-8").replace("{option: 3a}", "{option: 3b}")
    path = tmp_path / "att-3b.yaml"
    path.write_text(text, encoding="utf-8")
    rs = load_rulebooks([FIXTURES / "scope.yaml", path])
    lines = staff_lines()
    reg = classify(lines, rs).register
    # Fonction 212 has TF 3000 / FSC 7000: 999 -> 299.7, 699.3 -> 299 + 699 = 998, 1 left -> TF.
    assert rows_of(reg, "L4") == [("TF", 300), ("FSC", 699)]
    assert set(reg.loc[reg["line_id"] == "L4", "allocation"]) == {"3b-fonction"}
    # Fonction 810 has no other spending, L6 has no fonction: pro rata of the whole (as 3a).
    assert rows_of(reg, "L5") == [("TF", 38), ("FSC", 87), ("N", 375)]
    # 100 × (3000, 7000, 30000) / 40000 = 7.5, 17.5, 75 -> 99, 1 left -> TF.
    assert rows_of(reg, "L6") == [("TF", 8), ("FSC", 17), ("N", 75)]
    assert set(reg.loc[reg["line_id"].isin(["L5", "L6"]), "allocation"]) == {"3b-reste"}
    check_invariant(lines, reg, ["attenuation"])


def test_staff_costs_without_basis_fall_back_to_default(ruleset):
    reg = classify(make_lines({"nature": "64111", "chapitre": "012", "amount_cents": 100}), ruleset).register
    row = reg.iloc[0]
    assert (row["class"], row["question_id"], row["decided_by"], row["allocation"]) == ("AA", "nature-depense", "staff", "3a")


def test_labels_ignore_accents_and_case_and_not_keywords(ruleset):
    lines = make_lines(
        {"nature": "60612", "label": "ÉLECTRICITÉ bâtiments", "amount_cents": 10},
        {"nature": "60612", "label": "Électricité verte", "amount_cents": 10},
    )
    reg = classify(lines, ruleset).register.set_index("line_id")
    assert reg.loc["L0", "rule_id"] == "ATT-ENERGIE"
    assert reg.loc["L1", "rule_id"] == "ATT-FONCTIONNEMENT"


def test_regex_and_amount_conditions(tmp_path):
    path = tmp_path / "rb.yaml"
    path.write_text(
        """rulebook: {id: t, kind: classification, axis: biodiversite, default: {class: N}}
rules:
  - id: R-BIG
    when: {amount: {min: 8000}, label: {regex: '^plantation(s)? d.arbres'}}
    then: {class: TF}
""",
        encoding="utf-8",
    )
    rs = load_rulebooks([path])
    lines = make_lines(
        {"nature": "2121", "label": "Plantations d'ARBRES rue X", "amount_cents": 800_000},
        {"nature": "2121", "label": "Plantation d’arbres", "amount_cents": 799_999},
        {"nature": "2121", "label": "Achat de plantations d'arbres", "amount_cents": 900_000},
    )
    reg = classify(lines, rs).register
    assert list(reg["class"]) == ["TF", "N", "N"]


def test_explain(ruleset):
    lines = make_lines(
        {"nature": "2151", "section": "I", "label": "Voirie", "amount_cents": 10001},
        {"nature": "1641", "section": "I", "amount_cents": 5},
    )
    answers = conform_answers(pd.DataFrame({"line_id": ["L0"], "fact": ["part_modes_doux"], "value": ["0.3"]}))
    e = explain(lines, ruleset, "L0", answers)
    trials = e.axes[0].trials
    assert [t.rule_id for t in trials][-1] == "ATT-VOIRIE" and trials[-1].matched
    assert trials[0].rule_id == "ATT-STAFF" and not trials[0].matched and "chapitre" in trials[0].failed_condition
    assert e.facts == {"part_modes_doux": "0.3"}
    text = e.render()
    assert "ATT-VOIRIE" in text and "70,01 €" in text
    e2 = explain(lines, ruleset, "L1")
    assert e2.scope_trials[-1].rule_id == "SCOPE-DETTE" and e2.scope_trials[-1].matched
    assert "hors périmètre" in e2.render()
    with pytest.raises(ConfigError):
        explain(lines, ruleset, "NOPE")


def test_several_axes(tmp_path, ruleset):
    bio = tmp_path / "bio.yaml"
    bio.write_text(
        "rulebook: {id: bio, kind: classification, axis: biodiversite, nomenclatures: [M57], default: {class: N}}\n"
        "rules:\n  - id: BIO-1\n    when: {nature: {prefix: ['2121']}}\n    then: {class: TF}\n",
        encoding="utf-8",
    )
    rs = load_rulebooks([FIXTURES / "scope.yaml", FIXTURES / "attenuation.yaml", bio])
    lines = make_lines({"nature": "2121", "section": "I", "amount_cents": 7}, {"nature": "1641", "section": "I", "amount_cents": 3})
    reg = classify(lines, rs).register
    assert list(reg["axis"]) == ["attenuation", "attenuation", "biodiversite", "biodiversite"]
    check_invariant(lines, reg, ["attenuation", "biodiversite"])


def test_deterministic(ruleset):
    lines = staff_lines()
    a = classify(lines, ruleset).register
    b = classify(lines.sample(frac=1, random_state=3), ruleset).register
    key = ["line_id", "axis", "piece"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True), b.sort_values(key).reset_index(drop=True))


def test_an_answer_signs_only_the_rows_it_decides(ruleset):
    """The comment and author of an answer given for the whole collectivité go on the rows whose rule reads
    its fact (or whose open question asks it), not on every line it reaches (Montreuil: « cantines … » on
    all 1 461 lines); an override puts its author's reason in place of the rule's rationale."""
    lines = make_lines(
        {"nature": "21828", "section": "I", "label": "Achat véhicule", "amount_cents": 1000},  # the rule reads motorisation
        {"nature": "6064", "amount_cents": 999},  # fournitures: no motorisation here
        {"nature": "2151", "section": "I", "amount_cents": 500},  # asks part_modes_doux, not motorisation
    )
    answers = conform_answers(pd.DataFrame({
        "key": ["entity:*", None], "line_id": [None, "L1"], "fact": ["motorisation", None], "value": ["gazole", None],
        "class": [None, "TF"], "comment": ["parc de la ville", "vu avec les achats"], "author": ["P. Durand", "A. Leroy"],
    }), "a.xlsx")
    reg = classify(lines, ruleset, answers).register.set_index("line_id")
    assert (reg.loc["L0", "class"], reg.loc["L0", "comment"], reg.loc["L0", "author"]) == ("D", "parc de la ville", "P. Durand")
    assert (reg.loc["L1", "class"], reg.loc["L1", "author"]) == ("TF", "A. Leroy")  # the override's, not P. Durand's
    assert reg.loc["L1", "rationale"] == "surcharge de A. Leroy : vu avec les achats"
    assert pd.isna(reg.loc["L2", "comment"]) and pd.isna(reg.loc["L2", "author"])
