"""User-facing text in French (default) and English.

Every message and workbook label has a stable key. The texts live in a static catalogue,
``budgetclimat/messages/*.yaml`` (one file per stage of the pipeline), that this module loads itself on
first use: :func:`t` works without importing any other module of the library, and
``budgetclimat errors`` lists the catalogue without importing the library. ``docs/errors.md`` is
generated from the same files (``scripts/gen_errors_doc.py``). Code and identifiers are English; only
what users read is translated.

A catalogue entry is a mapping with ``fr`` and ``en`` (the message template or the label) and, for
catalogue codes (undotted keys), optionally ``title_fr``/``title_en``, the ``section`` of
``docs/errors.md`` it is listed under, the ``level`` of the finding (error / warning / info) and the
``exit`` code of the exception that carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LANGUAGES = ("fr", "en")
_current = "fr"

MESSAGES_DIR = Path(__file__).resolve().parent / "messages"
# The catalogue files are read in the order of the pipeline (then any other file, by name): the order of the
# rows of docs/errors.md within a section. `budgetclimat errors` sorts by code.
STAGES = ("foundation", "nomenclature", "read", "validate", "rulebook", "engine", "views", "export", "pipeline", "cli")
FIELDS = ("fr", "en", "title_fr", "title_en", "section", "level", "exit")


@dataclass(frozen=True)
class Text:
    key: str
    fr: str
    en: str
    title_fr: str = ""
    title_en: str = ""
    section: str = ""
    level: str = ""
    exit: int | None = None
    source: str = ""  # the catalogue file that defines it (messages/read.yaml)


_CATALOGUE: dict[str, Text] | None = None


def _load() -> dict[str, Text]:
    """Read every catalogue file (C YAML loader when available). A malformed entry is a bug of the package:
    it raises naming the file and the key."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: dict[str, Text] = {}
    paths = sorted(MESSAGES_DIR.glob("*.yaml"), key=lambda p: (STAGES.index(p.stem) if p.stem in STAGES else len(STAGES), p.name))
    for path in paths:
        where = f"messages/{path.name}"
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a mapping of keys to texts")
        for key, entry in data.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("fr"), str) or not isinstance(entry.get("en"), str):
                raise ValueError(f"{where}, key {key!r}: expected a mapping with fr and en texts")
            unknown = set(entry) - set(FIELDS)
            if unknown:
                raise ValueError(f"{where}, key {key!r}: unknown field(s) {sorted(unknown)} (expected: {', '.join(FIELDS)})")
            if key in out:
                raise ValueError(f"text key {key!r} defined twice: {out[key].source} and {where}")
            out[key] = Text(str(key), **entry, source=where)
    return out


def _catalogue() -> dict[str, Text]:
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = _load()
    return _CATALOGUE


def set_language(lang: str) -> None:
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    _current = lang


def language() -> str:
    return _current


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """The text for ``key`` in ``lang`` (default: the current language), formatted with ``params``.

    Missing parameters stay visible as ``{name}`` rather than raising: a message must never crash.
    """
    text = _catalogue().get(key)
    if text is None:
        return key
    template = text.en if (lang or _current) == "en" else text.fr
    return template.format_map(_Lenient(params))  # (str.format's own parser: what string.Formatter does, in C)


def title(key: str, lang: str | None = None) -> str:
    text = _catalogue().get(key)
    if text is None:
        return key
    return (text.title_en if (lang or _current) == "en" else text.title_fr) or key


def catalogue() -> dict[str, Text]:
    return dict(_catalogue())
