"""Questions of the worklist: the fact each question supplies and its allowed answers.

The register carries ``question_id``, ``question`` and ``allowed_answers``; the fact a question supplies
comes from the ruleset when it knows the question (else the question id is used as the fact name).
"""

from __future__ import annotations

import functools
import json

import pandas as pd

from budgetclimat.paths import rules_dir


def _questions_of(ruleset) -> dict:
    if ruleset is None:
        return {}
    found = {}
    for holder in [ruleset, *list(getattr(ruleset, "rulebooks", []) or [])]:
        qs = holder.get("questions") if isinstance(holder, dict) else getattr(holder, "questions", None)
        if callable(qs):
            qs = qs()
        if isinstance(qs, dict):
            found.update(qs)
        elif isinstance(qs, (list, tuple)):
            found.update({getattr(q, "id", None) or q.get("id"): q for q in qs})
    return found


def question_fact(ruleset, question_id: str) -> str:
    q = _questions_of(ruleset).get(question_id)
    if q is None:
        return question_id
    fact = q.get("fact") if isinstance(q, dict) else getattr(q, "fact", None)
    return str(fact or question_id)


def question_type(ruleset, question_id: str) -> str | None:
    q = _questions_of(ruleset).get(question_id)
    if q is None:
        return None
    value = q.get("type") if isinstance(q, dict) else getattr(q, "type", None)
    return str(value) if value else None


def parse_allowed(value) -> list[str]:
    """``allowed_answers`` as a list, whether the register holds a list, JSON, or ``a|b|c`` / ``a, b`` text."""
    if value is None or value is pd.NA:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if hasattr(value, "tolist"):
        return [str(v) for v in value.tolist()]
    text = str(value).strip()
    if not text or text.lower() == "nan":
        return []
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text)]
        except ValueError:
            pass
    for sep in ("|", ";", ","):
        if sep in text:
            return [p.strip() for p in text.split(sep) if p.strip()]
    return [text]


# ---- answer labels -------------------------------------------------------------------------------------
# The drop-downs of closed questions show labels (« électrique »), the round trip stores codes
# (``electrique``). Labels of the shipped answers: ``rules/i4ce-2022/answer-labels.csv`` (code;fr;en);
# an answer without a label shows its code with spaces for underscores.


@functools.lru_cache(maxsize=1)
def _label_table() -> dict[str, dict[str, str]]:
    import csv

    table: dict[str, dict[str, str]] = {}
    for path in sorted(rules_dir().glob("*/answer-labels.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                code = (row.get("code") or "").strip()
                if code:
                    table[code] = {lang: (row.get(lang) or "").strip() for lang in ("fr", "en")}
    return table


def answer_label(code: str, lang: str = "fr") -> str:
    """The reader's label of an answer code, in ``lang`` (the code with spaces when none is known)."""
    entry = _label_table().get(str(code), {})
    return entry.get(lang) or entry.get("fr") or str(code).replace("_", " ")


def answer_choices(codes, lang: str = "fr") -> list[tuple[str, str]]:
    """``(code, label)`` of a question's answers. When two labels would read the same (a label must lead
    back to one code) or a label is another answer's code, the question shows its codes."""
    codes = [str(c) for c in codes]
    labels = [answer_label(c, lang) for c in codes]
    folded = [label.strip().casefold() for label in labels]
    other_code = any(f != c.casefold() and f in {x.casefold() for x in codes} for f, c in zip(folded, codes))
    if len(set(folded)) < len(folded) or other_code:
        return [(c, c) for c in codes]
    return list(zip(codes, labels))
