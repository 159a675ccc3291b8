"""The bounds' totals are recounted from the run's register (engine.bounds._Recount), not by classifying
the whole budget once per objective: the figures must be those ``classify`` gives with the kept answers,
on random small budgets (hypothesis) and on Montpellier, and equal to the whole-budget path."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bounds import GROUPS, RULEBOOK, make_lines

import budgetclimat.engine.bounds as bounds_module
from budgetclimat.engine import classify
from budgetclimat.engine.answers import conform_answers, empty_answers
from budgetclimat.engine.bounds import OBJECTIVES, compute_bounds
from budgetclimat.pipeline import STAFF_POOL, run_lines
from budgetclimat.rulebook import load_rulebooks

EXAMPLES = Path(__file__).parent.parent / "examples"


def cents(register: pd.DataFrame, axis: str, group: str) -> int:
    rows = register[(register["axis"] == axis) & (register["scope"] == "in")]
    return int(rows.loc[rows["class"].isin(classes_of(group)), "amount_share_cents"].sum())


def classes_of(group: str) -> tuple[str, ...]:
    return GROUPS[group]


def no_whole_budget_classify(*args, **kwargs):
    raise AssertionError("compute_bounds classified the whole budget: the recount was not used")


@pytest.fixture(scope="module")
def rulesets(tmp_path_factory):
    path = tmp_path_factory.mktemp("rb") / "bounds.yaml"
    path.write_text(RULEBOOK, encoding="utf-8")
    ruleset = load_rulebooks([path])
    return {"3a": ruleset, "3b": ruleset.with_staff_costs("3b")}


NATURES = ["6111", "6122", "6132", "6068", "64111"]
line_strategy = st.fixed_dictionaries({
    "nature": st.sampled_from(NATURES),
    "fonction": st.sampled_from(["020", "212", "311"]),
    "label": st.sampled_from(["Un", "Deux", "Trois"]),  # the same line key on several lines, sometimes
    "amount_cents": st.integers(min_value=-30000, max_value=300000),
    "sens": st.sampled_from(["D", "D", "D", "R"]),
    "siret": st.sampled_from(["21340172200011", "24340054600011"]),  # two budgets read together, sometimes
})  # fmt: skip
answer_strategy = st.lists(st.sampled_from([
    {"key": "account:6111", "fact": "genre", "value": "a"},
    {"key": "account:6111", "fact": "genre", "value": "b"},
    {"key": "entity:*", "fact": "contrat", "value": "y"},
    {"line_id": "L0", "fact": "part", "value": "0.3"},
    {"line_id": "L1", "fact": "genre", "value": "c"},
    {"line_id": "L2", "class": "TF"},
    {"line_id": "L1", "class": "AA"},
]), max_size=3, unique_by=lambda a: tuple(sorted(a.items())))  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(line_strategy, min_size=1, max_size=8), given_answers=answer_strategy, option=st.sampled_from(["3a", "3b"]))
def test_random_budgets_bounds_are_classify_with_the_kept_answers(rulesets, rows, given_answers, option):
    """Staff costs (3a / 3b, negative lines too), a choice question keyed by account leading to a follow-up
    keyed by the collectivité, a share split, a free-text (open) question, answers and overrides already
    given, one or two budgets (siret) with a staff pool each (``pipeline.STAFF_POOL``, as ``run`` classifies):
    each bound is what ``classify`` gives with the answers kept for it, and the current figure lies between
    the bounds."""
    ruleset = rulesets[option]
    for row in rows:
        row["chapitre"] = "012" if row["nature"] == "64111" else "011"
    lines = make_lines(*rows)
    answers = conform_answers(pd.DataFrame(given_answers)) if given_answers else empty_answers()
    known = set(lines["line_id"])
    answers = answers[answers["line_id"].isna() | answers["line_id"].isin(known)].reset_index(drop=True)
    register = classify(lines, ruleset, answers, staff_basis=STAFF_POOL).register
    with mock.patch.object(bounds_module, "classify", no_whole_budget_classify):
        result = compute_bounds(lines, ruleset, answers, register, staff_basis=STAFF_POOL)
    b = result.axes["attenuation"]
    for group, sense in OBJECTIVES:
        bound = getattr(b, f"{group}_{sense}_cents")
        kept = result.answers[("attenuation", group, sense)]
        assert cents(classify(lines, ruleset, kept, staff_basis=STAFF_POOL).register, "attenuation", group) == bound, (group, sense)
    if (lines["amount_cents"] >= 0).all():  # see test_negative_expense_current_outside_the_range
        for group in GROUPS:
            now = cents(register, "attenuation", group)
            assert getattr(b, f"{group}_min_cents") <= now <= getattr(b, f"{group}_max_cents"), group


@pytest.mark.xfail(strict=True, reason="known, before the recount too: with a negative expense line the staff pro rata clips a "
                   "negative class total, so today's figure (staff shares on AA) can lie outside the reachable range")
def test_negative_expense_current_outside_the_range(rulesets):
    """Found by the property test: staff 745,45 € pro rata; L2 overridden TF (9,09 €); two AA expense lines
    of -1,17 € and -77,32 €. Today: TF 9,09 + staff × 909 / (909 + 30134) = 30,92 €; the greedy's minimum
    is 31,00 € (the same figure with the whole-budget classify of the former code)."""
    ruleset = rulesets["3a"]
    rows = [
        {"nature": "64111", "chapitre": "012", "fonction": "020", "label": "Un", "amount_cents": 74545},
        {"nature": "6111", "fonction": "020", "label": "Un", "amount_cents": 74545, "sens": "R"},
        {"nature": "6111", "fonction": "020", "label": "Un", "amount_cents": 909},
        {"nature": "6122", "fonction": "020", "label": "Deux", "amount_cents": -117},
        {"nature": "6132", "fonction": "212", "label": "Deux", "amount_cents": -7732},
        {"nature": "6068", "fonction": "212", "label": "Un", "amount_cents": 30134},
    ]
    lines = make_lines(*rows)
    answers = conform_answers(pd.DataFrame([{"line_id": "L2", "class": "TF"}]))
    register = classify(lines, ruleset, answers).register
    b = compute_bounds(lines, ruleset, answers, register).axes["attenuation"]
    assert cents(register, "attenuation", "favourable") == 909 + 74545 * 909 // (909 + 30134) + 1 == 3092
    assert b.favourable_min_cents <= 3092


def test_hand_made_case_reproduced_and_same_as_whole_budget(rulesets):
    """Staff costs, a split question, a follow-up question and an open line: the recount gives the figures
    of the whole-budget path (classify per objective), and the kept answers reproduce them."""
    ruleset = rulesets["3a"]
    lines = make_lines(
        {"nature": "6111", "fonction": "020", "label": "Un", "amount_cents": 100000},
        {"nature": "6111", "fonction": "212", "label": "Deux", "amount_cents": 50000},
        {"nature": "6122", "fonction": "020", "label": "Trois", "amount_cents": 30000},
        {"nature": "6132", "fonction": "020", "label": "Quatre", "amount_cents": 20000},
        {"nature": "6068", "fonction": "020", "label": "Cinq", "amount_cents": 7001},
        {"nature": "64111", "chapitre": "012", "fonction": "020", "label": "Paie", "amount_cents": 9999},
    )
    register = classify(lines, ruleset).register
    fast = compute_bounds(lines, ruleset, None, register)
    with mock.patch.object(bounds_module._Recount, "totals", lambda self, extra, axes=None: None):  # the whole-budget path
        whole = compute_bounds(lines, ruleset, None, register)
    assert fast.axes == whole.axes
    b = fast.axes["attenuation"]
    # Independently (tests/test_bounds.py::_brute_force): every line but the decided N one favourable, staff included.
    assert b.favourable_max_cents == 100000 + 50000 + 30000 + 20000 + 9999 - 338
    for group, sense in OBJECTIVES:
        kept = fast.answers[("attenuation", group, sense)]
        assert cents(classify(lines, ruleset, kept).register, "attenuation", group) == getattr(b, f"{group}_{sense}_cents")


@pytest.fixture(scope="module")
def montpellier():
    from budgetclimat.pipeline import run

    return run([EXAMPLES / "montpellier-ca-2018-m57.xml"])


def test_montpellier_kept_answers_reproduce_every_bound(montpellier):
    """Through the public path: each bound of each axis is what ``classify`` gives with its kept answers,
    and the recount needed no whole-budget classification."""
    result = montpellier
    assert result.staff_basis == STAFF_POOL  # run classifies with one staff pool per budget, and the ranges know it
    with mock.patch.object(bounds_module, "classify", no_whole_budget_classify):
        bounds = compute_bounds(result.lines, result.ruleset, result.answers, result.register, staff_basis=result.staff_basis)
    assert {a: b.to_json() for a, b in bounds.axes.items()} == {a: b.to_json() for a, b in result.bounds.axes.items()}
    runs: dict[int, pd.DataFrame] = {}
    for (axis, group, sense), kept in bounds.answers.items():
        if id(kept) not in runs:  # axes sharing one answers frame: one classification
            runs[id(kept)] = classify(result.lines, result.ruleset, kept, staff_basis=STAFF_POOL).register
        register = runs[id(kept)]
        assert cents(register, axis, group) == getattr(bounds.axes[axis], f"{group}_{sense}_cents"), (axis, group, sense)
    for b in bounds.axes.values():
        # Today's figure is not asserted inside the range here: the staff pro rata rounds per line, and on
        # attenuation today's favourable euros are 2 cents under the reachable minimum (as before the recount).
        assert b.favourable_min_cents < b.favourable_max_cents  # questions are open on both axes: real ranges


def two_budgets():
    """Budget A: a 6122 line whose « contrat » question makes it FSC or N (300 €), a decided N line (100 €),
    staff 100 €; budget B: a decided N line (500 €), staff 200 €. Read together, classified per budget."""
    a, b = {"siret": "21340172200011"}, {"siret": "24340054600011"}
    return make_lines(
        {**a, "nature": "6122", "fonction": "020", "label": "Trois", "amount_cents": 30000},
        {**a, "nature": "6068", "fonction": "020", "label": "Cinq", "amount_cents": 10000},
        {**a, "nature": "64111", "chapitre": "012", "fonction": "020", "label": "Paie", "amount_cents": 10000},
        {**b, "nature": "6068", "fonction": "020", "label": "Cinq", "amount_cents": 50000},
        {**b, "nature": "64111", "chapitre": "012", "fonction": "020", "label": "Paie", "amount_cents": 20000},
    )


@pytest.mark.parametrize("option", ["3a", "3b"])
@pytest.mark.parametrize("recount", [True, False], ids=["recount", "whole-budget"])
def test_two_budgets_ranges_use_the_registers_staff_pools(rulesets, option, recount):
    """Two budgets read together: the register allocates staff costs per budget (``STAFF_POOL``), so must
    the ranges. Independently: favourable at most 300 € (6122 → FSC) + budget A's staff 100 € × 300 / 400
    = 375 €; budget B's staff stays N. (One pool of both budgets would give 300 + 300 × 300 / 900 = 400 €.)"""
    ruleset = rulesets[option]
    lines = two_budgets()
    result = run_lines(lines, ruleset, staff_basis=STAFF_POOL)
    assert result.staff_basis == STAFF_POOL
    staff_a = result.register[(result.register["line_id"] == "L2") & (result.register["decided_by"] == "staff")]
    assert set(staff_a["class"]) == {"AA", "N"}  # budget A's pool only: B's N line does not weigh on it…
    assert int(staff_a.loc[staff_a["class"] == "AA", "amount_share_cents"].sum()) == 7500  # …100 € × 300 / 400
    if recount:
        with mock.patch.object(bounds_module, "classify", no_whole_budget_classify):
            b = result.bounds.axes["attenuation"]
        answers = result.bounds.answers
    else:
        with mock.patch.object(bounds_module._Recount, "totals", lambda self, extra, axes=None: None):
            bounds = compute_bounds(result.lines, result.ruleset, result.answers, result.register, staff_basis=result.staff_basis)
        b, answers = bounds.axes["attenuation"], bounds.answers
    assert b.favourable_max_cents == 30000 + 7500
    assert b.favourable_min_cents == 0
    assert b.neutral_max_cents == 30000 + 10000 + 10000 + 50000 + 20000
    for group, sense in OBJECTIVES:  # the ranges' staff allocation is the register's with the kept answers
        kept = classify(lines, ruleset, answers[("attenuation", group, sense)], staff_basis=STAFF_POOL).register
        assert cents(kept, "attenuation", group) == getattr(b, f"{group}_{sense}_cents"), (group, sense)
        ranged = kept[(kept["decided_by"] == "staff")].sort_values(["line_id", "class"])
        assert ranged["amount_share_cents"].sum() == 30000


