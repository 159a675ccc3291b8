"""The line register (CSV or Parquet) and the summary (JSON) of a run; columns in ``docs/register.md``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from budgetclimat import i18n
from budgetclimat.engine.figures import compute, exercices
from budgetclimat.engine.worklist import attach_worklist
from budgetclimat.errors import ERROR, WARNING, ConfigError, count_level
from budgetclimat.money import euros_text
from budgetclimat.outputs import atomic_output, formula_safe, sha256_of
from budgetclimat.reconcile import all_reconciled
from budgetclimat.rulebook.model import CLASSES, class_label
from budgetclimat.views.base import arrow_of, index_in
from budgetclimat.views.series import per_year_views

LINE_COLUMNS = [
    "line_id", "source_file", "source_row", "collectivite", "exercice", "doc_type", "budget_code", "budget_kind",
    "nomenclature", "section", "sens", "operation", "chapitre", "chapitre_fonction", "nature", "fonction",
    "operation_code", "label",
]  # fmt: skip
REGISTER_EXPORT_COLUMNS = LINE_COLUMNS + [
    "amount", "amount_cents", "axis", "piece", "scope", "scope_reason", "class", "class_label", "share",
    "amount_share", "amount_share_cents", "rule_id", "rationale", "question_id", "question", "allowed_answers",
    "allocation", "decided_by", "comment", "author",
]  # fmt: skip
TEXT_COLUMNS = [
    "source_file", "collectivite", "label", "scope_reason", "class_label", "rationale", "question", "allowed_answers",
    "comment", "author", "operation_code",
]  # fmt: skip


# Rows of the register joined and written at a time: the register streams to its file (a CSV appended to, a
# Parquet file written by row groups), never held whole a second time beside the run's own frames.
REGISTER_BATCH_ROWS = 100_000


def line_register(result) -> pd.DataFrame:
    """The register joined with the line columns (one row per line × axis × piece), euros as exact text."""
    return next(iter_line_register(result, batch_rows=max(len(result.register), 1)))


def iter_line_register(result, batch_rows: int | None = None, *, euro_text: bool = True):
    """:func:`line_register` by batches of ``batch_rows`` (default :data:`REGISTER_BATCH_ROWS`) register rows, in
    order (one empty batch for an empty register).

    What depends on the whole run is computed once, per line, never per register row: the position of each
    register row's line (one hash lookup), the views' per-line columns (taken by those positions in each batch)
    and the class labels (per class). A batch then costs what it holds. ``euro_text=False`` leaves ``amount`` and
    ``amount_share`` as Arrow decimals (for Parquet) instead of exact euro texts."""
    batch_rows = batch_rows or REGISTER_BATCH_ROWS
    lines = result.lines[[c for c in LINE_COLUMNS if c in result.lines.columns] + ["amount_cents"]]
    register = result.register
    at = _line_positions(lines["line_id"], register["line_id"])
    per_line = _view_columns_by_line(result, lines) if at is not None else None
    labels = pd.Series([class_label(c) for c in CLASSES], dtype="string")
    for start in range(0, max(len(register), 1), batch_rows):
        part = register.iloc[start:start + batch_rows]
        if at is None:  # line ids that do not name one line each: the join as pandas does it
            out = part.merge(lines, on="line_id", how="left", validate="many_to_one")
            view_columns = _view_columns(result, out)
        else:
            pos = at[start:start + batch_rows]
            out = part.reset_index(drop=True)
            for column in lines.columns.drop("line_id"):
                out[column] = lines[column].array.take(pos)
            view_columns = list(per_line)
            for name, values in per_line.items():
                out[name] = values.array.take(pos)
        out["amount"] = _euros_of(out["amount_cents"], euro_text)
        out["amount_share"] = _euros_of(out["amount_share_cents"], euro_text)
        known = pd.Index(CLASSES).get_indexer(out["class"].astype(object).where(out["class"].notna(), None))
        out["class_label"] = pd.Series(labels.array.take(known, allow_fill=True), index=out.index)
        yield out[REGISTER_EXPORT_COLUMNS + view_columns]


def _line_positions(line_ids: pd.Series, wanted: pd.Series):
    """Per register row, the position of its line in ``line_ids`` (int64), by one hash lookup; None when a
    left join would not be one take (a line id missing, repeated or absent from the lines)."""
    if line_ids.isna().any() or wanted.isna().any() or pc.count_distinct(arrow_of(line_ids)).as_py() != len(line_ids):
        return None
    at = index_in(wanted, line_ids)
    return None if (at < 0).any() else at


def _euros_of(cents: pd.Series, text: bool):
    """Exact euros of integer cents: the text ``-1234.56`` (:func:`euros_text`), or an Arrow ``decimal128(18, 2)``
    built from the cents themselves (the 128-bit integer of a decimal is its cents at scale 2)."""
    if text:
        return euros_text(cents)
    values = cents.astype("int64").to_numpy()
    words = np.empty((len(values), 2), dtype="int64")  # little-endian 128-bit: low word, then the sign
    words[:, 0] = values
    words[:, 1] = values >> 63
    wide = pa.Array.from_buffers(pa.decimal128(38, 2), len(values), [None, pa.py_buffer(words)])
    return pd.Series(pd.arrays.ArrowExtensionArray(wide.cast(pa.decimal128(18, 2))), index=cents.index)


# The views' per-line columns (``register_columns`` of a view: weights, tonnes) repeated on each axis × piece row.


def _view_columns_by_line(result, lines: pd.DataFrame) -> dict[str, pd.Series]:
    """Every view's register columns for each line of ``lines`` (in its order): asked once, taken per batch."""
    out: dict[str, pd.Series] = {}
    for view in (getattr(result, "views", None) or {}).values():
        columns = getattr(view, "register_columns", None)
        if columns is not None:
            out.update({name: values.reset_index(drop=True) for name, values in columns(lines["line_id"]).items()})
    return out


