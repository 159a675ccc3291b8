"""Merging what each partition of a run produced into the figures of the whole run.

Everything merged here is an integer sum (cents, line counts) or a first-rows list, so the merge is exact
and its order does not change a total: lines never repeat across partitions, so per-partition distinct line
counts add up too. The shapes are those of the in-memory run: :class:`~budgetclimat.engine.figures.Figures`
per axis and per exercice, the worklist (:data:`~budgetclimat.engine.worklist.WORKLIST_COLUMNS`), the
findings, one :class:`~budgetclimat.reconcile.Reconciliation` per input file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from budgetclimat.engine.figures import Amount, AxisFigures, Figures
from budgetclimat.engine.worklist import WORKLIST_COLUMNS, Services, aa_pairs
from budgetclimat.errors import concat_findings, empty_findings
from budgetclimat.money import euros_text
from budgetclimat.reconcile import (
    BUDGET_KEYS,
    GROUP,
    ORDRE_BUDGET_COLUMNS,
    ORDRE_MISSING,
    ORDRE_UNBALANCED,
    RECONCILIATION_MISMATCH,
    RECONCILIATION_UNAVAILABLE,
    TOTALS_COLUMNS,
    Reconciliation,
    _mismatch_findings,
    _unavailable,
    ordre_findings,
)

# Findings of the reconciliation: said once per file, from the file's merged totals (a partition alone
# does not balance its ordre operations nor hold the file's raw totals).
RECONCILIATION_CODES = frozenset({RECONCILIATION_MISMATCH, RECONCILIATION_UNAVAILABLE, ORDRE_UNBALANCED, ORDRE_MISSING})
# How many finding rows a partitioned run keeps (the counts by level and code are always exact).
FINDINGS_KEPT = 10_000
# How many line ids a worklist row keeps (the in-memory worklist lists them all).
LINE_IDS_KEPT = 200


# ---- figures ---------------------------------------------------------------------------------------


def _add(a: Amount, b: Amount) -> Amount:
    return Amount(a.cents + b.cents, a.lines + b.lines)


def merge_axis(a: AxisFigures, b: AxisFigures) -> AxisFigures:
    reasons: dict = {}
    for reason, amount in a.by_reason + b.by_reason:
        reasons[reason] = _add(reasons[reason], amount) if reason in reasons else amount
    by_reason = sorted(reasons.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))  # as groupby: sorted, empty reason last
    decided = dict(a.decided_by)
    for k, v in b.decided_by.items():
        decided[k] = decided.get(k, 0) + v
    return AxisFigures(
        axis=a.axis, total=_add(a.total, b.total), in_scope=_add(a.in_scope, b.in_scope), out_of_scope=_add(a.out_of_scope, b.out_of_scope),
        out_parts={p: _add(a.out_parts[p], b.out_parts[p]) for p in a.out_parts}, by_reason=by_reason,
        classes={c: _add(a.classes[c], b.classes[c]) for c in a.classes}, decided_by=dict(sorted(decided.items())),
        questions_open=a.questions_open + b.questions_open, bounds=None, conventions=[],
    )


def merge_conventions(a: list[dict], b: list[dict]) -> list[dict]:
    """Convention records (:func:`budgetclimat.engine.conventions.records`) of two partitions: lines and cents added."""
    if not a:
        return [dict(c) for c in b]
    by_id = {(c["rule_id"], c["axis"]): c for c in b}
    out = []
    for c in a:
        other = by_id.get((c["rule_id"], c["axis"]))
        merged = dict(c)
        if other is not None:
            merged["lines"] = c["lines"] + other["lines"]
            merged["amount_cents"] = c["amount_cents"] + other["amount_cents"]
            merged["euros"] = str(euros_text(pd.Series([merged["amount_cents"]]))[0])
        out.append(merged)
    return out


def merge_figures(a: Figures | None, b: Figures) -> Figures:
    """The figures of two partitions' lines (every sum added); ranges are not merged (``bounds`` None)."""
    if a is None:
        return replace(b, axes={k: replace(v, bounds=None) for k, v in b.axes.items()})
    axes = dict(a.axes)
    for name, ax in b.axes.items():
        axes[name] = merge_axis(axes[name], ax) if name in axes else replace(ax, bounds=None)
    conventions = merge_conventions(a.conventions, b.conventions)
    for name, ax in axes.items():
        axes[name] = replace(ax, conventions=[c for c in conventions if c["axis"] == name and c["lines"]])
    return Figures(exercice=a.exercice, lines=a.lines + b.lines, total_cents=a.total_cents + b.total_cents, axes=axes,
                   conventions_applied=a.conventions_applied, conventions=conventions)


