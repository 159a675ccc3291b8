"""Budget carbone: emissions of the budget per category and account, methods, factors and their status;
territory inventory vs caps, measures and the measures ↔ budget lines check when the result has them."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from openpyxl.chart import AreaChart, BarChart, LineChart, Reference
from openpyxl.worksheet.pagebreak import Break

from budgetclimat import i18n
from budgetclimat.views.base import columns_by_line

from ..grid import H2, HEAD, TEXT, TEXT_WRAP, TITLE, TONNES, Cell, Grid
from ..labels import known
from .common import failed_view, money_row, write_failed_view

PACK_ACCOUNTS = 25  # accounts listed one by one in the council pack

TABLE_CM = 26.0  # the category table (columns A..F) as printed: its chart is as wide
CAT_BAR_CM = 0.55  # per category bar, so that every label of the chart reads
MAX_CHART_CM = 14.5  # under the height of a landscape A4 page, with the sheet's title
ROW_CM = 15 / 72 * 2.54  # a row of the default height (15 pt)


def _view(ctx):
    return ctx.prep.views.get("carbon")


def _part(ctx, name):
    view = _view(ctx)
    value = getattr(view, name, None)
    if value is None and isinstance(view, dict):
        value = view.get(name)
    return value


def key_figures(ctx) -> list[tuple[str, float]]:
    view = _view(ctx)
    if view is None or getattr(view, "tco2e", None) is None:
        return []
    figures = [("kf-tco2e", float(view.tco2e))]
    cap = _cap_for(ctx, ctx.prep.main_exercice)
    if cap is not None:
        figures.append(("kf-cap", cap))
    return figures


_TERRITORY = ["year", "cap_tco2e", "inventory_net_tco2e", "projected_net_tco2e", "measures_effect_tco2e", "bau_net_tco2e", "gap_tco2e"]


def _territory(ctx) -> pd.DataFrame | None:
    """Per year: cap, inventory net, projection with measures, measures' effect, business as usual, gap."""
    terr = ctx.prep.views.get("territory")
    frame = getattr(terr, "years", terr)
    if not isinstance(frame, pd.DataFrame) or not len(frame) or "year" not in frame.columns:
        return None
    return frame[[c for c in _TERRITORY if c in frame.columns]]


def _cap_for(ctx, year):
    terr = _territory(ctx)
    if terr is None or year is None or "cap_tco2e" not in terr.columns:
        return None
    hit = terr[terr["year"] == year]
    return None if hit.empty or pd.isna(hit["cap_tco2e"].iloc[0]) else float(hit["cap_tco2e"].iloc[0])


def line_tonnes(ctx, line_ids: pd.Series) -> pd.Series | None:
    """The tCO2e of the lines ``line_ids``, aligned with them (missing where a line has none)."""
    lines = _part(ctx, "lines")
    if not isinstance(lines, pd.DataFrame) or "tco2e" not in lines.columns:
        return None
    found = columns_by_line(lines, line_ids, ["tco2e"])
    if found is None:  # line ids not unique or missing: as a map does it
        return line_ids.map(pd.Series(lines["tco2e"].to_numpy(), index=lines["line_id"].to_numpy()))
    return found["tco2e"]


