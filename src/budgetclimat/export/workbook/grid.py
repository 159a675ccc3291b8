"""Low-level writing: styles, safe text cells, a row builder over write-only sheets, reproducible zip.

The whole workbook is written in openpyxl's write-only mode (rows stream to disk, so a register of a
million lines fits in memory); charts, tables, data validations, merged cells, freeze panes and page
setup are all supported there. A sheet is described as rows of :class:`C` cells and flushed once.

Every ``str`` is written as a string cell (``t="inlineStr"``), never as a formula, whatever it starts
with, and stripped of control characters. Money arrives as integer cents and is written as euros
(``cents / 100``, exact to the cent for any realistic amount); totals are exact values, not formulas.
"""

from __future__ import annotations

import copy
import math
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

MAX_CELL_TEXT = 32767
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# I4CE colours (hex RGB). FSC is drawn hatched light green where the medium allows a pattern.
CLASS_COLOURS = {
    "TF": "1B7837",
    "FSC": "A6DBA0",
    "N": "BDBDBD",
    "D": "8C510A",
    "IM": "FFFFFF",
    "AA": "FFE135",
    "out": "EEEEEE",
    "none": "FFFFFF",
}
ROLLUP_COLOURS = {"favourable": "1B7837", "neutral": "BDBDBD", "unfavourable": "8C510A", "undefined": "FFE135", "out": "EEEEEE"}
TEXT_ON = {"TF": "FFFFFF", "D": "FFFFFF", "favourable": "FFFFFF", "unfavourable": "FFFFFF"}
HEADER_FILL = "1F3B57"
EDIT_FILL = "FFF4C2"
TITLE_COLOUR = "1F3B57"

# Zero shows as a dash (accountants' habit: a table of zeros is unreadable). The French format carries
# the fr-FR locale so that LibreOffice groups digits the French way whatever the machine's locale.
EUR_FR = '#,##0.00\\ [$€-40C];\\-#,##0.00\\ [$€-40C];"–"'
EUR_EN = '[$€-809]#,##0.00;\\-[$€-809]#,##0.00;"–"'
PCT = "0.0%"
TCO2E = "#,##0.0"
INT = "#,##0"


