"""The mutation suite: damaged copies of the shipped real budgets through ``budgetclimat validate``.

``make test`` runs a seeded sample (every family, and the cases of issue 13 by name); ``make fuzz`` runs
the whole campaign with a summary table (``tests/fuzz/run_fuzz.py``), and so does
``BUDGETCLIMAT_FUZZ=full pytest tests/fuzz/test_mutations.py``. Each mutant's oracle is computed from the
raw mutated bytes or cells (``oracle.py``), never with the project's code; see ``runner.py`` for the
verdicts.
"""

from __future__ import annotations

import json
import os
import random
from decimal import Decimal

import pytest
from mutate import SEED, Mutant, cedi, plan, totem, workbook, write_csv, cedi_cells, records_of
from oracle import EITHER, READ, REFUSE, Damage, Oracle, raw_amount, table_oracle, totem_oracle
from runner import Run, judge, run_mutant

FULL = os.environ.get("BUDGETCLIMAT_FUZZ", "") == "full"
PER_FAMILY = 3
# Cases of issue 13 always in the fast sample, by id.
NAMED = [
    "amounts-csv-fr-comma-000",  # 1. cedi « 6097,96 » read ×100
    "amounts-csv-fr-nbsp-000",  # 1. « 1 234,56 » with a non-breaking space
    "amounts-csv-fr-paren-000",  # 1. « (6 097,96) »
    "encoding-csv-excel-fr-000",  # 1. a cedi export re-saved by French Excel
    "xlsx-xlsx-hidden-first-000",  # 2. a hidden first sheet
    "xlsx-xlsx-far-cell-xfd1048576-000",  # 3. a value in XFD1048576 (subprocess)
    "xml-totem-missing-CodRD-000",  # 6. a line without CodRD (validate and classify)
    "amounts-totem-huge-000",  # 6. an amount beyond int64 cents
    "xml-totem-exer-bad0-000",  # 6. « 201: » as exercice
    "rows-csv-header-repeat-000",  # 6. a header repeated mid-table
    "xlsx-xlsx-zip-flip-006",  # 6. a damaged zip member
    "labels-csv-very-long-000",  # 6. a CSV field over 131,072 characters
    "columns-csv-dup-diff-montant-first-000",  # 7. two « Montant » columns
    "rows-csv-total-general-000",  # 7. a TOTAL GÉNÉRAL row with every code filled
    "rows-csv-ragged-short-000",  # 8. a row missing a field
    "xlsx-xlsx-formula-no-cache-000",  # 8. a formula without cached value
    "xlsx-xlsx-error-div0-000",  # 8. an error cell
    "truncation-csv-cut-after-delimiter-000",  # 8. a CSV cut in its last amount
    "xml-totem-repeat-diff-MtReal-000",  # 9. MtReal repeated with another value
    "xml-totem-second-budget-copy-000",  # 9. a second <Budget>
    "amounts-csv-subcent-000",  # 10. « 1234.565 »
    "amounts-csv-swiss-000",  # 10. « 1'234.56 »
    "encoding-totem-utf16le-bom-000",  # 10. a UTF-16 TOTEM
    "xml-totem-no-lines-000",  # 10. a TOTEM with no lines
]


def _sample() -> list:
    specs = plan()
    if FULL:
        return specs
    by_id = {s.id: s for s in specs}
    chosen = {i: by_id[i] for i in NAMED}
    rng = random.Random(SEED)
    for family in sorted({s.family for s in specs}):
        pool = [s for s in specs if s.family == family and s.id not in chosen and not s.crash]
        for s in rng.sample(pool, PER_FAMILY):
            chosen[s.id] = s
    return sorted(chosen.values(), key=lambda s: s.id)


@pytest.mark.parametrize("spec", _sample(), ids=lambda s: s.id)
def test_mutant(spec, tmp_path):
    mutant = spec.build()
    outcome = run_mutant(mutant, tmp_path, classify=True if spec.id in ("xml-totem-missing-CodRD-000",) else None)
    assert outcome.ok, f"{outcome.verdict} (exit {outcome.exit_code}, oracle: {outcome.expect}): {outcome.detail}"


# --- the campaign itself ----------------------------------------------------------------------------


def test_campaign_has_a_thousand_files_in_every_family():
    specs = plan()
    assert len(specs) >= 1000
    families = {s.family for s in specs}
    assert families == {"truncation", "byteflip", "encoding", "columns", "amounts", "rows", "xlsx", "labels", "xml"}
    for family in families:
        assert sum(1 for s in specs if s.family == family) >= 25, family
    assert {s.base for s in specs} >= {"totem", "totem-full", "csv", "csv-full", "xlsx", "xlsx-full"}


def test_generator_is_deterministic():
    first = {s.id: s for s in plan()}
    again = {s.id: s for s in plan()}
    for id_ in ("byteflip-totem-bit-007", "byteflip-csv-bit-011", "amounts-csv-fr-space-002", "truncation-csv-cut-004"):
        a, b = first[id_].build(), again[id_].build()
        assert a.data == b.data and a.oracle == b.oracle
    other = {s.id: s for s in plan(seed=SEED + 1)}
    assert other["byteflip-csv-bit-011"].build().data != first["byteflip-csv-bit-011"].build().data


def test_named_cases_exist():
    ids = {s.id for s in plan()}
    assert not [i for i in NAMED if i not in ids]


