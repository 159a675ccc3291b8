"""Compile a rule's ``when`` into a boolean mask over a frame (vectorised; one pass per condition).

The frame is a *match frame*: one row per distinct combination of the columns the rules test, with
``label`` already normalised (:func:`normalise`) and facts in ``fact:<name>`` columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from budgetclimat.rulebook.model import All, Any_, Condition, Not, conditions
from budgetclimat.rulebook.saferegex import contains, evaluated_pattern, normalise_text

FACT_PREFIX = "fact:"


def normalise(values: pd.Series) -> pd.Series:
    """Accents, case and repeated spaces removed (NFKD, combining marks dropped, lower case)."""
    s = values.astype("string").fillna("")
    s = s.str.normalize("NFKD").str.replace("[\u0300-\u036f]", "", regex=True)
    s = s.str.lower().str.replace("[\u2019\u2018`´]", "'", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return s.astype("string")


def fact_column(name: str) -> str:
    return FACT_PREFIX + name


def columns_of(matcher) -> set[str]:
    """Match-frame columns a matcher reads."""
    return {fact_column(c.column) if c.fact else c.column for c in conditions(matcher)}


def evaluate(matcher, frame: pd.DataFrame, cache: dict | None = None) -> np.ndarray:
    """Boolean mask (numpy) of the rows of ``frame`` the matcher holds for.

    ``cache``: a dict kept by the caller while it evaluates many rules on the SAME frame; a condition
    several rules share (the same column, operator and values) is then computed once."""
    if isinstance(matcher, All):
        mask = np.ones(len(frame), dtype=bool)
        for item in matcher.items:
            mask &= evaluate(item, frame, cache)
        return mask
    if isinstance(matcher, Any_):
        mask = np.zeros(len(frame), dtype=bool)
        for item in matcher.items:
            mask |= evaluate(item, frame, cache)
        return mask
    if isinstance(matcher, Not):
        return ~evaluate(matcher.item, frame, cache)
    if cache is None:
        return _condition(matcher, frame)
    key = (matcher.column, matcher.op, matcher.values, matcher.fact)
    if key not in cache:
        cache[key] = _condition(matcher, frame)
        cache[key].flags.writeable = False  # shared between rules: never modified in place
    return cache[key]


def first_failing(matcher, frame: pd.DataFrame) -> Condition | object | None:
    """For a one-row frame: the first condition (in file order) that makes the matcher fail, or None."""
    if evaluate(matcher, frame).all():
        return None
    if isinstance(matcher, All):
        for item in matcher.items:
            if not evaluate(item, frame).all():
                return first_failing(item, frame)
    return matcher


def describe(matcher) -> str:
    if isinstance(matcher, Condition):
        return matcher.describe()
    if isinstance(matcher, All):
        return " ET ".join(describe(i) for i in matcher.items) or "(toujours)"
    if isinstance(matcher, Any_):
        return "any(" + " OU ".join(describe(i) for i in matcher.items) + ")"
    if isinstance(matcher, Not):
        return "not(" + describe(matcher.item) + ")"
    return str(matcher)


def _bool(series: pd.Series, na: bool) -> np.ndarray:
    return series.to_numpy(dtype=bool, na_value=na)  # boolean, Arrow or numpy results alike; a missing value reads ``na``


def _keyword_pattern(words) -> str:
    return r"\b(?:" + "|".join(re.escape(normalise_text(w)) for w in words) + ")"


def _condition(cond: Condition, frame: pd.DataFrame) -> np.ndarray:
    column = fact_column(cond.column) if cond.fact else cond.column
    values = frame[column]
    op = cond.op
    if op == "in":
        return _bool(values.isin(list(cond.values)), False)
    if op == "not_in":
        return ~_bool(values.isin(list(cond.values)), False)
    if op == "prefix":
        return _bool(values.str.startswith(tuple(cond.values)), False)
    if op == "not_prefix":
        return ~_bool(values.str.startswith(tuple(cond.values)), False)
    if op == "keywords":
        return _bool(values.str.contains(_keyword_pattern(cond.values), regex=True), False)
    if op == "all_keywords":
        mask = np.ones(len(frame), dtype=bool)
        for word in cond.values:
            mask &= _bool(values.str.contains(_keyword_pattern([word]), regex=True), False)
        return mask
    if op == "not_keywords":
        return ~_bool(values.str.contains(_keyword_pattern(cond.values), regex=True), False)
    if op == "regex":
        return _regex(values, evaluated_pattern(cond.values[0]))
    if op == "min":
        return (values.to_numpy(dtype="int64") >= cond.values[0])
    if op == "max":
        return (values.to_numpy(dtype="int64") < cond.values[0])
    if op == "fact_in":
        normalised = values.astype("string").str.strip().str.lower()
        return _bool(normalised.isin([str(v).lower() for v in cond.values]), False)
    if op == "present":
        return values.notna().to_numpy(dtype=bool)
    if op == "absent":
        return values.isna().to_numpy(dtype=bool)
    raise ValueError(f"unknown operator {op!r}")  # the loader never builds one


def _regex(values: pd.Series, pattern: str) -> np.ndarray:
    """RE2 through pyarrow (linear time in the label length, whatever the pattern; case ignored)."""
    import pyarrow as pa

    array = pa.array(values.astype("string").to_numpy(dtype=object, na_value=None), type=pa.string())
    return np.asarray(contains(array, pattern).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
