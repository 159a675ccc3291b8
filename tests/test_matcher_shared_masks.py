"""engine.matcher.MaskCache: a condition that reads no fact is computed once on the distinct fact-free rows
and shared with later frames of the same rows (the classify runs of engine.bounds); the masks must be exactly
those computed on each frame itself, whatever the facts, the row order or a hash collision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from budgetclimat.engine import matcher
from budgetclimat.engine.matcher import MaskCache, evaluate
from budgetclimat.rulebook.model import All, Any_, Condition, Not

CONDITIONS = [
    Condition("nature", "prefix", ("61", "62")),
    Condition("nature", "in", ("6111",)),
    Condition("label", "keywords", ("ecole",)),
    Condition("label", "regex", ("^travaux",)),
    Condition("amount_cents", "min", (10_000,)),
    Condition("fonction", "not_prefix", ("2",)),
    Condition("motorisation", "fact_in", ("electrique",), fact=True),
    Condition("motorisation", "present", (), fact=True),
]
RULES = CONDITIONS + [All((CONDITIONS[0], Not(CONDITIONS[6]))), Any_((CONDITIONS[2], CONDITIONS[4]))]


def frame(facts: list) -> pd.DataFrame:
    base = pd.DataFrame({
        "nature": ["6111", "6111", "6226", "2313", "6111", pd.NA],
        "fonction": ["212", "212", "020", "212", "814", "020"],
        "label": ["ecole jules ferry", "ecole jules ferry", "travaux voirie", "travaux ecole", "", "ecole"],
        "amount_cents": [500, 500, 20_000, 10_000, 9_999, 0],
    }).astype({"nature": "string", "fonction": "string", "label": "string", "amount_cents": "int64"})
    return base.assign(**{"fact:motorisation": pd.Series(facts, dtype="string")})


def direct(f: pd.DataFrame) -> list[np.ndarray]:
    return [evaluate(rule, f) for rule in RULES]


@pytest.mark.parametrize("facts", [[pd.NA] * 6, ["electrique", "diesel", pd.NA, "electrique", pd.NA, "diesel"]])
def test_shared_masks_are_the_masks_of_each_frame(facts):
    matcher._SHARED.clear()
    first = frame([pd.NA] * 6)
    evaluate(RULES[0], first, MaskCache(first))  # remembers the fact-free rows of the first frame
    f = frame(facts)
    cache = MaskCache(f)
    assert cache._shared is not None and len(cache._shared[0]) == 5  # two twin rows read once
    assert len(matcher._SHARED) == 1  # the same fact-free rows: the first frame's masks are reused
    got = [evaluate(rule, f, cache) for rule in RULES]
    for rule, g, w in zip(RULES, got, direct(f)):
        assert g.dtype == bool and np.array_equal(g, w), rule
    shuffled = f.iloc[[5, 3, 1, 0, 2, 4]].reset_index(drop=True)  # other order, same rows: shared, and right
    cache = MaskCache(shuffled)
    for rule, w in zip(RULES, direct(shuffled)):
        assert np.array_equal(evaluate(rule, shuffled, cache), w), rule


def test_a_hash_collision_shares_nothing(monkeypatch):
    matcher._SHARED.clear()
    f = frame([pd.NA] * 6)
    monkeypatch.setattr(matcher.pd.util, "hash_pandas_object", lambda part, index: pd.Series(np.zeros(len(part), dtype="uint64")))
    cache = MaskCache(f)
    assert cache._shared is None  # every row "the same": the check sees they are not
    for rule, w in zip(RULES, direct(f)):
        assert np.array_equal(evaluate(rule, f, cache), w), rule
