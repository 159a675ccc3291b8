"""Move every ``i18n.define(...)`` call of ``src/budgetclimat`` into the static catalogue (``messages/*.yaml``).

    python scripts/extract_catalogue.py          # move the texts, delete the calls, report what was done
    python scripts/extract_catalogue.py --check  # exit 1 if a define(...) call or a transitional block remains

Re-runnable and deterministic. How it works:

1. Every module of the library is imported with ``i18n.define`` replaced by a recorder, which keeps the exact
   texts (also those made in loops or computed from constants) and where the call was made; ``define`` calls
   with literal arguments that no import runs (inside a function) are read from the source.
2. Each text goes to the catalogue file of its module's stage (``read/…`` -> ``messages/read.yaml``; see
   :func:`stage_of`). A key already catalogued with the same texts is only removed from the code; a key
   catalogued with other texts is an error naming both places, and nothing is written.
3. The calls are removed from the source by editing its text (the rest of a file is kept byte for byte):
   a ``define(...)`` statement or a loop of them is deleted (with the comment lines right above it); a
   ``define(...)`` used as a value is replaced by its key. A module-level function that calls ``define``
   with its parameters (a *wrapper*: ``_label(key, fr, en)``) is treated like ``define`` at its call sites;
   if it does something else too (``_rule`` also registers a validation rule), only its ``define`` statement
   goes, with the parameters used by nothing else, and the matching arguments at its call sites.
   Names of the module (imports, private constants and functions) that were used only by what was removed
   are removed too, so that no unused import is left.
4. New undotted codes get, from the current ``docs/errors.md``, their section and level. Every code without
   them gets, from the code that uses it (``scripts/catalogue_usage.py``), the exit code of the exception
   that carries it and the level of the finding dicts that name it, when there is exactly one.
5. Blocks between ``# extract_catalogue: transitional begin`` and ``... end`` lines in ``src/`` and ``tests/``
   (the transitional ``i18n.define`` itself) are deleted.

Then ``python scripts/gen_errors_doc.py`` regenerates ``docs/errors.md``.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalogue_usage  # noqa: E402
import gen_errors_doc  # noqa: E402

ROOT = catalogue_usage.ROOT
SRC = catalogue_usage.SRC
MESSAGES = SRC / "messages"
GAP = "\x00"  # where whole lines were deleted, until _close_gaps
BEGIN, END = "# extract_catalogue: transitional begin", "# extract_catalogue: transitional end"
TEXT_FIELDS = ("fr", "en", "title_fr", "title_en")
FOUNDATION = {"i18n", "errors", "money", "model", "paths", "limits", "outputs"}


class ExtractError(Exception):
    pass


def stage_of(path: Path) -> str:
    """The catalogue file of a module: its package (``read``) or, for a top module, its stage."""
    parts = path.relative_to(SRC).with_suffix("").parts
    top = parts[0]
    if len(parts) > 1:
        return top
    if top in FOUNDATION:
        return "foundation"
    if top in ("validate", "reconcile"):
        return "validate"
    return top


# -- 1. what the defines say ----------------------------------------------------------------------------


@dataclass
class Site:
    """A call that registers a text: of ``define`` itself or of a wrapper, at module level or in a function."""

    path: Path
    span: tuple[int, int, int, int]  # lineno, col, end_lineno, end_col of the Call node
    keys: list[str] = field(default_factory=list)


@dataclass
class Entry:
    key: str
    texts: dict[str, str]
    where: str  # path:line of the call


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def record() -> tuple[list[Entry], dict[tuple[Path, tuple[int, int, int, int]], list[str]], dict[Path, set[str]]]:
    """Import every module with ``i18n.define`` recorded. Returns the entries, the keys registered by each
    call site (the define call in a module body, or the call of the wrapper that made it), and the names of
    the wrapper functions of each file."""
    sys.path.insert(0, str(SRC.parent))
    from budgetclimat import i18n

    if not hasattr(i18n, "define"):
        return [], {}, {}
    entries: list[Entry] = []
    sites: dict[tuple[Path, tuple[int, int, int, int]], list[str]] = {}
    wrappers: dict[Path, set[str]] = {}
    real = i18n.define

    def recorder(key, fr, en, *, title_fr="", title_en=""):
        frame = sys._getframe(1)
        path = Path(frame.f_code.co_filename).resolve()
        if frame.f_code.co_name != "<module>":  # a wrapper: the site is where the module calls it
            name, wrapper_path = frame.f_code.co_name, path
            wrappers.setdefault(path, set()).add(name)
            frame = frame.f_back
            path = Path(frame.f_code.co_filename).resolve()
            if frame.f_code.co_name != "<module>":
                raise ExtractError(f"{path}:{frame.f_lineno}: define() called through two functions; convert it by hand")
            if path != wrapper_path and not _wrapper(_function(wrapper_path, name)).pure:
                raise ExtractError(f"{path}:{frame.f_lineno}: {name}() of another module registers a text and does more; convert it by hand")
        positions = list(frame.f_code.co_positions())[frame.f_lasti // 2]
        span = (positions[0], positions[2], positions[1], positions[3])
        sites.setdefault((path, span), []).append(key)
        texts = {"fr": fr, "en": en, "title_fr": title_fr, "title_en": title_en}
        entries.append(Entry(key, texts, f"{path.relative_to(ROOT)}:{span[0]}"))
        return key  # not registered: a conflict with the catalogue files is reported by merge(), naming both places

    i18n.define = recorder
    try:
        for path in sorted(SRC.rglob("*.py")):
            if path.name != "__main__.py":
                importlib.import_module(_module_name(path))
    finally:
        i18n.define = real
    return entries, sites, wrappers


# -- 2. the source edits --------------------------------------------------------------------------------


def _function(path: Path, name: str) -> ast.FunctionDef:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == name]
    if not found:
        raise ExtractError(f"{path}: define() called from {name}(), which is not a module-level function; convert it by hand")
    return found[0]


def _is_define(func: ast.AST) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "define" and isinstance(func.value, ast.Name)
            and func.value.id == "i18n")


def _span(node: ast.AST) -> tuple[int, int, int, int]:
    return node.lineno, node.col_offset, node.end_lineno, node.end_col_offset


class Source:
    """A file's text with edits by (line, column) spans, applied at the end from the last to the first."""

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8") if text is None else text
        self.tree = ast.parse(self.text, filename=str(path))
        lines = self.text.splitlines(keepends=True)
        self.starts = [0]
        for line in lines:
            self.starts.append(self.starts[-1] + len(line))
        self.lines = lines
        self.edits: list[tuple[int, int, str]] = []

    def offset(self, line: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets
        return self.starts[line - 1] + len(self.lines[line - 1].encode("utf-8")[:col].decode("utf-8"))

    def replace(self, node: ast.AST, text: str) -> None:
        self.edits.append((self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset), text))

    def delete_statement(self, node: ast.stmt, comments: bool = True) -> None:
        """Delete a statement's whole lines, and (``comments``) the comment lines right above it."""
        first = node.lineno
        decorators = getattr(node, "decorator_list", [])
        if decorators:
            first = min(first, *(d.lineno for d in decorators))
        while comments and first > 1 and self.lines[first - 2].lstrip().startswith("#"):
            first -= 1
        self.edits.append((self.starts[first - 1], self.starts[node.end_lineno], GAP))

    def delete_range(self, start: int, end: int) -> None:
        self.edits.append((start, end, ""))

    def result(self) -> str:
        edits = sorted(set(self.edits), key=lambda e: (e[0], -e[1]))
        kept: list[tuple[int, int, str]] = []
        for start, end, text in edits:
            if kept and start < kept[-1][1]:
                if end <= kept[-1][1] and kept[-1][2] in ("", GAP):
                    continue  # inside a deleted range
                raise ExtractError(f"{self.path}: overlapping edits at offset {start}")
            kept.append((start, end, text))
        out = self.text
        for start, end, text in reversed(kept):
            out = out[:start] + text + out[end:]
        return _close_gaps(out)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _calls(tree: ast.AST) -> dict[tuple[int, int, int, int], ast.Call]:
    return {_span(n): n for n in ast.walk(tree) if isinstance(n, ast.Call)}


