"""Independent oracles for the mutation suite: what a damaged budget file *says*, computed without the
project's code.

Everything here reads the raw mutated bytes or cells with the standard library (``csv``, ``decimal``,
``zipfile``) and lxml used directly, never through ``budgetclimat``. An oracle says one of:

* ``read``: the file is unambiguous and common; it must be read with exit 0 and these totals;
* ``refuse``: a value is damaged or can be read two ways; it must be refused (exit 1/2) with a finding or
  message that names the damage (code, row/XML line, column, or a word such as a sheet name);
* ``either``: reading it with exactly these totals is right, and so is a refusal that names the damage.

Totals are integer cents by ``(section, sens, operation)`` (F/I, D/R, reel/ordre), each line rounded half
up to the cent, plus the number of lines per group.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

READ, REFUSE, EITHER = "read", "refuse", "either"
INT64_MAX = 2**63 - 1
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Damage:
    """How a refusal can name the damage: any one of these is enough."""

    rows: frozenset[int] = frozenset()  # row (CSV/XLSX, as a spreadsheet shows it) or XML line
    columns: frozenset[str] = frozenset()  # compared normalised (accents, case and punctuation ignored)
    codes: tuple[str, ...] = ()  # fnmatch patterns on finding / error codes
    words: tuple[str, ...] = ()  # substrings of the error message or of an error finding

    def merge(self, other: Damage) -> Damage:
        return Damage(self.rows | other.rows, self.columns | other.columns, self.codes + other.codes, self.words + other.words)


@dataclass
class Oracle:
    expect: str
    totals: dict[Key, int] | None = None  # cents by group (None when the file must be refused)
    lines: dict[Key, int] | None = None  # line count by group
    damage: Damage = field(default_factory=Damage)
    note: str = ""

    def __post_init__(self) -> None:
        assert self.expect in (READ, REFUSE, EITHER), self.expect
        assert (self.totals is None) == (self.expect == REFUSE), (self.expect, self.totals)


def norm(text: object) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", str(text)) if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]", "", bare.casefold())


def cents(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Problem(Exception):
    """A line or file the oracle says must be refused."""

    def __init__(self, why: str, damage: Damage) -> None:
        super().__init__(why)
        self.why = why
        self.damage = damage


# --- amounts as written ------------------------------------------------------------------------------

_STRICT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
_GROUPED_DOT = re.compile(r"-?\d{1,3}( \d{3})+(\.\d+)?")
_COMMA_DECIMAL = re.compile(r"-?\d+,\d{1,2}")


def raw_amount(text: str | None) -> Decimal | None:
    """An amount as a budget file writes it after damage: ``None`` when empty; raises ``ValueError`` when
    it is not one number read one way (text, ``1,234``, a stray space inside digits, inf/NaN, beyond int64
    cents)."""
    if text is None:
        return None
    s = text.strip()
    if s == "":
        return None
    if _STRICT.fullmatch(s):
        value = Decimal(s)
    elif _GROUPED_DOT.fullmatch(s):
        value = Decimal(s.replace(" ", ""))
    elif _COMMA_DECIMAL.fullmatch(s):
        value = Decimal(s.replace(",", "."))
    else:
        raise ValueError(s)
    if not value.is_finite() or abs(cents(value)) > INT64_MAX:
        raise ValueError(s)  # not representable in integer cents: must be refused
    return value


# --- TOTEM ------------------------------------------------------------------------------------------

TOTEM_NS = "{http://www.minefi.gouv.fr/cp/demat/docbudgetaire}"
CLASS_SECTION = {"6": "F", "7": "F", "1": "I", "2": "I", "3": "I", "4": "I"}
SPECIAL_SECTION = {"001": "I", "002": "F", "020": "I", "021": "I", "022": "F", "023": "F", "024": "I"}
TOTEM_AMOUNTS = ("MtPrev", "CredOuv", "MtReal", "MtRAR3112", "MtRARPrec", "MtBudgPrec", "MtPropNouv")
# Functional chapters of ordre operations in the M57 vote par fonction (the plan's <Fonction> half:
# 925/947 within a section, 926/946/951/953 between sections; see docs/nomenclatures.md).
M57_FUNCTIONAL_ORDRE_CHAPTERS = {"925", "926", "946", "947", "951", "953"}
TOTEM_CODES = ("Nature", "CodRD", "OpBudg", "Fonction", "ContFon", "ContNat", "ContOp", "Operation", "TypOpBudg", "LibCpte", "ArtSpe")
HEADER_FIELDS = ("Exer", "NatDec", "Nomenclature")


def totem_oracle(data: bytes, expect: str = EITHER, note: str = "", touched: set[int] = frozenset()) -> Oracle:
    """Oracle of a (damaged) TOTEM file from its bytes, parsed by lxml directly (no recovery).

    ``touched``: XML lines the mutation changed; a refusal naming one of them is right too (a byte flip
    can make an account unknown, which a reader may fairly refuse)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return Oracle(REFUSE, damage=Damage(frozenset({exc.lineno}) if exc.lineno else frozenset(), codes=("xml-*",), words=("XML",)), note=f"not well-formed: {exc.msg}")
    try:
        if etree.QName(root).localname != "DocumentBudgetaire":
            raise Problem("root", Damage(codes=("xml-*",)))
        budgets = [e for e in root if isinstance(e.tag, str) and etree.QName(e).localname == "Budget"]
        if len(budgets) != 1:
            raise Problem(f"{len(budgets)} <Budget>", Damage(frozenset(b.sourceline for b in budgets[1:]), codes=("*budget*",), words=("Budget",)))
        basis = _totem_header(root)
        totals: dict[Key, int] = defaultdict(int)
        counts: dict[Key, int] = defaultdict(int)
        soft = Damage(frozenset(touched))
        n = 0
        for line in root.iter(TOTEM_NS + "LigneBudget"):
            n += 1
            key, amount, line_soft = _totem_line(line, basis)
            totals[key] += amount
            counts[key] += 1
            soft = soft.merge(line_soft)
        if n == 0:
            raise Problem("no lines", Damage(codes=("totem-no-lines", "*no-lines*", "*empty*"), words=("LigneBudget",)))
    except Problem as p:
        return Oracle(REFUSE, damage=p.damage, note=f"{note} refuse: {p.why}".strip())
    return Oracle(expect, dict(totals), dict(counts), soft, note)


