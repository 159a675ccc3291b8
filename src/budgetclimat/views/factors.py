"""Emission-factor tables, price deflator, VAT rates and exchange rates: data, loaded and checked.

A factor is only usable with its provenance: source, edition, unit, and — for a monetary factor —
currency, price year and VAT basis (HT/TTC). A monetary factor that lacks its price year or VAT basis
is refused at load (:class:`~budgetclimat.errors.ConfigError` naming the file, the row and the column):
multiplying a budget amount by a factor of unknown price basis gives a silently wrong figure.

Rows are numbered as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import i18n, yamlfile
from budgetclimat.errors import ConfigError

KINDS = ("monetary", "physical")
VAT_BASES = ("HT", "TTC")
# Every table has these; monetary rows must also fill MONETARY_REQUIRED.
FACTOR_COLUMNS = [
    "factor_id", "kind", "category", "label", "value", "unit", "quantity_unit", "currency", "price_year",
    "price_basis", "vat_basis", "region", "uncertainty_pct", "source", "edition", "status",
]
ALWAYS_REQUIRED = ["factor_id", "kind", "value", "unit", "quantity_unit", "uncertainty_pct", "source", "status"]
MONETARY_REQUIRED = ["currency", "price_year", "vat_basis"]
# Monetary factors are per thousand units of currency (kgCO2e/k€); the quantity unit says so.
MONETARY_QUANTITY_UNITS = {"k€": 1000, "kEUR": 1000, "kUSD": 1000, "k$": 1000, "€": 1, "EUR": 1, "USD": 1, "$": 1}


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype="string", keep_default_na=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError("factor-file-unreadable", file=str(path), detail=str(exc)) from exc


def _blank(column: pd.Series) -> pd.Series:
    return column.isna() | (column.str.strip() == "")


def _require_columns(frame: pd.DataFrame, path: Path, columns: list[str], expected: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise ConfigError("factor-missing-column", file=str(path), column=column, expected=expected)


def _first_bad(mask: pd.Series) -> int | None:
    hits = np.flatnonzero(mask.to_numpy(dtype=bool))
    return int(hits[0]) if len(hits) else None


def _check_numeric(frame: pd.DataFrame, path: Path, column: str, expected: str, *, rows: pd.Series | None = None,
                   integer: bool = False, minimum: float | None = None) -> pd.Series:
    text = frame[column].str.strip()
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    scope = pd.Series(True, index=frame.index) if rows is None else rows
    bad = scope & ~_blank(frame[column]) & numbers.isna()
    if integer:
        bad |= scope & numbers.notna() & (numbers != numbers.round())
    if minimum is not None:
        bad |= scope & numbers.notna() & (numbers < minimum)
    i = _first_bad(bad)
    if i is not None:
        raise ConfigError("factor-bad-value", file=str(path), row=i + 2, column=column, value=frame[column].iloc[i], expected=expected)
    return numbers


@dataclass
class FactorTable:
    """Factors from one or more tables: one row per factor, provenance columns kept.

    ``frame`` has :data:`FACTOR_COLUMNS` (``value``, ``uncertainty_pct`` float64, ``price_year`` Int64)
    plus any provenance columns of the source files, and ``file``/``row`` saying where each factor was
    defined.
    """

    frame: pd.DataFrame
    files: list[Path] = field(default_factory=list)

    def get(self, factor_id: str) -> pd.Series:
        return self.frame.loc[self.frame["factor_id"] == factor_id].iloc[0]

    def ids(self) -> set[str]:
        return set(self.frame["factor_id"].tolist())

    def __add__(self, other: FactorTable) -> FactorTable:
        merged = pd.concat([self.frame, other.frame], ignore_index=True)
        _check_duplicates(merged)
        return FactorTable(merged, self.files + other.files)


def _check_duplicates(frame: pd.DataFrame) -> None:
    dup = frame["factor_id"].duplicated()
    i = _first_bad(dup)
    if i is not None:
        first = frame.loc[frame["factor_id"] == frame["factor_id"].iloc[i]].iloc[0]
        raise ConfigError(
            "factor-duplicate-id", file=frame["file"].iloc[i], row=int(frame["row"].iloc[i]), value=frame["factor_id"].iloc[i],
            first_row=int(first["row"]), first_file=first["file"],
        )


def load_factor_table(path: str | Path) -> FactorTable:
    """Load and check a factor table (CSV, UTF-8).

    Refused with a :class:`ConfigError` (file, row, column, what was expected): a missing column; a row
    without id, value, unit, source, status or uncertainty; a monetary row without currency, price year or
    VAT basis (HT/TTC); a value that is not a non-negative number; a duplicate id.
    """
    path = Path(path)
    frame = _read_csv(path)
    _require_columns(frame, path, FACTOR_COLUMNS, ", ".join(FACTOR_COLUMNS))
    frame = frame.copy()
    for column in ALWAYS_REQUIRED:
        i = _first_bad(_blank(frame[column]))
        if i is not None:
            raise ConfigError("factor-missing-value", file=str(path), row=i + 2, column=column, expected=_EXPECTED[column])
    kind = frame["kind"].str.strip().str.lower()
    i = _first_bad(~kind.isin(KINDS))
    if i is not None:
        raise ConfigError("factor-bad-value", file=str(path), row=i + 2, column="kind", value=frame["kind"].iloc[i], expected="monetary | physical")
    monetary = kind == "monetary"
    for column in MONETARY_REQUIRED:
        i = _first_bad(monetary & _blank(frame[column]))
        if i is not None:
            raise ConfigError("factor-missing-value", file=str(path), row=i + 2, column=column, expected=_EXPECTED[column])
    vat = frame["vat_basis"].str.strip().str.upper()
    i = _first_bad(monetary & ~vat.isin(VAT_BASES))
    if i is not None:
        raise ConfigError("factor-bad-value", file=str(path), row=i + 2, column="vat_basis", value=frame["vat_basis"].iloc[i], expected="HT | TTC")
    unit = frame["quantity_unit"].str.strip()
    i = _first_bad(monetary & ~unit.isin(list(MONETARY_QUANTITY_UNITS)))
    if i is not None:
        raise ConfigError("factor-bad-value", file=str(path), row=i + 2, column="quantity_unit", value=frame["quantity_unit"].iloc[i],
                          expected=" | ".join(MONETARY_QUANTITY_UNITS))
    value = _check_numeric(frame, path, "value", "a number ≥ 0 (kgCO2e per quantity unit)", minimum=0)
    uncertainty = _check_numeric(frame, path, "uncertainty_pct", "a percentage ≥ 0 (50 for ±50 %)", minimum=0)
    year = _check_numeric(frame, path, "price_year", "a year (2023)", rows=monetary, integer=True, minimum=1900)
    frame["kind"] = kind.astype("string")
    frame["vat_basis"] = vat.where(monetary, pd.NA).astype("string")
    frame["quantity_unit"] = unit.astype("string")
    frame["currency"] = frame["currency"].str.strip().str.upper().where(monetary, pd.NA).astype("string")
    frame["value"] = value.astype("float64")
    frame["uncertainty_pct"] = uncertainty.astype("float64")
    frame["price_year"] = year.where(monetary).round().astype("Int64")
    frame["file"] = pd.Series(str(path), index=frame.index, dtype="string")
    frame["row"] = pd.Series(np.arange(2, len(frame) + 2), index=frame.index, dtype="int64")
    _check_duplicates(frame)
    return FactorTable(frame.reset_index(drop=True), [path])


_EXPECTED = {
    "factor_id": "an identifier ([a-z0-9-]+)",
    "kind": "monetary | physical",
    "value": "a number ≥ 0",
    "unit": "kgCO2e/k€, kgCO2e/L, kgCO2e/kWh…",
    "quantity_unit": "k€ for a monetary factor; L, kWh, t… for a physical one",
    "uncertainty_pct": "a percentage (50 for ±50 %)",
    "source": "where the value comes from",
    "status": "e.g. 'primary', 'second-hand, to verify', 'estimate'",
    "currency": "the currency of the factor's denominator (EUR, USD)",
    "price_year": "the year of the prices of the factor's denominator (a monetary factor is meaningless without it)",
    "vat_basis": "HT or TTC: whether the factor's denominator includes VAT",
}


def load_factor_tables(paths: list[str | Path]) -> FactorTable:
    tables = [load_factor_table(p) for p in paths]
    out = tables[0]
    for t in tables[1:]:
        out = out + t
    return out


# --- Price deflator -----------------------------------------------------------------------------------


@dataclass
class Deflator:
    """A yearly price index: converts euros of one year into euros of another."""

    index: pd.Series  # float64 indexed by int year
    file: str = "<deflator>"

    def nearest_years(self, years: pd.Series) -> dict[int, int]:
        """``{year asked: year used}`` for the years of ``years`` the table lacks: the nearest year of the
        table (the earlier one on a tie). Empty when every year is in the table."""
        have = sorted(int(y) for y in self.index.index)
        asked = sorted(set(pd.unique(pd.Series(years).dropna().astype("int64").to_numpy()).tolist()) - set(have))  # distinct years first: no list of every line
        return {y: min(have, key=lambda h: (abs(h - y), h)) for y in asked}  # a handful of distinct years

    def ratio(self, from_years: pd.Series, to_years: pd.Series) -> pd.Series:
        """Vectorised ``index[to] / index[from]``; a year missing from the table takes the index of the
        nearest year (:meth:`nearest_years`; the caller says so in a ``deflator-nearest-year`` warning)."""
        if not len(self.index):
            raise ConfigError("deflator-missing-year", file=self.file, year=int(pd.concat([from_years, to_years]).dropna().iloc[0]), years="—")
        substitute = self.nearest_years(pd.concat([from_years, to_years]))

        def index_of(years: pd.Series) -> pd.Series:
            y = years.astype("int64")
            return y.replace(substitute).map(self.index).astype("float64") if substitute else y.map(self.index).astype("float64")

        return (index_of(to_years) / index_of(from_years)).astype("float64")


def load_deflator(path: str | Path) -> Deflator:
    path = Path(path)
    frame = _read_csv(path)
    _require_columns(frame, path, ["year", "index", "source", "status"], "year, index, source, status")
    years = _check_numeric(frame, path, "year", "a year", integer=True, minimum=1900)
    index = _check_numeric(frame, path, "index", "a positive price index", minimum=0)
    for column, values in (("year", years), ("index", index)):
        i = _first_bad(values.isna() | (values <= 0))
        if i is not None:
            raise ConfigError("factor-missing-value", file=str(path), row=i + 2, column=column, expected="a positive number")
    return Deflator(pd.Series(index.to_numpy(dtype="float64"), index=years.astype("int64").to_numpy()), str(path))


# --- Exchange rates -----------------------------------------------------------------------------------


@dataclass
class ExchangeRates:
    """Units of a currency per euro, by year (annual averages)."""

    rates: dict[tuple[str, int], float]
    file: str = "<exchange-rates>"

    def per_eur(self, currency: pd.Series, year: pd.Series) -> pd.Series:
        out = pd.Series(1.0, index=currency.index, dtype="float64")
        foreign = currency.notna() & (currency != "EUR")
        for (cur, yr) in pd.MultiIndex.from_arrays([currency[foreign], year[foreign].astype("int64")]).unique():
            if (cur, int(yr)) not in self.rates:
                raise ConfigError("exchange-rate-missing", file=self.file, currency=cur, year=int(yr))
            out[foreign & (currency == cur) & (year == yr)] = self.rates[(cur, int(yr))]
        return out


def load_exchange_rates(path: str | Path) -> ExchangeRates:
    path = Path(path)
    frame = _read_csv(path)
    _require_columns(frame, path, ["currency", "year", "per_eur", "source", "status"], "currency, year, per_eur, source, status")
    years = _check_numeric(frame, path, "year", "a year", integer=True, minimum=1900)
    rates = _check_numeric(frame, path, "per_eur", "units of the currency per euro", minimum=0)
    table = {(c.strip().upper(), int(y)): float(r) for c, y, r in zip(frame["currency"], years, rates, strict=True)}
    return ExchangeRates(table, str(path))


# --- VAT ----------------------------------------------------------------------------------------------


@dataclass
class VatRates:
    """VAT rate per account (longest prefix of ``nature`` wins) and whether budget amounts include VAT."""

    default_rate: float
    by_prefix: list[tuple[str, float, str]]  # (prefix, rate, reason)
    amounts_include_vat: bool = True
    id: str = "vat"
    source: str = ""

    def rates(self, nature: pd.Series) -> pd.Series:
        """The VAT rate of each line's account, vectorised (one mask per configured prefix)."""
        out = pd.Series(self.default_rate, index=nature.index, dtype="float64")
        text = nature.astype("string").fillna("")
        for prefix, rate, _ in sorted(self.by_prefix, key=lambda p: len(p[0])):
            out = out.mask(text.str.startswith(prefix).fillna(False).to_numpy(dtype=bool), rate)
        return out


