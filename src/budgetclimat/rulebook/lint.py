"""``rules lint``: problems a rulebook can have although it loads.

Findings use the common findings frame (``row`` = line in the YAML file, ``column`` = rule id):

* ``lint-no-case`` (error): a rule without a test case;
* ``lint-case-fails`` (error): a case whose outcome differs from what it expects (the cases are run by
  the case runner the caller gives: :func:`budgetclimat.engine.cases.run_case`);
* ``lint-fonction-without-nomenclature`` (error): a rule on ``fonction`` that does not say which
  nomenclature (fonction codes differ between M57 and M14), unless the rulebook lists exactly one;
* ``lint-unknown-account`` / ``lint-unknown-fonction`` (error): a code or prefix that is the prefix of
  no account / fonction of the plans de comptes of the rulebook's nomenclatures (shipped plans);
* ``lint-shadowed`` (error): a rule that can never decide because an earlier rule matches every line it
  matches (simple cases: conditions on the same columns with subset values or longer prefixes);
* ``lint-overlap`` (warning): two rules that may match the same line with different outcomes, neither
  containing the other, where an earlier rule's broader code range takes part of a narrower range the
  later rule names (the earlier one wins — is that intended?). Exceptions written first (a narrower
  earlier rule) are the normal way to write a rulebook and are not reported;
* ``lint-fact-without-question`` (warning): a share taken from a fact no question asks for;
* ``lint-uncited-class`` (warning): a classification rule that decides a class (not AA, not staff costs)
  with neither an I4CE cell cited (``source.cells``) nor ``convention: true`` (with its reason).
* ``lint-answer-dead-end`` (error): an allowed answer of a choice question that no rule reads (no
  ``fact_in`` condition of the rule set contains it): answering it can lead neither to a class nor to a
  further question;
* ``lint-question-unread`` (error): a question whose fact no rule reads (a free-text or number question
  no condition tests, a share question no split takes its share from);
* ``lint-question-one-class`` (warning): a choice question whose every answer leads to the same outcome:
  asking it cannot change a class.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from budgetclimat.errors import ERROR, WARNING, findings_frame
from budgetclimat.nomenclature.plan import plan_codes
from budgetclimat.nomenclature.select import available_plans
from budgetclimat.rulebook.model import All, Case, Condition, Outcome, Rule, Rulebook, RuleSet, ScopeOutcome, conditions

# Runs one test case of a rule: ``run_case(rulebook, rule, case, ruleset)`` → the problems found (empty: it passes).
CaseRunner = Callable[[Rulebook, Rule, Case, RuleSet], list[str]]


def lint(ruleset: RuleSet, run_case: CaseRunner | None, plans: dict[str, dict[str, set[str]]] | None = None, progress=None) -> pd.DataFrame:
    """Lint every rulebook of ``ruleset``. ``run_case`` runs each test case (the engine's
    :func:`budgetclimat.engine.cases.run_case`); ``None``: the cases are not run, only their presence is
    checked. ``plans``: norm → {"accounts": codes, "fonctions": codes}; by default the shipped plans de
    comptes (all years) are used. ``progress(step, total, rulebook)``, when given, is called before each
    rulebook (a long lint says where it is)."""
    if plans is None:
        if progress is not None:
            progress(0, len(ruleset.rulebooks), None)
        plans = shipped_plan_codes()
    rows: list[dict] = []
    for i, rb in enumerate(ruleset.rulebooks, 1):
        if progress is not None:
            progress(i, len(ruleset.rulebooks), rb)
        rows.extend(_lint_rulebook(rb, ruleset, plans, run_case))
        rows.extend(_dead_ends(rb, ruleset))
    return findings_frame(rows)


def _describe_outcome(outcome: object) -> str:
    if isinstance(outcome, Outcome):
        if outcome.staff_costs:
            return "staff_costs"
        text = " + ".join(p.klass for p in outcome.pieces)
        return f"{text}, question {outcome.question}" if outcome.question else text
    return str(outcome)


def _dead_ends(rb: Rulebook, ruleset: RuleSet) -> list[dict]:
    """Questions whose answers do not all lead, through the rules, to a class or to a further question."""
    if not rb.questions:
        return []
    read_values: dict[str, set[str]] = {}  # fact -> values some fact_in condition contains (lower case)
    read_any: set[str] = set()  # facts some condition tests
    split_facts: set[str] = set()  # facts a split takes a share from
    outcomes: dict[tuple[str, str], set] = {}  # (fact, value) -> outcomes of the rules whose fact_in contains it
    for book in ruleset.rulebooks:
        for rule in book.rules:
            for cond in conditions(rule.when):
                if not cond.fact:
                    continue
                read_any.add(cond.column)
                if cond.op == "fact_in":
                    for value in cond.values:
                        key = (cond.column, str(value).strip().lower())
                        read_values.setdefault(cond.column, set()).add(key[1])
                        outcomes.setdefault(key, set()).add(rule.then)
            if isinstance(rule.then, Outcome):
                split_facts |= {p.fact for p in rule.then.pieces if p.fact}
    rows = []
    for qid, q in rb.questions.items():
        base = {"file": str(rb.path), "row": None, "column": qid}
        if q.type == "share":
            if q.fact not in split_facts:
                rows.append({**base, "level": ERROR, "code": "lint-question-unread", "value": q.fact, "expected": q.type})
            continue
        if q.type != "choice" or not q.answers:
            if q.fact not in read_any:
                rows.append({**base, "level": ERROR, "code": "lint-question-unread", "value": q.fact, "expected": q.type})
            continue
        seen = read_values.get(q.fact, set())
        dead = [a for a in q.answers if str(a).strip().lower() not in seen]
        for answer in dead:
            rows.append({**base, "level": ERROR, "code": "lint-answer-dead-end", "value": answer, "expected": q.fact})
        if not dead:
            reached = set().union(*(outcomes[(q.fact, str(a).strip().lower())] for a in q.answers))
            if len(reached) == 1:
                rows.append({**base, "level": WARNING, "code": "lint-question-one-class", "value": _describe_outcome(next(iter(reached))), "expected": ""})
    return rows


def shipped_plan_codes() -> dict[str, dict[str, set[str]]]:
    """Accounts and fonctions of the shipped plans de comptes, by norm (union of the years)."""
    out: dict[str, dict[str, set[str]]] = {}
    for norm, _variant, _year, path in available_plans():
        accounts, fonctions = plan_codes(path)  # codes only: every year of every plan is read
        entry = out.setdefault(norm.upper(), {"accounts": set(), "fonctions": set()})
        entry["accounts"] |= accounts
        entry["fonctions"] |= fonctions
    return out


def _finding(level: str, code: str, rb: Rulebook, rule: Rule, value: object = "", expected: str = "", line: int | None = None) -> dict:
    return {"level": level, "code": code, "file": str(rb.path), "row": line or rule.line, "column": rule.id, "value": str(value), "expected": expected}


def _lint_rulebook(rb: Rulebook, ruleset: RuleSet, plans: dict, run_case: CaseRunner | None) -> list[dict]:
    rows: list[dict] = []
    for rule in rb.rules:
        if not rule.cases:
            rows.append(_finding(ERROR, "lint-no-case", rb, rule))
        conds = conditions(rule.when)
        rule_nomenclatures = {v for c in conds if c.column == "nomenclature" for v in c.values}
        if any(c.column == "fonction" for c in conds) and not rule_nomenclatures and len(rb.nomenclatures) != 1:
            rows.append(_finding(ERROR, "lint-fonction-without-nomenclature", rb, rule))
        rows.extend(_codes(rb, rule, conds, plans, rule_nomenclatures))
        if isinstance(rule.then, Outcome):
            for piece in rule.then.pieces:
                if piece.fact and rb.question_for_fact(piece.fact) is None:
                    rows.append(_finding(WARNING, "lint-fact-without-question", rb, rule, piece.fact))
            decided = [p.klass for p in rule.then.pieces if p.klass != "AA"]
            if rb.kind == "classification" and decided and not rule.then.staff_costs and not rule.convention and not _cites_cells(rule):
                rows.append(_finding(WARNING, "lint-uncited-class", rb, rule, "/".join(dict.fromkeys(decided))))
    rows.extend(_shadowing(rb))
    if run_case is not None:
        for rule in rb.rules:
            for case in rule.cases:
                problems = run_case(rb, rule, case, ruleset)
                if problems:
                    rows.append(_finding(ERROR, "lint-case-fails", rb, rule, "; ".join(problems), line=case.line))
    return rows


def _cites_cells(rule: Rule) -> bool:
    """Does the rule cite at least one cell of the I4CE tables (``source: {cells: [...]}``)?"""
    cells = (rule.source or {}).get("cells")
    return isinstance(cells, list) and len(cells) > 0


def _codes(rb: Rulebook, rule: Rule, conds: list[Condition], plans: dict, rule_nomenclatures: set[str]) -> list[dict]:
    norms = sorted(rule_nomenclatures or set(rb.nomenclatures) or set(plans))
    known = [n.upper() for n in norms if n.upper() in plans]
    if not known:
        return []
    rows = []
    for column, kind, code in (("nature", "accounts", "lint-unknown-account"), ("fonction", "fonctions", "lint-unknown-fonction")):
        codes = set().union(*(plans[n][kind] for n in known))
        if not codes:
            continue
        for cond in conds:
            if cond.column != column or cond.fact:
                continue
            for value in cond.values:
                if not any(c.startswith(value) for c in codes):
                    rows.append(_finding(ERROR, code, rb, rule, value, "/".join(known), line=cond.line))
    return rows


# ---- shadowing and overlap (simple cases) --------------------------------------------------------


def _flat(rule: Rule) -> list[Condition] | None:
    """The rule's conditions when its `when` is a plain AND of conditions (else None: not analysed)."""
    when = rule.when
    if isinstance(when, Condition):
        return [when]
    if isinstance(when, All) and all(isinstance(i, Condition) for i in when.items):
        return list(when.items)
    return None


