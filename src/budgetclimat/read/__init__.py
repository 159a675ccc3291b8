"""Reading budget files into the canonical line model (:mod:`budgetclimat.model`).

The format is recognised from the content (:mod:`.detect`): TOTEM XML is read by :mod:`.totem`;
spreadsheets and delimited text go to :mod:`.tabular`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from budgetclimat import model
from budgetclimat.errors import ConfigError, InvalidDataError
from budgetclimat.read.detect import TOTEM, detect_format
from budgetclimat.read.tabular import read_tabular
from budgetclimat.read.totem import read_totem


def read_budget(
    path: str | Path,
    profile: str | None = None,
    basis: str | None = None,
    file_index: int = 0,
    constants: dict[str, str] | None = None,
) -> model.BudgetDocument:
    """Read one budget file, whatever its format, into a :class:`~budgetclimat.model.BudgetDocument`.

    ``profile="totem"`` forces the TOTEM reader; any other profile is passed to the tabular reader.
    ``basis`` overrides which amount becomes ``amount_cents`` (``executed``, ``voted``…).
    ``file_index`` separates the line ids of several files of the same year, document and budget.
    ``constants`` give values for columns a CSV/XLSX export does not carry (``{"nomenclature": "M57"}``);
    a TOTEM file carries them all in its header, so they do not apply there.
    """
    p = require_files([path])[0]
    if basis is not None and basis not in model.AMOUNT_COLUMNS:
        raise ConfigError("amount-basis-unknown", value=basis, expected=", ".join(model.AMOUNT_COLUMNS))
    kind = TOTEM if profile == TOTEM else detect_format(p)
    if kind == TOTEM:
        if profile not in (None, TOTEM):
            raise ConfigError("profile-not-for-totem", path=str(p), value=profile)
        return read_totem(p, basis=basis, file_index=file_index)
    try:
        return read_tabular(p, profile=profile, basis=basis, file_index=file_index, constants=constants)
    except csv.Error as exc:  # the stdlib reader scans the header rows: e.g. a field over 131,072 characters
        raise InvalidDataError("csv-unreadable", file=p.name, value=str(exc)) from None


def require_files(paths: Iterable[str | Path]) -> list[Path]:
    """``paths`` as :class:`~pathlib.Path`, each an existing regular file, all checked before any is read:
    ``file-not-found``, or ``input-not-a-file`` for a folder, a pipe or a device (:class:`ConfigError`)."""
    files = [Path(p) for p in paths]
    for p in files:
        if not p.is_file():
            raise ConfigError("file-not-found", path=str(p))
    return files


def read_budgets(
    paths: Iterable[str | Path],
    profile: str | None = None,
    basis: str | None = None,
    constants: dict[str, str] | None = None,
) -> list[model.BudgetDocument]:
    """Read several files; files sharing year, document and budget code get distinct line ids
    (``file_index`` = their position among those files, in the order given)."""
    documents = [read_budget(p, profile=profile, basis=basis, constants=constants) for p in require_files(paths)]
    seen: dict[tuple, int] = {}
    for document in documents:
        lines = document.lines
        if lines.empty:
            continue
        key = tuple(lines[c].iloc[0] for c in ("exercice", "doc_type", "budget_code"))
        index = seen.get(key, 0)
        seen[key] = index + 1
        if index:
            document.lines = lines.assign(line_id=model.assign_line_ids(lines, index))
    return documents


__all__ = ["read_budget", "read_budgets", "require_files"]