def load_vat(path: str | Path) -> VatRates:
    path = Path(path)
    data = yamlfile.load_file(path)

    def bad(key: str, detail: str, expected: str) -> ConfigError:
        return ConfigError("vat-bad-config", file=str(path), line=yamlfile.line_at(data, key), key=key, detail=detail, expected=expected)

    if not isinstance(data, dict) or not isinstance(data.get("vat"), dict):
        raise bad("vat", i18n.t("detail.block-missing"), i18n.t("expected.vat-block"))
    vat = data["vat"]
    known = {"id", "source", "amounts_include_vat", "default_rate", "rates"}
    for key in vat:
        if key not in known:
            raise bad(f"vat.{key}", i18n.t("detail.unknown-key"), ", ".join(sorted(known)))
    default = vat.get("default_rate")
    if not isinstance(default, (int, float)) or not 0 <= default < 1:
        raise bad("vat.default_rate", f"{default!r}", "a rate in [0, 1) (0.20 for 20 %)")
    include = vat.get("amounts_include_vat", True)
    if not isinstance(include, bool):
        raise bad("vat.amounts_include_vat", f"{include!r}", "true or false")
    by_prefix: list[tuple[str, float, str]] = []
    for n, item in enumerate(vat.get("rates") or []):
        key = f"vat.rates[{n}]"
        if not isinstance(item, dict) or set(item) - {"nature", "rate", "reason"} or "nature" not in item or "rate" not in item:
            raise bad(key, f"{item!r}", "{nature: [prefixes], rate: 0.055, reason: '…'}")
        rate = item["rate"]
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise bad(key + ".rate", f"{rate!r}", "a rate in [0, 1)")
        natures = item["nature"] if isinstance(item["nature"], list) else [item["nature"]]
        for prefix in natures:
            if not str(prefix).isdigit():
                raise bad(key + ".nature", f"{prefix!r}", "account prefixes as strings of digits")
            by_prefix.append((str(prefix), float(rate), str(item.get("reason", ""))))
    return VatRates(float(default), by_prefix, include, str(vat.get("id", path.stem)), str(vat.get("source", "")))
