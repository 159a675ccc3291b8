"""Where the code uses catalogue keys: an AST scan of ``src/budgetclimat`` shared by the tests and the scripts.

A key is *used* when a string literal (or each branch of ``"a" if c else "b"``) is:

* the code given to an exception of :mod:`budgetclimat.errors` (``ConfigError("file-not-found", …)``);
* the key given to ``i18n.t`` / ``i18n.title`` (``t`` / ``title`` when imported from ``i18n``);
* the key given to the workbook's ``tr`` / ``known`` (``workbook.`` + key, see ``export/workbook/labels.py``);
* the value of ``"code"`` in a finding dict, or of a ``code=`` keyword;
* the code given to a helper that passes it on to one of the above (``_finding(ERROR, "lint-no-case", …)``,
  ``ctx.fail("rulebook-type", …)``), followed one level deep.

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


@dataclass(frozen=True)
class Helper:
    """A function that passes one of its parameters on as a code: ``_finding(level, code, …)`` builds a finding
    dict, ``ctx.fail(code, …)`` raises a ``ConfigError``. Its calls with a literal code are uses too."""

    code_index: int
    code_name: str
    how: str
    level: str = ""  # a constant level, or
    level_index: int | None = None  # the parameter that gives it


def _helpers(tree: ast.AST) -> dict[str, Helper]:
    out: dict[str, Helper] = {}
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        params = [a.arg for a in func.args.posonlyargs + func.args.args]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        for node in ast.walk(func):
            helper = None
            if isinstance(node, ast.Call) and _name(node.func)[1] in EXCEPTIONS and node.args:
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id in params:
                    helper = Helper(params.index(first.id), first.id, _name(node.func)[1])
            elif isinstance(node, ast.Dict):
                items = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
                code, level = items.get("code"), items.get("level")
                if isinstance(code, ast.Name) and code.id in params:
                    by_param = isinstance(level, ast.Name) and level.id in params
                    helper = Helper(params.index(code.id), code.id, "finding", "" if by_param else _level(level),
                                    params.index(level.id) if by_param else None)
            if helper is not None:
                out.setdefault(func.name, helper)
    return out


def _argument(call: ast.Call, index: int | None, name: str) -> ast.AST | None:
    if index is not None and index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == name), None)


def scan_file(path: Path, helpers: dict[str, Helper] | None = None) -> list[Use]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(ROOT).as_posix()
    helpers = helpers or {}
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
            elif name in helpers:
                helper = helpers[name]
                code = _argument(node, helper.code_index, helper.code_name)
                level = helper.level or (_level(_argument(node, helper.level_index, "level")) if helper.level_index is not None else "")
                uses += [Use(k, rel, node.lineno, helper.how, level) for k in _strings(code)] if code is not None else []
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
    paths = sorted(src.rglob("*.py"))
    found: dict[str, set[Helper]] = {}
    for path in paths:
        for name, helper in _helpers(ast.parse(path.read_text(encoding="utf-8"))).items():
            found.setdefault(name, set()).add(helper)
    helpers = {name: next(iter(h)) for name, h in found.items() if len(h) == 1}  # a name used two ways: not followed
    return [use for path in paths for use in scan_file(path, helpers)]


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
