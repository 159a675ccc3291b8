"""Bad input through the command line, as a finance officer meets it: each case gives its documented
code, a French message naming file, row (or XML line), column and value, the documented exit code
(1 invalid data, 2 usage or configuration), and never a traceback (``invoke`` checks that)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA, FIXTURES, invoke

ROOT_RULES = Path(__file__).resolve().parents[1] / "rules"

TOTEM = FIXTURES / "totem"
TAB = FIXTURES / "tabular"


@pytest.mark.parametrize(
    ("path", "code", "exit_code", "words"),
    [
        (TAB / "missing-column.csv", "missing-column", 1, ["missing-column.csv", "colonne"]),
        (TAB / "empty.csv", "empty-file", 1, ["empty.csv"]),
        (TAB / "undecodable.csv", "undecodable", 1, ["undecodable.csv"]),
        (TOTEM / "truncated.xml", "xml-malformed", 1, ["truncated.xml", "ligne"]),
        (TOTEM / "doctype.xml", "xml-entity-forbidden", 1, ["doctype.xml", "DOCTYPE"]),
        (TOTEM / "empty.xml", None, 1, ["empty.xml"]),
        (TOTEM / "encoding-mismatch.xml", "xml-encoding-mismatch", 1, ["encoding-mismatch.xml"]),
    ],
)
def test_unreadable_files_stop_with_exit_1(path, code, exit_code, words):
    result = invoke(["validate", path], exit_code)
    assert result.stderr.startswith("Erreur : ")
    for word in words:
        assert word in result.stderr
    if code is not None:
        from budgetclimat import i18n

        assert code in i18n.catalogue()


def test_text_in_an_amount_is_listed_with_row_column_and_value():
    result = invoke(["validate", TAB / "amount-text.csv", "--format", "json"], 1)
    findings = json.loads(result.stdout)["files"][0]["findings"]
    bad = sorted((f["row"], f["column"], f["value"]) for f in findings if f["code"] == "amount-not-a-number")
    # Computed from the fixture itself: rows 3 and 4 (header is row 1) carry "12,5,0" and "n/a".
    assert bad == [(3, "Réalisé", "12,5,0"), (4, "Réalisé", "n/a")]


def test_text_in_a_totem_amount_names_the_xml_line(tmp_path):
    path = TOTEM / "ca-2018-text-amount.xml"
    lines = path.read_text(encoding="utf-8" if b"UTF-8" in path.read_bytes()[:60] else "latin-1").splitlines()
    result = invoke(["validate", path, "--format", "json"], 1)
    findings = [f for f in json.loads(result.stdout)["files"][0]["findings"] if f["code"] == "amount-not-a-number"]
    assert findings
    for f in findings:
        # the reported line is the <LigneBudget> element holding the bad field
        assert "<LigneBudget" in lines[f["row"] - 1]
        block = "\n".join(lines[f["row"] - 1 : f["row"] + 25])
        assert f'V="{f["value"]}"' in block


def test_unknown_account_is_a_warning_finding():
    result = invoke(["validate", FIXTURES / "validate" / "unknown-account.csv"], 0)
    assert "account-unknown (avertissement)" in result.stdout


def test_amounts_in_centimes_are_flagged(tmp_path):
    profile = tmp_path / "centimes.yaml"
    profile.write_text(
        "id: centimes\ntitle: Export en centimes\n"
        "detect: {headers: [ANNEE, COMPTE, MONTANT_CTS]}\n"
        "read: {amounts_in_cents: true}\n"
        "constants: {doc_type: BP, nomenclature: M57, budget_kind: principal, section: F, sens: D, operation: reel}\n"
        "columns: {exercice: ANNEE, nature: COMPTE}\n"
        "amounts: {voted: MONTANT_CTS}\n",
        encoding="utf-8",
    )
    data = tmp_path / "bp.csv"
    data.write_text("ANNEE;COMPTE;MONTANT_CTS\n2021;6042;123456\n", encoding="utf-8")
    result = invoke(["validate", data, "--profile", profile, "--format", "json"], 0)
    summary = json.loads(result.stdout)["files"][0]
    assert [f["code"] for f in summary["findings"] if f["code"] == "amount-in-centimes"] == ["amount-in-centimes"]


def test_xlsx_with_title_rows_is_read():
    # An in-house export says neither its nomenclature nor its budget: without them the lines are
    # invalid (exit 1) and the message says which columns are missing...
    result = invoke(["validate", TAB / "erp-title-rows.xlsx", "--format", "json"], 1)
    summary = json.loads(result.stdout)["files"][0]
    assert {f["column"] for f in summary["findings"] if f["code"] == "required-missing"} == {"budget_kind", "nomenclature"}
    # ... and the user supplies them on the command line.
    result = invoke(["validate", TAB / "erp-title-rows.xlsx", "--set", "nomenclature=M57", "--set", "budget_kind=principal", "--format", "json"], 0)
    summary = json.loads(result.stdout)["files"][0]
    # 4 data rows below 3 title rows and a blank row in the fixture (tests/fixtures/tabular/make_fixtures.py)
    assert summary["lines_in"] == summary["lines_out"] == 4
    assert summary["plans"] == ["M57-M57_D 2022"]  # an M57 budget of 2023: the nearest plan, the 2022 développé


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "no-such-file.xml"],
        ["validate", DATA / "montpellier-ca-2018-m57.xml", "--profile", "no-such-profile"],
        ["validate", DATA / "montpellier-ca-2018-m57.xml", "--basis", "nonsense"],
        ["validate"],
        ["validate", DATA / "montpellier-ca-2018-m57.xml", "--set", "nomenclature"],
        ["validate", FIXTURES / "tabular" / "generic-fr.csv", "--set", "no_such_column=1"],
        ["validate", DATA / "montpellier-ca-2018-m57.xml", "--report", DATA / "montpellier-ca-2018-m57.xml"],
    ],
)
def test_usage_mistakes_exit_2(args):
    before = (DATA / "montpellier-ca-2018-m57.xml").read_bytes()
    invoke(args, 2)
    assert (DATA / "montpellier-ca-2018-m57.xml").read_bytes() == before


def test_messages_in_english_on_request():
    result = invoke(["--lang", "en", "validate", "no-such-file.xml"], 2)
    assert result.stderr.startswith("Error: ")
    assert "not found" in result.stderr


def test_a_rulebook_of_another_kind_given_as_weights_or_carbon_is_a_usage_error(tmp_path):
    """Found by a new user: ``compare --weights`` with a classification rulebook was an internal error."""
    rulebook = ROOT_RULES / "i4ce-2022" / "attenuation.yaml"
    for option, kind in (("--weights", "weights"), ("--carbon", "carbon")):
        result = invoke(["compare", DATA / "montreuil-ca-2016-m14.xml", option, rulebook], code=2)
        assert "Erreur interne" not in result.output
        assert f"« classification », alors qu'il faut ici un livre de type « {kind} »" in result.stderr, result.output


def test_a_budget_with_nothing_in_scope_has_ranges_without_a_failed_view(tmp_path):
    """Found by a new user: a budget with revenue lines only (nothing in scope, no question) made the ranges
    fail (« No objects to concatenate »): the ranges of an axis with nothing open are points."""
    path = tmp_path / "recettes.csv"
    header = "Exercice;Type fichier;Type nomenclature;Dépense/Recette;Investissement/Fonctionnement;Réel/Ordre id/Ordre diff;Chapitre;Article;Rubrique fonctionnelle;Libellé;Montant\n"
    rows = [f"2016;CA;M52;R;I;OR;C27;A2748;R01;Autres prêts {i};{i} 000,00 €\n" for i in range(1, 6)]
    path.write_text(header + "".join(rows), encoding="utf-8")
    summary = tmp_path / "r.json"
    result = invoke(["classify", path, "--summary-json", summary])
    assert "view-failed" not in result.output, result.output
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["total_cents"] == 1_500_000  # 1 000 + … + 5 000 €
    for axis in data["axes"].values():
        assert axis["in_scope"]["cents"] == 0 and axis["bounds"]["favourable_max_cents"] == 0


def test_an_error_exit_never_aborts_in_the_interpreters_teardown(tmp_path):
    """An unclosed quote makes the read fail after Arrow has read the text: the exit is 1, never an abort
    (« terminate called without an active exception », exit 134) from Arrow objects freed after Arrow's own
    teardown. Before the fix it happened on about one run in six, so 8 runs fail the old code 4 times in 5."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    bad = tmp_path / "ouvert.csv"
    bad.write_text(
        "Exercice;Collectivité;Nomenclature;Type de document;Section;Sens;Réel/Ordre;Chapitre;Nature;Fonction;Libellé;Montant réalisé\n"
        '2022;Commune;M57;CA;Fonctionnement;Dépense;Réel;011;6184;420;"Électricité sans fin;562,83\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "budgetclimat", "classify", str(bad), "--set", "budget_kind=principal", "--lines-out", str(tmp_path / "r.parquet")]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: subprocess.run(command, capture_output=True, text=True, timeout=120), range(8)))
    assert [r.returncode for r in runs] == [1] * 8, [r.stderr[-300:] for r in runs if r.returncode != 1]
    assert all("terminate called" not in r.stderr and r.stderr.startswith("Erreur : fichier ouvert.csv") for r in runs)
    assert not (tmp_path / "r.parquet").exists()
