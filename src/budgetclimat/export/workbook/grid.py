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
import functools
import math
import numbers
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
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")  # (U+FFFE/FFFF: not XML characters)

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


class Block:
    """Rows given column by column — one row per element — for the sheets with a row per budget line: written as
    XML by vectorised string operations, the same bytes openpyxl would write cell by cell (:func:`flush`).

    ``columns``: ``(values, look, kind)`` (values: a Series, array or list) with ``kind`` ``"text"`` (``str`` or missing: a text cell, never a
    formula) or ``"number"`` (a number or missing); a missing value is an empty cell (written when it has a look)."""

    def __init__(self, columns: list[tuple[object, Look | None, str]], fit_heights: bool = True) -> None:
        import pandas as pd

        self.fit_heights = fit_heights  # False: the rows keep the default height (wrapped cells are not measured)

        self.columns = []
        n = None
        for values, look, kind in columns:
            if kind not in ("text", "number"):
                raise ValueError(f"unknown column kind {kind!r}")
            series = pd.Series(values, dtype=object).reset_index(drop=True) if not isinstance(values, pd.Series) else values.astype(object).reset_index(drop=True)
            if n is not None and len(series) != n:
                raise ValueError("the columns of a block must have the same length")
            n = len(series)
            self.columns.append((series, look, kind))
        self.n = n or 0
        self._texts: dict[int, object] = {}

    def texts(self, index: int) -> object:
        """Column ``index`` as cleaned texts (missing values stay missing), for row heights and for writing."""
        if index not in self._texts:
            self._texts[index] = self._clean(index)
        return self._texts[index]

    def _clean(self, index: int) -> object:
        series, _, kind = self.columns[index]
        missing = series.isna().to_numpy(dtype=bool)
        out = series.copy()
        if kind == "text" and (~missing).any():
            out[~missing] = clean_texts(series[~missing])
        return out.where(~missing, None)


def clean_texts(series):
    """:func:`clean_text` of every value of a Series (vectorised: only the texts with a character to remove or
    longer than a cell holds go through :func:`clean_text`)."""
    import pandas as pd

    values = pd.Series(series, dtype=object)
    text = pd.Series(list(map(str, values.tolist())), index=values.index, dtype=object)
    arrow = _arrow(text)
    if arrow is None:  # (a lone surrogate: no UTF-8 for it) every text the slow way
        return text.map(clean_text).astype(object)
    import pyarrow.compute as pc

    dirty = pc.or_(pc.match_substring_regex(arrow, _DIRTY), pc.greater(pc.utf8_length(arrow), MAX_CELL_TEXT))
    dirty = dirty.to_numpy(zero_copy_only=False)
    if dirty.any():
        text[dirty] = text[dirty].map(clean_text)
    return text


_DIRTY = "[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x{9f}\\x{fffe}\\x{ffff}]"  # (RE2) what clean_text changes: \\r and the characters it removes
_EDGE = "^[^0-9A-Za-z]|[^0-9A-Za-z]$"  # a text that may start or end with a space (checked with str.strip)


def _arrow(text):
    import pyarrow as pa

    try:
        return pa.array(text.tolist(), type=pa.string())
    except (UnicodeEncodeError, pa.ArrowException):
        return None


@dataclass
class Grid:
    """Rows of cells for one sheet, plus what must be declared before the rows are streamed."""

    widths: dict[int, float] = field(default_factory=dict)
    rows: list[list[Cell | None] | Block] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)
    count: int = 0  # rows of the sheet so far (a Block counts its rows)

    @property
    def next_row(self) -> int:
        return self.count + 1

    def add_block(self, block: Block) -> int:
        """Append ``block``'s rows (one per element of its columns); returns the number of its first row."""
        self.rows.append(block)
        self.count += block.n
        return self.count - block.n + 1

    def add(self, *cells: Cell | None | object) -> int:
        """Append a row; plain values become unstyled cells. Returns the row number.

        A header row (filled, wrapped cells) gets room for two lines: write-only sheets cannot be
        measured, and LibreOffice does not grow rows whose height the file leaves implicit."""
        row = [c if isinstance(c, Cell) or c is None else Cell(c) for c in cells]
        self.rows.append(row)
        self.count += 1
        if sum(1 for c in row if c is not None and c.look is not None and c.look.wrap and (c.look.fill or c.look.hatch)) >= 3:
            self.heights.setdefault(self.count, 30)
        return self.count

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
            self.count += 1

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


@functools.lru_cache(maxsize=200_000)  # words repeat from row to row
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
    r = 0
    for row in grid.rows:
        if isinstance(row, Block):
            if row.fit_heights:
                heights.update(_block_heights(row, r + 1, grid.widths))
            r += row.n
            continue
        r += 1
        best = 0.0
        for c, cell in enumerate(row, 1):
            if cell is None or cell.look is None or not cell.look.wrap or cell.value is None or not isinstance(cell.value, str):
                continue
            width = spans.get((r, c), grid.widths.get(c, DEFAULT_WIDTH))
            best = max(best, wrapped_height(text_lines(cell.value, width, cell.look.size), cell.look.size))
        if best and best > LINE_PT + _PADDING_PT:  # one line: the default height shows it
            heights[r] = best
    return heights


