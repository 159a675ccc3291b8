"""Errors and findings for finance officers.

Two kinds of trouble reach a user:

* an **exception** that stops the run (:class:`InvalidDataError`, exit code 1: the budget file cannot be
  read; :class:`ConfigError`, exit code 2: a rulebook, profile, option or path is wrong);
* **findings** on data that could be read: each has a level (``error`` / ``warning``), a stable code
  from the catalogue, and the file, row (or XML line), column, value and what was expected.

Findings are a DataFrame with :data:`FINDING_COLUMNS` so that validation stays vectorised; messages are
rendered only when shown, in the user's language.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from budgetclimat import i18n

if TYPE_CHECKING:  # pandas is imported lazily so that `budgetclimat --help` stays instant
    import pandas as pd

EXIT_OK = 0
EXIT_INVALID_DATA = 1
EXIT_USAGE = 2
EXIT_INVARIANT = 3  # a runtime invariant failed: a bug in budgetclimat, nothing was written (pipeline.check_invariants)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)

FINDING_COLUMNS = ["level", "code", "file", "row", "column", "value", "expected"]
ERROR = "error"
WARNING = "warning"
INFO = "info"  # said once, never blocks (e.g. a cp1252 file read as such)


class BudgetclimatError(Exception):
    """Base of every error a user can cause. Carries a catalogue code and its parameters."""

    exit_code = EXIT_USAGE

    def __init__(self, code: str, /, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str | None = None) -> str:
        return i18n.t(self.code, lang, **self.params)


class InvalidDataError(BudgetclimatError):
    """The input budget cannot be read or is invalid (exit code 1)."""

    exit_code = EXIT_INVALID_DATA


class FindingsError(InvalidDataError):
    """The data cannot go further; the message is followed by the findings that say why (exit code 1)."""

    MAX_LISTED = 20

    def __init__(self, code: str, findings: pd.DataFrame, /, **params: object) -> None:
        self.findings = findings
        super().__init__(code, **params)

    def message(self, lang: str | None = None) -> str:
        head = i18n.t(self.code, lang, **self.params)
        rows = self.findings.head(self.MAX_LISTED).to_dict("records")
        listed = [f"  [{r['level']}] {r['code']} : {render_finding(r, lang)}" for r in rows]
        more = len(self.findings) - len(rows)
        if more > 0:
            listed.append(i18n.t("findings-more", lang, n=more))
        return "\n".join([head, *listed])


class InvariantViolated(BudgetclimatError):
    """A runtime invariant of the pipeline failed (lines lost, pieces not summing to their line): a bug in
    budgetclimat, not in the data. Stops the run before anything is written (exit code 3)."""

    exit_code = EXIT_INVARIANT


class ConfigError(BudgetclimatError):
    """A rulebook, profile, answers file, option or path is wrong (exit code 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, code: str, /, **params: object) -> None:
        if code == "file-not-found" and _exists_but_not_a_file(params.get("path")):
            code = "input-not-a-file"  # a FIFO, /dev/stdin, a folder: there, but not « introuvable »
        super().__init__(code, **params)


def _exists_but_not_a_file(path: object) -> bool:
    import os

    try:
        return path is not None and os.path.exists(str(path)) and not os.path.isfile(str(path))
    except (OSError, ValueError):
        return False


def empty_findings() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="string") for c in FINDING_COLUMNS}).astype({"row": "Int64"})


def findings_frame(rows: list[dict]) -> pd.DataFrame:
    """Build a findings frame from a few dicts (for non-vectorised, one-off findings)."""
    import pandas as pd

    if not rows:
        return empty_findings()
    frame = pd.DataFrame(rows).reindex(columns=FINDING_COLUMNS)
    return _normalise(frame)


def concat_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty_findings()
    return _normalise(pd.concat(frames, ignore_index=True).reindex(columns=FINDING_COLUMNS))


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    out = frame.copy()
    for c in FINDING_COLUMNS:
        if c == "row":
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
        else:
            out[c] = out[c].astype("string")
    return out


def render_finding(row: dict, lang: str | None = None) -> str:
    """One finding as a sentence: « fichier f, ligne 12, colonne Montant : … »."""
    import pandas as pd

    params = {k: ("" if pd.isna(v) else v) for k, v in row.items()}
    column = params.get("column")
    if isinstance(column, str) and f"column.{column}" in i18n.catalogue():
        # A column of the line model (« amount_cents ») is said as the reader knows it (« le montant »);
        # the finding keeps the id (JSON, report), the message names what the file calls it.
        params["column"] = i18n.t(f"column.{column}", lang)
    elif isinstance(column, str) and _TOTAL_KEY.fullmatch(column):
        # « F/D/reel », a reconciliation key: « fonctionnement, dépenses, réel »
        params["column"] = ", ".join(i18n.t(f"total-key.{part}", lang) for part in column.split("/"))
    return i18n.t(str(row["code"]), lang, **params)


_TOTAL_KEY = re.compile(r"[FI?]/[DR?]/(?:reel|ordre|\?)")
_ROW_MARK = "\x00\x1frow\x1f\x00"  # stands for the row number in a message rendered once per pattern


