"""The partitioned engine: ``budgetclimat classify FILES… --engine partitions [--partition-lines N]``.

The files are read in partitions (:func:`budgetclimat.read.partitions.iter_partitions`); each partition runs
the in-memory chain (validation and reconciliation, :func:`budgetclimat.pipeline.run_lines`: classification,
views, worklist, invariants) and gives a :class:`PartitionOutcome`: its register rows, streamed to the
``--lines-out`` file, and its sums (figures, view sums, worklist, findings, reconciliation, per collectivité).
:class:`PartitionedRun` holds the merged sums, never every line: memory is bounded by the partition size.

Staff costs (I4CE 3a / 3b) are allocated pro rata of the budget's other spending, which no partition holds
alone: when the rule set has staff-cost rules, a first pass classifies every partition and adds up the
basis (class totals per pool × axis × fonction, :func:`budgetclimat.engine.classify.staff_totals`); the
second pass allocates the staff lines from those totals. A pool is one budget of one collectivité:
:data:`STAFF_POOL` (what classifying that budget alone gives). Results are those of the in-memory run to
the cent (``tests/test_scale.py``).

The same per-partition functions run under Dask (:mod:`budgetclimat.scale.dask_engine`).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import i18n, model
from budgetclimat.engine.classify import REGISTER_COLUMNS, REGISTER_DTYPES, classify, staff_totals
from budgetclimat.engine.figures import Figures, compute
from budgetclimat.engine.worklist import Services, coverage, load_services
from budgetclimat.errors import ERROR, WARNING, concat_findings
from budgetclimat.export.workbook.annex import annex_year_finding
from budgetclimat.export.register import CSV_DIALECTS, EURO_TEXT_COLUMNS, REGISTER_EXPORT_COLUMNS, TEXT_COLUMNS, line_register, summary_head, worklist_entries
from budgetclimat.reconcile import Reconciliation, all_reconciled
from budgetclimat.outputs import atomic_output, formula_safe
from budgetclimat.pipeline import STAFF_POOL, resolve_answers, resolve_ruleset, run_lines, stop_on_unplaceable
from budgetclimat.read.partitions import iter_partitions
from budgetclimat.scale import collectivites as coll
from budgetclimat.scale.merge import (
    RECONCILIATION_CODES,
    FindingsSink,
    WorklistPartial,
    fold_reconciliations,
    fold_worklist,
    merge_figures,
    merge_reconciliations,
    merge_worklist,
    worklist_partial,
)
from budgetclimat.validate import validate_document
from budgetclimat.views.builtin import view_rulebooks
from budgetclimat.views.carbon import CarbonResult
from budgetclimat.views.weighted import WeightedResult

DEFAULT_PARTITION_LINES = 50_000  # measured: docs/scale.md « Memory »


@dataclass
class Settings:
    """What every partition is classified with (sent once to each Dask worker)."""

    ruleset: object
    answers: pd.DataFrame
    services: Services
    lang: str
    register: bool = True  # give the register rows (to write --lines-out)
    register_format: str = ".parquet"  # the --lines-out suffix: the rows come encoded for it (encode_register)
    by_collectivite: bool = True
    view_options: dict = field(default_factory=dict)  # the views' rulebooks, loaded once (not once per partition)


@dataclass
class PartitionOutcome:
    """What one partition gives: its sums, and its register rows when asked."""

    source: str
    lines: int
    years: list[int]
    figures: Figures
    by_year: dict
    views: dict  # name -> sums (WeightedSums, CarbonSums)
    worklist: pd.DataFrame
    findings: pd.DataFrame
    reconciliation: object
    ordre_missing: pd.DataFrame
    collectivites: pd.DataFrame
    register: object = None  # CsvPart or Arrow table (encode_register)


def has_staff_rules(ruleset) -> bool:
    books = ruleset.classification
    return any(getattr(r.then, "staff_costs", False) for rb in books for r in rb.rules) or any(getattr(rb.default, "staff_costs", False) for rb in books)


def _lines(doc: model.BudgetDocument) -> pd.DataFrame:
    return model.conform(doc.lines) if len(doc.lines) else model.empty_lines()


def staff_pass(doc: model.BudgetDocument, settings: Settings) -> pd.DataFrame:
    """Pass 1: the partition's share of the staff-cost basis (:func:`~budgetclimat.engine.classify.staff_totals`
    by :data:`STAFF_POOL`). A line without sens stops here as it stops the run (exit 1)."""
    lines = _lines(doc)
    if lines["sens"].isna().any():
        stop_on_unplaceable(lines, validate_document(doc).findings)
    lines = lines[(lines["sens"] == "D").to_numpy(dtype=bool)].reset_index(drop=True)  # the basis is spending only
    reg = classify(lines, settings.ruleset, settings.answers).register
    pos = pd.Series(np.arange(len(lines)), index=lines["line_id"].astype("string").to_numpy())
    keep = ((reg["scope"] == "in") & (reg["decided_by"] != "staff")).fillna(False).to_numpy(dtype=bool)
    rows = reg[keep].assign(pos=pos.reindex(reg.loc[keep, "line_id"].astype("string").to_numpy()).to_numpy())
    return staff_totals(lines, rows, STAFF_POOL)


def merge_basis(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The partitions' staff-cost bases added up as they come (one frame, as long as the pools × axes ×
    fonctions × classes, whatever the number of partitions)."""
    keys = [*STAFF_POOL, "axis", "fonction", "class"]
    basis = None
    for part in parts:
        if len(part):
            frame = part if basis is None else pd.concat([basis, part], ignore_index=True)
            basis = frame.groupby(keys, dropna=False, sort=True)["amount_share_cents"].sum().reset_index()
    if basis is None:
        return staff_totals(model.empty_lines(), pd.DataFrame({"pos": [], "axis": [], "class": [], "amount_share_cents": []}), STAFF_POOL)
    return basis


