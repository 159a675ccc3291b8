"""One summary per collectivité (SIREN) and the national one, for a run over many collectivités (a DGFiP
balance holds every collectivité of France): ``classify --summary-by-collectivite FILE.parquet`` and the
``collectivites`` entry of the summary JSON.

A row per collectivité × axis (:data:`COLUMNS`): lines, total, in and out of scope, each I4CE class, in
integer cents; the national rows (``level`` = ``national``, empty SIREN) are their sums. The SIREN is the
first 9 digits of the line's ``siret`` column (a SIRET is the SIREN and 5 digits of establishment); lines
without one are grouped under an empty SIREN. Sums of integers: partitions add up exactly.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from budgetclimat.outputs import atomic_output
from budgetclimat.rulebook.model import CLASSES

CLASS_COLUMNS = [f"class_{c}_cents" for c in CLASSES]
SUM_COLUMNS = ["lines", "total_cents", "in_scope_cents", "in_scope_lines", "out_of_scope_cents", *CLASS_COLUMNS, "questions_open"]
COLUMNS = ["level", "siren", "collectivite", "axis", *SUM_COLUMNS]


def siren_of(lines: pd.DataFrame) -> pd.Series:
    """The SIREN of each line: the first 9 digits of ``siret`` ("" without one)."""
    digits = lines["siret"].astype("string").str.replace(r"\D", "", regex=True).fillna("")
    return digits.str.slice(0, 9).astype("string")


def collectivite_sums(lines: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """Per SIREN × axis, the sums of ``lines`` and their ``register`` (:data:`COLUMNS` without ``level``)."""
    lines = lines.reset_index(drop=True)
    siren = siren_of(lines)
    per_line = pd.DataFrame({"siren": siren.to_numpy(), "collectivite": lines["collectivite"].astype("string").to_numpy(),
                             "amount_cents": lines["amount_cents"].astype("int64").to_numpy()})
    head = per_line.groupby("siren", sort=True).agg(collectivite=("collectivite", "first"), lines=("amount_cents", "size"), total_cents=("amount_cents", "sum"))
    reg = register[["line_id", "axis", "piece", "scope", "class", "amount_share_cents", "question_id"]]
    pos = pd.Series(range(len(lines)), index=lines["line_id"].astype("string").to_numpy())
    reg = reg.assign(siren=siren.to_numpy()[pos.reindex(reg["line_id"].astype("string").to_numpy()).to_numpy()])
    scope = reg["scope"].astype("string")
    inside = reg[(scope == "in").fillna(False).to_numpy(dtype=bool)]
    outside = reg[(scope == "out").fillna(False).to_numpy(dtype=bool)]
    keys = ["siren", "axis"]
    axes = reg[keys].drop_duplicates()
    out = axes.merge(head.reset_index(), on="siren", how="left")
    tables = [
        inside.groupby(keys)["amount_share_cents"].sum().rename("in_scope_cents"),
        inside.groupby(keys)["line_id"].nunique().rename("in_scope_lines"),
        outside.groupby(keys)["amount_share_cents"].sum().rename("out_of_scope_cents"),
        inside[(inside["piece"] == 0) & inside["question_id"].notna()].groupby(keys)["line_id"].nunique().rename("questions_open"),
    ]
    classes = inside.groupby(keys + ["class"])["amount_share_cents"].sum().unstack("class")
    classes = classes.reindex(columns=list(CLASSES)).set_axis(CLASS_COLUMNS, axis=1)
    for table in [*tables, classes]:
        out = out.merge(table.reset_index() if isinstance(table, pd.Series) else table.reset_index(), on=keys, how="left")
    for column in SUM_COLUMNS:
        out[column] = out[column].fillna(0).astype("int64")
    return out[["siren", "collectivite", "axis", *SUM_COLUMNS]]


def fold_sums(acc: pd.DataFrame | None, part: pd.DataFrame) -> pd.DataFrame:
    """The sums so far and one more partition's :func:`collectivite_sums`, per SIREN × axis added (first
    name kept): a partitioned run keeps one frame, as long as its collectivités × axes, whatever its number
    of partitions; :func:`merge_sums` of it is that of every partition's."""
    frame = part if acc is None else pd.concat([acc, part], ignore_index=True)
    return frame.groupby(["siren", "axis"], sort=False).agg(collectivite=("collectivite", "first"), **{c: (c, "sum") for c in SUM_COLUMNS}).reset_index()


def merge_sums(parts: list[pd.DataFrame], axes: list[str]) -> pd.DataFrame:
    """The partitions' :func:`collectivite_sums` added, then the national rows: :data:`COLUMNS`, collectivités
    by SIREN, axes in rulebook order, the national rows last."""
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype="string" if c in ("level", "siren", "collectivite", "axis") else "int64") for c in COLUMNS})
    # lines and total are per collectivité (repeated on its axes): a partition adds them once per axis row
    per = frame.groupby(["siren", "axis"], sort=False).agg(collectivite=("collectivite", "first"), **{c: (c, "sum") for c in SUM_COLUMNS}).reset_index()
    order = {a: i for i, a in enumerate(axes)}
    per = per.assign(_a=per["axis"].map(order)).sort_values(["siren", "_a"], kind="stable").drop(columns="_a")
    per.insert(0, "level", "collectivite")
    national = per.groupby("axis", sort=False)[SUM_COLUMNS].sum().reset_index()
    national = national.assign(_a=national["axis"].map(order)).sort_values("_a", kind="stable").drop(columns="_a")
    national.insert(0, "level", "national")
    national.insert(1, "siren", "")
    national.insert(2, "collectivite", pd.NA)
    out = pd.concat([per, national], ignore_index=True)[COLUMNS]
    return out.astype({"level": "string", "siren": "string", "collectivite": "string", "axis": "string"} | {c: "int64" for c in SUM_COLUMNS})


def to_json(table: pd.DataFrame) -> list[dict]:
    """The summary JSON's ``collectivites``: one entry per SIREN, its axes' figures (cents)."""
    out = []
    for siren, rows in table[table["level"] == "collectivite"].groupby("siren", sort=False):
        first = rows.iloc[0]
        out.append({
            "siren": str(siren), "collectivite": None if pd.isna(first["collectivite"]) else str(first["collectivite"]),
            "lines": int(first["lines"]), "total_cents": int(first["total_cents"]),
            "axes": {str(r["axis"]): {"in_scope_cents": int(r["in_scope_cents"]), "in_scope_lines": int(r["in_scope_lines"]),
                                      "out_of_scope_cents": int(r["out_of_scope_cents"]), "questions_open": int(r["questions_open"]),
                                      "classes": {c: int(r[f"class_{c}_cents"]) for c in CLASSES}}
                     for _, r in rows.iterrows()},  # one collectivité's few axes
        })
    return out


def write_table(table: pd.DataFrame, path: str | Path, inputs=()) -> Path:
    """The table as Parquet (``--summary-by-collectivite``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    with atomic_output(path, inputs) as tmp:
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False).replace_schema_metadata(None), tmp)
    return path
