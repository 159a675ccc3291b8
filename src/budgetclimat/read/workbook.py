"""Opening a spreadsheet (XLSX, XLSM, XLSB, ODS, XLS) without letting it take the machine down.

Before the spreadsheet reader (calamine) sees a byte:

* the file size is bounded (``file-mb``: the only bound on an XLS);
* for a zip (XLSX, ODS), the archive directory is read: total uncompressed size (``unzipped-mb``) and
  the compression ratio of every large member (``zip-ratio``) are checked from it, then every member is
  decompressed once as a stream, checking that its real size and CRC are those the directory declares
  (a damaged or lying member is refused, naming it) and that no XML member carries a DOCTYPE;
* before a sheet is read, its XML is streamed once (lxml, no entities, no network, constant memory) to
  measure the extent calamine will allocate (last row and last column holding something — the
  ``<dimension>`` element cannot be trusted: it may be missing, or smaller than the cells), refused
  above ``rows``, ``columns`` or ``cells``; the same pass finds the cells that hold no value (a formula
  never calculated, an error such as ``#DIV/0!``), which calamine reads as empty.

Every error of calamine, of whatever type (including Rust panics), becomes ``workbook-unreadable``.
Hidden sheets are never read unless named (``--sheet``).
"""

from __future__ import annotations

import contextvars
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from posixpath import dirname, join, normpath

from budgetclimat import errors, i18n, limits
from budgetclimat.errors import ConfigError, InvalidDataError

ZIP_MAGIC = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader
_CHUNK = 1 << 16
_HEAD = 1 << 16  # bytes of an XML member searched for a DOCTYPE (it can only precede the root)
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_MAIN_NS = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_REF = re.compile(r"^\$?([A-Za-z]{1,7})\$?([0-9]{1,10})$")
_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

_sheet: contextvars.ContextVar[str | None] = contextvars.ContextVar("budgetclimat_sheet", default=None)


def _t(key: str, **params: object) -> str:
    return i18n.t(f"read.workbook.{key}", **params)


def set_sheet(name: str | None) -> None:
    """The sheet to read in the workbooks that follow (the CLI's ``--sheet``); None: detect."""
    _sheet.set(name or None)


def selected_sheet() -> str | None:
    return _sheet.get()


def is_zip(data: bytes) -> bool:
    return data[:4] == ZIP_MAGIC


# --- the archive -----------------------------------------------------------------------------------


def _damaged(file: str, member: str, what: str) -> InvalidDataError:
    return InvalidDataError("workbook-damaged", file=file, column=member, value=what)


