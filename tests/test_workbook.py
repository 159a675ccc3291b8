"""The council annex workbook: sheets, totals to the cent against the register, charts, tables, text
cells, reproducibility, English labels, register overflow to CSV."""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from budgetclimat import model
from budgetclimat.money import allocate

DATA = Path(__file__).parent / "data"
STAMP = "2025-03-01T12:00:00"


@dataclass
class FakeResult:
    """A run result with exactly the pipeline's fields, built by hand (register columns as the engine's)."""

    documents: list
    lines: pd.DataFrame
    findings: pd.DataFrame
    reconciliation: list
    register: pd.DataFrame
    ruleset: object = None
    answers: pd.DataFrame | None = None
    views: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)


REGISTER_COLUMNS = ["line_id", "axis", "piece", "scope", "scope_reason", "class", "share", "amount_share_cents", "rule_id",
                    "rationale", "question_id", "question", "allowed_answers", "allocation", "decided_by", "comment", "author"]


def hand_lines(n_extra: int = 0) -> pd.DataFrame:
    rows = [
        # nature, chapitre, fonction, section, sens, operation, label, cents
        ("21828", "21", "810", "I", "D", "reel", "Achat véhicules utilitaires", 12_345_67),
        ("2313", "23", "212", "I", "D", "reel", "Construction groupe scolaire", 2_000_000_01),
        ("2031", "20", "020", "I", "D", "reel", '=HYPERLINK("http://x","y")', 50_000_00),
        ("60612", "011", "020", "F", "D", "reel", "Électricité\x07 bâtiments", 1_234_567_89),
        ("6411", "012", "020", "F", "D", "reel", "Personnel titulaire", 9_876_543_21),
        ("2111", "21", "824", "I", "D", "reel", "Acquisition terrains nus", 300_000_00),
        ("1641", "16", "01", "I", "D", "reel", "Remboursement capital emprunts", 700_000_00),
        ("6811", "042", "01", "F", "D", "ordre", "Dotations amortissements", 400_000_00),
        ("7811", "042", "01", "F", "R", "ordre", "Reprise", 10_000_00),
        ("73111", "731", "01", "F", "R", "reel", "Impôts directs", 5_000_000_00),
    ]
    for i in range(n_extra):
        rows.append(("6068", "011", "020", "F", "D", "reel", f"Fournitures {i}", 1_000 + i))
    frame = pd.DataFrame(rows, columns=["nature", "chapitre", "fonction", "section", "sens", "operation", "label", "amount_cents"])
    frame["line_id"] = [f"2024CA-00-{i + 1:05d}" for i in range(len(frame))]
    frame["source_file"] = "ville-ca-2024.xml"
    frame["source_row"] = np.arange(1, len(frame) + 1)
    frame["source_format"] = "totem"
    frame["collectivite"] = "Ville de Test"
    frame["siret"] = "21340172200017"
    frame["exercice"] = 2024
    frame["doc_type"] = "CA"
    frame["budget_code"] = "00"
    frame["budget_label"] = "Budget principal"
    frame["budget_kind"] = "principal"
    frame["nomenclature"] = "M57"
    frame["nomenclature_variant"] = "M57-M57"
    frame["fonction_label"] = frame["fonction"].map({"810": "Services urbains", "212": "Écoles primaires", "020": "Administration générale", "824": "Autres opérations d'aménagement urbain", "01": "Opérations non ventilables"})
    frame["executed_cents"] = frame["amount_cents"]
    frame["amount_basis"] = "executed"
    frame["ordre_kind"] = np.where(frame["operation"] == "ordre", "section", None)
    return model.conform(frame)


