"""Mapping profiles: how the columns of a CSV/XLSX export become the canonical line model.

A profile is a YAML file (shipped ones under ``rules/profiles/``; users may write their own, see
``docs/formats.md``). This module holds what a profile *says* and validates it on load: a typo fails at
once with the file, the line, the key and what was expected (:class:`~budgetclimat.errors.ConfigError`,
exit code 2). :mod:`budgetclimat.read.tabular` applies profiles to files.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from budgetclimat import model, yamlfile
from budgetclimat.errors import ConfigError
from budgetclimat.paths import rules_dir

# Source-side columns a profile may fill besides the canonical ones: read, used by checks, then dropped.
AUXILIARY_COLUMNS = ("chapitre_label",)
DERIVATIONS = ("nature_class", "chapter_ordre", "amount_kind")
OTHERS = ("error", "keep", "empty")
# An amount column that is whatever the document states: executed for a CA/CFU, voted for a BP/BS/DM.
BY_DOCUMENT = "by_document"
ENV_PROFILE_DIRS = "BUDGETCLIMAT_PROFILES"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def normalise_name(text: object) -> str:
    """Header or value as compared: accents, case, spaces and punctuation ignored (``Dépense/Recette`` → ``depenserecette``)."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", bare.casefold())


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is filled."""

    sources: tuple[str, ...] = ()  # source headers, first found wins (compared normalised)
    strip_prefix: tuple[str, ...] = ()  # literal prefixes removed from the value (`C23` → `23`)
    extract: str | None = None  # regex with one group applied to the value (`M57-M57_A` → `M57`)
    values: dict[str, str] | None = None  # normalised source value → canonical value
    others: str = "error"  # what an unmapped non-empty value becomes: error finding, kept as is, or empty
    default: str | None = None  # for empty cells, or when no source column is found
    derive: str | None = None  # named derivation when no source column is found
    required: bool = False  # missing source column (and no default/derive) is an error
    accepted: tuple[str, ...] = ()  # the source values of `values` as written, for messages


@dataclass(frozen=True)
class SplitLine:
    """One canonical line produced from each source row (DGFiP balances: real/ordre × debit/credit)."""

    sens: str
    operation: str
    terms: tuple[tuple[int, str], ...]  # (+1/-1, source header)


@dataclass(frozen=True)
class Profile:
    id: str
    title: str
    source: str
    path: Path
    detect_headers: tuple[str, ...]
    generic: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    amounts_in_cents: bool = False
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    amounts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # basis (or by_document) -> source headers
    split_basis: str | None = None
    split: tuple[SplitLine, ...] = ()
    keep_nature_classes: tuple[str, ...] = ()
    swap_by_length: tuple[str, str] | None = None  # (chapter column, account column)
    swap_labels: tuple[str, str] | None = None


def with_constants(profile: Profile, constants: dict[str, str] | None) -> Profile:
    """``profile`` with values for columns the file does not carry (``--set nomenclature=M57``).

    Same effect as the profile's own ``constants:``: the value is the default of the column, so a file
    that has the column keeps its own values.
    """
    if not constants:
        return profile
    known = set(model.COLUMN_NAMES) - _COMPUTED_COLUMNS
    columns = dict(profile.columns)
    for name, value in constants.items():
        if name not in known:
            raise ConfigError("constant-unknown-column", value=name, expected=", ".join(sorted(known)))
        base = columns.get(name, ColumnSpec())
        columns[name] = ColumnSpec(**{**base.__dict__, "default": str(value)})
    return replace(profile, columns=columns)


# ``--map ROLE=COLUMN`` travels with ``--set`` values (one dict through every command and reader): its
# entries are keyed ``map:ROLE``.
MAP_PREFIX = "map:"
AMOUNT_ROLE = "amount"  # --map amount=COLUMN: the single amount column (by_document)


def split_constants(constants: dict[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """``(--set values, --map roles)`` from the one dict the commands pass down."""
    values, mapping = {}, {}
    for key, value in (constants or {}).items():
        if key.startswith(MAP_PREFIX):
            mapping[key[len(MAP_PREFIX):]] = value
        else:
            values[key] = value
    return values, mapping


def map_roles() -> list[str]:
    """Roles ``--map`` accepts: the canonical columns a file may carry, the amount bases and ``amount``."""
    known = sorted((set(model.COLUMN_NAMES) | set(AUXILIARY_COLUMNS)) - _COMPUTED_COLUMNS)
    return [AMOUNT_ROLE, *model.AMOUNT_COLUMNS, *known]


def with_mapping(profile: Profile, mapping: dict[str, str] | None) -> Profile:
    """``profile`` reading each role of ``mapping`` from the named source column (``--map sens=Type``).

    The named column is taken away from every other role's synonyms, so that it feeds one role only.
    Unknown roles are a :class:`ConfigError` (exit 2); an unknown column is reported by the reader,
    which knows the headers.
    """
    if not mapping:
        return profile
    roles = map_roles()
    for role in mapping:
        if role not in roles:
            raise ConfigError("map-unknown-role", value=role, expected=", ".join(roles))
    taken = {normalise_name(c) for c in mapping.values()}

    def others(sources: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(s for s in sources if normalise_name(s) not in taken)

    columns = {k: replace(v, sources=others(v.sources)) for k, v in profile.columns.items()}
    amounts = {k: others(v) for k, v in profile.amounts.items()}
    for role, column in mapping.items():
        if role == AMOUNT_ROLE:
            amounts[BY_DOCUMENT] = (column,)
        elif role in model.AMOUNT_COLUMNS:
            amounts[role] = (column,)
        else:
            base = columns.get(role, ColumnSpec())
            columns[role] = replace(base, sources=(column,), derive=None, required=True)
    amounts = {k: v for k, v in amounts.items() if v}
    return replace(profile, columns=columns, amounts=amounts)


_COMPUTED_COLUMNS = {"line_id", "source_file", "source_row", "source_format", "amount_cents", "amount_basis"} | set(model.AMOUNT_COLUMNS.values())


# --- loading ---------------------------------------------------------------------------------------


class _Doc:
    """A parsed profile (:func:`budgetclimat.yamlfile.load_file`) that can say on which line a key sits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = yamlfile.load_file(path)

    def line(self, keys: tuple) -> int:
        return yamlfile.line_at(self.data, keys)

    def fail(self, keys: tuple, problem: str, expected: str) -> ConfigError:
        return ConfigError(
            "profile-invalid",
            file=str(self.path),
            line=self.line(keys),
            key=".".join(str(k) for k in keys) or "(racine)",
            problem=problem,
            expected=expected,
        )


