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
    # the staff line (option 3a: pro rata of the other lines, which moved) is not a change of its own:
    # it is counted in one summed row after the real changes
    assert not [r for r in rows if r[0] == "2024CA-00-00005"]
    title = next(r[0] for r in rows if r[0] and str(r[0]).startswith("Changements"))
    assert title == "Changements depuis l'exécution précédente (2)"
    assert any(r[0] == "1 lignes de frais de personnel réaffectées au prorata : 9\u202f876\u202f543,21 € (leur répartition suit celle des autres lignes)" for r in rows)

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
    # the drop-down shows labels (« électrique »); a label without one in the table shows the code with spaces
    assert [c.value for c in lists[column][1:] if c.value] == ["électrique", "hydrogene", "essence", "gazole"]
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


# ---- the audit trail (issue 10, points 5 and 6) ---------------------------------------------------------

SHARE_RULEBOOK = RULEBOOK.replace('''rules:
''', '''  part-vegetarien:
    fact: part_vegetarien
    key: account
    type: share
    text: {fr: "Quelle part des repas est végétarienne ? (0 à 100 %)", en: "What share of meals is vegetarian?"}
rules:
  - id: RT-REPAS
    when: {nature: "60623"}
    then:
      split:
        - {class: TF, share: {fact: part_vegetarien}}
        - {class: N, share: rest}
    rationale: "repas : part végétarienne"
    cases:
      - given: {nature: "60623", section: F}
        facts: {part_vegetarien: "0.4"}
        expect: {split: [{class: TF, share: 0.4}, {class: N, share: 0.6}]}
''')
MEALS = "2024CA-00-00011"


def _lines_with_meals() -> pd.DataFrame:
    lines = hand_lines()
    meals = lines.iloc[[3]].copy()  # a copy of the electricity line (F, D, fonction 020): meals instead
    meals["line_id"], meals["nature"], meals["label"], meals["amount_cents"] = MEALS, "60623", "Alimentation cantines", 100_000_00
    if "chapitre" in meals.columns:
        meals["chapitre"] = "011"
    return pd.concat([lines, meals], ignore_index=True)


@pytest.fixture
def share_rules(tmp_path) -> list[Path]:
    from budgetclimat.paths import rules_dir

    path = tmp_path / "rt-share.yaml"
    path.write_text(SHARE_RULEBOOK, encoding="utf-8")
    return [rules_dir() / "scope" / "default.yaml", path]


def _header(ws, row=4) -> list:
    return [c.value for c in ws[row]]


def _answer_share(path: Path, out: Path, value, number_format: str | None = None) -> None:
    """A person types a share in « À approfondir » and saves the workbook (openpyxl stands for the spreadsheet)."""
    wb = openpyxl.load_workbook(path)
    work = wb["À approfondir"]
    header = _header(work)
    row = next(r for r in work.iter_rows(min_row=5) if r[header.index("Fait")].value == "part_vegetarien")
    cell = row[header.index("Réponse")]
    cell.value = value
    if number_format:
        cell.number_format = number_format
    row[header.index("Auteur")].value = "Restauration scolaire"
    wb.save(out)


@pytest.mark.parametrize(("value", "number_format"), [("40 %", None), ("40%", None), ("0,4", None), ("0.4", None), ("40", None), (0.4, "0%"), (40, None)])
def test_a_share_typed_as_40_percent_round_trips_to_0_4(tmp_path, share_rules, value, number_format):
    from decimal import Decimal

    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import resolve_answers, run_lines

    lines = _lines_with_meals()
    first = run_lines(lines, share_rules)
    book = write_workbook(first, tmp_path / "a.xlsx", timestamp=STAMP)
    # the share question has no drop-down of its hint: a custom validation with an input and an error message
    work = openpyxl.load_workbook(book)["À approfondir"]
    header = _header(work)
    row = next(r for r in work.iter_rows(min_row=5) if r[header.index("Fait")].value == "part_vegetarien")
    cell = row[header.index("Réponse")].coordinate
    dv = next(dv for dv in work.data_validations.dataValidation if cell in dv.sqref)
    assert dv.type == "custom" and dv.showErrorMessage and dv.showInputMessage
    assert "40 %" in dv.prompt and "pourcentage" in dv.error and "_listes" not in (dv.formula1 or "")
    filled = tmp_path / "b.xlsx"
    _answer_share(book, filled, value, number_format)
    answers = read_workbook_answers(filled)
    given = answers[answers["fact"] == "part_vegetarien"]
    assert len(given) == 1 and Decimal(given["value"].iloc[0]) == Decimal("0.4")
    second = run_lines(lines, share_rules, resolve_answers(filled))
    reg = second.register[(second.register["line_id"] == MEALS) & (second.register["axis"] == "attenuation")]
    # 40 % of 100 000,00 € is very favourable, the rest neutral: computed here from the typed value
    assert dict(zip(reg["class"], reg["amount_share_cents"])) == {"TF": 40_000_00, "N": 60_000_00}
    # after the re-run the line shows the answer; a second round trip keeps it once
    again = write_workbook(second, tmp_path / "c.xlsx", timestamp=STAMP)
    kept = read_workbook_answers(again)
    assert kept.loc[kept["fact"] == "part_vegetarien", "value"].tolist() == ["0.4"]


