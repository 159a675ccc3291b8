"""Budget vert pondéré: weighted amount and share per objective (never summed into one figure silently)."""

from __future__ import annotations

import pandas as pd

from budgetclimat import i18n
from budgetclimat.views.base import columns_by_line

from ..grid import H2, HEAD, PERCENT, TEXT, TEXT_WRAP, TITLE, Cell, Grid
from .common import failed_view, money_row, write_failed_view


def _view(ctx):
    return ctx.prep.views.get("weighted")


def summary(ctx) -> pd.DataFrame | None:
    """``objective, weighted_cents, base_cents, share`` with objectives labelled, or None without the view."""
    view = _view(ctx)
    totals = getattr(view, "totals", None)
    if totals is None or len(totals) == 0:
        return None
    out = totals.copy()
    out["objective"] = [ctx.axis(str(o)) for o in out["objective"]]
    return out


def line_weights(ctx, line_ids: pd.Series) -> dict[str, pd.Series] | None:
    """The weight of each objective (by its label) of the lines ``line_ids``, aligned with them (missing where a
    line has none): one lookup of the ids among the view's lines, a take per objective."""
    view = _view(ctx)
    lines = getattr(view, "lines", None)
    if lines is None:
        return None
    names = {ctx.axis(o): f"weight_{o}" for o in getattr(view, "objectives", []) or [] if f"weight_{o}" in lines.columns}
    if not names:
        return None
    found = columns_by_line(lines, line_ids, list(names.values()))
    if found is None:  # line ids not unique or missing: as a map does it
        return {label: line_ids.map(pd.Series(lines[col].to_numpy(), index=lines["line_id"].to_numpy())) for label, col in names.items()}
    return {label: found[col] for label, col in names.items()}


def write(ctx) -> None:
    view = _view(ctx)
    table = summary(ctx)
    if table is None:
        reason = failed_view(ctx, "weighted")
        if reason:
            write_failed_view(ctx, "sheet-pondere", "pondere-title", reason)
        return
    ws = ctx.sheet("sheet-pondere")
    g = Grid(widths={1: 30, 2: 18, 3: 18, 4: 14, 5: 12})
    g.add(Cell(ctx.t("pondere-title"), TITLE))
    g.paragraph(ctx.t("note-weighted"), 5)
    g.blank()
    g.add(Cell(ctx.t("col-objective"), HEAD), Cell(ctx.t("col-weighted-amount"), HEAD), Cell(ctx.t("col-base-amount"), HEAD),
          Cell(ctx.t("col-weighted-share"), HEAD), Cell(ctx.t("col-lines"), HEAD))
    for row in table.itertuples(index=False):
        g.add(Cell(str(row.objective), TEXT), *money_row([row.weighted_cents, row.base_cents]), Cell(float(row.share), PERCENT),
              Cell(int(getattr(row, "lines_weighted", 0)), TEXT))
    combined = getattr(view, "combined_cents", None)
    if combined is not None:
        g.blank()
        g.add(Cell(ctx.t("col-weighted-share"), H2))
        label = i18n.t(f"weighted.combined.{view.combine}", ctx.lang)  # the rule of the combined share, in words
        g.add(Cell(label, TEXT_WRAP), *money_row([combined, view.base_cents]), Cell(float(view.combined_share), PERCENT))
    ctx.flush(ws, g, landscape=False)
