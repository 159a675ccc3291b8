"""Reading budget files partition by partition (``classify --engine partitions|dask``).

PLACEHOLDER (branch h12/scale): each file is read whole with :func:`budgetclimat.read.read_budgets` and its
lines are sliced into documents of ``lines`` lines. The **read** helper writes the real streaming module
(a CSV cut at record boundaries, Parquet by row groups); at merge its module replaces this one. The
contract kept here: same signature; ``source_row`` and ``line_id`` identical to a whole-file read; the
raw totals of a file, summed over its partitions, are the file's (here: all on its first partition).
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from budgetclimat import model
from budgetclimat.read import read_budgets


def _expand(paths: Iterable[str | Path] | str | Path) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        text = str(p)
        if any(ch in text for ch in "*?["):
            out.extend(Path(x) for x in sorted(glob.glob(text)))
        elif Path(text).is_dir():
            out.extend(sorted(x for x in Path(text).iterdir() if x.is_file() and not x.name.startswith(".")))
        else:
            out.append(Path(text))
    return out


def iter_partitions(paths, lines: int = 200_000, profile=None, basis=None, constants=None, sheet=None) -> Iterator[model.BudgetDocument]:
    """The documents of ``paths`` (files, folders, globs) in partitions of at most ``lines`` lines each."""
    size = max(int(lines), 1)
    for document in read_budgets(_expand(paths), profile=profile, basis=basis, constants=constants):
        frame = document.lines
        if len(frame) <= size:
            yield document
            continue
        empty_raw = document.raw_totals.iloc[0:0] if document.raw_totals is not None else None
        empty_findings = document.findings.iloc[0:0]
        for k, start in enumerate(range(0, len(frame), size)):
            yield replace(
                document,
                lines=frame.iloc[start:start + size].reset_index(drop=True),
                raw_totals=document.raw_totals if k == 0 else empty_raw,
                findings=document.findings if k == 0 else empty_findings,
            )


__all__ = ["iter_partitions"]