def check_archive(data: bytes, file: str) -> zipfile.ZipFile:
    """Open a zip from memory and check it from its directory, then verify every member as a stream."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error, NotImplementedError) as exc:
        raise InvalidDataError("workbook-damaged", file=file, column=_t("directory"), value=_t("not-zip", detail=_short(exc))) from None
    total = sum(info.file_size for info in infos)
    limit = limits.get("unzipped-mb")
    if total > limit * limits.MB:
        raise InvalidDataError("zip-too-large", file=file, value=limits.format_mb(total), expected=limit)
    ratio = limits.get("zip-ratio")
    for info in infos:
        if info.file_size > limits.RATIO_FLOOR_BYTES and info.file_size > ratio * max(info.compress_size, 1):
            found = info.file_size // max(info.compress_size, 1)
            raise InvalidDataError("zip-ratio", file=file, column=info.filename, value=found, expected=ratio)
    for info in infos:
        _verify_member(data, info, file)
    return archive


def _verify_member(data: bytes, info: zipfile.ZipInfo, file: str) -> None:
    """Decompress one member as a stream: real size and CRC must be those declared; no DOCTYPE in XML."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise _damaged(file, name, _t("encrypted"))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _damaged(file, name, _t("method", detail=info.compress_type))
    offset = info.header_offset
    header = data[offset : offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != ZIP_MAGIC:
        raise _damaged(file, name, _t("truncated"))
    fields = _LOCAL_HEADER.unpack(header)
    start = offset + _LOCAL_HEADER.size + fields[10] + fields[11]
    raw = memoryview(data)[start : start + info.compress_size]
    if len(raw) < info.compress_size:
        raise _damaged(file, name, _t("truncated"))
    xml = name.lower().endswith(_XML_SUFFIXES)
    head = b""
    produced = 0
    crc = 0
    if info.compress_type == zipfile.ZIP_STORED:
        produced = len(raw)
        crc = zlib.crc32(raw)
        head = bytes(raw[:_HEAD])
    else:
        inflater = zlib.decompressobj(-15)
        try:
            for pos in range(0, len(raw), _CHUNK):
                chunk = raw[pos : pos + _CHUNK]
                while chunk:
                    out = inflater.decompress(chunk, 1 << 22)
                    produced += len(out)
                    if produced > info.file_size:
                        raise _damaged(file, name, _t("size", detail=info.file_size))
                    crc = zlib.crc32(out, crc)
                    if len(head) < _HEAD:
                        head += out[: _HEAD - len(head)]
                    chunk = inflater.unconsumed_tail
                    if inflater.eof:
                        break
                if inflater.eof:
                    break
            if not inflater.eof and info.file_size:
                raise _damaged(file, name, _t("truncated"))
        except zlib.error as exc:
            raise _damaged(file, name, _t("deflate", detail=_short(exc))) from None
    if produced != info.file_size:
        raise _damaged(file, name, _t("size", detail=info.file_size))
    if crc != info.CRC:
        raise _damaged(file, name, _t("crc"))
    if xml and b"<!DOCTYPE" in head.replace(b"\x00", b"").upper():
        raise _damaged(file, name, _t("doctype"))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r" \(<string>, line \d+\)$", "", text)
    return text if len(text) <= 300 else text[:297] + "…"


def _parse_small_xml(archive: zipfile.ZipFile, member: str, file: str):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(archive.read(member), parser)
    except KeyError:
        raise _damaged(file, member, _t("missing-member")) from None
    except etree.XMLSyntaxError as exc:
        raise _damaged(file, member, _t("xml", detail=_short(exc))) from None


def _xlsx_sheet_members(archive: zipfile.ZipFile, file: str) -> dict[str, str]:
    """Sheet name → member path of its XML, from the workbook part and its relationships."""
    names = set(archive.namelist())
    book_part = "xl/workbook.xml"
    if "_rels/.rels" in names:
        for rel in _parse_small_xml(archive, "_rels/.rels", file):
            if str(rel.get("Type", "")).endswith("/officeDocument"):
                book_part = normpath(str(rel.get("Target", book_part)).lstrip("/"))
                break
    if book_part not in names:
        return {}
    rels_part = join(dirname(book_part), "_rels", book_part.rsplit("/", 1)[-1] + ".rels")
    targets: dict[str, str] = {}
    if rels_part in names:
        for rel in _parse_small_xml(archive, rels_part, file):
            target = str(rel.get("Target", ""))
            path = target.lstrip("/") if target.startswith("/") else join(dirname(book_part), target)
            targets[str(rel.get("Id"))] = normpath(path)
    members: dict[str, str] = {}
    for element in _parse_small_xml(archive, book_part, file).iter("{*}sheet"):
        rid = next((element.get(f"{{{ns}}}id") for ns in _REL_NS if element.get(f"{{{ns}}}id") is not None), None)
        if rid in targets and element.get("name") is not None:
            members[str(element.get("name"))] = targets[rid]
    return members


# --- sheet extent and cells without a value ---------------------------------------------------------


@dataclass
class SheetScan:
    rows: int = 0  # last row (1-based) holding something
    columns: int = 0
    # (row, column, kind, text): kind "formula" (no cached value) or "error" (#DIV/0!…); 1-based
    no_value: list[tuple[int, int, str, str]] = field(default_factory=list)


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _check_extent(scan: SheetScan, file: str, sheet: str) -> None:
    limits.check_count("rows", file, _t("rows", sheet=sheet), scan.rows)
    limits.check_count("columns", file, _t("columns", sheet=sheet), scan.columns)
    cells = scan.rows * scan.columns
    if cells > limits.get("cells"):
        limits.check_count("cells", file, _t("cells", sheet=sheet, rows=scan.rows, columns=scan.columns), cells)