def load_profile(path: str | Path) -> Profile:
    """Read and validate one profile file."""
    return _build(_Doc(Path(path)))


_TOP_KEYS = {"id", "title", "source", "detect", "read", "constants", "columns", "amounts", "split", "filter", "checks"}


def _build(doc: _Doc) -> Profile:
    data = doc.data
    if not isinstance(data, dict):
        raise doc.fail((), "the file is not a mapping", "keys id, title, detect, columns…")
    _no_unknown(doc, (), data, _TOP_KEYS)
    pid = _text(doc, ("id",), data.get("id"), required=True)
    if not _ID.match(pid):
        raise doc.fail(("id",), f"'{pid}' is not a valid id", "lowercase letters, digits and dashes")
    title = _text(doc, ("title",), data.get("title"), required=True)
    source = _text(doc, ("source",), data.get("source")) or ""

    detect = _mapping(doc, ("detect",), data.get("detect"), required=True)
    _no_unknown(doc, ("detect",), detect, {"headers", "generic"})
    generic = _bool(doc, ("detect", "generic"), detect.get("generic", False))
    headers = _text_list(doc, ("detect", "headers"), detect.get("headers"))
    if not generic and not headers:
        raise doc.fail(("detect",), "no header to detect the format by", "detect.headers: a list of header names, or detect.generic: true")

    read = _mapping(doc, ("read",), data.get("read"))
    _no_unknown(doc, ("read",), read, {"encoding", "delimiter", "decimal", "amounts_in_cents"})
    encoding = _text(doc, ("read", "encoding"), read.get("encoding"))
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise doc.fail(("read", "encoding"), f"unknown encoding '{encoding}'", "utf-8, cp1252, latin-1…") from None
    delimiter = _choice(doc, ("read", "delimiter"), read.get("delimiter"), (",", ";", "\t", "|"))
    decimal = _choice(doc, ("read", "decimal"), read.get("decimal"), (",", "."))
    in_cents = _bool(doc, ("read", "amounts_in_cents"), read.get("amounts_in_cents", False))

    columns: dict[str, ColumnSpec] = {}
    known = set(model.COLUMN_NAMES) | set(AUXILIARY_COLUMNS)
    computed = {"line_id", "source_file", "source_row", "source_format", "amount_cents", "amount_basis"} | set(model.AMOUNT_COLUMNS.values())
    raw_columns = _mapping(doc, ("columns",), data.get("columns"))
    for name, spec in raw_columns.items():
        keys = ("columns", name)
        if name in computed:
            raise doc.fail(keys, f"'{name}' is computed by the reader", "amount columns under `amounts:`; other canonical columns under `columns:`")
        if name not in known:
            raise doc.fail(keys, f"unknown column '{name}'", "a canonical column: " + ", ".join(sorted(known - computed)))
        columns[name] = _column(doc, keys, spec)
    constants = _mapping(doc, ("constants",), data.get("constants"))
    for name, value in constants.items():
        keys = ("constants", name)
        if name not in known or name in computed:
            raise doc.fail(keys, f"unknown column '{name}'", "a canonical column: " + ", ".join(sorted(known - computed)))
        value = _text(doc, keys, value, required=True)
        base = columns.get(name, ColumnSpec())
        columns[name] = ColumnSpec(**{**base.__dict__, "default": value})

    amounts: dict[str, tuple[str, ...]] = {}
    raw_amounts = _mapping(doc, ("amounts",), data.get("amounts"))
    for basis, sources in raw_amounts.items():
        if basis not in model.AMOUNT_COLUMNS and basis != BY_DOCUMENT:
            raise doc.fail(("amounts", basis), f"unknown amount '{basis}'", ", ".join([*model.AMOUNT_COLUMNS, BY_DOCUMENT]))
        amounts[basis] = tuple(_text_list(doc, ("amounts", basis), sources, required=True))

    split_basis, split = _split(doc, data.get("split"))
    if not amounts and not split:
        raise doc.fail(("amounts",), "no amount column", "`amounts:` (e.g. executed: Montant) or `split:`")
    if amounts and split:
        raise doc.fail(("split",), "both `amounts` and `split`", "one of them")

    flt = _mapping(doc, ("filter",), data.get("filter"))
    _no_unknown(doc, ("filter",), flt, {"nature_classes"})
    classes = tuple(str(c) for c in _text_list(doc, ("filter", "nature_classes"), flt.get("nature_classes")))
    for i, c in enumerate(classes):
        if not re.fullmatch(r"\d", c):
            raise doc.fail(("filter", "nature_classes", i), f"'{c}' is not an account class", "a digit 1–9")

    checks = _mapping(doc, ("checks",), data.get("checks"))
    _no_unknown(doc, ("checks",), checks, {"swap_by_length"})
    swap = swap_labels = None
    if "swap_by_length" in checks:
        s = _mapping(doc, ("checks", "swap_by_length"), checks["swap_by_length"], required=True)
        _no_unknown(doc, ("checks", "swap_by_length"), s, {"chapter", "account", "labels"})
        pair = (_text(doc, ("checks", "swap_by_length", "chapter"), s.get("chapter"), required=True),
                _text(doc, ("checks", "swap_by_length", "account"), s.get("account"), required=True))
        for k, name in zip(("chapter", "account"), pair):
            if name not in columns:
                raise doc.fail(("checks", "swap_by_length", k), f"'{name}' is not mapped under `columns:`", "a mapped column")
        swap = pair
        labels = _text_list(doc, ("checks", "swap_by_length", "labels"), s.get("labels"))
        if labels:
            if len(labels) != 2:
                raise doc.fail(("checks", "swap_by_length", "labels"), f"{len(labels)} names", "two columns: the chapter's label and the account's label")
            swap_labels = (labels[0], labels[1])

    return Profile(
        id=pid, title=title, source=source, path=doc.path, detect_headers=tuple(headers), generic=generic,
        encoding=encoding, delimiter=delimiter, decimal=decimal, amounts_in_cents=in_cents,
        columns=columns, amounts=amounts, split_basis=split_basis, split=split,
        keep_nature_classes=classes, swap_by_length=swap, swap_labels=swap_labels,
    )


