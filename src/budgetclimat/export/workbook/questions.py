"""Questions of the worklist: the fact each question supplies and its allowed answers.

The register carries ``question_id``, ``question`` and ``allowed_answers``; the fact a question supplies
comes from the ruleset when it knows the question (else the question id is used as the fact name).
"""

from __future__ import annotations

import json

import pandas as pd


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
