"""Shared test helpers.

``invoke(args, code)`` runs the ``budgetclimat`` command exactly as a user would (through
:func:`budgetclimat.cli.run`, so error handling and exit codes are the real ones), captures stdout and
stderr separately, asserts the exit code and that no traceback leaked, and returns the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

DATA = Path(__file__).parent / "data"
FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Invocation:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(args: list[str], code: int = 0) -> Invocation:
    """Run ``budgetclimat *args``; assert the exit code is ``code`` and no traceback was printed."""
    from budgetclimat import i18n
    from budgetclimat.cli import run

    runner = CliRunner()
    language = i18n.language()
    try:
        with runner.isolation() as (out, err, _):
            exit_code = run([str(a) for a in args])
            stdout = out.getvalue().decode("utf-8")
            stderr = err.getvalue().decode("utf-8")
    finally:
        i18n.set_language(language)  # --lang must not leak into later tests
    result = Invocation(exit_code, stdout, stderr)
    assert "Traceback" not in result.output, result.output
    assert exit_code == code, f"exit code {exit_code} != {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    return result


@pytest.fixture(autouse=True)
def _french_messages():
    """Every test starts in French, the default language of messages."""
    from budgetclimat import i18n

    i18n.set_language("fr")
    yield
    i18n.set_language("fr")


MONTPELLIER_XML = DATA / "montpellier-ca-2018-m57.xml"


@dataclass(frozen=True)
class Classified:
    """The outputs of one ``classify`` run, shared by several test modules: read them, never write them
    (a test that needs to change a file copies it first)."""

    folder: Path
    stdout: str
    workbook: Path
    summary: Path

    def summary_data(self) -> dict:
        """The summary JSON, parsed afresh on each call (a test may change its copy)."""
        import json

        return json.loads(self.summary.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def montpellier_classified(tmp_path_factory) -> Classified:
    """``budgetclimat classify montpellier-ca-2018-m57.xml -o annexe.xlsx --summary-json synthese.json``, in
    French with no other option, run once per test process (≈13 s) for every module that checks this run.

    Writing the workbook changes neither what the command prints nor the summary: the same command without
    ``-o`` (or without any output) prints the same stdout and writes the same summary, byte for byte
    (checked when this fixture was introduced), so tests of the bare command use this run too."""
    from budgetclimat import i18n

    folder = tmp_path_factory.mktemp("montpellier-classified")
    language = i18n.language()
    i18n.set_language("fr")  # a session fixture is set up before the autouse one of the test that asks first
    try:
        result = invoke(["classify", MONTPELLIER_XML, "-o", folder / "annexe.xlsx", "--summary-json", folder / "synthese.json"])
    finally:
        i18n.set_language(language)
    return Classified(folder=folder, stdout=result.stdout, workbook=folder / "annexe.xlsx", summary=folder / "synthese.json")