_COLUMN_KEYS = {"from", "strip_prefix", "extract", "values", "others", "default", "derive", "required"}


def _column(doc: _Doc, keys: tuple, spec: object) -> ColumnSpec:
    if isinstance(spec, (str, list)):
        return ColumnSpec(sources=tuple(_text_list(doc, keys, spec, required=True)), required=True)
    spec = _mapping(doc, keys, spec, required=True)
    _no_unknown(doc, keys, spec, _COLUMN_KEYS)
    sources = tuple(_text_list(doc, keys + ("from",), spec.get("from")))
    strip = tuple(_text_list(doc, keys + ("strip_prefix",), spec.get("strip_prefix")))
    extract = _text(doc, keys + ("extract",), spec.get("extract"))
    if extract is not None:
        try:
            groups = re.compile(extract).groups
        except re.error as exc:
            raise doc.fail(keys + ("extract",), f"bad regular expression ({exc})", "a regular expression with one group") from None
        if groups != 1:
            raise doc.fail(keys + ("extract",), f"{groups} groups", "a regular expression with exactly one (group)")
    values = None
    accepted: tuple[str, ...] = ()
    if "values" in spec:
        raw = _mapping(doc, keys + ("values",), spec["values"], required=True)
        values = {}
        for k, v in raw.items():
            values[normalise_name(k)] = "" if v is None else _text(doc, keys + ("values", k), v, required=True)
        accepted = tuple(str(k) for k in raw)
    others = _choice(doc, keys + ("others",), spec.get("others", "error"), OTHERS)
    default = spec.get("default")
    default = None if default is None else _text(doc, keys + ("default",), default)
    derive = _choice(doc, keys + ("derive",), spec.get("derive"), DERIVATIONS)
    if not sources and default is None and derive is None:
        raise doc.fail(keys, "no source", "`from:` (source headers), `default:` or `derive:`")
    required = _bool(doc, keys + ("required",), spec.get("required", default is None and derive is None))
    return ColumnSpec(sources, strip, extract, values, others, default, derive, required, accepted)


