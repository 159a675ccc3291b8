"""TOTEM reader: the real Montpellier CA 2018 and hand-made fixtures (encodings, broken and hostile XML)."""

from __future__ import annotations

import http.server
import re
import shutil
import threading
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from budgetclimat import model
from budgetclimat.errors import ConfigError, InvalidDataError
from budgetclimat.read import read_budget, read_budgets

ROOT = Path(__file__).resolve().parents[1]
MONTPELLIER = ROOT / "tests" / "data" / "montpellier-ca-2018-m57.xml"
FIXTURES = ROOT / "tests" / "fixtures" / "totem"

# Cents computed once with the independent pass below (regex + Decimal over the raw XML).
MONTPELLIER_REAL_D_F = 29_579_255_587  # 295.79 M€
MONTPELLIER_REAL_D_I = 11_483_178_146  # 114.83 M€
MONTPELLIER_ORDRE_D_F = 2_252_376_105  # 22.52 M€
MONTPELLIER_ORDRE_R_I = 2_252_376_105


@pytest.fixture(scope="module")
def montpellier() -> model.BudgetDocument:
    return read_budget(MONTPELLIER)


def independent_sums(path: Path) -> dict[tuple[str, str, str], int]:
    """MtReal cents by (section, sens, operation) without the reader: section from the compte
    fonctionnel prefix (90 I / 93 F) when there is one, else from the account class."""
    text = path.read_text(encoding="iso-8859-1")
    sums: dict[tuple[str, str, str], Decimal] = {}
    for block in re.findall(r"<LigneBudget>(.*?)</LigneBudget>", text, re.S):
        field = dict(re.findall(r'<(\w+) V="([^"]*)"', block))
        fonction, nature = field.get("Fonction", ""), field["Nature"]
        if len(fonction) >= 4 and fonction[:2] in ("90", "93"):
            section = "I" if fonction.startswith("90") else "F"
        else:
            section = "F" if nature[0] in "67" or nature in ("002", "023") else "I"
        key = (section, field["CodRD"], "ordre" if field["OpBudg"] == "1" else "reel")
        sums[key] = sums.get(key, Decimal(0)) + Decimal(field["MtReal"])
    return {k: int(v * 100) for k, v in sums.items()}


def executed(lines: pd.DataFrame, section: str, sens: str, operation: str) -> int:
    pick = (lines["section"] == section) & (lines["sens"] == sens) & (lines["operation"] == operation)
    return int(lines.loc[pick, "executed_cents"].sum())


# --- Montpellier CA 2018 (M57, vote par fonction) ---------------------------------------------------


def test_montpellier_line_count_and_columns(montpellier):
    lines = montpellier.lines
    assert len(lines) == 1697
    assert list(lines.columns) == model.COLUMN_NAMES
    assert lines["line_id"].is_unique
    assert lines["line_id"].iloc[0] == "2018CA-00-00001"
    assert montpellier.findings.empty


def test_montpellier_totals_to_the_cent(montpellier):
    sums = independent_sums(MONTPELLIER)
    assert sums[("F", "D", "reel")] == MONTPELLIER_REAL_D_F
    assert sums[("I", "D", "reel")] == MONTPELLIER_REAL_D_I
    assert sums[("F", "D", "ordre")] == MONTPELLIER_ORDRE_D_F
    assert sums[("I", "R", "ordre")] == MONTPELLIER_ORDRE_R_I
    lines = montpellier.lines
    for (section, sens, operation), cents in sums.items():
        assert executed(lines, section, sens, operation) == cents, (section, sens, operation)
    assert int(lines["amount_cents"].sum()) == int(lines["executed_cents"].sum())
    assert (lines["amount_basis"] == "executed").all()


def test_montpellier_raw_totals_match_independent_sums(montpellier):
    raw = montpellier.raw_totals
    assert list(raw.columns) == ["section", "sens", "operation", "basis", "lines", "total_cents"]
    got = {
        (r.section, r.sens, r.operation): r.total_cents
        for r in raw[raw["basis"] == "executed"].itertuples()
    }
    assert got == independent_sums(MONTPELLIER)
    assert raw.loc[raw["basis"] == "executed", "lines"].sum() == 1697


