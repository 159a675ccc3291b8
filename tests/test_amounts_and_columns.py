"""Amounts and columns of CSV/XLSX exports as finance software and spreadsheets write them (issues 8
and 13): one amount parser for every format and profile, total rows, columns found by content and
``--map``, a single amount column, rows that cannot be read whole, line-level ERP exports.

Expected figures are computed here from the raw text with ``csv`` and ``Decimal``, never taken from
what the reader printed.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import DATA, invoke

from budgetclimat import money

GIRONDE = DATA / "gironde-ca-2016-m52-cedi.csv"
NBSP, NNBSP = "\u00a0", "\u202f"
CEDI_HEADER = (
    "Département,Budget,Type nomenclature,Exercice,Type fichier,Date vote,Dépense/Recette,"
    "Investissement/Fonctionnement,Réel/Ordre id/Ordre diff,Chapitre,Sous-chapitre,Opération,Article,"
    "Rubrique fonctionnelle,Libellé,Code devise,Montant"
)
# R of issue 13: one row of the Gironde cedi export, whose amount the cases vary.
R_CODES = ["C001", "B00", "M52", "2016", "CA", "07/04/2017", "R", "I", "OR", "C27", "", "", "A275", "R01", "Dépots", "E"]
GENERIC = "--set budget_kind=principal --set nomenclature=M57".split()


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def report(args: list, code: int = 0) -> dict:
    """``validate --format json`` through the CLI; the first file's summary."""
    result = invoke(["validate", *args, "--format", "json"], code)
    return json.loads(result.stdout)


def lines_total(summary: dict, section: str | None = None, sens: str | None = None) -> int:
    rows = summary["files"][0]["totals"]
    return sum(r["lines_cents"] for r in rows if (section in (None, r["section"])) and (sens in (None, r["sens"])))


def findings_of(summary: dict) -> list[dict]:
    return [f for file in summary["files"] for f in file["findings"]]


def codes_of(summary: dict) -> list[str]:
    return [f["code"] for f in findings_of(summary)]


