"""Deterministic generators of TOTEM documents voted par nature / par fonction, for the tests.

The real Montpellier CA 2018 (``tests/data/montpellier-ca-2018-m57.xml``) is itself voted **par
fonction** (``NatFonc`` 2, a ``ContFon`` on every line, comptes fonctionnels ``93020`` in ``Fonction``,
ordre through 925/926/946/951/953, no ``ContNat``). The real Montreuil CA 2016
(``montreuil-ca-2016-m14.xml``) is voted **par nature** (``NatFonc`` 3, ``ContNat``, plain fonctions).
From them:

* :func:`to_vote_by_nature` writes the same lines voted par nature: ``ContNat`` = the chapter the plan
  gives the nature for its sens and réel/ordre kind, ``Fonction`` = the fonction without the 90/93
  prefix (no ``Fonction`` for non-ventilated lines, as in the source), no ``ContFon``, ``NatFonc`` 3;
* :func:`to_vote_by_fonction` writes lines voted par nature as a vote par fonction: ``ContFon`` = the
  functional chapter of the compte fonctionnel (prefix + fonction) the plan opens for the line's section
  and sens, or the non-ventilated chapter of the nature (:data:`NON_VENTILATED`), ordre lines through the
  plan's functional ordre chapters (virements and other prévision-only natures through its « L »
  chapters), ``Fonction`` as a compte fonctionnel (a plain fonction on every third line),
  ``NatFonc`` 2, and — with ``variations`` — ``OpBudg``/``TypOpBudg`` dropped on every other ordre
  line (the chapter alone must say ordre) and sub-chapters written « 904-4 ».

Only the plan's tables (accounts, functional accounts, chapters) are used, never the reading code under
test. Amounts, natures and line order are kept, so totals and coloured budgets must not move.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

NS = "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"
Q = f"{{{NS}}}"

# Non-ventilated functional chapters by nature prefix (longest prefix wins), for lines without a
# fonction. M57 from the real use in the Montpellier CA 2018; M14 from the plan's chapter labels.
NON_VENTILATED = {
    "M57": {
        "F": {"731": "940", "739": "940", "73": "941", "637": "941", "74": "942", "6541": "943", "66": "943",
              "673": "943", "76": "943", "6586": "944", "68": "945", "78": "945", "002": "940"},
        "I": {"1022": "921", "10222": "922", "10": "922", "1068": "922", "13": "922", "16": "923", "27": "923", "001": "923"},
    },
    "M14": {
        "F": {"73": "933", "739": "933", "74": "932", "66": "931", "76": "931", "6586": "936", "68": "931", "78": "931",
              "002": "933", "77": "931", "67": "931", "65": "931"},
        "I": {"10": "912", "13": "912", "1022": "913", "16": "911", "27": "911", "001": "911", "26": "911", "45": "911"},
    },
}
VENTILATED_PREFIX = {"M57": {"F": "93", "I": "90"}, "M14": {"F": "92", "I": "90"}}
PREVISION_ONLY = {"020", "021", "022", "023", "024"}
CLASS_SECTION = {"6": "F", "7": "F", "1": "I", "2": "I", "3": "I", "4": "I"}
SPECIAL_SECTION = {"001": "I", "002": "F", "020": "I", "021": "I", "022": "F", "023": "F", "024": "I"}
ORDRE_BY_NATURE_CHAPTER = {"040": "section", "042": "section", "041": "interieur", "043": "interieur", "021": "section", "023": "section"}


def _field(line: etree._Element, name: str) -> etree._Element | None:
    return line.find(Q + name)


def _value(line: etree._Element, name: str) -> str | None:
    elem = _field(line, name)
    return None if elem is None else (elem.get("V") or "").strip()


def _set(line: etree._Element, name: str, value: str | None, after: str = "Nature") -> None:
    elem = _field(line, name)
    if value is None:
        if elem is not None:
            line.remove(elem)
        return
    if elem is None:
        elem = etree.Element(Q + name)
        anchor = _field(line, after)
        anchor.addnext(elem) if anchor is not None else line.insert(0, elem)
        elem.tail = anchor.tail if anchor is not None else None
    elem.set("V", value)


def section_of(nature: str) -> str | None:
    return SPECIAL_SECTION.get(nature) or CLASS_SECTION.get(nature[:1])


def _kind(line: etree._Element) -> str | None:
    """Ordre kind of a source line: TypOpBudg (2 between sections, 1 within) or its ContNat."""
    if _value(line, "OpBudg") != "1":
        return None
    typ = _value(line, "TypOpBudg")
    if typ in ("1", "2"):
        return "section" if typ == "2" else "interieur"
    return ORDRE_BY_NATURE_CHAPTER.get(_value(line, "ContNat") or "", "section")


def _nature_chapter(plan, nature: str, sens: str, kind: str | None) -> str | None:
    accounts = plan.accounts.set_index("code")
    if nature not in accounts.index:
        return None
    column = {None: "chapter_real", "section": "chapter_ordre_section", "interieur": "chapter_ordre_interieur"}[kind]
    value = accounts.at[nature, f"{column}_{sens.lower()}"]
    return None if value is None or str(value) in ("<NA>", "nan") else str(value)


def _header(tree: etree._ElementTree, name: str, value: str) -> None:
    for elem in tree.iter(Q + name):
        elem.set("V", value)


def _write(tree: etree._ElementTree, path: Path) -> Path:
    encoding = tree.docinfo.encoding or "UTF-8"
    path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding=encoding))
    return path


def _parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))


def to_vote_by_nature(source: Path, target: Path, plan, truncate_every: int = 0) -> Path:
    """Write the par-fonction document ``source`` as voted par nature (see the module docstring).

    ``truncate_every`` > 0: every n-th real expense line whose 3-digit parent account the plan votes in
    the same chapter gets that 3-digit nature (a « nature à 3 chiffres »).
    """
    tree = _parse(source)
    accounts = plan.accounts.set_index("code")
    eligible = 0
    for line in tree.iter(Q + "LigneBudget"):
        nature, sens = _value(line, "Nature"), _value(line, "CodRD")
        kind = _kind(line)
        fonction, contfon = _value(line, "Fonction"), _value(line, "ContFon")
        if truncate_every and kind is None and sens == "D" and len(nature) >= 5 and nature[:3] in accounts.index:
            if _nature_chapter(plan, nature[:3], sens, None) == _nature_chapter(plan, nature, sens, None) is not None:
                eligible += 1
                if eligible % truncate_every == 0:
                    nature = nature[:3]
                    _set(line, "Nature", nature)
        chapter = _nature_chapter(plan, nature, sens, kind)
        if fonction is not None and contfon is not None and fonction != contfon and len(fonction) >= 4:
            fonction = fonction[2:]  # compte fonctionnel 93020 -> fonction 020
        elif fonction is not None and fonction == contfon:
            fonction = None  # non-ventilated chapter: no fonction, as the source has none
        _set(line, "Fonction", fonction)
        _set(line, "ContNat", chapter, after="Fonction" if fonction is not None else "Nature")
        _set(line, "ContFon", None)
    _header(tree, "NatFonc", "3")
    return _write(tree, target)


def _functional_tables(plan):
    """(section, sens, kind, type) -> functional chapter, and compte fonctionnel -> (chapter by sens)."""
    chapters = plan.chapters[plan.chapters["kind"] == "fonction"].drop_duplicates("code").set_index("code")
    accounts = plan.functional_accounts.set_index("code")
    by_role: dict[tuple, str] = {}
    for code, row in chapters.iterrows():
        if code not in accounts.index:
            continue
        acc = accounts.loc[code]
        for sens in ("D", "R"):
            s = sens.lower()
            roles = []
            if str(acc[f"chapter_real_{s}"]) != "<NA>":
                roles.append(None)
            if str(acc[f"chapter_ordre_section_{s}"]) != "<NA>":
                roles.append("section")
            if str(acc[f"chapter_ordre_interieur_{s}"]) != "<NA>":
                roles.append("interieur")
            for role in roles:
                by_role.setdefault((row["section"], sens, role, row["type"], int(len(roles) == 1)), code)
    return by_role, accounts


def by_family(by_role: dict) -> set[str]:
    """Functional chapters open to real operations."""
    return {code for (section, sens, role, type_, only), code in by_role.items() if role is None and type_ == "C"}


def to_vote_by_fonction(source: Path, target: Path, plan, norm: str, variations: bool = True) -> Path:
    """Write the par-nature document ``source`` as voted par fonction (see the module docstring)."""
    tree = _parse(source)
    by_role, accounts = _functional_tables(plan)
    fonctions = set(plan.fonctions["code"].astype(str))
    prefixes = VENTILATED_PREFIX[norm]
    ordre_seen = 0
    for index, line in enumerate(tree.iter(Q + "LigneBudget")):
        nature, sens = _value(line, "Nature"), _value(line, "CodRD")
        section = section_of(nature)
        kind = _kind(line)
        fonction = _value(line, "Fonction")
        kind_type = "L" if nature in PREVISION_ONLY else "C"
        written = fonction
        if kind is not None:
            chapter = by_role.get((section, sens, kind, kind_type, 1)) or by_role[(section, sens, kind, kind_type, 0)]
            written = chapter if fonction is None else fonction
            ordre_seen += 1
            if variations and ordre_seen % 2 == 0:
                _set(line, "OpBudg", None)
                _set(line, "TypOpBudg", None)
        elif nature in PREVISION_ONLY:
            chapter = by_role[(section, sens, None, "L", 1)]
            written = None if fonction is None else fonction
        else:
            chapter = None
            if fonction is not None and fonction in fonctions:
                account = prefixes[section] + fonction
                if account in accounts.index:
                    chapter = str(accounts.at[account, f"chapter_real_{sens.lower()}"])
                    chapter = None if chapter == "<NA>" else chapter
                    written = account if not (variations and index % 3 == 0) else fonction
            if chapter is None:
                table = NON_VENTILATED[norm][section]
                prefix = max((p for p in table if nature.startswith(p)), key=len, default=None)
                if prefix is not None:
                    chapter = table[prefix]
                    written = fonction if fonction is not None else chapter
                elif fonction and prefixes[section] + fonction[0] in by_family(by_role):
                    chapter = prefixes[section] + fonction[0]  # « 01 » non ventilable: the family's chapter
                else:
                    raise ValueError(f"no functional chapter for line {line.sourceline}: nature {nature}, fonction {fonction}")
        if variations and len(chapter) == 4 and chapter.startswith("9"):
            chapter = chapter[:3] + "-" + chapter[3]  # printed sub-chapter « 904-4 »
        _set(line, "Fonction", written)
        _set(line, "ContFon", chapter, after="Fonction" if written is not None else "Nature")
        _set(line, "ContNat", None)
    _header(tree, "NatFonc", "2")
    return _write(tree, target)


def move_to_sub_chapter(source: Path, target: Path, fonction: str, count: int = 1) -> Path:
    """Give the first ``count`` real investment expense lines of a par-nature document ``fonction``.

    Used to put a line in a functional sub-chapter (M57 fonction 441 -> compte 90441, chapter 9044).
    """
    tree = _parse(source)
    moved = 0
    for line in tree.iter(Q + "LigneBudget"):
        nature = _value(line, "Nature")
        if moved < count and _kind(line) is None and _value(line, "CodRD") == "D" and section_of(nature) == "I" and nature.startswith("2") and _value(line, "Fonction"):
            _set(line, "Fonction", fonction)
            moved += 1
    return _write(tree, target)
