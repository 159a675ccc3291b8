"""One set of figures (issue 10, point 4): the terminal summary, the summary JSON and the workbook's
Synthèse show the same totals, and out of scope is split into revenue, ordre, debt and other reasons.

Expected figures come from the raw XML text (lxml + Decimal) or from hand-made lines, never from what the
code printed: the total of the file, revenue (every sens R line), ordre (sens D ordre lines) and debt
(real expenses on 16… except 1675, and 66…).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from conftest import DATA, MONTPELLIER_XML, invoke
from test_functional_vote import M57_ORDRE_CHAPTERS, _raw_lines
from test_workbook import STAMP, hand_lines

from budgetclimat import model

PARTS = ("revenue", "ordre", "debt", "other")
AXIS_LABELS = {"Atténuation": "attenuation", "Biodiversité": "biodiversite"}
FILES = {  # file, the ordre chapters of a budget voted par fonction (Montreuil 2016 is voted par nature)
    "montpellier-2018": (DATA / "montpellier-ca-2018-m57.xml", M57_ORDRE_CHAPTERS),
    "montreuil-2016": (DATA / "montreuil-ca-2016-m14.xml", set()),
}


def raw_figures(path, ordre_chapters) -> dict[str, int]:
    """Decimal sums of MtReal: the whole file, revenue, ordre expenses, debt (real expenses 16… but 1675, 66…)."""
    sums = dict.fromkeys(["total", "revenue", "ordre", "debt"], Decimal(0))
    for f in _raw_lines(path):
        amount = Decimal(f.get("MtReal") or "0")
        nature = f["Nature"]
        ordre = f.get("OpBudg") == "1" or re.sub(r"\D", "", f.get("ContFon") or "") in ordre_chapters
        sums["total"] += amount
        if f["CodRD"] == "R":
            sums["revenue"] += amount
        elif ordre:
            sums["ordre"] += amount
        elif (nature.startswith("16") and not nature.startswith("1675")) or nature.startswith("66"):
            sums["debt"] += amount
    return {k: int(v * 100) for k, v in sums.items()}


def cents_of(text: str) -> int:
    """« 1 234,56 € » (French terminal) as cents."""
    return int(re.sub(r"[^\d-]", "", text))


def terminal_figures(stdout: str) -> dict[str, dict]:
    """Per axis: in scope, out of scope and its four parts, as the French terminal says them."""
    out: dict[str, dict] = {}
    axis = None
    money = r"(-?[\d\u202f]+,\d\d) €"
    for line in stdout.splitlines():
        if line.startswith("Axe "):
            axis = {"Atténuation du changement climatique": "attenuation"}.get(line[4:], "biodiversite" if "Biodiversité" in line else line[4:])
            out[axis] = {}
        elif axis and (m := re.fullmatch(rf"  dans le périmètre : {money} \((\d+) lignes\)", line)):
            out[axis]["in"] = cents_of(m.group(1))
        elif axis and (m := re.fullmatch(rf"  hors périmètre : {money} \((\d+) lignes\)", line)):
            out[axis]["out"] = cents_of(m.group(1))
        elif axis and (m := re.fullmatch(rf"    dont recettes {money}, opérations d'ordre {money}, dette {money}, autres motifs {money}", line)):
            out[axis].update({p: cents_of(m.group(i + 1)) for i, p in enumerate(PARTS)})
        elif not line.startswith(" "):
            axis = None
    return out


def synthese_figures(path) -> dict[str, dict]:
    """Per axis: in scope, out of scope, total and the four parts, read back from the Synthèse."""
    ws = openpyxl.load_workbook(path, read_only=True)["Synthèse"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    out: dict[str, dict] = {a: {} for a in AXIS_LABELS.values()}

    def block(header_test, read):
        start = next(i for i, r in enumerate(rows) if r and r[0] == "Axe" and header_test(r))
        for r in rows[start + 1 :]:
            if not r or r[0] not in AXIS_LABELS:
                break
            out[AXIS_LABELS[r[0]]].update(read(r))

    def cents(value) -> int:
        return round(Decimal(str(value)) * 100)

    block(lambda r: r[6] == "Hors périmètre" and str(r[7]).startswith("Total"), lambda r: {"in": cents(r[5]), "out": cents(r[6]), "total": cents(r[7])})
    block(lambda r: r[1] == "Recettes", lambda r: {**{p: cents(r[1 + i]) for i, p in enumerate(PARTS)}, "out_again": cents(r[5])})
    block(lambda r: r[1] == "Très favorable", lambda r: {"out_detail": cents(r[7])})
    return out


@pytest.fixture(scope="module", params=sorted(FILES))
def run(request, tmp_path_factory):
    path, ordre_chapters = FILES[request.param]
    if path == MONTPELLIER_XML:  # the same command as below, run once for several modules (conftest)
        shared = request.getfixturevalue("montpellier_classified")
        stdout, summary, workbook = shared.stdout, shared.summary, shared.workbook
    else:
        out = tmp_path_factory.mktemp(request.param)
        stdout = invoke(["classify", path, "-o", out / "annexe.xlsx", "--summary-json", out / "s.json"], 0).stdout
        summary, workbook = out / "s.json", out / "annexe.xlsx"
    return {
        "name": request.param,
        "raw": raw_figures(path, ordre_chapters),
        "terminal": terminal_figures(stdout),
        "json": json.loads(summary.read_text(encoding="utf-8")),
        "synthese": synthese_figures(workbook),
    }


def test_terminal_json_and_synthese_give_the_same_figures(run):
    data, terminal, synthese = run["json"], run["terminal"], run["synthese"]
    assert set(data["axes"]) == set(terminal) == {"attenuation", "biodiversite"}
    for axis, a in data["axes"].items():
        parts = {p: a["out_of_scope"]["parts"][p]["cents"] for p in PARTS}
        figures = {"in": a["in_scope"]["cents"], "out": a["out_of_scope"]["cents"], **parts}
        assert terminal[axis] == figures
        assert synthese[axis] == {**figures, "total": a["total"]["cents"], "out_again": figures["out"], "out_detail": figures["out"]}


def test_in_plus_out_is_the_raw_total_and_the_parts_are_the_raw_ones(run):
    raw, data = run["raw"], run["json"]
    assert data["total_cents"] == raw["total"]
    for a in data["axes"].values():
        out = a["out_of_scope"]
        parts = out["parts"]
        assert a["in_scope"]["cents"] + out["cents"] == a["total"]["cents"] == raw["total"]
        assert sum(parts[p]["cents"] for p in PARTS) == out["cents"]
        assert sum(parts[p]["lines"] for p in PARTS) == out["lines"]  # each out-of-scope line in exactly one part
        assert {p: parts[p]["cents"] for p in ("revenue", "ordre", "debt")} == {p: raw[p] for p in ("revenue", "ordre", "debt")}
        assert parts["revenue"]["cents"] > 0 and parts["debt"]["cents"] > 0 and parts["other"]["cents"] > 0
        # the reasons the register writes add up to the same out-of-scope total
        assert sum(r["cents"] for r in out["by_reason"]) == out["cents"]


# The figures the issue saw disagree (M€): the terminal's out of scope, the workbook's (spending only).
ISSUE_FIGURES = {"montpellier-2018": (577.8, 117.5), "montreuil-2016": (328.5, 70.4)}


def test_the_issue_figures_now_read_as_one(run):
    """Montreuil CA 2016: the terminal said « hors périmètre 328,5 M€ », the Synthèse 70,4 M€ (Montpellier
    CA 2018: 577,8 and 117,5): both now say the first, of which revenue is the difference."""
    data = run["json"]
    terminal_out, spending_out = ISSUE_FIGURES[run["name"]]
    for axis, a in data["axes"].items():
        out = a["out_of_scope"]
        assert round(out["cents"] / 1e8, 1) == terminal_out
        assert round((out["cents"] - out["parts"]["revenue"]["cents"]) / 1e8, 1) == spending_out
        assert run["synthese"][axis]["out"] == out["cents"]


# ---- hand-made lines: every part, through the shipped scope rulebook ---------------------------------


def split_lines() -> pd.DataFrame:
    base = hand_lines()
    extra = [  # nature, chapitre, section, sens, operation, cents
        ("66111", "66", "F", "D", "reel", 30_000_00),  # debt: interest
        ("1675", "16", "I", "D", "reel", 50_000_00),  # partnership contract: in scope
        ("6817", "68", "F", "D", "reel", 1_234_56),  # provisions: other
        ("002", "002", "F", "D", "reel", 2_000_00),  # carried-forward result: other
        ("1641", "16", "I", "R", "reel", 800_000_00),  # a loan received: revenue, not debt
        ("1641", "041", "I", "D", "ordre", 5_00),  # ordre on a debt account: ordre
    ]
    rows = []
    for i, (nature, chapitre, section, sens, operation, cents) in enumerate(extra):
        row = base.iloc[0].copy()
        row.update({"nature": nature, "chapitre": chapitre, "section": section, "sens": sens, "operation": operation, "amount_cents": cents,
                    "executed_cents": cents, "line_id": f"2024CA-00-{80 + i:05d}", "source_row": 80 + i, "fonction": "01"})
        rows.append(row)
    return model.conform(pd.concat([base, pd.DataFrame(rows)], ignore_index=True))


@pytest.fixture(scope="module")
def small():
    from budgetclimat.pipeline import run_lines

    return run_lines(split_lines())


def test_each_out_of_scope_line_in_exactly_one_part(small):
    from budgetclimat.engine.figures import compute, out_part

    # hand_lines: 1641 D 700 000,00 (debt), 6811 D ordre 400 000,00, 7811 R ordre 10 000,00 and 73111 R 5 000 000,00 (revenue)
    expected = {"revenue": 5_000_000_00 + 10_000_00 + 800_000_00, "ordre": 400_000_00 + 5_00, "debt": 700_000_00 + 30_000_00,
                "other": 1_234_56 + 2_000_00}
    figures = compute(small)
    total = int(split_lines()["amount_cents"].sum())
    for a in figures.axes.values():
        assert {p: a.out_parts[p].cents for p in PARTS} == expected
        assert {p: a.out_parts[p].lines for p in PARTS} == {"revenue": 3, "ordre": 2, "debt": 2, "other": 2}
        assert a.out_of_scope.cents == sum(expected.values())
        assert a.in_scope.cents + a.out_of_scope.cents == a.total.cents == figures.total_cents == total
    reg = small.register
    parts = out_part(reg, small.lines)
    assert parts.notna().to_numpy().tolist() == (reg["scope"] == "out").to_numpy().tolist()
    ppp = reg[reg["line_id"] == "2024CA-00-00081"]
    assert (ppp["scope"] == "in").all()


def test_small_run_terminal_json_and_synthese_agree(small, tmp_path):
    from budgetclimat.export.register import summary
    from budgetclimat.export.workbook import write_workbook
    from budgetclimat.report import classify_report

    data = summary(small)
    terminal = terminal_figures(classify_report(small).text())
    synthese = synthese_figures(write_workbook(small, tmp_path / "a.xlsx", timestamp=STAMP))
    for axis, a in data["axes"].items():
        figures = {"in": a["in_scope"]["cents"], "out": a["out_of_scope"]["cents"], **{p: a["out_of_scope"]["parts"][p]["cents"] for p in PARTS}}
        assert terminal[axis] == figures
        assert synthese[axis] == {**figures, "total": a["total"]["cents"], "out_again": figures["out"], "out_detail": figures["out"]}
    assert data["axes"]["attenuation"]["out_of_scope"]["parts"]["debt"] == {"cents": 730_000_00, "euros": "730000.00", "lines": 2}


def test_english_terminal_says_the_split(small):
    from budgetclimat import i18n
    from budgetclimat.report import classify_report

    i18n.set_language("en")
    text = classify_report(small).text()
    assert "of which revenue €5,810,000.00, ordre operations €400,005.00, debt €730,000.00, other reasons €3,234.56" in text


def test_several_years_give_each_year_and_the_synthese_the_latest(tmp_path):
    """Two exercices in one run: the JSON keeps the whole run in ``axes`` and each year in ``by_exercice``;
    the Synthèse shows the latest year, equal to its ``by_exercice`` entry."""
    from budgetclimat.export.register import summary
    from budgetclimat.export.workbook import write_workbook
    from budgetclimat.report import classify_report
    from budgetclimat.pipeline import run_lines

    first = split_lines()
    second = split_lines()
    second["exercice"] = 2025
    second["line_id"] = second["line_id"].str.replace("2024CA", "2025CA")
    second["amount_cents"] = second["amount_cents"] * 2
    second["executed_cents"] = second["amount_cents"]
    result = run_lines(model.conform(pd.concat([first, second], ignore_index=True)))
    data = summary(result)
    assert set(data["by_exercice"]) == {"2024", "2025"}
    year = data["by_exercice"]["2025"]
    assert year["total_cents"] == int(second["amount_cents"].sum())
    assert data["axes"]["attenuation"]["out_of_scope"]["cents"] == sum(
        data["by_exercice"][y]["axes"]["attenuation"]["out_of_scope"]["cents"] for y in ("2024", "2025"))
    synthese = synthese_figures(write_workbook(result, tmp_path / "a.xlsx", timestamp=STAMP))
    for axis, a in year["axes"].items():
        assert synthese[axis]["total"] == a["total"]["cents"] == year["total_cents"]
        assert synthese[axis]["out"] == a["out_of_scope"]["cents"] and synthese[axis]["in"] == a["in_scope"]["cents"]
        assert synthese[axis]["revenue"] == 2 * (5_000_000_00 + 10_000_00 + 800_000_00)
    text = classify_report(result).text()
    assert "Exercice 2025 (16 lignes ; la Synthèse du classeur montre le dernier exercice)" in text
