"""The territory's carbon budget: inventory, trajectory, measures tied to the budget lines that pay for them.

* **Inventory** (CSV or YAML rows ``year, sector, emissions_tco2e, removals_tco2e``) → net per year and
  sector.
* **Measures** (Oslo-style: ``id, title, sector, service, lines, natures, fonctions, operations, cost,
  reduction_tco2e_yr, removal_tco2e_yr, status, start_year, end_year, lifetime_years``) are **tied to the
  money**: a measure links budget lines by line id, account prefix, fonction or opération; its cost is the
  voted and executed amounts of those lines. A line linked by several measures is split between them
  in equal parts (largest remainder, to the cent) so that measure costs add up to the money linked.
* **Effects are never double counted**. Within a sector, reductions combine multiplicatively on the
  sector's emissions of the last inventory year: two measures cutting 30 % of transport each cut
  ``1 − 0.7 × 0.7 = 51 %``, not 60 %, and the total can never exceed the sector's emissions. The combined
  effect is attributed back to the measures in proportion to their stand-alone effects. Added removals
  (new sinks) add up. A measure that started in or before the last inventory year is taken as already
  reflected in the inventory: it does not lower the projection again.
* Between two inventory years the net is interpolated linearly. **Projection** after the last inventory year: the last inventory (flat, business as usual) minus the
  active measures. The view gives, per year: cap, inventory net, projected net, measures' effect, gap,
  cumulative stock used and left, and the first year the trajectory is missed. The budget's own
  spend-based tCO2e (carbon view) is shown beside as the collectivité's direct share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import yamlfile
from budgetclimat.engine.matcher import normalise
from budgetclimat.errors import ConfigError
from budgetclimat.money import allocate, parse_cents
from budgetclimat.rulebook.model import classes_of
from budgetclimat.views.trajectory import Trajectory

INVENTORY_COLUMNS = ["year", "sector", "emissions_tco2e", "removals_tco2e"]
MEASURE_COLUMNS = [
    "id", "title", "sector", "service", "lines", "natures", "fonctions", "operations", "aps", "cost", "reduction_tco2e_yr",
    "removal_tco2e_yr", "status", "start_year", "end_year", "lifetime_years",
]  # fmt: skip
MEASURE_REQUIRED = ["id", "sector", "status", "start_year"]
# Compared without accents or case: « Abandonnée », « annulé », "cancelled"…
INACTIVE_STATUSES = ("abandonne", "abandonnee", "abandoned", "cancelled", "canceled", "annule", "annulee")
FAVOURABLE = classes_of("favourable")


def _read_table(path: Path, key: str) -> pd.DataFrame:
    """CSV (UTF-8, ``,`` or ``;``) or YAML (a list of rows under ``key``); every cell as a string. A YAML
    table keeps its rows (``attrs["yaml_rows"]``) so that an error names the line of the value."""
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yamlfile.load_file(path)
        rows = data.get(key) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ConfigError("territory-missing-column", file=str(path), column=key, expected=f"{key}: [ {{…}}, … ]")
        frame = pd.DataFrame(rows)
        for column in frame.columns:
            frame[column] = frame[column].map(lambda v: ";".join(map(str, v)) if isinstance(v, list) else v)
        frame = frame.astype("string")
        frame.attrs["yaml_rows"] = rows
        return frame
    try:
        return pd.read_csv(path, dtype="string", keep_default_na=False, sep=None, engine="python", encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError("territory-unreadable", file=str(path), detail=str(exc)) from None


def _row(frame: pd.DataFrame, i: int, column: str) -> int:
    """The line of row ``i``'s ``column`` in its file: the YAML line of the value, or the CSV row (header 1)."""
    rows = frame.attrs.get("yaml_rows")
    return yamlfile.line_at(rows, (i, column)) if rows is not None else i + 2


