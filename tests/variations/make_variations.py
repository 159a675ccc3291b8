"""Build, from the real budgets in ``tests/data``, budgets that imitate other software — and, next to each,
the totals it must give, summed independently from the source file.

    python tests/variations/make_variations.py OUTDIR      # writes OUTDIR/<file> and OUTDIR/<file>.expected.json

Deterministic (same bytes on every run), and independent of budgetclimat: only the standard library
(csv, decimal, zipfile via openpyxl), openpyxl and lxml are used. Every expected figure is a ``Decimal``
sum of the amount text of the *source* rows (TOTEM ``V`` attributes, cedi ``Montant`` cells), grouped by
section × sens × réel/ordre, never a figure budgetclimat printed.

How the source rows are grouped, independently of budgetclimat:

* TOTEM: sens = ``CodRD``; réel/ordre = ``OpBudg`` (0 réel, 1 ordre); section from the account
  (``Nature``): classes 1–5 and 001/020/021/024 → investissement, classes 6–7 and 002/022/023 →
  fonctionnement. Checked against the figures published in the shared primer for Montpellier 2018 (real
  expenses F 295.79 M€, I 114.83 M€, ordre 22.52 M€ each way).
* cedi: ``Investissement/Fonctionnement`` I/F, ``Dépense/Recette`` D/R, ``Réel/Ordre id/Ordre diff`` OR →
  réel, OE/OI → ordre (docs/formats.md).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import openpyxl
from lxml import etree

DATA = Path(__file__).resolve().parent.parent / "data"
NS = "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"
Q = "{%s}" % NS

MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"
MONTREUIL_2016 = DATA / "montreuil-ca-2016-m14.xml"
MONTREUIL_2017 = DATA / "montreuil-ca-2017-m14.xml"
GIRONDE = DATA / "gironde-ca-2016-m52-cedi.csv"
PLAN_M14_2016 = DATA / "plan-M14_COM_SUP3500-2016.xml.gz"

# A fixed timestamp inside XLSX files, so that the bytes do not depend on the day they are built.
FIXED_TIME = __import__("datetime").datetime(2024, 1, 1, 0, 0, 0)


# ---------------------------------------------------------------------------------------------- sources


@dataclass
class Row:
    """One budget line of a source file, as its text says."""

    section: str  # I / F
    sens: str  # D / R
    operation: str  # reel / ordre
    amount: Decimal  # the amount of the document's basis, from the source text
    nature: str
    chapitre: str = ""
    fonction: str = ""
    label: str = ""
    extra: dict = field(default_factory=dict)


def section_of_account(nature: str) -> str:
    if nature in ("001", "020", "021", "024"):
        return "I"
    if nature in ("002", "022", "023"):
        return "F"
    first = nature[:1]
    if first in "12345" and first:
        return "I"
    if first in "67" and first:
        return "F"
    raise ValueError(f"no section for account {nature!r}")


def totem_lines(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).getroot().findall(f"{Q}Budget/{Q}LigneBudget")


def field_of(line: etree._Element, tag: str) -> str | None:
    element = line.find(Q + tag)
    return None if element is None else element.get("V")


def totem_rows(path: Path, amount_tag: str = "MtReal") -> list[Row]:
    rows = []
    for line in totem_lines(path):
        nature = field_of(line, "Nature")
        text = field_of(line, amount_tag)
        rows.append(
            Row(
                section=section_of_account(nature),
                sens=field_of(line, "CodRD"),
                operation={"0": "reel", "1": "ordre"}[field_of(line, "OpBudg")],
                amount=Decimal(text) if text is not None else Decimal(0),
                nature=nature,
                chapitre=field_of(line, "ContNat") or field_of(line, "ContFon") or "",
                fonction=field_of(line, "Fonction") or "",
                label=field_of(line, "LibCpte") or "",
            )
        )
    return rows


def erp_fonction(row: Row) -> str:
    """The fonction an ERP shows for a line of Montpellier's vote by fonction: the TOTEM ``Fonction`` holds
    a compte fonctionnel (``93020`` = chapter 930, fonction ``020``); a non-ventilated chapter (``923``)
    is fonction ``01`` (opérations non ventilables)."""
    f, chapter = row.fonction, row.chapitre
    if not f:
        return ""
    if f == chapter:
        return "01"
    if len(chapter) == 3 and chapter[:2] in ("90", "93") and f.startswith(chapter[:2]) and len(f) > 2:
        return f[2:]
    return f


def cedi_rows(path: Path) -> tuple[list[str], list[list[str]], list[Row]]:
    with path.open(encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    header, body = records[0], records[1:]
    col = {name: i for i, name in enumerate(header)}
    rows = []
    for rec in body:
        rows.append(
            Row(
                section=rec[col["Investissement/Fonctionnement"]],
                sens=rec[col["Dépense/Recette"]],
                operation={"OR": "reel", "OE": "ordre", "OI": "ordre"}[rec[col["Réel/Ordre id/Ordre diff"]]],
                amount=Decimal(rec[col["Montant"]]),
                nature=rec[col["Article"]],
            )
        )
    return header, body, rows


# ---------------------------------------------------------------------------------------------- helpers


def expected_of(rows: list[Row]) -> dict:
    by_key: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        by_key[f"{r.section}|{r.sens}|{r.operation}"] += r.amount
    cents = {k: int(v * 100) for k, v in sorted(by_key.items())}
    for k, v in by_key.items():
        assert v * 100 == int(v * 100), (k, v)  # every source amount has at most two decimals
    total = sum(r.amount for r in rows)
    return {"totals_cents": cents, "total_cents": int(total * 100), "source_lines": len(rows)}


def fr_amount(value: Decimal, thousands: str = "\u00a0") -> str:
    """French spelling of an amount: « 6 097,96 » (thousands separator given), « -1 234,50 »."""
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(value):.2f}".split(".")
    if thousands:
        groups = []
        while len(units) > 3:
            groups.insert(0, units[-3:])
            units = units[:-3]
        groups.insert(0, units)
        units = thousands.join(groups)
    return f"{sign}{units},{cents}"


SECTION_WORD = {"I": "Investissement", "F": "Fonctionnement"}
SENS_WORD = {"D": "Dépense", "R": "Recette"}
OPERATION_WORD = {"reel": "Réel", "ordre": "Ordre"}


def erp_label(row: Row) -> str:
    return row.label or f"Compte {row.nature}"


def write_csv(path: Path, header: list[str], records: list[list[str]], *, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(records)
    path.write_bytes(buffer.getvalue().encode(encoding))


def new_workbook() -> tuple[openpyxl.Workbook, object]:
    wb = openpyxl.Workbook()
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.creator = "make_variations"
    return wb, wb.active


def save_workbook(wb: openpyxl.Workbook, path: Path) -> None:
    """Save, then rewrite the zip with fixed entry dates so that the bytes are the same on every run."""
    wb.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    wb.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the time of saving there
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", data)
            dst.writestr(fixed, data)
    path.write_bytes(out.getvalue())


# ---------------------------------------------------------------------------------------------- variants

# The Montpellier 2018 lines as a generic ERP would list them (one line per budget line). No chapter
# column: Montpellier votes by fonction, its chapters are functional (930, 903…); the variant
# "erp-csv-functional-chapter" adds that column, so that the other variants test one thing each.
ERP_COLUMNS = ["Compte", "Libellé", "Fonction", "Sens", "Section", "Réel/Ordre", "Exercice", "Montant réalisé"]


def montpellier_erp_records(rows: list[Row], amount) -> list[list]:
    return [
        [r.nature, erp_label(r), erp_fonction(r), SENS_WORD[r.sens], SECTION_WORD[r.section],
         OPERATION_WORD[r.operation], "2018", amount(r.amount)]
        for r in rows
    ]


def v_erp_csv_functional_chapter(out: Path, name: str) -> dict:
    """As "erp-csv-words", plus the « Chapitre » column holding the chapter the city voted: Montpellier votes
    by fonction, so it is the functional chapter of the TOTEM ``ContFon`` (930, 903, 943…)."""
    rows = totem_rows(MONTPELLIER)
    header = ERP_COLUMNS[:3] + ["Chapitre"] + ERP_COLUMNS[3:]
    records = [rec[:3] + [r.chapitre] + rec[3:] for r, rec in zip(rows, montpellier_erp_records(rows, lambda a: f"{a:.2f}"))]
    write_csv(out / name, header, records)
    return expected_of(rows)


def v_real_as_is(out: Path, source: Path, name: str) -> dict:
    out.joinpath(name).write_bytes(source.read_bytes())
    if source.suffix == ".csv":
        return expected_of(cedi_rows(source)[2])
    return expected_of(totem_rows(source))


def v_erp_csv_words(out: Path, name: str) -> dict:
    """Generic ERP CSV, UTF-8, comma, French headers renamed and reordered, direction, section and réel/ordre
    in words (« Dépense », « Investissement », « Réel »), amounts with a dot."""
    rows = totem_rows(MONTPELLIER)
    write_csv(out / name, ERP_COLUMNS, montpellier_erp_records(rows, lambda a: f"{a:.2f}"))
    return expected_of(rows)


def v_erp_csv_cp1252(out: Path, name: str) -> dict:
    """`;`-separated cp1252 CSV, French decimals with a non-breaking space for thousands (« 10 279,70 »),
    other header names of the synonyms list (« Imputation », « Mandaté »)."""
    rows = totem_rows(MONTPELLIER)
    header = ["Exercice", "Section", "Sens", "Réel/Ordre", "Imputation", "Fonction", "Libellé", "Mandaté"]
    records = [
        ["2018", SECTION_WORD[r.section], SENS_WORD[r.sens], OPERATION_WORD[r.operation], r.nature,
         erp_fonction(r), erp_label(r), fr_amount(r.amount)]
        for r in rows
    ]
    write_csv(out / name, header, records, delimiter=";", encoding="cp1252")
    return expected_of(rows)


def v_erp_csv_by_content(out: Path, name: str) -> dict:
    """Direction, section and réel/ordre under headers no synonyms list has (« Dép./Rec. », « Sect. »,
    « Catégorie »): only their values (« Dépense/Recette », « Investissement/Fonctionnement », « Réel/Ordre »)
    say what they are."""
    rows = totem_rows(MONTPELLIER)
    header = ["Exercice", "Compte", "Libellé", "Dép./Rec.", "Sect.", "Catégorie", "Fonction", "Montant réalisé"]
    records = [
        ["2018", r.nature, erp_label(r), SENS_WORD[r.sens], SECTION_WORD[r.section], OPERATION_WORD[r.operation],
         erp_fonction(r), f"{r.amount:.2f}"]
        for r in rows
    ]
    write_csv(out / name, header, records)
    return expected_of(rows)


def _erp_sheet(ws, rows: list[Row], amount, start_row: int = 1) -> int:
    for j, h in enumerate(ERP_COLUMNS, start=1):
        ws.cell(row=start_row, column=j, value=h)
    for i, rec in enumerate(montpellier_erp_records(rows, amount), start=start_row + 1):
        for j, value in enumerate(rec, start=1):
            ws.cell(row=i, column=j, value=value)
    return start_row + len(rows)


def v_xlsx_text_amounts(out: Path, name: str) -> dict:
    """XLSX whose amounts are French text cells: « 6 097,96 » (space or non-breaking space) on even rows,
    « 6097,96 » on odd rows."""
    rows = totem_rows(MONTPELLIER)
    wb, ws = new_workbook()
    ws.title = "Réalisations"
    spellings = [lambda a: fr_amount(a, "\u00a0"), lambda a: fr_amount(a, ""), lambda a: fr_amount(a, " ")]
    counter = iter(range(10**9))
    _erp_sheet(ws, rows, lambda a: spellings[next(counter) % 3](a))
    save_workbook(wb, out / name)
    return expected_of(rows)


def v_xlsx_title_rows(out: Path, name: str) -> dict:
    """XLSX with title rows above the header (merged cells, a blank row), amounts as numbers."""
    rows = totem_rows(MONTPELLIER)
    wb, ws = new_workbook()
    ws.title = "Export"
    ws["A1"] = "VILLE DE MONTPELLIER"
    ws["A2"] = "Exécution budgétaire 2018 — budget principal — réalisations par imputation"
    ws["A3"] = "Édité le 20/05/2019 par le service des finances"
    for r in (1, 2, 3):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(ERP_COLUMNS))
    _erp_sheet(ws, rows, float, start_row=5)
    save_workbook(wb, out / name)
    return expected_of(rows)


def v_xlsx_total_row(out: Path, name: str) -> dict:
    """XLSX with a TOTAL row at the bottom (label « TOTAL », no account, the sum of the amount column)."""
    rows = totem_rows(MONTPELLIER)
    wb, ws = new_workbook()
    last = _erp_sheet(ws, rows, float)
    total = sum(r.amount for r in rows)
    ws.cell(row=last + 1, column=ERP_COLUMNS.index("Libellé") + 1, value="TOTAL")
    ws.cell(row=last + 1, column=ERP_COLUMNS.index("Montant réalisé") + 1, value=float(total))
    save_workbook(wb, out / name)
    return expected_of(rows)


def v_single_montant(out: Path, name: str) -> dict:
    """Generic CSV with a single « Montant » column and no document type: « CA 2016 » is only in the file
    name (Montreuil CA 2016, M14)."""
    rows = totem_rows(MONTREUIL_2016)
    header = ["Exercice", "Section", "Sens", "Réel/Ordre", "Chapitre", "Compte", "Fonction", "Libellé", "Montant"]
    records = [
        ["2016", r.section, r.sens, OPERATION_WORD[r.operation], r.chapitre, r.nature, r.fonction, erp_label(r),
         f"{r.amount:.2f}"]
        for r in rows
    ]
    write_csv(out / name, header, records)
    return expected_of(rows)


def v_single_montant_title(out: Path, name: str) -> dict:
    """XLSX with a single « Montant » column and no document type column: the title row above the header says
    « Compte administratif 2018 » (« CA 2018 »), the file name says nothing (Montpellier CA 2018)."""
    rows = totem_rows(MONTPELLIER)
    wb, ws = new_workbook()
    ws.title = "Export"
    header = ERP_COLUMNS[:-1] + ["Montant"]
    ws["A1"] = "VILLE DE MONTPELLIER — BUDGET PRINCIPAL"
    ws["A2"] = "CA 2018 — Compte administratif 2018, exécution par imputation"
    for r in (1, 2):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(header))
    for j, h in enumerate(header, start=1):
        ws.cell(row=4, column=j, value=h)
    for i, rec in enumerate(montpellier_erp_records(rows, float), start=5):
        for j, value in enumerate(rec, start=1):
            ws.cell(row=i, column=j, value=value)
    save_workbook(wb, out / name)
    return expected_of(rows)


def v_erp_line_level(out: Path, name: str) -> dict:
    """Line-level ERP export: every budget line with an amount is listed as the mandates or titles that make it
    up, each with its own label and number (« Mandat 2018-000123 — Compte 6225 »): two rows for most lines
    (the first carries the amount rounded down to the euro, the second the rest), one row for the others."""
    rows = totem_rows(MONTPELLIER)
    header = ["N° pièce"] + ERP_COLUMNS
    records = []
    number = 0
    for r, rec in zip(rows, montpellier_erp_records(rows, lambda a: a)):
        whole = Decimal(int(r.amount))  # towards zero
        parts = [r.amount] if whole in (0, r.amount) else [whole, r.amount - whole]
        for part in parts:
            number += 1
            piece = ("Mandat" if r.sens == "D" else "Titre") + f" 2018-{number:06d}"
            records.append([piece, rec[0], f"{piece} — {rec[1]}", *rec[2:-1], f"{part:.2f}"])
    write_csv(out / name, header, records)
    return expected_of(rows)


def v_gironde_generic_cp1252(out: Path, name: str) -> dict:
    """The Gironde CA 2016 (M52) as a département's own ERP would export it: `;`-separated cp1252, French
    headers (« Exercice ; Sens ; Section ; Réel/Ordre ; Chapitre ; Article ; Fonction ; Libellé ;
    Réalisé »), codes without the cedi prefixes, direction, section and réel/ordre in words, French
    decimals with a non-breaking space for thousands."""
    header, body, rows = cedi_rows(GIRONDE)
    col = {h: i for i, h in enumerate(header)}
    out_header = ["Exercice", "Sens", "Section", "Réel/Ordre", "Chapitre", "Article", "Fonction", "Libellé", "Réalisé"]
    records = []
    for rec, r in zip(body, rows):
        records.append([
            rec[col["Exercice"]], SENS_WORD[r.sens], SECTION_WORD[r.section], OPERATION_WORD[r.operation],
            rec[col["Chapitre"]].removeprefix("C"), rec[col["Article"]].removeprefix("A"),
            rec[col["Rubrique fonctionnelle"]].removeprefix("R"), rec[col["Libellé"]], fr_amount(r.amount),
        ])
    write_csv(out / name, out_header, records, delimiter=";", encoding="cp1252")
    return expected_of(rows)


def v_xlsx_everything(out: Path, name: str) -> dict:
    """Montreuil CA 2017 (M14) as an in-house spreadsheet: title rows with merged cells, headers renamed and
    reordered, direction/section/réel-ordre in words, amounts as French text with negatives in parentheses
    (« (1 234,56) »), chapter, and a « Total général » row at the bottom."""
    rows = totem_rows(MONTREUIL_2017)
    header = ["Libellé", "Section", "Sens", "Réel/Ordre", "Chapitre", "Compte", "Fonction", "Exercice", "Réalisé"]

    def text(a: Decimal) -> str:
        return f"({fr_amount(-a)})" if a < 0 else fr_amount(a)

    wb, ws = new_workbook()
    ws.title = "CA 2017"
    ws["A1"] = "VILLE DE MONTREUIL"
    ws["A2"] = "Compte administratif 2017 — réalisations par imputation"
    for r in (1, 2):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(header))
    for j, h in enumerate(header, start=1):
        ws.cell(row=4, column=j, value=h)
    i = 4
    for i, r in enumerate(rows, start=5):
        values = [erp_label(r), SECTION_WORD[r.section], SENS_WORD[r.sens], OPERATION_WORD[r.operation], r.chapitre,
                  r.nature, r.fonction, "2017", text(r.amount)]
        for j, value in enumerate(values, start=1):
            ws.cell(row=i, column=j, value=value)
    ws.cell(row=i + 1, column=1, value="Total général")
    ws.cell(row=i + 1, column=len(header), value=text(sum(r.amount for r in rows)))
    save_workbook(wb, out / name)
    return expected_of(rows)


def _relabel_totem(source: Path, *, year: str, natdec: str | None = None, drop: tuple = (),
                   voted_from: str | None = None) -> bytes:
    tree = etree.parse(str(source))
    root = tree.getroot()
    for exer in root.iter(Q + "Exer"):
        exer.set("V", year)
    if natdec is not None:
        for nat in root.iter(Q + "NatDec"):
            nat.set("V", natdec)
    for line in root.iter(Q + "LigneBudget"):
        if voted_from is not None:
            line.find(Q + "MtPrev").set("V", field_of(line, voted_from) or "0.00")
        for child in list(line):
            if etree.QName(child).localname in drop:
                line.remove(child)
    return etree.tostring(tree, xml_declaration=True, encoding=tree.docinfo.encoding)


def v_earlier_year(out: Path, name: str) -> dict:
    """Montpellier CA 2018 relabelled as the CA 2016 (``Exer`` = 2016), nothing else changed."""
    out.joinpath(name).write_bytes(_relabel_totem(MONTPELLIER, year="2016"))
    return expected_of(totem_rows(MONTPELLIER))


def v_bp_2026(out: Path, name: str) -> dict:
    """Montpellier relabelled as a budget primitif 2026 (``NatDec`` 01, ``Exer`` 2026). This CA has
    ``MtPrev`` = 0 on every line, so each line's voted amount ``MtPrev`` is its 2018 ``CredOuv`` (0.00 where
    it has none); ``MtReal``, ``CredOuv`` and the carried-forward amounts are removed: a BP has no
    execution."""
    out.joinpath(name).write_bytes(_relabel_totem(MONTPELLIER, year="2026", natdec="01", voted_from="CredOuv",
                                                drop=("MtReal", "CredOuv", "MtRAR3112", "MtRARPrec")))
    return expected_of(totem_rows(MONTPELLIER, amount_tag="CredOuv"))


def _cedi_xlsx(out: Path, name: str, amount) -> dict:
    header, body, rows = cedi_rows(GIRONDE)
    wb, ws = new_workbook()
    ws.title = "Export"
    ws.append(header)
    m = header.index("Montant")
    for rec in body:
        ws.append([amount(Decimal(v)) if j == m else v for j, v in enumerate(rec)])
    save_workbook(wb, out / name)
    return expected_of(rows)


def v_cedi_xlsx(out: Path, name: str) -> dict:
    """The Gironde cedi export saved as XLSX (same headers and codes; amounts as numbers)."""
    return _cedi_xlsx(out, name, float)


def v_cedi_xlsx_text(out: Path, name: str) -> dict:
    """The Gironde cedi export as XLSX with the « Montant » cells typed as French text: « 6 097,96 » and
    « 6097,96 » (the ×100 case of issue 8)."""
    counter = iter(range(10**9))
    return _cedi_xlsx(out, name, lambda a: fr_amount(a, "\u00a0" if next(counter) % 2 else ""))


def _functional_plan() -> dict[str, str]:
    """Compte fonctionnel → functional chapter (``DR``), from the M14 2016 plan's ``Fonction/Comptes``."""
    root = etree.fromstring(gzip.decompress(PLAN_M14_2016.read_bytes()))
    chapters = {}
    for compte in root.find("Fonction").find("Comptes").iter("Compte"):
        chapter = compte.get("DR") or compte.get("RR")
        if chapter:
            chapters[compte.get("Code")] = chapter
    return chapters


