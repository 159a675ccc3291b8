"""The house: each stage imports only the stages before it, nothing imports the CLI, no circle anywhere.

The contracts are in ``pyproject.toml`` (``[tool.importlinter]``) and described in
``docs/architecture.md``; ``lint-imports`` (import-linter) checks them on the source, function-level imports
included. The second test breaks a copy of the package on purpose and expects the check to fail, so that
the first one cannot pass for a wrong reason (a contract that names no module, a tool that checks nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sysconfig.get_path("scripts")) / "lint-imports"


def _lint(src: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(config)], capture_output=True, text=True, env=env,
                          cwd=config.parent, check=False)


def test_stages_import_only_earlier_stages_and_nothing_circles():
    done = _lint(ROOT / "src", ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_module_of_the_package_is_in_a_stage():
    """A new top-level module or package must be placed in the layers (else no contract would look at it)."""
    import pkgutil
    import tomllib

    import budgetclimat

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    layers = next(c for c in config if c["id"] == "stages")["layers"]
    placed = {name.strip() for layer in layers for name in layer.split("|")}
    present = {f"budgetclimat.{m.name}" for m in pkgutil.iter_modules(budgetclimat.__path__) if m.name != "__main__"}
    assert present - placed == set(), f"modules in no stage of pyproject.toml's [tool.importlinter]: {sorted(present - placed)}"
    assert placed - present == set(), f"stages naming no module: {sorted(placed - present)}"


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("rulebook/model.py", "from budgetclimat import views  # noqa", "budgetclimat.rulebook is not allowed to import budgetclimat.views"),
        ("read/detect.py", "import budgetclimat.cli  # noqa", "budgetclimat.read is not allowed to import budgetclimat.cli"),
        ("engine/matcher.py", "from budgetclimat.engine import classify  # noqa", "No cycles are allowed in budgetclimat.engine"),
    ],
)
def test_the_check_fails_on_a_later_stage_or_a_circle(tmp_path, module, line, broken):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "budgetclimat", src / "budgetclimat", ignore=shutil.ignore_patterns("__pycache__", "_data"))
    target = src / "budgetclimat" / module
    target.write_text(target.read_text(encoding="utf-8") + "\n\ndef _late():\n    " + line + "\n", encoding="utf-8")
    config = tmp_path / "pyproject.toml"
    shutil.copy(ROOT / "pyproject.toml", config)
    done = _lint(src, config)
    assert done.returncode != 0
    assert broken in done.stdout, done.stdout
