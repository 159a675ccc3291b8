"""rules lint on hand-made rulebooks."""

from __future__ import annotations

from pathlib import Path

from budgetclimat.rulebook import load_rulebooks
from budgetclimat.rulebook.lint import lint

FIXTURES = Path(__file__).parent / "fixtures" / "rulebooks"
PLANS = {"M57": {"accounts": {"21828", "2313", "6064", "60612", "64111", "2151", "1641", "1675", "6811", "66111"}, "fonctions": {"020", "212", "822"}}}


def codes(findings):
    return sorted(zip(findings["code"], findings["column"]))


def test_fixtures_are_clean():
    rs = load_rulebooks([FIXTURES / "scope.yaml", FIXTURES / "attenuation.yaml"])
    assert lint(rs, plans=PLANS).empty


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
    findings = lint(load_rulebooks([path]), plans=PLANS)
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
