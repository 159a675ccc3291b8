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
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from budgetclimat import errors, i18n, model, money
from budgetclimat.nomenclature import enrich_with_plans
from budgetclimat.errors import ConfigError, InvalidDataError
from budgetclimat.read.profiles import BY_DOCUMENT, ColumnSpec, Profile, available_profiles, normalise_name, resolve_profile, with_constants

HEADER_SCAN_ROWS = 30
DELIMITERS = (";", ",", "\t", "|")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
AMOUNT_EXAMPLE = "1 234,56"
_ORDRE_SECTION = ("040", "042")
_ORDRE_INTERIEUR = ("041", "043")

i18n.define(
    "empty-file",
    fr="Le fichier {file} est vide : aucune ligne de budget à lire.",
    en="file {file} is empty: no budget line to read.",
)
i18n.define(
    "undecodable",
    fr="fichier {file}, ligne {row} (octet {value}) : caractères illisibles (attendu : {expected}).",
    en="file {file}, line {row} (byte {value}): unreadable characters (expected: {expected}).",
)
i18n.define(
    "encoding-fallback",
    fr="fichier {file} : pas en UTF-8, lu en {value} (Windows).",
    en="file {file}: not UTF-8, read as {value} (Windows).",
)
i18n.define(
    "csv-malformed",
    fr="fichier {file}, ligne {row} : structure CSV incorrecte ({value}).",
    en="file {file}, line {row}: malformed CSV ({value}).",
)
i18n.define(
    "workbook-unreadable",
    fr="Classeur {file} illisible : {value}",
    en="Workbook {file} cannot be read: {value}",
)
i18n.define(
    "missing-column",
    fr="fichier {file}, ligne d'en-tête {row} : colonne(s) introuvable(s) : {column} (attendu : {expected}). En-têtes trouvés : {value}.",
    en="file {file}, header row {row}: column(s) not found: {column} (expected: {expected}). Headers found: {value}.",
)
i18n.define(
    "amount-in-centimes",
    fr="fichier {file}, colonne {column} : montants lus en centimes et divisés par 100 (profil {value}).",
    en="file {file}, column {column}: amounts read as centimes and divided by 100 (profile {value}).",
)
i18n.define(
    "value-not-recognised",
    fr='fichier {file}, ligne {row}, colonne {column} : valeur "{value}" non reconnue (attendu : {expected}).',
    en='file {file}, row {row}, column {column}: value "{value}" not recognised (expected: {expected}).',
)
i18n.define(
    "chapter-account-swapped",
    fr="fichier {file} : les colonnes {column} semblent inversées (comptes plus courts que les chapitres, ex. {value}) ; elles ont été permutées.",
    en="file {file}: columns {column} look swapped (accounts shorter than chapters, e.g. {value}); they were swapped back.",
)
i18n.define(
    "column-derived",
    fr="fichier {file} : pas de colonne pour {column} ; valeur déduite ({expected}).",
    en="file {file}: no column for {column}; value derived ({expected}).",
)
i18n.define(
    "column-not-provided",
    fr="fichier {file} : le profil {value} ne fournit pas {column} ; à compléter (attendu : {expected}).",
    en="file {file}: profile {value} does not provide {column}; to be completed (expected: {expected}).",
)


