"""One module per sheet; each exposes ``write(ctx)``.

The sheets of the views (:mod:`budgetclimat.views.base`) are registered with the views they show
(:data:`VIEW_SHEETS`, in the workbook's order, after the coloured budget): the workbook writes each of
them, in the council pack too, so that a new view's sheet is one module and one :func:`register_view_sheet`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import carbon, weighted


@dataclass(frozen=True)
class ViewSheet:
    """A sheet showing ``views`` (names of ``RunResult.views``), written by ``write(ctx)``; ``pack``: also in
    the council pack."""

    key: str
    views: tuple[str, ...]
    write: Callable[[object], None]
    pack: bool = True


VIEW_SHEETS: dict[str, ViewSheet] = {}


def register_view_sheet(sheet: ViewSheet) -> ViewSheet:
    """Add ``sheet`` after the view sheets already registered (replacing one with the same key in place)."""
    VIEW_SHEETS[sheet.key] = sheet
    return sheet


def unregister_view_sheet(key: str) -> None:
    VIEW_SHEETS.pop(key, None)


def _register_shipped() -> None:
    register_view_sheet(ViewSheet("sheet-pondere", ("weighted",), weighted.write))
    register_view_sheet(ViewSheet("sheet-carbone", ("carbon", "territory", "measures"), carbon.write))


_register_shipped()
