"""The whole chain on the real Montpellier CA 2018 (TOTEM, M57), with the shipped rulebooks, through the
command line. Totals are computed here from the XML itself (regex + Decimal), not taken from the code."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from conftest import DATA, invoke

XML = DATA / "montpellier-ca-2018-m57.xml"


@pytest.fixture(scope="module")
def executed_by_line():
    text = XML.read_text(encoding="latin-1")
    blocks = re.findall(r"<LigneBudget>(.*?)</LigneBudget>", text, re.S)
    out = []
    for block in blocks:
        real = re.search(r'<MtReal V="([^"]*)"', block)
        out.append(int(Decimal(real.group(1) if real else "0") * 100))
    return out


@pytest.fixture(scope="module", params=["3a", "3b"])
def register(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"reg{request.param}") / "lignes.csv"
    invoke(["classify", XML, "--staff-costs", request.param, "--lines-out", out], 0)
    with out.open(encoding="utf-8-sig", newline="") as f:
        return request.param, list(csv.DictReader(f, delimiter=";"))


def test_every_line_once_per_axis_and_pieces_sum_to_the_line(register, executed_by_line):
    option, rows = register
    axes = sorted({r["axis"] for r in rows})
    assert "attenuation" in axes and "biodiversite" in axes
    for axis in axes:
        pieces = defaultdict(int)
        for r in rows:
            if r["axis"] == axis:
                pieces[r["line_id"]] += int(r["amount_share_cents"])
        assert len(pieces) == len(executed_by_line) == 1697
        # line ids are in source order: 2018CA-00-00001 …
        ordered = [pieces[k] for k in sorted(pieces)]
        assert ordered == executed_by_line


def test_classes_plus_out_of_scope_equal_the_total_to_the_cent(register, executed_by_line):
    option, rows = register
    total = sum(executed_by_line)
    for axis in {r["axis"] for r in rows}:
        by_class = defaultdict(int)
        out_of_scope = 0
        for r in rows:
            if r["axis"] != axis:
                continue
            if r["scope"] == "out":
                assert r["class"] == ""
                out_of_scope += int(r["amount_share_cents"])
            else:
                assert r["class"] in {"TF", "FSC", "N", "D", "IM", "AA"}
                by_class[r["class"]] += int(r["amount_share_cents"])
        assert sum(by_class.values()) + out_of_scope == total


def test_staff_costs_are_allocated_and_visible_per_line(register):
    option, rows = register
    staff = [r for r in rows if r["axis"] == "attenuation" and r["allocation"]]
    assert staff, "chapter 012 lines must be allocated"
    # I4CE staff costs: chapter 012 plus the élus' indemnités de fonction (653x, chapter 65)
    assert "012" in {r["chapitre"] for r in staff}
    assert all(r["chapitre"] == "012" or r["nature"].startswith("653") for r in staff)
    if option == "3a":
        assert {r["allocation"] for r in staff} == {"3a"}
        # 3a: every staff line carries the same class shares, those of the other in-scope spending.
        shares = defaultdict(set)
        for r in staff:
            shares[r["class"]].add(round(float(r["share"].replace(",", ".")), 9))  # decimal comma (French CSV)
        assert all(len(v) == 1 for v in shares.values())
    else:
        assert {r["allocation"] for r in staff} <= {"3b-fonction", "3b-reste"}
        assert "3b-fonction" in {r["allocation"] for r in staff}
