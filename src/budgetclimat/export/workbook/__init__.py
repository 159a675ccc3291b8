"""The council annex workbook: Synthèse, coloured / weighted / carbon views, legal annex, the line register
with editable answer columns, the worklist for services, checks and method — and reading answers back.

    write_workbook(result, "annexe.xlsx")              # French; lang="en" for English
    answers = read_workbook_answers("annexe.xlsx")     # after services filled it in
    previous = read_previous_classes("annexe.xlsx")    # to list what changed on the next run

``docs/workbook.md`` describes every sheet.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import functools
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from budgetclimat import i18n
from budgetclimat.limits import WORKBOOK_SHEET_LINES
from budgetclimat.outputs import atomic_output, not_writable

from . import labels as _labels
from .annex import load_definitions
from .context import Context
from .frames import line_axis_count, prepare
from .grid import Styles, discard_pending, save_reproducible
from .hidden import current_classes, declare_lists, write_lists, write_meta
from .roundtrip import compute_changes, is_budgetclimat_workbook, read_previous_classes, read_workbook_answers
from .sheets import VIEW_SHEETS, annex, checks, coloured, evolution, lines, method, summary, worklist

__all__ = ["write_workbook", "read_workbook_answers", "read_previous_classes", "is_budgetclimat_workbook", "resolve_timestamp"]

SHEET_ROW_LIMIT = 1_048_575
# The sheets of the council pack (``write_workbook(…, pack=True)``, ``classify --pack``), by label key.
# (with the view sheets registered in ``sheets.VIEW_SHEETS`` after the coloured budget: weighted, carbon…)
PACK_SHEETS = ("sheet-synthese", "sheet-colore", "sheet-pondere", "sheet-carbone", "sheet-evolution", "sheet-annexe", "sheet-methode")
_DEFAULT_STAMP = datetime(1980, 1, 1)


def resolve_timestamp(timestamp: object = None) -> tuple[datetime, bool]:
    """The workbook's date: ``timestamp`` (datetime, ISO text or epoch seconds), else ``SOURCE_DATE_EPOCH``,
    else a fixed date (1980-01-01) so that the same inputs always give the same bytes. The flag says
    whether the date is a real one (shown in the Synthèse) or the fixed default."""
    if timestamp is None and os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        timestamp = int(os.environ["SOURCE_DATE_EPOCH"].strip())
    if timestamp is None:
        return _DEFAULT_STAMP, False
    if isinstance(timestamp, (int, float)):
        stamp = datetime.fromtimestamp(int(timestamp), tz=timezone.utc)
    elif isinstance(timestamp, str):
        stamp = datetime.fromisoformat(timestamp)
    else:
        stamp = timestamp
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    return stamp.replace(microsecond=0), True


_BUILDING: contextvars.ContextVar[list | None] = contextvars.ContextVar("workbooks_being_built", default=None)


def _clean_on_error(write):
    """On any error or Ctrl-C while a workbook is built or saved: close its streaming sheet writers now
    (no « Exception ignored … Traceback » later) and turn a failure to write (disk full, ``ulimit -f``,
    also in the sheets' temporary files) into ``output-not-writable``. The output itself is atomic."""

    @functools.wraps(write)
    def wrapper(*args, **kwargs):
        path = kwargs["path"] if "path" in kwargs else args[1]
        opened: list = []
        token = _BUILDING.set(opened)
        try:
            return write(*args, **kwargs)
        except BaseException as exc:
            for wb in opened:
                _discard(wb)
            code = str(exc) if type(exc).__name__ == "SerialisationError" else ""  # lxml: "IO_EFBIG", "IO_ENOSPC"…
            if code.startswith("IO_E") and hasattr(errno, code[3:]):
                raise not_writable(Path(path), OSError(getattr(errno, code[3:]), code)) from None
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise not_writable(Path(path), exc) from None
            raise
        finally:
            _BUILDING.reset(token)

    return wrapper


def _discard(wb) -> None:
    """Close the write-only sheets of a workbook that will not be saved, quietly."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None  # a half-written sheet's generator may still complain on close
    discard_pending(wb)  # the rows files of the sheets written as XML (grid.Block)
    try:
        for ws in list(getattr(wb, "_sheets", [])):
            if getattr(ws, "closed", True) is False:
                with contextlib.suppress(Exception):
                    ws.close()
            for stream in (getattr(ws, "_rows", None), getattr(getattr(ws, "_writer", None), "xf", None)):
                if hasattr(stream, "close"):
                    with contextlib.suppress(Exception):
                        stream.close()
    finally:
        sys.unraisablehook = hook


@_clean_on_error
def write_workbook(
    result,
    path: str | Path,
    *,
    lang: str = "fr",
    inputs=(),
    timestamp=None,
    max_sheet_rows: int | None = None,
    answers: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
    options: dict | None = None,
    annex_dir: str | Path | None = None,
    pack: bool = False,
    register: str | Path | None = None,
) -> Path:
    """Write the council annex workbook for a pipeline ``RunResult`` (or any object/dict with ``lines``,
    ``register``, ``findings``, ``reconciliation``, ``documents``, ``ruleset`` and optionally ``views``). Atomic: the file appears complete or not at all; an input is never overwritten.

    ``answers``: the canonical answers frame applied by this run (kept so the next round trip keeps them);
    ``previous``: ``line_id, axis, class_text`` of the previous run (see :func:`read_previous_classes`),
    to list what changed in « Contrôles ».

    ``max_sheet_rows``: at most this many rows in a sheet with a row per line, per question × key or per finding
    (default :data:`budgetclimat.limits.WORKBOOK_SHEET_LINES`); beyond it the sheet shows the first ones and says
    where the whole register is: ``register`` (the ``--lines-out`` file) when given, else a CSV written beside
    the workbook (``<name>-lignes.csv``).

    ``pack``: the council pack — only the sheets a council receives (:data:`PACK_SHEETS`: Synthèse, coloured,
    weighted and carbon budgets, evolution, legal annex, method), without the register, the worklist, the
    checks and the hidden sheets of the round trip; the full workbook keeps them for work.
    """
    from openpyxl import Workbook

    if lang not in i18n.LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    path = Path(path)
    inputs = [Path(p) for p in inputs]
    stamp, real_stamp = resolve_timestamp(timestamp)
    prep = prepare(result)
    if answers is None:
        answers = getattr(result, "answers", None)
    limit = min(max_sheet_rows or WORKBOOK_SHEET_LINES, SHEET_ROW_LIMIT - 10)  # (10: the rows above a table)

    wb = Workbook(write_only=True)
    if _BUILDING.get() is not None:
        _BUILDING.get().append(wb)
    ctx = Context(
        wb=wb, prep=prep, lang=lang, styles=Styles(lang), stamp=stamp, inputs=inputs, answers=answers,
        previous=previous, annex_definitions=load_definitions(annex_dir), max_sheet_rows=limit,
        register_elsewhere=path.with_name(path.stem + "-lignes.csv"), options=dict(options or {}), show_stamp=real_stamp,
        register=None if register is None else Path(register),
    )
    if previous is not None:
        ctx.changes = compute_changes(previous, prep)

    if pack:
        ctx.pack = True
        view_writers = [sheet.write for sheet in VIEW_SHEETS.values() if sheet.pack]
        for write in (summary.write, coloured.write, *view_writers, evolution.write, annex.write, method.write):
            write(ctx)
    else:
        work = worklist.worklist(ctx, result)
        worklist.register_lists(ctx, work)
        declare_lists(ctx)
        summary.write(ctx)
        coloured.write(ctx)
        for sheet in VIEW_SHEETS.values():  # the views' sheets (weighted, carbon…), in their order
            sheet.write(ctx)
        evolution.write(ctx)
        annex.write(ctx)
        lines.write(ctx)
        worklist.write(ctx, work)
        checks.write(ctx)
        method.write(ctx)
        write_lists(ctx)
        # The classes of every line, for « what changed » on the next run: as long as they fit in the hidden sheet.
        fits = line_axis_count(prep.register) + len(prep.lines) < SHEET_ROW_LIMIT - 10_000  # (one row per line × axis)
        write_meta(ctx, current_classes(prep) if fits else None)

    facts = {"collectivite": _labels.collectivite_text(prep.main_lines(), lang), "exercice": prep.main_exercice or ""}
    wb.properties.title = f"{_labels.tr('title', lang, collectivite=facts['collectivite'])} — {facts['exercice']}"
    wb.properties.subject = _labels.tr("props-subject", lang, **facts)
    wb.properties.creator = "budgetclimat"
    wb.properties.lastModifiedBy = "budgetclimat"
    wb.properties.keywords = "budgetclimat; I4CE; budget vert"
    wb.properties.language = lang

    with atomic_output(path, inputs) as tmp:
        save_reproducible(wb, tmp, stamp)
    return path

