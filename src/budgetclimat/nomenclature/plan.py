"""Plans de comptes: the official ODM XML files parsed into lookup tables.

An ODM plan (``<Nomenclature Norme Declinaison Exer>``) has two halves: ``<Nature>`` (chapters and the
nested tree of accounts, each leaf saying in which chapter it is voted for a real operation, an ordre
operation between sections and an ordre operation within a section) and ``<Fonction>`` (functional
chapters, *comptes fonctionnels* ``90…``/``93…`` used under vote par fonction, and the nested
``<RefFonc>`` functional classification). Everything is turned into DataFrames once so that the lookups
on a budget's lines are merges and maps, never row loops.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from lxml import etree

from budgetclimat.errors import ConfigError

# Attribute of a <Compte> -> column of Plan.accounts. DR/RR: real operation; DOES/ROES: ordre between
# sections (040/042); DOIS/ROIS: ordre within a section (041/043).
CHAPTER_ATTRIBUTES = {
    "DR": "chapter_real_d",
    "RR": "chapter_real_r",
    "DOES": "chapter_ordre_section_d",
    "ROES": "chapter_ordre_section_r",
    "DOIS": "chapter_ordre_interieur_d",
    "ROIS": "chapter_ordre_interieur_r",
}
CHAPTER_COLUMNS = list(CHAPTER_ATTRIBUTES.values())
ACCOUNT_COLUMNS = ["code", "label", "parent", "is_leaf", "deleted", *CHAPTER_COLUMNS]
FONCTION_COLUMNS = ["code", "label", "level", "parent"]


def open_plan(path: str | Path) -> IO[bytes]:
    """A plan file opened for reading, gunzipped on the fly when its name ends in ``.gz``."""
    return gzip.open(path, "rb") if str(path).lower().endswith(".gz") else open(path, "rb")


def safe_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, never loads a DTD, never touches the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(eq=False)
class Plan:
    """One plan de comptes (norm, variant, year). The frames are shared through a cache: do not modify.

    * ``accounts``: accounts by nature (:data:`ACCOUNT_COLUMNS`); a non-leaf account carries the
      chapter of its descendants when they all agree (so ``6411`` answers ``012``).
    * ``functional_accounts``: comptes fonctionnels (same columns), used under vote par fonction.
    * ``chapters``: ``code, label, section, type, kind`` (``kind`` = ``nature`` or ``fonction``).
    * ``fonctions``: ``code, label, level, parent`` of the functional classification.
    """

    norm: str
    variant: str
    exercice: int
    path: Path
    accounts: pd.DataFrame
    functional_accounts: pd.DataFrame
    chapters: pd.DataFrame
    fonctions: pd.DataFrame

    @property
    def name(self) -> str:
        return f"{self.norm}-{self.variant} {self.exercice}"

    def chapter_of(
        self, nature: pd.Series, sens: pd.Series, operation: pd.Series, ordre_kind: pd.Series
    ) -> pd.Series:
        """Chapter by nature of each line from its account, sens and réel/ordre (``<NA>`` if unknown).

        An ordre line whose kind is unknown takes the only ordre chapter the account has, if it has one.
        """
        table = self.accounts.set_index("code")
        code = nature.astype("string")
        col = {c: code.map(table[c]).astype("string") for c in CHAPTER_COLUMNS}
        kind = ordre_kind.astype("string").fillna(self.ordre_kind_of(code, sens))
        d = (sens == "D").fillna(False).to_numpy()
        r = (sens == "R").fillna(False).to_numpy()
        reel = (operation == "reel").fillna(False).to_numpy()
        ordre = (operation == "ordre").fillna(False).to_numpy()
        between = ordre & (kind == "section").fillna(False).to_numpy()
        within = ordre & (kind == "interieur").fillna(False).to_numpy()
        conditions = [reel & d, reel & r, between & d, between & r, within & d, within & r]
        choices = [col[c].to_numpy(dtype=object, na_value=None) for c in CHAPTER_COLUMNS]
        picked = np.select(conditions, choices, default=None)
        return pd.Series(picked, index=nature.index, dtype="string")

    def known_ancestor(self, nature: pd.Series) -> pd.Series:
        """For an account the plan does not know, its longest prefix that is an account of the plan.

        ``<NA>`` for accounts the plan knows and for those with no known prefix of two digits or more
        (``73925`` -> ``7392`` in a plan that lacks ``73925``). Such a line takes its parent's chapter.
        """
        known = pd.Index(self.accounts["code"].dropna())
        code = nature.astype("string")
        length = code.str.len()
        unknown = ~code.isin(known).fillna(True)
        parent = pd.Series(pd.NA, index=nature.index, dtype="string")
        longest = length[unknown].max()
        for size in range(2, 0 if pd.isna(longest) else int(longest)):  # shortest first: longer prefixes win
            prefix = code.str.slice(0, size)
            parent = parent.mask(unknown & (length > size).fillna(False) & prefix.isin(known).fillna(False), prefix)
        return parent

    def ordre_kind_of(self, nature: pd.Series, sens: pd.Series) -> pd.Series:
        """``section``/``interieur`` when the account allows only one kind of ordre operation, else NA."""
        table = self.accounts.set_index("code")
        code = nature.astype("string")
        is_d = (sens == "D").fillna(False)
        between = code.map(table["chapter_ordre_section_d"]).where(is_d, code.map(table["chapter_ordre_section_r"]))
        within = code.map(table["chapter_ordre_interieur_d"]).where(is_d, code.map(table["chapter_ordre_interieur_r"]))
        has_between = between.notna()
        has_within = within.notna()
        out = pd.Series(pd.NA, index=nature.index, dtype="string")
        out = out.mask(has_between & ~has_within, "section")
        return out.mask(has_within & ~has_between, "interieur")

    def chapter_section(self, chapter: pd.Series) -> pd.Series:
        """Section (``F``/``I``) of chapters by nature or functional chapters, ``<NA>`` when unknown."""
        table = self.chapters.drop_duplicates("code", keep=False).set_index("code")["section"]
        return chapter.astype("string").map(table).astype("string")

    def decode_fonction(self, fonction: pd.Series, sens: pd.Series) -> pd.DataFrame:
        """Decode the TOTEM ``Fonction`` of lines voted par fonction with the plan.

        Returns ``fonction, chapitre_fonction, section`` (``<NA>`` where the plan does not know the
        code): a compte fonctionnel (``93020``) gives its functional chapter, its section and the
        fonction after the two-digit prefix (``020``) when that is a fonction of the plan; a functional
        chapter (``926``, non ventilé) gives itself and its section, with no fonction.
        """
        code = fonction.astype("string")
        accounts = self.functional_accounts.set_index("code")
        is_d = (sens == "D").fillna(False)
        chapter = code.map(accounts["chapter_real_d"]).where(is_d, code.map(accounts["chapter_real_r"]))
        chapter = chapter.fillna(code.map(accounts["chapter_real_d"])).fillna(code.map(accounts["chapter_real_r"]))
        functional = self.chapters[self.chapters["kind"] == "fonction"]
        is_chapter = code.isin(functional["code"]).fillna(False) & chapter.isna()
        chapter = chapter.mask(is_chapter, code).astype("string")
        rest = code.str.slice(2)
        # A compte fonctionnel is a two-digit prefix plus a fonction of at least two digits; shorter
        # codes (926) are non-ventilated chapters whose last digit is no fonction.
        known_rest = (
            (code.str.len() >= 4).fillna(False)
            & rest.isin(self.fonctions["code"]).fillna(False)
            & code.isin(accounts.index).fillna(False)
        )
        return pd.DataFrame(
            {
                "fonction": rest.where(known_rest).astype("string"),
                "chapitre_fonction": chapter,
                "section": self.chapter_section(chapter),
            },
            index=fonction.index,
        )


def load_plan(path: str | Path) -> Plan:
    """Parse an ODM plan de comptes XML file, plain or gzipped (cached by path and modification time)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("file-not-found", path=str(p))
    return _load_cached(str(p.resolve()), p.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, mtime_ns: int) -> Plan:
    try:
        with open_plan(path) as handle:
            root = etree.parse(handle, parser=safe_parser()).getroot()
    except etree.XMLSyntaxError as exc:
        raise ConfigError("plan-invalid", path=path, row=exc.lineno, detail=exc.msg) from None
    except (OSError, EOFError, zlib.error) as exc:  # a damaged .gz
        raise ConfigError("plan-invalid", path=path, row=None, detail=str(exc)) from None
    if etree.QName(root).localname != "Nomenclature":
        raise ConfigError("plan-invalid", path=path, row=root.sourceline, detail=f"root <{root.tag}> is not <Nomenclature>")
    try:
        exercice = int(root.get("Exer", ""))
    except ValueError:
        raise ConfigError("plan-invalid", path=path, row=root.sourceline, detail="attribute Exer is not a year") from None
    nature = _child(root, "Nature")
    fonction = _child(root, "Fonction")
    chapters = pd.concat(
        [_chapters(nature, "nature"), _chapters(fonction, "fonction")], ignore_index=True
    )
    return Plan(
        norm=root.get("Norme", ""),
        variant=root.get("Declinaison", ""),
        exercice=exercice,
        path=Path(path),
        accounts=_accounts(nature),
        functional_accounts=_accounts(fonction),
        chapters=chapters,
        fonctions=_fonctions(fonction),
    )