def clean_text(value: object) -> str:
    """Text from input data as it may go into a cell: no control characters, at most 32,767 characters."""
    text = _CONTROL.sub("", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    return text[:MAX_CELL_TEXT]


def euros(cents: object) -> float | None:
    if cents is None:
        return None
    try:
        if cents != cents:  # NaN / NA
            return None
    except TypeError:
        return None
    return int(cents) / 100


_thin = Side(style="thin", color="B0B0B0")


@dataclass(frozen=True)
class Look:
    """A cell look; resolved once per workbook into a reusable style array."""

    bold: bool = False
    italic: bool = False
    size: float = 10
    colour: str | None = None
    fill: str | None = None
    hatch: str | None = None  # pattern fill colour over ``fill`` (FSC)
    number_format: str | None = None
    wrap: bool = False
    align: str | None = None
    border: bool = False
    unlocked: bool = False


class Styles:
    """Caches one style array per :class:`Look` so that a million cells share a handful of styles."""

    def __init__(self, lang: str) -> None:
        self.eur = EUR_EN if lang == "en" else EUR_FR
        self.eur0 = self.eur.rsplit(";", 1)[0]  # zero shown as 0,00 € (reconciliation differences)
        self.pct = PCT if lang == "en" else '0.0"\u00a0"%'  # French: « 81,5 % », a non-breaking space before %
        self._cache: dict[tuple[Look, object], object] = {}

    def apply(self, cell: WriteOnlyCell, look: Look) -> None:
        key = (look, cell.parent)
        proto = self._cache.get(key)
        if proto is None:
            proto_cell = WriteOnlyCell(cell.parent)
            proto_cell.font = Font(name="Calibri", bold=look.bold, italic=look.italic, size=look.size, color=look.colour)
            if look.hatch:
                proto_cell.fill = PatternFill(patternType="lightUp", fgColor=look.hatch, bgColor=look.fill or "FFFFFF")
            elif look.fill:
                proto_cell.fill = PatternFill(patternType="solid", fgColor=look.fill, bgColor=look.fill)
            if look.number_format:
                proto_cell.number_format = {"eur": self.eur, "eur0": self.eur0, PCT: self.pct}.get(look.number_format, look.number_format)
            if look.wrap or look.align or look.border:
                # Cells of a table row align at the top (a wrapped neighbour makes the row taller); headers centre.
                vertical = "center" if look.fill or look.hatch else "top" if look.wrap or look.border else None
                proto_cell.alignment = Alignment(wrap_text=look.wrap, horizontal=look.align, vertical=vertical)
            if look.border:
                proto_cell.border = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
            if look.unlocked:
                proto_cell.protection = Protection(locked=False)
            proto = proto_cell._style
            self._cache[key] = proto
        cell._style = copy.copy(proto)


# Frequently used looks.
TITLE = Look(bold=True, size=16, colour=TITLE_COLOUR)
SUBTITLE = Look(italic=True, size=10, colour="555555")
H2 = Look(bold=True, size=12, colour=TITLE_COLOUR)
HEAD = Look(bold=True, colour="FFFFFF", fill=HEADER_FILL, wrap=True, border=True, align="center")
LABEL = Look(bold=True, wrap=True, align="left")
NOTE = Look(italic=True, size=9, colour="555555")
NOTE_WRAP = Look(italic=True, size=9, colour="555555", wrap=True)
TEXT = Look(border=True)
TEXT_WRAP = Look(border=True, wrap=True)
MONEY = Look(number_format="eur", border=True)
MONEY_BOLD = Look(number_format="eur", border=True, bold=True)
MONEY_ZERO = Look(number_format="eur0", border=True)
PERCENT = Look(number_format=PCT, border=True)
PERCENT_BOLD = Look(number_format=PCT, border=True, bold=True)
NUMBER = Look(number_format=INT, border=True)
TONNES = Look(number_format=TCO2E, border=True)
TOTAL_TEXT = Look(bold=True, border=True)
EDIT = Look(fill=EDIT_FILL, border=True, unlocked=True)
EDIT_HEAD = Look(bold=True, fill="F2C200", wrap=True, border=True, align="center")
WARN = Look(bold=True, colour="9C0006")


def class_look(key: str) -> Look:
    """Header look for a class or roll-up column, in its I4CE colour."""
    fill = CLASS_COLOURS.get(key) or ROLLUP_COLOURS.get(key, HEADER_FILL)
    colour = TEXT_ON.get(key, "000000")
    if key == "FSC":
        return Look(bold=True, colour="000000", fill="FFFFFF", hatch=fill, wrap=True, border=True, align="center")
    return Look(bold=True, colour=colour, fill=fill, wrap=True, border=True, align="center")


@dataclass
class Cell:
    """One cell to write: a value and a look."""

    value: object = None
    look: Look | None = None


@dataclass
class Grid:
    """Rows of cells for one sheet, plus what must be declared before the rows are streamed."""

    widths: dict[int, float] = field(default_factory=dict)
    rows: list[list[Cell | None]] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)

    @property
    def next_row(self) -> int:
        return len(self.rows) + 1

    def add(self, *cells: Cell | None | object) -> int:
        """Append a row; plain values become unstyled cells. Returns the row number.

        A header row (filled, wrapped cells) gets room for two lines: write-only sheets cannot be
        measured, and LibreOffice does not grow rows whose height the file leaves implicit."""
        row = [c if isinstance(c, Cell) or c is None else Cell(c) for c in cells]
        self.rows.append(row)
        if sum(1 for c in row if c is not None and c.look is not None and c.look.wrap and (c.look.fill or c.look.hatch)) >= 3:
            self.heights.setdefault(len(self.rows), 30)
        return len(self.rows)

    def paragraph(self, text: str, last_col: int, look: Look = NOTE_WRAP) -> int:
        """A row of running text across columns 1..``last_col``, wrapped (its height follows the text),
        instead of a line overflowing past the printed width."""
        r = self.add(Cell(text, look))
        if last_col > 1:
            self.merge_row(r, 1, last_col)
        return r

    def blank(self, n: int = 1) -> None:
        for _ in range(n):
            self.rows.append([])

    def merge_row(self, row: int, first_col: int, last_col: int) -> None:
        self.merges.append(f"{get_column_letter(first_col)}{row}:{get_column_letter(last_col)}{row}")


def make_cell(ws, styles: Styles, c: Cell | None) -> WriteOnlyCell | None:
    if c is None:
        return None
    cell = WriteOnlyCell(ws)
    value = c.value
    if isinstance(value, str):
        cell.value = None
        cell._value = clean_text(value)
        cell.data_type = "s"  # text, never a formula, whatever it starts with
    elif value is not None:
        cell.value = value
    if c.look is not None:
        styles.apply(cell, c.look)
    return cell


DEFAULT_WIDTH = 8.43  # a column whose width the sheet does not set (in characters of the default font)
LINE_PT = 13.0  # height of one line of 10-pt text with LibreOffice's and Excel's leading (Excel's 10-pt row: 12.75)
_PADDING_PT = 3.0


# Widths of characters, in widths of an average lower-case letter (DejaVu Sans, which LibreOffice prints when
# Calibri is missing, and which is wider than Calibri): capitals, digits and signs are wider, i, l, t, r narrower.
_CHAR_WIDTH = {**{ch: 0.5 for ch in "il.,;:'’|!"}, **{ch: 0.65 for ch in "ftrj()[]-/ \u00a0\u202f"}, **{ch: 1.7 for ch in "%€mwMW"}}


def _text_width(word: str) -> float:
    return sum(_CHAR_WIDTH.get(ch, 1.45 if ch.isupper() else 1.2 if ch.isdigit() else 1.0) for ch in word)


