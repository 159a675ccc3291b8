"""Reading budget files in partitions of about ``lines`` records, in memory bounded by a partition.

:func:`iter_partitions` yields one :class:`~budgetclimat.model.BudgetDocument` per partition, read by the
same code as a whole file (:mod:`.tabular`), so that **the concatenation of a file's partitions' lines
equals** ``read_budget(file).lines`` — every column, ``source_row`` and ``line_id`` included:

* a CSV is streamed and cut at record boundaries (a quoted field may hold line breaks: a block that
  holds a quote is cut where the csv module ends a record); each block is read as a file made of the
  rows above the header, the header, and the block's records. Encoding, delimiter, header row and
  profile are decided once, on the first block, and reused; a block of the last tenth of ``lines`` or
  less is read with the block before it (a partition is never just a TOTAL row);
* a Parquet file is read by batches of ``lines`` rows (``ParquetFile.iter_batches``);
* an XML (TOTEM) or spreadsheet file is read whole (these formats cannot be read in parts), then cut
  into slices of ``lines`` lines (the first carries the file's raw totals and findings);
* a CSV that is UTF-16, has NUL bytes, or mixes UTF-8 with Windows-1252 lines is one partition too
  (rare broken exports: the whole-file reader's rules need the whole file).

Whole-file checks stay whole-file: the total rows (« TOTAL », « Sous-total ») of a later partition are
compared with the sums of every line above them, in whichever partition: a
:class:`~budgetclimat.read.tabular.TotalsCarry` carries the sums from one partition to the next (the
same ``total-row-mismatch`` findings as a whole-file read, on the partition holding the total row; the
rows set aside are named in one ``total-rows-skipped`` warning per partition holding some). The same
carry holds each amount column's decimal mark as the first partition showing one read it: later
partitions settle « 1.234 » with it as a whole-file read would, and a later partition whose cells show
the other mark is an error ``amount-mark-changes`` (a whole-file read would find the evidence mixed),
never a different reading in silence. The generic profile's roles found by content are decided by the
first partition.
``raw_totals`` are **per partition**: their ``lines`` and ``total_cents`` add up — the file's are
``pd.concat([d.raw_totals for d in parts]).groupby(["section", "sens", "operation", "basis"]).sum()``
(:func:`combine_raw_totals`), equal to a whole-file read's. File-level findings (no row: encoding,
columns derived, plan year…) are given once, with the first partition that has them.

Limits (:mod:`budgetclimat.limits`): ``rows`` and ``cells`` apply to each partition; ``file-mb`` does not
stop a partitioned CSV or Parquet file (bounding memory is what partitions are for) but still bounds
an XML or spreadsheet file, read whole.
"""

from __future__ import annotations

import codecs
import csv
import glob
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import errors, i18n, limits, model
from budgetclimat.errors import ConfigError, InvalidDataError
from budgetclimat.read import read_budget, require_files, tabular
from budgetclimat.read.detect import TOTEM, detect_format
from budgetclimat.read.profiles import available_profiles, resolve_profile, split_constants, with_mapping

SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".xml")
_CHUNK = 8 << 20  # bytes read at a time
_HEAD = 1 << 20  # bytes of a CSV in which the header and profile are looked for (more if needed)
_KEY = ("exercice", "doc_type", "budget_code")