def test_montpellier_header(montpellier):
    first = montpellier.lines.iloc[0]
    assert first["collectivite"] == "VILLE DE MONTPELLIER"
    assert first["siret"] == "21340172201787"
    assert first["exercice"] == 2018
    assert first["doc_type"] == "CA"
    assert first["budget_code"] == "00"
    assert first["budget_label"] == "BUDGET PRINCIPAL MONTPELLIER"
    assert first["budget_kind"] == "principal"
    assert first["nomenclature"] == "M57"
    assert first["nomenclature_variant"] == "M57-M57"
    assert first["source_format"] == "totem"
    assert montpellier.source.encoding == "ISO-8859-1"
    assert montpellier.source.header["NatVote"] == "FcIc"
    assert len(montpellier.source.sha256) == 64


def test_montpellier_source_row_is_the_xml_line(montpellier):
    text = MONTPELLIER.read_text(encoding="iso-8859-1").splitlines()
    starts = [i + 1 for i, line in enumerate(text) if line.strip() == "<LigneBudget>"]
    assert montpellier.lines["source_row"].tolist() == starts


def line_at(lines: pd.DataFrame, **where) -> pd.Series:
    pick = pd.Series(True, index=lines.index)
    for column, value in where.items():
        pick &= lines[column] == value
    assert pick.sum() >= 1, where
    return lines[pick].iloc[0]


def test_montpellier_vote_par_fonction_decoding(montpellier):
    lines = montpellier.lines
    first = lines.iloc[0]  # Nature 6225, Fonction 93020, ContFon 930
    assert (first["nature"], first["section"], first["fonction"], first["chapitre_fonction"]) == ("6225", "F", "020", "930")
    assert first["fonction_label"] == "Administration générale de la collectivité"
    second = lines.iloc[1]  # Nature 21828, Fonction 90325
    assert (second["section"], second["fonction"], second["chapitre_fonction"]) == ("I", "325", "903")
    # Non-ventilated functional chapter 926 (transferts entre les sections): no fonction.
    amort = line_at(lines, nature="28033", sens="R")
    assert pd.isna(amort["fonction"]) and amort["chapitre_fonction"] == "926" and amort["section"] == "I"
    # 001/002 carry no Fonction at all.
    assert line_at(lines, nature="002")["section"] == "F"
    assert line_at(lines, nature="001")["section"] == "I"


def test_montpellier_chapters_and_ordre(montpellier):
    lines = montpellier.lines
    assert lines["chapitre"].notna().all()
    assert line_at(lines, nature="6225")["chapitre"] == "011"
    assert line_at(lines, nature="21828", operation="reel")["chapitre"] == "21"
    dotation = line_at(lines, nature="6811")
    assert (dotation["operation"], dotation["ordre_kind"], dotation["chapitre"]) == ("ordre", "section", "042")
    patrimoniale = line_at(lines, nature="2111", operation="ordre", sens="D")
    assert (patrimoniale["ordre_kind"], patrimoniale["chapitre"]) == ("interieur", "041")
    assert lines.loc[lines["operation"] == "reel", "ordre_kind"].isna().all()


def test_montpellier_labels_from_the_plan(montpellier):
    lines = montpellier.lines
    assert lines["account_label"].notna().all()
    assert lines["label"].notna().all()
    assert line_at(lines, nature="6225")["label"] == "Indemnités au comptable et aux régisseurs"
    # The 43 lines with a LibCpte keep the source's own label.
    own = line_at(lines, nature="45412", source_row=_first_line_with(MONTPELLIER, "TRAVAUX D OFFICE SCHS"))
    assert own["label"] == "TRAVAUX D OFFICE SCHS"
    assert own["operation_code"] == "901"


def _first_line_with(path: Path, text: str) -> int:
    lines = path.read_text(encoding="iso-8859-1").splitlines()
    hit = next(i for i, line in enumerate(lines) if text in line)
    return max(i + 1 for i in range(hit) if lines[i].strip() == "<LigneBudget>")


