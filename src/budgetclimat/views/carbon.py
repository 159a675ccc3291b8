"""The carbon view of a budget: spend-based emission estimates per line, with a physical override.

For each expense line a ``kind: carbon`` rulebook gives a factor **category** (construction works, road
transport, IT services…) or an **exclusion** with a reason (staff costs, debt, financial flows, ordre
operations, subsidies…). The category points to one factor of the loaded tables. Before multiplying,
the amount is brought to the factor's price basis::

    amount_HT      = amount_TTC / (1 + VAT rate of the account)     (if the factor is HT and budget amounts TTC)
    amount_deflated = amount_HT × index[factor price year] / index[budget year]
    amount_factor  = amount_deflated × units of factor currency per euro (price year)
    tCO2e          = amount_factor (k€) × factor (kgCO2e/k€) / 1000

Where a quantity is known for a line (litres of fuel, kWh, tonnes of waste) and the factor is physical,
it replaces the money estimate (``carbon_method = physical``). Emissions are carried per line in whole
grams (int64) so that the total is exactly the sum of the lines; ``tco2e`` is that divided by 10⁶.
Spend-based factors are orders of magnitude: every line carries a low/high range from the factor's
uncertainty; totals of the range treat the factor's error as correlated (:func:`range_sums`): every line at the
factor's low end, then at its high end, so that a cancellation nets against the purchase it cancels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from budgetclimat.errors import WARNING, ConfigError, empty_findings, findings_frame
from budgetclimat.paths import rules_dir
from budgetclimat.rulebook.kinds import UNMAPPED
from budgetclimat.views.base import arrow_of, columns_by_line, isin_mask, per_distinct
from budgetclimat.views.factors import (
    MONETARY_QUANTITY_UNITS,
    Deflator,
    ExchangeRates,
    FactorTable,
    VatRates,
    load_deflator,
    load_exchange_rates,
    load_factor_tables,
    load_vat,
)

SPEND, PHYSICAL, EXCLUDED = "spend", "physical", "excluded"
REGISTER_COLUMNS = ["tco2e", "tco2e_low", "tco2e_high", "carbon_method", "factor_id"]  # per line, in the line register
METHODS = (SPEND, PHYSICAL, EXCLUDED)

LINE_COLUMNS = [
    "line_id", "carbon_category", "factor_id", "carbon_method", "carbon_exclusion", "carbon_rule",
    "vat_rate", "deflator_ratio", "amount_factor_basis", "quantity", "gco2e", "tco2e", "tco2e_low", "tco2e_high",
]


@dataclass
class CarbonSettings:
    """What the carbon view needs besides the lines: factors and the conversions to their price basis."""

    factors: FactorTable
    categories: dict[str, str]  # category -> monetary factor id
    vat: VatRates
    deflator: Deflator
    exchange: ExchangeRates | None = None
    physical_facts: dict[str, str] = field(default_factory=dict)  # answer fact -> physical factor id
    source: str = "<carbon settings>"

    def check(self) -> None:
        ids = self.factors.ids()
        kinds = dict(zip(self.factors.frame["factor_id"], self.factors.frame["kind"], strict=True))
        # a category names a monetary factor (per euro), a physical fact a physical one (per unit)
        for key, mapping, kind in (("categories", self.categories, "monetary"), ("physical_facts", self.physical_facts, "physical")):
            for name, factor in mapping.items():
                if factor not in ids:
                    raise ConfigError("carbon-unknown-factor", file=self.source, factor=factor, context=f"{key}.{name}")
                if kinds[factor] != kind:
                    raise ConfigError("carbon-factor-kind", file=self.source, factor=factor, kind=kinds[factor], expected=kind,
                                      context=f"{key}.{name}")


def default_settings(categories: dict[str, str] | None = None, base: Path | None = None) -> CarbonSettings:
    """The shipped tables: ADEME 2023 ratios (second-hand), derived energy estimates, physical factors."""
    base = base or rules_dir() / "carbon"
    factors = load_factor_tables(sorted((base / "factors").glob("*.csv")))
    settings = CarbonSettings(
        factors=factors,
        categories=categories if categories is not None else _one_monetary_factor_per_category(factors),
        vat=load_vat(base / "conversion" / "vat.yaml"),
        deflator=load_deflator(base / "conversion" / "deflator.csv"),
        exchange=load_exchange_rates(base / "conversion" / "exchange-rates.csv"),
        source=str(base),
    )
    settings.check()
    return settings


def _one_monetary_factor_per_category(factors: FactorTable) -> dict[str, str]:
    monetary = factors.frame[factors.frame["kind"] == "monetary"]
    first = monetary.drop_duplicates("category", keep="first")
    return dict(zip(first["category"], first["factor_id"], strict=True))


@dataclass
class CarbonSums:
    """The carbon view's totals as integers, mergeable across partitions of the lines (``a + b``): whole
    grams and the two ends of the correlated range (:func:`range_sums`: Σ of each line at the factor's low
    end, Σ at its high end), lines and cents per method, per category (category × factor × method) and
    per exclusion reason, and the factor-table rows used (indexed by their position in the table). Tonnes
    and the range's low/high are derived when rendering."""

    lines: int
    gco2e: int
    at_low: int
    at_high: int
    by_method: pd.DataFrame  # index carbon_method (every METHODS): lines, amount_cents, gco2e
    by_category: pd.DataFrame  # index carbon_category, factor_id, carbon_method (sorted): lines, amount_cents, gco2e, at_low, at_high
    by_exclusion: pd.DataFrame  # index carbon_exclusion (sorted): lines, amount_cents
    factors_used: pd.DataFrame  # provenance columns, index: row position in the factor table

    @classmethod
    def of(cls, lines: pd.DataFrame, factors: pd.DataFrame) -> CarbonSums:
        """The sums of per-line estimates ``lines`` (``carbon_method``, ``carbon_category``, ``carbon_exclusion``,
        ``factor_id``, ``amount_cents``, ``gco2e``, ``gco2e_low``, ``gco2e_high``); ``factors``: the factor table."""
        g = lines["gco2e"].to_numpy(dtype="int64")
        low, high = lines["gco2e_low"].to_numpy(dtype="int64"), lines["gco2e_high"].to_numpy(dtype="int64")
        parts = lines.assign(at_low=np.where(g >= 0, low, high), at_high=np.where(g >= 0, high, low))
        by_method = (
            parts.groupby("carbon_method", sort=False)
            .agg(lines=("line_id", "size"), amount_cents=("amount_cents", "sum"), gco2e=("gco2e", "sum"))
            .reindex(list(METHODS), fill_value=0)
        )
        emitting = parts[parts["carbon_method"] != EXCLUDED]
        keyed = emitting.assign(carbon_category=emitting["carbon_category"].fillna(emitting["factor_id"]))
        by_category = keyed.groupby(["carbon_category", "factor_id", "carbon_method"], sort=True).agg(
            lines=("line_id", "size"), amount_cents=("amount_cents", "sum"), gco2e=("gco2e", "sum"), at_low=("at_low", "sum"), at_high=("at_high", "sum"))
        excluded = parts[parts["carbon_method"] == EXCLUDED]
        by_exclusion = excluded.groupby("carbon_exclusion", sort=True).agg(lines=("line_id", "size"), amount_cents=("amount_cents", "sum"))
        used_ids = set("+".join(pd.unique(emitting["factor_id"].dropna().to_numpy(dtype=object))).split("+")) - {""}  # distinct ids joined, not every line's
        provenance = [c for c in ("factor_id", "kind", "category", "label", "value", "unit", "currency", "price_year", "vat_basis",
                                  "region", "uncertainty_pct", "source", "edition", "status", "file") if c in factors.columns]
        used = factors["factor_id"].isin(used_ids).to_numpy(dtype=bool)
        factors_used = factors.loc[used, provenance].set_axis(np.flatnonzero(used), axis=0)
        return cls(len(lines), int(g.sum()), int(parts["at_low"].sum()), int(parts["at_high"].sum()),
                   by_method, by_category, by_exclusion, factors_used)

    def __add__(self, other: CarbonSums) -> CarbonSums:
        def add(a: pd.DataFrame, b: pd.DataFrame, sort: bool) -> pd.DataFrame:
            return pd.concat([a, b]).groupby(level=list(range(a.index.nlevels)), sort=sort).sum()

        factors = pd.concat([self.factors_used, other.factors_used])
        return CarbonSums(
            self.lines + other.lines, self.gco2e + other.gco2e, self.at_low + other.at_low, self.at_high + other.at_high,
            add(self.by_method, other.by_method, False).reindex(list(METHODS), fill_value=0),
            add(self.by_category, other.by_category, True), add(self.by_exclusion, other.by_exclusion, True),
            factors[~factors.index.duplicated()].sort_index(),
        )

    merge = __add__


