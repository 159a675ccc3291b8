"""Issue 9 — fidelity of the attenuation topics (procurement, studies, land, travel, financial charges) and of the
biodiversity land-use question, on lines of the real budgets in tests/data.

Each test names the line (file, account, fonction), the class, the deciding rule and its I4CE cell (the row of
rules/i4ce-2022/tables-transcribed.csv) or the convention. Answers are given by key (``account_fonction`` /
``operation``: TOTEM lines carry no operation code, so the operation key falls back to account × fonction).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from budgetclimat.engine.keys import key_values
from budgetclimat.pipeline import resolve_ruleset, run, run_lines

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TABLE = ROOT / "rules" / "i4ce-2022" / "tables-transcribed.csv"


def _cells() -> dict[int, dict]:
    with TABLE.open(encoding="utf-8") as handle:
        return {i: row for i, row in enumerate(csv.DictReader(handle, delimiter=";"), start=1)}


CELLS = _cells()
RULESET = resolve_ruleset(None)
RULES = {rule.id: rule for rb in RULESET.classification for rule in rb.rules}
QUESTIONS = {qid: q for rb in RULESET.classification for qid, q in rb.questions.items()}


@pytest.fixture(scope="module")
def montpellier() -> pd.DataFrame:
    return run([DATA / "montpellier-ca-2018-m57.xml"]).lines


@pytest.fixture(scope="module")
def montreuil() -> pd.DataFrame:
    return run([DATA / "montreuil-ca-2016-m14.xml"]).lines


def _line(lines: pd.DataFrame, nature: str, fonction: str, line_id: str | None = None) -> pd.DataFrame:
    sel = lines[(lines.nature == nature) & (lines.fonction == fonction) & (lines.sens == "D") & (lines.operation == "reel")]
    if line_id is not None:
        sel = sel[sel.line_id == line_id]
    assert len(sel) == 1, (nature, fonction, len(sel))
    return sel


def _classify(line: pd.DataFrame, facts: dict[str, str] | None = None, kind: str = "account_fonction", ruleset=RULESET) -> pd.DataFrame:
    """The register rows of one line (both axes), the facts given as answers for the line's ``kind`` key."""
    answers = None
    if facts:
        key = key_values(line, kind).iloc[0]
        answers = pd.DataFrame([{"key": key, "fact": fact, "value": value} for fact, value in facts.items()])
    register = run_lines(line.reset_index(drop=True), ruleset, answers).register
    return register.set_index(["axis", "piece"]) if "piece" in register.columns else register.set_index("axis")


def _one(register: pd.DataFrame, axis: str) -> pd.Series:
    rows = register.loc[[axis]] if axis in register.index.get_level_values(0) else None
    assert rows is not None and len(rows) == 1, rows
    return rows.iloc[0]


def _cell_class(row: int) -> str:
    return CELLS[row]["class"]


# --- 6247 transports collectifs: the public-transport operation table, not staff travel --------------------


def test_6247_coach_hire_follows_public_transport_operation(montreuil):
    # Montreuil CA 2016, 6247 « Transports collectifs » under 421 (centres de loisirs): 7 280,00 €.
    line = _line(montreuil, "6247", "421")
    assert int(line.amount_cents.iloc[0]) == 728000
    row = _one(_classify(line), "attenuation")
    assert (row["class"], row["rule_id"], row["question_id"]) == ("AA", "ATT-TRANSPORTS-COLLECTIFS-M14", "part-km-bas-carbone")
    rule = RULES["ATT-TRANSPORTS-COLLECTIFS-M14"]
    assert rule.source["image"] == "transport_collectif.png" and list(rule.source["cells"]) == [42, 43]
    assert (_cell_class(42), _cell_class(43)) == ("Très favorable", "Favorable sous conditions")
    # Answered: 25 % of the km by low-carbon coaches → 25 % TF, 75 % FSC (never TF as a whole).
    register = run_lines(line.reset_index(drop=True), RULESET, pd.DataFrame([{"line_id": line.line_id.iloc[0], "fact": "part_km_bas_carbone", "value": "0.25"}])).register
    att = register[register.axis == "attenuation"].sort_values("class")
    assert att["class"].tolist() == ["FSC", "TF"]
    assert att.amount_share_cents.tolist() == [546000, 182000]


