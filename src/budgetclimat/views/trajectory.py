"""Emission trajectories: yearly caps from a baseline towards a target, as data (YAML).

Shapes (E0 = net emissions of the baseline year t0, ET = target level in year T, N = T − t0):

* ``linear`` (Oslo): ``cap(t) = E0 + (ET − E0)·(t − t0)/N``;
* ``constant_rate``: ``cap(t) = E0·(1 − r)^(t − t0)`` with ``r = 1 − (ET/E0)^(1/N)``;
* ``cumulative_budget``: a stock B of emissions for the years t0+1 … T; ``r`` is chosen so that
  ``Σ_{k=1..N} E0·(1 − r)^k = B`` (solved by bisection; with ``horizon: infinite`` the sum runs to
  infinity and ``1 − r = B/(B + E0)`` exactly);
* ``stepped``: periods with a yearly cap each (SNBC carbon budgets), each with its confidence mark.

The carbon budget of a trajectory is the sum of its caps after the baseline year; the territory view
(:mod:`.territory`) compares it with the inventory to give the stock used and left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import i18n, yamlfile
from budgetclimat.errors import ConfigError

SHAPES = ("linear", "constant_rate", "cumulative_budget", "stepped")
UNITS = {"tCO2e": 1.0, "ktCO2e": 1e3, "MtCO2e": 1e6}


@dataclass
class Trajectory:
    """Yearly caps (tCO2e) from the baseline year to the last year, with how they were built."""

    id: str
    title: str
    shape: str
    baseline_year: int
    baseline: float
    caps: pd.DataFrame  # year, cap_tco2e, period, confidence
    rate: float | None = None  # yearly reduction rate (constant_rate, cumulative_budget)
    source: str = ""
    sector_caps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sector", "year", "cap_tco2e", "confidence"]))

    @property
    def budget_tco2e(self) -> float:
        """The carbon budget: the sum of the caps of the years after the baseline year."""
        return float(self.caps.loc[self.caps["year"] > self.baseline_year, "cap_tco2e"].sum())

    def cap(self, year: int) -> float | None:
        hit = self.caps.loc[self.caps["year"] == year, "cap_tco2e"]
        return float(hit.iloc[0]) if len(hit) else None


def constant_rate(baseline: float, target: float, years: int) -> float:
    """``r = 1 − (target/baseline)^(1/years)``: −75 % in 35 years gives r ≈ 3.88 %/yr."""
    return 1 - (target / baseline) ** (1 / years)


def linear_caps(baseline_year: int, baseline: float, target_year: int, target: float) -> pd.DataFrame:
    years = np.arange(baseline_year, target_year + 1)
    caps = baseline + (target - baseline) * (years - baseline_year) / (target_year - baseline_year)
    return _caps(years, caps)


def constant_rate_caps(baseline_year: int, baseline: float, target_year: int, target: float) -> tuple[pd.DataFrame, float]:
    r = constant_rate(baseline, target, target_year - baseline_year)
    years = np.arange(baseline_year, target_year + 1)
    return _caps(years, baseline * (1 - r) ** (years - baseline_year)), r


def budget_sum(baseline: float, q: float, n: int) -> float:
    """``Σ_{k=1..n} baseline·q^k`` in closed form."""
    if abs(1 - q) < 1e-15:
        return baseline * n
    return baseline * q * (1 - q**n) / (1 - q)


def cumulative_budget_rate(baseline: float, budget: float, years: int | None) -> float:
    """The constant yearly reduction rate whose caps after the baseline year sum to ``budget``.

    ``years=None``: infinite horizon, closed form ``1 − r = budget/(budget + baseline)``.
    """
    if years is None:
        return 1 - budget / (budget + baseline)
    lo, hi = 0.0, 1.0
    while budget_sum(baseline, hi, years) < budget:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if budget_sum(baseline, mid, years) < budget:
            lo = mid
        else:
            hi = mid
    return 1 - (lo + hi) / 2


def _caps(years, caps, period=None, confidence=None) -> pd.DataFrame:
    n = len(years)
    return pd.DataFrame({
        "year": pd.Series(years, dtype="int64"),
        "cap_tco2e": pd.Series(caps, dtype="float64"),
        "period": pd.Series(period if period is not None else [pd.NA] * n, dtype="string"),
        "confidence": pd.Series(confidence if confidence is not None else [pd.NA] * n, dtype="string"),
    })


def load_trajectory(path: str | Path) -> Trajectory:
    """Load a trajectory YAML (see ``docs/view-trajectory.md``); every mistake names file, line and key."""
    path = Path(path)
    raw = yamlfile.load_file(path)

    def fail(node, key: str, detail: str, expected: str):
        line = node.line_of(key.split(".")[-1]) if isinstance(node, yamlfile.MDict) else getattr(node, "line", 1)
        raise ConfigError("trajectory-bad", file=str(path), line=line, key=key, detail=detail, expected=expected)

    if not isinstance(raw, dict) or not isinstance(raw.get("trajectory"), dict):
        raise ConfigError("trajectory-bad", file=str(path), line=1, key="trajectory", detail=i18n.t("detail.block-missing"),
                          expected="trajectory: {id, shape, baseline, target | budget | periods}")
    t = raw["trajectory"]
    known = {"id", "title", "source", "unit", "shape", "baseline", "target", "budget", "horizon", "until", "periods", "sectors", "note"}
    for key in t:
        if key not in known:
            fail(t, f"trajectory.{key}", i18n.t("detail.unknown-key"), ", ".join(sorted(known)))
    shape = t.get("shape")
    if shape not in SHAPES:
        fail(t, "trajectory.shape", f"« {shape} »", " | ".join(SHAPES))
    unit = t.get("unit", "tCO2e")
    if unit not in UNITS:
        fail(t, "trajectory.unit", f"« {unit} »", " | ".join(UNITS))
    scale = UNITS[unit]

    def number(node, key, *, positive=False):
        value = node.get(key.split(".")[-1]) if isinstance(node, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (positive and value <= 0) or value < 0:
            fail(node, key, f"« {value} »", i18n.t("expected.positive-number") if positive else i18n.t("expected.number"))
        return float(value)

    def year(node, key):
        value = node.get(key.split(".")[-1]) if isinstance(node, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2200:
            fail(node, key, f"« {value} »", i18n.t("expected.year"))
        return int(value)

    traj_id = str(t.get("id", path.stem))
    title = str(t.get("title", traj_id))
    source = str(t.get("source", ""))
    if shape == "stepped":
        periods = t.get("periods")
        if not isinstance(periods, list) or not periods:
            fail(t, "trajectory.periods", i18n.t("detail.absent-or-empty"), "periods: [{from: 2019, to: 2023, cap: 422, confidence: high}]")
        caps = _periods(periods, "trajectory.periods", scale, fail, number, year)
        first = int(caps["year"].min())
        baseline_node = t.get("baseline")
        if isinstance(baseline_node, dict):
            b_year, b_value = year(baseline_node, "trajectory.baseline.year"), number(baseline_node, "trajectory.baseline.net", positive=True) * scale
            caps = pd.concat([_caps([b_year], [b_value], ["baseline"], ["inventory"]), caps], ignore_index=True)
        else:
            b_year, b_value = first - 1, float("nan")
        sector_caps = pd.DataFrame(columns=["sector", "year", "cap_tco2e", "confidence"])
        sectors = t.get("sectors") or {}
        frames = []
        for sector, sector_periods in sectors.items():
            sc = _periods(sector_periods, f"trajectory.sectors.{sector}", scale, fail, number, year)
            sc.insert(0, "sector", str(sector))
            frames.append(sc[["sector", "year", "cap_tco2e", "confidence"]])
        if frames:
            sector_caps = pd.concat(frames, ignore_index=True)
        return Trajectory(traj_id, title, shape, b_year, b_value, caps, None, source, sector_caps)

    baseline_node = t.get("baseline")
    if not isinstance(baseline_node, dict):
        fail(t, "trajectory.baseline", i18n.t("detail.absent"), "baseline: {year: 2019, net: 1000000}")
    b_year = year(baseline_node, "trajectory.baseline.year")
    b_value = number(baseline_node, "trajectory.baseline.net", positive=True) * scale

    def target(example: str) -> tuple[dict, int]:
        """The ``target`` table and its year, after the baseline year."""
        node = t.get("target")
        if not isinstance(node, dict):
            fail(t, "trajectory.target", i18n.t("detail.absent"), example)
        t_year = year(node, "trajectory.target.year")
        if t_year <= b_year:
            fail(node, "trajectory.target.year", f"{t_year} ≤ {b_year}", i18n.t("expected.year-after-baseline"))
        return node, t_year

    if shape == "cumulative_budget":
        budget = number(t, "trajectory.budget", positive=True) * scale
        horizon = t.get("horizon")
        if horizon == "infinite":
            until = year(t, "trajectory.until")
            r = cumulative_budget_rate(b_value, budget, None)
            years = np.arange(b_year, until + 1)
        else:
            _, t_year = target("target: {year: 2050} (or horizon: infinite with until: year)")
            r = cumulative_budget_rate(b_value, budget, t_year - b_year)
            years = np.arange(b_year, t_year + 1)
        caps = _caps(years, b_value * (1 - r) ** (years - b_year))
        return Trajectory(traj_id, title, shape, b_year, b_value, caps, r, source)

    target_node, t_year = target("target: {year: 2030, net: 250000}")
    t_value = number(target_node, "trajectory.target.net") * scale
    if shape == "linear":
        return Trajectory(traj_id, title, shape, b_year, b_value, linear_caps(b_year, b_value, t_year, t_value), None, source)
    if t_value <= 0:
        fail(target_node, "trajectory.target.net", "0", i18n.t("expected.level-constant-rate"))
    caps, r = constant_rate_caps(b_year, b_value, t_year, t_value)
    return Trajectory(traj_id, title, shape, b_year, b_value, caps, r, source)


def _periods(periods, key, scale, fail, number, year) -> pd.DataFrame:
    if not isinstance(periods, list) or not periods:
        raise ConfigError("trajectory-bad", file="", line=getattr(periods, "line", 1), key=key, detail=i18n.t("detail.absent-or-empty"), expected=i18n.t("expected.periods"))
    frames = []
    for i, p in enumerate(periods):
        pkey = f"{key}[{i + 1}]"
        if not isinstance(p, dict):
            fail(periods, pkey, f"« {p} »", "{from: 2019, to: 2023, cap: 422, confidence: high}")
        start, end = year(p, f"{pkey}.from"), year(p, f"{pkey}.to")
        if end < start:
            fail(p, f"{pkey}.to", f"{end} < {start}", "to ≥ from")
        cap = number(p, f"{pkey}.cap") * scale
        years = np.arange(start, end + 1)
        frames.append(_caps(years, [cap] * len(years), [f"{start}-{end}"] * len(years), [str(p.get("confidence", "unknown"))] * len(years)))
    caps = pd.concat(frames, ignore_index=True)
    if caps["year"].duplicated().any():
        dup = int(caps.loc[caps["year"].duplicated(), "year"].iloc[0])
        fail(periods, key, f"l'année {dup} est dans deux périodes", "periods that do not overlap")
    return caps.sort_values("year").reset_index(drop=True)
