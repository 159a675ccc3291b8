"""Safe YAML loading that remembers line numbers, so that every rulebook error can name its line.

Mappings load as :class:`MDict` (``.line``: line of the mapping, ``.key_lines``: line of each key) and
sequences as :class:`MList` (``.line``, ``.item_lines``). Integers keep the text they were written as
(:class:`RawInt`): ``chapitre: 011`` must stay ``"011"``, not become the octal 9.
"""

from __future__ import annotations

import yaml

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
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


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
            raise DuplicateKey(str(key), key_node.start_mark.line + 1)
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