def write(ctx) -> None:
    if not key_figures(ctx) and _territory(ctx) is None:
        reason = failed_view(ctx, "carbon", "territory", "measures")
        if reason:
            write_failed_view(ctx, "sheet-carbone", "carbone-title", reason)
        return
    ws = ctx.sheet("sheet-carbone")
    g = Grid(widths={1: 34, 2: 30, 3: 18, 4: 18, 5: 18, 6: 18, 7: 26, 8: 16})
    g.add(Cell(ctx.t("carbone-title"), TITLE))
    g.blank()
    charts = []
    breaks = []

    by_cat = _part(ctx, "by_category")
    factor_labels = _factor_labels(ctx)
    if isinstance(by_cat, pd.DataFrame) and len(by_cat):
        g.add(Cell(ctx.t("carbone-by-category"), H2))
        # Its chart first, as wide as the table below and tall enough for one readable bar per category, on
        # the first page (a chart placed after a long table would be cut by a page break): rows are kept
        # free for it, since write-only sheets place a chart over rows, not between them.
        anchor = g.next_row
        height = min(MAX_CHART_CM, max(7.0, CAT_BAR_CM * len(by_cat) + 3.0))
        g.blank(math.ceil(height / ROW_CM) + 1)
        head = g.add(Cell(ctx.t("col-category"), HEAD), Cell(ctx.t("col-method"), HEAD), Cell(ctx.t("col-amount"), HEAD), Cell(ctx.t("col-tco2e"), HEAD),
                     Cell(ctx.t("col-tco2e-low"), HEAD), Cell(ctx.t("col-tco2e-high"), HEAD))
        first = g.next_row
        for row in by_cat.sort_values("tco2e", ascending=False).itertuples(index=False):
            label = factor_labels.get(str(row.factor_id)) or str(row.carbon_category).replace("_", " ")
            g.add(Cell(label, TEXT_WRAP), Cell(_method(ctx, getattr(row, "carbon_method", "")), TEXT_WRAP), *money_row([row.amount_cents]),
                  Cell(float(row.tco2e), TONNES), Cell(float(getattr(row, "tco2e_low", float("nan"))), TONNES), Cell(float(getattr(row, "tco2e_high", float("nan"))), TONNES))
        charts.append(("cat", head, first, g.next_row - 1, anchor, height))
        g.blank()

    lines = _part(ctx, "lines")
    if isinstance(lines, pd.DataFrame) and "tco2e" in lines.columns:
        merged = lines[["line_id", "tco2e"]].merge(ctx.prep.lines[["line_id", "nature", "amount_cents"]], on="line_id", how="left")
        by_acc = merged.groupby("nature", dropna=False).agg(amount_cents=("amount_cents", "sum"), tco2e=("tco2e", "sum"))
        by_acc = by_acc[by_acc["tco2e"] != 0].sort_values("tco2e", ascending=False)
        # The council pack shows the accounts that make most of the tonnes, the others in one row (the full
        # workbook lists every account).
        rest = by_acc.iloc[PACK_ACCOUNTS:] if ctx.pack and len(by_acc) > PACK_ACCOUNTS + 1 else by_acc.iloc[0:0]
        by_acc = by_acc.iloc[: len(by_acc) - len(rest)]
        g.add(Cell(ctx.t("carbone-by-account"), H2))
        g.add(Cell(ctx.t("col-nature"), HEAD), Cell(ctx.t("col-label"), HEAD), Cell(ctx.t("col-amount"), HEAD), Cell(ctx.t("col-tco2e"), HEAD))
        labels = ctx.prep.lines.dropna(subset=["nature"]).drop_duplicates("nature").set_index("nature").get("account_label")
        for nature, row in by_acc.iterrows():
            label = "" if labels is None else labels.get(nature, "")
            label = "" if label is None or label is pd.NA or label != label else str(label)
            g.add(Cell(str(nature), TEXT), Cell(label, TEXT_WRAP), *money_row([row["amount_cents"]]), Cell(float(row["tco2e"]), TONNES))
        if len(rest):
            g.add(Cell(ctx.t("carbone-other-accounts", n=len(rest)), TEXT_WRAP), Cell(ctx.t("carbone-other-accounts-where"), TEXT_WRAP),
                  *money_row([int(rest["amount_cents"].sum())]), Cell(float(rest["tco2e"].sum()), TONNES))
        g.blank()

    by_method = _part(ctx, "by_method")
    if isinstance(by_method, pd.DataFrame) and len(by_method):
        g.add(Cell(ctx.t("carbone-by-method"), H2))
        g.add(Cell(ctx.t("col-method"), HEAD), Cell(ctx.t("col-lines"), HEAD), Cell(ctx.t("col-amount"), HEAD), Cell(ctx.t("col-tco2e"), HEAD))
        for row in by_method.itertuples(index=False):
            g.add(Cell(_method(ctx, row.carbon_method), TEXT), Cell(int(row.lines), TEXT), *money_row([row.amount_cents]), Cell(float(row.tco2e), TONNES))
        g.blank()
    by_exclusion = _part(ctx, "by_exclusion")
    if isinstance(by_exclusion, pd.DataFrame) and len(by_exclusion):
        g.add(Cell(ctx.t("carbone-by-exclusion"), H2))
        g.add(Cell(ctx.t("col-reason"), HEAD), Cell(ctx.t("col-lines"), HEAD), Cell(ctx.t("col-amount"), HEAD))
        for row in by_exclusion.itertuples(index=False):
            g.add(Cell(_exclusion(ctx, row.carbon_exclusion), TEXT_WRAP), Cell(int(row.lines), TEXT), *money_row([row.amount_cents]))
        g.blank()
    factors = _part(ctx, "factors_used")
    if isinstance(factors, pd.DataFrame) and len(factors):
        if g.rows:
            breaks.append(g.next_row - 1)  # a table of reference: it starts a printed page
        g.add(Cell(ctx.t("carbone-factors"), H2))
        g.add(*[Cell(ctx.t(k), HEAD) for k in ("col-factor", "col-factor-value", "col-unit", "col-source", "col-edition", "col-status", "col-file")])
        for row in factors.itertuples(index=False):
            unit = str(getattr(row, "unit", "") or "").replace("k€", "k€ HT" if str(getattr(row, "vat_basis", "")) == "HT" else "k€")
            g.add(Cell(str(getattr(row, "label", "") or ""), TEXT_WRAP), Cell(float(row.value), TEXT), Cell(unit, TEXT), Cell(str(getattr(row, "source", "") or ""), TEXT_WRAP),
                  Cell(str(getattr(row, "edition", "") or ""), TEXT_WRAP), Cell(_status(ctx, getattr(row, "status", "")), TEXT_WRAP),
                  Cell(Path(str(getattr(row, "file", "") or "")).name, TEXT_WRAP))
        g.blank()

    terr = _territory(ctx)
    if terr is not None:
        g.add(Cell(ctx.t("carbone-territory"), H2))
        names = {"year": "col-year", "cap_tco2e": "col-cap", "inventory_net_tco2e": "col-inventory", "projected_net_tco2e": "col-projected",
                 "measures_effect_tco2e": "col-measures-effect", "bau_net_tco2e": "col-bau", "gap_tco2e": "col-gap"}
        cols = list(terr.columns)
        head = g.add(*[Cell(ctx.t(names[c]), HEAD) for c in cols])
        first = g.next_row
        for row in terr.sort_values("year").itertuples(index=False):
            g.add(Cell(int(row[0]), TEXT), *[Cell(None if pd.isna(v) else float(v), TONNES) for v in row[1:]])
        charts.append(("traj", head, first, g.next_row - 1, cols))
        g.blank()

    measures = ctx.prep.views.get("measures")
    table = getattr(measures, "measures", None)
    if isinstance(table, pd.DataFrame) and len(table):
        g.add(Cell(ctx.t("carbone-measures"), H2))
        keep = [c for c in ["id", "title", "sector", "service", "status", "cost_cents", "reduction_tco2e_yr", "removal_tco2e_yr",
                            "cost_eur_per_tco2e", "lines"] if c in table.columns]
        _generic(g, table[keep], ctx)
        g.blank()
    for name, key in [("links", "carbone-measures-lines"), ("unfunded", "carbone-unfunded"), ("uncovered", "carbone-uncovered")]:
        frame = getattr(measures, name, None)
        if isinstance(frame, pd.DataFrame) and len(frame):
            g.add(Cell(ctx.t(key), H2))
            _generic(g, frame, ctx)
            g.blank()
    chart_row = g.next_row + 1
    ctx.flush(ws, g, landscape=True)
    for row in breaks:
        ws.row_breaks.append(Break(id=row))
    built = []
    for spec in charts:
        if spec[0] == "cat":
            _, head, first, last, anchor, height = spec
            chart = BarChart()
            chart.type = "bar"
            chart.title = ctx.t("chart-tco2e")
            chart.add_data(Reference(ws, min_col=4, min_row=head, max_row=last), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
            chart.legend = None
            chart.x_axis.delete = False
            chart.y_axis.delete = False
            chart.series[0].graphicalProperties.solidFill = "8C510A"
            chart.x_axis.scaling.orientation = "maxMin"  # largest first, as in the table
            chart.y_axis.crosses = "max"  # …with the tonnes axis still at the bottom
            chart.y_axis.number_format = "#,##0"
            chart.x_axis.tickLblSkip = 1  # every category named, in 8 pt so that the names do not overlap
            chart.x_axis.txPr = _font(800)
            chart.width, chart.height = TABLE_CM, height
            ws.add_chart(chart, f"A{anchor}")
        else:
            _, head, first, last, cols = spec
            built.append(_trajectory_chart(ctx, ws, head, first, last, cols))
            gap = _gap_chart(ctx, ws, head, first, last, cols)
            if gap is not None:
                built.append(gap)
    for i, chart in enumerate(built):
        chart.width, chart.height = 16, 8
        ws.add_chart(chart, f"A{chart_row + 17 * i}")


def _font(size: int):
    """Text properties of a chart axis: ``size`` in hundredths of a point."""
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties

    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(sz=size)), endParaRPr=CharacterProperties(sz=size))])


