"""Reconciliation: do the canonical lines add up to what the source file says?

Two independent sums are compared to the cent: the reader's ``raw_totals`` (Decimal sums straight from
the source text) and the canonical frame's ``amount_cents``, by section × sens × réel/ordre, together
with line counts. Any difference means lines were lost, duplicated or misread: an error.

Opérations d'ordre move no cash and must balance: ordre expenses between sections of one section equal
the ordre revenue of the other (040/042), and ordre operations within a section balance (041, 043).
An imbalance is only a warning, because a file may hold part of a budget document.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from budgetclimat import i18n, model
from budgetclimat.errors import ERROR, WARNING, concat_findings, empty_findings, findings_frame
from budgetclimat.money import format_euros

RECONCILIATION_MISMATCH = "reconciliation-mismatch"
RECONCILIATION_UNAVAILABLE = "reconciliation-unavailable"
ORDRE_UNBALANCED = "ordre-unbalanced"
ORDRE_MISSING = "ordre-missing"
_EXPECTED_ORDRE = "expected.ordre-lines"
# Accounts that exist only as ordre operations in M57, M14 and M52 (checked against their plans: no real
# chapter on any of their leaves): depreciation 6811 / 28…, the virement 021/023.
ORDRE_ONLY_PREFIXES = ("6811", "28", "021", "023")
_EXPECTED_RAW = "expected.raw-totals"
_LINES = "reconcile.lines"
_ON_BASIS = "reconcile.on-basis"
_PAIR_SECTION_F = "reconcile.ordre-section-f"
_PAIR_SECTION_I = "reconcile.ordre-section-i"
_PAIR_INTERIEUR_I = "reconcile.ordre-interieur-i"
_PAIR_INTERIEUR_F = "reconcile.ordre-interieur-f"
_BUDGET_PAIR = "reconcile.ordre-budget"

def ordre_kind(lines: pd.DataFrame) -> pd.Series:
    """The line's ordre kind, falling back on its chapter (040/042 between sections, 041/043 within)."""
    chapter = lines["chapitre"].astype("string")
    from_chapter = pd.Series(
        np.select([chapter.isin(["040", "042"]).fillna(False), chapter.isin(["041", "043"]).fillna(False)], ["section", "interieur"], ""),
        index=lines.index, dtype="string",
    ).replace("", pd.NA)
    return lines["ordre_kind"].astype("string").fillna(from_chapter).where(lines["operation"] == "ordre")


GROUP = ["section", "sens", "operation"]
TOTALS_COLUMNS = [*GROUP, "lines_in", "lines_out", "raw_cents", "lines_cents", "difference_cents"]
ORDRE_COLUMNS = ["pair", "expense_section", "revenue_section", "kind", "expense_cents", "revenue_cents", "difference_cents"]
# Ordre operations balance within each budget: a file of several collectivités or budgets (a DGFiP balance) is
# checked budget by budget, so that one budget's imbalance is named and two cannot offset each other.
BUDGET_KEYS = ["siret", "budget_code"]
ORDRE_BUDGET_COLUMNS = [*BUDGET_KEYS, "collectivite", *ORDRE_COLUMNS]
# (pair label key, expense section, revenue section, ordre kind): the ordre flows that must balance.
ORDRE_PAIRS = [
    (_PAIR_SECTION_F, "F", "I", "section"),
    (_PAIR_SECTION_I, "I", "F", "section"),
    (_PAIR_INTERIEUR_I, "I", "I", "interieur"),
    (_PAIR_INTERIEUR_F, "F", "F", "interieur"),
]



def all_reconciled(reconciliations) -> bool | None:
    """True when every reconciliation with raw totals is to the cent, None when none had raw totals."""
    available = [r for r in reconciliations if r.available]
    return all(r.ok for r in available) if available else None