_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.-]*:)?sheetData[\s>/]")
_BLOCK = 1 << 23


class _Patterns:
    """Regular expressions for one namespace prefix (``b""`` or ``b"x:"``), literal for speed."""

    def __init__(self, prefix: bytes) -> None:
        p = re.escape(prefix)
        self.c_open, self.c_space = b"<" + prefix + b"c>", b"<" + prefix + b"c "
        self.ref = re.compile(b"<" + p + rb'c r="([A-Z]{1,7})([0-9]{1,10})"')
        self.empty = re.compile(b"<" + p + rb"c [^<>]*/>")
        self.opening = re.compile(b"<" + p + rb"c(?:\s[^<>]*)?(?<!/)>")
        self.close = re.compile(b"</" + p + rb"c>")
        self.formula = b"<" + prefix + b"f"
        self.formula_text = re.compile(b"<" + p + rb"f(?:\s[^>]*)?>([^<]*)<")
        self.error = re.compile(b"<" + p + rb'c\s[^<>]*\bt="e"[^<>]*(?<!/)>')
        self.value = re.compile(b"<" + p + rb"v(?:\s[^>]*)?>\s*([^<\s][^<]*)<")
        self.inline = re.compile(b"<" + p + rb"is[\s>]")


_ATTR_R = re.compile(rb'\br="\$?([A-Za-z]{1,7})\$?([0-9]{1,10})"')


