"""Seeded generator of TOTEM « Actes budgétaires » documents (M57 compte administratif) of N lines.

Built like the shipped real one, ``examples/montpellier-ca-2018-m57.xml`` (Ville de Montpellier, CA 2018,
ASTRE GF): ISO-8859-1, a ``<DocumentBudgetaire>`` with ``EnTeteDocBudgetaire``, one ``<Budget>`` whose
``EnTeteBudget`` says ``Nomenclature M57-M57`` and whose ``BlocBudget`` says ``NatDec 09`` (CA),
``CodTypBud P`` (budget principal), then one ``<LigneBudget>`` per line, voted par fonction as Montpellier
is, with the same elements in the same order::

    <LigneBudget><Nature V="6225"/><Fonction V="93020"/><ArtSpe V="false"/><ContFon V="930"/>
    <CodRD V="D"/><MtPrev V="0.00"/><CredOuv V="12000.00"/><MtReal V="10279.70"/><OpBudg V="0"/>
    <MtSup Code="BudgetHorsRAR" V="12000.00"/></LigneBudget>

* real lines: accounts drawn (Zipf-like) from the leaf accounts of the plan the reader will use
  (:func:`budgetclimat.nomenclature.plan_for` ``M57-M57`` and the year) that have a real chapter for
  the drawn sens; the section is that chapter's; ``Fonction`` is the compte fonctionnel ``93``/``90`` +
  a fonction of the plan, ``ContFon`` its functional chapter as the plan decodes it (``930``…);
* ordre lines (4 %, at most one per (sens, account): 1,239 with the M57 2022 plan, so ≈ 1.2 % of a 100k
  document): accounts that have an ordre-between-sections chapter (040/042), in the functional
  ordre chapters ``946`` (fonctionnement side) and ``926`` (investissement side), ``TypOpBudg 2``; the
  totals balance (D 042 = R 040, D 040 = R 042), as in a whole document;
* every line is its own imputation (account × fonction × sens × operation drawn without repetition), as
  in a budget document: no ``duplicate-line`` finding;
* amounts: ``MtReal`` log-normal integer cents, ``CredOuv`` ≥ ``MtReal``, ``MtPrev`` = ``CredOuv`` on
  half of the lines (0.00 elsewhere, as in Montpellier), written ``1234.56`` (xs:decimal).

The XML text is composed column-wise (pandas string operations), never element by element. The exact
cent total of ``MtReal`` is printed (the executed basis: what a CA's register carries).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NOMENCLATURE = "M57-M57"
ORDRE_SHARE = 0.04


def _luhn_siret(base13: str) -> str:
    """A 14-digit SIRET whose Luhn key is right (``base13`` + the check digit)."""
    for last in "0123456789":
        digits = [int(c) for c in base13 + last]
        total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == len(digits) % 2 else d for i, d in enumerate(digits))
        if total % 10 == 0:
            return base13 + last
    raise AssertionError("no Luhn digit")


def _decimal_text(cents: np.ndarray) -> pd.Series:
    """Integer cents as xs:decimal text ``1234.56`` (vectorised)."""
    cents = np.asarray(cents, dtype=np.int64)
    sign = np.where(cents < 0, "-", "")
    a = np.abs(cents)
    return pd.Series(sign, dtype=object) + pd.Series(a // 100).astype(str) + "." + pd.Series(a % 100).astype(str).str.zfill(2)


def _unique_draw(rng: np.random.Generator, n: int, sizes: tuple[int, ...], weights: list[np.ndarray]) -> np.ndarray:
    """``n`` distinct index tuples over ``sizes`` (rows of an int array), each index drawn with its
    ``weights``; raises when the space cannot hold ``n`` distinct tuples."""
    space = int(np.prod(sizes))
    if n > space:
        raise ValueError(f"{n:,} distinct lines asked, {space:,} possible")
    picked = np.empty((0, len(sizes)), dtype=np.int64)
    while len(picked) < n:
        need = int((n - len(picked)) * 1.3) + 16
        draw = np.column_stack([rng.choice(s, size=need, p=w / w.sum()) for s, w in zip(sizes, weights)])
        picked = np.unique(np.vstack([picked, draw]), axis=0) if len(picked) else np.unique(draw, axis=0)
        if len(picked) >= n:
            # np.unique sorts: keep a random subset of n, in a random order
            picked = picked[rng.permutation(len(picked))[:n]]
    return picked


def _ordre_pool(acc: pd.DataFrame, section_of: pd.Series, class_section: pd.Series) -> pd.DataFrame:
    """(sens, account) pairs open to an ordre-between-sections chapter whose section the class agrees with."""
    ordre = []
    for s in ("D", "R"):
        col = f"chapter_ordre_section_{s.lower()}"
        ok = acc[acc[col].notna()]
        section = ok[col].astype(str).map(section_of)
        same = (section == class_section.loc[ok.index]).to_numpy()
        ordre.append(pd.DataFrame({"Nature": ok["code"].astype(str).to_numpy()[same], "CodRD": s, "section": section.to_numpy()[same]}))
    return pd.concat(ordre, ignore_index=True)


def draw_totem(n: int, seed: int, exercice: int = 2022) -> tuple[pd.DataFrame, dict]:
    """``n`` LigneBudget field sets (text columns, MtReal cents in ``cents``) and the header fields."""
    from budgetclimat.nomenclature import plan_for

    plan, _ = plan_for(NOMENCLATURE, None, exercice)
    rng = np.random.default_rng(seed)
    acc = plan.accounts[plan.accounts["is_leaf"].astype(bool) & ~plan.accounts["deleted"].astype(bool)]
    # classes 1–4 and 6–7, the ones whose class gives the section (the reader's frame-free totals
    # take the section from the class; class 5 accounts are not budget lines of a CA)
    acc = acc[acc["code"].astype(str).str.match(r"^[1-46-7]")]
    class_section = acc["code"].astype(str).str.slice(0, 1).map(lambda c: "F" if c in "67" else "I")
    section_of = plan.chapters.drop_duplicates("code", keep=False).set_index("code")["section"]
    fonctions = plan.fonctions["code"].astype(str)
    fonctions = fonctions[(fonctions.str.len() >= 2) & (fonctions != "01")].to_numpy()

    n_ordre = int(round(n * ORDRE_SHARE))
    n_real = n - min(n_ordre, len(_ordre_pool(acc, section_of, class_section)))
    parts = []
    # real lines: (sens, account, fonction) distinct
    pools = {}
    for s in ("D", "R"):
        ok = acc[acc[f"chapter_real_{s.lower()}"].notna()]
        chapter = ok[f"chapter_real_{s.lower()}"].astype(str)
        section = chapter.map(section_of)
        keep = (section == class_section.loc[ok.index]).to_numpy()
        pools[s] = (ok["code"].astype(str).to_numpy()[keep], section.to_numpy()[keep].astype(str))
    n_d = int(round(n_real * 0.62))
    for s, k in (("D", n_d), ("R", n_real - n_d)):
        codes, sections = pools[s]
        w_acc = 1.0 / np.arange(1, len(codes) + 1) ** 0.8
        w_acc = w_acc[rng.permutation(len(codes))]
        w_fon = 1.0 / np.arange(1, len(fonctions) + 1) ** 0.5
        w_fon = w_fon[rng.permutation(len(fonctions))]
        idx = _unique_draw(rng, k, (len(codes), len(fonctions)), [w_acc, w_fon])
        sec = sections[idx[:, 0]]
        fonction = np.where(sec == "F", "93", "90") + pd.Series(fonctions[idx[:, 1]]).to_numpy().astype(str)
        parts.append(pd.DataFrame({"Nature": codes[idx[:, 0]], "Fonction": fonction, "CodRD": s, "OpBudg": "0",
                                   "TypOpBudg": "", "section": sec}))
    # ordre lines between sections: one line per (sens, account), in 946 (F side) / 926 (I side)
    ordre = _ordre_pool(acc, section_of, class_section)
    ordre = ordre.iloc[rng.permutation(len(ordre))[:n_ordre]].reset_index(drop=True)
    ordre["Fonction"] = np.where(ordre["section"] == "F", "946", "926")
    ordre["OpBudg"] = "1"
    ordre["TypOpBudg"] = "2"
    parts.append(ordre)
    lines = pd.concat(parts, ignore_index=True)
    lines = lines.iloc[rng.permutation(len(lines))].reset_index(drop=True)

    decoded = plan.decode_fonction(pd.Series(lines["Fonction"], dtype="string"), pd.Series(lines["CodRD"], dtype="string"))
    lines["ContFon"] = decoded["chapitre_fonction"].astype(object).where(decoded["chapitre_fonction"].notna(), lines["Fonction"].str.slice(0, 3))
    lines.loc[lines["OpBudg"] == "1", "ContFon"] = lines.loc[lines["OpBudg"] == "1", "Fonction"]

    cents = np.clip(np.round(rng.lognormal(mean=11.0, sigma=2.2, size=len(lines))), 100, 1_000_000_000).astype(np.int64)
    # balance the ordre between sections: D on F side = R on I side, D on I side = R on F side
    is_ordre = (lines["OpBudg"] == "1").to_numpy()
    for d_side, r_side in (("F", "I"), ("I", "F")):
        d = is_ordre & (lines["CodRD"] == "D").to_numpy() & (lines["section"] == d_side).to_numpy()
        r = is_ordre & (lines["CodRD"] == "R").to_numpy() & (lines["section"] == r_side).to_numpy()
        if d.any() and r.any():
            gap = int(cents[d].sum() - cents[r].sum())
            target = np.flatnonzero(r if gap > 0 else d)[0]
            cents[target] += abs(gap)
    opened = cents + (cents * rng.uniform(0.0, 0.3, len(cents))).astype(np.int64)
    voted = np.where(rng.random(len(cents)) < 0.5, opened, 0)
    lines["MtReal"] = _decimal_text(cents).to_numpy()
    lines["CredOuv"] = _decimal_text(opened).to_numpy()
    lines["MtPrev"] = _decimal_text(voted).to_numpy()
    lines["cents"] = cents
    header = {"exercice": exercice, "siret": _luhn_siret("2199999990001"), "plan": plan.name}
    return lines, header


def totem_text(lines: pd.DataFrame, header: dict) -> str:
    """The whole document as text (the lines composed column-wise)."""
    i = "         "
    typ = np.where(lines["TypOpBudg"].fillna("") != "", i + '<TypOpBudg V="' + lines["TypOpBudg"].fillna("").astype(str) + '"/>\n', "")
    body = (
        "      <LigneBudget>\n"
        + i + '<Nature V="' + lines["Nature"] + '"/>\n'
        + i + '<Fonction V="' + lines["Fonction"] + '"/>\n'
        + i + '<ArtSpe V="false"/>\n'
        + i + '<ContFon V="' + lines["ContFon"].astype(str) + '"/>\n'
        + i + '<CodRD V="' + lines["CodRD"] + '"/>\n'
        + i + '<MtPrev V="' + lines["MtPrev"] + '"/>\n'
        + i + '<CredOuv V="' + lines["CredOuv"] + '"/>\n'
        + i + '<MtReal V="' + lines["MtReal"] + '"/>\n'
        + i + '<OpBudg V="' + lines["OpBudg"] + '"/>\n'
        + pd.Series(typ, index=lines.index)
        + i + '<MtSup Code="BudgetHorsRAR" V="' + lines["CredOuv"] + '"/>\n'
        + "      </LigneBudget>\n"
    )
    exer, siret = header["exercice"], header["siret"]
    head = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<DocumentBudgetaire xmlns="http://www.minefi.gouv.fr/cp/demat/docbudgetaire">
   <VersionSchema V="86"/>
   <BlocEditeur>
      <CodeEditeur V="budgetclimat benchmarks/gen_totem.py"/>
   </BlocEditeur>
   <EnTeteDocBudgetaire>
      <DteStr V="{exer + 1}-05-20"/>
      <LibellePoste V="TRESORIER PRINCIPAL MUNICIPAL"/>
      <IdPost V="099001"/>
      <LibelleColl V="VILLE DE BENCH-SUR-SEED"/>
      <IdColl V="{siret}"/>
      <NatCEPL V="VILLE"/>
   </EnTeteDocBudgetaire>
   <Budget>
      <EnTeteBudget>
         <LibelleEtab V="BUDGET PRINCIPAL BENCH-SUR-SEED"/>
         <IdEtab V="{siret}"/>
         <CodColl V="003"/>
         <CodBud V="00"/>
         <Nomenclature V="{NOMENCLATURE}"/>
      </EnTeteBudget>
      <BlocBudget>
         <NatDec V="09"/>
         <Exer V="{exer}"/>
         <ProjetBudget V="true"/>
         <NatVote V="FcIc"/>
         <OpeEquip V="false"/>
         <VoteFormelChap V="false"/>
         <TypProv V="1"/>
         <BudgPrec V="1"/>
         <ReprRes V="1"/>
         <NatFonc V="2"/>
         <PresentationSimplifiee V="false"/>
         <CodTypBud V="P"/>
      </BlocBudget>
      <InformationsGenerales>
         <Information Code="LieuCommDoc" V="Hôtel de Ville"/>
      </InformationsGenerales>
"""
    return head + "".join(body.tolist()) + "   </Budget>\n</DocumentBudgetaire>\n"


def write_totem(path, n: int, seed: int, exercice: int = 2022) -> dict:
    lines, header = draw_totem(n, seed, exercice)
    path.write_bytes(totem_text(lines, header).encode("iso-8859-1"))
    return {"kind": "totem", "lines": n, "path": path, "total_cents": int(lines["cents"].sum()),
            "plan": header["plan"]}
