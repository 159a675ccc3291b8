"""Reading a budgetclimat workbook back: the answers and overrides typed into « Lignes » and « À approfondir »,
the answers the previous run applied, and the classes it gave (to list what changed).

Cells are found through the layout recorded in the hidden ``_budgetclimat`` sheet (sheet title, header
row, header text of each column), so the file may be French or English and columns may be moved.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from budgetclimat import i18n
from budgetclimat.engine.answers import ANSWER_COLUMNS, conform_answers, share_text
from budgetclimat.errors import ConfigError
from budgetclimat.rulebook.model import CLASSES, axis_label

from .frames import Prepared
from .hidden import MARKER, META_SHEET, current_classes

_SPLIT = re.compile(r"^\s*([A-Za-z]+)\s*(?:[:=]?\s*(\d+(?:[.,]\d+)?)\s*(%?))?\s*$")


def is_budgetclimat_workbook(path: str | Path) -> bool:
    """True for an .xlsx file written by :func:`write_workbook` (it has the hidden ``_budgetclimat`` sheet)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return f'name="{META_SHEET}"' in archive.read("xl/workbook.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False


def _sheets(path: Path) -> dict:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - the user's file
        raise ConfigError("answers-unreadable", path=str(path), detail=str(exc)) from None
    return {name: book for name in book.sheet_names}


def _rows(book, name: str) -> list[list]:
    return book.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() and abs(value) >= 1 else repr(value)
    text = str(value).strip()
    return text or None


def _meta(book) -> dict:
    rows = _rows(book, META_SHEET)
    if not rows or _text(rows[0][0]) != MARKER:
        raise ConfigError("answers-unreadable", path="", detail=f"sheet {META_SHEET} is not a budgetclimat marker")
    meta = {"layout": {}, "classes": [], "answers": [], "answer_columns": [], "axes": [], "axis_labels": [], "line_keys": {},
            "share_facts": set(), "choices": {}, "lang": _text(rows[0][3]) if len(rows[0]) > 3 else None}
    section = None
    for row in rows[1:]:
        head = _text(row[0]) if row else None
        if head == "#axes":
            meta["axes"] = [_text(v) for v in row[1:] if _text(v)]
        elif head == "#axis-labels":
            meta["axis_labels"] = [_text(v) for v in row[1:] if _text(v)]
        elif head == "#layout":
            key, title, header_row, col_key, header = (row + [None] * 6)[1:6]
            entry = meta["layout"].setdefault(_text(key), {"title": _text(title), "header_row": int(float(header_row)), "columns": {}})
            entry["columns"][_text(col_key)] = _text(header)
        elif head == "#share":
            meta["share_facts"].add(_text(row[1]))
        elif head == "#choice":
            fact, code, *labels = [_text(v) for v in (row + [None] * 5)[1:5]]
            meta["choices"].setdefault(fact, []).append((code, [lbl for lbl in labels if lbl]))
        elif head in ("#classes", "#line-keys", "#end"):
            section = head
        elif head == "#answers":
            section = head
            meta["answer_columns"] = [_text(v) for v in row[1:]]
        elif section == "#classes" and head:
            meta["classes"].append((head, _text(row[1]), _text(row[2]) or "", _text(row[3]) if len(row) > 3 else None))
        elif section == "#line-keys" and head:
            meta["line_keys"][head] = _text(row[1])
        elif section == "#answers":
            meta["answers"].append([_text(v) for v in row[1:1 + len(meta["answer_columns"])]])
    return meta


def read_previous_classes(path: str | Path) -> pd.DataFrame:
    """``line_id, axis, class_text, decided_by`` as the workbook's run classified them (``decided_by`` empty
    for a workbook of an older version)."""
    book = next(iter(_sheets(Path(path)).values()))
    meta = _meta(book)
    return pd.DataFrame(meta["classes"], columns=["line_id", "axis", "class_text", "decided_by"]).astype("string")


def _table(book, layout: dict) -> tuple[list[tuple[int, dict]], dict]:
    """Rows of a sheet as dicts keyed by column key, with their 1-based row numbers."""
    rows = _rows(book, layout["title"])
    header_idx = layout["header_row"] - 1
    if len(rows) <= header_idx:
        return [], {}
    header = [_text(v) for v in rows[header_idx]]
    position = {}
    for key, text in layout["columns"].items():
        if text in header:
            position[key] = header.index(text)
    out = []
    for i, row in enumerate(rows[header_idx + 1:], start=layout["header_row"] + 1):
        out.append((i, {k: (row[p] if p < len(row) else None) for k, p in position.items()}))
    return out, position


def parse_override(text: str) -> list[tuple[str, float | None]]:
    """``TF`` → [(TF, None)]; ``TF 60 % + D 40 %`` or ``TF:0.6; D:0.4`` → pieces with shares."""
    parts = [p for p in re.split(r"[+;/]", text) if p.strip()]
    pieces = []
    for part in parts:
        m = _SPLIT.match(part)
        if not m or m.group(1).upper() not in CLASSES:
            return [(text.strip(), None)]  # the engine reports the unknown class with file and row
        share = None
        if m.group(2):
            share = float(m.group(2).replace(",", "."))
            if m.group(3) or share > 1:
                share /= 100
        pieces.append((m.group(1).upper(), share))
    if len(pieces) == 1 and pieces[0][1] is not None and abs(pieces[0][1] - 1) < 1e-9:
        pieces = [(pieces[0][0], None)]
    return pieces


def _saved_on(path: Path) -> str | None:
    """The date the workbook was last saved (``docProps/core.xml``, set by the spreadsheet that saved it),
    ISO; ``None`` for the fixed date of a workbook written without a timestamp (1980-01-01)."""
    try:
        with zipfile.ZipFile(path) as archive:
            core = archive.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    m = re.search(r"<dcterms:modified[^>]*>(\d{4}-\d{2}-\d{2})", core)
    if not m or m.group(1).startswith("1980-"):
        return None
    return m.group(1)


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


class _Cells:
    """Checks a typed answer where it was typed: a share (« 0,4 », « 40 % », « 40 », a cell holding 0.4
    with a percent format) is kept as its exact decimal text (``0.4``); a label chosen in a drop-down is
    kept as its answer code (a typed code is accepted as well). Otherwise the run stops naming the cell."""

    def __init__(self, meta: dict, path: Path):
        self.shares = meta["share_facts"]
        self.choices = {}
        self.expected = {}
        lang_index = 1 if meta.get("lang") == "en" else 0
        for fact, entries in meta["choices"].items():
            lookup = {}
            for code, labels in entries:
                for text in [code, *labels]:
                    lookup.setdefault(_fold(text), code)
            self.choices[fact] = lookup
            self.expected[fact] = " ; ".join((labels[lang_index] if len(labels) > lang_index else code) for code, labels in entries)
        self.path = path

    def value(self, fact: str | None, raw, layout: dict, position: dict, column: str, number: int, question: str | None = None) -> str | None:
        text = _text(raw)
        if fact is None or text is None:
            return text
        header = layout["columns"].get(column, column)
        where = {"file": f"{self.path.name} [{layout['title']}]", "row": number,
                 "column": f"{get_column_letter(position[column] + 1)} ({header})" if column in position else header}
        if fact in self.shares:
            try:
                return share_text(raw)
            except (ValueError, ArithmeticError):
                raise ConfigError("answers-bad-share", value=text, **where) from None
        if fact in self.choices:
            code = self.choices[fact].get(_fold(text))
            if code is None:
                raise ConfigError("answers-bad-value", value=text, question=question or fact, expected=self.expected[fact], **where)
            return code
        return text


def read_workbook_answers(path: str | Path) -> pd.DataFrame:
    """The canonical answers frame (``engine.answers.ANSWER_COLUMNS``) from a budgetclimat workbook.

    Rows: the answers the previous run applied (kept from the hidden sheet), then every answer, override
    or comment typed into « Lignes » and « À approfondir ». A typed row replaces an earlier answer to the
    same fact (or override of the same axis, or comment) of the same line; a row that the previous run
    already applied, shown again in « Lignes », keeps the date it was first given.
    """
    path = Path(path)
    book = next(iter(_sheets(path).values()))
    meta = _meta(book)
    cells = _Cells(meta, path)
    saved_on = _saved_on(path)
    axis_of = {}
    for ids, labels in [(meta["axes"], meta["axis_labels"])]:
        axis_of.update({a: a for a in ids})
        axis_of.update({lbl: a for lbl, a in zip(labels, ids)})
    for axis in meta["axes"]:
        for lang in i18n.LANGUAGES:
            axis_of[axis_label(axis, lang, short=True)] = axis

    typed: list[dict] = []
    lignes = meta["layout"].get("lignes")
    if lignes:
        rows, position = _table(book, lignes)
        for number, row in rows:
            line_id = _text(row.get("line_id"))
            if not line_id:
                continue
            where = {"source_file": f"{path.name} [{lignes['title']}]", "source_row": number, "line_id": line_id, "date": saved_on}
            if meta["line_keys"].get(line_id):  # kept by the line's key: it carries over to next year
                where = {**where, "line_id": None, "key": meta["line_keys"][line_id]}
            comment, author = _text(row.get("comment")), _text(row.get("author"))
            fact = _text(row.get("fact"))
            value = cells.value(fact, row.get("value"), lignes, position, "value", number)
            override = _text(row.get("override_class"))
            axis_text = _text(row.get("override_axis"))
            axis = axis_of.get(axis_text, axis_text) if axis_text else None
            if fact:
                typed.append({**where, "fact": fact, "value": value, "comment": comment, "author": author})
            if override:
                for cls, share in parse_override(override):
                    typed.append({**where, "axis": axis, "class": cls, "share": None if share is None else repr(share),
                                  "comment": comment, "author": author})
            if not fact and not override and (comment or author):
                typed.append({**where, "axis": axis, "comment": comment, "author": author})
    work = meta["layout"].get("approfondir")
    if work:
        rows, position = _table(book, work)
        for number, row in rows:
            # One row per question × key (a workbook of an older version: per line, with a line id).
            key, line_id = _text(row.get("key")), _text(row.get("line_id"))
            fact = _text(row.get("fact"))
            if not (key or line_id) or _text(row.get("answer")) is None or not fact:
                continue
            answer = cells.value(fact, row.get("answer"), work, position, "answer", number, question=_text(row.get("question_id")))
            typed.append({"source_file": f"{path.name} [{work['title']}]", "source_row": number, "line_id": None if key else line_id,
                          "key": key, "fact": fact, "value": answer, "comment": _text(row.get("comment")), "author": _text(row.get("author")),
                          "date": saved_on})

    typed_frame = pd.DataFrame(typed, columns=ANSWER_COLUMNS)
    previous = pd.DataFrame(meta["answers"], columns=meta["answer_columns"] or None)
    if len(previous):
        previous = previous.reindex(columns=ANSWER_COLUMNS)
        previous["source_file"] = f"{path.name} [{META_SHEET}]"
        previous["source_row"] = range(1, len(previous) + 1)
        typed_frame = _keep_dates(previous, typed_frame)
        previous = _drop_superseded(previous, typed_frame)
    frames = [f for f in (previous, typed_frame) if len(f)]
    if not frames:
        return conform_answers(pd.DataFrame(columns=ANSWER_COLUMNS), source_file=path.name)
    combined = pd.concat(frames, ignore_index=True)
    facts = combined[combined["fact"].notna()]
    combined = combined.drop(facts[facts.duplicated(["line_id", "key", "nature", "fonction", "label", "fact"], keep="last")].index)
    return conform_answers(combined.reset_index(drop=True), source_file=path.name)


_SAME = ["fact", "value", "axis", "class", "share", "comment", "author"]


def _keep_dates(previous: pd.DataFrame, typed: pd.DataFrame) -> pd.DataFrame:
    """A typed row identical to one the previous run applied (shown again in « Lignes ») keeps its date."""
    if typed.empty or "date" not in previous.columns:
        return typed
    def sig(frame):
        parts = [_target(frame)] + [frame[c].astype("string").fillna("") for c in _SAME]
        out = parts[0].fillna("")
        for p in parts[1:]:
            out = out + "\x1f" + p
        return out
    dates = pd.Series(previous["date"].astype("string").to_numpy(), index=sig(previous).to_numpy())
    dates = dates[dates.notna() & ~dates.index.duplicated(keep="last")]
    kept = sig(typed).map(dates)
    typed = typed.copy()
    typed["date"] = kept.astype("string").fillna(typed["date"].astype("string")).to_numpy()
    return typed


def _target(frame: pd.DataFrame) -> pd.Series:
    """What an answer is given for: its line id, else its key, else nature|fonction|label."""
    def col(name):
        return frame[name].astype("string") if name in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="string")

    label_key = "nkey:" + col("nature").fillna("") + "|" + col("fonction").fillna("") + "|" + col("label").fillna("")
    return ("id:" + col("line_id")).fillna("key:" + col("key")).fillna(label_key)