# --- hand-made fixtures -------------------------------------------------------------------------------


def test_utf8_budget_primitif_voted_par_nature():
    doc = read_budget(FIXTURES / "bp-2020-m57-utf8.xml")
    lines = doc.lines
    assert len(lines) == 5
    assert (lines["doc_type"] == "BP").all() and (lines["amount_basis"] == "voted").all()
    assert lines["collectivite"].iloc[0] == "Commune d'Éguisheim"
    assert (lines["budget_kind"] == "annexe").all() and lines["budget_code"].iloc[0] == "01"
    assert lines["line_id"].iloc[0] == "2020BP-01-00001"
    elec = lines.iloc[0]
    assert (elec["label"], elec["chapitre"], elec["section"], elec["fonction"]) == ("Électricité – bâtiments", "011", "F", "020")
    assert pd.isna(elec["chapitre_fonction"])
    assert lines.iloc[1]["operation_code"] == "12"
    assert lines.iloc[2][["operation", "ordre_kind", "chapitre", "section"]].tolist() == ["ordre", "section", "042", "F"]
    assert lines.iloc[3][["operation", "ordre_kind", "chapitre", "section"]].tolist() == ["ordre", "section", "040", "I"]
    assert lines["amount_cents"].tolist() == [123456, 10000000, 500010, 500010, 1]  # 0.005 rounds half up
    assert doc.findings.empty  # exact M57 2020 plan: no warning


def test_iso_8859_1_with_accents_m14():
    doc = read_budget(FIXTURES / "ca-2023-m14-latin1.xml")
    lines = doc.lines
    assert doc.source.encoding == "ISO-8859-1"
    assert lines["collectivite"].iloc[0] == "Communauté de Pézenas-Hérault"
    assert lines["nomenclature"].iloc[0] == "M14" and lines["nomenclature_variant"].iloc[0] == "M14-M14_COM_SUP3500"
    assert lines["label"].tolist()[0] == "Rémunérations titulaires"
    assert lines["chapitre"].tolist() == ["012", "21", "77"]
    assert lines["fonction_label"].iloc[1].startswith("Voirie")
    assert lines["carried_forward_cents"].iloc[1] == 100000
    assert doc.findings.empty


def test_text_in_amount_and_unknown_code_are_findings_with_xml_line():
    path = FIXTURES / "ca-2018-text-amount.xml"
    doc = read_budget(path)
    starts = [i + 1 for i, line in enumerate(path.read_text().splitlines()) if line.strip() == "<LigneBudget>"]
    f = doc.findings
    amounts = f[f["code"] == "amount-not-a-number"].sort_values("row")
    assert amounts[["row", "column", "value"]].values.tolist() == [[starts[0], "MtReal", "12,5,0"], [starts[1], "MtPrev", "beaucoup"]]
    assert (amounts["level"] == "error").all() and (amounts["file"] == path.name).all()
    codrd = f[f["code"] == "totem-bad-code"]
    assert codrd[["row", "column", "value"]].values.tolist() == [[starts[2], "CodRD", "X"]]
    # The line stays, its unreadable amount is empty (never guessed).
    assert len(doc.lines) == 3 and pd.isna(doc.lines["executed_cents"].iloc[0])
    assert "12,5,0" in read_budget_message(doc, "amount-not-a-number")


def read_budget_message(doc: model.BudgetDocument, code: str) -> str:
    from budgetclimat.errors import render_finding

    row = doc.findings[doc.findings["code"] == code].iloc[0].to_dict()
    return render_finding(row, "fr")


def test_truncated_xml_names_file_and_line():
    with pytest.raises(InvalidDataError) as caught:
        read_budget(FIXTURES / "truncated.xml")
    error = caught.value
    assert error.code == "xml-malformed" and error.exit_code == 1
    assert error.params["row"] and error.params["value"]
    assert "truncated.xml" in error.message("fr") and "ligne XML" in error.message("fr")


