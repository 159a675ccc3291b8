"""Synthèse: who, which document, the key figures of the three views and native charts."""

from __future__ import annotations

from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.chart.label import DataLabel, DataLabelList
from openpyxl.chart.series import DataPoint
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.fill import ColorChoice, PatternFillProperties

from budgetclimat.engine.bounds import percent_text
from budgetclimat.errors import render_finding
from budgetclimat.rulebook.model import BOUNDED_ROLLUPS, CLASSES, ROLLUPS

from ..frames import figures_table, shares
from ..grid import (
    CLASS_COLOURS,
    H2,
    HEAD,
    LABEL,
    NOTE,
    PERCENT_BOLD,
    SUBTITLE,
    TEXT,
    TEXT_WRAP,
    TITLE,
    TOTAL_TEXT,
    WARN,
    Cell,
    Grid,
    Look,
    class_look,
)
from .carbon import key_figures
from .common import colour_series, document_facts, money_row
from .weighted import summary

WIDTH = 8  # columns A..H
# One portrait A4 page: the tables (A..H) and, below them, the two charts side by side within A..H.
FIRST_WIDTH, MONEY_WIDTH = 26, 16  # a money column shows « 10 123 456 789,00 € » in bold
BAR_CM, PIE_CM, CHART_CM = 14.0, 12.5, 9.0


def write(ctx) -> None:
    ws = ctx.sheet("sheet-synthese")
    facts = document_facts(ctx)
    g = Grid(widths={1: FIRST_WIDTH, **{c: MONEY_WIDTH for c in range(2, WIDTH + 1)}})
    _uncovered_line(ctx, g)
    r = g.add(Cell(ctx.t("title", collectivite=facts["collectivite"]), TITLE))
    g.merge_row(r, 1, WIDTH)
    g.heights[r] = 24
    r = g.add(Cell(ctx.t("subtitle", document=facts["document"], exercice=facts["exercice"], version=facts["version"]), SUBTITLE))
    g.merge_row(r, 1, WIDTH)
    g.blank()

    figures = ctx.prep.figures  # engine.figures: the terminal's and the summary JSON's figures
    n_lines = figures.lines
    n_out = figures.axes[ctx.prep.axes[0]].out_of_scope.lines if ctx.prep.axes else 0
    info = [
        ("info-collectivite", facts["collectivite"]),
        ("info-siret", facts["siret"]),
        ("info-exercice", facts["exercice"]),
        ("info-document", facts["document"]),
        ("info-budget", facts["budget"]),
        ("info-nomenclature", facts["nomenclature"]),
        ("info-perimetre", ctx.t("perimeter-text", basis=facts["basis"], n_lines=n_lines, n_out=n_out)),
    ]
    if ctx.show_stamp:
        info.append(("info-generated", ctx.stamp.strftime("%Y-%m-%d %H:%M UTC")))
    for key, value in info:
        r = g.add(Cell(ctx.t(key), LABEL), Cell(value if isinstance(value, str) else value, Look(wrap=True, align="left")))
        g.merge_row(r, 2, WIDTH)
        if key == "info-perimetre":
            g.heights[r] = 28
    g.blank()

    axes = ctx.prep.axes
    tables = {axis: figures_table(figures.axes[axis]) for axis in axes}

    # Shares per axis (roll-up).
    r = g.add(Cell(ctx.t("kf-title"), H2))
    g.add(Cell(ctx.t("col-axis"), HEAD), *[Cell(ctx.rollup(k), class_look(k)) for k in ROLLUPS],
          Cell(ctx.t("col-in-scope"), HEAD), Cell(ctx.cls("out"), class_look("out")), Cell(ctx.t("col-total-budget"), HEAD))
    for axis in axes:
        t = tables[axis]
        g.add(Cell(ctx.axis(axis), TOTAL_TEXT), *[Cell(_nan(shares(t, k).iloc[0]), PERCENT_BOLD) for k in ROLLUPS],
              *money_row([t["in_scope"].iloc[0], t["out"].iloc[0], t["total"].iloc[0]]))
    g.add(Cell(ctx.t("note-shares"), NOTE))
    g.blank()
    _out_parts_block(ctx, g, axes, tables)
    _ranges_block(ctx, g, axes)

    # Class detail per axis: the data of the charts.
    g.add(Cell(ctx.t("kf-classes-title"), H2))
    head_row = g.add(Cell(ctx.t("col-axis"), HEAD), *[Cell(ctx.cls(k), class_look(k)) for k in CLASSES], Cell(ctx.cls("out"), class_look("out")))
    first_data = g.next_row
    for axis in axes:
        t = tables[axis]
        g.add(Cell(ctx.axis(axis), TOTAL_TEXT), *money_row([t[k].iloc[0] for k in CLASSES] + [t["out"].iloc[0]]))
    last_data = g.next_row - 1
    g.blank()

    # The pie of the first axis: only the classes present, so that no empty slice clutters it.
    pie = None
    if axes:
        t = tables[axes[0]]
        present = [k for k in CLASSES if int(t[k].iloc[0]) != 0]
        whole = int(t["in_scope"].iloc[0])
        g.add(Cell(ctx.t("chart-pie", axis=ctx.axis(axes[0])), H2))
        pie_head = g.add(Cell(ctx.t("col-class"), HEAD), Cell(ctx.t("col-amount"), HEAD), Cell(ctx.t("col-share"), HEAD))
        for k in present:
            g.add(Cell(ctx.cls(k), class_look(k)), *money_row([t[k].iloc[0]]), Cell(int(t[k].iloc[0]) / whole if whole else None, PERCENT_BOLD))
        pie = (pie_head, present, [int(t[k].iloc[0]) / whole if whole else 0 for k in present])
        g.blank()

    weighted_rows = _weighted_block(ctx, g)
    carbon_rows = _carbon_block(ctx, g)
    g.blank()
    chart_row = g.next_row

    ctx.flush(ws, g, landscape=False, gridlines=False, one_page=True)

    if axes:
        _bar_chart(ctx, ws, head_row, first_data, last_data, f"A{chart_row}")
        if pie and pie[1]:
            _pie_chart(ctx, ws, pie[0], pie[1], axes[0], f"E{chart_row}", pie[2])
    del weighted_rows, carbon_rows


