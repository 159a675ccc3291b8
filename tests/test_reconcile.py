"""reconcile(): canonical totals against the reader's raw totals, and the ordre balance."""

from __future__ import annotations

import csv
from decimal import Decimal

import pandas as pd
import pytest
from conftest import DATA
from test_validate import GOOD, make_doc

from budgetclimat.reconcile import TOTALS_COLUMNS, reconcile

ORDRE_F = dict(nature="6811", fonction="01", section="F", sens="D", operation="ordre", ordre_kind="section", chapitre="042")
ORDRE_I = dict(nature="28051", fonction="01", section="I", sens="R", operation="ordre", ordre_kind="section", chapitre="040")


def raw_from(doc, shift: dict | None = None) -> pd.DataFrame:
    """Raw totals as a reader would give them, optionally off by some cents for a group."""
    lines = doc.lines
    raw = lines.groupby(["section", "sens", "operation"]).agg(lines=("amount_cents", "size"), total_cents=("amount_cents", "sum")).reset_index()
    raw["basis"] = "executed"
    for (section, sens, operation), cents in (shift or {}).items():
        pick = (raw["section"] == section) & (raw["sens"] == sens) & (raw["operation"] == operation)
        raw.loc[pick, "total_cents"] += cents
    return raw


def test_totals_match_to_the_cent():
    doc = make_doc([GOOD, {**ORDRE_F, "executed_cents": 500}, {**ORDRE_I, "executed_cents": 500}])
    doc.raw_totals = raw_from(doc)
    rec = reconcile(doc)
    assert list(rec.totals.columns) == TOTALS_COLUMNS
    assert len(rec.totals) == 8  # F/I × D/R × reel/ordre, always all shown
    assert rec.ok and rec.ordre_balanced and rec.findings.empty
    f_d_reel = rec.totals.set_index(["section", "sens", "operation"]).loc[("F", "D", "reel")]
    assert (f_d_reel["lines_in"], f_d_reel["lines_out"], f_d_reel["lines_cents"]) == (1, 1, 12345)


def test_a_cent_of_difference_is_an_error():
    doc = make_doc([GOOD, {**GOOD, "fonction": "021"}])
    doc.raw_totals = raw_from(doc, {("F", "D", "reel"): 1})
    rec = reconcile(doc)
    assert not rec.ok
    bad = rec.totals[rec.totals["difference_cents"] != 0]
    assert bad[["section", "sens", "operation", "difference_cents"]].values.tolist() == [["F", "D", "reel", -1]]
    assert list(rec.findings["code"]) == ["reconciliation-mismatch"]
    finding = rec.findings.iloc[0]
    assert (finding["level"], finding["column"]) == ("error", "F/D/reel")
    assert "246,90" in finding["value"] and "246,91" in finding["expected"]


def test_lost_line_is_an_error_even_if_amounts_agree():
    doc = make_doc([GOOD])
    raw = raw_from(doc)
    raw["lines"] += 1
    doc.raw_totals = raw
    rec = reconcile(doc)
    assert not rec.ok and list(rec.findings["code"]) == ["reconciliation-mismatch"]


def test_no_raw_totals_is_said_not_hidden():
    rec = reconcile(make_doc([GOOD]))
    assert not rec.available and not rec.ok
    assert list(rec.findings["code"]) == ["reconciliation-unavailable"]
    assert rec.findings.iloc[0]["level"] == "warning"


def test_ordre_imbalance_is_a_warning_that_mentions_partial_documents():
    doc = make_doc([{**ORDRE_F, "executed_cents": 500}, {**ORDRE_I, "executed_cents": 400}])
    doc.raw_totals = raw_from(doc)
    rec = reconcile(doc)
    assert rec.ok and not rec.ordre_balanced
    section_f = rec.ordre.iloc[0]
    assert (section_f["expense_cents"], section_f["revenue_cents"], section_f["difference_cents"]) == (500, 400, 100)
    assert list(rec.findings["code"]) == ["ordre-unbalanced"]
    from budgetclimat.errors import render_finding

    assert "partie du document" in render_finding(rec.findings.iloc[0].to_dict())


def test_ordre_balances_per_budget_in_a_file_of_several_collectivites():
    """Two collectivités of a DGFiP balance, each unbalanced, whose imbalances offset each other: the file's
    sums balance, but each budget is named in its own warning (the pooled check said « balanced »)."""
    a = dict(siret="213401722", collectivite="VILLE A", budget_code="1")
    b = dict(siret="210600888", collectivite="VILLE B", budget_code="1")
    doc = make_doc([
        {**ORDRE_F, **a, "executed_cents": 500}, {**ORDRE_I, **a, "executed_cents": 400},
        {**ORDRE_F, **b, "executed_cents": 300}, {**ORDRE_I, **b, "executed_cents": 400},
    ])
    doc.raw_totals = raw_from(doc)
    rec = reconcile(doc)
    assert (rec.ordre["difference_cents"] == 0).all()  # pooled: 800 against 800
    assert rec.ok and rec.ordre_balanced is False
    by_budget = rec.ordre_by_budget.set_index(["siret", "pair"])
    pair = rec.ordre.iloc[0]["pair"]
    assert by_budget.loc[("213401722", pair), ["expense_cents", "revenue_cents", "difference_cents"]].tolist() == [500, 400, 100]
    assert by_budget.loc[("210600888", pair), ["expense_cents", "revenue_cents", "difference_cents"]].tolist() == [300, 400, -100]
    assert list(rec.findings["code"]) == ["ordre-unbalanced", "ordre-unbalanced"]
    columns = sorted(rec.findings["column"])
    assert columns[0].endswith("VILLE A (SIREN 213401722, budget 1)") and columns[1].endswith("VILLE B (SIREN 210600888, budget 1)")
    assert sorted(rec.findings["value"]) == ["3,00 €", "5,00 €"]


