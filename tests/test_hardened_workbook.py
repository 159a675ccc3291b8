"""Issue 13 ("Hardened"), the spreadsheet container and the size limits, through the command line.

Every hostile file is generated here (openpyxl, zipfile): hidden sheets (case 2), a far cell (case 3), a
zip bomb (case 4), damaged zip members and an over-long CSV field (case 6), cells without a value
(case 8). Each is refused with exit 1 and a French message naming the file and what was found, never
an internal error; the heavy ones are run in a subprocess whose time and peak memory are measured.
Expected totals are computed here from the rows written (Decimal), not from what the program prints.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES, invoke

GOOD = FIXTURES / "validate" / "good.csv"  # a cedi export (M52 2016) that validates with no finding
HEADER = GOOD.read_text(encoding="utf-8").splitlines()[0].split(",")
ROWS = [line.split(",") for line in GOOD.read_text(encoding="utf-8").splitlines()[1:]]
AMOUNT = HEADER.index("Montant")
AMOUNT_LETTER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[AMOUNT]


def _cents(rows: list[list[str]]) -> int:
    return int(sum(Decimal(r[AMOUNT]) for r in rows) * 100)


def _scaled(rows: list[list[str]], factor: int) -> list[list[str]]:
    return [r[:AMOUNT] + [str(Decimal(r[AMOUNT]) * factor)] + r[AMOUNT + 1 :] for r in rows]


def _append(ws, rows: list[list[str]]) -> None:
    ws.append(HEADER)
    for r in rows:
        ws.append(r[:AMOUNT] + [float(r[AMOUNT])] + r[AMOUNT + 1 :])


def _workbook(path: Path, sheets: list[tuple[str, str, list[list[str]]]]) -> Path:
    """sheets: (title, state, rows) with state visible / hidden / veryHidden; rows None: a note, no budget."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, state, rows in sheets:
        ws = wb.create_sheet(title)
        if rows is None:
            ws.append(["Notes du service financier"])
        else:
            _append(ws, rows)
        ws.sheet_state = state
    wb.save(path)
    return path


def _total_cents(result) -> int:
    files = json.loads(result.stdout)["files"]
    return sum(int(t["lines_cents"]) for f in files for t in f["totals"])


def _rewrite(src: Path, dst: Path, member: str, change) -> Path:
    """Copy an XLSX, replacing one member's bytes by ``change(bytes)`` (a valid zip again)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, change(data) if info.filename == member else data)
    return dst


SHEET1 = "xl/worksheets/sheet1.xml"


def _good_xlsx(tmp_path: Path) -> Path:
    return _workbook(tmp_path / "budget.xlsx", [("Budget", "visible", ROWS)])


def _run_measured(args: list[str], env: dict | None = None) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run the CLI in a child process; return it, its wall time (s) and its peak RSS (MB).

    The peak is that of this child alone: ru_maxrss of RUSAGE_CHILDREN is the largest of all children
    so far, hence a fresh intermediate process that runs the CLI and reports its own children's peak.
    """
    probe = (
        "import resource, subprocess, sys, json;"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps({'rc': p.returncode, 'out': p.stdout, 'err': p.stderr, 'peak_kb': peak}))"
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "budgetclimat", *map(str, args)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    elapsed = time.monotonic() - start
    report = json.loads(done.stdout)
    proc = subprocess.CompletedProcess(args, report["rc"], report["out"], report["err"])
    return proc, elapsed, report["peak_kb"] / 1024