def process_partition(doc: model.BudgetDocument, settings: Settings, staff_basis=None) -> PartitionOutcome:
    """Pass 2: validation, reconciliation, classification (staff costs from ``staff_basis``), views,
    worklist and invariants of one partition, as :func:`budgetclimat.pipeline.run` on its lines."""
    i18n.set_language(settings.lang)  # a Dask worker starts in the default language
    report = validate_document(doc)
    lines = _lines(doc)
    stop_on_unplaceable(lines, report.findings)
    result = run_lines(lines, settings.ruleset, settings.answers, lines_read=len(doc.lines), staff_basis=staff_basis, worklist=False,
                       view_options=settings.view_options)
    result.documents = [doc]
    result.reconciliation = [report.reconciliation]
    result.bounds = None  # ranges are not merged across partitions
    findings = concat_findings([report.findings, result.findings])
    rec_rows = findings["code"].isin(list(RECONCILIATION_CODES)).fillna(False).to_numpy(dtype=bool)
    ordre_missing = findings[(findings["code"] == "ordre-missing").fillna(False).to_numpy(dtype=bool)]
    years = sorted(int(y) for y in pd.unique(lines["exercice"].dropna()))
    figures = compute(result)
    by_year = {year: compute(result, year) for year in years} if len(years) > 1 else ({years[0]: figures} if years else {})
    views = {name: view.sums for name, view in result.views.items() if getattr(view, "sums", None) is not None}
    return PartitionOutcome(
        source=str(doc.source.path),
        lines=len(lines),
        years=years,
        figures=figures,
        by_year=by_year,
        views=views,
        worklist=worklist_partial(result.lines, result.register, result.ruleset, settings.services),
        findings=findings[~rec_rows],
        reconciliation=report.reconciliation,
        ordre_missing=ordre_missing,
        collectivites=coll.collectivite_sums(result.lines, result.register) if settings.by_collectivite else pd.DataFrame(),
        register=encode_register(line_register(result), settings.register_format, settings.lang) if settings.register else None,
    )


# ---- the register, written partition by partition ----------------------------------------------------


@dataclass
class CsvPart:
    """A partition's register as CSV: its header line and its rows, encoded (UTF-8, no BOM)."""

    header: str
    body: bytes


def encode_register(frame: pd.DataFrame, suffix: str, lang: str):
    """A partition's register rows as :class:`RegisterWriter` writes them: a :class:`CsvPart` for a
    ``.csv`` file (texts made formula-safe, the language's decimal mark), else the Arrow table of a
    Parquet row group (euros as decimal128(18, 2), no pandas metadata). Runs where the partition is
    classified (a Dask worker encodes its own partition; the client only writes the parts in order)."""
    if suffix == ".csv":
        dialect = CSV_DIALECTS.get(lang, CSV_DIALECTS["fr"])
        out = frame.copy()
        for column in TEXT_COLUMNS:
            out[column] = formula_safe(out[column])
        if dialect["decimal"] != ".":
            for column in EURO_TEXT_COLUMNS:
                out[column] = out[column].astype("string").str.replace(".", dialect["decimal"], regex=False)
        options = {"index": False, "lineterminator": "\n", "sep": dialect["sep"], "decimal": dialect["decimal"]}
        return CsvPart(header=out.iloc[0:0].to_csv(header=True, **options), body=out.to_csv(header=False, **options).encode("utf-8"))
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    for column in ("amount", "amount_share"):
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, table.column(column).cast(pa.decimal128(18, 2)))
    return table.replace_schema_metadata(None)


