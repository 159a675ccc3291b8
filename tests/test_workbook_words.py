"""What a reader sees in the council workbook: French words in French, English words in English, no
internal ids (snake_case codes, column names, rule ids outside the rule reference columns, English
statuses), no image file names, no path of the machine that ran it, no fixed 1980 timestamp.

Every text cell of every visible sheet (hidden columns are the round trip's, not the reader's) of the
Montpellier CA 2018 workbook is scanned, in French and in English. The summary JSON of the same run
carries no absolute path either.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from conftest import DATA, MONTPELLIER_XML, invoke

XML = DATA / "montpellier-ca-2018-m57.xml"

# Words and patterns no reader should see in the French workbook: ids of the code and data files,
# English statuses and words, file names of the I4CE images, paths, the fixed date of reproducible output.
FRENCH_FORBIDDEN = {
    "snake_case id": re.compile(r"\b[a-z]+_[a-z_]+\b"),
    "rule id": re.compile(r"\b(?:SCOPE|ATT|BIO|CARB|EU|RIO|W)-[A-Z0-9][A-Z0-9-]*\b"),
    "English id or word": re.compile(
        r"(?<![\w-])(?:specialised|revenue|staff|second-hand|to verify|verified|estimate|provisional|scope|spending|the|of|and|with|"
        r"cells?|rows?|rule|rationale|encoding|warning|error|min|max|reel|interieur|derived|assumed|average|price|prefer)(?![\w-])"
    ),
    "image file": re.compile(r"\.png\b"),
    "absolute path": re.compile(r"(?:^|[\s«(\"'])(?:/(?:[\w.-]+/)+[\w.-]*|[A-Za-z]:\\)"),
    "fixed date": re.compile(r"1980-01-01"),
}
# In English: the internal ids written in French (answer and fact codes, enumerations of the line model).
ENGLISH_FORBIDDEN = {
    "snake_case id": FRENCH_FORBIDDEN["snake_case id"],
    "rule id": FRENCH_FORBIDDEN["rule id"],
    "French internal id": re.compile(r"(?<![\w-])(?:reel|interieur|tres_favorable|a_approfondir|hors_perimetre)(?![\w-])"),
    "image file": FRENCH_FORBIDDEN["image file"],
    "absolute path": FRENCH_FORBIDDEN["absolute path"],
    "fixed date": FRENCH_FORBIDDEN["fixed date"],
}
# A cell that is exactly one of these ids is an id shown bare (« construction » in a sentence is French).
FRENCH_BARE_IDS = {"construction", "specialised_services", "factor_id", "min", "max", "revenue", "staff", "scope", "classification"}
ENGLISH_BARE_IDS = {"specialised_services", "factor_id", "reel", "interieur", "recette", "depense"}

# What a reader must see verbatim, by sheet and column header (a prefix of it): the rule reference columns
# name the rule of the rulebook that decided (the key to find it in the YAML file), and the finding code
# is the key to docs/errors.md.
ALLOWED = {
    "rule id": [("Lignes", "Réf. de la règle"), ("Lines", "Rule ref."), ("Méthode", "Référence de la règle"), ("Method", "Rule reference")],
}


def _header_of(ws, column: int, row: int, headers: dict) -> str:
    """The header of the table a cell belongs to: the nearest row above that looks like a header row."""
    return headers.get((column, max((r for (c, r) in headers if c == column and r < row), default=0)), "")


def scan(path: Path, forbidden: dict, bare: set[str] = FRENCH_BARE_IDS) -> list[str]:
    wb = load_workbook(path)
    hits = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        hidden = {key for key, dim in ws.column_dimensions.items() if dim.hidden}
        # Header cells: bold text cells of a row with at least three text cells (tables of every sheet).
        headers = {}
        for row in ws.iter_rows():
            texts = [c for c in row if isinstance(c.value, str)]
            if len(texts) >= 3 and all(c.font is not None and c.font.b for c in texts):
                for c in texts:
                    headers[(c.column, c.row)] = c.value
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or get_column_letter(cell.column) in hidden:
                    continue
                header = _header_of(ws, cell.column, cell.row, headers) if (cell.column, cell.row) not in headers else ""
                text = cell.value
                if text.strip() in bare:
                    hits.append(f"{ws.title}!{cell.coordinate} bare id: {text!r}")
                for name, pattern in forbidden.items():
                    if any(ws.title == s and header.startswith(h) for s, h in ALLOWED.get(name, [])):
                        continue
                    found = pattern.search(text)
                    if found:
                        hits.append(f"{ws.title}!{cell.coordinate} {name} « {found.group(0)} » in {text[:120]!r}")
    return hits


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, montpellier_classified):
    out = tmp_path_factory.mktemp("words")
    # the French run of XML is the shared one (conftest.montpellier_classified): copied, never written
    assert XML == MONTPELLIER_XML
    shutil.copyfile(montpellier_classified.workbook, out / "annexe.xlsx")
    shutil.copyfile(montpellier_classified.summary, out / "resume.json")
    invoke(["--lang", "en", "classify", XML, "-o", out / "annex.xlsx"])
    return out


def test_french_workbook_shows_no_internal_id_nor_english(outputs):
    hits = scan(outputs / "annexe.xlsx", FRENCH_FORBIDDEN)
    assert not hits, f"{len(hits)} cell(s):\n" + "\n".join(hits[:40])


def test_english_workbook_shows_no_french_internal_id(outputs):
    hits = scan(outputs / "annex.xlsx", ENGLISH_FORBIDDEN, ENGLISH_BARE_IDS)
    assert not hits, f"{len(hits)} cell(s):\n" + "\n".join(hits[:40])


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The scan is not blind: an id, an English status, a path and the fixed date planted in a workbook are found."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Méthode"
    for i, text in enumerate(["factor_id", "second-hand, to verify", "voir /home/x/rules/a.yaml", "Horodatage 1980-01-01T00:00:00Z",
                              "tableau autre_commande_public.png, cell 144", "SCOPE-RECETTES", "construction"], start=1):
        ws.cell(row=i, column=1, value=text)
    wb.save(tmp_path / "w.xlsx")
    hits = "\n".join(scan(tmp_path / "w.xlsx", FRENCH_FORBIDDEN))
    for expected in ["A1 bare id", "A1 snake_case", "A2 English", "A3 absolute path", "A4 fixed date", "A5 image file", "A5 English",
                     "A6 rule id", "A7 bare id"]:
        assert expected in hits, (expected, hits)


def test_methode_shows_no_fixed_timestamp_and_french_headers(outputs):
    ws = load_workbook(outputs / "annexe.xlsx")["Méthode"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "Horodatage" not in texts  # the fixed default date of reproducible output is no date to show
    assert {"Facteur d'émission", "Statut", "Année des prix", "Base TVA", "Encodage"} <= set(texts)
    assert "de seconde main, à vérifier" in texts and "Périmètre" in texts and "Classement" in texts


def test_summary_json_has_no_absolute_path(outputs):
    text = (outputs / "resume.json").read_text(encoding="utf-8")
    assert str(Path.cwd()) not in text and str(Path(__file__).resolve().parents[1]) not in text
    data = json.loads(text)

    def strings(node):
        if isinstance(node, dict):
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)
        elif isinstance(node, str):
            yield node

    assert not [s for s in strings(data) if s.startswith("/") or re.match(r"^[A-Za-z]:\\", s)]
    books = {rb["id"]: rb for rb in data["rulebooks"]}
    shipped = Path(__file__).resolve().parents[1] / "rules" / "i4ce-2022" / "attenuation.yaml"
    import hashlib

    assert books["i4ce-2022-attenuation"]["file"] == "attenuation.yaml"
    assert books["i4ce-2022-attenuation"]["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert "path" not in books["i4ce-2022-attenuation"]


def test_workbook_has_no_absolute_path(outputs):
    root = str(Path(__file__).resolve().parents[1])
    for name in ("annexe.xlsx", "annex.xlsx"):
        wb = load_workbook(outputs / name)
        for ws in wb.worksheets:  # hidden sheets included: a path of the machine is nowhere in the file
            for row in ws.iter_rows():
                for cell in row:
                    assert not (isinstance(cell.value, str) and (root in cell.value or str(outputs) in cell.value)), (ws.title, cell.coordinate, cell.value)


def test_a_workbook_of_many_collectivites_names_none_of_them_as_its_own(tmp_path):
    """A DGFiP balance of 7 communes (one row each): the title, page header, SIRET and budget lines count them;
    they used to name the first commune as if the workbook were hers."""
    header = "EXER;IDENT;NDEPT;LBUDG;INSEE;CBUDG;CTYPE;NOMEN;SIREN;FONCTION;COMPTE;BEDEB;BECRE;OBNETDEB;OBNETCRE;OOBDEB;OOBCRE;SD;SC"
    rows = [f"2022;2{k:08d};003;COMMUNE {k};710{k:02d};1;201;M57;2{k:08d};411;6064;0.00;0.00;{100 + k}.00;0.00;0.00;0.00;{100 + k}.00;0.00" for k in range(1, 8)]
    balance = tmp_path / "balance.csv"
    balance.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    invoke(["classify", balance, "--profile", "dgfip", "-o", tmp_path / "a.xlsx"])
    wb = load_workbook(tmp_path / "a.xlsx")
    summary = wb.worksheets[0]
    cells = {row[0]: row[1] for row in summary.iter_rows(min_row=1, max_row=12, values_only=True) if row[0] and len(row) > 1}
    assert summary["A1"].value.endswith("7 collectivités") and "COMMUNE 1" not in summary["A1"].value
    assert summary.oddHeader.left.text == "7 collectivités"
    assert cells["Collectivité"] == "7 collectivités"
    assert cells["SIRET"] == "7 numéros différents (200000001, 200000002, 200000003 …)"
    assert cells["Budget"] == "7 budgets (COMMUNE 1, COMMUNE 2, COMMUNE 3 …)"
    assert "COMMUNE 1" not in (wb.properties.title or "")
