"""Applying ``kind: weights`` and ``kind: carbon`` rulebooks: their metadata resolved, their rules run.

What their rules say (``then``) and which metadata keys they have is part of the rulebook
(:mod:`budgetclimat.rulebook.kinds`): a typo fails on load with file, line and key like any other rulebook.

* weights — ``then: {weights: {attenuation: 1.0, eau: significant}}``; metadata ``objectives`` (extra
  objectives with fr/en labels), ``scale`` (labels → weights), ``from_classes`` (class → weight, for lines
  no rule matched, read from the coloured register), ``axes`` (axis → objective for ``from_classes``),
  ``combine`` (``max`` or ``sum``).
* carbon — ``then: {category: construction}`` or ``then: {exclude: staff, reason: "…"}``; metadata
  ``factors`` (tables, paths relative to the rulebook), ``vat``, ``deflator``, ``exchange_rates``,
  ``categories`` (category → factor id), ``physical_facts`` (answer fact → physical factor id),
  ``default`` (what an unmatched line gets, ``{exclude: unmapped}`` by default).

Rules are evaluated by the engine's evaluator (:func:`budgetclimat.engine.match.first_match`): first
match, in file order, on the distinct combinations of the columns they test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import i18n
from budgetclimat.engine.match import first_match
from budgetclimat.engine.matcher import columns_of
from budgetclimat.errors import ConfigError
from budgetclimat.rulebook import Rulebook
from budgetclimat.rulebook.kinds import BP, IDENT, UNMAPPED, CarbonThen, weight_to_bp
from budgetclimat.rulebook.model import CLASSES, Text
from budgetclimat.views.base import isin_mask, per_distinct
from budgetclimat.views.carbon import CarbonResult, CarbonSettings, carbon_view, quantities_from_facts
from budgetclimat.views.factors import load_deflator, load_exchange_rates, load_factor_tables, load_vat
from budgetclimat.views.weighted import AXES, COMBINE_RULES, WeightedResult, weighted_view, weights_from_classes


def _meta_error(rulebook: Rulebook, key: str, detail: str, expected: str) -> ConfigError:
    return ConfigError("views-meta", file=str(rulebook.path), key=key, detail=detail, expected=expected)


# ---- weights -------------------------------------------------------------------------------------


@dataclass
class WeightsPreset:
    """A weights rulebook resolved: objectives, weights per rule (basis points), class mapping."""

    rulebook: Rulebook
    objectives: list[str]
    labels: dict[str, Text]
    rule_weights: dict[str, dict[str, int]]
    from_classes: dict[str, int] = field(default_factory=dict)
    axes: dict[str, str] = field(default_factory=dict)
    combine: str = "max"


def _require_kind(rulebook: Rulebook, kind: str) -> None:
    """A weights (carbon) rulebook is what the weights (carbon) view evaluates: any other kind is the user's
    mistake of file, said as such."""
    if rulebook.kind != kind:
        raise ConfigError("rulebook-wrong-kind", file=str(rulebook.path), found=rulebook.kind, expected=kind)


def weights_preset(rulebook: Rulebook) -> WeightsPreset:
    _require_kind(rulebook, "weights")
    extra = rulebook.extra
    labels: dict[str, Text] = {}
    for name, text in (extra.get("objectives") or {}).items():
        if not IDENT.match(str(name)):
            raise _meta_error(rulebook, f"objectives.{name}", i18n.t("detail.invalid-name"), "[a-z_]+")
        labels[str(name)] = Text(str(text.get("fr", name)), str(text.get("en", ""))) if isinstance(text, dict) else Text(str(text))
    objectives = list(AXES) + [o for o in labels if o not in AXES]
    scale = {}
    for label, value in (extra.get("scale") or {}).items():
        scale[str(label)] = weight_to_bp(value, file=str(rulebook.path), key=f"scale.{label}") / BP
    rule_weights = {}
    for rule in rulebook.rules:
        weights = {}
        for objective, value in rule.then.weights:
            if objective not in objectives:
                raise ConfigError("weights-unknown-objective", file=rule.file, line=rule.then.line, value=objective, expected=", ".join(objectives))
            weights[objective] = weight_to_bp(value, file=rule.file, line=rule.then.line, key=f"{rule.id}.then.weights.{objective}", scale=scale)
        rule_weights[rule.id] = weights
    from_classes = {}
    for klass, value in (extra.get("from_classes") or {}).items():
        if klass not in CLASSES:
            raise _meta_error(rulebook, f"from_classes.{klass}", i18n.t("detail.unknown-class"), ", ".join(CLASSES))
        from_classes[str(klass)] = weight_to_bp(value, file=str(rulebook.path), key=f"from_classes.{klass}", scale=scale)
    axes = {str(k): str(v) for k, v in (extra.get("axes") or {}).items()}
    for axis, objective in axes.items():
        if objective not in objectives:
            raise _meta_error(rulebook, f"axes.{axis}", i18n.t("detail.unknown-objective", value=objective), ", ".join(objectives))
    combine = str(extra.get("combine", "max"))
    if combine not in COMBINE_RULES:
        raise _meta_error(rulebook, "combine", f"« {combine} »", ", ".join(COMBINE_RULES))
    return WeightsPreset(rulebook, objectives, labels, rule_weights, from_classes, axes, combine)


def apply_weights(lines: pd.DataFrame, rulebook: Rulebook | WeightsPreset, register: pd.DataFrame | None = None,
                  facts: pd.DataFrame | None = None, combine: str | None = None) -> tuple[WeightedResult, pd.Series]:
    """The weighted view of ``lines`` (the base: pass the in-scope expense lines) under one weights rulebook.

    Lines matched by a rule take its weights; the others take the class mapping (``from_classes``) on the
    ``register`` (``line_id, axis, class, amount_cents`` pieces) when the rulebook has one. ``facts``: the
    engine's facts (one column per fact) aligned with ``lines``. Returns the result and the deciding rule
    per line (``<NA>``: class mapping or nothing).
    """
    preset = rulebook if isinstance(rulebook, WeightsPreset) else weights_preset(rulebook)
    rule = first_match(preset.rulebook, lines, facts)
    rows = [(rid, obj, bp) for rid, weights in preset.rule_weights.items() for obj, bp in weights.items()]
    table = pd.DataFrame(rows, columns=["rule_id", "objective", "weight_bp"])
    long = _rule_weights(lines["line_id"], rule, table)
    if preset.from_classes and register is not None and len(register):
        unmatched = lines["line_id"].astype("string")[rule.isna().to_numpy()].dropna()
        read = [c for c in ("line_id", "axis", "class", "amount_share_cents", "amount_cents") if c in register.columns]  # what weights_from_classes reads
        reg = register[read][isin_mask(register["line_id"].astype("string"), unmatched)]  # one Arrow hash lookup, not isin's Python loop
        long = pd.concat([long, weights_from_classes(reg, preset.from_classes, preset.axes)], ignore_index=True)
    result = weighted_view(lines, long, objectives=preset.objectives, combine=combine or preset.combine)
    return result, rule


def _rule_weights(line_ids: pd.Series, rule: pd.Series, table: pd.DataFrame) -> pd.DataFrame:
    """``line_id, objective, weight_bp``: each line's rule's rows of ``table`` (``rule_id, objective,
    weight_bp``), as an inner merge on the rule id gives them (lines in order, a rule's rows in table
    order), by a hash lookup of the rule id and integer repeats instead of a merge of the lines."""
    codes = pd.Index(pd.unique(table["rule_id"])).get_indexer(rule.astype(object).where(rule.notna(), None)) if len(table) else np.full(len(rule), -1)
    table_code = pd.Index(pd.unique(table["rule_id"])).get_indexer(table["rule_id"]) if len(table) else np.zeros(0, dtype="int64")
    order = np.argsort(table_code, kind="stable")  # the table's rows grouped by rule, table order kept
    counts = np.bincount(table_code, minlength=int(table_code.max()) + 1 if len(table_code) else 0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype("int64") if len(counts) else np.zeros(0, dtype="int64")
    sel = np.flatnonzero(codes >= 0)
    per = counts[codes[sel]] if len(sel) else np.zeros(0, dtype="int64")
    left = np.repeat(sel, per)
    within = np.arange(len(left)) - np.repeat(np.cumsum(per) - per, per)
    right = order[np.repeat(starts[codes[sel]], per) + within] if len(left) else np.zeros(0, dtype="int64")
    return pd.DataFrame({
        "line_id": line_ids.to_numpy()[left],
        "objective": table["objective"].to_numpy()[right],
        "weight_bp": table["weight_bp"].to_numpy(dtype="int64")[right],
    })


# ---- carbon --------------------------------------------------------------------------------------


@dataclass
class CarbonMapping:
    """A carbon rulebook resolved: its settings (tables loaded) and each rule's outcome."""

    rulebook: Rulebook
    settings: CarbonSettings
    outcomes: dict[str, CarbonThen]
    default: CarbonThen


