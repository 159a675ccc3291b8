"""Budgets voted par fonction: functional chapters, their ordre chapters, and the chapter by nature.

Under the vote par fonction (M57, M14, M52) a budget is voted by *functional* chapters (M57: 900–908
investissement, 930–938 fonctionnement, with sub-chapters such as 9044 « RSA », written « 904-4 » in
printed documents; M14: 900–909 and 920–929), non-ventilated chapters (M57 921–923, 940–945; M14
910–917, 931–936), and ordre chapters of their own: transfers between sections (M57 926/946, M14
914/934, the virements 951/953 and 919/939) and operations within a section (M57 925 « opérations
patrimoniales » and 947, M14 910 and 935). The plan de comptes says which: in its ``<Fonction>`` half,
the compte of each such chapter is open only to ordre operations (``DOES``/``ROES`` between sections,
``DOIS``/``ROIS`` within a section), never to real ones (``DR``/``RR``).

What a line *is* (staff, atténuation de produits, subsidy…) does not depend on the vote: it is the chapter
its nature has in the vote by nature, which the plan gives. :func:`read_functional_vote` therefore puts
the voted functional chapter in ``chapitre_fonction``, leaves ``chapitre`` to the chapter by nature
(filled from the plan by :func:`budgetclimat.nomenclature.enrich`), strips the 90/93 (M14: 90/92)
prefix of a compte fonctionnel from ``fonction``, and reads lines voted in a functional ordre chapter as
ordre lines, with their kind. Everything is computed from the plan, so that the same code (``925`` is
« opérations patrimoniales » in M57 and « interventions sociales et santé » in M14) is read as its own
nomenclature says.
"""

from __future__ import annotations

import pandas as pd

from budgetclimat.nomenclature.plan import Plan
from budgetclimat.nomenclature.select import plan_for

# « 904-4 », « 904.4 », « 904 4 » -> « 9044 »: the printed form of a functional sub-chapter.
_SUB_CHAPTER = r"^\s*(9\d{1,2})\s*[-./ ]\s*(\d{1,2})\s*$"


def normalise_chapter(codes: pd.Series) -> pd.Series:
    """Chapter codes with the printed sub-chapter separator removed (``904-4`` -> ``9044``)."""
    text = codes.astype("string").str.strip()
    joined = text.str.replace(_SUB_CHAPTER, r"\1\2", regex=True)
    return joined.mask(joined == "").astype("string")


def functional_chapter_table(plan: Plan) -> pd.DataFrame:
    """One row per functional chapter of the plan: ``section`` and ordre kind by sens.

    Columns ``code, section, ordre_kind_d, ordre_kind_r``; the ordre kinds are ``section`` (between
    sections), ``interieur`` (within a section) or ``<NA>`` for a chapter open to real operations.
    """
    chapters = plan.chapters[plan.chapters["kind"] == "fonction"][["code", "section"]].drop_duplicates("code")
    accounts = plan.functional_accounts.set_index("code")
    code = chapters["code"].astype("string")

    def kind(real: str, between: str, within: str) -> pd.Series:
        has_real = code.map(accounts[real]).notna()
        has_between = code.map(accounts[between]).notna()
        has_within = code.map(accounts[within]).notna()
        out = pd.Series(pd.NA, index=code.index, dtype="string")
        out = out.mask(~has_real & has_between & ~has_within, "section")
        return out.mask(~has_real & has_within & ~has_between, "interieur")

    return pd.DataFrame(
        {
            "code": code,
            "section": chapters["section"].astype("string"),
            "ordre_kind_d": kind("chapter_real_d", "chapter_ordre_section_d", "chapter_ordre_interieur_d"),
            "ordre_kind_r": kind("chapter_real_r", "chapter_ordre_section_r", "chapter_ordre_interieur_r"),
        }
    ).reset_index(drop=True)


def functional_ordre_kind(chapter: pd.Series, sens: pd.Series, plan: Plan | None) -> pd.Series:
    """Ordre kind of lines voted in a functional ordre chapter of ``plan`` (``<NA>`` for other lines)."""
    if plan is None:
        return pd.Series(pd.NA, index=chapter.index, dtype="string")
    table = functional_chapter_table(plan).set_index("code")
    code = normalise_chapter(chapter)
    by_d = code.map(table["ordre_kind_d"])
    by_r = code.map(table["ordre_kind_r"])
    kind = by_d.where((sens == "D").fillna(False), by_r.where((sens == "R").fillna(False)))
    return kind.astype("string")


def functional_ordre_chapters(plan: Plan | None) -> set[tuple[str, str]]:
    """``(chapter, sens)`` of the functional chapters open only to ordre operations for that sens.

    For the readers' raw, frame-free totals (``("926", "D")``, ``("953", "D")``…).
    """
    if plan is None:
        return set()
    table = functional_chapter_table(plan)
    pairs = {(str(c), "D") for c in table.loc[table["ordre_kind_d"].notna(), "code"]}
    return pairs | {(str(c), "R") for c in table.loc[table["ordre_kind_r"].notna(), "code"]}