def text_lines(text: object, width: float, size: float = 10) -> int:
    """Lines a wrapped cell of ``width`` characters needs for ``text`` at ``size`` points: greedy word wrap
    at 1.2 lower-case letters per unit of column width at 10 pt, less one unit of cell padding — as
    LibreOffice prints, with a little room to spare."""
    capacity = max(1.0, (width - 1) * 1.2 * 10 / size)
    total = 0
    for part in clean_text(text).split("\n"):
        lines, used = 1, 0.0
        for word in part.split(" "):
            if not word:
                continue
            w = _text_width(word)
            if used and used + 0.65 + w <= capacity:
                used += 0.65 + w
                continue
            if used:
                lines += 1
            extra = max(0, math.ceil(w / capacity) - 1)  # a word longer than the line breaks inside
            lines += extra
            used = w - extra * capacity
        total += lines
    return total


def wrapped_height(lines: int, size: float = 10) -> float:
    """Row height (points) that shows ``lines`` lines of text at ``size`` points."""
    return round(lines * LINE_PT * max(1.0, size / 10) + _PADDING_PT, 1)


def fitted_heights(grid: Grid) -> dict[int, float]:
    """Row heights that show every wrapped cell of ``grid`` whole: write-only sheets cannot be measured and
    LibreOffice does not grow a row whose height the file leaves implicit, so wrapped text would overlap the
    next rows in print. The width of a cell is its column's, or the sum of its merged columns'."""
    spans: dict[tuple[int, int], float] = {}
    for rng in grid.merges:
        first, _, last = rng.partition(":")
        (c1, r1), (c2, _) = (_split_ref(first), _split_ref(last or first))
        spans[(r1, c1)] = sum(grid.widths.get(c, DEFAULT_WIDTH) for c in range(c1, c2 + 1))
    heights: dict[int, float] = {}
    for r, row in enumerate(grid.rows, 1):
        best = 0.0
        for c, cell in enumerate(row, 1):
            if cell is None or cell.look is None or not cell.look.wrap or cell.value is None or not isinstance(cell.value, str):
                continue
            width = spans.get((r, c), grid.widths.get(c, DEFAULT_WIDTH))
            best = max(best, wrapped_height(text_lines(cell.value, width, cell.look.size), cell.look.size))
        if best and best > LINE_PT + _PADDING_PT:  # one line: the default height shows it
            heights[r] = best
    return heights


def _split_ref(ref: str) -> tuple[int, int]:
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    letters, row = coordinate_from_string(ref)
    return column_index_from_string(letters), row


def flush(ws, styles: Styles, grid: Grid) -> None:
    for col, width in grid.widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width
    heights = dict(grid.heights)
    for row, height in fitted_heights(grid).items():
        heights[row] = max(height, heights.get(row, 0))
    for row, height in sorted(heights.items()):
        ws.row_dimensions[row].height = height
    for rng in grid.merges:
        ws.merged_cells.add(rng)
    for row in grid.rows:
        ws.append([make_cell(ws, styles, c) for c in row])


def page_setup(ws, *, landscape: bool = True, title_rows: str | None = None, fit_width: bool = True,
               freeze: str | None = None, gridlines: bool = True, one_page: bool = False) -> None:
    """Print and view settings; in write-only mode they must be set before the first row is written.

    A4, the orientation given, fitted to the page width (as many pages down as needed; ``one_page``: the
    whole sheet on one page), ``title_rows`` (« 4:4 ») repeated at the top of every printed page."""
    ws.sheet_view.showGridLines = gridlines
    if freeze:
        ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = "9"  # A4
    if fit_width:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    # The header and footer print between the paper's edge and the body: with the header margin equal to the
    # top margin (openpyxl's default), LibreOffice gives them no room and they do not print at all.
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows


# Reproducible zip ----------------------------------------------------------------------------------

_ZIP_EPOCH_MIN = datetime(1980, 1, 1)


class FixedDateZipFile(zipfile.ZipFile):
    """A ZipFile whose entries all carry one fixed date, so that identical content gives identical bytes."""

    def __init__(self, *args, date_time: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stamp = max(date_time, _ZIP_EPOCH_MIN)
        self._fixed = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second - stamp.second % 2)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._fixed)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # noqa: D102
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        super().writestr(self._info(name), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):  # noqa: D102
        # Large sheets are streamed to a temporary file by openpyxl: copy it in chunks under a fixed date.
        info = self._info(arcname or Path(filename).name)
        with open(filename, "rb") as src, self.open(info, "w", force_zip64=True) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)


def save_reproducible(wb, path: Path, stamp: datetime) -> None:
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.created = stamp
    wb.properties.modified = stamp
    with FixedDateZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True, date_time=stamp) as archive:
        ExcelWriter(wb, archive).write_data()


def add_table(ws, name: str, first_row: int, headers: list[str], last_row: int) -> None:
    """An Excel Table (filters, banded rows) over the header row and the data below it.

    Write-only sheets cannot read their own cells back, so the table columns are declared from the
    headers; their names must equal the header cells exactly (Excel repairs the file otherwise)."""
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

    ref = f"A{first_row}:{get_column_letter(len(headers))}{last_row}"
    table = Table(displayName=name, ref=ref)
    table.tableColumns = [TableColumn(id=i, name=clean_text(h)) for i, h in enumerate(headers, 1)]
    table.autoFilter = AutoFilter(ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=True, showColumnStripes=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In write-only mode you must add table columns manually")
        ws.add_table(table)
