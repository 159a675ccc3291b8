"""The canonical budget-line model: one row per budget line, the same columns whatever the source.

Readers adapt their format to this frame; nothing downstream knows which format a line came from.
Money columns end in ``_cents`` and are integer cents. ``docs/line-model.md`` documents the columns
(a test checks that it lists every column of :data:`COLUMNS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    meaning: str
    required: bool = True  # must be non-null on every line


COLUMNS: list[Column] = [
    Column("line_id", "string", "Stable line id: `<exercice><doc_type>-<budget_code>-<seq>` (seq = order in the source, 5 digits); a `~n` suffix separates several files of the same year and document."),
    Column("source_file", "string", "Name of the file the line was read from."),
    Column("source_row", "Int64", "Position in the source: 1-based row number in a CSV/XLSX file (header row included, as a spreadsheet shows it), or the line of the `<LigneBudget>` element in a TOTEM XML file."),
    Column("source_format", "string", "Reader or profile that read the line (`totem`, `scdl`, `cedi`, `paris`, `dgfip`, `generic`, or a user profile id)."),
    Column("collectivite", "string", "Name of the collectivité (TOTEM `LibelleColl`).", required=False),
    Column("siret", "string", "SIRET (14 digits) or SIREN of the collectivité (TOTEM `IdColl`).", required=False),
    Column("exercice", "Int64", "Budget year (TOTEM `Exer`)."),
    Column("doc_type", "string", "Budget document: `BP` budget primitif, `BS` budget supplémentaire, `DM` décision modificative, `CA` compte administratif, `CFU` compte financier unique."),
    Column("budget_code", "string", "Budget code (TOTEM `CodBud`, e.g. `00` for the principal budget).", required=False),
    Column("budget_label", "string", "Budget name (TOTEM `LibelleEtab`).", required=False),
    Column("budget_kind", "string", "`principal` or `annexe`."),
    Column("nomenclature", "string", "Norm: `M57`, `M14`, `M52`, `M4`, `M71`…"),
    Column("nomenclature_variant", "string", "Full nomenclature as in TOTEM (`M57-M57`, `M14-M14_COM_SUP3500`, `M57-M57_A`…).", required=False),
    Column("section", "string", "`F` fonctionnement or `I` investissement."),
    Column("sens", "string", "`D` dépense or `R` recette."),
    Column("operation", "string", "`reel` (cash) or `ordre` (accounting transfer, no cash)."),
    Column("ordre_kind", "string", "For ordre lines: `section` (between sections, 040/042; vote par fonction 926/946, M14 914/934) or `interieur` (within a section, 041/043; vote par fonction 925/947, M14 910/935); empty otherwise.", required=False),
    Column("chapitre", "string", "Chapter by nature the line belongs to (`011`, `012`, `21`, `204`, `16`…): the source's when it has one (TOTEM `ContNat`), else from the plan de comptes for the account and réel/ordre; empty only if neither knows it.", required=False),
    Column("chapitre_plan", "string", "Chapter by nature the plan de comptes gives the account for its sens and réel/ordre kind (`014` for 739211, `65` for 6574…), whatever chapter the line was voted in (an opération d'équipement, a functional chapter, a source's own chapter); empty when no plan knows the account (its closest known parent account's chapter otherwise). Scope rules test it (`rules/scope/default.yaml`).", required=False),
    Column("chapitre_fonction", "string", "Functional chapter under vote par fonction (TOTEM `ContFon`, e.g. `930`, `900`, `9044` for « 904-4 »); empty otherwise. `chapitre` keeps the chapter by nature.", required=False),
    Column("nature", "string", "Account (compte par nature), up to 7 digits, as in the plan de comptes (`21312`)."),
    Column("fonction", "string", "Functional code without the `90`/`93` prefix of vote par fonction (`020`, `822`); empty when the source has none.", required=False),
    Column("operation_code", "string", "Opération d'équipement / programme number, when the source carries one.", required=False),
    Column("ap_code", "string", "Autorisation de programme / d'engagement the line executes (TOTEM `CaracSup` `ProgAutoNum`), when the source carries one.", required=False),
    Column("ap_label", "string", "Label of that autorisation (TOTEM `ProgAutoLib`).", required=False),
    Column("label", "string", "Line label: the source's own label when it has one, else the account label from the plan de comptes.", required=False),
    Column("account_label", "string", "Label of the account in the plan de comptes (enrichment).", required=False),
    Column("fonction_label", "string", "Label of the fonction in the plan de comptes (enrichment).", required=False),
    Column("voted_cents", "Int64", "Voted amount, new proposals of the document (TOTEM `MtPrev`, SCDL `MTPREV`), in cents.", required=False),
    Column("open_credits_cents", "Int64", "Open credits (TOTEM `CredOuv`), in cents.", required=False),
    Column("executed_cents", "Int64", "Executed amount (mandaté / titré, TOTEM `MtReal`), in cents.", required=False),
    Column("carried_forward_cents", "Int64", "Remainders to carry forward at 31/12 (TOTEM `MtRAR3112`), in cents.", required=False),
    Column("previous_carried_cents", "Int64", "Remainders carried from the previous year (TOTEM `MtRARPrec`), in cents.", required=False),
    Column("previous_budget_cents", "Int64", "Previous year's budget (TOTEM `MtBudgPrec`), in cents.", required=False),
    Column("proposed_cents", "Int64", "New proposals (TOTEM `MtPropNouv`), in cents.", required=False),
    Column("amount_cents", "int64", "The amount the views use, in cents: executed for a CA/CFU, voted for BP/BS/DM, unless overridden (`amount_basis`)."),
    Column("amount_basis", "string", "Which amount column `amount_cents` was taken from (`executed`, `voted`, `open_credits`…)."),
]

COLUMN_NAMES = [c.name for c in COLUMNS]
DTYPES = {c.name: c.dtype for c in COLUMNS}
AMOUNT_COLUMNS = {
    "voted": "voted_cents",
    "open_credits": "open_credits_cents",
    "executed": "executed_cents",
    "carried_forward": "carried_forward_cents",
    "previous_carried": "previous_carried_cents",
    "previous_budget": "previous_budget_cents",
    "proposed": "proposed_cents",
}
# How each basis is named to users (validate summary, workbook).
BASIS_LABELS = {
    "voted": ("montants votés", "voted amounts"),
    "open_credits": ("crédits ouverts", "open credits"),
    "executed": ("montants exécutés (mandatés / titrés)", "executed amounts"),
    "carried_forward": ("restes à réaliser au 31/12", "remainders carried forward at 31/12"),
    "previous_carried": ("restes à réaliser de l'exercice précédent", "remainders carried from the previous year"),
    "previous_budget": ("budget de l'exercice précédent", "previous year's budget"),
    "proposed": ("propositions nouvelles", "new proposals"),
}
DOC_TYPES = ("BP", "BS", "DM", "CA", "CFU")
# Documents of execution use the executed amount; budgets (prévisions) the voted one.
DEFAULT_BASIS = {"CA": "executed", "CFU": "executed", "BP": "voted", "BS": "voted", "DM": "voted"}


@dataclass
class SourceInfo:
    """What a reader knows about the file it read."""

    path: Path
    format: str  # reader or profile id
    sha256: str
    encoding: str | None = None
    header: dict[str, str] = field(default_factory=dict)  # document-level fields as found in the source


@dataclass
class BudgetDocument:
    """One budget file read into the canonical model.

    ``lines`` has the :data:`COLUMNS`. ``raw_totals`` holds totals computed by the reader straight from
    the raw source text (Decimal sums, independent of the frame) by section × sens × operation, for
    reconciliation: columns ``section, sens, operation, basis, lines, total_cents``.
    ``findings`` are the reader's own findings (see :mod:`budgetclimat.errors`).
    """

    lines: pd.DataFrame
    source: SourceInfo
    raw_totals: pd.DataFrame
    findings: pd.DataFrame


def empty_lines() -> pd.DataFrame:
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in COLUMNS})


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the canonical columns, in order, with their dtypes.

    Missing optional columns are added empty; extra columns are dropped.
    """
    out = pd.DataFrame(index=frame.index)
    for c in COLUMNS:
        if c.name in frame.columns:
            out[c.name] = frame[c.name].astype(c.dtype)
        else:
            out[c.name] = pd.Series(pd.NA, index=frame.index, dtype=c.dtype) if c.dtype != "int64" else 0
    return out.reset_index(drop=True)


