"""TOTEM XML reader (« Actes budgétaires » ``<DocumentBudgetaire>``) into the canonical line model.

Streaming: ``lxml.etree.iterparse`` with entities, DTDs and network all off; each element is cleared
once read, so memory stays flat whatever the annexes weigh. Field values (attribute ``V``) are
collected into one list per field, the frame is built once, and every decoding step after that is
vectorised. A file carrying a ``<!DOCTYPE``/``<!ENTITY`` is refused before parsing: budgets never
need one, and refusing is the only way to be sure nothing external is ever read.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

from budgetclimat import i18n, model
from budgetclimat.errors import ERROR, INFO, WARNING, InvalidDataError, concat_findings, findings_frame
from budgetclimat.money import MAX_AMOUNT_EUROS, XS_DECIMAL, parse_xs_decimal
from budgetclimat.nomenclature import enrich, plan_for
from budgetclimat.nomenclature.functional import functional_ordre_chapters, normalise_chapter, read_functional_vote
from budgetclimat.nomenclature.plan import Plan
from budgetclimat.read.detect import utf16_codec

# LigneBudget fields kept (MtSup are per-document extras and are not part of the model).
LINE_FIELDS = [
    "Nature", "LibCpte", "Fonction", "ContNat", "ContFon", "ContOp", "Operation", "ArtSpe",
    "CodRD", "OpBudg", "TypOpBudg",
    "MtPrev", "CredOuv", "MtReal", "MtRAR3112", "MtRARPrec", "MtBudgPrec", "MtPropNouv",
    "ProgAutoNum", "ProgAutoLib",
]  # fmt: skip
# CaracSup elements kept, by their Code: the autorisation de programme a line executes (several lines
# of one account and fonction differ only by it, and measures are tied to budget lines through it).
CARAC_FIELDS = {"ProgAutoNum", "ProgAutoLib"}
AMOUNT_FIELDS = {
    "MtPrev": "voted",
    "CredOuv": "open_credits",
    "MtReal": "executed",
    "MtRAR3112": "carried_forward",
    "MtRARPrec": "previous_carried",
    "MtBudgPrec": "previous_budget",
    "MtPropNouv": "proposed",
}
# Marks an element without its V attribute among a line's field problems (totem-field-without-value).
NO_V = "(sans attribut V)"
HEADER_PARENTS = {"EnTeteDocBudgetaire", "EnTeteBudget", "BlocBudget"}

# NatDec codes. 01 BP, 02 DM, 03 BS, 09 CA: TOTEM format notes in DavidBruant/colors-of-the-finances
# docs/format-fichier.md (also in the opendatafrance SCDL budget documentation); 10 CFU: the
# EtapeBudgetaire enum of a public TOTEM->SCDL converter ("les valeurs de l'enum correspondent au code
# NatDec des fichiers totem": PRIMITIF=1, DECISION_MODIF=2, BUDGET_SUPP=3, COMPTE_ADMIN=9, CFU=10).
NATDEC = {"01": "BP", "02": "DM", "03": "BS", "09": "CA", "10": "CFU"}
# CodRD is D/R in files seen in the wild; some documentation gives 1 = dépense, 0 = recette.
CODRD = {"D": "D", "R": "R", "1": "D", "0": "R"}
# OpBudg: 0 réel (the default when absent), 1 ordre.
OPBUDG = {"0": "reel", "1": "ordre"}
# TypOpBudg on ordre lines: 2 = between sections, 1 = within a section. Observed in the Montpellier
# CA 2018: TypOpBudg 2 on every line of the functional chapters 926/946 (« transferts entre les
# sections ») and on the 021/023 virements, 1 on chapter 925 (« opérations patrimoniales »).
TYPOPBUDG = {"2": "section", "1": "interieur"}
ORDRE_CHAPTERS = {"040": "section", "042": "section", "041": "interieur", "043": "interieur"}
# Section of the special two/three-digit lines (001 résultat I, 002 résultat F, 020 dépenses imprévues
# I, 021 virement reçu I, 022 dépenses imprévues F, 023 virement F, 024 cessions I).
_CLASS_SECTION = {"6": "F", "7": "F", "1": "I", "2": "I", "3": "I", "4": "I"}
SPECIAL_SECTION = {"001": "I", "002": "F", "020": "I", "021": "I", "022": "F", "023": "F", "024": "I"}

# The largest amount one cell may carry: 10^12 € (a thousand billion euros, more than every French local
# budget together). Cents stay far from the int64 limit (9.2 × 10^16 €) even summed over 90,000 lines.
_XS_DECIMAL = re.compile(XS_DECIMAL)
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)")
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def read_totem(path: str | Path, basis: str | None = None, file_index: int = 0) -> model.BudgetDocument:
    """Read one TOTEM XML file into a :class:`~budgetclimat.model.BudgetDocument`.

    Lines get the plan de comptes of their nomenclature and year (labels, missing chapters);
    ``raw_totals`` are Decimal sums of the raw amount strings by section (from the account class),
    sens and réel/ordre, computed without the frame.
    """
    p = Path(path)
    encoding = _refuse_declarations(p)
    raw, header, header_lines = _stream(p, encoding)
    document = _document_fields(p, header, header_lines)
    frame = pd.DataFrame({f: pd.Series(raw[f], dtype="string") for f in LINE_FIELDS})
    frame["source_row"] = pd.Series(raw["_line"], dtype="Int64")
    plan, plan_warning = plan_for(document["nomenclature_variant"], None, document["exercice"])
    lines, findings = _lines(p, frame, document, plan, basis, file_index)
    ordre_chapters = functional_ordre_chapters(plan)
    if plan_warning is not None:
        plan_warning["file"] = p.name if plan_warning["file"] is None else plan_warning["file"]
        findings.append(findings_frame([plan_warning]))
    if frame.empty:
        findings.append(findings_frame([{"level": ERROR, "code": "totem-no-lines", "file": p.name}]))
    findings.append(_repeated_fields(p, raw))
    source = model.SourceInfo(path=p, format="totem", sha256=_sha256(p), encoding=encoding, header=header)
    return model.BudgetDocument(
        lines=lines,
        source=source,
        raw_totals=_raw_totals(raw, ordre_chapters),
        findings=concat_findings(findings).sort_values("row", na_position="first", kind="stable", ignore_index=True),
    )


def _refuse_declarations(path: Path) -> str:
    """Refuse DOCTYPE/ENTITY declarations (they can only appear before the root element)."""
    with path.open("rb") as handle:
        head = handle.read(65536)
    utf16 = utf16_codec(head)
    if utf16 is not None:  # declarations are looked for in the decoded text
        head = head[2:].decode(utf16, errors="ignore").encode("utf-8")
    prolog = head.split(b"<DocumentBudgetaire", 1)[0] if b"<DocumentBudgetaire" in head else head
    found = _DECLARATION.search(prolog) or _DECLARATION.search(head)
    if found is not None:
        row = head[: found.start()].count(b"\n") + 1
        raise InvalidDataError(
            "xml-entity-forbidden", file=path.name, row=row, value="<!" + found.group(1).decode()
        )
    if utf16 is not None:  # libxml2 reads UTF-16 from its byte-order mark
        return "UTF-16"
    declared = _ENCODING.search(head.lstrip(b"\xef\xbb\xbf"))
    return declared.group(1).decode("ascii").upper() if declared else "UTF-8"


def _stream(path: Path, encoding: str) -> tuple[dict[str, list], dict[str, str], dict[str, int]]:
    raw: dict[str, list] = {f: [] for f in [*LINE_FIELDS, "_line", "_repeated"]}
    header: dict[str, str] = {}
    header_lines: dict[str, int] = {}
    budgets = 0
    context = etree.iterparse(
        str(path), events=("end",), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        for _, elem in context:
            tag = elem.tag
            if not isinstance(tag, str):  # comments and processing instructions
                continue
            name = tag.rpartition("}")[2]
            parent = elem.getparent()
            parent_name = parent.tag.rpartition("}")[2] if parent is not None else ""
            if parent_name == "LigneBudget":
                continue  # read with its LigneBudget
            if name == "LigneBudget":
                values = dict.fromkeys(LINE_FIELDS)
                repeated: dict[str, list] = {}
                for child in elem:
                    if isinstance(child.tag, str):
                        field = child.tag.rpartition("}")[2]
                        if field == "CaracSup" and child.get("Code") in CARAC_FIELDS:
                            field = child.get("Code")
                        value = child.get("V")
                        if value is None and field in values:
                            # An element without its value (a damaged attribute): never read as absent or 0.
                            repeated.setdefault(field, []).append(NO_V)
                        if field in values and values[field] is None:
                            values[field] = value
                        elif field in values and (value or "").strip() != (values[field] or "").strip():
                            repeated.setdefault(field, [values[field]]).append(value)
                for field in repeated:  # never first-wins: the field is unknown, and an error finding says why
                    values[field] = None
                for field in LINE_FIELDS:
                    raw[field].append(values[field])
                raw["_line"].append(elem.sourceline)
                raw["_repeated"].append(repeated or None)
            elif name == "Budget" and parent_name == "DocumentBudgetaire":
                budgets += 1
                if budgets > 1:
                    raise InvalidDataError("totem-several-budgets", file=path.name, row=elem.sourceline)
            elif parent_name in HEADER_PARENTS and name not in header:
                header[name] = elem.get("V", "")
                header_lines[name] = elem.sourceline
            elif parent_name in HEADER_PARENTS and elem.get("V", "").strip() != header[name].strip():
                raise InvalidDataError(
                    "totem-header-repeated", file=path.name, row=elem.sourceline, column=name,
                    value=f"« {header[name]} » ligne {header_lines[name]}, « {elem.get('V', '')} » ligne {elem.sourceline}",
                )
            elem.clear()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
        docinfo = context.root.getroottree().docinfo if context.root is not None else None
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(path, exc, encoding) from None
    if docinfo is not None and (docinfo.doctype or docinfo.internalDTD is not None):
        raise InvalidDataError("xml-entity-forbidden", file=path.name, row=1, value="<!DOCTYPE")
    return raw, header, header_lines


def _repeated_fields(path: Path, raw: dict[str, list]) -> pd.DataFrame:
    """Error findings for fields a ``<LigneBudget>`` gives twice with different values, or without their
    ``V`` attribute (few: a loop)."""
    rows = [
        {"level": ERROR, "code": "totem-field-without-value" if values == [NO_V] else "totem-field-repeated",
         "file": path.name, "row": line, "column": field,
         "value": " | ".join("" if v is None else str(v) for v in values)}
        for line, repeated in zip(raw["_line"], raw["_repeated"]) if repeated
        for field, values in repeated.items()
    ]  # fmt: skip
    return findings_frame(rows)


def _too_large(values: pd.Series) -> pd.Series:
    """Cells holding a number of magnitude ≥ :data:`MAX_AMOUNT_EUROS` (or an overflowing one, ``1e400``)."""
    text = values.astype("string").str.strip()
    magnitude = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").abs()
    has_digit = text.str.contains(r"\d", regex=True).fillna(False)
    return (has_digit & (magnitude >= MAX_AMOUNT_EUROS).fillna(False)).astype(bool)


def _syntax_error(path: Path, exc: etree.XMLSyntaxError, encoding: str) -> InvalidDataError:
    message = (exc.msg or str(exc)).strip()
    line = exc.lineno if exc.lineno else None
    if exc.code in (etree.ErrorTypes.ERR_INVALID_CHAR, etree.ErrorTypes.ERR_INVALID_ENCODING) or "encoding" in message.lower():
        return InvalidDataError("xml-encoding-mismatch", file=path.name, row=line, value=message, expected=encoding)
    return InvalidDataError("xml-malformed", file=path.name, row=line, value=message)


def _document_fields(path: Path, header: dict[str, str], lines: dict[str, int]) -> dict:
    for field, expected in (("Exer", "une année, ex. 2024"), ("NatDec", "01, 02, 03, 09 ou 10"), ("Nomenclature", "ex. M57-M57")):
        if not header.get(field, "").strip():
            raise InvalidDataError("totem-header-missing", file=path.name, column=field, expected=expected)
    exer = header["Exer"].strip()
    if not re.fullmatch(r"\d{4}", exer):
        raise InvalidDataError(
            "totem-header-invalid", file=path.name, row=lines.get("Exer"), column="Exer", value=exer, expected="une année, ex. 2024"
        )
    natdec = header["NatDec"].strip().zfill(2)
    if natdec not in NATDEC:
        raise InvalidDataError(
            "totem-header-invalid", file=path.name, row=lines.get("NatDec"), column="NatDec",
            value=header["NatDec"], expected="01 (BP), 02 (DM), 03 (BS), 09 (CA) ou 10 (CFU)",
        )
    nomenclature = header["Nomenclature"].strip()
    budget_code = header.get("CodBud", "").strip() or None
    kind = header.get("CodTypBud", "").strip().upper()
    principal = kind == "P" if kind else budget_code in (None, "00")
    return {
        "collectivite": header.get("LibelleColl") or None,
        "siret": header.get("IdColl") or None,
        "exercice": int(exer),
        "doc_type": NATDEC[natdec],
        "budget_code": budget_code,
        "budget_label": header.get("LibelleEtab") or None,
        "budget_kind": "principal" if principal else "annexe",
        "nomenclature": nomenclature.partition("-")[0],
        "nomenclature_variant": nomenclature,
    }


def _lines(
    path: Path, frame: pd.DataFrame, document: dict, plan: Plan | None, basis: str | None, file_index: int
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    findings: list[pd.DataFrame] = []
    out = pd.DataFrame(index=frame.index)
    out["source_file"] = pd.Series(path.name, index=frame.index, dtype="string")
    out["source_row"] = frame["source_row"]
    out["source_format"] = pd.Series("totem", index=frame.index, dtype="string")
    for column, value in document.items():
        out[column] = pd.Series(value, index=frame.index, dtype=model.DTYPES[column])

    for field, basis_name in AMOUNT_FIELDS.items():
        too_large = _too_large(frame[field])  # screened out before parsing: int64 cents would overflow
        cents, bad = parse_xs_decimal(frame[field].mask(too_large))
        out[model.AMOUNT_COLUMNS[basis_name]] = cents
        findings.append(_bad_cells(path, frame, field, bad, "amount-not-a-number", "1234.56"))
        findings.append(_bad_cells(path, frame, field, too_large, "amount-too-large", f"moins de {MAX_AMOUNT_EUROS:,} €".replace(",", "\u202f")))

    codrd = frame["CodRD"].str.strip().str.upper()
    out["sens"] = codrd.map(CODRD).astype("string")
    findings.append(_bad_cells(path, frame, "CodRD", out["sens"].isna(), "totem-bad-code", "D ou R"))
    opbudg = frame["OpBudg"].str.strip().fillna("0")
    out["operation"] = opbudg.map(OPBUDG).astype("string")
    findings.append(_bad_cells(path, frame, "OpBudg", out["operation"].isna(), "totem-bad-code", "0 (réel) ou 1 (ordre)"))

    nature = frame["Nature"].str.strip()
    out["nature"] = nature.mask(nature == "").astype("string")
    missing = out["nature"].isna().to_numpy()
    if missing.any():
        findings.append(_rows(path, frame, missing, "totem-nature-missing", "Nature", ""))

    contnat = _blank_to_na(frame["ContNat"])
    is_ordre = (out["operation"] == "ordre").fillna(False)
    kind = contnat.map(ORDRE_CHAPTERS).fillna(frame["TypOpBudg"].str.strip().map(TYPOPBUDG)).astype("string")
    if plan is not None:
        kind = kind.fillna(plan.ordre_kind_of(out["nature"], out["sens"]))
    out["ordre_kind"] = kind.where(is_ordre).astype("string")
    not_chapter = _account_in_chapter_field(contnat, out["nature"], _blank_to_na(frame["Operation"]), plan)
    out["chapitre"] = contnat.mask(not_chapter)  # the plan gives these lines their chapter (enrich below)
    out["operation_code"] = _blank_to_na(frame["Operation"]).fillna(_blank_to_na(frame["ContOp"]))
    out["ap_code"] = _blank_to_na(frame["ProgAutoNum"])
    out["ap_label"] = _blank_to_na(frame["ProgAutoLib"])
    out["label"] = _blank_to_na(frame["LibCpte"])

    functional = _fonction(frame, out["sens"], plan)
    out["fonction"] = functional["fonction"]
    out["chapitre_fonction"] = functional["chapitre_fonction"]
    out["section"] = functional["section"]
    # Vote par fonction: functional chapters out of ``chapitre``, ordre lines from the ordre chapters.
    out, flipped = read_functional_vote(out, plan)
    said_real = flipped & frame["OpBudg"].str.strip().notna()
    if said_real.any():
        kinds = out["ordre_kind"].map({k: i18n.t(f"expected.ordre-{k}") for k in ("section", "interieur")})
        findings.append(_rows(path, frame, said_real.to_numpy(dtype=bool), "functional-ordre-chapter", "OpBudg", kinds,
                              level=WARNING, value=out["chapitre_fonction"]))

    out = enrich(model.conform(out), plan)
    chapter_section = plan.chapter_section(out["chapitre"]) if plan is not None else pd.Series(pd.NA, index=out.index, dtype="string")
    out["section"] = out["section"].fillna(chapter_section).fillna(_class_section(out["nature"])).astype("string")

    if not_chapter.any():
        # One info finding per line whose ContNat was read as its account (grouped when shown).
        findings.append(_rows(path, frame, not_chapter.to_numpy(dtype=bool), "totem-contnat-not-chapter", "ContNat", out["chapitre"],
                              level=INFO, value=frame["ContNat"].str.strip()))

    out = model.choose_amount(out, basis)
    out["line_id"] = model.assign_line_ids(out, file_index)
    return model.conform(out), findings


def _account_in_chapter_field(contnat: pd.Series, nature: pd.Series, operation: pd.Series, plan: Plan | None) -> pd.Series:
    """Lines whose ``ContNat`` holds their account or their operation number instead of a chapter.

    In TOTEM, a line is voted in one chapter: ``ContNat`` (chapter by nature), ``ContFon`` (functional
    chapter) or ``ContOp`` (an operation voted as a chapter: opération d'équipement, opération pour
    compte de tiers such as ``454101``). Some editors fill ``ContNat`` of the lines of an opération
    d'équipement with the line's account (Montreuil CA 2016/2017, ASTRE GF: ``Nature`` 2135,
    ``Operation`` 20160003, ``ContNat`` 2135). Such a value is no chapter: the line's chapter by nature
    is the plan's for its account. A value that is a chapter of the plan (``4541``, a compte de tiers
    chapter equal to its account) stays the chapter.
    """
    same = (contnat == nature).fillna(False) | (contnat == operation).fillna(False)
    if plan is not None:
        chapters = plan.chapters.loc[plan.chapters["kind"] == "nature", "code"]
        return (same & ~contnat.isin(chapters).fillna(False)).astype(bool)
    # Without a plan: chapters have 2 or 3 digits, except the 45… third-party ones.
    longer = (contnat.str.len() > 3).fillna(False) & ~contnat.str.startswith("45").fillna(False)
    return (same & longer).astype(bool)


def _fonction(frame: pd.DataFrame, sens: pd.Series, plan: Plan | None) -> pd.DataFrame:
    """fonction / chapitre_fonction / section from ``Fonction`` and ``ContFon``.

    Lines with a ``ContFon`` are voted par fonction: their ``Fonction`` is a compte fonctionnel
    (``93020``: section F, fonction ``020``) or a non-ventilated functional chapter (``926``), decoded
    with the plan; without the plan, the M57 prefixes 90 (investissement) and 93 (fonctionnement).
    Other lines carry a plain fonction.
    """
    fonction = _blank_to_na(frame["Fonction"])
    contfon = _blank_to_na(frame["ContFon"])
    by_fonction = contfon.notna()
    na = pd.Series(pd.NA, index=frame.index, dtype="string")
    if plan is not None:
        decoded = plan.decode_fonction(fonction, sens)
    else:
        decoded = pd.DataFrame({"fonction": na, "chapitre_fonction": na, "section": na})
    prefix = fonction.str.slice(0, 2)
    account_like = (fonction.str.len() >= 4).fillna(False) & prefix.isin(["90", "93"]).fillna(False)
    fallback_section = prefix.map({"90": "I", "93": "F"}).where(account_like).astype("string")
    # The voted chapter is ContFon when the line has one (« 904-4 » read as 9044); the compte
    # fonctionnel's chapter only fills a gap (the plan gives odd chapters for some non-ventilated codes).
    chapter = normalise_chapter(contfon).fillna(decoded["chapitre_fonction"]).fillna(fonction.str.slice(0, 3).where(account_like))
    chapter_section = plan.chapter_section(chapter) if plan is not None else na
    section = chapter_section.fillna(decoded["section"]).fillna(fallback_section)
    decoded_fonction = decoded["fonction"].fillna(fonction.str.slice(2).where(account_like & decoded["chapitre_fonction"].isna()))
    # A plain fonction beside a ContFon (« 020 » with ContFon 930) is kept as it is; a Fonction that
    # repeats the chapter (« 926 », non ventilé) or is a compte fonctionnel is no fonction of its own.
    known = fonction.isin(plan.fonctions["code"]).fillna(False) if plan is not None else pd.Series(False, index=frame.index)
    plain = ~account_like & (decoded["chapitre_fonction"].isna() | known) & (fonction != chapter).fillna(True)
    decoded_fonction = decoded_fonction.fillna(fonction.where(plain))
    return pd.DataFrame(
        {
            "fonction": decoded_fonction.where(by_fonction, fonction).astype("string"),
            "chapitre_fonction": chapter.where(by_fonction).astype("string"),
            "section": section.where(by_fonction).astype("string"),
        },
        index=frame.index,
    )


def _class_section(nature: pd.Series) -> pd.Series:
    """Section from the account class: 6/7 fonctionnement, 1–4 investissement, 00x/02x special lines."""
    section = nature.str.slice(0, 1).map(_CLASS_SECTION)
    return section.fillna(nature.map(SPECIAL_SECTION)).astype("string")


def _blank_to_na(values: pd.Series) -> pd.Series:
    stripped = values.astype("string").str.strip()
    return stripped.mask(stripped == "").astype("string")


def _bad_cells(path: Path, frame: pd.DataFrame, field: str, bad: pd.Series, code: str, expected: str) -> pd.DataFrame:
    return _rows(path, frame, bad.fillna(True).to_numpy(dtype=bool), code, field, expected)


def _rows(
    path: Path, frame: pd.DataFrame, mask: np.ndarray, code: str, column: str, expected: object,
    level: str = ERROR, value: pd.Series | None = None,
) -> pd.DataFrame:
    """One finding per masked line, on the XML line of its ``<LigneBudget>``. ``value`` defaults to the
    line's ``column`` field; ``expected`` is one text or a series aligned with ``frame``."""
    value = frame[column] if value is None else value
    if isinstance(expected, pd.Series):
        expected = expected.to_numpy(dtype=object, na_value=None)[mask]
    table = pd.DataFrame(
        {
            "level": level,
            "code": code,
            "file": path.name,
            "row": frame["source_row"].to_numpy()[mask],
            "column": column,
            "value": value.to_numpy(dtype=object, na_value=None)[mask],
            "expected": expected,
        }
    )
    return concat_findings([table])