# Non-ventilated chapters of the M14 functional vote (plan M14 2016, Fonction/Chapitres), for lines of
# fonction 01 (opérations non ventilables), by the nature chapter of the vote by nature.
NON_VENTILATED = {
    ("I", "16"): "911", ("I", "26"): "911", ("I", "27"): "911", ("I", "020"): "918",
    ("I", "10"): "912", ("I", "13"): "912", ("I", "20"): "911", ("I", "21"): "911", ("I", "23"): "911",
    ("I", "204"): "911",
    ("F", "66"): "931", ("F", "76"): "931", ("F", "77"): "931", ("F", "67"): "931", ("F", "65"): "931",
    ("F", "011"): "931", ("F", "012"): "931", ("F", "013"): "931", ("F", "70"): "931", ("F", "75"): "931",
    ("F", "68"): "931", ("F", "78"): "931", ("F", "022"): "938",
    ("F", "73"): "933", ("F", "014"): "933", ("F", "74"): "932",
}
ORDRE_FUNCTIONAL = {"040": "914", "042": "934", "041": "910", "043": "935", "021": "919", "023": "939"}


def functional_chapter(section: str, nature_chapter: str, nature: str, fonction: str, operation: str,
                       plan: dict[str, str]) -> tuple[str, str]:
    """(ContFon, Fonction) of a line of the vote by nature, in the M14 vote by fonction."""
    if operation == "ordre" or nature_chapter in ("021", "023"):
        chapter = ORDRE_FUNCTIONAL[nature_chapter]
        return chapter, chapter
    if nature_chapter in ("001", "002"):
        return nature_chapter, ""
    if nature_chapter == "024":
        return "95", "95"
    if nature.startswith("45"):
        return "917", "917"
    if fonction.startswith("01") or not fonction:
        chapter = NON_VENTILATED[(section, nature_chapter if (section, nature_chapter) in NON_VENTILATED else nature[:2])]
        return chapter, chapter
    prefix = "90" if section == "I" else "92"
    chapter = prefix + fonction[0]
    assert chapter in plan.values(), chapter  # the plan has this functional chapter
    compte = prefix + fonction
    if compte in plan:
        assert plan[compte] == chapter, (compte, plan[compte], chapter)
    return chapter, compte


