"""What a rulebook says: immutable objects built by the loader, evaluated by :mod:`budgetclimat.engine`.

A rulebook is data (``docs/rulebooks.md``). This module holds its model only; nothing here looks at a
budget line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from budgetclimat import i18n
from budgetclimat.money import format_euros

KINDS = ("scope", "classification", "weights", "carbon")

# ---- the method's classes, roll-ups and axes: the one definition every stage and output reads -----
# (labels: ``class.*``, ``rollup.*``, ``axis.*`` and the short ``axis-short.*`` below).

# The I4CE classes, most to least favourable, then the two that decide nothing (undefined, to investigate).
CLASSES = ("TF", "FSC", "N", "D", "IM", "AA")
# What each class counts as in the headline figures (PRIMER §4, « roll-up »), and those roll-ups in the
# order the Synthèse and Évolution sheets show them.
ROLLUP = {"TF": "favourable", "FSC": "favourable", "N": "neutral", "D": "unfavourable", "IM": "undefined", "AA": "undefined"}
ROLLUPS = ("favourable", "neutral", "unfavourable", "undefined")
# The roll-ups that decide something, in the order their ranges are given while questions are open
# (engine.bounds): what is still undefined is the open part.
BOUNDED_ROLLUPS = ("favourable", "unfavourable", "neutral")
# The six environmental objectives of the EU taxonomy, in their legal order (1 mitigation … 6 biodiversity):
# the order of the legal annex and of the weighted budget's objectives.
AXES = ("attenuation", "adaptation", "eau", "economie_circulaire", "pollution", "biodiversite")
# The axes the I4CE method rates, in its order. The coloured budget is an I4CE budget: its sheets show these
# first, then the other taxonomy axes (a user rulebook may rate them) in the legal order. This is the only
# place where the two orders differ: AXES for the annex and the objectives, AXIS_DISPLAY_ORDER for the
# classified axes of the workbook.
I4CE_AXES = ("attenuation", "adaptation", "biodiversite")
AXIS_DISPLAY_ORDER = I4CE_AXES + tuple(a for a in AXES if a not in I4CE_AXES)

# Columns a `when` may test, by form.
CODE_COLUMNS = ("nature", "fonction", "chapitre", "chapitre_plan", "chapitre_fonction", "operation_code")
ENUM_COLUMNS = (
    "section",
    "sens",
    "operation",
    "ordre_kind",
    "budget_kind",
    "budget_code",
    "nomenclature",
    "doc_type",
)
WHEN_COLUMNS = CODE_COLUMNS + ENUM_COLUMNS + ("label", "amount", "fact")


def classes_of(rollup: str) -> tuple[str, ...]:
    """The classes that count as ``rollup`` (``favourable``: TF and FSC)."""
    return tuple(c for c in CLASSES if ROLLUP[c] == rollup)


def class_label(code: str, lang: str | None = None) -> str:
    return i18n.t(f"class.{code}", lang)


def rollup_label(code: str, lang: str | None = None) -> str:
    return i18n.t(f"rollup.{code}", lang)


def axis_label(code: str, lang: str | None = None, *, short: bool = False) -> str:
    """The axis's name as the legal annex gives it, or (``short``) as a column header; an axis declared by
    a user (a weights objective) is shown as written."""
    key = f"axis-short.{code}" if short else f"axis.{code}"
    return i18n.t(key, lang) if key in i18n.catalogue() else code


@dataclass(frozen=True)
class Text:
    """A text given in French and English (either may be missing; French is the fallback)."""

    fr: str
    en: str = ""

    def get(self, lang: str | None = None) -> str:
        if (lang or i18n.language()) == "en" and self.en:
            return self.en
        return self.fr or self.en


# ---- the `when` matcher -------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One test on one column.

    ``op`` is one of ``in``, ``not_in``, ``prefix``, ``not_prefix`` (codes and enumerations; a single
    value is ``in``), ``keywords``, ``all_keywords``, ``not_keywords``, ``regex`` (label), ``min``,
    ``max`` (amount, in cents), ``fact_in``, ``present``, ``absent`` (facts; ``column`` is then the fact
    name and ``fact`` is True).
    """

    column: str
    op: str
    values: tuple = ()
    fact: bool = False
    line: int = 0

    def describe(self) -> str:
        name = f"fact.{self.column}" if self.fact else self.column
        if self.op in ("present", "absent"):
            return f"{name}: {self.op}"
        if self.op in ("min", "max"):
            return f"{name} {self.op} {format_euros(int(self.values[0]), i18n.language())}"
        shown = ", ".join(str(v) for v in self.values)
        return f"{name} {self.op} [{shown}]"


@dataclass(frozen=True)
class All:
    items: tuple  # of Condition | All | Any | Not


@dataclass(frozen=True)
class Any_:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


Matcher = Condition | All | Any_ | Not


def walk(matcher: Matcher):
    """Every node of a matcher tree, depth first."""
    yield matcher
    if isinstance(matcher, (All, Any_)):
        for item in matcher.items:
            yield from walk(item)
    elif isinstance(matcher, Not):
        yield from walk(matcher.item)


def conditions(matcher: Matcher) -> list[Condition]:
    return [node for node in walk(matcher) if isinstance(node, Condition)]


# ---- outcomes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One piece of a classification: a class and a share (a number, a fact, or the rest)."""

    klass: str
    share: float | None = None  # fixed share; None when from a fact or the rest
    fact: str | None = None
    rest: bool = False


