"""Compile a rule's ``when`` into a boolean mask over a frame (vectorised).

The frame is a *match frame*: one row per distinct combination of the columns the rules test, with
``label`` already normalised (:func:`normalise`) and facts in ``fact:<name>`` columns.

Two evaluators with one meaning: :func:`evaluate` (one pass per condition over the whole frame; explain,
one-line frames) and :class:`Prepared` (the engine's rulebooks: each condition computed once on the
distinct values of its column, read back only for the rows no earlier rule took, and every keyword of
every rule found in one Aho–Corasick pass over the distinct labels, :func:`keyword_hits`).
``tests/test_keyword_automaton.py`` holds them to the same first rule as a per-line Python ``re`` oracle.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from budgetclimat.rulebook.model import All, Any_, Condition, Not, conditions
from budgetclimat.rulebook.saferegex import contains, evaluated_pattern, normalise_text

FACT_PREFIX = "fact:"


# Python's ``\s`` (str patterns: ``str.isspace()``), spelt as the characters themselves: RE2's ``\s`` is
# ASCII only, so pandas sends ``\s`` to Python's ``re`` one label at a time; this class stays in pyarrow.
_SPACE_RUN = "[" + "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "]+"  # none above U+3000


def normalise(values: pd.Series) -> pd.Series:
    """Accents, case and repeated spaces removed (NFKD, combining marks dropped, lower case)."""
    s = values.astype("string").fillna("")
    s = s.str.normalize("NFKD").str.replace("[\u0300-\u036f]", "", regex=True)
    s = s.str.lower().str.replace("[\u2019\u2018`´]", "'", regex=True).str.replace(_SPACE_RUN, " ", regex=True).str.strip()
    return s.astype("string")


def fact_column(name: str) -> str:
    return FACT_PREFIX + name


def columns_of(matcher) -> set[str]:
    """Match-frame columns a matcher reads."""
    return {fact_column(c.column) if c.fact else c.column for c in conditions(matcher)}


def evaluate(matcher, frame: pd.DataFrame, cache: dict | None = None) -> np.ndarray:
    """Boolean mask (numpy) of the rows of ``frame`` the matcher holds for.

    ``cache``: a dict kept by the caller while it evaluates many rules on the SAME frame; a condition
    several rules share (the same column, operator and values) is then computed once."""
    if isinstance(matcher, All):
        mask = np.ones(len(frame), dtype=bool)
        for item in matcher.items:
            mask &= evaluate(item, frame, cache)
        return mask
    if isinstance(matcher, Any_):
        mask = np.zeros(len(frame), dtype=bool)
        for item in matcher.items:
            mask |= evaluate(item, frame, cache)
        return mask
    if isinstance(matcher, Not):
        return ~evaluate(matcher.item, frame, cache)
    if cache is None:
        return _condition(matcher, frame)
    key = (matcher.column, matcher.op, matcher.values, matcher.fact)
    if key not in cache:
        cache[key] = _condition(matcher, frame)
        cache[key].flags.writeable = False  # shared between rules: never modified in place
    return cache[key]


def first_failing(matcher, frame: pd.DataFrame) -> Condition | object | None:
    """For a one-row frame: the first condition (in file order) that makes the matcher fail, or None."""
    if evaluate(matcher, frame).all():
        return None
    if isinstance(matcher, All):
        for item in matcher.items:
            if not evaluate(item, frame).all():
                return first_failing(item, frame)
    return matcher


def describe(matcher) -> str:
    if isinstance(matcher, Condition):
        return matcher.describe()
    if isinstance(matcher, All):
        return " ET ".join(describe(i) for i in matcher.items) or "(toujours)"
    if isinstance(matcher, Any_):
        return "any(" + " OU ".join(describe(i) for i in matcher.items) + ")"
    if isinstance(matcher, Not):
        return "not(" + describe(matcher.item) + ")"
    return str(matcher)


def _bool(series: pd.Series, na: bool) -> np.ndarray:
    return series.to_numpy(dtype=bool, na_value=na)  # boolean, Arrow or numpy results alike; a missing value reads ``na``


def _keyword_pattern(words) -> str:
    return r"\b(?:" + "|".join(re.escape(normalise_text(w)) for w in words) + ")"


def _condition(cond: Condition, frame: pd.DataFrame) -> np.ndarray:
    column = fact_column(cond.column) if cond.fact else cond.column
    values = frame[column]
    op = cond.op
    if op == "in":
        return _bool(values.isin(list(cond.values)), False)
    if op == "not_in":
        return ~_bool(values.isin(list(cond.values)), False)
    if op == "prefix":
        return _bool(values.str.startswith(tuple(cond.values)), False)
    if op == "not_prefix":
        return ~_bool(values.str.startswith(tuple(cond.values)), False)
    if op == "keywords":
        return _bool(values.str.contains(_keyword_pattern(cond.values), regex=True), False)
    if op == "all_keywords":
        mask = np.ones(len(frame), dtype=bool)
        for word in cond.values:
            mask &= _bool(values.str.contains(_keyword_pattern([word]), regex=True), False)
        return mask
    if op == "not_keywords":
        return ~_bool(values.str.contains(_keyword_pattern(cond.values), regex=True), False)
    if op == "regex":
        return _regex(values, evaluated_pattern(cond.values[0]))
    if op == "min":
        return (values.to_numpy(dtype="int64") >= cond.values[0])
    if op == "max":
        return (values.to_numpy(dtype="int64") < cond.values[0])
    if op == "fact_in":
        normalised = values.astype("string").str.strip().str.lower()
        return _bool(normalised.isin([str(v).lower() for v in cond.values]), False)
    if op == "present":
        return values.notna().to_numpy(dtype=bool)
    if op == "absent":
        return values.isna().to_numpy(dtype=bool)
    raise ValueError(f"unknown operator {op!r}")  # the loader never builds one


def _regex(values: pd.Series, pattern: str) -> np.ndarray:
    """RE2 through pyarrow (linear time in the label length, whatever the pattern; case ignored)."""
    import pyarrow as pa

    array = pa.array(values.astype("string").to_numpy(dtype=object, na_value=None), type=pa.string())
    return np.asarray(contains(array, pattern).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


# ---- many rules on one frame: distinct values, open rows, one automaton for every keyword ---------

_KEYWORD_OPS = ("keywords", "all_keywords", "not_keywords")
_SEPARATOR = "\n"  # joins labels for one automaton pass: never in a keyword (normalised: no \s), not a word character
_CHUNK = 1 << 16  # labels per automaton pass (bounds the memory of the haystack and of its code points)
_ASCII_WORD = np.array([chr(c).isalnum() or c == 0x5F for c in range(128)], dtype=bool)


def _is_word(points: np.ndarray) -> np.ndarray:
    """Python's ``\\w`` (str patterns: ``str.isalnum()`` or ``_``) for each code point of ``points``."""
    points = np.asarray(points, dtype=np.uint32)
    out = np.zeros(len(points), dtype=bool)
    ascii_ = points < 128
    out[ascii_] = _ASCII_WORD[points[ascii_]]
    if not ascii_.all():
        rest = np.unique(points[~ascii_])  # a few distinct characters
        word = np.array([chr(int(c)).isalnum() for c in rest], dtype=bool)
        out[~ascii_] = word[np.searchsorted(rest, points[~ascii_])]
    return out