def gironde_sums() -> dict[tuple[str, str], int]:
    """Independent sums of the original export: csv + Decimal, by section × sens."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with GIRONDE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            sums[(row["Investissement/Fonctionnement"], row["Dépense/Recette"])] += Decimal(row["Montant"])
    return {k: int(v * 100) for k, v in sums.items()}


def by_section_sens(summary: dict) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = defaultdict(int)
    for r in summary["files"][0]["totals"]:
        if r["lines_out"]:
            out[(r["section"], r["sens"])] += r["lines_cents"]
    return dict(out)


def french(amount: str, sep: str = NBSP) -> str:
    """``-109548.5`` → ``-109 548,5`` as French Excel shows it (thousands by ``sep``, decimal comma)."""
    sign, body = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
    units, _, decimals = body.partition(".")
    groups = []
    while len(units) > 3:
        groups.insert(0, units[-3:])
        units = units[:-3]
    groups.insert(0, units)
    return sign + sep.join(groups) + ("," + decimals if decimals else "")


# --- A. one amount parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,56", "1234.56"),
        (f"1{NBSP}234,56", "1234.56"),
        (f"1{NNBSP}234,56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("(123,45)", "-123.45"),
        ("123,45 €", "123.45"),
        ("-123,45", "-123.45"),
        ("123,45-", "-123.45"),
        ("\u2212123,45", "-123.45"),
        ("1 234 567,8", "1234567.80"),
        ("1.234.567", "1234567"),
        ("1,234,567", "1234567"),
        ("6097.96", "6097.96"),
        ("0,5", "0.50"),
        ("1.5E+06", "1500000"),
        ("42", "42"),
    ],
)
def test_every_amount_shape(text, expected):
    parsed = money.parse_amounts(pd.Series([text]))
    assert parsed.problem.isna().all(), parsed.problem.tolist()
    assert int(parsed.cents.iloc[0]) == cents(expected)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,234", money.AMBIGUOUS),
        ("1.234", money.AMBIGUOUS),
        ("1'234.56", money.AMBIGUOUS),
        ("1234.565", money.TOO_PRECISE),
        ("12 34", money.NOT_A_NUMBER),
        ("12,5,0", money.NOT_A_NUMBER),
        ("99999999999999999", money.TOO_LARGE),
    ],
)
def test_amounts_that_read_two_ways_or_not_at_all_are_problems(text, problem):
    parsed = money.parse_amounts(pd.Series([text]))
    assert parsed.problem.tolist() == [problem]
    assert parsed.cents.isna().all()


def test_the_column_settles_a_thousands_or_decimal_mark():
    # Every other cell uses a comma as decimal mark: « 1.234 » is 1 234 €.
    comma = money.parse_amounts(pd.Series(["1.234", "12,50", "3 000,00"]))
    assert comma.mark == "," and comma.cents.tolist() == [123_400, 1_250, 300_000]
    # Every other cell uses a point: « 1,234 » is 1 234 €.
    point = money.parse_amounts(pd.Series(["1,234", "12.50"]))
    assert point.mark == "." and point.cents.tolist() == [123_400, 1_250]
    # Mixed evidence settles nothing.
    mixed = money.parse_amounts(pd.Series(["1,234", "12.50", "3,5"]))
    assert mixed.mark is None and mixed.problem.fillna("").tolist() == [money.AMBIGUOUS, "", ""]
    # A profile's documented mark settles only a column without evidence.
    assert money.parse_amounts(pd.Series(["1,234"]), ".").cents.tolist() == [123_400]
    assert money.parse_amounts(pd.Series(["6 097,96"]), ".").cents.tolist() == [609_796]


def test_workbook_numbers_more_precise_than_the_cent():
    problems = money.float_problems([1234.565, 1234.56, 0.1 + 0.2, 1e16])
    assert problems.tolist() == [money.TOO_PRECISE, None, None, money.TOO_LARGE]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("6097,96", "6097.96"),
        ("6 097,96", "6097.96"),
        (f"6{NBSP}097,96", "6097.96"),
        (f"6{NNBSP}097,96", "6097.96"),
        ("6 097,96 €", "6097.96"),
        ("(6 097,96)", "-6097.96"),
        ("6097.96", "6097.96"),
    ],
)
def test_case1_silent_x100_cedi_amount_shapes(tmp_path, amount, expected):
    """Issue 13 case 1: the cedi profile's decimal point no longer reads French amounts ×100."""
    path = tmp_path / "cedi.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CEDI_HEADER.split(","))
        writer.writerow([*R_CODES, amount])
        writer.writerow([*R_CODES[:12], "A2748", "R0202", "Autres prêts", "E", "12,5"])
    summary = report([path])
    assert lines_total(summary) == cents(expected) + 1_250
    assert summary["files"][0]["reconciliation_ok"]


def test_case1_silent_x100_cedi_resaved_by_french_excel(tmp_path):
    """The Gironde export re-saved by French Excel (cp1252, « ; », « 6 097,96 ») reads the same totals."""
    with GIRONDE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([*row[:-1], french(row[-1])])
    path = tmp_path / "gironde-excel-fr.csv"
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    assert "6\xa0097,96" in path.read_bytes().decode("cp1252")
    summary = report([path])
    assert by_section_sens(summary) == gironde_sums()
    assert summary["files"][0]["reconciliation_ok"] and summary["files"][0]["lines_out"] == 1251


