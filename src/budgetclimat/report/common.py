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
    """The rows of ``frame`` as JSON-ready dicts."""
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
