"""What the sheets show, computed once from the run result: the register joined to its lines, class keys,
roll-ups and pivot tables. Pure pandas, no openpyxl: the tests compare these with the engine's totals."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

CLASSES = ["TF", "FSC", "N", "D", "IM", "AA"]
IN_SCOPE_KEYS = CLASSES + ["none"]
ALL_KEYS = IN_SCOPE_KEYS + ["out"]
ROLLUP = {"TF": "favourable", "FSC": "favourable", "N": "neutral", "D": "unfavourable", "IM": "undefined", "AA": "undefined", "none": "undefined"}
ROLLUPS = ["favourable", "neutral", "unfavourable", "undefined"]
AXIS_ORDER = ["attenuation", "adaptation", "biodiversite", "eau", "economie_circulaire", "pollution"]
_LINE_ATTRS = ["exercice", "doc_type", "section", "sens", "operation", "chapitre", "nature", "fonction", "fonction_label", "label", "amount_cents"]


def _get(result, name: str, default=None):
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


def class_key(register: pd.DataFrame) -> pd.Series:
    """TF…AA for classified pieces, ``out`` for out-of-scope rows, ``none`` for in-scope rows without class."""
    scope = register["scope"].astype("string").str.lower().fillna("in")
    cls = register["class"].astype("string")
    key = cls.where(cls.isin(CLASSES), "none")
    return key.mask(scope.isin(["out", "hors", "excluded"]), "out").astype("string")


def format_share(share: float) -> str:
    pct = round(float(share) * 100, 1)
    return (f"{pct:.1f}".rstrip("0").rstrip(".")) + " %"


@dataclass
class Prepared:
    lines: pd.DataFrame  # canonical lines of every document
    register: pd.DataFrame  # long register joined to line attributes, with ``key``
    axes: list[str]
    exercices: list[int]
    main_exercice: int | None
    findings: pd.DataFrame | None
    reconciliation: pd.DataFrame | None
    documents: list = field(default_factory=list)
    ruleset: object = None
    weighted: pd.DataFrame | None = None
    carbon: object = None

    # -- scope of the main figures: expenses of the latest exercice ---------------------------------
    def main_register(self, axis: str | None = None) -> pd.DataFrame:
        reg = self.register
        if self.main_exercice is not None:
            reg = reg[reg["exercice"] == self.main_exercice]
        reg = reg[reg["sens"] == "D"]
        if axis is not None:
            reg = reg[reg["axis"] == axis]
        return reg

    def main_lines(self) -> pd.DataFrame:
        lines = self.lines
        if self.main_exercice is not None:
            lines = lines[lines["exercice"] == self.main_exercice]
        return lines


def prepare(result) -> Prepared:
    lines = _get(result, "lines")
    register = _get(result, "register")
    if lines is None:
        lines = pd.DataFrame(columns=["line_id", *_LINE_ATTRS])
    if register is None:
        register = pd.DataFrame(columns=["line_id", "axis", "piece", "scope", "scope_reason", "class", "share", "amount_share_cents"])
    lines = lines.copy()
    for col in _LINE_ATTRS:
        if col not in lines.columns:
            lines[col] = pd.NA
    attrs = lines[["line_id", *_LINE_ATTRS]].rename(columns={"amount_cents": "line_amount_cents"})
    reg = register.merge(attrs, on="line_id", how="left", validate="many_to_one")
    reg["key"] = class_key(reg)
    reg["amount_share_cents"] = reg["amount_share_cents"].fillna(0).astype("int64")
    present = [a for a in pd.unique(reg["axis"].dropna().astype(str))]
    axes = [a for a in AXIS_ORDER if a in present] + sorted(a for a in present if a not in AXIS_ORDER)
    exercices = sorted(int(x) for x in pd.unique(lines["exercice"].dropna()))
    return Prepared(
        lines=lines,
        register=reg,
        axes=axes,
        exercices=exercices,
        main_exercice=exercices[-1] if exercices else None,
        findings=_get(result, "findings"),
        reconciliation=_get(result, "reconciliation"),
        documents=list(_get(result, "documents", None) or []),
        ruleset=_get(result, "ruleset"),
        weighted=_get(result, "weighted"),
        carbon=_get(result, "carbon"),
    )


def pivot_classes(reg: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Amount in cents per class key (columns :data:`ALL_KEYS`), rows by ``by`` (or one row)."""
    if by:
        table = reg.pivot_table(index=by, columns="key", values="amount_share_cents", aggfunc="sum", fill_value=0, observed=True)
    else:
        table = reg.groupby("key")["amount_share_cents"].sum().to_frame().T
    table = table.reindex(columns=ALL_KEYS, fill_value=0).fillna(0).astype("int64")
    table["in_scope"] = table[IN_SCOPE_KEYS].sum(axis=1)
    table["total"] = table["in_scope"] + table["out"]
    for roll in ROLLUPS:
        table[roll] = table[[k for k, r in ROLLUP.items() if r == roll]].sum(axis=1)
    table.columns.name = None
    return table


def shares(table: pd.DataFrame, column: str) -> pd.Series:
    base = table["in_scope"].where(table["in_scope"] != 0)
    return (table[column] / base).astype("float64")


def line_class_summary(register: pd.DataFrame) -> pd.DataFrame:
    """One row per line × axis: the class as shown to people (``TF`` or ``TF 60 % + D 40 %``), rules, rationale."""
    reg = register.sort_values(["line_id", "axis", "piece"], kind="stable") if "piece" in register.columns else register
    share = reg["share"].astype("float64") if "share" in reg.columns else pd.Series(1.0, index=reg.index)
    label = reg["key"].where(reg["key"] != "out", "")
    piece_text = label.where(share.isna() | (share >= 0.99995), label + " " + share.fillna(1).map(format_share))
    grouped = pd.DataFrame({
        "line_id": reg["line_id"], "axis": reg["axis"], "piece_text": piece_text,
        "rule_id": reg.get("rule_id", pd.Series(pd.NA, index=reg.index)).astype("string"),
        "rationale": reg.get("rationale", pd.Series(pd.NA, index=reg.index)).astype("string"),
        "question_id": reg.get("question_id", pd.Series(pd.NA, index=reg.index)).astype("string"),
        "scope_reason": reg.get("scope_reason", pd.Series(pd.NA, index=reg.index)).astype("string"),
        "is_out": reg["key"] == "out",
    }).groupby(["line_id", "axis"], sort=False)

    def join(values: pd.Series) -> str:
        seen = [v for v in dict.fromkeys(values.dropna().astype(str)) if v]
        return " + ".join(seen)

    out = grouped.agg(
        class_text=("piece_text", join),
        rule_id=("rule_id", join),
        rationale=("rationale", lambda v: " | ".join(x for x in dict.fromkeys(v.dropna().astype(str)) if x)),
        question_id=("question_id", join),
        scope_reason=("scope_reason", join),
        is_out=("is_out", "all"),
    ).reset_index()
    return out
