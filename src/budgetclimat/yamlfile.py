"""Reading a YAML file: the one parser of every YAML file budgetclimat reads (rulebooks, crosswalks, profiles,
services, trajectories, territory tables, VAT tables, annex definitions).

:func:`load_file` parses safely and remembers line numbers, so that every error can name its line: mappings
load as :class:`MDict` (``.line``: line of the mapping, ``.key_lines``: line of each key) and sequences as
:class:`MList` (``.line``, ``.item_lines``); :func:`line_at` finds the line of a key path. Integers keep the
text they were written as (:class:`RawInt`): ``chapitre: 011`` must stay ``"011"``, not become the octal 9.
A file that cannot be parsed, is not UTF-8 or repeats a key in one mapping raises :class:`ConfigError`
``yaml-invalid`` or ``yaml-duplicate-key`` with file, line and column, the parser's problem in the user's
language (exit 2).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from budgetclimat import i18n
from budgetclimat.errors import ConfigError

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class MDict(dict):
    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class MList(list):
    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class RawInt(int):
    raw: str = ""


class DuplicateKey(yaml.YAMLError):
    def __init__(self, key: str, line: int, column: int = 1, first: int = 0) -> None:
        super().__init__(key)
        self.key = key
        self.line = line
        self.column = column
        self.first = first


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pass


def _mapping(loader, node):
    loader.flatten_mapping(node)
    out = MDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, RawInt):
            key = key.raw
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        if key in out:
            raise DuplicateKey(str(key), key_node.start_mark.line + 1, key_node.start_mark.column + 1, out.key_lines.get(key, 0))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader, node):
    out = MList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _int(loader, node):
    value = RawInt(yaml.SafeLoader.construct_yaml_int(loader, node))
    value.raw = node.value
    return value


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)
_Loader.add_constructor("tag:yaml.org,2002:int", _int)


def load(text: str):
    """Parse one YAML document. Raises ``yaml.YAMLError`` (with ``problem_mark``) or :class:`DuplicateKey`."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def load_file(path: str | Path):
    """The YAML document of ``path`` (``None`` when empty), with line numbers. Every problem is a
    :class:`ConfigError` naming the file: ``file-not-found``, ``yaml-invalid`` (syntax, not UTF-8, unreadable;
    with line and column) or ``yaml-duplicate-key``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file-not-found", path=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError("yaml-invalid", file=str(path), line=1, column=1, problem=exc.strerror or str(exc)) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError("yaml-invalid", file=str(path), line=line, column=column, problem=_not_utf8(data[exc.start : exc.start + 1])) from None
    try:
        return load(text)
    except DuplicateKey as exc:
        raise ConfigError("yaml-duplicate-key", file=str(path), line=exc.line, column=exc.column, key=exc.key, first=exc.first) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        lines = text.splitlines()
        found = lines[line - 1][column - 1 : column] if mark is not None and line <= len(lines) else ""
        raise ConfigError("yaml-invalid", file=str(path), line=line, column=column, problem=problem_text(exc, found)) from None


def line_at(data, path) -> int:
    """The line of a key path in a document loaded by :func:`load_file`: ``("vat", "rates", 0, "rate")`` or
    ``"vat.rates[0].rate"``. A key that is not there gives the line of the deepest one that is (1 at worst)."""
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)] if isinstance(path, str) else list(path)
    node, found = data, getattr(data, "line", 0) or 1
    for key in keys:
        if isinstance(node, MDict) and key in node:
            found, node = node.line_of(key), node[key]
        elif isinstance(node, MDict) and str(key) in node:
            found, node = node.line_of(str(key)), node[str(key)]
        elif isinstance(node, MList) and isinstance(key, int) and 0 <= key < len(node):
            found, node = node.line_of(key), node[key]
        else:
            break
    return found


# The parser's problems (PyYAML's English texts), as a reader would fix them.
_PROBLEMS = [
    (r"found character '(.*)' that cannot start any token", "caractère « {0} » inattendu à cet endroit", "unexpected character '{0}' here"),
    (r"found character that cannot start any token", "caractère inattendu à cet endroit", "unexpected character here"),
    (r"mapping values are not allowed",
     "« : » inattendu ici (indentation décalée, ou une valeur contenant « : » à mettre entre guillemets)",
     "':' not allowed here (wrong indentation, or a value containing ':' that needs quotes)"),
    (r"could not find expected ':'", "« : » attendu après une clé (indentation décalée ?)", "':' expected after a key (wrong indentation?)"),
    (r"expected <block end>, but found '(.*)'", "indentation incorrecte : ce bloc n'est pas aligné sur le précédent", "wrong indentation: this block is not aligned with the previous one"),
    (r"did not find expected key", "clé attendue : indentation incorrecte", "a key was expected: wrong indentation"),
    (r"did not find expected '-' indicator", "« - » attendu : élément de liste mal aligné", "'-' expected: list item not aligned"),
    (r"found undefined alias", "alias (*nom) jamais défini (&nom)", "alias (*name) never defined (&name)"),
    (r"found unexpected end of stream", "fin de fichier inattendue (guillemet non fermé ?)", "unexpected end of file (unclosed quote?)"),
    (r"expected ',' or '\]'", "« , » ou « ] » attendu (liste entre crochets non fermée ?)", "',' or ']' expected (unclosed bracket list?)"),
    (r"expected ',' or '\}'", "« , » ou « } » attendu (bloc entre accolades non fermé ?)", "',' or '}' expected (unclosed brace block?)"),
    (r"found unknown escape character", "séquence d'échappement inconnue entre guillemets doubles (utilisez des guillemets simples)",
     "unknown escape sequence in double quotes (use single quotes)"),
    (r"could not determine a constructor for the tag '(.*)'", "étiquette « {0} » non permise", "tag '{0}' not allowed"),
    (r"found unhashable key", "une liste ou un bloc ne peut pas servir de clé", "a list or a mapping cannot be a key"),
]


def problem_text(exc: yaml.YAMLError, found: str = "", lang: str | None = None) -> str:
    """The parser's problem in ``lang`` (default: the current language); ``found``: the character at the
    problem's mark (a tab there is the usual mistake, whatever the parser says)."""
    problem = str(getattr(exc, "problem", None) or exc).strip()
    english = (lang or i18n.language()) == "en"
    if found == "\t":
        return "a tab where YAML expects spaces (indent with spaces)" if english else "une tabulation là où YAML attend des espaces (indentez avec des espaces)"
    for pattern, fr, en in _PROBLEMS:
        found = re.search(pattern, problem)
        if found:
            text = en if english else fr
            return text.replace("{0}", found.group(1)) if found.groups() else text
    return problem if english else f"erreur de syntaxe ({problem})"


def _not_utf8(byte: bytes) -> str:
    if i18n.language() == "en":
        return f"the file is not UTF-8 (byte 0x{byte.hex()}); save it as UTF-8"
    return f"le fichier n'est pas en UTF-8 (octet 0x{byte.hex()}) ; enregistrez-le en UTF-8"
