"""Plans de comptes: parsing the shipped ODM files, choosing a plan, enriching lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from budgetclimat.errors import ConfigError, render_finding
from budgetclimat.nomenclature import available_plans, enrich, load_plan, plan_for
from budgetclimat.paths import rules_dir

SHIPPED = rules_dir() / "nomenclatures"


def shipped(name: str) -> Path:
    return SHIPPED / f"plan-de-compte-{name}.xml"


def test_all_shipped_plans_load():
    found = {(norm, variant, year) for norm, variant, year, _ in available_plans()}
    assert found == {("M57", "M57", 2018), ("M57", "M57", 2020), ("M14", "M14_COM_SUP3500", 2023), ("M52", "M52", 2016)}
    for *_, path in available_plans():
        plan = load_plan(path)
        assert len(plan.accounts) > 1000 and len(plan.chapters) > 50 and len(plan.fonctions) > 100
        assert plan.accounts["code"].is_unique
        assert set(plan.chapters["section"].dropna()) <= {"F", "I"}


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


@pytest.mark.parametrize(("year", "chosen"), [(2019, 2018), (2016, 2018), (2024, 2020)])
def test_plan_for_nearest_year_warns(year, chosen):
    plan, warning = plan_for("M57", "M57-M57", year)
    assert plan.exercice == chosen
    assert warning["code"] == "plan-nearest-year" and warning["level"] == "warning"
    text = render_finding(warning, "fr")
    assert f"M57-M57 {year}" in text and f"M57-M57 {chosen}" in text


def test_plan_for_matches_norm_then_variant():
    plan, warning = plan_for("M14-M14_COM_SUP3500", None, 2023)
    assert plan.variant == "M14_COM_SUP3500" and warning is None
    plan, warning = plan_for("M14-M14_COM_500_3500", None, 2023)
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