@dataclass
class CarbonResult:
    """Per-line estimates and the totals rendered from their :class:`CarbonSums`; ``total_gco2e`` is
    exactly ``lines.gco2e.sum()``."""

    lines: pd.DataFrame  # LINE_COLUMNS, one row per line of the input, same order
    sums: CarbonSums
    findings: pd.DataFrame = field(default_factory=empty_findings)  # e.g. deflator-nearest-year warnings

    @property
    def total_gco2e(self) -> int:
        return self.sums.gco2e

    @property
    def total_low_gco2e(self) -> int:
        return min(self.sums.at_low, self.sums.at_high)

    @property
    def total_high_gco2e(self) -> int:
        return max(self.sums.at_low, self.sums.at_high)

    @property
    def by_method(self) -> pd.DataFrame:
        """``carbon_method, lines, amount_cents, tco2e``, one row per method."""
        out = self.sums.by_method.reset_index()
        out["tco2e"] = out["gco2e"] / 1e6
        return out.drop(columns=["gco2e"])

    @property
    def by_category(self) -> pd.DataFrame:
        """``carbon_category, factor_id, carbon_method, lines, amount_cents, tco2e, tco2e_low, tco2e_high``, most tonnes first."""
        t = self.sums.by_category
        at_low, at_high = t["at_low"].to_numpy(dtype="int64"), t["at_high"].to_numpy(dtype="int64")
        out = (
            t[["lines", "amount_cents"]].assign(gco2e=t["gco2e"].astype("int64"), gco2e_low=np.minimum(at_low, at_high).astype("int64"),
                                                  gco2e_high=np.maximum(at_low, at_high).astype("int64"))
            .reset_index().sort_values("gco2e", ascending=False, kind="stable").reset_index(drop=True)
        )
        for column in ("", "_low", "_high"):
            out[f"tco2e{column}"] = out[f"gco2e{column}"] / 1e6
        return out.drop(columns=["gco2e", "gco2e_low", "gco2e_high"])

    @property
    def by_exclusion(self) -> pd.DataFrame:
        """``carbon_exclusion, lines, amount_cents``, largest amount first."""
        return self.sums.by_exclusion.reset_index().sort_values("amount_cents", ascending=False, kind="stable").reset_index(drop=True)

    @property
    def factors_used(self) -> pd.DataFrame:
        """Provenance of every factor applied, in the factor table's order."""
        return self.sums.factors_used.reset_index(drop=True)

    @property
    def tco2e(self) -> float:
        return self.total_gco2e / 1e6

    @property
    def tco2e_low(self) -> float:
        return self.total_low_gco2e / 1e6

    @property
    def tco2e_high(self) -> float:
        return self.total_high_gco2e / 1e6

    def register_columns(self, line_ids: pd.Series) -> dict[str, pd.Series]:
        """Tonnes (and range), method and factor of the lines ``line_ids``, for the line register."""
        found = columns_by_line(self.lines, line_ids, REGISTER_COLUMNS)  # one lookup, a take per column
        if found is not None:
            return found
        per_line = self.lines.set_index("line_id")
        return {name: line_ids.map(per_line[name]) for name in REGISTER_COLUMNS}

    def per_year(self, years: pd.Series) -> dict[int, dict]:
        """Per exercice (``years``: exercice by line id): tCO2e and its range."""
        grouped = range_sums(self.lines.assign(exercice=self.lines["line_id"].map(years)), "exercice")
        return {int(year): {"tco2e": int(g["gco2e"]) / 1e6, "tco2e_low": int(g["gco2e_low"]) / 1e6, "tco2e_high": int(g["gco2e_high"]) / 1e6}
                for year, g in grouped.iterrows()}

    def summary(self, lang: str | None = None) -> dict:
        """A JSON-ready summary (totals, by method, by category, excluded amounts, factor provenance)."""
        return {
            "tco2e": round(self.tco2e, 3),
            "tco2e_low": round(self.tco2e_low, 3),
            "tco2e_high": round(self.tco2e_high, 3),
            "by_method": _records(self.by_method),
            "by_category": _records(self.by_category),
            "excluded": _records(self.by_exclusion),
            "factors": _records(self.factors_used),
        }


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for row in frame.to_dict("records"):
        out.append({k: (None if _isna(v) else (round(v, 3) if isinstance(v, float) else (int(v) if isinstance(v, np.integer) else v)))
                    for k, v in row.items()})
    return out


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def carbon_view(
    lines: pd.DataFrame,
    mapping: pd.DataFrame,
    settings: CarbonSettings,
    quantities: pd.DataFrame | None = None,
) -> CarbonResult:
    """Estimate the emissions of each line.

    ``lines``: canonical lines (``line_id``, ``exercice``, ``nature``, ``amount_cents``).
    ``mapping``: one row per line (``line_id``; ``carbon_category`` or ``carbon_exclusion``; optional
    ``carbon_rule``), e.g. from :func:`mapping_from_outcomes`. A line missing from it is unmapped.
    ``quantities``: optional rows ``line_id, factor_id, quantity`` (in the physical factor's unit); the
    physical estimate replaces the spend-based one on that line unless a rule excluded the line for a
    structural reason (an unmapped line with a quantity is estimated physically).
    """
    base = lines[["line_id", "exercice", "nature", "amount_cents"]].reset_index(drop=True)
    m = mapping.reindex(columns=["line_id", "carbon_category", "carbon_exclusion", "carbon_rule"])
    if _aligned(base["line_id"], m["line_id"]):  # one row per line, in the lines' order (apply_carbon's): no merge needed
        frame = base.copy()
        if frame["line_id"].dtype != m["line_id"].dtype:  # the merge's key column: object when the two sides' dtypes differ
            frame["line_id"] = frame["line_id"].astype(object)
        for column in ("carbon_category", "carbon_exclusion", "carbon_rule"):
            frame[column] = m[column].to_numpy()
    else:
        frame = base.merge(m.drop_duplicates("line_id"), on="line_id", how="left", validate="one_to_one")
    for column in ("carbon_category", "carbon_exclusion", "carbon_rule"):
        frame[column] = frame[column].astype("string")
    unmapped = frame["carbon_category"].isna() & frame["carbon_exclusion"].isna()
    frame["carbon_exclusion"] = frame["carbon_exclusion"].mask(unmapped, UNMAPPED)
    unknown = frame["carbon_category"].notna() & ~isin_mask(frame["carbon_category"], pd.Series(list(settings.categories), dtype="string"))
    if unknown.any():
        raise ConfigError("carbon-unknown-category", file=settings.source, category=frame.loc[unknown, "carbon_category"].iloc[0],
                          expected=", ".join(sorted(settings.categories)))

    spend = frame["carbon_category"].notna() & frame["carbon_exclusion"].isna()
    frame["factor_id"] = per_distinct(frame["carbon_category"], lambda c: c.map(settings.categories)).where(spend).astype("string")
    factors = settings.factors.frame.set_index("factor_id")
    amount_eur = frame["amount_cents"].astype("float64") / 100

    # Conversion to the factor's basis: VAT, price year, currency, quantity unit.
    fid = frame["factor_id"]
    codes, distinct_fid = pd.factorize(fid)  # every factor column read once per distinct factor, through the codes
    distinct_fid = pd.concat([pd.Series(distinct_fid), pd.Series([None], dtype=fid.dtype)], ignore_index=True)  # code -1: no factor

    def of_factor(fn) -> pd.Series:
        return pd.Series(fn(distinct_fid).array.take(codes), index=fid.index)

    vat_basis = of_factor(lambda f: f.map(factors["vat_basis"]).astype("string").fillna(""))
    vat_rate = per_distinct(frame["nature"], settings.vat.rates)  # prefix masks on the distinct accounts, read back by code
    if settings.vat.amounts_include_vat:
        divisor = pd.Series(np.where(vat_basis == "HT", 1 + vat_rate, 1.0), dtype="float64")
    else:
        divisor = pd.Series(np.where(vat_basis == "TTC", 1 / (1 + vat_rate), 1.0), dtype="float64")
    frame["vat_rate"] = pd.Series(np.where(spend & (divisor != 1.0), vat_rate, 0.0), dtype="float64")
    price_year = of_factor(lambda f: f.map(factors["price_year"]).astype("Int64"))
    ratio = pd.Series(np.nan, index=frame.index, dtype="float64")
    nearest: dict[int, int] = {}
    if spend.any():
        nearest = settings.deflator.nearest_years(pd.concat([frame.loc[spend, "exercice"], price_year[spend]]))
        ratio[spend] = settings.deflator.ratio(frame.loc[spend, "exercice"].astype("Int64"), price_year[spend])
        currency = of_factor(lambda f: f.map(factors["currency"]).astype("string").fillna("EUR"))
        if (spend & (currency != "EUR")).any():
            if settings.exchange is None:
                raise ConfigError("exchange-rate-missing", file=settings.source, currency=currency[spend & (currency != "EUR")].iloc[0],
                                  year=int(price_year[spend & (currency != "EUR")].iloc[0]))
            ratio[spend] = ratio[spend] * settings.exchange.per_eur(currency[spend], price_year[spend])
    frame["deflator_ratio"] = ratio
    per_unit = of_factor(lambda f: f.map(factors["quantity_unit"]).map(MONETARY_QUANTITY_UNITS).astype("float64"))
    basis = amount_eur / divisor * ratio / per_unit
    frame["amount_factor_basis"] = basis.where(spend)
    value = of_factor(lambda f: f.map(factors["value"]).astype("float64"))
    kg = (basis * value).where(spend, 0.0)
    uncertainty = of_factor(lambda f: f.map(factors["uncertainty_pct"]).astype("float64").fillna(0.0)) / 100
    frame["carbon_method"] = pd.Series(np.where(spend, SPEND, EXCLUDED), dtype="string")
    frame["quantity"] = pd.Series(np.nan, index=frame.index, dtype="float64")

    if quantities is not None and len(quantities):
        kg, uncertainty = _physical_override(frame, kg, uncertainty, quantities, settings)

    grams = np.rint(kg.to_numpy(dtype="float64") * 1000).astype("int64")
    low = np.rint(grams * np.clip(1 - uncertainty.to_numpy(), 0, None)).astype("int64")
    high = np.rint(grams * (1 + uncertainty.to_numpy())).astype("int64")
    frame["gco2e"] = grams
    frame["gco2e_low"] = np.minimum(low, high)
    frame["gco2e_high"] = np.maximum(low, high)
    frame["tco2e"] = frame["gco2e"] / 1e6
    frame["tco2e_low"] = frame["gco2e_low"] / 1e6
    frame["tco2e_high"] = frame["gco2e_high"] / 1e6
    frame["carbon_exclusion"] = frame["carbon_exclusion"].where(frame["carbon_method"] == EXCLUDED).astype("string")
    frame["carbon_category"] = frame["carbon_category"].where(frame["carbon_method"] != EXCLUDED).astype("string")
    result = _result(frame, settings)
    # One warning per year the price index lacks (a 2026 budget with an index ending in 2025): the run goes on.
    result.findings = findings_frame([
        {"level": WARNING, "code": "deflator-nearest-year", "file": Path(settings.deflator.file).name, "row": None,
         "column": "year", "value": str(asked), "expected": str(used)}
        for asked, used in nearest.items()
    ])
    return result