def _child(root: etree._Element, name: str) -> etree._Element | None:
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child
    return None


def _chapters(block: etree._Element | None, kind: str) -> pd.DataFrame:
    rows = [] if block is None else [
        (c.get("Code"), c.get("Libelle"), c.get("Section"), c.get("TypeChapitre"))
        for c in block.iterfind("Chapitres/Chapitre")
    ]
    frame = pd.DataFrame(rows, columns=["code", "label", "section", "type"], dtype="string")
    frame["kind"] = pd.Series(kind, index=frame.index, dtype="string")
    return frame


def _accounts(block: etree._Element | None) -> pd.DataFrame:
    elements = [] if block is None else list(block.iterfind("Comptes//Compte"))
    data: dict[str, list] = {
        "code": [e.get("Code") for e in elements],
        "label": [e.get("Libelle") for e in elements],
        "parent": [e.getparent().get("Code") if e.getparent().tag == "Compte" else None for e in elements],
        "is_leaf": [e.find("Compte") is None for e in elements],
        "deleted": [e.get("Supprime") == "1" for e in elements],
    }
    for attribute, column in CHAPTER_ATTRIBUTES.items():
        data[column] = [e.get(attribute) or None for e in elements]
    frame = pd.DataFrame(data)
    for column in ["code", "label", "parent", *CHAPTER_COLUMNS]:
        frame[column] = frame[column].astype("string")
    frame = frame.drop_duplicates("code").reset_index(drop=True)
    return _inherit_chapters(frame)


