"""Writing output files safely: never overwrite an input, never leave a partial file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from budgetclimat.errors import ConfigError


def check_not_input(output: Path, inputs: Iterable[Path]) -> None:
    out = Path(output).resolve()
    for path in inputs:
        if Path(path).resolve() == out:
            raise ConfigError("output-is-input", path=str(output))


@contextlib.contextmanager
def atomic_output(output: Path, inputs: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a temporary path next to ``output``; move it into place only if the block succeeds."""
    output = Path(output)
    check_not_input(output, inputs)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=output.suffix, dir=output.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, output)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
