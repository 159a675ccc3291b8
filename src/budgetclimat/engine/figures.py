"""The figures of a run, computed once: the terminal summary (``budgetclimat classify``), the summary JSON
(``--summary-json``) and the Synthèse sheet of the workbook all read :func:`compute`, so they agree.

Per axis, from the register (one row per line × axis × piece) and the lines:

* ``total``: every line read (spending and revenue, real and ordre), cents and lines;
* ``in_scope`` and each I4CE class (cents, lines);
* ``out_of_scope``, split into exactly one of four parts per line (:data:`OUT_PARTS`):

  - ``revenue``: the line is a revenue (sens ``R``), whatever rule excluded it;
  - ``ordre``: an expense that is an opération d'ordre (``operation`` = ``ordre``);
  - ``debt``: an expense excluded by a debt rule of the scope rulebook (:data:`DEBT_RULES`: loan
    principal 16, interest 66);
  - ``other``: every other reason (carried-forward results, contingencies, provisions, atténuations de
    produits, accounts no rulebook of the axis covers…; the reasons are in ``by_reason``).

  The four parts sum to ``out_of_scope`` to the cent, and ``in_scope`` + ``out_of_scope`` = ``total``;
* open questions (lines), who decided (rows of piece 0), the ranges while questions are open
  (:mod:`budgetclimat.engine.bounds`) and the conventions that decided lines of the axis.

Integer cents throughout (``int``); euros as text only when written out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from budgetclimat.engine.conventions import records, usage
from budgetclimat.rulebook.model import CLASSES

OUT_PARTS = ("revenue", "ordre", "debt", "other")
# Scope rules (rules/scope/default.yaml) whose exclusions are the debt: loan principal (16, except the
# investment part of partnership contracts, kept in scope) and financial charges (66).
DEBT_RULES = frozenset({"SCOPE-DETTE-CAPITAL", "SCOPE-DETTE-INTERETS"})


def euros(cents: int) -> str:
    """Integer cents as exact euro text (``-1234.56``), as in the summary JSON."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{units}.{rest:02d}"


@dataclass(frozen=True)
class Amount:
    cents: int = 0
    lines: int = 0

    def to_json(self) -> dict:
        return {"cents": int(self.cents), "euros": euros(self.cents), "lines": int(self.lines)}


@dataclass
class AxisFigures:
    axis: str
    total: Amount
    in_scope: Amount
    out_of_scope: Amount
    out_parts: dict[str, Amount]  # OUT_PARTS, in that order
    by_reason: list[tuple[str | None, Amount]]  # out of scope by the reason written on the register
    classes: dict[str, Amount]  # CLASSES, in that order
    decided_by: dict[str, int]
    questions_open: int  # in-scope lines waiting for an answer
    bounds: object = None  # engine.bounds.AxisBounds, or None when not computed (or not for this subset)
    conventions: list[dict] = field(default_factory=list)  # convention records of this axis that decided lines

    def to_json(self) -> dict:
        """The axis entry of the summary JSON (``docs/register.md``); the keys of earlier versions kept."""
        out = {
            "total": self.total.to_json(),
            "in_scope": self.in_scope.to_json(),
            "out_of_scope": {
                **self.out_of_scope.to_json(),
                "by_reason": [{"reason": reason, **amount.to_json()} for reason, amount in self.by_reason],
                "parts": {part: amount.to_json() for part, amount in self.out_parts.items()},
            },
            "classes": {c: a.to_json() for c, a in self.classes.items()},
            "decided_by": dict(self.decided_by),
            "questions_open": int(self.questions_open),
        }
        if self.bounds is not None:  # ranges while questions are open (engine.bounds)
            out.update(self.bounds.to_json())
        return out


@dataclass
class Figures:
    exercice: int | None  # None: every line of the run
    lines: int
    total_cents: int
    axes: dict[str, AxisFigures]
    conventions_applied: bool = True
    conventions: list[dict] = field(default_factory=list)  # every convention rule, with what it decided here

    def to_json(self) -> dict:
        return {"lines": self.lines, "total_cents": self.total_cents, "total": euros(self.total_cents),
                "axes": {axis: a.to_json() for axis, a in self.axes.items()}}