@dataclass
class Reconciliation:
    """Totals of the canonical lines against the source's, and the ordre balance of one document.

    * ``totals``: :data:`TOTALS_COLUMNS` for every section × sens × operation (the eight standard ones,
      plus any other value found); ``raw_cents``/``lines_in`` are ``<NA>`` when the reader gave no raw totals.
    * ``ordre``: :data:`ORDRE_COLUMNS`, one row per ordre flow that must balance.
    * ``findings``: ``reconciliation-mismatch`` errors, ``ordre-unbalanced`` warnings, and ``ordre-missing``
      when no line is ordre although some carry accounts that exist only as ordre (6811, 28…, 021, 023).
    """

    file: str
    basis: str
    totals: pd.DataFrame
    ordre: pd.DataFrame
    findings: pd.DataFrame
    ordre_lines: int = 0  # lines read as ordre; none means the balance cannot be checked
    # :data:`ORDRE_BUDGET_COLUMNS`: the ordre flows of every budget (siret × budget code) of the file, zeros included.
    ordre_by_budget: pd.DataFrame | None = None

    @property
    def available(self) -> bool:
        return bool(self.totals["raw_cents"].notna().any())

    @property
    def ok(self) -> bool:
        """True when the source's totals are known and every total and line count matches."""
        t = self.totals
        return self.available and bool((t["difference_cents"].fillna(0) == 0).all() and (t["lines_in"] == t["lines_out"]).fillna(False).all())

    @property
    def ordre_checkable(self) -> bool:
        """False when no line was read as ordre: there is nothing to balance, so nothing is proven."""
        return bool(self.ordre_lines)

    @property
    def ordre_balanced(self) -> bool | None:
        """True/False once ordre lines were read; ``None`` (not checkable) when no line is ordre."""
        if not self.ordre_checkable:
            return None
        balanced = bool((self.ordre["difference_cents"] == 0).all())
        if self.ordre_by_budget is not None:
            balanced = balanced and bool((self.ordre_by_budget["difference_cents"] == 0).all())
        return balanced


def _grid(extra: pd.DataFrame) -> pd.DataFrame:
    standard = pd.MultiIndex.from_product([["F", "I"], ["D", "R"], ["reel", "ordre"]], names=GROUP).to_frame(index=False)
    grid = pd.concat([standard, extra[GROUP].astype("string").dropna()], ignore_index=True).drop_duplicates()
    return grid.astype("string").reset_index(drop=True)


def reconcile(doc: model.BudgetDocument) -> Reconciliation:
    """Compare ``doc.lines`` with ``doc.raw_totals`` and check that ordre operations balance."""
    lines = doc.lines
    file = str(lines["source_file"].dropna().iloc[0]) if lines["source_file"].notna().any() else doc.source.path.name
    bases = lines["amount_basis"].dropna().astype(str).unique()
    basis = ",".join(sorted(bases)) if len(bases) else ""

    out_totals = (
        lines.astype({c: "string" for c in GROUP})
        .groupby(GROUP, dropna=False)["amount_cents"]
        .agg(lines_out="size", lines_cents="sum")
        .reset_index()
    )
    raw = doc.raw_totals if doc.raw_totals is not None else pd.DataFrame()
    if len(raw) and "basis" in raw.columns and len(bases) == 1:
        # A reader may give raw totals for several amount columns: keep the basis the lines use.
        raw = raw[raw["basis"].astype("string") == bases[0]]
    if len(raw):
        raw = (
            raw.astype({c: "string" for c in GROUP})
            .groupby(GROUP, dropna=False)
            .agg(lines_in=("lines", "sum"), raw_cents=("total_cents", "sum"))
            .reset_index()
        )
    else:
        raw = pd.DataFrame({**{c: pd.Series(dtype="string") for c in GROUP}, "lines_in": pd.Series(dtype="Int64"), "raw_cents": pd.Series(dtype="Int64")})

    totals = _grid(pd.concat([out_totals[GROUP], raw[GROUP]]))
    totals = totals.merge(out_totals, on=GROUP, how="left").merge(raw, on=GROUP, how="left")
    totals["lines_out"] = totals["lines_out"].fillna(0).astype("int64")
    totals["lines_cents"] = totals["lines_cents"].fillna(0).astype("int64")
    available = bool(len(doc.raw_totals)) if doc.raw_totals is not None else False
    if available:
        totals["lines_in"] = totals["lines_in"].fillna(0).astype("Int64")
        totals["raw_cents"] = totals["raw_cents"].fillna(0).astype("Int64")
    else:
        totals["lines_in"] = totals["lines_in"].astype("Int64")
        totals["raw_cents"] = totals["raw_cents"].astype("Int64")
    totals["difference_cents"] = (totals["lines_cents"] - totals["raw_cents"]).astype("Int64")
    totals = totals[TOTALS_COLUMNS]

    ordre = _ordre_balance(lines)
    by_budget = ordre_by_budget(lines)
    ordre_lines = int((lines["operation"] == "ordre").fillna(False).sum())
    findings = [_mismatch_findings(totals, file)] if available else [_unavailable(file, basis)]
    findings.append(ordre_findings(ordre, by_budget, file))
    if not ordre_lines:
        findings.append(_ordre_missing(lines, file))
    return Reconciliation(
        file=file, basis=basis, totals=totals, ordre=ordre, findings=concat_findings(findings), ordre_lines=ordre_lines,
        ordre_by_budget=by_budget,
    )


