"""What a view is: the protocol every view of a run follows, what it is given, and the ordered registry.

A view takes the classified lines, the register (which decided the scope), the facts and the rule set, and
returns one object (:class:`View`) holding

* ``lines``: its per-line frame (``line_id`` first), or None for a view that is not per line (territory);
* ``summary(lang)``: what the summary JSON shows under the view's name (and what the Synthèse reads);
* ``sums``: the totals its summary is rendered from, as integers (cents, grams, line counts) with a
  ``merge`` — two partitions' sums merged are the whole run's (shares are derived when rendering only);
  None for a view computed from other views after a run (territory, measures);
* whatever its sheet reads (tables, figures).

Optional: ``per_year(years)`` (the view's per-exercice figures, for ``by_year`` and ``compare``),
``register_columns(line_ids)`` (its columns in the line register), ``findings`` (joined to the run's).

The registry (:data:`VIEWS`) is ordered: the pipeline computes the views in that order, each isolated, a
later view reading the earlier ones through :attr:`ViewInputs.views`; the summary JSON and the workbook
follow the same order. A new view is one module registering a :class:`ViewSpec` (and one sheet registered
with the workbook's view sheets): nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@runtime_checkable
class View(Protocol):
    """One view of a run (see the module doc)."""

    lines: pd.DataFrame | None

    def summary(self, lang: str | None = None) -> object: ...


@dataclass
class ViewInputs:
    """What a view is computed from. ``options``: what the user gave for some views (``territory``: the
    loaded inventory, trajectory and measures; ``weights``/``carbon``: a rulebook replacing the run's);
    ``views``: the views computed before this one, by name."""

    lines: pd.DataFrame
    register: pd.DataFrame
    ruleset: object  # budgetclimat.rulebook.model.RuleSet
    facts: pd.DataFrame | None = None
    options: dict = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)


@dataclass(frozen=True)
class ViewSpec:
    """A registered view: its name (key of ``RunResult.views`` and of the summary JSON) and how it is
    computed (None: the view does not apply to this run, e.g. no territory files given)."""

    name: str
    compute: Callable[[ViewInputs], View | None]


VIEWS: dict[str, ViewSpec] = {}


def register_view(spec: ViewSpec) -> ViewSpec:
    """Add ``spec`` after the views already registered (replacing one of the same name in place)."""
    VIEWS[spec.name] = spec
    return spec


def unregister_view(name: str) -> None:
    VIEWS.pop(name, None)


def in_scope_lines(lines: pd.DataFrame, register: pd.DataFrame) -> pd.Series:
    """Per line of ``lines``, whether the scope rulebooks keep it in scope, as the register records it: a
    line is out when its register rows are out of scope by a scope rule (``scope == "out"`` with the
    rule's id). A line out on one axis only because that axis's rulebook does not cover its nomenclature
    (no rule id) stays in scope: the weighted base counts it, as it counts every in-scope expense."""
    ids = lines["line_id"].astype("string")
    if register is None or not len(register):
        return pd.Series(True, index=lines.index)
    out = (register["scope"].astype("string") == "out").fillna(False) & register["rule_id"].notna()
    ruled_out = register["line_id"].astype("string")[out.to_numpy(dtype=bool)]
    return pd.Series(~isin_mask(ids, ruled_out), index=lines.index)


def arrow_of(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """``values`` as an Arrow array (zero copy for Arrow-backed text), converted once per call."""
    array = values.array if isinstance(values, pd.Series) else values
    try:
        return pa.array(array) if not hasattr(array, "__arrow_array__") else array.__arrow_array__()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array(np.asarray(values, dtype=object), from_pandas=True)


def isin_mask(values: pd.Series, among: pd.Series) -> np.ndarray:
    """Per element of ``values``, whether it is one of ``among``, as a numpy bool array: what
    ``values.isin(among)`` says, by one Arrow hash lookup (``pyarrow.compute.is_in``, a missing value is in
    ``among`` when ``among`` has one) instead of pandas' Python loop over Arrow strings."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    left = arrow_of(values)
    right = arrow_of(among)
    if isinstance(right, pa.ChunkedArray):
        right = right.combine_chunks()
    if right.type != left.type:
        right = right.cast(left.type)
    hit = pc.is_in(left, value_set=right)
    return np.asarray(hit.to_numpy(zero_copy_only=False) if isinstance(hit, pa.Array) else hit.to_numpy(), dtype=bool)



def per_distinct(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn(values)`` for an element-wise ``fn`` (a ``map`` through a table, a cast…), computed once per
    distinct value of ``values`` (``pd.factorize``, a hash pass) and read back through the codes by one
    ``take``: same values, same dtype, same index as ``fn(values)``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.concat([pd.Series(uniques), pd.Series([None], dtype=values.dtype)], ignore_index=True)  # code -1 reads this missing value
    out = fn(distinct)
    return pd.Series(out.array.take(codes), index=values.index, name=values.name)


def columns_by_line(frame: pd.DataFrame, line_ids: pd.Series, names: list[str]) -> dict[str, pd.Series] | None:
    """``{name: line_ids.map(frame.set_index("line_id")[name])}`` by one hash lookup (``get_indexer``) and a
    ``take`` per column instead of a string map per column; None where that shortcut does not apply (line
    ids not unique or missing, no lines): the caller maps."""
    ids = frame["line_id"]
    if not len(frame) or ids.isna().any() or line_ids.isna().any() or pc.count_distinct(arrow_of(ids)).as_py() != len(ids):
        return None
    at = index_in(line_ids, ids)  # (one Arrow hash lookup, without Python strings)
    missing = at < 0
    safe = np.where(missing, 0, at)
    out = {}
    for name in names:
        column = pd.Series(frame[name].array.take(safe), index=line_ids.index, name=line_ids.name)
        out[name] = column.mask(missing) if missing.any() else column
    return out


def index_in(values: pd.Series, among: pd.Series) -> np.ndarray:
    """Per element of ``values``, its position in ``among`` (``among`` unique; -1: absent), as int64: what
    ``pd.Index(among).get_indexer(values)`` gives, by one Arrow hash lookup (``pyarrow.compute.index_in``)
    without converting the text to Python objects."""
    if not len(values):
        return np.zeros(0, dtype="int64")
    left, right = arrow_of(values), arrow_of(among)
    if isinstance(right, pa.ChunkedArray):
        right = right.combine_chunks()
    if right.type != left.type:
        right = right.cast(left.type)
    found = pc.index_in(left, value_set=right)
    found = found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype="int64")
