"""The analysts' round trip: classify → workbook → services answer in the workbook → classify again with
``--answers annexe.xlsx`` → classes change as the rules say, and « Contrôles » names the lines that changed."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from test_workbook import STAMP, hand_lines

RULEBOOK = """
rulebook:
  id: rt-attenuation
  kind: classification
  title: "Atténuation (test aller-retour)"
  version: "1.0.0"
  axis: attenuation
  nomenclatures: [M57]
  staff_costs: {option: 3a}
  default: {class: N}
questions:
  motorisation:
    fact: motorisation
    text: {fr: "Quelle est la motorisation du véhicule acheté ?", en: "What powertrain?"}
    answers: [electrique, hydrogene, essence, gazole]
rules:
  - id: RT-STAFF
    when: {chapitre: "012"}
    then: {staff_costs: true}
    rationale: "frais de personnel, option 3a"
    cases:
      - given: {chapitre: "012", nature: "64111"}
        expect: {staff_costs: true}
  - id: RT-VEH-ELEC
    when: {nature: {prefix: ["2182"]}, fact: {motorisation: [electrique, hydrogene]}}
    then: {class: TF}
    rationale: "véhicule électrique"
    cases:
      - given: {nature: "21828", section: I}
        facts: {motorisation: electrique}
        expect: {class: TF}
  - id: RT-VEH-THERM
    when: {nature: {prefix: ["2182"]}, fact: {motorisation: [essence, gazole]}}
    then: {class: D}
    rationale: "véhicule thermique"
    cases:
      - given: {nature: "21828", section: I}
        facts: {motorisation: gazole}
        expect: {class: D}
  - id: RT-VEH-AA
    when: {nature: {prefix: ["2182"]}}
    then: {class: AA, question: motorisation}
    rationale: "motorisation inconnue"
    cases:
      - given: {nature: "21828", section: I}
        expect: {class: AA, question: motorisation}
  - id: RT-ETUDES
    when: {nature: "2031"}
    then: {class: IM}
    rationale: "études : indéfini"
    cases:
      - given: {nature: "2031", section: I}
        expect: {class: IM}