def _implied(a: Condition, b: Condition) -> bool:
    """Does every line satisfying ``b`` satisfy ``a`` (same column)?"""
    av, bv = set(a.values), set(b.values)
    pairs = {
        ("in", "in"): lambda: bv <= av,
        ("fact_in", "fact_in"): lambda: bv <= av,
        ("prefix", "in"): lambda: all(any(v.startswith(p) for p in av) for v in bv),
        ("prefix", "prefix"): lambda: all(any(v.startswith(p) for p in av) for v in bv),
        ("not_prefix", "in"): lambda: all(not any(v.startswith(p) for p in av) for v in bv),
        ("not_prefix", "prefix"): lambda: all(not (v.startswith(p) or p.startswith(v)) for v in bv for p in av),
        ("not_prefix", "not_prefix"): lambda: all(any(p.startswith(q) for q in bv) for p in av),
        ("not_in", "in"): lambda: not (av & bv),
        ("not_in", "not_in"): lambda: av <= bv,
        ("keywords", "keywords"): lambda: bv <= av,
        ("keywords", "all_keywords"): lambda: bool(av & bv),
        ("all_keywords", "all_keywords"): lambda: av <= bv,
        ("not_keywords", "not_keywords"): lambda: av <= bv,
        ("regex", "regex"): lambda: av == bv,
        ("min", "min"): lambda: b.values[0] >= a.values[0],
        ("max", "max"): lambda: b.values[0] <= a.values[0],
        ("present", "present"): lambda: True,
        ("present", "fact_in"): lambda: True,
        ("absent", "absent"): lambda: True,
    }
    test = pairs.get((a.op, b.op))
    return bool(test and test())


