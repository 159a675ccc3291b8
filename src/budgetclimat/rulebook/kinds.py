"""What a ``kind: weights`` or ``kind: carbon`` rule says: its ``then``, validated by the loader, and the
metadata keys of these kinds (their values are kept in :attr:`Rulebook.extra` and resolved by
:mod:`budgetclimat.views.evaluate`, which applies them).

* weights — ``then: {weights: {attenuation: 1.0, eau: significant}}``: a weight in [0, 1], a percentage
  (``"40 %"``) or a label of the rulebook's ``scale`` per objective. Weights are held in basis points
  (:data:`BP`; :func:`weight_to_bp`).
* carbon — ``then: {category: construction}`` or ``then: {exclude: staff, reason: "…"}``: a factor
  category, or an exclusion with a stable code (:data:`EXCLUSIONS`) or one's own code with a reason.

The loader knows these kinds statically (:data:`budgetclimat.rulebook.loader` imports this module); a
``then`` validator is called as ``then(ctx, node, line)`` and reports a problem with
``ctx.fail(code, line, key, **params)`` (raises :class:`~budgetclimat.errors.ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from budgetclimat.errors import ConfigError
from budgetclimat.rulebook.model import AXES, Text

IDENT = re.compile(r"^[a-z][a-z0-9_]*$")  # objective, scale label, category or exclusion code
BP = 10_000  # basis points in a weight of 1


def weight_to_bp(value: object, *, file: str = "<weights>", line: int = 0, key: str = "weight",
                 scale: dict[str, float] | None = None) -> int:
    """A weight given as a number in [0, 1], a percentage string (``"40 %"``) or a scale label → basis points."""
    scale = scale or {}
    raw = value
    if isinstance(value, str) and value in scale:
        value = scale[value]
    if isinstance(value, bool):
        value = None
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        try:
            value = Decimal(text[:-1].strip()) / 100 if text.endswith("%") else Decimal(text)
        except ArithmeticError:
            value = None
    if isinstance(value, (int, float)):
        value = Decimal(str(value))
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= 1:
        expected = "a number between 0 and 1 (0.4), a percentage ('40 %')"
        if scale:
            expected += " or one of " + ", ".join(f"{k} ({v})" for k, v in scale.items())
        raise ConfigError("weights-bad-weight", file=file, line=line, key=key, value=raw, expected=expected)
    return int((value * BP).quantize(Decimal(1), rounding=ROUND_HALF_UP))


UNMAPPED = "unmapped"

# The stable exclusion codes of a carbon rule (their words: ``carbon.exclusion.<code>`` in the catalogue);
# a rule may use its own code with a ``reason``.
EXCLUSIONS = ("staff", "debt", "financial", "ordre", "revenue", "subsidy", "transfer", "tax", "land", "provision", "rental", "out_of_scope", UNMAPPED)


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


def weights_then(ctx, node, line: int) -> WeightsThen:
    if not isinstance(node, dict) or set(node) != {"weights"} or not isinstance(node["weights"], dict) or not node["weights"]:
        ctx.fail("rulebook-type", line, "then", found=repr(node), expected="{weights: {attenuation: 1.0, adaptation: 0.4}}")
    pairs = []
    for objective, value in node["weights"].items():
        if not isinstance(objective, str) or not IDENT.match(objective):
            ctx.fail("rulebook-value", line, "then.weights", found=objective, expected="an objective: " + ", ".join(AXES) + " or a declared one")
        if isinstance(value, str) and IDENT.match(value):
            pairs.append((objective, value))  # a scale label, checked against the rulebook's scale on use
            continue
        try:
            weight_to_bp(value, file=ctx.file, line=line, key=f"then.weights.{objective}")
        except ConfigError:
            ctx.fail("rulebook-value", line, f"then.weights.{objective}", found=value, expected="a weight in [0, 1], '40 %', or a scale label")
        pairs.append((objective, value))
    return WeightsThen(tuple(pairs), line)


def carbon_then(ctx, node, line: int) -> CarbonThen:
    if not isinstance(node, dict) or not ({"category"} <= set(node) <= {"category"} or {"exclude"} <= set(node) <= {"exclude", "reason"}):
        ctx.fail("rulebook-type", line, "then", found=repr(node), expected="{category: construction} or {exclude: staff, reason: '…'}")
    if "category" in node:
        category = node["category"]
        if not isinstance(category, str) or not IDENT.match(category):
            ctx.fail("rulebook-value", line, "then.category", found=category, expected="a category name [a-z_]+ declared under 'categories'")
        return CarbonThen(category=category, line=line)
    code = node["exclude"]
    if code not in EXCLUSIONS and not (isinstance(code, str) and IDENT.match(code) and "reason" in node):
        ctx.fail("rulebook-value", line, "then.exclude", found=code,
                 expected=", ".join(EXCLUSIONS) + " (or your own code with a 'reason')")
    reason = None
    if "reason" in node:
        r = node["reason"]
        reason = Text(str(r.get("fr", "")), str(r.get("en", ""))) if isinstance(r, dict) else Text(str(r))
    return CarbonThen(exclude=str(code), reason=reason, line=line)


# Metadata keys of each kind (besides the common ones), kept in ``Rulebook.extra``:
# weights — ``objectives`` (extra objectives with fr/en labels), ``scale`` (labels → weights),
# ``from_classes`` (class → weight, for lines no rule matched), ``axes`` (axis → objective for
# ``from_classes``), ``combine`` (``max`` or ``sum``); carbon — ``factors`` (tables, paths relative to
# the rulebook), ``vat``, ``deflator``, ``exchange_rates``, ``categories`` (category → factor id),
# ``physical_facts`` (answer fact → physical factor id), ``default`` (what an unmatched line gets).
WEIGHTS_META = ["objectives", "scale", "from_classes", "axes", "combine"]
CARBON_META = ["factors", "vat", "deflator", "exchange_rates", "categories", "physical_facts", "default"]
