"""Rulebook kinds known to the rulebook package on its own; the engine's one evaluator (engine/match.py)
shared by classify, the views and the test cases; ``rules lint`` given its case runner."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from budgetclimat import model
from budgetclimat.engine.cases import run_case
from budgetclimat.engine.classify import classify
from budgetclimat.engine.match import first_match
from budgetclimat.errors import ConfigError
from budgetclimat.paths import rules_dir
from budgetclimat.rulebook import load_rulebook, load_rulebooks
from budgetclimat.rulebook.lint import lint
from budgetclimat.rulebook.model import RuleSet
from budgetclimat.views.carbon import quantities_from_facts

SRC = Path(__file__).resolve().parents[1] / "src" / "budgetclimat"
FIXTURES = Path(__file__).parent / "fixtures" / "rulebooks"
CROSSWALK = rules_dir() / "crosswalks" / "m52-to-m57.yaml"
DEFAULTS = {
    "source_file": "test.csv", "source_row": 2, "source_format": "test", "exercice": 2024, "doc_type": "CA",
    "budget_code": "00", "budget_kind": "principal", "nomenclature": "M57", "section": "F", "sens": "D",
    "operation": "reel", "amount_basis": "executed", "amount_cents": 1000,
}  # fmt: skip


def make_lines(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**DEFAULTS, **row} for row in rows])
    frame["line_id"] = [f"L{i}" for i in range(len(frame))]
    return model.conform(frame)


# ---- the kinds belong to the rulebook package --------------------------------------------------------


def test_rulebook_package_loads_weights_and_carbon_without_views_or_engine():
    code = (
        "import sys\n"
        "import budgetclimat.rulebook as rb\n"
        "import budgetclimat.rulebook.lint\n"
        "from budgetclimat.paths import rules_dir\n"
        "w = rb.load_rulebook(rules_dir() / 'weights' / 'rio-markers-eu.yaml')\n"
        "c = rb.load_rulebook(rules_dir() / 'carbon' / 'm57-m14-ademe-2023.yaml')\n"
        "print(type(w.rules[0].then).__name__, type(c.rules[0].then).__name__, sorted(w.extra), sorted(c.extra))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('budgetclimat.views', 'budgetclimat.engine'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    kinds, loaded = out.stdout.strip().splitlines()
    # The metadata of each kind is kept (not refused as unknown keys).
    assert kinds == ("WeightsThen CarbonThen ['combine', 'scale'] "
                     "['categories', 'default', 'deflator', 'exchange_rates', 'factors', 'physical_facts', 'vat']")
    assert loaded == "[]"


def test_no_rulebook_module_imports_views_or_engine():
    """Not even inside a function: ``rulebook`` comes before ``engine`` and ``views`` in the house."""
    offenders = []
    for path in sorted((SRC / "rulebook").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(("budgetclimat.views", "budgetclimat.engine", "budgetclimat.cli"))]
    assert not offenders


def test_a_carbon_then_typo_fails_on_load_with_its_line(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("rulebook: {id: c, kind: carbon}\nrules:\n  - id: R1\n    when: {nature: '611'}\n    then: {exclude: stafff}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rulebook(path)
    assert exc.value.code == "rulebook-value" and exc.value.params["line"] == 5 and exc.value.params["key"] == "then.exclude"


# ---- one evaluator -------------------------------------------------------------------------------


def test_first_match_of_a_classification_rulebook_is_the_register_rule_through_a_crosswalk(tmp_path: Path):
    path = tmp_path / "att.yaml"
    path.write_text(
        "rulebook:\n  id: t-att\n  kind: classification\n  axis: attenuation\n  nomenclatures: [M57]\n"
        f"  crosswalks: ['{CROSSWALK}']\n  default: {{class: N}}\n"
        "rules:\n"
        "  - id: R-COM\n    when: {fonction: '022'}\n    then: {class: D}\n"
        "  - id: R-FOURN\n    when: {nature: {prefix: ['6064']}}\n    then: {class: TF}\n",
        encoding="utf-8",
    )
    rb = load_rulebook(path)
    lines = make_lines(
        {"nomenclature": "M52", "nature": "6064", "fonction": "023"},  # M52 023 is M57 022: R-COM
        {"nomenclature": "M52", "nature": "6064", "fonction": "63"},  # fonction not in the crosswalk: not covered
        {"nomenclature": "M57", "nature": "6064", "fonction": "023"},  # M57 023 is not 022: R-FOURN
        {"nomenclature": "M14", "nature": "6064", "fonction": "022"},  # M14: not covered
        {"nomenclature": "M57", "nature": "611", "fonction": "01"},  # no rule: the default
    )
    got = first_match(rb, lines)
    assert got.tolist()[0] == "R-COM" and got.tolist()[2] == "R-FOURN"
    assert got.isna().tolist() == [False, True, False, True, True]
    register = classify(lines, RuleSet((rb,))).register
    in_scope = register[register["scope"] == "in"].set_index("line_id")["rule_id"]
    assert in_scope.to_dict() == {"L0": "R-COM", "L2": "R-FOURN", "L4": "DEFAULT"}


def test_first_match_reads_the_wide_facts_and_amounts(tmp_path: Path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "rulebook: {id: w, kind: weights}\nrules:\n"
        "  - id: W-ELEC\n    when: {fact: {motorisation: [electrique]}}\n    then: {weights: {attenuation: 1}}\n"
        "  - id: W-BIG\n    when: {nature: {prefix: ['2182']}, amount: {min: 10000}}\n    then: {weights: {attenuation: 0.4}}\n",
        encoding="utf-8",
    )
    rb = load_rulebook(path)
    lines = make_lines(
        {"nature": "21828", "amount_cents": 500_000},  # fact ELECTRIQUE (case and spaces ignored): W-ELEC
        {"nature": "21828", "amount_cents": 1_000_000},  # 10 000 €: W-BIG
        {"nature": "21828", "amount_cents": 999_999},  # 9 999,99 €: none
        {"nature": "21828", "amount_cents": 1_000_000},  # fact gazole: W-BIG
    )
    facts = pd.DataFrame({"motorisation": [" ELECTRIQUE", pd.NA, pd.NA, "gazole"]}, index=[7, 8, 9, 10], dtype="string")
    assert first_match(rb, lines, facts).fillna("-").tolist() == ["W-ELEC", "W-BIG", "-", "W-BIG"]
    assert first_match(rb, lines).fillna("-").tolist() == ["-", "W-BIG", "-", "W-BIG"]


def test_quantities_from_the_wide_facts_fact_by_fact():
    lines = pd.DataFrame({"line_id": ["a", "b", "c"]}, index=[5, 6, 7])
    facts = pd.DataFrame({"kwh": ["12", pd.NA, "3,5"], "other": ["x", "y", "z"], "litres": [pd.NA, "40", "x"]}, dtype="string")
    settings = SimpleNamespace(physical_facts={"litres": "fuel", "kwh": "electricity"})
    q = quantities_from_facts(lines, facts, settings)
    assert q["line_id"].tolist() == ["a", "c", "b", "c"]
    assert q["factor_id"].tolist() == ["electricity", "electricity", "fuel", "fuel"]
    assert q["quantity"].tolist()[:3] == [12.0, 3.5, 40.0] and pd.isna(q["quantity"].iloc[3])  # « x » is no quantity
    assert quantities_from_facts(lines, facts[["other"]], settings).empty


# ---- lint is given its case runner ----------------------------------------------------------------


def test_lint_runs_the_cases_with_the_runner_it_is_given():
    rs = load_rulebooks([FIXTURES / "scope.yaml", FIXTURES / "attenuation.yaml"])
    n_cases = sum(len(r.cases) for rb in rs.rulebooks for r in rb.rules)
    calls = []

    def failing(rulebook, rule, case, ruleset):
        calls.append((rulebook.id, rule.id, case.line))
        return ["always"]

    findings = lint(rs, failing, plans={})
    failed = findings[findings["code"] == "lint-case-fails"]
    assert len(calls) == n_cases > 0 and len(failed) == n_cases
    assert set(failed["value"]) == {"always"}
    findings = lint(rs, None, plans={})
    assert not (findings["code"] == "lint-case-fails").any()


def test_the_engine_runner_checks_weights_cases(tmp_path: Path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "rulebook: {id: w, kind: weights}\nrules:\n"
        "  - id: W1\n    when: {nature: {prefix: ['2182']}}\n    then: {weights: {attenuation: 1}}\n"
        "    cases:\n      - given: {nature: '21828'}\n        expect: {rule: W1}\n"
        "      - given: {nature: '611'}\n        expect: {rule: W1}\n"
        "      - given: {nature: '21828'}\n        expect: {rule: W1, class: TF}\n",
        encoding="utf-8",
    )
    findings = lint(load_rulebooks([path]), run_case, plans={})
    failed = findings[findings["code"] == "lint-case-fails"]
    assert failed["row"].tolist() == [9, 11]
    assert failed["value"].tolist() == ["decided by no rule, expected W1", "expect.class does not apply to a weights rulebook (expect.rule does)"]