def _assert_refused_fast(args, words, env=None):
    proc, elapsed, peak_mb = _run_measured(args, env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Erreur interne" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("Erreur : "), proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr
    # Refused before reading: seconds (a read of the declared extent would take many minutes or exhaust memory);
    # the bound is loose so that a loaded machine does not fail it, the memory bound is the sharp one.
    assert elapsed < 60, elapsed
    assert peak_mb < 500, peak_mb
    return proc


# --- the good workbook reads as the CSV does ---------------------------------------------------------


def test_good_workbook_totals_match_the_rows_written(tmp_path):
    path = _good_xlsx(tmp_path)
    result = invoke(["validate", path, "--format", "json"], 0)
    assert _total_cents(result) == _cents(ROWS) == 330075


# --- case 2: a hidden sheet is never read unless named ---------------------------------------------


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_case2_hidden_sheet_first_is_not_read(tmp_path, state):
    path = _workbook(tmp_path / "b.xlsx", [("Ancien", state, _scaled(ROWS, 100)), ("Budget", "visible", ROWS)])
    result = invoke(["validate", path, "--format", "json"], 0)
    assert _total_cents(result) == _cents(ROWS)
    out = tmp_path / "annexe.xlsx"
    classify = invoke(["classify", path, "-o", out, "--summary-json", tmp_path / "s.json"], 0)
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert "Ancien" not in classify.output
    assert (summary["lines"], summary["total_cents"]) == (len(ROWS), _cents(ROWS))


def test_case2_hidden_sheet_named_is_read(tmp_path):
    path = _workbook(tmp_path / "b.xlsx", [("Ancien", "hidden", _scaled(ROWS, 100)), ("Budget", "visible", ROWS)])
    result = invoke(["validate", path, "--sheet", "Ancien", "--format", "json"], 0)
    assert _total_cents(result) == _cents(ROWS) * 100


def test_case2_hidden_sheet_only_is_an_error_naming_it(tmp_path):
    path = _workbook(tmp_path / "b.xlsx", [("Notes", "visible", None), ("Caché", "hidden", ROWS)])
    for command in (["validate", path], ["classify", path, "-o", tmp_path / "a.xlsx"]):
        result = invoke(command, 1)
        assert "sheet-only-hidden" not in result.stderr  # a message, not a code
        assert "« Caché »" in result.stderr and "masquée" in result.stderr and "b.xlsx" in result.stderr
        assert "--sheet" in result.stderr
    assert not (tmp_path / "a.xlsx").exists()


def test_case2_unknown_sheet_is_a_usage_error(tmp_path):
    path = _good_xlsx(tmp_path)
    result = invoke(["validate", path, "--sheet", "Nope"], 2)
    assert "« Nope »" in result.stderr and "« Budget »" in result.stderr


# --- case 3: a far cell ------------------------------------------------------------------------------


def _far_cell(tmp_path: Path, ref: str = "XFD1048576", dimension: str | None = "keep") -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Budget"
    _append(ws, ROWS)
    ws[ref] = 1
    path = tmp_path / "far.xlsx"
    wb.save(path)
    if dimension != "keep":
        def change(xml: bytes) -> bytes:
            new = b"" if dimension is None else f'<dimension ref="{dimension}"/>'.encode()
            return re.sub(rb"<dimension [^>]*/>", new, xml)

        path = _rewrite(path, tmp_path / "far2.xlsx", SHEET1, change)
    assert path.stat().st_size < 10_000
    return path


@pytest.mark.parametrize("dimension", ["keep", None, "A1:Q4"], ids=["dimension", "no-dimension", "lying-dimension"])
def test_case3_far_cell_is_refused_before_reading(tmp_path, dimension):
    path = _far_cell(tmp_path, dimension=dimension)
    proc = _assert_refused_fast(["validate", path], [path.name, "Budget", "1\u202f048\u202f576", "--limit rows="])
    assert "au-delà de la limite" in proc.stderr


def test_case3_far_cell_refused_by_classify_too(tmp_path):
    far = _far_cell(tmp_path)
    _assert_refused_fast(["classify", far, "-o", tmp_path / "a.xlsx"], [far.name, "--limit rows="])
    assert not (tmp_path / "a.xlsx").exists()
    path = _far_cell(tmp_path, ref="ZZ50")
    result = invoke(["classify", path, "-o", tmp_path / "a.xlsx", "--limit", "cells=500"], 1)
    assert "cellules de la feuille « Budget » (50 lignes × 702 colonnes)" in result.stderr
    assert "--limit cells=N" in result.stderr
    assert not (tmp_path / "a.xlsx").exists()


# --- case 4: a zip bomb ------------------------------------------------------------------------------


def _bomb(tmp_path: Path, uncompressed_mb: int = 220) -> Path:
    """A real XLSX whose sheet XML is ``uncompressed_mb`` MB of rows, written as a stream (small on disk)."""
    good = _good_xlsx(tmp_path)
    path = tmp_path / "bomb.xlsx"
    row = b"".join(f'<c r="{col}{{r}}" t="n"><v>1</v></c>'.encode() for col in "ABCDE")
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            if info.filename != SHEET1:
                zout.writestr(info.filename, zin.read(info.filename))
        with zout.open(SHEET1, "w", force_zip64=True) as out:
            out.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            block = b"".join(b'<row r="1">' + row.replace(b"{r}", b"1") + b"</row>" for _ in range(2000))
            for _ in range(uncompressed_mb * 1_000_000 // len(block) + 1):
                out.write(block)
            out.write(b"</sheetData></worksheet>")
    return path


def test_case4_zip_bomb_is_refused_from_the_directory(tmp_path):
    path = _bomb(tmp_path)
    assert path.stat().st_size < 5_000_000
    proc = _assert_refused_fast(["validate", path], [path.name, "Mo une fois décompressé", "200 Mo", "--limit unzipped-mb=N"])
    assert "rien n'a été lu" in proc.stderr
    _assert_refused_fast(["classify", path, "-o", tmp_path / "a.xlsx"], [path.name, "unzipped-mb"])
    assert not (tmp_path / "a.xlsx").exists()


def test_case4_lying_zip_directory_is_refused(tmp_path):
    """A member declaring 1 KB in the directory but inflating to far more: caught while streaming."""
    good = _good_xlsx(tmp_path)
    path = tmp_path / "liar.xlsx"
    payload = b"<!-- " + b"x" * 50_000_000 + b" -->"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr("xl/padding.xml", payload)
    data = bytearray(path.read_bytes())
    # Patch the declared size of xl/padding.xml (local header and central directory) to 1,000 bytes.
    name = b"xl/padding.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        while True:
            pos = data.find(signature, pos)
            if pos < 0:
                break
            name_at = pos + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[pos + size_at : pos + size_at + 4] = (1000).to_bytes(4, "little")
            pos += 4
    path.write_bytes(bytes(data))
    _assert_refused_fast(["validate", path], [path.name, "xl/padding.xml", "taille réelle différente de la taille déclarée"])


def test_case4_compression_ratio_is_bounded(tmp_path):
    good = _good_xlsx(tmp_path)
    path = tmp_path / "ratio.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr("xl/padding.xml", b"<a>" + b" " * 20_000_000 + b"</a>")
    result = invoke(["validate", path], 1)
    assert "membre xl/padding.xml" in result.stderr and "--limit zip-ratio=N" in result.stderr
    invoke(["validate", path, "--limit", "zip-ratio=100000"], 0)


# --- case 6: damaged members, DOCTYPE, over-long CSV field -----------------------------------------


def _flip_in_member(path: Path, member: str, dst: Path) -> Path:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    local_extra = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + len(info.filename.encode()) + local_extra
    middle = start + info.compress_size // 2
    data[middle] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def _bad_crc(path: Path, member: str, dst: Path) -> Path:
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        crc = z.getinfo(member).CRC
    old = crc.to_bytes(4, "little")
    new = (crc ^ 0x1).to_bytes(4, "little")
    dst.write_bytes(bytes(data).replace(old, new))
    return dst


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("flip", ["xl/worksheets/sheet1.xml"]),
        ("crc", ["xl/worksheets/sheet1.xml", "CRC"]),
        ("malformed", ["xl/worksheets/sheet1.xml", "XML mal formé"]),
        ("doctype-sheet", ["xl/worksheets/sheet1.xml", "DOCTYPE"]),
        ("doctype-styles", ["xl/styles.xml", "DOCTYPE"]),
        ("truncated", ["budget.xlsx"]),
        ("not-a-workbook", ["budget.xlsx"]),
    ],
)
def test_case6_damaged_zip_member_is_named(tmp_path, damage, words):
    good = _good_xlsx(tmp_path)
    bad = tmp_path / "bad" / "budget.xlsx"
    bad.parent.mkdir()
    if damage == "flip":
        _flip_in_member(good, SHEET1, bad)
    elif damage == "crc":
        _bad_crc(good, SHEET1, bad)
    elif damage == "malformed":
        _rewrite(good, bad, SHEET1, lambda x: x.replace(b"</sheetData>", b"</sheetDat>"))
    elif damage == "doctype-sheet":
        doctype = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        _rewrite(good, bad, SHEET1, lambda x: re.sub(rb"^(<\?xml[^>]*\?>)?", lambda m: (m.group(0) or b"") + doctype, x, count=1))
    elif damage == "doctype-styles":
        _rewrite(good, bad, "xl/styles.xml", lambda x: b'<!DOCTYPE x SYSTEM "file:///etc/passwd">' + x)
    elif damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    else:
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("hello.txt", "bonjour")
    for command in (["validate", bad], ["classify", bad, "-o", tmp_path / "a.xlsx"]):
        result = invoke(command, 1)
        assert result.stderr.startswith("Erreur : ") and "interne" not in result.stderr
        for word in words:
            assert word in result.stderr
    assert not (tmp_path / "a.xlsx").exists()


