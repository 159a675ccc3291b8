"""Ranges while questions are open (engine.bounds): reachable classes and bounds, checked by brute force
on a hand-made rulebook, and reproduced through the public path on a real budget."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from budgetclimat import model
from budgetclimat.engine import classify
from budgetclimat.engine.answers import conform_answers
from budgetclimat.engine.bounds import OBJECTIVES, compute_bounds
from budgetclimat.rulebook import load_rulebooks

DATA = Path(__file__).parent / "data"
DEFAULTS = {
    "source_file": "test.csv", "source_row": 2, "source_format": "test", "exercice": 2024, "doc_type": "CA",
    "budget_code": "00", "budget_kind": "principal", "nomenclature": "M57", "section": "F", "sens": "D",
    "operation": "reel", "amount_basis": "executed",
}  # fmt: skip

RULEBOOK = """
rulebook: {id: t-bounds, kind: classification, axis: attenuation, nomenclatures: [M57], staff_costs: {option: 3a}, default: {class: N}}
questions:
  genre:
    fact: genre
    text: {fr: "Genre ?"}
    answers: [a, b, c]
    key: account
  contrat:
    fact: contrat
    text: {fr: "Contrat ?"}
    answers: [x, y]
    key: entity
  part:
    fact: part
    text: {fr: "Part ?"}
    type: share
  libre:
    fact: libre
    text: {fr: "Quoi ?"}
    type: text
rules:
  - id: R-STAFF
    when: {chapitre: "012"}
    then: {staff_costs: true}
  - id: R-A-X
    when: {nature: "6111", fact: {genre: [a], contrat: [x]}}
    then: {class: TF}
  - id: R-A-Y
    when: {nature: "6111", fact: {genre: [a], contrat: [y]}}
    then: {class: D}
  - id: R-A
    when: {nature: "6111", fact: {genre: [a]}}
    then: {class: AA, question: contrat}
  - id: R-B
    when: {nature: "6111", fact: {genre: [b]}}
    then: {split: [{class: TF, share: {fact: part}}, {class: N, share: rest}]}
  - id: R-C
    when: {nature: "6111", fact: {genre: [c]}}
    then: {class: N}
  - id: R-6111
    when: {nature: "6111"}
    then: {class: AA, question: genre}
  - id: R-612-X
    when: {nature: "6122", fact: {contrat: [x]}}
    then: {class: FSC}
  - id: R-612-Y
    when: {nature: "6122", fact: {contrat: [y]}}
    then: {class: N}
  - id: R-612
    when: {nature: "6122"}
    then: {class: AA, question: contrat}
  - id: R-613
    when: {nature: "6132"}
    then: {class: AA, question: libre}
