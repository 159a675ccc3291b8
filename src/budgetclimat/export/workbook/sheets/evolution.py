"""Évolution: roll-up shares per axis and year when several exercices are given."""

from __future__ import annotations

from openpyxl.chart import LineChart, Reference

from budgetclimat.rulebook.model import ROLLUPS

from ..frames import pivot_classes
from ..grid import H2, HEAD, PERCENT, TEXT, TITLE, Cell, Grid, class_look
from .common import money_row


def write(ctx) -> None:
    prep = ctx.prep
    if len(prep.exercices) < 2:
        return
    ws = ctx.sheet("sheet-evolution")
    g = Grid(widths={1: 12, **{c: 15 for c in range(2, 12)}})
    g.add(Cell(ctx.t("evolution-title"), TITLE))
    g.blank()
    blocks = []
    for axis in prep.axes:
        reg = prep.register[(prep.register["axis"] == axis) & (prep.register["sens"] == "D")]
        g.add(Cell(ctx.axis(axis), H2))
        head = g.add(Cell(ctx.t("col-year"), HEAD), *[Cell(ctx.rollup(k), class_look(k)) for k in ROLLUPS],
                     Cell(ctx.t("col-in-scope"), HEAD), Cell(ctx.cls("out"), class_look("out")))
        first = g.next_row
        for year in prep.exercices:
            t = pivot_classes(reg[reg["exercice"] == year]).iloc[0]
            whole = int(t["in_scope"])
            g.add(Cell(int(year), TEXT), *[Cell(int(t[k]) / whole if whole else None, PERCENT) for k in ROLLUPS], *money_row([t["in_scope"], t["out"]]))
        blocks.append((axis, head, first, g.next_row - 1))
        g.blank()
    chart_row = g.next_row + 1
    ctx.flush(ws, g, landscape=True)
    for i, (axis, head, first, last) in enumerate(blocks):
        chart = LineChart()
        chart.title = ctx.t("chart-evolution", axis=ctx.axis(axis))
        chart.add_data(Reference(ws, min_col=2, max_col=1 + len(ROLLUPS), min_row=head, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        for series, key in zip(chart.series, ROLLUPS):
            series.graphicalProperties.line.solidFill = {"favourable": "1B7837", "neutral": "999999", "unfavourable": "8C510A", "undefined": "E0B000"}[key]
            series.graphicalProperties.line.width = 28575
        chart.y_axis.number_format = "0%"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.width, chart.height = 14, 7
        ws.add_chart(chart, f"{'A' if i % 2 == 0 else 'G'}{chart_row + 16 * (i // 2)}")
