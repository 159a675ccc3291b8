"""Every chapter and fonction the coloured budget shows has its label from the plan de comptes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import DATA, MONTPELLIER_XML

ROOT = Path(__file__).resolve().parents[1]


def _code_rows(path: Path) -> list[tuple[str, str]]:
    from openpyxl import load_workbook

    ws = load_workbook(path, read_only=True)["Budget vert coloré"]
    rows, in_table = [], False
    for r in ws.iter_rows(values_only=True):
        r = list(r) + [None, None]
        if r[0] == "Code":
            in_table = True
            continue
        if in_table and r[0] in (None, "Total"):
            in_table = r[0] is not None and False
            continue
        if in_table:
            rows.append((str(r[0]), r[1] or ""))
    return rows


def _plan_labels(plan: Path, tags=("Chapitre", "RefFonc")) -> dict[str, str]:
    root = etree.fromstring(gzip.decompress(plan.read_bytes()))
    out: dict[str, set[str]] = {}
    for el in root.iter():
        tag = etree.QName(el).localname
        if tag in tags and el.get("Code"):
            out.setdefault(el.get("Code"), set()).update({el.get("Libelle"), el.get("Lib_court")} - {None})  # « 20 »: a chapter and a fonction
    return out


def _nature_rows(path: Path) -> list[tuple[str, str, str]]:
    """(sheet, account, label) of every table headed « Nature » in the council sheets (carbon by account, legal annex)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    rows = []
    for name in ("Budget carbone", "Annexe légale"):
        if name not in wb.sheetnames:
            continue
        in_table = False
        for r in wb[name].iter_rows(values_only=True):
            r = list(r) + [None, None]
            if r[0] == "Nature":
                in_table = True
                continue
            if in_table and (r[0] is None or r[0] in ("Total", "Part") or not str(r[0])[:1].isdigit()):
                in_table = False
                continue
            if in_table:
                rows.append((name, str(r[0]).rstrip(" *"), r[1] or ""))
    return rows


@pytest.mark.parametrize(
    ("budget", "plan"),
    [("montpellier-ca-2018-m57.xml", "rules/nomenclatures/plans/2018/M57.xml.gz"), ("montreuil-ca-2017-m14.xml", "rules/nomenclatures/plans/2017/M14_COM_SUP3500.xml.gz")],
)
def test_every_chapter_and_fonction_shown_has_the_plan_label(tmp_path, budget, plan, request):
    if DATA / budget == MONTPELLIER_XML:  # `classify <budget> -o a.xlsx`: the run shared with other modules (conftest)
        workbook = request.getfixturevalue("montpellier_classified").workbook
    else:
        workbook = tmp_path / "a.xlsx"
        _classify(DATA / budget, workbook)
    rows = _code_rows(workbook)
    labels = _plan_labels(ROOT / plan)
    sections = {"F": "Fonctionnement", "I": "Investissement"}
    assert len(rows) > 30
    for code, label in rows:
        assert label, f"code {code} shown without a label"
        assert label == sections.get(code) or label in labels.get(code, set()), (code, label, labels.get(code))
    # Every account (nature) shown in the carbon budget has its label from the budget's plan; the legal annex
    # lists the M57 accounts the law names (whatever the budget's nomenclature), with their M57 labels.
    accounts = _plan_labels(ROOT / plan, ("Compte",))
    m57 = _plan_labels(ROOT / "rules/nomenclatures/plans/2020/M57.xml.gz", ("Compte",))
    natures = _nature_rows(workbook)
    assert len(natures) > 20 and {s for s, _, _ in natures} == {"Budget carbone", "Annexe légale"}
    for sheet, code, label in natures:
        assert label, f"{sheet}: account {code} shown without a label"
        known = m57 if sheet == "Annexe légale" else accounts
        assert label in known.get(code, set()), (sheet, code, label, known.get(code))


def _classify(src, out):
    from budgetclimat.cli import run
    from click.testing import CliRunner

    with CliRunner().isolation():
        code = run(["classify", str(src), "-o", str(out)])
    assert code in (0, 1) and out.is_file()