def keyword_hits(texts: list[str], words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(text index, word index)`` of every distinct pair where the word occurs in the text at a word
    start — what ``re.search(r"\\b" + re.escape(word), text)`` finds (Python's Unicode ``\\b``: the
    characters before and at the match differ in being word characters; the start of a text is not one).

    One Aho–Corasick pass (``ahocorasick_rs``) over the texts joined by a newline finds every occurrence
    of every word, overlapping ones included; the boundary is then checked on the code point before each
    occurrence, vectorised. ``words``: distinct, non-empty."""
    import ahocorasick_rs

    if not words or not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    automaton = ahocorasick_rs.AhoCorasick(words)
    first_is_word = _is_word(np.array([ord(w[0]) for w in words], dtype=np.uint32))
    found_text, found_word = [], []
    for begin in range(0, len(texts), _CHUNK):
        chunk = texts[begin : begin + _CHUNK]
        haystack = _SEPARATOR.join(chunk)
        try:
            matches = automaton.find_matches_as_indexes(haystack, overlapping=True)
        except UnicodeEncodeError:  # a lone surrogate (undecodable byte kept by the reader): Python's re on this chunk
            t, w = _keyword_hits_re(chunk, words)
            found_text.append(t + begin)
            found_word.append(w)
            continue
        if not matches:
            continue
        found = np.array(matches, dtype=np.int64).reshape(-1, 3)
        word, start = found[:, 0], found[:, 1]
        points = np.frombuffer(haystack.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        before = np.where(start > 0, points[np.maximum(start - 1, 0)], ord(_SEPARATOR))  # a text's start: the separator
        ok = _is_word(before) != first_is_word[word]
        lengths = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
        found_text.append(np.searchsorted(starts, start[ok], side="right") - 1 + begin)
        found_word.append(word[ok])
    if not found_text:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pair = np.unique(np.concatenate(found_text) * len(words) + np.concatenate(found_word))
    return pair // len(words), pair % len(words)


def _keyword_hits_re(texts: list[str], words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`keyword_hits` by Python's ``re``, text by text (only for a chunk the automaton cannot read)."""
    patterns = [re.compile(r"\b" + re.escape(w)) for w in words]
    pairs = [(t, w) for t, text in enumerate(texts) for w, p in enumerate(patterns) if p.search(text)]
    arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


class Prepared:
    """A match frame prepared for many rules (:func:`budgetclimat.engine.match.first_rule`).

    Each column a condition reads is factorised once: the condition is computed on the column's
    *distinct values* (:func:`_condition`, the same code as :func:`evaluate`) and read back through the
    codes, only for the rows still open. The keyword conditions (``keywords``, ``all_keywords``,
    ``not_keywords``) of every rule given are found together: one automaton over the distinct labels
    (:func:`keyword_hits`), not one regex pass per condition."""

    def __init__(self, frame: pd.DataFrame, matchers=(), parent: "Prepared | None" = None):
        self.frame = frame
        self._parent = parent
        self._codes: dict[str, tuple[np.ndarray, pd.DataFrame]] = {}
        self._masks: dict[tuple, np.ndarray] = {}  # condition -> mask over its column's distinct values
        self._hits: dict[str, tuple[dict[str, int], np.ndarray, np.ndarray]] = {}  # column -> (word index, text, word)
        self._words: dict[str, set[str]] = parent._words if parent is not None else {}
        self._shared: set[str] = set()  # columns equal to the parent's: their masks are the parent's
        self.add(matchers)

    def add(self, matchers) -> None:
        """Declare the keyword words of ``matchers`` (rules or matchers), found in the same pass."""
        for m in matchers:
            for cond in conditions(getattr(m, "when", m)):
                if cond.op in _KEYWORD_OPS and not cond.fact:
                    self._words.setdefault(cond.column, set()).update(normalise_text(w) for w in cond.values)

    def derive(self, frame: pd.DataFrame) -> "Prepared":
        """The same preparation for ``frame``, a copy of this frame with some columns rewritten (a
        crosswalk's :func:`~budgetclimat.rulebook.crosswalk.translate`): a column equal to this frame's is
        not factorised again."""
        return Prepared(frame, parent=self)

    def codes(self, column: str) -> tuple[np.ndarray, pd.DataFrame]:
        if column not in self._codes:
            parent = self._parent
            if parent is not None and parent.frame[column].equals(self.frame[column]):
                self._codes[column] = parent.codes(column)
                self._shared.add(column)
            else:
                values = self.frame[column]
                codes, uniques = pd.factorize(values, use_na_sentinel=False)
                self._codes[column] = (np.asarray(codes, dtype=np.intp), pd.DataFrame({column: pd.Series(uniques, dtype=values.dtype)}))
        return self._codes[column]

    def _keyword_mask(self, column: str, op: str, words: tuple, distinct: pd.DataFrame) -> np.ndarray:
        wanted = [normalise_text(w) for w in words]
        if column not in self._hits or any(w not in self._hits[column][0] for w in wanted):
            self._words.setdefault(column, set()).update(wanted)
            vocabulary = sorted(self._words[column])
            values = distinct[column]
            texts = values.astype("string").fillna("").to_numpy(dtype=object).tolist()  # a missing label: no word
            text, word = keyword_hits(texts, vocabulary)
            self._hits[column] = ({w: i for i, w in enumerate(vocabulary)}, text, word)
        index, text, word = self._hits[column]
        ids = [index[w] for w in wanted]
        n = len(distinct)
        if op == "all_keywords":
            mask = np.ones(n, dtype=bool)
            for i in ids:
                one = np.zeros(n, dtype=bool)
                one[text[word == i]] = True
                mask &= one
            return mask
        mask = np.zeros(n, dtype=bool)
        mask[text[np.isin(word, ids)]] = True
        return ~mask if op == "not_keywords" else mask

    def _distinct_mask(self, cond: Condition) -> np.ndarray:
        key = (fact_column(cond.column) if cond.fact else cond.column, cond.op, cond.values, cond.fact)
        if key[0] in self._shared:  # computed (and kept) by the parent: one label search for all rulebooks
            return self._parent._distinct_mask(cond)
        if key not in self._masks:
            column = key[0]
            _, distinct = self.codes(column)
            keyword = cond.op in _KEYWORD_OPS and not cond.fact and all(normalise_text(w) for w in cond.values)
            self._masks[key] = self._keyword_mask(column, cond.op, cond.values, distinct) if keyword else _condition(cond, distinct)
        return self._masks[key]

    def mask(self, matcher, rows: np.ndarray) -> np.ndarray:
        """Whether ``matcher`` holds for each row of ``rows`` (positions in the frame); an ``All`` stops
        trying a row at its first failing item, an ``Any`` at its first holding one."""
        if isinstance(matcher, All):
            out = np.ones(len(rows), dtype=bool)
            alive = np.arange(len(rows))
            for item in matcher.items:
                if not len(alive):
                    break
                holds = self.mask(item, rows[alive])
                out[alive[~holds]] = False
                alive = alive[holds]
            return out
        if isinstance(matcher, Any_):
            out = np.zeros(len(rows), dtype=bool)
            pending = np.arange(len(rows))
            for item in matcher.items:
                if not len(pending):
                    break
                holds = self.mask(item, rows[pending])
                out[pending[holds]] = True
                pending = pending[~holds]
            return out
        if isinstance(matcher, Not):
            return ~self.mask(matcher.item, rows)
        codes, _ = self.codes(fact_column(matcher.column) if matcher.fact else matcher.column)
        return self._distinct_mask(matcher)[codes[rows]]
