"""The I4CE 2022 rulebooks cover every transcribed cell of the synthesis tables.

Every data row of ``rules/i4ce-2022/tables-transcribed.csv`` is cited (``source.cells``, 1-based data rows)
by at least one rule of the rulebook for its image (mitigation images → ``attenuation.yaml``,
``biodiversite.png`` → ``biodiversite.yaml``); citing rules have cases, cite rows of their own image only,
and give a class compatible with the colour of the cell. Plain pytest + yaml + csv, plus the loader.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from budgetclimat.rulebook import load_rulebook

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "i4ce-2022"
CSV = RULES / "tables-transcribed.csv"
IMAGES = Path("/work/shared/reference/i4ce-2022")  # optional: checked only when present
BOOKS = {"attenuation": RULES / "attenuation.yaml", "biodiversite": RULES / "biodiversite.yaml"}

LABELS = {
    "très favorable": "TF",
    "favorable sous conditions": "FSC",
    "neutre": "N",
    "défavorable": "D",
    "indéfini méthodologique": "IM",
    "à approfondir": "AA",
}


def _rows() -> list[dict]:
    with CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


ROWS = _rows()


def _book(name: str) -> dict:
    with BOOKS[name].open(encoding="utf-8") as f:
        return yaml.safe_load(f)


DATA = {name: _book(name) for name in BOOKS}


def _book_for(image: str) -> str:
    return "biodiversite" if image == "biodiversite.png" else "attenuation"


def _classes(label: str) -> set[str]:
    """Classes of a cell: one label, or several joined by ' / ' (gradients, flowcharts); empty: none."""
    return {LABELS[part.strip().lower()] for part in label.split("/") if part.strip()}


def _rule_classes(rule: dict) -> set[str]:
    then = rule.get("then") or {}
    if "class" in then:
        return {then["class"]}
    if "split" in then:
        return {piece["class"] for piece in then["split"]}
    if then.get("staff_costs"):
        return {"STAFF"}
    return set()


def _citing(book: str, row: int) -> list[dict]:
    return [r for r in DATA[book]["rules"] if r.get("source") and row in r["source"].get("cells", [])]


def test_csv_has_205_rows():
    assert len(ROWS) == 205
    assert all(_classes(r["class"]) <= set(LABELS.values()) for r in ROWS)


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_rulebook_loads(name):
    rb = load_rulebook(BOOKS[name])
    assert rb.axis == name
    assert rb.rules


@pytest.mark.parametrize("row", range(1, len(ROWS) + 1))
def test_row_is_cited_with_compatible_class(row):
    data = ROWS[row - 1]
    book = _book_for(data["image"])
    rules = _citing(book, row)
    assert rules, f"row {row} ({data['image']}: {data['condition'][:60]}) is cited by no rule of {book}"
    expected = _classes(data["class"])
    for rule in rules:
        assert rule["source"]["image"] == data["image"], f"{rule['id']} cites row {row} of another image"
        assert rule.get("cases"), f"{rule['id']} cites row {row} but has no case"
        got = _rule_classes(rule)
        if not expected:  # biodiversity « changement climatique »: no class of its own
            continue
        if got == {"STAFF"}:  # staff costs: allocated pro rata, the gradient rows of the staff table
            assert data["image"] == "rh_depense_personnel.png", f"{rule['id']}: staff costs cite row {row}"
            continue
        assert got & expected, f"{rule['id']} gives {sorted(got)}, row {row} is {sorted(expected)}"


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_cited_rows_belong_to_the_rule_image(name):
    for rule in DATA[name]["rules"]:
        source = rule.get("source")
        if not source:
            continue
        for cell in source["cells"]:
            assert 1 <= cell <= len(ROWS), f"{rule['id']}: row {cell} out of range"
            assert ROWS[cell - 1]["image"] == source["image"], f"{rule['id']}: row {cell} is not from {source['image']}"
            assert _book_for(source["image"]) == name, f"{rule['id']}: {source['image']} belongs to the other rulebook"


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_cited_images_exist(name):
    images = {r["source"]["image"] for r in DATA[name]["rules"] if r.get("source")}
    known = {r["image"] for r in ROWS}
    assert images <= known
    if IMAGES.is_dir():
        missing = [i for i in images if not (IMAGES / i).is_file()]
        assert not missing, f"images not found in {IMAGES}: {missing}"


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_every_rule_has_a_case_and_a_rationale(name):
    for rule in DATA[name]["rules"]:
        assert rule.get("cases"), f"{rule['id']} has no case"
        assert rule.get("rationale"), f"{rule['id']} has no rationale"


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_rules_on_fonction_say_nomenclature(name):
    def walk(node, nomenclature_known=False):
        if isinstance(node, dict):
            known = nomenclature_known or "nomenclature" in node
            if "fonction" in node:
                assert known, f"a `fonction` condition without `nomenclature` in {name}: {node}"
            for key, value in node.items():
                if key in ("any", "not", "when"):
                    walk(value, known)
        elif isinstance(node, list):
            for item in node:
                walk(item, nomenclature_known)

    for rule in DATA[name]["rules"]:
        walk(rule.get("when") or {})