def _module_statement(node: ast.AST, parents: dict) -> ast.stmt:
    while not isinstance(parents.get(node), ast.Module):
        node = parents[node]
    return node  # type: ignore[return-value]


def _literal_define(call: ast.Call) -> dict[str, str] | None:
    """The texts of a ``define`` call with literal arguments, else None."""
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except ValueError:
        return None
    names = ["key", "fr", "en"]
    values = dict(zip(names, args)) | kwargs
    if not all(isinstance(values.get(n), str) for n in names):
        return None
    return {"key": values["key"], **{f: values.get(f, "") for f in TEXT_FIELDS}}


@dataclass
class Wrapper:
    node: ast.FunctionDef
    pure: bool  # nothing but the define (and a docstring): its calls go like define's
    dropped: list[int]  # positional indexes of the parameters only the define used (impure wrappers)
    dropped_names: set[str]
    define_stmt: ast.stmt


def _wrapper(node: ast.FunctionDef) -> Wrapper:
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    define_stmts = [s for s in body if any(isinstance(n, ast.Call) and _is_define(n.func) for n in ast.walk(s))]
    if len(define_stmts) != 1:
        raise ExtractError(f"function {node.name} (line {node.lineno}) calls define() {len(define_stmts)} times; convert it by hand")
    stmt = define_stmts[0]
    pure = len(body) == 1 and isinstance(stmt, (ast.Expr, ast.Return)) and isinstance(stmt.value, ast.Call) and _is_define(stmt.value.func)
    params = [a.arg for a in node.args.args]
    used_in_define = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    used_elsewhere = {n.id for s in body if s is not stmt for n in ast.walk(s) if isinstance(n, ast.Name)}
    dropped = [i for i, p in enumerate(params) if p in used_in_define and p not in used_elsewhere]
    if not pure and isinstance(stmt, ast.Return):
        raise ExtractError(f"function {node.name} (line {node.lineno}) returns define() and does more; convert it by hand")
    return Wrapper(node, pure, dropped, {params[i] for i in dropped}, stmt)