def test_bytes_not_matching_declared_encoding():
    with pytest.raises(InvalidDataError) as caught:
        read_budget(FIXTURES / "encoding-mismatch.xml")
    assert caught.value.code == "xml-encoding-mismatch"
    assert caught.value.params["row"] == 5  # the LibelleColl line, "Communauté" in ISO-8859-1 bytes
    assert "UTF-8" in caught.value.message("fr")


def test_doctype_is_refused():
    with pytest.raises(InvalidDataError) as caught:
        read_budget(FIXTURES / "doctype.xml")
    assert caught.value.code == "xml-entity-forbidden"
    assert caught.value.params["row"] == 2


def hostile(tmp_path: Path, system_id: str) -> Path:
    text = (FIXTURES / "bp-2020-m57-utf8.xml").read_text(encoding="utf-8")
    text = text.replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE DocumentBudgetaire [\n  <!ENTITY xxe SYSTEM "{system_id}">\n]>\n',
    ).replace("Électricité – bâtiments", "&xxe;")
    path = tmp_path / "hostile.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_external_entity_to_a_local_file_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    path = hostile(tmp_path, secret.as_uri())
    with pytest.raises(InvalidDataError) as caught:
        read_budget(path)
    assert caught.value.code == "xml-entity-forbidden"
    assert "TOP-SECRET" not in caught.value.message("fr") + repr(caught.value.params)
    # Forcing the TOTEM profile takes the same road.
    with pytest.raises(InvalidDataError):
        read_budget(path, profile="totem")


def test_external_entity_over_http_makes_no_request(tmp_path):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"REMOTE-CONTENT")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = hostile(tmp_path, f"http://127.0.0.1:{server.server_port}/entity")
        with pytest.raises(InvalidDataError) as caught:
            read_budget(path)
    finally:
        server.shutdown()
        server.server_close()
    assert caught.value.code == "xml-entity-forbidden"
    assert hits == []


def test_empty_file():
    with pytest.raises(InvalidDataError) as caught:
        read_budget(FIXTURES / "empty.xml")
    assert caught.value.code == "input-empty"
    assert "empty.xml" in caught.value.message("fr")


def test_xml_of_another_kind():
    with pytest.raises(InvalidDataError) as caught:
        read_budget(FIXTURES / "other-root.xml")
    assert caught.value.code == "xml-not-totem" and caught.value.params["value"] == "Nomenclature"


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        read_budget(tmp_path / "absent.xml")
    assert caught.value.code == "file-not-found" and caught.value.exit_code == 2


def test_profile_and_basis_options():
    doc = read_budget(FIXTURES / "bp-2020-m57-utf8.xml", profile="totem", basis="open_credits")
    assert doc.lines["amount_cents"].tolist() == [0, 10000000, 0, 0, 0]
    assert (doc.lines["amount_basis"] == "open_credits").all()
    with pytest.raises(ConfigError) as caught:
        read_budget(FIXTURES / "bp-2020-m57-utf8.xml", profile="scdl")
    assert caught.value.code == "profile-not-for-totem"
    with pytest.raises(ConfigError) as caught:
        read_budget(FIXTURES / "bp-2020-m57-utf8.xml", basis="paid")
    assert caught.value.code == "amount-basis-unknown"


def test_read_budgets_separates_files_of_the_same_document(tmp_path):
    copy = tmp_path / "copy.xml"
    shutil.copy(FIXTURES / "bp-2020-m57-utf8.xml", copy)
    first, second, other = read_budgets([FIXTURES / "bp-2020-m57-utf8.xml", copy, FIXTURES / "ca-2023-m14-latin1.xml"])
    assert first.lines["line_id"].iloc[0] == "2020BP-01-00001"
    assert second.lines["line_id"].iloc[0] == "2020BP-01-00001~1"
    assert other.lines["line_id"].iloc[0] == "2023CA-00-00001"


def test_line_model_doc_lists_every_column():
    doc = (ROOT / "docs" / "line-model.md").read_text(encoding="utf-8")
    missing = [name for name in model.COLUMN_NAMES if f"`{name}`" not in doc]
    assert missing == []