def read_tabular(
    path: str | Path,
    profile: str | Path | None = None,
    basis: str | None = None,
    file_index: int = 0,
    *,
    profile_dirs: list[str | Path] | None = None,
    constants: dict[str, str] | None = None,
) -> model.BudgetDocument:
    """Read a CSV/XLSX/XLS/ODS budget export into the canonical model.

    ``profile``: a profile id or the path of a YAML profile; by default the profile is detected from the
    headers among the user profiles (``profile_dirs``, ``$BUDGETCLIMAT_PROFILES``) and the shipped ones,
    with ``generic`` as the fallback. ``basis`` overrides which amount feeds ``amount_cents``.
    ``constants`` give values for canonical columns the file does not carry (``nomenclature: M57``,
    ``budget_kind: principal``), as a profile's ``constants:`` would. Lines are then enriched from the
    plan de comptes of their nomenclature and year (labels, missing chapters).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("file-not-found", path=str(path))
    if basis is not None and basis not in model.AMOUNT_COLUMNS:
        raise ConfigError("amount-basis-unknown", value=basis, expected=", ".join(model.AMOUNT_COLUMNS))
    data = path.read_bytes()
    name = path.name
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InvalidDataError("empty-file", file=name)
    candidates = [resolve_profile(profile, profile_dirs)] if profile is not None else available_profiles(profile_dirs)
    forced = profile is not None
    findings: list[pd.DataFrame] = []

    if _is_workbook(path, data):
        table = _read_workbook(path, data, candidates, forced)
        encoding = None
    else:
        forced_encoding = candidates[0].encoding if forced else None
        text, encoding, enc_findings = _decode(data, name, forced_encoding)
        findings.append(enc_findings)
        table = _read_csv(text, name, candidates, forced)

    prof = with_constants(table.profile, constants)
    lines, raw_totals, map_findings = _map(table, prof, name, basis)
    findings.append(map_findings)
    lines["source_file"] = name
    lines["source_format"] = prof.id
    lines = model.conform(model.choose_amount(lines, basis))
    lines["line_id"] = model.assign_line_ids(lines, file_index)
    lines, plan_warnings = enrich_with_plans(lines, name)
    findings.append(errors.findings_frame(plan_warnings))
    header = {"profile": prof.id, "header_row": str(table.header_row)}
    if table.sheet:
        header["sheet"] = table.sheet
    if table.delimiter:
        header["delimiter"] = table.delimiter
    source = model.SourceInfo(path=path, format=prof.id, sha256=hashlib.sha256(data).hexdigest(), encoding=encoding, header=header)
    return model.BudgetDocument(lines=lines, source=source, raw_totals=raw_totals, findings=errors.concat_findings(findings))


# Same key and text as read_budget's check (budgetclimat.read): one catalogue entry for both.
i18n.define(
    "amount-basis-unknown",
    fr="Base de montant « {value} » inconnue (attendu : {expected}).",
    en="Unknown amount basis '{value}' (expected: {expected}).",
)


# --- decoding and grids ----------------------------------------------------------------------------


class _Table:
    """Source cells as strings, with the header row located and the profile chosen."""

    def __init__(self, frame: pd.DataFrame, numbers: dict[str, pd.Series], header_row: int, profile: Profile, sheet: str = "", delimiter: str = "") -> None:
        self.frame = frame  # one column per source header (as written), string dtype, "" -> <NA>
        self.numbers = numbers  # source header -> float values of cells that were numbers (workbooks)
        self.header_row = header_row  # 1-based row of the header as a spreadsheet shows it
        self.rows = pd.Series(np.arange(len(frame)) + header_row + 1, index=frame.index, dtype="Int64")
        self.profile = profile
        self.sheet = sheet
        self.delimiter = delimiter


def _is_workbook(path: Path, data: bytes) -> bool:
    if path.suffix.lower() in WORKBOOK_SUFFIXES:
        return True
    # Zip (xlsx/ods) or OLE2 (xls) signatures: exports are often saved with a misleading suffix.
    return data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _decode(data: bytes, name: str, forced: str | None) -> tuple[str, str, pd.DataFrame]:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _strict(data, name, "utf-16"), "utf-16", errors.empty_findings()
    if forced:
        codec = "utf-8-sig" if forced.replace("_", "-").lower() in ("utf-8", "utf8") else forced
        return _strict(data, name, codec), forced, errors.empty_findings()
    try:
        return data.decode("utf-8-sig"), "utf-8", errors.empty_findings()
    except UnicodeDecodeError:
        pass
    text = _strict(data, name, "cp1252", "UTF-8 / Windows-1252")
    info = errors.findings_frame([{"level": "info", "code": "encoding-fallback", "file": name, "value": "cp1252"}])
    return text, "cp1252", info


def _strict(data: bytes, name: str, codec: str, expected: str | None = None) -> str:
    expected = expected or codec
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidDataError("undecodable", file=name, row=line, value=exc.start, expected=expected) from None


def _read_csv(text: str, name: str, candidates: list[Profile], forced: bool) -> _Table:
    sample_text = "\n".join(text.splitlines()[: HEADER_SCAN_ROWS * 3])
    delimiters = (candidates[0].delimiter,) if forced and candidates[0].delimiter else DELIMITERS
    best = None
    for delim in delimiters:
        records = list(csv.reader(io.StringIO(sample_text), delimiter=delim))[:HEADER_SCAN_ROWS]
        hit = _locate(records, candidates, forced)
        counts = pd.Series([len(r) for r in records if len(r) > 1], dtype="int64")
        consistency = int(counts.value_counts().iloc[0] * counts.mode().iloc[0]) if len(counts) else 0
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
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delim, skiprows=start_line, header=0, dtype=str, keep_default_na=False,
            na_filter=False, skip_blank_lines=False, engine="c",
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"line (\d+)", str(exc))
        row = int(found.group(1)) + start_line if found else None
        raise InvalidDataError("csv-malformed", file=name, row=row, value=str(exc).strip()) from None
    except pd.errors.EmptyDataError:
        raise InvalidDataError("empty-file", file=name) from None
    frame.columns = _unique_headers(list(frame.columns))
    frame = _as_strings(frame)
    return _finish(_Table(frame, {}, hit.index + 1, hit.profile, delimiter=delim), name)


def _read_workbook(path: Path, data: bytes, candidates: list[Profile], forced: bool) -> _Table:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several of its own types for broken files
        raise InvalidDataError("workbook-unreadable", file=path.name, value=str(exc)) from None
    best = None
    first_records: list[list[str]] = []
    for sheet_name in book.sheet_names:
        sheet = book.get_sheet_by_name(sheet_name)
        # skip_empty_area=False keeps row 1 at index 0, so source_row is what Excel shows.
        rows = sheet.to_python(skip_empty_area=False)
        if not rows:
            continue
        sample = [[_cell_text(v) for v in r] for r in rows[:HEADER_SCAN_ROWS]]
        first_records = first_records or sample
        hit = _locate(sample, candidates, forced)
        if hit and (best is None or hit.rank > best[0].rank):
            best = (hit, sheet_name, rows)
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
    return _finish(_Table(frame, numbers, hit.index + 1, hit.profile, sheet=sheet_name), path.name)


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _workbook_column(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cells of one workbook column as text (integral numbers without ``.0``) and as floats where numeric."""
    kinds = values.map(type)
    is_num = kinds.isin([int, float]).to_numpy()
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
    # Blank rows are not lines, but they count in source_row (a spreadsheet shows them).
    keep = table.frame.notna().any(axis=1)
    table.frame = table.frame[keep]
    table.rows = table.rows[keep]
    table.numbers = {k: v[keep] for k, v in table.numbers.items()}
    if table.frame.empty:
        raise InvalidDataError("empty-file", file=name)
    return table


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
    for index, record in enumerate(records):
        cells = {normalise_name(c) for c in record if str(c).strip()}
        if len(cells) < 2:
            continue
        for order, prof in enumerate(candidates):
            groups = _profile_sources(prof)
            recognised = sum(1 for g in groups if g & cells)
            if forced:
                specific = 0
            elif prof.generic:
                if recognised < 3:
                    continue
                specific = 0
            else:
                if not all(normalise_name(h) in cells for h in prof.detect_headers):
                    continue
                specific = 1
            rank = (specific, recognised, -order)
            if best is None or rank > best.rank:
                best = _Hit(prof, index, rank)
    if forced and best is not None and best.rank[1] == 0:
        return None
    return best


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


