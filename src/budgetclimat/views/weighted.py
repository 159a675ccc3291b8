"""The weighted green budget: a weight 0–1 per objective on each line, totals per objective in cents.

Weights come from ``kind: weights`` rules (``then: {weights: {attenuation: 1.0, eau: significant}}``) or
from the coloured register through a class → weight mapping (``from_classes``). Objectives are the six
axes of the legal annex plus any the user declares.

Exactness: a weight is held in basis points (1/10 000, so 0.4 is 4 000); the weighted amount of a line
is ``cents × bp / 10 000``, an exact rational. Each objective's total is that exact sum rounded half up
to the cent, and the line amounts are its largest-remainder split, so lines always sum to the total —
no float is ever summed.

Per-objective totals are never added into one figure silently: the EU counts one euro under several
objectives on purpose. The combined green share takes, by default, the largest weight of a line across
objectives (``combine: max``); ``combine: sum`` adds them and is labelled as double counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from budgetclimat import i18n
from budgetclimat.errors import ConfigError
from budgetclimat.rulebook.kinds import BP
from budgetclimat.rulebook.model import AXES
from budgetclimat.views.base import columns_by_line, index_in

COMBINE_RULES = ("max", "sum")


def _cents(numerator: int) -> int:
    """Cents from an exact numerator (cents × bp), rounded half up (away from zero)."""
    return int((Decimal(int(numerator)) / BP).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class WeightedSums:
    """The weighted view's totals as exact integers, mergeable across partitions of the lines (``a + b``):
    base lines and cents, per objective the numerator Σ cents × bp and the lines it weighs, the combined
    numerator. The cents are these numerators rounded (:func:`_cents`), shares are derived when rendering:
    the sums of two halves of a run's lines, merged, are the whole run's to the unit."""

    objectives: tuple[str, ...]
    combine: str
    lines: int
    base_cents: int
    weighted_num: tuple[int, ...]
    lines_weighted: tuple[int, ...]
    combined_num: int

    def __add__(self, other: WeightedSums) -> WeightedSums:
        if (self.objectives, self.combine) != (other.objectives, other.combine):
            raise ValueError(f"weighted sums of other objectives or rule: {self.objectives}/{self.combine} and {other.objectives}/{other.combine}")
        return WeightedSums(self.objectives, self.combine, self.lines + other.lines, self.base_cents + other.base_cents,
                            tuple(a + b for a, b in zip(self.weighted_num, other.weighted_num, strict=True)),
                            tuple(a + b for a, b in zip(self.lines_weighted, other.lines_weighted, strict=True)),
                            self.combined_num + other.combined_num)

    merge = __add__

    @property
    def weighted_cents(self) -> tuple[int, ...]:
        return tuple(_cents(n) for n in self.weighted_num)

    @property
    def combined_cents(self) -> int:
        return _cents(self.combined_num)


@dataclass
class WeightedResult:
    """Weighted amounts per line and per objective, and the combined green share; the totals are rendered
    from :class:`WeightedSums`."""

    lines: pd.DataFrame  # line_id, amount_cents, weight_<obj> (float), weighted_<obj>_cents (int64), weight_combined, weighted_combined_cents
    sums: WeightedSums

    @property
    def objectives(self) -> list[str]:
        return list(self.sums.objectives)

    @property
    def combine(self) -> str:
        return self.sums.combine

    @property
    def base_cents(self) -> int:
        return self.sums.base_cents

    @property
    def combined_cents(self) -> int:
        return self.sums.combined_cents

    @property
    def totals(self) -> pd.DataFrame:
        """``objective, weighted_cents, base_cents, share, lines_weighted``, one row per objective."""
        base_cents = self.base_cents
        table = pd.DataFrame({
            "objective": pd.Series(self.objectives, dtype="string"),
            "weighted_cents": list(self.sums.weighted_cents),
            "lines_weighted": list(self.sums.lines_weighted),
        })
        table["weighted_cents"] = table["weighted_cents"].astype("int64")
        table["base_cents"] = base_cents
        table["share"] = table["weighted_cents"] / base_cents if base_cents else 0.0
        return table[["objective", "weighted_cents", "base_cents", "share", "lines_weighted"]]

    @property
    def double_counting(self) -> bool:
        return self.combine == "sum"

    @property
    def combined_share(self) -> float:
        return self.combined_cents / self.base_cents if self.base_cents else 0.0

    def register_columns(self, line_ids: pd.Series) -> dict[str, pd.Series]:
        """The weight of each objective of the lines ``line_ids`` (empty where a line has none), for the line register."""
        names = [f"weight_{o}" for o in self.objectives]
        found = columns_by_line(self.lines, line_ids, names)
        if found is not None:
            return {name: column.astype("Float64") for name, column in found.items()}
        weights = self.lines.set_index("line_id")[names]
        return {name: line_ids.map(weights[name]).astype("Float64") for name in names}

    def per_year(self, years: pd.Series) -> dict[int, dict]:
        """Per exercice (``years``: exercice by line id): base, weighted cents and share per objective, combined."""
        w = self.lines.assign(exercice=self.lines["line_id"].map(years))
        cents = [f"weighted_{o}_cents" for o in self.objectives] + ["weighted_combined_cents", "amount_cents"]
        out: dict[int, dict] = {}
        for year, g in w.groupby("exercice")[cents].sum().iterrows():
            row = out.setdefault(int(year), {})
            base = int(g["amount_cents"])
            row["base_cents"] = base
            for o in self.objectives:
                row[f"weighted_{o}_cents"] = int(g[f"weighted_{o}_cents"])
                row[f"share_{o}"] = g[f"weighted_{o}_cents"] / base if base else 0.0
            row["combined_rule"] = self.combine
            row["combined_cents"] = int(g["weighted_combined_cents"])
            row["combined_share"] = g["weighted_combined_cents"] / base if base else 0.0
        return out

    def summary(self, lang: str | None = None) -> dict:
        return {
            "base_cents": self.base_cents,
            "objectives": [
                {"objective": r.objective, "weighted_cents": int(r.weighted_cents), "share": round(float(r.share), 6),
                 "lines_weighted": int(r.lines_weighted)}
                for r in self.totals.itertuples()
            ],
            "combined": {
                "rule": self.combine,
                "label": i18n.t(f"weighted.combined.{self.combine}", lang),
                "weighted_cents": self.combined_cents,
                "share": round(self.combined_share, 6),
                "double_counting": self.double_counting,
            },
        }


def weighted_view(lines: pd.DataFrame, weights: pd.DataFrame, *, objectives: list[str] | None = None,
                  combine: str = "max") -> WeightedResult:
    """Weighted amounts of ``lines`` (``line_id``, ``amount_cents``: the base of the shares).

    ``weights`` is long: ``line_id, objective, weight_bp`` and optionally ``amount_cents`` when a line is
    split into pieces with different weights (e.g. from a class split in the register); without it the
    weight applies to the whole line. A line or objective with no row weighs 0. Several rows for one
    line and objective add up (pieces).
    """
    if combine not in COMBINE_RULES:
        raise ConfigError("weights-bad-combine", value=combine, expected=", ".join(COMBINE_RULES))
    objectives = list(objectives or AXES)
    base = lines[["line_id", "amount_cents"]].reset_index(drop=True).copy()
    base["amount_cents"] = base["amount_cents"].astype("int64")
    n = len(base)
    ids = pd.Index(base["line_id"])
    if ids.is_unique:
        num = _numerators(base, weights, ids, objectives)
    else:  # not a run's lines (line ids are unique there): the general path
        w = weights.copy()
        line_amounts = w["line_id"].map(base.set_index("line_id")["amount_cents"])
        w["amount_cents"] = w["amount_cents"].fillna(line_amounts) if "amount_cents" in w.columns else line_amounts
        w = w[w["line_id"].isin(base["line_id"]) & w["objective"].isin(objectives)]
        w["num"] = w["amount_cents"].astype("int64") * w["weight_bp"].astype("int64")
        num = (
            w.pivot_table(index="line_id", columns="objective", values="num", aggfunc="sum", fill_value=0)
            .reindex(index=base["line_id"], columns=objectives, fill_value=0)
            .to_numpy(dtype="int64")
        ) if len(w) else np.zeros((n, len(objectives)), dtype="int64")

    out = base.copy()
    cents = base["amount_cents"].to_numpy()
    safe = np.where(cents == 0, 1, cents)
    for j, objective in enumerate(objectives):
        column = num[:, j]
        out[f"weight_{objective}"] = np.where(cents == 0, 0.0, column / (safe * BP))
        out[f"weighted_{objective}_cents"] = _round_lines(column)

    sign = np.where(cents < 0, -1, 1)
    combined_num = (num * sign[:, None]).max(axis=1) * sign if combine == "max" else num.sum(axis=1)
    if not len(objectives):
        combined_num = np.zeros(n, dtype="int64")
    out["weight_combined"] = np.where(cents == 0, 0.0, combined_num / (safe * BP))
    out["weighted_combined_cents"] = _round_lines(combined_num)

    sums = WeightedSums(
        objectives=tuple(objectives), combine=combine, lines=n, base_cents=int(cents.sum()),
        weighted_num=tuple(int(num[:, j].sum()) for j in range(len(objectives))),
        lines_weighted=tuple(int((num[:, j] != 0).sum()) for j in range(len(objectives))),
        combined_num=int(np.asarray(combined_num, dtype="int64").sum()),
    )
    return WeightedResult(out, sums)


def _numerators(base: pd.DataFrame, weights: pd.DataFrame, ids: pd.Index, objectives: list[str]) -> np.ndarray:
    """Σ cents × bp per line of ``base`` (row, in the order of ``ids``, unique) and objective (column), exact
    int64: each weight row placed by a hash lookup of its line and objective, summed with ``np.add.at``. A
    row of a line or objective not asked for is left out; a row without ``amount_cents`` weighs its line's."""
    num = np.zeros((len(base), len(objectives)), dtype="int64")
    if not len(weights) or not len(objectives):
        return num
    row = index_in(weights["line_id"], base["line_id"]) if _textual(weights["line_id"], base["line_id"]) else ids.get_indexer(weights["line_id"])
    col = pd.Index(objectives).get_indexer(weights["objective"])
    keep = (row >= 0) & (col >= 0)
    if not keep.any():
        return num
    row, col = row[keep], col[keep]
    line_amounts = base["amount_cents"].to_numpy(dtype="int64")[row]
    if "amount_cents" in weights.columns:
        given = weights["amount_cents"][keep]
        amounts = np.where(given.isna().to_numpy(dtype=bool), line_amounts, given.fillna(0).to_numpy(dtype="int64"))
    else:
        amounts = line_amounts
    bp = weights["weight_bp"][keep].astype("int64").to_numpy(dtype="int64")
    np.add.at(num, (row, col), amounts * bp)
    return num