def _compatible(a: Condition, b: Condition) -> bool:
    """Can one line satisfy both (same column)? Unknown combinations count as compatible."""
    av, bv = set(a.values), set(b.values)
    ops = (a.op, b.op)
    if ops in (("in", "in"), ("fact_in", "fact_in")):
        return bool(av & bv)
    if ops == ("in", "prefix"):
        return any(v.startswith(p) for v in av for p in bv)
    if ops == ("prefix", "in"):
        return any(v.startswith(p) for v in bv for p in av)
    if ops == ("prefix", "prefix"):
        return any(p.startswith(q) or q.startswith(p) for p in av for q in bv)
    if ops == ("in", "not_in"):
        return bool(av - bv)
    if ops == ("not_in", "in"):
        return bool(bv - av)
    if {a.op, b.op} == {"present", "absent"}:
        return False
    if ops == ("min", "max"):
        return a.values[0] < b.values[0]
    if ops == ("max", "min"):
        return b.values[0] < a.values[0]
    return True


def implies(later: list[Condition], earlier: list[Condition]) -> bool:
    """Every line matching ``later`` matches ``earlier`` (each condition of earlier implied by one of later)."""
    return all(any(a.column == b.column and a.fact == b.fact and _implied(a, b) for b in later) for a in earlier)


def may_overlap(x: list[Condition], y: list[Condition]) -> bool:
    return all(_compatible(a, b) for a in x for b in y if a.column == b.column and a.fact == b.fact)


def _differ(x: object, y: object) -> bool:
    if isinstance(x, ScopeOutcome) and isinstance(y, ScopeOutcome):
        return x.out != y.out  # two exclusions differ by their reason only: not a conflict
    return x != y


def _swallowed(later: list[Condition], earlier: list[Condition]) -> bool:
    """Does an earlier, broader code region take a narrower region the later rule names?

    Rulebooks put exceptions first on purpose (6236 paper before 623 advertising; a label keyword before
    the account's general rule): an earlier rule *more specific* than the later one is intended. What is
    suspicious is the reverse: the later rule names 49 but an earlier rule already takes all of 4.
    """
    codes = ("in", "prefix")
    for a in later:
        for b in earlier:
            if a.column != b.column or a.fact or b.fact or a.op not in codes or b.op != "prefix":
                continue
            if any(str(v).startswith(str(q)) and len(str(v)) > len(str(q)) for v in a.values for q in b.values):
                return True
    return False


def _share_column(x: list[Condition], y: list[Condition]) -> bool:
    """Rules on unrelated columns (sens vs nature) overlap by design; only rules on a common column are compared."""
    return bool({(c.column, c.fact) for c in x} & {(c.column, c.fact) for c in y})


def _shadowing(rb: Rulebook) -> list[dict]:
    rows = []
    flat = [(_flat(r), r) for r in rb.rules]
    for j, (later, rule) in enumerate(flat):
        if later is None:
            continue
        for earlier, other in flat[:j]:
            if earlier is None:
                continue
            if implies(later, earlier):
                rows.append(_finding(ERROR, "lint-shadowed", rb, rule, other.id))
                break
            if (
                _differ(rule.then, other.then)
                and _share_column(later, earlier)
                and may_overlap(later, earlier)
                and not implies(earlier, later)
                and _swallowed(later, earlier)
            ):
                rows.append(_finding(WARNING, "lint-overlap", rb, rule, other.id))
                break
    return rows
