"""The worklist (one row per question × key), services, the « À approfondir » sheet, and answers that
carry over from last year's workbook (issue 9, « Ask once » and « Answers carry over »)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import DATA, invoke
from test_workbook import STAMP, hand_lines

ATTENUATION = """
rulebook:
  id: wl-attenuation
  kind: classification
  title: "Atténuation (test liste)"
  version: "1.0.0"
  axis: attenuation
  nomenclatures: [M57, M14]
  staff_costs: {option: 3a}
  default: {class: N}
questions:
  motorisation:
    fact: motorisation
    text: {fr: "Quelle est la motorisation ?", en: "Powertrain?"}
    answers: [electrique, gazole]
  garantie-origine:
    fact: garantie_origine
    text: {fr: "Le contrat d'électricité a-t-il des garanties d'origine renouvelables ?", en: "Guarantees of origin?"}
    answers: [oui, non]
    key: entity
    service: "Achats"
rules:
  - id: WL-STAFF
    when: {chapitre: "012"}
    then: {staff_costs: true}
    rationale: "frais de personnel"
  - id: WL-VEH-TF
    when: {nature: {prefix: ["2182"]}, fact: {motorisation: [electrique]}}
    then: {class: TF}
    rationale: "électrique"
  - id: WL-VEH-D
    when: {nature: {prefix: ["2182"]}, fact: {motorisation: [gazole]}}
    then: {class: D}
    rationale: "gazole"
  - id: WL-VEH
    when: {nature: {prefix: ["2182"]}}
    then: {class: AA, question: motorisation}
    rationale: "motorisation inconnue"
  - id: WL-ELEC-TF
    when: {nature: "60612", fact: {garantie_origine: [oui]}}
    then: {class: TF}
    rationale: "électricité verte"
  - id: WL-ELEC
    when: {nature: "60612"}
    then: {class: AA, question: garantie-origine}
    rationale: "électricité"
"""

BIODIVERSITE = """
rulebook:
  id: wl-biodiversite
  kind: classification
  title: "Biodiversité (test liste)"
  version: "1.0.0"
  axis: biodiversite
  nomenclatures: [M57, M14]
  staff_costs: {option: 3a}
  default: {class: N}
questions:
  motorisation:
    fact: motorisation
    text: {fr: "Quelle est la motorisation ?", en: "Powertrain?"}
    answers: [electrique, gazole]
rules:
  - id: WLB-VEH-N
    when: {nature: {prefix: ["2182"]}, fact: {motorisation: [electrique, gazole]}}
    then: {class: N}
    rationale: "véhicule"
  - id: WLB-VEH
    when: {nature: {prefix: ["2182"]}}
    then: {class: AA, question: motorisation}
    rationale: "motorisation inconnue"
