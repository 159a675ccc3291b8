"""Plans de comptes: parsing the shipped ODM files, choosing a plan, enriching lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from budgetclimat.errors import ConfigError, render_finding
from budgetclimat.nomenclature import available_plans, enrich, load_plan, plan_for
from budgetclimat.nomenclature.plan import plan_codes
from budgetclimat.paths import rules_dir

SHIPPED = rules_dir() / "nomenclatures"


def shipped(name: str) -> Path:
    return SHIPPED / f"plan-de-compte-{name}.xml"


def test_all_shipped_plans_load():
    found = {(norm, variant, year) for norm, variant, year, _ in available_plans()}
    expected = {("M14", "M14_COM_SUP3500", 2023)}
    for year in range(2013, 2023):
        expected |= {("M14", "M14_COM_SUP3500", year), ("M14", "M14_COM_500_3500", year), ("M52", "M52", year), ("M4", "M4", year)}
        expected |= {("M4", "M49_A", year), ("M4", "M49_D", year)}
        expected |= {("M4", "M43_A", year), ("M4", "M43_D", year)} if year < 2022 else {("M4", "M43", year)}
        if 2015 <= year <= 2021:
            expected.add(("M57", "M57", year))
    expected |= {("M57", "M57_A", 2022), ("M57", "M57_D", 2022)}
    assert found == expected
    # One plan of each kind is parsed whole (all of them take ~10 s); every file's codes are read.
    for norm, variant, year, path in available_plans():
        accounts, fonctions = plan_codes(path)
        assert len(accounts) > 300, path
        if year not in (2016, 2022):
            continue
        plan = load_plan(path)
        assert len(plan.accounts) > 300 and len(plan.chapters) > 20
        assert plan.accounts["code"].is_unique
        assert set(plan.chapters["section"].dropna()) <= {"F", "I"}
        if norm != "M4" and variant != "M14_COM_500_3500":  # no functional presentation below 3,500 hab.
            assert len(plan.fonctions) > 100


def test_plan_index_is_up_to_date():
    """rules/nomenclatures/index.csv names every shipped plan; regenerate with scripts/build_plan_index.py."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_plan_index.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_plan_lookup_reads_the_index_not_the_files(monkeypatch):
    """Finding a plan opens no plan file but the one chosen: the shipped index says what each file is."""
    from budgetclimat.nomenclature import select

    select._folder_plans.cache_clear()
    select._header.cache_clear()
    opened = []
    real = select.open_plan
    monkeypatch.setattr(select, "open_plan", lambda path: opened.append(path) or real(path))
    assert len(available_plans()) > 80
    assert opened == []


def test_known_accounts_and_chapters_m57():
    plan = load_plan(shipped("M57-M57-2018"))
    accounts = plan.accounts.set_index("code")
    assert accounts.loc["21312", ["label", "is_leaf", "chapter_real_d", "chapter_ordre_section_d", "chapter_ordre_interieur_d"]].tolist() == [
        "Bâtiments scolaires", True, "21", "040", "041"
    ]
    # 6411 is an aggregate under 641 in the official plan; its leaves (64111…) are all in chapter 012.
    assert accounts.loc["6411", "parent"] == "641" and not accounts.loc["6411", "is_leaf"]
    assert accounts.loc["6411", "chapter_real_d"] == "012"
    assert accounts.loc["64111", ["parent", "is_leaf", "chapter_real_d"]].tolist() == ["6411", True, "012"]
    assert accounts.loc["6811", "chapter_ordre_section_d"] == "042"
    chapters = plan.chapters.set_index("code")
    assert chapters.loc["012", ["label", "section", "kind"]].tolist() == ["Charges de personnel et frais assimilés", "F", "nature"]
    assert chapters.loc["930", ["section", "kind"]].tolist() == ["F", "fonction"]
    fonctions = plan.fonctions.set_index("code")
    assert fonctions.loc["020", ["label", "level", "parent"]].tolist() == ["Administration générale de la collectivité", 3, "02"]
    # M57 fonction 7 is the environment, M14's 8 carries it (different classifications).
    assert fonctions.loc["7", "label"].strip() == "Environnement"


def test_m14_fonctions_differ_from_m57():
    m14 = load_plan(shipped("M14-M14_COM_SUP3500-2023")).fonctions.set_index("code")["label"]
    assert m14["020"] == "Administration générale de la collectivité"
    assert m14["822"].startswith("Voirie")
    assert m14["7"] != load_plan(shipped("M57-M57-2020")).fonctions.set_index("code").loc["7", "label"]


def test_deleted_accounts_are_flagged():
    accounts = load_plan(shipped("M57-M57-2020")).accounts.set_index("code")
    assert accounts.loc["231312", "deleted"]
    assert not accounts.loc["21312", "deleted"]


def test_plan_for_exact_year():
    plan, warning = plan_for("M57-M57", None, 2020)
    assert (plan.norm, plan.variant, plan.exercice, warning) == ("M57", "M57", 2020, None)


@pytest.mark.parametrize("year", range(2015, 2022))
def test_plan_for_each_year_of_m57(year):
    plan, warning = plan_for("M57", "M57-M57", year)
    assert (plan.variant, plan.exercice, warning) == ("M57", year, None)


