"""Size limits on input files, checked before any reading work starts.

One place for every limit, so that a hostile or broken file is refused with a clear message instead of
taking the machine down (a 5 KB XLSX naming cell XFD1048576 made the spreadsheet reader allocate the
whole grid; a 1.3 MB zip bomb held a 1 GB sheet). Each limit has a default chosen well above real
budgets, an environment variable and a command-line form to raise it::

    budgetclimat validate big.xlsx --limit unzipped-mb=800 --limit rows=3000000
    BUDGETCLIMAT_LIMIT_UNZIPPED_MB=800 budgetclimat validate big.xlsx

Order of precedence: ``--limit`` (or :func:`override`), then the environment, then the default.

A partitioned read (:mod:`budgetclimat.read.partitions`) checks ``rows`` and ``cells`` on each partition,
and ``file-mb`` does not stop a CSV or Parquet file read in partitions (memory is bounded by the
partition: that is what partitions are for); an XML or spreadsheet file, read whole, is bounded as ever.
A Parquet file read whole is checked from its metadata before any row is read: ``rows`` (its rows and
the names row) and ``cells`` (those rows × its columns) — a Parquet file's compression may be extreme.
This module imports nothing heavy: the CLI reads it to build ``--help``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from budgetclimat import i18n
from budgetclimat.errors import ConfigError, InvalidDataError


@dataclass(frozen=True)
class Limit:
    name: str  # as written in --limit NAME=VALUE
    default: int
    unit: str  # "MB", "" (a count) or "x" (a ratio)
    help: str

    @property
    def env(self) -> str:
        return "BUDGETCLIMAT_LIMIT_" + self.name.upper().replace("-", "_")


LIMITS: dict[str, Limit] = {
    limit.name: limit
    for limit in (
        Limit("file-mb", 200, "MB", "size of an input file on disk (every format; the only bound on an XLS)"),
        Limit("unzipped-mb", 200, "MB", "total uncompressed size of the members of an XLSX/ODS archive"),
        Limit("zip-ratio", 100, "x", "compression ratio of one archive member larger than 1 MB uncompressed"),
        Limit("rows", 1_000_000, "", "rows of a sheet (last row holding a value) or lines of a CSV file"),
        Limit("columns", 1_000, "", "columns of a sheet (last column holding a value)"),
        Limit("cells", 10_000_000, "", "rows × columns of the sheet read (the grid the reader allocates)"),
        Limit("cell-chars", 32_767, "", "characters in one cell or CSV field (Excel's own maximum)"),
    )
}

# A member smaller than this is never refused for its ratio: small highly repetitive XML is normal.
RATIO_FLOOR_BYTES = 1_000_000
MB = 1_000_000

# Rows of a workbook sheet with a row per budget line (« Lignes »), per question × key (« À approfondir ») or per
# finding (« Contrôles »): beyond it the sheet shows the first ones and says how many are not shown and where the
# whole register is. Excel and LibreOffice stop at 1,048,576 rows; 100,000 rows of « Lignes » (about 30 columns,
# 3 million cells, a 15 MB file written in seconds) still open in a spreadsheet in well under a minute, where a
# million rows need minutes and gigabytes. A line not shown keeps its earlier answers (the round trip only
# replaces what a shown row says). ``write_workbook(…, max_sheet_rows=N)`` changes it.
WORKBOOK_SHEET_LINES = 100_000

_overrides: contextvars.ContextVar[Mapping[str, int]] = contextvars.ContextVar("budgetclimat_limits", default={})


def get(name: str) -> int:
    """The value in force for limit ``name``: override, else environment, else default."""
    limit = LIMITS[name]
    overrides = _overrides.get()
    if name in overrides:
        return overrides[name]
    raw = os.environ.get(limit.env)
    if raw is None or not raw.strip():
        return limit.default
    return _positive(name, raw, limit.env)


def _positive(name: str, raw: str, source: str) -> int:
    text = raw.strip().replace("_", "").replace("\u202f", "").replace(" ", "")
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError("limit-invalid", column=name, value=raw, file=source)
    return int(text)


def parse(items: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, int]:
    """``{"unzipped-mb": "800"}`` → ``{"unzipped-mb": 800}``; unknown names and bad values raise ConfigError."""
    pairs = items.items() if isinstance(items, Mapping) else items
    out: dict[str, int] = {}
    for key, raw in pairs:
        name = key.strip().lower().replace("_", "-")
        if name not in LIMITS:
            raise ConfigError("limit-unknown", value=key, expected=", ".join(LIMITS))
        out[name] = _positive(name, str(raw), f"--limit {key}={raw}")
    return out


def set_overrides(values: Mapping[str, int]) -> None:
    """Replace the overrides in force (the CLI's ``--limit``; an empty mapping restores env/defaults)."""
    _overrides.set(dict(values))


@contextlib.contextmanager
def override(**values: int) -> Iterator[None]:
    """``with limits.override(rows=3_000_000):`` — raise (or lower) limits for a block of library calls."""
    token = _overrides.set({**_overrides.get(), **parse({k.replace("_", "-"): str(v) for k, v in values.items()})})
    try:
        yield
    finally:
        _overrides.reset(token)


def format_mb(size: int) -> str:
    return f"{size / MB:.1f}".replace(".", ",") if i18n.language() == "fr" else f"{size / MB:.1f}"


def check_file_size(path: str | Path) -> int:
    """Refuse a file larger than ``file-mb`` from its size on disk; return the size."""
    p = Path(path)
    size = p.stat().st_size
    limit = get("file-mb")
    if size > limit * MB:
        raise InvalidDataError("input-too-large", file=p.name, value=format_mb(size), expected=limit)
    return size


def check_count(name: str, file: str, what: str, found: int) -> None:
    """Refuse ``found`` rows/columns/cells above limit ``name``; ``what`` names what was counted."""
    limit = get(name)
    if found > limit:
        raise InvalidDataError(
            "sheet-too-large", file=file, column=what, value=_count(found), expected=_count(limit),
            limit=name, env=name.upper().replace("-", "_"),
        )


def _count(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f" if i18n.language() == "fr" else ",")


def describe() -> list[dict[str, object]]:
    """Every limit with its value in force, for documentation and ``--help``."""
    return [{"name": l.name, "default": l.default, "value": get(l.name), "env": l.env, "help": l.help} for l in LIMITS.values()]
