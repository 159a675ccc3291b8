"""check_invariants in one pass over the register: each check still caught, with the figures it names."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from budgetclimat.errors import InvariantViolated
from budgetclimat.pipeline import check_invariants

LINES = pd.DataFrame({"line_id": ["L0", "L1", "L2"], "amount_cents": [1000, 333, -50]})


def register(rows):
    return pd.DataFrame(rows, columns=["line_id", "axis", "scope", "class", "amount_share_cents"]).astype(
        {"line_id": "string", "axis": "string", "scope": "string", "class": "string", "amount_share_cents": "int64"})


GOOD = [
    ("L0", "a", "in", "TF", 600), ("L0", "a", "in", "D", 400), ("L1", "a", "out", None, 333), ("L2", "a", "in", "N", -50),
    ("L0", "b", "in", "N", 1000), ("L1", "b", "out", None, 333), ("L2", "b", "in", "AA", -25), ("L2", "b", "in", "TF", -25),
]


def check(rows):
    check_invariants(SimpleNamespace(lines=LINES, register=register(rows)), lines_read=3)


def violation(rows) -> tuple[str, str]:
    with pytest.raises(InvariantViolated) as info:
        check(rows)
    return info.value.params["check"], info.value.params["detail"]


def test_a_consistent_register_passes():
    check(GOOD)


def test_a_line_missing_on_one_axis():
    rows = [r for r in GOOD if not (r[0] == "L1" and r[1] == "b")]
    assert violation(rows) == ("lines in the register, axis b", "3 lines, 2 in the register (1 missing)")


def test_a_line_the_budget_does_not_have():
    rows = GOOD + [("L9", "a", "in", "N", 0)]
    assert violation(rows) == ("lines in the register, axis a", "3 lines, 4 in the register (0 missing)")


def test_pieces_one_cent_off():
    rows = [r if r[:2] != ("L2", "b") or r[3] != "TF" else ("L2", "b", "in", "TF", -24) for r in GOOD]
    assert violation(rows) == ("pieces sum to their line, axis b", "line L2: amount -50 cents, pieces -49 cents (1 lines)")


def test_in_scope_without_class_and_piece_without_scope():
    rows = [r if r[:2] != ("L0", "a") or r[3] != "D" else ("L0", "a", "in", None, 400) for r in GOOD]
    assert violation(rows) == ("class totals + out of scope = total, axis a",
                               "classes 550 + out of scope 333 != total 1283 cents (0 pieces without scope, 1 in scope without class)")
    rows = [r if r[:2] != ("L1", "b") else ("L1", "b", None, None, 333) for r in GOOD]
    assert violation(rows) == ("class totals + out of scope = total, axis b",
                               "classes 950 + out of scope 0 != total 1283 cents (1 pieces without scope, 0 in scope without class)")


def test_lines_read_and_duplicates():
    with pytest.raises(InvariantViolated):
        check_invariants(SimpleNamespace(lines=LINES, register=register(GOOD)), lines_read=4)
    twice = pd.concat([LINES, LINES.iloc[:1]], ignore_index=True)
    with pytest.raises(InvariantViolated):
        check_invariants(SimpleNamespace(lines=twice, register=register(GOOD)), lines_read=4)