class RegisterWriter:
    """The line register (``--lines-out``), one partition at a time: a Parquet file with one row group per
    partition (pyarrow writer), or a CSV (UTF-8 with BOM, the dialect of the language) written in order.
    Same columns, types and texts as :func:`budgetclimat.export.register.write_lines`. ``write`` takes a
    partition's register rows, or their :func:`encode_register` part."""

    def __init__(self, path: str | Path, inputs: Iterable[Path] = (), lang: str | None = None) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        self.lang = lang or i18n.language()
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_output(self.path, list(inputs)))
        self._writer = None
        self._handle = None
        self._schema = None

    def write(self, part) -> None:
        if isinstance(part, pd.DataFrame):
            part = encode_register(part, self.suffix, self.lang)
        if isinstance(part, CsvPart):
            self._write_csv(part)
        else:
            self._write_parquet(part)

    def _write_csv(self, part: CsvPart) -> None:
        if self._handle is None:
            self._handle = self._stack.enter_context(open(self._tmp, "wb"))
            self._handle.write(part.header.encode("utf-8-sig"))
        self._handle.write(part.body)

    def _write_parquet(self, table) -> None:
        import pyarrow.parquet as pq

        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(str(self._tmp), self._schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._writer.write_table(table)

    def close(self, ok: bool = True) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._handle is None and self._writer is None and ok:  # no partition: an empty register with its columns

            self.write(pd.DataFrame({c: pd.Series(dtype="string") for c in REGISTER_EXPORT_COLUMNS}).astype(
                {"amount_cents": "int64", "amount_share_cents": "int64", "piece": "int64", "share": "float64"}))
            if self._writer is not None:
                self._writer.close()
        if ok:
            self._stack.close()
        else:  # stopped: the temporary file is removed, nothing replaces the output
            stopped = RuntimeError("stopped")
            with contextlib.suppress(RuntimeError):
                self._stack.__exit__(RuntimeError, stopped, None)


# ---- the merged run ---------------------------------------------------------------------------------


@dataclass
class PartitionedRun:
    """The merged sums of a partitioned run (what ``classify`` prints and writes with ``--engine partitions``).

    ``summary``: the summary JSON (as :func:`budgetclimat.export.register.summary` and the views'
    summaries, plus ``engine``/``partitions`` and, for several collectivités, ``collectivites``);
    ``worklist``; ``findings`` (the rows kept, :class:`~budgetclimat.scale.merge.FindingsSink`) and
    ``finding_counts`` (exact); ``reconciliation`` per file; ``collectivites``
    (:mod:`budgetclimat.scale.collectivites`)."""

    ruleset: object
    figures: Figures
    by_year: dict
    views: dict
    worklist: pd.DataFrame
    findings: pd.DataFrame
    finding_counts: pd.DataFrame
    reconciliation: list
    collectivites: pd.DataFrame
    partitions: int
    engine: str = "partitions"
    summary: dict = field(default_factory=dict)

    @property
    def errors(self) -> int:
        c = self.finding_counts
        return int(c.loc[c["level"] == ERROR, "count"].sum()) if len(c) else 0

    @property
    def warnings(self) -> int:
        c = self.finding_counts
        return int(c.loc[c["level"] == WARNING, "count"].sum()) if len(c) else 0

    @property
    def has_errors(self) -> bool:
        return self.errors > 0

    @property
    def reconciliation_ok(self) -> bool | None:
        return all_reconciled(self.reconciliation)

    def worklist_counts(self) -> dict:
        return {"questions": len(self.worklist), "n80": coverage(self.worklist, 0.8), "n95": coverage(self.worklist, 0.95)}


def view_summaries(views: dict) -> dict:
    """The merged views' summaries (weighted, carbon), as the in-memory run's summary JSON shows them."""

    out = {}
    if "weighted" in views:
        out["weighted"] = WeightedResult(lines=None, sums=views["weighted"]).summary()
    if "carbon" in views:
        out["carbon"] = CarbonResult(lines=None, sums=views["carbon"]).summary()
    return out


def build_summary(run: PartitionedRun) -> dict:
    """The summary JSON of a merged run (the keys of :func:`budgetclimat.export.register.summary`, without
    the ranges and the carry-over of answers, which a partitioned run does not compute)."""

    out = summary_head(run.figures, run.ruleset, run.reconciliation, run.errors, run.warnings)
    if len(run.by_year) > 1:
        out["by_exercice"] = {str(year): run.by_year[year].to_json() for year in sorted(run.by_year)}
    out["worklist"] = worklist_entries(run.worklist)
    out.update(view_summaries(run.views))
    out["engine"] = {"name": run.engine, "partitions": run.partitions}
    if len(run.collectivites) and (run.collectivites["level"] == "collectivite").sum() and run.collectivites.loc[run.collectivites["level"] == "collectivite", "siren"].nunique() > 1:
        out["collectivites"] = coll.to_json(run.collectivites)
    return out


class Merger:
    """Adds the partitions' outcomes as they come (any order of arrival, merged in partition order by the caller)."""

    def __init__(self, settings: Settings, keep_findings: bool = False) -> None:
        self.settings = settings
        self.figures: Figures | None = None
        self.by_year: dict = {}
        self.views: dict = {}
        self.failed_views: set[str] = set()
        self.view_names: list[str] | None = None
        self.worklist: WorklistPartial | None = None
        self.findings = FindingsSink(keep_all=keep_findings)
        self.reconciliation: dict[str, Reconciliation] = {}
        self.ordre_missing: dict[str, pd.DataFrame] = {}
        self.collectivites: pd.DataFrame | None = None
        self.partitions = 0

    def add(self, outcome: PartitionOutcome) -> None:
        self.partitions += 1
        self.figures = merge_figures(self.figures, outcome.figures)
        for year, figures in outcome.by_year.items():
            self.by_year[year] = merge_figures(self.by_year.get(year), figures)
        if outcome.lines:
            names = set(outcome.views)
            if self.view_names is None:
                self.view_names = list(outcome.views)
            self.failed_views |= set(self.view_names) ^ names
            for name, sums in outcome.views.items():
                self.views[name] = self.views[name] + sums if name in self.views else sums
        self.worklist = fold_worklist(self.worklist, outcome.worklist, len(self.settings.ruleset.axes))
        self.findings.add(outcome.findings)
        source = outcome.source
        done = self.reconciliation.get(source)
        self.reconciliation[source] = outcome.reconciliation if done is None else fold_reconciliations(done, outcome.reconciliation)
        if not len(self.ordre_missing.get(source, ())):  # the first partition's that has one: all the merge says
            self.ordre_missing[source] = outcome.ordre_missing.head(1)
        if len(outcome.collectivites):
            self.collectivites = coll.fold_sums(self.collectivites, outcome.collectivites)

    def retained(self) -> dict[str, int]:
        """How many rows the merger holds, by what it holds: a function of the run's distinct keys (questions ×
        keys × services, collectivités × axes, files, years), never of its number of partitions (the finding
        rows kept are bounded by :data:`~budgetclimat.scale.merge.FINDINGS_KEPT`)."""
        worklist = self.worklist
        sink = self.findings
        return {
            "worklist_rows": len(worklist.rows) if worklist is not None else 0,
            "worklist_line_ids": int(worklist.line_ids["n"].sum()) if worklist is not None and len(worklist.line_ids) else 0,
            "findings_once": len(sink.once),
            "findings_stale": len(sink.stale) if sink.stale is not None else 0,
            "findings_kept": sum(len(f) for f in sink.kept),
            "reconciliation_rows": sum(len(r.totals) + len(r.ordre) for r in self.reconciliation.values()),
            "ordre_missing": sum(len(f) for f in self.ordre_missing.values()),
            "collectivites": len(self.collectivites) if self.collectivites is not None else 0,
            "years": len(self.by_year),
        }

    def result(self, engine: str) -> PartitionedRun:
        s = self.settings
        reconciliations = [merge_reconciliations([rec], [self.ordre_missing[src]]) for src, rec in self.reconciliation.items()]
        for rec in reconciliations:
            self.findings.add_once(rec.findings)
        years = sorted(self.by_year)
        annex = annex_year_finding(int(years[-1])) if years else None  # as pipeline.annex_year on the whole run
        if annex is not None:
            self.findings.add_once(annex)
        findings, counts = self.findings.frames()
        figures = self.figures if self.figures is not None else compute({"lines": model.empty_lines(), "register": _empty_register(), "ruleset": s.ruleset})
        views = {k: v for k, v in self.views.items() if k not in self.failed_views}
        run = PartitionedRun(
            ruleset=s.ruleset, figures=figures, by_year=self.by_year, views=views,
            worklist=merge_worklist([self.worklist] if self.worklist is not None else [], s.ruleset, s.services), findings=findings, finding_counts=counts,
            reconciliation=reconciliations,
            collectivites=coll.merge_sums([self.collectivites] if self.collectivites is not None else [], list(s.ruleset.axes)) if s.by_collectivite else pd.DataFrame(),
            partitions=self.partitions, engine=engine,
        )
        run.summary = build_summary(run)
        return run


def _empty_register() -> pd.DataFrame:

    return pd.DataFrame({c: pd.Series(dtype=REGISTER_DTYPES[c]) for c in REGISTER_COLUMNS})


def make_settings(rulebooks=None, answers=None, staff_costs=None, conventions=True, services=None, register=True, by_collectivite=True,
                  register_format: str = ".parquet") -> Settings:
    """The rule set, answers and services of a run, checked before any file is read (exit 2 on a mistake)."""
    ruleset = resolve_ruleset(rulebooks).with_staff_costs(staff_costs)
    if not conventions:
        ruleset = ruleset.without_conventions()
    views = view_rulebooks(ruleset)
    return Settings(ruleset=ruleset, answers=resolve_answers(answers), services=services or load_services(), lang=i18n.language(),
                    register=register, register_format=register_format, by_collectivite=by_collectivite, view_options=views)


Mapper = Callable[[Callable, Iterator, tuple], Iterator]


def serial_map(fn: Callable, items: Iterator, args: tuple) -> Iterator:
    """Apply ``fn(item, *args)`` to each item in turn (the partitioned engine; Dask has its own)."""
    for item in items:
        box = [item]
        del item  # only fn's frame holds the partition: freed before the next one is read
        yield fn(box.pop(), *args)


def _drain(items: list) -> Iterator:
    """The items of a list, each dropped from it as it is given (the first partitions read ahead are not
    held for the whole run)."""
    while items:
        yield items.pop(0)


def run_partitioned(
    paths,
    rulebooks=None,
    answers=None,
    profile: str | None = None,
    basis: str | None = None,
    constants: dict[str, str] | None = None,
    staff_costs: str | None = None,
    conventions: bool = True,
    services: Services | None = None,
    partition_lines: int = DEFAULT_PARTITION_LINES,
    lines_out: str | Path | None = None,
    inputs: Iterable[Path] = (),
    keep_findings: bool = False,
    by_collectivite: bool = True,
    mapper: Mapper | None = None,
    engine: str = "partitions",
) -> PartitionedRun:
    """Classify ``paths`` partition by partition (module doc); ``lines_out`` streams the register there.
    ``mapper(fn, partitions, args)`` runs the per-partition function (:func:`serial_map` by default, a Dask
    client's in :mod:`budgetclimat.scale.dask_engine`) and yields the outcomes in partition order."""
    mapper = mapper or serial_map
    settings = make_settings(rulebooks, answers, staff_costs, conventions, services, register=lines_out is not None, by_collectivite=by_collectivite,
                             register_format=Path(lines_out).suffix.lower() if lines_out is not None else ".parquet")

    def partitions():
        return iter_partitions(paths, lines=partition_lines, profile=profile, basis=basis, constants=constants)

    parts = partitions()
    first = list(itertools.islice(parts, 2))
    if len(first) < 2:  # one partition: its own lines are the whole budget, one pass
        outcomes = mapper(process_partition, _drain(first), (settings, STAFF_POOL))
    elif has_staff_rules(settings.ruleset):  # pass 1: the staff-cost basis of every budget; pass 2 reads again
        staff_basis = merge_basis(mapper(staff_pass, itertools.chain(_drain(first), parts), (settings,)))
        outcomes = mapper(process_partition, partitions(), (settings, staff_basis))
    else:
        outcomes = mapper(process_partition, itertools.chain(_drain(first), parts), (settings, STAFF_POOL))
    writer = RegisterWriter(lines_out, inputs, settings.lang) if lines_out is not None else None
    merger = Merger(settings, keep_findings)
    ok = False
    try:
        for outcome in outcomes:
            if writer is not None and outcome.register is not None:
                writer.write(outcome.register)
            outcome.register = None
            merger.add(outcome)
            del outcome  # not held while the next partition is classified
        ok = True
    finally:
        if writer is not None:
            writer.close(ok)
    return merger.result(engine)