"""


@pytest.fixture
def rulebooks(tmp_path) -> list[Path]:
    from budgetclimat.paths import rules_dir

    (tmp_path / "a.yaml").write_text(ATTENUATION, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(BIODIVERSITE, encoding="utf-8")
    return [rules_dir() / "scope" / "default.yaml", tmp_path / "a.yaml", tmp_path / "b.yaml"]


def fixture_lines() -> pd.DataFrame:
    """hand_lines plus: a second vehicle (another label), a 0 € vehicle, electricity under three fonctions."""
    from budgetclimat import model

    base = hand_lines()
    extra = [
        # nature, chapitre, fonction, label, cents
        ("21828", "21", "020", "Véhicule de la mairie", 40_000_00),
        ("21828", "21", "020", "Véhicule annulé", 0),
        ("60612", "011", "212", "Électricité écoles", 300_000_00),
        ("60612", "011", "810", "Électricité voirie", 200_000_00),
    ]
    rows = []
    for i, (nature, chapitre, fonction, label, cents) in enumerate(extra):
        row = base.iloc[0].copy()
        section = "I" if nature.startswith("2") else "F"
        row.update({"nature": nature, "chapitre": chapitre, "fonction": fonction, "label": label, "amount_cents": cents,
                    "executed_cents": cents, "section": section, "line_id": f"2024CA-00-{90 + i:05d}", "source_row": 90 + i})
        rows.append(row)
    lines = pd.concat([base, pd.DataFrame(rows)], ignore_index=True)
    lines["fonction_label"] = lines["fonction"].map({"810": "Services urbains", "212": "Écoles primaires", "020": "Administration générale",
                                                     "824": "Autres opérations d'aménagement urbain", "01": "Opérations non ventilables"})
    return model.conform(lines)


def test_worklist_one_row_per_question_and_key(rulebooks):
    from budgetclimat.engine.worklist import WORKLIST_COLUMNS, build_worklist, coverage, load_services
    from budgetclimat.pipeline import run_lines

    result = run_lines(fixture_lines(), rulebooks)
    work = build_worklist(result.lines, result.register, result.ruleset, load_services())
    assert list(work.columns) == WORKLIST_COLUMNS
    rows = {(r.question_id, r.key): r for r in work.itertuples()}
    # The electricity contract: one row for the collectivité (SIREN of the SIRET), four lines, their euros.
    elec = rows[("garantie-origine", "entity:213401722")]
    assert elec.lines == 3  # the hand line 60612 (020), écoles (212), voirie (810)
    assert elec.amount_cents == 1_234_567_89 + 300_000_00 + 200_000_00
    assert elec.axes == "attenuation"
    assert elec.service == "Achats"  # the question's own service wins over the fonctions
    # The vehicle: asked on both axes with the same question; its euros count once, not twice.
    veh = rows[("motorisation", "line:21828|810|achatvehiculesutilitaires")]
    assert veh.axes == "attenuation,biodiversite"
    assert veh.amount_cents == 12_345_67 and veh.lines == 1
    assert veh.service == "Voirie et mobilités"  # M57 fonction 8 = transports
    other = rows[("motorisation", "line:21828|020|vehiculedelamairie")]
    assert other.amount_cents == 40_000_00 and other.service == "Administration générale et moyens"
    # No 0 € row: the cancelled vehicle is not asked about.
    assert not any("vehiculeannule" in k for _, k in rows)
    assert (work["amount_cents"] != 0).all()
    # Staff costs allocated pro rata follow the others: never in the worklist.
    assert not work["line_ids"].str.contains("2024CA-00-00005").any()
    # Sorted by euros at stake, largest first; ranks 1…n.
    assert work["amount_cents"].tolist() == [1_734_567_89, 40_000_00, 12_345_67]
    assert work["rank"].tolist() == [1, 2, 3]
    assert coverage(work, 0.8) == 1 and coverage(work, 0.95) == 1 and coverage(work, 1.0) == 3
    # The worklist euros: the AA euros of the lines, once per line and question (here: each line once).
    reg = result.register
    aa = reg[(reg["class"] == "AA") & reg["allocation"].isna()]
    per_line = aa.groupby("line_id")["amount_share_cents"].max()
    assert int(work["amount_cents"].sum()) == int(per_line.sum())


def test_ties_are_sorted_by_question_then_key(rulebooks):
    from budgetclimat.engine.worklist import build_worklist
    from budgetclimat.pipeline import run_lines

    lines = fixture_lines()
    lines.loc[lines["label"] == "Véhicule de la mairie", ["amount_cents", "executed_cents"]] = 12_345_67
    result = run_lines(lines, rulebooks)
    work = build_worklist(result.lines, result.register, result.ruleset)
    tied = work[work["amount_cents"] == 12_345_67]
    assert tied["key"].tolist() == ["line:21828|020|vehiculedelamairie", "line:21828|810|achatvehiculesutilitaires"]


def test_a_key_across_services_goes_to_the_one_with_most_euros(tmp_path, rulebooks):
    from budgetclimat.engine.worklist import build_worklist
    from budgetclimat.pipeline import run_lines

    text = ATTENUATION.replace('    service: "Achats"\n', "")
    rulebooks[1].write_text(text, encoding="utf-8")
    result = run_lines(fixture_lines(), rulebooks)
    work = build_worklist(result.lines, result.register, result.ruleset)
    elec = work[work["question_id"] == "garantie-origine"].iloc[0]
    # 020 (administration) 1 234 567,89 € > 212 (éducation) 300 000 € > 810 (voirie) 200 000 €
    assert elec["service"] == "Administration générale et moyens"


def test_services_are_nomenclature_aware():
    from budgetclimat.engine.worklist import load_services

    services = load_services()
    lines = pd.DataFrame({"nomenclature": ["M57", "M14", "M57", "M14", "M57", "M14", "M4", "M57"],
                          "fonction": ["721", "721", "845", "822", "76", "823", "812", None]})
    assert services.of_lines(lines).tolist() == [
        "environnement",      # M57 72 = déchets
        "urbanisme_habitat",  # M14 7 = logement
        "voirie_mobilites",   # M57 84 = voirie
        "voirie_mobilites",   # M14 822 = voirie communale
        "espaces_verts",      # M57 76 = patrimoine naturel
        "espaces_verts",      # M14 823 = espaces verts urbains
        "finances",           # a nomenclature not listed: the default service
        "finances",           # no fonction: the default service
    ]


@pytest.mark.parametrize("text, expected", [
    ("services:\n  default: nope\n  services: {a: {fr: A}}\n", "service par défaut « nope »"),
    ("services:\n  default: a\n  services: {a: {fr: A}}\n  fonctions: {M57: {\"7\": b}}\n", "service « b » inconnu"),
    ("services:\n  default: a\n  services: {a: {fr: A}}\n  fonctions: {M57: {x7: a}}\n", "n'est pas un préfixe de fonction"),
])  # a services file that is not YAML: tests/test_yaml_files.py
def test_a_bad_services_file_stops_with_exit_2(tmp_path, text, expected):
    bad = tmp_path / "services.yaml"
    bad.write_text(text, encoding="utf-8")
    out = invoke(["classify", DATA / "montreuil-ca-2016-m14.xml", "--services", bad], 2)
    assert "Fichier de services" in out.stderr and expected in out.stderr and str(bad) in out.stderr


def test_another_services_file_is_used(tmp_path):
    mine = tmp_path / "services.yaml"
    mine.write_text("services:\n  default: tous\n  services:\n    tous: {fr: Secrétariat général}\n", encoding="utf-8")
    summary = tmp_path / "s.json"
    invoke(["classify", DATA / "montreuil-ca-2016-m14.xml", "--services", mine, "--summary-json", summary], 0)
    data = json.loads(summary.read_text(encoding="utf-8"))
    from budgetclimat.rulebook import default_rulebooks

    own = {qid: q.service for qid, q in default_rulebooks().questions().items() if q.service}
    # the mapping's one service, except for questions that name their own (contract facts: « Commande publique »…)
    assert {row["service"] for row in data["worklist"] if row["question_id"] not in own} == {"Secrétariat général"}
    assert all(row["service"] == own[row["question_id"]] for row in data["worklist"] if row["question_id"] in own)


def _independent_worklist_total(register: pd.DataFrame) -> int:
    """Sum over (line, question) of the largest AA amount over axes, by plain Python over the records."""
    per = defaultdict(int)
    for r in register.to_dict("records"):
        if r["class"] == "AA" and r["scope"] == "in" and (r["allocation"] is pd.NA or r["allocation"] is None) and r["question_id"] is not pd.NA:
            per[(r["line_id"], r["question_id"], r["axis"])] += int(r["amount_share_cents"])
    best = defaultdict(int)
    for (line, question, _axis), cents in per.items():
        best[(line, question)] = max(best[(line, question)], cents) if (line, question) in best else cents
    return sum(best.values())


def test_montpellier_worklist_euros_equal_the_register(montpellier_classified):
    # `classify montpellier --summary-json s.json -o annexe.xlsx`: the run shared with other modules (conftest)
    summary, out, text = montpellier_classified.summary, montpellier_classified.workbook, montpellier_classified.stdout
    from budgetclimat.pipeline import run

    result = run([DATA / "montpellier-ca-2018-m57.xml"])
    data = json.loads(summary.read_text(encoding="utf-8"))
    work = data["worklist"]
    assert sum(r["amount_cents"] for r in work) == _independent_worklist_total(result.register)
    amounts = [r["amount_cents"] for r in work]
    assert amounts == sorted(amounts, reverse=True) and 0 not in amounts
    assert set(work[0]) == {"question_id", "key", "axes", "lines", "amount_cents", "service"}
    # Lines are counted once per row and every in-scope AA line (but staff) is in some row.
    reg = result.register
    aa_lines = set(reg.loc[(reg["class"] == "AA") & reg["allocation"].isna() & (reg["amount_share_cents"] != 0), "line_id"])
    assert sum(r["lines"] for r in work) >= len(aa_lines)
    # The sheet has one row per worklist row, the same euros, and the sentence on its second line.
    ws = openpyxl.load_workbook(out, read_only=True)["À approfondir"]
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[3])
    body = [r for r in rows[4:] if r[0] is not None]
    assert len(body) == len(work)
    assert round(sum(r[header.index("Euros en jeu")] for r in body) * 100) == sum(amounts)
    n80 = int(np.searchsorted(np.cumsum(amounts), np.ceil(sum(amounts) * 0.8)) + 1)
    assert str(rows[1][0]).startswith(f"Les {n80} premières questions portent sur 80 %")
    assert f"Liste à approfondir : {len(work)} question(s) × clé ; les {n80} premières couvrent 80 %" in text


def _fill_every_row(path: Path, out: Path) -> list[tuple[str, str, str, str]]:
    """A service answers every row of « À approfondir »: the first allowed answer, 0.5 for a share.
    Returns (question_id, key, fact, value) of every answer typed."""
    wb = openpyxl.load_workbook(path)
    ws = wb["À approfondir"]
    header = [c.value for c in ws[4]]
    col = {name: header.index(name) for name in ("Réponses possibles", "Réponse", "Clé (technique)", "Question (identifiant)", "Fait")}
    typed = []
    for row in ws.iter_rows(min_row=5):
        key = row[col["Clé (technique)"]].value
        if not key:
            continue
        allowed = str(row[col["Réponses possibles"]].value or "")
        assert allowed != "part entre 0 et 1 (ou %)"  # the share questions show the sheet's own hint
        value = "0.5" if allowed.startswith("part") else (allowed.split(" ; ")[0].strip() or "aucun")  # labels, « ; »-separated; free text: « aucun »
        row[col["Réponse"]].value = value
        typed.append((row[col["Question (identifiant)"]].value, key, row[col["Fait"]].value, value))
    wb.save(out)
    return typed


def test_last_years_answers_apply_to_next_year_by_key(tmp_path):
    """Montreuil 2016 → 2017: every 2016 question answered in the 2016 workbook; the 2017 run with
    ``--answers`` that workbook reuses the keys that still exist and reports the rest."""
    from budgetclimat.engine.keys import all_keys
    from budgetclimat.pipeline import run

    wb16 = tmp_path / "annexe-2016.xlsx"
    invoke(["classify", DATA / "montreuil-ca-2016-m14.xml", "-o", wb16], 0)
    filled = tmp_path / "annexe-2016-remplie.xlsx"
    typed = _fill_every_row(wb16, filled)
    assert len(typed) > 500

    summary = tmp_path / "s17.json"
    text = invoke(["classify", DATA / "montreuil-ca-2017-m14.xml", "--answers", filled, "--summary-json", summary], 0).stdout
    data = json.loads(summary.read_text(encoding="utf-8"))
    carry = data["carry_over"]

    # Independent: set algebra on the two years' keys.
    plain17 = run([DATA / "montreuil-ca-2017-m14.xml"])
    keys17 = set(all_keys(plain17.lines).to_numpy().ravel().astype(str))
    answered_keys = {key for _, key, _, _ in typed}
    reused = answered_keys & keys17
    stale = [t for t in typed if t[1] not in keys17]
    answered = {(fact, key) for _, key, fact, _ in typed}
    fact_of = {qid: q.fact for qid, q in plain17.ruleset.questions().items()}
    new = [r for r in data["worklist"] if (fact_of.get(r["question_id"], r["question_id"]), r["key"]) not in answered]
    assert carry["keys_reused"] == len(reused)
    assert carry["answers_stale"] == len(stale)
    assert carry["worklist_new"] == len(new)
    assert len(reused) > 100 and len(stale) > 0  # the same city: most keys come back, some lines are gone
    assert f"Réponses reprises : {len(reused)} clé(s) retrouvée(s) dans ce budget ; {len(new)} question(s) restent sans réponse ; {len(stale)} réponse(s)" in text
    # Every question of 2017 whose key was not answered in 2016 is still asked, unless another answer
    # reached its lines (an answer by another key — the operation's works type, a collectivité fact — can
    # settle a line or skip a question: biodiversité reads the works type given for mitigation).
    after = run([DATA / "montreuil-ca-2017-m14.xml"], answers=filled)
    got_facts = set(after.lines["line_id"][after.facts.notna().any(axis=1).to_numpy()]) if len(after.facts.columns) else set()
    still = {(r["question_id"], r["key"]) for r in data["worklist"]}
    for r in plain17.worklist.itertuples():
        if (r.fact, r.key) not in answered and (r.question_id, r.key) not in still:
            assert set(str(r.line_ids).split(";")) & got_facts, (r.question_id, r.key)

    # A reused answer really decides the 2017 line: an electric vehicle answered in 2016 (or the first
    # reused motorisation / any answered line) is no longer AA on that axis, decided by the answer.
    reg0, reg1 = plain17.register, after.register
    line_key = dict(zip(plain17.lines["line_id"], all_keys(plain17.lines)["line"]))
    candidates = reg0[(reg0["class"] == "AA") & reg0["allocation"].isna() & reg0["line_id"].map(line_key).isin(reused)]
    assert len(candidates) > 0
    pick = candidates.sort_values("amount_share_cents", ascending=False).iloc[0]
    now = reg1[(reg1["line_id"] == pick["line_id"]) & (reg1["axis"] == pick["axis"])]
    assert (now["decided_by"] == "answer").all()
    assert now["question_id"].ne(pick["question_id"]).all()
    # The answer typed for that key in 2016 is the one the 2017 run used.
    fact = fact_of[pick["question_id"]]
    value = next(v for q, k, f, v in typed if k == line_key[pick["line_id"]] and f == fact)
    pos = int(np.flatnonzero(after.lines["line_id"].to_numpy() == pick["line_id"])[0])
    # the drop-down label typed (« électrique ») is read back as its code (``electrique``)
    from budgetclimat.export.workbook.questions import answer_choices

    question = plain17.ruleset.questions()[pick["question_id"]]
    code = {label: code for code, label in answer_choices(question.answers, "fr")}.get(value, value)
    assert after.facts[fact].iloc[pos] == code


def _answer_in_sheet(path: Path, sheet: str, key: str, value: str, out: Path) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[4]]
    key_col = next(i for i, h in enumerate(header) if h in ("Clé (technique)", "Key (technical)"))
    answer_col = next(i for i, h in enumerate(header) if h in ("Réponse", "Answer"))
    row = next(r for r in ws.iter_rows(min_row=5) if r[key_col].value == key)
    row[answer_col].value = value
    wb.save(out)


def test_an_answer_typed_for_a_key_applies_to_all_its_lines_and_replaces_the_previous_one(tmp_path, rulebooks):
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import run_lines

    lines = fixture_lines()
    first = run_lines(lines, rulebooks)
    book = write_workbook(first, tmp_path / "a.xlsx", timestamp=STAMP)
    _answer_in_sheet(book, "À approfondir", "entity:213401722", "oui", tmp_path / "b.xlsx")
    answers = read_workbook_answers(tmp_path / "b.xlsx")
    assert answers[["line_id", "key", "fact", "value"]].astype(object).where(answers[["line_id", "key", "fact", "value"]].notna(), None).values.tolist() == [
        [None, "entity:213401722", "garantie_origine", "oui"]]
    second = run_lines(lines, rulebooks, answers)
    reg = second.register[second.register["axis"] == "attenuation"]
    elec = reg[reg["line_id"].isin(lines.loc[lines["nature"] == "60612", "line_id"])]
    assert len(elec) == 3 and (elec["class"] == "TF").all()  # one answer, every line of the collectivité
    assert not (second.worklist["question_id"] == "garantie-origine").any()

    # Next round: the applied answer is kept (hidden sheet), by key.
    _answer_in_sheet(tmp_path / "b.xlsx", "À approfondir", "line:21828|810|achatvehiculesutilitaires", "electrique", tmp_path / "b2.xlsx")
    second = run_lines(lines, rulebooks, read_workbook_answers(tmp_path / "b2.xlsx"))
    book2 = write_workbook(second, tmp_path / "c.xlsx", timestamp=STAMP)
    kept = read_workbook_answers(book2)
    assert kept[["key", "fact", "value"]].values.tolist() == [
        ["entity:213401722", "garantie_origine", "oui"], ["line:21828|810|achatvehiculesutilitaires", "motorisation", "electrique"]]
    # Typing « gazole » for the vehicle in « Lignes » (the same line key and fact) replaces « electrique ».
    wb = openpyxl.load_workbook(book2)
    ws = wb["Lignes"]
    header = [c.value for c in ws[4]]
    row = next(r for r in ws.iter_rows(min_row=5) if r[0].value == "2024CA-00-00001")
    row[header.index("Fait")].value = "motorisation"
    row[header.index("Valeur")].value = "gazole"
    wb.save(tmp_path / "d.xlsx")
    again = read_workbook_answers(tmp_path / "d.xlsx")
    assert again[["key", "fact", "value"]].values.tolist() == [
        ["entity:213401722", "garantie_origine", "oui"], ["line:21828|810|achatvehiculesutilitaires", "motorisation", "gazole"]]
    third = run_lines(lines, rulebooks, again)
    veh = third.register[(third.register["line_id"] == "2024CA-00-00001") & (third.register["axis"] == "attenuation")]
    assert veh["class"].tolist() == ["D"]


def test_english_sheet_reads_back_by_key(tmp_path, rulebooks):
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import run_lines

    result = run_lines(fixture_lines(), rulebooks)
    book = write_workbook(result, tmp_path / "a.xlsx", timestamp=STAMP, lang="en")
    ws = openpyxl.load_workbook(book)["To investigate"]
    assert ws["A2"].value == "Answering the first question decides 97% of the euros to investigate."  # 1 734 567,89 / 1 786 913,56
    _answer_in_sheet(book, "To investigate", "line:21828|810|achatvehiculesutilitaires", "gazole", tmp_path / "b.xlsx")
    answers = read_workbook_answers(tmp_path / "b.xlsx")
    assert answers[["key", "fact", "value"]].values.tolist() == [["line:21828|810|achatvehiculesutilitaires", "motorisation", "gazole"]]


def test_summary_json_worklist_is_the_runs(tmp_path, rulebooks):
    from budgetclimat.export.register import summary
    from budgetclimat.pipeline import run_lines

    result = run_lines(fixture_lines(), rulebooks)
    data = summary(result)
    assert [(r["question_id"], r["key"], r["axes"], r["lines"], r["amount_cents"]) for r in data["worklist"]] == [
        ("garantie-origine", "entity:213401722", ["attenuation"], 3, 1_734_567_89),
        ("motorisation", "line:21828|020|vehiculedelamairie", ["attenuation", "biodiversite"], 1, 40_000_00),
        ("motorisation", "line:21828|810|achatvehiculesutilitaires", ["attenuation", "biodiversite"], 1, 12_345_67),
    ]
    assert "carry_over" not in data


def test_twin_lines_keep_their_line_id(tmp_path, rulebooks):
    """Two lines with the same nature, fonction and label share a line key: an override typed on one of
    them in « Lignes » stays on that line (by line id), it does not spread to its twin."""
    from budgetclimat.export.workbook import read_workbook_answers, write_workbook
    from budgetclimat.pipeline import run_lines

    lines = fixture_lines()
    twin = lines[lines["line_id"] == "2024CA-00-00003"].copy()
    twin["line_id"] = "2024CA-00-00099"
    lines = pd.concat([lines, twin], ignore_index=True)
    book = write_workbook(run_lines(lines, rulebooks), tmp_path / "a.xlsx", timestamp=STAMP)
    wb = openpyxl.load_workbook(book)
    ws = wb["Lignes"]
    header = [c.value for c in ws[4]]
    for r in ws.iter_rows(min_row=5):
        if r[0].value in ("2024CA-00-00003", "2024CA-00-00001"):
            r[header.index("Classe (surcharge)")].value = "TF"
    wb.save(tmp_path / "b.xlsx")
    answers = read_workbook_answers(tmp_path / "b.xlsx")
    by = dict(zip(answers["line_id"].fillna(answers["key"]), answers["class"]))
    assert by == {"2024CA-00-00003": "TF", "line:21828|810|achatvehiculesutilitaires": "TF"}
    result = run_lines(lines, rulebooks, answers)
    reg = result.register[result.register["axis"] == "attenuation"].set_index("line_id")
    assert reg.loc["2024CA-00-00003", "class"] == "TF" and reg.loc["2024CA-00-00003", "decided_by"] == "override"
    assert reg.loc["2024CA-00-00099", "class"] == "N" and reg.loc["2024CA-00-00099", "decided_by"] == "default"
