"""Mapping profiles: shipped ones load, mistakes fail on load with file, line, key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from budgetclimat import model
from budgetclimat.errors import ConfigError
from budgetclimat.read import profiles
from budgetclimat.read.profiles import load_profile, normalise_name, resolve_profile

SHIPPED = ["cedi", "dgfip", "generic", "paris", "scdl"]


def test_shipped_profiles_load():
    found = {p.id: p for p in profiles.available_profiles()}
    assert sorted(found) == SHIPPED
    assert found["generic"].generic and not found["scdl"].generic
    assert found["dgfip"].split and found["dgfip"].keep_nature_classes == tuple("1234567")
    assert found["scdl"].swap_by_length == ("chapitre", "nature")
    for prof in found.values():
        assert prof.title and prof.source
        for key in prof.columns:
            assert key in model.COLUMN_NAMES or key in profiles.AUXILIARY_COLUMNS


def test_resolve_by_id_and_path():
    assert resolve_profile("paris").id == "paris"
    path = profiles.shipped_dir() / "cedi.yaml"
    assert resolve_profile(str(path)).id == "cedi"


@pytest.mark.parametrize(
    ("header", "normalised"),
    [
        ("Dépense/Recette", "depenserecette"),
        ("BGT_NATURE", "bgtnature"),
        ("bgt_nature", "bgtnature"),
        ("  Libellé du compte ", "libelleducompte"),
        ("Mandaté/Titré après régul", "mandatetitreapresregul"),
        ("Type d'opération (R/O/I/M)", "typedoperationroim"),
    ],
)
def test_normalise_name(header, normalised):
    assert normalise_name(header) == normalised


VALID = """\
id: my-erp
title: Mon export
detect:
  headers: [Compte, Réalisé]
columns:
  exercice: Exercice
  nature: Compte
  section:
    from: Section
    values: {I: I, F: F}
amounts:
  executed: Réalisé
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_user_profile(tmp_path):
    prof = load_profile(write(tmp_path, VALID))
    assert prof.id == "my-erp"
    assert prof.columns["section"].values == {"i": "I", "f": "F"}
    assert prof.amounts == {"executed": ("Réalisé",)}


@pytest.mark.parametrize(
    ("old", "new", "key", "line"),
    [
        ("  nature: Compte\n", "  natur: Compte\n", "columns.natur", 7),
        ("  executed: Réalisé\n", "  realised: Réalisé\n", "amounts.realised", 12),
        ("    values: {I: I, F: F}\n", "    valeurs: {I: I, F: F}\n", "columns.section.valeurs", 10),
        ("id: my-erp\n", "id: My ERP\n", "id", 1),
        ("  headers: [Compte, Réalisé]\n", "  headers: []\n", "detect", 3),
        ("amounts:\n  executed: Réalisé\n", "", "amounts", 1),
        ("    from: Section\n", "    from: Section\n    others: ignore\n", "columns.section.others", 10),
        ("    from: Section\n", "    from: Section\n    extract: '('\n", "columns.section.extract", 10),
        ("  exercice: Exercice\n", "  amount_cents: Montant\n", "columns.amount_cents", 6),
    ],
)
def test_profile_mistakes_name_file_line_key(tmp_path, old, new, key, line):
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    exc = info.value
    assert exc.code == "profile-invalid" and exc.exit_code == 2
    assert exc.params["file"] == str(path)
    assert exc.params["key"] == key
    assert exc.params["line"] == line
    assert exc.params["expected"]
    assert str(path) in exc.message("fr") and key in exc.message("en")


def test_yaml_syntax_error_has_a_line(tmp_path):
    path = write(tmp_path, VALID + "columns: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert info.value.code == "yaml-invalid"
    assert info.value.params["file"] == str(path) and info.value.params["line"] == 14


def test_duplicate_ids_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(VALID.replace("my-erp", "scdl"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        profiles.available_profiles([tmp_path])
    assert info.value.code == "profile-duplicate"


def test_split_expression_is_parsed():
    dgfip = resolve_profile("dgfip")
    first = dgfip.split[0]
    assert (first.sens, first.operation, first.terms) == ("D", "reel", ((1, "OBNETDEB"), (-1, "OOBDEB")))


def test_example_profile_in_docs_loads(tmp_path):
    """docs/formats.md's full example must stay a valid profile."""
    text = (Path(__file__).parents[1] / "docs" / "formats.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    prof = load_profile(write(tmp_path, block))
    assert prof.id == "grand-angle-ca"
    assert prof.columns["doc_type"].default == "CA"
    assert prof.amounts["voted"] == ("Crédits votés", "BP+DM")
