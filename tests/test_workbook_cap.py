"""Sheets with a row per line (« Lignes »), per question × key (« À approfondir ») or per finding hold at most
``max_sheet_rows`` rows (``limits.WORKBOOK_SHEET_LINES``): the first rows, a note saying how many are not shown
and where the whole register is — and a line not shown keeps its answers through the round trip."""

from __future__ import annotations

import openpyxl
import pandas as pd

from test_roundtrip import STUDIES, VEHICLE, _classes, _fill, rulebooks  # noqa: F401 - the fixture
from test_workbook import STAMP, hand_lines, make_result, write


def _data_rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=5, values_only=True) if any(v is not None for v in r)]


def test_lignes_shows_the_first_lines_and_names_the_register_beside(tmp_path):
    lines = hand_lines(n_extra=30)
    result = make_result(lines)
    path = write(tmp_path, result, max_sheet_rows=20)
    ws = openpyxl.load_workbook(path)["Lignes"]
    note = ws["A3"].value
    n = len(lines)
    assert n == 40
    assert note.startswith(f"Le registre compte {n} lignes : cette feuille montre les 20 premières, {n - 20} lignes")
    assert "annexe-lignes.csv" in note
    rows = _data_rows(ws)
    assert [r[0] for r in rows] == lines["line_id"].astype(str).tolist()[:20]
    beside = pd.read_csv(tmp_path / "annexe-lignes.csv", dtype=str, sep=";", keep_default_na=False, encoding="utf-8-sig")
    assert beside["line_id"].tolist() == lines["line_id"].astype(str).tolist()
    # the euros of the shown rows are the lines' own, to the cent
    header = [c.value for c in ws[4]]
    amounts = [round(r[header.index("Montant (€)")] * 100) for r in rows]
    assert amounts == [int(v) for v in lines["amount_cents"].tolist()[:20]]


def test_a_capped_sheet_names_the_lines_out_file_and_writes_nothing_beside(tmp_path):
    from budgetclimat.export.workbook import write_workbook

    result = make_result(hand_lines(n_extra=30))
    path = write_workbook(result, tmp_path / "annexe.xlsx", lang="en", max_sheet_rows=5, register=tmp_path / "register.parquet")
    ws = openpyxl.load_workbook(path)["Lines"]
    assert ws["A3"].value.startswith("The register has 40 lines: this sheet shows the first 5, 35 lines are not shown")
    assert "register.parquet" in ws["A3"].value
    assert len(_data_rows(ws)) == 5
    assert not (tmp_path / "annexe-lignes.csv").exists()


def test_an_uncapped_sheet_has_no_note(tmp_path):
    path = write(tmp_path, make_result(hand_lines(n_extra=30)), max_sheet_rows=40)
    ws = openpyxl.load_workbook(path)["Lignes"]
    assert ws["A3"].value is None and len(_data_rows(ws)) == 40
    assert not (tmp_path / "annexe-lignes.csv").exists()


def test_a_line_not_shown_keeps_its_answers_through_the_round_trip(tmp_path, rulebooks):  # noqa: F811
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import resolve_answers, run_lines

    lines = hand_lines()
    order = lines["line_id"].astype(str).tolist()
    assert order.index(STUDIES) >= 2  # not among the 2 lines shown below
    round1 = write_workbook(run_lines(lines, rulebooks), tmp_path / "r1.xlsx", timestamp=STAMP)
    filled = tmp_path / "r1-rempli.xlsx"
    _fill(round1, filled)  # motorisation answered in « À approfondir », an override of STUDIES typed in « Lignes »
    second = run_lines(lines, rulebooks, resolve_answers(filled))
    assert _classes(second)[VEHICLE] == "TF"
    capped = write_workbook(second, tmp_path / "r2.xlsx", timestamp=STAMP, max_sheet_rows=2)
    ws = openpyxl.load_workbook(capped)["Lignes"]
    assert STUDIES not in [r[0] for r in _data_rows(ws)] and len(_data_rows(ws)) == 2
    assert f"{len(lines) - 2} lignes n'y sont pas affichées" in ws["A3"].value
    answers = read_workbook_answers(capped)
    overrides = answers[answers["class"].notna()]
    assert sorted(overrides["class"]) == ["FSC", "N"] and overrides["comment"].eq("étude de rénovation énergétique").all()
    assert answers.loc[answers["fact"] == "motorisation", "value"].tolist() == ["electrique"]
    third = run_lines(lines, rulebooks, resolve_answers(capped))
    assert _classes(third) == _classes(second)
    reg = third.register[(third.register["axis"] == "attenuation") & (third.register["line_id"] == STUDIES)]
    assert sorted(reg["class"]) == ["FSC", "N"] and int(reg["amount_share_cents"].sum()) == 50_000_00