# --- the oracle agrees with the product on undamaged files (so a failure is the mutation's) -------------


@pytest.mark.parametrize("base", ["totem", "totem-full", "csv", "csv-full", "xlsx"])
def test_undamaged_bases_read_with_the_oracle_totals(base, tmp_path):
    if base.startswith("totem"):
        data = totem(base == "totem-full").bytes()
        oracle = totem_oracle(data, READ)
        suffix = ".xml"
    else:
        header, rows = cedi(base == "csv-full")
        data = write_csv(header, rows) if base.startswith("csv") else workbook([("Budget", [header, *cedi_cells(rows)], "visible")])
        oracle = table_oracle(header, records_of(rows), READ)
        suffix = ".csv" if base.startswith("csv") else ".xlsx"
    assert oracle.expect == READ and sum(oracle.lines.values()) > 100
    outcome = run_mutant(Mutant(f"base-{base}", "base", base, "none", suffix, data, oracle), tmp_path, classify=False)
    assert outcome.ok, outcome.detail


def test_oracle_totals_of_montpellier_are_the_published_ones():
    # PRIMER §6: real expenses F 295.79 M€, I 114.83 M€; ordre expenses F 22.52 M€ = ordre revenue I.
    oracle = totem_oracle(totem(True).bytes(), READ)
    assert round(oracle.totals[("F", "D", "reel")] / 1e8, 2) == 295.79
    assert round(oracle.totals[("I", "D", "reel")] / 1e8, 2) == 114.83
    assert oracle.totals[("F", "D", "ordre")] == oracle.totals[("I", "R", "ordre")]
    assert sum(oracle.lines.values()) == 1697


# --- the oracle and the judge can say no -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("6097.96", "6097.96"), (" -12 ", "-12"), ("1.5E+3", "1500"), ("10 279.70", "10279.70"), ("12,5", "12.5"), ("", None)],
)
def test_raw_amount_reads_one_way(text, value):
    assert raw_amount(text) == (None if value is None else Decimal(value))


@pytest.mark.parametrize("text", ["1,234", "1.234,5.6", "10279. 0", "inf", "NaN", "99999999999999999999.99", "n/a", "12€"])
def test_raw_amount_refuses_what_can_be_read_two_ways_or_not_at_all(text):
    with pytest.raises(ValueError):
        raw_amount(text)


def _fake(tmp_path, oracle: Oracle, totals: list[dict], findings: list[dict]):
    out = tmp_path / "out"
    out.mkdir(parents=True)
    (out / "report.json").write_text(json.dumps({"files": [{"totals": totals, "findings": findings}]}), encoding="utf-8")
    return Mutant("fake", "fake", "csv", "fake", ".csv", b"", oracle), out


def _t(cents: int, n: int = 1) -> dict:
    return {"section": "F", "sens": "D", "operation": "reel", "lines_cents": cents, "lines_out": n}


def test_judge_catches_each_kind_of_failure(tmp_path):
    either = Oracle(EITHER, {("F", "D", "reel"): 100}, {("F", "D", "reel"): 1}, Damage(frozenset({7}), frozenset({"montant"})))
    m, out = _fake(tmp_path, either, [_t(100)], [])
    assert judge(m, Run(0, "", ""), out, {"report.json"}) == ("ok", "")
    assert judge(m, Run(0, "", "Traceback (most recent call last)"), out, {"report.json"})[0] == "traceback"
    assert judge(m, Run(2, "", "Erreur : Erreur interne inattendue (KeyError)"), out, {"report.json"})[0] == "internal"
    assert judge(m, Run(-6, "", ""), out, {"report.json"})[0] == "crash"
    (out / ".report.json.tmp").write_text("{", encoding="utf-8")
    assert judge(m, Run(0, "", ""), out, {"report.json"})[0] == "partial-output"
    (out / ".report.json.tmp").unlink()

    m2, out2 = _fake(tmp_path / "b", either, [_t(10_000)], [])
    assert judge(m2, Run(0, "", ""), out2, {"report.json"})[0] == "silent-change"

    refuse = Oracle(REFUSE, damage=Damage(frozenset({7}), frozenset({"montant"}), ("amount-*",)))
    m3, out3 = _fake(tmp_path / "c", refuse, [_t(100)], [])
    assert judge(m3, Run(0, "", ""), out3, {"report.json"})[0] == "accepted-damage"
    unnamed = [{"level": "error", "code": "reconciliation-mismatch", "row": 7, "column": "Montant", "value": "", "message": "x"}]
    m4, out4 = _fake(tmp_path / "d", refuse, [_t(100)], unnamed)
    assert judge(m4, Run(1, "", ""), out4, {"report.json"})[0] == "unnamed-refusal"
    named = [{"level": "error", "code": "code-format", "row": 7, "column": "Article", "value": "", "message": "x"}]
    m5, out5 = _fake(tmp_path / "e", refuse, [_t(100)], named)
    assert judge(m5, Run(1, "", ""), out5, {"report.json"}) == ("ok", "")

    read = Oracle(READ, {("F", "D", "reel"): 100}, {("F", "D", "reel"): 1})
    m6, out6 = _fake(tmp_path / "f", read, [_t(100)], named)
    assert judge(m6, Run(1, "", ""), out6, {"report.json"})[0] == "false-refusal"