def _view_columns(result, out: pd.DataFrame) -> list[str]:
    added: list[str] = []
    for view in (getattr(result, "views", None) or {}).values():
        columns = getattr(view, "register_columns", None)
        if columns is None:
            continue
        for name, values in columns(out["line_id"]).items():
            out[name] = values
            added.append(name)
    return added


# CSV as the spreadsheet of the reader's language opens it with a double click: French Excel and
# LibreOffice expect « ; » between fields and a decimal comma; English ones « , » and a point. UTF-8 with
# a BOM in both (Excel reads it as UTF-8 only with the BOM).
CSV_DIALECTS = {"fr": {"sep": ";", "decimal": ","}, "en": {"sep": ",", "decimal": "."}}
EURO_TEXT_COLUMNS = ("amount", "amount_share")


def to_csv(frame: pd.DataFrame, target, lang: str | None = None, header: bool = True) -> None:
    """``frame`` as CSV in the dialect of ``lang`` (default: the current language): separator, decimal
    mark of numbers and of the exact euro texts (``1234,56`` in French)."""
    dialect = CSV_DIALECTS.get(lang or i18n.language(), CSV_DIALECTS["fr"])
    out = frame
    if dialect["decimal"] != ".":
        out = frame.copy()
        for column in EURO_TEXT_COLUMNS:
            if column in out.columns:
                out[column] = out[column].astype("string").str.replace(".", dialect["decimal"], regex=False)
    out.to_csv(target, index=False, header=header, encoding="utf-8-sig", lineterminator="\n", sep=dialect["sep"], decimal=dialect["decimal"])


