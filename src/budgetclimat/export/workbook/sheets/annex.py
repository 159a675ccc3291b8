"""Annexe légale « Impact du budget pour la transition écologique », from the definition in ``rules/annex``."""

from __future__ import annotations

from ..annex import annex_register, annex_table, definition_or_nearest
from ..grid import H2, HEAD, LABEL, NOTE, PERCENT_BOLD, SUBTITLE, TEXT, TITLE, TOTAL_TEXT, WARN, Cell, Grid, Look, class_look
from .common import document_facts, money_row

_COLUMN_LOOK = {"favourable": "favourable", "neutral": "neutral", "unfavourable": "unfavourable", "not_classified": "undefined"}


def write(ctx) -> None:
    ws = ctx.sheet("sheet-annexe")
    facts = document_facts(ctx)
    definition, nearest = definition_or_nearest(ctx.prep.main_exercice, ctx.annex_definitions)
    ncols = 2 + (len(definition.columns) + int(definition.total_column) if definition else 5)
    g = Grid(widths={1: 12, 2: 44, **{c: 17 for c in range(3, ncols + 1)}})
    title = definition.text(definition.title, ctx.lang) if definition else ctx.t("sheet-annexe")
    r = g.add(Cell(title, TITLE))
    g.merge_row(r, 1, ncols)
    g.heights[r] = 24
    r = g.add(Cell(f"{facts['collectivite']} — {facts['document']} {facts['exercice']}", Look(bold=True, size=12)))
    g.merge_row(r, 1, ncols)
    if definition is None:
        first = ctx.annex_definitions[0].from_exercice if ctx.annex_definitions else "—"
        g.add(Cell(ctx.t("annexe-none", exercice=facts["exercice"], first=first), WARN))
        ctx.flush(ws, g, landscape=True)
        return
    status = ctx.t("annexe-final") if definition.status == "final" else ctx.t("annexe-provisional")
    notes = [(ctx.t("annexe-nearest", exercice=facts["exercice"], first=definition.from_exercice, id=_name(ctx, definition)), WARN)] if nearest else []
    notes += [
        (ctx.t("annexe-definition", id=_name(ctx, definition), from_exercice=definition.from_exercice, status=status), SUBTITLE),
        (ctx.t("annexe-basis", basis=definition.legal_basis), SUBTITLE),
        (ctx.t("annexe-perimeter", text=definition.text(definition.description, ctx.lang)), SUBTITLE),
        (ctx.t("annexe-amounts", basis=facts["basis"]), SUBTITLE),
    ]
    nomenclatures = set(ctx.prep.main_lines().get("nomenclature").dropna().astype(str)) if "nomenclature" in ctx.prep.main_lines() else set()
    if definition.nomenclatures and nomenclatures and not nomenclatures <= set(definition.nomenclatures):
        notes.append((ctx.t("annexe-nomenclature", expected=", ".join(definition.nomenclatures), found=", ".join(sorted(nomenclatures))), WARN))
    for text, look in notes:
        r = g.add(Cell(text, Look(italic=look is SUBTITLE, size=9, colour=look.colour, bold=look.bold, wrap=True)))
        g.merge_row(r, 1, ncols)
        g.heights[r] = 26
    g.blank()

    reg = annex_register(ctx.prep, definition)
    any_unconfirmed = False
    for axis in definition.axes:
        table = annex_table(reg, definition, axis)
        g.add(Cell(ctx.t("annexe-axis", axis=ctx.axis(axis)), H2))
        row_head = ctx.t("col-nature") if definition.rows == "nature" else ctx.t("col-chapitre")
        head = [Cell(row_head, HEAD), Cell(ctx.t("col-label"), HEAD)]
        head += [Cell(definition.text(col.label, ctx.lang), class_look(_COLUMN_LOOK.get(col.key, col.key))) for col in definition.columns]
        if definition.total_column:
            head.append(Cell(ctx.t("col-total"), HEAD))
        g.add(*head)
        keys = [c.key for c in definition.columns] + (["total"] if definition.total_column else [])
        if definition.rows != "total":
            for code, row in table.iterrows():
                star = definition.unconfirmed(str(code))
                any_unconfirmed |= star
                g.add(Cell(f"{code}{' *' if star else ''}", TEXT), Cell(definition.row_label(str(code)), TEXT), *money_row([row[k] for k in keys]))
        totals = table[keys].sum()
        g.add(Cell(ctx.t("total-row"), TOTAL_TEXT), Cell("", TOTAL_TEXT), *money_row([totals[k] for k in keys], bold=True))
        if definition.shares_row:
            whole = int(totals["total"]) if "total" in totals else int(totals.sum())
            g.add(Cell(ctx.t("annexe-share-row"), TOTAL_TEXT), Cell("", TOTAL_TEXT),
                  *[Cell(int(totals[k]) / whole if whole else None, PERCENT_BOLD) for k in keys])
        g.blank()
    if any_unconfirmed:
        g.add(Cell(ctx.t("annexe-unconfirmed"), NOTE))
    g.blank()
    r = g.add(Cell(ctx.t("annexe-signature"), LABEL))
    g.merge_row(r, 1, ncols)
    ctx.flush(ws, g, landscape=False, gridlines=False)


def _name(ctx, definition) -> str:
    """The definition as a reader names it: « annexe « Impact du budget… » de 2024 », not its file id."""
    return ctx.t("annexe-name", title=definition.text(definition.title, ctx.lang), year=definition.from_exercice)
