"""The command line speaks French by default and English with --lang en, given before or after the command."""

from __future__ import annotations

import click
import pytest

from budgetclimat.cli import cli
from budgetclimat.cli.french import HELP_FR, language_from_argv
from tests.conftest import invoke


def _help_texts() -> list[tuple[str, str]]:
    """(where, English help text) of every command and option, subcommands included."""
    out = []

    def walk(cmd, path):
        if cmd.help:
            out.append((path, cmd.help))
        for p in cmd.params:
            if getattr(p, "help", None):
                out.append((f"{path} {p.opts[-1]}", p.help))
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), f"{path} {name}")

    walk(cli, "budgetclimat")
    return out


def test_every_help_text_has_its_french_text():
    missing = [where for where, text in _help_texts() if text not in HELP_FR]
    assert not missing, f"help texts without French (add them to cli/french.py HELP_FR): {missing}"


def test_help_is_french_by_default_and_english_with_lang_after_the_command():
    fr = invoke(["classify", "--help"]).stdout
    assert fr.startswith("Utilisation : budgetclimat classify")
    assert "Classeur à écrire (.xlsx)." in fr and "Afficher cette aide et quitter." in fr
    assert "Workbook to write" not in fr
    en = invoke(["classify", "--help", "--lang", "en"]).stdout
    assert en.startswith("Usage: budgetclimat classify") and "Workbook to write (.xlsx)." in en
    top = invoke(["--help"]).stdout
    assert "Commandes:" in top and "Afficher la version et quitter." in top and "Show the version" not in top


def test_usage_errors_in_french_and_in_english_after_the_command():
    fr = invoke(["classify", "--pas-une-option"], code=2)
    assert "Option inconnue : '--pas-une-option'" in fr.stderr and "Essayez « budgetclimat classify --help »" in fr.stderr
    en = invoke(["classify", "--pas-une-option", "--lang=en"], code=2)
    assert "No such option: '--pas-une-option'" in en.stderr or "No such option '--pas-une-option'" in en.stderr


@pytest.mark.parametrize(
    ("argv", "lang", "rest"),
    [
        (["classify", "a.xml", "--lang", "en"], "en", ["--lang", "en", "classify", "a.xml"]),
        (["--lang=en", "validate"], "en", ["--lang", "en", "validate"]),
        (["classify", "a.xml"], None, ["classify", "a.xml"]),
        (["classify", "--", "--lang", "en"], None, ["classify", "--", "--lang", "en"]),  # a file named --lang
        (["classify", "--lang"], None, ["classify", "--lang"]),  # no value: click reports it
    ],
)
def test_language_found_anywhere(argv, lang, rest):
    assert language_from_argv(argv) == (lang, rest)


def test_a_number_option_given_text_is_refused_in_french_without_clicks_type_name():
    """click names the expected type in English (« integer range »): the French message does without it."""
    fr = invoke(["classify", "budget.csv", "--engine", "partitions", "--partition-lines", "abc"], code=2)
    assert "'abc' n'est pas un nombre valide" in fr.stderr and "integer" not in fr.stderr
    en = invoke(["--lang", "en", "classify", "budget.csv", "--engine", "partitions", "--partition-lines", "abc"], code=2)
    assert "'abc' is not a valid integer range" in en.stderr