def _aligned(ids: pd.Series, other: pd.Series) -> bool:
    """Whether ``other`` is ``ids`` row for row (same length, same values, no missing one) and ``ids`` are
    unique: then a left one-to-one merge on them is ``other``'s rows as they are."""
    if len(ids) != len(other) or ids.isna().any() or other.isna().any():
        return False
    if not all(isinstance(d, pd.StringDtype) or d == object for d in (ids.dtype, other.dtype)):
        return False
    a, b = ids.astype("string"), other.astype("string")
    return bool(pc.all(pc.equal(arrow_of(a), arrow_of(b))).as_py()) and pd.Index(a).is_unique
    

def _physical_override(frame, kg, uncertainty, quantities, settings):
    q = quantities.reindex(columns=["line_id", "factor_id", "quantity"]).copy()
    q["quantity"] = pd.to_numeric(q["quantity"], errors="coerce")
    bad = q["quantity"].isna() | (q["quantity"] < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ConfigError("carbon-bad-quantity", file="<quantities>", row=i + 2, column="quantity", value=quantities["quantity"].iloc[i],
                          expected="a number ≥ 0 in the unit of the physical factor")
    factors = settings.factors.frame.set_index("factor_id")
    unknown = ~q["factor_id"].isin(factors.index)
    if unknown.any():
        raise ConfigError("carbon-unknown-factor", file="<quantities>", factor=q.loc[unknown, "factor_id"].iloc[0], context="quantities")
    not_physical = q["factor_id"].map(factors["kind"]) != "physical"
    if not_physical.any():
        f = q.loc[not_physical, "factor_id"].iloc[0]
        raise ConfigError("carbon-factor-kind", file="<quantities>", factor=f, kind=factors.loc[f, "kind"], expected="physical", context="quantities")
    q["kg"] = q["quantity"] * q["factor_id"].map(factors["value"]).astype("float64")
    q["abs_unc"] = q["kg"] * q["factor_id"].map(factors["uncertainty_pct"]).astype("float64") / 100
    per_line = q.groupby("line_id", sort=False).agg(
        kg=("kg", "sum"), abs_unc=("abs_unc", "sum"), quantity=("quantity", "sum"),
        factor_id=("factor_id", lambda s: "+".join(dict.fromkeys(s))),
    )
    eligible = frame["carbon_exclusion"].isna() | (frame["carbon_exclusion"] == UNMAPPED)
    hit = frame["line_id"].isin(per_line.index) & eligible
    if not hit.any():
        return kg, uncertainty
    ids = frame.loc[hit, "line_id"]
    line_kg = ids.map(per_line["kg"]).astype("float64")
    kg = kg.copy()
    uncertainty = uncertainty.copy()
    kg[hit] = line_kg
    # A line with several quantities carries the kg-weighted uncertainty of its factors.
    uncertainty[hit] = (ids.map(per_line["abs_unc"]).astype("float64") / line_kg.where(line_kg != 0, np.nan)).fillna(0.0)
    frame.loc[hit, "factor_id"] = ids.map(per_line["factor_id"]).astype("string")
    frame.loc[hit, "quantity"] = ids.map(per_line["quantity"]).astype("float64")
    frame.loc[hit, "carbon_method"] = PHYSICAL
    frame.loc[hit, "carbon_exclusion"] = pd.NA
    frame.loc[hit, "vat_rate"] = 0.0
    frame.loc[hit, "deflator_ratio"] = np.nan
    frame.loc[hit, "amount_factor_basis"] = np.nan
    return kg, uncertainty


def range_sums(frame: pd.DataFrame, by=None) -> pd.DataFrame:
    """``gco2e``, ``gco2e_low`` and ``gco2e_high`` summed (per ``by`` when given) with the factor's error
    taken as correlated: each line at the factor's low end, then at its high end, summed, and the range is
    the smaller and larger sum. A cancellation line (negative amount) thus nets against the purchase it
    cancels instead of widening the range below zero."""
    g = frame["gco2e"].to_numpy(dtype="int64")
    low, high = frame["gco2e_low"].to_numpy(dtype="int64"), frame["gco2e_high"].to_numpy(dtype="int64")
    parts = pd.DataFrame({"gco2e": g, "_at_low": np.where(g >= 0, low, high), "_at_high": np.where(g >= 0, high, low)}, index=frame.index)
    if by is None:
        sums = parts.sum().to_frame().T
    else:
        keys = [frame[c] for c in by] if isinstance(by, list) else [by if not isinstance(by, str) else frame[by]]
        sums = parts.groupby(keys, sort=True).sum()
    return pd.DataFrame({"gco2e": sums["gco2e"].astype("int64"), "gco2e_low": np.minimum(sums["_at_low"], sums["_at_high"]).astype("int64"),
                         "gco2e_high": np.maximum(sums["_at_low"], sums["_at_high"]).astype("int64")}, index=sums.index)


def _result(frame: pd.DataFrame, settings: CarbonSettings) -> CarbonResult:
    lines = frame[LINE_COLUMNS + ["gco2e_low", "gco2e_high", "amount_cents"]].copy()
    return CarbonResult(lines=lines.drop(columns=["amount_cents"]), sums=CarbonSums.of(lines, settings.factors.frame))


def quantities_from_facts(lines: pd.DataFrame, facts: pd.DataFrame | None, settings: CarbonSettings) -> pd.DataFrame:
    """The facts declared in ``physical_facts`` become quantities (``line_id, factor_id, quantity``): one
    row per line and fact given, fact by fact. ``facts``: the engine's facts (one column per fact) aligned
    with ``lines``."""
    chosen = [c for c in facts.columns if c in settings.physical_facts] if facts is not None else []
    if not chosen:
        return pd.DataFrame({"line_id": pd.Series(dtype="string"), "factor_id": pd.Series(dtype="string"),
                             "quantity": pd.Series(dtype="float64")})
    wide = facts[chosen].reset_index(drop=True)
    wide.insert(0, "line_id", lines["line_id"].reset_index(drop=True).astype("string"))
    given = wide.melt(id_vars="line_id", var_name="fact", value_name="value").dropna(subset=["value"]).astype("string")
    return pd.DataFrame({
        "line_id": given["line_id"],
        "factor_id": given["fact"].map(settings.physical_facts).astype("string"),
        "quantity": pd.to_numeric(given["value"].str.replace(",", ".", regex=False), errors="coerce"),
    }).reset_index(drop=True)