def is_pattern(item: str | Path) -> bool:
    """Whether ``item`` is a glob pattern (``*``, ``?`` or ``[`` in it) rather than an existing path."""
    return not Path(item).exists() and any(c in str(item) for c in "*?[")


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files of ``paths``: a file as given; a folder's budget files (:data:`SUFFIXES`: CSV, Parquet, XLSX,
    XML…; other files are left aside), sorted by name; a glob pattern's matching files (``**`` goes into
    sub-folders), sorted, each of which must be a budget file. Errors (:class:`ConfigError`, exit 2):
    ``input-folder-empty`` for a folder without a budget file, ``input-glob-empty`` for a pattern that matches
    no file, ``input-kind-unsupported`` for a pattern that matches a file of another kind, ``file-not-found``."""
    files: list[Path] = []
    expected = ", ".join(SUFFIXES)
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not found:
                raise ConfigError("input-folder-empty", path=str(p), expected=expected)
            files += found
        elif is_pattern(item):
            found = sorted(Path(f) for f in glob.glob(str(item), recursive=True) if Path(f).is_file())
            if not found:
                raise ConfigError("input-glob-empty", path=str(item))
            other = [f for f in found if f.suffix.lower() not in SUFFIXES]
            if other:
                raise ConfigError("input-kind-unsupported", path=str(item), file=str(other[0]), value=len(other), expected=expected)
            files += found
        else:
            files.append(p)
    return require_files(files)


def iter_partitions(
    paths: Iterable[str | Path] | str | Path,
    lines: int = 50_000,
    profile: str | None = None,
    basis: str | None = None,
    constants: dict[str, str] | None = None,
    sheet: str | None = None,
) -> Iterator[model.BudgetDocument]:
    """The documents of ``paths`` (files, folders, glob patterns) in partitions of about ``lines`` records.

    Arguments as :func:`budgetclimat.read.read_budget` (``sheet`` names a workbook's sheet). Files that
    share year, document and budget get distinct line ids as :func:`~budgetclimat.read.read_budgets`
    gives them (``~n``). ``source.header["partition"]`` numbers a file's partitions from 1.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if lines < 1:
        raise ConfigError("limit-invalid", column="lines", value=str(lines), file="iter_partitions")
    if basis is not None and basis not in model.AMOUNT_COLUMNS:
        raise ConfigError("amount-basis-unknown", value=basis, expected=", ".join(model.AMOUNT_COLUMNS))
    seen: dict[tuple, int] = {}
    for path in expand_paths(paths):
        index: int | None = None
        said: set[tuple] = set()
        for number, document in enumerate(_file_partitions(path, lines, profile, basis, constants, sheet), start=1):
            frame = document.lines
            if index is None and not frame.empty:
                key = tuple(frame[c].iloc[0] for c in _KEY)
                index = seen.get(key, 0)
                seen[key] = index + 1
            if index:
                document.lines = frame.assign(line_id=(frame["line_id"] + f"~{index}").astype("string"))
            document.findings = _once(document.findings, said)
            document.source.header["partition"] = str(number)
            yield document
            del document, frame  # not held while the next partition is read (memory of one partition, not two)


def combine_raw_totals(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """A file's ``raw_totals`` from its partitions' (lines and cents add up)."""
    frames = [f for f in frames if f is not None and not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("lines", "total_cents") else "string") for c in tabular.RAW_TOTAL_COLUMNS})
    keys = ["section", "sens", "operation", "basis"]
    out = pd.concat(frames, ignore_index=True).groupby(keys, sort=True)[["lines", "total_cents"]].sum().reset_index()
    for c in keys:
        out[c] = out[c].astype("string")
    return out.astype({"lines": "int64", "total_cents": "int64"})[tabular.RAW_TOTAL_COLUMNS]


def _once(findings: pd.DataFrame, said: set[tuple]) -> pd.DataFrame:
    """Drop file-level findings (no row) already given with an earlier partition of the file."""
    if findings.empty:
        return findings
    file_level = findings["row"].isna().to_numpy()
    if not file_level.any():
        return findings
    keep = np.ones(len(findings), dtype=bool)
    columns = ["level", "code", "file", "column", "value", "expected"]
    for i in np.flatnonzero(file_level):
        key = tuple(str(v) for v in findings.iloc[i][columns])
        if key in said:
            keep[i] = False
        said.add(key)
    return findings[keep].reset_index(drop=True)


# --- one file --------------------------------------------------------------------------------------