def test_one_budget_per_file_keeps_the_file_wide_warning():
    doc = make_doc([{**ORDRE_F, "executed_cents": 500}, {**ORDRE_I, "executed_cents": 400}])
    doc.raw_totals = raw_from(doc)
    rec = reconcile(doc)
    assert list(rec.findings["column"]) == [rec.ordre.iloc[0]["pair"]]  # no collectivité named: there is one


def test_ordre_kind_falls_back_on_the_chapter():
    doc = make_doc([{**ORDRE_F, "ordre_kind": None, "executed_cents": 7}, {**ORDRE_I, "ordre_kind": None, "executed_cents": 7}])
    assert reconcile(doc).ordre.iloc[0][["expense_cents", "revenue_cents"]].tolist() == [7, 7]


# -- real files ------------------------------------------------------------------------------------


def _montpellier_independent() -> dict:
    """Sums of MtReal by section × sens × réel/ordre straight from the XML files, with Decimal.

    The section of a line is that of its chapter (``ContFon``: functional chapter under vote par
    fonction, or chapter by nature) as the official plan's ``<Chapitre Section=…>`` says.
    """
    from lxml import etree

    plan = etree.parse(str(_plan_path("plan-de-compte-M57-M57-2018.xml")))
    section_of = {c.get("Code"): c.get("Section") for c in plan.iter("Chapitre") if c.get("Section")}
    ns = {"d": "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"}
    sums: dict = {}
    for line in etree.parse(str(DATA / "montpellier-ca-2018-m57.xml")).iterfind(".//d:LigneBudget", ns):
        value = {child.tag.split("}")[1]: child.get("V") for child in line}
        # Third-party operations carry their own number as ContFon: the 90/93 prefix of Fonction decides.
        section = section_of.get(value["ContFon"]) or {"90": "I", "93": "F"}[value["Fonction"][:2]]
        key = (section, value["CodRD"], "ordre" if value["OpBudg"] == "1" else "reel")
        n, total = sums.get(key, (0, Decimal(0)))
        sums[key] = (n + 1, total + Decimal(value.get("MtReal") or "0"))
    return sums


def _plan_path(name: str):
    from pathlib import Path

    for folder in (Path(__file__).resolve().parents[1] / "rules" / "nomenclatures", Path("/work/shared/data/nomenclatures")):
        if (folder / name).is_file():
            return folder / name
    pytest.skip(f"plan {name} not available")


@pytest.fixture(scope="module")
def montpellier():
    from budgetclimat.read import read_budget

    return read_budget(DATA / "montpellier-ca-2018-m57.xml")


def test_montpellier_reconciles(montpellier):
    rec = reconcile(montpellier)
    assert rec.ok and rec.ordre_balanced and rec.findings.empty
    assert int(rec.totals["lines_in"].sum()) == int(rec.totals["lines_out"].sum()) == 1697
    totals = rec.totals.set_index(["section", "sens", "operation"])
    for key, (n, total) in _montpellier_independent().items():
        assert totals.loc[key, "lines_out"] == n, key
        assert totals.loc[key, "lines_cents"] == int(total * 100), key
    # PRIMER §6: real expenses F 295.79 M€, I 114.83 M€; ordre expenses F = ordre revenue I = 22.52 M€.
    assert round(totals.loc[("F", "D", "reel"), "lines_cents"] / 1e8, 2) == 295.79
    assert round(totals.loc[("I", "D", "reel"), "lines_cents"] / 1e8, 2) == 114.83
    assert totals.loc[("F", "D", "ordre"), "lines_cents"] == totals.loc[("I", "R", "ordre"), "lines_cents"]


def test_gironde_reconciles():
    from budgetclimat.read import read_budget

    doc = read_budget(DATA / "gironde-ca-2016-m52-cedi.csv")
    rec = reconcile(doc)
    assert rec.ok and rec.ordre_balanced
    assert int(rec.totals["lines_in"].sum()) == int(rec.totals["lines_out"].sum()) == 1251
    sums: dict = {}
    with open(DATA / "gironde-ca-2016-m52-cedi.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = (row["Investissement/Fonctionnement"], row["Dépense/Recette"], "reel" if row["Réel/Ordre id/Ordre diff"] == "OR" else "ordre")
            sums[key] = sums.get(key, Decimal(0)) + Decimal(row["Montant"])
    totals = rec.totals.set_index(["section", "sens", "operation"])["lines_cents"]
    assert {k: int(v * 100) for k, v in sums.items()} == {k: int(totals[k]) for k in sums}
    # PRIMER §6: real expenses F 1,375.63 M€, I 311.86 M€.
    assert round(totals[("F", "D", "reel")] / 1e8, 2) == 1375.63
    assert round(totals[("I", "D", "reel")] / 1e8, 2) == 311.86
