"""Validation of a canonical line frame: declarative pandera checks turned into findings.

Two schemas run lazily (every failure is collected, nothing stops at the first one):

* :func:`line_schema` checks each column on its own (required values, code formats, allowed values,
  negative amounts);
* :func:`consistency_schema` checks lines against the plan de comptes and against each other (account
  known, open, a leaf, not deleted; account consistent with section and chapter; duplicate lines). It
  runs on a narrow frame — the few columns the checks read plus the plan facts joined to each line —
  because pandera reports a failing frame-level check once per column of the frame it validated.

Pandera's failure cases are then mapped, vectorised, to the findings frame of :mod:`budgetclimat.errors`:
each check is named by its stable catalogue code, ``row`` is the line's ``source_row`` and ``file`` its
``source_file``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_lib
import pyarrow.compute as pc

from budgetclimat import i18n, model
from budgetclimat.errors import ERROR, WARNING, FindingCounts, concat_findings, empty_findings, findings_frame
from budgetclimat.nomenclature import plan_for
from budgetclimat.reconcile import Reconciliation, ordre_kind, reconcile


@dataclass(frozen=True)
class Rule:
    """A check's catalogue entry: its level, the column it reports, and what was expected.

    ``expected`` is either a text key (the same for every failing line) or the name of a column of the
    checked frame holding a per-line expectation. ``value`` optionally names the column whose value is
    shown (frame-level checks only; column checks show the failing value itself).
    """

    code: str
    level: str
    column: str | None = None
    expected: str | None = None
    expected_is_column: bool = False
    value: str | None = None


RULES: dict[str, Rule] = {}


def _rule(code: str, level: str, **kwargs: object) -> str:
    RULES[code] = Rule(code, level, **kwargs)  # type: ignore[arg-type]
    return code


# -- catalogue -------------------------------------------------------------------------------------

REQUIRED_MISSING = _rule("required-missing", ERROR, expected="expected.non-empty")
CODE_FORMAT = _rule("code-format", ERROR)
SECTION_INVALID = _rule("section-invalid", ERROR, expected="expected.section")
SENS_INVALID = _rule("sens-invalid", ERROR, expected="expected.sens")
OPERATION_INVALID = _rule("operation-invalid", ERROR, expected="expected.operation")
DOC_TYPE_INVALID = _rule("doc-type-invalid", ERROR, expected="expected.doc-type")
VALUE_INVALID = _rule("value-invalid", ERROR)
SIRET_INVALID = _rule("siret-invalid", WARNING, expected="expected.siret")
AMOUNT_NEGATIVE = _rule("amount-negative", WARNING, expected="expected.non-negative")
AMOUNT_MISSING = _rule("amount-missing", WARNING, column="amount_basis", value="amount_basis", expected="_basis_column", expected_is_column=True)
BASIS_EMPTY = _rule("basis-empty", ERROR, column="amount_basis", expected="expected.basis")
ACCOUNT_UNKNOWN = _rule("account-unknown", WARNING, column="nature", value="nature", expected="_plan", expected_is_column=True)
ACCOUNT_PARENT_CHAPTER = _rule("account-parent-chapter", WARNING, column="nature", value="nature", expected="_parent_text", expected_is_column=True)
ACCOUNT_THIRD_PARTY = _rule("account-third-party-operation", WARNING, column="nature", value="nature", expected="_third_party_parent", expected_is_column=True)
ACCOUNT_DELETED = _rule("account-deleted", WARNING, column="nature", value="nature", expected="_plan", expected_is_column=True)
ACCOUNT_NOT_LEAF = _rule("account-not-leaf", WARNING, column="nature", value="nature", expected="_plan", expected_is_column=True)
ACCOUNT_NOT_OPEN = _rule("account-not-open", WARNING, column="nature", value="nature", expected="_plan", expected_is_column=True)
ACCOUNT_SECTION_MISMATCH = _rule("account-section-mismatch", WARNING, column="section", value="section", expected="_section_expected_text", expected_is_column=True)
ACCOUNT_CHAPTER_MISMATCH = _rule("account-chapter-mismatch", WARNING, column="chapitre", value="chapitre", expected="_chapter_expected_text", expected_is_column=True)
DUPLICATE_LINE = _rule("duplicate-line", WARNING, column="nature", value="nature", expected="expected.unique-line")
_ACCOUNT = "validate.account"
_CHAPTER = "validate.chapter"

# Pandera's built-in checks, named by pandera, mapped to our codes.
_BUILTIN_CODES = {"not_nullable": REQUIRED_MISSING, "column_in_dataframe": REQUIRED_MISSING}

# Code formats, from the official plans de comptes (ODM XML): accounts are 2 to 9 digits (a few prévision
# lines use 001, 002, 020–024 as natures), chapters 2 to 5 digits (011, 6586, 45411), fonctions 1 to 5
# digits once the 90/93 prefix of vote par fonction is removed. Opérations pour compte de tiers (45…) are
# numbered by the collectivité after their plan account, chapter included (chapter and account 454418). No plan has letters in a code: readers strip
# export prefixes (cedi's A/C/R) before the frame is built.
FORMATS: dict[str, tuple[str, str, str]] = {
    "nature": (r"[0-9]{1,9}", "1 à 9 chiffres (compte du plan de comptes)", "1 to 9 digits (account of the plan)"),
    "chapitre": (r"[0-9]{2,9}", "2 à 9 chiffres (chapitre)", "2 to 9 digits (chapter)"),
    "chapitre_fonction": (r"[0-9]{2,5}", "2 à 5 chiffres (chapitre fonctionnel)", "2 to 5 digits (functional chapter)"),
    "fonction": (r"[0-9]{1,5}", "1 à 5 chiffres (fonction, sans le préfixe 90/93)", "1 to 5 digits (function, without the 90/93 prefix)"),
}
ENUMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "section": (SECTION_INVALID, ("F", "I")),
    "sens": (SENS_INVALID, ("D", "R")),
    "operation": (OPERATION_INVALID, ("reel", "ordre")),
    "doc_type": (DOC_TYPE_INVALID, model.DOC_TYPES),
    "ordre_kind": (VALUE_INVALID, ("section", "interieur")),
    "budget_kind": (VALUE_INVALID, ("principal", "annexe")),
    "amount_basis": (VALUE_INVALID, tuple(model.AMOUNT_COLUMNS)),
}
# Chapitres globalisés of the social allowances (RMI 015/010, APA 016, RSA 017/018, M52 and M57): a
# département votes there every account of the allowance, whatever chapter the plan gives the account.
ALLOWANCE_CHAPTERS = ("010", "015", "016", "017", "018")
# A line is the same imputation as another when all of these agree within one document (the siret: a
# DGFiP balance holds many collectivités, whose budget codes, accounts and fonctions coincide).
DUPLICATE_KEYS = [
    "source_file", "siret", "exercice", "doc_type", "budget_code", "chapitre_fonction",
    "nature", "fonction", "section", "sens", "operation", "operation_code", "ap_code", "chapitre",
]



def line_level_export(frame: pd.DataFrame) -> pd.Series:
    """Rows of documents that are line-level exports (one row per mandate or title, each with its own
    label: an ERP's detail), where several rows per imputation are the rule, not duplicates.

    A document is line-level when, among its groups of rows sharing an imputation, at least half
    carry distinct labels (every row of the group its own). Budget documents (one line per
    imputation) keep the ``duplicate-line`` check.
    """
    result = pd.Series(False, index=frame.index)
    if "label" not in frame.columns or frame.empty:
        return result
    keys = frame[DUPLICATE_KEYS].astype("string").fillna("\x00")
    shared = keys.duplicated(keep=False).to_numpy()
    if not shared.any():
        return result
    group = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    sub = pd.DataFrame({"file": keys["source_file"].to_numpy()[shared], "g": group[shared], "label": frame["label"].astype("string").to_numpy()[shared]})
    per_group = sub.groupby(["file", "g"], sort=False).agg(n=("label", "size"), distinct=("label", "nunique"))
    per_group["own"] = per_group["distinct"] == per_group["n"]
    share = per_group.groupby(level="file", sort=False)["own"].mean()
    line_level = set(share.index[share >= 0.5])
    return pd.Series(keys["source_file"].isin(line_level).to_numpy(), index=frame.index)

# -- schemas ---------------------------------------------------------------------------------------


def _check(code: str, fn: Callable, **kwargs: object) -> pa.Check:
    # ``error`` is what pandera reports in failure_cases["check"]: the stable code.
    return pa.Check(fn, name=code, error=code, **kwargs)


def line_schema() -> pa.DataFrameSchema:
    """Column-by-column checks of the canonical frame (nulls in optional columns pass)."""
    columns: dict[str, pa.Column] = {}
    for col in model.COLUMNS:
        checks: list[pa.Check] = []
        if col.name in FORMATS:
            pattern = FORMATS[col.name][0]
            checks.append(_check(f"{CODE_FORMAT}:{col.name}", lambda s, p=pattern: s.astype("string").str.fullmatch(p)))
        if col.name in ENUMS:
            code, allowed = ENUMS[col.name]
            checks.append(_check(f"{code}:{col.name}", lambda s, a=allowed: s.isin(a)))
        if col.name == "siret":
            checks.append(_check(SIRET_INVALID, lambda s: s.astype("string").str.fullmatch(r"[0-9]{9}|[0-9]{14}")))
        if col.name == "exercice":
            checks.append(_check(f"{VALUE_INVALID}:exercice", lambda s: s.between(1990, 2100)))
        if col.name == "amount_cents":
            checks.append(_check(AMOUNT_NEGATIVE, lambda s: s >= 0))
        columns[col.name] = pa.Column(nullable=not col.required, checks=checks, required=True)
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def _well_formed(codes: pd.Series, column: str) -> pd.Series:
    return codes.astype("string").str.fullmatch(FORMATS[column][0]).fillna(False)


def consistency_schema() -> pa.DataFrameSchema:
    """Frame-level checks on the narrow frame built by :func:`_consistency_frame`.

    Plan facts (``_known``…) are NA where no plan applies, so that those lines pass the plan checks.
    """
    no_plan = lambda d: d["_plan"].isna()  # noqa: E731
    checks = [
        # A malformed code is reported once, as code-format, not again as an unknown account.
        _check(
            ACCOUNT_UNKNOWN,
            lambda d: no_plan(d) | ~_well_formed(d["nature"], "nature") | d["_known"].fillna(True) | d["_parent"].notna() | d["_third_party_parent"].notna(),
        ),
        _check(
            ACCOUNT_PARENT_CHAPTER,
            lambda d: d["_known"].fillna(True) | d["_parent"].isna(),
        ),
        _check(ACCOUNT_THIRD_PARTY, lambda d: d["_known"].fillna(True) | d["_third_party_parent"].isna()),
        _check(ACCOUNT_DELETED, lambda d: ~d["_deleted"].fillna(False)),
        _check(ACCOUNT_NOT_LEAF, lambda d: ~d["_non_leaf"].fillna(False)),
        _check(ACCOUNT_NOT_OPEN, lambda d: ~(d["_known"].fillna(False) & d["_chapter_expected"].isna())),
        _check(
            ACCOUNT_SECTION_MISMATCH,
            lambda d: d["_section_expected"].isna() | d["section"].isna() | (d["section"] == d["_section_expected"]).fillna(True),
        ),
        _check(
            ACCOUNT_CHAPTER_MISMATCH,
            lambda d: (
                d["_chapter_expected"].isna()
                | d["chapitre"].isna()
                | (d["chapitre"] == d["_chapter_expected"]).fillna(True)
                # Opérations d'équipement are voted as chapters of their own, numbered like the operation.
                | (d["chapitre"] == d["operation_code"]).fillna(False)
                | d["chapitre"].isin(ALLOWANCE_CHAPTERS).fillna(False)
            ),
        ),
        _check(DUPLICATE_LINE, lambda d: ~d[DUPLICATE_KEYS].duplicated(keep="first") | line_level_export(d)),
        _check(AMOUNT_MISSING, lambda d: d["_basis_amount"].notna()),
        # A document-level fact: one failure, not one per line.
        _check(BASIS_EMPTY, lambda d: bool(len(d) == 0 or d["_basis_amount"].notna().any())),
    ]
    return pa.DataFrameSchema(checks=checks, strict=False, coerce=False)


# -- plan facts ------------------------------------------------------------------------------------

def _in_plan(codes: pd.Series, known: pa_lib.Array) -> pd.Series:
    """``codes.isin(known)`` for a plan's thousands of codes, through pyarrow's ``is_in`` (pandas converts the
    value set cell by cell on each call); missing codes are not in the plan."""
    values = pa_lib.array(codes.astype("string").array)
    found = pc.is_in(values, value_set=known)
    return pd.Series(np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool), index=codes.index)


def _plan_codes(known: pd.Index) -> pa_lib.Array:
    return pa_lib.array(known.astype("string").dropna().unique().tolist(), type=pa_lib.string())


def _third_party_parent(nature: pd.Series, known: pd.Index) -> pd.Series:
    """For an unknown 45… account, the longest plan account it extends (``454418`` -> ``45441``), else NA."""
    parent = pd.Series(pd.NA, index=nature.index, dtype="string")
    codes = _plan_codes(known)
    unknown = ~_in_plan(nature, codes) & nature.str.startswith("45").fillna(False)
    for length in range(3, 9):  # shortest first: longer known prefixes overwrite shorter ones
        prefix = nature.str.slice(0, length)
        hit = unknown & (nature.str.len() > length).fillna(False) & _in_plan(prefix, codes)
        parent = parent.mask(hit, prefix)
    return parent


def _expected_section(nature: pd.Series) -> pd.Series:
    """The section an account belongs to by its class: 6/7 fonctionnement, 1/2 and 45 investissement.

    The 0xx natures are the prévision-only lines (reports, virements, imprévus, cessions). Other classes
    (3 stocks, 4 third parties, 5 treasury) appear in either section and are not checked.
    """
    first = nature.str.slice(0, 1)
    conditions = [
        first.isin(["6", "7"]).fillna(False),
        (first.isin(["1", "2"]) | nature.str.startswith("45")).fillna(False),
        nature.isin(["002", "022", "023"]).fillna(False),
        nature.isin(["001", "020", "021", "024"]).fillna(False),
    ]
    return pd.Series(np.select(conditions, ["F", "I", "F", "I"], default=""), index=nature.index, dtype="string").replace("", pd.NA)


def _resolve_plans(lines: pd.DataFrame, plan: object | None) -> tuple[list[tuple[pd.Series, object]], pd.DataFrame]:
    """Which plan checks which lines: ``[(mask, plan)]``, plus the warnings of the plan lookup.

    A plan is a :class:`budgetclimat.nomenclature.Plan` (``accounts``, ``name``, ``chapter_of``).
    """
    if plan is not None:
        return [(pd.Series(True, index=lines.index), plan)], empty_findings()
    keys = ["nomenclature", "nomenclature_variant", "exercice"]
    text = lines[keys].astype("string").fillna("")
    resolved, notes = [], []
    for values in text.drop_duplicates().itertuples(index=False):  # one per nomenclature × year, not per line
        nomenclature, variant, exercice = values
        if not nomenclature:
            continue  # reported as required-missing
        found, warning = plan_for(nomenclature, variant or None, int(exercice) if exercice else None)
        if warning is not None:
            notes.append(warning)
        if found is not None:
            mask = (text == list(values)).all(axis=1)
            resolved.append((mask, found))
    return resolved, findings_frame(notes)


def _consistency_frame(lines: pd.DataFrame, plans: list[tuple[pd.Series, object]]) -> pd.DataFrame:
    """The columns the consistency checks read, with each line's plan facts joined to it."""
    work = lines[list(dict.fromkeys(DUPLICATE_KEYS + ["ordre_kind", "amount_basis", "source_row", "label"]))].copy()
    work["_plan"] = pd.Series(pd.NA, index=work.index, dtype="string")
    work["_known"] = pd.Series(pd.NA, index=work.index, dtype="boolean")
    work["_deleted"] = pd.Series(pd.NA, index=work.index, dtype="boolean")
    work["_non_leaf"] = pd.Series(pd.NA, index=work.index, dtype="boolean")
    work["_chapter_expected"] = pd.Series(pd.NA, index=work.index, dtype="string")
    work["_third_party_parent"] = pd.Series(pd.NA, index=work.index, dtype="string")
    work["_parent"] = pd.Series(pd.NA, index=work.index, dtype="string")
    kind = ordre_kind(lines)
    nature = lines["nature"].astype("string")
    for mask, plan in plans:
        accounts = plan.accounts.set_index("code")  # type: ignore[attr-defined]
        whole = bool(mask.all())  # one plan for every line (the usual case): whole columns, no masked setitem
        sub = nature if whole else nature[mask]

        def put(column: str, values: object, whole: bool = whole, mask: pd.Series = mask) -> None:
            if whole:
                work[column] = pd.Series(values, index=work.index).astype(work[column].dtype)
            else:
                work.loc[mask, column] = values

        put("_plan", plan.name)  # type: ignore[attr-defined]
        put("_known", _in_plan(sub, _plan_codes(accounts.index)))
        put("_deleted", sub.map(accounts["deleted"]).astype("boolean").fillna(False))
        put("_non_leaf", ~sub.map(accounts["is_leaf"]).astype("boolean").fillna(True))
        third_party = _third_party_parent(sub, accounts.index)
        put("_third_party_parent", third_party)
        # An account the plan lacks is checked against its closest known parent (its chapter is the line's),
        # except third-party operations, whose chapter the collectivité numbers after the account.
        parent = plan.known_ancestor(sub).mask(third_party.notna())  # type: ignore[attr-defined]
        put("_parent", parent)
        put("_chapter_expected", plan.chapter_of(  # type: ignore[attr-defined]
            sub.mask(parent.notna(), parent), lines["sens"] if whole else lines.loc[mask, "sens"],
            lines["operation"] if whole else lines.loc[mask, "operation"], kind if whole else kind[mask]
        ))
    work["_section_expected"] = _expected_section(nature)
    basis_column = lines["amount_basis"].map(model.AMOUNT_COLUMNS).astype("string")
    work["_basis_column"] = basis_column
    basis_amount = pd.Series(pd.NA, index=lines.index, dtype="Int64")
    for column in model.AMOUNT_COLUMNS.values():
        basis_amount = basis_amount.mask((basis_column == column).fillna(False), lines[column])
    work["_basis_amount"] = basis_amount
    account = i18n.t(_ACCOUNT)
    work["_section_expected_text"] = work["_section_expected"] + f" ({account} " + nature + ")"
    work["_chapter_expected_text"] = work["_chapter_expected"] + f" ({account} " + nature + ", " + work["_plan"] + ")"
    chapter = i18n.t(_CHAPTER)
    work["_parent_text"] = (
        f"{account} " + work["_parent"] + (", " + chapter + " " + work["_chapter_expected"]).fillna("") + ", " + work["_plan"]
    )
    return work


# -- failure cases -> findings ---------------------------------------------------------------------


_FAILURE_COLUMNS = ["check", "column", "failure_case", "index"]


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """The failure cases of ``schema`` on ``frame``, as pandera's lazy validation reports them (``check``,
    ``column``, ``failure_case``, ``index``), one per failing line and check.

    The schema is pandera's declaration; its checks are run here, vectorised, rather than by
    ``schema.validate``: pandera formats a failure-case frame per check (a frame-level check once per
    column of the frame: 25 rows per failing line) and maps its ``not_nullable`` cases through
    element-wise string code, which at 300,000 findings cost seconds. The semantics are pandera's:
    a required column absent is ``column_in_dataframe``; a non-nullable column's nulls are
    ``not_nullable``; column checks see the non-null values only (``ignore_na``); a frame-level check
    returns a boolean per line or one boolean for the document. Order: absent columns, then column by
    column (nulls, then the checks in order), then the frame-level checks in order.
    """
    pieces: list[pd.DataFrame] = []

    def add(check: str, column: str | None, positions: np.ndarray, cases: pd.Series | None, index: object = None) -> None:
        if not len(positions):
            return
        labels = frame.index[positions] if index is None else index
        failure = (pd.Series(pd.NA, index=range(len(positions)), dtype="string") if cases is None
                   else pd.Series(cases.astype("string").to_numpy(), dtype="string"))
        pieces.append(pd.DataFrame({"check": check, "column": column, "failure_case": failure, "index": labels}))

    for name, column in schema.columns.items():
        if column.required and name not in frame.columns:
            add("column_in_dataframe", None, np.array([0]), pd.Series([name]), index=[None])
    for name, column in schema.columns.items():
        if name not in frame.columns:
            continue
        values = frame[name]
        missing = values.isna().to_numpy()
        if not column.nullable:
            add("not_nullable", name, np.flatnonzero(missing), None)
        present = np.flatnonzero(~missing)
        checked = values.iloc[present] if missing.any() else values
        for check in column.checks:
            ok = pd.Series(check._check_fn(checked)).to_numpy(dtype=bool, na_value=True)  # pandera's Check function
            failing = present[~ok]
            add(check.name, name, failing, values.iloc[failing])
    for check in schema.checks:
        result = check._check_fn(frame)
        if isinstance(result, (bool, np.bool_)):
            if not result:
                add(check.name, None, np.array([0]), pd.Series([False]), index=[None])
            continue
        ok = pd.Series(result).to_numpy(dtype=bool, na_value=True)
        add(check.name, None, np.flatnonzero(~ok), None)
    if not pieces:
        return pd.DataFrame(columns=_FAILURE_COLUMNS)
    return pd.concat(pieces, ignore_index=True)


def _cents_text(cents: pd.Series) -> pd.Series:
    """Cents as a decimal amount in the current language's notation (``-1234,50``), vectorised."""
    values = pd.to_numeric(cents, errors="coerce").astype("Int64")
    absolute = values.abs()
    sep = "." if i18n.language() == "en" else ","
    text = (absolute // 100).astype("string") + sep + (absolute % 100).astype("string").str.zfill(2)
    return text.mask(values < 0, "-" + text)


def failures_to_findings(failures: pd.DataFrame, frame: pd.DataFrame, default_file: str) -> pd.DataFrame:
    """Map pandera failure cases on ``frame`` to findings (one per failing line and check)."""
    if failures.empty:
        return empty_findings()
    fc = failures.copy()
    fc["check"] = fc["check"].astype("string")
    fc["column"] = fc["column"].astype("string")
    builtin = fc["check"].map(_BUILTIN_CODES)
    # Column checks are named "<code>:<column>" when one code serves several columns.
    checks = fc["check"].dropna().unique()
    fc["code"] = builtin.fillna(fc["check"].map({c: str(c).split(":")[0] for c in checks})).astype("string")
    index = pd.to_numeric(fc["index"], errors="coerce").astype("Int64")
    has_row = index.notna().to_numpy()
    positions = np.where(has_row, frame.index.get_indexer(index.fillna(-1).astype("int64")), -1)
    located = positions >= 0

    taken: dict[str, pd.Series] = {}

    def at(column: str) -> pd.Series:
        """``column`` of each failure's line as text (NA where the failure has no line), taken once."""
        if column not in taken:
            if column in frame.columns and located.any():
                values = frame[column].take(np.where(located, positions, 0)).astype("string").to_numpy()
                taken[column] = pd.Series(values, index=fc.index, dtype="string").mask(~located)
            else:
                taken[column] = pd.Series(pd.NA, index=fc.index, dtype="string")
        return taken[column]

    out = pd.DataFrame(index=fc.index)
    out["code"] = fc["code"]
    out["level"] = fc["code"].map({c: r.level for c, r in RULES.items()}).fillna(ERROR)
    out["file"] = at("source_file").fillna(default_file)
    out["row"] = pd.to_numeric(at("source_row"), errors="coerce").astype("Int64")
    out["column"] = fc["column"]
    out["value"] = fc["failure_case"].astype("string")
    out["expected"] = pd.Series(pd.NA, index=fc.index, dtype="string")
    for code, rows in out.groupby("code", sort=False).groups.items():  # one pass per code, not per line
        rule = RULES.get(code)
        if rule is None:
            continue
        if rule.column is not None:
            out.loc[rows, "column"] = rule.column
        if rule.value is not None:
            out.loc[rows, "value"] = at(rule.value).loc[rows]
        if rule.code == AMOUNT_NEGATIVE:
            out.loc[rows, "value"] = _cents_text(out.loc[rows, "value"])
        if rule.code == BASIS_EMPTY:
            out.loc[rows, "value"] = ", ".join(sorted(frame["amount_basis"].dropna().astype(str).unique()))
        if rule.expected is not None:
            out.loc[rows, "expected"] = at(rule.expected).loc[rows] if rule.expected_is_column else i18n.t(rule.expected)
    per_column = out["code"].isin([CODE_FORMAT, VALUE_INVALID])
    if per_column.any():
        labels = {c: i18n.t(f"expected.format.{c}") for c in FORMATS}
        labels["exercice"] = i18n.t("expected.exercice")
        for col, (_, allowed) in ENUMS.items():
            labels.setdefault(col, ", ".join(allowed))
        out.loc[per_column, "expected"] = out.loc[per_column, "column"].map(labels)
    return out


# -- entry point -----------------------------------------------------------------------------------


def validate(doc: model.BudgetDocument, plan: object | None = None) -> pd.DataFrame:
    """All findings on ``doc``: the reader's own, then the line checks and the plan checks.

    ``plan`` (a :class:`budgetclimat.nomenclature.Plan`) forces one plan de comptes for every line; by
    default each line is checked against the plan of its nomenclature and exercice, and the plan lookup's
    warnings (plan of another year, no plan) are findings too.
    Returns a findings frame (:data:`budgetclimat.errors.FINDING_COLUMNS`), sorted by file and row.
    """
    return _validate(doc, plan)[0]


def _validate(doc: model.BudgetDocument, plan: object | None) -> tuple[pd.DataFrame, list[str]]:
    lines = doc.lines.reset_index(drop=True)
    default_file = doc.source.path.name
    found = [doc.findings]
    found.append(failures_to_findings(_failures(line_schema(), lines), lines, default_file))
    names: list[str] = []
    if len(lines):
        plans, notes = _resolve_plans(lines, plan)
        names = list(dict.fromkeys(p.name for _, p in plans))  # type: ignore[attr-defined]
        # The readers already say which plan they used; repeat the lookup's warning only if they did not.
        if not doc.findings["code"].astype("string").str.startswith("plan-").fillna(False).any():
            found.append(notes)
        work = _consistency_frame(lines, plans)
        consistency = failures_to_findings(_failures(consistency_schema(), work), work, default_file)
        found.append(_drop_amount_missing_already_reported(consistency, doc.findings))
    return _sorted(concat_findings(found)), names


def _drop_amount_missing_already_reported(findings: pd.DataFrame, reader: pd.DataFrame) -> pd.DataFrame:
    """An amount the reader could not parse is its error already; do not add "no amount" on that line."""
    if findings.empty or reader is None or reader.empty:
        return findings
    reported = reader.loc[reader["level"] == ERROR, ["file", "row"]].dropna().drop_duplicates().assign(_seen=True)
    marked = findings.merge(reported, on=["file", "row"], how="left")
    keep = ~((marked["code"] == AMOUNT_MISSING) & marked["_seen"].fillna(False).astype(bool))
    return findings[keep.to_numpy()]


def _sorted(findings: pd.DataFrame) -> pd.DataFrame:
    return findings.sort_values(["file", "row"], kind="stable", na_position="first").reset_index(drop=True)


@dataclass
class DocumentReport(FindingCounts):
    """Everything ``budgetclimat validate`` says about one document: what it is, its totals, findings."""

    doc: model.BudgetDocument
    plans: list[str]
    reconciliation: Reconciliation
    findings: pd.DataFrame  # validation and reconciliation findings, the reader's included

    def summary(self) -> dict[str, object]:
        """The document's identity and counts. A header column (collectivité, SIRET, exercice…) gives its value,
        or the list of its distinct values in file order when the file holds several (a DGFiP balance of many
        collectivités): naming the first would say the file is that collectivité's."""
        lines = self.doc.lines

        def first(column: str) -> object:
            values = pd.unique(lines[column].dropna())
            plain = [v.item() if hasattr(v, "item") else v for v in values]
            return None if not plain else plain[0] if len(plain) == 1 else plain

        return {
            "file": self.reconciliation.file,
            "format": self.doc.source.format,
            "collectivite": first("collectivite"),
            "siret": first("siret"),
            "exercice": first("exercice"),
            "doc_type": first("doc_type"),
            "budget": first("budget_label"),
            "nomenclature": first("nomenclature_variant") or first("nomenclature"),
            "plans": self.plans,
            "basis": self.reconciliation.basis,
            "lines_in": int(self.reconciliation.totals["lines_in"].sum()) if self.reconciliation.available else None,
            "lines_out": len(lines),
            "reconciliation_ok": self.reconciliation.ok if self.reconciliation.available else None,
            "ordre_balanced": self.reconciliation.ordre_balanced,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def validate_document(doc: model.BudgetDocument, plan: object | None = None) -> DocumentReport:
    """Validate and reconcile one document (what ``budgetclimat validate`` runs on each file)."""
    findings, names = _validate(doc, plan)
    rec = reconcile(doc)
    return DocumentReport(doc, names, rec, _sorted(concat_findings([findings, rec.findings])))


def counts_by_code(findings: pd.DataFrame) -> pd.DataFrame:
    """``level, code, count`` — errors first, then by decreasing count."""
    if findings.empty:
        return pd.DataFrame({"level": pd.Series(dtype="string"), "code": pd.Series(dtype="string"), "count": pd.Series(dtype="int64")})
    counts = findings.groupby(["level", "code"], sort=False).size().rename("count").reset_index()
    counts["_order"] = (counts["level"] != ERROR).astype(int)
    return counts.sort_values(["_order", "count", "code"], ascending=[True, False, True]).drop(columns="_order").reset_index(drop=True)
