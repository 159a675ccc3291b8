"""The safe regex subset of rulebooks (``docs/rulebooks.md``): no catastrophic backtracking possible.

Two layers. The pattern is parsed by Python's own regex parser and its tree walked: only literals,
``.``, classes, ``\\d \\w \\s \\b``, groups, alternation, anchors and bounded quantifiers (≤ 50) are
allowed, and a quantified item may not itself contain a quantifier. That subset keeps patterns readable
but is not what makes them safe: ``(a|a)+$`` passes it and backtracks exponentially in Python's engine.
The guarantee comes from the engine: patterns are evaluated by RE2 (through ``pyarrow.compute``, a
linear-time automaton, no backtracking), so one evaluation takes time proportional to the label's length
whatever the pattern; a pattern RE2 cannot compile is refused at load (:func:`check`).

Labels are compared normalised (accents, case and repeated spaces removed); so are the keywords and the
patterns a rule gives (:func:`normalise_text`, :func:`evaluated_pattern`).
"""

from __future__ import annotations

import re
import unicodedata

try:  # Python ≥ 3.11
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

MAX_REPEAT = 50

_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT} | ({getattr(_c, "POSSESSIVE_REPEAT")} if hasattr(_c, "POSSESSIVE_REPEAT") else set())
_ALLOWED_CATEGORIES = {
    _c.CATEGORY_DIGIT,
    _c.CATEGORY_NOT_DIGIT,
    _c.CATEGORY_WORD,
    _c.CATEGORY_NOT_WORD,
    _c.CATEGORY_SPACE,
    _c.CATEGORY_NOT_SPACE,
}
_ALLOWED_AT = {_c.AT_BEGINNING, _c.AT_END, _c.AT_BEGINNING_STRING, _c.AT_END_STRING, _c.AT_BOUNDARY, _c.AT_NON_BOUNDARY}


class UnsafeRegex(ValueError):
    """Why a pattern is outside the safe subset (a short English reason, translated by the caller)."""


def check(pattern: str) -> None:
    """Raise :class:`UnsafeRegex` if ``pattern`` is invalid or outside the safe subset."""
    try:
        tree = _parser.parse(pattern)
    except Exception as exc:  # re.error, but also RecursionError/OverflowError on pathological input
        raise UnsafeRegex(f"invalid regex: {exc}") from exc
    _walk(tree, inside_repeat=False)
    _re2_compiles(pattern)
    evaluated = evaluated_pattern(pattern)
    if evaluated != pattern:
        _re2_compiles(evaluated)


def normalise_text(text: str) -> str:
    """A keyword or pattern as labels are compared: accents, case and repeated spaces removed (NFKD,
    combining marks dropped, lower case, typographic apostrophes as ``'``)."""
    s = unicodedata.normalize("NFKD", text)
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).lower()
    s = re.sub("[\u2019\u2018`´]", "'", s)
    return re.sub(r"\s+", " ", s).strip()


def evaluated_pattern(pattern: str) -> str:
    """The pattern as evaluated on normalised labels (lower case, accents removed)."""
    return normalise_text(pattern) if not _has_escape_letters(pattern) else pattern


def _has_escape_letters(pattern: str) -> bool:
    # Lower-casing would turn \D, \W, \S, \B into their opposites: keep such patterns as written
    # (IGNORECASE still applies); accents in their literals are then the author's responsibility.
    return bool(re.search(r"\\[DWSB]", pattern))


def _re2_compiles(pattern: str) -> None:
    import pyarrow as pa

    try:
        contains(pa.array([""], type=pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        detail = str(exc).removeprefix("Invalid regular expression: ")
        raise UnsafeRegex(f"not accepted by the RE2 engine: {detail}") from None


def contains(values, pattern: str):
    """Where ``pattern`` matches in ``values`` (a pyarrow string array): RE2, case ignored, linear time."""
    import pyarrow.compute as pc

    return pc.match_substring_regex(values, pattern=pattern, ignore_case=True)


def _walk(items, inside_repeat: bool) -> None:
    for op, arg in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY):
            continue
        if op == _c.IN:
            for sub_op, sub_arg in arg:
                if sub_op == _c.CATEGORY and sub_arg not in _ALLOWED_CATEGORIES:
                    raise UnsafeRegex("character category not allowed")
            continue
        if op == _c.AT:
            if arg not in _ALLOWED_AT:
                raise UnsafeRegex("anchor not allowed")
            continue
        if op == _c.BRANCH:
            for branch in arg[1]:
                _walk(branch, inside_repeat)
            continue
        if op == _c.SUBPATTERN:
            group, add_flags, del_flags, sub = arg
            if add_flags or del_flags:
                raise UnsafeRegex("inline flags not allowed")
            _walk(sub, inside_repeat)
            continue
        if op in _REPEATS:
            low, high, sub = arg
            if inside_repeat:
                raise UnsafeRegex("nested repetition (a quantified group containing a quantifier)")
            if high == _c.MAXREPEAT:
                if low > MAX_REPEAT:
                    raise UnsafeRegex(f"repeat count above {MAX_REPEAT}")
            elif high > MAX_REPEAT or low > MAX_REPEAT:
                raise UnsafeRegex(f"repeat count above {MAX_REPEAT}")
            _walk(sub, inside_repeat=True)
            continue
        if op in (_c.GROUPREF, getattr(_c, "GROUPREF_EXISTS", None)):
            raise UnsafeRegex("backreference not allowed")
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            raise UnsafeRegex("lookahead/lookbehind not allowed")
        if op == _c.CATEGORY:
            if arg not in _ALLOWED_CATEGORIES:
                raise UnsafeRegex("character category not allowed")
            continue
        raise UnsafeRegex(f"construct not allowed ({str(op).lower()})")
