"""Found by the mutation campaign (``make fuzz``): a column repeated cell for cell is read once with a warning
(nothing can be lost or doubled), and a double-encoded file is refused naming the line, never misread."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from conftest import invoke

CEDI = Path(__file__).parent / "data" / "gironde-ca-2016-m52-cedi.csv"


def _rows():
    return list(csv.reader(io.StringIO(CEDI.read_text(encoding="utf-8"))))


def test_a_column_repeated_with_the_same_values_is_read_once_with_a_warning(tmp_path):
    rows = _rows()
    amount = rows[0].index("Montant")
    path = tmp_path / "cedi.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([r + [r[amount]] for r in rows])
    expected = sum(Decimal(r[amount]) for r in rows[1:])
    report = tmp_path / "r.json"
    result = invoke(["validate", path, "--report", report], 0)
    data = json.loads(report.read_text(encoding="utf-8"))["files"][0]
    assert sum(t["lines_cents"] for t in data["totals"]) == int(expected * 100)  # not doubled
    assert any(f["code"] == "column-repeated-same" for f in data["findings"]), result.stdout


def test_a_column_repeated_with_other_values_is_still_an_error(tmp_path):
    rows = _rows()
    path = tmp_path / "cedi.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([rows[0] + ["Montant"]] + [r + ["1.00"] for r in rows[1:]])
    result = invoke(["validate", path], 1)
    assert "column-duplicated" in result.output or "plusieurs colonnes" in result.output


def test_a_double_encoded_file_is_refused_naming_the_line(tmp_path):
    text = CEDI.read_text(encoding="utf-8")
    path = tmp_path / "cedi.csv"
    path.write_bytes(text.encode("utf-8").decode("cp1252", errors="replace").encode("utf-8"))
    result = invoke(["validate", path], 1)
    assert "encodé deux fois" in result.output and "ligne 1" in result.output
