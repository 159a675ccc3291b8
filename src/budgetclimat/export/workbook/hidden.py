"""Two hidden sheets: the drop-down lists, and what the round trip reads back (a machine-readable copy of
the classes of this run, the answers it applied, and where the editable columns are)."""

from __future__ import annotations

import pandas as pd
from openpyxl.utils import get_column_letter

from budgetclimat import __version__
from budgetclimat.engine.answers import ANSWER_COLUMNS
from budgetclimat.engine.keys import key_values
from budgetclimat.rulebook.model import CLASSES

from .frames import cached_line_class_summary
from .grid import Block, Grid
from .questions import _questions_of, answer_choices

LISTS_SHEET = "_listes"
META_SHEET = "_budgetclimat"
MARKER = "budgetclimat-workbook"
FORMAT = "1"


def declare_lists(ctx) -> None:
    """Fix the position of each drop-down list before the sheets that use them are written."""
    ctx.list_values.setdefault("classes", list(CLASSES))
    ctx.list_values.setdefault("axes", [ctx.axis(a) for a in ctx.prep.axes])
    for i, (name, values) in enumerate(ctx.list_values.items(), start=1):
        col = get_column_letter(i)
        ctx.lists[name] = f"'{LISTS_SHEET}'!${col}$2:${col}${1 + max(len(values), 1)}"


def write_lists(ctx) -> None:
    ws = ctx.wb.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    names = list(ctx.list_values)
    g = Grid()
    g.add(*names)
    depth = max((len(v) for v in ctx.list_values.values()), default=0)
    for i in range(depth):
        g.add(*[ctx.list_values[n][i] if i < len(ctx.list_values[n]) else None for n in names])
    ctx.flush(ws, g)


def current_classes(prep) -> pd.DataFrame:
    """``line_id, axis, class_text, decided_by`` of this run; ``out`` for a line out of scope on the axis.
    ``decided_by``: ``rule``, ``answer``, ``override``, ``staff`` (a staff line allocated pro rata) or ``default``."""
    summary = cached_line_class_summary(prep)
    text = summary["class_text"].where(~summary["is_out"], "out")
    out = pd.DataFrame({"line_id": summary["line_id"], "axis": summary["axis"], "class_text": text})
    reg = prep.register
    if "decided_by" in reg.columns and len(out):
        by = reg.drop_duplicates(["line_id", "axis"])[["line_id", "axis", "decided_by"]].astype("string")
        out = out.astype({"line_id": "string", "axis": "string"}).merge(by, on=["line_id", "axis"], how="left")
    else:
        out["decided_by"] = pd.Series(pd.NA, index=out.index, dtype="string")
    return out


def _strs(values) -> list[str]:
    """``str`` of every value (as a row of the sheet shows it: a missing value reads « <NA> » or « nan »)."""
    return list(map(str, pd.Series(values).tolist()))


def _s(value) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def line_keys(lines: pd.DataFrame) -> pd.Series:
    """The ``line:…`` key of every line whose key no other line of the run shares, indexed by ``line_id``.

    Twins (same nature, fonction and label) keep their line id: an answer or override typed for one of
    them must not spread to the others in silence."""
    if not len(lines):
        return pd.Series(dtype="string")
    keys = pd.Series(key_values(lines.reset_index(drop=True), "line").to_numpy(), index=lines["line_id"].astype("string").to_numpy(), dtype="string")
    return keys[~keys.duplicated(keep=False).to_numpy()]


def keyed_answers(answers: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """Answers given for a ``line_id`` of this run are kept by the line's key (``line:…``) instead, so
    that next year's run applies them to the same line; answers for unknown line ids stay as they are."""
    if "line_id" not in answers.columns or not len(keys):
        return answers
    answers = answers.copy()
    ids = answers["line_id"].astype("string")
    key = ids.map(keys)
    hit = (ids.notna() & key.notna()).to_numpy(dtype=bool)
    if hit.any():
        answers["key"] = answers["key"].astype("string").mask(hit, key)
        answers["line_id"] = ids.mask(hit, pd.NA)
    return answers


def write_meta(ctx, classes: pd.DataFrame | None) -> None:
    ws = ctx.wb.create_sheet(META_SHEET)
    ws.sheet_state = "veryHidden"
    g = Grid()
    g.add(MARKER, FORMAT, __version__, ctx.lang)
    g.add("#axes", *ctx.prep.axes)
    g.add("#axis-labels", *[ctx.axis(a) for a in ctx.prep.axes])
    for key, (title, header_row, columns) in ctx.layout.items():
        for col_key, header in columns.items():
            g.add("#layout", key, title, header_row, col_key, header)
    # What an answer may be, so the round trip reads a label chosen in a drop-down as its code and a
    # share typed as « 40 % » as 0.4, naming the cell when it cannot.
    for q in _questions_of(ctx.prep.ruleset).values():
        qtype, fact = str(getattr(q, "type", "") or ""), str(getattr(q, "fact", "") or "")
        if qtype == "share":
            g.add("#share", fact)
        elif getattr(q, "answers", None):
            fr, en = answer_choices(q.answers, "fr"), answer_choices(q.answers, "en")
            for (code, label_fr), (_, label_en) in zip(fr, en):
                g.add("#choice", fact, code, label_fr, label_en)
    if classes is not None:
        g.add("#classes")
        has_by = "decided_by" in classes.columns
        columns = [_strs(classes["line_id"]), _strs(classes["axis"]), _strs(classes["class_text"])]
        if has_by:
            columns.append([_s(v) for v in classes["decided_by"].tolist()])
        if len(classes):
            g.add_block(Block([(values, None, "text") for values in columns]))
    with_answers = ctx.answers is not None and len(ctx.answers)
    # (every line's key, for the hidden sheet or for the answers' line ids: not computed when neither is written)
    keys = line_keys(ctx.prep.lines) if classes is not None or with_answers else None
    if classes is not None:
        # The line key of each line: answers typed per line in « Lignes » are read back by key, so that
        # they carry over to next year's budget (line ids change with the file).
        g.add("#line-keys")
        if len(keys):
            g.add_block(Block([(_strs(keys.index), None, "text"), (_strs(keys), None, "text")]))
    if with_answers:
        cols = [c for c in ANSWER_COLUMNS if c not in ("source_file", "source_row")]
        g.add("#answers", *cols)
        frame = keyed_answers(ctx.answers.reindex(columns=cols), keys)
        for row in frame.itertuples(index=False):
            g.add("", *[None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v) for v in row])
    g.add("#end")
    ctx.flush(ws, g)
