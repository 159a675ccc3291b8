"""What every sheet writer needs: the prepared data, the language, the styles, the options."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from budgetclimat.rulebook.model import CLASSES, axis_label, class_label, rollup_label

from . import labels
from .frames import Prepared
from .grid import Grid, Styles, flush, page_setup


@dataclass
class Context:
    wb: object
    prep: Prepared
    lang: str
    styles: Styles
    stamp: datetime
    inputs: list[Path] = field(default_factory=list)
    answers: pd.DataFrame | None = None
    previous: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None
    annex_definitions: list = field(default_factory=list)
    register_elsewhere: Path | None = None  # the CSV written beside the workbook when a sheet is capped and ``register`` is None
    register: Path | None = None  # the whole line register written by the same run (``--lines-out``), named by a capped sheet
    max_sheet_rows: int = 100_000  # rows of a sheet with a row per line, question × key or finding (limits.WORKBOOK_SHEET_LINES)
    options: dict = field(default_factory=dict)
    show_stamp: bool = False  # the date is a real one (not the fixed default of reproducible output)
    lists: dict = field(default_factory=dict)  # list name -> formula of its range (drop-downs)
    list_values: dict = field(default_factory=dict)  # list name -> values, written to the hidden list sheet
    layout: dict = field(default_factory=dict)  # sheet key -> (title, header row, {column key: header})
    pack: bool = False  # the council pack: only the council sheets (write_workbook(pack=True))
    trail: object = None  # trail.Trail of the answers applied, built on first use
    register_written: bool = False  # the CSV beside the workbook (register_elsewhere) is written

    def t(self, key: str, **params: object) -> str:
        return labels.tr(key, self.lang, **params)

    def axis(self, axis: str) -> str:
        return axis_label(axis, self.lang, short=True)

    def cls(self, key: str) -> str:
        """A class's label, or the workbook's for ``out`` (out of scope) and ``none`` (in scope, no class)."""
        if key in CLASSES:
            return class_label(key, self.lang)
        return self.t(f"class-{key}") if labels.known(f"class-{key}") else key

    def rollup(self, key: str) -> str:
        return rollup_label(key, self.lang)

    def register_name(self, frame: pd.DataFrame | None = None) -> str:
        """Where the whole register is, for the note of a capped sheet: the ``--lines-out`` file, else a CSV written
        beside the workbook (once, from ``frame``: the columns of « Lignes »)."""
        if self.register is not None:
            return self.register.name
        if not self.register_written:
            from .sheets.lines import wide_frame, write_beside

            write_beside(self, wide_frame(self) if frame is None else frame)
            self.register_written = True
        return self.register_elsewhere.name

    def sheet(self, key: str):
        return self.wb.create_sheet(self.t(key))

    def flush(self, ws, grid: Grid, **setup) -> None:
        """Write ``grid``; ``setup`` (landscape, title_rows, freeze, gridlines…) goes to :func:`page_setup` first,
        with the header (collectivité, document and exercice) and footer (page N / M) every printed page has."""
        page_setup(ws, **setup)
        self.header_footer(ws)
        flush(ws, self.styles, grid)

    def header_footer(self, ws) -> None:
        """Header: collectivité left, document and exercice centre, sheet right; footer: « page N / M »."""
        lines = self.prep.main_lines()
        name = labels.collectivite_text(lines, self.lang)
        doc = _first(lines, "doc_type")
        document = self.t(f"doc-{doc}") if doc and labels.known(f"doc-{doc}") else doc
        exercice = "" if self.prep.main_exercice is None else str(self.prep.main_exercice)
        ws.HeaderFooter.oddHeader.left.text = _escape(name)
        ws.HeaderFooter.oddHeader.left.size = 8
        ws.HeaderFooter.oddHeader.center.text = _escape(" ".join(p for p in (document, exercice) if p))
        ws.HeaderFooter.oddHeader.center.size = 8
        ws.HeaderFooter.oddHeader.right.text = "&A"  # the sheet's name
        ws.HeaderFooter.oddHeader.right.size = 8
        ws.HeaderFooter.oddFooter.left.text = _escape(self.t("footer-left"))
        ws.HeaderFooter.oddFooter.left.size = 7
        ws.HeaderFooter.oddFooter.center.text = self.t("footer-page")
        ws.HeaderFooter.oddFooter.center.size = 8


def _first(frame: pd.DataFrame, column: str) -> str:
    if column not in frame.columns:
        return ""
    values = frame[column].dropna().astype(str)
    return values.iloc[0] if len(values) else ""


def _escape(text: str) -> str:
    """Header/footer codes start with « & »: a literal ampersand is doubled."""
    return str(text).replace("&", "&&")