@pytest.mark.parametrize("value", ["150 %", "beaucoup", "1.000,5", "40-50", "-3"])
def test_an_ambiguous_or_out_of_range_share_stops_naming_sheet_cell_and_value(tmp_path, share_rules, value):
    from budgetclimat.errors import ConfigError
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import run_lines

    book = write_workbook(run_lines(_lines_with_meals(), share_rules), tmp_path / "a.xlsx", timestamp=STAMP)
    filled = tmp_path / "b.xlsx"
    _answer_share(book, filled, value)
    with pytest.raises(ConfigError) as info:
        read_workbook_answers(filled)
    assert info.value.code == "answers-bad-share"
    message = info.value.message()
    assert "b.xlsx [À approfondir], ligne 5, colonne J (Réponse)" in message and f"« {value} »" in message
    assert "attendu : une part entre 0 et 1" in message


def test_a_label_chosen_in_the_drop_down_round_trips_to_its_code(tmp_path, rulebooks):
    from budgetclimat.errors import ConfigError
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import run_lines

    book = write_workbook(run_lines(hand_lines(), rulebooks), tmp_path / "a.xlsx", timestamp=STAMP)
    wb = openpyxl.load_workbook(book)
    work = wb["À approfondir"]
    header = _header(work)
    row = next(r for r in work.iter_rows(min_row=5) if r[header.index("Clé (technique)")].value == VEHICLE_KEY)
    # the drop-down offers the labels kept in the hidden list sheet
    dv = next(dv for dv in work.data_validations.dataValidation if row[header.index("Réponse")].coordinate in dv.sqref)
    column = dv.formula1.split("!")[1].split("$")[1]
    offered = [c.value for c in wb["_listes"][column][1:] if c.value]
    assert "électrique" in offered and "electrique" not in offered
    assert "électrique" in row[header.index("Réponses possibles")].value
    for typed in ("électrique", " Électrique ", "electrique"):  # the label (as chosen, or retyped), or the code
        row[header.index("Réponse")].value = typed
        wb.save(tmp_path / "b.xlsx")
        answers = read_workbook_answers(tmp_path / "b.xlsx")
        assert answers.loc[answers["fact"] == "motorisation", "value"].tolist() == ["electrique"]
    row[header.index("Réponse")].value = "charbon"  # not an answer of this question
    wb.save(tmp_path / "b.xlsx")
    with pytest.raises(ConfigError) as info:
        read_workbook_answers(tmp_path / "b.xlsx")
    assert info.value.code == "answers-bad-value"
    assert "b.xlsx [À approfondir], ligne 5, colonne J (Réponse) : « charbon »" in info.value.message()
    assert "électrique ; hydrogene ; essence ; gazole" in info.value.message()


def test_english_drop_down_shows_english_labels(tmp_path, rulebooks):
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import run_lines

    book = write_workbook(run_lines(hand_lines(), rulebooks), tmp_path / "a.xlsx", timestamp=STAMP, lang="en")
    wb = openpyxl.load_workbook(book)
    lists = wb["_listes"]
    column = next(c for c in lists[1] if c.value == "q:motorisation").column_letter
    assert [c.value for c in lists[column][1:] if c.value][0] == "electric"
    work = wb[wb.sheetnames[6]]
    header = _header(work)
    row = next(r for r in work.iter_rows(min_row=5) if r[header.index("Key (technical)")].value == VEHICLE_KEY)
    row[header.index("Answer")].value = "electric"
    wb.save(book)
    answers = read_workbook_answers(book)
    assert answers.loc[answers["fact"] == "motorisation", "value"].tolist() == ["electrique"]


def _lignes_rows(path: Path) -> tuple[list, dict]:
    ws = openpyxl.load_workbook(path)["Lignes"]
    header = _header(ws)
    return header, {r[0]: r for r in ws.iter_rows(min_row=5, values_only=True)}


