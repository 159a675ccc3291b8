"""Read CSV and spreadsheet (XLSX, XLS, ODS) budget exports through a mapping profile.

The pipeline for one file: decode (UTF-8, else cp1252) → find the delimiter and the header row (below
any title rows) together with the profile whose headers match best → map source columns to the
canonical line model, all columns as strings and vectorised → parse amounts to exact cents → findings
for cells that could not be read (never raised: validation lists them all) → ``model.choose_amount``,
``model.assign_line_ids``, ``model.conform``.

Profiles (what a format *is*) live in :mod:`budgetclimat.read.profiles`; this module only executes them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import errors, i18n, limits, model, money
from budgetclimat.errors import ConfigError, InvalidDataError
from budgetclimat.nomenclature import enrich_with_plans, plan_for
from budgetclimat.nomenclature.functional import read_functional_vote_with_plans
from budgetclimat.read import workbook
from budgetclimat.read.profiles import (
    BY_DOCUMENT,
    ColumnSpec,
    Profile,
    available_profiles,
    normalise_name,
    resolve_profile,
    split_constants,
    with_constants,
    with_mapping,
)

HEADER_SCAN_ROWS = 30
DELIMITERS = (";", ",", "\t", "|")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
AMOUNT_EXAMPLE = "1 234,56"
_ORDRE_SECTION = ("040", "042")
_ORDRE_INTERIEUR = ("041", "043")


def read_tabular(
    path: str | Path,
    profile: str | Path | None = None,
    basis: str | None = None,
    file_index: int = 0,
    *,
    profile_dirs: list[str | Path] | None = None,
    constants: dict[str, str] | None = None,
    sheet: str | None = None,
) -> model.BudgetDocument:
    """Read a CSV/XLSX/XLS/ODS budget export into the canonical model.

    ``profile``: a profile id or the path of a YAML profile; by default the profile is detected from the
    headers among the user profiles (``profile_dirs``, ``$BUDGETCLIMAT_PROFILES``) and the shipped ones,
    with ``generic`` as the fallback. ``basis`` overrides which amount feeds ``amount_cents``.
    ``constants`` give values for canonical columns the file does not carry (``nomenclature: M57``,
    ``budget_kind: principal``), as a profile's ``constants:`` would. Lines are then enriched from the
    plan de comptes of their nomenclature and year (labels, missing chapters).
    ``sheet`` names the sheet of a workbook to read (hidden sheets are read only when named; default:
    the CLI's ``--sheet``, else the visible sheet whose header matches best). Input sizes are checked
    against :mod:`budgetclimat.limits` before reading.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file-not-found", path=str(path))
    if basis is not None and basis not in model.AMOUNT_COLUMNS:
        raise ConfigError("amount-basis-unknown", value=basis, expected=", ".join(model.AMOUNT_COLUMNS))
    limits.check_file_size(path)
    data = path.read_bytes()
    name = path.name
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InvalidDataError("empty-file", file=name)
    candidates = [resolve_profile(profile, profile_dirs)] if profile is not None else available_profiles(profile_dirs)
    constants, mapping = split_constants(constants)
    candidates = [with_mapping(p, mapping) for p in candidates]
    forced = profile is not None
    findings: list[pd.DataFrame] = []

    if _is_parquet(data):
        table = _read_parquet(data, name, candidates, forced)
        encoding = None
    elif _is_workbook(path, data):
        table = _read_workbook(path, data, candidates, forced, findings, sheet)
        encoding = None
    else:
        forced_encoding = candidates[0].encoding if forced else None
        text, encoding, enc_findings = _decode(data, name, forced_encoding)
        findings.append(enc_findings)
        limits.check_count("rows", name, i18n.t("read.csv-lines"), text.count("\n") + (not text.endswith("\n")))
        with _csv_field_limit(limits.get("cell-chars")):
            try:
                table = _read_csv(text, name, candidates, forced)
            except csv.Error as exc:
                raise _csv_error(exc, text, name) from None
        findings.extend(table.findings)
    return _document(table, path, hashlib.sha256(data).hexdigest(), encoding, findings, basis, file_index, constants, mapping)


def _document(
    table: _Table, path: Path, sha256: str, encoding: str | None, findings: list[pd.DataFrame], basis: str | None,
    file_index: int, constants: dict[str, str], mapping: dict[str, str], *, first_line: int = 1, carry: TotalsCarry | None = None,
) -> model.BudgetDocument:
    """The canonical document from a located table: mapping, amounts, line ids (from ``first_line``:
    a partition continues its file's numbering), enrichment. ``carry`` holds what the file's earlier
    partitions leave to this one (:class:`TotalsCarry`)."""
    name = path.name
    prof = with_constants(table.profile, constants)
    lines, raw_totals, map_findings = _map(table, prof, name, basis, mapping=mapping, constants=constants, carry=carry)
    findings.append(map_findings)
    lines["source_file"] = name
    lines["source_format"] = prof.id
    lines = _split_nomenclature(model.conform(model.choose_amount(lines, basis)))
    lines["line_id"] = model.assign_line_ids(lines, file_index, first=first_line)
    lines, plan_warnings = enrich_with_plans(lines, name)
    findings.append(errors.findings_frame(plan_warnings))
    header = {"profile": prof.id, "header_row": str(table.header_row)}
    if table.sheet:
        header["sheet"] = table.sheet
    if table.delimiter:
        header["delimiter"] = table.delimiter
    source = model.SourceInfo(path=path, format=prof.id, sha256=sha256, encoding=encoding, header=header)
    return model.BudgetDocument(lines=lines, source=source, raw_totals=raw_totals, findings=errors.concat_findings(findings))


# --- decoding and grids ----------------------------------------------------------------------------


class _Table:
    """Source cells as strings, with the header row located and the profile chosen."""

    def __init__(self, frame: pd.DataFrame, numbers: dict[str, pd.Series], header_row: int, profile: Profile, sheet: str = "", delimiter: str = "", row_offset: int = 0) -> None:
        self.frame = frame  # one column per source header (as written), string dtype, "" -> <NA>
        self.numbers = numbers  # source header -> float values of cells that were numbers (workbooks, Parquet)
        self.header_row = header_row  # 1-based row of the header as a spreadsheet shows it
        # row_offset: rows of the file above this table's first body row and below the header (a partition)
        self.rows = pd.Series(np.arange(len(frame)) + header_row + 1 + row_offset, index=frame.index, dtype="Int64")
        self.profile = profile
        self.sheet = sheet
        self.delimiter = delimiter
        self.amount_reads: dict[str, tuple[str | None, np.ndarray]] = {}  # column -> (decimal mark, problem mask)
        self.findings: list[pd.DataFrame] = []  # what reading the grid found (rows with missing fields)
        self.tail: tuple[str, int] | None = None  # (last column, last source row) of a CSV with no final line break
        self.titles: list[str] = []  # text of the rows above the header (and the sheet's name)
        self.carry: TotalsCarry | None = None  # what earlier partitions of the file decided (partitioned reading)


def _is_workbook(path: Path, data: bytes) -> bool:
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return True
    # Zip (xlsx/ods) or OLE2 (xls) signatures: exports are often saved with a misleading suffix.
    return data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# « Ã© », « Ã¨ », « â€™ »…: UTF-8 bytes of accented letters read as Windows-1252, then saved as UTF-8.
_DOUBLE_ENCODED = re.compile(r"Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|â€")


def _refuse_double_encoding(text: str, name: str) -> None:
    """Stop on a file whose header rows are double-encoded: its headers and labels cannot be read."""
    head = text[: 1 << 15]
    hit = _DOUBLE_ENCODED.search("\n".join(head.splitlines()[:HEADER_SCAN_ROWS]))
    if hit is not None:
        start = max(0, hit.start() - 10)
        raise InvalidDataError("encoding-double", file=name, row=head.count("\n", 0, hit.start()) + 1, value=head[start : hit.end() + 10].strip())


def _split_nomenclature(lines: pd.DataFrame) -> pd.DataFrame:
    """A nomenclature given as TOTEM spells it (``M14-M14_COM_SUP3500``, by a column or ``--set``) is the
    norm ``M14`` and the variant ``M14-M14_COM_SUP3500``, as the TOTEM reader gives them: rules and plans
    test the norm."""
    full = lines["nomenclature"].astype("string").str.strip()
    has_variant = full.str.contains("-", regex=False).fillna(False)
    if has_variant.any():
        lines["nomenclature_variant"] = lines["nomenclature_variant"].mask(has_variant & lines["nomenclature_variant"].isna(), full)
        lines["nomenclature"] = full.mask(has_variant, full.str.partition("-")[0]).astype("string")
    return lines


def _decode(data: bytes, name: str, forced: str | None) -> tuple[str, str, pd.DataFrame]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _strict(data, name, "utf-16"), "utf-16", errors.empty_findings()
    if forced:
        codec = "utf-8-sig" if forced.replace("_", "-").lower() in ("utf-8", "utf8") else forced
        return _strict(data, name, codec), forced, errors.empty_findings()
    try:
        text = data.decode("utf-8-sig")
        if "\x00" not in text:
            _refuse_double_encoding(text, name)
            return text, "utf-8", errors.empty_findings()
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        # NULs: a UTF-16/32 file without BOM; a detector tells which (never a single-byte guess).
        from charset_normalizer import from_bytes

        best = from_bytes(data, cp_isolation=["utf_16_le", "utf_16_be", "utf_32_le", "utf_32_be"]).best()
        if best is not None and best.encoding and "\x00" not in str(best):
            info = errors.findings_frame([{"level": "info", "code": "encoding-fallback", "file": name, "value": best.encoding}])
            return str(best), best.encoding, info
        raise InvalidDataError("undecodable", file=name, row=data[: data.find(b"\x00")].count(b"\n") + 1, value=data.find(b"\x00"), expected="UTF-8 / Windows-1252 / UTF-16")
    mixed = _mixed_utf8(data, name)
    if mixed is not None:
        return mixed
    text = _strict(data, name, "cp1252", "UTF-8 / Windows-1252")
    info = errors.findings_frame([{"level": "info", "code": "encoding-fallback", "file": name, "value": "cp1252"}])
    return text, "cp1252", info


def _mixed_utf8(data: bytes, name: str) -> tuple[str, str, pd.DataFrame] | None:
    """A UTF-8 file (it has valid multi-byte sequences) with a few lines that are not UTF-8 — rows pasted from
    a Windows-1252 file: each line is decoded in its own encoding and the lines are named in one warning.
    None when the file is not UTF-8 at heart (then it is read as Windows-1252 as a whole)."""
    if not re.search(rb"[\xc2-\xf4][\x80-\xbf]", data):
        return None
    lines = data.split(b"\n")
    texts, odd = [], []
    for number, raw in enumerate(lines, start=1):  # only on this rare fallback path, never on a normal file
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                texts.append(raw.decode("cp1252"))
            except UnicodeDecodeError:
                return None
            odd.append(number)
    if not odd or len(odd) * 2 > len(lines):
        return None
    text = "\n".join(texts).removeprefix("\ufeff")
    shown = ", ".join(map(str, odd[:10])) + (" …" if len(odd) > 10 else "")
    warning = errors.findings_frame([{"level": errors.WARNING, "code": "encoding-mixed", "file": name, "row": odd[0], "value": str(len(odd)), "expected": shown}])
    return text, "utf-8", warning


def _strict(data: bytes, name: str, codec: str, expected: str | None = None) -> str:
    expected = expected or codec
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidDataError("undecodable", file=name, row=line, value=exc.start, expected=expected) from None


def _read_csv(text: str, name: str, candidates: list[Profile], forced: bool) -> _Table:
    return _parse_csv(text, name, _detect_csv(text, name, candidates, forced))


class _CsvLayout:
    """What the first rows of a CSV decide for the whole file: delimiter, header record and profile."""

    def __init__(self, delimiter: str, hit: _Hit, records: list[list[str]], start_line: int) -> None:
        self.delimiter, self.hit, self.records, self.start_line = delimiter, hit, records, start_line


def _detect_csv(text: str, name: str, candidates: list[Profile], forced: bool) -> _CsvLayout:
    end = -1
    for _ in range(HEADER_SCAN_ROWS * 3):  # the head of the text holding the first lines (not all of it split)
        end = text.find("\n", end + 1)
        if end < 0:
            break
    head = text if end < 0 else text[: end + 1]
    sample_text = "\n".join(head.splitlines()[: HEADER_SCAN_ROWS * 3])
    delimiters = (candidates[0].delimiter,) if forced and candidates[0].delimiter else DELIMITERS
    best = None
    for delim in delimiters:
        records = list(csv.reader(io.StringIO(sample_text), delimiter=delim))[:HEADER_SCAN_ROWS]
        hit = _locate(records, candidates, forced)
        counts = pd.Series([len(r) for r in records if len(r) > 1], dtype="int64")
        consistency = int(counts.value_counts().iloc[0] * counts.mode().iloc[0]) if len(counts) else 0
        if hit is None and not forced:
            hit = _fallback_header(records, candidates)
        rank = (hit.rank if hit else (-1, 0), consistency)
        if best is None or rank > best[0]:
            best = (rank, delim, hit, records)
    _, delim, hit, records = best
    if hit is None:
        _raise_missing(name, records, candidates, forced)
    # Physical line where the header record starts (quoted fields may span lines).
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    start_line = 0
    for _ in range(hit.index):
        next(reader)
        start_line = reader.line_num
    return _CsvLayout(delim, hit, records, start_line)


def _parse_csv(text: str, name: str, layout: _CsvLayout, row_offset: int = 0) -> _Table:
    """Cells of ``text`` (the rows above the header, the header, then records) as laid out by
    ``layout``; ``row_offset`` records of the file precede these (a partition: see :mod:`.partitions`)."""
    delim, hit, records, start_line = layout.delimiter, layout.hit, layout.records, layout.start_line
    frame = _arrow_csv(text, delim, start_line)
    regular = frame is not None  # every record has the header's number of fields
    if frame is None:
        try:
            frame = pd.read_csv(
                io.StringIO(text), sep=delim, skiprows=start_line, header=0, dtype=str, keep_default_na=False,
                na_filter=False, skip_blank_lines=False, engine="c",
            )
        except pd.errors.ParserError as exc:
            row, reason = _parser_error(str(exc), start_line)
            raise InvalidDataError("csv-malformed", file=name, row=row, value=reason) from None
        except pd.errors.EmptyDataError:
            raise InvalidDataError("empty-file", file=name) from None
        frame.columns = _unique_headers(list(frame.columns))
    frame = _as_strings(frame)
    table = _Table(frame, {}, hit.index + 1, hit.profile, delimiter=delim, row_offset=row_offset)
    table.titles = [" ".join(r) for r in records[: hit.index]]
    _check_fields(table, text, delim, start_line, hit.index, name, regular=regular)
    return _finish(table, name)


# pandas' C parser errors: « Expected 12 fields in line 7, saw 13 » (line: 1-based, from the header),
# « EOF inside string starting at row 4 » (row: 0-based, the header being row 0).
_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_QUOTE_ERROR = re.compile(r"EOF inside string starting at row (\d+)")


def _parser_error(message: str, start_line: int) -> tuple[int | None, str]:
    """The file line (1-based) and the reason, in the user's language, of a pandas parser error; its own
    text when it is none of those it is known to give."""
    if found := _FIELDS_ERROR.search(message):
        expected, line, saw = (int(g) for g in found.groups())
        return line + start_line, i18n.t("tabular.csv-fields", expected=expected, found=saw)
    if found := _QUOTE_ERROR.search(message):
        return int(found.group(1)) + 1 + start_line, i18n.t("tabular.csv-open-quote")
    found = re.search(r"line (\d+)", message)
    return (int(found.group(1)) + start_line if found else None), message.strip()


def _arrow_csv(text: str, delim: str, start_line: int) -> pd.DataFrame | None:
    """The cells pandas' C parser gives (every cell as text, ``""`` kept, headers made unique), through
    Arrow's multithreaded CSV reader into Arrow strings. None — read by pandas then — when a record has
    another number of fields than the header (a blank row, a short or long row) or Arrow refuses the text."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    body = text
    if start_line:
        cut = 0
        for _ in range(start_line):
            cut = text.find("\n", cut) + 1
            if cut == 0:
                return None
        body = text[cut:]
    try:
        first = next(csv.reader(io.StringIO(body), delimiter=delim))
    except (StopIteration, csv.Error):
        return None
    width = len(first)
    if width < 1 or not body.strip():
        return None
    irregular: list[int] = []

    def handler(row) -> str:
        irregular.append(row.actual_columns)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(width)}, strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowException, ValueError):
        return None
    if irregular or table.num_columns != width or table.num_rows < 1:
        return None
    if '"' in body:
        # pandas refuses a quote left open at the end of the file, Arrow reads to the end: with quotes,
        # Arrow's cells are taken only when every quote opens or closes a field (no cell holds one — no
        # doubled or stray quote) and they pair up; any other quoted file is read by pandas.
        import pyarrow.compute as pc

        if body.count('"') % 2 or any(pc.any(pc.match_substring(col, '"')).as_py() for col in table.columns):
            return None
    header = [str(v) for v in table.slice(0, 1).to_pylist()[0].values()]
    if header != first:  # Arrow and the csv module disagree on the header: let pandas read it
        return None
    body_table = table.slice(1)
    names = _unique_headers(header)
    return pd.DataFrame(
        {n: pd.Series(col, dtype=pd.StringDtype("pyarrow")) for n, col in zip(names, body_table.columns)},
        index=pd.RangeIndex(body_table.num_rows),
    )


def _check_fields(table: _Table, text: str, delim: str, start_line: int, header_record: int, name: str, regular: bool = False) -> None:
    """Rows with fewer fields than the header are errors (pandas would fill them with blanks).
    ``regular``: every record is known to have the header's fields (Arrow read them)."""
    n_columns = len(table.frame.columns)
    n_rows = len(table.frame)
    if regular or not _any_short_row(text, delim, start_line, n_columns):
        counts = np.full(n_rows, n_columns)
    elif '"' in text:
        # Quoted fields may hold separators and line breaks: count fields record by record.
        records = csv.reader(io.StringIO(text), delimiter=delim)
        counts = np.array([len(r) for r in records][header_record + 1 :], dtype="int64")
    else:
        lines = pd.Series(text.split("\n")[start_line + 1 :], dtype="string")
        counts = np.where(lines.str.strip().fillna("").eq("").to_numpy(), 0, lines.str.count(re.escape(delim)).fillna(0).to_numpy() + 1)
    counts = np.asarray(counts[:n_rows])
    if len(counts) < n_rows:
        counts = np.concatenate([counts, np.full(n_rows - len(counts), n_columns)])
    short = (counts > 0) & (counts < n_columns)
    if short.any():
        frame = pd.DataFrame({
            "level": errors.ERROR, "code": "row-fields-missing", "file": name, "row": table.rows.to_numpy()[short],
            "value": counts[short].astype(str), "expected": str(n_columns),
        })
        table.findings.append(errors.concat_findings([frame]))
    if n_rows and not text.endswith(("\n", "\r")) and counts[-1] == n_columns:
        table.tail = (str(table.frame.columns[-1]), int(table.rows.iloc[-1]))


def _any_short_row(text: str, delim: str, start_line: int, n_columns: int) -> bool:
    """Whether a record after the header has fewer fields than it: Arrow's CSV parser (quotes and line
    breaks in values understood) calls back only for such rows, so the common case costs one C++ pass."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    short: list[int] = []

    def handler(row) -> str:
        if row.actual_columns < row.expected_columns:
            short.append(row.actual_columns)
        return "skip"

    body = "\n".join(text.split("\n")[start_line:])
    try:
        pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(n_columns)}),
        )
    except (pa.ArrowInvalid, ValueError):
        return True  # Arrow disagrees with pandas on this file: count exactly
    return bool(short)


def _read_workbook(path: Path, data: bytes, candidates: list[Profile], forced: bool, findings: list[pd.DataFrame] | None = None, sheet: str | None = None) -> _Table:
    # Archive, extent and damage are checked by budgetclimat.read.workbook before calamine reads a sheet;
    # hidden sheets are read only when named.
    book = workbook.Workbook(path.name, data)
    wanted = sheet if sheet is not None else workbook.selected_sheet()
    best = None
    first_records: list[list[str]] = []

    def look(sheet_names: list[str]) -> list[str]:
        nonlocal best, first_records
        matched = []
        for sheet_name in sheet_names:
            rows = book.rows(sheet_name)
            if not rows:
                continue
            sample = [[_cell_text(v) for v in r] for r in rows[:HEADER_SCAN_ROWS]]
            first_records = first_records or sample
            hit = _locate(sample, candidates, forced)
            if hit is None and not forced:
                hit = _fallback_header(sample, candidates)
            matched += [sheet_name] if hit else []
            if hit and (best is None or hit.rank > best[0].rank):
                best = (hit, sheet_name, rows)
        return matched

    look(book.to_read(wanted))
    if best is None and wanted is None and book.hidden():
        hidden = look(book.hidden())
        if hidden:
            raise InvalidDataError("sheet-only-hidden", file=path.name, value=", ".join(f"« {n} »" for n in hidden), expected=hidden[0])
    if best is None:
        if not first_records:
            raise InvalidDataError("empty-file", file=path.name)
        _raise_missing(path.name, first_records, candidates, forced)
    hit, sheet_name, rows = best
    header = _unique_headers([_cell_text(v) for v in rows[hit.index]])
    body = rows[hit.index + 1 :]
    width = len(header)
    raw = pd.DataFrame([r[:width] for r in body], columns=header, dtype=object) if body else pd.DataFrame(columns=header, dtype=object)
    frame = pd.DataFrame(index=raw.index)
    numbers: dict[str, pd.Series] = {}
    for col in header:
        text, num = _workbook_column(raw[col])
        frame[col] = text
        numbers[col] = num
    if findings is not None:
        wanted_amounts = {normalise_name(s) for sources in hit.profile.amounts.values() for s in sources}
        wanted_amounts |= {normalise_name(t[1]) for line in hit.profile.split for t in line.terms}
        amount_columns = {i for i, v in enumerate(rows[hit.index][:width]) if normalise_name(_cell_text(v)) in wanted_amounts}
        findings.append(book.no_value_findings(sheet_name, hit.index + 1, header, amount_columns))
    table = _Table(frame, numbers, hit.index + 1, hit.profile, sheet=sheet_name)
    table.titles = [sheet_name] + [" ".join(_cell_text(v) for v in r) for r in rows[: hit.index]]
    return _finish(table, path.name)


PARQUET_MAGIC = b"PAR1"


def _is_parquet(data: bytes) -> bool:
    """A Parquet file starts and ends with ``PAR1`` (never a CSV: no text starts with these bytes and a NUL-free footer)."""
    return data[:4] == PARQUET_MAGIC


def _open_parquet(source, name: str):
    """``pyarrow.parquet.ParquetFile`` of a path or buffer; a damaged file is ``parquet-unreadable``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(pa.BufferReader(source) if isinstance(source, bytes) else source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidDataError("parquet-unreadable", file=name, value=str(exc).strip()[:200]) from None


def _read_parquet(data: bytes, name: str, candidates: list[Profile], forced: bool) -> _Table:
    import pyarrow as pa

    parquet = _open_parquet(data, name)
    _check_parquet_extent(parquet, name, parquet.metadata.num_rows)
    try:
        arrow = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidDataError("parquet-unreadable", file=name, value=str(exc).strip()[:200]) from None
    return _parquet_table(arrow, name, _detect_parquet(arrow, name, candidates, forced))


def _check_parquet_extent(parquet, name: str, rows: int) -> None:
    """The ``rows``/``columns``/``cells`` limits on a Parquet table (or one partition of it)."""
    columns = parquet.metadata.num_columns
    what = i18n.t("read.parquet-rows")
    limits.check_count("rows", name, what, rows + 1)
    limits.check_count("columns", name, what, columns)
    limits.check_count("cells", name, what, (rows + 1) * columns)


def _detect_parquet(arrow, name: str, candidates: list[Profile], forced: bool) -> _Hit:
    """Header and profile of a Parquet table: its column names are row 1; a table converted with its
    title rows as data (« column_1 »…) has its header among the first rows, as in a CSV."""
    head = _arrow_frame(arrow.slice(0, HEADER_SCAN_ROWS - 1))[0]
    records = [list(head.columns)] + [[("" if pd.isna(v) else str(v)) for v in row] for row in head.itertuples(index=False)]
    hit = _locate(records, candidates, forced)
    if hit is None and not forced:
        hit = _fallback_header(records, candidates)
    if hit is None:
        _raise_missing(name, records, candidates, forced)
    hit.records = records
    return hit


def _parquet_table(arrow, name: str, hit: _Hit, row_offset: int = 0) -> _Table:
    """A Parquet table (or a batch of one) as cells: text columns as text, numeric columns as a
    workbook's numbers (text without ``.0``, float values for the amount rules), ``hit`` from
    :func:`_detect_parquet`. Row 1 is the column names; ``row_offset`` rows precede the batch."""
    frame, numbers = _arrow_frame(arrow)
    header_row = hit.index + 1
    if hit.index:  # the header is a data row: the rows above it are titles
        if row_offset == 0:
            header = _unique_headers(hit.records[hit.index])
            frame = frame.iloc[hit.index :].set_axis(header, axis=1)
            numbers = {h: numbers[c].iloc[hit.index :] for h, c in zip(header, list(numbers))}
        else:
            frame.columns = _unique_headers(hit.records[hit.index])
            numbers = dict(zip(frame.columns, numbers.values()))
            row_offset -= hit.index
        frame = frame.reset_index(drop=True)
        numbers = {k: v.reset_index(drop=True) for k, v in numbers.items()}
    table = _Table(frame, numbers, header_row, hit.profile, row_offset=row_offset)
    table.titles = [" ".join(r) for r in hit.records[: hit.index]]
    return _finish(table, name)


def _arrow_frame(arrow) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Columns of an Arrow table as stripped text (``""`` -> <NA>) and, for numeric columns, float values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = _unique_headers(list(arrow.column_names))
    frame: dict[str, pd.Series] = {}
    numbers: dict[str, pd.Series] = {}
    for col, values in zip(names, arrow.columns):
        kind = values.type
        if pa.types.is_dictionary(kind):
            values = values.cast(kind.value_type)
            kind = values.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            num = pd.Series(values.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype="float64")
            text, num = _numeric_text(num)
            frame[col], numbers[col] = text, num
            continue
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            try:
                values = values.cast(pa.large_string())
            except (pa.ArrowException, NotImplementedError):  # lists, structs…: their Python text
                values = pa.array([None if v is None else str(v) for v in values.to_pylist()], type=pa.large_string())
        text = pc.utf8_trim_whitespace(values)
        frame[col] = pd.Series(text, dtype="string").mask(lambda t: t == "")
    return pd.DataFrame(frame, index=pd.RangeIndex(arrow.num_rows)), numbers


def _numeric_text(num: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numeric cells as a workbook shows them: integral values without ``.0``; floats for the amounts."""
    values = num.to_numpy()
    finite = np.isfinite(values)
    integral = finite & (np.floor(np.where(finite, values, 0)) == values) & (np.abs(values) < 2**53)
    text = num.astype("string")
    if integral.any():
        text = text.mask(integral, pd.Series(np.where(integral, values, 0).astype("int64")).astype("string").to_numpy())
    text = text.mask(num.isna())
    return text.astype("string"), num


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _workbook_column(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cells of one workbook column as text (integral numbers without ``.0``) and as floats where numeric."""
    inferred = pd.api.types.infer_dtype(values, skipna=False)  # one C pass: all text, all numbers, or mixed
    if inferred == "string":
        is_num = np.zeros(len(values), dtype=bool)
    elif inferred in ("floating", "integer", "mixed-integer-float"):
        is_num = np.ones(len(values), dtype=bool)
    else:
        is_num = values.map(type).isin([int, float]).to_numpy()
    num = pd.to_numeric(values.where(is_num), errors="coerce").astype("float64")
    text = values.astype("string").str.strip()
    finite = np.isfinite(num.to_numpy())
    integral = is_num & finite & (np.floor(num.to_numpy()) == num.to_numpy()) & (np.abs(num.to_numpy()) < 2**53)
    if integral.any():
        text = text.mask(integral, pd.Series(num.to_numpy()).where(integral, 0).astype("int64").astype("string").to_numpy())
    text = text.mask(text == "")
    return text.astype("string"), num.where(is_num)


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.astype("string")
    for col in out.columns:
        stripped = out[col].str.strip()
        out[col] = stripped.mask(stripped == "")
    return out


def _finish(table: _Table, name: str) -> _Table:
    _check_cell_length(table, name)
    # Blank rows are not lines, but they count in source_row (a spreadsheet shows them).
    keep = table.frame.notna().any(axis=1)
    table.frame = table.frame[keep]
    table.rows = table.rows[keep]
    table.numbers = {k: v[keep] for k, v in table.numbers.items()}
    if table.frame.empty:
        raise InvalidDataError("empty-file", file=name)
    return table


def _check_cell_length(table: _Table, name: str) -> None:
    """Refuse a cell longer than the ``cell-chars`` limit, naming the first one (vectorised per column)."""
    limit = limits.get("cell-chars")
    for col in table.frame.columns:
        lengths = table.frame[col].str.len()
        if len(col) > limit:
            raise InvalidDataError("cell-too-long", file=name, row=table.header_row, column=col[:40] + "…", value=len(col), expected=limit)
        longest = lengths.max()
        if pd.notna(longest) and longest > limit:
            at = int(np.argmax((lengths > limit).fillna(False).to_numpy()))
            raise InvalidDataError("cell-too-long", file=name, row=int(table.rows.iloc[at]), column=col, value=int(lengths.iloc[at]), expected=limit)


class _csv_field_limit:
    """Raise the csv module's field limit (131,072 by default) to the cell-length limit, then restore it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __enter__(self) -> None:
        self.previous = csv.field_size_limit(self.limit)

    def __exit__(self, *exc: object) -> None:
        csv.field_size_limit(self.previous)


def _csv_error(exc: csv.Error, text: str, name: str) -> InvalidDataError:
    """A csv-module failure while looking for the header: a field over the limit, or malformed CSV."""
    limit = limits.get("cell-chars")
    if "field limit" in str(exc):
        lines = text.splitlines()
        row = next((i + 1 for i, line in enumerate(lines) if len(line) > limit), None)
        column, length = "?", f"> {limit}"
        if row is not None:
            for delim in DELIMITERS:
                parts = lines[row - 1].split(delim)
                long = [i for i, part in enumerate(parts) if len(part) > limit]
                if len(parts) > 1 and long:
                    column, length = f"n° {long[0] + 1}", len(parts[long[0]])
                    break
        return InvalidDataError("cell-too-long", file=name, row=row, column=column, value=length, expected=limit)
    return InvalidDataError("csv-malformed", file=name, row=None, value=str(exc))


def _unique_headers(headers: list[object]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        text = str(h).strip() if h is not None and str(h).strip() else f"column_{i + 1}"
        if text.startswith("Unnamed: "):
            text = f"column_{i + 1}"
        n = seen.get(text, 0)
        seen[text] = n + 1
        out.append(text if n == 0 else f"{text}.{n}")
    return out


# --- header and profile detection ------------------------------------------------------------------


class _Hit:
    def __init__(self, profile: Profile, index: int, rank: tuple) -> None:
        self.profile, self.index, self.rank = profile, index, rank
        self.records: list[list[str]] = []  # the rows searched (Parquet: to take a header from the data)


def _profile_sources(prof: Profile) -> list[set[str]]:
    """For scoring: one set of accepted (normalised) headers per thing the profile looks for."""
    groups = [{normalise_name(s) for s in spec.sources} for spec in prof.columns.values() if spec.sources]
    groups += [{normalise_name(s) for s in sources} for sources in prof.amounts.values()]
    groups += [{normalise_name(t[1])} for line in prof.split for t in line.terms]
    return groups


def _locate(records: list[list[str]], candidates: list[Profile], forced: bool) -> _Hit | None:
    """The (profile, header row) that matches best in the first rows.

    A specific profile matches a row holding all its ``detect.headers``; among matches the one
    recognising the most columns wins, then the first listed (user profiles come first). Without a
    specific match the generic profile takes the row where it recognises the most columns (at least 3).
    A forced profile takes the row where it recognises the most columns.
    """
    best: _Hit | None = None
    sources = [_profile_sources(prof) for prof in candidates]  # once, not per row
    for index, record in enumerate(records):
        cells = {normalise_name(c) for c in record if str(c).strip()}
        if len(cells) < 2:
            continue
        for order, prof in enumerate(candidates):
            groups = sources[order]
            recognised = sum(1 for g in groups if g & cells)
            if forced:
                specific = 0
            elif prof.generic:
                if recognised < 3:
                    continue
                specific = 0
            else:
                wanted = [normalise_name(h) for h in prof.detect_headers]
                present = sum(1 for h in wanted if h in cells)
                if present == len(wanted):
                    specific = 1
                elif wanted and present >= max(3, -(-3 * len(wanted) // 4)):
                    # Nearly the format (a column renamed or damaged): read with it, so that the missing
                    # column is named (missing-column, --map) rather than every line missing a constant.
                    specific = 0.5
                else:
                    continue
            rank = (specific, recognised, -order)
            if best is None or rank > best.rank:
                best = _Hit(prof, index, rank)
    if forced and best is not None and best.rank[1] == 0:
        return None
    return best


def _fallback_header(records: list[list[str]], candidates: list[Profile]) -> _Hit | None:
    """When no header is recognised by name: the first row of three or more texts (no number, no
    amount) followed by a row of as many cells, read with the generic profile, whose roles are then
    found by content (``_infer_roles``). Ranked below any header recognised by name."""
    generic = next((p for p in candidates if p.generic), None)
    if generic is None:
        return None
    for index, record in enumerate(records[:-1]):
        cells = [str(c).strip() for c in record if str(c).strip()]
        following = [str(c).strip() for c in records[index + 1] if str(c).strip()]
        if len(cells) < 3 or len(following) < len(cells) - 1:
            continue
        if any(re.fullmatch(r"[-+(]?[\d\s.,'€)]+", c) for c in cells) or len(set(map(normalise_name, cells))) < len(cells):
            continue
        return _Hit(generic, index, (-1, 1, 0))
    return None


def _raise_missing(name: str, records: list[list[str]], candidates: list[Profile], forced: bool) -> None:
    prof = candidates[0] if forced else next((p for p in candidates if p.generic), candidates[0])
    header = next((r for r in records if sum(1 for c in r if str(c).strip()) >= 2), records[0] if records else [])
    row = records.index(header) + 1 if header in records else 1
    wanted = _required_groups(prof)
    raise InvalidDataError(
        "missing-column",
        file=name,
        row=row,
        column=", ".join(k for k, _ in wanted),
        expected="; ".join(f"{k} = {' | '.join(v)}" for k, v in wanted),
        value=", ".join(str(c) for c in header if str(c).strip()) or "(aucun)",
    )


def _required_groups(prof: Profile, found: set[str] | None = None) -> list[tuple[str, list[str]]]:
    """Required things of ``prof`` not found among ``found`` normalised headers (all when None)."""
    found = found or set()
    out = []
    for key, spec in prof.columns.items():
        if spec.required and spec.sources and not any(normalise_name(s) in found for s in spec.sources):
            out.append((key, list(spec.sources)))
    if prof.amounts and not any(normalise_name(s) in found for srcs in prof.amounts.values() for s in srcs):
        out.append(("amount", sorted({s for srcs in prof.amounts.values() for s in srcs})))
    for line in prof.split:
        for _, col in line.terms:
            if normalise_name(col) not in found and (col, [col]) not in out:
                out.append((col, [col]))
    return out


# --- mapping ---------------------------------------------------------------------------------------


def _map(
    table: _Table, prof: Profile, name: str, basis: str | None, *, mapping: dict[str, str] | None = None, constants: dict[str, str] | None = None,
    carry: TotalsCarry | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    src = table.frame
    by_norm: dict[str, str] = {}
    for col in src.columns:
        by_norm.setdefault(normalise_name(col), col)
    for role, column in (mapping or {}).items():
        if normalise_name(column) not in by_norm:
            raise ConfigError("map-unknown-column", value=f"{role}={column}", file=name, column=column, expected=", ".join(src.columns))
    inferred_findings = errors.empty_findings()
    table.carry = carry
    if prof.generic and carry is not None and carry.profile is not None:
        prof = carry.profile  # a later partition: the roles its file's first partition showed
    elif prof.generic:
        prof, inferred_findings = _infer_roles(table, prof, name, by_norm, constants or {})
        if carry is not None:
            carry.profile = prof
    missing = _required_groups(prof, set(by_norm))
    if missing:
        raise InvalidDataError(
            "missing-column", file=name, row=table.header_row,
            column=", ".join(k for k, _ in missing),
            expected="; ".join(f"{k} = {' | '.join(v)}" for k, v in missing),
            value=", ".join(src.columns),
        )

    groups = _header_groups(list(src.columns))

    def same_values(columns: list[str]) -> bool:
        first = src[columns[0]].astype("string").str.strip().fillna("")
        return all(first.equals(src[c].astype("string").str.strip().fillna("")) for c in columns[1:])

    said_twice: set[str] = set()

    def find(sources: tuple[str, ...]) -> str | None:
        col = next((by_norm[n] for n in map(normalise_name, sources) if n in by_norm), None)
        if col is not None and len(groups[col]) > 1 and same_values(groups[col]):
            # The same column twice, cell for cell (a copy left in the export): one is read, nothing is lost.
            if col not in said_twice:
                said_twice.add(col)
                findings.append(errors.findings_frame([{
                    "level": errors.WARNING, "code": "column-repeated-same", "file": name, "row": table.header_row,
                    "column": ", ".join(i18n.t(_COLUMN_AT, n=list(src.columns).index(c) + 1, name=_base_header(c)) for c in groups[col]),
                    "value": _base_header(col),
                }]))
            return col
        if col is not None and len(groups[col]) > 1:
            # Two columns with one name: whichever were read, the other's figures would be lost or doubled.
            raise InvalidDataError(
                "column-duplicated", file=name, row=table.header_row,
                column=", ".join(i18n.t(_COLUMN_AT, n=list(src.columns).index(c) + 1, name=_base_header(c)) for c in groups[col]),
                value=_base_header(col),
            )
        return col

    findings: list[pd.DataFrame] = [inferred_findings]
    table, totals = _set_aside_total_rows(table, prof, name, find, findings, carry)
    src = table.frame
    out = pd.DataFrame(index=src.index)
    used: dict[str, str] = {}
    derived: list[tuple[str, ColumnSpec]] = []
    for key, spec in prof.columns.items():
        col = find(spec.sources)
        if col is None:
            if spec.derive:
                derived.append((key, spec))
                continue
            out[key] = pd.Series(spec.default, index=src.index, dtype="string")
            continue
        used[key] = col
        values, bad = _transform(src[col], spec)
        if bad.any():
            findings.append(_cell_findings("value-not-recognised", name, table.rows[bad], col, src[col][bad], _accepted(spec)))
        out[key] = values

    _clean_codes(out, table, used, name, findings)
    _check_exercice(out, table, used, name, findings)

    # Before anything reads the chapter (ordre derivations), so that they see the corrected columns.
    if prof.swap_by_length:
        out, swap_finding = _swap_if_needed(out, prof, used, name)
        findings.append(swap_finding)

    # Amounts: one column per basis, or several lines per row (split).
    amount_sources: dict[str, str] = {}
    parsed_cents: dict[str, pd.Series] = {}  # source amount column -> cents of the lines
    if prof.split:
        out, table_rows, raw_split = _apply_split(out, table, prof, name, findings, find)
    else:
        for b, sources in prof.amounts.items():
            col = find(sources)
            if col is None or b == BY_DOCUMENT:
                continue
            amount_sources[b] = col
            out[model.AMOUNT_COLUMNS[b]] = parsed_cents[col] = _amount(table, col, prof, name, findings)
        table_rows = table.rows
        raw_split = None
    out["source_row"] = table_rows.to_numpy()

    for key, spec in derived:
        out[key] = _derive(out, key, spec, prof, amount_sources)
        if spec.sources and key not in (constants or {}):  # a derivation the profile asks for outright is no news to the user
            findings.append(errors.findings_frame([{"level": errors.WARNING, "code": "column-derived", "file": name, "column": key, "expected": _derivation_text(spec)}]))

    by_document = find(prof.amounts.get(BY_DOCUMENT, ()))
    if by_document is not None and by_document not in amount_sources.values():
        # A file that says no type anywhere takes it from its name or titles. A row without a readable type
        # in a file that has one (an empty cell, a header repeated mid-table) keeps none: its amount cannot
        # be placed, and validation names it (required-missing), never a type guessed for it.
        if out["doc_type"].isna().all():
            out["doc_type"] = _doc_type_from_names(out["doc_type"], table, name, by_document, findings)
        # One amount column whose meaning follows the document type of each line.
        cents = parsed_cents[by_document] = _amount(table, by_document, prof, name, findings)
        target = _document_basis(out)
        for b in sorted(set(target.dropna())):
            column = model.AMOUNT_COLUMNS[b]
            current = out[column] if column in out.columns else pd.Series(pd.NA, index=out.index, dtype="Int64")
            out[column] = current.mask((target == b).fillna(False) & current.isna(), cents).astype("Int64")
        amount_sources[BY_DOCUMENT] = by_document

    out = read_functional_vote_with_plans(out)  # vote par fonction: functional chapters and their ordre lines
    if "operation" in out.columns:
        chapter = out.get("chapitre", pd.Series(pd.NA, index=out.index, dtype="string")).astype("string")
        kind = out.get("ordre_kind", pd.Series(pd.NA, index=out.index, dtype="string")).astype("string")
        ordre = (out["operation"] == "ordre").fillna(False)
        kind = kind.mask(ordre & kind.isna() & chapter.isin(_ORDRE_SECTION), "section")
        kind = kind.mask(ordre & kind.isna() & chapter.isin(_ORDRE_INTERIEUR), "interieur")
        out["ordre_kind"] = kind

    if prof.keep_nature_classes:
        keep = out["nature"].astype("string").str.slice(0, 1).isin(prof.keep_nature_classes).fillna(False).to_numpy()
        out = out[keep]
        if raw_split is not None:
            raw_split = raw_split[keep]

    if prof.amounts_in_cents:
        cols = ", ".join(amount_sources.values()) or ", ".join(t[1] for line in prof.split for t in line.terms)
        findings.append(errors.findings_frame([{"level": errors.WARNING, "code": "amount-in-centimes", "file": name, "column": cols, "value": prof.id}]))

    not_provided = [c.name for c in model.COLUMNS if c.required and c.name not in out.columns and c.name not in _COMPUTED]
    not_provided += [k for k in ("doc_type", "nomenclature", "budget_kind", "exercice") if k in out.columns and k not in not_provided and out[k].isna().all()]
    if not_provided:
        findings.append(errors.findings_frame([{
            "level": errors.WARNING, "code": "column-not-provided", "file": name, "column": ", ".join(not_provided),
            "value": prof.id, "expected": i18n.t("expected.set-constants", options=" ".join(f"--set {c}=…" for c in not_provided)),
        }]))

    if totals is not None:
        findings.append(totals.check(out, amount_sources))
    if carry is not None and not prof.split:  # after the check: a total row counts the lines of the partitions before
        carry.add(table, parsed_cents, _has_account(table.frame, prof, find), _kind_values(table.frame, prof, find), totals)
    raw_totals = _raw_totals(out, table, prof, amount_sources, basis, raw_split)
    return out.reset_index(drop=True), raw_totals, errors.concat_findings(findings)


# Code columns that exports are seen to dirty with stray punctuation or spaces (``A27631.`` in a
# département's cedi file): the code is cleaned and the user told, rather than the line rejected.
_CODE_COLUMNS = ("nature", "chapitre", "fonction", "chapitre_fonction")
_STRAY = r"^[\s.,;:_/-]+|[\s.,;:_/-]+$"
# Python's \s (str.isspace) written for RE2, whose own \s is ASCII only: pandas would run a pattern
# holding \s through Python's re, one cell at a time.
_SPACE_RE2 = r"\t\n\x0b\f\r\x1c-\x1f\x{85}\p{Z}"
_STRAY_RE2 = r"^[" + _SPACE_RE2 + r".,;:_/-]+|[" + _SPACE_RE2 + r".,;:_/-]+$"


def _re2_replace(values: pd.Series, pattern: str, repl: str = "") -> pd.Series:
    """``values.str.replace(pattern, repl, regex=True)`` in Arrow's RE2, whatever the cells hold."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = pc.replace_substring_regex(pa.array(values.astype("string"), type=pa.large_string()), pattern, repl)
    return pd.Series(arrow, dtype="string", index=values.index)


def _clean_codes(out: pd.DataFrame, table: _Table, used: dict[str, str], name: str, findings: list[pd.DataFrame]) -> None:
    for key in _CODE_COLUMNS:
        if key not in out.columns:
            continue
        values = out[key].astype("string")
        cleaned = _re2_replace(_re2_replace(values, _STRAY_RE2), "[" + _SPACE_RE2 + "]+")
        changed = (values.notna() & (cleaned != values)).fillna(False).to_numpy()
        if changed.any():
            findings.append(_cell_findings(
                "code-cleaned", name, table.rows[changed], used.get(key, key), values[changed],
                cleaned[changed].fillna("").str.cat(sep=" | ") if changed.sum() <= 3 else "", level=errors.WARNING,
            ))
            out[key] = cleaned.mask(cleaned == "")


_COMPUTED = {"line_id", "source_file", "source_row", "source_format", "amount_cents", "amount_basis"}


def _by_distinct(values: pd.Series, operation) -> pd.Series:
    """``operation`` (cell by cell, on a string Series) run on the distinct values only, then spread back:
    patterns RE2 cannot run (a lookahead, Unicode ``\\d``/``\\s``) go through Python's re one cell at a
    time, and a code column has few distinct values."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    done = pd.Series(operation(pd.Series(uniques, dtype="string")), dtype="string").array
    return pd.Series(done.take(codes, allow_fill=True), index=values.index, dtype="string")


def _transform(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    """Apply prefix stripping, extraction and value mapping to one source column; mask of unmapped cells."""
    s = values.astype("string")
    for prefix in spec.strip_prefix:
        s = _by_distinct(s, lambda u, p=prefix: u.str.replace(rf"(?i)^{re.escape(p)}(?=\w)", "", regex=True))
    bad = pd.Series(False, index=s.index)
    if spec.extract:
        got = _re2_replace(_by_distinct(s, lambda u: u.str.extract(spec.extract, expand=False)), "[" + _SPACE_RE2 + "]+")
        failed = (s.notna() & got.isna()).fillna(False)
        if spec.default is None:
            bad |= failed
        s = got
    if spec.values is not None:
        uniques = s.dropna().unique()
        # Normalising the few distinct values (not every row) keeps this vectorised.
        table = {u: spec.values.get(normalise_name(u)) for u in uniques}
        mapped = s.map(table).astype("string")
        unmapped = (s.notna() & mapped.isna()).fillna(False)
        if spec.others == "keep":
            mapped = mapped.mask(unmapped, s)
        elif spec.others == "error" and spec.default is None:
            bad |= unmapped
        s = mapped.mask(mapped == "")
    if spec.default is not None:
        s = s.fillna(spec.default)
    return s.astype("string"), bad.to_numpy()


def _accepted(spec: ColumnSpec) -> str:
    if spec.accepted:
        return ", ".join(spec.accepted)
    return f"/{spec.extract}/" if spec.extract else ""


def _cell_findings(code: str, name: str, rows: pd.Series, column: str, values: pd.Series, expected: str, level: str = errors.ERROR) -> pd.DataFrame:
    n = len(rows)
    frame = pd.DataFrame({
        "level": [level] * n, "code": [code] * n, "file": [name] * n, "row": rows.to_numpy(),
        "column": [column] * n, "value": values.astype("string").to_numpy(),
        "expected": expected.astype("string").to_numpy() if isinstance(expected, pd.Series) else [expected] * n,
    })
    return errors.concat_findings([frame])


_AMOUNT_PROBLEM_CODES = {
    money.NOT_A_NUMBER: "amount-not-a-number",
    money.AMBIGUOUS: "amount-ambiguous",
    money.TOO_PRECISE: "amount-too-precise",
    money.TOO_LARGE: "amount-too-large",
}
_AMOUNT_EXPECTED = {
    "amount-not-a-number": None,
    "amount-ambiguous": "expected.amount-one-reading",
    "amount-too-precise": "expected.amount-cents",
    "amount-too-large": "expected.amount-range",
}


def _amount(table: _Table, col: str, prof: Profile, name: str, findings: list[pd.DataFrame]) -> pd.Series:
    """One amount column read by :func:`money.parse_amounts` (the only amount parser), with findings.

    Text cells decide the column's decimal mark among themselves (numbers typed in a workbook are
    binary floats whose text is Python's, not what the user sees: they give no evidence).
    """
    text = table.frame[col]
    num = table.numbers.get(col)
    is_num = num.notna().to_numpy() if num is not None else np.zeros(len(text), dtype=bool)
    carry = table.carry
    decided = carry.marks.get(col) if carry is not None else None  # (mark, row): an earlier partition's
    parsed = money.parse_amounts(text.mask(is_num), decided[0] if decided else prof.decimal)
    if carry is not None and parsed.mark is not None and len(text):
        if decided is None:
            carry.marks[col] = (parsed.mark, int(table.rows.iloc[0]))
        elif parsed.mark != decided[0]:
            findings.append(errors.findings_frame([{
                "level": errors.ERROR, "code": "amount-mark-changes", "file": name, "row": int(table.rows.iloc[0]),
                "column": col, "value": parsed.mark, "expected": decided[0],
            }]))
    cents, problem = parsed.cents.copy(), parsed.problem.copy()
    if is_num.any():
        # Numbers typed in a workbook: round each to the cent (never sum floats); a value that is not a
        # whole number of cents (1234.565) is a problem, not a rounding.
        values = num.to_numpy()[is_num]
        float_problem = money.float_problems(values)
        exact = np.rint(np.where(np.isfinite(values), values, 0) * 100)
        ok = pd.isna(float_problem)
        cents.iloc[np.flatnonzero(is_num)[ok]] = exact[ok].astype("int64")
        problem.iloc[np.flatnonzero(is_num)[~ok]] = float_problem[~ok].astype(str)
    if table.tail is not None and table.tail[0] == col:
        _check_cut(table, text, problem, name, col, findings)
    table.amount_reads[col] = (parsed.mark, problem.notna().to_numpy())
    if prof.amounts_in_cents:
        cents = _div100(cents)
    for kind, code in _AMOUNT_PROBLEM_CODES.items():
        bad = (problem == kind).fillna(False).to_numpy()
        if bad.any():
            key = _AMOUNT_EXPECTED[code]
            expected = AMOUNT_EXAMPLE if key is None else i18n.t(key, readings="{readings}")
            if kind == money.AMBIGUOUS:
                readings = parsed.readings[bad].fillna("?")
                expected = readings.map(lambda r, e=expected: e.replace("{readings}", r))  # the few bad cells only
            findings.append(_cell_findings(code, name, table.rows[bad], col, text[bad], expected))
    return cents.astype("Int64")


def _check_cut(table: _Table, text: pd.Series, problem: pd.Series, name: str, col: str, findings: list[pd.DataFrame]) -> None:
    """A CSV with no final line break whose last amount is not shaped like the column's others (number
    of decimals) was cut inside that amount: an error, never a smaller amount read in silence."""
    last = np.flatnonzero((table.rows == table.tail[1]).fillna(False).to_numpy())
    if not len(last) or pd.notna(problem.iloc[last[0]]):
        return
    if pd.isna(text.iloc[last[0]]) or str(text.iloc[last[0]]).strip() == "":
        # The file stops right after the last separator: the amount was cut off whole.
        findings.append(_cell_findings(
            "row-truncated", name, table.rows.iloc[last], col, pd.Series([""], dtype="string"),
            i18n.t("expected.an-amount"),
        ))
        return
    if len(text) < 2:
        return
    decimals = text.str.extract(r"[.,](\d+)\D*$", expand=False).str.len().fillna(0).astype("int64")
    others = decimals.drop(decimals.index[last[0]])
    usual = int(others.mode().iloc[0])
    if int(decimals.iloc[last[0]]) != usual:
        findings.append(_cell_findings(
            "row-truncated", name, table.rows.iloc[last], col, text.iloc[last],
            i18n.t("expected.usual-decimals", n=usual),
        ))


def _div100(cents: pd.Series) -> pd.Series:
    """Centimes read as euros: divide by 100, rounding half away from zero for fractional centimes."""
    values = cents.astype("Int64")
    sign = np.sign(values.fillna(0).to_numpy())
    absolute = values.abs()
    return ((absolute + 50) // 100 * sign).astype("Int64")


def _apply_split(out, table: _Table, prof: Profile, name: str, findings, find):
    """One canonical line per (source row × split line) with a non-zero amount; rows keep their source_row."""
    parsed: dict[str, pd.Series] = {}
    for line in prof.split:
        for _, col_name in line.terms:
            col = find((col_name,))
            if col not in parsed:
                parsed[col] = _amount(table, col, prof, name, findings).fillna(0)
    pieces = []
    raw_pieces = []
    for order, line in enumerate(prof.split):
        total = pd.Series(0, index=out.index, dtype="int64")
        for sign, col_name in line.terms:
            total = total + sign * parsed[find((col_name,))].astype("int64")
        part = out.copy()
        part["sens"] = line.sens
        part["operation"] = line.operation
        part[model.AMOUNT_COLUMNS[prof.split_basis]] = total.astype("Int64")
        part["_row"] = table.rows.to_numpy()
        part["_pos"] = np.arange(len(part))
        part["_order"] = order
        keep = (total != 0).to_numpy()
        pieces.append(part[keep])
        raw_pieces.append(pd.DataFrame({"_pos": np.arange(len(part))[keep], "_line": order}, index=part.index[keep]))
    merged = pd.concat(pieces).sort_values(["_pos", "_order"], kind="stable")
    raw = pd.concat(raw_pieces).loc[:, ["_pos", "_line"]]
    raw = raw.iloc[np.lexsort((raw["_line"].to_numpy(), raw["_pos"].to_numpy()))]
    rows = merged["_row"].astype("Int64").reset_index(drop=True)
    merged = merged.drop(columns=["_row", "_pos", "_order"]).reset_index(drop=True)
    return merged, rows, raw.reset_index(drop=True)


def _derive(out: pd.DataFrame, key: str, spec: ColumnSpec, prof: Profile, amount_sources: dict[str, str]) -> pd.Series:
    if spec.derive == "nature_class":
        first = out["nature"].astype("string").str.slice(0, 1)
        mapping = spec.values or {"1": "I", "2": "I", "6": "F", "7": "F"}
        result = first.map(mapping).astype("string")
    elif spec.derive == "chapter_ordre":
        chapter = out.get("chapitre", pd.Series(pd.NA, index=out.index, dtype="string")).astype("string")
        result = pd.Series("reel", index=out.index, dtype="string").mask(chapter.isin(_ORDRE_SECTION + _ORDRE_INTERIEUR).fillna(False), "ordre")
    else:  # amount_kind
        executed = amount_sources.get("executed")
        voted = amount_sources.get("voted")
        kind = "CA" if executed and executed != voted else "BP" if voted and voted != executed else None
        result = pd.Series(kind, index=out.index, dtype="string")
    if spec.default is not None:
        result = result.fillna(spec.default)
    return result


def _derivation_text(spec: ColumnSpec) -> str:
    return {
        "nature_class": "classe du compte (1, 2 → I ; 6, 7 → F)",
        "chapter_ordre": "chapitres 040 à 043 → ordre, sinon réel",
        "amount_kind": "montant réalisé → CA, montant voté → BP",
    }[spec.derive]


def _swap_if_needed(out: pd.DataFrame, prof: Profile, used: dict[str, str], name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    chap_key, acct_key = prof.swap_by_length
    chapter = out[chap_key].astype("string")
    account = out[acct_key].astype("string")
    both = (chapter.notna() & account.notna()).to_numpy()
    if not both.any():
        return out, errors.empty_findings()
    shorter = (account.str.len() < chapter.str.len()).to_numpy()[both]
    if shorter.mean() <= 0.5:
        return out, errors.empty_findings()
    swapped = out.copy()
    swapped[chap_key], swapped[acct_key] = account, chapter
    if prof.swap_labels:
        a, b = prof.swap_labels
        if a in out.columns and b in out.columns:
            swapped[a], swapped[b] = out[b], out[a]
    first = np.flatnonzero(both & (account.str.len() < chapter.str.len()).fillna(False).to_numpy())[0]
    example = f"{used.get(chap_key, chap_key)}={chapter.iloc[first]}, {used.get(acct_key, acct_key)}={account.iloc[first]}"
    finding = errors.findings_frame([{
        "level": errors.WARNING, "code": "chapter-account-swapped", "file": name,
        "column": f"{used.get(chap_key, chap_key)} / {used.get(acct_key, acct_key)}", "value": example,
    }])
    return swapped, finding


# --- duplicated headers and roles found by content -----------------------------------------------


_COLUMN_AT = "tabular.column-at"


def _base_header(header: str) -> str:
    """A header without the ``.1`` that pandas and ``_unique_headers`` add to a repeated name."""
    return re.sub(r"\.\d+$", "", header)


def _header_groups(headers: list[str]) -> dict[str, list[str]]:
    """Each header -> every header with the same name (compared normalised, repeats' ``.1`` removed)."""
    by_key: dict[str, list[str]] = {}
    for h in headers:
        by_key.setdefault(normalise_name(_base_header(h)), []).append(h)
    out = {}
    for h in headers:
        same = by_key[normalise_name(_base_header(h))]
        # "Montant.1" is a repeat only if "Montant" is a header too.
        out[h] = same if any(_base_header(x) == x for x in same) and len(same) > 1 else [h]
    return out


# Roles found by content, in this order (a column gives one role).
_INFERRED_VALUE_ROLES = ("doc_type", "sens", "section", "operation")
_ROLE_TEXT = {
    "exercice": "exercice", "doc_type": "type de document", "sens": "sens", "section": "section",
    "operation": "réel/ordre", "nature": "nature (compte)", "fonction": "fonction", "amount": "montant",
}


def _infer_roles(table: _Table, prof: Profile, name: str, by_norm: dict[str, str], constants: dict[str, str]) -> tuple[Profile, pd.DataFrame]:
    """Find by their values the columns of roles whose header is not among the generic synonyms.

    A column whose distinct values all belong to a role's accepted values is that role (« Dépense /
    Recette », « D/R » → sens; « Investissement / Fonctionnement » → section; BP/CA… → document type);
    4-digit years → exercice; codes of which nine in ten are accounts of the plan → nature; codes of
    which nine in ten are fonctions of the plan → fonction; the one remaining column whose cells are
    amounts → the amount. A role is taken only when exactly one column fits; one warning says which.
    """
    src = table.frame

    def found(sources) -> bool:
        return any(normalise_name(x) in by_norm for x in sources)

    def first(sources) -> str | None:  # the column the mapping reads for a role: its first synonym present
        return next((by_norm[n] for n in map(normalise_name, sources) if n in by_norm), None)

    # Only the columns actually read are used: a second column whose header is another synonym of a role
    # already read (« Type de mouvement » beside « Sens ») stays free, to be recognised by its values.
    used = {first(spec.sources) for spec in prof.columns.values()} | {first(srcs) for srcs in prof.amounts.values()}
    used.discard(None)
    free = [c for c in src.columns if c not in used and src[c].notna().sum() >= 1]
    if not free:
        return prof, errors.empty_findings()
    wanted = [k for k in ("exercice", *_INFERRED_VALUE_ROLES, "nature", "fonction") if k in prof.columns and not found(prof.columns[k].sources) and k not in constants]
    want_amount = not any(found(srcs) for srcs in prof.amounts.values())
    if not wanted and not want_amount:
        return prof, errors.empty_findings()

    distinct = {c: src[c].dropna().str.strip().unique() for c in free}
    chosen: dict[str, str] = {}

    def take(role: str, fits) -> None:
        hits = [c for c in free if c not in chosen.values() and len(distinct[c]) and fits(c)]
        if len(hits) == 1:
            chosen[role] = hits[0]

    if "exercice" in wanted:
        take("exercice", lambda c: all(re.fullmatch(r"(19|20|21)\d\d", str(v)) for v in distinct[c]))
    for role in _INFERRED_VALUE_ROLES:
        spec = prof.columns.get(role)
        if role in wanted and spec is not None and spec.values:
            accepted = set(spec.values)
            if role == "operation":  # "0/1", "R/O" say too little on their own
                accepted = {normalise_name(x) for x in ("réel", "reel", "ordre", "pour ordre", "OR", "OE", "OI")}
            take(role, lambda c, a=accepted: all(normalise_name(v) in a for v in distinct[c]))
    codes = {c: pd.Series(distinct[c], dtype="string").str.replace(r"\s+", "", regex=True) for c in free}
    numeric = {c: bool(codes[c].str.fullmatch(r"\d{1,8}").all()) for c in free}
    accounts, fonctions = _plan_codes(constants.get("nomenclature"))
    if "nature" in wanted and accounts:
        take("nature", lambda c: numeric[c] and codes[c].isin(accounts).mean() >= 0.9 and codes[c].str.len().max() >= 4)
    if "fonction" in wanted and fonctions:
        take("fonction", lambda c: numeric[c] and codes[c].isin(fonctions).mean() >= 0.9 and codes[c].str.len().max() <= 4)
    if want_amount:
        def is_amount(c: str) -> bool:
            if c in chosen.values() or (numeric[c] and codes[c].str.len().max() <= 8 and c not in table.numbers):
                return False  # codes are not amounts (typed numbers in a workbook may be)
            parsed = money.parse_amounts(src[c])
            return bool(parsed.cents.notna().mean() >= 0.9)
        take("amount", is_amount)
    if not chosen:
        return prof, errors.empty_findings()
    mapping = {("amount" if role == "amount" else role): col for role, col in chosen.items()}
    finding = errors.findings_frame([{
        "level": errors.WARNING, "code": "columns-inferred", "file": name, "row": table.header_row,
        "value": ", ".join(f"« {col} » → {_ROLE_TEXT[role]}" for role, col in chosen.items()),
    }])
    for col in chosen.values():
        by_norm.setdefault(normalise_name(col), col)
    return with_mapping(prof, mapping), finding


def _plan_codes(nomenclature: str | None) -> tuple[set[str], set[str]]:
    """Account and fonction codes of the plan(s) a generic file may use (its nomenclature, else M57 and M14)."""
    accounts: set[str] = set()
    fonctions: set[str] = set()
    for norm in ([nomenclature] if nomenclature else ["M57", "M14"]):
        try:
            plan, _ = plan_for(norm)
        except (OSError, ValueError, LookupError):  # a plan that cannot be loaded only means no inference from it
            plan = None
        if plan is not None:
            accounts |= set(plan.accounts["code"].astype(str))
            fonctions |= set(plan.fonctions["code"].astype(str))
    return accounts, fonctions


# --- document type from the file's name and title rows ----------------------------------------------

_DOC_WORDS = {
    "bp": "BP", "budgetprimitif": "BP", "bs": "BS", "budgetsupplementaire": "BS", "dm": "DM",
    "decisionmodificative": "DM", "ca": "CA", "compteadministratif": "CA", "cfu": "CFU",
    "comptefinancierunique": "CFU",
}
_DOC_PHRASES = r"(budget primitif|budget supplementaire|decision modificative|compte administratif|compte financier unique)"


_IN_TITLES = "tabular.in-titles"
_IN_NAME = "tabular.in-name"
_AS_EXECUTED = "tabular.as-executed"
_AS_VOTED = "tabular.as-voted"
_SEVERAL = "tabular.several-doc-types"


def _doc_types_in(text: str) -> set[str]:
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    found = {_DOC_WORDS[normalise_name(m)] for m in re.findall(_DOC_PHRASES, plain)}
    for token in re.split(r"[^a-z0-9]+", plain):
        word = re.sub(r"\d{4}$", "", token)
        if word in ("bp", "bs", "dm", "ca", "cfu"):
            found.add(_DOC_WORDS[word])
    return found


def _doc_type_from_names(doc: pd.Series, table: _Table, name: str, column: str, findings: list[pd.DataFrame]) -> pd.Series:
    """Fill a missing document type from the title rows, then the file name (« BP 2026 », « CA 2024 »);
    stop with a clear message when neither says it (never read every amount as 0)."""
    places = (i18n.t(_IN_TITLES), table.titles), (i18n.t(_IN_NAME), [Path(name).stem])
    for where, texts in places:
        found = set().union(*(_doc_types_in(t) for t in texts)) if texts else set()
        if len(found) == 1:
            kind = found.pop()
            findings.append(errors.findings_frame([{
                "level": errors.WARNING, "code": "doc-type-found", "file": name, "column": where, "value": kind,
                "expected": i18n.t(_AS_EXECUTED if kind in ("CA", "CFU") else _AS_VOTED),
            }]))
            return doc.fillna(kind).astype("string")
        if len(found) > 1:
            raise InvalidDataError("doc-type-unknown", file=name, column=column, value=i18n.t(_SEVERAL, where=where, found=", ".join(sorted(found))))
    raise InvalidDataError("doc-type-unknown", file=name, column=column, value="")


# --- total and subtotal rows ------------------------------------------------------------------------

# A cell that starts a total row: « TOTAL », « Total général », « Sous-total », « TOTAUX ».
_TOTAL_LABEL = r"(?i)^\W*(?:sous[\s-]*)?tota(?:l|ux)(?:$|[^a-zà-ÿ])"  # RE2-compatible: no lookahead


class _TotalRows:
    """Total rows set aside from the table, with their figures, to be checked against the lines."""

    def __init__(self, name: str, rows: np.ndarray, positions: np.ndarray, n: int, cents: dict[str, pd.Series], lines_mask: np.ndarray, kinds: dict[str, np.ndarray], carry: TotalsCarry | None = None) -> None:
        self.name, self.rows, self.positions, self.n = name, rows, positions, n
        self.carry = carry or TotalsCarry()  # sums of the lines of the file's earlier partitions
        self.cents = cents  # source amount column -> cents of every original row (lines and totals)
        self.lines_mask = lines_mask  # original rows that are lines
        self.kinds = kinds  # sens/section source values of every original row (for same-kind sums)

    def check(self, out: pd.DataFrame, amount_sources: dict[str, str]) -> pd.DataFrame:
        """Each total's figure must be the sum of some block of lines above it: since the previous
        total row, since the top, or of the lines above with the same direction/section as the row
        says. No match is an error (a TOTAL row is never a line, but its figure must agree)."""
        found = []
        columns = sorted(set(amount_sources.values()) & set(self.cents))
        for col in columns:
            values = self.cents[col]
            line_values = values.where(self.lines_mask, 0).fillna(0).astype("int64").to_numpy()
            cum = np.concatenate([[0], np.cumsum(line_values)])
            for pos, row in zip(self.positions, self.rows):
                figure = values.iloc[pos]
                if pd.isna(figure):
                    continue
                previous = [p for p in self.positions if p < pos]
                start = previous[-1] + 1 if previous else 0
                before = self.carry.block.get(col, 0) if not previous else 0
                candidates = {int(cum[pos] - cum[start]) + before, int(cum[pos]) + self.carry.top.get(col, 0)}
                for key, kind in self.kinds.items():
                    if kind[pos]:
                        same = (kind[:pos] == kind[pos]) & self.lines_mask[:pos]
                        candidates.add(int(line_values[:pos][same].sum()) + self.carry.kinds.get((key, kind[pos], col), 0))
                if int(figure) not in candidates:
                    shown = " ; ".join(money.format_euros(c) for c in sorted(candidates))
                    found.append({
                        "level": errors.ERROR, "code": "total-row-mismatch", "file": self.name, "row": int(row),
                        "column": col, "value": money.format_euros(int(figure)), "expected": shown,
                    })
        return errors.findings_frame(found)


def _has_account(frame: pd.DataFrame, prof: Profile, find) -> np.ndarray:
    spec = prof.columns.get("nature")
    col = find(spec.sources) if spec is not None and spec.sources else None
    return frame[col].notna().to_numpy() if col is not None else np.ones(len(frame), dtype=bool)


def _kind_values(frame: pd.DataFrame, prof: Profile, find) -> dict[str, np.ndarray]:
    """The sens/section source value of every row (casefolded): a total row may sum the lines of its kind."""
    kinds = {}
    for key in ("sens", "section"):
        spec = prof.columns.get(key)
        col = find(spec.sources) if spec is not None and spec.sources else None
        if col is not None:
            kinds[key] = frame[col].str.strip().str.casefold().fillna("").to_numpy(dtype=object)
    return kinds


class TotalsCarry:
    """What a file's earlier partitions leave to the next one (partitioned reading, :mod:`.partitions`).

    A total row's figure is the sum of lines above it — since the top of the file, since the previous
    total row, or of the lines of its sens/section — that may lie in earlier partitions: each partition
    adds its lines' sums here (:meth:`add`) and its total rows count those of the partitions before, so
    that the checks (``total-row-mismatch``) and the rows set aside are those of a whole-file read.
    The generic profile's roles found by content are also decided once, by the first partition.
    """

    def __init__(self) -> None:
        self.profile: Profile | None = None
        self.any_line = False  # a line with an account lies above
        self.top: dict[str, int] = {}  # source amount column -> cents of every line above
        self.block: dict[str, int] = {}  # -> cents of the lines since the last total row
        self.top_account: dict[str, int] = {}  # the same for the lines with an account (finding unlabelled totals)
        self.block_account: dict[str, int] = {}
        self.kinds: dict[tuple[str, str, str], int] = {}  # (sens|section, value, column) -> cents of those lines
        # Source amount column -> (decimal mark, first row): the mark the first partition showing one read
        # the column with; later partitions read with it, and one showing the other mark is an error
        # (``amount-mark-changes``), as a whole-file read would find the column's evidence mixed.
        self.marks: dict[str, tuple[str, int]] = {}

    def add(self, table: _Table, cents: dict[str, pd.Series], has_account: np.ndarray, kinds: dict[str, np.ndarray], totals: _TotalRows | None) -> None:
        """Add a partition's lines (``table`` after its total rows were set aside; ``cents`` by source column)."""
        rows = table.rows.to_numpy()
        after = rows > totals.rows[-1] if totals is not None and len(totals.rows) else np.ones(len(rows), dtype=bool)
        self.any_line = self.any_line or bool(has_account.any())
        for col, series in cents.items():
            values = series.fillna(0).astype("int64").to_numpy()
            restart = totals is not None and len(totals.rows)
            self.top[col] = self.top.get(col, 0) + int(values.sum())
            self.block[col] = (0 if restart else self.block.get(col, 0)) + int(values[after].sum())
            self.top_account[col] = self.top_account.get(col, 0) + int(values[has_account].sum())
            self.block_account[col] = (0 if restart else self.block_account.get(col, 0)) + int(values[has_account & after].sum())
            for key, kind in kinds.items():
                sums = pd.Series(values).groupby(kind).sum()
                for value, total in sums.items():
                    if value:
                        self.kinds[(key, value, col)] = self.kinds.get((key, value, col), 0) + int(total)


def _set_aside_total_rows(table: _Table, prof: Profile, name: str, find, findings: list[pd.DataFrame], carry: TotalsCarry | None = None):
    """Leave out total and subtotal rows (one warning); keep their figures for a check on the lines.

    A total row is a row with a cell starting « TOTAL », « Sous-total », « TOTAUX » in a non-amount
    column (codes filled or not: « TOTAL GÉNÉRAL » with every code copied is still a total), or a row
    with no account whose amount equals the sum of the lines above it (since the previous total or
    since the top). Profiles that split rows (DGFiP balances) are left alone.
    """
    if prof.split:
        return table, None
    frame = table.frame
    amount_cols = []
    for sources in prof.amounts.values():
        col = find(sources)
        if col is not None and col not in amount_cols:
            amount_cols.append(col)
    if not amount_cols:
        return table, None
    labelled = np.zeros(len(frame), dtype=bool)
    for col in frame.columns:
        if col in amount_cols:
            continue
        distinct = pd.Series(frame[col].dropna().unique(), dtype="string")  # few distinct values per column
        # Only a cell holding « tota » in any case can be a total label (Arrow finds those at once; the
        # pattern, Python's, then reads the few).
        distinct = distinct[pd.Series(distinct, dtype=pd.StringDtype("pyarrow")).str.contains("tota", case=False, regex=False).fillna(False).to_numpy()]
        hits = distinct[distinct.str.contains(_TOTAL_LABEL, regex=True).fillna(False).to_numpy()]
        if len(hits):
            labelled |= frame[col].isin(hits).fillna(False).to_numpy()
    nature_spec = prof.columns.get("nature")
    nature_col = find(nature_spec.sources) if nature_spec is not None and nature_spec.sources else None
    no_account = frame[nature_col].isna().to_numpy() if nature_col is not None else np.zeros(len(frame), dtype=bool)
    candidates_no_account = no_account & ~labelled
    if not labelled.any() and not candidates_no_account.any():
        return table, None
    scratch: list[pd.DataFrame] = []
    cents = {col: _amount(table, col, prof, name, scratch) for col in amount_cols}
    table.amount_reads.clear()
    is_total = labelled.copy()
    if candidates_no_account.any():
        lines = ~labelled & ~no_account
        has_line_above = np.concatenate([[carry is not None and carry.any_line], np.cumsum(lines)[:-1] > 0])
        has_line_above |= carry is not None and carry.any_line
        sums = {}
        for col in amount_cols:
            values = cents[col].where(lines, 0).fillna(0).astype("int64").to_numpy()
            sums[col] = np.concatenate([[0], np.cumsum(values)])  # sums[col][pos] = lines above pos
        last_total = -1
        for pos in np.flatnonzero(labelled | candidates_no_account):  # O(1) each: cumulative sums
            if labelled[pos]:
                last_total = pos
                continue
            if not candidates_no_account[pos] or not has_line_above[pos]:
                continue
            matched = []
            for col in amount_cols:
                figure = cents[col].iloc[pos]
                if pd.isna(figure):
                    continue
                above, block = int(sums[col][pos]), int(sums[col][pos] - sums[col][last_total + 1])
                if carry is not None:
                    above += carry.top_account.get(col, 0)
                    block += carry.block_account.get(col, 0) if last_total == -1 else 0
                matched.append(int(figure) in (above, block))
            if matched and all(matched):
                is_total[pos] = True
                last_total = pos
    if not is_total.any():
        return table, None
    kinds = _kind_values(frame, prof, find)
    total_positions = np.flatnonzero(is_total)
    rows = table.rows.to_numpy()[total_positions]
    label_text = frame.iloc[total_positions].apply(lambda r: next((str(v) for v in r if pd.notna(v) and re.match(_TOTAL_LABEL, str(v))), ""), axis=1)
    totals = _TotalRows(name, rows, total_positions, len(frame), cents, ~is_total, kinds, carry)
    shown = ", ".join(f"{r} ({t})" if t else str(r) for r, t in list(zip(rows, label_text))[:5])
    findings.append(errors.findings_frame([{
        "level": errors.WARNING, "code": "total-rows-skipped", "file": name, "row": int(rows[0]),
        "value": shown + ("…" if len(rows) > 5 else ""), "expected": str(len(rows)),
    }]))
    keep = ~is_total
    table.frame = frame[keep]
    table.rows = table.rows[keep]
    table.numbers = {k: v[keep] for k, v in table.numbers.items()}
    if table.frame.empty:
        raise InvalidDataError("empty-file", file=name)
    return table, totals


# --- raw totals ------------------------------------------------------------------------------------

RAW_TOTAL_COLUMNS = ["section", "sens", "operation", "basis", "lines", "total_cents"]


def _raw_totals(out: pd.DataFrame, table: _Table, prof: Profile, amount_sources: dict[str, str], basis: str | None, raw_split) -> pd.DataFrame:
    """Totals straight from the raw amount cells, summed as Decimal, for reconciliation with the frame.

    Independent of money.parse_cents: a different, deliberately simple reading of the number text.
    Keys are the mapped section/sens/operation of each row (F/I, D/R, reel/ordre).
    """
    keys = out[["section", "sens", "operation"]].astype("string").fillna("?").reset_index(drop=True)
    if raw_split is not None:
        decimals = {}
        for line in prof.split:
            for _, col in line.terms:
                decimals[col] = _raw_decimals(table, _col(table, col), prof)
        per_line = []
        for order, line in enumerate(prof.split):
            value = None
            for sign, col in line.terms:
                term = decimals[col] if sign > 0 else decimals[col].map(lambda d: -d)
                value = term if value is None else value + term
            per_line.append(value.reset_index(drop=True))
        stacked = pd.DataFrame({i: s for i, s in enumerate(per_line)})
        amount = pd.Series(
            stacked.to_numpy()[raw_split["_pos"].to_numpy(), raw_split["_line"].to_numpy()], dtype=object
        )
        chosen = pd.Series(prof.split_basis, index=keys.index, dtype="string")
    else:
        document = _document_basis(out).reset_index(drop=True)
        chosen = pd.Series(basis, index=keys.index, dtype="string") if basis else document.fillna("voted").astype("string")
        keep_rows = _kept_positions(out, table)
        picks = []
        for b in model.AMOUNT_COLUMNS:
            pick = (chosen == b).fillna(False).to_numpy()
            col = amount_sources.get(b)
            if col is None and BY_DOCUMENT in amount_sources:
                col = amount_sources[BY_DOCUMENT]
                pick = pick & (document == b).fillna(False).to_numpy()
            if col is None or not pick.any():
                continue
            picks.append((col, pick))
        fast = _raw_totals_arrow(keys, chosen, picks, table, prof, keep_rows)
        if fast is not None:
            return fast
        amount = pd.Series(Decimal(0), index=keys.index, dtype=object)
        for col, pick in picks:
            values = _raw_decimals(table, col, prof).iloc[keep_rows].reset_index(drop=True)
            amount[pick] = values[pick]
    frame = keys.assign(basis=chosen.fillna("voted"), amount=amount.to_numpy())
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("lines", "total_cents") else "string") for c in RAW_TOTAL_COLUMNS})
    grouped = frame.groupby(["section", "sens", "operation", "basis"], sort=True)["amount"].agg(["count", "sum"]).reset_index()
    grouped["total_cents"] = grouped["sum"].map(lambda d: int((Decimal(d) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))).astype("int64")
    grouped["lines"] = grouped["count"].astype("int64")
    result = grouped[RAW_TOTAL_COLUMNS].copy()
    for c in ("section", "sens", "operation", "basis"):
        result[c] = result[c].astype("string")
    return result


