"""One entry for the whole chain: read → validate/reconcile → classify → :class:`RunResult`.

The CLI and notebooks call :func:`run` (files) or :func:`run_lines` (a canonical frame already in
memory). Later views (weighted, carbon) and the council workbook hang off :class:`RunResult`.

    >>> from budgetclimat.pipeline import run
    >>> result = run(["ca-2024.xml"], answers="reponses.xlsx")       # doctest: +SKIP
    >>> result.register.groupby(["axis", "class"])["amount_share_cents"].sum()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import i18n, model
from budgetclimat.engine import classify
from budgetclimat.engine.answers import conform_answers, empty_answers, read_answers
from budgetclimat.engine.bounds import compute_bounds
from budgetclimat.engine.worklist import attach_worklist
from budgetclimat.errors import ERROR, WARNING, BudgetclimatError, FindingsError, InvariantViolated, concat_findings, count_level, findings_frame
from budgetclimat.export.workbook.annex import annex_year_finding
from budgetclimat.export.workbook.roundtrip import is_budgetclimat_workbook, read_workbook_answers
from budgetclimat.read import read_budgets
from budgetclimat.reconcile import all_reconciled
from budgetclimat.rulebook import default_rulebooks, load_rulebook, load_rulebooks
from budgetclimat.rulebook.model import RuleSet
from budgetclimat.validate import validate_document
from budgetclimat.views.base import ViewInputs
from budgetclimat.views.builtin import compute_views
from budgetclimat.views.series import series
from budgetclimat.views.territory import load_inventory, load_measures
from budgetclimat.views.trajectory import load_trajectory


# The staff-cost pool (I4CE 3a / 3b pro rata): one budget (code) of one collectivité (SIRET/SIREN), one
# exercice and document — what classifying that budget alone gives, whatever else the run reads with it.
STAFF_POOL = ("siret", "budget_code", "exercice", "doc_type")


@dataclass
class RunResult:
    """Everything a run produced.

    * ``documents``: the :class:`~budgetclimat.model.BudgetDocument` read, in input order;
    * ``lines``: their canonical lines, concatenated (``line_id`` unique);
    * ``findings``: reader, validation, reconciliation and engine findings (answers) in one frame;
    * ``reconciliation``: one :class:`~budgetclimat.reconcile.Reconciliation` per document;
    * ``register``: one row per line × axis × piece (``docs/register.md``);
    * ``ruleset``: the rulebooks used; ``answers``: the canonical answers frame applied;
      ``facts``: the facts per line (aligned with ``lines``);
    * ``views``: ``{name: view}`` (:mod:`budgetclimat.views.base`), e.g. ``result.views["carbon"].lines``.
    """

    documents: list
    lines: pd.DataFrame
    findings: pd.DataFrame
    reconciliation: list
    register: pd.DataFrame
    ruleset: RuleSet
    answers: pd.DataFrame
    facts: pd.DataFrame = field(default_factory=pd.DataFrame)
    inputs: list[Path] = field(default_factory=list)
    # The views computed (budgetclimat.views.base), in the registry's order: weighted, carbon, and with
    # territory files territory and measures; a view that failed or does not apply is absent.
    views: dict = field(default_factory=dict)
    # The staff-cost pools the register used (classify's ``staff_basis``: None one pool, key columns, or a
    # whole budget's totals); the ranges allocate staff costs in the same pools.
    staff_basis: object = field(default=None, repr=False)
    # Ranges while questions are open (budgetclimat.engine.bounds.BoundsResult): computed on first use of
    # ``bounds`` (a few classify runs: only the outputs that show ranges pay for them), None when it failed.
    _bounds: object = field(default=None, repr=False)
    _bounds_done: bool = field(default=False, repr=False)

    @property
    def bounds(self):
        """:class:`~budgetclimat.engine.bounds.BoundsResult` of this run (:func:`attach_bounds`), or None."""
        if not self._bounds_done:
            attach_bounds(self)
        return self._bounds

    @bounds.setter
    def bounds(self, value) -> None:
        self._bounds, self._bounds_done = value, True

    @property
    def errors(self) -> int:
        return count_level(self.findings, ERROR)

    @property
    def has_errors(self) -> bool:
        return self.errors > 0

    @property
    def reconciliation_ok(self) -> bool | None:
        """True when every document reconciles to the cent, None when no document had raw totals."""
        return all_reconciled(self.reconciliation)


def resolve_ruleset(rulebooks: RuleSet | Iterable[str | Path] | None) -> RuleSet:
    """``None``: the shipped scope and classification rulebooks; paths: those files only; a RuleSet: itself."""
    if rulebooks is None:
        return default_rulebooks()
    if isinstance(rulebooks, RuleSet):
        return rulebooks
    return load_rulebooks(list(rulebooks))


def resolve_answers(answers: pd.DataFrame | str | Path | Sequence[str | Path] | None) -> pd.DataFrame:
    """An answers frame from a path, several paths (concatenated in order), a frame, or nothing."""
    if answers is None:
        return empty_answers()
    if isinstance(answers, pd.DataFrame):
        return conform_answers(answers) if "source_row" not in answers.columns else answers
    if isinstance(answers, (str, Path)):
        return _read_answers_file(answers)
    frames = [_read_answers_file(p) for p in answers]
    return pd.concat(frames, ignore_index=True) if frames else empty_answers()


def _read_answers_file(path: str | Path) -> pd.DataFrame:
    """A workbook written by ``classify -o`` is read through its own layout (answers typed in « Lignes » and
    « À approfondir », plus those the previous run applied); any other file by ``read_answers``."""
    return read_workbook_answers(path) if is_budgetclimat_workbook(path) else read_answers(path)


@dataclass
class TerritoryInputs:
    """The territory carbon budget's inputs (``docs/view-trajectory.md``): inventory and trajectory are
    required together; measures are optional."""

    inventory: Path
    trajectory: Path
    measures: Path | None = None


def load_territory(territory: TerritoryInputs) -> tuple:
    """Load (and so validate) the territory files: ``(inventory, trajectory, measures or None)``."""
    measures = load_measures(territory.measures) if territory.measures is not None else None
    return load_inventory(territory.inventory), load_trajectory(territory.trajectory), measures


def run(
    paths: Iterable[str | Path],
    rulebooks: RuleSet | Iterable[str | Path] | None = None,
    answers: pd.DataFrame | str | Path | Sequence[str | Path] | None = None,
    profile: str | None = None,
    basis: str | None = None,
    constants: dict[str, str] | None = None,
    territory: TerritoryInputs | None = None,
    staff_costs: str | None = None,
    conventions: bool = True,
) -> RunResult:
    """Read budget files, validate and reconcile them, classify their lines, compute the views.

    ``profile``, ``basis`` and ``constants`` are passed to :func:`budgetclimat.read.read_budgets`;
    ``territory`` adds the territory carbon budget and the measures' money (views ``territory``,
    ``measures``); ``staff_costs`` (``3a``/``3b``) overrides the rulebooks' choice of I4CE option for staff
    costs; ``conventions=False`` classifies without the rules declared ``convention: true`` (:meth:`RuleSet.without_conventions`: the
    lines they decided fall to the next rule), still listed, as not applied, in the outputs.
    """
    inputs = [Path(p) for p in paths]
    ruleset = resolve_ruleset(rulebooks).with_staff_costs(staff_costs)  # configuration first: a bad rulebook fails before reading
    if not conventions:
        ruleset = ruleset.without_conventions()
    answers_frame = resolve_answers(answers)
    loaded_territory = load_territory(territory) if territory is not None else None
    documents = read_budgets(inputs, profile=profile, basis=basis, constants=constants)
    reports = [validate_document(doc) for doc in documents]
    frames = [doc.lines for doc in documents if len(doc.lines)]
    lines = model.conform(pd.concat(frames, ignore_index=True)) if frames else model.empty_lines()
    stop_on_unplaceable(lines, concat_findings([r.findings for r in reports]))
    options = {"territory": loaded_territory} if loaded_territory is not None else {}
    result = run_lines(lines, ruleset, answers_frame, lines_read=sum(len(doc.lines) for doc in documents), view_options=options,
                       staff_basis=STAFF_POOL)  # staff costs pro rata per budget, not of every budget read together
    result.documents = documents
    result.reconciliation = [r.reconciliation for r in reports]
    result.findings = concat_findings([r.findings for r in reports] + [result.findings])
    result.inputs = inputs
    annex_year(result)
    return result


def stop_on_unplaceable(lines: pd.DataFrame, findings: pd.DataFrame) -> None:
    """Stop (exit 1, with the findings) when a line's euros cannot be placed: without a sens (D/R) a line
    is neither an expense nor a revenue, so no class total, reconciliation group or staff-cost basis can
    hold it. Validation already reported it as an error; classifying it would be a guess."""
    unplaceable = lines["sens"].isna().to_numpy()
    if not unplaceable.any():
        return
    bad = lines.loc[unplaceable, ["source_file", "source_row"]]
    keys = pd.DataFrame({"file": bad["source_file"].astype("string"), "row": bad["source_row"].astype("Int64")}).drop_duplicates()
    errors = findings[findings["level"] == ERROR]
    concerned = errors.merge(keys, on=["file", "row"], how="inner")
    first = bad.iloc[0]
    raise FindingsError(
        "lines-unplaceable", concerned if len(concerned) else errors,
        n=int(unplaceable.sum()), file=first["source_file"], row=first["source_row"],
    )


def run_lines(
    lines: pd.DataFrame,
    rulebooks: RuleSet | Iterable[str | Path] | None = None,
    answers: pd.DataFrame | str | Path | Sequence[str | Path] | None = None,
    lines_read: int | None = None,
    conventions: bool = True,
    view_options: dict | None = None,
    staff_basis=None,
    worklist: bool = True,
) -> RunResult:
    """Classify a canonical line frame already in memory (no reading, no validation). ``lines_read``: how
    many lines the readers gave, checked against the lines classified (:func:`check_invariants`);
    ``conventions=False``: without the convention rules, as :func:`run`; ``view_options``: the views'
    inputs (:class:`budgetclimat.views.base.ViewInputs`, e.g. ``territory``); ``staff_basis``: the staff-cost
    pro rata's basis when these lines are a partition of a budget (:func:`budgetclimat.engine.classify._staff`);
    ``worklist=False``: no worklist (a partition's is merged by :mod:`budgetclimat.scale`)."""
    ruleset = resolve_ruleset(rulebooks)
    if not conventions:
        ruleset = ruleset.without_conventions()
    answers_frame = resolve_answers(answers)
    lines = lines.reset_index(drop=True)
    classification = classify(lines, ruleset, answers_frame, staff_basis=staff_basis)
    result = RunResult(
        documents=[],
        lines=lines,
        findings=classification.findings,
        reconciliation=[],
        register=classification.register,
        ruleset=ruleset,
        answers=answers_frame,
        facts=classification.facts,
        staff_basis=staff_basis,
    )
    attach_views(result, view_options)  # the registered views, each isolated
    if worklist:
        attach_worklist(result)  # the worklist (question × key) and, with answers, the carry-over report
    check_invariants(result, lines_read)
    return result


def attach_bounds(result: RunResult) -> RunResult:
    """The ranges per axis (:func:`budgetclimat.engine.bounds.compute_bounds`), isolated like a view: a
    failure is a ``view-failed`` warning and ``result.bounds`` is None."""
    result._bounds_done = True
    result._bounds = isolated_view(result, "bounds", lambda: compute_bounds(result.lines, result.ruleset, result.answers, result.register,
                                                                                  staff_basis=result.staff_basis))
    return result


def isolated_view(result: RunResult, view: str, compute) -> object:
    """``compute()``, or None with a ``view-failed`` warning in ``result.findings`` when it raises.

    A view (weighted, carbon, territory) is an addition to the coloured budget: whatever stops it (a
    table without the budget's year, a rulebook it cannot apply, a defect) must not stop the run, so
    every exception is caught here, once per view, and said as a finding naming the view and why.
    """
    try:
        return compute()
    except Exception as exc:  # noqa: BLE001 - isolation of one view; the reason is reported, not swallowed
        reason = exc.message() if isinstance(exc, BudgetclimatError) else f"{type(exc).__name__}: {exc}"
        failed = findings_frame([{"level": WARNING, "code": "view-failed", "file": None, "row": None, "column": view,
                                  "value": reason, "expected": i18n.t(f"view-name.{view}")}])
        result.findings = concat_findings([result.findings, failed])
        return None


def annex_year(result: RunResult) -> RunResult:
    """An ``annex-nearest-year`` warning when the latest exercice precedes every legal-annex definition
    (``rules/annex``): the workbook then draws the annex up with the earliest definition, for information."""
    years = pd.to_numeric(result.lines["exercice"], errors="coerce").dropna() if len(result.lines) else pd.Series(dtype="float64")
    finding = annex_year_finding(int(years.max())) if len(years) else None
    if finding is not None:
        result.findings = concat_findings([result.findings, finding])
    return result


def attach_views(result: RunResult, options: dict | None = None) -> RunResult:
    """The registered views of ``result`` (:data:`budgetclimat.views.base.VIEWS`, in order) in
    ``result.views``, each computed apart (:func:`isolated_view`); a view's own findings (e.g. the carbon
    view's ``deflator-nearest-year``) join the run's findings."""
    inputs = ViewInputs(result.lines, result.register, result.ruleset, result.facts, dict(options or {}))

    def isolate(name, compute):
        view = isolated_view(result, name, compute)
        findings = getattr(view, "findings", None)
        if findings is not None and len(findings):
            result.findings = concat_findings([result.findings, findings])
        return view

    result.views = compute_views(inputs, isolate=isolate)
    return result


def check_invariants(result: RunResult, lines_read: int | None = None) -> None:
    """Assert, on every run, what the figures must satisfy (vectorised, a few group sums):

    * lines in = lines out: the lines read are the lines classified (``lines_read``), ``line_id`` unique;
    * per axis, every line is in the register, and its pieces sum to its amount to the cent;
    * per axis, class totals (in scope) + out of scope = total of the lines;
    * every in-scope piece has a class, every piece a scope ``in`` or ``out``.

    A violation is a bug, never the data's fault: :class:`~budgetclimat.errors.InvariantViolated` (exit 3)
    with the figures, before any output is written.
    """
    lines, reg = result.lines, result.register
    n = len(lines)
    if lines_read is not None and lines_read != n:
        raise InvariantViolated("invariant-violated", check="lines in = lines out", detail=f"{lines_read} lines read, {n} lines classified")
    if lines["line_id"].duplicated().any():
        raise InvariantViolated("invariant-violated", check="line_id unique", detail=f"{int(lines['line_id'].duplicated().sum())} duplicate line ids")
    if not len(reg):
        return

    line_ids = lines["line_id"].astype("string").to_numpy()
    amounts = lines["amount_cents"].astype("int64").to_numpy()
    total = int(amounts.sum())
    # One pass over the register: axis code × line position, exact int64 sums (np.add.at), no groupby per axis.
    axis_code, axes = pd.factorize(reg["axis"], sort=False)  # axes in order of appearance, like groupby(sort=False)
    k = len(axes)
    reg_ids = reg["line_id"].astype("string")
    pos = pd.Index(line_ids).get_indexer(reg_ids.to_numpy())
    share = reg["amount_share_cents"].astype("int64").to_numpy()
    valid = axis_code >= 0
    known = valid & (pos >= 0)
    per_line = np.zeros(k * max(n, 1), dtype="int64")
    np.add.at(per_line, axis_code[known] * n + pos[known], share[known])
    present = np.zeros(k * max(n, 1), dtype=bool)
    present[axis_code[known] * n + pos[known]] = True
    found = present.reshape(k, -1)[:, :n].sum(axis=1)
    strangers = valid & (pos < 0) & reg_ids.notna().to_numpy(dtype=bool)  # line ids the lines do not have
    unknown = np.zeros(k, dtype="int64")
    if strangers.any():
        counts = pd.DataFrame({"a": axis_code[strangers], "l": reg_ids.to_numpy()[strangers]}).drop_duplicates()["a"].value_counts()
        unknown[counts.index.to_numpy()] = counts.to_numpy()
    scope = reg["scope"].astype("string")
    is_in = (scope == "in").fillna(False).to_numpy(dtype=bool)
    is_out = (scope == "out").fillna(False).to_numpy(dtype=bool)
    has_class = reg["class"].notna().to_numpy(dtype=bool)
    classes = np.zeros(k, dtype="int64")
    out = np.zeros(k, dtype="int64")
    np.add.at(classes, axis_code[valid & is_in & has_class], share[valid & is_in & has_class])
    np.add.at(out, axis_code[valid & is_out], share[valid & is_out])
    unscoped = np.bincount(axis_code[valid & ~is_in & ~is_out], minlength=k)
    unclassed = np.bincount(axis_code[valid & is_in & ~has_class], minlength=k)
    for a, axis in enumerate(axes):
        missing = n - int(found[a])
        if missing or int(found[a] + unknown[a]) != n:
            raise InvariantViolated("invariant-violated", check=f"lines in the register, axis {axis}", detail=f"{n} lines, {int(found[a] + unknown[a])} in the register ({missing} missing)")
        diff = per_line[a * n : (a + 1) * n] - amounts
        if (diff != 0).any():
            first = int(np.flatnonzero(diff)[0])
            raise InvariantViolated(
                "invariant-violated", check=f"pieces sum to their line, axis {axis}",
                detail=f"line {line_ids[first]}: amount {int(amounts[first])} cents, pieces {int(per_line[a * n + first])} cents ({int((diff != 0).sum())} lines)",
            )
        if int(classes[a]) + int(out[a]) != total or unscoped[a] or unclassed[a]:
            raise InvariantViolated(
                "invariant-violated", check=f"class totals + out of scope = total, axis {axis}",
                detail=f"classes {int(classes[a])} + out of scope {int(out[a])} != total {total} cents ({int(unscoped[a])} pieces without scope, {int(unclassed[a])} in scope without class)",
            )


def compare_years(files, rules=None, answers=None, weights=None, carbon=None, trajectory=None, profile=None, basis=None, constants=None,
                  conventions=True):
    """Run the pipeline on each file (one budget year each) and build the per-year series of the views:
    ``(table, meta)``, what ``budgetclimat compare`` prints. The same rulebooks and answers serve every
    year, so answers keyed by nature + fonction + label carry over from one year to the next.
    ``conventions=False``: without the convention rules (:func:`run`)."""
    ruleset = resolve_ruleset(rules)
    answers_frame = resolve_answers(answers)
    weights_rb = load_rulebook(weights) if weights else None
    carbon_rb = load_rulebook(carbon) if carbon else None
    traj = load_trajectory(trajectory) if trajectory else None
    results = []
    for path in files:
        result = run([path], ruleset, answers_frame, profile=profile, basis=basis, constants=constants, conventions=conventions)
        if weights_rb is not None or carbon_rb is not None:
            options = {"weights": weights_rb, "carbon": carbon_rb}
            inputs = ViewInputs(result.lines, result.register, result.ruleset, result.facts, options, result.views)
            result.views = compute_views(inputs, names=("weighted", "carbon"))
        results.append(result)
    table = series(results, traj)
    weighted = results[-1].views.get("weighted") if results else None
    objectives = weighted.objectives if weighted is not None else []
    meta = {
        "files": [str(p) for p in files],
        "weights": weights_rb.id if weights_rb else "poids-classes-i4ce",
        "carbon": carbon_rb.id if carbon_rb else "carbone-m57-m14-ademe-2023",
        "trajectory": traj.id if traj else None,
        "objectives": objectives,
        "combined_rule": weighted.combine if weighted is not None else None,
        "conventions_applied": ruleset.conventions_applied and conventions,
    }
    return table, meta
