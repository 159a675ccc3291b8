"""``budgetclimat validate`` and ``budgetclimat errors`` end to end, through the real entry point."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from conftest import DATA, FIXTURES, invoke

from budgetclimat.cli.options import BASES

BAD = FIXTURES / "validate"
MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"
GIRONDE = DATA / "gironde-ca-2016-m52-cedi.csv"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def as_json(args: list, code: int) -> dict:
    return json.loads(invoke(["validate", *args, "--format", "json"], code).stdout)


def test_good_file_exits_0_with_a_summary():
    out = invoke(["validate", BAD / "good.csv"], 0).stdout
    assert "Rapprochement avec le fichier source : OK" in out
    # 6064 1 000,50 € in F real expenses; 21838 300,25 € in I real expenses (format_euros: narrow nbsp).
    assert "1\u202f000,50 €" in out and "300,25 €" in out
    assert "0 erreur(s), 0 avertissement(s)" in out


def test_unknown_account_is_a_warning_exit_0_naming_file_row_column_value():
    # An account our plan lacks does not make the document's euros wrong: a warning, exit 0.
    result = invoke(["validate", BAD / "unknown-account.csv"], 0)
    assert 'fichier unknown-account.csv, ligne 5, colonne nature : "99999" n\'est pas un compte du plan M52-M52 2016' in result.stdout


def test_account_in_wrong_section_is_a_warning_exit_0():
    data = as_json([BAD / "wrong-section.csv"], 0)
    [finding] = data["files"][0]["findings"]
    assert (finding["code"], finding["level"], finding["row"], finding["column"], finding["value"]) == (
        "account-section-mismatch", "warning", 5, "section", "F"
    )


def test_text_in_an_amount_exits_1_with_file_row_column_value():
    result = invoke(["validate", BAD / "text-amount.csv"], 1)
    line = next(l for l in result.stdout.splitlines() if "douze euros" in l and "amount-not-a-number" in l)
    assert "text-amount.csv" in line and "ligne 5" in line and "Montant" in line


def test_duplicate_line_is_a_warning_exit_0():
    data = as_json([BAD / "duplicate.csv"], 0)
    assert data["errors"] == 0 and data["warnings"] == 1
    assert data["files"][0]["counts"] == {"duplicate-line": 1}
    assert data["files"][0]["findings"][0]["row"] == 5


def test_level_error_hides_warnings_but_not_the_exit_code():
    out = invoke(["validate", BAD / "duplicate.csv", "--level", "error", "--format", "csv"], 0).stdout
    assert list(csv.DictReader(io.StringIO(out))) == []
    out = invoke(["validate", BAD / "text-amount.csv", "--level", "error", "--format", "csv"], 1).stdout
    assert {r["level"] for r in csv.DictReader(io.StringIO(out))} == {"error"}


def test_csv_output_has_the_finding_columns():
    out = invoke(["validate", BAD / "unknown-account.csv", "--format", "csv"], 0).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["level", "code", "file", "row", "column", "value", "expected", "message"]
    assert (rows[0]["code"], rows[0]["row"], rows[0]["value"]) == ("account-unknown", "5", "99999")


def test_english_messages():
    out = invoke(["--lang", "en", "validate", BAD / "unknown-account.csv"], 0).stdout
    assert "Reconciliation with the source file: OK" in out
    assert 'file unknown-account.csv, row 5, column nature: "99999" is not an account' in out


def test_report_json_is_written_and_inputs_untouched(tmp_path):
    source = tmp_path / "budget.csv"
    source.write_bytes((BAD / "duplicate.csv").read_bytes())
    before = digest(source)
    report = tmp_path / "out" / "controles.json"
    result = invoke(["validate", source, "--report", report], 0)
    assert "Rapport écrit" in result.stderr
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["files"][0]["findings"][0]["code"] == "duplicate-line"
    assert digest(source) == before
    assert [p.name for p in report.parent.iterdir()] == ["controles.json"]  # no temporary file left


def test_report_csv_by_extension(tmp_path):
    report = tmp_path / "constats.csv"
    invoke(["validate", BAD / "unknown-account.csv", "--report", report], 0)
    # French dialect, as French Excel opens it: BOM, « ; » between columns
    assert report.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(report.open(encoding="utf-8-sig"), delimiter=";"))
    assert [r["code"] for r in rows] == ["account-unknown"] and rows[0]["level"] == "warning"


def test_report_csv_in_english_uses_the_english_dialect(tmp_path):
    report = tmp_path / "findings.csv"
    invoke(["--lang", "en", "validate", BAD / "unknown-account.csv", "--report", report], 0)
    assert report.read_bytes().startswith(b"\xef\xbb\xbf")
    header = report.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("level,") and ";" not in header
    rows = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert [r["code"] for r in rows] == ["account-unknown"]


def test_report_onto_the_input_is_refused(tmp_path):
    source = tmp_path / "budget.csv"
    source.write_bytes((BAD / "good.csv").read_bytes())
    before = digest(source)
    result = invoke(["validate", source, "--report", source], 2)
    assert "ne sera pas écrasé" in result.stderr
    assert digest(source) == before


def test_missing_file_exits_2_without_traceback(tmp_path):
    result = invoke(["validate", tmp_path / "absent.xml"], 2)
    assert result.stderr.startswith("Erreur : Fichier introuvable")


def test_bad_option_exits_2():
    invoke(["validate", BAD / "good.csv", "--format", "xml"], 2)
    invoke(["validate"], 2)


def test_basis_choices_follow_the_model():
    from budgetclimat import model

    assert BASES == tuple(model.AMOUNT_COLUMNS)


def test_help_does_not_load_the_validation_machinery():
    import subprocess
    import sys

    code = (
        "import sys; from budgetclimat.cli import run; run(['validate', '--help']);"
        "print(any(m in sys.modules for m in ('pandera', 'budgetclimat.validate', 'budgetclimat.read')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


# -- real files ------------------------------------------------------------------------------------


def _montpellier_duplicates() -> tuple[int, int]:
    """Lines repeating an earlier line's imputation, straight from the XML: without, then with the
    autorisation de programme (CaracSup ProgAutoNum) in the key."""
    from lxml import etree

    ns = {"d": "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"}
    seen, seen_prog = set(), set()
    without = with_prog = 0
    for line in etree.parse(str(MONTPELLIER)).iterfind(".//d:LigneBudget", ns):
        value = {c.tag.split("}")[1]: c.get("V") for c in line if c.tag.split("}")[1] != "CaracSup"}
        prog = line.find("d:CaracSup[@Code='ProgAutoNum']", ns)
        key = tuple(value.get(k) for k in ("Nature", "Fonction", "ContFon", "CodRD", "OpBudg", "ContOp"))
        key_prog = key + (None if prog is None else prog.get("V"),)
        without += key in seen
        with_prog += key_prog in seen_prog
        seen.add(key)
        seen_prog.add(key_prog)
    return without, with_prog


def test_montpellier_validates():
    data = as_json([MONTPELLIER], 0)
    summary = data["files"][0]
    assert (summary["collectivite"], summary["siret"], summary["exercice"], summary["doc_type"]) == ("VILLE DE MONTPELLIER", "21340172201787", 2018, "CA")
    assert summary["plans"] == ["M57-M57 2018"]
    assert summary["lines_in"] == summary["lines_out"] == 1697
    assert summary["reconciliation_ok"] is True and summary["ordre_balanced"] is True
    assert all(t["difference_cents"] == 0 for t in summary["totals"])
    assert data["errors"] == 0
    # The source splits some imputations by autorisation de programme (CaracSup ProgAutoNum): with the
    # AP in the line model (ap_code) they are distinct lines, not duplicates.
    without, with_prog = _montpellier_duplicates()
    assert without > 0 and with_prog == 0
    assert summary["counts"] == {}


def test_gironde_validates_with_explained_findings():
    data = as_json([GIRONDE], 0)
    summary = data["files"][0]
    assert summary["plans"] == ["M52-M52 2016"]
    assert summary["lines_in"] == summary["lines_out"] == 1251
    assert summary["reconciliation_ok"] is True and summary["ordre_balanced"] is True
    # Genuine defects of the source: 37 ordre intérieur lines whose article ends with a dot ("A27631.").
    # They are read without the dot and each is reported as a cleaned code (warning), not rejected.
    with GIRONDE.open(encoding="utf-8", newline="") as f:
        dotted = {i + 2 for i, row in enumerate(csv.DictReader(f)) if re.fullmatch(r"A\d+\.", row["Article"])}
    assert len(dotted) == 37
    assert data["errors"] == 0
    cleaned = {f["row"] for f in summary["findings"] if f["code"] == "code-cleaned"}
    assert cleaned == dotted


def test_two_files_at_once():
    data = as_json([BAD / "good.csv", BAD / "duplicate.csv"], 0)
    assert [f["file"] for f in data["files"]] == ["good.csv", "duplicate.csv"]


# -- catalogue -------------------------------------------------------------------------------------


def test_errors_command_lists_the_catalogue():
    out = invoke(["errors"], 0).stdout
    assert "account-unknown — Compte inconnu du plan de comptes" in out
    en = json.loads(invoke(["--lang", "en", "errors", "--format", "json", "account-unknown"], 0).stdout)
    assert en == [{"code": "account-unknown", "title": "Account not in the plan de comptes",
                   "message": 'file {file}, row {row}, column {column}: "{value}" is not an account of plan {expected} (expected: an account of the plan de comptes)'}]
    invoke(["errors", "no-such-code"], 2)


def test_every_catalogue_code_is_documented():
    from budgetclimat.cli.catalogue import load_catalogue

    documented = set(re.findall(r"^\|\s*`([a-z0-9-]+)`", (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text(encoding="utf-8"), re.M))
    missing = sorted(set(load_catalogue()) - documented)
    assert not missing, f"codes missing from docs/errors.md: {missing}"


@pytest.mark.parametrize("command", ["validate", "errors"])
def test_every_command_option_is_documented(command):
    from budgetclimat.cli import cli

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"budgetclimat {command}" in text
    for param in cli.get_command(None, command).params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                assert opt in text, f"{command} {opt} not in docs/cli.md"


def test_cli_reference_is_up_to_date():
    """docs/cli-reference.md is generated from --help; regenerate with scripts/gen_cli_reference.py."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "gen_cli_reference.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, "docs/cli-reference.md is out of date: run python scripts/gen_cli_reference.py"


def test_a_folder_and_a_quoted_glob_are_validated_file_by_file(tmp_path):
    """validate takes what classify takes: a folder's budget files, a quoted pattern's matches (sorted)."""
    import shutil

    folder = tmp_path / "budgets"
    folder.mkdir()
    shutil.copy(GIRONDE, folder / "b.csv")
    shutil.copy(GIRONDE, folder / "a.csv")
    (folder / "notes.md").write_text("not a budget")
    for target in (folder, f"{folder}/*.csv"):
        out = json.loads(invoke(["validate", str(target), "--format", "json"], 0).stdout)
        assert [f["file"] for f in out["files"]] == ["a.csv", "b.csv"]
        assert out["files"][0]["lines_out"] == out["files"][1]["lines_out"] > 0
    (tmp_path / "empty").mkdir()
    result = invoke(["validate", str(tmp_path / "empty")], 2)
    assert "ne contient aucun fichier budgétaire" in result.stderr and "Traceback" not in result.stderr