def synthetic_register(lines: pd.DataFrame, axes=("attenuation", "biodiversite")) -> pd.DataFrame:
    """Classes decided by a few hand rules: ordre and revenue out of scope, 2182 AA (motorisation),
    2313 split FSC 60 % / D 40 %, energy D, 2031 IM, the rest N."""
    rows = []
    for line in lines.itertuples(index=False):
        for axis in axes:
            base = {"line_id": line.line_id, "axis": axis, "scope": "in", "scope_reason": None, "share": 1.0, "rule_id": None,
                    "rationale": None, "question_id": None, "question": None, "allowed_answers": None, "allocation": None,
                    "decided_by": "rule", "comment": None, "author": None}
            if line.operation == "ordre":
                rows.append({**base, "piece": 1, "scope": "out", "scope_reason": "opérations d'ordre", "class": None, "amount_share_cents": line.amount_cents, "rule_id": "SCOPE-ORDRE"})
            elif line.sens == "R":
                rows.append({**base, "piece": 1, "scope": "out", "scope_reason": "recettes", "class": None, "amount_share_cents": line.amount_cents, "rule_id": "SCOPE-RECETTES"})
            elif line.chapitre == "16":
                rows.append({**base, "piece": 1, "scope": "out", "scope_reason": "capital de la dette", "class": None, "amount_share_cents": line.amount_cents, "rule_id": "SCOPE-DETTE"})
            elif line.nature.startswith("2182") and axis == "attenuation":
                rows.append({**base, "piece": 1, "class": "AA", "amount_share_cents": line.amount_cents, "rule_id": "ATT-VEH-AA",
                             "question_id": "motorisation", "question": "Quelle est la motorisation du véhicule acheté ?",
                             "allowed_answers": "electrique|hybride|gazole", "rationale": "I4CE 2022, transport_achat.png"})
            elif line.nature.startswith("2313") and axis == "attenuation":
                pieces = allocate(pd.Series([line.amount_cents] * 2), pd.Series([0.6, 0.4]), pd.Series([0, 0]))
                for i, (cls, share) in enumerate([("FSC", 0.6), ("D", 0.4)]):
                    rows.append({**base, "piece": i + 1, "class": cls, "share": share, "amount_share_cents": int(pieces.iloc[i]), "rule_id": "ATT-BAT-NEUF"})
            elif line.nature.startswith("606") and axis == "attenuation":
                rows.append({**base, "piece": 1, "class": "D", "amount_share_cents": line.amount_cents, "rule_id": "ATT-ENERGIE"})
            elif line.nature == "2031":
                rows.append({**base, "piece": 1, "class": "IM", "amount_share_cents": line.amount_cents, "rule_id": "ATT-ETUDES"})
            elif line.nature == "2111" and axis == "biodiversite":
                rows.append({**base, "piece": 1, "class": "D", "amount_share_cents": line.amount_cents, "rule_id": "BIO-FONCIER"})
            else:
                rows.append({**base, "piece": 1, "class": "TF" if line.nature == "2111" else "N", "amount_share_cents": line.amount_cents, "rule_id": "DEFAULT-N"})
    reg = pd.DataFrame(rows, columns=REGISTER_COLUMNS)
    return reg.astype({c: "string" for c in REGISTER_COLUMNS if c not in ("piece", "share", "amount_share_cents")}).astype(
        {"piece": "int64", "share": "float64", "amount_share_cents": "int64"})


def make_result(lines: pd.DataFrame | None = None) -> FakeResult:
    from budgetclimat.errors import findings_frame

    lines = hand_lines() if lines is None else lines
    findings = findings_frame([{"level": "warning", "code": "amount-not-a-number", "file": "ville-ca-2024.xml", "row": 12,
                                "column": "MtReal", "value": "=1+1", "expected": "montant"}])
    return FakeResult(documents=[], lines=lines, findings=findings, reconciliation=[], register=synthetic_register(lines))


def write(tmp_path: Path, result=None, name="annexe.xlsx", **kwargs) -> Path:
    from budgetclimat.export.workbook import write_workbook

    kwargs.setdefault("timestamp", STAMP)
    return write_workbook(result or make_result(), tmp_path / name, **kwargs)