def _drop_superseded(previous: pd.DataFrame, typed: pd.DataFrame) -> pd.DataFrame:
    """A typed answer replaces the previous one for the same target (key or line) and fact; a typed
    override the previous one for the same target and axis (or every axis)."""
    if typed.empty:
        return previous
    prev_target, typed_target = _target(previous), _target(typed)
    typed_facts = set(zip(typed_target[typed["fact"].notna()], typed.loc[typed["fact"].notna(), "fact"]))
    is_class = typed["class"].notna()
    all_axes = set(typed_target[is_class & typed["axis"].isna()])
    class_keys = set(zip(typed_target[is_class], typed.loc[is_class, "axis"]))
    fact_hit = pd.Series([(t, f) in typed_facts for t, f in zip(prev_target, previous["fact"])], index=previous.index)
    class_hit = pd.Series([t in all_axes or (t, a) in class_keys for t, a in zip(prev_target, previous["axis"])], index=previous.index)
    # a comment (and author) typed alone replaces the one kept for the same line: shown again, read again, once
    is_note = typed["fact"].isna() & typed["class"].isna()
    note_hit = prev_target.isin(set(typed_target[is_note])).to_numpy(dtype=bool)
    prev_note = (previous["fact"].isna() & previous["class"].isna()).to_numpy(dtype=bool)
    drop = (previous["fact"].notna() & fact_hit) | (previous["class"].notna() & class_hit) | pd.Series(prev_note & note_hit, index=previous.index)
    return previous[~drop.to_numpy(dtype=bool)]


