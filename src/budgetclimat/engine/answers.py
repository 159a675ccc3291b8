"""Answers and overrides: what services and analysts said about lines (``docs/rulebooks.md``).

:func:`read_answers` turns a CSV or XLSX file into the **canonical answers frame**
(:data:`ANSWER_COLUMNS`, all ``string`` except ``source_row``), one row per fact, override or comment:

============== =====================================================================================
``line_id``    the line the row applies to; empty when the row is keyed by ``key`` or ``nature``/``fonction``/``label``
``key``        the key the answer belongs to (``account_fonction:60612|020``, ``entity:213401722``…,
               :mod:`budgetclimat.engine.keys`): the answer applies to every line with that key
``nature``     key (with ``fonction`` and ``label``) so that an answer carries over to next year's budget
``fonction``   key part (may be empty on both sides)
``label``      key part, compared with accents, case and spaces ignored
``axis``       for an override: the axis it applies to; empty: every classification axis
``fact``       the fact a service supplied (``motorisation``) …
``value``      … and its value (``electrique``; shares as ``0.4``, ``40 %`` or ``40``)
``class``      an analyst override: the class replacing the rules' output …
``share``      … and its share when a line is split into several override pieces (they sum to 1)
``comment``    kept in the register and the workbook
``author``     idem
``date``       when the answer was given (ISO ``2025-03-14``): a workbook's answers take the date the
               workbook was saved; shown in « Lignes » (« surcharge de X le 14/03 : … »)
``source_file`` the answers file (for findings)
``source_row`` 1-based row in that file, header included (for findings)
============== =====================================================================================

Another source (the sheets of a previous ``classify`` workbook) only has to produce this frame.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat.engine.keys import SPECIFICITY, all_keys, key_kind, label_key
from budgetclimat.engine.matcher import normalise_text
from budgetclimat.errors import WARNING, ConfigError, findings_frame
from budgetclimat.rulebook.model import CLASSES

ANSWER_COLUMNS = [
    "line_id", "key", "nature", "fonction", "label", "axis", "fact", "value", "class", "share", "comment", "author", "date",
    "source_file", "source_row",
]  # fmt: skip

# Headers accepted for each column (compared without accents, case, spaces, underscores).
_ALIASES = {
    "line_id": ["line_id", "ligne", "id_ligne", "identifiant", "identifiant_ligne"],
    "key": ["key", "cle", "cle_question", "question_key"],
    "nature": ["nature", "compte", "article"],
    "fonction": ["fonction", "rubrique", "rubrique_fonctionnelle"],
    "label": ["label", "libelle", "intitule"],
    "axis": ["axis", "axe"],
    "fact": ["fact", "fait", "question_fact"],
    "value": ["value", "valeur", "reponse", "answer"],
    "class": ["class", "classe", "classe_retenue"],
    "share": ["share", "part", "quote_part"],
    "comment": ["comment", "commentaire", "remarque"],
    "author": ["author", "auteur"],
    "date": ["date", "date_reponse", "answered_on"],
}


def empty_answers() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in ANSWER_COLUMNS})
    return frame.astype({"source_row": "Int64"})


def _header_key(text: object) -> str:
    return normalise_text(str(text)).replace(" ", "_").replace("-", "_")


def conform_answers(frame: pd.DataFrame, source_file: str = "", first_row: int = 2) -> pd.DataFrame:
    """Rename known headers (French or English) and return the canonical answers frame."""
    lookup = {alias: col for col, aliases in _ALIASES.items() for alias in aliases}
    renamed = {}
    for header in frame.columns:
        target = lookup.get(_header_key(header))
        if target and target not in renamed.values():
            renamed[header] = target
    frame = frame.rename(columns=renamed)
    out = pd.DataFrame(index=frame.index)
    for col in ANSWER_COLUMNS:
        if col in frame.columns:
            out[col] = frame[col].astype("string").str.strip().replace("", pd.NA)
        else:
            out[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
    if "source_file" not in frame.columns:
        out["source_file"] = source_file
    if "source_row" not in frame.columns:
        out["source_row"] = np.arange(first_row, first_row + len(frame))
    out["source_row"] = pd.to_numeric(out["source_row"], errors="coerce").astype("Int64")
    out = out.astype({c: "string" for c in ANSWER_COLUMNS if c != "source_row"})
    useful = out[["fact", "class", "comment"]].notna().any(axis=1)
    return out[useful].reset_index(drop=True)


def read_answers(path: str | Path) -> pd.DataFrame:
    """Read an answers file (CSV in UTF-8 or cp1252, ``;`` or ``,``; XLSX first sheet) into the canonical frame."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file-not-found", path=str(path))
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
            if path.suffix.lower() in (".xlsx", ".xlsm"):
                _refuse_uncached_formulas(path)
            raw = pd.read_excel(path, engine="calamine", dtype=str)
        else:
            data = path.read_bytes()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
            first = text.splitlines()[0] if text else ""
            sep = ";" if first.count(";") >= first.count(",") and ";" in first else ("\t" if "\t" in first else ",")
            import io

            raw = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise ConfigError("answers-unreadable", path=str(path), detail=str(exc)) from None
    headers = {_header_key(h) for h in raw.columns}
    known = {a for aliases in (_ALIASES["line_id"], _ALIASES["key"], _ALIASES["nature"]) for a in aliases}
    if not headers & known:
        raise ConfigError("answers-no-target", path=str(path), found=", ".join(map(str, raw.columns)))
    return conform_answers(raw, source_file=path.name)


