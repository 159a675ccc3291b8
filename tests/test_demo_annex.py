"""The demo's legal annex: the 2018 budget relabelled 2024 (and saying so) gives the annex the law requires."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from lxml import etree

from tests.conftest import invoke

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = ROOT / "examples" / "montpellier-ca-2018-m57.xml"
DEMO = ROOT / "examples" / "demo-montpellier-ca-2018-relabelled-2024.xml"
NS = {"t": "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"}
# rules/annex/2024.yaml: the 17 M57 accounts of the perimeter, matched as prefixes
ACCOUNTS = ["2031", "2111", "2115", "2128", "21312", "21318", "21351", "21352", "2138", "2151", "2152", "21821", "21828", "2312", "2313", "2314", "2315"]


def test_demo_file_is_the_2018_budget_with_only_its_exercice_relabelled_and_says_so():
    original, demo = ORIGINAL.read_bytes(), DEMO.read_bytes()
    assert b"NOT A REAL 2024 BUDGET" in demo
    head, _, rest = demo.partition(b"-->\r\n")
    assert head.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<!-- DEMONSTRATION FILE')
    assert rest.replace(b'<Exer V="2024"/>', b'<Exer V="2018"/>') == original.partition(b"\r\n")[2]


def test_demo_annex_sheet_totals_the_perimeter_from_the_raw_file(tmp_path):
    from openpyxl import load_workbook

    # Independent total: executed real investment spending (OpBudg 0, CodRD D, section from the account:
    # every account of the perimeter is an investment account) on the listed accounts.
    tree = etree.parse(str(DEMO))
    expected = Decimal("0")
    for line in tree.iterfind(".//t:LigneBudget", NS):
        nature = line.find("t:Nature", NS).get("V")
        if line.find("t:CodRD", NS).get("V") == "D" and line.find("t:OpBudg", NS).get("V") == "0" and any(nature.startswith(a) for a in ACCOUNTS):
            expected += Decimal(line.find("t:MtReal", NS).get("V"))
    invoke(["classify", DEMO, "-o", tmp_path / "a.xlsx"])
    ws = load_workbook(tmp_path / "a.xlsx", read_only=True)["Annexe légale"]
    rows = [[v for v in r if v is not None] for r in ws.iter_rows(values_only=True)]
    assert rows[1] == ["VILLE DE MONTPELLIER — Compte administratif 2024"]
    total = next(r for r in rows if r and r[0] == "Total")
    assert round(Decimal(str(total[-1])), 2) == expected
    share = next(r for r in rows if r and r[0] == "Part")
    assert abs(sum(share[1:-1]) - 1) < 1e-9 and share[-1] == 1  # favourable + neutral + unfavourable + unclassified
    assert any(r and "n'est pas confirmée" in str(r[0]) for r in rows)  # unconfirmed accounts are named (« * »)
    assert not any("annexe-tef" in str(v) for r in rows for v in r)  # no internal id