def _map(table: _Table, prof: Profile, name: str, basis: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    src = table.frame
    by_norm: dict[str, str] = {}
    for col in src.columns:
        by_norm.setdefault(normalise_name(col), col)
    missing = _required_groups(prof, set(by_norm))
    if missing:
        raise InvalidDataError(
            "missing-column", file=name, row=table.header_row,
            column=", ".join(k for k, _ in missing),
            expected="; ".join(f"{k} = {' | '.join(v)}" for k, v in missing),
            value=", ".join(src.columns),
        )

    def find(sources: tuple[str, ...]) -> str | None:
        return next((by_norm[n] for n in map(normalise_name, sources) if n in by_norm), None)

    findings: list[pd.DataFrame] = []
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
    if prof.split:
        out, table_rows, raw_split = _apply_split(out, table, prof, name, findings, find)
    else:
        for b, sources in prof.amounts.items():
            col = find(sources)
            if col is None or b == BY_DOCUMENT:
                continue
            amount_sources[b] = col
            out[model.AMOUNT_COLUMNS[b]] = _amount(table, col, prof, name, findings)
        table_rows = table.rows
        raw_split = None
    out["source_row"] = table_rows.to_numpy()

    for key, spec in derived:
        out[key] = _derive(out, key, spec, prof, amount_sources)
        if spec.sources:  # a derivation the profile asks for outright is no news to the user
            findings.append(errors.findings_frame([{"level": errors.WARNING, "code": "column-derived", "file": name, "column": key, "expected": _derivation_text(spec)}]))

    by_document = find(prof.amounts.get(BY_DOCUMENT, ()))
    if by_document is not None and by_document not in amount_sources.values():
        # One amount column whose meaning follows the document type of each line.
        cents = _amount(table, by_document, prof, name, findings)
        target = _document_basis(out)
        for b in sorted(set(target.dropna())):
            column = model.AMOUNT_COLUMNS[b]
            current = out[column] if column in out.columns else pd.Series(pd.NA, index=out.index, dtype="Int64")
            out[column] = current.mask((target == b).fillna(False) & current.isna(), cents).astype("Int64")
        amount_sources[BY_DOCUMENT] = by_document

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
            "value": prof.id, "expected": "constants: dans un profil utilisateur",
        }]))

    raw_totals = _raw_totals(out, table, prof, amount_sources, basis, raw_split)
    return out.reset_index(drop=True), raw_totals, errors.concat_findings(findings)


