"""Where the code uses catalogue keys: an AST scan of ``src/budgetclimat`` shared by the tests and the scripts.

A key is *used* when a string literal (or each branch of ``"a" if c else "b"``) is:

* the code given to an exception of :mod:`budgetclimat.errors` (``ConfigError("file-not-found", …)``);
* the key given to ``i18n.t`` / ``i18n.title`` (``t`` / ``title`` when imported from ``i18n``);
* the key given to the workbook's ``tr`` / ``known`` (``workbook.`` + key, see ``export/workbook/labels.py``);
* the value of ``"code"`` in a finding dict, or of a ``code=`` keyword.

Keys built at run time (``f"column.{name}"``) cannot be checked this way.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "budgetclimat"

EXCEPTIONS = {"BudgetclimatError": 2, "ConfigError": 2, "InvalidDataError": 1, "FindingsError": 1, "InvariantViolated": 3}
TEXT_FUNCTIONS = {"t", "title"}
WORKBOOK_FUNCTIONS = {"tr", "known"}
WORKBOOK_PREFIX = "workbook."
LEVELS = {"ERROR": "error", "WARNING": "warning", "INFO": "info"}


@dataclass(frozen=True)
class Use:
    key: str
    path: str  # relative to the repository root
    line: int
    how: str  # the exception class, "t", "tr", "finding"…
    level: str = ""  # a finding dict's "level", when it is a constant


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _level(node: ast.AST | None) -> str:
    """``ERROR``, ``errors.WARNING`` or ``"info"`` -> the level; anything else -> ""."""
    if isinstance(node, ast.Constant) and node.value in LEVELS.values():
        return node.value
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    return LEVELS.get(name, "")


def _name(func: ast.AST) -> tuple[str | None, str | None]:
    """(object, attribute) of a called name: ``i18n.t`` -> ("i18n", "t"), ``t`` -> (None, "t")."""
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        value = func.value
        owner = value.id if isinstance(value, ast.Name) else value.attr if isinstance(value, ast.Attribute) else None
        return owner, func.attr
    return None, None


def scan_file(path: Path) -> list[Use]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(ROOT).as_posix()
    from_i18n = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.module == "budgetclimat.i18n" for a in node.names}
    uses: list[Use] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            owner, name = _name(node.func)
            first = node.args[0] if node.args else None
            if name in EXCEPTIONS and first is not None:
                uses += [Use(k, rel, node.lineno, name) for k in _strings(first)]
            elif name in TEXT_FUNCTIONS and first is not None and (owner == "i18n" or (owner is None and name in from_i18n)):
                uses += [Use(k, rel, node.lineno, name) for k in _strings(first)]
            elif name in WORKBOOK_FUNCTIONS and first is not None and owner in (None, "labels"):
                uses += [Use(WORKBOOK_PREFIX + k, rel, node.lineno, name) for k in _strings(first)]
            for kw in node.keywords:
                if kw.arg == "code":
                    uses += [Use(k, rel, node.lineno, "code=") for k in _strings(kw.value)]
        elif isinstance(node, ast.Dict):
            items = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
            if "code" in items:
                level = _level(items.get("level"))
                uses += [Use(s, rel, items["code"].lineno, "finding", level) for s in _strings(items["code"])]
    return uses


def scan(src: Path = SRC) -> list[Use]:
    return [use for path in sorted(src.rglob("*.py")) for use in scan_file(path)]


def exit_codes(uses: list[Use]) -> dict[str, int]:
    """The exit code of each key raised with exactly one kind of exception (``ConfigError`` -> 2)."""
    found: dict[str, set[int]] = {}
    for use in uses:
        if use.how in EXCEPTIONS:
            found.setdefault(use.key, set()).add(EXCEPTIONS[use.how])
    return {k: next(iter(v)) for k, v in found.items() if len(v) == 1}


def levels(uses: list[Use]) -> dict[str, str]:
    """The level of each key found in finding dicts with exactly one constant level."""
    found: dict[str, set[str]] = {}
    for use in uses:
        if use.how == "finding" and use.level:
            found.setdefault(use.key, set()).add(use.level)
    return {k: next(iter(v)) for k, v in found.items() if len(v) == 1}
