"""Real budgets of other years: each is checked against its own year's plan de comptes, reads with exit 0,
and its totals equal an independent Decimal sum of the raw XML, to the cent.

Montreuil CA 2016 and 2017 (M14, two ASTRE GF versions) are budgets the State accepted: their
opérations d'équipement carry the account in ``ContNat`` where a chapter is expected, and some accounts
are absent from later plans. None of that may make them "invalid".
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA, invoke
from lxml import etree

from budgetclimat.errors import ERROR, WARNING, findings_frame, group_findings, render_group

NS = {"d": "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"}
MONTREUIL = {2016: DATA / "montreuil-ca-2016-m14.xml", 2017: DATA / "montreuil-ca-2017-m14.xml"}
MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"


def raw_lines(path: Path) -> list[dict]:
    """Every ``<LigneBudget>`` as {field: V}, with its XML line, straight from the file."""
    out = []
    for line in etree.parse(str(path)).iterfind(".//d:LigneBudget", NS):
        fields = {etree.QName(c).localname: c.get("V") for c in line if isinstance(c.tag, str) and c.get("Code") is None}
        out.append({**fields, "_line": line.sourceline})
    return out


def section_of(nature: str) -> str:
    """Section by the account's class, as the plans say: 6/7 fonctionnement, 1–5 investissement."""
    special = {"002": "F", "022": "F", "023": "F", "001": "I", "020": "I", "021": "I", "024": "I"}
    return special.get(nature) or ("F" if nature[0] in "67" else "I")


def mtreal_cents(path: Path) -> dict[tuple[str, str, str], int]:
    """Decimal sum of MtReal by section × sens × réel/ordre, in cents, from the raw text."""
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for line in raw_lines(path):
        operation = "ordre" if (line.get("OpBudg") or "0").strip() == "1" else "reel"
        key = (section_of(line["Nature"].strip()), line["CodRD"].strip(), operation)
        sums[key] += Decimal(line.get("MtReal") or "0")
    return {key: int(value * 100) for key, value in sums.items()}


def validate_json(path: Path, code: int = 0) -> dict:
    return json.loads(invoke(["validate", path, "--format", "json"], code).stdout)["files"][0]


def relabel(source: Path, target: Path, year: int) -> Path:
    """A copy of a real TOTEM file whose exercice is ``year`` (everything else unchanged)."""
    text = source.read_bytes()
    old = f'<Exer V="{etree.parse(str(source)).find(".//d:Exer", NS).get("V")}"/>'.encode()
    assert text.count(old) == 1
    target.write_bytes(text.replace(old, f'<Exer V="{year}"/>'.encode()))
    return target


# -- Montreuil CA 2016 / 2017 ----------------------------------------------------------------------


@pytest.mark.parametrize("year", [2016, 2017])
def test_montreuil_validates_against_its_years_plan_with_exit_0(year):
    summary = validate_json(MONTREUIL[year], 0)
    assert summary["exercice"] == year and summary["nomenclature"] == "M14-M14_COM_SUP3500"
    assert summary["plans"] == [f"M14-M14_COM_SUP3500 {year}"]
    assert summary["errors"] == 0
    assert not {f["code"] for f in summary["findings"]} & {"plan-nearest-year", "account-unknown", "account-chapter-mismatch"}
    assert summary["lines_in"] == summary["lines_out"] == len(raw_lines(MONTREUIL[year]))
    # Totals of the lines read = Decimal sums of MtReal in the raw XML, by section × sens × réel/ordre.
    expected = mtreal_cents(MONTREUIL[year])
    got = {(t["section"], t["sens"], t["operation"]): t["lines_cents"] for t in summary["totals"]}
    assert {k: v for k, v in got.items() if v or k in expected} == expected
    assert summary["reconciliation_ok"] is True


@pytest.mark.parametrize("year", [2016, 2017])
def test_montreuil_classifies_with_exit_0_and_every_euro(year, tmp_path):
    out = tmp_path / "summary.json"
    invoke(["classify", MONTREUIL[year], "--summary-json", out], 0)
    summary = json.loads(out.read_text(encoding="utf-8"))
    total = sum(mtreal_cents(MONTREUIL[year]).values())
    assert summary["total_cents"] == total
    assert summary["findings"]["errors"] == 0
    for axis in summary["axes"].values():
        assert axis["in_scope"]["cents"] + axis["out_of_scope"]["cents"] == total


