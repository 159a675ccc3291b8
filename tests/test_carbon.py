"""Carbon view: factors with provenance, VAT removal and deflation by hand, physical override, totals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from budgetclimat.errors import ConfigError
from budgetclimat.paths import rules_dir
from budgetclimat.views.carbon import EXCLUDED, PHYSICAL, SPEND, carbon_view, default_settings
from budgetclimat.views.factors import Deflator, load_deflator, load_factor_table, load_vat

HEADER = "factor_id,kind,category,label,value,unit,quantity_unit,currency,price_year,price_basis,vat_basis,region,uncertainty_pct,source,edition,status\n"


def _lines(rows):
    frame = pd.DataFrame(rows, columns=["line_id", "exercice", "nature", "amount_cents"])
    frame["exercice"] = frame["exercice"].astype("Int64")
    return frame


@pytest.fixture(scope="module")
def settings():
    return default_settings()


def test_factor_with_vat_removal_and_deflation_matches_hand_computation(settings):
    # 120 000,00 € TTC of works in 2018, VAT 20 % -> 100 000 € HT (euros of 2018).
    # Deflated to the factor's price year 2023 with the shipped index: 117.43 / 103.05.
    # 100 000 × 117.43 / 103.05 = 113 954.39 € = 113.95439 k€; × 245 kgCO2e/k€ / 1000 = 27.918826 tCO2e.
    lines = _lines([("L1", 2018, "231312", 12_000_000)])
    mapping = pd.DataFrame({"line_id": ["L1"], "carbon_category": ["construction"], "carbon_exclusion": [None]})
    result = carbon_view(lines, mapping, settings)
    row = result.lines.iloc[0]
    expected = 100_000 * 117.43 / 103.05 / 1000 * 245 / 1000
    assert row["vat_rate"] == 0.20
    assert row["deflator_ratio"] == pytest.approx(117.43 / 103.05)
    assert row["tco2e"] == pytest.approx(expected, abs=1e-6)
    assert row["carbon_method"] == SPEND and row["factor_id"] == "ademe-2023-construction"
    # ±50 % (the ADEME table's assumed uncertainty)
    assert row["tco2e_low"] == pytest.approx(expected * 0.5, abs=1e-6)
    assert row["tco2e_high"] == pytest.approx(expected * 1.5, abs=1e-6)


def test_reduced_vat_rate_per_account(settings):
    # Food (60623) at 5.5 %: 10 550 € TTC -> 10 000 € HT; same year as the factor (no deflation).
    lines = _lines([("L1", 2023, "60623", 1_055_000)])
    mapping = pd.DataFrame({"line_id": ["L1"], "carbon_category": ["catering"], "carbon_exclusion": [None]})
    row = carbon_view(lines, mapping, settings).lines.iloc[0]
    assert row["vat_rate"] == 0.055
    assert row["tco2e"] == pytest.approx(10 * 250 / 1000, abs=1e-6)


def test_physical_override_replaces_money(settings):
    lines = _lines([("L1", 2023, "60622", 50_000_00), ("L2", 2023, "60622", 10_000_00)])
    mapping = pd.DataFrame({"line_id": ["L1", "L2"], "carbon_category": ["fuels", "fuels"], "carbon_exclusion": [None, None]})
    quantities = pd.DataFrame({"line_id": ["L1"], "factor_id": ["phys-diesel-l"], "quantity": [1000.0]})
    out = carbon_view(lines, mapping, settings, quantities).lines.set_index("line_id")
    assert out.loc["L1", "carbon_method"] == PHYSICAL
    assert out.loc["L1", "factor_id"] == "phys-diesel-l"
    assert out.loc["L1", "tco2e"] == pytest.approx(1000 * 3.16 / 1000)
    assert out.loc["L2", "carbon_method"] == SPEND


def test_excluded_lines_and_sum_of_lines_equals_total(settings):
    lines = _lines([
        ("A", 2018, "2313", 1_234_567_89), ("B", 2019, "611", 98_765_43), ("C", 2018, "64111", 5_000_000_00),
        ("D", 2020, "6262", 7_777_77), ("E", 2018, "60611", 1_000_00),
    ])
    mapping = pd.DataFrame({
        "line_id": ["A", "B", "C", "D"],
        "carbon_category": ["construction", "specialised_services", None, "telecoms"],
        "carbon_exclusion": [None, None, "staff", None],
    })
    result = carbon_view(lines, mapping, settings)
    out = result.lines.set_index("line_id")
    assert out.loc["C", "carbon_method"] == EXCLUDED and out.loc["C", "carbon_exclusion"] == "staff"
    assert out.loc["E", "carbon_exclusion"] == "unmapped" and out.loc["E", "tco2e"] == 0
    assert result.total_gco2e == int(result.lines["gco2e"].sum())
    assert result.tco2e == pytest.approx(result.lines["tco2e"].sum(), abs=1e-9)
    assert result.total_low_gco2e <= result.total_gco2e <= result.total_high_gco2e
    assert result.by_category["tco2e"].sum() == pytest.approx(result.tco2e, abs=1e-6)


def test_factor_without_price_year_is_refused(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "x-1,monetary,works,Works,245,kgCO2e/k€,k€,EUR,,purchaser,HT,FR,50,ADEME,2023,to verify\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_factor_table(path)
    message = exc.value.message("en")
    assert "row 2" in message and "price_year" in message and str(path) in message


def test_factor_without_vat_basis_is_refused(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "x-1,monetary,works,Works,245,kgCO2e/k€,k€,EUR,2023,purchaser,,FR,50,ADEME,2023,to verify\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_factor_table(path)
    assert exc.value.params["column"] == "vat_basis" and exc.value.params["row"] == 2


def test_factor_with_unknown_vat_basis_is_refused(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "x-1,monetary,works,Works,245,kgCO2e/k€,k€,EUR,2023,purchaser,TVA,FR,50,ADEME,2023,to verify\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_factor_table(path)
    assert exc.value.params["column"] == "vat_basis"


def test_physical_factor_needs_no_price_year(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "p-1,physical,fuels,Diesel,3.16,kgCO2e/L,L,,,,,FR,10,Base Carbone,2023,to verify\n", encoding="utf-8")
    table = load_factor_table(path)
    assert table.get("p-1")["value"] == 3.16


def test_shipped_tables_keep_provenance():
    table = load_factor_table(rules_dir() / "carbon" / "factors" / "ademe-ratios-monetaires-2023.csv")
    frame = table.frame
    assert len(frame) == 23  # the 24 second-hand ratios minus the one without a millésime
    assert set(frame["status"]) == {"second-hand, to verify"}
    assert {"source_ref", "confidence", "base_carbone_id", "libelle_base_carbone"} <= set(frame.columns)
    assert frame.set_index("factor_id").loc["ademe-2023-construction", "value"] == 245


def test_deflator_missing_year_takes_the_nearest_year():
    # Issue 8: a year the table lacks never stops a run; the nearest year's index is used (the caller warns).
    deflator = Deflator(pd.Series([100.0, 110.0, 121.0], index=[2020, 2021, 2023]), "d.csv")
    assert deflator.nearest_years(pd.Series([2019, 2021, 2022, 2026])) == {2019: 2020, 2022: 2021, 2026: 2023}
    ratio = deflator.ratio(pd.Series([2019, 2026, 2021]), pd.Series([2021, 2021, 2021]))
    assert ratio.tolist() == pytest.approx([110 / 100, 110 / 121, 1.0])


def test_vat_config_errors_name_the_line(tmp_path: Path):
    path = tmp_path / "vat.yaml"
    path.write_text("vat:\n  default_rate: 0.2\n  rates:\n    - {nature: ['6062'], rate: 1.5}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_vat(path)
    assert exc.value.params["line"] == 4


def test_shipped_conversion_tables_load():
    base = rules_dir() / "carbon" / "conversion"
    assert load_deflator(base / "deflator.csv").ratio(pd.Series([2023]), pd.Series([2023])).iloc[0] == 1.0
    assert load_vat(base / "vat.yaml").rates(pd.Series(["60623", "2313", "616"])).tolist() == [0.055, 0.2, 0.0]


# ---- the shipped carbon rulebook -----------------------------------------------------------------


def _carbon_rulebook():
    from budgetclimat.rulebook import load_rulebook

    return load_rulebook(rules_dir() / "carbon" / "m57-m14-ademe-2023.yaml")


def test_every_case_of_the_shipped_carbon_rulebook():
    from budgetclimat.engine.cases import case_line
    from budgetclimat.engine.match import first_match

    rulebook = _carbon_rulebook()
    problems = []
    for rule in rulebook.rules:
        assert rule.cases, f"{rule.id} has no case"
        for case in rule.cases:
            got = first_match(rulebook, case_line(rulebook, case)).iloc[0]
            if got != case.expect.get("rule"):
                problems.append(f"{rule.id} line {case.line}: decided by {got}")
    assert not problems


def test_carbon_rulebook_then_is_validated(tmp_path: Path):
    from budgetclimat.rulebook import load_rulebook

    path = tmp_path / "c.yaml"
    path.write_text("rulebook: {id: c, kind: carbon}\nrules:\n  - id: R1\n    when: {nature: '611'}\n    then: {categorie: x}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rulebook(path)
    assert exc.value.params["line"] == 5


def test_unknown_category_in_a_carbon_rulebook_is_refused(tmp_path: Path):
    from budgetclimat.rulebook import load_rulebook
    from budgetclimat.views.evaluate import carbon_mapping

    base = rules_dir() / "carbon"
    path = tmp_path / "c.yaml"
    path.write_text(
        "rulebook:\n  id: c\n  kind: carbon\n"
        f"  factors: ['{base / 'factors' / 'ademe-ratios-monetaires-2023.csv'}']\n"
        f"  vat: '{base / 'conversion' / 'vat.yaml'}'\n  deflator: '{base / 'conversion' / 'deflator.csv'}'\n"
        "  categories: {construction: ademe-2023-construction}\n"
        "rules:\n  - id: R1\n    when: {nature: '611'}\n    then: {category: travaux}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        carbon_mapping(load_rulebook(path))
    assert exc.value.params["category"] == "travaux"


def test_montpellier_ca_2018_carbon_totals():
    from budgetclimat.pipeline import run

    result = run([Path(__file__).parent / "data" / "montpellier-ca-2018-m57.xml"])
    carbon = result.views["carbon"]
    assert carbon.total_gco2e == int(carbon.lines["gco2e"].sum())
    assert len(carbon.lines) == 1697
    # Real expenses F 295.79 M€ + I 114.83 M€ (PRIMER §6): the excluded and the estimated parts of the
    # expense lines add up to them plus the ordre lines.
    by_method = carbon.by_method.set_index("carbon_method")
    assert by_method.loc["physical", "lines"] == 0
    assert 5_000 < carbon.tco2e < 100_000  # an order of magnitude, not a figure to the tonne
    revenue = carbon.by_exclusion.set_index("carbon_exclusion").loc["revenue", "amount_cents"]
    assert revenue == int(result.lines.loc[result.lines["sens"] == "R", "amount_cents"].sum())


def test_a_cancellation_nets_against_its_purchase_in_the_range(settings):
    """A cancellation (negative amount) on the same factor nets against the purchase: the factor's error is
    correlated, so the category's range is the net tonnes at ±50 %, never below zero for a net purchase
    (Montreuil 2016, 60621: +47 305,13 € and −47 305,13 € gave « -231 to 231 » before)."""
    lines = _lines([("L1", 2018, "231312", 12_000_000), ("L2", 2018, "231312", -12_000_000), ("L3", 2018, "231312", 6_000_000)])
    mapping = pd.DataFrame({"line_id": ["L1", "L2", "L3"], "carbon_category": ["construction"] * 3, "carbon_exclusion": [None] * 3})
    result = carbon_view(lines, mapping, settings)
    one = 100_000 * 117.43 / 103.05 / 1000 * 245 / 1000  # tCO2e of 120 000 € TTC (first test)
    # each line keeps its own interval, low ≤ high (the cancellation: −1.5 × to −0.5 ×)
    per_line = result.lines.set_index("line_id")
    assert per_line.loc["L2", "tco2e_low"] == pytest.approx(-1.5 * one, abs=1e-5) and per_line.loc["L2", "tco2e_high"] == pytest.approx(-0.5 * one, abs=1e-5)
    # the category and the total: the net (L3, half of L1) at ±50 %
    cat = result.by_category.iloc[0]
    assert cat["tco2e"] == pytest.approx(0.5 * one, abs=1e-5)
    assert (cat["tco2e_low"], cat["tco2e_high"]) == (pytest.approx(0.25 * one, abs=1e-5), pytest.approx(0.75 * one, abs=1e-5))
    assert (result.tco2e_low, result.tco2e_high) == (pytest.approx(0.25 * one, abs=1e-5), pytest.approx(0.75 * one, abs=1e-5))
