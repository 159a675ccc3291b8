"""Conventions: rules that decide a class without an I4CE cell, listed with the euros they decide, and
switched off in one option (``--no-conventions``).

A hand-made rulebook and budget: the figures expected are summed with Decimal from the budget's own text.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import invoke

HEADER = "BGT_NATDEC,BGT_ANNEE,BGT_SIRET,BGT_NOM,BGT_CONTNAT,BGT_NATURE,BGT_NATURE_LABEL,BGT_FONCTION,BGT_SECTION,BGT_OPBUDG,BGT_CODRD,BGT_MTREAL"
BUDGET = [
    # nature, label, fonction, amount
    ("6064", "Fournitures de bureau", "020", "1234.56"),
    ("6064", "Papier recyclé", "212", "789.01"),
    ("6064", "Cartouches", "020", "0.43"),
    ("60612", "Électricité", "020", "5000.00"),
    ("6231", "Annonces et insertions", "020", "321.99"),
]

RULEBOOK = """rulebook:
  id: conv-attenuation
  kind: classification
  title: "Atténuation (conventions)"
  axis: attenuation
  nomenclatures: [M57, M14]
  default: {class: AA, question: objet}

questions:
  objet:
    fact: objet
    text: {fr: "Quel est l'objet de la dépense ?", en: "What is the expense for?"}
    answers: [bureau, energie, autre]

rules:
  - id: CONV-FOURNITURES-N
    title: "Fournitures administratives"
    when: {nature: "6064"}
    then: {class: N}
    rationale: "Fournitures courantes : neutre par convention"
    convention: true
    convention_reason: {fr: "Aucune cellule I4CE ne classe les fournitures ; tenues pour neutres.", en: "No I4CE cell classes supplies; held neutral."}
    cases:
      - given: {nature: "6064"}
        expect: {class: N}
  - id: CONV-ELEC-D
    when: {nature: "60612"}
    then: {class: D}
    rationale: "Électricité"
    source: {image: energie_achats.png, cells: [1]}
    cases:
      - given: {nature: "60612"}
        expect: {class: D}
  - id: CONV-OBJET-ENERGIE
    when: {fact: {objet: [energie]}}
    then: {class: D}
    rationale: "Objet donné par le service : énergie"
    source: {image: fixture.png, cells: [3]}
    cases:
      - given: {nature: "6068"}
        facts: {objet: energie}
        expect: {class: D}
  - id: CONV-OBJET-AUTRE
    when: {fact: {objet: [bureau, autre]}}
    then: {class: N}
    rationale: "Objet donné par le service : sans effet climat"
    source: {image: fixture.png, cells: [4]}
    cases:
      - given: {nature: "6068"}
        facts: {objet: bureau}
        expect: {class: N}
  - id: CONV-ACHATS-AA
    title: "Achats à préciser"
    when: {nature: {prefix: ["606"]}}
    then: {class: AA, question: objet}
    rationale: "Achats : l'objet décide"
    cases:
      - given: {nature: "6068"}
        expect: {class: AA, question: objet}