def _loaded_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)}


def _bound_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return [stmt.targets[0].id]
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    return []


def _used_elsewhere(name: str, path: Path, texts: dict[Path, str]) -> bool:
    """Whether another file (its new text) imports a module-level name or reads it as an attribute."""
    for other, text in texts.items():
        if other == path or name not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute) and node.attr == name:
                return True
            if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
                return True
    return False


def _prune(path: Path, before: str, after: str, texts: dict[Path, str]) -> str:
    """Remove module-level names that ``before`` used and ``after`` no longer does (imports, private constants
    and functions), repeatedly."""
    used_before = _loaded_names(ast.parse(before))
    for _ in range(5):
        source = Source(path, after)
        used = _loaded_names(source.tree)
        for stmt in source.tree.body:
            names = _bound_names(stmt)
            gone = [n for n in names if n in used_before and n not in used]
            if not gone:
                continue
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                    continue
                keep = [a for a in stmt.names if (a.asname or a.name).split(".")[0] not in gone]
                if not keep:
                    source.delete_statement(stmt, comments=False)
                elif isinstance(stmt, ast.ImportFrom):
                    names_text = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in keep)
                    line = source.lines[stmt.lineno - 1]
                    indent = line[: len(line) - len(line.lstrip())]
                    start = source.starts[stmt.lineno - 1]
                    source.edits.append((start, source.starts[stmt.end_lineno], f"{indent}from {'.' * stmt.level}{stmt.module or ''} import {names_text}\n"))
                else:
                    raise ExtractError(f"{path}:{stmt.lineno}: import to trim by hand")
            elif all(n.startswith("_") and not _used_elsewhere(n, path, texts) for n in names):
                source.delete_statement(stmt)
        if not source.edits:
            return after
        after = source.result()
    return after