def _split(doc: _Doc, raw: object) -> tuple[str | None, tuple[SplitLine, ...]]:
    if raw is None:
        return None, ()
    spec = _mapping(doc, ("split",), raw, required=True)
    _no_unknown(doc, ("split",), spec, {"basis", "lines"})
    basis = _choice(doc, ("split", "basis"), spec.get("basis", "executed"), tuple(model.AMOUNT_COLUMNS))
    lines = spec.get("lines")
    if not isinstance(lines, list) or not lines:
        raise doc.fail(("split", "lines"), "missing or empty", "a list of {sens, operation, amount}")
    out = []
    for i, item in enumerate(lines):
        keys = ("split", "lines", i)
        item = _mapping(doc, keys, item, required=True)
        _no_unknown(doc, keys, item, {"sens", "operation", "amount"})
        sens = _choice(doc, keys + ("sens",), item.get("sens"), ("D", "R"))
        operation = _choice(doc, keys + ("operation",), item.get("operation"), ("reel", "ordre"))
        expr = _text(doc, keys + ("amount",), item.get("amount"), required=True)
        if sens is None or operation is None:
            raise doc.fail(keys, "sens and operation are required", "sens: D|R, operation: reel|ordre")
        terms = []
        for m in re.finditer(r"([+-]?)\s*([^+-]+)", expr.strip()):
            terms.append((-1 if m.group(1) == "-" else 1, m.group(2).strip()))
        if not terms:
            raise doc.fail(keys + ("amount",), f"'{expr}'", "source columns joined by + or -, e.g. OBNETDEB - OOBDEB")
        out.append(SplitLine(sens, operation, tuple(terms)))
    return basis, tuple(out)