def _raw_totals(raw: dict[str, list], ordre_chapters: set[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Decimal sums of the raw amount strings by section × sens × operation, one row per basis.

    Deliberately independent of the frame: section from the account class only, sens and operation
    from the raw codes, amounts summed as written. ``lines`` counts every ``<LigneBudget>`` of the
    group; empty or unparseable amounts add nothing (the latter are findings). Under the vote par
    fonction a line whose raw ``ContFon`` and sens are one of ``ordre_chapters`` (the plan's functional
    ordre chapters: ``("926", "R")``…) is an ordre line whatever its ``OpBudg``.
    """
    ordre_chapters = ordre_chapters or set()
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    counts: dict[tuple, int] = defaultdict(int)
    for i, nature in enumerate(raw["Nature"]):
        nature = (nature or "").strip()
        section = SPECIAL_SECTION.get(nature) or _CLASS_SECTION.get(nature[:1])
        sens = CODRD.get((raw["CodRD"][i] or "").strip().upper())
        operation = OPBUDG.get((raw["OpBudg"][i] or "0").strip())
        if ordre_chapters and (re.sub(r"[-./ ]", "", (raw["ContFon"][i] or "").strip()), sens) in ordre_chapters:
            operation = "ordre"
        group = (section, sens, operation)
        counts[group] += 1
        for field, basis in AMOUNT_FIELDS.items():
            text = (raw[field][i] or "").strip()
            if text and not _XS_DECIMAL.match(text):
                continue  # not an xs:decimal: reported as amount-not-a-number by the frame side
            try:
                value = Decimal(text) if text else Decimal(0)
            except InvalidOperation:
                continue
            if value.is_finite() and abs(value) < MAX_AMOUNT_EUROS:
                sums[(*group, basis)] += value
    rows = [
        (*group, basis, lines, int((sums[(*group, basis)] * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
        for group, lines in counts.items()
        for basis in AMOUNT_FIELDS.values()
    ]
    frame = pd.DataFrame(rows, columns=["section", "sens", "operation", "basis", "lines", "total_cents"])
    return frame.astype(
        {"section": "string", "sens": "string", "operation": "string", "basis": "string", "lines": "int64", "total_cents": "int64"}
    ).sort_values(["basis", "section", "sens", "operation"], ignore_index=True)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
