"""compare command and the per-year series."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import invoke

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[1]


def test_compare_json_on_montpellier():
    out = invoke(["compare", DATA / "montpellier-ca-2018-m57.xml", "--weights", ROOT / "rules" / "weights" / "rio-markers-eu.yaml", "--format", "json"])
    doc = json.loads(out.stdout)
    (year,) = doc["years"]
    assert year["exercice"] == 2018
    assert year["tco2e_low"] <= year["tco2e"] <= year["tco2e_high"]
    assert doc["meta"]["weights"] == "poids-marqueurs-rio-ue" and doc["meta"]["combined_rule"] == "max"
    assert 0 <= year["combined_share"] <= 1


def test_compare_human_in_french_and_missing_file():
    out = invoke(["compare", DATA / "montpellier-ca-2018-m57.xml"])
    assert "Exercice" in out.stdout and "ordres de grandeur" in out.stdout
    invoke(["compare", DATA / "absent.xml"], code=2)


def test_series_keeps_last_run_per_year_and_adds_caps():
    from budgetclimat.pipeline import run
    from budgetclimat.views.series import series
    from budgetclimat.views.trajectory import Trajectory, linear_caps

    result = run([DATA / "montpellier-ca-2018-m57.xml"])
    trajectory = Trajectory("t", "t", "linear", 2015, 1e6, linear_caps(2015, 1e6, 2030, 0.0))
    table = series([result, result], trajectory)
    assert len(table) == 1
    row = table.iloc[0]
    assert row["cap_tco2e"] == trajectory.cap(2018)
    assert row["tco2e"] == result.views["carbon"].tco2e
    assert row["direct_share_of_cap"] == row["tco2e"] / row["cap_tco2e"]


def test_register_and_summary_carry_views(tmp_path):
    out = invoke(["classify", DATA / "montpellier-ca-2018-m57.xml", "--lines-out", tmp_path / "l.csv", "--summary-json", tmp_path / "s.json"])
    assert out.exit_code in (0, 1)
    summary = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert "weighted" in summary and "carbon" in summary