def _first_match_label_late(rulebook: Rulebook, lines: pd.DataFrame, facts: pd.DataFrame | None) -> pd.Series:
    """:func:`first_match`, with labels normalised only for the lines that reach a rule reading the label.

    The rules before the first one reading ``label`` are tried first, on the columns they read (no label
    normalised); a line one of them matches has its first match there (the later rules cannot come first).
    The whole rulebook is then tried on the other lines only. Same id per line as ``first_match`` on all
    lines: first match in file order, the rules before the label one giving the same answer in both
    passes (they do not read the label)."""
    first_label = next((i for i, r in enumerate(rulebook.rules) if "label" in columns_of(r.when)), None)
    if not first_label:  # no rule reads the label, or the first one does: one pass
        return first_match(rulebook, lines, facts)
    rule = first_match(dataclasses.replace(rulebook, rules=rulebook.rules[:first_label]), lines, facts)
    still = rule.isna().to_numpy(dtype=bool)
    if still.any():
        rest = first_match(rulebook, lines[still], facts[still] if facts is not None else None)
        rule = rule.copy()
        rule[still] = rest.to_numpy()
    return rule


def carbon_mapping(rulebook: Rulebook) -> CarbonMapping:
    """Load the tables a carbon rulebook names and check every category and factor it uses."""
    _require_kind(rulebook, "carbon")
    extra = rulebook.extra
    base = Path(rulebook.path).parent

    def path_of(key: str, required: bool = True) -> Path | None:
        value = extra.get(key)
        if value is None:
            if required:
                raise _meta_error(rulebook, key, i18n.t("detail.absent"), i18n.t("expected.path-relative", key=key))
            return None
        return (base / str(value)).resolve()

    tables = extra.get("factors")
    if not isinstance(tables, list) or not tables:
        raise _meta_error(rulebook, "factors", i18n.t("detail.absent-or-empty"), "factors: [factors/….csv, …]")
    factors = load_factor_tables([(base / str(p)).resolve() for p in tables])
    categories = {str(k): str(v) for k, v in (extra.get("categories") or {}).items()}
    settings = CarbonSettings(
        factors=factors,
        categories=categories,
        vat=load_vat(path_of("vat")),
        deflator=load_deflator(path_of("deflator")),
        exchange=load_exchange_rates(p) if (p := path_of("exchange_rates", required=False)) else None,
        physical_facts={str(k): str(v) for k, v in (extra.get("physical_facts") or {}).items()},
        source=str(rulebook.path),
    )
    settings.check()
    outcomes = {}
    for rule in rulebook.rules:
        if rule.then.category is not None and rule.then.category not in categories:
            raise ConfigError("carbon-unknown-category", file=f"{rule.file}, ligne {rule.then.line}", category=rule.then.category,
                              expected=", ".join(sorted(categories)))
        outcomes[rule.id] = rule.then
    raw_default = extra.get("default") or {"exclude": UNMAPPED}
    default = CarbonThen(category=raw_default.get("category"), exclude=raw_default.get("exclude"))
    if default.category is not None and default.category not in categories:
        raise ConfigError("carbon-unknown-category", file=str(rulebook.path), category=default.category, expected=", ".join(sorted(categories)))
    return CarbonMapping(rulebook, settings, outcomes, default)


