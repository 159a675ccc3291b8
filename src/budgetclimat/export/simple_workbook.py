"""A simple classify workbook (Synthèse: totals by axis × class; Lignes: the register).

Placeholder for the council annex workbook (``export/workbook``), which replaces it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from budgetclimat import i18n
from budgetclimat.outputs import atomic_output
from budgetclimat.rulebook.model import CLASSES

for _key, _fr, _en in [
    ("summary", "Synthèse", "Summary"),
    ("lines", "Lignes", "Lines"),
    ("axis", "Axe", "Axis"),
    ("in-scope", "Dans le périmètre", "In scope"),
    ("out-of-scope", "Hors périmètre", "Out of scope"),
    ("total", "Total", "Total"),
]:
    i18n.define(f"workbook.simple.{_key}", fr=_fr, en=_en)

_EUROS = '#,##0.00 "€"'


def write_simple_workbook(result, path: str | Path, inputs: Iterable[Path] = ()) -> Path:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from budgetclimat.export.register import line_register

    path = Path(path)
    wb = Workbook(write_only=True)
    bold = Font(bold=True)

    def cell(ws, value, number=False, header=False):
        c = WriteOnlyCell(ws, value=None if value is None else value)
        if isinstance(value, str):
            c.data_type = "s"  # data, never a formula, whatever the first character
        if number:
            c.number_format = _EUROS
        if header:
            c.font = bold
        return c

    ws = wb.create_sheet(i18n.t("workbook.simple.summary"))
    reg = result.register
    header = [i18n.t("workbook.simple.axis")] + [f"{c} — {i18n.t(f'class.{c}')}" for c in CLASSES]
    header += [i18n.t("workbook.simple.in-scope"), i18n.t("workbook.simple.out-of-scope"), i18n.t("workbook.simple.total")]
    ws.append([cell(ws, h, header=True) for h in header])
    for axis, rows in reg.groupby("axis", sort=False):
        in_rows = rows[rows["scope"] == "in"]
        by_class = in_rows.groupby("class")["amount_share_cents"].sum()
        values = [int(by_class.get(c, 0)) for c in CLASSES]
        in_cents = int(in_rows["amount_share_cents"].sum())
        out_cents = int(rows.loc[rows["scope"] == "out", "amount_share_cents"].sum())
        row = [cell(ws, i18n.t(f"axis.{axis}"))] + [cell(ws, v / 100, number=True) for v in values]
        row += [cell(ws, in_cents / 100, number=True), cell(ws, out_cents / 100, number=True), cell(ws, (in_cents + out_cents) / 100, number=True)]
        ws.append(row)

    ws = wb.create_sheet(i18n.t("workbook.simple.lines"))
    frame = line_register(result)
    frame = frame.drop(columns=["amount", "amount_share"]).rename(columns={"amount_cents": "amount", "amount_share_cents": "amount_share"})
    columns = list(frame.columns)
    ws.append([cell(ws, c, header=True) for c in columns])
    money = {"amount", "amount_share"}
    for record in frame.itertuples(index=False, name=None):  # writing cells is per row by nature
        ws.append(
            [
                cell(ws, None if _na(v) else (v / 100 if col in money else (v.item() if hasattr(v, "item") else v)), number=col in money)
                for col, v in zip(columns, record)
            ]
        )
    with atomic_output(path, inputs) as tmp:
        wb.save(tmp)
    return path


def _na(value) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, str) and pd.isna(value))