def test_case6_csv_field_over_131072_characters(tmp_path):
    text = GOOD.read_text(encoding="utf-8").splitlines()
    cells = text[2].split(",")
    cells[HEADER.index("Libellé")] = "L" * 200_000
    path = tmp_path / "long.csv"
    path.write_text("\n".join([text[0], text[1], ",".join(cells), text[3]]) + "\n", encoding="utf-8")
    result = invoke(["validate", path], 1)
    assert "long.csv" in result.stderr and "ligne 3" in result.stderr and "200\u202f000" not in result.stderr
    assert "200000 caractères" in result.stderr and "32767" in result.stderr and "--limit cell-chars=N" in result.stderr
    invoke(["classify", path, "-o", tmp_path / "a.xlsx"], 1)
    # Raised, the limit lets it through: every euro is read.
    ok = invoke(["validate", path, "--limit", "cell-chars=300000", "--format", "json"], 0)
    assert _total_cents(ok) == _cents(ROWS)


def test_case6_long_field_in_the_header_scan_sample(tmp_path):
    """A field beyond the csv module's own limit in the first rows (where the header is looked for)."""
    path = tmp_path / "long-head.csv"
    path.write_text("Titre " + "T" * 140_000 + "\n" + GOOD.read_text(encoding="utf-8"), encoding="utf-8")
    result = invoke(["validate", path], 1)
    assert "long-head.csv" in result.stderr and "ligne 1" in result.stderr and "cell-chars" in result.stderr