def _no_unknown(doc: _Doc, keys: tuple, data: dict, allowed: set[str]) -> None:
    for k in data:
        if k not in allowed:
            raise doc.fail(keys + (k,), f"unknown key '{k}'", "one of " + ", ".join(sorted(allowed)))


def _mapping(doc: _Doc, keys: tuple, value: object, required: bool = False) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise doc.fail(keys, f"{_kind(value)} found", "a mapping (key: value)")
    return {str(k): v for k, v in value.items()}


def _text(doc: _Doc, keys: tuple, value: object, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise doc.fail(keys, "missing", "a text")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise doc.fail(keys, f"{_kind(value)} found", "a text")
    return str(value)


def _text_list(doc: _Doc, keys: tuple, value: object, required: bool = False) -> list[str]:
    if value is None:
        if required:
            raise doc.fail(keys, "missing", "a text or a list of texts")
        return []
    items = value if isinstance(value, list) else [value]
    return [_text(doc, keys + (i,), v, required=True) for i, v in enumerate(items)]


def _bool(doc: _Doc, keys: tuple, value: object) -> bool:
    if not isinstance(value, bool):
        raise doc.fail(keys, f"'{value}'", "true or false")
    return value


def _choice(doc: _Doc, keys: tuple, value: object, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise doc.fail(keys, f"'{value}'", f"one of {shown}")
    return str(value)


def _kind(value: object) -> str:
    return {list: "a list", dict: "a mapping", type(None): "nothing"}.get(type(value), f"'{value}'")


# --- finding profiles ------------------------------------------------------------------------------


def shipped_dir() -> Path:
    return rules_dir() / "profiles"


def user_dirs(extra: list[str | Path] | None = None) -> list[Path]:
    """Directories of user profiles: ``extra`` then ``$BUDGETCLIMAT_PROFILES`` (os.pathsep-separated)."""
    dirs = [Path(d) for d in (extra or [])]
    env = os.environ.get(ENV_PROFILE_DIRS, "")
    dirs += [Path(d) for d in env.split(os.pathsep) if d]
    return dirs


def available_profiles(extra_dirs: list[str | Path] | None = None) -> list[Profile]:
    """User profiles first (they win detection ties), then the shipped ones; ids must be unique."""
    found: dict[str, Profile] = {}
    for folder in user_dirs(extra_dirs) + [shipped_dir()]:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.y*ml")):
            prof = load_profile(path)
            if prof.id in found:
                raise ConfigError("profile-duplicate", value=prof.id, file=str(found[prof.id].path), other=str(path))
            found[prof.id] = prof
    return list(found.values())


def resolve_profile(ref: str | Path, extra_dirs: list[str | Path] | None = None) -> Profile:
    """A profile by id (``scdl``) or by path to a YAML file."""
    text = str(ref)
    if text.endswith((".yaml", ".yml")) or os.sep in text or "/" in text:
        path = Path(text)
        if not path.is_file():
            raise ConfigError("file-not-found", path=text)
        return load_profile(path)
    profiles = available_profiles(extra_dirs)
    for prof in profiles:
        if prof.id == text:
            return prof
    raise ConfigError("profile-unknown", value=text, expected=", ".join(p.id for p in profiles))
