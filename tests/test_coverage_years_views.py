"""Issue 8, items 7 and 8, through the CLI: nomenclatures the rulebooks do not cover (M52 read through the
M52 -> M57 crosswalk, the rest said in one finding), no year too late (2026 budget, deflator ending in 2025),
and a failing view that leaves the coloured budget and the legal annex intact."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import DATA, MONTPELLIER_XML, invoke

ROOT = Path(__file__).resolve().parents[1]
GIRONDE = DATA / "gironde-ca-2016-m52-cedi.csv"
MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"
CROSSWALKS = ROOT / "rules" / "crosswalks"
# Prefixes the shipped scope rulebook (rules/scope/default.yaml) excludes, and chapter 014.
SCOPE_OUT = ("16", "66", "68", "26", "27", "45", "10", "13", "15", "28", "29", "39", "49", "59", "675", "676", "775", "776", "739",
             "001", "002", "020", "021", "022", "023", "024")  # fmt: skip


def _out_of_scope(nature: str, chapitre: str) -> bool:
    """The shipped scope rules, restated: excluded prefixes and chapter 014, except 1675 (PPP investment part)."""
    return (nature.startswith(SCOPE_OUT) and not nature.startswith("1675")) or chapitre == "014"


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)


def _gironde_rows():
    """The raw CSV rows, read independently of the library: (row number, nature, fonction, sens, réel?, chapitre, cents)."""
    with open(GIRONDE, encoding="utf-8", newline="") as f:
        for i, r in enumerate(csv.DictReader(f), start=2):
            yield (i, r["Article"].lstrip("A").rstrip("."), r["Rubrique fonctionnelle"].lstrip("R"), r["Dépense/Recette"],
                   r["Réel/Ordre id/Ordre diff"] == "OR", r["Chapitre"].lstrip("C"), _cents(r["Montant"]))


# ---- M52 ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gironde(tmp_path_factory):
    out = tmp_path_factory.mktemp("gironde")
    result = invoke(["classify", GIRONDE, "-o", out / "g.xlsx", "--lines-out", out / "l.csv", "--summary-json", out / "s.json"])
    lines = pd.read_csv(out / "l.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=";")
    return out, result, lines, json.loads((out / "s.json").read_text(encoding="utf-8"))


def test_gironde_m52_has_in_scope_euros_through_the_crosswalk(gironde):
    _, _, lines, summary = gironde
    accounts = {r["code"] for r in csv.DictReader(open(CROSSWALKS / "m52-m57-accounts.csv", encoding="utf-8"))}
    fonctions = {r["m52"] for r in csv.DictReader(open(CROSSWALKS / "m52-m57-fonctions.csv", encoding="utf-8"))}
    expected = 0
    for _, nature, fonction, sens, reel, chapitre, cents in _gironde_rows():
        if sens == "D" and reel and not _out_of_scope(nature, chapitre) and nature in accounts and fonction in fonctions:
            expected += cents
    assert expected > 0
    for axis in ("attenuation", "biodiversite"):
        assert summary["axes"][axis]["in_scope"]["cents"] == expected


@pytest.mark.parametrize(
    ("row", "rule", "klass"),
    [
        # 6247 « Transports collectifs du personnel », fonction 738 -> I4CE staff travel by public transport: TF.
        (982, "ATT-DEPLACEMENTS-TC", "TF"),
        # 2051 « Concessions et droits similaires » (software licences), fonction 52: IT software, N.
        (461, "ATT-NTIC-LOGICIELS", "N"),
        # 20422 equipment subsidy, fonction 53 personnes âgées = M57 423: an equipment subsidy funds works or
        # equipment a criterion covers, so it is AA (autre_subvention cell 141), not read by its fonction.
        (390, "ATT-SUBV-AA", "AA"),
    ],
)
def test_gironde_hand_checked_lines(gironde, row, rule, klass):
    _, _, lines, _ = gironde
    got = lines[(lines["source_row"] == str(row)) & (lines["axis"] == "attenuation")]
    assert len(got) == 1
    assert got["nomenclature"].iloc[0] == "M52" and got["scope"].iloc[0] == "in"
    assert (got["rule_id"].iloc[0], got["class"].iloc[0]) == (rule, klass)


def test_explain_says_how_an_m52_line_was_read():
    # Row 390 (line 389): 20422 under M52 fonction 53 personnes âgées, read as M57 fonction 423.
    result = invoke(["explain", GIRONDE, "--line", "2016CA-00-00389"])
    assert "(lue comme M57, fonction 423 par la correspondance du livre)" in result.stdout
    assert "ATT-SUBV-AA : s'applique" in result.stdout


def test_gironde_uncovered_lines_are_said_in_one_finding(gironde):
    out, result, lines, summary = gironde
    accounts = {r["code"] for r in csv.DictReader(open(CROSSWALKS / "m52-m57-accounts.csv", encoding="utf-8"))}
    fonctions = {r["m52"] for r in csv.DictReader(open(CROSSWALKS / "m52-m57-fonctions.csv", encoding="utf-8"))}
    n, cents = 0, 0
    for _, nature, fonction, sens, reel, chapitre, amount in _gironde_rows():
        if sens == "D" and reel and not _out_of_scope(nature, chapitre) and not (nature in accounts and fonction in fonctions):
            n, cents = n + 1, cents + amount
    assert (n, cents) == (198, 20941483093)  # from the raw CSV: 198 lines, 209 414 830,93 €
    assert result.stdout.count("nomenclature-not-covered") == 2  # the count line and the sentence
    assert "M52 : 198 lignes, 209\u202f414\u202f830,93 €" in result.stdout
    assert "M52 → M57" in result.stdout
    # Row 313: 23153 « Réseaux divers en cours » under fonction 64 (fluvial and maritime: no clean M57 fonction).
    # Row 421: 204152 (M52 « Autres groupements… - Bâtiments et installations »; M57 204152 is another
    # subdivision of the subsidies to groupings), fonction 93 mapped: uncovered for its account alone.
    for row in ("313", "421"):
        got = lines[(lines["source_row"] == row) & (lines["axis"] == "attenuation")]
        assert got["scope"].iloc[0] == "out" and got["scope_reason"].iloc[0] == "nomenclature non couverte"
    ws = openpyxl.load_workbook(out / "g.xlsx", read_only=True)["Synthèse"]
    first = next(ws.iter_rows(min_row=1, max_row=1, values_only=True))[0]
    assert first.startswith("gironde-ca-2016-m52-cedi.csv : M52 : 198 lignes, 209\u202f414\u202f830,93 €")


def test_m57_budget_has_no_uncovered_finding(montpellier_runs):
    _, s2018, _ = montpellier_runs
    assert "nomenclature-not-covered" not in json.dumps(s2018)


def test_crosswalk_refuses_a_fonction_without_rationale(tmp_path):
    from budgetclimat.errors import ConfigError
    from budgetclimat.rulebook.crosswalk import load_crosswalk

    (tmp_path / "a.csv").write_text("code,label_m52,label_m57\n60611,Eau,Eau\n", encoding="utf-8")
    (tmp_path / "f.csv").write_text("m52,label_m52,m57,label_m57,rationale\n62,Routes,84,Voirie,same\n621,R,843,V,\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("crosswalk:\n  id: x\n  from: M52\n  to: M57\n  accounts: a.csv\n  fonctions: f.csv\n  rationale: r\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_crosswalk(tmp_path / "c.yaml")
    assert exc.value.params["line"] == 3 and exc.value.params["key"] == "rationale"


def test_crosswalk_translates_only_clean_lines():
    from budgetclimat.rulebook.crosswalk import load_crosswalk, translate

    cw = load_crosswalk(CROSSWALKS / "m52-to-m57.yaml")
    frame = pd.DataFrame({"nomenclature": ["M52", "M52", "M52", "M57"], "nature": ["60611", "60611", "204152", "60611"],
                          "fonction": ["621", "64", "621", "621"]}, dtype="string")
    got = translate(frame, [cw])
    assert got["nomenclature"].tolist() == ["M57", "M52", "M52", "M57"]
    assert got["fonction"].tolist() == ["843", "64", "621", "621"]  # routes M52 621 = voirie départementale M57 843


# ---- a 2026 budget and an isolated failing view ------------------------------------------------------


def _sheet_values(path: Path, name: str) -> list[tuple]:
    ws = openpyxl.load_workbook(path, read_only=True)[name]
    return [row for row in ws.iter_rows(values_only=True)]


@pytest.fixture(scope="module")
def montpellier_runs(tmp_path_factory, montpellier_classified):
    out = tmp_path_factory.mktemp("y2026")
    xml2026 = out / "montpellier-ca-2026-m57.xml"
    text = MONTPELLIER.read_bytes()
    assert text.count(b'<Exer V="2018"/>') == 1
    xml2026.write_bytes(text.replace(b'<Exer V="2018"/>', b'<Exer V="2026"/>'))
    r2026 = invoke(["classify", xml2026, "-o", out / "a.xlsx", "--summary-json", out / "a.json"])
    # 2018: `classify MONTPELLIER --summary-json`, whose stdout and summary are those of the shared run (conftest)
    assert MONTPELLIER == MONTPELLIER_XML
    r2018 = montpellier_classified
    return (r2026, r2018.summary_data(), (out, xml2026, r2018))


def test_2026_budget_runs_with_one_deflator_warning(montpellier_runs):
    r2026, s2018, (out, _, r2018) = montpellier_runs
    s2026 = json.loads((out / "a.json").read_text(encoding="utf-8"))
    assert s2026["axes"] == s2018["axes"]  # the same coloured budget, to the cent
    assert "deflator-nearest-year (avertissement) : 1" in r2026.stdout
    assert "pas d'indice de prix pour l'année 2026 ; l'indice de l'année la plus proche (2025)" in r2026.stdout
    assert s2026["carbon"] is not None and s2026["carbon"]["tco2e"] > 0
    assert "annex-nearest-year" not in r2026.stdout  # 2026 is under the 2025 definition
    # 2018 precedes every legal-annex definition: the annex is drawn up with the 2024 one, said once.
    assert "annex-nearest-year (avertissement) : 1" in r2018.stdout and "deflator-nearest-year" not in r2018.stdout


def test_a_failing_view_leaves_the_coloured_budget_and_annex_intact(montpellier_runs, tmp_path, monkeypatch):
    _, _, (out, xml2026, _) = montpellier_runs

    def broken(*args, **kwargs):
        raise RuntimeError("factor table exploded")

    from budgetclimat.views.base import VIEWS, ViewSpec

    monkeypatch.setitem(VIEWS, "carbon", ViewSpec("carbon", broken))
    result = invoke(["classify", xml2026, "-o", tmp_path / "f.xlsx", "--summary-json", tmp_path / "f.json"])
    assert "view-failed (avertissement) : 1" in result.stdout and "factor table exploded" in result.stdout
    failed = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    normal = json.loads((out / "a.json").read_text(encoding="utf-8"))
    assert failed["axes"] == normal["axes"] and failed["weighted"] == normal["weighted"]
    for sheet in ("Budget vert coloré", "Annexe légale"):
        assert _sheet_values(tmp_path / "f.xlsx", sheet) == _sheet_values(out / "a.xlsx", sheet)
    annex = [v for row in _sheet_values(tmp_path / "f.xlsx", "Annexe légale") for v in row if v]
    assert "Impact du budget pour la transition écologique" in annex and any(str(v).startswith("Définition appliquée : modèle « Impact du budget pour la transition écologique » de 2025") for v in annex)
    carbon = [v for row in _sheet_values(tmp_path / "f.xlsx", "Budget carbone") for v in row if v]
    assert any("n'a pas pu être calculée" in str(v) and "factor table exploded" in str(v) for v in carbon)


def test_a_nomenclature_no_rulebook_knows_is_read_reconciled_and_reported(tmp_path):
    # The Gironde export relabelled M71 (régions): no scope nor classification rulebook covers it.
    text = GIRONDE.read_text(encoding="utf-8")
    assert text.count(",M52,2016,") == 1251
    m71 = tmp_path / "region-ca-2016-m71.csv"
    m71.write_text(text.replace(",M52,2016,", ",M71,2016,"), encoding="utf-8")
    spending = [cents for _, _, _, sens, reel, _, cents in _gironde_rows() if sens == "D" and reel]
    result = invoke(["classify", m71, "--summary-json", tmp_path / "s.json"])
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert summary["axes"]["attenuation"]["in_scope"]["cents"] == 0
    assert summary["total_cents"] == sum(c for *_, c in _gironde_rows())  # read to the cent
    assert summary["reconciliation"]["ok"] is True  # and reconciled
    from budgetclimat.money import format_euros

    assert f"M71 : {len(spending)} lignes, {format_euros(sum(spending))}" in result.stdout
    assert "nomenclature-not-covered (avertissement) : 1" in result.stdout