def _ranges_block(ctx, g: Grid, axes: list[str]) -> None:
    """The coloured budget as ranges while questions are open (engine.bounds), and decided / bounded / open euros apart."""
    bounds = {axis: ctx.prep.figures.axes[axis].bounds for axis in axes if ctx.prep.figures.axes[axis].bounds is not None}
    if not bounds:
        return
    g.add(Cell(ctx.t("kf-ranges-title"), H2))
    g.add(Cell(ctx.t("col-axis"), HEAD), *[Cell(ctx.t(f"col-range-{k}"), HEAD) for k in BOUNDED_ROLLUPS],
          *[Cell(ctx.t(k), HEAD) for k in ("col-decided", "col-bounded", "col-at-least-neutral", "col-open")])
    for axis in axes:
        b = bounds.get(axis)
        if b is None:
            continue
        ranges = [
            ctx.t("range-text", low=percent_text(getattr(b, f"{k}_min_cents"), b.in_scope_cents, ctx.lang),
                  high=percent_text(getattr(b, f"{k}_max_cents"), b.in_scope_cents, ctx.lang))
            for k in BOUNDED_ROLLUPS
        ]
        g.add(Cell(ctx.axis(axis), TOTAL_TEXT), *[Cell(text, TEXT_WRAP) for text in ranges],
              *money_row([b.decided_cents, b.bounded_cents, b.at_least_neutral_cents, b.open_cents]))
    r = g.add(Cell(ctx.t("note-ranges"), Look(italic=True, size=9, colour="555555", wrap=True)))
    g.merge_row(r, 1, WIDTH)
    g.heights[r] = 40
    g.blank()


def _out_parts_block(ctx, g: Grid, axes: list[str], tables: dict) -> None:
    """Out of scope split into revenue, ordre, debt and other reasons (engine.figures), as the terminal says it."""
    g.add(Cell(ctx.t("kf-out-title"), H2))
    g.add(Cell(ctx.t("col-axis"), HEAD), *[Cell(ctx.t(f"col-out-{part}"), HEAD) for part in ("revenue", "ordre", "debt", "other")],
          Cell(ctx.cls("out"), class_look("out")))
    for axis in axes:
        t = tables[axis]
        g.add(Cell(ctx.axis(axis), TOTAL_TEXT), *money_row([t[f"out_{part}"].iloc[0] for part in ("revenue", "ordre", "debt", "other")] + [t["out"].iloc[0]]))
    g.add(Cell(ctx.t("note-out"), NOTE))
    g.blank()


