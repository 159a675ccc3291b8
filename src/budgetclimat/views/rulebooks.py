"""``kind: weights`` and ``kind: carbon`` rulebooks: their ``then``, their metadata, and applying them.

Registered with the rulebook loader on import (:func:`budgetclimat.rulebook.register_kind`), so that a
typo in a weights or carbon rulebook fails on load with file, line and key like any other rulebook.

* weights — ``then: {weights: {attenuation: 1.0, eau: significant}}``; metadata ``objectives`` (extra
  objectives with fr/en labels), ``scale`` (labels → weights), ``from_classes`` (class → weight, for lines
  no rule matched, read from the coloured register), ``axes`` (axis → objective for ``from_classes``),
  ``combine`` (``max`` or ``sum``).
* carbon — ``then: {category: construction}`` or ``then: {exclude: staff, reason: "…"}``; metadata
  ``factors`` (tables, paths relative to the rulebook), ``vat``, ``deflator``, ``exchange_rates``,
  ``categories`` (category → factor id), ``physical_facts`` (answer fact → physical factor id),
  ``default`` (what an unmatched line gets, ``{exclude: unmapped}`` by default).

Rules are evaluated first-match, in file order, with the engine's vectorised matcher on the distinct
combinations of the columns they test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import i18n
from budgetclimat.engine import matcher as engine_matcher
from budgetclimat.errors import ConfigError
from budgetclimat.rulebook import Rulebook, register_kind
from budgetclimat.rulebook.model import CLASSES, Text
from budgetclimat.views.carbon import EXCLUSIONS, UNMAPPED, CarbonResult, CarbonSettings, carbon_view, quantities_from_facts
from budgetclimat.views.factors import load_deflator, load_exchange_rates, load_factor_tables, load_vat
from budgetclimat.views.weighted import AXES, BP, COMBINE_RULES, WeightedResult, weight_to_bp, weighted_view, weights_from_classes

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")

i18n.define(
    "views-meta",
    fr="{file}, clé « {key} » : {detail} ; attendu : {expected}",
    en="{file}, key '{key}': {detail}; expected: {expected}",
)


# ---- then validators (called by the loader) ------------------------------------------------------


@dataclass(frozen=True)
class WeightsThen:
    """Raw weights of a rule: numbers or scale labels, resolved against the rulebook's scale on use."""

    weights: tuple[tuple[str, object], ...]
    line: int = 0


@dataclass(frozen=True)
class CarbonThen:
    category: str | None = None
    exclude: str | None = None
    reason: Text | None = None
    line: int = 0


def _weights_then(ctx, node, line: int) -> WeightsThen:
    if not isinstance(node, dict) or set(node) != {"weights"} or not isinstance(node["weights"], dict) or not node["weights"]:
        ctx.fail("rulebook-type", line, "then", found=repr(node), expected="{weights: {attenuation: 1.0, adaptation: 0.4}}")
    pairs = []
    for objective, value in node["weights"].items():
        if not isinstance(objective, str) or not _IDENT.match(objective):
            ctx.fail("rulebook-value", line, "then.weights", found=objective, expected="an objective: " + ", ".join(AXES) + " or a declared one")
        if isinstance(value, str) and _IDENT.match(value):
            pairs.append((objective, value))  # a scale label, checked against the rulebook's scale on use
            continue
        try:
            weight_to_bp(value, file=ctx.file, line=line, key=f"then.weights.{objective}")
        except ConfigError:
            ctx.fail("rulebook-value", line, f"then.weights.{objective}", found=value, expected="a weight in [0, 1], '40 %', or a scale label")
        pairs.append((objective, value))
    return WeightsThen(tuple(pairs), line)


def _carbon_then(ctx, node, line: int) -> CarbonThen:
    if not isinstance(node, dict) or not ({"category"} <= set(node) <= {"category"} or {"exclude"} <= set(node) <= {"exclude", "reason"}):
        ctx.fail("rulebook-type", line, "then", found=repr(node), expected="{category: construction} or {exclude: staff, reason: '…'}")
    if "category" in node:
        category = node["category"]
        if not isinstance(category, str) or not _IDENT.match(category):
            ctx.fail("rulebook-value", line, "then.category", found=category, expected="a category name [a-z_]+ declared under 'categories'")
        return CarbonThen(category=category, line=line)
    code = node["exclude"]
    if code not in EXCLUSIONS and not (isinstance(code, str) and _IDENT.match(code) and "reason" in node):
        ctx.fail("rulebook-value", line, "then.exclude", found=code,
                 expected=", ".join(EXCLUSIONS) + " (or your own code with a 'reason')")
    reason = None
    if "reason" in node:
        r = node["reason"]
        reason = Text(str(r.get("fr", "")), str(r.get("en", ""))) if isinstance(r, dict) else Text(str(r))
    return CarbonThen(exclude=str(code), reason=reason, line=line)