def _factor_labels(ctx) -> dict[str, str]:
    """Factor id -> its label (the reader sees « Travaux de construction », not an id)."""
    factors = _part(ctx, "factors_used")
    if not isinstance(factors, pd.DataFrame) or "label" not in factors.columns:
        return {}
    return {str(k): str(v) for k, v in zip(factors["factor_id"], factors["label"]) if isinstance(v, str) and v}


def _method(ctx, code) -> str:
    key = f"carbon.method.{code}"
    return i18n.t(key, ctx.lang) if key in i18n.catalogue() else str(code)


def _exclusion(ctx, code) -> str:
    key = f"carbon.exclusion.{code}"
    return i18n.t(key, ctx.lang) if key in i18n.catalogue() else str(code)


# Factor statuses as the tables write them (English ids of the data files) -> reader's words.
_STATUS = {
    "second-hand, to verify": ("de seconde main, à vérifier", "second-hand, to verify"),
    "estimate, to verify": ("estimation, à vérifier", "estimate, to verify"),
    "from memory, to verify": ("valeur de mémoire, à vérifier", "from memory, to verify"),
    "from memory, order of magnitude, to verify": ("ordre de grandeur, à vérifier", "order of magnitude, to verify"),
    "verified": ("vérifié", "verified"),
}