"""

GROUPS = {"favourable": ("TF", "FSC"), "unfavourable": ("D",), "neutral": ("N",)}


def make_lines(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**DEFAULTS, **row} for row in rows])
    frame["line_id"] = [f"L{i}" for i in range(len(frame))]
    return model.conform(frame)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    path = tmp_path_factory.mktemp("rb") / "bounds.yaml"
    path.write_text(RULEBOOK, encoding="utf-8")
    ruleset = load_rulebooks([path])
    lines = make_lines(
        {"nature": "6111", "fonction": "020", "label": "Un", "amount_cents": 100000},  # L0 ┐ one account key
        {"nature": "6111", "fonction": "212", "label": "Deux", "amount_cents": 50000},  # L1 ┘
        {"nature": "6122", "fonction": "020", "label": "Trois", "amount_cents": 30000},  # L2 shares the entity key
        {"nature": "6132", "fonction": "020", "label": "Quatre", "amount_cents": 20000},  # L3 free text: open
        {"nature": "6068", "fonction": "020", "label": "Cinq", "amount_cents": 7001},  # L4 decided N
        {"nature": "64111", "chapitre": "012", "fonction": "020", "label": "Paie", "amount_cents": 9999},  # L5 staff
    )
    return lines, ruleset


def group_cents(register: pd.DataFrame, group: str) -> int:
    rows = register[(register["axis"] == "attenuation") & (register["scope"] == "in")]
    return int(rows.loc[rows["class"].isin(GROUPS[group]), "amount_share_cents"].sum())


def test_reachable_classes(case):
    lines, ruleset = case
    reg = classify(lines, ruleset).register
    result = compute_bounds(lines, ruleset, None, reg)
    reach = result.reachable.set_index("line_id")
    # L0, L1: genre a -> contrat x TF / y D; b -> part 0 N .. 1 TF; c -> N.
    assert reach.loc["L0", "classes"] == "TF|N|D" and not reach.loc["L0", "open"]
    assert reach.loc["L2", "classes"] == "FSC|N" and reach.loc["L2", "bound"] == "at_least_neutral"
    assert reach.loc["L3", "open"] and reach.loc["L3", "classes"] == "TF|FSC|N|D|IM"
    assert set(reach.index) == {"L0", "L1", "L2", "L3"}  # decided lines and staff allocations are not enumerated
    b = result.axes["attenuation"]
    # Decided: L4 (N) and the staff costs allocated pro rata to it, 9999 × 7001 / 207001 = 338.2 -> 338.
    assert b.decided_cents == 7001 + 338 and b.bounded_cents == 30000 == b.at_least_neutral_cents
    # The rest of the staff costs follows AA lines: open, with L0, L1, L3.
    assert b.decided_cents + b.bounded_cents + b.open_cents == int(lines["amount_cents"].sum()) == b.in_scope_cents


def _brute_force(lines, ruleset):
    """Every consistent set of answers: one value per worklist row (genre by account, contrat by entity,
    part by line for L0 and L1) and an analyst class (or none) for the open line L3."""
    keys = {"genre": "account:6111", "contrat": "entity:*"}
    l0, l1 = (f"line:6111|{f}|{w}" for f, w in (("020", "un"), ("212", "deux")))
    seen = {g: [] for g in GROUPS}
    for genre, contrat, p0, p1, cls in itertools.product(["a", "b", "c"], ["x", "y"], ["0", "1"], ["0", "1"], [None, "TF", "N", "D"]):  # FSC counts as TF, IM as none
        rows = [
            {"key": keys["genre"], "fact": "genre", "value": genre},
            {"key": keys["contrat"], "fact": "contrat", "value": contrat},
            {"key": l0, "fact": "part", "value": p0},
            {"key": l1, "fact": "part", "value": p1},
        ]
        if cls:
            rows.append({"line_id": "L3", "class": cls})
        reg = classify(lines, ruleset, conform_answers(pd.DataFrame(rows))).register
        for g in GROUPS:
            seen[g].append(group_cents(reg, g))
    return {g: (min(v), max(v)) for g, v in seen.items()}


def test_bounds_equal_brute_force(case):
    lines, ruleset = case
    from budgetclimat.engine.keys import key_values

    assert list(key_values(lines.iloc[:2], "line")) == ["line:6111|020|un", "line:6111|212|deux"]
    reg = classify(lines, ruleset).register
    result = compute_bounds(lines, ruleset, None, reg)
    b = result.axes["attenuation"]
    expected = _brute_force(lines, ruleset)
    for g, (low, high) in expected.items():
        assert (getattr(b, f"{g}_min_cents"), getattr(b, f"{g}_max_cents")) == (low, high), g
    # Independently: favourable max = every line but the decided N line, staff included (all favourable).
    assert expected["favourable"][1] == 100000 + 50000 + 30000 + 20000 + 9999 - int(9999 * 7001 / 207001 + 0.5)


@pytest.fixture(scope="module")
def montreuil():
    from budgetclimat.pipeline import run

    return run([DATA / "montreuil-ca-2016-m14.xml"])


@pytest.mark.parametrize(("group", "sense"), OBJECTIVES)
def test_extreme_answers_reproduce_the_bound_montreuil(montreuil, group, sense):
    """Through the public path: the answers chosen for the bound (one per worklist row = question × key,
    follow-up rows included, an analyst class for open lines) given as an answers frame to ``run_lines``
    give the bound to the cent."""
    from budgetclimat.pipeline import run_lines

    first = montreuil
    chosen = first.bounds.answers[("attenuation", group, sense)]
    facts = chosen[chosen["fact"].notna()]
    # One answer per worklist row (question × key), keyed by key, never by line id.
    assert len(facts) and not facts.duplicated(["key", "fact"]).any() and facts["line_id"].isna().all()
    again = run_lines(first.lines, first.ruleset, chosen)
    bound = getattr(first.bounds.axes["attenuation"], f"{group}_{sense}_cents")
    assert group_cents(again.register, group) == bound
    # Every line the answers reach is decided: no question is left open on the axis (but « à approfondir » answers).
    reg = again.register
    left = reg[(reg["axis"] == "attenuation") & (reg["class"] == "AA") & (reg["decided_by"] != "staff")]
    assert left.empty
    b = first.bounds.axes["attenuation"]
    assert getattr(b, f"{group}_min_cents") < getattr(b, f"{group}_max_cents") <= b.in_scope_cents


def test_decided_bounded_open_sum_to_in_scope_montreuil(montreuil):
    result = montreuil
    lines = result.lines
    for axis, b in result.bounds.axes.items():
        reg = result.register[(result.register["axis"] == axis) & (result.register["scope"] == "in")]
        in_scope = int(lines.set_index("line_id").loc[reg["line_id"].unique(), "amount_cents"].sum())
        assert b.decided_cents + b.bounded_cents + b.open_cents == in_scope == b.in_scope_cents
        assert b.decided_cents == int(reg.loc[reg["class"] != "AA", "amount_share_cents"].sum())
        for g, s in OBJECTIVES:
            assert isinstance(getattr(b, f"{g}_{s}_cents"), int)


def test_summary_terminal_and_failure(case, monkeypatch):
    from budgetclimat import i18n
    from budgetclimat.export.register import summary
    from budgetclimat.pipeline import run_lines
    from budgetclimat.report import classify_report

    lines, ruleset = case
    result = run_lines(lines, ruleset)
    data = summary(result)
    axis = data["axes"]["attenuation"]
    b = result.bounds.axes["attenuation"]
    assert axis["bounds"]["favourable_max_cents"] == b.favourable_max_cents and axis["open_cents"] == b.open_cents
    text = classify_report(result).text()
    assert "favorable entre " in text and "\u00a0%" in text and "au moins neutre : 300,00" in text
    i18n.set_language("en")
    text = classify_report(result).text()
    assert "favourable between " in text and "at least neutral: €300.00" in text

    # A failure of the computation is a warning; the run and the summary go on without ranges.
    import budgetclimat.engine.bounds as bounds_module

    def boom(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(bounds_module, "compute_bounds", boom)
    import budgetclimat.pipeline as pipeline_module  # it imports the name at its top: patch what it calls

    monkeypatch.setattr(pipeline_module, "compute_bounds", boom)
    failed = run_lines(lines, ruleset)
    data = summary(failed)
    assert failed.bounds is None and "bounds" not in data["axes"]["attenuation"]
    hit = failed.findings[failed.findings["code"] == "view-failed"]
    assert list(hit["column"]) == ["bounds"] and "boom" in hit["value"].iloc[0]
    assert data["findings"]["warnings"] >= 1


def test_analyst_aa_stays(case):
    """A line an analyst classed « AA » is not enumerated, and no class is put over the analyst's."""
    from budgetclimat.pipeline import run_lines

    lines, ruleset = case
    answers = conform_answers(pd.DataFrame([{"line_id": "L3", "class": "AA"}]))
    result = run_lines(lines, ruleset, answers)
    reach = result.bounds.reachable.set_index("line_id")
    assert reach.loc["L3", "classes"] == "AA" and not reach.loc["L3", "open"]
    chosen = result.bounds.answers[("attenuation", "favourable", "max")]
    assert not ((chosen["line_id"] == "L3") & (chosen["source_file"] == "bounds")).any()
    again = run_lines(lines, ruleset, chosen)
    assert group_cents(again.register, "favourable") == result.bounds.axes["attenuation"].favourable_max_cents