"""

VEHICLE = "2024CA-00-00001"
STUDIES = "2024CA-00-00003"
VEHICLE_KEY = "line:21828|810|achatvehiculesutilitaires"
STUDIES_KEY = 'line:2031|020|=hyperlink("http://x","y")'


@pytest.fixture
def rulebooks(tmp_path) -> list[Path]:
    from budgetclimat.paths import rules_dir

    path = tmp_path / "rt-attenuation.yaml"
    path.write_text(RULEBOOK, encoding="utf-8")
    return [rules_dir() / "scope" / "default.yaml", path]


def _classes(result) -> dict[str, str]:
    reg = result.register[result.register["axis"] == "attenuation"]
    return dict(zip(reg["line_id"], reg["class"].astype("string").fillna("out")))


def _fill(path: Path, out: Path) -> None:
    """What a service and an analyst do in a spreadsheet: pick an answer, type an override and a comment."""
    wb = openpyxl.load_workbook(path)
    work = wb["À approfondir"]
    header = [c.value for c in work[4]]
    row = next(r for r in work.iter_rows(min_row=5) if r[header.index("Clé (technique)")].value == VEHICLE_KEY)
    assert row[header.index("Question")].value == "Quelle est la motorisation du véhicule acheté ?"
    assert row[header.index("Fait")].value == "motorisation"
    assert row[header.index("Porte sur")].value == "ligne « Achat véhicules utilitaires » (compte 21828, fonction 810)"
    row[header.index("Réponse")].value = "electrique"
    row[header.index("Auteur")].value = "Service parc auto"
    lines = wb["Lignes"]
    header = [c.value for c in lines[4]]
    row = next(r for r in lines.iter_rows(min_row=5) if r[0].value == STUDIES)
    row[header.index("Axe (surcharge)")].value = "Atténuation"
    row[header.index("Classe (surcharge)")].value = "FSC 60 % + N 40 %"
    row[header.index("Commentaire")].value = "étude de rénovation énergétique"
    row[header.index("Auteur")].value = "Direction des finances"
    wb.save(out)


def test_answers_typed_in_the_workbook_reclassify_and_are_listed(tmp_path, rulebooks):
    from budgetclimat.export.workbook import read_previous_classes, read_workbook_answers, write_workbook
    from budgetclimat.pipeline import resolve_answers, run_lines

    lines = hand_lines()
    first = run_lines(lines, rulebooks)
    assert _classes(first)[VEHICLE] == "AA" and _classes(first)[STUDIES] == "IM"
    round1 = write_workbook(first, tmp_path / "annexe.xlsx", timestamp=STAMP)

    filled = tmp_path / "annexe-remplie.xlsx"
    _fill(round1, filled)
    answers = read_workbook_answers(filled)
    assert set(answers["fact"].dropna()) == {"motorisation"}
    # answers are read back by key (the question's key, the line key for what is typed in « Lignes »)
    assert answers.loc[answers["fact"] == "motorisation", ["key", "value"]].values.tolist() == [[VEHICLE_KEY, "electrique"]]
    overrides = answers[answers["class"].notna()]
    assert overrides[["key", "axis", "class", "share"]].values.tolist() == [
        [STUDIES_KEY, "attenuation", "FSC", "0.6"], [STUDIES_KEY, "attenuation", "N", "0.4"]]
    assert answers["line_id"].isna().all()
    assert pd.api.types.is_string_dtype(answers["key"])

    second = run_lines(lines, rulebooks, resolve_answers(filled))  # what `classify --answers annexe-remplie.xlsx` does
    classes = second.register[second.register["axis"] == "attenuation"]
    assert classes.loc[classes["line_id"] == VEHICLE, "class"].tolist() == ["TF"]  # the rule for electric vehicles
    studies = classes[classes["line_id"] == STUDIES].sort_values("piece")
    assert studies["class"].tolist() == ["FSC", "N"]
    assert studies["amount_share_cents"].sum() == 50_000_00

    previous = read_previous_classes(filled)
    round2 = write_workbook(second, tmp_path / "annexe-2.xlsx", timestamp=STAMP, previous=previous)
    rows = list(openpyxl.load_workbook(round2)["Contrôles"].iter_rows(values_only=True))
    changes = {(r[0], r[2], r[3]) for r in rows if r[0] in (VEHICLE, STUDIES)}
    assert changes == {(VEHICLE, "AA", "TF"), (STUDIES, "IM", "FSC 60 % + N 40 %")}
    # the third change is the staff line: option 3a allocates it pro rata of the other lines, which moved
    staff = [r for r in rows if r[0] == "2024CA-00-00005"]
    assert len(staff) == 1 and "TF" in staff[0][3]
    title = next(r[0] for r in rows if r[0] and str(r[0]).startswith("Changements"))
    assert title == "Changements depuis l'exécution précédente (3)"

    # Third round with nothing typed: the answers given before are kept (hidden copy), classes stay.
    third = run_lines(lines, rulebooks, resolve_answers(round2))
    assert _classes(third) == _classes(second)
    kept = read_workbook_answers(round2)
    assert "electrique" in kept["value"].dropna().tolist()
    assert "Direction des finances" in kept["author"].dropna().tolist()


def test_worklist_lists_aa_lines_by_amount_with_a_drop_down(tmp_path, rulebooks):
    from budgetclimat.export.workbook import write_workbook
    from budgetclimat.pipeline import run_lines

    lines = hand_lines()
    extra = lines.iloc[[0]].copy()
    extra["line_id"] = "2024CA-00-00099"
    extra["amount_cents"] = 99_000_000_00
    result = run_lines(pd.concat([lines, extra], ignore_index=True), rulebooks)
    wb = openpyxl.load_workbook(write_workbook(result, tmp_path / "a.xlsx", timestamp=STAMP))
    work = wb["À approfondir"]
    header = [c.value for c in work[4]]
    rows = list(work.iter_rows(min_row=5, values_only=True))
    # the two vehicle lines share their line key: one question, two lines, their euros added up
    assert len(rows) == 1
    assert rows[0][header.index("Lignes")] == 2
    assert rows[0][header.index("Euros en jeu")] == (99_000_000_00 + 12_345_67) / 100
    assert work["A2"].value == "Répondre à la première question décide 100 % des euros à approfondir."
    lists = wb["_listes"]
    column = next(c for c in lists[1] if c.value == "q:motorisation").column_letter
    assert [c.value for c in lists[column][1:] if c.value] == ["electrique", "hydrogene", "essence", "gazole"]
    dv = next(dv for dv in work.data_validations.dataValidation if dv.type == "list")
    assert "J5" in str(dv.sqref) and dv.formula1.startswith("'_listes'!")


def test_english_workbook_round_trips_too(tmp_path, rulebooks):
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import run_lines

    result = run_lines(hand_lines(), rulebooks)
    path = write_workbook(result, tmp_path / "a.xlsx", timestamp=STAMP, lang="en")
    wb = openpyxl.load_workbook(path)
    lines = wb["Lines"]
    header = [c.value for c in lines[4]]
    row = next(r for r in lines.iter_rows(min_row=5) if r[0].value == STUDIES)
    row[header.index("Axis (override)")].value = "Mitigation"
    row[header.index("Class (override)")].value = "d"
    wb.save(path)
    answers = read_workbook_answers(path)
    assert answers[["key", "axis", "class"]].values.tolist() == [[STUDIES_KEY, "attenuation", "D"]]


def test_cli_classify_writes_the_workbook_and_reads_it_back(tmp_path, rulebooks):
    source = Path(__file__).parent / "data" / "montpellier-ca-2018-m57.xml"
    out = tmp_path / "annexe.xlsx"
    rules = [a for p in rulebooks for a in ("--rules", p)]
    result = _run_cli(["classify", str(source), *map(str, rules), "-o", str(out)])
    assert out.is_file(), result
    wb = openpyxl.load_workbook(out)
    assert "Annexe légale" in wb.sheetnames
    again = tmp_path / "annexe-2.xlsx"
    result = _run_cli(["classify", str(source), *map(str, rules), "--answers", str(out), "-o", str(again)])
    rows = list(openpyxl.load_workbook(again)["Contrôles"].iter_rows(values_only=True))
    assert any(r[0] == "Changements depuis l'exécution précédente (0)" for r in rows), result


def _run_cli(args: list[str]) -> str:
    from click.testing import CliRunner

    from budgetclimat.cli import run

    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code = run(args)
        text = out.getvalue().decode() + err.getvalue().decode()
    assert code in (0, 1), text
    assert "Traceback" not in text
    return text