def _values(element, name: str) -> list:
    """The ``V`` of every child called ``name`` (``None`` for a child without ``V``)."""
    from lxml import etree

    return [c.get("V") for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _totem_header(root) -> str:
    """Check the header fields; the amount field of the document's basis (MtReal for a CA/CFU)."""
    from lxml import etree

    basis = "MtReal"
    for name in HEADER_FIELDS:
        found = [e for e in root.iter(TOTEM_NS + name) if etree.QName(e.getparent()).localname in ("EnTeteBudget", "BlocBudget", "EnTeteDocBudgetaire")]
        values = {(e.get("V") or "").strip() for e in found}
        damage = Damage(frozenset(e.sourceline for e in found), frozenset({norm(name)}), words=(name,))
        if len(values) != 1:
            raise Problem(f"{name} {sorted(values)}", damage)
        (value,) = values
        if name == "Exer" and not re.fullmatch(r"\d{4}", value):
            raise Problem(f"Exer {value!r}", damage)
        if name == "NatDec" and value.zfill(2) not in ("01", "02", "03", "09", "10"):
            raise Problem(f"NatDec {value!r}", damage)
        if name == "NatDec" and value.zfill(2) not in ("09", "10"):
            basis = "MtPrev"  # BP/BS/DM: the voted amount
        if name == "Nomenclature" and not value:
            raise Problem("Nomenclature empty", damage)
    return basis


def _line_rows(line) -> frozenset[int]:
    last = max((e.sourceline or line.sourceline) for e in line.iter())
    return frozenset(range(line.sourceline, last + 2))


def _totem_line(line, basis: str) -> tuple[Key, int, Damage]:
    rows = _line_rows(line)
    soft = Damage()

    def single(name: str, required: bool) -> str | None:
        values = _values(line, name)
        here = Damage(rows, frozenset({norm(name)}), words=(name,))
        if any(v is None for v in values):
            raise Problem(f"<{name}> without V", here)
        if len(set(values)) > 1:
            raise Problem(f"{name} repeated: {values}", here)
        if not values:
            if required:
                raise Problem(f"{name} missing", here)
            return None
        return values[0]

    nature = (single("Nature", True) or "").strip()
    if not re.fullmatch(r"\d{3,}", nature):
        raise Problem(f"Nature {nature!r}", Damage(rows, frozenset({"nature"}), words=("Nature",)))
    section = SPECIAL_SECTION.get(nature) or CLASS_SECTION.get(nature[0])
    if section is None:
        raise Problem(f"Nature {nature!r} has no section", Damage(rows, frozenset({"nature"})))
    fonction = (single("Fonction", False) or "").strip()
    if _values(line, "ContFon") and len(fonction) >= 4 and fonction[:2] in ("90", "93"):
        if {"90": "I", "93": "F"}[fonction[:2]] != section:
            raise Problem(f"Fonction {fonction} contradicts account {nature}", Damage(rows, frozenset({"nature", "fonction"})))
    codrd = (single("CodRD", True) or "").strip().upper()
    sens = {"D": "D", "R": "R", "1": "D", "0": "R"}.get(codrd)
    if sens is None:
        raise Problem(f"CodRD {codrd!r}", Damage(rows, frozenset({"codrd"}), words=("CodRD",)))
    opbudg = single("OpBudg", False)
    operation = {"0": "reel", "1": "ordre"}.get((opbudg if opbudg is not None else "0").strip())
    if operation is None:
        raise Problem(f"OpBudg {opbudg!r}", Damage(rows, frozenset({"opbudg"}), words=("OpBudg",)))
    contfon = re.sub(r"[-./ ]", "", (single("ContFon", False) or "").strip())
    if contfon in M57_FUNCTIONAL_ORDRE_CHAPTERS:
        operation = "ordre"  # the vote par fonction books ordre operations in these chapters, whatever OpBudg says
    amount = 0
    for name in TOTEM_AMOUNTS:
        try:
            value = raw_amount(single(name, False))
        except ValueError as exc:
            damage = Damage(rows, frozenset({norm(name)}), words=(name,))
            if name == basis:
                raise Problem(f"{name} {exc}", damage) from None
            soft = soft.merge(damage)  # an unreadable amount on another basis: refusing is fair too
            continue
        except Problem as p:
            if name == basis:
                raise
            soft = soft.merge(p.damage)
            continue
        if name == basis and value is not None:
            amount = cents(value)
    for name in TOTEM_CODES:
        values = _values(line, name)
        if len(set(values)) > 1 or None in values:
            soft = soft.merge(Damage(rows, frozenset({norm(name)})))
    return (section, sens, operation), amount, soft


# --- CSV / XLSX tables (cedi profile) ---------------------------------------------------------------

CEDI_HEADER = [
    "Département", "Budget", "Type nomenclature", "Exercice", "Type fichier", "Date vote", "Dépense/Recette",
    "Investissement/Fonctionnement", "Réel/Ordre id/Ordre diff", "Chapitre", "Sous-chapitre", "Opération",
    "Article", "Rubrique fonctionnelle", "Libellé", "Code devise", "Montant",
]  # fmt: skip
SECTION, SENS, OPERATION, DOC, AMOUNT = "Investissement/Fonctionnement", "Dépense/Recette", "Réel/Ordre id/Ordre diff", "Type fichier", "Montant"
OPERATIONS = {"or": "reel", "oe": "ordre", "oi": "ordre"}


@dataclass
class Record:
    """One record of a table as the oracle sees it: its cells and the row a spreadsheet shows."""

    cells: list  # str, Decimal (a number cell), or an ``XCell`` for special workbook cells
    row: int
    rows: frozenset[int] = frozenset()  # every row/line it may be reported on


@dataclass(frozen=True)
class XCell:
    """A workbook cell that is not a plain value: formula without cached value, error, date, bool."""

    kind: str
    text: str = ""


class Ambiguous:
    """An amount written in a way that can be read two ways (or not at all): the file must be refused."""

    def __init__(self, text: str) -> None:
        self.text = text


def table_oracle(
    header: list[str],
    records: list[Record],
    expect: str = EITHER,
    *,
    exclude: set[int] = frozenset(),
    amounts: dict[int, Decimal | Ambiguous | None] | None = None,
    note: str = "",
    derive: dict[str, str] | None = None,
    touched: set[int] = frozenset(),
) -> Oracle:
    """Oracle of a cedi table given as records (CSV after the oracle's own decoding, or workbook cells).

    ``exclude``: rows that are not budget lines (a TOTAL or repeated header row the mutation inserted):
    reading must skip them, or refuse naming them. ``amounts``: the value each amount cell was written
    from, by row, when the mutation formatted it (``Ambiguous`` = must be refused). ``derive``: columns
    absent from the file and how a reader may derive them (``section`` from the account class,
    ``operation`` from chapters 040–043). ``touched``: rows the mutation changed in a way a reader may
    fairly refuse (an account code made unknown…): a refusal naming one of them is right too.
    """
    amounts = amounts or {}
    derive = derive or {}
    names = [norm(h) for h in header]
    soft = Damage(frozenset(exclude) | frozenset(touched))
    try:
        index = {}
        for wanted in (SECTION, SENS, OPERATION, DOC, AMOUNT, "Article", "Chapitre"):
            found = [i for i, n in enumerate(names) if n == norm(wanted)]
            if not found:
                if norm(wanted) in derive or wanted in (DOC, "Chapitre"):
                    continue
                raise Problem(f"no column {wanted}", Damage(frozenset(), frozenset({norm(wanted)}), codes=("missing-column",), words=(wanted,)))
            if len(found) > 1:
                columns = [[r.cells[i] if i < len(r.cells) else None for r in records] for i in found]
                if any(c != columns[0] for c in columns[1:]):
                    raise Problem(f"column {wanted} twice with different values", Damage(frozenset(), frozenset({norm(wanted)}), codes=("*duplicate*", "*column*"), words=(wanted,)))
            index[wanted] = found[0]
        totals: dict[Key, int] = defaultdict(int)
        counts: dict[Key, int] = defaultdict(int)
        for record in records:
            cells = record.cells
            if all(c is None or (isinstance(c, str) and c.strip() == "") for c in cells):
                continue  # blank row: not a line
            if record.row in exclude:
                continue
            here = Damage(record.rows | {record.row})
            if len(cells) != len(header):
                raise Problem(f"row {record.row}: {len(cells)} fields for {len(header)}", here.merge(Damage(codes=("csv-*", "*ragged*", "*field*"))))
            key = _table_key(cells, index, here, derive)
            amount = _table_amount(cells[index[AMOUNT]], amounts.get(record.row, "raw"), here)
            totals[key] += amount
            counts[key] += 1
        if not counts:
            raise Problem("no lines", Damage(codes=("empty-file", "*no-lines*")))
    except Problem as p:
        return Oracle(REFUSE, damage=p.damage, note=f"{note} refuse: {p.why}".strip())
    return Oracle(expect, dict(totals), dict(counts), soft, note)


def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, XCell):
        return "\0" + cell.kind
    return str(cell).strip()


