"""Trajectory shapes against closed forms; presets; config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetclimat.errors import ConfigError
from budgetclimat.paths import rules_dir
from budgetclimat.views.trajectory import (
    budget_sum,
    constant_rate,
    cumulative_budget_rate,
    load_trajectory,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_constant_rate_minus_75_percent_in_35_years():
    r = constant_rate(100.0, 25.0, 35)
    assert r == pytest.approx(0.0388, abs=5e-5)  # 1 − 0.25^(1/35) = 3.88 %/yr
    assert 100 * (1 - r) ** 35 == pytest.approx(25.0)


def test_constant_rate_caps(tmp_path):
    t = load_trajectory(_write(tmp_path, "trajectory:\n  shape: constant_rate\n  baseline: {year: 2015, net: 1000}\n  target: {year: 2050, net: 250}\n"))
    caps = t.caps.set_index("year")["cap_tco2e"]
    assert t.rate == pytest.approx(1 - 0.25 ** (1 / 35))
    assert caps[2015] == 1000 and caps[2050] == pytest.approx(250)
    assert caps[2016] == pytest.approx(1000 * (1 - t.rate))


def test_linear_caps_against_closed_form(tmp_path):
    t = load_trajectory(_write(tmp_path, "trajectory:\n  shape: linear\n  baseline: {year: 2020, net: 1000}\n  target: {year: 2030, net: 0}\n"))
    caps = t.caps.set_index("year")["cap_tco2e"]
    assert caps[2025] == pytest.approx(500)
    assert caps[2030] == pytest.approx(0)
    # budget: sum of caps 2021..2030 = 900 + 800 + … + 0 = 4500
    assert t.budget_tco2e == pytest.approx(4500)


def test_cumulative_budget_finite_horizon_matches_closed_form(tmp_path):
    t = load_trajectory(_write(tmp_path, "trajectory:\n  shape: cumulative_budget\n  baseline: {year: 2020, net: 1000}\n  budget: 6000\n  target: {year: 2030}\n"))
    q = 1 - t.rate
    assert budget_sum(1000, q, 10) == pytest.approx(6000, rel=1e-9)  # Σ E0 q^k = E0 q (1 − q^N)/(1 − q)
    assert t.budget_tco2e == pytest.approx(6000, rel=1e-9)  # the caps themselves sum to the stock
    assert t.caps.set_index("year").loc[2021, "cap_tco2e"] == pytest.approx(1000 * q)


def test_cumulative_budget_infinite_horizon_closed_form(tmp_path):
    # Σ_{k≥1} E0 q^k = E0 q/(1 − q) = B  ⇒  q = B/(B + E0)
    r = cumulative_budget_rate(1000.0, 9000.0, None)
    assert 1 - r == pytest.approx(0.9)
    t = load_trajectory(_write(tmp_path, "trajectory:\n  shape: cumulative_budget\n  baseline: {year: 2020, net: 1000}\n  budget: 9000\n  horizon: infinite\n  until: 2200\n"))
    assert t.budget_tco2e == pytest.approx(9000, rel=1e-6)


def test_snbc_preset_stepped_with_confidence():
    t = load_trajectory(rules_dir() / "trajectories" / "snbc-2-national.yaml")
    caps = t.caps.set_index("year")
    assert caps.loc[2019, "cap_tco2e"] == 422e6 and caps.loc[2024, "cap_tco2e"] == 359e6 and caps.loc[2033, "cap_tco2e"] == 300e6
    assert set(caps["confidence"]) == {"high"}
    assert t.budget_tco2e == pytest.approx(5 * (422 + 359 + 300) * 1e6)
    sectors = t.sector_caps
    assert set(sectors["confidence"]) == {"low (from memory)"}
    assert sectors[(sectors["sector"] == "transports") & (sectors["year"] == 2020)]["cap_tco2e"].iloc[0] == 128e6


def test_errors_name_file_line_and_key(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_trajectory(_write(tmp_path, "trajectory:\n  shape: lineaire\n"))
    assert exc.value.params["key"] == "trajectory.shape" and exc.value.params["line"] == 2
    with pytest.raises(ConfigError) as exc:
        load_trajectory(_write(tmp_path, "trajectory:\n  shape: linear\n  baseline: {year: 2020, net: 1000}\n  target: {year: 2010, net: 0}\n"))
    assert exc.value.params["key"] == "trajectory.target.year"
    with pytest.raises(ConfigError):
        load_trajectory(_write(tmp_path, "trajectory:\n  shape: constant_rate\n  baseline: {year: 2020, net: 1000}\n  target: {year: 2050, net: 0}\n"))
    with pytest.raises(ConfigError) as exc:
        load_trajectory(_write(tmp_path, "trajectory:\n  shape: stepped\n  periods:\n    - {from: 2019, to: 2023, cap: 1}\n    - {from: 2023, to: 2025, cap: 1}\n"))
    assert "2023" in exc.value.message("en")


@pytest.mark.parametrize(("lang", "detail", "expected"), [
    ("fr", "2015 ≤ 2019 ; attendu : une année postérieure à l'année de référence", "absent ou vide ; attendu : factors:"),
    ("en", "2015 ≤ 2019; expected: a year after the baseline year", "missing or empty; expected: factors:"),
])
def test_configuration_mistakes_are_said_in_the_users_language(tmp_path, lang, detail, expected):
    """Found by a new user: the words of trajectory and carbon-rulebook mistakes were French in an English
    run and English in a French one."""
    from conftest import DATA, invoke

    trajectory = tmp_path / "t.yaml"
    trajectory.write_text("trajectory:\n  id: t\n  shape: linear\n  baseline: {year: 2019, net: 1000}\n  target: {year: 2015, net: 10}\n",
                          encoding="utf-8")
    carbon = tmp_path / "c.yaml"
    carbon.write_text("rulebook: {id: c, kind: carbon, nomenclatures: [M57]}\nrules: []\n", encoding="utf-8")
    budget = DATA / "montreuil-ca-2016-m14.xml"
    assert detail in invoke(["--lang", lang, "compare", budget, "--trajectory", trajectory], code=2).stderr
    assert expected in invoke(["--lang", lang, "compare", budget, "--carbon", carbon], code=2).stderr