def test_worklist_beyond_the_cap_shows_the_largest_first_and_says_so(tmp_path, rulebooks):  # noqa: F811
    from budgetclimat.export.workbook import write_workbook
    from budgetclimat.pipeline import run_lines

    lines = hand_lines()
    vehicles = pd.concat([lines.iloc[[0]]] * 3, ignore_index=True)  # three more vehicles, each its own line key
    vehicles["label"] = ["Achat camion benne", "Achat fourgon", "Achat balayeuse"]
    vehicles["amount_cents"] = [40_000_00, 30_000_00, 20_000_00]
    vehicles["line_id"] = ["2024CA-00-00101", "2024CA-00-00102", "2024CA-00-00103"]
    result = run_lines(pd.concat([lines, vehicles], ignore_index=True), rulebooks)
    full = openpyxl.load_workbook(write_workbook(result, tmp_path / "a.xlsx", timestamp=STAMP))["À approfondir"]
    questions = [r for r in full.iter_rows(min_row=5, values_only=True) if r[0] is not None]
    assert len(questions) > 1
    capped = openpyxl.load_workbook(write_workbook(result, tmp_path / "b.xlsx", timestamp=STAMP, max_sheet_rows=1))["À approfondir"]
    shown = [r for r in capped.iter_rows(min_row=5, values_only=True) if r[0] is not None]
    assert shown == questions[:1]
    assert shown[0][3] == "ligne « Achat camion benne » (compte 21828, fonction 810)"  # the largest euros first
    assert f"{len(questions)} questions à traiter : cette feuille montre les 1 premières" in capped["A3"].value
    assert capped["A1"].value == full["A1"].value  # the title counts every question and its euros


def test_findings_beyond_the_cap_are_counted_not_listed(tmp_path):
    from budgetclimat.errors import findings_frame

    result = make_result(hand_lines(n_extra=30))
    result.findings = findings_frame([{"level": "warning", "code": "amount-not-a-number", "file": "ville-ca-2024.xml", "row": 100 + i,
                                       "column": "MtReal", "value": f"x{i}", "expected": "montant"} for i in range(25)])
    rows = list(openpyxl.load_workbook(write(tmp_path, result, max_sheet_rows=10))["Contrôles"].iter_rows(values_only=True))
    assert any(r[0] == "Anomalies relevées (25)" for r in rows)
    assert any(r[0] == "25 anomalies : seules les 10 premières sont listées ici, 15 ne le sont pas (le résumé du terminal les compte toutes)." for r in rows)
    listed = [r[3] for r in rows if r[1] == "amount-not-a-number"]
    assert listed == list(range(100, 110))


def test_a_capped_sheet_built_from_the_lines_it_shows_has_the_rows_of_the_whole_sheet(tmp_path):
    """With a --lines-out register to name, « Lignes » builds its rows from the lines it shows (and their register rows)
    only: each of them is the row the uncapped sheet has for that line, cell for cell."""
    result = make_result(hand_lines(n_extra=30))
    capped = write(tmp_path, result, name="capped.xlsx", max_sheet_rows=7, register=tmp_path / "register.parquet")
    whole = write(tmp_path, result, name="whole.xlsx", max_sheet_rows=40)
    capped_rows = _data_rows(openpyxl.load_workbook(capped)["Lignes"])
    whole_rows = _data_rows(openpyxl.load_workbook(whole)["Lignes"])
    assert len(capped_rows) == 7 and len(whole_rows) == 40
    assert capped_rows == whole_rows[:7]