def _close_gaps(text: str) -> str:
    """Where whole lines were deleted (marked GAP), keep as many blank lines as the larger side had (at most
    two), so that the rest of the file keeps its layout; one newline at the end of the file."""
    if GAP not in text:
        return text

    def gap(match: re.Match) -> str:
        before, after = match.group(1), match.group(2)
        if match.start() == 0:
            return ""
        if match.end() == len(match.string):
            return "\n" if before else ""
        blank = min(2, max(len(before) - 1, len(after)))
        return "\n" * (1 + blank) if before else "\n" * blank

    while GAP in text:
        text = re.sub(r"(\n*)" + GAP + r"(\n*)", gap, text, count=1)
    return text.rstrip("\n") + "\n"


def _strip_transitional(text: str, path: Path) -> str:
    if BEGIN not in text:
        return text
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.strip() == BEGIN:
            skipping = True
            out.append(GAP)
        elif line.strip() == END:
            if not skipping:
                raise ExtractError(f"{path}: '{END}' without its begin")
            skipping = False
        elif not skipping:
            out.append(line)
    if skipping:
        raise ExtractError(f"{path}: '{BEGIN}' without its end")
    return _close_gaps("".join(out))


def _quoted(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)  # the double quotes of the code base


def rewrite(path: Path, sites: dict, wrappers: set[str], entries: list[Entry]) -> str | None:
    """The new text of a file without its define calls (None: unchanged); unused names are pruned later.
    Literal defines that no import ran are added to ``entries``."""
    source = Source(path)
    tree = source.tree
    parents = _parents(tree)
    calls = _calls(tree)
    functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
    info = {name: _wrapper(functions[name]) for name in wrappers}
    site_calls = {span: calls[span] for (p, span) in sites if p == path}
    missing = [span for (p, span) in sites if p == path and span not in calls]
    if missing:
        raise ExtractError(f"{path}: no call found at {missing[0]}")

    # defines the imports did not run (in functions): literal ones are read from the source
    for call in calls.values():
        if not _is_define(call.func) or _span(call) in site_calls:
            continue
        owner = _module_statement(call, parents)
        if isinstance(owner, ast.FunctionDef) and owner.name in info:
            continue  # the wrapper's own define
        texts = _literal_define(call)
        if texts is None:
            raise ExtractError(f"{path.relative_to(ROOT)}:{call.lineno}: define() with computed arguments that no import runs; convert it by hand")
        key = texts.pop("key")
        entries.append(Entry(key, texts, f"{path.relative_to(ROOT)}:{call.lineno}"))
        site_calls[_span(call)] = call
        sites[(path, _span(call))] = [key]

    if not site_calls and not info:
        return None

    def call_name(call: ast.Call) -> str | None:
        return call.func.id if isinstance(call.func, ast.Name) else None

    loops_done: set[int] = set()
    for span, call in site_calls.items():
        keys = sites[(path, span)]
        wrapper = info.get(call_name(call) or "")
        parent = parents[call]
        statement = _module_statement(call, parents)
        if isinstance(statement, ast.For) and isinstance(parent, ast.Expr) and parents[parent] is statement:
            body_ok = all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and _span(s.value) in site_calls for s in statement.body)
            if not body_ok or statement.orelse:
                raise ExtractError(f"{path.relative_to(ROOT)}:{statement.lineno}: a loop that does more than define texts; convert it by hand")
            if id(statement) not in loops_done:
                loops_done.add(id(statement))
                source.delete_statement(statement)
            continue
        if wrapper is not None and not wrapper.pure:
            # keep the call, drop the arguments only the define used
            _drop_arguments(source, call, wrapper)
            continue
        if isinstance(parent, ast.Expr):
            if isinstance(parents.get(parent), ast.Module) or len(_body_of(parent, parents)) > 1:
                source.delete_statement(parent)
            else:
                source.replace(parent, "pass")
            continue
        if len(set(keys)) != 1:
            raise ExtractError(f"{path.relative_to(ROOT)}:{call.lineno}: a define used as a value registers several keys")
        if wrapper is not None and not isinstance(wrapper.define_stmt, ast.Return):
            raise ExtractError(f"{path.relative_to(ROOT)}:{call.lineno}: the value of {wrapper.node.name}() is used but it returns nothing")
        source.replace(call, _quoted(keys[0]))

    for wrapper in info.values():
        if not wrapper.pure:
            source.delete_statement(wrapper.define_stmt)
            _drop_parameters(source, wrapper)
    return source.result()