# Code columns that exports are seen to dirty with stray punctuation or spaces (``A27631.`` in a
# département's cedi file): the code is cleaned and the user told, rather than the line rejected.
_CODE_COLUMNS = ("nature", "chapitre", "fonction", "chapitre_fonction")
_STRAY = r"^[\s.,;:_/-]+|[\s.,;:_/-]+$"


def _clean_codes(out: pd.DataFrame, table: _Table, used: dict[str, str], name: str, findings: list[pd.DataFrame]) -> None:
    for key in _CODE_COLUMNS:
        if key not in out.columns:
            continue
        values = out[key].astype("string")
        cleaned = values.str.replace(_STRAY, "", regex=True).str.replace(r"\s+", "", regex=True)
        changed = (values.notna() & (cleaned != values)).fillna(False).to_numpy()
        if changed.any():
            findings.append(_cell_findings(
                "code-cleaned", name, table.rows[changed], used.get(key, key), values[changed],
                cleaned[changed].fillna("").str.cat(sep=" | ") if changed.sum() <= 3 else "", level=errors.WARNING,
            ))
            out[key] = cleaned.mask(cleaned == "")


_COMPUTED = {"line_id", "source_file", "source_row", "source_format", "amount_cents", "amount_basis"}


i18n.define(
    "code-cleaned",
    fr="fichier {file}, ligne {row}, colonne {column} : le code « {value} » contient des espaces ou une ponctuation parasite ; il est lu sans eux.",
    en="file {file}, row {row}, column {column}: code '{value}' has stray spaces or punctuation; it is read without them.",
    title_fr="Code nettoyé",
    title_en="Code cleaned",
)


def _transform(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    """Apply prefix stripping, extraction and value mapping to one source column; mask of unmapped cells."""
    s = values.astype("string")
    for prefix in spec.strip_prefix:
        s = s.str.replace(rf"(?i)^{re.escape(prefix)}(?=\w)", "", regex=True)
    bad = pd.Series(False, index=s.index)
    if spec.extract:
        got = s.str.extract(spec.extract, expand=False).astype("string").str.replace(r"\s+", "", regex=True)
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
        "column": [column] * n, "value": values.astype("string").to_numpy(), "expected": [expected] * n,
    })
    return errors.concat_findings([frame])


