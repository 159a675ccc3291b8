"""Seeded generator of damaged budget files made from the shipped real budgets.

Bases: ``tests/data/montpellier-ca-2018-m57.xml`` (TOTEM) and ``tests/data/gironde-ca-2016-m52-cedi.csv``
(cedi CSV), each whole and as a smaller copy (the header and a seeded sample of lines, in file order:
faster to read, same shape), and XLSX written from the cedi rows with openpyxl. Every mutant is rebuilt
from ``(seed, id)`` alone, so a run of one mutant is the same file as in the full run.

Each mutant carries its :class:`~oracle.Oracle`, computed by :mod:`oracle` from the raw mutated bytes or
from the cells the mutation wrote (never with the project's code).

    >>> mutants = plan()                     # the full list (ids, families), cheap
    >>> m = mutants[0].build()               # bytes + oracle of one mutant
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from oracle import (
    AMOUNT,
    CEDI_HEADER,
    EITHER,
    READ,
    REFUSE,
    Ambiguous,
    Damage,
    Oracle,
    Record,
    XCell,
    csv_oracle,
    norm,
    table_oracle,
    totem_oracle,
)

DATA = Path(__file__).resolve().parents[1] / "data"
TOTEM_FILE = DATA / "montpellier-ca-2018-m57.xml"
CEDI_FILE = DATA / "gironde-ca-2016-m52-cedi.csv"
SEED = 20261204
CRLF = "\r\n"


@dataclass
class Mutant:
    id: str
    family: str
    base: str  # totem | totem-full | csv | csv-full | xlsx | xlsx-full
    kind: str
    suffix: str
    data: bytes
    oracle: Oracle
    crash: bool = False  # run in a subprocess with limits (a crash would take the test process down)


@dataclass
class Spec:
    id: str
    family: str
    base: str
    kind: str
    make: Callable[[random.Random], tuple[bytes, Oracle]]
    suffix: str
    seed: int = SEED
    crash: bool = False

    def build(self) -> Mutant:
        rng = random.Random(f"{self.seed}/{self.id}")
        data, oracle = self.make(rng)
        return Mutant(self.id, self.family, self.base, self.kind, self.suffix, data, oracle, self.crash)


# --- bases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totem:
    head: str  # text up to the first <LigneBudget> (latin-1 decoded, CRLF kept)
    blocks: tuple[str, ...]  # one <LigneBudget>…</LigneBudget> each, with its indentation and CRLF
    tail: str

    def text(self, blocks: list[str] | None = None, head: str | None = None, tail: str | None = None) -> str:
        return (self.head if head is None else head) + "".join(self.blocks if blocks is None else blocks) + (self.tail if tail is None else tail)

    def bytes(self, **kw) -> bytes:
        return self.text(**kw).encode("latin-1")


_BLOCK = re.compile(r"[ \t]*<LigneBudget>.*?</LigneBudget>\r?\n", re.S)


@lru_cache(maxsize=None)
def totem(full: bool = False) -> Totem:
    text = TOTEM_FILE.read_bytes().decode("latin-1")
    found = list(_BLOCK.finditer(text))
    for a, b in zip(found, found[1:]):
        assert not text[a.end() : b.start()].strip(), "LigneBudget blocks are contiguous"
    head, tail = text[: found[0].start()], text[found[-1].end() :]
    blocks = [m.group(0) for m in found]
    if full:
        return Totem(head, tuple(blocks), tail)
    rng = random.Random(f"{SEED}/totem-sample")
    ordre = [i for i, b in enumerate(blocks) if '<OpBudg V="1"/>' in b]
    reel = [i for i, b in enumerate(blocks) if i not in set(ordre)]
    keep = sorted(rng.sample(ordre, 20) + rng.sample(reel, 100))
    return Totem(head, tuple(blocks[i] for i in keep), "   </Budget>" + CRLF + "</DocumentBudgetaire>" + CRLF)


@lru_cache(maxsize=None)
def cedi(full: bool = False) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(CEDI_FILE.read_bytes().decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    assert header == CEDI_HEADER
    if full:
        return header, body
    rng = random.Random(f"{SEED}/cedi-sample")
    ordre = [i for i, r in enumerate(body) if r[8] != "OR"]
    reel = [i for i, r in enumerate(body) if r[8] == "OR"]
    keep = sorted(rng.sample(ordre, 30) + rng.sample(reel, 120))
    return header, [body[i] for i in keep]


def write_csv(header: list, rows: list[list], delimiter: str = ",", encoding: str = "utf-8", newline: str = CRLF) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def records_of(rows: list[list], first_row: int = 2) -> list[Record]:
    return [Record(list(r), first_row + i, frozenset({first_row + i})) for i, r in enumerate(rows)]


A = CEDI_HEADER.index(AMOUNT)


# --- workbooks ---------------------------------------------------------------------------------------


def cell_value(value):
    """A table value as openpyxl writes it: Decimal amounts as numbers, Exercice as an integer."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def workbook(sheets: list[tuple[str, list[list], str]], merged_title: str | None = None) -> bytes:
    """An XLSX with ``(name, rows, state)`` sheets; str cells stay text even when they look like formulas
    or numbers; ``XCell`` cells become formulas (no cached value), error cells, dates or booleans."""
    import datetime

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows, state in sheets:
        sheet = book.create_sheet(name)
        sheet.sheet_state = state
        offset = 0
        if merged_title:
            sheet.cell(1, 1, merged_title)
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
            offset = 2
        for r, row in enumerate(rows, start=1 + offset):
            for c, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                cell = sheet.cell(r, c)
                if isinstance(value, XCell):
                    cell.value = {
                        "formula": value.text or f"=SUM(Q2:Q3)/{c}",
                        "error": value.text or "#DIV/0!",
                        "date": datetime.datetime(2016, 6, 30),
                        "bool": True,
                    }[value.kind]
                elif isinstance(value, str):
                    cell.value = value
                    cell.data_type = "s"
                else:
                    cell.value = cell_value(value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cedi_cells(rows: list[list[str]]) -> list[list]:
    """cedi rows as workbook cells: the amount as a number, the year as an integer."""
    out = []
    for r in rows:
        cells: list = list(r)
        cells[3] = int(r[3])
        cells[A] = Decimal(r[A])
        out.append(cells)
    return out


# --- amount formats ----------------------------------------------------------------------------------


def _group(units: int, sep: str) -> str:
    return f"{units:,}".replace(",", sep)


def formatted(value: Decimal, style: str) -> tuple[str, Decimal | Ambiguous | None]:
    """``value`` written in ``style``; with what a correct reader must find (``Ambiguous``: refuse)."""
    sign = "-" if value < 0 else ""
    q = abs(value).quantize(Decimal("0.01"))
    units, frac = divmod(int(q * 100), 100)
    fr = f"{frac:02d}"
    table: dict[str, tuple[str, Decimal | Ambiguous | None]] = {
        "fr-comma": (f"{sign}{units},{fr}", value),
        "fr-space": (f"{sign}{_group(units, ' ')},{fr}", value),
        "fr-nbsp": (f"{sign}{_group(units, chr(0xA0))},{fr}", value),
        "fr-nnbsp": (f"{sign}{_group(units, chr(0x202F))},{fr}", value),
        "fr-euro": (f"{sign}{_group(units, ' ')},{fr} €", value),
        "fr-paren": (f"({_group(units, ' ')},{fr})", -abs(value)),
        "en-grouped": (f"{sign}{_group(units, ',')}.{fr}", value),
        "de-dots": (f"{sign}{_group(units, '.')},{fr}", value),
        "swiss": (f"{sign}{_group(units, chr(39))}.{fr}", value),
        "plus": (f"+{units}.{fr}", abs(value)),
        "trailing-minus": (f"{units}.{fr}-", -abs(value)),
        "spaces-around": (f"  {sign}{units}.{fr} ", value),
        "sci": (f"{sign}{Decimal(units * 100 + frac).scaleb(-2):E}", value),
        "subcent": (f"{sign}{units}.{fr}5", Decimal(f"{sign}{units}.{fr}5")),
        "huge": (f"{sign}99999999999999999999.{fr}", Ambiguous("huge")),
        "huge-fits": (f"{sign}1000000000000.{fr}", Decimal(f"{sign}1000000000000.{fr}")),
        "inf": ("inf", Ambiguous("inf")),
        "nan": ("NaN", Ambiguous("NaN")),
        "text": ("néant", Ambiguous("text")),
        "na": ("n/a", Ambiguous("n/a")),
        "double-dot": (f"{sign}{units}.{fr}.00", Ambiguous("1.2.3")),
        # The bases' amount columns use the point as decimal mark (cedi « 7710.02 »): there « 1,234 » can only be
        # 1 234 € (docs/formats.md, the column settles it), while « 1.234 » would be three decimals: ambiguous.
        "comma-thousands-int": (f"{sign}{_group(units, ',')}", Decimal(f"{sign}{units}")),
        "dot-thousands-int": (f"{sign}{_group(units, '.')}", Ambiguous("1.234")),
        "eur-suffix": (f"{sign}{units}.{fr} EUR", value),
        "empty": ("", None),
    }
    return table[style]


# Which rows a style needs: thousands (>= 1000, < 1e6 so that one separator decides), cents.
NEEDS_GROUP = {"fr-space", "fr-nbsp", "fr-nnbsp", "fr-euro", "fr-paren", "en-grouped", "de-dots", "swiss"}
NEEDS_INT_GROUP = {"comma-thousands-int", "dot-thousands-int"}
READ_STYLES = {"fr-comma", "fr-space", "fr-nbsp", "fr-nnbsp", "fr-euro", "fr-paren", "en-grouped", "de-dots", "plus", "spaces-around"}
AMOUNT_STYLES = [
    "fr-comma", "fr-space", "fr-nbsp", "fr-nnbsp", "fr-euro", "fr-paren", "en-grouped", "de-dots", "swiss", "plus",
    "trailing-minus", "spaces-around", "sci", "subcent", "huge", "huge-fits", "inf", "nan", "text", "na", "double-dot",
    "comma-thousands-int", "dot-thousands-int", "eur-suffix", "empty",
]  # fmt: skip


def eligible(rows: list[list], style: str) -> list[int]:
    def ok(text: str) -> bool:
        v = Decimal(text)
        if style in NEEDS_GROUP:
            return 1000 <= abs(v) < 1_000_000 and v != v.to_integral_value()
        if style in NEEDS_INT_GROUP:
            return 1000 <= abs(v) < 1_000_000 and v == v.to_integral_value()
        return v != 0

    return [i for i, r in enumerate(rows) if ok(str(r[A]))]


def amount_mutation(rng: random.Random, rows: list[list], style: str) -> tuple[list[list], dict[int, object], set[int]]:
    """Rewrite 1–3 amounts of ``rows`` in ``style``: new rows, the written values by row, rows touched."""
    rows = [list(r) for r in rows]
    pool = eligible(rows, style)
    assert pool, style
    chosen = rng.sample(pool, min(len(pool), rng.choice([1, 1, 2, 3])))
    written: dict[int, object] = {}
    for i in chosen:
        text, value = formatted(Decimal(str(rows[i][A])), style)
        rows[i][A] = text
        written[i + 2] = value
    return rows, written, {i + 2 for i in chosen}


# --- the plan ----------------------------------------------------------------------------------------


def plan(seed: int = SEED) -> list[Spec]:
    """Every mutant of the campaign, in a fixed order (ids are unique and stable)."""
    specs: list[Spec] = []

    def add(family: str, base: str, kind: str, make, n: int = 1, crash: bool = False) -> None:
        suffix = ".xml" if base.startswith("totem") else ".xlsx" if base.startswith("xlsx") else ".csv"
        for i in range(n):
            specs.append(Spec(f"{family}-{base}-{kind}-{i:03d}", family, base, kind, make, suffix, seed, crash))

    _totem_plan(add)
    _csv_plan(add)
    _xlsx_plan(add)
    ids = [s.id for s in specs]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    return specs


# --- TOTEM mutants -----------------------------------------------------------------------------------


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _block_span(t: Totem, blocks: list[str], i: int) -> tuple[int, int]:
    start = len(t.head) + sum(len(b) for b in blocks[:i])
    return start, start + len(blocks[i])


def _block_lines(t: Totem, blocks: list[str], i: int) -> set[int]:
    text = t.text(blocks)
    start, end = _block_span(t, blocks, i)
    return set(range(_line_of(text, start), _line_of(text, end) + 1))


def _with_field(block: str, field: str, value: str | None, *, repeat: bool = False) -> str:
    """Set (or with ``value=None`` remove) ``<field V=…/>`` in a block; ``repeat`` adds a second one."""
    pattern = re.compile(rf'([ \t]*)<{field} V="[^"]*"/>\r?\n')
    found = pattern.search(block)
    if value is None:
        return pattern.sub("", block) if found else block
    element = f'<{field} V="{value}"/>'
    if found is None or repeat:
        indent = found.group(1) if found else "         "
        at = found.end() if found else block.index("\n") + 1
        return block[:at] + indent + element + CRLF + block[at:]
    return block[: found.start()] + found.group(1) + element + CRLF + block[found.end() :]


def _field(block: str, field: str) -> str | None:
    found = re.search(rf'<{field} V="([^"]*)"/>', block)
    return found.group(1) if found else None


def _totem_plan(add) -> None:
    def cut(full: bool):
        def make(rng):
            t = totem(full)
            data = t.bytes()
            end = len(data) - len(t.tail.encode("latin-1")) + 12
            at = rng.randrange(len(t.head) // 2, end)
            return data[:at], totem_oracle(data[:at], note=f"cut at byte {at} of {len(data)}")

        return make

    add("truncation", "totem", "cut", cut(False), 25)
    add("truncation", "totem-full", "cut", cut(True), 5)
    add("truncation", "totem", "no-final-newline", lambda rng: (lambda d: (d, totem_oracle(d, READ)))(totem().bytes().rstrip()))

    def flip(kind: str, full: bool = False):
        def make(rng):
            t = totem(full)
            blocks = list(t.blocks)
            if kind == "bit":
                i = rng.randrange(len(blocks))
                raw = bytearray(blocks[i].encode("latin-1"))
                at = rng.randrange(len(raw))
                raw[at] ^= 1 << rng.randrange(8)
                blocks[i] = raw.decode("latin-1")
                note = f"bit flip in line block {i}, byte {at}"
            else:
                i = rng.choice([k for k, b in enumerate(blocks) if re.search(r'<MtReal V="[^"]*[1-9]', b)])
                value = _field(blocks[i], "MtReal")
                digits = [k for k, c in enumerate(value) if c.isdigit()]
                k = rng.choice(digits)
                new = rng.choice([d for d in "0123456789" if d != value[k]]) if kind == "digit" else rng.choice("lOoIS,;:/ ")
                blocks[i] = _with_field(blocks[i], "MtReal", value[:k] + new + value[k + 1 :])
                note = f"MtReal {value} -> {value[:k] + new + value[k + 1:]}"
            data = t.bytes(blocks=blocks)
            return data, totem_oracle(data, note=note, touched=_block_lines(t, blocks, i))

        return make

    add("byteflip", "totem", "bit", flip("bit"), 190)
    add("byteflip", "totem-full", "bit", flip("bit", True), 5)
    add("byteflip", "totem", "digit", flip("digit"), 15)
    add("byteflip", "totem", "digit-letter", flip("letter"), 15)

    # Encodings: a label with accents first, so that the bytes differ between encodings.
    def labelled(full: bool = False) -> Totem:
        t = totem(full)
        blocks = list(t.blocks)
        blocks[1] = _with_field(blocks[1], "LibCpte", "Dépenses imprévues - écoles")
        return Totem(t.head, tuple(blocks), t.tail)

    def recode(encoding: str, declared: str | None, bom: bytes = b"", expect: str = READ, full: bool = False, newline: str | None = None):
        def make(rng):
            t = labelled(full)
            text = t.text()
            text = re.sub(r'encoding="[^"]*"', f'encoding="{declared}"', text, count=1) if declared else re.sub(r"<\?xml[^>]*\?>\r?\n", "", text, count=1)
            if newline is not None:
                text = text.replace(CRLF, newline)
            codec = {"utf-16": "utf-16-le", "utf-16-be": "utf-16-be"}.get(encoding, encoding)
            data = bom + text.encode(codec, errors="strict" if encoding != "cp1252" else "replace")
            base = totem_oracle(t.bytes())
            if expect == REFUSE:
                oracle = totem_oracle(data)
                assert oracle.expect == REFUSE, "the mutation must make the file unreadable"
                return data, oracle
            return data, Oracle(expect, base.totals, base.lines, Damage(codes=("xml-*", "*encoding*")), f"{encoding} declared {declared}")

        return make

    add("encoding", "totem", "utf8", recode("utf-8", "UTF-8"))
    add("encoding", "totem", "utf8-bom", recode("utf-8", "UTF-8", b"\xef\xbb\xbf"))
    add("encoding", "totem", "utf16le-bom", recode("utf-16", "UTF-16", b"\xff\xfe"))
    add("encoding", "totem", "utf16be-bom", recode("utf-16-be", "UTF-16", b"\xfe\xff"))
    add("encoding", "totem", "windows-1252", recode("cp1252", "windows-1252"))
    add("encoding", "totem", "latin1-declared-utf8", recode("latin-1", "UTF-8", expect=REFUSE))
    add("encoding", "totem", "latin1-undeclared", recode("latin-1", None, expect=REFUSE))
    add("encoding", "totem", "utf8-declared-latin1", recode("utf-8", "ISO-8859-1", expect=EITHER))
    add("encoding", "totem", "lf", recode("latin-1", "ISO-8859-1", newline="\n"))
    add("encoding", "totem", "cr", recode("latin-1", "ISO-8859-1", newline="\r"))
    add("encoding", "totem-full", "utf8", recode("utf-8", "UTF-8", full=True))
    add("encoding", "totem-full", "utf16le-bom", recode("utf-16", "UTF-16", b"\xff\xfe", full=True))

    _totem_structure(add)
    _totem_amounts(add)


def _totem_structure(add) -> None:
    def in_line(change: Callable[[random.Random, str], str], expect: str = EITHER):
        def make(rng):
            t = totem()
            blocks = list(t.blocks)
            i = rng.randrange(len(blocks))
            blocks[i] = change(rng, blocks[i])
            data = t.bytes(blocks=blocks)
            oracle = totem_oracle(data, expect, touched=_block_lines(t, blocks, i))
            return data, oracle

        return make

    def repeat(field: str, same: bool):
        def change(rng, block):
            value = _field(block, field)
            if value is None:
                return block
            if same:
                other = value
            elif field in ("MtReal", "MtPrev"):
                other = f"{Decimal(value) + Decimal(rng.randrange(1, 10**6)) / 100:.2f}"
            else:
                other = {"CodRD": {"D": "R", "R": "D"}, "OpBudg": {"0": "1", "1": "0"}}.get(field, {}).get(value) or str(int(value) + 1)
            return _with_field(block, field, other, repeat=True)

        return change

    for field, n in (("MtReal", 6), ("CodRD", 4), ("Nature", 4), ("OpBudg", 3)):
        add("xml", "totem", f"repeat-diff-{field}", in_line(repeat(field, False)), n)
    for field, n in (("MtReal", 2), ("Nature", 2), ("CodRD", 1)):
        add("xml", "totem", f"repeat-same-{field}", in_line(repeat(field, True)), n)
    for field, n in (("CodRD", 4), ("Nature", 3), ("MtReal", 3), ("OpBudg", 2)):
        add("xml", "totem", f"missing-{field}", in_line(lambda rng, b, f=field: _with_field(b, f, None)), n)
    add("xml", "totem", "codrd-lowercase", in_line(lambda rng, b: b.replace('<CodRD V="D"/>', '<CodRD V="d"/>').replace('<CodRD V="R"/>', '<CodRD V="r"/>')), 2)
    add("xml", "totem", "mtreal-empty-v", in_line(lambda rng, b: _with_field(b, "MtReal", "")), 2)
    add("xml", "totem", "mtreal-no-v", in_line(lambda rng, b: re.sub(r'<MtReal V="[^"]*"/>', "<MtReal/>", b)), 2)
    add("xml", "totem", "codrd-no-v", in_line(lambda rng, b: re.sub(r'<CodRD V="[^"]*"/>', '<CodRD W="D"/>', b)), 2)
    add("xml", "totem", "unknown-element", in_line(lambda rng, b: _with_field(b, "MtInconnu", "1234.56")), 3)
    add("xml", "totem", "comment-in-line", in_line(lambda rng, b: b.replace("<CodRD", "<!-- saisie manuelle -->" + CRLF + "         <CodRD", 1), READ), 2)
    add("xml", "totem", "char-ref-amount", in_line(lambda rng, b: re.sub(r'<MtReal V="(\d)', lambda m: f'<MtReal V="&#{ord(m.group(1))};', b, count=1)), 2)
    add("xml", "totem", "codrd-numeric", in_line(lambda rng, b: b.replace('<CodRD V="D"/>', '<CodRD V="1"/>').replace('<CodRD V="R"/>', '<CodRD V="0"/>')), 2)
    add("xml", "totem", "codrd-unknown", in_line(lambda rng, b: re.sub(r'<CodRD V="[^"]*"/>', f'<CodRD V="{rng.choice(["X", "DR", "", "2"])}"/>', b)), 3)
    add("xml", "totem", "opbudg-unknown", in_line(lambda rng, b: _with_field(b, "OpBudg", rng.choice(["2", "O", "reel"]))), 2)

    def header(change: Callable[[random.Random, str], str], expect: str = EITHER, words: tuple[str, ...] = ()):
        def make(rng):
            t = totem()
            head = change(rng, t.head)
            data = t.bytes(head=head)
            oracle = totem_oracle(data, expect)
            return data, oracle

        return make

    for k, value in enumerate(("201:", "2O18", "", "18", "20180", "2018.0", "deux mille dix-huit")):
        add("xml", "totem", f"exer-bad{k}", header(lambda rng, h, v=value: h.replace('<Exer V="2018"/>', f'<Exer V="{v}"/>')))
    add("xml", "totem", "exer-spaces", header(lambda rng, h: h.replace('<Exer V="2018"/>', '<Exer V=" 2018 "/>')))
    add("xml", "totem", "exer-repeated", header(lambda rng, h: h.replace('<Exer V="2018"/>', '<Exer V="2018"/>' + CRLF + '         <Exer V="2019"/>')))
    add("xml", "totem", "natdec-repeated", header(lambda rng, h: h.replace('<NatDec V="09"/>', '<NatDec V="09"/>' + CRLF + '         <NatDec V="01"/>')))
    add("xml", "totem", "nomenclature-repeated", header(lambda rng, h: h.replace('<Nomenclature V="M57-M57"/>', '<Nomenclature V="M57-M57"/>' + CRLF + '         <Nomenclature V="M14-M14_COM_SUP3500"/>')))
    add("xml", "totem", "natdec-bp", header(lambda rng, h: h.replace('<NatDec V="09"/>', '<NatDec V="01"/>')))

    def doctype(rng):
        t = totem()
        head = t.head.replace("<DocumentBudgetaire", '<!DOCTYPE DocumentBudgetaire [<!ENTITY x "1">]>' + CRLF + "<DocumentBudgetaire", 1)
        return t.bytes(head=head), Oracle(REFUSE, damage=Damage(frozenset({2}), codes=("xml-*",), words=("DOCTYPE",)), note="DOCTYPE is refused")

    add("xml", "totem", "doctype", doctype)

    def second_budget(same: bool):
        def make(rng):
            t = totem()
            start = t.head.index("   <Budget>")
            budget = t.head[start:] + "".join(t.blocks) + "   </Budget>" + CRLF
            if not same:
                blocks = rng.sample(list(t.blocks), 40)
                budget = t.head[start:] + "".join(blocks) + "   </Budget>" + CRLF
            tail = budget + "</DocumentBudgetaire>" + CRLF
            data = t.bytes(tail="   </Budget>" + CRLF + tail)
            return data, totem_oracle(data)

        return make

    add("xml", "totem", "second-budget-copy", second_budget(True), 2)
    add("xml", "totem", "second-budget-other", second_budget(False), 2)

    def no_lines(rng):
        t = totem()
        data = t.bytes(blocks=[])
        return data, totem_oracle(data)

    add("xml", "totem", "no-lines", no_lines)

    def one_line(rng):
        t = totem()
        data = t.bytes(blocks=[rng.choice(t.blocks)])
        return data, totem_oracle(data, READ)

    add("xml", "totem", "one-line", one_line, 2)

    def shuffled(rng):
        t = totem()
        blocks = list(t.blocks)
        rng.shuffle(blocks)
        data = t.bytes(blocks=blocks)
        return data, totem_oracle(data, READ)

    add("xml", "totem", "lines-shuffled", shuffled, 2)


def _totem_amounts(add) -> None:
    styles = {
        "comma-decimal": lambda v: v.replace(".", ","),
        "grouped-space": lambda v: _group(int(Decimal(v)), " ") + "." + v.split(".")[1] if "." in v and abs(Decimal(v)) >= 1000 and Decimal(v) > 0 else v,
        "sci": lambda v: f"{Decimal(v):E}",
        "plus": lambda v: "+" + v.lstrip("-"),
        "subcent": lambda v: v + "5" if "." in v else v + ".005",
        "trailing-zeros": lambda v: v + "00" if "." in v else v + ".0000",
        "negative": lambda v: "-" + v.lstrip("-"),
        "huge": lambda v: "99999999999999999999.99",
        "huge-fits": lambda v: "1000000000000.00",
        "inf": lambda v: "INF",
        "nan": lambda v: "NaN",
        "text": lambda v: "néant",
        "comma-thousands": lambda v: f"{int(Decimal(v)):,}",
        "spaces-around": lambda v: f" {v} ",
    }
    for style, change in styles.items():

        def make(rng, change=change, style=style):
            t = totem()
            blocks = list(t.blocks)
            pool = [k for k, b in enumerate(blocks) if re.search(r'<MtReal V="-?[1-9]\d{3,}', b)]
            touched: set[int] = set()
            for i in rng.sample(pool, rng.choice([1, 2])):
                blocks[i] = _with_field(blocks[i], "MtReal", change(_field(blocks[i], "MtReal")))
                touched |= _block_lines(t, blocks, i)
            data = t.bytes(blocks=blocks)
            return data, totem_oracle(data, note=style, touched=touched)

        add("amounts", "totem", style, make, 3)


# --- CSV mutants -------------------------------------------------------------------------------------


def _csv_plan(add) -> None:
    def cut(full: bool):
        def make(rng):
            header, rows = cedi(full)
            data = write_csv(header, rows)
            at = rng.randrange(len(data) // 2, len(data))
            mutated = data[:at]
            return mutated, csv_oracle(mutated, touched_lines={mutated.count(b"\n") + 1}, note=f"cut at byte {at} of {len(data)}")

        return make

    add("truncation", "csv", "cut", cut(False), 35)
    add("truncation", "csv-full", "cut", cut(True), 5)

    def cut_at(where: str):
        def make(rng):
            header, rows = cedi()
            data = write_csv(header, rows)
            last_row = data.rstrip(b"\r\n").rfind(b"\n") + 1
            comma = data.rfind(b",")
            if where == "in-amount":  # inside the last amount: what is left is still a number
                at = rng.randrange(comma + 2, len(data) - 3)
            elif where == "after-delimiter":  # the last amount is empty
                at = comma + 1
            elif where == "between-cr-lf":
                at = len(data) - 1
            else:  # at a row end: a shorter but whole file
                at = last_row
            mutated = data[:at]
            return mutated, csv_oracle(mutated, touched_lines={mutated.count(b"\n") + 1}, note=f"cut {where} at byte {at} of {len(data)}")

        return make

    add("truncation", "csv", "cut-in-amount", cut_at("in-amount"), 4)
    add("truncation", "csv", "cut-after-delimiter", cut_at("after-delimiter"))
    add("truncation", "csv", "cut-between-cr-lf", cut_at("between-cr-lf"))
    add("truncation", "csv", "cut-at-row-end", cut_at("row-end"))

    def flip(kind: str, full: bool = False):
        def make(rng):
            header, rows = cedi(full)
            data = bytearray(write_csv(header, rows))
            if kind == "bit":
                start = data.index(b"\n") + 1
                at = rng.randrange(start, len(data))
                data[at] ^= 1 << rng.randrange(8)
                lines = {data[:at].count(b"\n") + 1, data[:at].count(b"\n") + 2}
                return bytes(data), csv_oracle(bytes(data), touched_lines=lines, note=f"bit flip at byte {at}")
            rows = [list(r) for r in rows]
            i = rng.randrange(len(rows))
            if kind == "digit" or kind == "letter":
                i = rng.choice([k for k, r in enumerate(rows) if any(c in "123456789" for c in r[A])])
                value = rows[i][A]
                k = rng.choice([p for p, c in enumerate(value) if c.isdigit()])
                new = rng.choice([d for d in "0123456789" if d != value[k]]) if kind == "digit" else rng.choice("lOoIS;:/ ")
                rows[i][A] = value[:k] + new + value[k + 1 :]
            else:  # a code column
                col = rng.choice([6, 7, 8, 4])
                rows[i][col] = rng.choice(["X", "", "OX", "Dép", "?", "CB", "1"])
            mutated = write_csv(header, rows)
            return mutated, csv_oracle(mutated, touched={i + 2}, note=f"row {i + 2}: {kind}")

        return make

    add("byteflip", "csv", "bit", flip("bit"), 190)
    add("byteflip", "csv-full", "bit", flip("bit", True), 5)
    add("byteflip", "csv", "digit", flip("digit"), 15)
    add("byteflip", "csv", "digit-letter", flip("letter"), 10)
    add("byteflip", "csv", "code", flip("code"), 12)

    def recode(kind: str, full: bool = False):
        def make(rng):
            header, rows = cedi(full)
            base = table_oracle(header, records_of(rows), READ)
            expect = READ
            if kind in ("cp1252", "latin-1"):
                data = write_csv(header, rows, encoding=kind)
            elif kind == "utf8-bom":
                data = b"\xef\xbb\xbf" + write_csv(header, rows)
            elif kind == "utf16le-bom":
                data = b"\xff\xfe" + write_csv(header, rows, encoding="utf-16-le")
            elif kind == "utf16be-bom":
                data = b"\xfe\xff" + write_csv(header, rows, encoding="utf-16-be")
            elif kind == "utf16le-nobom":
                data, expect = write_csv(header, rows, encoding="utf-16-le"), EITHER
            elif kind == "mixed":  # a UTF-8 file with one row pasted from a cp1252 one
                data = write_csv(header, rows)
                i = rng.randrange(len(rows))
                one = write_csv(header, [rows[i]], encoding="cp1252").split(b"\r\n")[1]
                lines = data.split(b"\r\n")
                lines[i + 1] = one
                data, expect = b"\r\n".join(lines), EITHER
            elif kind == "excel-fr":  # French Excel: cp1252, semicolons, decimal comma
                fr = [r[:A] + [r[A].replace(".", ",")] + r[A + 1 :] for r in rows]
                data = write_csv(header, fr, delimiter=";", encoding="cp1252")
            elif kind == "excel-fr-grouped":
                fr = [r[:A] + [formatted(Decimal(r[A]), "fr-nbsp")[0]] + r[A + 1 :] for r in rows]
                data = write_csv(header, fr, delimiter=";", encoding="cp1252")
            elif kind == "lf":
                data = write_csv(header, rows, newline="\n")
            elif kind == "cr":
                data, expect = write_csv(header, rows, newline="\r"), EITHER
            elif kind in ("semicolon", "tab", "pipe"):
                data = write_csv(header, rows, delimiter={"semicolon": ";", "tab": "\t", "pipe": "|"}[kind])
            elif kind == "mojibake":  # UTF-8 decoded as cp1252 and saved again as UTF-8
                data, expect = write_csv(header, rows).decode("cp1252", errors="replace").encode("utf-8"), EITHER
            else:
                raise AssertionError(kind)
            damage = Damage(codes=("*encoding*", "undecodable", "missing-column", "csv-*", "empty-file"))
            return data, Oracle(expect, base.totals, base.lines, damage, kind)

        return make

    for kind in ("cp1252", "latin-1", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le-nobom", "mixed", "excel-fr",
                 "excel-fr-grouped", "lf", "cr", "semicolon", "tab", "pipe", "mojibake"):  # fmt: skip
        add("encoding", "csv", kind, recode(kind), 2 if kind in ("mixed",) else 1)
    add("encoding", "csv-full", "cp1252", recode("cp1252", True))
    add("encoding", "csv-full", "excel-fr", recode("excel-fr", True))
    add("encoding", "csv-full", "utf16le-bom", recode("utf16le-bom", True))

    _table_families(add, "csv")
    _amount_family(add, "csv", 4)


def _table_families(add, base: str) -> None:
    """Columns, rows and labels families, for the CSV (``base="csv"``) or the workbook (``"xlsx"``)."""
    is_xlsx = base == "xlsx"

    def emit(header: list, rows: list[list], oracle: Oracle, delimiter: str = ",") -> tuple[bytes, Oracle]:
        if is_xlsx:
            return workbook([("Budget", [header, *cedi_cells_safe(rows)], "visible")]), oracle
        return write_csv(header, rows, delimiter=delimiter), oracle

    # Columns
    def reorder(rng):
        header, rows = cedi()
        order = list(range(len(header)))
        while order == sorted(order):
            rng.shuffle(order)
        h = [header[k] for k in order]
        r = [[row[k] for k in order] for row in rows]
        return emit(h, r, table_oracle(h, records_of(r), READ, note=f"order {order}"))

    add("columns", base, "reorder", reorder, 6 if not is_xlsx else 3)

    essential = {"Montant", "Article", "Dépense/Recette"}
    derive = {"Investissement/Fonctionnement": {"investissementfonctionnement": "account class"}, "Réel/Ordre id/Ordre diff": {"reelordreidordrediff": "chapter"}}
    for column in CEDI_HEADER if not is_xlsx else ["Montant", "Investissement/Fonctionnement", "Libellé"]:

        def remove(rng, column=column):
            header, rows = cedi()
            k = header.index(column)
            h = header[:k] + header[k + 1 :]
            r = [row[:k] + row[k + 1 :] for row in rows]
            if column in essential:
                oracle = table_oracle(h, records_of(r))
                assert oracle.expect == REFUSE
            else:
                full = table_oracle(header, records_of(rows), derive=derive.get(column))
                oracle = table_oracle(h, records_of(r), EITHER, derive=derive.get(column)) if column in derive else full
            damage = Damage(columns=frozenset({norm(column)}), codes=("missing-column", "column-*", "required-missing"), words=(column,))
            oracle.damage = oracle.damage.merge(damage)
            return emit(h, r, oracle)

        add("columns", base, f"remove-{norm(column)}", remove)

    renames = {"Montant": ["MONTANT", "montant", "Montant (€)", "Valeur", "Montant réalisé"], "Article": ["ARTICLE", "Compte"],
               "Dépense/Recette": ["Depense/Recette", "Sens"], "Investissement/Fonctionnement": ["Section"], "Type fichier": ["Type de fichier"]}  # fmt: skip
    for column, names in renames.items():
        for n, new in enumerate(names if not is_xlsx else names[:1]):

            def rename(rng, column=column, new=new):
                header, rows = cedi()
                h = [new if c == column else c for c in header]
                trivial = norm(new) == norm(column)
                oracle = table_oracle(header, records_of(rows), READ if trivial else EITHER)
                oracle.damage = Damage(columns=frozenset({norm(column), norm(new)}), codes=("missing-column", "column-*"), words=(column, new))
                return emit(h, rows, oracle)

            add("columns", base, f"rename-{norm(column)}-{n}", rename)

    def duplicate(column: str, same: bool, first: bool):
        def make(rng):
            header, rows = cedi()
            k = header.index(column)
            if same:
                values = [row[k] for row in rows]
            elif column == AMOUNT:
                values = [f"{Decimal(row[k]) * 2}" if rng.random() < 0.8 else row[k] for row in rows]
            else:
                values = [{"D": "R", "R": "D", "I": "F", "F": "I"}.get(row[k], row[k]) if rng.random() < 0.3 else row[k] for row in rows]
                if values == [row[k] for row in rows]:
                    values[0] = {"D": "R", "R": "D", "I": "F", "F": "I"}[values[0]]
            at = 0 if first else len(header)
            h = header[:at] + [column] + header[at:]
            r = [row[:at] + [v] + row[at:] for row, v in zip(rows, values)]
            return emit(h, r, table_oracle(h, records_of(r), note=f"{column} twice ({'same' if same else 'different'} values)"))

        return make

    add("columns", base, "dup-same-montant", duplicate(AMOUNT, True, False))
    add("columns", base, "dup-same-article", duplicate("Article", True, True))
    add("columns", base, "dup-diff-montant-first", duplicate(AMOUNT, False, True), 2)
    add("columns", base, "dup-diff-montant-last", duplicate(AMOUNT, False, False), 2)
    add("columns", base, "dup-diff-sens", duplicate("Dépense/Recette", False, True))
    add("columns", base, "dup-diff-section", duplicate("Investissement/Fonctionnement", False, False))

    def extra_column(rng):
        header, rows = cedi()
        h = header + ["Commentaire"]
        r = [row + [rng.choice(["", "voir service", "12", "=1+1"])] for row in rows]
        return emit(h, r, table_oracle(h, records_of(r), READ))

    add("columns", base, "extra-column", extra_column, 2)

    if not is_xlsx:

        def trailing_delimiter(rng):
            header, rows = cedi()
            h, r = header + [""], [row + [""] for row in rows]
            return write_csv(h, r), table_oracle(header, records_of(rows), READ)

        add("columns", base, "trailing-delimiter", trailing_delimiter)

    # Rows
    def rows_change(kind: str):
        def make(rng):
            header, rows = cedi()
            rows = [list(r) for r in rows]
            i = rng.randrange(1, len(rows) - 1)
            exclude: set[int] = set()
            expect = EITHER
            touched: set[int] = set()
            if kind == "ragged-short":
                k = rng.choice([A, rng.randrange(A)])
                rows[i] = rows[i][:k] + rows[i][k + 1 :]
            elif kind == "ragged-long":
                rows[i] = rows[i] + [rng.choice(["123.45", "x", "0"])]
            elif kind == "header-repeat":
                rows.insert(i, list(header))
                exclude = {i + 2}
            elif kind in ("total-general", "subtotal", "total-first-col"):
                start = 0 if kind != "subtotal" else max(0, i - rng.randrange(2, 8))
                total = sum(Decimal(r[A]) for r in rows[start:i])
                if kind == "total-first-col":
                    row = ["TOTAL"] + [""] * (len(header) - 2) + [str(total)]
                else:
                    row = list(rows[i - 1])
                    row[14] = "TOTAL GÉNÉRAL" if kind == "total-general" else f"Total chapitre {row[9]}"
                    row[A] = str(total)
                rows.insert(i, row)
                exclude = {i + 2}
            elif kind == "empty-rows":
                for _ in range(rng.randrange(1, 4)):
                    rows.insert(rng.randrange(len(rows)), [""] * len(header))
                expect = READ
            elif kind == "blank-lines":
                for _ in range(rng.randrange(1, 4)):
                    rows.insert(rng.randrange(len(rows)), [])
                expect = READ
            elif kind == "duplicate-row":
                rows.insert(i, list(rows[i]))
                touched = {i + 2, i + 3}
            elif kind == "footer-note":
                rows.append(["Source : Département de la Gironde, compte administratif 2016"])
                exclude = {len(rows) + 1}
            elif kind == "title-rows":
                title = [["Compte administratif 2016 — budget principal"] + [""] * (len(header) - 1), [""] * len(header)]
                if is_xlsx:
                    data = workbook([("Budget", [*title, header, *cedi_cells_safe(rows)], "visible")])
                    return data, table_oracle(header, records_of(rows, 4), READ)
                out = write_csv(title[0], [title[1], header, *rows])
                return out, table_oracle(header, records_of(rows, 4), READ)
            else:
                raise AssertionError(kind)
            oracle = table_oracle(header, records_of(rows), expect, exclude=exclude, touched=touched, note=kind)
            if is_xlsx:
                return workbook([("Budget", [header, *cedi_cells_safe(rows)], "visible")]), oracle
            return write_csv(header, rows), oracle

        return make

    counts = {"ragged-short": 6, "ragged-long": 4, "header-repeat": 6, "total-general": 4, "subtotal": 4, "total-first-col": 3,
              "empty-rows": 5, "blank-lines": 3, "duplicate-row": 3, "footer-note": 2, "title-rows": 2}  # fmt: skip
    for kind, n in counts.items():
        if is_xlsx and kind in ("ragged-short", "ragged-long", "blank-lines"):
            continue
        add("rows", base, kind, rows_change(kind), n if not is_xlsx else max(1, n // 2))

    # Labels
    payloads = ["=HYPERLINK(\"http://exemple.invalid\",\"x\")", "=1+1", "+33 1 23 45 67 89", "@SUM(A1:A2)", "-2+3",
                "=cmd|' /C calc'!A0", "\t=1+1", "Dépenses; « imprévues », \"cotées\""]  # fmt: skip

    def label(kind: str):
        def make(rng):
            header, rows = cedi()
            rows = [list(r) for r in rows]
            i = rng.randrange(len(rows))
            expect = READ
            touched: set[int] = set()
            if kind == "formula":
                rows[i][14] = rng.choice(payloads)
            elif kind == "long":
                rows[i][14] = ("Travaux de voirie " * 600)[:10_000]
            elif kind == "very-long":
                rows[i][14] = "x" * 200_000
                expect, touched = EITHER, {i + 2}
            elif kind == "newline":
                rows[i][14] = "Ligne un\r\nligne deux"
            elif kind == "quotes-delimiter":
                rows[i][14] = 'Achat "fournitures", ateliers, 2016'
            elif kind == "control-chars":
                rows[i][14] = "Libellé\x01\x07 avec\x1b[31m contrôle"
                expect, touched = EITHER, {i + 2}
            elif kind == "rtl-emoji":
                rows[i][14] = "Écoles \u202eetats\u202c 🌳"
            else:
                raise AssertionError(kind)
            if is_xlsx:
                if kind in ("very-long",):
                    rows[i][14] = "x" * 32_767
                if kind == "control-chars":
                    rows[i][14] = "Libellé avec contrôle"  # openpyxl refuses control characters
                return workbook([("Budget", [header, *cedi_cells_safe(rows)], "visible")]), table_oracle(header, records_of(rows), expect, touched=touched)
            data = write_csv(header, rows)
            return data, csv_oracle(data, expect=expect, touched=touched)

        return make

    for kind, n in {"formula": 8, "long": 2, "very-long": 2, "newline": 2, "quotes-delimiter": 2, "control-chars": 2, "rtl-emoji": 1}.items():
        add("labels", base, kind, label(kind), n if not is_xlsx else max(1, n // 2))


def cedi_cells_safe(rows: list[list]) -> list[list]:
    """cedi rows as workbook cells where they parse (amount, year); other cells as written."""
    out = []
    for r in rows:
        cells: list = list(r)
        if len(cells) == len(CEDI_HEADER):
            if re.fullmatch(r"\d{4}", str(cells[3])):
                cells[3] = int(cells[3])
            if isinstance(cells[A], str) and re.fullmatch(r"-?\d+(\.\d+)?", cells[A]):
                cells[A] = Decimal(cells[A])
        out.append(cells)
    return out


def _amount_family(add, base: str, per_style: int) -> None:
    for style in AMOUNT_STYLES:

        def make(rng, style=style):
            header, rows = cedi()
            new, written, touched = amount_mutation(rng, rows, style)
            expect = READ if style in READ_STYLES else EITHER
            if base == "xlsx":
                cells = cedi_cells(rows)
                for row in touched:
                    cells[row - 2][A] = new[row - 2][A]  # the formatted amount as a text cell
                data = workbook([("Budget", [header, *cells], "visible")])
            else:
                data = write_csv(header, new)
            return data, table_oracle(header, records_of(new), expect, amounts=written, touched=touched, note=style)

        add("amounts", base, style, make, per_style)

    if base == "csv":

        def everywhere(style: str, delimiter: str):
            def make(rng):
                header, rows = cedi()
                new = [r[:A] + [formatted(Decimal(r[A]), style)[0]] + r[A + 1 :] for r in rows]
                written = {i + 2: formatted(Decimal(r[A]), style)[1] for i, r in enumerate(rows)}
                return write_csv(header, new, delimiter=delimiter), table_oracle(header, records_of(new), READ, amounts=written, note=f"{style} everywhere")

            return make

        for style in ("fr-comma", "fr-space", "fr-nbsp", "fr-euro", "en-grouped", "de-dots"):
            add("amounts", base, f"all-{style}", everywhere(style, ";"))
            add("amounts", base, f"all-{style}-comma-delimited", everywhere(style, ","))


# --- XLSX mutants ------------------------------------------------------------------------------------


def _xlsx_plan(add) -> None:
    def plain(full: bool):
        def make(rng):
            header, rows = cedi(full)
            data = workbook([("Budget", [header, *cedi_cells(rows)], "visible")])
            return data, table_oracle(header, records_of(rows), READ)

        return make

    add("xlsx", "xlsx", "plain", plain(False))
    add("xlsx", "xlsx-full", "plain", plain(True))

    def hidden(state: str, same_rows: bool):
        def make(rng):
            header, rows = cedi()
            other = [list(r) for r in (rows if same_rows else rng.sample(rows, 60))]
            for r in other:
                r[A] = f"{Decimal(r[A]) * rng.choice([2, 3, 10])}"
            name = rng.choice(["Ancien", "BP 2016", "Feuil0"])
            data = workbook([(name, [header, *cedi_cells(other)], state), ("Budget", [header, *cedi_cells(rows)], "visible")])
            oracle = table_oracle(header, records_of(rows), EITHER, note=f"{state} sheet {name!r} first")
            oracle.damage = Damage(codes=("*hidden*", "*sheet*"), words=(name,))
            return data, oracle

        return make

    add("xlsx", "xlsx", "hidden-first", hidden("hidden", True), 3)
    add("xlsx", "xlsx", "hidden-first-other-rows", hidden("hidden", False), 2)
    add("xlsx", "xlsx", "veryhidden-first", hidden("veryHidden", True), 2)

    def empty_first(rng):
        header, rows = cedi()
        data = workbook([("Notes", [["Budget principal — CA 2016"]], "visible"), ("Budget", [header, *cedi_cells(rows)], "visible")])
        return data, table_oracle(header, records_of(rows), EITHER)

    add("xlsx", "xlsx", "notes-sheet-first", empty_first)

    def special(kind: str, text: str = ""):
        def make(rng):
            header, rows = cedi()
            cells = cedi_cells(rows)
            i = rng.randrange(len(cells))
            cells[i][A] = XCell(kind, text)
            data = workbook([("Budget", [header, *cells], "visible")])
            return data, table_oracle(header, records_of(cells), note=f"row {i + 2}: {kind} {text}")

        return make

    add("xlsx", "xlsx", "formula-no-cache", special("formula"), 4)
    for err in ("#DIV/0!", "#N/A", "#VALUE!", "#REF!"):
        add("xlsx", "xlsx", f"error-{norm(err)}", special("error", err))
    add("xlsx", "xlsx", "date-amount", special("date"), 2)
    add("xlsx", "xlsx", "bool-amount", special("bool"))

    def merged_title(rng):
        header, rows = cedi()
        data = workbook([("Budget", [header, *cedi_cells(rows)], "visible")], merged_title="Compte administratif 2016")
        return data, table_oracle(header, records_of(rows, 4), READ)

    add("xlsx", "xlsx", "merged-title", merged_title, 2)

    def float_noise(rng):
        header, rows = cedi()
        cells = cedi_cells(rows)
        for i in rng.sample(range(len(cells)), 5):
            cells[i][A] = float(cells[i][A]) + 0.1 + 0.2 - 0.3  # binary noise, well below the cent
        # The oracle reads the cells as a spreadsheet shows them: the value rounded to the cent.
        expected = [[*c[:A], Decimal(repr(c[A])) if isinstance(c[A], float) else c[A], *c[A + 1 :]] for c in cells]
        out = []
        for c in cells:
            c = list(c)
            c[A] = float(c[A]) if isinstance(c[A], float) else c[A]
            out.append(c)
        data = workbook([("Budget", [header, *out], "visible")])
        return data, table_oracle(header, records_of(expected), READ)

    add("xlsx", "xlsx", "float-noise", float_noise, 2)

    def all_text(rng):
        header, rows = cedi()
        data = workbook([("Budget", [header, *rows], "visible")])
        return data, table_oracle(header, records_of(rows), READ)

    add("xlsx", "xlsx", "all-cells-text", all_text)

    # Crash-type cases: run in a subprocess with limits.
    def far_cell(ref: str):
        def make(rng):
            from openpyxl import load_workbook

            header, rows = cedi()
            data = workbook([("Budget", [header, *cedi_cells(rows)], "visible")])
            book = load_workbook(io.BytesIO(data))
            book["Budget"][ref] = "x"
            out = io.BytesIO()
            book.save(out)
            oracle = table_oracle(header, records_of(rows), EITHER, note=f"stray value in {ref}")
            oracle.damage = Damage(codes=("xlsx-*", "workbook-*", "*limit*", "*dimension*", "*size*", "sheet-*", "*too-large*"), words=(ref, "XFD", "1048576"))
            return out.getvalue(), oracle

        return make

    add("xlsx", "xlsx", "far-cell-xfd1048576", far_cell("XFD1048576"), crash=True)
    add("xlsx", "xlsx", "far-cell-a1048576", far_cell("A1048576"), crash=True)
    add("xlsx", "xlsx", "far-cell-xfd1", far_cell("XFD1"), crash=True)

    def rezip(change: Callable[[str, bytes], bytes], note: str, expect: str = REFUSE, crash: bool = False):
        def make(rng):
            header, rows = cedi()
            data = workbook([("Budget", [header, *cedi_cells(rows)], "visible")])
            src = zipfile.ZipFile(io.BytesIO(data))
            out = io.BytesIO()
            changed = False
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in src.infolist():
                    before = src.read(info.filename)
                    after = change(info.filename, before)
                    changed |= after != before
                    dst.writestr(info.filename, after)
            base = table_oracle(header, records_of(rows), READ)
            if not changed:  # the member to damage is not in this workbook: nothing was damaged, it must read
                return out.getvalue(), Oracle(READ, base.totals, base.lines, note=f"{note} (no such member: undamaged)")
            damage = Damage(codes=("workbook-*", "xlsx-*", "*zip*", "*xml*", "*sheet*"), words=("sheet1", "feuille", "DOCTYPE"))
            if expect == REFUSE:
                return out.getvalue(), Oracle(REFUSE, damage=damage, note=note)
            return out.getvalue(), Oracle(expect, base.totals, base.lines, damage, note)

        return make

    sheet = "xl/worksheets/sheet1.xml"
    add("xlsx", "xlsx", "sheet-xml-cut", rezip(lambda n, b: b[: len(b) // 2] if n == sheet else b, "sheet XML cut in half"), 1)
    add("xlsx", "xlsx", "sheet-xml-garbage", rezip(lambda n, b: b.replace(b"<sheetData>", b"<sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>", 1) if n == sheet else b, "sheet XML unbalanced"))
    add("xlsx", "xlsx", "sheet-doctype", rezip(lambda n, b: (b.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e "1">]>', 1) if b"?>" in b[:200] else b'<!DOCTYPE x [<!ENTITY e "1">]>' + b) if n == sheet else b, "DOCTYPE in the sheet XML"))
    add("xlsx", "xlsx", "sharedstrings-cut", rezip(lambda n, b: b[: len(b) // 3] if n == "xl/sharedStrings.xml" else b, "shared strings cut"))
    add("xlsx", "xlsx", "dimension-huge", rezip(lambda n, b: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', b) if n == sheet else b, "declared dimension A1:XFD1048576", EITHER), crash=True)
    add("xlsx", "xlsx", "docprops-cut", rezip(lambda n, b: b[:10] if n.startswith("docProps/") else b, "docProps damaged", EITHER))

    def zip_damage(kind: str):
        def make(rng):
            header, rows = cedi()
            data = bytearray(workbook([("Budget", [header, *cedi_cells(rows)], "visible")]))
            if kind == "cut":
                at = rng.randrange(30, len(data) - 1)
                data = data[:at]
                note = f"cut at byte {at} of {len(data)}"
            else:
                at = rng.randrange(len(data))
                data[at] ^= 1 << rng.randrange(8)
                note = f"bit flip at byte {at}"
            return bytes(data), zip_oracle(bytes(data), table_oracle(header, records_of(rows), EITHER), note)

        return make

    add("xlsx", "xlsx", "zip-cut", zip_damage("cut"), 12)
    add("xlsx", "xlsx", "zip-flip", zip_damage("flip"), 25)

    _table_families(add, "xlsx")
    _amount_family(add, "xlsx", 1)


ESSENTIAL_MEMBERS = re.compile(r"^(\[Content_Types\]\.xml|xl/workbook\.xml|xl/_rels/.*|_rels/.*|xl/worksheets/.*|xl/sharedStrings\.xml|xl/styles\.xml)$")


def zip_oracle(data: bytes, base: Oracle, note: str) -> Oracle:
    """A damaged XLSX container, judged with zipfile and lxml: refuse when a member a reader needs is
    unreadable; otherwise the workbook still says what it said."""
    from lxml import etree

    damage = Damage(codes=("workbook-*", "xlsx-*", "*zip*", "*xml*", "*sheet*", "*encoding*"), words=("zip", "ZIP", "xlsx", "classeur", "Classeur"))
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = {i.filename: i for i in book.infolist()}
        for name in members:
            if not ESSENTIAL_MEMBERS.match(name):
                continue
            content = book.read(name)  # raises on a bad CRC or a broken deflate stream
            etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))
        for needed in ("xl/workbook.xml", "xl/worksheets/sheet1.xml", "[Content_Types].xml"):
            if needed not in members:
                raise zipfile.BadZipFile(needed)
        for name in members:
            if not ESSENTIAL_MEMBERS.match(name):
                try:
                    book.read(name)
                except Exception:  # noqa: BLE001 - a damaged member no reader needs: reading or refusing are both right
                    pass
    except Exception as exc:  # noqa: BLE001 - zipfile and lxml raise many types for damaged data
        return Oracle(REFUSE, damage=damage, note=f"{note}: {type(exc).__name__} {exc}")
    if data[:4] != b"PK\x03\x04":
        return Oracle(REFUSE, damage=damage, note=f"{note}: no zip signature")
    return Oracle(EITHER, base.totals, base.lines, damage, f"{note}: container still readable")