"""


READ = ["--set", "nomenclature=M57", "--set", "budget_kind=principal"]


def _cents(text: str) -> int:
    return int(Decimal(text) * 100)


# Computed from the budget's text: the lines the convention (nature 6064) decides, and their euros.
CONVENTION_LINES = [row for row in BUDGET if row[0] == "6064"]
CONVENTION_CENTS = sum(_cents(row[3]) for row in CONVENTION_LINES)
assert CONVENTION_CENTS == 202400  # 1234.56 + 789.01 + 0.43


@pytest.fixture()
def files(tmp_path):
    budget = tmp_path / "budget.csv"
    rows = [f"09,2024,21340172201787,Ville,011,{n},{label},{f},F,0,D,{amount}" for n, label, f, amount in BUDGET]
    budget.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    rulebook = tmp_path / "conv.yaml"
    rulebook.write_text(RULEBOOK, encoding="utf-8")
    return budget, rulebook


def _classify(tmp_path, budget, rulebook, *extra, name="s"):
    summary = tmp_path / f"{name}.json"
    lines = tmp_path / f"{name}.csv"
    workbook = tmp_path / f"{name}.xlsx"
    result = invoke(["classify", budget, *READ, "--rules", rulebook, "--summary-json", summary, "--lines-out", lines, "-o", workbook, *extra])
    register = list(csv.DictReader(io.StringIO(lines.read_text(encoding="utf-8-sig")), delimiter=";"))
    return result, json.loads(summary.read_text(encoding="utf-8")), register, workbook


def _methode(workbook) -> list[list]:
    from openpyxl import load_workbook

    wb = load_workbook(workbook, read_only=True)
    return [[c for c in row if c is not None] for row in wb["Méthode"].iter_rows(values_only=True)]


def _section(rows: list[list], title: str) -> list[list]:
    start = next(i for i, r in enumerate(rows) if r == [title])
    end = next((i for i in range(start + 1, len(rows)) if not rows[i]), len(rows))
    return rows[start + 1 : end]


def test_convention_listed_with_the_euros_it_decided(tmp_path, files):
    budget, rulebook = files
    result, data, register, workbook = _classify(tmp_path, budget, rulebook)
    assert data["conventions_applied"] is True
    assert data["conventions"] == [{
        "rule_id": "CONV-FOURNITURES-N", "rulebook": "conv-attenuation", "axis": "attenuation", "title": "Fournitures administratives",
        "reason": "Aucune cellule I4CE ne classe les fournitures ; tenues pour neutres.", "class": "N", "applied": True,
        "lines": len(CONVENTION_LINES), "amount_cents": CONVENTION_CENTS, "euros": "2024.00",
    }]
    # The register agrees: the 6064 lines are N by the convention.
    decided = [r for r in register if r["rule_id"] == "CONV-FOURNITURES-N"]
    assert sorted(r["label"] for r in decided) == sorted(row[1] for row in CONVENTION_LINES)
    assert {r["class"] for r in decided} == {"N"}
    assert "décidé par des conventions : 2 024,00 €" in result.stdout.replace("\u202f", " ").replace("\xa0", " ")

    rows = _methode(workbook)
    section = _section(rows, "Conventions")
    assert any("--no-conventions" in r[0] for r in section if len(r) == 1)  # how to switch them off
    table = [r for r in section if r and r[0] == "Fournitures administratives"]
    assert table == [["Fournitures administratives", "Atténuation", "Neutre", 3, CONVENTION_CENTS / 100, "CONV-FOURNITURES-N",
                      "Aucune cellule I4CE ne classe les fournitures ; tenues pour neutres."]]
    assert ["Conventions", "appliquées"] in rows
    assert not any(str(budget.parent) in str(c) for r in rows for c in r)  # no internal path


def test_no_conventions_lines_fall_to_the_next_rule(tmp_path, files):
    budget, rulebook = files
    result, data, register, workbook = _classify(tmp_path, budget, rulebook, "--no-conventions", name="off")
    assert data["conventions_applied"] is False
    [entry] = data["conventions"]
    assert (entry["rule_id"], entry["applied"], entry["lines"], entry["amount_cents"]) == ("CONV-FOURNITURES-N", False, 0, 0)
    # Each 6064 line now goes to the next rule, the AA question of purchases; the others are unchanged.
    by_label = {r["label"]: r for r in register}
    for nature, label, _f, _amount in CONVENTION_LINES:
        assert (by_label[label]["class"], by_label[label]["rule_id"], by_label[label]["question_id"]) == ("AA", "CONV-ACHATS-AA", "objet")
    assert (by_label["Électricité"]["class"], by_label["Électricité"]["rule_id"]) == ("D", "CONV-ELEC-D")
    aa = data["axes"]["attenuation"]["classes"]["AA"]["cents"]
    assert aa == CONVENTION_CENTS + _cents("321.99")  # the 6064 lines and the unmatched 6231 line
    assert data["axes"]["attenuation"]["classes"]["N"]["cents"] == 0
    assert "Conventions retirées (--no-conventions) : 1 règle(s)" in result.stdout

    rows = _methode(workbook)
    section = _section(rows, "Conventions")
    assert any("Conventions retirées" in r[0] and "--no-conventions" in r[0] for r in section if len(r) == 1)
    assert [r for r in section if r and r[0] == "Fournitures administratives"] == [
        ["Fournitures administratives", "Atténuation", "Neutre (non appliquée)", 0, 0, "CONV-FOURNITURES-N",
         "Aucune cellule I4CE ne classe les fournitures ; tenues pour neutres."]
    ]
    assert ["Conventions", "retirées (--no-conventions)"] in rows


def test_explain_and_coverage_follow_the_option(tmp_path, files):
    budget, rulebook = files
    on = json.loads(invoke(["rules", "coverage", budget, *READ, "--rules", rulebook, "--format", "json"]).stdout)
    off = json.loads(invoke(["rules", "coverage", budget, *READ, "--rules", rulebook, "--format", "json", "--no-conventions"]).stdout)
    assert {r["rule_id"]: r["amount_cents"] for r in on["rules"]}.get("CONV-FOURNITURES-N") == CONVENTION_CENTS
    assert "CONV-FOURNITURES-N" not in {r["rule_id"] for r in off["rules"]}
    assert {r["rule_id"]: r["amount_cents"] for r in off["rules"]}["CONV-ACHATS-AA"] == CONVENTION_CENTS
    line = "2024CA-00-00001"
    explained_on = json.loads(invoke(["explain", budget, *READ, "--rules", rulebook, "--line", line, "--format", "json"]).stdout)
    explained_off = json.loads(invoke(["explain", budget, *READ, "--rules", rulebook, "--line", line, "--format", "json", "--no-conventions"]).stdout)
    assert "CONV-FOURNITURES-N" in json.dumps(explained_on) and "CONV-FOURNITURES-N" not in json.dumps(explained_off)
    assert (explained_on["conventions_applied"], explained_off["conventions_applied"]) == (True, False)
    decided_off = explained_off["axes"][0]["register"][0]
    assert (decided_off["rule_id"], decided_off["class"], decided_off["question_id"]) == ("CONV-ACHATS-AA", "AA", "objet")
    human = invoke(["explain", budget, *READ, "--rules", rulebook, "--line", line, "--no-conventions"]).stdout
    assert "Conventions retirées (--no-conventions) : 1 règle(s) non appliquée(s)" in human
    compared_on = json.loads(invoke(["compare", budget, *READ, "--rules", rulebook, "--format", "json"]).stdout)
    compared_off = invoke(["compare", budget, *READ, "--rules", rulebook, "--format", "json", "--no-conventions"]).stdout
    assert compared_on["meta"]["conventions_applied"] is True and json.loads(compared_off)["meta"]["conventions_applied"] is False
    assert "Conventions retirées" in invoke(["compare", budget, *READ, "--rules", rulebook, "--no-conventions"]).stdout


def test_lint_warns_on_an_uncited_rule(tmp_path, files):
    _budget, rulebook = files
    text = rulebook.read_text(encoding="utf-8").replace("    source: {image: energie_achats.png, cells: [1]}\n", "")
    rulebook.write_text(text, encoding="utf-8")
    data = json.loads(invoke(["rules", "lint", rulebook, "--format", "json"]).stdout)  # a warning: exit 0
    found = [(f["code"], f["column"], f["level"], f["value"]) for f in data["findings"]]
    # The uncited D rule is reported; the convention (declared) and the AA rule (decides nothing) are not.
    assert found == [("lint-uncited-class", "CONV-ELEC-D", "warning", "D")]
    assert "ni se déclarer convention" in data["findings"][0]["message"]


def test_convention_without_reason_is_refused(tmp_path, files):
    budget, rulebook = files
    text = rulebook.read_text(encoding="utf-8")
    start = text.index("    convention_reason:")
    rulebook.write_text(text[:start] + text[text.index("\n", start) + 1 :], encoding="utf-8")
    result = invoke(["classify", budget, *READ, "--rules", rulebook], 2)
    assert "CONV-FOURNITURES-N.convention_reason" in result.stderr and "clé obligatoire absente" in result.stderr
    assert str(rulebook) in result.stderr and "ligne 21," in result.stderr  # the line of « convention: true »
    invoke(["rules", "lint", rulebook], 2)


SCOPE = """rulebook: {id: conv-scope, kind: scope}
rules:
  - id: SCOPE-ELEC-IN
    title: "Électricité gardée"
    when: {nature: "60612"}
    then: {scope: in}
    convention: true
    convention_reason: "Gardée dans le périmètre par convention."
    cases:
      - given: {nature: "60612"}
        expect: {scope: in}
  - id: SCOPE-ANNONCES-OUT
    title: "Annonces exclues"
    when: {nature: {prefix: ["623", "606"]}}
    then: {scope: out, reason: "annonces"}
    convention: true
    convention_reason: {fr: "Exclues par convention.", en: "Excluded by convention."}
    cases:
      - given: {nature: "6231"}
        expect: {scope: out}