def test_an_override_and_its_author_show_on_the_line_after_a_re_run_and_survive_two_round_trips(tmp_path, rulebooks):
    from budgetclimat.export.workbook import read_previous_classes, read_workbook_answers, write_workbook
    from budgetclimat.pipeline import resolve_answers, run_lines

    lines = hand_lines()
    round1 = write_workbook(run_lines(lines, rulebooks), tmp_path / "r1.xlsx", timestamp=STAMP)
    filled = tmp_path / "r1-rempli.xlsx"
    _fill(round1, filled)  # motorisation answered by key in « À approfondir »; an override typed in « Lignes »
    saved_on = openpyxl.load_workbook(filled).properties.modified.strftime("%d/%m")
    path = filled
    for n in (2, 3):  # two round trips after the first: nothing typed again
        result = run_lines(lines, rulebooks, resolve_answers(path))
        path = write_workbook(result, tmp_path / f"r{n}.xlsx", timestamp=STAMP, previous=read_previous_classes(path))
        header, rows = _lignes_rows(path)
        studies, vehicle = rows[STUDIES], rows[VEHICLE]
        # the override replaces the rule's rationale, with who, when and why; the rule column says it is one
        assert studies[header.index("Justification Atténuation")] == f"surcharge de Direction des finances le {saved_on} : étude de rénovation énergétique"
        assert studies[header.index("Réf. de la règle Atténuation")] == "surcharge manuelle"
        assert studies[header.index("Classe Atténuation")] == "FSC 60 % + N 40 %"
        # the editable columns show what was given for the line, so it is read again
        assert [studies[header.index(h)] for h in ("Axe (surcharge)", "Classe (surcharge)", "Commentaire", "Auteur")] == [
            "Atténuation", "FSC 60 % + N 40 %", "étude de rénovation énergétique", "Direction des finances"]
        # the answer given in « À approfondir » shows on its line, as question → answer label, with its author
        assert vehicle[header.index("Réponses et surcharges appliquées")] == (
            f"Quelle est la motorisation du véhicule acheté ? → électrique (Service parc auto, {saved_on})")
        assert vehicle[header.index("Valeur")] == "électrique" and vehicle[header.index("Auteur")] == "Service parc auto"
        answers = read_workbook_answers(path)
        # no doubling, no loss: one fact, two override pieces, each once, with their first date
        assert sorted(answers["fact"].dropna()) == ["motorisation"]
        assert answers[answers["class"].notna()][["class", "share", "comment"]].values.tolist() == [
            ["FSC", "0.6", "étude de rénovation énergétique"], ["N", "0.4", "étude de rénovation énergétique"]]
        assert set(answers["author"]) == {"Service parc auto", "Direction des finances"}
        assert answers["date"].nunique() == 1


def test_changes_list_class_changes_before_staff_re_allocations(tmp_path, rulebooks):
    from budgetclimat.export.workbook import read_previous_classes, write_workbook
    from budgetclimat.pipeline import resolve_answers, run_lines

    lines = hand_lines()
    round1 = write_workbook(run_lines(lines, rulebooks), tmp_path / "r1.xlsx", timestamp=STAMP)
    filled = tmp_path / "r1-rempli.xlsx"
    _fill(round1, filled)
    second = run_lines(lines, rulebooks, resolve_answers(filled))
    path = write_workbook(second, tmp_path / "r2.xlsx", timestamp=STAMP, previous=read_previous_classes(filled))
    rows = [r for r in openpyxl.load_workbook(path)["Contrôles"].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if str(r[0]).startswith("Changements"))
    assert rows[start + 1][:8] == ("Identifiant", "Axe", "Ancienne classe", "Nouvelle classe", "Montant", "Libellé", "Pourquoi", "Auteur")
    body = rows[start + 2:start + 5]
    # largest change first; why and who on each; then the staff line summed in one row
    assert [r[0] for r in body[:2]] == [STUDIES, VEHICLE]
    assert body[0][6].startswith("surcharge de Direction des finances le ") and body[0][7] == "Direction des finances"
    assert body[1][6] == "réponse : Quelle est la motorisation du véhicule acheté ? → électrique (Service parc auto, " + body[1][6][-6:]
    staff = lines.loc[lines["chapitre"] == "012", "amount_cents"]
    euros = f"{int(staff.sum()) // 100:,}".replace(",", "\u202f") + f",{int(staff.sum()) % 100:02d} €"
    assert body[2][0] == f"{len(staff)} lignes de frais de personnel réaffectées au prorata : {euros} (leur répartition suit celle des autres lignes)"