def test_issue8_x100_xlsx_french_text_amounts_departement_profile(tmp_path):
    """Issue 8: an XLSX with amounts typed as French text, read with the département (cedi) profile."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(CEDI_HEADER.split(","))
    sheet.append([*R_CODES, "6 097,96"])
    sheet.append([*R_CODES[:12], "A2748", "R0202", "Autres prêts", "E", "6097,96"])
    sheet.append([*R_CODES[:12], "A2764", "R0202", "Créances", "E", 6097.96])  # a number cell
    path = tmp_path / "cedi.xlsx"
    book.save(path)
    summary = report([path, "--profile", "cedi"])
    assert lines_total(summary) == 3 * 609_796
    assert summary["files"][0]["reconciliation_ok"]


@pytest.mark.parametrize(
    ("amount", "code"),
    [("1.234", "amount-ambiguous"), ("1'234.56", "amount-ambiguous"), ("1234.565", "amount-too-precise")],
)
def test_ambiguous_amount_exit_1_names_the_cell(tmp_path, amount, code):
    """An amount readable two ways (or only by rounding) stops with the file, row, column and value."""
    path = tmp_path / "bp.csv"
    path.write_text(f"Exercice;Type de document;Section;Sens;Nature;Montant\n2024;BP;F;D;60612;{amount}\n2024;BP;F;D;6063;100\n", encoding="utf-8")
    result = invoke(["validate", path, *GENERIC], 1)
    line = next(x for x in result.stdout.splitlines() if code in x and "[" in x)
    for word in ("bp.csv", "ligne 2", "colonne Montant", amount):
        assert word in line, line
    if amount == "1.234":
        assert "lu 1234 € / 1,234 €" in line, line


def test_case10_three_decimals_never_rounded_in_csv(tmp_path):
    path = tmp_path / "cedi.csv"
    path.write_text(CEDI_HEADER + "\n" + ",".join([*R_CODES, "1234.565"]) + "\n", encoding="utf-8")
    summary = report([path], 1)
    assert "amount-too-precise" in codes_of(summary)
    assert "reconciliation-mismatch" not in codes_of(summary)


# --- B. total and subtotal rows ---------------------------------------------------------------------


def _generic_book(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Exercice", "Type de document", "Section", "Sens", "Nature", "Libellé", "Montant"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


LINES = [
    [2024, "CA", "F", "D", "60612", "Électricité", "1 234,50"],
    [2024, "CA", "F", "D", "6063", "Fournitures", 10],
    [2024, "CA", "I", "D", "2313", "Travaux", "1 000"],
]


def test_issue8_total_row_at_the_bottom_of_a_generic_xlsx(tmp_path):
    path = _generic_book(tmp_path / "ca.xlsx", [*LINES, [None, None, None, None, None, "TOTAL", "2 244,50"]])
    result = invoke(["classify", path, *GENERIC, "-o", tmp_path / "annexe.xlsx"])
    assert "Erreur interne" not in result.output
    summary = report([path, *GENERIC])
    assert lines_total(summary) == cents("1234.50") + cents("10") + cents("1000")
    assert codes_of(summary).count("total-rows-skipped") == 1
    assert summary["files"][0]["lines_out"] == 3


def test_subtotals_and_a_row_without_account_equal_to_the_sum_above(tmp_path):
    rows = [
        LINES[0], LINES[1],
        [None, None, None, None, None, "Sous-total fonctionnement", "1 244,50"],
        LINES[2],
        [None, None, None, None, None, None, 1000],  # no account, equals the block above: a subtotal
        [None, None, None, None, None, "Total général", "2 244,50"],
    ]
    summary = report([_generic_book(tmp_path / "ca.xlsx", rows), *GENERIC])
    assert summary["files"][0]["lines_out"] == 3 and summary["errors"] == 0, codes_of(summary)
    assert lines_total(summary) == 224_450


def test_total_row_that_does_not_add_up_is_an_error(tmp_path):
    path = _generic_book(tmp_path / "ca.xlsx", [*LINES, [None, None, None, None, None, "TOTAL", "2 244,51"]])
    result = invoke(["validate", path, *GENERIC], 1)
    assert "total-row-mismatch" in result.stdout and "ligne 5" in result.stdout


def test_case7_total_general_row_with_every_code_filled(tmp_path):
    """Issue 13 case 7: a « TOTAL GÉNÉRAL » row copying every code is not a budget line."""
    with GIRONDE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    whole = sum((Decimal(r[-1]) for r in rows[1:]), Decimal(0))
    total = [*rows[1][:14], "TOTAL GÉNÉRAL", "E", str(whole)]
    path = tmp_path / "gironde-total.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([*rows, total])
    summary = report([path])
    assert by_section_sens(summary) == gironde_sums()
    assert "total-rows-skipped" in codes_of(summary) and summary["errors"] == 0


# --- C. columns found by content, --map, duplicated names -------------------------------------------

RENAMED = """Partie;Type;Code;Fct;Texte;Somme;An
Fonctionnement;Dépense;60612;020;Électricité;1 234,56;2024
Investissement;Dépense;2313;211;Travaux école;10 000,00;2024
Fonctionnement;Recette;73111;01;Taxes foncières;50 000,00;2024
"""


def test_renamed_reordered_columns_read_by_content(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(RENAMED, encoding="utf-8")
    summary = report([path, *GENERIC, "--set", "doc_type=CA"])
    assert lines_total(summary, "F", "D") == cents("1234.56")
    assert lines_total(summary, "I", "D") == cents("10000.00")
    assert lines_total(summary, "F", "R") == cents("50000.00")
    inferred = [f for f in findings_of(summary) if f["code"] == "columns-inferred"]
    assert len(inferred) == 1
    for pair in ("« Type » → sens", "« Partie » → section", "« Code » → nature", "« Fct » → fonction", "« Somme » → montant"):
        assert pair in inferred[0]["message"]


def test_map_names_the_column_of_a_role(tmp_path):
    path = tmp_path / "export.csv"
    # Two amount-like columns: content cannot say which is the amount.
    path.write_text(RENAMED.replace("Somme;An", "Somme;Autre;An").replace(";2024\n", ";12,00;2024\n"), encoding="utf-8")
    result = invoke(["validate", path, *GENERIC, "--set", "doc_type=CA"], 1)
    assert "--map" in result.stderr
    summary = report([path, *GENERIC, "--set", "doc_type=CA", "--map", "amount=Somme"])
    assert lines_total(summary) == cents("61234.56")
    invoke(["validate", path, *GENERIC, "--map", "amount=Absente"], 2)
    invoke(["validate", path, *GENERIC, "--map", "couleur=Somme"], 2)


def test_case7_two_montant_columns(tmp_path):
    """Issue 13 case 7: two « Montant » columns holding different figures (here a column of doubled amounts
    placed first) are an error naming both, never first-wins. (The same column repeated cell for cell is
    read once: tests/test_hardened_columns_encoding.py.)"""
    text = GIRONDE.read_text(encoding="utf-8").splitlines()
    doubled = ["Montant," + text[0]] + [str(Decimal(line.rsplit(",", 1)[1]) * 2) + "," + line for line in text[1:]]
    path = tmp_path / "doubled.csv"
    path.write_text("\n".join(doubled) + "\n", encoding="utf-8")
    result = invoke(["validate", path], 1)
    assert "colonne 1 « Montant »" in result.stderr and "colonne 18 « Montant »" in result.stderr


# --- D. one amount column and no document type ------------------------------------------------------

SINGLE = "Exercice;Section;Sens;Nature;Montant\n2026;F;D;60612;1 234,50\n2026;I;D;2313;1000\n"


def test_single_amount_column_without_doc_type_stops(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(SINGLE, encoding="utf-8")
    result = invoke(["validate", path, *GENERIC], 1)
    assert "--set doc_type=" in result.stderr


def test_single_amount_column_with_doc_type(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(SINGLE, encoding="utf-8")
    summary = report([path, *GENERIC, "--set", "doc_type=BP"])
    assert lines_total(summary) == cents("2234.50") and summary["files"][0]["basis"] == "voted"
    named = tmp_path / "ville-BP-2026.csv"
    named.write_text(SINGLE, encoding="utf-8")
    summary = report([named, *GENERIC])
    assert lines_total(summary) == cents("2234.50") and "doc-type-found" in codes_of(summary)
    titled = tmp_path / "export2.csv"
    titled.write_text("Compte administratif 2026\n\n" + SINGLE, encoding="utf-8")
    summary = report([titled, *GENERIC])
    assert lines_total(summary) == cents("2234.50") and summary["files"][0]["basis"] == "executed"


# --- E. rows that cannot be read whole --------------------------------------------------------------


def test_case8_ragged_csv_row_is_an_error_naming_the_row(tmp_path):
    text = GIRONDE.read_text(encoding="utf-8").split("\n")
    text[5] = text[5].rsplit(",", 1)[0]  # row 6 loses its amount field
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(text), encoding="utf-8")
    result = invoke(["validate", path], 1)
    assert "row-fields-missing" in result.stdout and "ligne 6" in result.stdout


def test_case8_csv_cut_inside_its_last_amount(tmp_path):
    data = GIRONDE.read_bytes()
    assert data.endswith(b"5714424.35\r\n")
    path = tmp_path / "cut.csv"
    path.write_bytes(data[:-3])  # ends "5714424.3"
    result = invoke(["validate", path], 1)
    assert "row-truncated" in result.stdout and "ligne 1252" in result.stdout and "5714424.3" in result.stdout
    whole = tmp_path / "no-final-newline.csv"
    whole.write_bytes(data[:-2])  # complete, just no final line break
    invoke(["validate", whole], 0)


# --- F. duplicate-line on line-level exports --------------------------------------------------------


def test_erp_line_level_export_has_no_duplicate_line_warnings(tmp_path):
    rows = ["Exercice;Type de document;Section;Sens;Nature;Libellé;Montant"]
    for n in range(1, 7):
        rows.append(f"2023;CA;F;D;60612;Mandat {n} EDF facture {n:03d};{n}00,00")
    path = tmp_path / "mandats.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    summary = report([path, *GENERIC])
    assert "duplicate-line" not in codes_of(summary)
    assert lines_total(summary) == cents("2100.00")
    budget = tmp_path / "budget.csv"
    budget.write_text("\n".join([rows[0], "2023;CA;F;D;60612;Énergie;100", "2023;CA;F;D;60612;Énergie;100"]) + "\n", encoding="utf-8")
    assert "duplicate-line" in codes_of(report([budget, *GENERIC]))


def test_the_map_example_of_docs_formats(tmp_path):
    """The --map example of docs/formats.md reads as the page says."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "formats.md").read_text(encoding="utf-8")
    assert "Partie;Mouvement comptable;Code;Texte;TTC;Crédits 2024;An" in text
    path = tmp_path / "export.csv"
    path.write_text("Partie;Mouvement comptable;Code;Texte;TTC;Crédits 2024;An\nFonctionnement;Dépense;60612;Électricité;1 234,56;1 300,00;2024\n", encoding="utf-8")
    invoke(["validate", path, *GENERIC], 1)  # two amount columns: content decides nothing
    summary = report([path, *GENERIC, "--map", "executed=TTC", "--map", "voted=Crédits 2024", "--map", "label=Texte"])
    assert summary["files"][0]["doc_type"] == "CA" and lines_total(summary) == cents("1234.56")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_csv_without_bom_is_detected(tmp_path, codec):
    path = tmp_path / "gironde-utf16.csv"
    path.write_bytes(GIRONDE.read_text(encoding="utf-8").encode(codec))
    summary = report([path])
    assert by_section_sens(summary) == gironde_sums()
    assert "encoding-fallback" in codes_of(summary)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ((",2016,", ",201:,"), "value-not-recognised"),  # a non-numeric exercice
        ((",6097.96", ",99999999999999999999"), "amount-too-large"),  # above int64 cents
        ((",6097.96", ",inf"), "amount-not-a-number"),
    ],
)
def test_case6_user_caused_values_are_findings_not_internal_errors(tmp_path, change, code):
    text = GIRONDE.read_text(encoding="utf-8").split("\n")
    assert change[0] in text[1]
    text[1] = text[1].replace(*change, 1)
    path = tmp_path / "damaged.csv"
    path.write_text("\n".join(text), encoding="utf-8")
    result = invoke(["classify", path, "-o", tmp_path / "annexe.xlsx"], 1)
    assert "Erreur interne" not in result.output
    assert code in result.output and "ligne 2" in result.output
