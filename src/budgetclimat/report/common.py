"""What the reports share: JSON-ready values and the words for a finding's level."""

from __future__ import annotations

import json

import numpy as np
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


def records_json(frame: pd.DataFrame, indent: int) -> str:
    """``json.dumps(records(frame), ensure_ascii=False, indent=2)`` as it reads nested at ``indent`` spaces
    (a list value in a document dumped with ``indent=2``), byte for byte, built column by column.

    Texts are encoded once per distinct value (``json``'s own encoder), numbers by their text, missing
    values as ``null``; the rows are joined with vectorised string concatenation. Object columns (lists,
    mixed cells) fall back to ``json.dumps`` cell by cell. ``validate --report x.json`` uses it: the
    indenting encoder of ``json`` is pure Python, one call per cell.
    """
    if frame.empty:
        return "[]"
    import pyarrow as pa
    import pyarrow.compute as pc

    encode = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for keys and texts
    item, key = " " * (indent + 2), " " * (indent + 4)
    pieces = []
    for name in frame.columns:
        column = frame[name]
        prefix = f"{key}{encode(str(name))}: "
        if isinstance(column.dtype, pd.StringDtype) or (pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)):
            # One encoding per distinct value, then a vectorised take: "key": "text" / "key": 12 / "key": null.
            codes, uniques = pd.factorize(column)
            distinct = np.asarray(uniques, dtype=object).tolist()
            if isinstance(column.dtype, pd.StringDtype):
                texts = [prefix + encode(u) for u in distinct]
            else:
                texts = [prefix + str(int(u)) for u in distinct]
            table = pa.array([*texts, prefix + "null"], type=pa.string())
            pieces.append(pc.take(table, pa.array(np.where(codes < 0, len(texts), codes))))
        else:
            pieces.append(pa.array([prefix + json.dumps(plain(v), ensure_ascii=False) for v in column.tolist()], type=pa.string()))
    body = pc.binary_join_element_wise(*pieces, ",\n")
    items = pc.binary_join_element_wise(f"{item}{{\n", body, f"\n{item}}}", "")
    whole = pc.binary_join(pa.LargeListArray.from_arrays([0, len(items)], items.cast(pa.large_string())), pa.scalar(",\n", pa.large_string()))[0].as_py()
    return "[\n" + whole + f"\n{' ' * indent}]"


def dumps_with_blocks(document: object, blocks: dict[str, str]) -> str:
    """``json.dumps(document, ensure_ascii=False, indent=2)`` where each value equal to a key of ``blocks`` (a
    unique placeholder text) is replaced by that block's JSON text (from :func:`records_json`)."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    for placeholder, block in blocks.items():
        text = text.replace(json.dumps(placeholder), block, 1)
    return text
