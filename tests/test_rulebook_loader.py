"""Rulebook loading: every mistake names file, line, key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetclimat.errors import ConfigError
from budgetclimat.rulebook import load_rulebook, load_rulebooks
from budgetclimat.rulebook.model import All, Any_, Condition
from budgetclimat.rulebook.saferegex import UnsafeRegex, check

FIXTURES = Path(__file__).parent / "fixtures" / "rulebooks"

HEAD = """rulebook:
  id: t
  kind: classification
  axis: attenuation
  default: {class: N}
questions:
  motorisation:
    fact: motorisation
    text: {fr: "Motorisation ?", en: "Powertrain?"}
    answers: [electrique, gazole]
rules:
"""


def write(tmp_path: Path, rules: str, head: str = HEAD, name: str = "rb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(head + rules, encoding="utf-8")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_rulebook(path)
    return info.value


def test_fixtures_load():
    rs = load_rulebooks([FIXTURES / "scope.yaml", FIXTURES / "attenuation.yaml"])
    assert [rb.kind for rb in rs.rulebooks] == ["scope", "classification"]
    assert rs.axes == ["attenuation"]
    rule = rs.rule("ATT-VEH-ELEC")
    assert isinstance(rule.when, All) and isinstance(rule.when.items[1], Any_)
    assert rule.line == 33 and rule.when.items[0].line == 35


def test_typo_in_rule_key_names_file_line_key_and_suggestion(tmp_path):
    path = write(tmp_path, "  - id: R1\n    wen: {sens: D}\n    then: {class: N}\n")
    err = error_of(path)
    assert err.code == "rulebook-unknown-key"
    assert err.params["line"] == 13
    message = err.message("fr")
    assert str(path) in message and "ligne 13" in message and "wen" in message and "« when »" in message
    from budgetclimat import i18n

    i18n.set_language("en")
    assert "did you mean 'when'" in err.message()


def test_unknown_class_with_suggestion(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    when: {sens: D}\n    then: {class: FCS}\n"))
    assert err.code == "rulebook-unknown-class" and err.params["line"] == 14
    assert "FSC" in err.message("fr")


def test_unknown_column_in_when(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    when: {natrue: '2182'}\n    then: {class: N}\n"))
    assert err.code == "rulebook-unknown-column" and err.params["line"] == 13
    assert "nature" in err.params["hint"]


def test_wrong_enumeration_value(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    when: {sens: X}\n    then: {class: N}\n"))
    assert err.code == "rulebook-value" and "D, R" in err.message("fr")


def test_unknown_question(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    then: {class: AA, question: motorsation}\n"))
    assert err.code == "rulebook-unknown-question" and "motorisation" in err.params["hint"]


def test_aa_without_question(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    then: {class: AA}\n"))
    assert err.code == "rulebook-aa-question" and err.params["line"] == 13


def test_split_shares_must_sum_to_one(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    then: {split: [{class: TF, share: 0.3}, {class: D, share: 0.6}]}\n"))
    assert err.code == "rulebook-split-sum" and err.params["found"] == "0.9"


def test_split_two_rests_rejected(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    then: {split: [{class: TF, share: rest}, {class: D, share: rest}]}\n"))
    assert err.code == "rulebook-split-rest"


def test_fact_value_outside_the_question_answers(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    when: {fact: {motorisation: [electrique, diesel]}}\n    then: {class: N}\n"))
    assert err.code == "rulebook-unknown-answer" and err.params["found"] == "diesel"


def test_duplicate_rule_id_in_one_file(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    then: {class: N}\n  - id: R1\n    then: {class: D}\n"))
    assert err.code == "rulebook-duplicate-id" and err.params["line"] == 14


def test_duplicate_rule_id_across_rulebooks(tmp_path):
    a = write(tmp_path, "  - id: R1\n    then: {class: N}\n", name="a.yaml")
    b = write(tmp_path, "  - id: R1\n    then: {class: D}\n", head=HEAD.replace("id: t\n", "id: u\n").replace("attenuation", "biodiversite"), name="b.yaml")
    with pytest.raises(ConfigError) as info:
        load_rulebooks([a, b])
    assert info.value.code == "rulebook-duplicate-id"
    assert "b.yaml" in info.value.message("fr") and "a.yaml" in info.value.message("fr")


def test_two_rulebooks_for_one_axis(tmp_path):
    a = write(tmp_path, "  - id: R1\n    then: {class: N}\n", name="a.yaml")
    b = write(tmp_path, "  - id: R2\n    then: {class: D}\n", head=HEAD.replace("id: t\n", "id: u\n"), name="b.yaml")
    with pytest.raises(ConfigError) as info:
        load_rulebooks([a, b])
    assert info.value.code == "rulebook-duplicate-axis"


def test_unsafe_regex_rejected_at_load(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    when: {label: {regex: '(a+)+b'}}\n    then: {class: N}\n"))
    assert err.code == "rulebook-unsafe-regex" and err.params["line"] == 13
    assert "nested" in err.params["detail"]


@pytest.mark.parametrize("pattern", [r"(a+)+", r"(\w*)*", r"(a)\1", r"(?=x)", r"(?<!x)y", r"a{1,51}", r"a{60}", r"(?P<n>a)(?P=n)", "[", r"(?i:a)"])
def test_saferegex_rejects(pattern):
    with pytest.raises(UnsafeRegex):
        check(pattern)


@pytest.mark.parametrize("pattern", [r"^chauffage\b", r"\bv[eé]lo(s)?\b", r"(bus|tram)\s+\d{1,4}", r"a.{0,50}b", r"(ab|cd)*", r"[^0-9]+"])
def test_saferegex_accepts(pattern):
    check(pattern)


def test_codes_keep_their_text(tmp_path):
    path = write(tmp_path, "  - id: R1\n    when: {chapitre: 011, nature: [21312, '2132']}\n    then: {class: N}\n")
    rule = load_rulebook(path).rules[0]
    chapitre, nature = rule.when.items
    assert chapitre == Condition("chapitre", "in", ("011",), line=13)
    assert nature.values == ("21312", "2132")


def test_duplicate_yaml_key(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    then: {class: N}\n    then: {class: D}\n"))
    assert err.code == "yaml-duplicate-key" and err.params["line"] == 14 and err.params["first"] == 13


def test_yaml_syntax_error_has_a_line(tmp_path):
    err = error_of(write(tmp_path, "  - id: R1\n    then: {class: N\n"))
    assert err.code == "yaml-invalid" and err.params["line"] >= 13


def test_amount_condition_in_euros(tmp_path):
    path = write(tmp_path, "  - id: R1\n    when: {amount: {min: 8000, max: 1e6}}\n    then: {class: N}\n")
    rule = load_rulebook(path).rules[0]
    assert [c.values[0] for c in rule.when.items] == [800_000, 100_000_000]


def test_unknown_kind_and_missing_default(tmp_path):
    err = error_of(write(tmp_path, "", head="rulebook: {id: t, kind: clasification}\n"))
    assert err.code == "rulebook-value" and "classification" in err.message("fr")
    err = error_of(write(tmp_path, "", head="rulebook: {id: t, kind: classification, axis: attenuation}\n"))
    assert err.code == "rulebook-missing-key"


def test_unknown_axis(tmp_path):
    err = error_of(write(tmp_path, "", head=HEAD.replace("axis: attenuation", "axis: attenuaton")))
    assert err.code == "rulebook-value" and "attenuation" in err.params["hint"]


def test_case_with_unknown_given_column(tmp_path):
    rules = "  - id: R1\n    then: {class: N}\n    cases:\n      - given: {natur: '6064'}\n        expect: {class: N}\n"
    err = error_of(write(tmp_path, rules))
    assert err.code == "rulebook-unknown-key" and err.params["line"] == 15


def test_rationale_in_two_languages_or_one(tmp_path):
    from budgetclimat import i18n

    path = write(tmp_path, '  - id: R1\n    then: {class: N}\n    rationale: {fr: "Neutre", en: "Neutral"}\n'
                           '  - id: R2\n    then: {class: N}\n    rationale: "Texte seul"\n  - id: R3\n    then: {class: N}\n')
    r1, r2, r3 = load_rulebook(path).rules
    assert (r1.rationale.get("fr"), r1.rationale.get("en")) == ("Neutre", "Neutral")
    assert (r2.rationale.get("fr"), r2.rationale.get("en")) == ("Texte seul", "Texte seul")  # a user's plain text, in both modes
    assert r3.rationale.get() == ""
    i18n.set_language("en")
    assert r1.rationale.get() == "Neutral"


def test_rationale_with_an_unknown_language_names_line_and_key(tmp_path):
    path = write(tmp_path, '  - id: R1\n    then: {class: N}\n    rationale: {fr: "Neutre", de: "Neutral"}\n')
    err = error_of(path)
    assert err.code == "rulebook-unknown-key" and err.params["line"] == 14 and err.params["key"] == "R1.rationale.de"


SHIPPED = Path(__file__).resolve().parents[1] / "rules"


@pytest.mark.parametrize("name", ["scope/default.yaml", "i4ce-2022/attenuation.yaml", "i4ce-2022/biodiversite.yaml", "carbon/m57-m14-ademe-2023.yaml",
                                  "weights/eu-climat-2021-2027.yaml", "weights/rio-markers-eu.yaml"])
def test_shipped_rulebooks_say_everything_in_french_and_english(name):
    """Every text a reader sees (rationale, question, scope reason, convention reason) has both languages."""
    rb = load_rulebook(SHIPPED / name)
    missing = [f"{r.id}.rationale" for r in rb.rules if not (r.rationale.fr and r.rationale.en)]
    missing += [f"{q.id}.text" for q in rb.questions.values() if not (q.text.fr and q.text.en)]
    missing += [f"{r.id}.reason" for r in rb.rules if getattr(r.then, "reason", None) is not None and not (r.then.reason.fr and r.then.reason.en)]
    missing += [f"{r.id}.convention_reason" for r in rb.rules if r.convention_reason is not None and not (r.convention_reason.fr and r.convention_reason.en)]
    assert not missing, missing
    # The English text is not the French one copied (a few short citations may read the same in both).
    same = [r.id for r in rb.rules if r.rationale.fr == r.rationale.en]
    assert len(same) <= len(rb.rules) // 10, same