def test_case6_long_cell_in_a_workbook(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    _append(ws, ROWS)
    ws.cell(row=3, column=HEADER.index("Libellé") + 1, value="L" * 5_000)  # (openpyxl caps cells at 32,767)
    path = tmp_path / "long.xlsx"
    wb.save(path)
    invoke(["validate", path], 0)
    result = invoke(["validate", path, "--limit", "cell-chars=4000"], 1)
    assert "ligne 3, colonne Libellé : cellule de 5000 caractères, au-delà de la limite de 4000" in result.stderr


# --- case 8: cells without a value in the amount column --------------------------------------------


def test_case8_formula_without_cached_value_is_an_error_naming_the_cell(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Budget"
    _append(ws, ROWS)
    ws[f"{AMOUNT_LETTER}3"] = "=1000+1000"  # openpyxl writes the formula with no cached value
    path = tmp_path / "formula.xlsx"
    wb.save(path)
    invoke(["classify", path, "-o", tmp_path / "a.xlsx"], 1)
    findings = json.loads(invoke(["validate", path, "--format", "json"], 1).stdout)["files"][0]["findings"]
    bad = [f for f in findings if f["code"] == "cell-formula-uncached"]
    assert [(f["level"], f["row"], f["column"], f["value"]) for f in bad] == [("error", 3, "Montant", f"Budget!{AMOUNT_LETTER}3 =1000+1000")]


@pytest.mark.parametrize("error", ["#DIV/0!", "#REF!", "#N/A", "#VALUE!"])
def test_case8_error_cell_is_an_error_naming_the_cell(tmp_path, error):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Budget"
    _append(ws, ROWS)
    ws[f"{AMOUNT_LETTER}4"] = error
    ws[f"{AMOUNT_LETTER}4"].data_type = "e"
    path = tmp_path / "error.xlsx"
    wb.save(path)
    findings = json.loads(invoke(["validate", path, "--format", "json"], 1).stdout)["files"][0]["findings"]
    bad = [f for f in findings if f["code"] == "cell-error"]
    assert [(f["level"], f["row"], f["column"], f["value"]) for f in bad] == [("error", 4, "Montant", f"Budget!{AMOUNT_LETTER}4 {error}")]
    if error == "#DIV/0!":
        invoke(["classify", path, "-o", tmp_path / "a.xlsx"], 1)


def test_case8_formula_with_cached_value_is_read(tmp_path):
    good = _good_xlsx(tmp_path)
    # Give row 3's amount a formula *and* its cached value, as Excel saves it.
    cached = str(float(ROWS[1][AMOUNT])).encode()

    def change(xml: bytes) -> bytes:
        return re.sub(
            rb'(<c r="' + AMOUNT_LETTER.encode() + rb'3"[^>]*>)<v>[^<]*</v>',
            lambda m: m.group(1) + b"<f>1000*2</f><v>" + cached + b"</v>",
            xml,
        )

    path = _rewrite(good, tmp_path / "cached.xlsx", SHEET1, change)
    assert b"<f>1000*2</f>" in zipfile.ZipFile(path).read(SHEET1)
    result = invoke(["validate", path, "--format", "json"], 0)
    assert _total_cents(result) == _cents(ROWS)


# --- the limits themselves ------------------------------------------------------------------------


def test_limit_option_raises_and_lowers_a_limit(tmp_path):
    path = _workbook(tmp_path / "long.xlsx", [("Budget", "visible", ROWS * 400)])  # 1,201 rows with the header
    invoke(["validate", path], 0)
    low = invoke(["validate", path, "--limit", "rows=1000"], 1)
    assert "lignes de la feuille « Budget » : 1\u202f201, au-delà de la limite de 1\u202f000" in low.stderr
    ok = invoke(["validate", path, "--limit", "rows=1000", "--limit", "rows=3000", "--format", "json"], 0)
    assert _total_cents(ok) == 400 * _cents(ROWS)


def test_limit_environment_variable(tmp_path, monkeypatch):
    path = tmp_path / "lines.csv"
    path.write_text(GOOD.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("BUDGETCLIMAT_LIMIT_ROWS", "3")
    result = invoke(["validate", path], 1)
    assert "lignes du fichier CSV : 4, au-delà de la limite de 3" in result.stderr
    invoke(["validate", path, "--limit", "rows=4"], 0)
    monkeypatch.setenv("BUDGETCLIMAT_LIMIT_ROWS", "beaucoup")
    assert "BUDGETCLIMAT_LIMIT_ROWS" in invoke(["validate", path], 2).stderr


def test_limit_option_mistakes_are_usage_errors(tmp_path):
    invoke(["validate", GOOD, "--limit", "nope=3"], 2)
    invoke(["validate", GOOD, "--limit", "rows=-3"], 2)
    invoke(["validate", GOOD, "--limit", "rows"], 2)


def test_file_size_limit_bounds_every_format(tmp_path):
    for name in ("b.csv", "b.xls"):
        path = tmp_path / name
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2_000_000 if name.endswith("xls") else GOOD.read_bytes() + b"\n" * 2_000_000)
        result = invoke(["validate", path, "--limit", "file-mb=1"], 1)
        assert f"Le fichier {name} pèse 2,0 Mo : au-delà de la limite de 1 Mo" in result.stderr


def test_ods_far_cell_is_refused(tmp_path):
    """ODS repeats rows and cells by count: the extent is measured on the counts, before reading."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Budget">'
        + "".join(
            "<table:table-row>" + "".join(f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>' for c in r) + "</table:table-row>"
            for r in [HEADER, *ROWS]
        )
        + '<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16000"/></table:table-row>'
        '<table:table-row><table:table-cell table:number-columns-repeated="16000"/>'
        '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    path = tmp_path / "far.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        )
    _assert_refused_fast(["validate", path], ["far.ods", "Budget", "--limit"])
    # The same file without the far cell reads, with the same totals as the CSV.
    small = tmp_path / "small.ods"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(small, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "content.xml":
                data = re.sub(rb"<table:table-row table:number-rows-repeated.*</table:table-row>(?=</table:table>)", b"", data)
            zout.writestr(info, data)
    result = invoke(["validate", small, "--format", "json"], 0)
    assert _total_cents(result) == _cents(ROWS)


def test_cells_without_references_are_measured_by_position(tmp_path):
    """Some writers omit ``r="B7"``: positions are implied by order, measured by the exact XML pass."""
    good = _good_xlsx(tmp_path)
    path = _rewrite(good, tmp_path / "noref.xlsx", SHEET1, lambda x: re.sub(rb'(<c) r="[A-Z]+[0-9]+"', rb"\1", x))
    assert b'<c r="' not in zipfile.ZipFile(path).read(SHEET1)
    result = invoke(["validate", path, "--format", "json"], 0)
    assert _total_cents(result) == _cents(ROWS)
    far = _rewrite(
        good, tmp_path / "noref-far.xlsx", SHEET1,
        lambda x: re.sub(rb'(<c) r="[A-Z]+[0-9]+"', rb"\1", x).replace(
            b"</sheetData>", b'<row r="1048576"><c t="n"><v>1</v></c></row></sheetData>'),
    )
    result = invoke(["validate", far], 1)
    assert "lignes de la feuille « Budget »" in result.stderr and "--limit rows=N" in result.stderr
