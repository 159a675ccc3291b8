"""A file with thousands of findings: the groups and the full report agree with counts taken from the damage.

The file is a seeded ERP export of the benchmarks (``benchmarks/generate.py``: every line clean for the M57
plan) damaged by ``scripts/damage_budget.py``: each damage is one known cell on a known row, so every
count below is computed from the damage list, not from what budgetclimat printed.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))
from conftest import invoke  # noqa: E402

LINES = 3000


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    import damage_budget
    import generate

    frame, _ = generate.draw_lines(LINES, seed=5)
    frame = frame[frame["Réel/Ordre"] == "Réel"].reset_index(drop=True)  # no ordre lines: no ordre-unbalanced
    bad, truth = damage_budget.damage(frame, seed=11)
    path = tmp_path_factory.mktemp("many") / "bad.csv"
    bad.to_csv(path, sep=";", index=False, encoding="utf-8")
    rows = {name: sorted(truth.loc[truth["damage"] == name, "row"].tolist()) for name in damage_budget.DAMAGES}
    return path, frame, rows


def _expected_groups(frame: pd.DataFrame, rows: dict[str, list[int]]) -> dict[tuple, list[int]]:
    """(code, column, value) -> file rows, from the damage list alone."""
    expected = {
        ("required-missing", "sens", None): rows["sens"],
        ("code-format", "fonction", "8x1"): rows["fonction"],
        ("amount-not-a-number", "Montant réalisé", "12,5 €x"): rows["amount"],
        ("account-unknown", "nature", "99999"): rows["nature"],
    }
    # A line without sens has no chapter in the plan for its (intact) account: account-not-open, by account.
    nature_damaged = set(rows["nature"])
    for row in rows["sens"]:
        if row not in nature_damaged:
            expected.setdefault(("account-not-open", "nature", frame.loc[row - 2, "Nature"]), []).append(row)
    return expected


def test_groups_and_report_count_every_damaged_cell(damaged, tmp_path):
    path, frame, rows = damaged
    assert all(len(r) > 100 for r in rows.values())  # thousands of findings, several per line
    report = tmp_path / "report.csv"
    result = invoke(["validate", path, "--set", "budget_kind=principal", "--format", "json", "--report", report], code=1)
    data = json.loads(result.stdout)["files"][0]
    groups = {(g["code"], g["column"], g["value"]): g for g in data["groups"] if g["first_row"] is not None}
    expected = _expected_groups(frame, rows)
    assert set(groups) == set(expected)
    for key, found_rows in expected.items():
        group = groups[key]
        assert group["count"] == len(found_rows), key
        assert group["rows"] == sorted(found_rows)[:5], key
        assert group["first_row"] == min(found_rows), key
        assert group["message"].startswith(f"fichier {path.name}, ligne {min(found_rows)}, "), key
        if len(found_rows) > 1:  # « [N lignes : 2, 5, 9, 12, 20, …] »
            shown = ", ".join(str(r) for r in sorted(found_rows)[:5]) + (", …" if len(found_rows) > 5 else "")
            assert group["message"].endswith(f"[{len(found_rows)} lignes : {shown}]"), key
    # Document-level: the lines without sens are missing from the read totals (section × ? × réel).
    assert {g["code"] for g in data["groups"] if g["first_row"] is None} == {"reconciliation-mismatch"}

    # The complete report: one CSV row per finding, the row-level ones exactly the damaged cells.
    with report.open(encoding="utf-8-sig", newline="") as handle:
        listed = list(csv.DictReader(handle, delimiter=";"))
    located = [r for r in listed if r["row"]]
    assert len(located) == sum(len(r) for r in expected.values())
    assert sorted((r["code"], int(r["row"])) for r in located) == sorted(
        (code, row) for (code, _, _), found_rows in expected.items() for row in found_rows
    )
    assert len(listed) == data["errors"] + data["warnings"] == len(data["findings"])
    # Every message names its own row (rendered per pattern, rows put in afterwards).
    for r in located[:: max(1, len(located) // 200)]:
        assert f"ligne {r['row']}," in r["message"]
        assert r["message"].startswith(f"fichier {path.name}, ligne {r['row']}, ")


def test_two_required_values_missing_on_one_line_are_two_findings(damaged, tmp_path):
    # Without --set, budget_kind is missing on every line: a line without sens says both, not only the first.
    path, frame, rows = damaged
    result = invoke(["validate", path, "--format", "json"], code=1)
    counts = json.loads(result.stdout)["files"][0]["counts"]
    assert counts["required-missing"] == len(frame) + len(rows["sens"])