def _numbers(frame: pd.DataFrame, column: str, file: str, expected: str, *, required: bool, integer: bool = False) -> pd.Series:
    text = frame[column].astype("string").str.strip().str.replace("\u202f", "").str.replace(" ", "").str.replace(",", ".")
    blank = text.isna() | (text == "")
    values = pd.to_numeric(text.mask(blank), errors="coerce")
    bad = (~blank & values.isna()) | (blank if required else pd.Series(False, index=frame.index))
    if integer:
        bad |= values.notna() & (values != values.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ConfigError("territory-bad-value", file=file, row=_row(frame, i, column), column=column, value=frame[column].iloc[i], expected=expected)
    return values.astype("float64")


def load_inventory(path: str | Path) -> pd.DataFrame:
    """Inventory rows ``year, sector, emissions_tco2e, removals_tco2e`` (+ ``net_tco2e``)."""
    path = Path(path)
    frame = _read_table(path, "inventory")
    for column in INVENTORY_COLUMNS:
        if column not in frame.columns:
            if column == "removals_tco2e":
                frame[column] = "0"
                continue
            raise ConfigError("territory-missing-column", file=str(path), column=column, expected=", ".join(INVENTORY_COLUMNS))
    out = pd.DataFrame({
        "year": _numbers(frame, "year", str(path), "a year", required=True, integer=True).astype("int64"),
        "sector": frame["sector"].astype("string").str.strip(),
        "emissions_tco2e": _numbers(frame, "emissions_tco2e", str(path), "tCO2e ≥ 0", required=True),
        "removals_tco2e": _numbers(frame, "removals_tco2e", str(path), "tCO2e ≥ 0 (captations)", required=False).fillna(0.0),
    })
    out["net_tco2e"] = out["emissions_tco2e"] - out["removals_tco2e"]
    return out


def inventory_net(inventory: pd.DataFrame) -> pd.DataFrame:
    """Net emissions per year (emissions − removals), all sectors."""
    return inventory.groupby("year", as_index=False)[["emissions_tco2e", "removals_tco2e", "net_tco2e"]].sum()


def load_measures(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    frame = _read_table(path, "measures")
    for column in MEASURE_REQUIRED:
        if column not in frame.columns:
            raise ConfigError("territory-missing-column", file=str(path), column=column, expected=", ".join(MEASURE_COLUMNS))
    return conform_measures(frame, str(path))


def conform_measures(frame: pd.DataFrame, file: str = "<measures>") -> pd.DataFrame:
    frame = frame.copy()
    for column in MEASURE_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="string")
    out = pd.DataFrame({c: frame[c].astype("string").str.strip().replace("", pd.NA) for c in MEASURE_COLUMNS if c not in ("cost",)})
    blank_id = out["id"].isna()
    if blank_id.any():
        i = int(np.flatnonzero(blank_id.to_numpy())[0])
        raise ConfigError("territory-bad-value", file=file, row=_row(frame, i, "id"), column="id", value="", expected="a measure id")
    cents, bad = parse_cents(frame["cost"].astype("string"))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ConfigError("territory-bad-value", file=file, row=_row(frame, i, "cost"), column="cost", value=frame["cost"].iloc[i], expected="an amount in euros")
    out["declared_cost_cents"] = cents.astype("Int64")
    out["reduction_tco2e_yr"] = _numbers(frame, "reduction_tco2e_yr", file, "tCO2e per year ≥ 0", required=False).fillna(0.0)
    out["removal_tco2e_yr"] = _numbers(frame, "removal_tco2e_yr", file, "tCO2e per year ≥ 0", required=False).fillna(0.0)
    out["start_year"] = _numbers(frame, "start_year", file, "a year", required=True, integer=True).astype("Int64")
    out["end_year"] = _numbers(frame, "end_year", file, "a year", required=False, integer=True).astype("Int64")
    out["lifetime_years"] = _numbers(frame, "lifetime_years", file, "a number of years", required=False)
    return out.drop(columns=["cost"], errors="ignore").reset_index(drop=True)


# ---- measures tied to the money ------------------------------------------------------------------


def _explode(measures: pd.DataFrame, column: str) -> pd.DataFrame:
    values = measures[["id", column]].dropna()
    values = values.assign(**{column: values[column].str.split(r"\s*[;|]\s*", regex=True)}).explode(column)
    return values[values[column].astype("string").str.len() > 0]


def link_measures(measures: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Which budget line each measure pays with: ``measure_id, line_id, link`` (one row per pair)."""
    frames = []
    ids = _explode(measures, "lines")
    if len(ids):
        hit = ids.merge(lines[["line_id"]], left_on="lines", right_on="line_id")
        frames.append(pd.DataFrame({"measure_id": hit["id"], "line_id": hit["line_id"], "link": "line_id"}))
    for column, line_column, how in (("natures", "nature", "prefix"), ("fonctions", "fonction", "prefix"), ("operations", "operation_code", "equal"), ("aps", "ap_code", "equal")):
        keys = _explode(measures, column)
        if not len(keys) or line_column not in lines.columns:
            continue
        values = lines[line_column].astype("string")
        for key, group in keys.groupby(column, sort=False):
            mask = values.str.startswith(str(key)) if how == "prefix" else values == str(key)
            matched = lines.loc[mask.fillna(False).to_numpy(dtype=bool), "line_id"]
            if len(matched):
                frames.append(pd.DataFrame({
                    "measure_id": np.repeat(group["id"].to_numpy(), len(matched)),
                    "line_id": np.tile(matched.to_numpy(), len(group)),
                    "link": line_column,
                }))
    if not frames:
        return pd.DataFrame({"measure_id": pd.Series(dtype="string"), "line_id": pd.Series(dtype="string"), "link": pd.Series(dtype="string")})
    links = pd.concat(frames, ignore_index=True).astype("string")
    return links.drop_duplicates(["measure_id", "line_id"]).reset_index(drop=True)


@dataclass
class MeasuresMoney:
    measures: pd.DataFrame  # one row per measure: voted/executed cents, lines, cost per tonne, effect
    links: pd.DataFrame  # measure_id, line_id, link, voted_cents, executed_cents (shares of the line)
    unfunded: pd.DataFrame  # measures linked to no budget line
    uncovered: pd.DataFrame  # favourable register lines (TF/FSC) no measure pays with

    lines = None  # a view per measure, not per line (budgetclimat.views.base)
    sums = None  # computed again on a merged run: the measures' links are per line

    def summary(self, lang: str | None = None) -> dict:
        """Per measure its lines and money, the measures no line pays for, the favourable lines no measure pays with."""
        return {
            "measures": [
                {"id": str(r["id"]), "sector": None if pd.isna(r["sector"]) else str(r["sector"]),
                 "linked_lines": int(r["linked_lines"]), "voted_cents": int(r["voted_cents"]),
                 "executed_cents": int(r["executed_cents"]), "cost_cents": int(r["cost_cents"]),
                 "cost_eur_per_tco2e_yr": None if pd.isna(r["cost_eur_per_tco2e_yr"]) else round(float(r["cost_eur_per_tco2e_yr"]), 2)}
                for r in self.measures.to_dict("records")
            ],
            "unfunded": self.unfunded["id"].astype(str).tolist(),
            "favourable_lines_uncovered": int(self.uncovered["line_id"].nunique()),
        }


def measures_money(measures: pd.DataFrame, lines: pd.DataFrame, register: pd.DataFrame | None = None) -> MeasuresMoney:
    """Cost of each measure from the voted and executed amounts of its lines; the two checks.

    Cost per tonne: the cost (executed, else voted, else declared) divided by the expected yearly effect
    (€ per tCO2e/yr) and, when ``lifetime_years`` is given, by the effect over the lifetime (€/tCO2e).
    """
    links = link_measures(measures, lines)
    amounts = lines.set_index("line_id")
    per_line = links.groupby("line_id")["measure_id"].transform("size")
    for src, dst in (("voted_cents", "voted_cents"), ("executed_cents", "executed_cents")):
        total = links["line_id"].map(amounts[src] if src in amounts.columns else pd.Series(dtype="Int64")).fillna(0).astype("int64")
        links[dst] = allocate(total, pd.Series(1.0, index=links.index), links["line_id"]) if len(links) else total
    links["shared_with"] = (per_line - 1).astype("int64")
    money = links.groupby("measure_id").agg(linked_lines=("line_id", "size"), voted_cents=("voted_cents", "sum"), executed_cents=("executed_cents", "sum"))
    out = measures.merge(money, left_on="id", right_index=True, how="left")
    for column in ("linked_lines", "voted_cents", "executed_cents"):
        out[column] = out[column].fillna(0).astype("int64")
    cost = out["executed_cents"].where(out["executed_cents"] != 0, out["voted_cents"])
    cost = cost.where(cost != 0, out["declared_cost_cents"].astype("Float64").fillna(0).astype("int64"))
    out["cost_cents"] = cost.astype("int64")
    effect = out["reduction_tco2e_yr"] + out["removal_tco2e_yr"]
    # No known cost (no line, nothing declared) is no cost per tonne, not a free tonne.
    known_cost = out["cost_cents"].where(out["cost_cents"] != 0)
    out["cost_eur_per_tco2e_yr"] = (known_cost / 100 / effect.where(effect > 0)).astype("float64")
    out["cost_eur_per_tco2e"] = (out["cost_eur_per_tco2e_yr"] / out["lifetime_years"]).astype("float64")
    unfunded = out.loc[out["linked_lines"] == 0, ["id", "title", "sector", "service", "status"]].reset_index(drop=True)
    uncovered = pd.DataFrame(columns=["line_id", "axis", "class", "amount_cents"])
    if register is not None and len(register):
        fav = register[register["class"].isin(FAVOURABLE)]
        amount = "amount_share_cents" if "amount_share_cents" in fav.columns else "amount_cents"
        uncovered = (fav[~fav["line_id"].isin(links["line_id"])]
                     .groupby(["line_id", "axis", "class"], as_index=False, sort=False)[amount].sum()
                     .rename(columns={amount: "amount_cents"}))
    return MeasuresMoney(out, links, unfunded, uncovered)


# ---- effects and projection ----------------------------------------------------------------------


def active(measures: pd.DataFrame, year: int) -> pd.Series:
    status = normalise(measures["status"])
    end = measures["end_year"].astype("Float64").fillna(np.inf)
    return (~status.isin(INACTIVE_STATUSES) & (measures["start_year"].astype("Float64") <= year) & (end >= year)).fillna(False).astype(bool)


def combined_effects(measures: pd.DataFrame, sector_emissions: pd.Series, year: int, after_year: int | None = None) -> pd.DataFrame:
    """Effect of each active measure in ``year`` once combined per sector (see module doc).

    ``sector_emissions``: gross emissions per sector (the reference the reductions apply to).
    ``after_year``: only measures starting after it count (those before are in the inventory).
    Returns ``id, sector, standalone_tco2e, reduction_tco2e, removal_tco2e``.
    """
    m = measures[active(measures, year)]
    if after_year is not None:
        m = m[m["start_year"].astype("int64") > after_year]
    if not len(m):
        return pd.DataFrame({"id": pd.Series(dtype="string"), "sector": pd.Series(dtype="string"), "standalone_tco2e": pd.Series(dtype="float64"),
                             "reduction_tco2e": pd.Series(dtype="float64"), "removal_tco2e": pd.Series(dtype="float64")})
    gross = m["sector"].map(sector_emissions).astype("float64").fillna(0.0)
    fraction = (m["reduction_tco2e_yr"] / gross.where(gross > 0)).clip(upper=1.0).fillna(0.0)
    remaining = (1 - fraction).groupby(m["sector"]).transform("prod")
    combined = gross * (1 - remaining)
    standalone = m["reduction_tco2e_yr"].where(gross > 0, 0.0)
    total_standalone = standalone.groupby(m["sector"]).transform("sum")
    attributed = (combined * standalone / total_standalone.where(total_standalone > 0)).fillna(0.0)
    return pd.DataFrame({
        "id": m["id"].to_numpy(), "sector": m["sector"].to_numpy(), "standalone_tco2e": m["reduction_tco2e_yr"].to_numpy(),
        "reduction_tco2e": attributed.to_numpy(), "removal_tco2e": m["removal_tco2e_yr"].to_numpy(),
    })


@dataclass
class TerritoryResult:
    years: pd.DataFrame  # per year: cap, inventory, projection, effects, gap, stock
    effects: pd.DataFrame  # per year × measure: combined effect
    budget_tco2e: float
    year_missed: int | None
    stock_exhausted_year: int | None

    lines = None  # a view per year, not per line (budgetclimat.views.base)
    sums = None  # computed from the inputs and the carbon view's years: again on a merged run

    def summary(self, lang: str | None = None) -> dict:
        rows = [{k: (None if pd.isna(v) else (round(float(v), 3) if isinstance(v, (float, np.floating)) else int(v) if isinstance(v, (np.integer,)) else v))
                 for k, v in r.items()} for r in self.years.to_dict("records")]
        return {"budget_tco2e": round(self.budget_tco2e, 3), "year_missed": self.year_missed,
                "stock_exhausted_year": self.stock_exhausted_year, "years": rows}


def territory_view(inventory: pd.DataFrame, trajectory: Trajectory, measures: pd.DataFrame | None = None,
                   direct: pd.DataFrame | None = None) -> TerritoryResult:
    """Cap, inventory net, projection with measures, gap and stock per year of the trajectory.

    ``direct``: the collectivité's own spend-based estimate per budget year (``year, tco2e, tco2e_low,
    tco2e_high``), shown beside the territory's net as its direct share.
    """
    net = inventory_net(inventory).set_index("year")
    last = int(net.index.max())
    # Years between two inventories: net interpolated linearly (inventories are often every 2–3 years).
    filled = net["net_tco2e"].reindex(range(int(net.index.min()), last + 1)).interpolate(method="index")
    last_sectors = inventory[inventory["year"] == last]
    gross = last_sectors.groupby("sector")["emissions_tco2e"].sum()
    removals = float(last_sectors["removals_tco2e"].sum())
    measures = measures if measures is not None else conform_measures(pd.DataFrame(columns=["id", "sector", "status", "start_year"]))
    rows, effects = [], []
    for year in trajectory.caps["year"].tolist():
        eff = combined_effects(measures, gross, year, after_year=last)
        all_eff = combined_effects(measures, gross, year)
        eff_total = float(eff["reduction_tco2e"].sum() + eff["removal_tco2e"].sum())
        if len(all_eff):
            effects.append(all_eff.assign(year=year))
        actual = float(net.loc[year, "net_tco2e"]) if year in net.index else np.nan
        if year <= last:
            projected = float(filled.get(year, np.nan))
        else:
            projected = float(gross.sum()) - removals - eff_total
        rows.append({"year": year, "cap_tco2e": trajectory.cap(year), "inventory_net_tco2e": actual,
                     "projected_net_tco2e": projected, "bau_net_tco2e": float(gross.sum()) - removals if year > last else projected,
                     "measures_effect_tco2e": float(all_eff["reduction_tco2e"].sum() + all_eff["removal_tco2e"].sum()) if len(all_eff) else 0.0})
    years = pd.DataFrame(rows)
    years = years.merge(trajectory.caps[["year", "period", "confidence"]], on="year", how="left")
    years["gap_tco2e"] = years["projected_net_tco2e"] - years["cap_tco2e"]
    after = years["year"] > trajectory.baseline_year
    years["cumulative_cap_tco2e"] = years["cap_tco2e"].where(after, 0.0).cumsum()
    years["stock_used_tco2e"] = years["projected_net_tco2e"].where(after, 0.0).cumsum()
    budget = trajectory.budget_tco2e
    years["stock_left_tco2e"] = budget - years["stock_used_tco2e"]
    years["missed"] = after & (years["gap_tco2e"] > 1e-9)
    if direct is not None and len(direct):
        d = direct.rename(columns={"tco2e": "direct_tco2e", "tco2e_low": "direct_tco2e_low", "tco2e_high": "direct_tco2e_high"})
        years = years.merge(d[["year"] + [c for c in ("direct_tco2e", "direct_tco2e_low", "direct_tco2e_high") if c in d]], on="year", how="left")
        years["direct_share"] = years["direct_tco2e"] / years["projected_net_tco2e"]
    missed = years.loc[years["missed"], "year"]
    exhausted = years.loc[after & (years["stock_left_tco2e"] < 0), "year"]
    return TerritoryResult(
        years=years,
        effects=pd.concat(effects, ignore_index=True) if effects else pd.DataFrame(columns=["id", "sector", "standalone_tco2e", "reduction_tco2e", "removal_tco2e", "year"]),
        budget_tco2e=budget,
        year_missed=int(missed.iloc[0]) if len(missed) else None,
        stock_exhausted_year=int(exhausted.iloc[0]) if len(exhausted) else None,
    )
