"""Budget vert coloré: classes × axis by section, chapitre, fonction (levels 1 and 2); out of scope by reason."""

from __future__ import annotations

import pandas as pd
from openpyxl.worksheet.pagebreak import Break

from budgetclimat.rulebook.model import CLASSES

from ..codes import chapter_labels, fonction_labels
from ..frames import pivot_classes
from ..grid import H2, HEAD, NUMBER, PERCENT, TEXT, TEXT_WRAP, TITLE, TOTAL_TEXT, Cell, Grid, class_look
from .common import money_row

NCOLS = 12


def write(ctx) -> None:
    ws = ctx.sheet("sheet-colore")
    g = Grid(widths={1: 12, 2: 38, **{c: 15 for c in range(3, NCOLS + 1)}})
    main = ctx.prep.main_lines()
    labels_f, labels_c = fonction_labels(main), chapter_labels(main)
    breaks = []
    for axis in ctx.prep.axes:
        reg = ctx.prep.main_register(axis, ["line_id", "section", "chapitre", "fonction", "key", "scope_reason", "amount_share_cents"]).copy()
        if g.rows:
            breaks.append(g.next_row - 1)  # each axis starts a printed page
        r = g.add(Cell(ctx.t("colore-title", axis=ctx.axis(axis)), TITLE))
        g.merge_row(r, 1, NCOLS)
        g.blank()
        reg["section_key"] = reg["section"].astype("string").fillna("")
        reg["chapitre_key"] = reg["chapitre"].astype("string").fillna("")
        fonction = reg["fonction"].astype("string").fillna("")
        reg["fonction1"] = fonction.str[:1]
        reg["fonction2"] = fonction.str[:2]
        _table(ctx, g, reg, "section_key", ctx.t("by-section"), lambda k: ctx.t(f"section-{k}") if k in ("F", "I") else k)
        _table(ctx, g, reg, "chapitre_key", ctx.t("by-chapitre"), lambda k: labels_c.get(k, "") if k else ctx.t("no-chapitre"))
        _table(ctx, g, reg, "fonction1", ctx.t("by-fonction1"), lambda k: labels_f.get(k, "") if k else ctx.t("no-fonction"))
        _table(ctx, g, reg, "fonction2", ctx.t("by-fonction2"), lambda k: labels_f.get(k, "") if k else ctx.t("no-fonction"))
        _reasons(ctx, g, reg)
        g.blank(2)
    ctx.flush(ws, g, landscape=True, gridlines=False)
    for row in breaks:
        ws.row_breaks.append(Break(id=row))


def _table(ctx, g: Grid, reg: pd.DataFrame, by: str, title: str, label) -> None:
    g.add(Cell(title, H2))
    g.add(Cell(ctx.t("col-code"), HEAD), Cell(ctx.t("col-label"), HEAD), *[Cell(ctx.cls(k), class_look(k)) for k in CLASSES],
          Cell(ctx.t("col-classified-total"), HEAD), Cell(ctx.t("col-share-favourable"), class_look("favourable")),
          Cell(ctx.t("col-share-undefined"), class_look("undefined")), Cell(ctx.cls("out"), class_look("out")))
    table = pivot_classes(reg, [by]) if len(reg) else pivot_classes(reg)
    if not len(reg):
        table = table.iloc[0:0]
    for key, row in table.iterrows():
        code = key if isinstance(key, str) else str(key)
        g.add(Cell(code, TEXT), Cell(label(code), TEXT_WRAP), *money_row([row[k] for k in CLASSES] + [row["in_scope"]]),
              Cell(_ratio(row["favourable"], row["in_scope"]), PERCENT), Cell(_ratio(row["undefined"], row["in_scope"]), PERCENT),
              *money_row([row["out"]]))
    total = pivot_classes(reg)
    t = total.iloc[0]
    g.add(Cell(ctx.t("total-row"), TOTAL_TEXT), Cell("", TOTAL_TEXT), *money_row([t[k] for k in CLASSES] + [t["in_scope"]], bold=True),
          Cell(_ratio(t["favourable"], t["in_scope"]), PERCENT), Cell(_ratio(t["undefined"], t["in_scope"]), PERCENT), *money_row([t["out"]], bold=True))
    g.blank()


def _ratio(part, whole):
    return None if not whole else int(part) / int(whole)


def _reasons(ctx, g: Grid, reg: pd.DataFrame) -> None:
    out = reg[reg["key"] == "out"]
    g.add(Cell(ctx.t("by-reason"), H2))
    g.add(Cell(ctx.t("col-reason"), HEAD), None, Cell(ctx.t("col-lines"), HEAD), Cell(ctx.t("col-amount"), HEAD))
    g.merges.append(f"A{g.next_row - 1}:B{g.next_row - 1}")
    reasons = out.assign(reason=out["scope_reason"].astype("string").fillna("")).groupby("reason").agg(
        lines=("line_id", "nunique"), cents=("amount_share_cents", "sum")).sort_values("cents", ascending=False)
    for reason, row in reasons.iterrows():
        r = g.add(Cell(str(reason), TEXT_WRAP), Cell("", TEXT), Cell(int(row["lines"]), NUMBER), *money_row([row["cents"]]))
        g.merge_row(r, 1, 2)
    r = g.add(Cell(ctx.t("total-row"), TOTAL_TEXT), Cell("", TOTAL_TEXT), Cell(int(out["line_id"].nunique()), NUMBER), *money_row([out["amount_share_cents"].sum()], bold=True))
    g.merge_row(r, 1, 2)
    g.blank()
