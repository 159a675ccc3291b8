"""À approfondir: the worklist for services — each AA line with its question and a drop-down of answers."""

from __future__ import annotations

import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..grid import add_table, EDIT, EDIT_HEAD, HEAD, NOTE, TITLE, C, Grid, Look
from ..questions import parse_allowed, question_fact, question_type
from budgetclimat.money import format_euros

HEADER_ROW = 4
TABLE_NAME = "AApprofondir"
_MONEY = Look(number_format="eur", border=True)
_TEXT = Look(border=True, wrap=True)
_CODE = Look(border=True)


def worklist(ctx) -> pd.DataFrame:
    """One row per line × axis × question with an AA piece, largest amount first (staff lines allocated
    pro rata are left out: they follow the others)."""
    reg = ctx.prep.main_register()
    reg = reg[reg["key"] == "AA"]
    if "allocation" in reg.columns:
        # Staff costs allocated pro rata (3a/3b) inherit an AA share but have no question of their own.
        reg = reg[reg["allocation"].astype("string").fillna("") == ""]
    reg = reg.copy()
    for col in ["question_id", "question", "allowed_answers"]:
        if col not in reg.columns:
            reg[col] = pd.NA
    reg["question_id"] = reg["question_id"].astype("string").fillna("")
    grouped = reg.groupby(["line_id", "axis", "question_id"], sort=False).agg(
        amount_cents=("amount_share_cents", "sum"),
        question=("question", "first"),
        allowed=("allowed_answers", "first"),
        fonction=("fonction", "first"),
        fonction_label=("fonction_label", "first"),
        chapitre=("chapitre", "first"),
        nature=("nature", "first"),
        label=("label", "first"),
    ).reset_index()
    grouped["fact"] = [question_fact(ctx.prep.ruleset, q) if q else "" for q in grouped["question_id"]]
    grouped["allowed_list"] = [parse_allowed(v) for v in grouped["allowed"]]
    grouped["qtype"] = [question_type(ctx.prep.ruleset, q) if q else None for q in grouped["question_id"]]
    return grouped.sort_values(["amount_cents", "line_id", "axis"], ascending=[False, True, True], kind="stable").reset_index(drop=True)


def register_lists(ctx, work: pd.DataFrame) -> None:
    """Declare one drop-down list per question with a closed list of answers."""
    for qid, allowed in zip(work["question_id"], work["allowed_list"]):
        if allowed and f"q:{qid}" not in ctx.list_values:
            ctx.list_values[f"q:{qid}"] = allowed


def write(ctx, work: pd.DataFrame) -> None:
    ws = ctx.sheet("sheet-approfondir")
    t = ctx.t
    headers = [
        ("amount", t("col-amount-eur"), 15), ("line_id", t("col-line-id"), 22), ("axis", t("col-axis"), 13),
        ("fonction", t("col-fonction"), 9), ("fonction_label", t("col-fonction-label"), 24), ("chapitre", t("col-chapitre"), 9),
        ("nature", t("col-nature"), 9), ("label", t("col-label"), 34), ("question", t("col-question"), 40),
        ("allowed", t("col-allowed"), 26), ("fact", t("col-fact"), 14), ("answer", t("col-answer"), 18),
        ("comment", t("col-comment"), 26), ("author", t("col-author"), 14),
    ]
    editable = {"answer", "comment", "author"}
    g = Grid(widths={i: w for i, (_, _, w) in enumerate(headers, 1)})
    g.add(C(t("approfondir-title", n=len(work), amount=format_euros(int(work["amount_cents"].sum()) if len(work) else 0, ctx.lang)), TITLE))
    g.add(C(t("approfondir-note"), NOTE))
    g.blank()
    g.add(*[C(h, EDIT_HEAD if k in editable else HEAD) for k, h, _ in headers])
    for row in work.itertuples(index=False):
        allowed = ", ".join(row.allowed_list) if row.allowed_list else (t("share-answer") if row.qtype == "share" else "")
        g.add(
            C(int(row.amount_cents) / 100, _MONEY), C(str(row.line_id), _CODE), C(ctx.axis(str(row.axis)), _CODE),
            C(_s(row.fonction), _CODE), C(_s(row.fonction_label), _TEXT), C(_s(row.chapitre), _CODE), C(_s(row.nature), _CODE),
            C(_s(row.label), _TEXT), C(_s(row.question), _TEXT), C(allowed, _TEXT), C(_s(row.fact), _CODE),
            C(None, EDIT), C(None, EDIT), C(None, EDIT),
        )
    if work.empty:
        g.add(*[C("", EDIT if k in editable else _CODE) for k, _, _ in headers])
    ctx.flush(ws, g, landscape=True, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", freeze=f"C{HEADER_ROW + 1}")
    ctx.layout["approfondir"] = (ws.title, HEADER_ROW, {k: h for k, h, _ in headers})
    last_row = HEADER_ROW + max(len(work), 1)
    add_table(ws, TABLE_NAME, HEADER_ROW, [h for _, h, _ in headers], last_row)

    answer_col = get_column_letter([k for k, _, _ in headers].index("answer") + 1)
    by_list: dict[str, list[int]] = {}
    shares: list[int] = []
    for i, row in enumerate(work.itertuples(index=False)):
        if row.allowed_list:
            by_list.setdefault(f"q:{row.question_id}", []).append(HEADER_ROW + 1 + i)
        elif row.qtype == "share":
            shares.append(HEADER_ROW + 1 + i)
    for name, rows in by_list.items():
        dv = DataValidation(type="list", formula1=ctx.lists[name], allow_blank=True, showErrorMessage=True,
                            promptTitle=t("dv-answer-title"), prompt=t("dv-answer-prompt"), showInputMessage=True)
        dv.sqref = _sqref(answer_col, rows)
        ws.data_validations.append(dv)
    if shares:
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True,
                            promptTitle=t("dv-answer-title"), prompt=t("dv-share-prompt"), showInputMessage=True)
        dv.sqref = _sqref(answer_col, shares)
        ws.data_validations.append(dv)


def _sqref(col: str, rows: list[int]):
    from openpyxl.worksheet.cell_range import MultiCellRange

    ranges, start, prev = [], rows[0], rows[0]
    for r in rows[1:] + [None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        ranges.append(f"{col}{start}" if start == prev else f"{col}{start}:{col}{prev}")
        if r is not None:
            start = prev = r
    return MultiCellRange(" ".join(ranges))


def _s(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)
