"""Contrôles: findings, reconciliation of totals, lines in/out, and what changed since the previous run."""

from __future__ import annotations

import pandas as pd

from budgetclimat import i18n
from budgetclimat.errors import render_finding
from budgetclimat.money import format_euros

from ..grid import H2, HEAD, MONEY_ZERO, NOTE, NUMBER, TEXT, TEXT_WRAP, TITLE, Cell, Grid
from ..labels import known
from ..trail import build
from .common import money_row

_VALUES = {"level": "level", "operation": "operation", "kind": "kind", "section": "section", "sens": "sens", "expense_section": "section", "revenue_section": "section"}


def _value(ctx, column: str, value) -> str:
    """A code of column ``column`` (``reel``, ``interieur``, ``F``…) as a reader says it; other values unchanged."""
    text = _s(value)
    key = f"value-{_VALUES.get(column, column)}-{text}"
    return ctx.t(key) if column in _VALUES and known(key) else text


def write(ctx) -> None:
    ws = ctx.sheet("sheet-controles")
    g = Grid(widths={1: 30, 2: 22, 3: 14, 4: 14, 5: 18, 6: 18, 7: 18, 8: 60})
    g.add(Cell(ctx.t("controles-title"), TITLE))
    g.blank()
    _changes(ctx, g)
    _reconciliation(ctx, g)
    _lines(ctx, g)
    _findings(ctx, g)
    ctx.flush(ws, g, landscape=True)


def _changes(ctx, g: Grid) -> None:
    changes = ctx.changes
    if changes is None:
        g.add(Cell(ctx.t("controles-changes", n=0), H2))
        g.add(Cell(ctx.t("controles-no-previous"), NOTE))
        g.blank()
        return
    kind = changes["kind"] if "kind" in changes.columns else pd.Series("change", index=changes.index)
    real, staff = changes[(kind != "staff").to_numpy()], changes[(kind == "staff").to_numpy()]
    g.add(Cell(ctx.t("controles-changes", n=len(real)), H2))
    if changes.empty:
        g.add(Cell(ctx.t("controles-no-changes"), NOTE))
    if len(real):
        # Real changes of class first (largest amounts first), each with why and who.
        g.add(Cell(ctx.t("col-line-id"), HEAD), Cell(ctx.t("col-axis"), HEAD), Cell(ctx.t("col-old-class"), HEAD), Cell(ctx.t("col-new-class"), HEAD),
              Cell(ctx.t("col-amount"), HEAD), Cell(ctx.t("col-label"), HEAD), Cell(ctx.t("changes-col-why"), HEAD), Cell(ctx.t("col-author"), HEAD))
        why = _why(ctx, real)
        for row, reason in zip(real.itertuples(index=False), why):
            g.add(Cell(str(row.line_id), TEXT), Cell(ctx.axis(str(row.axis)), TEXT), Cell(_s(row.old_class), TEXT), Cell(_s(row.new_class), TEXT),
                  *money_row([None if pd.isna(row.amount_cents) else row.amount_cents]), Cell(_s(row.label), TEXT_WRAP), Cell(reason, TEXT_WRAP),
                  Cell(_s(getattr(row, "author", None)), TEXT))
    if len(staff):
        # Staff-cost lines whose pro-rata shares only moved because other lines changed: one row, summed.
        lines = staff.drop_duplicates("line_id")
        total = int(lines["amount_cents"].fillna(0).sum())
        g.add(Cell(ctx.t("changes-staff", n=len(lines), amount=format_euros(total, ctx.lang)), TEXT))
    g.blank()


def _why(ctx, changes: pd.DataFrame) -> list[str]:
    """Why a line changed class: the rule, the answer (question → answer), the override (« surcharge de X
    le JJ/MM : … »), or a line new or gone."""
    trail = build(ctx)
    out = []
    for row in changes.itertuples(index=False):  # the real changes: a handful
        by, line_id = _s(row.decided_by), str(row.line_id)
        if not _s(row.old_class):
            out.append(ctx.t("changes-why-new"))
        elif not _s(row.new_class):
            out.append(ctx.t("changes-why-gone"))
        elif by == "override":
            out.append(trail.override.get((line_id, str(row.axis))) or ctx.t("trail-override", who="", when="", why=""))
        elif by == "answer":
            out.append(ctx.t("changes-why-answer", detail=(trail.text.get(line_id) or "").replace("\n", " ; ")))
        elif by == "default" or _s(row.rule_id) == "DEFAULT":
            out.append(ctx.t("changes-why-default"))
        elif by == "staff":
            out.append(ctx.t("changes-why-staff"))
        else:
            out.append(ctx.t("changes-why-rule", rule=_s(row.rule_id)))
    return out


_HEADERS = {"file": "col-file", "section": "col-section", "sens": "col-sens", "operation": "col-operation", "basis": "opt-basis",
            "lines_in": "rec-lines-in", "lines_out": "rec-lines-out", "raw_cents": "rec-raw", "lines_cents": "rec-lines",
            "difference_cents": "rec-difference", "pair": "col-what", "expense_cents": "rec-expense", "revenue_cents": "rec-revenue",
            "kind": "col-category", "expense_section": "col-section-expense", "revenue_section": "col-section-revenue"}


