"""What the sheets show, computed once from the run result: the register joined to its lines, class keys,
roll-ups and pivot tables. Pure pandas, no openpyxl: the tests compare these with the engine's totals."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow.compute as pc

from budgetclimat import i18n
from budgetclimat.engine.figures import OUT_PARTS, compute
from budgetclimat.rulebook.model import AXIS_DISPLAY_ORDER, CLASSES, ROLLUP, ROLLUPS
from budgetclimat.views.base import arrow_of, index_in

# Class keys of the sheets: the classes, ``none`` (in scope without a class, counted as undefined), ``out``.
IN_SCOPE_KEYS = [*CLASSES, "none"]
ALL_KEYS = [*IN_SCOPE_KEYS, "out"]
KEY_ROLLUP = {**ROLLUP, "none": "undefined"}
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


def format_share(share: float, lang: str | None = None) -> str:
    """``60 %``, ``6,1 %`` in French, ``6.1 %`` in English (the round trip reads both)."""
    pct = round(float(share) * 100, 1)
    text = f"{pct:.1f}".rstrip("0").rstrip(".") + " %"
    return text.replace(".", ",") if (lang or i18n.language()) == "fr" else text


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
    views: dict = field(default_factory=dict)  # the run's views by name (budgetclimat.views.base): a sheet reads its view here
    bounds: object = None  # engine.bounds.BoundsResult: ranges while questions are open (None when not computed)
    figures: object = None  # engine.figures.Figures of the main exercice: the Synthèse's, the terminal's and the JSON's
    cache: dict = field(default_factory=dict)  # what several sheets derive from the same data (cached_line_class_summary)

    # -- scope of the main figures: expenses of the latest exercice ---------------------------------
    def main_register(self, axis: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """The register rows of the main figures (expenses of the latest exercice), of ``axis`` when given;
        ``columns``: only those (the others are not taken: the register is wide)."""
        reg = self.cache.get("main_register")
        if reg is None:  # filtered once per workbook (several sheets ask, per axis)
            reg = self.register
            keep = (reg["sens"] == "D").to_numpy(dtype=bool, na_value=False)
            if self.main_exercice is not None:
                keep &= (reg["exercice"] == self.main_exercice).to_numpy(dtype=bool, na_value=False)
            reg = self.cache["main_register"] = reg[keep]  # (one take of the wide frame, not two)
        if columns is not None:
            reg = reg[list(dict.fromkeys([*columns, "axis"]))] if axis is not None else reg[columns]
        if axis is not None:
            out = reg[(reg["axis"] == axis).to_numpy(dtype=bool, na_value=False)]
            return out[columns] if columns is not None else out
        return reg.copy(deep=False)

    def main_lines(self) -> pd.DataFrame:
        lines = self.cache.get("main_lines")
        if lines is None:  # filtered once per workbook (every sheet's header asks)
            lines = self.lines
            if self.main_exercice is not None:
                lines = lines[lines["exercice"] == self.main_exercice]
            self.cache["main_lines"] = lines
        return lines


def _join_lines(register: pd.DataFrame, attrs: pd.DataFrame) -> pd.DataFrame:
    """``register.merge(attrs, on="line_id", how="left", validate="many_to_one")``: when every register row names
    one line, by one Arrow hash lookup and a take per column (the same frame, without hashing the text per column)."""
    ids = attrs["line_id"]
    if not len(register) or ids.isna().any() or register["line_id"].isna().any() or pc.count_distinct(arrow_of(ids)).as_py() != len(ids):
        return register.merge(attrs, on="line_id", how="left", validate="many_to_one")
    at = index_in(register["line_id"], ids)
    if (at < 0).any():
        return register.merge(attrs, on="line_id", how="left", validate="many_to_one")
    reg = register.reset_index(drop=True)
    columns = {c: pd.Series(attrs[c].array.take(at), name=c) for c in attrs.columns if c != "line_id"}
    return pd.concat([reg, pd.DataFrame(columns)], axis=1)


def prepare(result) -> Prepared:
    bounds = _get(result, "bounds")  # first: computed on first use, a failure joins the findings read below
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
    reg = _join_lines(register, attrs)
    reg["key"] = class_key(reg)
    reg["amount_share_cents"] = reg["amount_share_cents"].fillna(0).astype("int64")
    present = [a for a in pd.unique(reg["axis"].dropna().astype(str))]
    axes = [a for a in AXIS_DISPLAY_ORDER if a in present] + sorted(a for a in present if a not in AXIS_DISPLAY_ORDER)
    exercices = sorted(int(x) for x in pd.unique(lines["exercice"].dropna()))
    from types import SimpleNamespace

    source = SimpleNamespace(lines=lines, register=register, bounds=bounds, ruleset=_get(result, "ruleset"), facts=_get(result, "facts"))
    figures = compute(source, exercices[-1] if len(exercices) > 1 else None)
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
        views=dict(_get(result, "views", None) or {}),
        bounds=bounds,
        figures=figures,
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
        table[roll] = table[[k for k, r in KEY_ROLLUP.items() if r == roll]].sum(axis=1)
    table.columns.name = None
    return table


def figures_table(axis_figures) -> pd.DataFrame:
    """One axis of :class:`budgetclimat.engine.figures.Figures` as the one-row table of :func:`pivot_classes`
    (class keys, ``out``, ``in_scope``, ``total``, roll-ups), plus the out-of-scope parts (``out_revenue``…)."""
    row = {k: axis_figures.classes[k].cents for k in CLASSES}
    row["none"] = axis_figures.in_scope.cents - sum(row.values())  # in scope without a class (0: the invariants)
    row["out"] = axis_figures.out_of_scope.cents
    row["in_scope"] = axis_figures.in_scope.cents
    row["total"] = axis_figures.total.cents
    for roll in ROLLUPS:
        row[roll] = sum(row[k] for k, r in KEY_ROLLUP.items() if r == roll)
    for part in OUT_PARTS:
        row[f"out_{part}"] = axis_figures.out_parts[part].cents
    return pd.DataFrame([row]).astype("int64")


def shares(table: pd.DataFrame, column: str) -> pd.Series:
    base = table["in_scope"].where(table["in_scope"] != 0)
    return (table[column] / base).astype("float64")


def line_class_summary(register: pd.DataFrame, lang: str | None = None) -> pd.DataFrame:
    """One row per line × axis: the class as shown to people (``TF`` or ``TF 60 % + D 40 %``), rules,
    rationale, question, out-of-scope reason. Most lines have one piece and are taken as they are; only
    split lines are joined piece by piece."""
    reg = register.sort_values(["line_id", "axis", "piece"], kind="stable") if "piece" in register.columns else register
    n = len(reg)

    def col(name: str) -> pd.Series:
        return reg[name].astype("string") if name in reg.columns else pd.Series(pd.NA, index=reg.index, dtype="string")

    share = reg["share"].astype("float64") if "share" in reg.columns else pd.Series(1.0, index=reg.index)
    label = reg["key"].astype("string").where(reg["key"] != "out", "")
    whole = share.isna() | (share >= 0.99995)
    piece_text = label.where(whole, label + " " + _share_texts(share.fillna(1), lang))
    frame = pd.DataFrame({
        "line_id": reg["line_id"].astype("string").to_numpy(), "axis": reg["axis"].astype("string").to_numpy(),
        "class_text": piece_text.to_numpy(), "rule_id": col("rule_id").to_numpy(), "rationale": col("rationale").to_numpy(),
        "question_id": col("question_id").to_numpy(), "scope_reason": col("scope_reason").to_numpy(),
        "is_out": (reg["key"] == "out").to_numpy(),
    })
    if n == 0:
        return frame
    multi = frame.duplicated(["line_id", "axis"], keep=False).to_numpy()
    single = frame[~multi]
    if not multi.any():
        return single.reset_index(drop=True)
    # Split lines: the pieces' texts joined (distinct, in piece order), one row per line × axis.
    pieces = frame[multi]
    seps = {"class_text": " + ", "rule_id": " + ", "rationale": " | ", "question_id": " + ", "scope_reason": " + "}
    by = ["line_id", "axis"]
    joined = pieces.groupby(by, sort=False)["is_out"].all().reset_index()
    where = pd.MultiIndex.from_frame(joined[by])
    columns = {"line_id": joined["line_id"].to_numpy(dtype=object), "axis": joined["axis"].to_numpy(dtype=object)}
    for name, sep in seps.items():
        values = pieces[[*by, name]].dropna(subset=[name])
        values = values.assign(**{name: values[name].astype(object).map(str)})
        values = values[(values[name] != "").to_numpy(dtype=bool)].drop_duplicates()
        texts = values.groupby(by, sort=False)[name].agg(sep.join)
        columns[name] = pd.Series(texts.reindex(where).to_numpy(dtype=object)).where(lambda v: v.notna(), "").to_numpy(dtype=object)
    columns["is_out"] = joined["is_out"].to_numpy(dtype=bool)
    return pd.concat([single, pd.DataFrame(columns, columns=frame.columns)], ignore_index=True)


def line_axis_count(register: pd.DataFrame) -> int:
    """How many rows :func:`line_class_summary` gives (distinct line × axis of ``register``), from integer codes."""
    if not len(register):
        return 0
    line, _ = pd.factorize(register["line_id"])
    axis, axes = pd.factorize(register["axis"])
    return int(pd.unique(line.astype("int64") * (len(axes) + 1) + axis).size)


def _share_texts(share: pd.Series, lang: str | None) -> pd.Series:
    """:func:`format_share` of every share, formatted once per distinct share (a few: 60 %, 40 %…)."""
    codes, distinct = pd.factorize(share.to_numpy(dtype="float64"))
    texts = pd.array([format_share(v, lang) for v in distinct], dtype="string")  # a loop over distinct shares
    return pd.Series(texts.take(codes), index=share.index)


def cached_line_class_summary(prep: Prepared) -> pd.DataFrame:
    """:func:`line_class_summary` of ``prep.register``, computed once per workbook (« Lignes » and the hidden sheet)."""
    if prep.cache.get("line_class_summary") is None:
        prep.cache["line_class_summary"] = line_class_summary(prep.register)
    return prep.cache["line_class_summary"]