def choose_amount(frame: pd.DataFrame, basis: str | None = None) -> pd.DataFrame:
    """Set ``amount_cents``/``amount_basis`` from the document type, or from ``basis`` when given.

    A missing amount on the chosen basis counts as zero (a BP line has no executed amount).
    """
    out = frame.copy()
    if basis is not None:
        chosen = pd.Series(basis, index=out.index, dtype="string")
    else:
        chosen = out["doc_type"].map(DEFAULT_BASIS).fillna("voted").astype("string")
    amount = pd.Series(0, index=out.index, dtype="int64")
    for name, column in AMOUNT_COLUMNS.items():
        if column in out.columns:
            pick = (chosen == name).to_numpy()
            amount = amount.mask(pick, out[column].fillna(0).astype("int64"))
    out["amount_cents"] = amount.astype("int64")
    out["amount_basis"] = chosen
    return out


def assign_line_ids(frame: pd.DataFrame, file_index: int = 0, first: int = 1) -> pd.Series:
    """Stable ids from year, document, budget and order in the source: ``2018CA-00-00001``.

    ``file_index`` > 0 adds ``~n`` so that two files of the same year and document never collide.
    ``first`` is the order of the frame's first line in its file (a partition of a file read in parts).
    """
    seq = pd.Series(range(first, first + len(frame)), index=frame.index).astype("string").str.zfill(5)
    ident = (
        frame["exercice"].astype("string").fillna("0000")
        + frame["doc_type"].astype("string").fillna("XX")
        + "-"
        + frame["budget_code"].astype("string").fillna("00")
        + "-"
        + seq
    )
    if file_index:
        ident = ident + f"~{file_index}"
    return ident.astype("string")