def test_montreuil_equipment_operations_read_as_the_schema_means():
    """``ContNat`` = the line's account on opération d'équipement lines: the operation number goes to
    ``operation_code``, the chapter by nature comes from the year's plan, and no finding is an error."""
    from budgetclimat.read import read_budget

    doc = read_budget(MONTREUIL[2016])
    raw = {line["_line"]: line for line in raw_lines(MONTREUIL[2016])}
    operations = [n for n, line in raw.items() if line.get("Operation")]
    assert len(operations) == 14
    lines = doc.lines.set_index("source_row")
    for row in operations:
        line = raw[row]
        assert line["ContNat"] == line["Nature"]  # the editor's convention the reader must undo
        assert lines.loc[row, "operation_code"] == line["Operation"]
        # M14 chapters by nature of investment accounts are their first two digits (20, 21, 23, 13).
        assert lines.loc[row, "chapitre"] == line["Nature"][:2]
    assert lines.loc[382, ["nature", "chapitre", "operation_code"]].tolist() == ["2135", "21", "20160003"]
    notes = doc.findings[doc.findings["code"] == "totem-contnat-not-chapter"]
    assert sorted(notes["row"].astype(int)) == sorted(operations) and set(notes["level"]) == {"info"}
    # The third-party operations of 2016 carry ContNat 4541/4542, which are chapters of the plan: kept.
    tiers = [n for n, line in raw.items() if line["Nature"] in ("4541", "4542")]
    assert tiers and set(lines.loc[tiers, "chapitre"]) == {"4541", "4542"}
    assert set(lines.loc[tiers, "operation_code"].dropna()) == set()


def test_montreuil_2017_third_party_operations_from_contop():
    from budgetclimat.read import read_budget

    doc = read_budget(MONTREUIL[2017])
    raw = [line for line in raw_lines(MONTREUIL[2017]) if line.get("ContOp")]
    assert {line["ContOp"] for line in raw} == {"454101", "454201"}
    lines = doc.lines.set_index("source_row")
    for line in raw:
        assert lines.loc[line["_line"], "operation_code"] == line["ContOp"]
        assert lines.loc[line["_line"], "chapitre"] == line["Nature"]  # 4541/4542: the plan's chapter


def test_montreuil_display_is_grouped():
    out = invoke(["validate", MONTREUIL[2017]], 0).stdout
    # Seven lines carry ContNat 2312: one entry naming the count and the first five rows.
    [entry] = [line for line in out.splitlines() if "« 2312 »" in line]
    assert entry.endswith("[7 lignes : 6087, 6116, 6178, 6194, 6244, …]")
    assert "32 constat(s) regroupé(s) en 19" in out


def test_report_keeps_the_detail_and_gains_the_groups(tmp_path):
    report = tmp_path / "controles.json"
    invoke(["validate", MONTREUIL[2017], "--report", report], 0)
    data = json.loads(report.read_text(encoding="utf-8"))["files"][0]
    assert len(data["findings"]) == 32
    groups = {(g["code"], g["value"]): g for g in data["groups"]}
    group = groups[("totem-contnat-not-chapter", "2312")]
    assert (group["count"], group["rows"], group["first_row"], group["expected"]) == (7, [6087, 6116, 6178, 6194, 6244], 6087, "23")
    assert sum(g["count"] for g in data["groups"]) == len(data["findings"])


# -- the plan of the document's year ---------------------------------------------------------------


def test_montpellier_relabelled_2016_uses_the_2016_m57_plan(tmp_path):
    path = relabel(MONTPELLIER, tmp_path / "montpellier-2016.xml", 2016)
    summary = validate_json(path, 0)
    assert summary["plans"] == ["M57-M57 2016"]
    assert "plan-nearest-year" not in summary["counts"]


def test_a_2026_m57_budget_uses_the_2022_developpe_plan_with_one_warning(tmp_path):
    path = relabel(MONTPELLIER, tmp_path / "bp-2026.xml", 2026)
    summary = validate_json(path, 0)
    assert summary["plans"] == ["M57-M57_D 2022"]
    [warning] = [f for f in summary["findings"] if f["code"].startswith("plan-")]
    assert (warning["code"], warning["level"], warning["file"], warning["value"]) == ("plan-nearest-year", "warning", "bp-2026.xml", "M57-M57 2026")
    assert warning["expected"] == "M57-M57_D 2022, plans/2022/M57_D.xml.gz"
    assert "le plan de l'année la plus proche est utilisé (M57-M57_D 2022, plans/2022/M57_D.xml.gz)" in warning["message"]


