"""One text-safety rule for every output a spreadsheet opens: a text starting with = + - @, a tab or a CR gets
a leading ``'`` in the register CSV, the validate report CSV and the register written beside a too-large
workbook; workbook cells hold the text as it was, as string cells (never formulas)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from conftest import FIXTURES, invoke

from budgetclimat.outputs import formula_safe

RULES = ["--rules", FIXTURES / "rulebooks" / "scope.yaml", "--rules", FIXTURES / "rulebooks" / "attenuation.yaml"]
HEADER = "BGT_NATDEC,BGT_ANNEE,BGT_SIRET,BGT_NOM,BGT_TYPBUDGET,BGT_CONTNAT,BGT_NATURE,BGT_NATURE_LABEL,BGT_FONCTION,BGT_SECTION,BGT_OPBUDG,BGT_CODRD,BGT_MTREAL"
# label as written in the file -> as every CSV output must give it
LABELS = {
    "=1+1": "'=1+1",
    "+33 6 12": "'+33 6 12",
    "-2+3+cmd": "'-2+3+cmd",
    "@SUM(A1)": "'@SUM(A1)",
    "-12": "'-12",
    "1-2 plain": "1-2 plain",
    "Fournitures": "Fournitures",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("=A1", "'=A1"), ("+1", "'+1"), ("-1", "'-1"), ("-x", "'-x"), ("@x", "'@x"), ("\tx", "'\tx"), ("\r=x", "'\r=x"),
     ("a=b", "a=b"), ("", ""), (" =x", " =x")],
)
def test_the_rule(text, expected):
    assert formula_safe(pd.Series([text, None], dtype="object")).tolist() == [expected, pd.NA]


@pytest.fixture(scope="module")
def budget(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formula")
    rows = [f"09,2024,21340172201787,Ville,1,011,{6060 + i},{label},020,F,0,D,{10 + i}.00" for i, label in enumerate(LABELS)]
    rows.append("09,2024,21340172201787,Ville,1,011,-6062,x,020,F,0,D,1.00")  # a code finding whose value starts with -
    rows.append("09,2024,21340172201787,Ville,1,011,=6065,x,020,F,0,D,1.00")  # and one starting with =
    path = folder / "budget.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_register_csv(budget, tmp_path):
    invoke(["classify", budget, *RULES, "--lines-out", tmp_path / "l.csv"], 1)
    with open(tmp_path / "l.csv", encoding="utf-8-sig", newline="") as handle:
        labels = [row["label"] for row in csv.DictReader(handle, delimiter=";")]
    assert [lbl for lbl in labels if lbl != "x"] == list(LABELS.values())


def test_validate_report_csv(budget):
    out = invoke(["validate", budget, "--format", "csv"], 1).stdout
    values = {r["value"] for r in csv.DictReader(io.StringIO(out)) if r["code"] in ("code-cleaned", "code-format")}
    assert values == {"'-6062", "'=6065"}


def test_workbook_cells_and_the_register_beside_it(budget, tmp_path):
    from openpyxl import load_workbook

    from budgetclimat.export.workbook import write_workbook
    from budgetclimat.pipeline import run

    result = run([budget], rulebooks=[r for r in RULES if r != "--rules"])
    book = write_workbook(result, tmp_path / "a.xlsx", max_sheet_rows=2)
    beside = pd.read_csv(tmp_path / "a-lignes.csv", dtype=str, sep=";", keep_default_na=False, encoding="utf-8-sig")
    assert [lbl for lbl in beside["label"] if lbl != "x"] == list(LABELS.values())
    # the cells of a workbook are string cells: the text as the file gave it, never a formula
    result_small = run([budget], rulebooks=[r for r in RULES if r != "--rules"])
    book = write_workbook(result_small, tmp_path / "b.xlsx")
    ws = load_workbook(book)["Lignes"]
    header = [c.value for c in ws[4]]
    column = header.index("Libellé") + 1
    cells = [ws.cell(row=r, column=column) for r in range(5, ws.max_row + 1)]
    cells = [c for c in cells if c.value in LABELS]
    assert {c.value for c in cells} == set(LABELS) and {c.data_type for c in cells} == {"s"}