WEIGHTS_META = ["objectives", "scale", "from_classes", "axes", "combine"]
CARBON_META = ["factors", "vat", "deflator", "exchange_rates", "categories", "physical_facts", "default"]
register_kind("weights", _weights_then, WEIGHTS_META)
register_kind("carbon", _carbon_then, CARBON_META)


# ---- first match ---------------------------------------------------------------------------------

MATCH_KEYS = [
    "nature", "fonction", "chapitre", "chapitre_plan", "chapitre_fonction", "operation_code", "section", "sens", "operation",
    "ordre_kind", "budget_kind", "budget_code", "nomenclature", "doc_type", "label", "amount",
]


def first_match(rulebook: Rulebook, lines: pd.DataFrame, facts: pd.DataFrame | None = None) -> pd.Series:
    """The id of the first rule of ``rulebook`` each line matches (``<NA>`` when none), aligned on ``lines``.

    Evaluated once per distinct combination of the tested columns. ``facts`` (``line_id, fact, value``)
    feed ``fact`` conditions.
    """
    frame = pd.DataFrame(index=lines.index)
    for column in MATCH_KEYS:
        source = "amount_cents" if column == "amount" else column
        if source in lines.columns:
            frame[column] = lines[source]
        else:
            frame[column] = pd.Series(pd.NA, index=lines.index, dtype="string" if column != "amount" else "Int64")
    frame["label"] = engine_matcher.normalise(frame["label"])
    fact_columns: list[str] = []
    if facts is not None and len(facts):
        wide = facts.pivot_table(index="line_id", columns="fact", values="value", aggfunc="last")
        for name in wide.columns:
            col = engine_matcher.fact_column(str(name))
            frame[col] = lines["line_id"].map(wide[name]).astype("string").to_numpy()
            fact_columns.append(col)
    for rule in rulebook.rules:
        for col in engine_matcher.columns_of(rule.when):
            if col not in frame.columns:
                frame[col] = pd.Series(pd.NA, index=lines.index, dtype="string")
                fact_columns.append(col)
    keys = MATCH_KEYS + fact_columns
    filled = frame[keys].astype("string").fillna("\x00")
    codes = filled.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first_rows = pd.Series(np.arange(len(frame))).groupby(codes).first().sort_index().to_numpy()
    distinct = frame.iloc[first_rows].reset_index(drop=True)
    if "amount" in distinct:
        distinct["amount"] = distinct["amount"].astype("Int64").fillna(0).astype("int64")
    decided = np.full(len(distinct), None, dtype=object)
    open_ = np.ones(len(distinct), dtype=bool)
    if rulebook.nomenclatures:
        open_ &= distinct["nomenclature"].isin(list(rulebook.nomenclatures)).fillna(False).to_numpy(dtype=bool)
    for rule in rulebook.rules:
        if not open_.any():
            break
        hit = open_ & engine_matcher.evaluate(rule.when, distinct)
        decided[hit] = rule.id
        open_ &= ~hit
    return pd.Series(decided[codes], index=lines.index, dtype="string")


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


def weights_preset(rulebook: Rulebook) -> WeightsPreset:
    extra = rulebook.extra
    labels: dict[str, Text] = {}
    for name, text in (extra.get("objectives") or {}).items():
        if not _IDENT.match(str(name)):
            raise _meta_error(rulebook, f"objectives.{name}", "nom invalide", "[a-z_]+")
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
            raise _meta_error(rulebook, f"from_classes.{klass}", "classe inconnue", ", ".join(CLASSES))
        from_classes[str(klass)] = weight_to_bp(value, file=str(rulebook.path), key=f"from_classes.{klass}", scale=scale)
    axes = {str(k): str(v) for k, v in (extra.get("axes") or {}).items()}
    for axis, objective in axes.items():
        if objective not in objectives:
            raise _meta_error(rulebook, f"axes.{axis}", f"objectif « {objective} » inconnu", ", ".join(objectives))
    combine = str(extra.get("combine", "max"))
    if combine not in COMBINE_RULES:
        raise _meta_error(rulebook, "combine", f"« {combine} »", ", ".join(COMBINE_RULES))
    return WeightsPreset(rulebook, objectives, labels, rule_weights, from_classes, axes, combine)


