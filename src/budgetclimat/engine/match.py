"""The engine's one evaluator: rules are tried on the *distinct combinations* of the columns they read,
never line by line, and the decision of a combination is mapped back to its lines.

* :func:`line_facts` — the facts of each line from the answers matched to it: the **wide** frame, one
  column per fact, aligned with the lines (the shape every caller passes on);
* :func:`match_frame` — the columns the rules of some rulebooks read, aligned with the lines: codes as
  stripped text, ``label`` normalised (:func:`~budgetclimat.engine.matcher.normalise`), ``amount_cents``
  as int64, facts as ``fact:<name>``;
* :func:`distinct` — the group number of each line and the distinct combinations;
* :func:`covered` — the combinations a rulebook covers (its nomenclatures, directly or through its
  crosswalks);
* :func:`first_rule` — first match, in file order, among the rules of one rulebook, on what it covers
  (a line of a crosswalk's source nomenclature is tried as the line it maps to);
* :func:`first_match` — all of it for one rulebook: the id of the deciding rule per line.

Classification and scope (:mod:`.classify`), ``explain`` (:mod:`.explain`), the test cases
(:mod:`.cases`) and the weighted and carbon views (:mod:`budgetclimat.views.evaluate`) use these.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from budgetclimat.engine.matcher import FACT_PREFIX, Prepared, columns_of, fact_column, normalise
from budgetclimat.rulebook.crosswalk import covered_mask, translate
from budgetclimat.rulebook.model import Rulebook

DEFAULT_RULE = "DEFAULT"  # the rule id of a piece decided by a rulebook's default (no rule matched)


def line_facts(lines: pd.DataFrame, answers: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """One column per fact (text), aligned with ``lines``, from ``answers`` and the ``pairs`` (``pos``,
    ``answer``, ``rank``) of :func:`budgetclimat.engine.answers.match`."""
    rows = pairs.merge(answers[["fact", "value"]].reset_index(names="answer"), on="answer")
    # The most specific answer wins (line over key, account × fonction over collectivité…), then the last given.
    rows = rows[rows["fact"].notna()].sort_values(["rank", "answer"], kind="stable")
    if not len(rows):
        return pd.DataFrame(index=lines.index)
    wide = rows.drop_duplicates(["pos", "fact"], keep="last").pivot(index="pos", columns="fact", values="value")
    wide = wide.reindex(range(len(lines))).astype("string")
    wide.columns = [str(c) for c in wide.columns]
    wide.index = lines.index
    return wide


def columns_read(rulebooks: Iterable[Rulebook]) -> set[str]:
    """Match-frame columns the rules of ``rulebooks`` read, and ``nomenclature`` (which rulebook covers a line)."""
    needed = {"nomenclature"}
    for rb in rulebooks:
        for rule in rb.rules:
            needed |= columns_of(rule.when)
            needed |= {fact_column(f) for f in rule.facts_used()}
    return needed


def match_frame(lines: pd.DataFrame, facts: pd.DataFrame | None, rulebooks: Iterable[Rulebook]) -> pd.DataFrame:
    """The columns the rules of ``rulebooks`` read, aligned with ``lines``.

    ``facts``: the wide facts frame, row ``i`` for line ``i`` (``None``: no facts). A column ``lines``
    does not have reads as empty (``amount_cents`` as 0).
    """
    frame = pd.DataFrame(index=lines.index)
    for col in sorted(columns_read(rulebooks)):
        if col.startswith(FACT_PREFIX):
            name = col[len(FACT_PREFIX) :]
            present = facts is not None and name in facts.columns
            frame[col] = facts[name].set_axis(lines.index) if present else pd.Series(pd.NA, index=lines.index, dtype="string")
        elif col == "amount_cents":
            frame[col] = lines[col].astype("int64") if col in lines.columns else pd.Series(0, index=lines.index, dtype="int64")
        else:
            text = lines[col] if col in lines.columns else pd.Series(pd.NA, index=lines.index, dtype="string")
            frame[col] = normalise(text) if col == "label" else text.astype("string").str.strip()
    return frame


def distinct(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """``(gid, combos)``: the group number of each row of ``frame`` (numbered in order of first appearance)
    and the distinct combinations, row ``g`` for group ``g``."""
    gid = frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup().to_numpy()
    combos = frame.loc[~pd.Series(gid).duplicated().to_numpy()].reset_index(drop=True)
    return gid, combos


def covered(rb: Rulebook, combos: pd.DataFrame) -> np.ndarray:
    """Combinations ``rb`` covers: its nomenclatures, directly or through its crosswalks (M52 read as M57)."""
    return covered_mask(combos, rb.nomenclatures, rb.crosswalks)


def first_rule(rb: Rulebook, combos: pd.DataFrame, among: np.ndarray | None = None, prepared: Prepared | None = None) -> np.ndarray:
    """Index in ``rb.rules`` of the first rule each combination matches, in file order (-1: none).

    Only the combinations ``rb`` covers (and, when given, those of the mask ``among``) are tried, and a
    rule only on the combinations no earlier rule took; the rules see a line of a crosswalk's source
    nomenclature as the line it maps to. ``prepared``: a :class:`~budgetclimat.engine.matcher.Prepared`
    of ``combos`` shared by the caller's rulebooks (columns factorised and labels searched once).
    """
    open_ = covered(rb, combos).copy()  # narrowed in place below
    if among is not None:
        open_ &= among
    seen = translate(combos, rb.crosswalks)
    if prepared is None or prepared.frame is not combos:
        prepared = Prepared(combos, rb.rules)
    else:
        prepared.add(rb.rules)
    if seen is not combos:
        prepared = prepared.derive(seen)
    chosen = np.full(len(combos), -1, dtype="int64")
    rows = np.flatnonzero(open_)
    for i, rule in enumerate(rb.rules):
        if not len(rows):
            break
        hit = prepared.mask(rule.when, rows)
        chosen[rows[hit]] = i
        rows = rows[~hit]
    return chosen


def first_match(rulebook: Rulebook, lines: pd.DataFrame, facts: pd.DataFrame | None = None) -> pd.Series:
    """The id of the first rule of ``rulebook`` each line matches (``<NA>``: none, or a nomenclature the
    rulebook does not cover), aligned on ``lines``. ``facts``: the wide facts frame aligned with ``lines``."""
    gid, combos = distinct(match_frame(lines, facts, [rulebook]))
    chosen = first_rule(rulebook, combos)
    ids = np.array([r.id for r in rulebook.rules] + [None], dtype=object)  # -1 reads the last: None
    return pd.Series(ids[chosen[gid]], index=lines.index, dtype="string")
