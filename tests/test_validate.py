"""validate(): pandera checks on hand-built canonical frames, mapped to findings with stable codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from budgetclimat import errors, i18n, model
from budgetclimat.validate import FORMATS, RULES, counts_by_code, validate

PLANS = Path("/work/shared/data/nomenclatures")
REPO_PLANS = Path(__file__).resolve().parents[1] / "rules" / "nomenclatures"


@pytest.fixture(scope="module")
def m57_2018():
    from budgetclimat.nomenclature import load_plan

    for folder in (REPO_PLANS, PLANS):
        path = folder / "plan-de-compte-M57-M57-2018.xml"
        if path.is_file():
            return load_plan(path)
    pytest.skip("M57 2018 plan not available")


GOOD = dict(nature="6225", fonction="020", section="F", sens="D", operation="reel", chapitre="011", executed_cents=12345)


def make_doc(rows: list[dict], raw_totals: pd.DataFrame | None = None, findings: pd.DataFrame | None = None) -> model.BudgetDocument:
    """A CA document in M57 2018 from a few partial lines; source_row = 10, 11, …"""
    frame = pd.DataFrame(rows)
    n = len(frame)
    defaults = {
        "line_id": [f"2018CA-00-{i:05d}" for i in range(1, n + 1)],
        "source_file": "budget.xml", "source_row": list(range(10, 10 + n)), "source_format": "totem",
        "exercice": 2018, "doc_type": "CA", "budget_code": "00", "budget_kind": "principal",
        "nomenclature": "M57", "nomenclature_variant": "M57-M57", "collectivite": "Ville test", "siret": "21340172201787",
    }
    for column, value in defaults.items():
        if column not in frame:
            frame[column] = value
    lines = model.choose_amount(model.conform(frame))
    return model.BudgetDocument(
        lines, model.SourceInfo(Path("budget.xml"), "totem", "0" * 64),
        raw_totals if raw_totals is not None else pd.DataFrame(), findings if findings is not None else errors.empty_findings(),
    )


def codes(findings: pd.DataFrame) -> list[tuple[str, int]]:
    return sorted(zip(findings["code"], findings["row"].astype(int)))


def test_valid_lines_have_no_finding(m57_2018):
    doc = make_doc([GOOD, {**GOOD, "nature": "21828", "section": "I", "chapitre": "21"}])
    assert validate(doc, m57_2018).empty


def test_findings_frame_has_the_contract_columns(m57_2018):
    findings = validate(make_doc([{**GOOD, "nature": "99999"}]), m57_2018)
    assert list(findings.columns) == errors.FINDING_COLUMNS
    assert findings["row"].dtype == "Int64"


def test_unknown_account_is_a_warning_named_by_file_row_column_value(m57_2018):
    # A document the State accepted is not invalid for an account our plan lacks: a warning, not an error.
    findings = validate(make_doc([GOOD, {**GOOD, "nature": "99999"}]), m57_2018)
    assert codes(findings) == [("account-unknown", 11)]
    row = findings.iloc[0].to_dict()
    assert (row["level"], row["file"], row["column"], row["value"], row["expected"]) == ("warning", "budget.xml", "nature", "99999", "M57-M57 2018")
    assert errors.render_finding(row) == (
        'fichier budget.xml, ligne 11, colonne nature : "99999" n\'est pas un compte du plan M57-M57 2018 '
        "(attendu : un compte du plan de comptes)"
    )
    assert errors.render_finding(row, "en").startswith('file budget.xml, row 11, column nature: "99999" is not an account')


def test_deleted_and_non_leaf_accounts_are_warnings(m57_2018):
    # In the M57 2018 plan, 10221 (TLE) is marked Supprime; 102 has sub-accounts.
    doc = make_doc([
        {**GOOD, "nature": "10221", "section": "I", "sens": "R", "chapitre": "10"},
        {**GOOD, "nature": "102", "section": "I", "sens": "R", "chapitre": "10"},
    ])
    findings = validate(doc, m57_2018)
    assert codes(findings) == [("account-deleted", 10), ("account-not-leaf", 11)]
    assert set(findings["level"]) == {"warning"}


def test_account_inconsistent_with_section_and_chapter(m57_2018):
    doc = make_doc([
        {**GOOD, "nature": "21828", "section": "F", "chapitre": "21"},  # class 2 in fonctionnement
        {**GOOD, "chapitre": "012"},  # 6225 is voted in 011
    ])
    findings = validate(doc, m57_2018)
    assert codes(findings) == [("account-chapter-mismatch", 11), ("account-section-mismatch", 10)]
    by_code = findings.set_index("code")
    assert by_code.loc["account-section-mismatch", "expected"].startswith("I ")
    assert by_code.loc["account-chapter-mismatch", "value"] == "012"
    assert by_code.loc["account-chapter-mismatch", "expected"].startswith("011 ")


def test_allowance_chapters_accept_any_account(m57_2018):
    assert validate(make_doc([{**GOOD, "chapitre": "016"}]), m57_2018).empty


def test_third_party_operation_sub_account_is_a_warning(m57_2018):
    doc = make_doc([{**GOOD, "nature": "454418", "section": "I", "chapitre": "454418"}])
    findings = validate(doc, m57_2018)
    assert list(findings["code"]) == ["account-third-party-operation"]
    assert findings.loc[0, "expected"] == "45441"


def test_code_formats_and_allowed_values(m57_2018):
    doc = make_doc([{**GOOD, "nature": "A12", "fonction": "x", "section": "Z", "sens": "Q", "operation": "cash", "chapitre": "1"}])
    findings = validate(doc, m57_2018)
    assert sorted(findings["code"]) == ["code-format", "code-format", "code-format", "operation-invalid", "section-invalid", "sens-invalid"]
    formats = findings[findings["code"] == "code-format"].set_index("column")
    assert formats.loc["nature", "value"] == "A12"
    assert formats.loc["fonction", "expected"] == i18n.t("expected.format.fonction")


def test_required_value_missing(m57_2018):
    doc = make_doc([{**GOOD, "nature": None}])
    findings = validate(doc, m57_2018)
    assert list(zip(findings["code"], findings["column"])) == [("required-missing", "nature")]


def test_duplicates_negative_and_missing_amounts_are_warnings(m57_2018):
    doc = make_doc([GOOD, {**GOOD, "executed_cents": -5}, {**GOOD, "fonction": "021", "executed_cents": None}])
    findings = validate(doc, m57_2018)
    assert codes(findings) == [("amount-missing", 12), ("amount-negative", 11), ("duplicate-line", 11)]
    assert set(findings["level"]) == {"warning"}
    assert findings.set_index("code").loc["amount-negative", "value"] == "-0,05"


def test_chosen_basis_empty_everywhere_is_an_error(m57_2018):
    doc = make_doc([GOOD])
    doc.lines = model.choose_amount(doc.lines, basis="voted")
    findings = validate(doc, m57_2018)
    assert sorted(findings["code"]) == ["amount-missing", "basis-empty"]
    assert findings.set_index("code").loc["basis-empty", "level"] == "error"


def test_reader_findings_are_merged(m57_2018):
    reader = errors.findings_frame([{"level": "error", "code": "amount-not-a-number", "file": "budget.xml", "row": 10,
                                     "column": "MtReal", "value": "douze", "expected": "1234.56"}])
    doc = make_doc([{**GOOD, "executed_cents": None}, {**GOOD, "fonction": "021"}], findings=reader)
    findings = validate(doc, m57_2018)
    # The reader's error stands alone: "no amount" on the same line would say the same thing twice.
    assert list(findings["code"]) == ["amount-not-a-number"]


def test_plan_is_chosen_from_nomenclature_and_year():
    findings = validate(make_doc([{**GOOD, "nature": "99999"}]))
    assert "account-unknown" in set(findings["code"])
    assert findings.set_index("code").loc["account-unknown", "expected"].startswith("M57-M57 ")


def test_every_rule_is_in_the_catalogue_with_titles():
    catalogue = i18n.catalogue()
    for code in RULES:
        text = catalogue[code]
        assert text.title_fr and text.title_en and "{file}" in text.fr and "{row}" in text.en
    for column in FORMATS:
        assert f"expected.format.{column}" in catalogue


def test_counts_by_code_puts_errors_first(m57_2018):
    doc = make_doc([GOOD, GOOD, GOOD, {**GOOD, "nature": "99999"}])
    counts = counts_by_code(validate(doc, m57_2018))
    assert counts.to_dict("records") == [
        {"level": "warning", "code": "duplicate-line", "count": 2},
        {"level": "warning", "code": "account-unknown", "count": 1},
    ]
    doc = make_doc([GOOD, GOOD, GOOD, {**GOOD, "sens": "Q"}])
    counts = counts_by_code(validate(doc, m57_2018))
    assert counts.to_dict("records")[0] == {"level": "error", "code": "sens-invalid", "count": 1}


def test_checks_run_through_pandera():
    from budgetclimat.validate import consistency_schema, line_schema

    import pandera.pandas as pa

    assert isinstance(line_schema(), pa.DataFrameSchema) and isinstance(consistency_schema(), pa.DataFrameSchema)
    names = {c.name for c in consistency_schema().checks}
    assert {"account-unknown", "account-section-mismatch", "account-chapter-mismatch", "duplicate-line"} <= names


def test_two_collectivites_of_one_balance_are_not_duplicates(tmp_path):
    """A DGFiP balance holds many collectivités: two communes with the same budget code, account and
    fonction are two budgets, not a duplicate line; the same row twice for one siren still is."""
    from budgetclimat.read import read_budget
    from budgetclimat.validate import validate_document

    header = "EXER;LBUDG;CBUDG;NOMEN;SIREN;FONCTION;COMPTE;OBNETDEB;OBNETCRE;OOBDEB;OOBCRE"
    rows = ["2022;COMMUNE A;1;M57;200000001;020;60612;100,00;0;0;0",
            "2022;COMMUNE B;1;M57;200000002;020;60612;200,00;0;0;0"]
    path = tmp_path / "balance.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    codes = validate_document(read_budget(path, profile="dgfip")).findings["code"]
    assert "duplicate-line" not in set(codes)
    path.write_text("\n".join([header, rows[0], rows[0]]) + "\n", encoding="utf-8")
    codes = validate_document(read_budget(path, profile="dgfip")).findings["code"]
    assert (codes == "duplicate-line").sum() == 1


def test_a_file_of_several_collectivites_names_them_all_not_the_first():
    """A DGFiP balance holds many collectivités: the header lists their count and the first ones (it used
    to name the first collectivité as if the file were hers)."""
    from budgetclimat.report.validate import to_human
    from budgetclimat.validate import validate_document

    doc = make_doc([{**GOOD, "collectivite": "VILLE A", "siret": "213401722"}, {**GOOD, "collectivite": "VILLE B", "siret": "210600888"}])
    report = validate_document(doc)
    summary = report.summary()
    assert summary["collectivite"] == ["VILLE A", "VILLE B"] and summary["siret"] == ["213401722", "210600888"]
    assert summary["exercice"] == 2018  # one value: the value itself
    text = to_human([report], report.findings)
    assert "Collectivité : 2 collectivités\nSIRET : 2 valeurs différentes (213401722, 210600888)" in text
