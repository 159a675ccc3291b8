"""The outputs of one full Montpellier run are pinned by their sha256: a refactor must leave every byte of the
workbook, the council pack, the line register (CSV and Parquet) and the summary JSON as it was.

The run covers every stage: answers (a line answer and a manual override), the territory (inventory,
trajectory, measures), the bounds, both workbooks. ``python tests/test_outputs_pinned.py`` rewrites the pins
(only when a change of the outputs is intended: say why in the commit).

Each file has two digests. ``content`` is version-proof: the xlsx's zip members (name and uncompressed
bytes), the Parquet's table, the text files' bytes; it is always checked. ``sha256`` is the file's raw bytes;
it is checked when the libraries that write the bytes (openpyxl, pyarrow, pandas, zlib) are the versions
the pins were taken with, since a new zlib or writer may compress or stamp the same content differently.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conftest import DATA, invoke  # noqa: E402

ROOT = HERE.parent
PINS = DATA / "pins" / "montpellier-outputs.json"
TERRITORY = ROOT / "examples" / "territory"
OUTPUTS = ["annexe.xlsx", "conseil.xlsx", "lignes.csv", "lignes.parquet", "synthese.json"]


def _versions() -> dict[str, str]:
    import openpyxl
    import pandas
    import pyarrow

    return {"openpyxl": openpyxl.__version__, "pandas": pandas.__version__, "pyarrow": pyarrow.__version__, "zlib": zlib.ZLIB_VERSION}


def content_digest(path: Path) -> str:
    """sha256 of what the file says, independent of the writer's compression and stamps."""
    digest = hashlib.sha256()
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                digest.update(info.filename.encode() + b"\0" + archive.read(info) + b"\0")
    elif path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        digest.update(str(table.schema).encode())
        digest.update(json.dumps(table.to_pydict(), sort_keys=True, default=str).encode())
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def produce(folder: Path) -> dict[str, dict[str, str]]:
    """Run the pinned command into ``folder``; the digests of its outputs."""
    common = [
        "classify", DATA / "montpellier-ca-2018-m57.xml", "--answers", DATA / "pins" / "montpellier-answers.csv",
        "--inventory", TERRITORY / "inventory.csv", "--trajectory", TERRITORY / "trajectory.yaml",
        "--measures", TERRITORY / "measures.csv",
    ]
    invoke([*common, "-o", folder / "annexe.xlsx", "--pack", folder / "conseil.xlsx", "--lines-out", folder / "lignes.csv",
            "--summary-json", folder / "synthese.json"])
    invoke([*common, "--lines-out", folder / "lignes.parquet"])
    return {name: {"sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest(), "content": content_digest(folder / name)}
            for name in OUTPUTS}


@pytest.fixture(scope="module")
def produced(tmp_path_factory):
    return produce(tmp_path_factory.mktemp("pinned"))


@pytest.mark.parametrize("name", OUTPUTS)
def test_outputs_are_byte_identical_to_the_pins(produced, name):
    pins = json.loads(PINS.read_text(encoding="utf-8"))
    assert produced[name]["content"] == pins["files"][name]["content"], f"{name}: the content changed"
    if pins["versions"] == _versions():
        assert produced[name]["sha256"] == pins["files"][name]["sha256"], f"{name}: the bytes changed"


if __name__ == "__main__":  # rewrite the pins
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        files = produce(Path(tmp))
    PINS.write_text(json.dumps({"versions": _versions(), "files": files}, indent=2) + "\n", encoding="utf-8")
    print(f"pins written to {PINS}")
