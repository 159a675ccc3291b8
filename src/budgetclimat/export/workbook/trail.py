"""The audit trail shown in « Lignes » after a re-run: which answers, overrides, comments and authors apply
to each line, and the override's own rationale (« surcharge de X le JJ/MM : … »).

Built from the answers frame the run applied (``ctx.answers``) paired with the lines the way the engine
pairs them (``engine.answers.match``). The answers given for the line itself (its id or its ``line:`` key)
are written back into the editable columns, so that they are read again on the next round trip (a row read
again replaces the one kept in the hidden sheet: nothing is doubled); answers given for a wider key (an
account, the whole collectivité, as answered in « À approfondir ») are shown in a read-only column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from budgetclimat.engine import answers as ans
from budgetclimat.engine.classify import facts_read
from budgetclimat.engine.keys import key_kind

from .questions import _questions_of, answer_choices


@dataclass
class Trail:
    """Per line id: the read-only trail text, the values written back into the editable columns, and per
    line × axis the override's rationale."""

    text: dict = field(default_factory=dict)  # line_id -> text of every answer / override applying to it
    editable: dict = field(default_factory=dict)  # line_id -> {fact, value, override_axis, override_class, comment, author}
    override: dict = field(default_factory=dict)  # (line_id, axis) -> « surcharge de X le JJ/MM : … »


def _s(value) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value).strip()


def _fragments(values, sep: str) -> list[str]:
    """Distinct pieces of comments (« a | b ») or authors (« X, Y »): a comment shown and read again stays one."""
    out: dict[str, None] = {}
    for v in values:
        for piece in _s(v).split(sep.strip()):
            if piece.strip():
                out[piece.strip()] = None
    return list(out)


def _date(iso: str, lang: str) -> str:
    parts = _s(iso)[:10].split("-")
    if len(parts) != 3:
        return ""
    return f"{parts[2]}/{parts[1]}" if lang == "fr" else f"{parts[1]}/{parts[2]}"


def share_display(value: str, lang: str) -> str:
    """A share as a reader types it back: « 40 % » (read again as 0.4)."""
    try:
        pct = (Decimal(str(value)) * 100).normalize()
    except ArithmeticError:
        return str(value)
    text = format(pct, "f")
    return (text.replace(".", ",") if lang == "fr" else text) + (" %" if lang == "fr" else "%")


def _class_text(rows: pd.DataFrame, lang: str) -> str:
    pieces = []
    for cls, share in zip(rows["class"], rows["share"]):
        s = _s(share)
        pieces.append(f"{_s(cls).upper()} {share_display(s, lang)}" if s and s not in ("1", "1.0") else _s(cls).upper())
    return " + ".join(pieces)


def _facts_read(ctx) -> pd.MultiIndex | None:
    """``(line_id, fact)`` pairs: the facts the rules that decided each line test, and the fact of its open question."""
    ruleset = ctx.prep.ruleset
    reg = ctx.prep.register
    if not hasattr(ruleset, "classification") or "rule_id" not in reg.columns:
        return None
    table = facts_read(ruleset)
    refs = pd.concat([
        pd.DataFrame({"line_id": reg["line_id"], "ref": reg["rule_id"]}),
        pd.DataFrame({"line_id": reg["line_id"], "ref": "q:" + reg["question_id"].astype("string")}) if "question_id" in reg.columns else None,
    ]).dropna().astype("string").drop_duplicates()
    hit = refs.merge(table, on="ref")[["line_id", "fact"]].drop_duplicates()
    return pd.MultiIndex.from_frame(hit)


def build(ctx) -> Trail:
    """The trail of the run (built once per workbook: « Lignes » and « Contrôles » both read it)."""
    if ctx.trail is None:
        ctx.trail = _build(ctx)
    return ctx.trail