def v_vote_by_fonction(out: Path, name: str) -> dict:
    """Montreuil CA 2016 (M14, voted by nature) rewritten as a vote by fonction: each line's ``ContNat`` is
    replaced by ``ContFon``, the functional chapter of the M14 2016 plan (90x/92x by the first digit of the
    fonction, 91x/93x for fonction 01, 910/914/934/935 for ordre), ``Fonction`` holds the compte
    fonctionnel (``92020``) as Montpellier's functional vote does, ``NatFonc`` = 2 as in Montpellier."""
    plan = _functional_plan()
    tree = etree.parse(str(MONTREUIL_2016))
    root = tree.getroot()
    for nat in root.iter(Q + "NatFonc"):
        nat.set("V", "2")
    for line in root.iter(Q + "LigneBudget"):
        nature = field_of(line, "Nature")
        section = section_of_account(nature)
        operation = {"0": "reel", "1": "ordre"}[field_of(line, "OpBudg")]
        contnat = line.find(Q + "ContNat")
        nature_chapter = contnat.get("V")
        if len(nature_chapter) > 3:  # an account or an operation number where the chapter is expected
            nature_chapter = nature_chapter[:2]
        fonction_el = line.find(Q + "Fonction")
        chapter, compte = functional_chapter(section, nature_chapter, nature, fonction_el.get("V"), operation, plan)
        contfon = etree.Element(Q + "ContFon", V=chapter)
        artspe = line.find(Q + "ArtSpe")
        anchor = artspe if artspe is not None else contnat  # TOTEM order: …, ContNat, ArtSpe, ContFon, …
        contfon.tail = anchor.tail
        anchor.addnext(contfon)
        line.remove(contnat)
        if compte:
            fonction_el.set("V", compte)
        else:
            line.remove(fonction_el)
    out.joinpath(name).write_bytes(etree.tostring(tree, xml_declaration=True, encoding=tree.docinfo.encoding))
    return expected_of(totem_rows(MONTREUIL_2016))