def _refuse_uncached_formulas(path: Path) -> None:
    """A formula cell saved without its computed value (a file written by a program, never opened in a
    spreadsheet) reads as empty: its answer would be dropped in silence. The first sheet (the one read)
    is compared cell by cell, formulas against cached values (an answers file is small)."""
    from openpyxl import load_workbook

    formulas = load_workbook(path, read_only=True, data_only=False)
    values = load_workbook(path, read_only=True, data_only=True)
    try:
        for row_f, row_v in zip(formulas.worksheets[0].iter_rows(), values.worksheets[0].iter_rows()):
            for cell_f, cell_v in zip(row_f, row_v):
                if getattr(cell_f, "data_type", None) == "f" and cell_v.value is None:
                    raise ConfigError("answers-formula-uncached", path=str(path), cell=cell_f.coordinate, value=str(cell_f.value))
    finally:
        formulas.close()
        values.close()


def parse_share(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Shares from text: ``0.4``, ``0,4``, ``40 %``, ``40`` (a number above 1 and up to 100 is a percentage).
    Returns (share, bad). Bad: not one number (``1.000,5``, ``40-50``, ``2/3``), below 0, above 100 (%).

    Each distinct text is read once (:func:`_parse_texts`, remembered: the engine reads the same few shares
    on many small frames) and the result is mapped back to the rows by position."""
    text = values.astype("string")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    number_u, bad_u = _parse_texts(tuple(uniques))
    given = codes >= 0
    taken = np.where(given, codes, 0)
    number = np.where(given, number_u[taken] if len(number_u) else np.nan, np.nan)
    bad = given & (bad_u[taken] if len(bad_u) else False)
    share = pd.Series(pd.array(number, dtype="Float64"), index=values.index, name=values.name)
    return share, pd.Series(bad, index=values.index, dtype=bool, name=values.name)


@functools.lru_cache(maxsize=4096)
def _parse_texts(texts: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(share, bad) of each text (never missing), as read-only numpy arrays; a share that is bad or empty is NaN."""
    text = pd.Series(list(texts), dtype="string").str.strip()
    empty = text.isna() | (text == "")
    percent = text.str.contains("%", regex=False).fillna(False)
    cleaned = text.str.replace("%", "", regex=False).str.replace(r"\s", "", regex=True)
    # « 1.000,5 » or « 1,5,2 »: two separators, two readings — refused rather than guessed
    ambiguous = (cleaned.str.count(r"[.,]") > 1).fillna(False)
    cleaned = cleaned.str.replace(",", ".", regex=False)
    number = pd.to_numeric(cleaned.mask(ambiguous), errors="coerce").astype("Float64")
    number = number.mask(percent | (number > 1), number / 100)
    bad = (~empty & (number.isna() | (number < 0) | (number > 1))).astype(bool).to_numpy()
    share = number.mask(bad).to_numpy(dtype="float64", na_value=np.nan)
    share.flags.writeable = False
    bad.flags.writeable = False
    return share, bad


def share_decimal(value) -> Decimal | None:
    """One share as an exact Decimal (``0.4`` for « 0,4 », « 40 % », « 40 », or a cell holding 0.4 with a
    percent format); ``None`` when empty; ``ValueError`` when it is not a share (:func:`parse_share`'s rules)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(float(value)) if isinstance(value, float) else str(value)
    else:
        text = str(value).strip()
    if not text:
        return None
    _, bad = parse_share(pd.Series([text], dtype="string"))
    if bool(bad.iloc[0]):
        raise ValueError(text)
    cleaned = re.sub(r"\s", "", text.replace("%", "")).replace(",", ".")
    number = Decimal(cleaned)
    if "%" in text or number > 1:
        number = number / 100
    return number


def share_text(value) -> str | None:
    """The canonical text of a share (``0.4``): what the workbook keeps, so a share reads the same after N round trips."""
    number = share_decimal(value)
    if number is None:
        return None
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0.0") else text


def _check_values(answers: pd.DataFrame, questions: dict) -> None:
    given = answers[answers["fact"].notna() & answers["value"].notna()]
    if not len(given):
        return
    choices = pd.DataFrame(
        [(q.fact, a.lower()) for q in questions.values() if q.type == "choice" for a in q.answers], columns=["fact", "answer"]
    ).drop_duplicates()
    shares = {q.fact for q in questions.values() if q.type == "share"}
    # as the rules compare them (matcher fact_in): case and spaces aside
    value = given["value"].astype("string").str.strip().str.lower()
    is_choice = given["fact"].isin(choices["fact"]).to_numpy()
    asked = pd.DataFrame({"fact": given["fact"].to_numpy(), "answer": value.to_numpy()})[is_choice]
    known = asked.merge(choices.assign(_ok=True), on=["fact", "answer"], how="left")["_ok"].notna().to_numpy()
    if not known.all():
        r = given[is_choice].iloc[int(np.flatnonzero(~known)[0])]
        question = next(q.id for q in questions.values() if q.fact == r["fact"] and q.answers)
        expected = ", ".join(sorted({a for q in questions.values() if q.fact == r["fact"] for a in q.answers}))
        raise ConfigError("answers-bad-value", file=r["source_file"], row=r["source_row"], column="value", value=r["value"],
                          question=question, expected=expected)
    share_rows = given[given["fact"].isin(sorted(shares)).to_numpy() & ~is_choice]
    if len(share_rows):
        _, bad_share = parse_share(share_rows["value"])
        if bad_share.any():
            r = share_rows[bad_share.to_numpy()].iloc[0]
            raise ConfigError("answers-bad-share", file=r["source_file"], row=r["source_row"], column="value", value=r["value"])


def match(lines: pd.DataFrame, answers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pair answers with lines. Returns ``(pairs, stale)``.

    ``pairs`` has ``answer`` (index in ``answers``), ``pos`` (position in ``lines``) and ``rank`` (how
    specific the match is: a ``line_id`` beats a line key, which beats an operation, an account ×
    fonction, an account, the collectivité; :data:`budgetclimat.engine.keys.SPECIFICITY`); ``stale`` is
    a findings frame (``answer-stale``) for answers matching no line.
    """

    ids = pd.DataFrame({"line_id": lines["line_id"].astype("string").to_numpy(), "pos": np.arange(len(lines))})
    ans = answers.reset_index(drop=True).assign(answer=np.arange(len(answers)))
    empty = pd.DataFrame({"answer": pd.Series(dtype="int64"), "pos": pd.Series(dtype="int64"), "rank": pd.Series(dtype="int64")})
    by_id = ans[ans["line_id"].notna()][["answer", "line_id"]].merge(ids, on="line_id", how="inner")
    by_id = by_id.assign(rank=len(SPECIFICITY) + 2)[["answer", "pos", "rank"]]
    with_key = ans[ans["line_id"].isna() & ans["key"].notna()]
    by_key = empty
    if len(with_key):
        table = all_keys(lines.reset_index(drop=True))
        long = table.assign(pos=np.arange(len(lines))).melt(id_vars="pos", value_name="key")[["pos", "key"]]
        ak = with_key[["answer", "key"]].assign(key=with_key["key"].astype("string").str.strip())
        by_key = ak.merge(long.astype({"key": "string"}), on="key", how="inner")
        by_key = by_key.assign(rank=key_kind(by_key["key"]).map(SPECIFICITY).fillna(0).astype("int64"))[["answer", "pos", "rank"]]
        by_key = by_key.drop_duplicates(["answer", "pos"])  # an operation key falling back to account_fonction
    keyed = ans[ans["line_id"].isna() & ans["key"].isna()]
    by_label = empty
    if len(keyed):
        lk = pd.DataFrame({"key": label_key(lines).to_numpy(), "pos": np.arange(len(lines))})
        ak = pd.DataFrame({"key": label_key(keyed).to_numpy(), "answer": keyed["answer"].to_numpy()})
        by_label = ak.merge(lk, on="key", how="inner").assign(rank=len(SPECIFICITY) + 1)[["answer", "pos", "rank"]]
    pairs = pd.concat([by_id, by_key, by_label], ignore_index=True).astype("int64")
    matched = np.zeros(len(ans), dtype=bool)
    matched[pairs["answer"].to_numpy()] = True
    stale = ans[~matched]
    column = np.where(stale["line_id"].notna(), "line_id", np.where(stale["key"].notna(), "key", "nature+fonction+label"))
    value = stale["line_id"].fillna(stale["key"]).fillna(
        stale["nature"].fillna("") + " | " + stale["fonction"].fillna("") + " | " + stale["label"].fillna("")
    )
    findings = findings_frame(
        pd.DataFrame(
            {"level": WARNING, "code": "answer-stale", "file": stale["source_file"], "row": stale["source_row"], "column": column, "value": value, "expected": ""}
        ).to_dict("records")
    )
    return pairs, findings


def check_answers(answers: pd.DataFrame, facts: set[str], axes: list[str], questions: dict | None = None) -> pd.DataFrame:
    """Configuration problems raise :class:`ConfigError`; doubtful rows come back as findings.

    With ``questions`` (id → Question), a value given for the fact of a choice question must be one of its
    answers, and a value for a share question a share: a value outside them would send the line down
    another branch of the rules in silence (or be dropped), so it stops the run naming the cell."""
    rows = []
    if questions:
        _check_values(answers, questions)
    bad_class = answers["class"].notna() & ~answers["class"].str.upper().isin(CLASSES)
    if bad_class.any():
        r = answers[bad_class].iloc[0]
        raise ConfigError("answers-bad-class", file=r["source_file"], row=r["source_row"], value=r["class"], expected=", ".join(CLASSES))
    _, bad_share = parse_share(answers["share"])
    if bad_share.any():
        r = answers[bad_share].iloc[0]
        raise ConfigError("answers-bad-share", file=r["source_file"], row=r["source_row"], column="share", value=r["share"])
    unknown_fact = answers["fact"].notna() & ~answers["fact"].isin(sorted(facts))
    for _, r in answers[unknown_fact].iterrows():  # a few rows at most: one finding each
        rows.append({"level": WARNING, "code": "answer-unknown-fact", "file": r["source_file"], "row": r["source_row"], "column": "fact", "value": r["fact"], "expected": ", ".join(sorted(facts))})
    unknown_axis = answers["axis"].notna() & ~answers["axis"].isin(axes)
    for _, r in answers[unknown_axis].iterrows():
        rows.append({"level": WARNING, "code": "answer-unknown-axis", "file": r["source_file"], "row": r["source_row"], "column": "axis", "value": r["axis"], "expected": ", ".join(axes)})
    return findings_frame(rows)
