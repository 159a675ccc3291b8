"""rules lint on hand-made rulebooks."""

from __future__ import annotations

from pathlib import Path


from budgetclimat.engine.cases import run_case
from budgetclimat.rulebook import load_rulebooks
from budgetclimat.rulebook.lint import lint

FIXTURES = Path(__file__).parent / "fixtures" / "rulebooks"
PLANS = {"M57": {"accounts": {"21828", "2313", "6064", "60612", "64111", "2151", "1641", "1675", "6811", "66111"}, "fonctions": {"020", "212", "822"}}}


def codes(findings):
    return sorted(zip(findings["code"], findings["column"]))


def test_fixtures_are_clean():
    rs = load_rulebooks([FIXTURES / "scope.yaml", FIXTURES / "attenuation.yaml"])
    assert lint(rs, run_case, plans=PLANS).empty


def test_problems_are_found(tmp_path):
    path = tmp_path / "rb.yaml"
    path.write_text(
        """rulebook: {id: t, kind: classification, axis: attenuation, nomenclatures: [M57, M14], default: {class: N}}
rules:
  - id: R-VEH
    when: {nature: {prefix: ["2182"]}}
    then: {class: D}
    cases:
      - given: {nature: "21828"}
        expect: {class: TF}
  - id: R-VEH-ELEC
    when: {nature: "21828", label: {keywords: [electrique]}}
    then: {class: TF}
  - id: R-FONCTION
    when: {fonction: {prefix: ["8"]}}
    then: {class: N}
    cases:
      - given: {fonction: "822"}
        expect: {class: N}
  - id: R-UNKNOWN
    when: {nature: ["2999"]}
    then: {class: N}
    cases:
      - given: {nature: "2999"}
        expect: {class: N}
  - id: R-EXCEPTION
    when: {nature: {in: ["6236"]}}
    then: {class: D}
    cases:
      - given: {nature: "6236"}
        expect: {class: D}
  - id: R-GENERAL
    when: {nature: {prefix: ["623", "6188"]}}
    then: {class: IM}
    cases:
      - given: {nature: "6231"}
        expect: {class: IM}
  - id: R-PART
    when: {nature: {prefix: ["60"]}}
    then: {class: FSC}
    cases:
      - given: {nature: "6064"}
        expect: {class: FSC}
  - id: R-PART2
    when: {nature: {in: ["2313", "6064"]}}
    then: {class: N}
    cases:
      - given: {nature: "2313"}
        expect: {class: N}
""",
        encoding="utf-8",
    )
    findings = lint(load_rulebooks([path]), run_case, plans=PLANS)
    got = codes(findings)
    assert ("lint-case-fails", "R-VEH") in got
    assert ("lint-no-case", "R-VEH-ELEC") in got
    assert ("lint-shadowed", "R-VEH-ELEC") in got
    assert ("lint-fonction-without-nomenclature", "R-FONCTION") in got
    assert ("lint-unknown-account", "R-UNKNOWN") in got
    # R-PART2 names 6064, which the broader R-PART (60) above already takes: reported.
    assert ("lint-overlap", "R-PART2") in got
    # An exception written before its general rule (6236 before 623) is the normal way: not reported.
    assert not [g for g in got if g[1] in ("R-EXCEPTION", "R-GENERAL") and g[0] in ("lint-overlap", "lint-shadowed")]
    shadow = findings[findings["code"] == "lint-shadowed"].iloc[0]
    assert shadow["value"] == "R-VEH" and shadow["row"] == 9 and shadow["level"] == "error"
    assert findings[findings["code"] == "lint-overlap"].iloc[0]["level"] == "warning"