def _normalise_amount_text(text: pd.Series, decimal: str | None) -> pd.Series:
    """Apply the profile's decimal-mark hint before money.parse_cents (which guesses otherwise)."""
    s = text.astype("string")
    if decimal == ",":
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    elif decimal == ".":
        s = s.str.replace(",", "", regex=False)
    return s


def _amount(table: _Table, col: str, prof: Profile, name: str, findings: list[pd.DataFrame]) -> pd.Series:
    text = table.frame[col]
    cents, bad = money.parse_cents(_normalise_amount_text(text, prof.decimal))
    num = table.numbers.get(col)
    if num is not None:
        is_num = num.notna().to_numpy()
        if is_num.any():
            # Numbers typed in a workbook are binary floats: round each to the cent, never sum floats.
            exact = np.round(num.to_numpy()[is_num] * 100).astype("int64")
            cents = cents.copy()
            cents[is_num] = exact
            bad = bad & ~is_num
    if prof.amounts_in_cents:
        cents = _div100(cents)
    if bad.any():
        findings.append(_cell_findings("amount-not-a-number", name, table.rows[bad.to_numpy()], col, text[bad.to_numpy()], AMOUNT_EXAMPLE))
    return cents.astype("Int64")


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
        amount = pd.Series(Decimal(0), index=keys.index, dtype=object)
        keep_rows = _kept_positions(out, table)
        for b in model.AMOUNT_COLUMNS:
            pick = (chosen == b).fillna(False).to_numpy()
            col = amount_sources.get(b)
            if col is None and BY_DOCUMENT in amount_sources:
                col = amount_sources[BY_DOCUMENT]
                pick = pick & (document == b).fillna(False).to_numpy()
            if col is None or not pick.any():
                continue
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
    num = table.numbers.get(col)
    if num is not None:
        # Workbook numbers: their shortest decimal representation, as the cell shows it.
        text = text.mask(num.notna(), num.map(lambda f: repr(float(f)) if pd.notna(f) else None).astype("string"))
    uniques = text.dropna().unique()
    table_ = {u: _to_decimal(u, prof.decimal) for u in uniques}
    values = text.map(table_).astype(object)
    values = values.where(values.notna(), Decimal(0))
    if prof.amounts_in_cents:
        values = values.map(lambda d: d / 100)
    return values


def _to_decimal(text: str, decimal: str | None) -> Decimal:
    s = re.sub(r"[\s\u00a0\u202f€]", "", text)
    negative = (s.startswith("(") and s.endswith(")")) or (s.endswith("-") and not s.startswith("-"))
    s = s.strip("()").rstrip("-") if negative else s
    if decimal == ",":
        s = s.replace(".", "").replace(",", ".")
    elif decimal == ".":
        s = s.replace(",", "")
    elif "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    try:
        value = Decimal(s)
    except InvalidOperation:
        return Decimal(0)  # not an amount: reported as a finding by the frame side
    return -value if negative else value


def _check_exercice(out: pd.DataFrame, table, used: dict[str, str], name: str, findings: list) -> None:
    """The year must be four digits: « 201: », a header repeated mid-table (« Exercice ») or a shifted
    ragged row is an error naming the cell, and the value is dropped (the line model's year is an integer)."""
    if "exercice" not in out.columns:
        return
    text = out["exercice"].astype("string").str.strip()
    bad = (text.notna() & ~text.str.fullmatch(r"[0-9]{4}").fillna(False) & (text != "")).to_numpy(dtype=bool)
    if bad.any():
        findings.append(_cell_findings("value-not-recognised", name, table.rows[bad], used.get("exercice", "exercice"), text[bad], "une année sur quatre chiffres, ex. 2024"))
    out["exercice"] = text.mask(pd.Series(bad, index=text.index) | (text == "").fillna(False))