def test_6247_in_m57_is_staff_public_transport(montpellier):
    # M57 6247 is « Transports collectifs du personnel » (plan M57 2018): staff travel by public transport, TF.
    lines = montpellier[(montpellier.nature == "6247") & (montpellier.sens == "D") & (montpellier.operation == "reel")]
    rows = run_lines(lines.reset_index(drop=True), RULESET).register
    att = rows[rows.axis == "attenuation"]
    if len(att):
        assert set(att["class"]) == {"TF"} and set(att.rule_id) == {"ATT-DEPLACEMENTS-TC"}
    rule = RULES["ATT-DEPLACEMENTS-TC"]
    assert list(rule.source["cells"]) == [115] and _cell_class(115) == "Très favorable"
    plan = (ROOT / "rules" / "nomenclatures" / "plan-de-compte-M57-M57-2018.xml").read_text(encoding="utf-8", errors="replace")
    assert 'Code="6247" Libelle="Transports collectifs du personnel"' in plan


def test_renovation_answer_skips_the_land_use_question(montpellier):
    # Montpellier CA 2018, 21312 « Bâtiments scolaires » under 212: the attenuation answer « renovation »
    # (operation key) tells the works are on an existing building: no land-use change (cell 183).
    line = _line(montpellier, "21312", "212")
    # unanswered, biodiversity asks the same works question as mitigation (one worklist row for both axes)
    assert _one(_classify(line), "biodiversite")["question_id"] == "operation-batiment"
    row = _one(_classify(line, {"operation_batiment": "construction_neuve"}, kind="operation"), "biodiversite")
    assert row["question_id"] == "usage-sols"  # a new building may change the use of land
    row = _one(_classify(line, {"operation_batiment": "renovation"}, kind="operation"), "biodiversite")
    assert (row["class"], row["question_id"]) == ("AA", "surexploitation")
    row = _one(_classify(line, {"operation_batiment": "construction_neuve", "batiment_neuf_performance": "au_dela_norme_avec_artificialisation"}, kind="operation"), "biodiversite")
    assert (row["class"], row["rule_id"]) == ("D", "BIO-USAGE-SOLS-ARTIFICIALISATION-D")
    assert _cell_class(184) == "Défavorable"


# --- financial and legal charges: a declared convention, not cell 144 ----------------------------------------


def test_financial_charges_are_a_convention(montpellier):
    # Montpellier CA 2018, 6161 « Multirisques » under 020: 771 582,43 €.
    line = _line(montpellier, "6161", "020")
    assert int(line.amount_cents.iloc[0]) == 77158243
    row = _one(_classify(line), "attenuation")
    assert (row["class"], row["rule_id"]) == ("N", "ATT-CHARGES-FINANCIERES-JURIDIQUES")
    rule = RULES["ATT-CHARGES-FINANCIERES-JURIDIQUES"]
    assert rule.convention and rule.source is None
    assert "Aucune cellule" in rule.convention_reason.fr and "No I4CE cell" in rule.convention_reason.en
    # Conventions switched off: the line is a purchase again and asks the procurement question (cell 145).
    row = _one(_classify(line, ruleset=RULESET.without_conventions()), "attenuation")
    assert (row["class"], row["rule_id"], row["question_id"]) == ("AA", "ATT-ACHAT-AA", "clauses-commande-publique")


# --- biodiversity of a vehicle: no land-use question --------------------------------------------------------


def test_vehicle_is_not_asked_the_land_use_question(montpellier):
    # Montpellier CA 2018, 21828 « Autres matériels de transport » under 020: 257 302,58 €.
    line = _line(montpellier, "21828", "020")
    assert int(line.amount_cents.iloc[0]) == 25730258
    row = _one(_classify(line), "biodiversite")
    assert (row["class"], row["question_id"]) == ("AA", "surexploitation")
    neutral = {"impact_surexploitation": "neutre", "impact_pollution": "neutre", "impact_especes_envahissantes": "neutre"}
    row = _one(_classify(line, neutral, kind="operation"), "biodiversite")
    assert (row["class"], row["rule_id"]) == ("N", "BIO-SANS-LIEN-USAGE-SOLS-N")
    rule = RULES["BIO-SANS-LIEN-USAGE-SOLS-N"]
    assert list(rule.source["cells"]) == [183, 189, 196, 202] and {_cell_class(c) for c in rule.source["cells"]} == {"Neutre"}
    assert CELLS[183]["subtopic"] == "Changement d'usage des terres et des mers"