def test_partitions_whole_budget_basis_in_the_ranges(rulesets):
    """A partition classified with its whole budget's staff totals (a frame, as ``scale`` passes): the ranges
    replace this partition's part of those totals by its new rows. Partition = budget A's 6122 and staff
    lines; the rest of budget A (the N line, 100 €) is only in the totals: favourable at most 300 € + 100 € ×
    300 / 400 = 375 €, as with the whole budget read at once."""
    from budgetclimat.engine.classify import staff_totals

    ruleset = rulesets["3a"]
    lines = two_budgets()
    whole = classify(lines, ruleset, staff_basis=STAFF_POOL).register
    rows = whole[((whole["scope"] == "in") & (whole["decided_by"] != "staff")).to_numpy()]
    basis = staff_totals(lines, rows.assign(pos=rows["line_id"].str[1:].astype(int).to_numpy()), STAFF_POOL)
    part = lines.iloc[[0, 2]].reset_index(drop=True)
    result = run_lines(part, ruleset, staff_basis=basis)
    for recount in (True, False):
        if recount:
            bounds = compute_bounds(result.lines, result.ruleset, result.answers, result.register, staff_basis=result.staff_basis)
        else:
            with mock.patch.object(bounds_module._Recount, "totals", lambda self, extra, axes=None: None):
                bounds = compute_bounds(result.lines, result.ruleset, result.answers, result.register, staff_basis=result.staff_basis)
        assert bounds.axes["attenuation"].favourable_max_cents == 30000 + 7500, recount
        assert bounds.axes["attenuation"].favourable_min_cents == 0, recount


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A seeded ERP export of the benchmarks (``benchmarks/generate.py``), shipped rulebooks: staff lines
    (chapter 012), share and choice questions keyed by account × fonction, and facts given to every line."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    import generate

    from budgetclimat.pipeline import run

    frame, _ = generate.draw_lines(3000, seed=7)
    path = tmp_path_factory.mktemp("generated") / "erp.csv"
    generate.write_csv(frame, path)
    return run([path], constants={"budget_kind": "principal"})