def _reconciliation_frames(rec) -> list[pd.DataFrame]:
    """The pipeline gives one Reconciliation per document (``totals`` and ``ordre`` frames); a frame is taken as is."""
    if isinstance(rec, pd.DataFrame):
        return [rec] if len(rec) else []
    totals, ordre = [], []
    for r in rec or []:
        if getattr(r, "totals", None) is not None and len(r.totals):
            totals.append(r.totals.assign(file=getattr(r, "file", ""))[["file", *r.totals.columns]])
        if getattr(r, "ordre", None) is not None and len(r.ordre):
            ordre.append(r.ordre.assign(file=getattr(r, "file", ""))[["file", *r.ordre.columns]])
    return [pd.concat(f, ignore_index=True) for f in (totals, ordre) if f]


def _reconciliation(ctx, g: Grid) -> None:
    frames = _reconciliation_frames(ctx.prep.reconciliation)
    g.add(Cell(ctx.t("controles-reconciliation"), H2))
    if not frames:
        g.add(Cell("—", NOTE))
        g.blank()
        return
    for rec in frames:
        _frame(ctx, g, rec)


def _frame(ctx, g: Grid, rec: pd.DataFrame) -> None:
    g.add(*[Cell(ctx.t(_HEADERS[c]) if c in _HEADERS else str(c).removesuffix("_cents"), HEAD) for c in rec.columns])
    for row in rec.itertuples(index=False):
        cells = []
        for col, value in zip(rec.columns, row):
            if str(col).endswith("_cents"):
                cells.append(Cell(None if pd.isna(value) else int(value) / 100, MONEY_ZERO))
            elif col == "pair":
                cells.append(Cell(i18n.t(str(value), ctx.lang), TEXT))
            elif isinstance(value, (bool,)):
                cells.append(Cell(str(value), TEXT))
            elif isinstance(value, (int, float)) and not pd.isna(value):
                cells.append(Cell(value, NUMBER))
            else:
                cells.append(Cell(_value(ctx, col, value), TEXT))
        g.add(*cells)
    g.blank()


def _lines(ctx, g: Grid) -> None:
    prep = ctx.prep
    g.add(Cell(ctx.t("controles-lines"), H2))
    g.add(Cell(ctx.t("col-what"), HEAD), Cell(ctx.t("col-count"), HEAD), Cell(ctx.t("col-amount"), HEAD))
    lines = prep.main_lines()
    expense = lines[["amount_cents"]][lines["sens"] == "D"] if "sens" in lines.columns else lines
    g.add(Cell(ctx.t("lines-read"), TEXT), Cell(len(lines), NUMBER), *money_row([None]))
    g.add(Cell(ctx.t("lines-expense"), TEXT), Cell(len(expense), NUMBER), *money_row([int(expense["amount_cents"].sum()) if len(expense) else 0]))
    for axis in prep.axes:
        reg = prep.main_register(axis, ["line_id", "key", "amount_share_cents"])
        out = reg[reg["key"] == "out"]
        ins = reg[reg["key"] != "out"]
        aa = reg[reg["key"] == "AA"]
        for key, sub in [("lines-in-scope", ins), ("lines-out-scope", out), ("lines-aa", aa)]:
            g.add(Cell(ctx.t(key, axis=ctx.axis(axis)), TEXT), Cell(sub["line_id"].nunique(), NUMBER), *money_row([int(sub["amount_share_cents"].sum())]))
    g.blank()


def _findings(ctx, g: Grid) -> None:
    findings = ctx.prep.findings
    n = 0 if findings is None else len(findings)
    g.add(Cell(ctx.t("controles-findings", n=n), H2))
    if not n:
        g.add(Cell(ctx.t("controles-no-findings"), NOTE))
        return
    if n > ctx.max_sheet_rows:  # one row per finding: a finding on every line would be a sheet of lines
        g.add(Cell(ctx.t("controles-findings-capped", n=n, shown=ctx.max_sheet_rows, hidden=n - ctx.max_sheet_rows), NOTE))
        findings = findings.iloc[: ctx.max_sheet_rows]
    g.add(Cell(ctx.t("col-level"), HEAD), Cell(ctx.t("col-code"), HEAD), Cell(ctx.t("col-file"), HEAD), Cell(ctx.t("col-row"), HEAD),
          Cell(ctx.t("col-column"), HEAD), Cell(ctx.t("col-value"), HEAD), Cell("", HEAD), Cell(ctx.t("col-message"), HEAD))
    for row in findings.to_dict("records"):
        g.add(Cell(_value(ctx, "level", row.get("level")), TEXT), Cell(_s(row.get("code")), TEXT), Cell(_s(row.get("file")), TEXT),
              Cell(None if pd.isna(row.get("row")) else int(row["row"]), NUMBER), Cell(_column(ctx, row.get("column")), TEXT), Cell(_s(row.get("value")), TEXT),
              Cell("", TEXT), Cell(render_finding(row, ctx.lang), TEXT_WRAP))


# Internal column names a finding may carry -> the header the reader knows (the file's own column names pass through).
_COLUMNS = {"amount_cents": "col-amount", "exercice": "col-exercice", "section": "col-section", "sens": "col-sens", "operation": "col-operation",
            "chapitre": "col-chapitre", "nature": "col-nature", "fonction": "col-fonction", "label": "col-label"}


def _column(ctx, value) -> str:
    text = _s(value)
    return ctx.t(_COLUMNS[text]) if text in _COLUMNS else text


def _s(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)