def _file_partitions(path: Path, lines: int, profile, basis, constants, sheet) -> Iterator[model.BudgetDocument]:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:4] == tabular.PARQUET_MAGIC:
        yield from _parquet_partitions(path, lines, profile, basis, constants)
        return
    with limits.override(file_mb=10**9):  # the format only: the size is what partitions are for
        kind = TOTEM if profile == TOTEM else detect_format(path)
    if kind == TOTEM or tabular._is_workbook(path, head):
        if kind != TOTEM and sheet is not None:
            whole = tabular.read_tabular(path, profile=profile, basis=basis, constants=constants, sheet=sheet)
        else:
            whole = read_budget(path, profile=profile, basis=basis, constants=constants)
        yield from _slices(whole, lines)
        return
    yield from _csv_partitions(path, lines, profile, basis, constants)


def _slices(document: model.BudgetDocument, lines: int) -> Iterator[model.BudgetDocument]:
    """A document read whole (XML, spreadsheet) in slices of ``lines`` lines, so that what follows the
    reading (validation, classification, views) still works partition by partition. The first slice
    carries the file's raw totals and findings; the others carry none (their sums stay the file's)."""
    frame = document.lines
    if len(frame) <= lines:
        yield document
        return
    empty_raw = document.raw_totals.iloc[0:0] if document.raw_totals is not None else None
    for start in range(0, len(frame), lines):
        first = start == 0
        yield replace(
            document,
            lines=frame.iloc[start:start + lines].reset_index(drop=True),
            raw_totals=document.raw_totals if first else empty_raw,
            findings=document.findings if first else document.findings.iloc[0:0],
            source=replace(document.source, header=dict(document.source.header)),
        )


def _setup(profile, constants):
    candidates = [resolve_profile(profile)] if profile is not None else available_profiles()
    constants, mapping = split_constants(constants)
    return [with_mapping(p, mapping) for p in candidates], profile is not None, constants, mapping


