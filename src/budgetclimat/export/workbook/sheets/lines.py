"""Lignes: the register, one row per budget line, as an Excel Table with filters and editable answer columns.

Beyond ``ctx.max_sheet_rows`` lines (``limits.WORKBOOK_SHEET_LINES``) the sheet shows the first ones and says how
many are not shown and where the whole register is: the ``--lines-out`` file, else a CSV written beside the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from budgetclimat.export.register import to_csv
from budgetclimat.outputs import atomic_output, formula_safe

from budgetclimat.views.base import isin_mask

from ..frames import cached_line_class_summary, line_class_summary
from ..grid import EDIT, EDIT_HEAD, HEAD, NOTE, TITLE, WARN, Block, Cell, Grid, Look, add_table
from ..trail import build
from .carbon import line_tonnes
from .weighted import line_weights

HEADER_ROW = 4
TABLE_NAME = "Registre"
EDITABLE = ["fact", "value", "override_axis", "override_class", "comment", "author"]
_PLAIN = Look()
_WRAP = Look(wrap=True)
_MONEY = Look(number_format="eur")
_WEIGHT = Look(number_format="0%")
_TONNES = Look(number_format="#,##0.00")


@dataclass
class Column:
    key: str  # stable key (read back by the round trip)
    header: str
    values: object  # one value per line (a Series): texts, or numbers when ``kind`` is "number"
    look: Look
    width: float
    kind: str = "text"


def wide_frame(ctx, rows: int | None = None) -> pd.DataFrame:
    """One row per line: line attributes, per-axis class/rule/rationale, weights, tCO2e, answers given.

    ``rows``: only the first ``rows`` lines (what a capped sheet shows): every column is then built from those
    lines and their register rows alone, so the frame costs what it shows, not the whole run."""
    prep = ctx.prep
    lines = prep.lines
    part = rows is not None and rows < len(lines)
    if part:
        lines = lines.iloc[:rows]
    base = lines[[c for c in ["line_id", "exercice", "section", "sens", "operation", "chapitre", "nature", "fonction", "label", "amount_cents"] if c in lines.columns]].copy()
    reg = prep.register
    if part:  # the register rows of the lines shown (one Arrow hash lookup)
        reg = reg[isin_mask(reg["line_id"], base["line_id"])]
        summary = line_class_summary(reg)
    else:
        summary = cached_line_class_summary(prep)
    reasons = summary[summary["is_out"]].groupby("line_id")["scope_reason"].first()
    base["scope_reason"] = base["line_id"].map(reasons)
    trail = build(ctx)
    overridden = reg[reg["decided_by"] == "override"] if "decided_by" in reg.columns else reg.iloc[:0]
    for axis in prep.axes:
        s = summary[summary["axis"] == axis].set_index("line_id")
        base[f"class:{axis}"] = base["line_id"].map(s["class_text"])
        base[f"rule:{axis}"] = base["line_id"].map(s["rule_id"])
        base[f"rationale:{axis}"] = base["line_id"].map(s["rationale"])
        # An overridden line shows who overrode it, when and why, not the rule it overrode.
        ids = overridden.loc[overridden["axis"] == axis, "line_id"].astype("string").unique()
        if len(ids):
            hit = base["line_id"].astype("string").isin(ids).to_numpy(dtype=bool)
            base.loc[hit, f"rule:{axis}"] = ctx.t("trail-override-rule")
            texts = {i: trail.override.get((i, axis)) or ctx.t("trail-override", who="", when="", why="") for i in ids}
            base.loc[hit, f"rationale:{axis}"] = base.loc[hit, "line_id"].astype("string").map(texts).to_numpy()
    base["trail"] = base["line_id"].astype("string").map(trail.text)
    for key in EDITABLE:
        base[f"edit:{key}"] = base["line_id"].astype("string").map({i: cells.get(key) for i, cells in trail.editable.items()})
    weights = line_weights(ctx, base["line_id"])
    if weights is not None:
        for objective, series in weights.items():
            base[f"weight:{objective}"] = series.to_numpy()
    tonnes = line_tonnes(ctx, base["line_id"])
    if tonnes is not None:
        base["tco2e"] = tonnes.to_numpy()
    return base


def write(ctx) -> None:
    ws = ctx.sheet("sheet-lignes")
    total = len(ctx.prep.lines)
    cap = max(1, min(ctx.max_sheet_rows, 1_048_576 - HEADER_ROW))
    note = None
    if total > cap:  # the first lines only; the sheet says how many are not shown and where they all are
        # (the whole frame only when it is written beside the workbook: no --lines-out register to name)
        whole = wide_frame(ctx) if ctx.register is None and not ctx.register_written else None
        note = ctx.t("lignes-capped", n=total, shown=cap, hidden=total - cap, path=ctx.register_name(whole))
        frame = wide_frame(ctx, rows=cap) if whole is None else whole.iloc[:cap]
    else:
        frame = wide_frame(ctx)
    n = len(frame)

    columns = _columns(ctx, frame)
    g = Grid(widths={i: c.width for i, c in enumerate(columns, 1)})
    g.add(Cell(ctx.t("lignes-title"), TITLE))
    g.add(Cell(ctx.t("lignes-note"), NOTE))
    if note is None:
        g.blank()
    else:
        g.add(Cell(note, WARN))
    g.add(*[Cell(c.header, EDIT_HEAD if c.key in EDITABLE else HEAD) for c in columns])
    if n == 0:
        g.add(*[Cell("", c.look) for c in columns])
    else:  # one row per line, written column by column (grid.Block); the rows keep the default height
        g.add_block(Block([(c.values, c.look, c.kind) for c in columns], fit_heights=False))
    ctx.flush(ws, g, landscape=True, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", freeze=f"B{HEADER_ROW + 1}")
    ctx.layout["lignes"] = (ws.title, HEADER_ROW, {c.key: c.header for c in columns})

    last_row = HEADER_ROW + max(n, 1)
    add_table(ws, TABLE_NAME, HEADER_ROW, [c.header for c in columns], last_row)
    keys = [c.key for c in columns]
    _validation(ctx, ws, keys, "override_axis", "axes", last_row)
    _validation(ctx, ws, keys, "override_class", "classes", last_row, prompt=ctx.t("dv-class-prompt"), title=ctx.t("dv-class-title"))


def _validation(ctx, ws, keys, key, list_name, last_row, prompt=None, title=None) -> None:
    if list_name not in ctx.lists:
        return
    col = get_column_letter(keys.index(key) + 1)
    dv = DataValidation(type="list", formula1=ctx.lists[list_name], allow_blank=True, showErrorMessage=False)
    if prompt:
        dv.promptTitle, dv.prompt, dv.showInputMessage = title, prompt, True
    dv.add(f"{col}{HEADER_ROW + 1}:{col}{last_row}")
    ws.data_validations.append(dv)


def _text(series: pd.Series) -> pd.Series:
    """Texts of a column (missing values stay missing; :class:`~..grid.Block` cleans them as cells)."""
    return series.astype(object).reset_index(drop=True)


def _number(series: pd.Series) -> pd.Series:
    return series.astype("Float64").astype(object).reset_index(drop=True)


def _columns(ctx, frame: pd.DataFrame) -> list[Column]:
    t = ctx.t
    amount = pd.array(frame["amount_cents"], dtype="Int64").astype("Float64") / 100  # exact: |cents| < 2**53
    cols = [
        Column("line_id", t("col-line-id"), _text(frame["line_id"]), _PLAIN, 22),
        Column("exercice", t("col-exercice"), _number(frame["exercice"]), _PLAIN, 8, "number"),
        Column("section", t("col-section"), _text(frame["section"]), _PLAIN, 8),
        Column("sens", t("col-sens"), _text(frame["sens"]), _PLAIN, 6),
        Column("operation", t("col-operation"), _text(frame["operation"].map({c: t(f"value-operation-{c}") for c in ("reel", "ordre")}).fillna(frame["operation"])), _PLAIN, 9),
        Column("chapitre", t("col-chapitre"), _text(frame["chapitre"]), _PLAIN, 9),
        Column("nature", t("col-nature"), _text(frame["nature"]), _PLAIN, 9),
        Column("fonction", t("col-fonction"), _text(frame["fonction"]), _PLAIN, 9),
        Column("label", t("col-label"), _text(frame["label"]), _PLAIN, 40),
        Column("amount", t("col-amount-eur"), pd.Series(amount, dtype=object), _MONEY, 15, "number"),
        Column("scope_reason", t("col-scope-reason"), _text(frame["scope_reason"]), _PLAIN, 22),
    ]
    for axis in ctx.prep.axes:
        name = ctx.axis(axis)
        cols.append(Column(f"class:{axis}", t("col-class-axis", axis=name), _text(frame[f"class:{axis}"]), _PLAIN, 14))
        cols.append(Column(f"rule:{axis}", t("col-rule-axis", axis=name), _text(frame[f"rule:{axis}"]), _PLAIN, 18))
        cols.append(Column(f"rationale:{axis}", t("col-rationale-axis", axis=name), _text(frame[f"rationale:{axis}"]), _PLAIN, 40))
    for col in frame.columns:
        if col.startswith("weight:"):
            objective = col.split(":", 1)[1]
            cols.append(Column(col, t("col-weight-objective", objective=objective), _number(frame[col]), _WEIGHT, 10, "number"))
    if "tco2e" in frame.columns:
        cols.append(Column("tco2e", t("col-tco2e"), _number(frame["tco2e"]), _TONNES, 10, "number"))
    if "trail" in frame.columns:  # read-only: what the previous round trips applied to the line
        cols.append(Column("trail", t("col-trail"), _text(frame["trail"]), _WRAP, 40))
    empty = pd.Series([None] * len(frame), dtype=object)
    for key, label, width in [("fact", "col-fact", 14), ("value", "col-value", 14), ("override_axis", "col-override-axis", 14),
                              ("override_class", "col-override-class", 16), ("comment", "col-comment", 30), ("author", "col-author", 14)]:
        values = _text(frame[f"edit:{key}"].astype("string").replace("", pd.NA)) if f"edit:{key}" in frame.columns else empty
        cols.append(Column(key, t(label), values, EDIT, width))
    return cols


def write_beside(ctx, frame: pd.DataFrame) -> None:
    """The whole register (the columns of « Lignes ») as a CSV beside the workbook, for a capped sheet to name."""
    path = ctx.register_elsewhere
    with atomic_output(path, ctx.inputs) as tmp:
        out = frame.copy()
        for col in out.columns:
            if out[col].dtype == object or str(out[col].dtype).startswith("string") or str(out[col].dtype) == "str":
                out[col] = formula_safe(out[col])  # text from input data stays text in a spreadsheet
        to_csv(out, tmp, ctx.lang)  # BOM, and « ; » with a decimal comma in French: Excel opens it in columns
