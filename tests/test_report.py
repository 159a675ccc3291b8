"""The reports the commands print are built by library functions (:mod:`budgetclimat.report`): a notebook
gets, without the CLI, exactly the text the terminal shows, and the commands check every input file once,
through the reader, before reading any."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest
from conftest import DATA, MONTPELLIER_XML, invoke

from budgetclimat import i18n

MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"
MONTREUIL = DATA / "montreuil-ca-2016-m14.xml"


def _mtreal_cents(path) -> int:
    """Sum of every <MtReal V="…"/> of a TOTEM file, in cents, by Decimal from the raw text."""
    from lxml import etree

    ns = {"d": "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"}
    total = sum((Decimal(e.get("V")) for e in etree.parse(str(path)).iterfind(".//d:LigneBudget/d:MtReal", ns)), Decimal(0))
    return int(total * 100)


@pytest.fixture(scope="module")
def montpellier_run():
    from budgetclimat.pipeline import run

    return run([MONTPELLIER])


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_validate_report_in_python_is_what_the_command_prints(lang):
    from budgetclimat.report import validate_files

    args = ["--lang", "en"] if lang == "en" else []
    printed = invoke([*args, "validate", MONTPELLIER]).stdout
    printed_json = json.loads(invoke([*args, "validate", MONTPELLIER, "--format", "json"]).stdout)
    i18n.set_language(lang)
    report = validate_files([MONTPELLIER])
    assert report.text() + "\n" == printed
    assert report.to_dict() == printed_json
    assert (report.errors, report.has_errors) == (0, False)
    # The totals table holds every line read: its cells add up to the MtReal of the XML, to the cent.
    totals = report.documents[0].reconciliation.totals
    assert int(totals["lines_cents"].sum()) == _mtreal_cents(MONTPELLIER) == 89399819393
    assert ("Lignes : 1\u202f697 dans le fichier source, 1\u202f697 lues" if lang == "fr" else "Lines: 1,697 in the source file, 1,697 read") in report.text()


def test_classify_report_in_python_is_what_the_command_prints(montpellier_run, montpellier_classified):
    from budgetclimat.report import classify_report

    assert MONTPELLIER == MONTPELLIER_XML
    printed = montpellier_classified.stdout  # `classify MONTPELLIER` prints the same with its outputs (conftest)
    report = classify_report(montpellier_run)
    assert report.text() + "\n" == printed
    # In scope + out of scope = every line's euros (the XML's MtReal, summed by Decimal), on each axis.
    for axis, figures in report.summary["axes"].items():
        assert figures["in_scope"]["cents"] + figures["out_of_scope"]["cents"] == _mtreal_cents(MONTPELLIER), axis
    assert report.summary["lines"] == 1697
    # The JSON form carries the findings as shown, with their message.
    data = json.loads(report.json())
    shown = data["findings"]["said_in_full"] + data["findings"]["groups"]
    assert shown and all(row["message"] for row in shown)
    assert sum(row["count"] for row in data["findings"]["counts"]) == len(montpellier_run.findings)


def test_classify_report_in_english(montpellier_run):
    from budgetclimat.report import classify_report

    i18n.set_language("en")
    text = classify_report(montpellier_run).text()
    assert text.startswith("1697 lines read, 2 axis/axes: ")
    assert "Findings: 0 error(s)" in text and "Constats" not in text


def test_compare_report_renders_a_table_without_the_pipeline():
    from budgetclimat.report import compare_report

    table = pd.DataFrame([{"exercice": 2024, "base_cents": 123_456_78, "combined_share": 0.25, "tco2e": 1234.4, "tco2e_low": 1000.0,
                           "tco2e_high": 1500.6, "share_attenuation": 0.125, "cap_tco2e": float("nan")}])
    meta = {"weights": "w", "carbon": "c", "objectives": ["attenuation"], "conventions_applied": False}
    report = compare_report(table, meta)
    text = report.text().splitlines()
    assert text[0] == "Évolution sur 1 exercice(s) — pondération w, carbone c"
    assert "123\u202f456,78 €" in text[3] and "25,0 %" in text[3] and "1\u202f234" in text[3] and "1\u202f000 – 1\u202f501" in text[3]
    assert text[5] == "    Atténuation 12,5 %"  # the objective by its label
    assert text[-1].startswith("Conventions retirées")
    assert report.to_dict()["years"][0]["cap_tco2e"] is None  # NaN is null in JSON


def test_lint_report_counts_and_lines(tmp_path):
    from budgetclimat.report import lint_report
    from budgetclimat.rulebook import load_rulebooks
    from budgetclimat.engine.cases import run_case
    from budgetclimat.rulebook.lint import lint

    path = tmp_path / "rb.yaml"
    path.write_text(
        "rulebook: {id: t, kind: classification, axis: attenuation, nomenclatures: [M57], default: {class: N}}\n"
        "rules:\n"
        "  - id: R-UNKNOWN\n"
        "    when: {nature: [\"2999\"]}\n"
        "    then: {class: N}\n"
        "    convention: true\n"
        "    convention_reason: test\n",
        encoding="utf-8",
    )
    ruleset = load_rulebooks([path])
    report = lint_report(ruleset, lint(ruleset, run_case, plans={"M57": {"accounts": {"6064"}, "fonctions": set()}}))
    lines = report.text().splitlines()
    assert lines[0] == "1 livre(s) de règles, 1 règle(s), 0 cas"
    codes = {line.split("] ")[1].split(" : ")[0] for line in lines[1:-1]}
    assert {"lint-unknown-account", "lint-no-case"} <= codes
    assert lines[-1] == f"{report.errors} erreur(s), {report.warnings} avertissement(s)" and report.errors >= 2
    assert [f["code"] for f in report.to_dict()["findings"]] == list(report.findings["code"])


def test_a_missing_file_stops_before_any_file_is_read(tmp_path, monkeypatch):
    """The reader checks every input first (read.require_files): a typo in the last file is said at once,
    in the same words as before, without reading (or classifying) the files before it."""
    import budgetclimat.pipeline as pipeline
    import budgetclimat.read as read
    import budgetclimat.report.validate as validate_report

    def never(*args, **kwargs):
        raise AssertionError("a file was read before the missing one was reported")

    monkeypatch.setattr(read, "read_budget", never)
    monkeypatch.setattr(validate_report, "read_budget", never)
    missing = tmp_path / "absent.xml"
    for command in (["validate"], ["classify"], ["rules", "coverage"], ["explain", "--line", "x"]):
        result = invoke([*command, MONTREUIL, missing], 2)
        assert result.stderr == f"Erreur : Fichier introuvable : {missing}\n", command
    monkeypatch.setattr(pipeline, "run", never)
    result = invoke(["compare", MONTREUIL, missing], 2)
    assert result.stderr == f"Erreur : Fichier introuvable : {missing}\n"
    result = invoke(["compare", MONTREUIL, "--trajectory", missing], 2)
    assert result.stderr == f"Erreur : Fichier introuvable : {missing}\n"
    result = invoke(["--lang", "en", "validate", tmp_path], 2)  # a folder without a budget file in it
    assert f"Folder {tmp_path} holds no budget file" in result.stderr


def test_errors_finds_a_code_typed_in_capitals():
    """Found by a new user: ``errors AMOUNT-NEGATIVE`` said « code inconnu »."""
    assert invoke(["errors", "AMOUNT-NEGATIVE"]).stdout.startswith("amount-negative — Montant négatif")