# ---- worklist --------------------------------------------------------------------------------------

PARTIAL_COLUMNS = ["question_id", "key", "service_id", "fact", "axes_mask", "lines", "amount_cents"]


@dataclass
class WorklistPartial:
    """What one partition adds to the worklist (:func:`worklist_partial`): ``rows`` per question × key ×
    service (:data:`PARTIAL_COLUMNS`: the axes asked as a bit mask over the rule set's axes), ``line_ids``
    the first :data:`LINE_IDS_KEPT` lines of each question × key (:data:`IDS_COLUMNS`: one row per question ×
    key, ``n`` ids joined by ``;`` in ``line_ids``: a few bytes per id)."""

    rows: pd.DataFrame
    line_ids: pd.DataFrame  # IDS_COLUMNS


IDS_COLUMNS = ["question_id", "key", "n", "line_ids"]


def _empty_ids() -> pd.DataFrame:
    return pd.DataFrame({"question_id": pd.Series(dtype="string"), "key": pd.Series(dtype="string"), "n": pd.Series(dtype="int64"),
                         "line_ids": pd.Series(dtype="string")})


def _joined_ids(pairs: pd.DataFrame) -> pd.DataFrame:
    """:data:`IDS_COLUMNS` of one partition's pairs: the first :data:`LINE_IDS_KEPT` distinct line ids of each
    question × key, in line order, joined (one join per question × key)."""
    ids = pairs[["question_id", "key", "line_id"]].drop_duplicates()
    ids = ids[ids.groupby(["question_id", "key"], sort=False).cumcount().to_numpy() < LINE_IDS_KEPT]
    grouped = ids.astype({"line_id": "string"}).groupby(["question_id", "key"], sort=False)["line_id"]
    out = grouped.agg(";".join).rename("line_ids").reset_index()
    out.insert(2, "n", grouped.size().to_numpy(dtype="int64"))
    return out.astype({"question_id": "string", "key": "string", "line_ids": "string"})[IDS_COLUMNS]