def _body_of(stmt: ast.stmt, parents: dict) -> list[ast.stmt]:
    parent = parents[stmt]
    for name in ("body", "orelse", "finalbody"):
        body = getattr(parent, name, None)
        if isinstance(body, list) and stmt in body:
            return body
    return [stmt]


def _drop_arguments(source: Source, call: ast.Call, wrapper: Wrapper) -> None:
    """Delete the positional arguments only the define used: each run of them up to the next kept argument
    (or, for a run at the end, from the end of the argument before it)."""
    args = list(call.args)
    dropped = [i for i in wrapper.dropped if i < len(args)]
    runs: list[list[int]] = []
    for i in dropped:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        first, last = args[run[0]], args[run[-1]]
        nxt = args[run[-1] + 1] if run[-1] + 1 < len(args) else (call.keywords[0] if call.keywords else None)
        if nxt is not None:
            end = _keyword_start(source, nxt) if isinstance(nxt, ast.keyword) else source.offset(nxt.lineno, nxt.col_offset)
            source.delete_range(source.offset(first.lineno, first.col_offset), end)
        elif run[0] > 0:
            previous = args[run[0] - 1]
            source.delete_range(source.offset(previous.end_lineno, previous.end_col_offset), source.offset(last.end_lineno, last.end_col_offset))
        else:
            raise ExtractError(f"{source.path}:{call.lineno}: every argument of {wrapper.node.name}() goes; convert it by hand")
    for kw in call.keywords:
        if kw.arg in wrapper.dropped_names:
            raise ExtractError(f"{source.path}:{call.lineno}: keyword {kw.arg}= of {wrapper.node.name}() to remove by hand")


def _keyword_start(source: Source, kw: ast.keyword) -> int:
    start = source.offset(kw.value.lineno, kw.value.col_offset)
    head = source.text[:start]
    match = re.search(rf"{re.escape(kw.arg)}\s*=\s*$", head) if kw.arg else re.search(r"\*\*\s*$", head)
    return start - len(match.group(0)) if match else start


def _drop_parameters(source: Source, wrapper: Wrapper) -> None:
    params = wrapper.node.args.args
    for i in wrapper.dropped:
        node = params[i]
        start = source.offset(node.lineno, node.col_offset)
        end = source.offset(node.end_lineno, node.end_col_offset)
        rest = source.text[end:]
        match = re.match(r"\s*,\s*", rest)
        source.delete_range(start, end + (match.end() if match else 0))


# -- 3. the catalogue files -----------------------------------------------------------------------------