def _table_key(cells: list, index: dict, here: Damage, derive: dict[str, str]) -> Key:
    def coded(name: str, mapping: dict[str, str]) -> str:
        text = norm(_text(cells[index[name]]))
        if text not in mapping:
            raise Problem(f"{name} {_text(cells[index[name]])!r}", here.merge(Damage(columns=frozenset({norm(name)}), words=(name,))))
        return mapping[text]

    if SECTION in index:
        section = coded(SECTION, {"i": "I", "f": "F"})
    else:
        nature = _text(cells[index["Article"]]).lstrip("A")
        section = CLASS_SECTION.get(nature[:1], "?")
    sens = coded(SENS, {"d": "D", "r": "R"})
    if OPERATION in index:
        operation = coded(OPERATION, OPERATIONS)
    else:
        chapter = _text(cells[index["Chapitre"]]).lstrip("C")
        operation = "ordre" if chapter in ("040", "041", "042", "043") else "reel"
    if DOC in index:
        coded(DOC, {"ca": "CA"})  # a CA: the amount is the executed one; anything else changes the basis
    return section, sens, operation


def _table_amount(cell, written, here: Damage) -> int:
    damage = here.merge(Damage(columns=frozenset({"montant"}), words=("Montant",)))
    if isinstance(written, Ambiguous):
        raise Problem(f"amount {written.text!r} is ambiguous", damage)
    if isinstance(cell, XCell):
        raise Problem(f"amount cell is a {cell.kind}", damage)
    if written != "raw":
        return 0 if written is None else cents(written)
    if isinstance(cell, Decimal):
        return cents(cell)
    try:
        value = raw_amount(None if cell is None else str(cell))
    except ValueError:
        raise Problem(f"amount {cell!r}", damage) from None
    if value is None:
        raise Problem("line without amount", damage)
    return cents(value)