def test_land_purchase_still_asks_land_use(montpellier):
    # Montpellier CA 2018, 2113 « Terrains aménagés autres que voirie » under 322: 477 161,92 €.
    line = _line(montpellier, "2113", "322")
    row = _one(_classify(line), "biodiversite")
    assert (row["class"], row["rule_id"], row["question_id"]) == ("AA", "BIO-USAGE-SOLS-AA", "usage-sols")
    assert _cell_class(185) == "À approfondir"


def test_land_use_is_asked_only_where_land_can_change(montpellier):
    """On the whole Montpellier budget no operating purchase, service or subsidy outside the green-space,
    environment and agriculture fonctions, and no vehicle, IT or furniture line asks the land-use question."""
    result = run([DATA / "montpellier-ca-2018-m57.xml"])
    reg = result.register.merge(result.lines[["line_id", "nature", "section", "fonction"]], on="line_id")
    asked = reg[(reg.axis == "biodiversite") & (reg.question_id == "usage-sols")]
    assert len(asked) > 0
    movable = asked.nature.str.match(r"^(2182|21561|21571|215731|2183|2184|2185)")
    operating = (asked.section == "F") & ~asked.nature.str.match(r"^(61521|61524)") & ~asked.fonction.fillna("").str.match(r"^(511|7|631)")
    assert not movable.any() and not operating.any()


# --- procurement: each clause answer -------------------------------------------------------------------------

CLAUSES = [
    ("clause_energie_bas_carbone", "FSC", "ATT-ACHAT-CLAUSE-BAS-CARBONE", None),
    ("clause_transport_bas_carbone", "FSC", "ATT-ACHAT-CLAUSE-BAS-CARBONE", None),
    ("sans_clause_sans_energie_transport", "N", "ATT-ACHAT-SANS-ENJEU", None),
    ("sans_clause_energie_transport_fossile", "D", "ATT-ACHAT-FOSSILE", None),
    ("theme_i4ce", "AA", "ATT-ACHAT-THEME-I4CE", "nature-depense"),
]


@pytest.mark.parametrize(("answer", "klass", "rule_id", "question"), CLAUSES)
def test_procurement_line_by_clause_answer(montpellier, answer, klass, rule_id, question):
    # Montpellier CA 2018, 6042 « Achats de prestations de services » under 4221: 2 309 437,85 €.
    line = _line(montpellier, "6042", "4221")
    assert int(line.amount_cents.iloc[0]) == 230943785
    assert _one(_classify(line), "attenuation")["question_id"] == "clauses-commande-publique"
    assert QUESTIONS["clauses-commande-publique"].key == "account_fonction"
    row = _one(_classify(line, {"clause_marche": answer}), "attenuation")
    assert (row["class"], row["rule_id"]) == (klass, rule_id)
    assert (row["question_id"] if question else None) == question
    rule = RULES[rule_id]
    if rule.source is not None:
        assert rule.source["image"] == "autre_commande_public.png" and 144 in rule.source["cells"]
        assert {"Favorable sous conditions": "FSC", "Neutre": "N", "Défavorable": "D"}[CELLS[144]["class"].split(" / ")[["FSC", "N", "D"].index(klass)]] == klass
    else:
        assert "cell 143" in rule.rationale.fr


def test_procurement_topic_then_object(montpellier):
    line = _line(montpellier, "6042", "4221")
    row = _one(_classify(line, {"clause_marche": "theme_i4ce", "nature_depense": "entretien_economie_energie_prouvee"}), "attenuation")
    assert (row["class"], row["rule_id"]) == ("FSC", "ATT-OBJET-ENTRETIEN-FSC")
    assert _cell_class(17) == "Favorable sous conditions"