def apply_carbon(lines: pd.DataFrame, rulebook: Rulebook | CarbonMapping, facts: pd.DataFrame | None = None,
                 quantities: pd.DataFrame | None = None) -> CarbonResult:
    """The carbon view of ``lines`` under one carbon rulebook (first match; unmatched lines get its default).

    ``facts``: the engine's facts (one column per fact) aligned with ``lines``. Quantities come from
    ``quantities`` (``line_id, factor_id, quantity``) and from the facts declared in ``physical_facts``.
    """
    mapping = rulebook if isinstance(rulebook, CarbonMapping) else carbon_mapping(rulebook)
    rule = _first_match_label_late(mapping.rulebook, lines, facts)
    category = per_distinct(rule, lambda r: r.map({rid: o.category for rid, o in mapping.outcomes.items()}).astype("string"))
    exclusion = per_distinct(rule, lambda r: r.map({rid: o.exclude for rid, o in mapping.outcomes.items()}).astype("string"))
    unmatched = rule.isna()
    category = category.mask(unmatched, mapping.default.category)
    exclusion = exclusion.mask(unmatched, mapping.default.exclude)
    frame = pd.DataFrame({
        "line_id": lines["line_id"].to_numpy(),
        "carbon_category": category.to_numpy(),
        "carbon_exclusion": exclusion.to_numpy(),
        "carbon_rule": rule.fillna("DEFAULT").to_numpy(),
    })
    q = quantities_from_facts(lines, facts, mapping.settings) if facts is not None else None
    if quantities is not None and len(quantities):
        q = quantities if q is None or not len(q) else pd.concat([q, quantities], ignore_index=True)
    return carbon_view(lines, frame, mapping.settings, q)