def read_catalogue() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for path in sorted(MESSAGES.glob("*.yaml")):
        out[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return out


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # French is full of apostrophes: double quotes read better than YAML's doubled single quotes
    style = '"' if "'" in value and '"' not in value and "\\" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(entries: dict[str, dict]) -> str:
    order = ("fr", "en", "title_fr", "title_en", "section", "level", "exit")
    clean = {k: {f: v[f] for f in order if v.get(f) not in (None, "")} for k, v in entries.items()}
    return yaml.dump(clean, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=False)


def merge(files: dict[str, dict[str, dict]], entries: list[Entry], stages: dict[str, str]) -> list[str]:
    """Add the recorded entries to the catalogue files; returns the conflicts (nothing is merged then)."""
    where = {k: (stage, v) for stage, data in files.items() for k, v in data.items()}
    seen: dict[str, Entry] = {}
    conflicts = []
    for entry in entries:
        texts = {f: entry.texts.get(f, "") or "" for f in TEXT_FIELDS}
        if entry.key in where:
            stage, known = where[entry.key]
            if {f: known.get(f, "") or "" for f in TEXT_FIELDS} != texts:
                conflicts.append(f"{entry.key}: messages/{stage}.yaml and {entry.where} give different texts")
            continue
        if entry.key in seen:
            if {f: seen[entry.key].texts.get(f, "") or "" for f in TEXT_FIELDS} != texts:
                conflicts.append(f"{entry.key}: {seen[entry.key].where} and {entry.where} give different texts")
            continue
        seen[entry.key] = entry
    if conflicts:
        return conflicts
    documented = gen_errors_doc.parse_current()
    uses = catalogue_usage.scan()
    exits, levels = catalogue_usage.exit_codes(uses), catalogue_usage.levels(uses)
    for key, entry in seen.items():
        stage = stages[key]
        values = {f: entry.texts.get(f, "") for f in TEXT_FIELDS}
        if "." not in key:
            section, level = documented.get(key, (gen_errors_doc.DEFAULT_SECTION, ""))
            values |= {"section": section, "level": level or levels.get(key, ""), "exit": exits.get(key)}
        files.setdefault(stage, {})[key] = values
    for data in files.values():  # every code: a missing exit code or level is taken from the code that uses it
        for key, values in data.items():
            if "." not in key and values.get("exit") is None and key in exits:
                values["exit"] = exits[key]
            if "." not in key and not values.get("level") and key in levels:
                values["level"] = levels[key]
    return []


def _left(path: Path) -> bool:
    """Whether a file still has a define(...) call or a transitional block."""
    text = path.read_text(encoding="utf-8")
    if any(line.strip() == BEGIN for line in text.splitlines()):
        return True
    return any(isinstance(n, ast.Call) and _is_define(n.func) for n in ast.walk(ast.parse(text)))


def main() -> int:
    check = "--check" in sys.argv
    if check:
        left = [p.relative_to(ROOT).as_posix() for p in sorted([*SRC.rglob("*.py"), *(ROOT / "tests").rglob("*.py")]) if _left(p)]
        for name in left:
            print(f"define() or transitional block left in {name}", file=sys.stderr)
        return 1 if left else 0
    try:
        entries, sites, wrappers = record()
        new_texts: dict[Path, str] = {}
        files_with_sites = {p for (p, _) in sites} | set(wrappers)
        for path in sorted(SRC.rglob("*.py")):
            path = path.resolve()
            if path == (SRC / "i18n.py").resolve():
                continue
            text = path.read_text(encoding="utf-8")
            if path not in files_with_sites and "define(" not in text:
                continue
            new = rewrite(path, sites, wrappers.get(path, set()), entries)
            if new is not None and new != text:
                new_texts[path] = new
        texts = {p.resolve(): p.read_text(encoding="utf-8") for p in [*SRC.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")]}
        originals = dict(texts)
        texts.update(new_texts)
        for _ in range(5):  # until no file changes: pruning one file may free a name of another
            changed = False
            for path in sorted(new_texts):
                pruned = _prune(path, originals[path], new_texts[path], texts)
                changed |= pruned != new_texts[path]
                texts[path] = new_texts[path] = pruned
            if not changed:
                break
        stages = {}
        for entry in entries:
            stages.setdefault(entry.key, stage_of(ROOT / entry.where.split(":")[0]))
        files = read_catalogue()
        conflicts = merge(files, entries, stages)
        if conflicts:
            raise ExtractError("conflicting texts, nothing written:\n  " + "\n  ".join(conflicts))
        for path in [*SRC.rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
            path = path.resolve()
            text = new_texts.get(path, path.read_text(encoding="utf-8"))
            stripped = _strip_transitional(text, path)
            if stripped != text:
                new_texts[path] = stripped
    except ExtractError as exc:
        print(f"extract_catalogue: {exc}", file=sys.stderr)
        return 1
    MESSAGES.mkdir(exist_ok=True)
    for stage, data in sorted(files.items()):
        (MESSAGES / f"{stage}.yaml").write_text(gen_errors_doc.HEADER.format(stage=stage) + dump(data), encoding="utf-8")
    for path, text in sorted(new_texts.items()):
        path.write_text(text, encoding="utf-8")
        print(f"rewrote {path.relative_to(ROOT)}")
    print(f"{len({e.key for e in entries})} texts moved into {MESSAGES.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