@pytest.mark.parametrize(
    ("nomenclature", "year", "chosen"),
    [
        ("M57-M57", 2014, "M57-M57 2015"),
        ("M57-M57", 2023, "M57-M57_D 2022"),
        ("M57-M57", 2026, "M57-M57_D 2022"),
        ("M57-M57_A", 2024, "M57-M57_A 2022"),
        ("M14-M14_COM_SUP3500", 2026, "M14-M14_COM_SUP3500 2023"),
        ("M14-M14_COM_500_3500", 2012, "M14-M14_COM_500_3500 2013"),
    ],
)
def test_plan_for_nearest_year_warns(nomenclature, year, chosen):
    plan, warning = plan_for(nomenclature, None, year)
    assert plan.name == chosen
    assert warning["code"] == "plan-nearest-year" and warning["level"] == "warning"
    text = render_finding(warning, "fr")
    assert f"{nomenclature} {year}" in text and chosen in text
    assert str(plan.exercice) in warning["expected"] and warning["expected"].endswith((".xml", ".xml.gz"))


def test_plan_for_budgets_annexes():
    plan, warning = plan_for("M4-M49_A", None, 2019)
    assert (plan.norm, plan.variant, plan.exercice, warning) == ("M4", "M49_A", 2019, None)
    plan, warning = plan_for("M43-M43", None, 2016)  # the développé is M43_D until 2021
    assert (plan.variant, plan.exercice, warning) == ("M43_D", 2016, None)


def test_plan_for_matches_norm_then_variant():
    plan, warning = plan_for("M14-M14_COM_SUP3500", None, 2023)
    assert plan.variant == "M14_COM_SUP3500" and warning is None
    plan, warning = plan_for("M14-M14_COM_500_3500", None, 2016)
    assert plan.variant == "M14_COM_500_3500" and warning is None
    plan, warning = plan_for("M14-M14_COM_INF500", None, 2016)
    assert plan.norm == "M14" and warning["code"] == "plan-other-variant"
    plan, warning = plan_for("M71-M71", None, 2023)
    assert plan is None and warning["code"] == "plan-not-found"


def test_user_folder_plan_is_found(tmp_path):
    text = shipped("M57-M57-2018").read_bytes().replace(b'Exer="2018"', b'Exer="2019"')
    (tmp_path / "plan-de-compte-M57-M57-2019.xml").write_bytes(text)
    plan, warning = plan_for("M57-M57", None, 2019, folders=[tmp_path])
    assert plan.exercice == 2019 and warning is None and plan.path.parent == tmp_path


def test_enrich_fills_without_overwriting():
    plan = load_plan(shipped("M57-M57-2018"))
    lines = pd.DataFrame(
        {
            "nature": ["6225", "21312", "6811", "28033", "21312", "999999"],
            "fonction": ["020", "212", pd.NA, pd.NA, "212", pd.NA],
            "sens": ["D", "D", "D", "R", "D", "D"],
            "operation": ["reel", "reel", "ordre", "ordre", "ordre", "reel"],
            "ordre_kind": [pd.NA, pd.NA, pd.NA, pd.NA, "interieur", pd.NA],
            "label": [pd.NA, "Groupe scolaire Jules Ferry", pd.NA, pd.NA, pd.NA, pd.NA],
            "chapitre": [pd.NA, "23", pd.NA, pd.NA, pd.NA, pd.NA],
            "account_label": pd.Series(pd.NA, index=range(6), dtype="string"),
            "fonction_label": pd.Series(pd.NA, index=range(6), dtype="string"),
        },
        dtype="string",
    )
    out = enrich(lines, plan)
    assert out["account_label"].tolist()[:2] == ["Indemnités au comptable et aux régisseurs", "Bâtiments scolaires"]
    assert out["label"].tolist()[:2] == ["Indemnités au comptable et aux régisseurs", "Groupe scolaire Jules Ferry"]
    assert out["fonction_label"].iloc[0] == "Administration générale de la collectivité"
    assert out["chapitre"].tolist()[:5] == ["011", "23", "042", "040", "041"]
    assert pd.isna(out["chapitre"].iloc[5]) and pd.isna(out["account_label"].iloc[5])
    assert lines["account_label"].isna().all()  # the input is not modified


def test_decode_fonction_m57():
    plan = load_plan(shipped("M57-M57-2018"))
    codes = pd.Series(["93020", "90325", "926", "9013", "934221", "93"], dtype="string")
    decoded = plan.decode_fonction(codes, pd.Series("D", index=codes.index, dtype="string"))
    assert decoded["section"].tolist()[:5] == ["F", "I", "I", "I", "F"]
    assert decoded["chapitre_fonction"].tolist()[:5] == ["930", "903", "926", "901", "934"]
    assert decoded["fonction"].tolist()[:2] == ["020", "325"]
    assert decoded["fonction"].tolist()[3:5] == ["13", "4221"]
    assert pd.isna(decoded["fonction"].iloc[2]) and decoded.iloc[5].isna().all()


def test_bad_plan_files(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_plan(tmp_path / "absent.xml")
    assert caught.value.code == "file-not-found"
    broken = tmp_path / "broken.xml"
    broken.write_text('<Nomenclature Norme="M57" Declinaison="M57" Exer="2018"><Nature>')
    with pytest.raises(ConfigError) as caught:
        load_plan(broken)
    assert caught.value.code == "plan-invalid" and caught.value.params["row"] == 1