"""
SECOND_AXIS = """rulebook: {id: conv-biodiversite, kind: classification, axis: biodiversite, nomenclatures: [M57], default: {class: N}}
"""


def test_scope_conventions_counted_once_and_switched_off(tmp_path, files):
    from budgetclimat.pipeline import run
    from budgetclimat.export.register import summary

    budget, rulebook = files
    (tmp_path / "scope.yaml").write_text(SCOPE, encoding="utf-8")
    (tmp_path / "bio.yaml").write_text(SECOND_AXIS, encoding="utf-8")
    books = [tmp_path / "scope.yaml", rulebook, tmp_path / "bio.yaml"]
    constants = {"nomenclature": "M57", "budget_kind": "principal"}
    on = summary(run([budget], rulebooks=books, constants=constants))
    # 60612 is kept in scope before the broad exclusion takes it; 6231 and the 6064 lines are excluded,
    # counted once although two axes show them out of scope.
    out_cents = CONVENTION_CENTS + _cents("321.99")
    expected = {"SCOPE-ELEC-IN": ("in", 1, _cents("5000.00")), "SCOPE-ANNONCES-OUT": ("out", 4, out_cents),
                "CONV-FOURNITURES-N": ("N", 0, 0)}  # its lines are out of scope: it decided nothing
    got = {c["rule_id"]: (c["class"], c["lines"], c["amount_cents"]) for c in on["conventions"]}
    assert got == expected
    assert [c["axis"] for c in on["conventions"]] == [None, None, "attenuation"]
    assert on["axes"]["biodiversite"]["out_of_scope"]["cents"] == out_cents

    off = summary(run([budget], rulebooks=books, constants=constants, conventions=False))
    assert off["conventions_applied"] is False
    assert {c["rule_id"]: (c["applied"], c["lines"], c["amount_cents"]) for c in off["conventions"]} == {
        "SCOPE-ELEC-IN": (False, 0, 0), "SCOPE-ANNONCES-OUT": (False, 0, 0), "CONV-FOURNITURES-N": (False, 0, 0)}
    assert off["axes"]["biodiversite"]["out_of_scope"]["cents"] == 0  # every line back in scope


def test_ruleset_without_conventions_keeps_them_known(files):
    from budgetclimat.rulebook import load_rulebooks

    _budget, rulebook = files
    ruleset = load_rulebooks([rulebook])
    assert [r.id for r in ruleset.all_conventions()] == ["CONV-FOURNITURES-N"] and ruleset.conventions_applied
    off = ruleset.without_conventions()
    assert [r.id for r in off.rulebooks[0].rules] == ["CONV-ELEC-D", "CONV-OBJET-ENERGIE", "CONV-OBJET-AUTRE", "CONV-ACHATS-AA"]
    assert off.conventions() == [] and [r.id for r in off.all_conventions()] == ["CONV-FOURNITURES-N"]
    assert not off.conventions_applied and not off.with_staff_costs("3b").conventions_applied  # other options keep the switch
    assert off.without_conventions() == off  # idempotent
    plain = load_rulebooks([Path(__file__).parent / "fixtures" / "rulebooks" / "attenuation.yaml"])
    assert plain.all_conventions() == [] and plain.conventions_applied


def test_an_overridden_line_is_not_counted_for_the_convention(tmp_path, files):
    budget, rulebook = files
    answers = tmp_path / "reponses.csv"
    answers.write_text("line_id,class,comment\n2024CA-00-00001,TF,revu\n", encoding="utf-8")
    _result, data, register, _workbook = _classify(tmp_path, budget, rulebook, "--answers", answers, name="override")
    overridden = [r for r in register if r["line_id"] == "2024CA-00-00001"]
    assert [(r["label"], r["class"], r["decided_by"]) for r in overridden] == [("Fournitures de bureau", "TF", "override")]
    [entry] = data["conventions"]
    remaining = [row for row in CONVENTION_LINES if row[1] != "Fournitures de bureau"]
    assert (entry["lines"], entry["amount_cents"]) == (len(remaining), sum(_cents(row[3]) for row in remaining))