def _block_heights(block: Block, first_row: int, widths: dict[int, float]) -> dict[int, float]:
    """:func:`fitted_heights` of a block's rows: only texts that may need two lines are measured (a text
    without a line break whose every character is as wide as the widest one still fits on one line)."""
    import numpy as np

    best = np.zeros(block.n)
    for c, (_, look, kind) in enumerate(block.columns, 1):
        if look is None or not look.wrap or kind != "text" or not block.n:
            continue
        width = widths.get(c, DEFAULT_WIDTH)
        capacity = max(1.0, (width - 1) * 1.2 * 10 / look.size)
        texts = block.texts(c - 1)
        present = texts.notna().to_numpy(dtype=bool)
        if not present.any():
            continue
        values = texts[present]
        long = (values.str.len() * 1.7 > capacity) | values.str.contains("\n", regex=False)
        candidates = values[long.to_numpy(dtype=bool)]
        if not len(candidates):
            continue
        measured = {text: wrapped_height(text_lines(text, width, look.size), look.size) for text in pd_unique(candidates)}
        best[candidates.index.to_numpy()] = np.maximum(best[candidates.index.to_numpy()], candidates.map(measured).to_numpy(dtype=float))
    rows = np.flatnonzero(best > LINE_PT + _PADDING_PT)
    return {first_row + int(i): float(best[i]) for i in rows}


def pd_unique(values) -> list:
    import pandas as pd

    return list(pd.unique(pd.Series(values, dtype=object)))


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
    if any(isinstance(row, Block) for row in grid.rows):
        _flush_xml(ws, styles, grid)
        return
    for row in grid.rows:
        ws.append([make_cell(ws, styles, c) for c in row])


# Fast rows ------------------------------------------------------------------------------------------
# A sheet with a Block is not written cell by cell through openpyxl (≈30 µs a cell): its ``<sheetData>`` is
# written here, as openpyxl writes it (``openpyxl.cell._writer.lxml_write_cell``: inline strings, ``%.16g``
# numbers, ASCII with character references, ``<c …></c>`` for an empty cell, ``xml:space`` when a text has
# spaces at its ends), to a temporary file spliced into the sheet's XML when the workbook is saved
# (:class:`FixedDateZipFile`). Styles are registered in the order openpyxl would register them (row by row),
# so ``styles.xml`` is the same too; the pinned Montpellier outputs check every byte.

_BATCH = 20_000
_PENDING = "_budgetclimat_sheet_rows"  # workbook attribute: {sheet XML temp file: rows temp file}


def _style_ids(ws, styles: Styles, cache: dict, look: Look | None) -> str:
    """The ``s="…"`` attribute of a cell of ``look`` ("" without a style), registered as openpyxl registers it."""
    if look not in cache:
        if look is None:
            cache[look] = ""
        else:
            cell = WriteOnlyCell(ws)
            styles.apply(cell, look)
            cache[look] = f' s="{cell.style_id}"' if cell.has_style else ""
    return cache[look]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text_xml(ref: str, s: str, text: str) -> str:
    if text == "":
        return f'<c r="{ref}"{s} t="inlineStr"></c>'
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'


def _cell_xml(ws, styles: Styles, cache: dict, ref: str, c: Cell | None) -> str:
    if c is None:
        return ""
    s = _style_ids(ws, styles, cache, c.look)
    value = c.value
    if isinstance(value, str):
        return _text_xml(ref, s, clean_text(value))
    if value is None:
        return f'<c r="{ref}"{s} t="n"></c>' if s else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"a sheet with a Block holds texts and numbers only, not {type(value).__name__}")
    if value != value or value in (math.inf, -math.inf):
        return f'<c r="{ref}"{s} t="n"><v></v></c>'
    return f'<c r="{ref}"{s} t="n"><v>{"%.16g" % value}</v></c>'


def _row_open(ws, r: int) -> str:
    attrs = {"r": f"{r}"}
    attrs.update(ws.row_dimensions.get(r, {}))
    return "<row" + "".join(f' {k}="{_escape(str(v)).replace(chr(34), "&quot;")}"' for k, v in attrs.items()) + ">"


