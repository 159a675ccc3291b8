"""What every sheet writer needs: the prepared data, the language, the styles, the options."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

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
    register_elsewhere: Path | None = None
    max_sheet_rows: int = 1_048_575
    options: dict = field(default_factory=dict)
    show_stamp: bool = False  # the date is a real one (not the fixed default of reproducible output)
    lists: dict = field(default_factory=dict)  # list name -> formula of its range (drop-downs)
    list_values: dict = field(default_factory=dict)  # list name -> values, written to the hidden list sheet
    layout: dict = field(default_factory=dict)  # sheet key -> (title, header row, {column key: header})

    def t(self, key: str, **params: object) -> str:
        return labels.tr(key, self.lang, **params)

    def axis(self, axis: str) -> str:
        return self.t(f"axis-{axis}") if labels.known(f"axis-{axis}") else axis

    def cls(self, key: str) -> str:
        return self.t(f"class-{key}") if labels.known(f"class-{key}") else key

    def sheet(self, key: str):
        return self.wb.create_sheet(self.t(key))

    def flush(self, ws, grid: Grid, **setup) -> None:
        """Write ``grid``; ``setup`` (landscape, title_rows, freeze, gridlines…) goes to :func:`page_setup` first."""
        page_setup(ws, **setup)
        flush(ws, self.styles, grid)