def render_findings(findings: pd.DataFrame, lang: str | None = None) -> pd.Series:
    """Every finding's sentence (:func:`render_finding`), vectorised: one rendering per distinct pattern.

    A pattern is a finding without its row (level, code, file, column, value, expected, whether it has a
    row): its message is rendered once with a mark where the row goes, and the row numbers are put in
    by column-wise string concatenation (200,000 findings of ~1,000 patterns: 0.3 s instead of 9 s one
    by one); the text of each is the one :func:`render_finding` gives. Returns a ``string`` Series
    aligned on ``findings``.
    """
    import numpy as np
    import pandas as pd

    if findings.empty:
        return pd.Series([], index=findings.index, dtype="string")
    keys = [c for c in FINDING_COLUMNS if c != "row" and c in findings.columns]
    has_row = findings["row"].notna() if "row" in findings.columns else pd.Series(False, index=findings.index)
    frame = findings[keys].assign(_has_row=has_row.to_numpy())
    ids = frame.groupby([*keys, "_has_row"], dropna=False, sort=False).ngroup().to_numpy()
    firsts = np.flatnonzero(~pd.Series(ids).duplicated().to_numpy())  # the first finding of each pattern, in id order
    patterns = frame.iloc[firsts][keys].astype(object).where(frame.iloc[firsts][keys].notna(), None).to_dict("records")
    parts: list[list[str]] = []
    for pattern, with_row in zip(patterns, has_row.to_numpy()[firsts]):  # one rendering per pattern, not per finding
        pattern["row"] = _ROW_MARK if with_row else None
        parts.append(render_finding(pattern, lang).split(_ROW_MARK))
    width = max(len(p) for p in parts)
    table = np.array([p + [""] * (width - len(p)) for p in parts], dtype=object)
    out = pd.Series(table[ids, 0], index=findings.index, dtype="string")
    if width > 1:
        rows = findings["row"].astype("Int64").astype("string").fillna("")
        for k in range(1, width):
            piece = pd.Series(table[ids, k], index=findings.index, dtype="string")
            placed = pd.Series([len(p) > k for p in parts], dtype=bool).to_numpy()[ids]
            out = out + rows.where(placed, "") + piece
    return out


GROUP_KEYS = ["file", "level", "code", "column", "value"]
GROUP_COLUMNS = [*GROUP_KEYS, "expected", "count", "rows", "first_row"]
FIRST_ROWS = 5
LEVEL_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}


def group_findings(findings: pd.DataFrame, first_rows: int = FIRST_ROWS) -> pd.DataFrame:
    """One entry per file × level × code × column × value: how many findings, and their first rows.

    What is shown to a person: a real budget raises the same finding on many lines (the same account
    in every fonction), and one line per finding buries the few that matter. ``expected`` is the first
    finding's; ``rows`` the first ``first_rows`` rows in file order (a list, possibly empty for
    document-level findings); ``first_row`` the first of them. Sorted errors first, then warnings, then
    information; within a level by decreasing count, then code and first row. The detail stays in the
    findings frame (``validate --report``).
    """
    import pandas as pd

    if findings.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in GROUP_COLUMNS})
    import numpy as np

    frame = findings.reindex(columns=FINDING_COLUMNS).copy()
    frame["_order"] = range(len(frame))
    frame = frame.sort_values(["row", "_order"], na_position="first", kind="stable")
    grouped = frame.groupby(GROUP_KEYS, dropna=False, sort=False)
    out = grouped.agg(
        expected=("expected", "first"),
        count=("code", "size"),
        first_row=("row", "min"),
    ).reset_index()
    # The first rows of each group, vectorised: the findings with a row, ranked within their group in file
    # order, the first ``first_rows`` kept, then cut into one list per group (groups numbered as ``out``).
    group = grouped.ngroup().to_numpy()
    located = frame["row"].notna().to_numpy()
    group, row = group[located], frame["row"].to_numpy(dtype="int64", na_value=0)[located]
    rank = pd.Series(group).groupby(group, sort=False).cumcount().to_numpy()
    group, row = group[rank < first_rows], row[rank < first_rows]
    order = np.argsort(group, kind="stable")
    group, row = group[order], row[order]
    starts = np.searchsorted(group, np.arange(len(out) + 1))
    values = row.tolist()
    out["rows"] = [values[a:b] for a, b in zip(starts[:-1], starts[1:])]  # at most first_rows ints per group
    out = out[[*GROUP_KEYS, "expected", "count", "rows", "first_row"]]
    out["count"] = out["count"].astype("int64")
    out["first_row"] = out["first_row"].astype("Int64")
    out["_level"] = out["level"].map(LEVEL_ORDER).fillna(len(LEVEL_ORDER))
    out = out.sort_values(["_level", "count", "code", "first_row"], ascending=[True, False, True, True], na_position="first", kind="stable")
    return out.drop(columns="_level").reset_index(drop=True)[GROUP_COLUMNS]


def render_group(group: dict, lang: str | None = None) -> str:
    """A group of findings as one sentence: the first finding's message and where the others are."""
    import pandas as pd

    first = {k: group.get(k) for k in FINDING_COLUMNS}
    first["row"] = group.get("first_row")
    text = render_finding(first, lang)
    count = int(group.get("count") or 0)
    rows = [int(r) for r in (group.get("rows") or []) if not pd.isna(r)]
    if count <= 1:
        return text
    shown = ", ".join(str(r) for r in rows) + (", …" if count > len(rows) else "")
    key = "findings.group-rows" if rows else "findings.group-count"
    return f"{text} {i18n.t(key, lang, count=count, rows=shown)}"


def count_level(findings: pd.DataFrame, level: str) -> int:
    """How many findings of ``level`` (``ERROR``, ``WARNING``…) a findings frame holds."""
    return int((findings["level"] == level).sum())


class FindingCounts:
    """``errors`` and ``warnings`` of an object holding a findings frame in ``findings`` (a report, a run)."""

    findings: pd.DataFrame

    @property
    def errors(self) -> int:
        return count_level(self.findings, ERROR)

    @property
    def warnings(self) -> int:
        return count_level(self.findings, WARNING)