def scan_xlsx_sheet(archive: zipfile.ZipFile, member: str, file: str, sheet: str) -> SheetScan:
    """Stream one worksheet's XML (constant memory) for its extent and its cells without a value.

    The pass is bounded by the archive checks (``unzipped-mb``) and keeps no cell: the extent found is
    exact, so the message can say how far the sheet goes. It runs at C speed (regular expressions over
    blocks cut at row ends) when every cell starts ``<c r="A1"``, as spreadsheet programs write them;
    otherwise (positions implied by order, attributes in another order) the exact, slower XML pass is used.
    """
    scan = SheetScan()
    try:
        stream = archive.open(member)
    except KeyError:
        raise _damaged(file, member, _t("missing-member")) from None
    from lxml import etree

    carry = b""
    patterns: _Patterns | None = None
    # Well-formedness at libxml2 speed, building nothing: the regular expressions trust the structure.
    checker = etree.XMLParser(target=_NoTree(), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        with stream:
            while True:
                block = stream.read(_BLOCK)
                if block:
                    checker.feed(block)
                else:
                    checker.close()
                data = carry + block
                if block:
                    cut = data.rfind(b"row>")
                    cut = cut + 4 if cut >= 0 else data.rfind(b">") + 1
                    data, carry = data[:cut], data[cut:]
                    if len(carry) > 4 * _BLOCK:  # no row end in 32 MB: not a sheet we can bound cheaply
                        return _scan_xlsx_sheet_exact(archive, member, file, sheet)
                if patterns is None:
                    found = _SHEET_DATA.search(data)
                    if found is not None:
                        patterns = _Patterns(found.group(1) or b"")
                if patterns is not None and not _scan_block(data, scan, patterns):
                    return _scan_xlsx_sheet_exact(archive, member, file, sheet)
                if not block:
                    break
    except etree.XMLSyntaxError as exc:
        raise _damaged(file, member, _t("xml", detail=_short(exc))) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _damaged(file, member, _t("deflate", detail=_short(exc))) from None
    if patterns is None:  # no sheetData seen: let the exact pass say what is wrong
        return _scan_xlsx_sheet_exact(archive, member, file, sheet)
    _check_extent(scan, file, sheet)
    return scan


class _NoTree:
    """An lxml parser target that keeps nothing: parsing only checks that the XML is well formed."""

    def close(self) -> None:
        return None


def _scan_block(data: bytes, scan: SheetScan, pat: _Patterns) -> bool:
    """Extent and cells without a value in one block of whole rows; False if a cell is not ``<c r=``."""
    refs = pat.ref.findall(data)
    if len(refs) != data.count(pat.c_space) + data.count(pat.c_open):
        return False
    if refs:
        # Empty self-closing cells (<c r="Z9" s="1"/>: a format, no value) do not count, as for calamine.
        empties = pat.empty.findall(data) if b"/>" in data else []
        if empties:
            empty_refs = {(m.group(1), m.group(2)) for m in map(pat.ref.match, empties) if m}
            refs = [r for r in refs if r not in empty_refs]
        if refs:
            letters = {ref[0] for ref in refs}
            scan.columns = max(scan.columns, max(_column_number(x.decode()) for x in letters))
            rows = {ref[1] for ref in refs}
            scan.rows = max(scan.rows, max(int(x) for x in rows))
    if b't="e"' in data:
        for found in pat.error.finditer(data):
            end = pat.close.search(data, found.end())
            inner = data[found.end() : end.start() if end else found.end()]
            value = pat.value.search(inner)
            _no_value(scan, found.group(0), "error", value.group(1).decode("utf-8", "replace").strip() if value else "#?")
    if pat.formula in data:
        position = data.find(pat.formula)
        while position >= 0:
            opening = None
            for opening in pat.opening.finditer(data, max(0, position - 4096), position):
                pass
            end = pat.close.search(data, position)
            stop = end.start() if end else position
            if opening is not None and b't="e"' not in opening.group(0) and data[position + len(pat.formula) : position + len(pat.formula) + 1] in (b">", b" ", b"/"):
                inner = data[opening.end() : stop]
                if not pat.value.search(inner) and not pat.inline.search(inner):
                    text = pat.formula_text.search(inner)
                    _no_value(scan, opening.group(0), "formula", _xml_text(text.group(1)) if text else "")
            position = data.find(pat.formula, max(stop, position + 1))
    return True


def _no_value(scan: SheetScan, opening: bytes, kind: str, text: str) -> None:
    ref = _ATTR_R.search(opening)
    if ref is not None:
        scan.no_value.append((int(ref.group(2)), _column_number(ref.group(1).decode()), kind, text[:200]))


def _xml_text(raw: bytes) -> str:
    from xml.sax.saxutils import unescape

    return unescape(raw.decode("utf-8", "replace")).strip()


def _scan_xlsx_sheet_exact(archive: zipfile.ZipFile, member: str, file: str, sheet: str) -> SheetScan:
    """The exact pass (lxml, streaming): cells without a reference take their position from order."""
    from lxml import etree

    scan = SheetScan()
    try:
        stream = archive.open(member)
    except KeyError:
        raise _damaged(file, member, _t("missing-member")) from None
    row = 0
    column = 0
    current_row = None
    rows_limit, columns_limit, cells_limit = limits.get("rows"), limits.get("columns"), limits.get("cells")
    tags = [f"{{{ns}}}{local}" for ns in _MAIN_NS for local in ("row", "c")]
    try:
        with stream:
            events = etree.iterparse(
                stream, events=("end",), tag=tags,
                resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            )
            for _, element in events:
                if element.tag.endswith("row"):
                    element.clear()
                    parent = element.getparent()
                    while parent is not None and element.getprevious() is not None:
                        del parent[0]
                    continue
                parent = element.getparent()
                if parent is not current_row:  # first cell of a row: its number (attributes are known)
                    current_row = parent
                    r = parent.get("r") if parent is not None else None
                    row = _int_ref(r, file, member) if r is not None else row + 1
                    column = 0
                ref = element.get("r")
                if ref is not None:
                    found = _REF.match(ref)
                    if found is None:
                        raise _damaged(file, member, _t("ref", detail=ref[:40]))
                    column = _column_number(found.group(1))
                    cell_row = int(found.group(2))
                else:
                    column += 1
                    cell_row = row
                if len(element):
                    scan.rows = max(scan.rows, cell_row)
                    scan.columns = max(scan.columns, column)
                    if scan.rows > rows_limit or scan.columns > columns_limit or scan.rows * scan.columns > cells_limit:
                        _check_extent(scan, file, sheet)  # this pass is slower: stop at the first excess
                    value_text, formula, inline = "", None, False
                    for child in element:
                        local = child.tag.rsplit("}", 1)[-1]
                        if local == "v":
                            value_text = (child.text or "").strip()
                        elif local == "f":
                            formula = child
                        elif local == "is":
                            inline = True
                    if element.get("t") == "e":
                        scan.no_value.append((cell_row, column, "error", value_text or "#?"))
                    elif formula is not None and not value_text and not inline:
                        scan.no_value.append((cell_row, column, "formula", (formula.text or "").strip()[:200]))
                element.clear()
    except etree.XMLSyntaxError as exc:
        raise _damaged(file, member, _t("xml", detail=_short(exc))) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _damaged(file, member, _t("deflate", detail=_short(exc))) from None
    _check_extent(scan, file, sheet)
    return scan


def _int_ref(text: str, file: str, member: str) -> int:
    if not text.isdigit() or len(text) > 10:
        raise _damaged(file, member, _t("ref", detail=text[:40]))
    return int(text)


def scan_ods(archive: zipfile.ZipFile, file: str) -> dict[str, SheetScan]:
    """Extent of every table of an ODS ``content.xml`` (repeated rows and cells expanded by count only)."""
    from lxml import etree

    member = "content.xml"
    scans: dict[str, SheetScan] = {}
    table = f"{{{_ODS_TABLE}}}"
    value_type = f"{{{_ODS_OFFICE}}}value-type"
    current: SheetScan | None = None
    name = ""
    row = 0
    column = 0
    try:
        stream = archive.open(member)
    except KeyError:
        raise _damaged(file, member, _t("missing-member")) from None
    try:
        with stream:
            events = etree.iterparse(
                stream, events=("start", "end"),
                tag=(f"{table}table", f"{table}table-row", f"{table}table-cell", f"{table}covered-table-cell"),
                resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            )
            for event, element in events:
                local = element.tag.rsplit("}", 1)[-1]
                if local == "table":
                    if event == "start":
                        name = str(element.get(f"{table}name", ""))
                        current = scans.setdefault(name, SheetScan())
                        row = 0
                    else:
                        element.clear()
                    continue
                if current is None:
                    continue
                if local == "table-row":
                    if event == "start":
                        column = 0
                    else:
                        row += _repeat(element.get(f"{table}number-rows-repeated"), file, member)
                        element.clear()
                        parent = element.getparent()
                        while parent is not None and element.getprevious() is not None:
                            del parent[0]
                    continue
                if event == "start":
                    continue
                repeat = _repeat(element.get(f"{table}number-columns-repeated"), file, member)
                if element.get(value_type) is not None or len(element):
                    parent = element.getparent()
                    rows_repeated = _repeat(parent.get(f"{table}number-rows-repeated") if parent is not None else None, file, member)
                    current.rows = max(current.rows, row + rows_repeated)
                    current.columns = max(current.columns, column + repeat)
                column += repeat
                element.clear()
    except etree.XMLSyntaxError as exc:
        raise _damaged(file, member, _t("xml", detail=_short(exc))) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _damaged(file, member, _t("deflate", detail=_short(exc))) from None
    for name, scan in scans.items():
        _check_extent(scan, file, name)
    return scans


def _repeat(text: str | None, file: str, member: str) -> int:
    if text is None:
        return 1
    if not text.isdigit() or len(text) > 10:
        raise _damaged(file, member, _t("ref", detail=text[:40]))
    return max(int(text), 1)


# --- the workbook ------------------------------------------------------------------------------------


def _calamine(file: str, call, *args):
    """Run one calamine call; any failure of the reader (its own types, Rust panics) → workbook-unreadable."""
    try:
        return call(*args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except InvalidDataError:
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
        raise InvalidDataError("workbook-unreadable", file=file, value=_short(exc)) from None


@dataclass
class SheetInfo:
    name: str
    visible: bool


class Workbook:
    """A spreadsheet whose archive was checked; sheets are scanned before they are read."""

    def __init__(self, file: str, data: bytes) -> None:
        from python_calamine import CalamineWorkbook, SheetVisibleEnum

        self.file = file
        self.archive = check_archive(data, file) if is_zip(data) else None
        self._members: dict[str, str] | None = None
        self._ods: dict[str, SheetScan] | None = None
        self.scans: dict[str, SheetScan] = {}
        if self.kind == "ods":
            # calamine reads every table of an ODS when it opens it: measure them all first.
            self._ods = scan_ods(self.archive, file)
        self.book = _calamine(file, CalamineWorkbook.from_filelike, io.BytesIO(data))
        metadata = _calamine(file, lambda: self.book.sheets_metadata)
        self.sheets = [SheetInfo(str(m.name), m.visible == SheetVisibleEnum.Visible) for m in metadata]

    @property
    def kind(self) -> str:
        if self.archive is None:
            return "xls"
        names = set(self.archive.namelist())
        if "content.xml" in names and "mimetype" in names:
            return "ods"
        return "xlsx" if any(n.lower().endswith("workbook.xml") for n in names) else "other"  # XLSB: binary sheets

    def names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def to_read(self, wanted: str | None) -> list[str]:
        """The sheets to look at: the named one (hidden or not), else the visible ones in order."""
        if wanted is not None:
            if wanted not in self.names():
                raise ConfigError("sheet-not-found", file=self.file, value=wanted, expected=", ".join(f"« {n} »" for n in self.names()))
            return [wanted]
        return [s.name for s in self.sheets if s.visible]

    def hidden(self) -> list[str]:
        return [s.name for s in self.sheets if not s.visible]

    def scan(self, sheet: str) -> SheetScan:
        """Extent and cells without a value of ``sheet``, checked against the limits (before any read)."""
        if sheet in self.scans:
            return self.scans[sheet]
        scan = SheetScan()
        kind = self.kind
        if kind == "xlsx":
            if self._members is None:
                self._members = _xlsx_sheet_members(self.archive, self.file)
            member = self._members.get(sheet)
            if member is not None and member in set(self.archive.namelist()):
                scan = scan_xlsx_sheet(self.archive, member, self.file, sheet)
        elif kind == "ods":
            if self._ods is None:
                self._ods = scan_ods(self.archive, self.file)
            scan = self._ods.get(sheet, scan)
        self.scans[sheet] = scan
        return scan

    def rows(self, sheet: str) -> list[list]:
        """The cells of ``sheet`` as Python values, row 1 at index 0 (after the limits were checked)."""
        self.scan(sheet)
        loaded = _calamine(self.file, self.book.get_sheet_by_name, sheet)
        height, width = _calamine(self.file, lambda: (loaded.total_height, loaded.total_width))
        # Defence in depth (and the only grid check an XLS gets): the grid to_python would build.
        _check_extent(SheetScan(rows=int(height or 0), columns=int(width or 0)), self.file, sheet)
        # skip_empty_area=False keeps row 1 at index 0, so source_row is what Excel shows.
        return _calamine(self.file, loaded.to_python, False)

    def no_value_findings(self, sheet: str, header_row: int, header: list[str], amount_columns: set[int]):
        """Findings for cells below the header that hold no value: errors in amount columns, else warnings."""
        records = []
        for row, column, kind, text in self.scan(sheet).no_value:
            if row <= header_row or column > len(header):
                continue
            amount = (column - 1) in amount_columns
            ref = f"{sheet}!{column_letters(column)}{row}"
            records.append({
                "level": errors.ERROR if amount else errors.WARNING,
                "code": "cell-formula-uncached" if kind == "formula" else "cell-error",
                "file": self.file, "row": row, "column": header[column - 1],
                "value": f"{ref} ={text}" if kind == "formula" and text else f"{ref} {text}" if kind == "error" else ref,
                "expected": _t("recalculate") if kind == "formula" else _t("no-error"),
            })
        return errors.findings_frame(records) if records else errors.empty_findings()
