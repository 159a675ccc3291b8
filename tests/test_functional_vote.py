"""Budgets voted par fonction (M57): the same budget voted par nature and par fonction reads the same.

The real Montpellier CA 2018 is voted par fonction. ``functional_vote`` (a deterministic generator, run
here into a temporary folder) writes it voted par nature, then writes that par-nature document voted par
fonction again with the variations seen in the wild: ``OpBudg`` absent on ordre lines (the functional
ordre chapter alone says ordre), comptes fonctionnels and plain fonctions in ``Fonction``, natures at 3
digits, a sub-chapter written « 904-4 ». Expected figures are Decimal sums of the generated XML text,
never what the code printed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import Decimal

import pandas as pd
import pytest
from conftest import DATA, MONTPELLIER_XML, invoke
from functional_vote import CLASS_SECTION, SPECIAL_SECTION, move_to_sub_chapter, to_vote_by_fonction, to_vote_by_nature
from lxml import etree

from budgetclimat.nomenclature import plan_for
from budgetclimat.read import read_budget
from budgetclimat.reconcile import reconcile
from budgetclimat.validate import validate_document

MONTPELLIER = DATA / "montpellier-ca-2018-m57.xml"
NS = "{http://www.minefi.gouv.fr/cp/demat/docbudgetaire}"
# The M57 functional ordre chapters, written down from the plan's labels (not read by the code under
# test): 925 opérations patrimoniales, 926/946 transferts entre les sections, 947 transferts à
# l'intérieur de la section de fonctionnement, 951/953 virements.
M57_ORDRE_CHAPTERS = {"925", "926", "946", "947", "951", "953"}
# M14: 910 opérations patrimoniales, 914/934 transferts entre sections, 935 opérations d'ordre à
# l'intérieur de la section de fonctionnement, 919/939 virements.
M14_ORDRE_CHAPTERS = {"910", "914", "919", "934", "935", "939"}
MONTREUIL = DATA / "montreuil-ca-2016-m14.xml"


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("functional-vote")
    plan, _ = plan_for("M57-M57", None, 2018)
    by_nature = to_vote_by_nature(MONTPELLIER, folder / "montpellier-par-nature.xml", plan)
    varied = to_vote_by_nature(MONTPELLIER, folder / "montpellier-par-nature-3-chiffres.xml", plan, truncate_every=25)
    move_to_sub_chapter(varied, varied, "441")  # fonction 441 -> compte fonctionnel 90441, chapter 9044
    by_fonction = to_vote_by_fonction(varied, folder / "montpellier-par-fonction.xml", plan, "M57")
    return {"real": MONTPELLIER, "nature": by_nature, "nature3": varied, "fonction": by_fonction}


def _raw_lines(path):
    for line in etree.parse(str(path)).iter(NS + "LigneBudget"):
        yield {child.tag.rpartition("}")[2]: child.get("V") for child in line}


def _independent_totals(path, ordre_chapters=M57_ORDRE_CHAPTERS) -> dict[tuple, int]:
    """Decimal sums of MtReal by section (account class) × sens × réel/ordre (OpBudg or ordre chapter)."""
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    for f in _raw_lines(path):
        nature = f["Nature"]
        section = SPECIAL_SECTION.get(nature) or CLASS_SECTION[nature[0]]
        chapter = re.sub(r"\D", "", f.get("ContFon") or "")
        ordre = f.get("OpBudg") == "1" or chapter in ordre_chapters
        sums[(section, f["CodRD"], "ordre" if ordre else "reel")] += Decimal(f.get("MtReal") or "0")
    return {k: int(v * 100) for k, v in sums.items()}


def _axes(summary_path) -> dict:
    data = json.loads(summary_path.read_text(encoding="utf-8"))
    return {
        axis: {
            "classes": {c: v["cents"] for c, v in a["classes"].items()},
            "in": a["in_scope"]["cents"],
            "out": a["out_of_scope"]["cents"],
            "reasons": {r["reason"]: r["cents"] for r in a["out_of_scope"]["by_reason"]},
        }
        for axis, a in data["axes"].items()
    }


def test_generated_documents_differ_as_intended(docs):
    fonction = list(_raw_lines(docs["fonction"]))
    nature = list(_raw_lines(docs["nature"]))
    assert all("ContFon" in f and "ContNat" not in f for f in fonction)
    assert all("ContNat" not in f or not f["ContNat"].startswith("9") for f in nature)
    assert all("ContFon" not in f for f in nature)
    assert sum(f["ContFon"] == "904-4" for f in fonction) == 1
    assert sum(len(f["Nature"]) == 3 and f["Nature"][0] == "6" for f in fonction) >= 10
    dropped = [f for f in fonction if re.sub(r"\D", "", f["ContFon"]) in M57_ORDRE_CHAPTERS and "OpBudg" not in f]
    assert len(dropped) >= 15  # ordre said by the chapter alone
    assert any(f.get("Fonction", "").startswith("93") for f in fonction)
    assert any(f.get("Fonction") and len(f["Fonction"]) <= 3 and f["ContFon"].startswith("93") for f in fonction)


@pytest.mark.parametrize("name", ["nature", "nature3", "fonction"])
def test_validate_exit_0_and_totals_equal_independent_sums(docs, name):
    data = json.loads(invoke(["validate", docs[name], "--format", "json"], 0).stdout)
    summary = data["files"][0]
    assert summary["errors"] == 0 and summary["reconciliation_ok"] is True and summary["ordre_balanced"] is True
    read = {(t["section"], t["sens"], t["operation"]): t["lines_cents"] for t in summary["totals"] if t["lines_out"]}
    assert read == _independent_totals(docs[name])
    # PRIMER §6: real expenses F 295.79 M€ and I 114.83 M€; ordre expenses F = ordre revenue I = 22.52 M€.
    assert round(read[("F", "D", "reel")] / 1e8, 2) == 295.79 and round(read[("I", "D", "reel")] / 1e8, 2) == 114.83
    assert read[("F", "D", "ordre")] == read[("I", "R", "ordre")] == 2252376105


def test_functional_lines_read_right(docs):
    doc = read_budget(docs["fonction"])
    lines = doc.lines
    raw = list(_raw_lines(docs["fonction"]))
    in_ordre_chapter = [re.sub(r"\D", "", f["ContFon"]) in M57_ORDRE_CHAPTERS for f in raw]
    assert list(lines["operation"] == "ordre") == in_ordre_chapter
    assert lines.loc[lines["operation"] == "ordre", "ordre_kind"].notna().all()
    assert set(lines.loc[lines["chapitre_fonction"] == "925", "ordre_kind"]) == {"interieur"}
    assert set(lines.loc[lines["chapitre_fonction"].isin(["926", "946", "951", "953"]), "ordre_kind"]) == {"section"}
    # chapitre is the chapter by nature, never a functional one; the functional chapter is beside it.
    assert not lines["chapitre"].str.startswith("9").fillna(False).any()
    assert lines["chapitre_fonction"].notna().all()
    assert set(lines.loc[lines["nature"].str.startswith("739").fillna(False), "chapitre"]) == {"014"}
    assert set(lines.loc[lines["nature"].isin(["6811"]), "chapitre"]) == {"042"}
    assert set(lines.loc[lines["nature"].str.startswith("28").fillna(False), "chapitre"]) == {"040"}
    sub = lines[lines["chapitre_fonction"] == "9044"]
    assert len(sub) == 1 and sub["fonction"].iloc[0] == "441" and sub["section"].iloc[0] == "I"
    # The fonction without its 90/93 prefix, whether the file wrote a compte fonctionnel or not.
    chapters = {re.sub(r"\D", "", f["ContFon"]) for f in raw}
    for fonction, read in zip([f.get("Fonction") for f in raw], lines["fonction"]):
        if fonction and len(fonction) >= 4 and fonction[:2] in ("90", "93"):  # M57 fonctions never start with 9
            assert read == fonction[2:], fonction
        elif fonction and fonction not in chapters:
            assert read == fonction, fonction
        else:
            assert read is pd.NA or read != read, fonction  # a non-ventilated chapter (926…) is no fonction
    rec = reconcile(doc)
    assert rec.ok and rec.ordre_balanced is True and rec.ordre_lines == sum(in_ordre_chapter)
    findings = validate_document(doc).findings
    assert not (findings["level"] == "error").any()
    assert "account-chapter-mismatch" not in set(findings["code"])
    assert set(findings["code"]) <= {"account-not-leaf", "duplicate-line"}  # 3-digit natures


def test_ordre_line_said_real_is_read_as_ordre_with_a_warning(docs, tmp_path):
    text = docs["fonction"].read_bytes()
    first = text.index(b'<ContFon V="926"/>')
    start = text.rindex(b"<LigneBudget>", 0, first)
    end = text.index(b"</LigneBudget>", first)
    block = text[start:end]
    assert b"<OpBudg" in block  # the generator keeps OpBudg on the first ordre line
    changed = tmp_path / "ordre-dit-reel.xml"
    changed.write_bytes(text[:start] + block.replace(b'<OpBudg V="1"/>', b'<OpBudg V="0"/>') + text[end:])
    data = json.loads(invoke(["validate", changed, "--format", "json"], 0).stdout)
    summary = data["files"][0]
    assert summary["counts"].get("functional-ordre-chapter") == 1
    assert summary["reconciliation_ok"] is True and summary["ordre_balanced"] is True


def test_coloured_budget_is_the_same_whatever_the_vote(docs, tmp_path, montpellier_classified):
    assert docs["real"] == MONTPELLIER_XML
    axes = {"real": _axes(montpellier_classified.summary)}  # the same summary, run once for several modules (conftest)
    for name in ("nature", "nature3", "fonction"):
        summary = tmp_path / f"{name}.json"
        invoke(["classify", docs[name], "--summary-json", summary], 0)
        axes[name] = _axes(summary)
    assert axes["real"] == axes["nature"]  # Montpellier as voted (par fonction) = the same voted par nature
    assert axes["nature3"] == axes["fonction"]  # same lines, 3-digit natures, voted par nature / par fonction
    # Atténuations de produits (chapter 014 by nature, whatever the functional chapter they are voted in:
    # 703894 is voted in 938 « Transports ») are out of scope in every vote, to the cent.
    plan, _ = plan_for("M57-M57", None, 2018)
    in_014 = set(plan.accounts.loc[plan.accounts["chapter_real_d"] == "014", "code"])
    raw = [f for f in _raw_lines(docs["fonction"]) if f["Nature"] in in_014 and f["CodRD"] == "D"]
    assert {"703894", "739211"} <= {f["Nature"] for f in raw}
    assert {f["ContFon"] for f in raw} == {"938", "940"}
    expected = sum(Decimal(f.get("MtReal") or "0") for f in raw)
    for name, by_axis in axes.items():
        reasons = by_axis["attenuation"]["reasons"]
        attenuation = [cents for reason, cents in reasons.items() if reason.startswith("Atténuation de produits")]
        assert attenuation == [int(expected * 100)], name


def test_no_ordre_line_is_not_checkable_and_not_balanced():
    from test_validate import GOOD, make_doc

    rec = reconcile(make_doc([GOOD, {**GOOD, "nature": "21318", "section": "I", "chapitre": "21"}]))
    assert rec.ordre_lines == 0 and rec.ordre_balanced is None
    assert "ordre-missing" not in set(rec.findings["code"])  # nothing says the document should have some


def test_ordre_only_accounts_read_as_real_say_ordre_missing():
    from test_validate import GOOD, make_doc

    depreciation = {**GOOD, "nature": "6811", "chapitre": "042", "executed_cents": 700}
    amortised = {**GOOD, "nature": "28051", "section": "I", "sens": "R", "chapitre": "040", "executed_cents": 700}
    rec = reconcile(make_doc([GOOD, depreciation, amortised]))
    assert rec.ordre_balanced is None
    missing = rec.findings[rec.findings["code"] == "ordre-missing"]
    assert len(missing) == 1
    finding = missing.iloc[0]
    assert (finding["level"], finding["value"], finding["row"], finding["column"]) == ("warning", "2", 11, "28051, 6811")


def test_validate_says_not_checkable(tmp_path):
    text = MONTPELLIER.read_bytes()
    first = text.index(b"<LigneBudget>")
    last = text.rindex(b"</LigneBudget>") + len(b"</LigneBudget>")
    two = text.index(b"</LigneBudget>", text.index(b"</LigneBudget>", first) + 1) + len(b"</LigneBudget>")
    small = tmp_path / "deux-lignes.xml"
    small.write_bytes(text[:two] + text[last:])  # the first two lines only: real, no ordre
    out = invoke(["validate", small], 0).stdout
    assert "Équilibre des opérations d'ordre : non vérifiable (aucune ligne lue comme opération d'ordre)" in out


def test_csv_export_with_a_functional_chapter_column(docs, tmp_path):
    """A generic export of the par-fonction document: « Chapitre » holds 930, 926, 904-4…; no réel/ordre column."""
    rows = ["Exercice;Document;Nomenclature;Section;Sens;Chapitre;Nature;Fonction;Réalisé"]
    for f in _raw_lines(docs["fonction"]):
        nature = f["Nature"]
        section = SPECIAL_SECTION.get(nature) or CLASS_SECTION[nature[0]]
        fonction = f.get("Fonction") or ""
        fonction = fonction[2:] if len(fonction) >= 4 and fonction[:2] in ("90", "93") else fonction
        fonction = "" if re.sub(r"\D", "", fonction) == re.sub(r"\D", "", f["ContFon"]) else fonction
        rows.append(f"2018;CA;M57-M57;{section};{f['CodRD']};{f['ContFon']};{nature};{fonction};{(f.get('MtReal') or '0').replace('.', ',')}")
    export = tmp_path / "montpellier-par-fonction.csv"
    export.write_text("\n".join(rows) + "\n", encoding="utf-8")
    doc = read_budget(export, constants={"budget_kind": "principal"})
    lines = doc.lines
    assert not lines["chapitre"].str.startswith("9").fillna(False).any()  # moved to chapitre_fonction
    assert (lines["chapitre_fonction"] == "9044").sum() == 1
    raw = list(_raw_lines(docs["fonction"]))
    assert list(lines["operation"] == "ordre") == [re.sub(r"\D", "", f["ContFon"]) in M57_ORDRE_CHAPTERS for f in raw]
    report = validate_document(doc)
    assert report.errors == 0 and "account-chapter-mismatch" not in set(report.findings["code"])
    assert report.reconciliation.ok and report.reconciliation.ordre_balanced is True
    read = report.reconciliation.totals.set_index(["section", "sens", "operation"])["lines_cents"]
    assert {k: int(read[k]) for k in _independent_totals(docs["fonction"])} == _independent_totals(docs["fonction"])


def _exit_code(args: list) -> int:
    """Exit code of ``budgetclimat *args`` (for a file whose validity depends on the plans shipped)."""
    from click.testing import CliRunner

    from budgetclimat.cli import run

    with CliRunner().isolation():
        return run([str(a) for a in args])


def test_m14_montreuil_voted_par_fonction_reads_as_voted_par_nature(tmp_path):
    """Montreuil CA 2016 (M14, voted par nature) written as a vote par fonction: 90x/92x, 91x/93x, ordre via 910/914/934/935."""
    plan, _ = plan_for("M14-M14_COM_SUP3500", None, 2016)
    functional = to_vote_by_fonction(MONTREUIL, tmp_path / "montreuil-par-fonction.xml", plan, "M14")
    raw = list(_raw_lines(functional))
    assert all("ContFon" in f and "ContNat" not in f for f in raw)
    in_ordre_chapter = [re.sub(r"\D", "", f["ContFon"]) in M14_ORDRE_CHAPTERS for f in raw]
    assert sum(in_ordre_chapter) >= 20 and sum(in_ordre_chapter) > sum(f.get("OpBudg") == "1" for f in raw)

    original = json.loads(_run_json(["validate", MONTREUIL, "--format", "json"]))["files"][0]
    data = json.loads(invoke(["validate", functional, "--format", "json"], 1 if original["errors"] else 0).stdout)
    summary = data["files"][0]
    assert "account-chapter-mismatch" not in summary["counts"]
    # Until the plan of 2016 is shipped, both read against the nearest M14 plan and share its
    # account-unknown errors; the vote par fonction adds none (the par-nature document's operation
    # chapters in ContNat are gone with ContNat).
    assert summary["errors"] <= original["errors"]
    assert summary["reconciliation_ok"] is True and summary["ordre_balanced"] is True
    read = {(t["section"], t["sens"], t["operation"]): t["lines_cents"] for t in summary["totals"] if t["lines_out"]}
    assert read == _independent_totals(functional, M14_ORDRE_CHAPTERS) == _independent_totals(MONTREUIL, set())

    lines = read_budget(functional).lines
    assert list(lines["operation"] == "ordre") == in_ordre_chapter
    assert not lines["chapitre"].str.startswith("9").fillna(False).any()
    assert set(lines.loc[lines["chapitre_fonction"] == "910", "ordre_kind"]) == {"interieur"}
    by_nature = read_budget(MONTREUIL).lines
    assert list(lines["fonction"].fillna("-")) == list(by_nature["fonction"].fillna("-"))  # 92812 read as 812, plain fonctions kept

    summaries = {}
    for name, path in (("nature", MONTREUIL), ("fonction", functional)):
        summaries[name] = tmp_path / f"{name}.json"
    code = _exit_code(["classify", MONTREUIL, "--summary-json", summaries["nature"]])
    invoke(["classify", functional, "--summary-json", summaries["fonction"]], code)
    assert _axes(summaries["nature"]) == _axes(summaries["fonction"])


def _run_json(args: list) -> str:
    from click.testing import CliRunner

    from budgetclimat.cli import run

    with CliRunner().isolation() as (out, _, _):
        run([str(a) for a in args])
        return out.getvalue().decode("utf-8")


@pytest.mark.parametrize(
    ("nomenclature", "year", "expected"),
    [
        ("M57-M57", 2018, {"925": "interieur", "926": "section", "946": "section", "947": "interieur", "951": "section", "953": "section"}),
        ("M14-M14_COM_SUP3500", 2016, {"910": "interieur", "914": "section", "934": "section", "935": "interieur", "919": "section", "939": "section"}),
    ],
)
def test_functional_ordre_chapters_come_from_the_plan(nomenclature, year, expected):
    from budgetclimat.nomenclature.functional import functional_chapter_table, functional_ordre_chapters

    plan, _ = plan_for(nomenclature, None, year)
    table = functional_chapter_table(plan).set_index("code")
    found = {code: kinds.dropna().iloc[0] for code, kinds in table[["ordre_kind_d", "ordre_kind_r"]].iterrows() if kinds.notna().any()}
    assert found == expected
    assert {c for c, _ in functional_ordre_chapters(plan)} == set(expected)
    # The virements are one-way: 953/939 are expenses of fonctionnement, 951/919 revenue of investissement.
    virements = {"M57-M57": (("953", "D"), ("951", "R")), "M14-M14_COM_SUP3500": (("939", "D"), ("919", "R"))}[nomenclature]
    pairs = functional_ordre_chapters(plan)
    assert all(v in pairs for v in virements) and not any((c, "R" if s == "D" else "D") in pairs for c, s in virements)