def _textual(*columns: pd.Series) -> bool:
    """Whether every column holds text (Arrow or Python strings): the Arrow hash lookup applies."""
    return all(isinstance(c.dtype, pd.StringDtype) for c in columns)


def _round_lines(numerators: np.ndarray) -> np.ndarray:
    """Cents per line from exact numerators (cents × bp): floor, then the total's cents by largest remainder."""
    numerators = np.asarray(numerators, dtype="int64")
    floor = np.floor_divide(numerators, BP)
    rem = numerators - floor * BP  # in [0, BP)
    total = _cents(int(numerators.sum()))
    left = total - int(floor.sum())
    out = floor.copy()
    if left > 0:
        order = np.lexsort((np.arange(len(rem)), -rem))  # largest remainder first, ties by line order
        out[order[:left]] += 1
    return out


def weights_from_classes(register: pd.DataFrame, mapping: dict[str, int], axis_to_objective: dict[str, str] | None = None) -> pd.DataFrame:
    """Weights from the coloured register: one row per line × axis × piece with ``class`` and
    ``amount_share_cents`` (or ``amount_cents``).

    ``mapping`` gives basis points per class (TF → 10 000…); ``axis_to_objective`` renames axes (identity
    by default). Out-of-scope rows (``class`` missing) weigh nothing. Returns the long frame
    :func:`weighted_view` takes, pieces kept.
    """
    reg = register[register["class"].notna()]
    amount = reg["amount_share_cents"] if "amount_share_cents" in reg.columns else reg["amount_cents"]
    axis = reg["axis"].astype("string")
    if axis_to_objective:
        axis = axis.map(lambda a: axis_to_objective.get(a, a)).astype("string")
    return pd.DataFrame({
        "line_id": reg["line_id"].astype("string").to_numpy(),
        "objective": axis.to_numpy(),
        "weight_bp": reg["class"].map(mapping).fillna(0).astype("int64").to_numpy(),
        "amount_cents": amount.astype("int64").to_numpy(),
    })
