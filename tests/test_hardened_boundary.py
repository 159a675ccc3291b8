"""Issue 13 (« Hardened »), cases 6, 9 and 10 through the command line: every damage a file or an option can
cause ends as a finding or a French message with exit 1 or 2, never an internal error or a traceback."""

from __future__ import annotations

import json
import re

import pytest
from conftest import FIXTURES, invoke

SOURCE = FIXTURES / "totem" / "bp-2020-m57-utf8.xml"


def variant(tmp_path, old: str, new: str, name: str = "budget.xml", count: int = 1):
    text = SOURCE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


def xml_line(path, needle: str) -> int:
    """1-based line of the first occurrence of ``needle`` (computed from the file, not the reader)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def json_findings(result) -> list[dict]:
    return json.loads(result.stdout)["files"][0]["findings"]


# ---- case 6: a line without CodRD; amounts that overflow ------------------------------------------


def test_case6_totem_without_codrd_stops_classify_with_exit_1(tmp_path):
    path = variant(tmp_path, '<CodRD V="D"/>\n      <MtPrev V="1234.56"/>', '<MtPrev V="1234.56"/>')
    line = xml_line(path, "<LigneBudget>")  # the first line lost its CodRD
    validated = invoke(["validate", path, "--format", "json"], 1)
    assert any(f["code"] == "totem-bad-code" and f["column"] == "CodRD" and f["row"] == line for f in json_findings(validated))
    out = tmp_path / "annexe.xlsx"
    result = invoke(["classify", path, "-o", out], 1)
    assert "Erreur interne" not in result.stderr
    assert "Classement impossible" in result.stderr and f"ligne XML {line}" in result.stderr and "CodRD" in result.stderr
    assert not out.exists()  # nothing written from a guess


@pytest.mark.parametrize("amount", ["99999999999999999.00", "92233720368547758.08", "1E+20", "1e400"])
def test_case6_totem_amount_overflow_names_the_cell(tmp_path, amount):
    path = variant(tmp_path, 'V="1234.56"', f'V="{amount}"')
    line = xml_line(path, "<LigneBudget>")
    result = invoke(["validate", path, "--format", "json"], 1)
    found = [f for f in json_findings(result) if f["code"] == "amount-too-large"]
    assert [(f["row"], f["column"], f["value"]) for f in found] == [(line, "MtPrev", amount)]
    classified = invoke(["classify", path], 1)
    assert "Erreur interne" not in classified.stderr


def test_case6_totem_inf_amount_is_an_error_finding(tmp_path):
    path = variant(tmp_path, 'V="1234.56"', 'V="inf"')
    result = invoke(["validate", path, "--format", "json"], 1)
    assert [f["column"] for f in json_findings(result) if f["code"] == "amount-not-a-number"] == ["MtPrev"]


def test_case6_totem_non_numeric_exercice_names_the_xml_line(tmp_path):
    path = variant(tmp_path, '<Exer V="2020"/>', '<Exer V="201:"/>')
    for command in ("validate", "classify"):
        result = invoke([command, path], 1)
        assert f"ligne XML {xml_line(path, '<Exer')}" in result.stderr and "201:" in result.stderr


# ---- case 9: ambiguous TOTEM --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('<MtPrev V="1234.56"/>', '<MtPrev V="1234.56"/>\n      <MtPrev V="99.00"/>', "MtPrev"),
        ('<CodRD V="D"/>', '<CodRD V="D"/>\n      <CodRD V="R"/>', "CodRD"),
        ('<Nature V="60612"/>', '<Nature V="60612"/>\n      <Nature V="60622"/>', "Nature"),
    ],
)
def test_case9_repeated_line_field_with_different_values_is_an_error(tmp_path, old, new, field):
    path = variant(tmp_path, old, new)
    line = xml_line(path, "<LigneBudget>")
    result = invoke(["validate", path, "--format", "json"], 1)
    repeated = [f for f in json_findings(result) if f["code"] == "totem-field-repeated"]
    assert [(f["row"], f["column"]) for f in repeated] == [(line, field)]
    values = re.findall(rf'<{field} V="([^"]*)"', new)
    assert repeated[0]["value"] == " | ".join(values)  # both values shown, none chosen


def test_case9_repeated_amount_is_never_first_wins(tmp_path):
    path = variant(tmp_path, '<MtPrev V="1234.56"/>', '<MtPrev V="1234.56"/>\n      <MtPrev V="99.00"/>')
    from budgetclimat.read import read_budget

    lines = read_budget(path).lines
    first = lines[lines["source_row"] == xml_line(path, "<LigneBudget>")]
    assert first["voted_cents"].isna().all()  # neither 123456 nor 9900


def test_case9_same_value_repeated_is_accepted(tmp_path):
    path = variant(tmp_path, '<MtPrev V="1234.56"/>', '<MtPrev V="1234.56"/>\n      <MtPrev V="1234.56"/>')
    invoke(["validate", path], 0)


@pytest.mark.parametrize(("old", "new", "field"), [('<Exer V="2020"/>', '<Exer V="2020"/>\n      <Exer V="2021"/>', "Exer"),
                                                    ('<NatDec V="01"/>', '<NatDec V="01"/>\n      <NatDec V="09"/>', "NatDec")])
def test_case9_repeated_header_field_is_an_error(tmp_path, old, new, field):
    path = variant(tmp_path, old, new)
    second = xml_line(path, new.splitlines()[1].strip())
    for command in ("validate", "classify"):
        result = invoke([command, path], 1)
        assert f"ligne XML {second}, champ {field}" in result.stderr


def test_case9_second_budget_element_is_an_error(tmp_path):
    text = SOURCE.read_text(encoding="utf-8")
    start, end = text.index("  <Budget>"), text.index("</Budget>") + len("</Budget>")
    path = tmp_path / "two-budgets.xml"
    path.write_text(text[:end] + "\n" + text[start:end] + text[end:], encoding="utf-8")
    second = text[:end].count("\n") + 2  # the line of the second <Budget>
    result = invoke(["validate", path], 1)
    assert f"ligne XML {second}" in result.stderr and "<Budget>" in result.stderr


def test_case9_utf16_totem_is_read_like_its_utf8_original(tmp_path):
    text = SOURCE.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    path = tmp_path / "utf16.xml"
    path.write_bytes(text.encode("utf-16"))  # with its byte-order mark
    from budgetclimat.read import read_budget

    utf16, utf8 = read_budget(path).lines, read_budget(SOURCE).lines
    assert utf16["voted_cents"].tolist() == utf8["voted_cents"].tolist()
    assert utf16["label"].tolist() == utf8["label"].tolist()  # « Électricité – bâtiments » intact
    assert utf16["source_row"].tolist() == utf8["source_row"].tolist()
    invoke(["validate", path], 0)


def test_case9_totem_without_lines_exits_1_like_the_csv(tmp_path):
    text = SOURCE.read_text(encoding="utf-8")
    path = tmp_path / "no-lines.xml"
    path.write_text(text.split("    <LigneBudget>")[0] + "  </Budget>\n</DocumentBudgetaire>\n", encoding="utf-8")
    result = invoke(["validate", path, "--format", "json"], 1)
    assert [f["level"] for f in json_findings(result) if f["code"] == "totem-no-lines"] == ["error"]


# ---- case 6 (outputs that cannot be written) and case 10 (outputs and paths) -------------------------------


def test_case6_output_under_a_file_is_a_french_message_exit_2(tmp_path):
    parent = tmp_path / "not-a-folder"
    parent.write_text("x")
    result = invoke(["classify", SOURCE, "-o", parent / "annexe.xlsx"], 2)
    assert "Impossible d'écrire le fichier de sortie" in result.stderr and "pas un dossier" in result.stderr
    assert "Exception ignored" not in result.stderr and "Erreur interne" not in result.stderr


@pytest.mark.parametrize("limit", [5_000, 60_000])
def test_case6_output_over_the_file_size_limit_leaves_nothing(tmp_path, limit):
    """``ulimit -f`` (RLIMIT_FSIZE) in a real process: the workbook writer fails mid-way."""
    import resource
    import subprocess
    import sys

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "out"
    out.mkdir()
    budget = FIXTURES.parent / "data" / "montpellier-ca-2018-m57.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "budgetclimat", "classify", str(budget), "-o", str(out / "annexe.xlsx")],
        preexec_fn=limited, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Impossible d'écrire le fichier de sortie" in proc.stderr and "ulimit -f" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert list(out.iterdir()) == []  # no partial file, no temporary file


def test_case6_ctrl_c_while_writing_exits_130_and_leaves_nothing(tmp_path, monkeypatch):
    import budgetclimat.export.workbook as workbook

    def interrupted(wb, path, stamp):
        path.write_bytes(b"PK partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(workbook, "save_reproducible", interrupted)
    result = invoke(["classify", SOURCE, "-o", tmp_path / "annexe.xlsx"], 130)
    assert "Interrompu" in result.stderr and "Exception ignored" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_case10_same_file_for_two_outputs_is_refused(tmp_path):
    out = tmp_path / "x.xlsx"
    result = invoke(["classify", SOURCE, "-o", out, "--summary-json", out], 2)
    assert "-o" in result.stderr and "--summary-json" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "name", "accepted"),
    [("-o", "annexe.ods", ".xlsx"), ("-o", "annexe.pdf", ".xlsx"), ("--lines-out", "o.json", ".csv ou .parquet"),
     ("--summary-json", "s.csv", ".json")],
)
def test_case10_output_extension_must_be_the_format_written(tmp_path, option, name, accepted):
    result = invoke(["classify", SOURCE, option, tmp_path / name], 2)
    assert name in result.stderr and accepted in result.stderr and option in result.stderr
    assert "register-format" not in result.stderr  # no raw key
    assert not (tmp_path / name).exists()


def test_case10_outputs_get_the_users_file_mode(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        invoke(["classify", SOURCE, "-o", tmp_path / "a.xlsx", "--lines-out", tmp_path / "l.csv", "--summary-json", tmp_path / "s.json"], 0)
    finally:
        os.umask(previous)
    for name in ("a.xlsx", "l.csv", "s.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


# ---- runtime invariants (item 5) ------------------------------------------------------------------------


def test_invariants_hold_on_the_real_budget():
    from budgetclimat.pipeline import check_invariants, run

    result = run([FIXTURES.parent / "data" / "montpellier-ca-2018-m57.xml"])
    check_invariants(result, lines_read=len(result.lines))  # run() already did; an explicit call must pass too


def test_invariant_violation_stops_the_run_with_the_figures(tmp_path, monkeypatch):
    """A stage that drops a line from the register is caught: exit 3, figures named, nothing written."""
    import budgetclimat.pipeline as pipeline

    real = pipeline.classify

    def dropping(lines, ruleset, answers=None, **options):
        out = real(lines, ruleset, answers, **options)
        first = out.register["line_id"].iloc[0]
        out.register = out.register[out.register["line_id"] != first].reset_index(drop=True)
        return out

    monkeypatch.setattr(pipeline, "classify", dropping)  # where the pipeline calls it
    out = tmp_path / "annexe.xlsx"
    result = invoke(["classify", SOURCE, "-o", out], 3)
    assert "Contrôle de cohérence interne en échec" in result.stderr
    assert "5 lines, 4 in the register" in result.stderr  # the fixture has 5 <LigneBudget>
    assert not out.exists()


def test_invariant_pieces_must_sum_to_their_line(monkeypatch):
    import budgetclimat.pipeline as pipeline
    from budgetclimat.errors import InvariantViolated
    from budgetclimat.pipeline import run

    real = pipeline.classify

    def one_cent_off(lines, ruleset, answers=None, **options):
        out = real(lines, ruleset, answers, **options)
        out.register.loc[0, "amount_share_cents"] += 1
        return out

    monkeypatch.setattr(pipeline, "classify", one_cent_off)
    with pytest.raises(InvariantViolated) as info:
        run([SOURCE])
    assert "pieces sum to their line" in info.value.params["check"]


def test_case10_fifo_is_refused_as_not_a_regular_file(tmp_path):
    import os

    fifo = tmp_path / "budget.xml"
    os.mkfifo(fifo)
    for command in ("validate", "classify"):
        result = invoke([command, fifo], 2)
        assert "n'est pas un fichier ordinaire" in result.stderr and "introuvable" not in result.stderr


def test_case10_stdin_redirected_from_a_file_is_read(tmp_path):
    import subprocess
    import sys

    with SOURCE.open("rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "budgetclimat", "validate", "/dev/stdin"], stdin=stdin, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Lignes : 5 dans le fichier source, 5 lues" in proc.stdout


def test_case10_answers_class_cell_with_uncached_formula_names_the_cell(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["line_id", "axis", "class", "comment"])
    ws.append(["2020BP-01-00001", "attenuation", "TF", "typed"])
    ws.append(["2020BP-01-00002", "attenuation", '=IF(1=1,"TF","N")', "formula"])  # openpyxl saves no cached value
    answers = tmp_path / "reponses.xlsx"
    wb.save(answers)
    result = invoke(["classify", SOURCE, "--answers", answers], 2)
    assert "reponses.xlsx" in result.stderr and "cellule C3" in result.stderr and "formule" in result.stderr


CEDI = FIXTURES.parent / "data" / "gironde-ca-2016-m52-cedi.csv"


def _cedi_variant(tmp_path, transform, name="cedi.csv"):
    lines = CEDI.read_bytes().split(b"\n")[:20]
    path = tmp_path / name
    path.write_bytes(b"\n".join(transform(lines)) + b"\n")
    return path


def test_case6_csv_non_numeric_exercice_names_the_cell(tmp_path):
    path = _cedi_variant(tmp_path, lambda ls: [ls[0], ls[1].replace(b",2016,", b",201:,", 1), *ls[2:]])
    result = invoke(["classify", path], 1)
    assert "Erreur interne" not in result.output
    assert 'ligne 2, colonne Exercice : valeur "201:"' in result.stdout


def test_case6_csv_header_repeated_mid_table_is_an_error_not_a_crash(tmp_path):
    path = _cedi_variant(tmp_path, lambda ls: [ls[0], *ls[1:10], ls[0], *ls[10:]])
    result = invoke(["validate", path, "--format", "json"], 1)
    assert any(f["row"] == 11 and f["column"] == "Exercice" and f["value"] == "Exercice" for f in json_findings(result))
    invoke(["classify", path], 1)


def test_case6_csv_field_over_the_csv_module_limit_is_a_message(tmp_path):
    def long_label(ls):
        cells = ls[5].split(b",")
        cells[14] = b'"' + b"x" * 140_000 + b'"'
        return [*ls[:5], b",".join(cells), *ls[6:]]

    result = invoke(["validate", _cedi_variant(tmp_path, long_label)], 1)
    assert "cedi.csv" in result.stderr and "Erreur interne" not in result.stderr


def test_internal_error_path_is_kept_for_bugs_and_short(monkeypatch):
    """A bug (here a stage raising) still ends as two short lines with exit 2, never a traceback."""
    import budgetclimat.pipeline as pipeline

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero " + "x" * 1000)

    monkeypatch.setattr(pipeline, "run", bug)
    result = invoke(["classify", SOURCE], 2)
    assert "Erreur interne inattendue (ZeroDivisionError)" in result.stderr
    assert len(result.stderr.splitlines()) == 2 and len(result.stderr) < 700
    assert "budgetclimat/cli/classify.py" in result.stderr


def test_case10_validate_report_extension_must_be_json_or_csv(tmp_path):
    result = invoke(["validate", SOURCE, "--report", tmp_path / "rapport.xlsx"], 2)
    assert ".json ou .csv" in result.stderr and "--report" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_case10_dash_reads_the_budget_from_stdin(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "budgetclimat", "classify", "-", "--summary-json", str(tmp_path / "s.json")],
        input=SOURCE.read_bytes(), capture_output=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    # the fixture's MtPrev values: 1234.56 + 100000.00 + 5000.10 + 5000.10 + 0.005 (rounded half up: 0.01)
    assert summary["lines"] == 5 and summary["total_cents"] == 123456 + 10000000 + 500010 + 500010 + 1


def test_case6_read_only_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    """Tests may run as root (who can write anywhere): the folder's permission is simulated."""
    import os

    import budgetclimat.outputs as outputs

    monkeypatch.setattr(outputs.os, "access", lambda path, mode: os.path.realpath(path) != os.path.realpath(tmp_path))
    result = invoke(["classify", SOURCE, "-o", tmp_path / "annexe.xlsx"], 2)
    assert "droits insuffisants ou disque en lecture seule" in result.stderr
    assert list(tmp_path.iterdir()) == []
