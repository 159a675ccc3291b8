"""The classify, explain and rules commands, run as a user would."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import DATA, invoke

RULEBOOKS = Path(__file__).parent / "fixtures" / "rulebooks"
MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"
RULES = ["--rules", RULEBOOKS / "scope.yaml", "--rules", RULEBOOKS / "attenuation.yaml"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("classify")
    result = invoke(["classify", MONTPELLIER, *RULES, "-o", out / "c.xlsx", "--lines-out", out / "l.csv", "--summary-json", out / "s.json"])
    return out, result


def test_classify_writes_outputs(outputs):
    out, result = outputs
    assert "1697" in result.stdout and "Atténuation" in result.stdout
    assert (out / "c.xlsx").is_file() and (out / "l.csv").is_file() and (out / "s.json").is_file()
    assert not list(out.glob(".*"))  # no temporary file left behind


def test_lines_out_csv_exact_euros(outputs):
    out, _ = outputs
    raw = (out / "l.csv").read_bytes()
    assert raw.startswith("\ufeffline_id;".encode("utf-8"))  # BOM and « ; »: French Excel opens it in columns
    frame = pd.read_csv(out / "l.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=";")
    for column in ["line_id", "exercice", "section", "sens", "operation", "chapitre", "nature", "fonction", "label", "amount", "scope",
                   "scope_reason", "axis", "class", "share", "amount_share", "rule_id", "question"]:  # fmt: skip
        assert column in frame.columns
    assert frame["amount"].str.fullmatch(r"-?\d+,\d\d").all()  # decimal comma
    # Each line's pieces add up to its amount, to the cent, from the text alone.
    cents = frame["amount_share"].str.replace(",", "", regex=False).astype(int)
    total = frame.assign(c=cents).groupby("line_id")["c"].sum()
    amount = frame.drop_duplicates("line_id").set_index("line_id")["amount"].str.replace(",", "", regex=False).astype(int)
    assert (total == amount.reindex(total.index)).all()
    # Montpellier CA 2018: real expenses, operating section, 295.79 M€ (PRIMER §6).
    lines = frame.drop_duplicates("line_id")
    real_f = lines[(lines["section"] == "F") & (lines["sens"] == "D") & (lines["operation"] == "reel")]
    assert round(real_f["amount"].str.replace(",", "", regex=False).astype(int).sum() / 1e8, 2) == 295.79
    out_rows = frame[frame["scope"] == "out"]
    assert (out_rows["class"] == "").all() and (out_rows["scope_reason"] != "").all()


def test_summary_json(outputs):
    out, _ = outputs
    data = json.loads((out / "s.json").read_text(encoding="utf-8"))
    axis = data["axes"]["attenuation"]
    classes = sum(c["cents"] for c in axis["classes"].values())
    assert classes == axis["in_scope"]["cents"]
    assert axis["in_scope"]["cents"] + axis["out_of_scope"]["cents"] == data["total_cents"]
    assert sum(r["cents"] for r in axis["out_of_scope"]["by_reason"]) == axis["out_of_scope"]["cents"]
    # Ranges while questions are open: min ≤ max per group, decided + bounded + open = in scope.
    bounds = axis["bounds"]
    assert set(bounds) == {f"{g}_{s}_cents" for g in ("favourable", "unfavourable", "neutral") for s in ("min", "max")}
    for g in ("favourable", "unfavourable", "neutral"):
        assert bounds[f"{g}_min_cents"] <= bounds[f"{g}_max_cents"] <= axis["in_scope"]["cents"]
    assert axis["decided_cents"] + axis["bounded_cents"] + axis["open_cents"] == axis["in_scope"]["cents"]
    assert axis["decided_cents"] == axis["in_scope"]["cents"] - axis["classes"]["AA"]["cents"]
    assert "tant que les questions sont ouvertes : favorable entre " in outputs[1].stdout
    assert data["lines"] == 1697 and data["reconciliation"]["ok"] is True
    assert axis["classes"]["N"]["euros"].count(".") == 1


def test_workbook_sheets(outputs):
    from openpyxl import load_workbook

    out, _ = outputs
    wb = load_workbook(out / "c.xlsx", read_only=True)
    # the council annex workbook (export.workbook, tested in tests/test_workbook.py)
    assert {"Synthèse", "Budget vert coloré", "Annexe légale", "Lignes", "À approfondir", "Contrôles", "Méthode"} <= set(wb.sheetnames)


def test_formula_like_labels_stay_text(tmp_path):
    src = tmp_path / "budget.csv"
    src.write_text(
        "BGT_NATDEC,BGT_ANNEE,BGT_SIRET,BGT_NOM,BGT_CONTNAT,BGT_NATURE,BGT_NATURE_LABEL,BGT_FONCTION,BGT_SECTION,BGT_OPBUDG,BGT_CODRD,BGT_MTREAL\n"
        "09,2024,21340172201787,Ville,011,6064,=HYPERLINK(\"http://x\"),020,F,0,D,100.00\n"
        "09,2024,21340172201787,Ville,011,6068,@SUM(A1),020,F,0,D,50.00\n",
        encoding="utf-8",
    )
    result = _classify_any_code(["classify", src, *RULES, "--lines-out", tmp_path / "l.csv", "-o", tmp_path / "c.xlsx"])
    with open(tmp_path / "l.csv", encoding="utf-8-sig", newline="") as handle:
        labels = [row["label"] for row in csv.DictReader(handle, delimiter=";")]
    assert labels == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"], result.output
    from openpyxl import load_workbook

    ws = load_workbook(tmp_path / "c.xlsx")["Lignes"]
    header = [c.value for c in ws[4]]  # title, note, blank, then the table header
    cell = ws.cell(row=5, column=header.index("Libellé") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def _classify_any_code(args):
    from budgetclimat.cli import run
    from click.testing import CliRunner

    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code = run([str(a) for a in args])
        text = out.getvalue().decode() + err.getvalue().decode()
    assert code in (0, 1), text
    assert "Traceback" not in text

    class R:
        output = text

    return R


def test_parquet_register(tmp_path):
    from decimal import Decimal

    invoke(["classify", MONTPELLIER, *RULES, "--lines-out", tmp_path / "l.parquet"])
    frame = pd.read_parquet(tmp_path / "l.parquet")
    assert isinstance(frame["amount"].iloc[0], Decimal)
    assert frame["amount_share_cents"].dtype == "int64"


def test_rulebook_typo_exits_2_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((RULEBOOKS / "attenuation.yaml").read_text(encoding="utf-8").replace("    rationale: \"Véhicule électrique\"", "    rationnale: \"Véhicule électrique\""), encoding="utf-8")
    result = invoke(["classify", MONTPELLIER, "--rules", bad], code=2)
    assert "bad.yaml" in result.stderr and "ligne 40" in result.stderr and "rationnale" in result.stderr and "rationale" in result.stderr


def test_never_overwrites_an_input(tmp_path):
    copy = tmp_path / "m.xml"
    copy.write_bytes(MONTPELLIER.read_bytes())
    result = invoke(["classify", copy, *RULES, "--lines-out", copy], code=2)
    assert copy.read_bytes() == MONTPELLIER.read_bytes()
    assert "écrasé" in result.stderr or ".csv" in result.stderr


def test_answers_option_and_stale(tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("line_id;fact;value\n2018CA-00-00002;motorisation;electrique\n2018CA-00-99999;motorisation;gazole\n", encoding="utf-8")
    result = invoke(["classify", MONTPELLIER, *RULES, "--answers", answers, "--summary-json", tmp_path / "s.json"])
    assert "answer-stale" in result.stdout
    data = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert data["axes"]["attenuation"]["classes"]["TF"]["cents"] > 0


def test_explain(tmp_path):
    result = invoke(["explain", MONTPELLIER, "--line", "2018CA-00-00002", *RULES])
    assert "ATT-VEH-AA" in result.stdout and "motorisation" in result.stdout
    data = json.loads(invoke(["explain", MONTPELLIER, "--line", "2018CA-00-00002", *RULES, "--format", "json"]).stdout)
    assert data["axes"][0]["trials"][-1]["rule_id"] == "ATT-VEH-AA"
    invoke(["explain", MONTPELLIER, "--line", "NOPE", *RULES], code=2)


def test_rules_lint_exit_codes(tmp_path):
    invoke(["rules", "lint", RULEBOOKS / "scope.yaml", RULEBOOKS / "attenuation.yaml"])
    bad = tmp_path / "nocase.yaml"
    bad.write_text("rulebook: {id: t, kind: classification, axis: attenuation, nomenclatures: [M57], default: {class: N}}\nrules:\n  - id: R1\n    when: {nature: '6064'}\n    then: {class: N}\n", encoding="utf-8")
    result = invoke(["rules", "lint", bad], code=1)
    assert "lint-no-case" in result.stdout
    data = json.loads(invoke(["rules", "lint", bad, "--format", "json"], code=1).stdout)
    assert data["errors"] == 1


def test_rules_coverage():
    result = invoke(["rules", "coverage", MONTPELLIER, *RULES])
    assert "ATT-VEH-AA" in result.stdout and "DEFAULT" in result.stdout
    rows = list(csv.DictReader(invoke(["rules", "coverage", MONTPELLIER, *RULES, "--format", "csv"]).stdout.splitlines()))
    assert sum(int(r["lines"]) for r in rows) == 1697


def test_lines_out_csv_in_english_uses_commas_and_points(tmp_path):
    invoke(["classify", MONTPELLIER, *RULES, "--lines-out", tmp_path / "l.csv", "--lang", "en"])
    frame = pd.read_csv(tmp_path / "l.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert frame["amount"].str.fullmatch(r"-?\d+\.\d\d").all()
    # the same euros as the French file, to the cent
    total = frame.drop_duplicates("line_id")["amount"].str.replace(".", "", regex=False).astype(int).sum()
    assert total == 89399819393  # Montpellier CA 2018: 893 998 193,93 € (sum of MtReal, PRIMER §6)


def _tiny_budget(tmp_path):
    src = tmp_path / "budget.csv"
    src.write_text(
        "BGT_NATDEC,BGT_ANNEE,BGT_SIRET,BGT_NOM,BGT_CONTNAT,BGT_NATURE,BGT_NATURE_LABEL,BGT_FONCTION,BGT_SECTION,BGT_OPBUDG,BGT_CODRD,BGT_MTREAL\n"
        "09,2024,21340172201787,Ville,011,6064,Fournitures,020,F,0,D,100.00\n",
        encoding="utf-8",
    )
    return src


@pytest.mark.parametrize(("lang", "words"), [("fr", ["Aucun fichier écrit", "-o", "--lines-out", "--summary-json"]),
                                             ("en", ["No file written", "-o", "--lines-out", "--summary-json"])])
def test_classify_without_output_says_where_results_can_go(tmp_path, lang, words):
    stderr = _stderr_of(["--lang", lang, "classify", _tiny_budget(tmp_path), *RULES])
    tail = stderr.strip().splitlines()[-1]
    assert all(w in tail for w in words), stderr
    assert not [p for p in tmp_path.iterdir() if p.name != "budget.csv"]  # and indeed nothing was written


def test_classify_with_an_output_does_not_say_nothing_was_written(tmp_path):
    stderr = _stderr_of(["classify", _tiny_budget(tmp_path), *RULES, "--summary-json", tmp_path / "s.json"])
    assert "Aucun fichier écrit" not in stderr and (tmp_path / "s.json").is_file()


def _stderr_of(args) -> str:
    from budgetclimat import i18n
    from budgetclimat.cli import run
    from click.testing import CliRunner

    try:
        with CliRunner().isolation() as (out, err, _):
            code = run([str(a) for a in args])
            stderr = err.getvalue().decode()
    finally:
        i18n.set_language("fr")
    assert code in (0, 1) and "Traceback" not in stderr, stderr
    return stderr