def _inherit_chapters(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a non-leaf account the chapter of its leaves when they all agree.

    Budgets sometimes carry an aggregate account (``6411`` instead of ``64111``); its chapter is then
    unambiguous. Disagreeing leaves leave the aggregate without a chapter.
    """
    if frame.empty:  # a plan without functional accounts (M4x)
        return frame
    leaves = frame[frame["is_leaf"]]
    max_len = int(frame["code"].str.len().max() or 0)
    out = frame.copy()
    for column in CHAPTER_COLUMNS:
        known = leaves[["code", column]].dropna()
        pieces = [
            pd.DataFrame({"ancestor": known["code"].str.slice(0, k), "value": known[column]})
            for k in range(1, max_len)
        ]
        if not pieces:
            continue
        by_ancestor = pd.concat(pieces).groupby("ancestor")["value"].agg(["nunique", "first"])
        unique = by_ancestor.loc[by_ancestor["nunique"] == 1, "first"]
        missing = out[column].isna() & ~out["is_leaf"]
        out.loc[missing, column] = out.loc[missing, "code"].map(unique)
    return out


def _fonctions(block: etree._Element | None) -> pd.DataFrame:
    elements = [] if block is None else list(block.iterfind("RefFonctionnelles//RefFonc"))
    rows = [
        (
            e.get("Code"),
            e.get("Libelle"),
            sum(1 for a in e.iterancestors("RefFonc")) + 1,
            e.getparent().get("Code") if e.getparent().tag == "RefFonc" else None,
        )
        for e in elements
    ]
    frame = pd.DataFrame(rows, columns=FONCTION_COLUMNS)
    for column in ["code", "label", "parent"]:
        frame[column] = frame[column].astype("string")
    frame["level"] = frame["level"].astype("int64")
    return frame.drop_duplicates("code").reset_index(drop=True)


@functools.lru_cache(maxsize=256)
def _codes_cached(path: str, mtime_ns: int) -> tuple[frozenset[str], frozenset[str]]:
    try:
        with open_plan(path) as handle:
            root = etree.parse(handle, parser=safe_parser()).getroot()
    except etree.XMLSyntaxError as exc:
        raise ConfigError("plan-invalid", path=path, row=exc.lineno, detail=exc.msg) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError("plan-invalid", path=path, row=None, detail=str(exc)) from None
    nature = _child(root, "Nature")
    fonction = _child(root, "Fonction")
    accounts = [] if nature is None else nature.iterfind("Comptes//Compte")
    fonctions = [] if fonction is None else fonction.iterfind("RefFonctionnelles//RefFonc")
    return frozenset(e.get("Code") for e in accounts if e.get("Code")), frozenset(e.get("Code") for e in fonctions if e.get("Code"))


def plan_codes(path: str | Path) -> tuple[frozenset[str], frozenset[str]]:
    """Account codes (by nature) and fonction codes of a plan, without building its frames.

    For checks over every shipped plan at once (``rules lint``): a fraction of :func:`load_plan`'s cost.
    """
    p = Path(path)
    return _codes_cached(str(p.resolve()), p.stat().st_mtime_ns)