def apply_weights(lines: pd.DataFrame, rulebook: Rulebook | WeightsPreset, register: pd.DataFrame | None = None,
                  facts: pd.DataFrame | None = None, combine: str | None = None) -> tuple[WeightedResult, pd.Series]:
    """The weighted view of ``lines`` (the base: pass the in-scope expense lines) under one weights rulebook.

    Lines matched by a rule take its weights; the others take the class mapping (``from_classes``) on the
    ``register`` (``line_id, axis, class, amount_cents`` pieces) when the rulebook has one. Returns the
    result and the deciding rule per line (``<NA>``: class mapping or nothing).
    """
    preset = rulebook if isinstance(rulebook, WeightsPreset) else weights_preset(rulebook)
    rule = first_match(preset.rulebook, lines, facts)
    rows = [(rid, obj, bp) for rid, weights in preset.rule_weights.items() for obj, bp in weights.items()]
    table = pd.DataFrame(rows, columns=["rule_id", "objective", "weight_bp"])
    matched = pd.DataFrame({"line_id": lines["line_id"].to_numpy(), "rule_id": rule.to_numpy()})
    long = matched.merge(table, on="rule_id", how="inner")[["line_id", "objective", "weight_bp"]]
    if preset.from_classes and register is not None and len(register):
        unmatched = set(lines.loc[rule.isna().to_numpy(), "line_id"])
        reg = register[register["line_id"].isin(unmatched)]
        long = pd.concat([long, weights_from_classes(reg, preset.from_classes, preset.axes)], ignore_index=True)
    result = weighted_view(lines, long, objectives=preset.objectives, combine=combine or preset.combine)
    return result, rule


# ---- carbon --------------------------------------------------------------------------------------


@dataclass
class CarbonMapping:
    """A carbon rulebook resolved: its settings (tables loaded) and each rule's outcome."""

    rulebook: Rulebook
    settings: CarbonSettings
    outcomes: dict[str, CarbonThen]
    default: CarbonThen


def carbon_mapping(rulebook: Rulebook) -> CarbonMapping:
    """Load the tables a carbon rulebook names and check every category and factor it uses."""
    extra = rulebook.extra
    base = Path(rulebook.path).parent

    def path_of(key: str, required: bool = True) -> Path | None:
        value = extra.get(key)
        if value is None:
            if required:
                raise _meta_error(rulebook, key, "absent", f"{key}: <path relative to the rulebook>")
            return None
        return (base / str(value)).resolve()

    tables = extra.get("factors")
    if not isinstance(tables, list) or not tables:
        raise _meta_error(rulebook, "factors", "absent ou vide", "factors: [factors/….csv, …]")
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

    Quantities come from ``quantities`` (``line_id, factor_id, quantity``) and from answers whose fact is
    declared in ``physical_facts``.
    """
    mapping = rulebook if isinstance(rulebook, CarbonMapping) else carbon_mapping(rulebook)
    rule = first_match(mapping.rulebook, lines, facts)
    category = rule.map({rid: o.category for rid, o in mapping.outcomes.items()}).astype("string")
    exclusion = rule.map({rid: o.exclude for rid, o in mapping.outcomes.items()}).astype("string")
    unmatched = rule.isna()
    category = category.mask(unmatched, mapping.default.category)
    exclusion = exclusion.mask(unmatched, mapping.default.exclude)
    frame = pd.DataFrame({
        "line_id": lines["line_id"].to_numpy(),
        "carbon_category": category.to_numpy(),
        "carbon_exclusion": exclusion.to_numpy(),
        "carbon_rule": rule.fillna("DEFAULT").to_numpy(),
    })
    q = quantities_from_facts(facts, mapping.settings) if facts is not None else None
    if quantities is not None and len(quantities):
        q = quantities if q is None or not len(q) else pd.concat([q, quantities], ignore_index=True)
    return carbon_view(lines, frame, mapping.settings, q)
