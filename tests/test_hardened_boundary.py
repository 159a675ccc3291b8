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
