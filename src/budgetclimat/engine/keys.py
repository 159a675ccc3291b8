"""The keys answers belong to: a question is asked once per key value, an answer applies to every line
with that key value (``docs/rulebooks.md``, « Ask once »).

A key is a text ``kind:value``:

==================== ================================================================================
``entity:V``         the collectivité: SIREN (first 9 digits of ``siret``), else its normalised name,
                     else ``*`` (contract facts: electricity, fuels, heat network, meals)
``account:V``        the account (``nature``)
``account_fonction`` ``nature|fonction`` (``fonction`` empty when the vote has none)
``operation:V``      the autorisation de programme (``ap_code``) or opération (``operation_code``);
                     a line with neither falls back to its ``account_fonction`` key
``line:V``           ``nature|fonction|label`` with accents, case and spaces ignored: the same line next
                     year, not its ``line_id`` (which changes with the file)
==================== ================================================================================

Keys are stable across years and files of the same collectivité: that is what lets last year's answers
apply to this year's budget.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from budgetclimat.engine.matcher import normalise
from budgetclimat.rulebook.model import KEY_KINDS

# How specific a key is: when several answers give the same fact to a line, the most specific wins
# (an answer for one line beats the answer for its account × fonction, which beats the collectivité's).
SPECIFICITY = {"entity": 1, "account": 2, "account_fonction": 3, "operation": 4, "line": 5}


def _text(lines: pd.DataFrame, column: str) -> pd.Series:
    if column not in lines.columns:
        return pd.Series("", index=lines.index, dtype="string")
    return lines[column].astype("string").fillna("").str.strip()


def key_values(lines: pd.DataFrame, kind: str) -> pd.Series:
    """The ``kind:value`` key of every line (vectorised; ``kind`` one of :data:`KEY_KINDS`)."""
    if kind not in KEY_KINDS:
        raise ValueError(f"unknown key kind {kind!r}")
    nature = _text(lines, "nature")
    fonction = _text(lines, "fonction")
    if kind == "entity":
        siren = _text(lines, "siret").str.replace(r"\D", "", regex=True).str.slice(0, 9)
        name = normalise(_text(lines, "collectivite")).fillna("").str.replace(" ", "", regex=False)
        value = siren.where(siren.str.len() == 9, name).replace("", "*")
    elif kind == "account":
        value = nature
    elif kind == "account_fonction":
        value = nature + "|" + fonction
    elif kind == "operation":
        ap = _text(lines, "ap_code")
        op = ap.where(ap != "", _text(lines, "operation_code"))
        fallback = "account_fonction:" + nature + "|" + fonction
        return ("operation:" + op).where(op != "", fallback).astype("string")
    else:  # line: the carry-over key of answers given by nature, fonction and label
        value = label_key(lines) if "label" in lines.columns else nature + "|" + fonction + "|"
    return (kind + ":" + value).astype("string")


def key_kind(keys: pd.Series) -> pd.Series:
    """The kind part of ``kind:value`` keys."""
    return keys.astype("string").str.split(":", n=1).str[0]


_CACHED = "_key:"  # columns added by with_keys: the keys computed once for repeated runs on the same lines


def all_keys(lines: pd.DataFrame) -> pd.DataFrame:
    """One column per key kind, aligned with ``lines``."""
    if all(_CACHED + kind in lines.columns for kind in KEY_KINDS):
        return pd.DataFrame({kind: lines[_CACHED + kind].to_numpy() for kind in KEY_KINDS}, index=lines.index)
    return pd.DataFrame({kind: key_values(lines, kind).to_numpy() for kind in KEY_KINDS}, index=lines.index)


def with_keys(lines: pd.DataFrame) -> pd.DataFrame:
    """``lines`` with their keys attached, for a caller that classifies the same lines many times (the
    bounds): :func:`all_keys` then reads them instead of normalising labels again on every run."""
    table = all_keys(lines)
    return lines.assign(**{_CACHED + kind: table[kind] for kind in KEY_KINDS})


def question_keys(lines: pd.DataFrame, positions: np.ndarray, question_ids: pd.Series, questions: dict) -> pd.Series:
    """The key of each (line position, question) pair: the question's declared key kind applied to the
    line. ``questions`` maps question ids to :class:`~budgetclimat.rulebook.model.Question`; a question
    the rule set does not declare (``fact:…`` placeholders) is keyed by line."""
    ids = question_ids.astype("string").fillna("")
    kind_of = {qid: questions[qid].key if qid in questions else "line" for qid in ids.unique()}  # a few questions
    kinds = ids.map(kind_of).astype(object).to_numpy()
    lines = lines.reset_index(drop=True)
    out = np.empty(len(positions), dtype=object)
    for kind in np.unique(kinds):
        sel = kinds == kind
        out[sel] = keys_at(lines, np.asarray(positions)[sel], kind)
    return pd.Series(out, index=question_ids.index, dtype="string")


def keys_at(lines: pd.DataFrame, positions: np.ndarray, kind: str) -> np.ndarray:
    """The ``kind`` key of the lines at ``positions`` (object array): computed once per distinct position,
    only for the lines asked (a key is a function of its line alone), or read from :func:`with_keys`."""
    positions = np.asarray(positions, dtype="int64")
    if _CACHED + kind in lines.columns:
        return lines[_CACHED + kind].to_numpy(dtype=object)[positions]
    distinct, inverse = np.unique(positions, return_inverse=True)
    return key_values(lines.iloc[distinct], kind).to_numpy(dtype=object)[inverse.reshape(-1)]


def label_key(lines: pd.DataFrame) -> pd.Series:
    """The carry-over key of lines (or answers): nature|fonction|label without accents, case, spaces."""
    label = normalise(lines["label"]).str.replace(" ", "", regex=False)
    return (
        lines["nature"].astype("string").fillna("").str.strip()
        + "|"
        + lines["fonction"].astype("string").fillna("").str.strip()
        + "|"
        + label
    ).astype("string")