DEAD_END = """rulebook: {id: t-dead, kind: classification, axis: attenuation, nomenclatures: [M57], default: {class: AA, question: genre}}
questions:
  genre:
    fact: genre
    text: {fr: "Genre ?"}
    answers: [velo, voiture, autre]
  energie:
    fact: energie
    text: {fr: "Énergie ?"}
    answers: [electrique, gazole]
rules:
  - id: R-VELO
    when: {fact: {genre: [velo]}}
    then: {class: TF}
    cases:
      - given: {nature: "2182"}
        facts: {genre: velo}
        expect: {class: TF}
  - id: R-VOITURE-ELEC
    when: {fact: {genre: [voiture], energie: [electrique]}}
    then: {class: TF}
    cases:
      - given: {nature: "2182"}
        facts: {genre: voiture, energie: electrique}
        expect: {class: TF}
  - id: R-VOITURE-GAZOLE
    when: {fact: {genre: [voiture], energie: [gazole]}}
    then: {class: TF}
    cases:
      - given: {nature: "2182"}
        facts: {genre: voiture, energie: gazole}
        expect: {class: TF}
  - id: R-VOITURE
    when: {fact: {genre: [voiture]}}
    then: {class: AA, question: energie}
    cases:
      - given: {nature: "2182"}
        facts: {genre: voiture}
        expect: {class: AA, question: energie}
"""


def _lint_text(tmp_path, text):
    path = tmp_path / "rb.yaml"
    path.write_text(text, encoding="utf-8")
    return lint(load_rulebooks([path]), run_case, plans=PLANS)


def test_dead_end_answer_fails_and_its_fix_passes(tmp_path):
    findings = _lint_text(tmp_path, DEAD_END)
    dead = findings[findings["code"] == "lint-answer-dead-end"]
    # « autre » is read by no rule: the line would stay on the same question whatever the service says.
    assert list(zip(dead["column"], dead["value"], dead["level"])) == [("genre", "autre", "error")]
    # Both answers of « energie » lead to TF: asking it cannot change a class (a warning).
    one = findings[findings["code"] == "lint-question-one-class"]
    assert list(zip(one["column"], one["level"])) == [("energie", "warning")]
    fixed = DEAD_END.replace("when: {fact: {genre: [velo]}}", "when: {fact: {genre: [velo, autre]}}").replace(
        "when: {fact: {genre: [voiture], energie: [gazole]}}\n    then: {class: TF}", "when: {fact: {genre: [voiture], energie: [gazole]}}\n    then: {class: D}"
    ).replace("facts: {genre: voiture, energie: gazole}\n        expect: {class: TF}", "facts: {genre: voiture, energie: gazole}\n        expect: {class: D}")
    left = _lint_text(tmp_path, fixed)
    # (the fixture's rules cite no I4CE cell: lint-uncited-class warnings are another check's)
    assert left[left["code"] != "lint-uncited-class"].empty


def test_unread_text_and_share_questions_fail(tmp_path):
    text = """rulebook: {id: t-unread, kind: classification, axis: attenuation, nomenclatures: [M57], default: {class: AA, question: objet}}
questions:
  objet:
    fact: objet
    text: {fr: "Que finance la ligne ?"}
    type: text
  part:
    fact: part
    text: {fr: "Part ?"}
    type: share
  lu:
    fact: lu
    text: {fr: "Texte lu ?"}
    type: text
rules:
  - id: R-LU
    when: {fact: {lu: present, part: present}}
    then: {class: N}
    cases:
      - given: {nature: "2182"}
        facts: {lu: "x", part: "0.5"}
        expect: {class: N}
"""
    findings = _lint_text(tmp_path, text)
    unread = findings[findings["code"] == "lint-question-unread"]
    # « part » is tested (present) but no split takes its share: its value changes nothing.
    assert sorted(zip(unread["column"], unread["level"])) == [("objet", "error"), ("part", "error")]


def test_shipped_rulebooks_have_no_dead_end():
    from budgetclimat.rulebook import default_rulebooks

    findings = lint(default_rulebooks(), run_case=None)
    dead = findings[findings["code"].isin(["lint-answer-dead-end", "lint-question-unread"])]
    assert dead.empty, dead[["file", "column", "value"]].to_string()
    # and every question can change a class (issue 9: no worklist row whose answer changes nothing)
    one = findings[findings["code"] == "lint-question-one-class"]
    assert one.empty, one[["file", "column", "value"]].to_string()
