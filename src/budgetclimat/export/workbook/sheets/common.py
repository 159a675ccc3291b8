"""Pieces shared by several sheets: document facts, class tables, chart colouring."""

from __future__ import annotations

import pandas as pd
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.fill import ColorChoice, PatternFillProperties
from openpyxl.drawing.line import LineProperties

from budgetclimat import __version__

from ..grid import CLASS_COLOURS, MONEY, MONEY_BOLD, TITLE, WARN, Cell, Grid, Look
from ..labels import basis_text, collectivite_text, nomenclature_text, several_text


def first(series: pd.Series) -> str:
    values = series.dropna().astype(str)
    values = values[values != ""]
    return values.iloc[0] if len(values) else ""


def distinct(series: pd.Series) -> str:
    """The distinct non-empty values, in order of first appearance, joined by commas."""
    return ", ".join(v for v in pd.unique(series.dropna().astype(str)) if v)


def failed_view(ctx, *views: str) -> str | None:
    """Why the view(s) could not be computed (the ``view-failed`` findings of the run), or None."""
    findings = ctx.prep.findings
    if not isinstance(findings, pd.DataFrame) or not len(findings) or "code" not in findings.columns:
        return None
    hit = findings[(findings["code"] == "view-failed") & findings["column"].isin(list(views)).fillna(False)]
    reasons = [f"{view} : {value}" for view, value in zip(hit["column"], hit["value"].fillna(""))]
    return " ; ".join(dict.fromkeys(reasons)) or None


def write_failed_view(ctx, sheet_key: str, title_key: str, reason: str) -> None:
    """The sheet of a view that failed: its title and why it is empty."""
    ws = ctx.sheet(sheet_key)
    g = Grid(widths={1: 120})
    g.add(Cell(ctx.t(title_key), TITLE))
    g.blank()
    g.add(Cell(ctx.t("view-failed-note", reason=reason), Look(bold=True, colour=WARN.colour, wrap=True)))
    ctx.flush(ws, g)


def document_facts(ctx) -> dict:
    lines = ctx.prep.main_lines()
    docs = list(pd.unique(lines.get("doc_type", pd.Series(dtype="string")).dropna().astype(str)))
    doc_text = ", ".join(ctx.t(f"doc-{d}") if d in ("BP", "BS", "DM", "CA", "CFU") else d for d in docs)
    basis = first(lines.get("amount_basis", pd.Series(dtype="string")))
    return {
        "collectivite": collectivite_text(lines, ctx.lang) or "—",
        "siret": several_text(lines.get("siret", pd.Series(dtype="string")), ctx.lang, "sirets-several"),
        "exercice": ctx.prep.main_exercice if ctx.prep.main_exercice is not None else "",
        "document": doc_text,
        "budget": several_text(lines.get("budget_label", pd.Series(dtype="string")), ctx.lang, "budgets-several")
        or several_text(lines.get("budget_code", pd.Series(dtype="string")), ctx.lang, "budgets-several"),
        "nomenclature": nomenclature_text(distinct(lines.get("nomenclature_variant", pd.Series(dtype="string"))) or distinct(lines.get("nomenclature", pd.Series(dtype="string"))), ctx.lang),
        "basis": basis_text(basis, ctx.lang),
        "version": __version__,
    }


def money_row(values, bold=False):
    look = MONEY_BOLD if bold else MONEY
    return [Cell(None if v is None else int(v) / 100, look) for v in values]


def colour_series(series, key: str) -> None:
    colour = CLASS_COLOURS.get(key, "999999")
    props = GraphicalProperties()
    if key == "FSC":
        props.pattFill = PatternFillProperties(prst="wdUpDiag", fgClr=ColorChoice(srgbClr="1B7837"), bgClr=ColorChoice(srgbClr=colour))
    else:
        props.solidFill = colour
    props.line = LineProperties(solidFill="606060", w=6350)
    series.graphicalProperties = props


