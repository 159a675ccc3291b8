"""Parquet input and partitioned reading (read/partitions.py): a file read in partitions gives exactly the
lines of a whole-file read; a Parquet file the lines of the CSV of the same data."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from budgetclimat import limits
from budgetclimat.errors import InvalidDataError
from budgetclimat.read import read_budget, read_budgets
from budgetclimat.read.partitions import combine_raw_totals, iter_partitions

from conftest import invoke

ROOT = Path(__file__).resolve().parents[1]
SET = {"budget_kind": "principal"}


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A seeded 50k-line M57 export as CSV, and its exact cent total (from the generator's integers)."""
    gen = _generator()
    frame, cents = gen.draw_lines(50_000, seed=7)
    out = tmp_path_factory.mktemp("gen")
    path = out / "erp-50k.csv"
    gen.write_csv(frame, path)
    return frame, cents, path


def whole_and_parts(path, lines, **kwargs):
    whole = read_budgets([path], **kwargs)[0]
    parts = list(iter_partitions([path], lines=lines, **kwargs))
    return whole, parts


def assert_same(whole, parts):
    together = pd.concat([p.lines for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(together, whole.lines)
    pd.testing.assert_frame_equal(combine_raw_totals([p.raw_totals for p in parts]), whole.raw_totals)
    cols = ["level", "code", "file", "row", "column", "value", "expected"]
    found = pd.concat([p.findings for p in parts], ignore_index=True)[cols]
    key = lambda f: sorted(map(str, f.astype("string").fillna("").itertuples(index=False)))  # noqa: E731
    # The rows set aside as totals are said once per partition that has some (one warning each).
    skipped = lambda f: f.query("code == 'total-rows-skipped'")  # noqa: E731
    assert key(found.drop(skipped(found).index)) == key(whole.findings[cols].drop(skipped(whole.findings).index))
    assert ", ".join(skipped(found)["value"]) == ", ".join(skipped(whole.findings)["value"])


# --- partitions ------------------------------------------------------------------------------------


def test_generated_50k_csv_in_7_partitions(generated):
    _, cents, path = generated
    whole, parts = whole_and_parts(path, 7_500, constants=SET)
    assert len(parts) == 7
    assert [len(p.lines) for p in parts] == [7_500] * 6 + [5_000]
    assert_same(whole, parts)
    assert sum(int(p.lines["amount_cents"].sum()) for p in parts) == int(cents.sum())
    assert parts[3].lines["source_row"].iloc[0] == 3 * 7_500 + 2  # header on row 1
    assert parts[3].lines["line_id"].iloc[0] == "2022CA-00-22501"
    assert [p.source.header["partition"] for p in parts] == [str(i) for i in range(1, 8)]
    assert len({p.source.sha256 for p in parts}) == 1 and parts[0].source.sha256 == whole.source.sha256


def test_file_size_limit_does_not_stop_partitions_but_rows_limit_applies_per_partition(generated):
    _, cents, path = generated
    with limits.override(file_mb=1):
        with pytest.raises(InvalidDataError) as caught:
            read_budget(path, constants=SET)
        assert caught.value.code == "input-too-large"
        parts = list(iter_partitions(path, lines=20_000, constants=SET))
    assert sum(int(p.lines["amount_cents"].sum()) for p in parts) == int(cents.sum())
    with limits.override(rows=30_000):
        with pytest.raises(InvalidDataError):
            read_budget(path, constants=SET)
        assert len(list(iter_partitions(path, lines=20_000, constants=SET))) == 3  # 20,000 + 20,000 + 10,000
        with pytest.raises(InvalidDataError) as caught:
            list(iter_partitions(path, lines=40_000, constants=SET))
        assert caught.value.code == "sheet-too-large"


HEADER = "Exercice;Type de document;Nomenclature;Section;Sens;Réel/Ordre;Chapitre;Nature;Libellé;Montant"
ACCOUNTS = [("F", "D", "011", "60611"), ("F", "D", "012", "64111"), ("I", "D", "21", "2188"), ("F", "R", "73", "73111")]


def rows_text(n: int, quoted_newlines: bool = False, start: int = 0) -> tuple[list[str], list[Decimal]]:
    rows, amounts = [], []
    for i in range(start, start + n):
        section, sens, chapter, nature = ACCOUNTS[i % len(ACCOUNTS)]
        amount = Decimal(1000 + 37 * i) + Decimal(i % 100) / 100
        label = f"Achat n° {i} — été"
        if quoted_newlines and i % 3 == 0:
            label = f'"Ligne {i}\nsuite; avec ""guillemets""\nfin"'
        rows.append(f"2022;CA;M57;{section};{sens};Réel;{chapter};{nature};{label};{str(amount).replace('.', ',')}")
        amounts.append(amount)
    return rows, amounts


def cents(amounts) -> int:
    return int(sum(amounts) * 100)


def test_quoted_newlines(tmp_path):
    rows, amounts = rows_text(40, quoted_newlines=True)
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    whole, parts = whole_and_parts(path, 6, constants=SET)
    assert [len(p.lines) for p in parts] == [6] * 6 + [4]
    assert_same(whole, parts)
    labels = pd.concat([p.lines for p in parts])["label"]
    assert labels.str.contains("\n", regex=False).sum() == 14
    assert labels.iloc[3] == 'Ligne 3\nsuite; avec "guillemets"\nfin'
    assert sum(int(p.lines["amount_cents"].sum()) for p in parts) == cents(amounts)
    assert list(pd.concat([p.lines for p in parts])["source_row"]) == list(range(2, 42))


def test_windows_1252(tmp_path):
    rows, amounts = rows_text(25)
    path = tmp_path / "ansi.csv"
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("cp1252"))
    whole, parts = whole_and_parts(path, 4, constants=SET)
    assert len(parts) == 6
    assert_same(whole, parts)
    assert whole.source.encoding == "cp1252" and {p.source.encoding for p in parts} == {"cp1252"}
    assert pd.concat([p.lines for p in parts])["label"].str.endswith("été").all()
    assert sum(int(p.lines["amount_cents"].sum()) for p in parts) == cents(amounts)
    assert sum(int((p.findings["code"] == "encoding-fallback").sum()) for p in parts) == 1


def _titled(tmp_path, total_shift: int = 0) -> tuple[Path, list[Decimal]]:
    """Title rows, a blank row, the header, lines with a sub-total in the middle of the file (rows 5-13,
    in partitions 1-3), more lines, and a grand TOTAL at the end (row 27, of every line above)."""
    spent, spent_amounts = rows_text(9)
    spent = [r for r, a in zip(spent, spent_amounts)]
    more, more_amounts = rows_text(12, start=9)
    subtotal = sum(spent_amounts)
    total = sum(spent_amounts) + sum(more_amounts) + total_shift
    lines = [
        "Commune de Partiville;;;;;;;;;", "Compte administratif 2022;;;;;;;;;", ";;;;;;;;;", HEADER, *spent,
        f";;;;;;;;Sous-total dépenses;{str(subtotal).replace('.', ',')}", *more,
        f";;;;;;;;TOTAL GÉNÉRAL;{str(total).replace('.', ',')}",
    ]
    path = tmp_path / "titled.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, spent_amounts + more_amounts


def test_title_rows_and_total_rows_across_partitions(tmp_path):
    path, amounts = _titled(tmp_path)
    whole, parts = whole_and_parts(path, 4, constants=SET)
    assert [len(p.lines) for p in parts] == [4, 4, 3, 4, 4, 2]  # 23 records: 21 lines, 2 total rows
    assert_same(whole, parts)
    assert sum(int(p.lines["amount_cents"].sum()) for p in parts) == cents(amounts)
    codes = list(pd.concat([p.findings for p in parts])["code"])
    assert "total-row-mismatch" not in codes and codes.count("total-rows-skipped") == 2
    assert parts[0].lines["source_row"].iloc[0] == 5  # three title rows, the header on row 4
    assert "TOTAL" in parts[-1].findings.query("code == 'total-rows-skipped'")["value"].iloc[0]


def test_wrong_total_row_found_in_a_later_partition(tmp_path):
    path, _ = _titled(tmp_path, total_shift=1)
    whole, parts = whole_and_parts(path, 4, constants=SET)
    assert_same(whole, parts)
    mismatches = pd.concat([p.findings for p in parts]).query("code == 'total-row-mismatch'")
    assert list(mismatches["row"]) == [27]


def test_folder_of_two_files_and_glob(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    first, a1 = rows_text(10)
    second, a2 = rows_text(7, start=50)
    (folder / "a.csv").write_text("\n".join([HEADER, *first]) + "\n", encoding="utf-8")
    (folder / "b.csv").write_text("\n".join([HEADER, *second]) + "\n", encoding="utf-8")
    (folder / "notes.md").write_text("not a budget", encoding="utf-8")
    whole = read_budgets([folder / "a.csv", folder / "b.csv"], constants=SET)
    for source in ([folder], [str(folder / "*.csv")]):
        parts = list(iter_partitions(source, lines=3, constants=SET))
        assert [p.source.path.name for p in parts] == ["a.csv"] * 3 + ["b.csv"] * 2
        together = pd.concat([p.lines for p in parts], ignore_index=True)
        expected = pd.concat([d.lines for d in whole], ignore_index=True)
        pd.testing.assert_frame_equal(together, expected)
        assert together["line_id"].iloc[-1] == "2022CA-00-00007~1"
        assert int(together["amount_cents"].sum()) == cents(a1 + a2)


# --- Parquet ---------------------------------------------------------------------------------------


def test_parquet_reads_as_the_csv_of_the_same_data(tmp_path):
    gen = _generator()
    frame, amounts = gen.draw_lines(3_000, seed=3)
    gen.write_csv(frame, tmp_path / "same.csv")
    gen.write_parquet(frame, tmp_path / "same.parquet")
    from_csv = read_budget(tmp_path / "same.csv", constants=SET)
    from_parquet = read_budget(tmp_path / "same.parquet", constants=SET)
    pd.testing.assert_frame_equal(from_parquet.lines.drop(columns="source_file"), from_csv.lines.drop(columns="source_file"))
    pd.testing.assert_frame_equal(from_parquet.raw_totals, from_csv.raw_totals)
    assert int(from_parquet.lines["amount_cents"].sum()) == int(amounts.sum())
    parts = list(iter_partitions(tmp_path / "same.parquet", lines=1_000, constants=SET))
    assert len(parts) == 3
    assert_same(from_parquet, parts)


def test_parquet_typed_columns_read_as_workbook_numbers(tmp_path):
    """Integer codes without « .0 », float and decimal amounts to the cent, a sub-cent float named."""
    table = pa.table({
        "Exercice": pa.array([2022, 2022, 2022, 2022], pa.int64()),
        "Type de document": ["CA", "CA", "CA", "CA"],
        "Nomenclature": ["M57"] * 4,
        "Section": ["F", "F", "I", "F"],
        "Sens": ["D", "D", "D", "R"],
        "Chapitre": pa.array(["011", "012", "21", "73"]).dictionary_encode(),
        "Nature": pa.array([60611, 64111, 2188, 73111], pa.int32()),
        "Montant": pa.array([1234.56, 0.1, 99999999.99, 12.345], pa.float64()),
        "Crédits": pa.array([Decimal("1.10"), Decimal("2.00"), None, Decimal("-3.25")], pa.decimal128(12, 2)),
    })
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    doc = read_budget(path, constants=SET, profile=None)
    lines = doc.lines
    assert list(lines["nature"]) == ["60611", "64111", "2188", "73111"]
    assert list(lines["exercice"]) == [2022] * 4
    assert list(lines["source_row"]) == [2, 3, 4, 5]
    assert list(lines["executed_cents"].iloc[:3]) == [123456, 10, 9999999999]
    bad = doc.findings.query("code == 'amount-too-precise'")
    assert list(bad["row"]) == [5] and list(bad["column"]) == ["Montant"]


def test_parquet_on_the_command_line_and_damaged(tmp_path):
    gen = _generator()
    frame, amounts = gen.draw_lines(200, seed=5)
    path = tmp_path / "cli.parquet"
    gen.write_parquet(frame, path)
    result = invoke(["validate", path, "--set", "budget_kind=principal"], 0)
    assert "illisible" not in result.output
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(path.read_bytes()[:300])
    result = invoke(["validate", broken, "--set", "budget_kind=principal"], 1)
    assert "Parquet" in result.output and "broken.parquet" in result.output


# --- raw totals summed in Arrow: the same reading of each cell as the per-cell Decimal one -----------

RAW_TEXTS = [
    "1 234,56", "1\u00a0234,56", "1\u202f234,56 €", "(123,45)", "123,45-", "\u221212,5", "+7", "++7,10", "1.234.567",
    "1,234,567", "1.234,56", "1,234.56", "12 €", "EUR 5", "5 euros", "1.5E+06", "2e-3", "abc", "", None, "1_000",
    "Infinity", "NaN", "1.234", "1,234", "0,001", "-0", ".5", "5.", "12,3456789", "99999999999999,99", " 42 ",
    "1\u20092\u2009345", "(1.234,5)", "3,5\u2212", "€ 9,99", "Eur12",
]


@pytest.mark.parametrize("mark", [",", ".", None])
def test_raw_decimal_array_reads_as_to_decimal(mark):
    from budgetclimat.read import tabular

    class Prof:
        decimal = mark
        amounts_in_cents = False

    frame = pd.DataFrame({"Montant": pd.Series(RAW_TEXTS, dtype="string")})
    table = tabular._Table(frame, {}, 1, None)
    got = tabular._raw_decimal_array(table, "Montant", Prof()).to_pylist()
    expected = [Decimal(0) if t is None else tabular._to_decimal(t, mark) for t in RAW_TEXTS]
    assert [Decimal(g) for g in got] == expected
    assert expected[9] == Decimal("1234567") and min(expected) < 0  # the reading compared is not all zeros


def _amount_file(tmp_path, amounts: list[str]) -> Path:
    rows = [f"2022;CA;M57;F;D;Réel;011;60611;Achat {i};{a}" for i, a in enumerate(amounts)]
    path = tmp_path / "marks.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_decimal_mark_of_the_first_partition_settles_the_later_ones(tmp_path):
    """« 1.234 » alone in a later partition is 1 234 € as in a whole-file read: the comma of « 12,5 » in the
    first partition settled the column."""
    path = _amount_file(tmp_path, ["12,5", "3,25", "7", "1.234", "2.000", "8"])
    whole, parts = whole_and_parts(path, 3, constants=SET)
    assert len(parts) == 2
    assert_same(whole, parts)
    assert list(pd.concat([p.lines for p in parts])["amount_cents"]) == [1250, 325, 700, 123400, 200000, 800]


def test_decimal_mark_changing_between_partitions_is_an_error(tmp_path):
    """A comma column up to row 4, a point column after: read whole, « 1.234 » has two readings
    (amount-ambiguous); read in parts, the later part is an error (never read with the other mark in silence)."""
    path = _amount_file(tmp_path, ["12,5", "3,25", "7", "1.5", "1.234", "8"])
    whole, parts = whole_and_parts(path, 3, constants=SET)
    assert "amount-ambiguous" in set(whole.findings["code"])
    changed = pd.concat([p.findings for p in parts]).query("code == 'amount-mark-changes'")
    assert list(changed["row"]) == [5] and list(changed["value"]) == ["."] and list(changed["expected"]) == [","]
    assert changed["level"].eq("error").all()


def test_xml_file_is_read_whole_then_sliced():
    xml = ROOT / "tests" / "data" / "montpellier-ca-2018-m57.xml"
    parts = list(iter_partitions([xml], lines=600))
    whole = read_budget(xml)
    assert len(whole.lines) == 1697 and [len(p.lines) for p in parts] == [600, 600, 497]
    pd.testing.assert_frame_equal(pd.concat([p.lines for p in parts], ignore_index=True), whole.lines)
    # the file's raw totals and findings ride on the first slice only: their sums are the file's
    pd.testing.assert_frame_equal(combine_raw_totals([p.raw_totals for p in parts]), combine_raw_totals([whole.raw_totals]))
    assert len(parts[0].findings) == len(whole.findings) and all(p.findings.empty for p in parts[1:])
    assert [len(p.lines) for p in iter_partitions([xml], lines=5000)] == [1697]


def test_malformed_row_in_a_later_partition_is_named_by_its_line_in_the_file(tmp_path):
    rows, _ = rows_text(20)
    rows[13] += ";de trop"  # line 15 of the file (header on line 1)
    path = tmp_path / "long.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    for read in (lambda: read_budget(path, constants=SET), lambda: list(iter_partitions(path, lines=4, constants=SET))):
        with pytest.raises(InvalidDataError) as caught:
            read()
        assert caught.value.code == "csv-malformed" and caught.value.params["row"] == 15


def test_short_row_and_bad_amount_in_later_partitions_keep_the_file_rows(tmp_path):
    rows, _ = rows_text(20)
    rows[10] = rows[10].rsplit(";", 2)[0]  # line 12: two fields missing
    rows[17] = rows[17].rsplit(";", 1)[0] + ";douze"  # line 19: not an amount
    path = tmp_path / "short.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    whole, parts = whole_and_parts(path, 4, constants=SET)
    assert_same(whole, parts)
    found = pd.concat([p.findings for p in parts]).set_index("code")["row"]
    assert found["row-fields-missing"] == 12 and found["amount-not-a-number"] == 19


@pytest.mark.parametrize("lines", [None, 100, 700])
def test_a_quote_never_closed_is_named_on_its_line_whole_or_in_partitions(tmp_path, lines):
    """The file line where the quote opens, the same read whole or in partitions of any size, and the reason in
    French (it used to be « ligne None », pandas' English, or an internal error from the csv module's field limit
    when partitions are cut)."""
    rows, _ = rows_text(2000)
    rows[1499] = rows[1499].replace("Achat n°", '"Achat n°', 1)  # file line 1501 (the header is line 1)
    path = tmp_path / "ouvert.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidDataError) as caught:
        read_budget(path, constants=SET) if lines is None else list(iter_partitions(path, lines=lines, constants=SET))
    assert (caught.value.code, caught.value.params["row"]) == ("csv-malformed", 1501)
    assert caught.value.message("fr") == "fichier ouvert.csv, ligne 1501 : structure CSV incorrecte (un guillemet ouvert sur cette ligne n'est jamais refermé)."


@pytest.mark.parametrize("lines", [None, 100])
def test_a_record_with_a_field_too_many_is_named_on_its_line(tmp_path, lines):
    rows, _ = rows_text(300)
    rows[249] += ";en trop"  # file line 251
    path = tmp_path / "champs.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidDataError) as caught:
        read_budget(path, constants=SET) if lines is None else list(iter_partitions(path, lines=lines, constants=SET))
    assert caught.value.params["row"] == 251
    assert "(10 champs attendus, 11 trouvés)" in caught.value.message("fr")


@pytest.mark.parametrize("body", ["", "\n\n\n"])
def test_a_header_without_records_is_an_empty_file_whole_or_in_partitions(tmp_path, body):
    """Read whole, such a file is « vide » (exit 1); in partitions it used to give no partition, so an empty run
    that exited 0 with an empty register."""
    path = tmp_path / "entete.csv"
    path.write_text(HEADER + "\n" + body, encoding="utf-8")
    for read in (lambda: read_budget(path, constants=SET), lambda: list(iter_partitions(path, lines=100, constants=SET))):
        with pytest.raises(InvalidDataError) as caught:
            read()
        assert caught.value.code == "empty-file"