_RAW_SCALE = 12  # decimal places of the exact sums (a cell with more goes the per-cell way)


def _raw_totals_arrow(keys: pd.DataFrame, chosen: pd.Series, picks, table: _Table, prof: Profile, keep_rows: np.ndarray) -> pd.DataFrame | None:
    """:func:`_raw_totals` summed exactly in Arrow ``decimal128`` (the same reading of each cell as
    :func:`_to_decimal`, vectorised); None when a cell does not fit, to sum per cell instead."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if keys.empty:
        return None
    kind = pa.decimal128(38, _RAW_SCALE)
    amount = pa.array(np.zeros(len(keys), dtype="int64")).cast(kind)
    for col, pick in picks:
        values = _raw_decimal_array(table, col, prof)
        if values is None:
            return None
        values = values.take(pa.array(keep_rows))
        amount = pc.if_else(pa.array(pick), values, amount)
    frame = pa.table({
        "section": pa.array(keys["section"]), "sens": pa.array(keys["sens"]), "operation": pa.array(keys["operation"]),
        "basis": pa.array(chosen.fillna("voted")), "amount": amount,
    })
    try:
        grouped = frame.group_by(["section", "sens", "operation", "basis"]).aggregate([("amount", "sum"), ("amount", "count")])
    except (pa.ArrowException, NotImplementedError):  # a sum past 38 digits
        return None
    result = grouped.to_pandas().sort_values(["section", "sens", "operation", "basis"]).reset_index(drop=True)
    sums = result["amount_sum"].map(lambda d: Decimal(d) / 100 if prof.amounts_in_cents else Decimal(d))  # one per group
    result["total_cents"] = sums.map(lambda d: int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))).astype("int64")
    result["lines"] = result["amount_count"].astype("int64")
    out = result[RAW_TOTAL_COLUMNS].copy()
    for c in ("section", "sens", "operation", "basis"):
        out[c] = out[c].astype("string")
    return out


_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def _raw_decimal_array(table: _Table, col: str, prof: Profile):
    """The cells of ``col`` as exact ``decimal128`` values read as :func:`_to_decimal` reads them (0 for a
    cell that is no number or was reported as a problem), vectorised; None when one does not fit."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = table.frame[col].astype("string")
    mark, problems = table.amount_reads.get(col, (prof.decimal, None))
    if problems is not None:
        text = text.mask(problems)
    s = _arrow_replace(text)
    negative = ((s.str.startswith("(") & s.str.endswith(")")) | (s.str.endswith("-") & ~s.str.startswith("-"))).fillna(False)
    if negative.any():
        s = s.mask(negative, s.str.replace(r"^[()]+|[()]+$", "", regex=True).str.replace(r"-+$", "", regex=True))
    has_comma = s.str.contains(",", regex=False).fillna(False)
    has_dot = s.str.contains(".", regex=False).fillna(False)
    commas = s.str.count(",").fillna(0)
    dots = s.str.count(r"\.").fillna(0)
    both = has_comma & has_dot
    comma_last = s.str.contains(r",[^.]*$", regex=True).fillna(False)
    out = s.copy()
    out = out.mask(both & comma_last, s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    out = out.mask(both & ~comma_last, s.str.replace(",", "", regex=False))
    rest = ~both
    drop_commas = rest & ((commas > 1) | ((mark == ".") & has_comma))
    out = out.mask(drop_commas, s.str.replace(",", "", regex=False))
    rest &= ~drop_commas
    no_e = ~s.str.contains("[eE]", regex=True).fillna(False)
    drop_dots = rest & ((dots > 1) | ((mark == ",") & (dots == 1) & no_e))
    out = out.mask(drop_dots, s.str.replace(".", "", regex=False))
    rest &= ~drop_dots
    out = out.mask(rest & (commas == 1), s.str.replace(",", ".", regex=False))
    plain = out.str.fullmatch(_NUMBER).fillna(False).to_numpy()
    odd = np.flatnonzero(out.notna().to_numpy() & ~plain)
    kind = pa.decimal128(38, _RAW_SCALE)
    try:
        values = pc.cast(pa.array(out.where(plain), type=pa.large_string()), kind)
        if negative.any():
            values = pc.if_else(pa.array(negative.to_numpy(dtype=bool)), pc.negate(values), values)
        if len(odd):  # « 1_000 », « Infinity »…: the few cells the pattern leaves, read one by one
            exact = [_to_decimal(str(text.iloc[i]), mark) for i in odd]
            values = pc.replace_with_mask(values, pa.array(np.isin(np.arange(len(out)), odd)), pa.array(exact, type=kind))
        num = table.numbers.get(col)
        if num is not None:
            typed = num.notna().to_numpy() & (problems is None or ~problems)
            if typed.any():  # workbook numbers: their shortest decimal representation, as the cell shows it
                shown = pc.cast(pc.cast(pa.array(num.to_numpy(), type=pa.float64()), pa.string()), kind)
                values = pc.if_else(pa.array(typed), shown, values)
    except (pa.ArrowException, ValueError, ArithmeticError):  # more digits than the exact type holds
        return None
    return pc.fill_null(values, pa.scalar(Decimal(0), type=kind))  # amounts in centimes: divided by 100 on the sums


def _arrow_replace(text: pd.Series) -> pd.Series:
    """``_to_decimal``'s first step on a column: spaces (every Unicode space), « € », « eur(os) » removed,
    U+2212 as « - », leading « + » dropped (RE2, in one pass each)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = pa.array(text, type=pa.large_string())
    arrow = pc.replace_substring_regex(arrow, r"(?i)[\t\n\x0b\f\r\x1c-\x1f\x{85}\p{Z}€]|eur(?:os?)?", "")
    arrow = pc.replace_substring(arrow, "\u2212", "-")
    arrow = pc.replace_substring_regex(arrow, r"^\++", "")
    return pd.Series(arrow, dtype="string", index=text.index)


def _document_basis(out: pd.DataFrame) -> pd.Series:
    doc = out["doc_type"] if "doc_type" in out.columns else pd.Series(pd.NA, index=out.index)
    return doc.astype("string").map(model.DEFAULT_BASIS).astype("string")


def _col(table: _Table, name: str) -> str:
    wanted = normalise_name(name)
    return next(c for c in table.frame.columns if normalise_name(c) == wanted)


def _kept_positions(out: pd.DataFrame, table: _Table) -> np.ndarray:
    """Positions in the table of the rows that survived filtering (by their source_row)."""
    lookup = pd.Series(np.arange(len(table.rows)), index=table.rows.to_numpy())
    return lookup.loc[out["source_row"].to_numpy()].to_numpy()


def _raw_decimals(table: _Table, col: str, prof: Profile) -> pd.Series:
    text = table.frame[col].astype("string")
    mark, problems = table.amount_reads.get(col, (prof.decimal, None))
    if problems is not None:
        text = text.mask(problems)  # cells reported as errors count as nothing on both sides
    uniques = text.dropna().unique()
    table_ = {u: _to_decimal(u, mark) for u in uniques}
    values = text.map(table_).astype(object)
    num = table.numbers.get(col)
    if num is not None:
        # Workbook numbers: their shortest decimal representation, as the cell shows it.
        typed = num.notna().to_numpy() & (problems is None or ~problems)
        values = values.mask(typed, num.map(lambda f: Decimal(repr(float(f))) if pd.notna(f) else None))
    values = values.where(values.notna(), Decimal(0))
    if prof.amounts_in_cents:
        values = values.map(lambda d: d / 100)
    return values


def _to_decimal(text: str, decimal: str | None) -> Decimal:
    s = re.sub(r"(?i)[\s\u00a0\u202f\u2009€]|eur(os?)?", "", text).replace("\u2212", "-").lstrip("+")
    negative = (s.startswith("(") and s.endswith(")")) or (s.endswith("-") and not s.startswith("-"))
    s = s.strip("()").rstrip("-") if negative else s
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif s.count(",") > 1 or (decimal == "." and "," in s):
        s = s.replace(",", "")
    elif s.count(".") > 1 or (decimal == "," and s.count(".") == 1 and "e" not in s.lower()):
        s = s.replace(".", "")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    try:
        value = Decimal(s)
    except InvalidOperation:
        return Decimal(0)  # not an amount: reported as a finding by the frame side
    if not value.is_finite():
        return Decimal(0)
    return -value if negative else value


def _check_exercice(out: pd.DataFrame, table, used: dict[str, str], name: str, findings: list) -> None:
    """The year must be four digits: « 201: », a header repeated mid-table (« Exercice ») or a shifted
    ragged row is an error naming the cell, and the value is dropped (the line model's year is an integer)."""
    if "exercice" not in out.columns:
        return
    text = out["exercice"].astype("string").str.strip()
    bad = (text.notna() & ~text.str.fullmatch(r"[0-9]{4}").fillna(False) & (text != "").fillna(False)).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        findings.append(_cell_findings("value-not-recognised", name, table.rows[bad], used.get("exercice", "exercice"), text[bad], "une année sur quatre chiffres, ex. 2024"))
    out["exercice"] = text.mask(pd.Series(bad, index=text.index) | (text == "").fillna(False))