def _scan(path: Path) -> tuple[str, bool, bool]:
    """One streaming pass: the file's SHA-256, whether it is all UTF-8, whether it holds UTF-8 multi-byte
    sequences (a file that is not UTF-8 yet holds some may mix encodings line by line)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, multibyte = True, False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not multibyte:
                multibyte = re.search(rb"[\xc2-\xf4][\x80-\xbf]", chunk) is not None
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return digest.hexdigest(), utf8, multibyte


def _csv_partitions(path: Path, lines: int, profile, basis, constants) -> Iterator[model.BudgetDocument]:
    name = path.name
    given = constants
    candidates, forced, constants, mapping = _setup(profile, constants)
    sha256, utf8, multibyte = _scan(path)
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
        while head.count(b"\n") < tabular.HEADER_SCAN_ROWS * 3 and (more := handle.read(_HEAD)):
            head += more
    forced_encoding = candidates[0].encoding if forced else None
    codec = _codec(head, forced_encoding, utf8, multibyte)
    if codec is None or not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        # Encodings whose rules need the whole file, or an empty file: the whole-file reader says it all.
        yield tabular.read_tabular(path, profile=profile, basis=basis, constants=given)
        return
    findings = [errors.empty_findings()]
    if codec == "cp1252" and not forced_encoding:
        findings.append(errors.findings_frame([{"level": "info", "code": "encoding-fallback", "file": name, "value": "cp1252"}]))
    encoding = forced_encoding or codec
    complete = head if b"\n" not in head else head[: head.rfind(b"\n") + 1]
    head_text = _decode(complete, codec, name, 0, bom=True)
    if codec == "utf-8":
        tabular._refuse_double_encoding(head_text, name)
    with tabular._csv_field_limit(limits.get("cell-chars")):
        try:
            layout = tabular._detect_csv(head_text, name, candidates, forced)
            reader = csv.reader(io.StringIO(head_text), delimiter=layout.delimiter)
            for _ in range(layout.hit.index + 1):
                next(reader)
            header_lines = reader.line_num
        except csv.Error as exc:
            raise tabular._csv_error(exc, head_text, name) from None
        except StopIteration:
            header_lines = head_text.count("\n")
    prefix_end = _line_end(complete, header_lines)
    prefix_text = _decode(head[:prefix_end], codec, name, 0, bom=True)
    carry = tabular.TotalsCarry()
    records_before = 0
    breaks_before = 0
    lines_before = 0
    first = True
    with path.open("rb") as handle, tabular._csv_field_limit(limits.get("cell-chars")):
        handle.seek(prefix_end)
        for block, count in _blocks(handle, lines, layout.delimiter, codec, name, prefix_end, header_lines):
            text = prefix_text + _decode(block, codec, name, header_lines + breaks_before)
            limits.check_count("rows", name, i18n.t("read.csv-lines"), text.count("\n") + (not text.endswith("\n")))
            try:
                table = tabular._parse_csv(text, name, layout, row_offset=records_before)
            except csv.Error as exc:
                raise tabular._csv_error(exc, text, name) from None
            except InvalidDataError as exc:
                if exc.code == "empty-file" and not first:  # blank rows only: nothing to read in this block
                    records_before += count or 0
                    breaks_before += block.count(b"\n")
                    continue
                if exc.code == "csv-malformed" and isinstance(exc.params.get("row"), int):
                    raise InvalidDataError("csv-malformed", file=name, row=exc.params["row"] + breaks_before, value=exc.params.get("value")) from None
                raise
            partition_findings = findings + table.findings
            document = tabular._document(
                table, path, sha256, encoding, partition_findings, basis, 0, constants, mapping,
                first_line=lines_before + 1, carry=carry,
            )
            records_before += count or 0
            breaks_before += block.count(b"\n")  # the file's lines above the next block, below the header
            lines_before += len(document.lines)
            findings = [errors.empty_findings()]
            first = False
            del table, text, partition_findings  # the parsed block is not held while the document is classified
            yield document
            del document, block
    if first:  # a header and no record (or blank rows only): empty, as the file read whole says
        raise InvalidDataError("empty-file", file=name)


def _codec(head: bytes, forced: str | None, utf8: bool, multibyte: bool) -> str | None:
    """The codec every block is decoded with, or None when the file must be read whole."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
        return None
    if forced:
        name = codecs.lookup(forced).name
        if name == "utf-8":
            return "utf-8"
        return name if name in ("cp1252", "iso8859-1", "iso8859-15", "ascii") else None
    if utf8:
        return "utf-8"
    return None if multibyte else "cp1252"