def decode_csv(data: bytes) -> str:
    """Decode as a careful reader would: BOM first, then strict UTF-8, then strict cp1252."""
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].decode("utf-8")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # A UTF-8 file (it has multi-byte sequences) with a minority of lines that are not UTF-8 (rows pasted
    # from a Windows-1252 file, a flipped bit in a label): each line in its own encoding, as docs/formats.md
    # says the reader does (with an encoding-mixed warning).
    lines = data.split(b"\n")
    if re.search(rb"[\xc2-\xf4][\x80-\xbf]", data):
        decoded, odd = [], 0
        for raw in lines:
            try:
                decoded.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(raw.decode("cp1252", errors="strict") if _cp1252_ok(raw) else None)
                odd += 1
        if None not in decoded and odd * 2 <= len(lines):
            return "\n".join(decoded)
    return data.decode("cp1252")


def _cp1252_ok(raw: bytes) -> bool:
    try:
        raw.decode("cp1252")
        return True
    except UnicodeDecodeError:
        return False


def csv_records(text: str, delimiter: str) -> tuple[list[str], list[Record]]:
    """Header (first row holding Montant and Article) and records, each with the row a spreadsheet shows
    (record number) and the physical lines it spans."""
    csv.field_size_limit(2**31 - 1)  # a long label is a label: the oracle has no field limit of its own
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[tuple[list[str], int, int]] = []
    start = 1
    for record in reader:
        rows.append((record, start, reader.line_num))
        start = reader.line_num + 1
    header_at = next(i for i, (r, _, _) in enumerate(rows[:30]) if {"montant", "article"} <= {norm(c) for c in r})
    header = rows[header_at][0]
    records = [
        Record(cells, header_at + 2 + k, frozenset(range(first, last + 1)))
        for k, (cells, first, last) in enumerate(rows[header_at + 1 :])
    ]
    return header, records


