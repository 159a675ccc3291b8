"""User-facing text in French (default) and English.

Every message and workbook label has a stable key. Modules register their own texts at import time
with :func:`define`, so the catalogue lives next to the code that uses it while staying one registry
(``budgetclimat errors`` lists it). Code and identifiers are English; only what users read is translated.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

LANGUAGES = ("fr", "en")
_current = "fr"


@dataclass(frozen=True)
class Text:
    key: str
    fr: str
    en: str
    title_fr: str = ""
    title_en: str = ""


_CATALOGUE: dict[str, Text] = {}


def define(key: str, fr: str, en: str, *, title_fr: str = "", title_en: str = "") -> str:
    """Register a text (message template or label) and return its key."""
    known = _CATALOGUE.get(key)
    text = Text(key, fr, en, title_fr, title_en)
    if known is not None and known != text:
        raise ValueError(f"text key {key!r} defined twice with different texts")
    _CATALOGUE[key] = text
    return key


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
    text = _CATALOGUE.get(key)
    if text is None:
        return key
    template = text.en if (lang or _current) == "en" else text.fr
    return string.Formatter().vformat(template, (), _Lenient(params))


def title(key: str, lang: str | None = None) -> str:
    text = _CATALOGUE.get(key)
    if text is None:
        return key
    return (text.title_en if (lang or _current) == "en" else text.title_fr) or key


def catalogue() -> dict[str, Text]:
    return dict(_CATALOGUE)