def sheet_xml(path: Path, title: str) -> str:
    """The XML of the sheet called ``title``."""
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet [^>]*name="{re.escape(title)}"[^>]*r:id="([^"]+)"', wb) or re.search(rf'<sheet [^>]*r:id="([^"]+)"[^>]*name="{re.escape(title)}"', wb)
        target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(rf'Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels)
        return z.read("xl/" + target.group(1).lstrip("/").removeprefix("xl/")).decode()


def test_writes_the_sheets_in_order(tmp_path):
    import openpyxl

    wb = openpyxl.load_workbook(write(tmp_path))
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == ["Synthèse", "Budget vert coloré", "Annexe légale", "Lignes", "À approfondir", "Contrôles", "Méthode"]
    assert wb.properties.title.startswith("Budget climat — Ville de Test")
    assert wb.properties.subject


def _register_totals(result, axis: str) -> dict[str, int]:
    reg = result.register.merge(result.lines[["line_id", "sens"]], on="line_id")
    reg = reg[(reg["axis"] == axis) & (reg["sens"] == "D")]
    out = reg[reg["scope"] == "out"]["amount_share_cents"].sum()
    ins = reg[reg["scope"] != "out"]
    totals = {c: int(ins.loc[ins["class"] == c, "amount_share_cents"].sum()) for c in ["TF", "FSC", "N", "D", "IM", "AA"]}
    totals["out"] = int(out)
    return totals


def _cents(value) -> int:
    return 0 if value is None else round(value * 100)


def test_class_totals_equal_the_register_to_the_cent(tmp_path):
    import openpyxl

    result = make_result()
    ws = openpyxl.load_workbook(write(tmp_path, result))["Synthèse"]
    rows = {r[0]: r for r in ws.iter_rows(values_only=True) if r and r[0] in ("Atténuation", "Biodiversité")}
    # The "Détail par classe" table: the Atténuation row under the header of the classes.
    table = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(table) if r and r[0] == "Axe" and r[1] == "Très favorable")
    detail = table[head + 1]
    assert detail[0] == "Atténuation"
    expected = _register_totals(result, "attenuation")
    # out of scope on the Synthèse: every line (the terminal's and the JSON's figure), revenue included
    reg = result.register
    expected["out"] = int(reg.loc[(reg["axis"] == "attenuation") & (reg["scope"] == "out"), "amount_share_cents"].sum())
    assert expected["out"] == 700_000_00 + 400_000_00 + 10_000_00 + 5_000_000_00  # 1641 (debt), ordre 6811 and 7811, revenue 73111
    assert [_cents(v) for v in detail[1:8]] == [expected[c] for c in ["TF", "FSC", "N", "D", "IM", "AA", "out"]]
    # independent figures: the split line 2 000 000,01 € gives FSC 60 % and D 40 % to the cent
    assert expected["FSC"] == 1_200_000_01
    assert expected["D"] == 800_000_00 + 1_234_567_89
    assert rows


def test_coloured_sheet_totals_match_by_chapter_and_section(tmp_path):
    import openpyxl

    result = make_result()
    ws = openpyxl.load_workbook(write(tmp_path, result))["Budget vert coloré"]
    totals = [r for r in ws.iter_rows(values_only=True) if r and r[0] == "Total" and len(r) > 9 and r[2] is not None]
    expected = _register_totals(result, "attenuation")
    in_scope = sum(v for k, v in expected.items() if k != "out")
    # section, chapitre, fonction 1, fonction 2: the same total, to the cent
    for row in totals[:4]:
        assert [_cents(v) for v in row[2:8]] == [expected[c] for c in ["TF", "FSC", "N", "D", "IM", "AA"]]
        assert _cents(row[8]) == in_scope
        assert _cents(row[11]) == expected["out"]


def test_charts_and_tables_are_present_and_valid(tmp_path):
    path = write(tmp_path)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        charts = [n for n in names if n.startswith("xl/charts/chart")]
        assert len(charts) >= 2
        chart_xml = "".join(z.read(n).decode() for n in charts)
        assert "barChart>" in chart_xml and "pieChart>" in chart_xml
        assert "1B7837" in chart_xml and "8C510A" in chart_xml  # I4CE colours: TF dark green, D brown
        assert "pattFill" in chart_xml  # FSC hatched
        tables = [n for n in names if n.startswith("xl/tables/")]
        assert len(tables) == 2
    import openpyxl

    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for table in ws.tables.values():
            ref_cells = ws[table.ref]
            headers = [c.value for c in ref_cells[0]]
            assert headers == [c.name for c in table.tableColumns], ws.title
            assert len(set(headers)) == len(headers)
    lignes = wb["Lignes"]
    assert lignes.freeze_panes == "B5"
    assert any(dv.type == "list" for dv in lignes.data_validations.dataValidation)
    work = wb["À approfondir"]
    assert any("_listes" in (dv.formula1 or "") for dv in work.data_validations.dataValidation)


def test_text_from_input_data_is_stored_as_text_not_formula(tmp_path):
    path = write(tmp_path)
    xml = sheet_xml(path, "Lignes")
    assert "<f>" not in xml
    assert 'HYPERLINK("http://x","y")' in xml.replace("&quot;", '"')
    cell = re.search(r'<c r="I\d+"[^>]*t="inlineStr"[^>]*><is><t>=HYPERLINK', xml.replace("&quot;", '"'))
    assert cell, "the label is written as an inline string"
    assert "\x07" not in xml  # control characters removed
    import openpyxl

    ws = openpyxl.load_workbook(path)["Lignes"]
    labels = [r[8] for r in ws.iter_rows(min_row=5, values_only=True)]
    assert "Électricité bâtiments" in labels
    # the finding value "=1+1" in Contrôles is text too
    assert "<f>" not in sheet_xml(path, "Contrôles")


def test_same_inputs_give_the_same_bytes(tmp_path, monkeypatch):
    a = write(tmp_path, name="a.xlsx")
    b = write(tmp_path, name="b.xlsx")
    assert hashlib.sha256(a.read_bytes()).hexdigest() == hashlib.sha256(b.read_bytes()).hexdigest()
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(2025, 3, 1, 12, 0, 0)}
        assert "2025-03-01T12:00:00Z" in z.read("docProps/core.xml").decode()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    from budgetclimat.export.workbook import write_workbook

    c = write_workbook(make_result(), tmp_path / "c.xlsx")
    d = write_workbook(make_result(), tmp_path / "d.xlsx")
    assert c.read_bytes() == d.read_bytes()
    with zipfile.ZipFile(c) as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_english_labels(tmp_path):
    import openpyxl

    wb = openpyxl.load_workbook(write(tmp_path, lang="en"))
    assert [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"] == [
        "Summary", "Coloured green budget", "Legal annex", "Lines", "To investigate", "Checks", "Method"]
    assert wb["Summary"]["A1"].value.startswith("Climate budget")


def test_every_label_is_translated():
    from budgetclimat import i18n
    from budgetclimat.export.workbook import labels  # noqa: F401

    texts = [t for k, t in i18n.catalogue().items() if k.startswith("workbook.")]
    assert len(texts) > 150
    assert all(t.fr and t.en for t in texts)
    sheets = [t for k, t in i18n.catalogue().items() if k.startswith("workbook.sheet-")]
    assert all(len(t.fr) <= 31 and len(t.en) <= 31 for t in sheets)


def test_register_too_large_goes_to_csv(tmp_path):
    import openpyxl

    result = make_result(hand_lines(n_extra=30))
    path = write(tmp_path, result, max_sheet_rows=20)
    csv = tmp_path / "annexe-lignes.csv"
    assert csv.is_file()
    frame = pd.read_csv(csv, dtype=str, sep=";")
    assert len(frame) == 40
    assert frame.loc[frame["line_id"] == "2024CA-00-00003", "label"].iloc[0].startswith("'=HYPERLINK")
    ws = openpyxl.load_workbook(path)["Lignes"]
    assert "annexe-lignes.csv" in ws["A3"].value  # the first 20 lines are shown; the note names the whole register


def test_legal_annex_uses_the_latest_definition_not_after_the_exercice(tmp_path):
    import openpyxl

    from budgetclimat.export.workbook.annex import definition_for, load_definitions

    defs = load_definitions()
    assert definition_for(2023, defs) is None
    assert definition_for(2024, defs).id == "annexe-tef-2024"
    assert definition_for(2026, defs).id == "annexe-tef-2025"
    d2024 = definition_for(2024, defs)
    assert len(d2024.accounts) == 17
    assert [a.code for a in d2024.accounts if not a.confirmed] == ["2314", "2315"]
    assert definition_for(2025, defs).axes == ("attenuation", "biodiversite")

    result = make_result()
    ws = openpyxl.load_workbook(write(tmp_path, result))["Annexe légale"]
    values = list(ws.iter_rows(values_only=True))
    assert any(r[0] and "modèle « Impact du budget pour la transition écologique » de 2024" in str(r[0]) for r in values)
    total = next(r for r in values if r[0] == "Total")
    # 21828 AA 12 345,67 + 2313 FSC/D + 2031 IM 50 000 + 2111 TF 300 000 ; 1641 (chapter 16) is not listed
    assert [_cents(v) for v in total[2:7]] == [300_000_00 + 1_200_000_01, 0, 800_000_00, 12_345_67 + 50_000_00, 2_362_345_68]
    assert any(r[0] == "2314 *" for r in values)


def test_legal_annex_2025_excludes_loan_principal(tmp_path):
    import openpyxl

    lines = hand_lines()
    lines["exercice"] = 2025
    result = make_result(lines)
    ws = openpyxl.load_workbook(write(tmp_path, result))["Annexe légale"]
    values = list(ws.iter_rows(values_only=True))
    axes = [r[0] for r in values if r[0] and str(r[0]).startswith("Axe")]
    assert axes == ["Axe : Atténuation", "Axe : Biodiversité"]
    chapters = [r[0] for r in values if r[0] in ("16", "20", "21", "23")]
    assert "16" not in chapters and {"20", "21", "23"} <= set(chapters)


def test_views_when_present(tmp_path):
    import openpyxl

    from budgetclimat.views.weighted import weighted_view, weights_from_classes

    result = make_result()
    reg = result.register.assign(amount_cents=result.register["amount_share_cents"])
    result.views["weighted"] = weighted_view(result.lines[result.lines["sens"] == "D"], weights_from_classes(reg, {"TF": 10_000, "FSC": 4_000}),
                                             objectives=["attenuation", "biodiversite"])

    class Territory:
        years = pd.DataFrame({"year": [2022, 2023, 2024, 2025], "cap_tco2e": [1000.0, 950.0, 900.0, 850.0],
                              "inventory_net_tco2e": [1000.0, 980.0, float("nan"), float("nan")],
                              "projected_net_tco2e": [1000.0, 980.0, 940.0, 900.0], "measures_effect_tco2e": [0.0, 0.0, 40.0, 80.0],
                              "bau_net_tco2e": [1000.0, 980.0, 980.0, 980.0], "gap_tco2e": [0.0, 30.0, 40.0, 50.0]})

    result.views["territory"] = Territory()
    path = write(tmp_path, result)
    wb = openpyxl.load_workbook(path)
    assert "Budget vert pondéré" in wb.sheetnames
    rows = list(wb["Budget vert pondéré"].iter_rows(values_only=True))
    att = next(r for r in rows if r[0] == "Atténuation")
    assert _cents(att[1]) == int(result.views["weighted"].totals.loc[0, "weighted_cents"])
    assert "Budget carbone" in wb.sheetnames
    rows = list(wb["Budget carbone"].iter_rows(values_only=True))
    assert any(r[0] == 2025 and r[1] == 850.0 for r in rows)
    with zipfile.ZipFile(path) as z:
        charts = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/"))
        assert "areaChart>" in charts and "lineChart>" in charts  # the gap filled by measures, and the cap


def test_several_years_add_an_evolution_sheet(tmp_path):
    import openpyxl

    first = hand_lines()
    second = hand_lines()
    second["exercice"] = 2025
    second["line_id"] = second["line_id"].str.replace("2024", "2025")
    lines = pd.concat([first, second], ignore_index=True)
    wb = openpyxl.load_workbook(write(tmp_path, make_result(lines)))
    assert "Évolution" in wb.sheetnames
    years = [r[0] for r in wb["Évolution"].iter_rows(values_only=True) if r[0] in (2024, 2025)]
    assert years == [2024, 2025, 2024, 2025]


@pytest.mark.skipif(__import__("shutil").which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_libreoffice_opens_and_prints_it(tmp_path):
    import subprocess

    path = write(tmp_path)
    profile = tmp_path / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(path)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "annexe.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 10_000