def compute_changes(previous: pd.DataFrame, prep: Prepared) -> pd.DataFrame:
    """Lines whose class changed on an axis since the previous run: ``line_id, axis, old_class, new_class``,
    the line's amount, nature, fonction and label, why (``decided_by`` of this run: ``rule``, ``answer``,
    ``override``, ``staff``, ``default``; ``rule_id``), who (``author``) and ``kind``:

    * ``change``: a real change of class (a rule, an answer, an override; a line new or gone shows an
      empty side), listed first, largest amounts first;
    * ``staff``: a staff-cost line allocated pro rata whose shares only moved because other lines changed
      (shown summed in one row).
    """
    current = current_classes(prep)
    prev = previous.astype({"line_id": "string", "axis": "string"})
    if "decided_by" not in prev.columns:
        prev = prev.assign(decided_by=pd.Series(pd.NA, index=prev.index, dtype="string"))
    merged = prev.merge(current.astype({"line_id": "string", "axis": "string"}), on=["line_id", "axis"], how="outer", suffixes=("_old", "_new"))
    old = merged["class_text_old"].astype("string").fillna("")
    new = merged["class_text_new"].astype("string").fillna("")
    changed = merged[(old != new).to_numpy(dtype=bool)].copy()
    changed["old_class"] = old[old != new]
    changed["new_class"] = new[old != new]
    by_new = changed["decided_by_new"].astype("string")
    by_old = changed["decided_by_old"].astype("string")
    # staff now, and staff before (or, for an older workbook, a split class as staff lines have)
    was_staff = (by_old == "staff").fillna(False) | (by_old.isna() & changed["old_class"].str.contains("%", regex=False).fillna(False))
    staff = (by_new == "staff").fillna(False) & was_staff
    changed["kind"] = pd.Series(["staff" if x else "change" for x in staff.to_numpy(dtype=bool)], index=changed.index, dtype="string")
    changed["decided_by"] = by_new
    attrs = prep.lines[["line_id", "amount_cents", "nature", "fonction", "label"]].astype({"line_id": "string"})
    changed = changed.merge(attrs, on="line_id", how="left")
    reg = prep.register
    extra = [c for c in ("rule_id", "author") if c in reg.columns]
    if extra:
        first = reg.drop_duplicates(["line_id", "axis"])[["line_id", "axis", *extra]].astype("string")
        changed = changed.merge(first, on=["line_id", "axis"], how="left")
    for col in ("rule_id", "author"):
        if col not in changed.columns:
            changed[col] = pd.Series(pd.NA, index=changed.index, dtype="string")
    changed["_staff"] = changed["kind"] == "staff"
    changed["_amount"] = -changed["amount_cents"].fillna(0).astype("int64")
    changed = changed.sort_values(["_staff", "_amount", "line_id", "axis"], kind="stable")
    columns = ["line_id", "axis", "old_class", "new_class", "amount_cents", "nature", "fonction", "label", "kind", "decided_by", "rule_id", "author"]
    return changed[columns].reset_index(drop=True)