def test_every_clause_answer_is_read_by_a_rule():
    answers = set(QUESTIONS["clauses-commande-publique"].answers)
    assert answers == {a for a, *_ in CLAUSES}


# --- nature-depense: every closed answer leads to a class (cell or convention) -------------------------------

OBJECTS = {
    "batiment_neuf_au_dela_norme_sans_artificialisation": ("FSC", "ATT-OBJET-BAT-NEUF-FSC", [2, 5]),
    "batiment_neuf_norme_sans_artificialisation": ("FSC", "ATT-OBJET-BAT-NEUF-FSC", [2, 5]),
    "batiment_neuf_artificialisant_ou_sous_norme": ("D", "ATT-OBJET-BAT-NEUF-D", [4, 6]),
    "renovation_a_b_bbc": ("TF", "ATT-OBJET-RENO-TF", [8]),
    "renovation_saut_de_classe": ("FSC", "ATT-OBJET-RENO-FSC", [11]),
    "renovation_hors_performance_ou_gain_sans_saut": ("N", "ATT-OBJET-RENO-N", [13, 14]),
    "renovation_poste_energie_sans_gain": ("D", "ATT-OBJET-RENO-D", [15, 16]),
    "entretien_economie_energie_prouvee": ("FSC", "ATT-OBJET-ENTRETIEN-FSC", [17]),
    "entretien_classique": ("N", "ATT-OBJET-ENTRETIEN-N", [18]),
    "voirie_mobilites_decarbonees": ("TF", "ATT-OBJET-VOIRIE-TF", [19, 22, 24]),
    "voirie_nouvelle_automobile": ("D", "ATT-OBJET-VOIRIE-NOUVELLE-D", [21]),
    "voirie_existante_automobile": ("N", "ATT-OBJET-VOIRIE-EXISTANTE-N", [23, 25]),
    "espaces_boises": ("TF", "ATT-OBJET-EV-ARBRES", [101]),
    "espaces_verts_non_boises": ("N", "ATT-OBJET-EV-SANS-ARBRES", [102]),
    "production_energie_renouvelable": ("TF", "ATT-OBJET-ENR", [90, 91]),
    "aucun_objet_climatique": ("N", "ATT-OBJET-AUCUN", None),
}
CLASS_NAMES = {"TF": "Très favorable", "FSC": "Favorable sous conditions", "N": "Neutre", "D": "Défavorable"}


def test_nature_depense_is_closed_and_every_answer_is_read():
    question = QUESTIONS["nature-depense"]
    assert question.type != "text" and set(question.answers) == set(OBJECTS)
    assert question.key == "operation"
    assert QUESTIONS["destination-terrain"].type != "text"
    assert "classe-projet" not in QUESTIONS


@pytest.mark.parametrize("answer", sorted(OBJECTS))
def test_study_line_by_nature_depense_answer(montpellier, answer):
    # Montpellier CA 2018, 2031 « Frais d'études » under 325: 190 814,76 €.
    line = _line(montpellier, "2031", "325", "2018CA-00-00544")
    assert int(line.amount_cents.iloc[0]) == 19081476
    assert _one(_classify(line), "attenuation")["question_id"] == "nature-depense"
    klass, rule_id, cells = OBJECTS[answer]
    row = _one(_classify(line, {"nature_depense": answer}, kind="operation"), "attenuation")
    assert (row["class"], row["rule_id"]) == (klass, rule_id)
    rule = RULES[rule_id]
    if cells is None:
        assert rule.convention and rule.source is None and rule.convention_reason.fr
    else:
        assert list(rule.source["cells"]) == cells and not rule.convention
        assert all(CLASS_NAMES[klass] in _cell_class(c) for c in cells)


def test_default_line_answers_nature_depense(montpellier):
    # Montpellier CA 2018, 65888 « Autres » under 4221: 514 405,58 €, no rule but the default.
    line = _line(montpellier, "65888", "4221")
    assert int(line.amount_cents.iloc[0]) == 51440558
    row = _one(_classify(line), "attenuation")
    assert (row["class"], row["rule_id"], row["question_id"]) == ("AA", "DEFAULT", "nature-depense")
    row = _one(_classify(line, {"nature_depense": "aucun_objet_climatique"}, kind="operation"), "attenuation")
    assert (row["class"], row["rule_id"]) == ("N", "ATT-OBJET-AUCUN")


