"""Writing output files safely: never overwrite an input, never leave a partial file behind.

Every output goes through :func:`atomic_output`: written to a temporary file next to it, moved into
place only when complete, removed on any error or Ctrl-C. A failure to write (read-only folder, a parent
that is a file, a full disk, ``ulimit -f``) becomes ``output-not-writable`` (exit 2), never a traceback.
Outputs get the user's usual file mode (``0666`` minus the umask, as any program's new file).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from budgetclimat import i18n
from budgetclimat.errors import ConfigError

_REASONS = {
    (errno.ENOTDIR, errno.EEXIST): ("un élément du chemin est un fichier, pas un dossier", "a part of the path is a file, not a folder"),
    (errno.EACCES, errno.EPERM, errno.EROFS): ("droits insuffisants ou disque en lecture seule", "permission denied or read-only disk"),
    (errno.ENOSPC, errno.EDQUOT): ("disque plein", "disk full"),
    (errno.EFBIG,): ("taille de fichier maximale atteinte (limite du système, ulimit -f)", "file size limit reached (ulimit -f)"),
    (errno.EISDIR,): ("c'est un dossier", "it is a folder"),
    (errno.ENAMETOOLONG,): ("nom trop long", "name too long"),
}


def check_not_input(output: Path, inputs: Iterable[Path]) -> None:
    out = Path(output).resolve()
    for path in inputs:
        if Path(path).resolve() == out:
            raise ConfigError("output-is-input", path=str(output))


def check_extension(output: Path, allowed: tuple[str, ...], option: str) -> None:
    """Refuse an output whose extension is not the format written (``-o x.ods`` would be XLSX inside)."""
    if Path(output).suffix.lower() not in allowed:
        raise ConfigError("output-extension", path=str(output), expected=" ou ".join(allowed) if i18n.language() == "fr" else " or ".join(allowed), option=option)


def check_distinct(outputs: dict[str, Path | None]) -> None:
    """Two options naming the same file would overwrite one output with another."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        key = Path(path).resolve()
        if key in seen:
            raise ConfigError("output-duplicate", path=str(path), option=seen[key], other=option)
        seen[key] = option


def check_writable(output: Path) -> None:
    """Before any work: the nearest existing ancestor of ``output`` must be a writable folder (a quick
    answer instead of a failure after minutes of work; the write itself stays checked)."""
    parent = Path(output).absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise not_writable(Path(output), OSError(errno.ENOTDIR, "not a directory"))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise not_writable(Path(output), OSError(errno.EACCES, "permission denied"))


def not_writable(output: Path, exc: OSError) -> ConfigError:
    french = i18n.language() == "fr"
    reason = next((fr if french else en for codes, (fr, en) in _REASONS.items() if exc.errno in codes), None)
    return ConfigError("output-not-writable", path=str(output), reason=reason or (exc.strerror or str(exc)))


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_output(output: Path, inputs: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a temporary path next to ``output``; move it into place only if the block succeeds."""
    output = Path(output)
    check_not_input(output, inputs)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=output.suffix, dir=output.parent)
        os.close(fd)
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600; an output is an ordinary file of the user
    except OSError as exc:
        raise not_writable(output, exc) from None
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            os.replace(tmp_path, output)
        except OSError as exc:
            if exc.errno is None or exc.filename not in (None, str(tmp_path), str(output), tmp_path, output):
                raise  # not about this output (e.g. reading an input): the caller's error
            raise not_writable(output, exc) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def sha256_of(path) -> str:
    """The sha256 of a file named in an output (rulebooks, tables, inputs), read in chunks; "" if it cannot be read."""
    import hashlib

    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


# Text a spreadsheet would take for a formula when it opens a CSV (« CSV injection », OWASP): a cell
# starting with = + - or @, or with a tab or a carriage return (which some spreadsheets skip before reading
# the rest). « - » is included even before a digit: « -2+3+cmd|'/C calc'!A0 » starts like a number.
FORMULA_START = r"^[=+\-@\t\r]"


def formula_safe(text):
    """Texts from input files stay text in every output a spreadsheet opens: one that starts like a formula
    (:data:`FORMULA_START`) gets a leading ``'``; the others, and missing values, are kept as they are.

    ``text`` is a pandas Series; the result has the ``string`` dtype. The one guard of every output: the line
    register's CSV, the validate and lint reports, the register written beside a too-large workbook (workbook
    cells are written as string cells, never as formulas: ``export.workbook.grid``)."""
    text = text.astype("string")
    risky = text.str.match(FORMULA_START).fillna(False)
    return text.mask(risky, "'" + text)
