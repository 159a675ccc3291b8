"""À approfondir: the worklist for services — one row per question × key (``engine.worklist``), the
euros its answer settles, the service it goes to, and a drop-down of answers.

The first lines say how many of the first questions cover 80 % of the euros to investigate. Hidden
columns carry the key, the question id and the fact, so that an answer typed here is read back as a
keyed answer ``{key, fact, value}`` (``roundtrip.read_workbook_answers``) that applies to every line
with that key — this year and next year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from budgetclimat.engine.worklist import build_worklist, sentence
from budgetclimat.money import format_euros
from budgetclimat.rulebook.model import RuleSet
from budgetclimat.views.base import isin_mask

from ..grid import EDIT, EDIT_HEAD, HEAD, TITLE, Block, Cell, Grid, Look, add_table
from ..questions import answer_choices, parse_allowed, question_type

HEADER_ROW = 4
TABLE_NAME = "AApprofondir"
HIDDEN = ("key", "question_id", "fact")
_MONEY = Look(number_format="eur", border=True)
_TEXT = Look(border=True, wrap=True)
_CODE = Look(border=True)
_INT = Look(number_format="#,##0", border=True)


def worklist(ctx, result=None) -> pd.DataFrame:
    """The run's worklist (``result.worklist``, else built here with the shipped services), with what
    the sheet shows: the readable key, example labels, question text, allowed answers."""
    prep = ctx.prep
    ruleset = prep.ruleset if isinstance(prep.ruleset, RuleSet) else RuleSet()
    work = getattr(result, "worklist", None) if result is not None else None
    if work is None:
        work = build_worklist(prep.lines, prep.register, ruleset, lang=ctx.lang)
    work = work.copy()
    if hasattr(result, "services") and getattr(result, "services", None) is not None and len(work):
        work["service"] = work["service_id"].map(lambda s: result.services.label(str(s), ctx.lang))
    reg = prep.register
    texts = reg[reg["question_id"].notna()].drop_duplicates("question_id").set_index("question_id") if "question_id" in reg.columns else pd.DataFrame()
    qtext = texts["question"].astype("string").to_dict() if "question" in texts.columns else {}
    qallowed = texts["allowed_answers"].to_dict() if "allowed_answers" in texts.columns else {}
    # Per distinct question (a few dozen), then read back on every row through the question's code.
    codes, questions = pd.factorize(work["question_id"].astype(object), use_na_sentinel=False)
    qtypes = [question_type(ruleset, q) for q in questions]

    def per_row(values: list) -> list:
        return [values[c] for c in codes]

    work["question"] = per_row([_s(qtext.get(q)) or str(q) for q in questions])
    work["qtype"] = per_row(qtypes)
    # A share question has a number for answer (decimal validation), a text question free text: no list.
    allowed_lists = [parse_allowed(qallowed.get(q)) if t not in ("share", "text", "number") else [] for q, t in zip(questions, qtypes)]
    # The drop-down shows labels (« électrique »); the round trip reads them back as codes (``electrique``).
    choices: dict[tuple, list[str]] = {}  # per distinct list of codes (a question's rows share it)

    def labels_of(codes) -> list[str]:
        key = tuple(codes)
        if key not in choices:
            choices[key] = [label for _, label in answer_choices(codes, ctx.lang)]
        return choices[key]

    work["allowed_list"] = per_row([labels_of(allowed) if allowed else [] for allowed in allowed_lists])
    # The readable key and the example labels of the rows the sheet shows (the first ``max_sheet_rows``, ranked by
    # euros), read from their first 50 lines: what the sheet shows, not every line of every question.
    shown = work.iloc[: ctx.max_sheet_rows]
    ids = shown["line_ids"].astype(object).map(lambda v: str(v).split(";", 50)[:50])  # per shown row
    wanted = pd.Series([i for row in ids for i in row], dtype="string").drop_duplicates()
    lines = prep.lines[isin_mask(prep.lines["line_id"], wanted)] if len(wanted) else prep.lines.iloc[:0]
    lines = lines.set_index(lines["line_id"].astype("string"))
    lines = lines[~lines.index.duplicated(keep="first")]  # a line id names one line (the first, as .loc[…].iloc[0])
    first = pd.Series([row[0] for row in ids], index=shown.index, dtype="string")
    attrs = {c: _attr_texts(lines, c, first) for c in ("nature", "fonction", "account_label", "fonction_label", "ap_label", "label")}
    key_text = pd.Series("", index=work.index, dtype=object)
    key_text.iloc[: len(shown)] = [_key_text(ctx, key, {c: attrs[c][i] for c in attrs}) for i, key in enumerate(shown["key"])]
    work["key_text"] = key_text
    # Example labels when the key is wider than a line (a line key already shows its label).
    wide = ~shown["key"].astype(str).str.startswith("line:").to_numpy(dtype=bool)
    examples = pd.Series("", index=work.index, dtype=object)
    if wide.any():
        examples.iloc[np.flatnonzero(wide)] = _examples_of(lines, ids[wide]).to_numpy(dtype=object)
    work["examples"] = examples
    return work


def _attr_texts(lines: pd.DataFrame, column: str, ids: pd.Series) -> list[str]:
    """``column`` of the line of each id as text ("" when the line, the column or the value is missing)."""
    if column not in lines.columns:
        return [""] * len(ids)
    values = lines[column].reindex(ids.astype("string").to_numpy()).astype(object)
    return ["" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v) for v in values.tolist()]


def _key_text(ctx, key: str, line: dict) -> str:
    """The key as a reader says it, from the attributes (texts) of its first line."""
    kind, _, value = str(key).partition(":")
    nature, fonction = line["nature"], line["fonction"]

    def suffix(text: str) -> str:
        return f" — {text}" if text else ""

    if kind == "entity":
        return ctx.t("wl-key-entity")
    if kind == "account":
        return ctx.t("wl-key-account", nature=value, label=suffix(line["account_label"]))
    if kind == "account_fonction":
        n, _, f = value.partition("|")
        parts = [ctx.t("wl-key-account", nature=n, label=suffix(line["account_label"]))]
        if f:
            parts.append(ctx.t("wl-key-fonction", fonction=f, label=suffix(line["fonction_label"])))
        return " ; ".join(parts)
    if kind == "operation":
        return ctx.t("wl-key-operation", code=value, label=suffix(line["ap_label"]))
    return ctx.t("wl-key-line", label=line["label"], nature=nature, fonction=fonction or "–")


def _examples_of(lines: pd.DataFrame, line_ids: pd.Series, n: int = 3) -> pd.Series:
    """Per row (``line_ids``: the list of its first line ids): the distinct labels of its first 50 lines (« a ; b ; c ; … »
    beyond ``n``), "" without any. Read from the first ``n + 1`` lines of each row first: a row whose ``n + 1``
    first lines already have ``n + 1`` distinct labels (most) says the same as from its 50; only the others read on."""
    out = pd.Series("", index=line_ids.index, dtype=object)
    if "label" not in lines.columns or not len(line_ids):
        return out
    labels_of = lines["label"].astype(object)

    def distinct_labels(rows: pd.Series) -> pd.DataFrame:
        ids = rows.explode()
        ids = ids[ids.isin(lines.index)]
        ids = ids[(ids.groupby(level=0).cumcount() < 50).to_numpy()]
        labels = ids.map(labels_of).dropna().map(str)
        return pd.DataFrame({"row": labels.index, "label": labels.to_numpy(dtype=object)}).drop_duplicates()

    head = distinct_labels(line_ids.map(lambda ids: ids[: n + 1]))
    enough = head.groupby("row", sort=False).size().reindex(line_ids.index, fill_value=0) > n
    longer = line_ids.map(len) > n + 1
    again = (~enough & longer).to_numpy(dtype=bool)
    frame = head
    if again.any():  # the rows that need more of their lines to know their distinct labels
        frame = pd.concat([head[~head["row"].isin(line_ids.index[again])], distinct_labels(line_ids[again])])  # (per row: the order of rows is free)
    if not len(frame):
        return out
    rank = frame.groupby("row", sort=False).cumcount()
    shown = frame[(rank < n).to_numpy()].groupby("row", sort=False)["label"].agg(" ; ".join)
    more = frame.groupby("row", sort=False).size() > n
    text = shown + pd.Series(" ; …", index=more.index).where(more, "")
    out[text.index] = text.to_numpy(dtype=object)
    return out


def register_lists(ctx, work: pd.DataFrame) -> None:
    """Declare one drop-down list per question with a closed list of answers."""
    for qid, allowed in zip(work["question_id"], work["allowed_list"]):
        if allowed and f"q:{qid}" not in ctx.list_values:
            ctx.list_values[f"q:{qid}"] = allowed


def write(ctx, work: pd.DataFrame) -> None:
    ws = ctx.sheet("sheet-approfondir")
    t = ctx.t
    headers = [
        ("rank", t("wl-col-rank"), 6), ("service", t("wl-col-service"), 20), ("question", t("col-question"), 44),
        ("key_text", t("wl-col-key-text"), 34), ("examples", t("wl-col-examples"), 30), ("axes", t("wl-col-axes"), 14),
        ("lines", t("wl-col-lines"), 8), ("amount", t("wl-col-at-stake"), 16), ("allowed", t("col-allowed"), 26),
        ("answer", t("col-answer"), 18), ("comment", t("col-comment"), 26), ("author", t("col-author"), 14),
        ("key", t("wl-col-key"), 24), ("question_id", t("wl-col-question-id"), 18), ("fact", t("col-fact"), 14),
    ]
    editable = {"answer", "comment", "author"}
    g = Grid(widths={i: w for i, (_, _, w) in enumerate(headers, 1)})
    total = int(work["amount_cents"].sum()) if len(work) else 0
    g.add(Cell(t("approfondir-title-questions", n=len(work), amount=format_euros(total, ctx.lang)), TITLE))
    ruleset = ctx.prep.ruleset if isinstance(ctx.prep.ruleset, RuleSet) else RuleSet()
    g.paragraph(sentence(work, ruleset, ctx.lang), 12, Look(bold=True, size=11, colour="1F3B57", wrap=True))
    note = t("approfondir-note-keys")
    if len(work) > ctx.max_sheet_rows:  # ranked by euros: the first rows are the ones that matter most
        note += " " + t("approfondir-capped", n=len(work), shown=ctx.max_sheet_rows, hidden=len(work) - ctx.max_sheet_rows, path=ctx.register_name())
        work = work.iloc[: ctx.max_sheet_rows]
    g.paragraph(note, 12)
    g.add(*[Cell(h, EDIT_HEAD if k in editable else HEAD) for k, h, _ in headers])
    if len(work):  # one row per question × key, written column by column (grid.Block)
        share = t("share-answer")
        allowed = [" ; ".join(a) if a else (share if q == "share" else "") for a, q in zip(work["allowed_list"], work["qtype"])]  # labels may hold commas
        axes = [str(v) for v in work["axes"].tolist()]
        axes_text = {v: ", ".join(ctx.axis(a) for a in v.split(",") if a) for v in set(axes)}
        none = [None] * len(work)
        g.add_block(Block([
            (work["rank"].astype("int64").tolist(), _CODE, "number"), (_texts(work["service"]), _TEXT, "text"),
            (_texts(work["question"]), _TEXT, "text"), (_texts(work["key_text"]), _TEXT, "text"), (_texts(work["examples"]), _TEXT, "text"),
            ([axes_text[v] for v in axes], _CODE, "text"), (work["lines"].astype("int64").tolist(), _INT, "number"),
            ((pd.array(work["amount_cents"], dtype="Int64").astype("Float64") / 100).astype(object), _MONEY, "number"),
            (allowed, _TEXT, "text"), (none, EDIT, "text"), (none, EDIT, "text"), (none, EDIT, "text"),
            (list(map(str, work["key"].tolist())), _CODE, "text"), (list(map(str, work["question_id"].tolist())), _CODE, "text"),
            (_texts(work["fact"]) if "fact" in work.columns else [""] * len(work), _CODE, "text"),
        ]))
    if work.empty:
        g.add(*[Cell("", EDIT if k in editable else _CODE) for k, _, _ in headers])
    keys = [k for k, _, _ in headers]
    for k in HIDDEN:  # write-only sheets: column settings before the first row
        ws.column_dimensions[get_column_letter(keys.index(k) + 1)].hidden = True
    ctx.flush(ws, g, landscape=True, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", freeze=f"D{HEADER_ROW + 1}")
    ctx.layout["approfondir"] = (ws.title, HEADER_ROW, {k: h for k, h, _ in headers})
    last_row = HEADER_ROW + max(len(work), 1)
    add_table(ws, TABLE_NAME, HEADER_ROW, [h for _, h, _ in headers], last_row)

    answer_col = get_column_letter(keys.index("answer") + 1)
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
        dv = share_validation(ctx, answer_col, shares[0])
        dv.sqref = _sqref(answer_col, shares)
        ws.data_validations.append(dv)


def share_validation(ctx, col: str, first_row: int) -> DataValidation:
    """A share typed as « 0,4 », « 0.4 », « 40 % », « 40% » or « 40 »: a number from 0 to 100 (a cell
    holding 0.4 with a percent format included), or a text that reads as one once « % » and spaces are
    removed and the decimal point is the spreadsheet's own (``MID(1/2,2,1)`` is « , » or « . »).
    The engine reads the cell with the same rules (``engine.answers.share_decimal``) and names the cell
    when it cannot; the validation only helps the person typing."""
    cell = f"{col}{first_row}"
    sep = "MID(1/2,2,1)"
    cleaned = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({cell},"%","")," ",""),CHAR(160),""),",","."),".",{sep})'
    # (a text out of range passes here: Excel caps a validation formula at 255 characters; the engine stops on it)
    formula = f"IF(ISNUMBER({cell}),AND({cell}>=0,{cell}<=100),ISNUMBER(--{cleaned}))"
    return DataValidation(type="custom", formula1=formula, allow_blank=True, showErrorMessage=True, errorStyle="stop",
                          errorTitle=ctx.t("dv-share-error-title"), error=ctx.t("dv-share-error"),
                          promptTitle=ctx.t("dv-share-title"), prompt=ctx.t("dv-share-input"), showInputMessage=True)


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


def _texts(values: pd.Series) -> list[str]:
    return [_s(v) for v in values.tolist()]


def _s(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)
