"""Several years: one row per budget year with weighted shares, coloured shares, tCO2e and the cap.

Built from pipeline results (one per file, or one holding several years: lines are grouped by
``exercice``). Amounts stay integer cents; shares are ratios for display.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from budgetclimat.views.trajectory import Trajectory


def _year_of(result) -> pd.Series:
    return result.lines.set_index("line_id")["exercice"].astype("Int64")


def year_frame(result) -> pd.DataFrame:
    """One row per exercice of one run (see :func:`series`): the per-year figures of each view that has
    some (``per_year``: weighted, carbon), then the class shares of each axis."""
    years = _year_of(result)
    rows: dict[int, dict] = {}
    for view in (getattr(result, "views", None) or {}).values():
        per_year = getattr(view, "per_year", None)
        if per_year is None:
            continue
        for year, values in per_year(years).items():
            rows.setdefault(year, {"exercice": year}).update(values)
    register = getattr(result, "register", None)
    if register is not None and len(register):
        reg = register[register["scope"] == "in"].assign(exercice=register["line_id"].map(years))
        for (year, axis), g in reg.groupby(["exercice", "axis"]):
            row = rows.setdefault(int(year), {"exercice": int(year)})
            total = int(g["amount_share_cents"].sum())
            by_class = g.groupby("class")["amount_share_cents"].sum()
            for klass, cents in by_class.items():
                row[f"{axis}_{klass}_share"] = int(cents) / total if total else 0.0
    return pd.DataFrame(list(rows.values()))


def per_year_views(result) -> list[dict]:
    """JSON-ready per-year totals of one run (used by the summary JSON)."""
    frame = year_frame(result)
    out = []
    for record in frame.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and np.isnan(v) else (round(v, 6) if isinstance(v, float) else int(v) if isinstance(v, np.integer) else v))
                    for k, v in record.items()})
    return out


def series(results: list, trajectory: Trajectory | None = None) -> pd.DataFrame:
    """Per-year evolution over several runs: shares per objective, combined share, tCO2e and range, cap.

    A year present in several runs keeps the last run's figures (e.g. a CA replacing a BP of the same
    year). ``trajectory`` adds the territory's cap of each year (``cap_tco2e``) for comparison with the
    collectivité's own (direct) spend-based emissions.
    """
    frames = [year_frame(r) for r in results]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["exercice"])
    out = pd.concat(frames, ignore_index=True).drop_duplicates("exercice", keep="last").sort_values("exercice").reset_index(drop=True)
    if trajectory is not None:
        out["cap_tco2e"] = out["exercice"].map(trajectory.caps.set_index("year")["cap_tco2e"])
        if "tco2e" in out:
            out["direct_share_of_cap"] = out["tco2e"] / out["cap_tco2e"]
    return out