def _ordre_missing(lines: pd.DataFrame, file: str) -> pd.DataFrame:
    """One warning when no line is ordre although some carry accounts that exist only as ordre."""
    nature = lines["nature"].astype("string")
    only_ordre = nature.str.startswith(ORDRE_ONLY_PREFIXES).fillna(False)
    if not only_ordre.any():
        return empty_findings()
    found = sorted(nature[only_ordre].dropna().unique())
    shown = ", ".join(found[:5]) + (" …" if len(found) > 5 else "")
    rows = lines.loc[only_ordre, "source_row"]
    first = rows.dropna().min() if rows.notna().any() else None
    return findings_frame([{
        "level": WARNING, "code": ORDRE_MISSING, "file": file, "row": None if first is None else int(first),
        "column": shown, "value": str(int(only_ordre.sum())), "expected": i18n.t(_EXPECTED_ORDRE),
    }])


def _ordre_balance(lines: pd.DataFrame) -> pd.DataFrame:
    ordre = lines[(lines["operation"] == "ordre").fillna(False)]
    kind = ordre_kind(lines)[ordre.index]
    sums = ordre.assign(_kind=kind).groupby(["section", "sens", "_kind"], dropna=True)["amount_cents"].sum()

    def total(section: str, sens: str, kind_: str) -> int:
        return int(sums.get((section, sens, kind_), 0))

    rows = [
        (i18n.t(key), dep, rec, kind_, total(dep, "D", kind_), total(rec, "R", kind_))
        for key, dep, rec, kind_ in ORDRE_PAIRS
    ]
    frame = pd.DataFrame(rows, columns=ORDRE_COLUMNS[:-1])
    frame["difference_cents"] = (frame["expense_cents"] - frame["revenue_cents"]).astype("int64")
    return frame


def ordre_by_budget(lines: pd.DataFrame) -> pd.DataFrame:
    """:data:`ORDRE_BUDGET_COLUMNS`: each ordre flow of :data:`ORDRE_PAIRS` summed per budget (siret × budget
    code, an empty text where the file gives none), for every budget having a line; ``collectivite`` is the
    budget's first name. Vectorised: one group-by, then a column per flow."""
    keys = lines[BUDGET_KEYS].astype("string").fillna("")
    budgets = keys.assign(collectivite=lines["collectivite"].astype("string")).groupby(BUDGET_KEYS, sort=True)["collectivite"].first()
    is_ordre = (lines["operation"] == "ordre").fillna(False).to_numpy()
    kind = ordre_kind(lines)
    flow = (lines["section"].astype("string") + lines["sens"].astype("string") + kind)[is_ordre]
    sums = keys[is_ordre].assign(_flow=flow, amount_cents=lines.loc[is_ordre, "amount_cents"]).groupby(
        [*BUDGET_KEYS, "_flow"], dropna=True)["amount_cents"].sum().unstack("_flow").reindex(budgets.index).fillna(0)
    parts = []
    for key, dep, rec, kind_ in ORDRE_PAIRS:
        expense = sums[f"{dep}D{kind_}"] if f"{dep}D{kind_}" in sums.columns else pd.Series(0, index=budgets.index)
        revenue = sums[f"{rec}R{kind_}"] if f"{rec}R{kind_}" in sums.columns else pd.Series(0, index=budgets.index)
        parts.append(pd.DataFrame({
            "collectivite": budgets, "pair": i18n.t(key), "expense_section": dep, "revenue_section": rec, "kind": kind_,
            "expense_cents": expense.astype("int64"), "revenue_cents": revenue.astype("int64"),
        }, index=budgets.index).reset_index())
    frame = pd.concat(parts, ignore_index=True) if len(budgets) else pd.DataFrame(columns=ORDRE_BUDGET_COLUMNS[:-1])
    frame["difference_cents"] = (frame["expense_cents"] - frame["revenue_cents"]).astype("int64")
    return frame[ORDRE_BUDGET_COLUMNS].reset_index(drop=True)


