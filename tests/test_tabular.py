"""read_tabular on the real Gironde cedi export and on hand-made fixtures (tests/fixtures/tabular)."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from budgetclimat import errors, i18n, model
from budgetclimat.errors import ConfigError, InvalidDataError
from budgetclimat.read.tabular import read_tabular

HERE = Path(__file__).parent
GIRONDE = HERE / "data" / "gironde-ca-2016-m52-cedi.csv"
FIX = HERE / "fixtures" / "tabular"


def totals(lines: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    grouped = lines.groupby(["section", "sens", "operation"])["amount_cents"].sum()
    return {k: int(v) for k, v in grouped.items()}


def codes(doc: model.BudgetDocument) -> list[str]:
    return list(doc.findings["code"])


# --- the real file ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gironde() -> model.BudgetDocument:
    return read_tabular(GIRONDE)


def independent_gironde_totals() -> dict[tuple[str, str, str], int]:
    """Sums straight from the CSV with csv + Decimal, nothing shared with the reader."""
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    with GIRONDE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            op = "reel" if row["Réel/Ordre id/Ordre diff"] == "OR" else "ordre"
            key = (row["Investissement/Fonctionnement"], row["Dépense/Recette"], op)
            sums[key] += Decimal(row["Montant"])
    return {k: int(v * 100) for k, v in sums.items()}


def test_gironde_detected_as_cedi(gironde):
    assert gironde.source.format == "cedi"
    assert gironde.source.encoding == "utf-8"
    assert len(gironde.lines) == 1251
    # The only reader findings: 37 articles written with a trailing dot ("A27631."), read without it.
    assert set(gironde.findings["code"]) == {"code-cleaned"}
    assert gironde.findings["value"].str.endswith(".").all() and len(gironde.findings) == 37
    assert not gironde.lines["nature"].str.contains(r"\D", regex=True).any()
    lines = gironde.lines
    assert set(lines["doc_type"]) == {"CA"}
    assert set(lines["nomenclature"]) == {"M52"}
    assert set(lines["amount_basis"]) == {"executed"}
    assert lines["source_row"].tolist() == list(range(2, 1253))
    assert lines["line_id"].iloc[0] == "2016CA-00-00001"
    first = lines.iloc[0]  # C001,B00,M52,2016,CA,07/04/2017,R,I,OR,C27,,,A275,R01,...,6097.96
    assert (first["chapitre"], first["nature"], first["fonction"], first["amount_cents"]) == ("27", "275", "01", 609796)


def test_gironde_totals_to_the_cent(gironde):
    expected = independent_gironde_totals()
    got = totals(gironde.lines)
    assert got == expected
    # The same figures written out (PRIMER: real expenses F 1,375.63 M€, I 311.86 M€).
    assert got[("F", "D", "reel")] == 137_563_272_326
    assert got[("I", "D", "reel")] == 31_185_543_705
    assert got[("F", "R", "reel")] == 153_679_649_434
    assert got[("I", "R", "reel")] == 23_221_385_805


def test_gironde_ordre_balances(gironde):
    lines = gironde.lines
    ordre = lines[lines["operation"] == "ordre"]
    by = ordre.groupby(["ordre_kind", "section", "sens"])["amount_cents"].sum()
    # Between sections: expenses of one section = revenue of the other.
    assert by[("section", "F", "D")] == by[("section", "I", "R")] == 11_207_223_195
    assert by[("section", "I", "D")] == by[("section", "F", "R")] == 9_165_658_856
    # Within the investment section (041): expenses = revenue.
    assert by[("interieur", "I", "D")] == by[("interieur", "I", "R")] == 1_525_222_759
    assert set(ordre["chapitre"]) == {"040", "041", "042"}


def test_gironde_raw_totals_reconcile(gironde):
    raw = gironde.raw_totals
    assert list(raw.columns) == ["section", "sens", "operation", "basis", "lines", "total_cents"]
    assert int(raw["lines"].sum()) == 1251
    raw_map = {(r.section, r.sens, r.operation): int(r.total_cents) for r in raw.itertuples()}
    assert raw_map == totals(gironde.lines)


def test_gironde_conforms_to_model(gironde):
    assert list(gironde.lines.columns) == model.COLUMN_NAMES
    for c in model.COLUMNS:
        assert str(gironde.lines[c.name].dtype) == str(pd.Series(dtype=c.dtype).dtype), c.name


# --- hand-made fixtures per profile ----------------------------------------------------------------

SCDL_EXPECTED = {
    ("F", "D", "reel"): 12_000_050,
    ("I", "D", "reel"): 4_500_000,
    ("F", "R", "reel"): 30_000_000,
    ("F", "D", "ordre"): 800_000,
    ("I", "R", "ordre"): 800_000,
}


@pytest.mark.parametrize("name", ["scdl-upper.csv", "scdl-lower.csv"])
def test_scdl_upper_and_lowercase_headers(name):
    doc = read_tabular(FIX / name)
    assert doc.source.format == "scdl"
    lines = doc.lines
    assert totals(lines) == SCDL_EXPECTED
    assert lines["chapitre"].tolist() == ["011", "21", "73", "042", "040"]
    assert lines["nature"].tolist() == ["60612", "21312", "73111", "6811", "28041"]
    assert lines["siret"].iloc[0] == "21340172201787"
    # Voted and carried-forward amounts are kept next to the executed one.
    assert lines["voted_cents"].tolist() == [13_000_000, 5_000_000, 29_000_000, 800_000, 800_000]
    assert lines["carried_forward_cents"].iloc[1] == 500_000
    assert lines["ordre_kind"].tolist()[3:] == ["section", "section"]
    assert "chapter-account-swapped" not in codes(doc)


def test_scdl_swapped_contnat_nature_is_detected():
    doc = read_tabular(FIX / "scdl-swapped.csv")
    lines = doc.lines
    assert lines["chapitre"].tolist() == ["011", "21", "73", "042", "040"]
    assert lines["nature"].tolist() == ["60612", "21312", "73111", "6811", "28041"]
    assert lines["label"].iloc[0] == "Énergie - Électricité"
    assert lines["ordre_kind"].tolist()[3:] == ["section", "section"]
    swapped = doc.findings[doc.findings["code"] == "chapter-account-swapped"]
    assert len(swapped) == 1 and swapped["level"].iloc[0] == errors.WARNING
    assert totals(lines) == SCDL_EXPECTED


def test_cedi_fixture_prefixes_and_ordre_kinds():
    lines = read_tabular(FIX / "cedi.csv").lines
    assert lines["chapitre"].tolist() == ["011", "23", "041", "041", "042", "040"]
    assert lines["nature"].tolist() == ["60612", "231351", "2031", "2313", "6811", "28031"]
    assert lines["fonction"].tolist() == ["0202", "621", "01", "01", "01", "01"]
    assert lines["operation"].tolist() == ["reel", "reel", "ordre", "ordre", "ordre", "ordre"]
    assert lines["ordre_kind"].tolist()[2:] == ["interieur", "interieur", "section", "section"]
    assert lines["amount_cents"].tolist() == [100_010, 250_000, 30_050, 30_050, 4_200, 4_200]
    assert lines["voted_cents"].isna().all()  # a CA's single amount is the executed one
    assert set(lines["budget_kind"]) == {"principal"} and set(lines["budget_code"]) == {"00"}


def test_paris_semicolon_cp1252():
    doc = read_tabular(FIX / "paris.csv")
    assert doc.source.format == "paris"
    assert doc.source.encoding == "cp1252"
    info = doc.findings[doc.findings["code"] == "encoding-fallback"]
    assert len(info) == 1 and info["level"].iloc[0] == "info"
    lines = doc.lines
    assert lines["label"].iloc[0] == "Énergie - Électricité"
    assert lines["amount_cents"].tolist() == [123_456_789, 25_000_000, 100_000, 100_000, 7_770]
    assert lines["operation"].tolist() == ["reel", "reel", "ordre", "ordre", "ordre"]
    assert lines["ordre_kind"].tolist()[2:] == ["section", "section", "interieur"]
    assert set(lines["nomenclature"]) == {"M57"} and set(lines["doc_type"]) == {"CA"}


def test_dgfip_balance_rows_split_into_lines():
    doc = read_tabular(FIX / "dgfip.csv")
    lines = doc.lines
    got = list(zip(lines["source_row"], lines["nature"], lines["section"], lines["sens"], lines["operation"], lines["amount_cents"]))
    assert got == [
        (2, "60612", "F", "D", "reel", 150_025),
        (3, "6811", "F", "D", "ordre", 80_000),  # OBNETDEB 800 - OOBDEB 800 = no real expense
        (4, "21312", "I", "D", "reel", 500_000),
        (4, "21312", "I", "R", "reel", 20_000),  # one balance row, two lines, same source row
        (5, "28031", "I", "R", "ordre", 80_000),
        (7, "7311", "F", "R", "reel", 9_000_000),  # row 6 (account 515, class 5 → kept) has no movement
    ]
    assert lines["line_id"].is_unique
    assert set(lines["budget_kind"]) == {"principal"}
    raw = {(r.section, r.sens, r.operation): int(r.total_cents) for r in doc.raw_totals.itertuples()}
    assert raw == totals(lines)


def test_generic_french_headers_and_amounts():
    doc = read_tabular(FIX / "generic-fr.csv")
    assert doc.source.format == "generic"
    lines = doc.lines
    assert lines["amount_cents"].tolist() == [123_456_789, 1_200_000, 200_000_000, 50_000]
    assert lines["operation"].tolist() == ["reel", "reel", "reel", "ordre"]  # derived from chapter 042
    assert "column-derived" in codes(doc)
    assert lines["section"].tolist() == ["F", "I", "F", "F"]


def test_xlsx_header_below_title_rows():
    doc = read_tabular(FIX / "erp-title-rows.xlsx")
    assert doc.source.header["header_row"] == "4"
    assert doc.source.header["sheet"] == "Compte administratif 2023"
    lines = doc.lines
    # Source rows as Excel shows them; the blank row 7 is skipped but counted.
    assert lines["source_row"].tolist() == [5, 6, 8, 9]
    # Numbers typed in cells become exact cents; text amounts are parsed the French way.
    assert lines["amount_cents"].tolist() == [123_456, 10, 1_200_050, 9_999_999]
    assert lines["nature"].tolist() == ["60612", "60622", "21312", "2182"]  # a number cell 21312 → "21312"
    assert set(lines["exercice"]) == {2023}


def test_xlsx_generated_in_tmp(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Budget 2024 — export"])
    ws.append(["Année", "Étape", "Section", "Sens", "Compte", "Voté"])
    ws.append([2024, "BP", "I", "D", "2313", 1000000.1])
    ws.append([2024, "BP", "F", "D", "6042", "3 000,00"])
    path = tmp_path / "bp.xlsx"
    wb.save(path)
    lines = read_tabular(path).lines
    assert lines["amount_basis"].tolist() == ["voted", "voted"]
    assert lines["amount_cents"].tolist() == [100_000_010, 300_000]
    assert lines["source_row"].tolist() == [3, 4]


def test_amount_text_is_a_finding_not_an_exception():
    doc = read_tabular(FIX / "amount-text.csv")
    bad = doc.findings[doc.findings["code"] == "amount-not-a-number"]
    assert bad["level"].tolist() == ["error", "error"]
    assert bad["row"].tolist() == [3, 4]
    assert bad["column"].tolist() == ["Réalisé", "Réalisé"]
    assert bad["value"].tolist() == ["12,5,0", "n/a"]
    assert len(doc.lines) == 4
    message = errors.render_finding(bad.iloc[0].to_dict(), "fr")
    assert message == 'fichier amount-text.csv, ligne 3, colonne Réalisé : "12,5,0" n\'est pas un montant (attendu : un nombre, ex. 1 234,56).'


def test_missing_required_column():
    with pytest.raises(InvalidDataError) as info:
        read_tabular(FIX / "missing-column.csv")
    exc = info.value
    assert exc.code == "missing-column" and exc.exit_code == 1
    assert exc.params["column"] == "nature"
    assert "compte" in exc.params["expected"]
    assert "Exercice" in exc.params["value"] and "Réalisé" in exc.params["value"]


def test_forced_profile_missing_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Exercice;Nature;Montant\n2020;6042;10\n", encoding="utf-8")
    with pytest.raises(InvalidDataError) as info:
        read_tabular(path, profile="paris")
    assert info.value.code == "missing-column"
    assert "section" in info.value.params["column"]


def test_amounts_in_centimes_warning(tmp_path):
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
    data.write_text("ANNEE;COMPTE;MONTANT_CTS\n2021;6042;123456\n2021;6063;1.5E+04\n", encoding="utf-8")
    doc = read_tabular(data, profile=profile)
    assert doc.lines["amount_cents"].tolist() == [123_456, 15_000]
    warn = doc.findings[doc.findings["code"] == "amount-in-centimes"]
    assert warn["level"].tolist() == [errors.WARNING]
    raw = doc.raw_totals
    assert raw["total_cents"].tolist() == [138_456]
    # The same profile is also found by detection from a user directory.
    assert read_tabular(data, profile_dirs=[tmp_path]).source.format == "centimes"


def test_wrong_encoding_reports_line_and_byte():
    with pytest.raises(InvalidDataError) as info:
        read_tabular(FIX / "undecodable.csv")
    assert info.value.code == "undecodable"
    assert info.value.params["row"] == 3
    assert info.value.params["value"] == 68


def test_forced_encoding_is_strict(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("Exercice;Section;Sens;Compte;Réalisé\n2023;F;D;60612;1\n".encode("cp1252"))
    profile = tmp_path / "utf8.yaml"
    profile.write_text(
        "id: utf8-only\ntitle: t\ndetect: {headers: [Compte]}\nread: {encoding: utf-8}\n"
        "columns: {exercice: Exercice, nature: Compte, section: Section, sens: Sens}\namounts: {executed: Réalisé}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidDataError) as info:
        read_tabular(path, profile=profile)
    assert info.value.params["row"] == 1


@pytest.mark.parametrize("name", ["empty.csv", "header-only.csv"])
def test_empty_file(name):
    with pytest.raises(InvalidDataError) as info:
        read_tabular(FIX / name)
    assert info.value.code == "empty-file"


def test_unknown_profile_and_missing_file():
    with pytest.raises(ConfigError) as info:
        read_tabular(FIX / "cedi.csv", profile="nope")
    assert info.value.code == "profile-unknown" and info.value.exit_code == 2
    with pytest.raises(ConfigError):
        read_tabular(FIX / "absent.csv")


def test_basis_override_and_file_index():
    doc = read_tabular(FIX / "scdl-upper.csv", basis="voted", file_index=2)
    assert doc.lines["amount_basis"].unique().tolist() == ["voted"]
    assert doc.lines["amount_cents"].iloc[0] == 13_000_000
    assert doc.lines["line_id"].iloc[0] == "2019CA-00-00001~2"
    assert set(doc.raw_totals["basis"]) == {"voted"}


def test_every_message_is_registered():
    catalogue = i18n.catalogue()
    for code in ["empty-file", "undecodable", "encoding-fallback", "missing-column", "amount-not-a-number",
                 "amount-in-centimes", "value-not-recognised", "chapter-account-swapped", "column-derived",
                 "column-not-provided", "profile-invalid", "profile-unknown"]:
        assert code in catalogue


def test_unrecognised_value_is_a_finding(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(FIX.joinpath("cedi.csv").read_text(encoding="utf-8").replace(",D,F,OR,", ",X,F,OR,", 1), encoding="utf-8")
    doc = read_tabular(path)
    bad = doc.findings[doc.findings["code"] == "value-not-recognised"]
    assert bad[["row", "column", "value"]].values.tolist() == [[2, "Dépense/Recette", "X"]]
    assert pd.isna(doc.lines["sens"].iloc[0])


def test_lines_are_enriched_from_the_plan_of_their_nomenclature():
    from budgetclimat.read import read_budget

    doc = read_budget(FIX / "erp-title-rows.xlsx", constants={"nomenclature": "M57", "budget_kind": "principal"})
    lines = doc.lines.set_index("nature")
    # The file has no chapter column: the M57 plan gives 011 for 60612 and 21 for 21312.
    assert lines.loc["60612", "chapitre"] == "011"
    assert lines.loc["21312", "chapitre"] == "21"
    assert lines.loc["21312", "account_label"] == "Bâtiments scolaires"
    # Its own labels win over the plan's.
    assert lines.loc["21312", "label"] == "École"
    assert "plan-nearest-year" in set(doc.findings["code"])


def test_a_column_no_profile_gives_is_completed_with_the_option_the_user_types(tmp_path):
    """An ERP export without a budget-type column: the warning names ``--set budget_kind=…`` (it used to name
    only a profile's ``constants:``, in French whatever the language)."""
    path = tmp_path / "erp.csv"
    path.write_text(
        "Exercice;Nomenclature;Type de document;Section;Sens;Réel/Ordre;Chapitre;Nature;Fonction;Libellé;Montant réalisé\n"
        "2022;M57;CA;Fonctionnement;Dépense;Réel;011;6184;420;Électricité;562,83\n",
        encoding="utf-8",
    )
    found = read_tabular(path).findings
    gap = found[found["code"] == "column-not-provided"].iloc[0]
    assert gap["expected"] == "--set budget_kind=… sur la ligne de commande (ou constants: dans un profil)"
    i18n.set_language("en")
    found = read_tabular(path).findings
    assert found[found["code"] == "column-not-provided"].iloc[0]["expected"] == "--set budget_kind=… on the command line (or constants: in a profile)"