def test_a_2025_m57_budget_classifies_with_one_plan_warning(tmp_path):
    # 2025, not 2026: the carbon deflator table ends in 2025 (another piece of work makes 2026 run).
    from budgetclimat.pipeline import run

    path = relabel(MONTPELLIER, tmp_path / "bp-2025.xml", 2025)
    result = run([path])
    assert (result.findings["code"] == "plan-nearest-year").sum() == 1
    assert not result.has_errors


# -- an account the plan lacks, whose parent it has ------------------------------------------------


def test_account_absent_from_the_plan_takes_its_parents_chapter_with_a_warning(tmp_path):
    from budgetclimat.nomenclature import plan_for
    from budgetclimat.read import read_budget

    plan, _ = plan_for("M14-M14_COM_SUP3500", None, 2016)
    accounts = plan.accounts.set_index("code")
    assert "63329" not in accounts.index and accounts.loc["6332", "chapter_real_d"] == "012"
    # The first line of Montreuil 2016 (6332, ContNat 012, 1 851,09 €) becomes an account the plan lacks,
    # without a chapter of its own: the reader and the validation must fall back on 6332.
    text = MONTREUIL[2016].read_text(encoding="utf-8")
    old = '<Nature V="6332"/>\n      <Fonction V="61"/>\n      <ContNat V="012"/>'
    assert text.count(old) == 1
    path = tmp_path / "sub-account.xml"
    path.write_text(text.replace(old, '<Nature V="63329"/>\n      <Fonction V="61"/>'), encoding="utf-8")
    row = next(line["_line"] for line in raw_lines(path) if line["Nature"] == "63329")

    line = read_budget(path).lines.set_index("source_row").loc[row]
    assert (line["nature"], line["chapitre"], line["executed_cents"]) == ("63329", "012", 185109)

    summary = validate_json(path, 0)
    [finding] = [f for f in summary["findings"] if f["row"] == row and f["code"].startswith("account-")]
    assert (finding["code"], finding["level"], finding["column"], finding["value"]) == ("account-parent-chapter", "warning", "nature", "63329")
    assert finding["expected"] == "compte 6332, chapitre 012, M14-M14_COM_SUP3500 2016"
    assert summary["errors"] == 0


# -- grouping, as a library function ---------------------------------------------------------------


def test_group_findings_counts_and_first_rows():
    rows = [{"level": WARNING, "code": "account-unknown", "file": "b.xml", "row": r, "column": "nature", "value": "99999", "expected": "M57"} for r in (40, 12, 30, 20, 50, 60, 70)]
    rows += [{"level": WARNING, "code": "account-unknown", "file": "b.xml", "row": 5, "column": "nature", "value": "88888", "expected": "M57"}]
    rows += [{"level": ERROR, "code": "amount-not-a-number", "file": "b.xml", "row": 9, "column": "MtReal", "value": "x", "expected": "1234.56"}]
    groups = group_findings(findings_frame(rows))
    assert groups[["level", "code", "value", "count", "first_row"]].values.tolist() == [
        ["error", "amount-not-a-number", "x", 1, 9],
        ["warning", "account-unknown", "99999", 7, 12],
        ["warning", "account-unknown", "88888", 1, 5],
    ]
    assert groups.loc[1, "rows"] == [12, 20, 30, 40, 50]
    text = render_group(groups.loc[1].to_dict(), "fr")
    assert text.startswith('fichier b.xml, ligne 12, colonne nature : "99999"') and text.endswith("[7 lignes : 12, 20, 30, 40, 50, …]")
    assert render_group(groups.loc[2].to_dict(), "en").endswith("(expected: an account of the plan de comptes)")
    assert group_findings(findings_frame([])).empty
    assert list(group_findings(pd.DataFrame(rows[:1]))["count"]) == [1]


def test_contnat_is_read_as_an_account_only_when_it_is_no_chapter():
    from budgetclimat.nomenclature import plan_for
    from budgetclimat.read.totem import _account_in_chapter_field

    plan, _ = plan_for("M14-M14_COM_SUP3500", None, 2016)
    s = lambda *values: pd.Series(values, dtype="string")  # noqa: E731
    contnat = s("2135", "20160003", "023", "4541", "21", "651", None)
    nature = s("2135", "2313", "023", "4541", "2135", "651", "6064")
    operation = s("20160003", "20160003", None, None, None, None, None)
    # 023 and 4541 are chapters of the plan equal to their account: they stay chapters.
    assert _account_in_chapter_field(contnat, nature, operation, plan).tolist() == [True, True, False, False, False, True, False]
    # Without a plan only codes longer than a chapter are taken for accounts (45… chapters excepted).
    assert _account_in_chapter_field(contnat, nature, operation, None).tolist() == [True, True, False, False, False, False, False]