def _fold_ids(acc: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The first :data:`LINE_IDS_KEPT` line ids of each question × key of ``acc`` then ``new``: a question ×
    key already full keeps its ids; one that fills up takes the first ids of ``new`` it has room for
    (a Python split for those only: each question × key fills up once per run)."""
    group = ["question_id", "key"]
    both = acc.merge(new, on=group, how="outer", suffixes=("", "_new"), sort=False)
    n_old = both["n"].fillna(0).to_numpy(dtype="int64")
    n_new = both["n_new"].fillna(0).to_numpy(dtype="int64")
    old_ids = both["line_ids"].astype("string")
    new_ids = both["line_ids_new"].astype("string")
    out = old_ids.where(n_new == 0, new_ids.where(n_old == 0, old_ids + ";" + new_ids))
    room = LINE_IDS_KEPT - n_old
    crossing = np.flatnonzero((n_old > 0) & (n_new > 0) & (n_new > room))
    if len(crossing):
        cut = [";".join(ids.split(";")[:r]) for ids, r in zip(new_ids.to_numpy()[crossing], room[crossing])]
        joined = pd.Series(cut, dtype="string", index=out.index[crossing])
        head = old_ids.iloc[crossing]
        out.iloc[crossing] = head.where(joined == "", head + ";" + joined).to_numpy()
    both["line_ids"] = out
    both["n"] = np.minimum(n_old + n_new, LINE_IDS_KEPT)
    return both[IDS_COLUMNS].reset_index(drop=True)


def worklist_partial(lines: pd.DataFrame, register: pd.DataFrame, ruleset, services: Services) -> WorklistPartial:
    """What one partition adds to the worklist: per question × key × service, cents and lines (added up by
    :func:`merge_worklist`), the axes asked, the first line ids. As :func:`budgetclimat.engine.worklist.build_worklist`,
    vectorised (no Python call per row)."""
    lines = lines.reset_index(drop=True)
    pairs = aa_pairs(lines, register, ruleset)
    pairs = pairs[pairs["amount_cents"] != 0]
    if not len(pairs):
        return WorklistPartial(pd.DataFrame({c: pd.Series(dtype="object") for c in PARTIAL_COLUMNS}), _empty_ids())
    line_service = services.of_lines(lines)
    pairs = pairs.assign(service_id=line_service.to_numpy()[pairs["pos"].to_numpy(dtype="int64")])
    own = {qid: services.resolve(q.service) for qid, q in ruleset.questions().items() if q.service}
    if own:
        lookup = {q: own.get(q, "") for q in pd.unique(pairs["question_id"].astype(str))}
        mapped = pd.Series(pairs["question_id"].astype(str).map(lookup).to_numpy(dtype=object), index=pairs.index, dtype="string")
        pairs["service_id"] = mapped.where(mapped != "", pairs["service_id"])
    bit = {a: 1 << i for i, a in enumerate(ruleset.axes)}
    exploded = pairs["axes"].reset_index(drop=True).explode()
    bits_of = pd.Series(exploded.map(bit).fillna(0).to_numpy(dtype="int64"), index=exploded.index)
    # one row per pair × axis asked; distinct bits of a pair summed = their union
    pairs["axes_mask"] = pd.DataFrame({"i": bits_of.index, "b": bits_of.to_numpy()}).drop_duplicates().groupby("i")["b"].sum().to_numpy(dtype="int64")
    group = ["question_id", "key", "service_id"]
    rows = pairs.groupby(group, sort=False).agg(fact=("fact", "first"), lines=("line_id", "size"), amount_cents=("amount_cents", "sum")).reset_index()
    bits = pairs[group + ["axes_mask"]].drop_duplicates()
    bits = pd.DataFrame({**{c: bits[c] for c in group}, "axes_mask": bits["axes_mask"]})
    spread = [bits.assign(axes_mask=(bits["axes_mask"] & b)) for b in bit.values()]
    union = pd.concat(spread, ignore_index=True).drop_duplicates().groupby(group, sort=False)["axes_mask"].sum()  # distinct bits: sum = or
    rows["axes_mask"] = union.reindex(pd.MultiIndex.from_frame(rows[group])).to_numpy(dtype="int64")
    return WorklistPartial(rows[PARTIAL_COLUMNS], _joined_ids(pairs))


def _mask_union(frame: pd.DataFrame, group: list[str], bits: int) -> pd.Series:
    """Per ``group``, the union (bitwise or) of ``axes_mask`` over ``bits`` bits: the distinct bits set, summed."""
    masks = frame["axes_mask"].to_numpy(dtype="int64")
    spread = pd.concat([frame[group].assign(_b=masks & (1 << i)) for i in range(bits)], ignore_index=True)
    return spread.drop_duplicates().groupby(group, sort=False)["_b"].sum()


def fold_worklist(acc: WorklistPartial | None, partial: WorklistPartial, axes: int) -> WorklistPartial:
    """``acc`` and one more partition's partial as one partial, so that a run keeps one partial whatever its
    number of partitions (:class:`budgetclimat.scale.engine.Merger`): per question × key × service, cents
    and lines added, the first ``fact``, the axes united; the first :data:`LINE_IDS_KEPT` line ids of each
    question × key, in partition order. :func:`merge_worklist` gives the same worklist from the folded
    partial as from every partial (row order of first appearance kept)."""
    if acc is None or not len(acc.rows):
        return partial if len(partial.rows) else (acc or partial)
    if not len(partial.rows):
        return acc
    group = ["question_id", "key", "service_id"]
    pairs = pd.concat([acc.rows, partial.rows], ignore_index=True)
    rows = pairs.groupby(group, sort=False).agg(fact=("fact", "first"), lines=("lines", "sum"), amount_cents=("amount_cents", "sum")).reset_index()
    rows["axes_mask"] = _mask_union(pairs, group, axes).reindex(pd.MultiIndex.from_frame(rows[group])).to_numpy(dtype="int64")
    return WorklistPartial(rows[PARTIAL_COLUMNS], _fold_ids(acc.line_ids, partial.line_ids))


def merge_worklist(partials: list[WorklistPartial], ruleset, services: Services, lang: str | None = None) -> pd.DataFrame:
    """The worklist of the whole run from the partitions' partials: the rows of
    :func:`~budgetclimat.engine.worklist.build_worklist`, with at most :data:`LINE_IDS_KEPT` line ids each."""
    parts = [p for p in partials if len(p.rows)]
    if not parts:
        frame = pd.DataFrame({c: pd.Series(dtype="string") for c in WORKLIST_COLUMNS})
        return frame.astype({"lines": "int64", "amount_cents": "int64", "rank": "int64"})
    pairs = pd.concat([p.rows for p in parts], ignore_index=True)
    group = ["question_id", "key"]
    by_service = pairs.groupby(group + ["service_id"], sort=False)["amount_cents"].sum().reset_index()
    by_service = by_service.sort_values(group + ["amount_cents", "service_id"], ascending=[True, True, False, True], kind="stable")
    service = by_service.drop_duplicates(group).set_index(group)["service_id"]
    axes = list(ruleset.axes)
    mask = _mask_union(pairs, group, len(axes))
    names = {m: ",".join(a for i, a in enumerate(axes) if m & (1 << i)) for m in pd.unique(mask)}  # few distinct masks
    rows = pairs.groupby(group, sort=False).agg(fact=("fact", "first"), lines=("lines", "sum"), amount_cents=("amount_cents", "sum")).reset_index()
    rows["axes"] = mask.reindex(pd.MultiIndex.from_frame(rows[group])).map(names).to_numpy()
    rows = rows[rows["amount_cents"] != 0]
    ids = parts[0].line_ids
    for part in parts[1:]:
        ids = _fold_ids(ids, part.line_ids)
    joined = ids.set_index(group)["line_ids"]
    rows["line_ids"] = joined.reindex(pd.MultiIndex.from_frame(rows[group])).to_numpy()
    rows["service_id"] = service.reindex(pd.MultiIndex.from_frame(rows[group])).to_numpy()
    rows["service"] = rows["service_id"].map(lambda s: services.label(str(s), lang))
    rows = rows.sort_values(["amount_cents", "question_id", "key"], ascending=[False, True, True], kind="stable").reset_index(drop=True)
    rows["rank"] = np.arange(1, len(rows) + 1, dtype="int64")
    out = rows[WORKLIST_COLUMNS].astype({c: "string" for c in WORKLIST_COLUMNS if c not in ("lines", "amount_cents", "rank")})
    return out.astype({"lines": "int64", "amount_cents": "int64"})


# ---- findings --------------------------------------------------------------------------------------


def once_findings(findings: pd.DataFrame) -> np.ndarray:
    """Findings that every partition would repeat (about the answers file, a view, the whole run: no row
    of a budget line): said once, not once per partition."""
    code = findings["code"].astype("string")
    return (code.str.startswith("answer").fillna(False) | findings["row"].isna()).to_numpy(dtype=bool)


class FindingsSink:
    """The findings of a partitioned run: exact counts by level and code; every finding said once per run
    (:func:`once_findings`; an ``answer-stale`` answer only when no partition used it); the first
    :data:`FINDINGS_KEPT` rows of the others (all of them with ``keep_all``). What it holds does not grow
    with the number of partitions: the once-per-run findings are kept without repeats, the stale answers
    as the intersection so far."""

    _STALE_KEYS = ("file", "row", "column", "value")

    def __init__(self, keep_all: bool = False) -> None:
        self.keep_all = keep_all
        self.counts: dict[tuple[str, str], int] = {}
        self.kept: list[pd.DataFrame] = []
        self.n_kept = 0
        self.once = empty_findings()
        self.stale: pd.DataFrame | None = None  # answers stale in every partition so far (None: no partition yet)
        self.partitions = 0

    def add(self, findings: pd.DataFrame) -> None:
        self.partitions += 1
        if not len(findings):
            self.stale = empty_findings()
            return
        once = once_findings(findings)
        stale = (findings["code"] == "answer-stale").fillna(False).to_numpy(dtype=bool)
        self._add_stale(findings[stale])
        self.add_once(findings[once & ~stale])
        rest = findings[~once & ~stale]
        for (level, code), n in rest.groupby(["level", "code"]).size().items():
            self.counts[(level, code)] = self.counts.get((level, code), 0) + int(n)
        room = len(rest) if self.keep_all else max(FINDINGS_KEPT - self.n_kept, 0)
        if room and len(rest):
            self.kept.append(rest.head(room))
            self.n_kept += min(room, len(rest))

    def add_once(self, findings: pd.DataFrame) -> None:
        """Findings of the whole run (a file's reconciliation), said once."""
        if len(findings):
            once = concat_findings([self.once, findings])
            self.once = once.drop_duplicates(ignore_index=True)

    def _add_stale(self, stale: pd.DataFrame) -> None:
        """An answer is stale when it matched no line of any partition: stale in every partition."""
        if self.stale is None:
            self.stale = stale.drop_duplicates(list(self._STALE_KEYS)).reset_index(drop=True)
        elif len(self.stale):
            keys = list(self._STALE_KEYS)
            self.stale = self.stale.merge(stale[keys].drop_duplicates(), on=keys, how="inner").reset_index(drop=True)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(findings, counts)``: the rows kept (the once-per-run ones first) and ``level, code, count``."""
        once = self.once
        stale = self.stale if self.stale is not None and len(self.stale) else empty_findings()
        kept = concat_findings([stale, once] + self.kept)
        counts = dict(self.counts)
        for frame in (stale, once):
            for (level, code), n in frame.groupby(["level", "code"]).size().items():
                counts[(level, code)] = counts.get((level, code), 0) + int(n)
        table = pd.DataFrame([{"level": lv, "code": c, "count": n} for (lv, c), n in sorted(counts.items())], columns=["level", "code", "count"])
        return kept, table


# ---- reconciliation --------------------------------------------------------------------------------


def merge_reconciliations(parts: list[Reconciliation], extra_findings: list[pd.DataFrame]) -> Reconciliation:
    """The reconciliation of one file from its partitions': totals by section × sens × réel/ordre and ordre
    flows added, the findings said again from the sums (``extra_findings``: the partitions' ``ordre-missing``,
    kept when no partition had an ordre line)."""
    rec = _summed(parts)
    available = any(p.available for p in parts)
    findings = [_mismatch_findings(rec.totals, rec.file) if available else _unavailable(rec.file, rec.basis),
                ordre_findings(rec.ordre, rec.ordre_by_budget, rec.file)]
    if not rec.ordre_lines:
        missing = concat_findings(extra_findings)
        findings.append(missing.head(1) if len(missing) else missing)
    rec.findings = concat_findings(findings)
    return rec


def _summed(parts: list[Reconciliation]) -> Reconciliation:
    """The partitions' totals, ordre flows (per file and per budget) and line counts added; no findings (said
    once, from the sums, by :func:`merge_reconciliations`)."""
    first = parts[0]
    available = any(p.available for p in parts)
    totals = pd.concat([p.totals for p in parts], ignore_index=True)
    totals = totals.astype({c: "string" for c in GROUP}).groupby(GROUP, dropna=False, sort=False).agg(
        lines_in=("lines_in", "sum"), lines_out=("lines_out", "sum"), raw_cents=("raw_cents", "sum"), lines_cents=("lines_cents", "sum")).reset_index()
    totals["lines_out"] = totals["lines_out"].astype("int64")
    totals["lines_cents"] = totals["lines_cents"].astype("int64")
    for column in ("lines_in", "raw_cents"):
        totals[column] = totals[column].astype("Int64") if available else pd.array([pd.NA] * len(totals), dtype="Int64")
    totals["difference_cents"] = (totals["lines_cents"] - totals["raw_cents"]).astype("Int64")
    totals = totals[TOTALS_COLUMNS]
    keys = ["pair", "expense_section", "revenue_section", "kind"]
    ordre = pd.concat([p.ordre for p in parts], ignore_index=True).groupby(keys, sort=False)[["expense_cents", "revenue_cents"]].sum().reset_index()
    ordre["difference_cents"] = (ordre["expense_cents"] - ordre["revenue_cents"]).astype("int64")
    ordre_lines = sum(p.ordre_lines for p in parts)
    by_budget = _merge_by_budget([p.ordre_by_budget for p in parts])
    basis = ",".join(sorted({b for p in parts for b in p.basis.split(",") if b}))
    return Reconciliation(file=first.file, basis=basis, totals=totals, ordre=ordre, findings=empty_findings(), ordre_lines=ordre_lines,
                          ordre_by_budget=by_budget)


def _merge_by_budget(frames: list[pd.DataFrame | None]) -> pd.DataFrame | None:
    """The ordre flows per budget of a file from its partitions' (a budget may straddle partitions)."""
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    keys = [*BUDGET_KEYS, "pair", "expense_section", "revenue_section", "kind"]
    merged = pd.concat(frames, ignore_index=True).groupby(keys, sort=False).agg(
        collectivite=("collectivite", "first"), expense_cents=("expense_cents", "sum"), revenue_cents=("revenue_cents", "sum")).reset_index()
    merged["difference_cents"] = (merged["expense_cents"] - merged["revenue_cents"]).astype("int64")
    return merged.sort_values(BUDGET_KEYS, kind="stable")[ORDRE_BUDGET_COLUMNS].reset_index(drop=True)


def fold_reconciliations(acc: Reconciliation, part: Reconciliation) -> Reconciliation:
    """One file's reconciliation so far and one more partition's, as one (totals and ordre flows added): a
    run keeps one per file whatever its number of partitions. The findings are said from the sums by the
    last :func:`merge_reconciliations`, which is given the ``ordre-missing`` finding: none is rendered here."""
    return _summed([acc, part])