def write_lines(result, path: str | Path, inputs: Iterable[Path] = (), lang: str | None = None) -> Path:
    """Write the line register to ``path`` (``.csv``: UTF-8 with BOM, in the dialect of ``lang`` — French:
    ``;`` and decimal comma; English: ``,`` and point — see :func:`to_csv`; ``.parquet``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError("register-format", path=str(path))
    with atomic_output(path, inputs) as tmp:
        if suffix == ".csv":
            with open(tmp, "w", encoding="utf-8-sig", newline="") as handle:  # one BOM, then the batches
                for i, frame in enumerate(iter_line_register(result)):
                    for column in TEXT_COLUMNS:
                        frame[column] = formula_safe(frame[column])
                    to_csv(frame, handle, lang, header=i == 0)
        else:
            import pyarrow.parquet as pq

            writer = None
            try:
                for frame in iter_line_register(result, euro_text=False):  # euros as decimal128(18, 2)
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    table = table.replace_schema_metadata(None)  # else pandas would restore the text dtype
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table.cast(writer.schema))  # (a column all missing in a batch keeps the file's type)
            finally:
                if writer is not None:
                    writer.close()
    return path


def _euros(cents: int) -> str:
    return euros_text(pd.Series([cents]))[0]


def summary(result) -> dict:
    """Totals by axis and class (cents and euros), in/out of scope (by reason and by part: revenue, ordre,
    debt, other), counts, reconciliation. The figures are :func:`budgetclimat.engine.figures.compute`'s,
    the ones the terminal and the workbook's Synthèse show."""
    figures = compute(result)  # first: the ranges are computed there, a failure is one of the findings counted below
    out = summary_head(figures, result.ruleset, result.reconciliation, count_level(result.findings, ERROR), count_level(result.findings, WARNING))
    years = exercices(result)
    if len(years) > 1:  # a run over several years: the figures of each (the Synthèse shows the latest)
        out["by_exercice"] = {str(year): compute(result, year).to_json() for year in years}
    out.update(worklist_summary(result))
    return out


def summary_head(figures, ruleset, reconciliation, errors: int, warnings: int) -> dict:
    """The first keys of the summary JSON, shared by the in-memory run (:func:`summary`) and a merged
    partitioned run (:func:`budgetclimat.scale.engine.build_summary`)."""
    return {
        "lines": figures.lines,
        "total_cents": figures.total_cents,
        "total": _euros(figures.total_cents),
        "rulebooks": [{"id": rb.id, "kind": rb.kind, "version": rb.version, "axis": rb.axis, "path": str(rb.path)} for rb in ruleset.rulebooks],
        "reconciliation": {
            "ok": all_reconciled(reconciliation),
            "files": [{"file": r.file, "available": r.available, "ok": r.ok if r.available else None, "ordre_balanced": r.ordre_balanced} for r in reconciliation],
        },
        "findings": {"errors": errors, "warnings": warnings},
        "conventions_applied": figures.conventions_applied,
        "conventions": figures.conventions,
        "axes": {axis: a.to_json() for axis, a in figures.axes.items()},
    }


def worklist_entries(work: pd.DataFrame) -> list[dict]:
    """The summary JSON's ``worklist``: one entry per question × key, in the worklist's order."""
    return [
        {"question_id": str(r.question_id), "key": str(r.key), "axes": str(r.axes).split(","), "lines": int(r.lines),
         "amount_cents": int(r.amount_cents), "service": str(r.service)}
        for r in work.itertuples(index=False)  # one dict per row: the JSON itself is per row
    ]


def worklist_summary(result) -> dict:
    """``worklist``: one entry per question × key, largest euros first; ``carry_over`` when answers were given."""
    if getattr(result, "worklist", None) is None:
        attach_worklist(result)
    work = result.worklist
    out: dict = {"worklist": worklist_entries(work)}
    if getattr(result, "carry_over", None) is not None:
        out["carry_over"] = dict(result.carry_over)
    return out


def views_summary(result) -> dict:
    """Every view's summary under its name, in the views' order: the per-line views (weighted, carbon), then
    their totals per budget year (``by_year``, when there are several exercices), then the others
    (territory, measures)."""
    views = getattr(result, "views", None) or {}
    out: dict = {name: view.summary() for name, view in views.items() if view.lines is not None}
    if out:
        years = per_year_views(result)
        if len(years) > 1:
            out["by_year"] = years
    out.update({name: view.summary() for name, view in views.items() if view.lines is None})
    return out


def write_summary_json(result, path: str | Path, inputs: Iterable[Path] = ()) -> Path:
    path = Path(path)
    data = without_paths(summary(result) | views_summary(result))
    with atomic_output(path, inputs) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def without_paths(data):
    """No path of the machine that ran it in an output: a file is named by its name and, for the rulebooks,
    its sha256 (``{"file": "attenuation.yaml", "sha256": …}`` in place of ``path``)."""
    if isinstance(data, list):
        return [without_paths(v) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if key in ("path", "file") and isinstance(value, str) and value:
            name = Path(value).name
            out["file"] = name
            if key == "path":
                out["sha256"] = sha256_of(value) or None
        else:
            out[key] = without_paths(value)
    return out
