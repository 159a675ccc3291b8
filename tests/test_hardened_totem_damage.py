"""Damage a single bit can do to a real TOTEM file, found by the mutation campaign (``make fuzz``): it must be
refused naming the damage, never read with exit 0 as another budget."""

from __future__ import annotations

import json

from conftest import invoke

from pathlib import Path

MONTPELLIER = Path(__file__).parent / "data" / "montpellier-ca-2018-m57.xml"


def _findings(result) -> list[dict]:
    return json.loads(result.stdout)["files"][0]["findings"]


def test_an_element_without_its_value_is_an_error_naming_the_xml_line(tmp_path):
    text = MONTPELLIER.read_bytes().decode("iso-8859-1")
    start = text.index('<MtReal V="')
    line = text.count("\n", 0, start) + 1
    end = text.index("/>", start)
    damaged = text[:start] + '<MtReal W="' + text[start + len('<MtReal V="'):]
    assert damaged[start:end + 2].startswith('<MtReal W="')
    path = tmp_path / "ca.xml"
    path.write_bytes(damaged.encode("iso-8859-1"))
    result = invoke(["validate", path, "--format", "json"], 1)
    bad = [f for f in _findings(result) if f["code"] == "totem-field-without-value" and f["column"] == "MtReal"]
    assert [f["level"] for f in bad] == ["error"]
    # The finding names the <LigneBudget> holding the element (its opening line, a few lines above).
    assert 0 < line - int(bad[0]["row"]) < 20
