"""The workbook as a printed document: page setup of every sheet, row heights of wrapped cells, the council pack.

The page setup is read back from the written file (openpyxl), not from the code that wrote it; row heights are
checked against a lower bound computed here from the text and the column widths. One test prints the
Montpellier council pack with LibreOffice (skipped when ``soffice`` or ``pdftotext`` is absent).
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from conftest import DATA, invoke

RULEBOOKS = Path(__file__).parent / "fixtures" / "rulebooks"
MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"
RULES = ["--rules", RULEBOOKS / "scope.yaml", "--rules", RULEBOOKS / "attenuation.yaml"]
COUNCIL = ["Synthèse", "Budget vert coloré", "Budget vert pondéré", "Budget carbone", "Évolution", "Annexe légale", "Méthode"]
PORTRAIT = {"Synthèse", "Budget vert pondéré", "Annexe légale"}
TITLED = {"Lignes": "$4:$4", "À approfondir": "$4:$4"}  # sheets with one table: its header row repeats on every page


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    out = tmp_path_factory.mktemp("print")
    invoke(["classify", MONTPELLIER, *RULES, "-o", out / "full.xlsx", "--pack", out / "conseil.xlsx"])
    return out / "full.xlsx", out / "conseil.xlsx"


def _visible(path: Path):
    wb = openpyxl.load_workbook(path)
    return [ws for ws in wb.worksheets if ws.sheet_state == "visible"]


@pytest.mark.parametrize("which", [0, 1])
def test_every_sheet_prints_on_a4_fitted_to_the_width(books, which):
    sheets = _visible(books[which])
    assert sheets
    for ws in sheets:
        setup = ws.page_setup
        assert str(setup.paperSize) == "9", ws.title  # A4
        assert setup.orientation == ("portrait" if ws.title in PORTRAIT else "landscape"), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert int(setup.fitToWidth) == 1, ws.title
        assert int(setup.fitToHeight) == (1 if ws.title == "Synthèse" else 0), ws.title
        if ws.title in TITLED:
            assert ws.print_title_rows == TITLED[ws.title], ws.title
        # Header (collectivité, document, exercice) and footer « page N / M », with room to print: LibreOffice
        # drops a header whose margin is not inside the top margin.
        assert "MONTPELLIER" in ws.oddHeader.left.text and "2018" in ws.oddHeader.center.text, ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text, ws.title
        assert ws.page_margins.header < ws.page_margins.top and ws.page_margins.footer < ws.page_margins.bottom, ws.title


def _lower_bound_lines(text: str, width: float, size: float) -> int:
    """Fewest lines ``text`` can take in a column of ``width`` characters: its own line breaks, and its length
    over the most characters of ``size``-point text a line of that width could hold (2.6 per unit of width
    at 10 pt: a line of nothing but « i » and commas; real text holds about 1.45)."""
    per_line = width * 2.6 * 10 / size
    return max(text.count("\n") + 1, sum(math.ceil(len(part) / per_line) or 1 for part in text.split("\n")))


@pytest.mark.parametrize("which", [0, 1])
def test_wrapped_cells_have_rows_tall_enough_for_their_text(books, which):
    checked = tall = 0
    for ws in _visible(books[which]):
        widths = {}
        spans = {(m.min_row, m.min_col): m for m in ws.merged_cells.ranges}
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                    continue
                merged = spans.get((cell.row, cell.column))
                cols = range(merged.min_col, merged.max_col + 1) if merged else [cell.column]
                width = sum(widths.setdefault(c, ws.column_dimensions[get_column_letter(c)].width or 8.43) for c in cols)
                lines = _lower_bound_lines(cell.value, width, cell.font.sz or 10)
                height = ws.row_dimensions[cell.row].height
                checked += 1
                if lines > 1:
                    tall += 1
                    assert height is not None and height >= lines * 13 * max(1, (cell.font.sz or 10) / 10), (
                        ws.title, cell.coordinate, lines, height, cell.value[:80])
    assert checked > 20 and tall > 5  # the test saw wrapped text that needs several lines


def test_the_pack_has_only_the_council_sheets(books):
    full, pack = books
    wb = openpyxl.load_workbook(pack)
    assert all(ws.sheet_state == "visible" for ws in wb.worksheets)  # no working sheets, hidden or not
    assert set(wb.sheetnames) <= set(COUNCIL)
    assert {"Synthèse", "Budget vert coloré", "Annexe légale", "Méthode"} <= set(wb.sheetnames)
    assert [n for n in openpyxl.load_workbook(full).sheetnames if n in wb.sheetnames] == wb.sheetnames  # same order
    for name in ("Lignes", "À approfondir", "Contrôles"):
        assert name in openpyxl.load_workbook(full).sheetnames and name not in wb.sheetnames
    # The council sheets of the pack are those of the full workbook, cell for cell, except the carbon table by
    # account: its first accounts, then one row for the others, with the same euros and tonnes in total.
    for name in wb.sheetnames:
        a = [r for r in openpyxl.load_workbook(full)[name].iter_rows(values_only=True)]
        b = [r for r in wb[name].iter_rows(values_only=True)]
        if name != "Budget carbone":
            assert a == b, name
            continue
        full_accounts, pack_accounts = _accounts(a), _accounts(b)
        assert len(pack_accounts) < len(full_accounts)
        assert pack_accounts[:-1] == full_accounts[: len(pack_accounts) - 1]
        assert str(pack_accounts[-1][0]).startswith("Autres comptes")
        assert sum(round(r[2] * 100) for r in pack_accounts) == sum(round(r[2] * 100) for r in full_accounts)
        assert sum(r[3] for r in pack_accounts) == pytest.approx(sum(r[3] for r in full_accounts))
        assert [r for r in a if r not in full_accounts] == [r for r in b if r not in pack_accounts]


def _accounts(rows):
    """The rows of the carbon table by account (after its « Nature » header, up to the blank row)."""
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Nature") + 1
    end = next(i for i in range(start, len(rows)) if not any(v is not None for v in rows[i]))
    return rows[start:end]


@pytest.mark.parametrize("args", [
    ["--pack", "conseil.pdf"],
    ["--pack", "conseil.ods"],
    ["-o", "meme.xlsx", "--pack", "meme.xlsx"],
])
def test_pack_refused_when_not_an_xlsx_of_its_own(tmp_path, args):
    args = [tmp_path / a if a.endswith((".pdf", ".ods", ".xlsx")) else a for a in args]
    result = invoke(["classify", MONTPELLIER, *RULES, *args], code=2)
    assert "--pack" in result.stderr
    assert not any(p.exists() for p in tmp_path.iterdir() if p.suffix in (".pdf", ".ods", ".xlsx"))


def test_pack_never_overwrites_an_input(tmp_path):
    copy = tmp_path / "budget.xlsx"  # an input that happens to carry the pack's extension
    copy.write_bytes(MONTPELLIER.read_bytes())
    invoke(["classify", copy, *RULES, "--pack", copy], code=2)
    assert copy.read_bytes() == MONTPELLIER.read_bytes()


def test_pack_option_has_french_help():
    result = invoke(["classify", "--help"])
    assert "--pack" in result.stdout and "Dossier du conseil" in result.stdout


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None, reason="LibreOffice or poppler not installed")
def test_montpellier_pack_prints_under_20_pages_with_the_summary_on_one(tmp_path):
    """The deliverable as a finance director prints it: the council pack of the Montpellier CA 2018 (shipped
    rulebooks) converted to PDF by LibreOffice in the French locale."""
    import os

    from budgetclimat.export.workbook import write_workbook
    from budgetclimat.pipeline import run

    source = Path(__file__).parents[1] / "examples" / "montpellier-ca-2018-m57.xml"
    pack = write_workbook(run([source]), tmp_path / "conseil.xlsx", pack=True, inputs=[source])
    env = {**os.environ, "LANG": "fr_FR.UTF-8", "LC_ALL": "fr_FR.UTF-8"}
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless", "--norestore", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(pack)], check=True, capture_output=True, timeout=300, env=env)
    pdf = tmp_path / "conseil.pdf"
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout.split("\f")
    pages = [p for p in pages if p.strip()]
    assert 5 <= len(pages) < 20, len(pages)
    # Every page carries the header (its sheet's name on the right) and « page N / M » in the footer.
    sheets = [next((s for s in COUNCIL if s in p.strip().splitlines()[0]), None) for p in pages]
    assert all(sheets), [p.strip().splitlines()[0] for p in pages]
    assert sheets.count("Synthèse") == 1 and sheets[0] == "Synthèse"
    assert all(f"page {i} / {len(pages)}" in p for i, p in enumerate(pages, 1))
    # The Synthèse page holds its key figures and both charts' titles.
    assert "Chiffres clés" in pages[0] and "Répartition par classe" in pages[0]