def _block_xml(ws, styles: Styles, cache: dict, block: Block, first_row: int, out) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not block.n:
        return
    sids = [_style_ids(ws, styles, cache, look) for _, look, _ in block.columns]  # column order: as row by row
    letters = [get_column_letter(c) for c in range(1, len(block.columns) + 1)]
    sized = {r for r in ws.row_dimensions.keys() if first_row <= r < first_row + block.n}
    texts = [block.texts(i) if kind == "text" else None for i, (_, _, kind) in enumerate(block.columns)]
    join = pc.binary_join_element_wise  # (the last argument is the separator: "")
    for start in range(0, block.n, _BATCH):
        stop = min(start + _BATCH, block.n)
        numbers = pc.cast(pa.array(np.arange(first_row + start, first_row + stop, dtype=np.int64)), pa.string())
        row_open = join('<row r="', numbers, '">', "")
        if any(first_row + start <= r < first_row + stop for r in sized):  # a row with a height: its own attributes
            opened = row_open.to_pylist()
            for r in sized:
                if first_row + start <= r < first_row + stop:
                    opened[r - first_row - start] = _row_open(ws, r)
            row_open = pa.array(opened, type=pa.string())
        parts = [row_open]
        for i, (series, _, kind) in enumerate(block.columns):
            s = sids[i]
            head = join('<c r="' + letters[i], numbers, '"' + s, "")
            part = (texts[i] if kind == "text" else series).iloc[start:stop]
            missing = part.isna().to_numpy(dtype=bool)
            empty = join(head, ' t="n"></c>', "") if s else pa.scalar("", pa.string())  # a styled cell without a value
            if missing.all():
                parts.append(empty if s else pa.array([""] * (stop - start), type=pa.string()))
                continue
            values = part.to_numpy(dtype=object).copy()
            values[missing] = ""
            if kind == "text":
                arrow = pa.array(values.tolist(), type=pa.string())
                spaced = _spaced(arrow, values)
                escaped = arrow
                for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
                    escaped = pc.replace_substring(escaped, old, new)
                open_t = pc.if_else(pa.array(spaced), '><is><t xml:space="preserve">', "><is><t>")
                filled = join(head, ' t="inlineStr"', open_t, escaped, "</t></is></c>", "")
                cell = pc.if_else(pc.equal(arrow, ""), join(head, ' t="inlineStr"></c>', ""), filled)
            else:
                formatted = pa.array(["%.16g" % v if not m else "" for v, m in zip(values.tolist(), missing.tolist())], type=pa.string())  # openpyxl's safe_string
                cell = join(head, ' t="n"><v>', formatted, "</v></c>", "")
            parts.append(pc.if_else(pa.array(missing), empty, cell) if missing.any() else cell)
        rows = join(*parts, "</row>", "")
        out.write("".join(rows.to_pylist()).encode("ascii", "xmlcharrefreplace"))


def _spaced(arrow, values) -> object:
    """Whether each text needs ``xml:space="preserve"`` (spaces at an end, as ``str.strip`` sees them)."""
    import numpy as np
    import pyarrow.compute as pc

    edge = pc.match_substring_regex(arrow, _EDGE).to_numpy(zero_copy_only=False)
    spaced = np.zeros(len(values), dtype=bool)
    if edge.any():
        spaced[edge] = [v != v.strip() for v in values[edge].tolist()]
    return spaced


def _flush_xml(ws, styles: Styles, grid: Grid) -> None:
    import os
    import tempfile

    ws._get_writer()  # the sheet's head (views, columns…) as set so far; its rows are spliced at save
    fd, name = tempfile.mkstemp(prefix="budgetclimat-rows-", suffix=".xml")
    pending = ws.parent.__dict__.setdefault(_PENDING, {})
    pending[ws._writer.out] = name
    cache: dict = {}
    r = 0
    with os.fdopen(fd, "wb") as out:
        for row in grid.rows:
            if isinstance(row, Block):
                _block_xml(ws, styles, cache, row, r + 1, out)
                r += row.n
                continue
            r += 1
            cells = "".join(_cell_xml(ws, styles, cache, f"{get_column_letter(c)}{r}", cell) for c, cell in enumerate(row, 1))
            out.write((_row_open(ws, r) + cells + "</row>").encode("ascii", "xmlcharrefreplace"))


def discard_pending(wb) -> None:
    """Remove the rows files of a workbook (after it is saved, or when it will not be)."""
    import os

    for name in (wb.__dict__.pop(_PENDING, None) or {}).values():
        try:
            os.unlink(name)
        except OSError:
            pass


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
        self.sheet_rows: dict = {}  # sheet XML temp file -> its rows (see _flush_xml)
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
        rows = self.sheet_rows.get(filename)
        with open(filename, "rb") as src, self.open(info, "w", force_zip64=True) as dst:
            if rows is not None:  # a sheet whose rows were written by _flush_xml: they go in its empty <sheetData>
                # openpyxl wrote no cell there, only an empty row per row height set: the rows file has them all
                head, sep, rest = src.read().partition(b"<sheetData>")
                empty, end, tail = rest.partition(b"</sheetData>")
                if not sep or not end or b"<c " in empty:
                    raise RuntimeError(f"unexpected sheetData in {arcname}")
                dst.write(head + b"<sheetData>")
                with open(rows, "rb") as body:
                    while chunk := body.read(1 << 20):
                        dst.write(chunk)
                dst.write(b"</sheetData>" + tail)
                return
            while chunk := src.read(1 << 20):
                dst.write(chunk)


def save_reproducible(wb, path: Path, stamp: datetime) -> None:
    from openpyxl.writer.excel import ExcelWriter

    wb.properties.created = stamp
    wb.properties.modified = stamp
    try:
        with FixedDateZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True, date_time=stamp) as archive:
            archive.sheet_rows = dict(wb.__dict__.get(_PENDING) or {})
            ExcelWriter(wb, archive).write_data()
    finally:
        discard_pending(wb)


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
