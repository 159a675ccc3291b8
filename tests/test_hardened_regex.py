"""Issue 13, case 5: catastrophic regexes. Patterns that backtrack exponentially in Python's engine are
evaluated by RE2 (linear time) through the loader, ``rules lint`` (which runs the rule's cases) and
``classify``; a pattern RE2 cannot compile is refused at load, naming file, line and key."""

from __future__ import annotations

import time

import pytest
from conftest import FIXTURES, invoke

LABEL = "a" * 2999 + "!"  # 3,000 characters; no pattern below can match at the end: worst case for backtracking

RULEBOOK = """rulebook:
  id: t
  kind: classification
  axis: attenuation
  default: {{class: N}}
rules:
  - id: R-SLOW
    when: {{label: {{regex: '{pattern}'}}}}
    then: {{class: TF}}
    cases:
      - given: {{label: "{label}"}}
        expect: {{rule: DEFAULT}}
"""


def _totem_with_label(tmp_path, label):
    src = (FIXTURES / "totem" / "bp-2020-m57-utf8.xml").read_text(encoding="utf-8")
    path = tmp_path / "long-label.xml"
    path.write_text(src.replace("Électricité – bâtiments", label), encoding="utf-8")
    return path


@pytest.mark.parametrize(("pattern", "matches"), [("(a|a)+$", False), ("(a|aa)+$", False), ("a*a*a*a*a*a*a*a*$", True)])
def test_case5_catastrophic_regex_runs_in_linear_time(tmp_path, pattern, matches):
    rulebook = tmp_path / "slow.yaml"
    expected = "R-SLOW" if matches else "DEFAULT"  # a*…$ matches the empty string at the end of any label
    rulebook.write_text(RULEBOOK.format(pattern=pattern, label=LABEL).replace("rule: DEFAULT", f"rule: {expected}"), encoding="utf-8")
    budget = _totem_with_label(tmp_path, LABEL)
    start = time.monotonic()
    invoke(["rules", "lint", rulebook])  # loads, then runs the case on the 3,000-character label
    lint_seconds = time.monotonic() - start
    start = time.monotonic()
    invoke(["classify", budget, "--rules", rulebook])
    classify_seconds = time.monotonic() - start
    # Python's re takes > 30 s (a*…$) to > 150 s ((a|a)+$) on these; RE2 takes milliseconds. The bound is
    # generous (a loaded 2-core CI machine runs the whole classify of this small file in a few seconds), not
    # a speed measure: it only tells RE2 from a backtracking engine.
    assert lint_seconds < 20 and classify_seconds < 20, (lint_seconds, classify_seconds)
    from budgetclimat.pipeline import run

    result = run([budget], rulebooks=[rulebook])
    register = result.register.merge(result.lines[["line_id", "label"]], on="line_id")
    assert register.loc[register["label"] == LABEL, "class"].tolist() == (["TF"] if matches else ["N"])


def test_case5_regex_matches_are_unchanged(tmp_path):
    """The same pattern matching a long label classifies it (the engine change keeps matches)."""
    rulebook = tmp_path / "match.yaml"
    rulebook.write_text(RULEBOOK.format(pattern="^(a|aa)+!$", label=LABEL).replace("rule: DEFAULT", "rule: R-SLOW"), encoding="utf-8")
    invoke(["rules", "lint", rulebook])
    from budgetclimat.pipeline import run

    result = run([_totem_with_label(tmp_path, LABEL)], rulebooks=[rulebook])
    register = result.register.merge(result.lines[["line_id", "label"]], on="line_id")
    long_line = register[register["label"] == LABEL]
    assert long_line["class"].tolist() == ["TF"]
    assert set(register.loc[register["label"] != LABEL, "class"].dropna()) <= {"N"}


def test_case5_pattern_re2_cannot_compile_is_refused_at_load(tmp_path):
    rulebook = tmp_path / "bad.yaml"
    # \Z passes Python's parser (and the subset) but RE2 has no \Z.
    rulebook.write_text(RULEBOOK.format(pattern=r"chauffage\Z", label="x"), encoding="utf-8")
    result = invoke(["rules", "lint", rulebook], 2)
    assert "bad.yaml" in result.stderr and "ligne 8" in result.stderr and "RE2" in result.stderr