# id → (file name, builder, what it imitates)
VARIANTS: dict[str, tuple[str, object]] = {
    "real-montpellier-ca-2018-m57": ("montpellier-ca-2018-m57.xml", lambda o, n: v_real_as_is(o, MONTPELLIER, n)),
    "real-montreuil-ca-2016-m14": ("montreuil-ca-2016-m14.xml", lambda o, n: v_real_as_is(o, MONTREUIL_2016, n)),
    "real-montreuil-ca-2017-m14": ("montreuil-ca-2017-m14.xml", lambda o, n: v_real_as_is(o, MONTREUIL_2017, n)),
    "real-gironde-ca-2016-m52-cedi": ("gironde-ca-2016-m52-cedi.csv", lambda o, n: v_real_as_is(o, GIRONDE, n)),
    "erp-csv-words": ("montpellier-ca-2018-erp.csv", v_erp_csv_words),
    "erp-csv-functional-chapter": ("montpellier-ca-2018-erp-chapitres.csv", v_erp_csv_functional_chapter),
    "erp-csv-cp1252-semicolon": ("montpellier-ca-2018-erp-cp1252.csv", v_erp_csv_cp1252),
    "erp-csv-columns-by-content": ("montpellier-ca-2018-export-colonnes.csv", v_erp_csv_by_content),
    "xlsx-french-text-amounts": ("montpellier-ca-2018-montants-texte.xlsx", v_xlsx_text_amounts),
    "xlsx-title-rows-merged": ("montpellier-ca-2018-titre.xlsx", v_xlsx_title_rows),
    "xlsx-total-row": ("montpellier-ca-2018-total.xlsx", v_xlsx_total_row),
    "csv-single-montant-doc-type-in-name": ("montreuil CA 2016.csv", v_single_montant),
    "xlsx-single-montant-doc-type-in-title": ("export-montpellier-budget-principal.xlsx", v_single_montant_title),
    "erp-csv-line-level": ("montpellier-ca-2018-mandats.csv", v_erp_line_level),
    "generic-csv-m52-cp1252": ("gironde-ca-2016-export-erp.csv", v_gironde_generic_cp1252),
    "xlsx-everything-at-once": ("montreuil-ca-2017-tableau.xlsx", v_xlsx_everything),
    "totem-earlier-year-2016": ("montpellier-ca-2016-m57-relabelled.xml", v_earlier_year),
    "totem-bp-2026": ("montpellier-bp-2026-m57-relabelled.xml", v_bp_2026),
    "cedi-xlsx": ("gironde-ca-2016-m52-cedi.xlsx", v_cedi_xlsx),
    "cedi-xlsx-french-text-amounts": ("gironde-ca-2016-m52-cedi-texte.xlsx", v_cedi_xlsx_text),
    "totem-m14-vote-by-fonction": ("montreuil-ca-2016-m14-vote-fonction.xml", v_vote_by_fonction),
}


def build(out: Path, only: list[str] | None = None) -> dict[str, dict]:
    """Write every variant (or ``only`` those ids) and its ``.expected.json`` into ``out``; return id → expected."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = {}
    for variant_id, (name, builder) in VARIANTS.items():
        if only is not None and variant_id not in only:
            continue
        expected = builder(out, name)
        doc = "" if builder.__name__ == "<lambda>" else (builder.__doc__ or "")
        expected = {"variant": variant_id, "file": name, "what": " ".join(doc.split()) or "real file, as published",
                    **expected}
        (out / f"{name}.expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        result[variant_id] = expected
    return result


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: make_variations.py OUTDIR [VARIANT_ID...]")
    built = build(Path(sys.argv[1]), sys.argv[2:] or None)
    for variant_id, expected in built.items():
        print(f"{variant_id:40s} {expected['file']:45s} {expected['source_lines']:5d} lines  total {Decimal(expected['total_cents']) / 100}")