def out_part(register: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """The part of :data:`OUT_PARTS` of every out-of-scope row of ``register`` (``<NA>`` on in-scope rows)."""
    attrs = lines.drop_duplicates("line_id")
    attrs.index = attrs["line_id"].astype("string")
    line_id = register["line_id"].astype("string")
    sens = line_id.map(attrs["sens"].astype("string")).fillna("").to_numpy()
    operation = line_id.map(attrs["operation"].astype("string")).fillna("").to_numpy() if "operation" in attrs else np.full(len(register), "")
    rule = register["rule_id"].astype("string").fillna("").to_numpy() if "rule_id" in register else np.full(len(register), "")
    part = np.select([sens == "R", operation == "ordre", np.isin(rule, list(DEBT_RULES))], ["revenue", "ordre", "debt"], "other")
    out = (register["scope"].astype("string") == "out").fillna(False).to_numpy(dtype=bool)
    return pd.Series(part, index=register.index, dtype="string").where(out)


def _get(result, name: str, default=None):
    return result.get(name, default) if isinstance(result, dict) else getattr(result, name, default)


def exercices(result) -> list[int]:
    lines = _get(result, "lines")
    if lines is None or "exercice" not in lines.columns:
        return []
    return sorted(int(x) for x in pd.unique(lines["exercice"].dropna()))


def compute(result, exercice: int | None = None) -> Figures:
    """The figures of ``result`` (a :class:`~budgetclimat.pipeline.RunResult`), for every line or for the
    lines of one ``exercice`` (the workbook's Synthèse shows the latest exercice of a run over several).
    The ranges are those of the whole run: given only when the figures cover every line."""
    whole = exercice is None or exercices(result) == [exercice]
    bounds = _get(result, "bounds") if whole else None  # first: a failure joins the findings
    lines, reg = _get(result, "lines"), _get(result, "register")
    missing = {"piece": 0, "rule_id": pd.NA, "question_id": pd.NA, "decided_by": pd.NA, "scope_reason": pd.NA}
    if any(c not in reg.columns for c in missing):  # a minimal register (a workbook written from a dict)
        reg = reg.assign(**{c: v for c, v in missing.items() if c not in reg.columns})
    if not whole:
        lines = lines[lines["exercice"] == exercice]
        reg = reg[reg["line_id"].isin(lines["line_id"])]
    total = int(lines["amount_cents"].astype("int64").sum())
    conventions = _conventions(result, reg, lines, None if whole else exercice)
    axes: dict[str, AxisFigures] = {}
    reg = reg.assign(_part=out_part(reg, lines).to_numpy())
    for axis, rows in reg.groupby("axis", sort=False):
        axes[str(axis)] = _axis(str(axis), rows, total, len(lines), bounds, conventions)
    ruleset = _get(result, "ruleset")
    return Figures(exercice=None if whole else exercice, lines=int(len(lines)), total_cents=total, axes=axes,
                   conventions_applied=bool(getattr(ruleset, "conventions_applied", True)), conventions=conventions)


def _amount(rows: pd.DataFrame) -> Amount:
    return Amount(int(rows["amount_share_cents"].astype("int64").sum()), int(rows["line_id"].nunique()))


def _axis(axis: str, rows: pd.DataFrame, total: int, n_lines: int, bounds, conventions: list[dict]) -> AxisFigures:
    first = rows[rows["piece"] == 0]
    scope = rows["scope"].astype("string")
    in_rows = rows[(scope == "in").fillna(False).to_numpy(dtype=bool)]
    out_mask = (scope == "out").fillna(False).to_numpy(dtype=bool)
    out_rows = rows[out_mask]
    cents = in_rows.groupby("class")["amount_share_cents"].sum()
    class_lines = in_rows.groupby("class")["line_id"].nunique()
    reasons = out_rows.groupby("scope_reason", dropna=False).agg(cents=("amount_share_cents", "sum"), lines=("line_id", "nunique"))
    per_part = out_rows.groupby("_part").agg(cents=("amount_share_cents", "sum"), lines=("line_id", "nunique"))
    axis_bounds = bounds.axes.get(axis) if bounds is not None and hasattr(bounds, "axes") else None
    return AxisFigures(
        axis=axis,
        total=Amount(total, n_lines),
        in_scope=_amount(in_rows),
        out_of_scope=_amount(out_rows),
        out_parts={p: Amount(int(per_part["cents"].get(p, 0)), int(per_part["lines"].get(p, 0))) for p in OUT_PARTS},
        by_reason=[(None if pd.isna(reason) else str(reason), Amount(int(r["cents"]), int(r["lines"]))) for reason, r in reasons.iterrows()],
        classes={c: Amount(int(cents.get(c, 0)), int(class_lines.get(c, 0))) for c in CLASSES},
        decided_by={str(k): int(v) for k, v in first.groupby("decided_by")["line_id"].size().items()},
        questions_open=int(first[(first["scope"] == "in") & first["question_id"].notna()]["line_id"].nunique()),
        bounds=axis_bounds,
        conventions=[c for c in conventions if c["axis"] == axis and c["lines"]],
    )


def _conventions(result, reg: pd.DataFrame, lines: pd.DataFrame, exercice: int | None) -> list[dict]:
    """Convention records (:func:`budgetclimat.engine.conventions.records`) of the lines covered."""
    ruleset = _get(result, "ruleset")
    if ruleset is None or not hasattr(ruleset, "conventions_applied"):
        return []
    facts = _get(result, "facts")
    if exercice is not None and facts is not None:  # the facts are row-aligned with the lines of the run
        keep = (_get(result, "lines")["exercice"] == exercice).to_numpy()
        facts = facts[keep] if len(facts) == len(keep) else None
    return records(usage(reg, ruleset, lines, facts))