def read_functional_vote(lines: pd.DataFrame, plan: Plan | None) -> tuple[pd.DataFrame, pd.Series]:
    """Read the vote par fonction of ``lines`` with ``plan`` (see the module docstring).

    * a functional chapter found in ``chapitre`` (an export's single chapter column) moves to
      ``chapitre_fonction``, and ``chapitre`` is left for the chapter by nature;
    * ``chapitre_fonction`` is normalised (``904-4`` -> ``9044``);
    * a ``fonction`` that is a compte fonctionnel of the plan (``93020``, M14 ``92812``) loses its
      prefix (``020``, ``812``) on lines with a functional chapter;
    * a line in a functional ordre chapter is an ordre line of that chapter's kind, and ``section`` is
      the functional chapter's where the source gave none.

    Returns the lines and the mask of lines the source said were real but that a functional ordre
    chapter makes ordre (the reader reports them). Lines without a functional chapter are untouched.
    """
    out = lines.copy()
    none = pd.Series(False, index=out.index)
    if plan is None or out.empty:
        return out, none
    table = functional_chapter_table(plan)
    functional = set(table["code"].astype(str))
    na = pd.Series(pd.NA, index=out.index, dtype="string")
    chapter = normalise_chapter(out["chapitre"]) if "chapitre" in out.columns else na
    voted = normalise_chapter(out["chapitre_fonction"]) if "chapitre_fonction" in out.columns else na
    in_chapter = chapter.isin(functional).fillna(False)
    voted = voted.fillna(chapter.where(in_chapter))
    out["chapitre_fonction"] = voted
    if "chapitre" in out.columns:
        out["chapitre"] = out["chapitre"].astype("string").mask(in_chapter)
    has_vote = voted.notna()
    if not has_vote.any():
        return out, none

    sens = out["sens"].astype("string") if "sens" in out.columns else na
    if "fonction" in out.columns:
        fonction = out["fonction"].astype("string").str.strip()
        decoded = plan.decode_fonction(fonction, sens)["fonction"]
        out["fonction"] = fonction.mask(has_vote & decoded.notna(), decoded).astype("string")

    kind = functional_ordre_kind(voted, sens, plan)
    is_ordre = kind.notna()
    operation = out["operation"].astype("string") if "operation" in out.columns else na
    flipped = is_ordre & (operation == "reel").fillna(False)
    out["operation"] = operation.mask(is_ordre, "ordre").astype("string")
    current = out["ordre_kind"].astype("string") if "ordre_kind" in out.columns else na
    out["ordre_kind"] = current.mask(is_ordre, kind).astype("string")

    section_of = table.drop_duplicates("code").set_index("code")["section"]
    section = out["section"].astype("string") if "section" in out.columns else na
    out["section"] = section.fillna(voted.map(section_of)).astype("string")
    return out, flipped


def read_functional_vote_with_plans(lines: pd.DataFrame) -> pd.DataFrame:
    """:func:`read_functional_vote` on each nomenclature × year group of an export, with its own plan.

    For CSV/XLSX exports, whose chapter column may hold functional chapters (``930``, ``904-4``) and
    whose réel/ordre is often derived from chapters 040–043 only. Does nothing (and loads no plan) when
    no chapter looks functional.
    """
    chapter_columns = [c for c in ("chapitre", "chapitre_fonction") if c in lines.columns]
    if not chapter_columns or "nomenclature" not in lines.columns:
        return lines
    looks = pd.Series(False, index=lines.index)
    for column in chapter_columns:
        looks |= lines[column].astype("string").str.strip().str.startswith("9").fillna(False)
    if not looks.any():
        return lines
    out = lines.copy()
    for column in ("chapitre", "chapitre_fonction", "fonction", "operation", "ordre_kind", "section"):
        out[column] = out[column].astype("string") if column in out.columns else pd.Series(pd.NA, index=out.index, dtype="string")
    variant = out["nomenclature_variant"] if "nomenclature_variant" in out.columns else pd.Series(pd.NA, index=out.index)
    year = out["exercice"] if "exercice" in out.columns else pd.Series(pd.NA, index=out.index)
    keys = pd.DataFrame({"n": out["nomenclature"], "v": variant, "y": year}).astype("string")
    for n, v, y in keys.drop_duplicates().dropna(subset=["n"]).itertuples(index=False):  # one per plan
        plan, _ = plan_for(v if pd.notna(v) else n, None, int(y) if pd.notna(y) and str(y).isdigit() else None)
        if plan is None:
            continue
        mask = (keys["n"] == n).fillna(False)
        mask &= keys["v"].isna() if pd.isna(v) else (keys["v"] == v).fillna(False)
        mask &= keys["y"].isna() if pd.isna(y) else (keys["y"] == y).fillna(False)
        read, _ = read_functional_vote(out.loc[mask], plan)
        for column in ("chapitre", "chapitre_fonction", "fonction", "operation", "ordre_kind", "section"):
            out.loc[mask, column] = read[column].astype("string")
    return out