def _build(ctx) -> Trail:
    trail = Trail()
    answers = ctx.answers
    lines = ctx.prep.lines
    if answers is None or not len(answers) or not len(lines):
        return trail
    answers = answers.reset_index(drop=True)
    for col in ans.ANSWER_COLUMNS:
        if col not in answers.columns:
            answers[col] = pd.Series(pd.NA, index=answers.index, dtype="string")
    lines = lines.reset_index(drop=True)
    pairs, _ = ans.match(lines, answers)
    if not len(pairs):
        return trail
    lang = ctx.lang
    questions = _questions_of(ctx.prep.ruleset)
    qtext, labels, shares = {}, {}, set()
    for q in questions.values():
        fact = str(getattr(q, "fact", "") or "")
        text = getattr(q, "text", None)
        text = text.get(lang) if hasattr(text, "get") else _s(text)
        qtext.setdefault(fact, text.split("?")[0].strip() + (" ?" if lang == "fr" else "?") if "?" in text else text)
        if getattr(q, "type", "") == "share":
            shares.add(fact)
        elif getattr(q, "answers", None):
            labels.setdefault(fact, {}).update(dict(answer_choices(q.answers, lang)))

    rows = pairs.merge(answers.reset_index(names="answer"), on="answer")
    rows["line_id"] = lines["line_id"].astype("string").to_numpy()[rows["pos"].to_numpy()]
    kind = key_kind(rows["key"].astype("string").fillna(""))
    own = rows["answer"].map(answers["line_id"].notna()).to_numpy(dtype=bool) | (kind == "line").to_numpy(dtype=bool)
    rows["own"] = own
    rows["kind"] = kind.to_numpy()
    rows = rows.sort_values(["pos", "rank", "answer"], kind="stable")

    def value_label(fact: str, value: str) -> str:
        if fact in shares:
            return share_display(value, lang)
        return labels.get(fact, {}).get(value, value)

    def where(r) -> str:
        if r.own:
            return ""
        k = _s(r.key)
        kind_, _, value = k.partition(":")
        if kind_ == "account_fonction":
            value = value.replace("|", " × ")
        name = {"entity": "trail-key-entity", "account": "trail-key-account", "account_fonction": "trail-key-fonction",
                "operation": "trail-key-operation"}.get(kind_)
        return ctx.t(name, value=value) if name else ""

    def who(r) -> str:
        bits = [b for b in (_s(r.author), _date(r.date, lang)) if b]
        note = _s(r.comment)
        out = ", ".join(bits)
        return f"{out} : {note}" if out and note else (out or note)

    # The answer that wins per line and fact (as the engine: most specific, then the last given).
    facts = rows[rows["fact"].notna()].drop_duplicates(["pos", "fact"], keep="last")
    # An answer given for a wider key (the whole collectivité, an account) is shown on the lines whose
    # classification read that fact (the deciding rule tests it, or the line still waits for it), not on
    # every line it reaches; an answer given for the line itself is always shown.
    used = _facts_read(ctx)
    if used is not None and len(facts):
        read = pd.MultiIndex.from_arrays([facts["line_id"].astype("string"), facts["fact"].astype("string")]).isin(used)
        facts = facts[facts["own"].to_numpy(dtype=bool) | read]
    overrides = rows[rows["class"].notna()]
    notes = rows[rows["fact"].isna() & rows["class"].isna()]
    texts: dict[str, list[str]] = {}
    # One text per answer (not per line: an answer for the whole collectivité reaches every line), mapped to its lines.
    per_answer = facts.drop_duplicates("answer")
    answer_text = {}
    for r in per_answer.itertuples(index=False):  # answers, not lines: a few hundred
        detail = " ; ".join(b for b in (where(r), who(r)) if b)
        answer_text[r.answer] = f"{qtext.get(r.fact, r.fact)} → {value_label(r.fact, _s(r.value))}" + (f" ({detail})" if detail else "")
    if len(facts):
        joined = facts["answer"].map(answer_text).groupby(facts["line_id"], sort=False).agg(list)
        texts.update({k: list(v) for k, v in joined.items()})
    axes = list(ctx.prep.axes)
    for line_id, group in overrides.groupby("line_id", sort=False):
        for axis in axes:
            mine = group[group["axis"].isna() | (group["axis"] == axis)]
            if not len(mine):
                continue
            authors = _fragments(mine["author"], ", ")
            comments = _fragments(mine["comment"], " | ")
            dates = [d for d in mine["date"].astype("string").dropna().tolist() if d]
            by = ctx.t("trail-by", author=", ".join(authors)) if authors else ""
            on = ctx.t("trail-on", date=_date(max(dates), lang)) if dates else ""
            why = f" : {' | '.join(comments)}" if comments else ""
            trail.override[(line_id, axis)] = ctx.t("trail-override", who=by, when=on, why=why)
        axis_rows = group.drop_duplicates(["answer"])
        text = _class_text(axis_rows, lang)
        axis_names = sorted({ctx.axis(a) for a in axis_rows["axis"].dropna()})
        texts.setdefault(line_id, []).append(ctx.t("trail-override-line", axis=(", ".join(axis_names) + " ") if axis_names else "", classes=text)
                                             + (f" ({where(axis_rows.iloc[0])})" if where(axis_rows.iloc[0]) else ""))
    notes = notes[~notes["own"].to_numpy(dtype=bool)]  # a line's own comment is in its Commentaire cell
    note_text = {r.answer: (f"{who(r)} ({where(r)})" if where(r) else who(r)) for r in notes.drop_duplicates("answer").itertuples(index=False)}
    for line_id, items in notes["answer"].map(note_text).groupby(notes["line_id"], sort=False).agg(list).items():
        texts.setdefault(line_id, []).extend(t for t in items if t)
    trail.text = {k: "\n".join(v) for k, v in texts.items()}

    # Written back into the editable columns: what was given for the line itself.
    mine = rows[rows["own"]]
    for line_id, group in mine.groupby("line_id", sort=False):
        cells = {}
        own_facts = group[group["fact"].notna()].drop_duplicates("fact", keep="last")
        if len(own_facts) == 1:
            r = own_facts.iloc[0]
            cells["fact"], cells["value"] = _s(r["fact"]), value_label(_s(r["fact"]), _s(r["value"]))
        own_over = group[group["class"].notna()]
        if len(own_over):
            first_axis = own_over["axis"].iloc[0]
            same = own_over[own_over["axis"].isna()] if pd.isna(first_axis) else own_over[own_over["axis"] == first_axis]
            cells["override_class"] = _class_text(same.drop_duplicates("answer"), lang)
            cells["override_axis"] = "" if pd.isna(first_axis) else ctx.axis(str(first_axis))
        comments, authors = _fragments(group["comment"], " | "), _fragments(group["author"], ", ")
        if comments:
            cells["comment"] = " | ".join(comments)
        if authors:
            cells["author"] = ", ".join(authors)
        trail.editable[line_id] = cells
    return trail
