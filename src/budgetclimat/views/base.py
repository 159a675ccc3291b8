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

import pandas as pd


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
    ruled_out = pd.Index(register.loc[out.to_numpy(dtype=bool), "line_id"].astype("string").unique())
    return pd.Series(~ids.isin(ruled_out).to_numpy(dtype=bool), index=lines.index)