@dataclass(frozen=True)
class Outcome:
    """The `then` of a classification rule (or a rulebook's `default`)."""

    pieces: tuple[Piece, ...] = ()
    question: str | None = None
    staff_costs: bool = False

    @property
    def is_split(self) -> bool:
        return len(self.pieces) > 1 or any(p.fact or p.rest for p in self.pieces)


@dataclass(frozen=True)
class ScopeOutcome:
    """The `then` of a scope rule."""

    out: bool
    reason: Text | None = None


# What an answer belongs to (``docs/rulebooks.md``, « Ask once »): the worklist asks a question once per
# value of its key, and an answer given for a key applies to every line that has that key value.
KEY_KINDS = ("entity", "account", "account_fonction", "operation", "line")


@dataclass(frozen=True)
class Question:
    id: str
    fact: str
    text: Text
    answers: tuple[str, ...] = ()
    type: str = "choice"  # choice | share | number | text
    key: str = "line"  # one of KEY_KINDS
    service: str = ""  # the service the question goes to, when it does not follow the line's fonction


@dataclass(frozen=True)
class Case:
    given: dict
    expect: dict
    facts: dict = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class Rule:
    id: str
    when: Matcher
    then: Any  # Outcome (classification), ScopeOutcome (scope), or what a registered kind validator returns
    title: str = ""
    rationale: Text = Text("")  # ``rationale: « … »`` (user rulebooks) or ``{fr: …, en: …}`` (shipped ones)
    source: dict | None = None
    cases: tuple[Case, ...] = ()
    line: int = 0
    rulebook_id: str = ""
    file: str = ""
    convention: bool = False  # decides a class without an I4CE cell supporting it (listed, can be switched off)
    convention_reason: Text | None = None

    def facts_used(self) -> set[str]:
        used = {c.column for c in conditions(self.when) if c.fact}
        if isinstance(self.then, Outcome):
            used |= {p.fact for p in self.then.pieces if p.fact}
        return used


@dataclass(frozen=True)
class Rulebook:
    id: str
    kind: str
    path: Path
    title: str = ""
    method: str = ""
    edition: str = ""
    version: str = ""
    axis: str | None = None
    nomenclatures: tuple[str, ...] = ()  # empty: every nomenclature
    source: str = ""
    staff_costs_option: str = "3a"
    default: Outcome | None = None
    questions: dict[str, Question] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    extra: dict = field(default_factory=dict)  # metadata keys registered by other kinds
    crosswalks: tuple = ()  # rulebook.crosswalk.Crosswalk: other nomenclatures read as one of ``nomenclatures``

    def question_for_fact(self, fact: str) -> Question | None:
        for q in self.questions.values():
            if q.fact == fact:
                return q
        return None


@dataclass(frozen=True)
class RuleSet:
    """Rulebooks loaded together (rule ids unique across them), in evaluation order."""

    rulebooks: tuple[Rulebook, ...] = ()
    # Conventions switched off by :meth:`without_conventions` (kept to list them, with 0 €, as not applied).
    conventions_off: tuple[Rule, ...] = ()
    conventions_applied: bool = True

    def of_kind(self, kind: str) -> list[Rulebook]:
        return [rb for rb in self.rulebooks if rb.kind == kind]

    def with_staff_costs(self, option: str | None) -> RuleSet:
        """The same rule set with every classification rulebook's staff-cost option set to ``option``
        (``3a`` or ``3b``); ``None`` keeps each rulebook's own choice."""
        if option is None:
            return self
        books = tuple(replace(rb, staff_costs_option=option) if rb.kind == "classification" else rb for rb in self.rulebooks)
        return replace(self, rulebooks=books)

    def without_conventions(self) -> RuleSet:
        """The same rule set without the rules declared ``convention: true`` (lines they decided fall to
        the next rule, usually the AA rule of their topic). The rules removed stay known
        (:meth:`all_conventions`) so that outputs can list them as not applied."""
        books = tuple(replace(rb, rules=tuple(r for r in rb.rules if not r.convention)) for rb in self.rulebooks)
        return RuleSet(books, conventions_off=self.conventions_off + tuple(self.conventions()), conventions_applied=False)

    def conventions(self) -> list[Rule]:
        """The convention rules in force in this rule set (none after :meth:`without_conventions`)."""
        return [r for rb in self.rulebooks for r in rb.rules if r.convention]

    def all_conventions(self) -> list[Rule]:
        """Every convention rule of the rulebooks, in force or switched off, in rulebook order."""
        order = {rb.id: i for i, rb in enumerate(self.rulebooks)}
        rules = self.conventions() + list(self.conventions_off)
        return sorted(rules, key=lambda r: (order.get(r.rulebook_id, len(order)), r.line))

    def rulebook(self, rulebook_id: str) -> Rulebook | None:
        return next((rb for rb in self.rulebooks if rb.id == rulebook_id), None)

    @property
    def scope(self) -> list[Rulebook]:
        return self.of_kind("scope")

    @property
    def classification(self) -> list[Rulebook]:
        return self.of_kind("classification")

    @property
    def axes(self) -> list[str]:
        return [rb.axis for rb in self.classification]

    def rule(self, rule_id: str) -> Rule | None:
        for rb in self.rulebooks:
            for r in rb.rules:
                if r.id == rule_id:
                    return r
        return None

    def questions(self) -> dict[str, Question]:
        out: dict[str, Question] = {}
        for rb in self.rulebooks:
            for qid, q in rb.questions.items():
                out.setdefault(qid, q)
        return out

    def facts(self) -> set[str]:
        names = {q.fact for q in self.questions().values()}
        for rb in self.rulebooks:
            for r in rb.rules:
                names |= r.facts_used()
        return names