def _money_text(cents: pd.Series, counts: pd.Series | None = None) -> pd.Series:
    lang = i18n.language()
    amounts = cents.map(lambda c: format_euros(int(c), lang))  # display only, a handful of groups
    if counts is None:
        return amounts.astype("string")
    return pd.Series(
        [i18n.t(_LINES, n=f"{int(n):,}".replace(",", "\u202f" if lang == "fr" else ","), amount=a) for n, a in zip(counts, amounts)],
        index=cents.index, dtype="string",
    )


def _mismatch_findings(totals: pd.DataFrame, file: str) -> pd.DataFrame:
    bad = totals[(totals["difference_cents"] != 0).fillna(True) | (totals["lines_in"] != totals["lines_out"]).fillna(True)]
    if bad.empty:
        return empty_findings()
    rows = pd.DataFrame(
        {
            "level": ERROR,
            "code": RECONCILIATION_MISMATCH,
            "file": file,
            "column": (bad["section"].fillna("?") + "/" + bad["sens"].fillna("?") + "/" + bad["operation"].fillna("?")).to_numpy(),
            "value": _money_text(bad["lines_cents"], bad["lines_out"]).to_numpy(),
            "expected": _money_text(bad["raw_cents"].fillna(0), bad["lines_in"].fillna(0)).to_numpy(),
        }
    )
    return findings_frame(rows.to_dict("records"))  # one row per section × sens × operation at most


def _unavailable(file: str, basis: str) -> pd.DataFrame:
    on_basis = i18n.t(_ON_BASIS, basis=basis) if basis else ""
    return findings_frame([{"level": WARNING, "code": RECONCILIATION_UNAVAILABLE, "file": file, "row": None,
                            "column": None, "value": on_basis, "expected": i18n.t(_EXPECTED_RAW)}])


def ordre_findings(ordre: pd.DataFrame, by_budget: pd.DataFrame | None, file: str) -> pd.DataFrame:
    """``ordre-unbalanced`` warnings: per flow of the file when it holds one budget, per budget × flow (the
    collectivité, its SIRET and budget code named) when it holds several."""
    several = by_budget is not None and len(by_budget[BUDGET_KEYS].drop_duplicates()) > 1
    bad = by_budget[by_budget["difference_cents"] != 0] if several else ordre[ordre["difference_cents"] != 0]
    if several:
        who = [
            i18n.t(_BUDGET_PAIR, pair=pair, collectivite=name if isinstance(name, str) and name else "—", siret=siret or "—", budget=budget or "—",
                   id_label="SIREN" if len(siret) == 9 else "SIRET")
            for pair, name, siret, budget in zip(bad["pair"], bad["collectivite"], bad["siret"], bad["budget_code"])
        ]  # one text per unbalanced budget × flow, not per line
    else:
        who = list(bad["pair"])
    rows = [
        {"level": WARNING, "code": ORDRE_UNBALANCED, "file": file, "row": None, "column": column,
         "value": format_euros(int(dep), i18n.language()), "expected": format_euros(int(rec), i18n.language())}
        for column, dep, rec in zip(who, bad["expense_cents"], bad["revenue_cents"])
    ]
    return findings_frame(rows)