def _uncovered_line(ctx, g: Grid) -> None:
    """First line of the sheet when lines of the budget are covered by no rulebook: the figures below leave them out."""
    findings = ctx.prep.findings
    if findings is None or not len(findings) or "code" not in findings.columns:
        return
    hit = findings[findings["code"] == "nomenclature-not-covered"]
    if not len(hit):
        return
    r = g.add(Cell(render_finding(hit.iloc[0].to_dict(), ctx.lang), Look(bold=True, colour=WARN.colour, wrap=True)))
    g.merge_row(r, 1, WIDTH)
    g.heights[r] = 60


def _nan(value):
    return None if value != value else float(value)


def _bar_chart(ctx, ws, head_row: int, first: int, last: int, anchor: str) -> None:
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "percentStacked"
    chart.overlap = 100
    chart.title = ctx.t("chart-classes-axis")
    chart.style = 10
    data = Reference(ws, min_col=2, max_col=1 + len(CLASSES), min_row=head_row, max_row=last)
    cats = Reference(ws, min_col=1, min_row=first, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    for series, key in zip(chart.series, CLASSES):
        colour_series(series, key)
    chart.y_axis.number_format = "0%"
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.width, chart.height = BAR_CM, CHART_CM
    ws.add_chart(chart, anchor)


def _pie_chart(ctx, ws, head_row: int, present: list[str], axis: str, anchor: str, slice_shares: list[float]) -> None:
    chart = PieChart()
    chart.title = ctx.t("chart-pie", axis=ctx.axis(axis))
    first, last = head_row + 1, head_row + len(present)
    chart.add_data(Reference(ws, min_col=2, min_row=first, max_row=last), titles_from_data=False)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    series = chart.series[0]
    for idx, key in enumerate(present):
        point = DataPoint(idx=idx)
        props = GraphicalProperties()
        if key == "FSC":
            props.pattFill = PatternFillProperties(prst="wdUpDiag", fgClr=ColorChoice(srgbClr="1B7837"), bgClr=ColorChoice(srgbClr=CLASS_COLOURS[key]))
        else:
            props.solidFill = CLASS_COLOURS[key]
        props.line.solidFill = "606060"
        point.graphicalProperties = props
        series.dPt.append(point)
    series.dLbls = DataLabelList()
    series.dLbls.showPercent = True
    series.dLbls.showVal = False
    series.dLbls.showCatName = False
    series.dLbls.showSerName = False
    series.dLbls.showLeaderLines = True
    # No label on slivers under 2 %: they overlap and read as "0 %"; the table above gives them.
    series.dLbls.dLbl = [DataLabel(idx=i, showPercent=False, showVal=False, showCatName=False, showSerName=False, showLegendKey=False)
                         for i, share in enumerate(slice_shares) if share < 0.02]
    chart.legend.position = "r"
    chart.width, chart.height = PIE_CM, CHART_CM
    ws.add_chart(chart, anchor)


def _weighted_block(ctx, g: Grid):
    table = summary(ctx)
    if table is None or table.empty:
        return None
    g.add(Cell(ctx.t("kf-weighted-title"), H2))
    g.add(Cell(ctx.t("col-objective"), HEAD), Cell(ctx.t("col-weighted-amount"), HEAD), Cell(ctx.t("col-base-amount"), HEAD), Cell(ctx.t("col-weighted-share"), HEAD))
    first = g.next_row
    for row in table.itertuples(index=False):
        g.add(Cell(str(row.objective), TEXT), *money_row([row.weighted_cents, row.base_cents]), Cell(_nan(row.share), PERCENT_BOLD))
    g.add(Cell(ctx.t("note-weighted"), NOTE))
    g.blank()
    return first


def _carbon_block(ctx, g: Grid):
    figures = key_figures(ctx)
    if not figures:
        return None
    g.add(Cell(ctx.t("kf-carbon-title"), H2))
    for key, value in figures:
        g.add(Cell(ctx.t(key), LABEL), Cell(value, Look(number_format="#,##0.0", bold=True)))
    g.blank()
    return True
