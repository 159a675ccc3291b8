"""Keys answers belong to (engine/keys.py) and answers given by key (engine/answers.match)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from budgetclimat import model
from budgetclimat.engine import classify
from budgetclimat.engine.answers import conform_answers
from budgetclimat.engine.keys import all_keys, key_values
from budgetclimat.rulebook import default_rulebooks


def _lines() -> pd.DataFrame:
    rows = [
        # nature, fonction, label, amount, operation_code
        ("60612", "020", "Énergie - Électricité", 1_000_00, None),
        ("60612", "213", "Energie - electricite", 2_500_00, None),
        ("60612", "020", "Énergie  -  ÉLECTRICITÉ", 40_00, None),
        ("2313", "324", "Constructions", 9_000_00, "OP12"),
    ]
    frame = pd.DataFrame(
        {
            "line_id": [f"2024CA-00-{i:05d}" for i in range(1, len(rows) + 1)],
            "source_file": "f.xml", "source_row": range(1, len(rows) + 1), "source_format": "totem",
            "collectivite": "Ville de Test", "siret": "21340172200017", "exercice": 2024, "doc_type": "CA",
            "budget_code": "00", "budget_kind": "principal", "nomenclature": "M57", "sens": "D", "operation": "reel",
            "section": ["F", "F", "F", "I"], "chapitre": ["011", "011", "011", "23"],
            "nature": [r[0] for r in rows], "fonction": [r[1] for r in rows], "label": [r[2] for r in rows],
            "amount_cents": [r[3] for r in rows], "operation_code": [r[4] for r in rows], "amount_basis": "executed",
        }
    )  # fmt: skip
    return model.conform(frame)


def test_key_values_by_kind():
    lines = _lines()
    assert list(key_values(lines, "entity")) == ["entity:213401722"] * 4  # SIREN: first 9 digits of the SIRET
    assert list(key_values(lines, "account_fonction")) == ["account_fonction:60612|020", "account_fonction:60612|213", "account_fonction:60612|020", "account_fonction:2313|324"]
    # the line key ignores accents, case and spaces: lines 1 and 3 are the same line next year
    line = key_values(lines, "line")
    assert line[0] == line[2] and line[0] != line[1]
    # an operation key when the line has one, else the account × fonction
    assert list(key_values(lines, "operation")) == ["account_fonction:60612|020", "account_fonction:60612|213", "account_fonction:60612|020", "operation:OP12"]
    assert list(all_keys(lines).columns) == ["entity", "account", "account_fonction", "operation", "line"]


def _attenuation(result, line_id):
    reg = result.register
    return reg[(reg["line_id"] == line_id) & (reg["axis"] == "attenuation")]["class"].tolist()


def test_answer_by_entity_key_applies_to_every_line_and_line_answer_wins():
    lines = _lines()
    answers = conform_answers(
        pd.DataFrame(
            [
                {"key": "entity:213401722", "fact": "garantie_origine_renouvelable", "value": "oui"},
                # a line answer is more specific than the collectivité's, whatever the order
                {"line_id": "2024CA-00-00002", "fact": "garantie_origine_renouvelable", "value": "non"},
                {"key": "entity:999999999", "fact": "garantie_origine_renouvelable", "value": "oui"},  # no such key
            ]
        ),
        source_file="r.csv",
    )
    out = classify(lines, default_rulebooks(), answers)
    assert _attenuation(out, "2024CA-00-00001") == ["TF"]  # cell 84
    assert _attenuation(out, "2024CA-00-00003") == ["TF"]
    assert _attenuation(out, "2024CA-00-00002") == ["N"]  # cell 85: the line's own answer
    stale = out.findings[out.findings["code"] == "answer-stale"]
    assert list(stale["value"]) == ["entity:999999999"] and list(stale["row"]) == [4]


def test_account_fonction_key_beats_entity_key():
    lines = _lines()
    answers = conform_answers(
        pd.DataFrame(
            [
                {"key": "account_fonction:60612|213", "fact": "garantie_origine_renouvelable", "value": "non"},
                {"key": "entity:213401722", "fact": "garantie_origine_renouvelable", "value": "oui"},
            ]
        )
    )
    out = classify(lines, default_rulebooks(), answers)
    assert [_attenuation(out, f"2024CA-00-0000{i}") for i in (1, 2, 3)] == [["TF"], ["N"], ["TF"]]
    # euros reconcile: every line's pieces sum to its amount
    reg = out.register[out.register["axis"] == "attenuation"]
    assert reg.groupby("line_id")["amount_share_cents"].sum().to_dict() == dict(zip(lines["line_id"], lines["amount_cents"].astype(np.int64)))


def test_an_answer_outside_the_question_list_stops_the_run_naming_the_cell():
    import pytest

    from budgetclimat.errors import ConfigError

    lines = _lines()
    bad = conform_answers(pd.DataFrame([{"key": "entity:213401722", "fact": "garantie_origine_renouvelable", "value": "peut-être"}]), source_file="r.csv")
    with pytest.raises(ConfigError) as info:
        classify(lines, default_rulebooks(), bad)
    assert info.value.code == "answers-bad-value"
    message = info.value.message()
    assert "r.csv, ligne 2, colonne value : « peut-être »" in message and "garantie-origine" in message and "non, oui" in message


def test_a_share_answer_above_100_percent_stops_the_run():
    import pytest

    from budgetclimat.errors import ConfigError

    for value in ("140 %", "beaucoup"):
        bad = conform_answers(pd.DataFrame([{"key": "entity:213401722", "fact": "part_repas_vegetariens", "value": value}]), source_file="r.csv")
        with pytest.raises(ConfigError) as info:
            classify(_lines(), default_rulebooks(), bad)
        assert info.value.code == "answers-bad-share" and f"« {value} »" in info.value.message()
    # « 40 % », « 0,4 » and « 40 » are the same share
    for value in ("40 %", "0,4", "40"):
        ok = conform_answers(pd.DataFrame([{"key": "entity:213401722", "fact": "part_repas_vegetariens", "value": value}]))
        classify(_lines(), default_rulebooks(), ok)


def test_answers_are_compared_as_the_rules_read_them_case_and_spaces_aside():
    lines = _lines()
    answers = conform_answers(pd.DataFrame([{"key": "entity:213401722", "fact": "garantie_origine_renouvelable", "value": " Oui "}]))
    out = classify(lines, default_rulebooks(), answers)
    assert _attenuation(out, "2024CA-00-00001") == ["TF"]  # « Oui » is the answer « oui » (cell 84)