def _decode(data: bytes, codec: str, name: str, line_before: int, bom: bool = False) -> str:
    """Strict decoding of a block; an error names the file's line (``line_before`` lines precede it)."""
    try:
        return data.decode("utf-8-sig" if bom and codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        line = line_before + data[: exc.start].count(b"\n") + 1
        raise InvalidDataError("undecodable", file=name, row=line, value=exc.start, expected=codec) from None


def _line_end(data: bytes, n: int) -> int:
    """Byte offset just after the ``n``-th line break of ``data`` (its length when it has fewer)."""
    if n <= 0:
        return 0
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    return int(breaks[n - 1]) + 1 if len(breaks) >= n else len(data)


def _blocks(handle, lines: int, delim: str, codec: str, name: str, offset: int, lines_before: int) -> Iterator[tuple[bytes, int | None]]:
    """Blocks of ``lines`` CSV records (the last one holds the rest: up to a tenth more), with their count
    of records (None for the last one)."""
    buffer = b""
    eof = False
    spare = max(1, lines // 10)
    breaks_before = lines_before  # the file's lines above ``buffer``
    while True:
        while not eof and buffer.count(b"\n") <= lines + spare:
            chunk = handle.read(_CHUNK)
            eof = not chunk
            buffer += chunk
        if not buffer:
            return
        cut = _record_end(buffer, lines, delim, codec, name, breaks_before) if not eof or buffer.count(b"\n") > lines + spare else None
        if cut is None:
            if eof:
                yield buffer, None
                return
            chunk = handle.read(_CHUNK)  # records spanning many lines: read further
            eof = not chunk
            buffer += chunk
            continue
        if eof and not buffer[cut:].strip(b"\r\n"):
            yield buffer, None
            return
        yield buffer[:cut], lines
        breaks_before += buffer[:cut].count(b"\n")
        buffer = buffer[cut:]


def _record_end(buffer: bytes, n: int, delim: str, codec: str, name: str, line_before: int = 0) -> int | None:
    """Byte offset after the ``n``-th record of ``buffer`` (which starts at a record, below ``line_before``
    lines of the file), or None if it is not there yet. Without quotes a record is a line; with quotes the
    csv module reads the records (a quoted field may hold line breaks, as pandas reads it). A record the
    csv module cannot read (a field past the cell limit) is ``csv-malformed`` when a quote opened there is
    never closed, else ``cell-too-long``, on its first line."""
    breaks = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == 10)
    if b'"' not in buffer:
        return int(breaks[n - 1]) + 1 if len(breaks) >= n else None
    if not len(breaks):
        return None
    complete = buffer[: int(breaks[-1]) + 1]
    reader = csv.reader(io.StringIO(_decode(complete, codec, name, 0)), delimiter=delim)
    count = last = 0
    try:
        for _ in reader:
            count += 1
            last = reader.line_num
            if count == n:
                break
    except csv.Error as exc:
        start = int(breaks[last - 1]) + 1 if last else 0
        if complete[start:].count(b'"') % 2:  # the quote that opens the field is never closed
            raise InvalidDataError("csv-malformed", file=name, row=line_before + last + 1, value=i18n.t("tabular.csv-open-quote")) from None
        error = tabular._csv_error(exc, _decode(complete[start:], codec, name, line_before + last), name)
        if isinstance(error.params.get("row"), int):  # counted from the record's first line
            error.params["row"] += line_before + last
        raise error from None
    if count < n or reader.line_num >= len(breaks):
        return None  # the n-th record may go on past the buffer
    return int(breaks[reader.line_num - 1]) + 1


# --- Parquet ---------------------------------------------------------------------------------------


def _parquet_partitions(path: Path, lines: int, profile, basis, constants) -> Iterator[model.BudgetDocument]:
    import pyarrow as pa

    name = path.name
    candidates, forced, constants, mapping = _setup(profile, constants)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    parquet = tabular._open_parquet(str(path), name)
    spare = max(1, lines // 10)
    batches = _merge_tail(parquet.iter_batches(batch_size=lines), spare)
    carry = tabular.TotalsCarry()
    hit = None
    rows_before = lines_before = 0
    try:
        for batch in batches:
            arrow = pa.Table.from_batches([batch])
            tabular._check_parquet_extent(parquet, name, arrow.num_rows)
            if hit is None:
                hit = tabular._detect_parquet(arrow, name, candidates, forced)
            try:
                table = tabular._parquet_table(arrow, name, hit, row_offset=rows_before)
            except InvalidDataError as exc:
                if exc.code == "empty-file" and rows_before:
                    rows_before += arrow.num_rows
                    continue
                raise
            document = tabular._document(
                table, path, digest.hexdigest(), None, [errors.empty_findings()], basis, 0, constants, mapping,
                first_line=lines_before + 1, carry=carry,
            )
            rows_before += arrow.num_rows
            lines_before += len(document.lines)
            del table, arrow, batch
            yield document
            del document
    except (pa.ArrowException, OSError) as exc:
        raise InvalidDataError("parquet-unreadable", file=name, value=str(exc).strip()[:200]) from None


def _merge_tail(batches, spare: int):
    """Batches, the last one joined to the one before when it has ``spare`` rows or fewer."""
    import pyarrow as pa

    previous = None
    for batch in batches:
        if previous is not None:
            if batch.num_rows <= spare:
                batch = pa.Table.from_batches([previous, batch]).combine_chunks().to_batches()[0]
                previous = None
            else:
                yield previous
        previous = batch
    if previous is not None:
        yield previous


__all__ = ["SUFFIXES", "combine_raw_totals", "expand_paths", "is_pattern", "iter_partitions"]
