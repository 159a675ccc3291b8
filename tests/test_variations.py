"""Every real budget, and budgets built from them to imitate other software, read as a user reads them.

Issue 8, « What it must show »: on every real budget of ``shared/data`` and on budgets built from them to
imitate other software, ``validate`` and ``classify`` give exit 0 and totals equal to an independent sum of
the source file, to the cent. One test per variation and per command.

The files are built by ``tests/variations/make_variations.py`` from the real files in ``tests/data``; the
expected totals are Decimal sums of the *source* amount text, grouped by section × sens × réel/ordre, written
by the generator next to each file (``<file>.expected.json``) — never a figure budgetclimat printed.

The command runs in a subprocess (``python -m budgetclimat``), as a user runs it, with the outputs the docs
describe: ``validate --report PATH`` (JSON: ``files[].totals`` in cents, ``reconciliation_ok``) and
``classify -o annexe.xlsx --summary-json PATH`` (``total_cents``, ``reconciliation.ok``, ``findings``).

Options: only what docs/cli.md tells a user to add when an export does not carry a value. A CSV/XLSX export
of a city's own software says neither the nomenclature nor whether it is the principal budget; docs/cli.md
gives exactly ``--set nomenclature=M57 --set budget_kind=principal`` for that case. TOTEM XML and the cedi
export carry both and get no option.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "variations"))
import make_variations  # noqa: E402

M57_EXPORT = ["--set", "nomenclature=M57", "--set", "budget_kind=principal"]
M14_EXPORT = ["--set", "nomenclature=M14", "--set", "budget_kind=principal"]

# variant id → options a user adds (see the module docstring for why)
OPTIONS: dict[str, list[str]] = {
    "real-montpellier-ca-2018-m57": [],
    "real-montreuil-ca-2016-m14": [],
    "real-montreuil-ca-2017-m14": [],
    "real-gironde-ca-2016-m52-cedi": [],
    "erp-csv-words": M57_EXPORT,
    "erp-csv-functional-chapter": M57_EXPORT,
    "erp-csv-cp1252-semicolon": M57_EXPORT,
    "erp-csv-columns-by-content": M57_EXPORT,
    "xlsx-french-text-amounts": M57_EXPORT,
    "xlsx-title-rows-merged": M57_EXPORT,
    "xlsx-total-row": M57_EXPORT,
    "csv-single-montant-doc-type-in-name": M14_EXPORT,
    "xlsx-single-montant-doc-type-in-title": M57_EXPORT,
    "erp-csv-line-level": M57_EXPORT,
    "generic-csv-m52-cp1252": ["--set", "nomenclature=M52", "--set", "budget_kind=principal"],
    "xlsx-everything-at-once": M14_EXPORT,
    "totem-earlier-year-2016": [],
    "totem-bp-2026": [],
    "cedi-xlsx": [],
    "cedi-xlsx-french-text-amounts": [],
    "totem-m14-vote-by-fonction": [],
}


# Variants classified through the command itself (a subprocess ``classify -o annexe.xlsx --summary-json``): one
# per layout the workbook meets — real M57 TOTEM (whose annex is drawn from the nearest year's definition, as
# for ``totem-earlier-year-2016``), M14 voted par fonction, M52 read through the crosswalk (cedi), a budget
# primitif, and the everything-at-once XLSX (M14 from a spreadsheet). The other variants differ from these
# only in how the file is *read*: they are classified in this process, with the command's own option parsing
# (click) and the pipeline, and checked on the same figures (engine.figures, what the summary JSON says)
# without the ranges (engine.bounds, ~6 s a run, computed by the command for the variants above). The
# workbook of a CSV/XLSX read is written elsewhere (test_amounts_and_columns, test_roundtrip, test_cli_classify).
WITH_WORKBOOK = {
    "real-montpellier-ca-2018-m57", "totem-m14-vote-by-fonction", "real-gironde-ca-2016-m52-cedi", "totem-bp-2026",
    "xlsx-everything-at-once",
}  # fmt: skip


def test_every_variant_has_its_options():
    assert set(OPTIONS) == set(make_variations.VARIANTS)
    assert WITH_WORKBOOK <= set(OPTIONS)


def test_generator_is_deterministic(built, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    make_variations.build(again)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_expected_grouping_agrees_with_published_figures(built):
    """The generator's own grouping (section from the account class, OpBudg, CodRD) gives the figures the
    shared primer publishes for Montpellier CA 2018 and Gironde CA 2016, in M€ to 2 decimals."""
    _, expected = built
    mtp = expected["real-montpellier-ca-2018-m57"]["totals_cents"]
    assert round(mtp["F|D|reel"] / 1e8, 2) == 295.79
    assert round(mtp["I|D|reel"] / 1e8, 2) == 114.83
    assert round(mtp["F|D|ordre"] / 1e8, 2) == round(mtp["I|R|ordre"] / 1e8, 2) == 22.52
    gir = expected["real-gironde-ca-2016-m52-cedi"]["totals_cents"]
    assert round(gir["F|D|reel"] / 1e8, 2) == 1375.63
    assert round(gir["I|D|reel"] / 1e8, 2) == 311.86


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    out = tmp_path_factory.mktemp("variations")
    return out, make_variations.build(out)


def run(args: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "budgetclimat", *map(str, args)],
        capture_output=True, text=True, encoding="utf-8", timeout=900,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def shown(result: subprocess.CompletedProcess, lines: int = 40) -> str:
    """What the user saw, cut short for an assertion message."""
    out = result.stdout.splitlines()
    return "\n--- stdout\n" + "\n".join(out[:lines]) + ("\n…" if len(out) > lines else "") + "\n--- stderr\n" + result.stderr[-3000:]


def euros(cents: int) -> str:
    return f"{cents / 100:,.2f} €".replace(",", " ")


def nonzero(totals: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in totals.items() if v != 0}


@pytest.mark.parametrize("variant", list(make_variations.VARIANTS))
def test_validate(variant, built, tmp_path):
    out, expected_all = built
    expected = expected_all[variant]
    report = tmp_path / "controles.json"
    result = run(["validate", out / expected["file"], *OPTIONS[variant], "--report", report])

    problems = []
    if result.returncode != 0:
        problems.append(f"exit code {result.returncode}, expected 0")
    if not report.exists():
        problems.append("no report written")
    else:
        files = json.loads(report.read_text(encoding="utf-8"))["files"]
        assert len(files) == 1, files
        got = {f"{t['section']}|{t['sens']}|{t['operation']}": t["lines_cents"] for t in files[0]["totals"]}
        want = expected["totals_cents"]
        if nonzero(got) != nonzero(want):
            for key in sorted(set(got) | set(want)):
                g, w = got.get(key, 0), want.get(key, 0)
                if g != w:
                    problems.append(f"{key}: read {euros(g)}, source says {euros(w)} (difference {euros(g - w)})")
        if files[0].get("reconciliation_ok") is not True:
            problems.append(f"reconciliation_ok = {files[0].get('reconciliation_ok')}")
    assert not problems, f"{variant} ({expected['file']}): " + "; ".join(problems) + shown(result)


@pytest.mark.parametrize("variant", list(make_variations.VARIANTS))
def test_classify(variant, built, tmp_path):
    """Every variant classifies with exit 0, no error, reconciled, every euro of the source in each axis
    (in scope + out of scope); through the command for the variants of :data:`WITH_WORKBOOK`, in this process
    for the others (see there why)."""
    out, expected_all = built
    expected = expected_all[variant]
    path = out / expected["file"]
    problems = []
    if variant in WITH_WORKBOOK:
        summary = tmp_path / "synthese.json"
        workbook = tmp_path / "annexe.xlsx"
        result = run(["classify", path, *OPTIONS[variant], "-o", workbook, "--summary-json", summary])
        if result.returncode != 0:
            problems.append(f"exit code {result.returncode}, expected 0")
        if not workbook.exists():
            problems.append("no workbook written")
        if not summary.exists():
            problems.append("no summary written")
            data = None
        else:
            data = json.loads(summary.read_text(encoding="utf-8"))
        shown_run = shown(result)
    else:
        data, shown_run = _classify_in_process(path, OPTIONS[variant])
    if data is not None:
        if data["total_cents"] != expected["total_cents"]:
            problems.append(
                f"total of the lines {euros(data['total_cents'])}, source says {euros(expected['total_cents'])}"
                f" (difference {euros(data['total_cents'] - expected['total_cents'])})"
            )
        if data["reconciliation"]["ok"] is not True:
            problems.append(f"reconciliation.ok = {data['reconciliation']['ok']}")
        if data["findings"]["errors"] != 0:
            problems.append(f"{data['findings']['errors']} error finding(s)")
        for axis, block in data.get("axes", {}).items():
            if block["in_scope"]["cents"] + block["out_of_scope"]["cents"] != expected["total_cents"]:
                problems.append(f"axis {axis}: in scope + out of scope != the source total")
    assert not problems, f"{variant} ({expected['file']}): " + "; ".join(problems) + shown_run


def _classify_in_process(path: Path, options: list[str]) -> tuple[dict, str]:
    """``classify PATH OPTIONS`` parsed by the command's own options, run by the pipeline: the summary's
    figures (total, reconciliation, errors, per axis) without the ranges, and the findings for a failure."""
    from budgetclimat.cli.classify import classify as command
    from budgetclimat.engine.figures import compute
    from budgetclimat.errors import render_finding
    from budgetclimat.pipeline import run as run_pipeline

    params = command.make_context("classify", [str(path), *map(str, options)]).params
    result = run_pipeline(params["files"], profile=params["profile"], basis=params["basis"], constants=params["constants"])
    result.bounds = None  # no ranges here: the command computes them for the variants of WITH_WORKBOOK
    figures = compute(result).to_json()
    data = {"total_cents": figures["total_cents"], "axes": figures["axes"], "reconciliation": {"ok": result.reconciliation_ok},
            "findings": {"errors": result.errors}}
    errors = result.findings[result.findings["level"] == "error"]
    return data, "\n" + "\n".join(render_finding(r) for r in errors.head(5).to_dict("records"))
