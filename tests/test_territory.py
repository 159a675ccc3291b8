"""Territory: inventory net, measures tied to budget lines, no double counting, stock and missed year."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from budgetclimat.errors import ConfigError
from budgetclimat.views.territory import (
    combined_effects,
    conform_measures,
    load_inventory,
    load_measures,
    measures_money,
    territory_view,
)
from budgetclimat.views.trajectory import linear_caps, Trajectory

EXAMPLES = Path(__file__).parents[1] / "examples" / "territory"


def _inventory():
    return pd.DataFrame({
        "year": [2020, 2020, 2022, 2022], "sector": ["transport", "batiment"] * 2,
        "emissions_tco2e": [600.0, 400.0, 500.0, 400.0], "removals_tco2e": [0.0, 0.0, 0.0, 0.0],
    }).assign(net_tco2e=lambda f: f["emissions_tco2e"] - f["removals_tco2e"])


def _measures(rows):
    return conform_measures(pd.DataFrame(rows).astype("string"))


def test_inventory_net_is_emissions_minus_removals():
    inventory = load_inventory(EXAMPLES / "inventory.csv")
    row = inventory[(inventory["year"] == 2019) & (inventory["sector"] == "agriculture_foret")].iloc[0]
    assert row["net_tco2e"] == 30000 - 25000


def test_reductions_in_one_sector_combine_multiplicatively():
    measures = _measures([
        {"id": "A", "sector": "transport", "status": "voté", "start_year": "2023", "reduction_tco2e_yr": "150"},
        {"id": "B", "sector": "transport", "status": "voté", "start_year": "2023", "reduction_tco2e_yr": "150"},
        {"id": "C", "sector": "transport", "status": "abandonné", "start_year": "2023", "reduction_tco2e_yr": "500"},
    ])
    effects = combined_effects(measures, pd.Series({"transport": 500.0}), 2024)
    # 30 % and 30 % of 500 t: 500 × (1 − 0.7 × 0.7) = 255 t, not 300; shared in proportion (127.5 each)
    assert effects["reduction_tco2e"].sum() == pytest.approx(255)
    assert effects.set_index("id").loc["A", "reduction_tco2e"] == pytest.approx(127.5)
    assert "C" not in set(effects["id"])


def test_effects_never_exceed_the_sector():
    measures = _measures([
        {"id": "A", "sector": "transport", "status": "voté", "start_year": "2023", "reduction_tco2e_yr": "900"},
        {"id": "B", "sector": "transport", "status": "voté", "start_year": "2023", "reduction_tco2e_yr": "900"},
    ])
    effects = combined_effects(measures, pd.Series({"transport": 500.0}), 2024)
    assert effects["reduction_tco2e"].sum() == pytest.approx(500)


def test_territory_view_gap_stock_and_missed_year():
    caps = linear_caps(2020, 1000.0, 2030, 0.0)
    trajectory = Trajectory("t", "t", "linear", 2020, 1000.0, caps)
    measures = _measures([{"id": "M", "sector": "transport", "status": "voté", "start_year": "2024", "reduction_tco2e_yr": "100"}])
    result = territory_view(_inventory(), trajectory, measures,
                            direct=pd.DataFrame({"year": [2022], "tco2e": [9.0], "tco2e_low": [4.5], "tco2e_high": [13.5]}))
    years = result.years.set_index("year")
    assert years.loc[2021, "projected_net_tco2e"] == pytest.approx(950)  # interpolated between 2020 and 2022
    assert years.loc[2023, "projected_net_tco2e"] == pytest.approx(900)  # last inventory, no measure yet
    assert years.loc[2024, "projected_net_tco2e"] == pytest.approx(800)
    assert years.loc[2024, "gap_tco2e"] == pytest.approx(800 - 600)
    assert result.year_missed == 2021  # interpolated 950 > cap 900
    assert result.budget_tco2e == pytest.approx(4500)
    used_2022 = 950 + 900
    assert years.loc[2022, "stock_left_tco2e"] == pytest.approx(4500 - used_2022)
    assert years.loc[2022, "direct_tco2e"] == 9.0 and years.loc[2022, "direct_share"] == pytest.approx(9 / 900)


def test_measures_tied_to_money_and_checks():
    lines = pd.DataFrame({
        "line_id": ["L1", "L2", "L3"], "nature": ["2182", "231312", "611"], "fonction": ["87", "213", "020"],
        "operation_code": [None, "OP12", None],
        "voted_cents": pd.array([10_000_01, 50_000_00, 1_000_00], dtype="Int64"),
        "executed_cents": pd.array([9_000_01, 40_000_00, 900_00], dtype="Int64"),
    })
    measures = _measures([
        {"id": "BUS", "sector": "transport", "status": "voté", "start_year": "2024", "natures": "2182", "reduction_tco2e_yr": "100", "lifetime_years": "10"},
        {"id": "VELO", "sector": "transport", "status": "voté", "start_year": "2024", "fonctions": "87", "reduction_tco2e_yr": "50"},
        {"id": "ECOLES", "sector": "batiment", "status": "voté", "start_year": "2024", "operations": "OP12", "reduction_tco2e_yr": "0"},
        {"id": "NOPE", "sector": "batiment", "status": "voté", "start_year": "2024", "natures": "999", "cost": "1 000,00"},
    ])
    register = pd.DataFrame({"line_id": ["L1", "L3"], "axis": ["attenuation"] * 2, "class": ["TF", "FSC"], "amount_share_cents": [9_000_01, 900_00]})
    money = measures_money(measures, lines, register).__dict__
    m = money["measures"].set_index("id")
    # L1 is paid by BUS and VELO: split in two, to the cent (9 000,01 € -> 4 500,01 + 4 500,00)
    assert m.loc["BUS", "executed_cents"] + m.loc["VELO", "executed_cents"] == 9_000_01
    assert m.loc["ECOLES", "executed_cents"] == 40_000_00 and m.loc["ECOLES", "voted_cents"] == 50_000_00
    assert m.loc["NOPE", "cost_cents"] == 1_000_00  # declared cost when no line
    assert list(money["unfunded"]["id"]) == ["NOPE"]
    assert list(money["uncovered"]["line_id"]) == ["L3"]
    assert m.loc["BUS", "cost_eur_per_tco2e_yr"] == pytest.approx(m.loc["BUS", "cost_cents"] / 100 / 100)
    assert m.loc["BUS", "cost_eur_per_tco2e"] == pytest.approx(m.loc["BUS", "cost_cents"] / 100 / 100 / 10)
    assert pd.isna(m.loc["ECOLES", "cost_eur_per_tco2e_yr"])


def test_example_files_load():
    measures = load_measures(EXAMPLES / "measures.csv")
    assert measures.set_index("id").loc["M05", "declared_cost_cents"] == 12_000_000_00


def test_bad_inventory_value_names_row_and_column(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("year,sector,emissions_tco2e\n2020,transport,12x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_inventory(path)
    assert exc.value.params["row"] == 2 and exc.value.params["column"] == "emissions_tco2e"


def test_classify_ties_the_territory_to_the_budget(tmp_path):
    """Through the command line, on the real Montpellier CA 2018 and the illustrative territory files:
    a measure linked by account prefix gets the executed amount of exactly those lines, computed here
    from the XML itself; a measure linked by autorisation de programme gets that AP's lines."""
    import json
    import re
    from decimal import Decimal

    from conftest import DATA, invoke

    xml = (DATA / "montpellier-ca-2018-m57.xml").read_text(encoding="latin-1")
    blocks = re.findall(r"<LigneBudget>(.*?)</LigneBudget>", xml, re.S)

    def field(block, name):
        m = re.search(rf'<{name} V="([^"]*)"', block)
        return m.group(1) if m else None

    def ap(block):
        m = re.search(r'<CaracSup Code="ProgAutoNum" V="([^"]*)"', block)
        return m.group(1) if m else None

    bus = sum(Decimal(field(b, "MtReal")) for b in blocks if field(b, "Nature").startswith("2182"))
    ap_code = "D 2013P16 2013/1"
    ap_total = sum(Decimal(field(b, "MtReal")) for b in blocks if ap(b) == ap_code)
    measures = tmp_path / "measures.csv"
    measures.write_text(
        "id,title,sector,natures,aps,reduction_tco2e_yr,status,start_year\n"
        "BUS,Flotte électrique,transports,2182,,1000,voté,2025\n"
        f"AP,Programme,batiment,,{ap_code},500,en cours,2024\n"
        "NONE,Sans ligne,industrie,,,100,à l'étude,2027\n",
        encoding="utf-8",
    )
    out = tmp_path / "summary.json"
    invoke([
        "classify", DATA / "montpellier-ca-2018-m57.xml", "--summary-json", out,
        "--inventory", EXAMPLES / "inventory.csv", "--trajectory", EXAMPLES / "trajectory.yaml", "--measures", measures,
    ], 0)
    data = json.loads(out.read_text(encoding="utf-8"))
    by_id = {m["id"]: m for m in data["measures"]["measures"]}
    assert by_id["BUS"]["executed_cents"] == int(bus * 100)
    assert by_id["AP"]["executed_cents"] == int(ap_total * 100) > 0
    assert by_id["BUS"]["cost_eur_per_tco2e_yr"] == round(float(bus) / 1000, 2)
    assert data["measures"]["unfunded"] == ["NONE"]
    assert by_id["NONE"]["cost_eur_per_tco2e_yr"] is None
    assert data["territory"]["years"][0]["year"] == 2019


def test_territory_needs_inventory_and_trajectory(tmp_path):
    from conftest import DATA, invoke

    result = invoke(["classify", DATA / "montpellier-ca-2018-m57.xml", "--trajectory", EXAMPLES / "trajectory.yaml"], 2)
    assert "--inventory" in result.stderr