def _status(ctx, status) -> str:
    text = "" if status is None or status is pd.NA else str(status)
    pair = _STATUS.get(text.strip())
    if pair is None:
        return text
    return pair[0] if ctx.lang == "fr" else pair[1]


def _trajectory_chart(ctx, ws, head, first, last, cols):
    chart = LineChart()
    chart.title = ctx.t("chart-trajectory")
    for name, colour in [("cap_tco2e", "1B7837"), ("inventory_net_tco2e", "8C510A"), ("projected_net_tco2e", "E0B000")]:
        if name in cols:
            chart.add_data(Reference(ws, min_col=cols.index(name) + 1, min_row=head, max_row=last), titles_from_data=True)
            chart.series[-1].graphicalProperties.line.solidFill = colour
            chart.series[-1].graphicalProperties.line.width = 28575
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    return chart


def _gap_chart(ctx, ws, head, first, last, cols):
    """Wedge chart: projected emissions with the measures' effect stacked on top (together business as
    usual), and the cap as a line — the gap the measures fill, and what is left."""
    if not {"projected_net_tco2e", "measures_effect_tco2e", "cap_tco2e"} <= set(cols):
        return None
    area = AreaChart()
    area.grouping = "stacked"
    area.title = ctx.t("chart-gap")
    for name, colour in [("projected_net_tco2e", "BDBDBD"), ("measures_effect_tco2e", "A6DBA0")]:
        area.add_data(Reference(ws, min_col=cols.index(name) + 1, min_row=head, max_row=last), titles_from_data=True)
        area.series[-1].graphicalProperties.solidFill = colour
    area.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    line = LineChart()
    line.add_data(Reference(ws, min_col=cols.index("cap_tco2e") + 1, min_row=head, max_row=last), titles_from_data=True)
    line.series[0].graphicalProperties.line.solidFill = "1B7837"
    line.series[0].graphicalProperties.line.width = 28575
    area.x_axis.delete = False
    area.y_axis.delete = False
    area.legend.position = "b"
    area += line
    return area


# Headers of the measures tables: the reader's words, not the column ids of the measures file.
_MEASURE_HEADERS = {"id": "col-id", "title": "col-title", "sector": "col-sector", "service": "wl-col-service", "status": "col-status",
                    "cost_cents": "col-cost", "reduction_tco2e_yr": "col-reduction-yr", "removal_tco2e_yr": "col-removal-yr",
                    "cost_eur_per_tco2e": "col-cost-per-tonne", "lines": "col-lines", "linked_lines": "col-lines", "measure_id": "col-measure",
                    "line_id": "col-line-id", "link": "col-link", "voted_cents": "col-voted", "executed_cents": "col-executed",
                    "axis": "col-axis", "class": "col-class", "amount_cents": "col-amount"}


def _header(ctx, column) -> str:
    key = _MEASURE_HEADERS.get(str(column))
    return ctx.t(key) if key and known(key) else str(column).removesuffix("_cents")


def _generic(g: Grid, frame: pd.DataFrame, ctx=None) -> None:
    """A frame as a table: ``*_cents`` columns as euros, floats as numbers, the rest as text."""
    g.add(*[Cell(_header(ctx, c) if ctx is not None else str(c).removesuffix("_cents"), HEAD) for c in frame.columns])
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, row):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                cells.append(Cell(None, TEXT))
            elif str(col).endswith("_cents"):
                cells.extend(money_row([value]))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(Cell(float(value), TONNES if "tco2e" in str(col) else TEXT))
            else:
                cells.append(Cell(str(value), TEXT))
        g.add(*cells)
