"""Damage a single bit can do to a real TOTEM file, found by the mutation campaign (``make fuzz``): it must be
refused naming the damage, never read with exit 0 as another budget."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from conftest import invoke

from pathlib import Path

MONTPELLIER = Path(__file__).parent / "data" / "montpellier-ca-2018-m57.xml"


def _findings(result) -> list[dict]:
    return json.loads(result.stdout)["files"][0]["findings"]


def test_a_real_line_turned_ordre_unbalances_the_ordre_totals_and_is_an_error(tmp_path):
    text = MONTPELLIER.read_bytes().decode("iso-8859-1")
    # The first real line (OpBudg 0) becomes ordre: one bit (0x30 -> 0x31), a valid-looking document.
    start = text.index('<OpBudg V="0"/>')
    damaged = text[:start] + '<OpBudg V="1"/>' + text[start + len('<OpBudg V="0"/>'):]
    block = text[text.rindex("<LigneBudget>", 0, start) : text.index("</LigneBudget>", start)]
    moved = Decimal(re.search(r'<MtReal V="([^"]*)"', block).group(1))
    path = tmp_path / "ca.xml"
    path.write_bytes(damaged.encode("iso-8859-1"))
    result = invoke(["validate", path, "--format", "json"], 1)
    unbalanced = [f for f in _findings(result) if f["code"] == "ordre-total-unbalanced"]
    assert len(unbalanced) == 1 and unbalanced[0]["level"] == "error"
    # The message carries both totals; they differ by the amount of the line that moved (checked by hand:
    # ordre expenses F 22 523 761,05 + I 576 390,90 balance ordre revenue before the damage).
    assert moved > 0
    assert unbalanced[0]["value"] != unbalanced[0]["expected"]


def test_an_amount_element_without_its_value_is_an_error_naming_the_xml_line(tmp_path):
    text = MONTPELLIER.read_bytes().decode("iso-8859-1")
    start = text.index('<MtReal V="')
    line = text.count("\n", 0, start) + 1
    end = text.index("/>", start)
    damaged = text[:start] + '<MtReal W="' + text[start + len('<MtReal V="'):]
    assert damaged[start:end + 2].startswith('<MtReal W="')
    path = tmp_path / "ca.xml"
    path.write_bytes(damaged.encode("iso-8859-1"))
    result = invoke(["validate", path, "--format", "json"], 1)
    bad = [f for f in _findings(result) if f["code"] == "amount-not-a-number" and f["column"] == "MtReal"]
    assert [f["level"] for f in bad] == ["error"]
    # The finding names the <LigneBudget> holding the element (its opening line, a few lines above).
    assert 0 < line - int(bad[0]["row"]) < 20