def csv_oracle(data: bytes, delimiter: str = ",", expect: str = EITHER, touched_lines: set[int] = frozenset(), **kwargs) -> Oracle:
    """Oracle of a cedi CSV from its bytes (decoded and split by the standard library).

    ``touched_lines``: physical lines the mutation changed; the rows of the records spanning them are
    passed to :func:`table_oracle` as ``touched``."""
    try:
        text = decode_csv(data)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Oracle(REFUSE, damage=Damage(frozenset({line}), codes=("undecodable", "*encoding*")), note="undecodable")
    if "\0" in text:
        return Oracle(REFUSE, damage=Damage(codes=("*",)), note="NUL bytes: not text")
    try:
        header, records = csv_records(text, delimiter)
    except StopIteration:
        return Oracle(REFUSE, damage=Damage(codes=("missing-column", "empty-file", "csv-*", "*encoding*", "undecodable")), note="no header")
    except csv.Error as exc:
        return Oracle(REFUSE, damage=Damage(codes=("csv-*",)), note=f"csv: {exc}")
    if touched_lines:
        hit = {r.row for r in records if r.rows & set(touched_lines)} | set(touched_lines)
        kwargs["touched"] = set(kwargs.get("touched", set())) | hit
    return table_oracle(header, records, expect, **kwargs)