DESTINATIONS = {
    "espace_boise": ("TF", "ATT-TERRAINS-BOISEMENT"),
    "espace_vert_non_boise": ("N", "ATT-TERRAINS-ESPACE-VERT"),
    "voirie_mobilites_decarbonees": ("TF", "ATT-TERRAINS-MOBILITES-DECARBONEES"),
    "voirie_nouvelle_automobile": ("D", "ATT-TERRAINS-VOIRIE-AUTOMOBILE"),
    "construction_artificialisante": ("D", "ATT-TERRAINS-ARTIFICIALISATION"),
    "construction_terrain_deja_artificialise": ("N", "ATT-TERRAINS-SANS-CHANGEMENT"),
    "reserve_fonciere": ("N", "ATT-TERRAINS-SANS-CHANGEMENT"),
}


@pytest.mark.parametrize("answer", sorted(DESTINATIONS))
def test_land_purchase_by_destination(montpellier, answer):
    assert set(QUESTIONS["destination-terrain"].answers) == set(DESTINATIONS)
    line = _line(montpellier, "2113", "322")
    assert _one(_classify(line), "attenuation")["question_id"] == "destination-terrain"
    klass, rule_id = DESTINATIONS[answer]
    row = _one(_classify(line, {"destination_terrain": answer}, kind="operation"), "attenuation")
    assert (row["class"], row["rule_id"]) == (klass, rule_id)
    rule = RULES[rule_id]
    assert rule.convention or all(CLASS_NAMES[klass] in _cell_class(c) for c in rule.source["cells"])


# --- keys ----------------------------------------------------------------------------------------------------

CONTRACT_FACTS = ["garantie-origine", "carburant", "combustible", "part-reseau-enr", "part-reseau-cogeneration", "part-repas-vegetariens", "criteres-numerique"]


def test_contract_facts_are_asked_once_per_entity():
    assert all(QUESTIONS[q].key == "entity" for q in CONTRACT_FACTS)


def test_entity_answer_settles_every_electricity_line(montpellier):
    lines = montpellier[(montpellier.nature == "60612") & (montpellier.sens == "D") & (montpellier.operation == "reel")]
    assert len(lines) > 1
    key = key_values(lines, "entity").iloc[0]
    register = run_lines(lines.reset_index(drop=True), RULESET, pd.DataFrame([{"key": key, "fact": "garantie_origine_renouvelable", "value": "oui"}])).register
    att = register[register.axis == "attenuation"]
    assert set(att["class"]) == {"TF"} and set(att.rule_id) == {"ATT-ELEC-GO-RENOUVELABLE"}


def test_collectivite_wide_contract_is_asked_once_per_account(montpellier):
    # Montpellier CA 2018, 6283 « Frais de nettoyage des locaux » under several fonctions: one question per
    # account; one answer for the account settles every line, an answer for one account × fonction wins there.
    lines = montpellier[(montpellier.nature == "6283") & (montpellier.sens == "D") & (montpellier.operation == "reel") & (montpellier.amount_cents > 0)]
    assert lines.fonction.nunique() > 1
    register = run_lines(lines.reset_index(drop=True), RULESET).register
    att = register[register.axis == "attenuation"]
    assert set(att.question_id) == {"clauses-marche-collectivite"} and QUESTIONS["clauses-marche-collectivite"].key == "account"
    first = lines.iloc[[0]]
    answers = pd.DataFrame([
        {"key": "account:6283", "fact": "clause_marche", "value": "sans_clause_sans_energie_transport"},
        {"key": key_values(first, "account_fonction").iloc[0], "fact": "clause_marche", "value": "clause_energie_bas_carbone"},
    ])
    att = run_lines(lines.reset_index(drop=True), RULESET, answers).register.query("axis == 'attenuation'").set_index("line_id")
    assert att.loc[first.line_id.iloc[0], "class"] == "FSC"
    assert set(att.drop(index=first.line_id.iloc[0])["class"]) == {"N"}