def test_generated_budget_recount_is_the_whole_budget_classification(generated):
    """On a generated budget, the recount (the lines' groups split by the new facts, the staff basis as the
    run's plus deltas) gives the figures of the whole-budget path, and each kept answers frame reproduces its
    bound through ``classify`` in the run's staff pools."""
    result = generated
    staff = result.register[(result.register["decided_by"] == "staff").to_numpy()]
    assert len(staff) and (result.register["class"] == "AA").any()  # staff costs to allocate, questions open
    with mock.patch.object(bounds_module, "classify", no_whole_budget_classify):
        fast = compute_bounds(result.lines, result.ruleset, result.answers, result.register, staff_basis=result.staff_basis)
    with mock.patch.object(bounds_module._Recount, "totals", lambda self, extra, axes=None: None):
        whole = compute_bounds(result.lines, result.ruleset, result.answers, result.register, staff_basis=result.staff_basis)
    assert fast.axes == whole.axes
    runs: dict[int, pd.DataFrame] = {}
    for (axis, group, sense), kept in fast.answers.items():
        if id(kept) not in runs:
            runs[id(kept)] = classify(result.lines, result.ruleset, kept, staff_basis=result.staff_basis).register
        assert cents(runs[id(kept)], axis, group) == getattr(fast.axes[axis], f"{group}_{sense}_cents"), (axis, group, sense)
