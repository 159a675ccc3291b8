"""Every YAML file budgetclimat reads goes through one loader (budgetclimat.yamlfile): a tab, a wrong indentation or
a repeated key in any of them stops the command with exit 2 and a message naming the file, the line and the column."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, invoke

from budgetclimat.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
FIXTURE_RULES = ["--set", "budget_kind=principal", "--set", "nomenclature=M57",
                 "--rules", FIXTURES / "rulebooks" / "scope.yaml", "--rules", FIXTURES / "rulebooks" / "attenuation.yaml"]
BUDGET = (
    "BGT_NATDEC,BGT_ANNEE,BGT_SIRET,BGT_NOM,BGT_TYPBUDGET,BGT_CONTNAT,BGT_NATURE,BGT_NATURE_LABEL,BGT_FONCTION,BGT_SECTION,BGT_OPBUDG,BGT_CODRD,BGT_MTREAL\n"
    "09,2024,21340172201787,Ville,1,011,6064,Fournitures,020,F,0,D,100.00\n"
)
INVENTORY = "inventory:\n  - year: 2020\n    sector: transport\n    emissions_tco2e: 100\n  - year: 2021\n    sector: transport\n    emissions_tco2e: 90\n"


def _sibling(text: str) -> int:
    """0-based index of the first indented ``key: value`` line followed by a sibling key at the same indentation."""
    lines = text.split("\n")
    for i, line in enumerate(lines[:-1]):
        m = re.match(r"^( +)[a-z0-9_]+: *[^\s#:][^:]*$", line)
        if m and re.match(rf"^{m.group(1)}[a-z0-9_]+:", lines[i + 1]):
            return i
    raise AssertionError("no line to break")


def broken(text: str, how: str) -> tuple[str, int]:
    """``text`` broken as ``how`` says, and the (1-based) line the message must name."""
    lines = text.split("\n")
    i = _sibling(text)
    if how == "tab":
        lines[i] = "\t" + lines[i].lstrip(" ")
        return "\n".join(lines), i + 1
    if how == "indent":
        lines[i + 1] = " " + lines[i + 1]
        return "\n".join(lines), i + 2
    lines.insert(i + 1, lines[i])  # the same key twice in one mapping
    return "\n".join(lines), i + 2


def _setup(kind: str, tmp_path: Path, how: str) -> tuple[list, Path, int]:
    """The command reading a broken file of ``kind``, the broken file and the line to name."""
    budget = tmp_path / "budget.csv"
    budget.write_text(BUDGET, encoding="utf-8")
    base = ["classify", budget, *FIXTURE_RULES]
    if kind == "rulebook":
        target = tmp_path / "rules.yaml"
        text = (FIXTURES / "rulebooks" / "attenuation.yaml").read_text(encoding="utf-8")
        args = ["classify", budget, "--rules", FIXTURES / "rulebooks" / "scope.yaml", "--rules", target]
    elif kind == "crosswalk":
        book = tmp_path / "rules.yaml"
        original = (FIXTURES / "rulebooks" / "attenuation.yaml").read_text(encoding="utf-8")
        book.write_text(original.replace("  nomenclatures: [M57, M14]\n", "  nomenclatures: [M57, M14]\n  crosswalks: [cw.yaml]\n", 1), encoding="utf-8")
        target = tmp_path / "cw.yaml"
        text = (RULES / "crosswalks" / "m52-to-m57.yaml").read_text(encoding="utf-8")
        args = ["classify", budget, "--rules", FIXTURES / "rulebooks" / "scope.yaml", "--rules", book]
    elif kind == "carbon-vat":
        shutil.copytree(RULES / "carbon", tmp_path / "carbon")
        target = tmp_path / "carbon" / "conversion" / "vat.yaml"
        text = target.read_text(encoding="utf-8")
        args = [*base, "--rules", tmp_path / "carbon" / "m57-m14-ademe-2023.yaml"]
    elif kind == "profile":
        target = tmp_path / "profile.yaml"
        text = (RULES / "profiles" / "scdl.yaml").read_text(encoding="utf-8")
        args = [*base, "--profile", target]
    elif kind == "services":
        target = tmp_path / "services.yaml"
        text = (RULES / "services" / "default.yaml").read_text(encoding="utf-8")
        args = [*base, "--services", target]
    elif kind == "trajectory":
        target = tmp_path / "trajectory.yaml"
        text = (ROOT / "examples" / "territory" / "trajectory.yaml").read_text(encoding="utf-8")
        args = [*base, "--trajectory", target, "--inventory", ROOT / "examples" / "territory" / "inventory.csv"]
    else:  # inventory
        target = tmp_path / "inventory.yaml"
        text = INVENTORY
        args = [*base, "--inventory", target, "--trajectory", ROOT / "examples" / "territory" / "trajectory.yaml"]
    text, line = broken(text, how)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return args, target, line


KINDS = ["rulebook", "crosswalk", "carbon-vat", "profile", "services", "trajectory", "inventory"]


@pytest.mark.parametrize("how", ["tab", "indent", "duplicate"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_broken_yaml_file_names_file_and_line(kind, how, tmp_path):
    args, target, line = _setup(kind, tmp_path, how)
    # The carbon view is isolated: its broken table is reported and the coloured budget still produced.
    out = invoke(args, 0) if kind == "carbon-vat" else invoke(args, 2)
    text = out.output if kind == "carbon-vat" else out.stderr
    assert f"{target}, ligne {line}, colonne " in text, text
    if how == "duplicate":
        assert "répétée (déjà ligne" in text
    elif how == "tab":
        assert "tabulation" in text
    else:
        assert "YAML illisible" in text


def test_in_english(tmp_path):
    args, target, line = _setup("services", tmp_path, "tab")
    out = invoke(["--lang", "en", *args], 2)
    assert f"{target}, line {line}, column 1: unreadable YAML — a tab where YAML expects spaces" in out.stderr


def test_not_utf8(tmp_path):
    budget = tmp_path / "budget.csv"
    budget.write_text(BUDGET, encoding="utf-8")
    target = tmp_path / "services.yaml"
    target.write_bytes("services:\n  id: x\n  title: Récap\n".encode("latin-1"))
    out = invoke(["classify", budget, *FIXTURE_RULES, "--services", target], 2)
    assert f"{target}, ligne 3, colonne 11 : YAML illisible — le fichier n'est pas en UTF-8 (octet 0xe9)" in out.stderr


def test_a_yaml_table_value_error_names_the_yaml_line(tmp_path):
    budget = tmp_path / "budget.csv"
    budget.write_text(BUDGET, encoding="utf-8")
    target = tmp_path / "inventory.yaml"
    target.write_text(INVENTORY.replace("emissions_tco2e: 90", "emissions_tco2e: beaucoup"), encoding="utf-8")
    out = invoke(["classify", budget, *FIXTURE_RULES, "--inventory", target, "--trajectory", ROOT / "examples" / "territory" / "trajectory.yaml"], 2)
    assert f"{target}, ligne 7, colonne « emissions_tco2e » : « beaucoup »" in out.stderr


@pytest.mark.parametrize("how", ["tab", "indent", "duplicate"])
def test_annex_definition(how, tmp_path):
    from budgetclimat.export.workbook.annex import load_definition

    text, line = broken((RULES / "annex" / "2024.yaml").read_text(encoding="utf-8"), how)
    target = tmp_path / "annex.yaml"
    target.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_definition(target)
    assert info.value.params["file"] == str(target) and info.value.params["line"] == line


def test_annex_value_error_names_the_line(tmp_path):
    from budgetclimat.export.workbook.annex import load_definition

    text = (RULES / "annex" / "2024.yaml").read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(text.split("\n"), 1) if re.match(r"^\s+rows:", t))
    target = tmp_path / "annex.yaml"
    target.write_text(re.sub(r"(?m)^(\s+rows:).*$", r"\1 colonnes", text, count=1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_definition(target)
    assert info.value.code == "annex-invalid" and info.value.params["line"] == line
