"""What the reports share: JSON-ready values and the words for a finding's level."""

from __future__ import annotations

import pandas as pd

from budgetclimat import i18n


def level_text(level: str) -> str:
    """``erreur`` / ``avertissement`` / ``information`` (in the current language); an unknown level as is."""
    key = f"cli.classify.level.{level}"
    return i18n.t(key) if key in i18n.catalogue() else level


def plain(value: object) -> object:
    """JSON-ready scalar: pandas NA to None, numpy numbers to Python numbers."""
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as JSON-ready dicts (what :func:`plain` makes of each cell).

    Converted column by column (a column of numbers or texts at once; only object columns cell by
    cell), then zipped into dicts: 300,000 findings take a fraction of a second.
    """
    columns = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            values = [plain(v) for v in column.tolist()]
        else:
            missing = column.isna().to_numpy()
            values = column.astype(object).tolist()
            if missing.any():
                values = [None if m else v for v, m in zip(values, missing.tolist())]
        columns.append(values)
    names = list(frame.columns)
    return [dict(zip(names, row)) for row in zip(*columns)]
