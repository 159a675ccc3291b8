"""Recognising a budget file from its content, never from its name."""

from __future__ import annotations

import re
from pathlib import Path

from budgetclimat import limits
from budgetclimat.errors import ConfigError, InvalidDataError

TOTEM = "totem"
SPREADSHEET = "spreadsheet"  # XLSX / ODS (zip) or XLS (OLE2)
TEXT = "text"  # CSV and other delimited text

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_SNIFF_BYTES = 65536
_ROOT = re.compile(rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def detect_format(path: str | Path) -> str:
    """``totem``, ``spreadsheet`` or ``text`` from the first bytes of the file.

    Raises ``ConfigError("file-not-found")`` for a missing file, ``InvalidDataError("input-too-large")``
    for a file over the ``file-mb`` limit (:mod:`budgetclimat.limits`), ``InvalidDataError("input-empty")``
    for an empty one and ``InvalidDataError("xml-not-totem")`` for XML of another kind.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError("file-not-found", path=str(p))
    limits.check_file_size(p)
    with p.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(_ZIP) or head.startswith(_OLE):
        return SPREADSHEET
    start = head
    utf16 = utf16_codec(head)
    if utf16 is not None:  # read as UTF-8 by the TOTEM reader (read/totem.py)
        start = head[2:].decode(utf16, errors="ignore").encode("utf-8")
    for bom in _BOMS:
        if start.startswith(bom):
            start = start[len(bom):]
            break
    start = start.lstrip()
    if not start.strip(b"\x00"):
        raise InvalidDataError("input-empty", file=p.name)
    if not start.startswith(b"<"):
        return TEXT
    root = _ROOT.search(_without_comments(start))
    if root is not None and root.group(1) == b"DocumentBudgetaire":
        return TOTEM
    name = root.group(1).decode("ascii", "replace") if root is not None else "?"
    raise InvalidDataError("xml-not-totem", file=p.name, value=name)


def utf16_codec(head: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the bytes start with a UTF-16 byte-order mark (UTF-32 is not one)."""
    if head.startswith(b"\xff\xfe") and not head.startswith(b"\xff\xfe\x00\x00"):
        return "utf-16-le"
    if head.startswith(b"\xfe\xff"):
        return "utf-16-be"
    return None


def _without_comments(head: bytes) -> bytes:
    return re.sub(rb"<!--.*?-->", b"", head, flags=re.S)
