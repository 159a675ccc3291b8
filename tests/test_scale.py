"""The partitioned and Dask engines (``classify --engine partitions|dask``, :mod:`budgetclimat.scale`) give
the in-memory run's register and figures to the cent; staff costs split across partitions are allocated
from the whole budget's totals; a DGFiP balance of 50 collectivités gives one summary per collectivité
equal to classifying that collectivité's rows alone.

Figures are checked against sums computed here from the raw files (Decimal sums of the XML / CSV text, the
generator's cents), not only against the other engine, on Montpellier and on generated ERP exports of 4,500
and 200,000 lines (the latter generated and run in memory once per session). One Dask local cluster
(2 workers, 1 thread each) serves the session."""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from budgetclimat import model
from budgetclimat.export.register import summary, views_summary, write_lines
from budgetclimat.pipeline import STAFF_POOL, run, run_lines
from budgetclimat.read import read_budgets
from budgetclimat.read.partitions import iter_partitions
from budgetclimat.scale.collectivites import collectivite_sums, merge_sums
from budgetclimat.scale.engine import run_partitioned
from conftest import invoke

ROOT = Path(__file__).resolve().parents[1]
MONTPELLIER = ROOT / "examples" / "montpellier-ca-2018-m57.xml"
SORT = ["line_id", "axis", "piece"]


@pytest.fixture(scope="session")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _memory(files, tmp: Path, sort: bool = True, **options):
    """The in-memory run: its summary (no ranges: the other engines do not compute them) and Parquet register
    (read back and sorted when ``sort``)."""
    result = run(files, **options)
    result.bounds = None
    path = write_lines(result, tmp / "memory.parquet")
    return result, summary(result) | views_summary(result), _register(path) if sort else None


def _register(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values(SORT, kind="stable").reset_index(drop=True)


def _same(memory_summary: dict, other: dict) -> None:
    assert {k: v for k, v in other.items() if k not in ("engine", "collectivites")} == memory_summary


def _xml_total_cents(path: Path) -> int:
    """Σ MtReal of every LigneBudget, from the XML text (a CA: executed amounts)."""
    tree = etree.parse(str(path))
    values = tree.xpath("//*[local-name()='LigneBudget']/*[local-name()='MtReal']/@V")
    return int(sum(Decimal(v) for v in values) * 100)


@pytest.fixture(scope="module")
def montpellier(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("montpellier")
    return (tmp, *_memory([MONTPELLIER], tmp))


def test_montpellier_partitions_and_dask_equal_memory(montpellier, dask_client):
    tmp, result, memory_summary, memory_register = montpellier
    assert memory_summary["total_cents"] == _xml_total_cents(MONTPELLIER)
    n = len(result.lines)
    staff = result.register[result.register["decided_by"] == "staff"]["line_id"].unique()
    positions = result.lines.index[result.lines["line_id"].isin(staff)]
    assert positions.min() < 600 < positions.max()  # staff lines fall in several partitions of 600 lines
    from distributed import get_task_stream

    from budgetclimat.scale.dask_engine import run_dask

    part = run_partitioned([MONTPELLIER], partition_lines=600, lines_out=tmp / "partitions.parquet")
    with get_task_stream(dask_client) as tasks:
        dask = run_dask([MONTPELLIER], client=dask_client, partition_lines=600, lines_out=tmp / "dask.parquet")
    assert part.partitions == dask.partitions == -(-n // 600) > 1
    # One dask.dataframe task per partition and pass (staff basis, then classification): from_map's
    # load_partition fused with map_partitions' classify_partitions.
    keys = [str(t["key"]) for t in tasks.data]
    assert len(keys) == 2 * dask.partitions and all("load_partition-classify_partitions" in k for k in keys)
    for other, name in ((part, "partitions"), (dask, "dask")):
        _same(memory_summary, other.summary)
        assert other.summary["engine"]["name"] == name
        pd.testing.assert_frame_equal(_register(tmp / f"{name}.parquet"), memory_register)
    assert memory_register["amount_share_cents"].sum() == len(result.ruleset.axes) * memory_summary["total_cents"]


def test_staff_costs_across_partitions_3b(montpellier, tmp_path):
    """3b (per fonction) split over 2 partitions: the allocation of the whole budget, to the cent; each
    partition allocating from its own lines alone would not give it (what the two passes are for)."""
    _, result, _, _ = montpellier
    memory, memory_summary, memory_register = _memory([MONTPELLIER], tmp_path, staff_costs="3b")
    staff = memory_register[memory_register["decided_by"] == "staff"]
    assert len(staff) and set(staff["allocation"]) >= {"3b-fonction"}
    part = run_partitioned([MONTPELLIER], staff_costs="3b", partition_lines=900, lines_out=tmp_path / "p.parquet")
    _same(memory_summary, part.summary)
    pd.testing.assert_frame_equal(_register(tmp_path / "p.parquet"), memory_register)
    # The same partitions, each alone: the staff lines get other shares.
    ruleset = memory.ruleset
    alone = pd.concat([run_lines(model.conform(doc.lines), ruleset).register for doc in iter_partitions([MONTPELLIER], lines=900)])
    alone = alone[alone["decided_by"] == "staff"].sort_values(SORT).reset_index(drop=True)
    mine = memory.register[memory.register["decided_by"] == "staff"].sort_values(SORT).reset_index(drop=True)
    assert len(alone) != len(mine) or not alone["amount_share_cents"].equals(mine["amount_share_cents"])


def _generate_csv(path: Path, n: int, seed: int) -> int:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", module)
    spec.loader.exec_module(module)
    frame, cents = module.draw_lines(n, seed)
    module.write_csv(frame, path)
    return int(cents.sum())


def test_generated_csv_partitions_dask_memory(tmp_path, dask_client):
    """A generated ERP export (the benchmark's generator, 4.5k lines) in partitions of 1,500 lines: register
    CSV (one BOM, one header) and figures identical in the three engines. The 200k test below writes Parquet."""
    from budgetclimat.scale.dask_engine import run_dask

    csv = tmp_path / "erp.csv"
    cents = _generate_csv(csv, 4_500, seed=12)
    constants = {"budget_kind": "principal"}
    result = run([csv], constants=constants)
    result.bounds = None
    memory_summary = summary(result) | views_summary(result)
    assert memory_summary["total_cents"] == cents and memory_summary["lines"] == 4_500
    write_lines(result, tmp_path / "memory.csv")
    part = run_partitioned([csv], constants=constants, partition_lines=1_500, lines_out=tmp_path / "partitions.csv")
    dask = run_dask([csv], client=dask_client, constants=constants, partition_lines=1_500, lines_out=tmp_path / "dask.csv")
    assert part.partitions == dask.partitions == 3
    expected = pd.read_csv(tmp_path / "memory.csv", sep=";", dtype=str, encoding="utf-8-sig").sort_values(SORT).reset_index(drop=True)
    for other, name in ((part, "partitions"), (dask, "dask")):
        _same(memory_summary, other.summary)
        text = (tmp_path / f"{name}.csv").read_bytes()
        assert text.startswith(b"\xef\xbb\xbf") and text.count(b"\xef\xbb\xbf") == 1  # one BOM, one header
        got = pd.read_csv(tmp_path / f"{name}.csv", sep=";", dtype=str, encoding="utf-8-sig").sort_values(SORT).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)


@pytest.fixture(scope="module")
def erp_200k(tmp_path_factory):
    """A generated ERP export of 200,000 lines (the benchmark's generator, seed 12), made once, and its
    in-memory run: summary (no ranges: the partitioned engines do not compute them, and skipping them is
    most of what a 200k in-memory run would cost) and sorted Parquet register, as an Arrow table. The
    run itself is dropped: only these are kept while the other engines run."""
    tmp = tmp_path_factory.mktemp("erp200k")
    csv = tmp / "erp.csv"
    cents = _generate_csv(csv, 200_000, seed=12)
    result, memory_summary, _ = _memory([csv], tmp, constants={"budget_kind": "principal"}, sort=False)
    staff = result.lines.index[result.lines["line_id"].isin(result.register.loc[result.register["decided_by"] == "staff", "line_id"])]
    axes = len(result.ruleset.axes)
    del result
    return csv, cents, memory_summary, _arrow_register(tmp / "memory.parquet"), staff, axes


def _arrow_register(path: Path):
    import pyarrow.parquet as pq

    return pq.read_table(path).sort_by([(c, "ascending") for c in SORT])


def test_generated_200k_memory_partitions_dask(erp_200k, tmp_path, dask_client):
    """200,000 generated lines (CSV) in partitions of 50,000: the partitioned engine and Dask (2 workers)
    give the in-memory run's register (Parquet, every column and type: ``Table.equals`` after the same
    sort) and summary JSON; the total is the generator's, the staff lines fall in several partitions
    (the two passes of the staff pro rata matter)."""
    from budgetclimat.scale.dask_engine import run_dask

    csv, cents, memory_summary, memory_register, staff, axes = erp_200k
    assert memory_summary["total_cents"] == cents and memory_summary["lines"] == 200_000
    assert _arrow_sum(memory_register, "amount_share_cents") == axes * cents
    assert len(staff) and staff.min() < 50_000 and staff.max() >= 150_000
    constants = {"budget_kind": "principal"}
    part = run_partitioned([csv], constants=constants, partition_lines=50_000, lines_out=tmp_path / "partitions.parquet", by_collectivite=False)
    dask = run_dask([csv], client=dask_client, constants=constants, partition_lines=50_000, lines_out=tmp_path / "dask.parquet",
                    by_collectivite=False)
    assert part.partitions == dask.partitions == 4
    for other, name in ((part, "partitions"), (dask, "dask")):
        _same(memory_summary, other.summary)
        got = _arrow_register(tmp_path / f"{name}.parquet")
        assert got.schema.equals(memory_register.schema) and got.num_rows == memory_register.num_rows
        assert got.equals(memory_register), name


def _arrow_sum(table, column: str) -> int:
    import pyarrow.compute as pc

    return int(pc.sum(table.column(column)).as_py())


# ---- many collectivités: a DGFiP balance -------------------------------------------------------------

DGFIP_HEADER = "EXER;IDENT;NDEPT;LBUDG;INSEE;CBUDG;CTYPE;NOMEN;SIREN;FONCTION;COMPTE;BEDEB;BECRE;OBNETDEB;OBNETCRE;OOBDEB;OOBCRE;SD;SC"
ACCOUNTS = ["6411", "6413", "60612", "6068", "611", "6574", "2031", "21312", "2182", "7311", "74111", "6811", "28031", "1641", "66111"]


def _dgfip(path: Path, collectivites: int = 50, rows: int = 16, seed: int = 5) -> int:
    """A balance of ``collectivites`` communes (one budget each), ``rows`` account × fonction rows each;
    returns Σ (OBNETDEB + OBNETCRE) in cents: every canonical line's amount comes from those."""
    rng = np.random.default_rng(seed)
    out, total = [DGFIP_HEADER], 0
    for k in range(collectivites):
        siren = f"2{k:08d}"
        for _ in range(rows):
            account = ACCOUNTS[rng.integers(len(ACCOUNTS))]
            fonction = ["020", "212", "411", "813", "01"][rng.integers(5)]
            deb = int(rng.integers(1, 5_000_000)) if account[0] in "1236" or account == "6811" else 0
            cre = int(rng.integers(1, 5_000_000)) if account[0] in "7" or account.startswith("28") else 0
            oob_deb = deb if account == "6811" else 0
            oob_cre = cre if account.startswith("28") else 0
            total += deb + cre
            euros = lambda c: f"{c // 100},{c % 100:02d}"  # noqa: E731
            out.append(f"2022;{k};034;COMMUNE {k:02d};34{k:03d};1;201;M57;{siren};{fonction};{account};0;0;{euros(deb)};{euros(cre)};"
                       f"{euros(oob_deb)};{euros(oob_cre)};0;0")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return total


def test_dgfip_balance_per_collectivite(tmp_path):
    balance = tmp_path / "balance.csv"
    total = _dgfip(balance)
    part = run_partitioned([balance], profile="dgfip", partition_lines=250)  # 250 balance rows, up to 4 lines each
    assert part.partitions >= 3
    table = part.collectivites
    sirens = table.loc[table["level"] == "collectivite", "siren"].unique()
    assert len(sirens) == 50
    national = table[table["level"] == "national"].set_index("axis")
    assert set(national["total_cents"]) == {total} and part.summary["total_cents"] == total
    for column in ("lines", "in_scope_cents", "out_of_scope_cents", "class_AA_cents"):
        assert (national[column] == table[table["level"] == "collectivite"].groupby("axis")[column].sum()).all()
    # Each collectivité classified alone, in memory: the same row, to the cent (staff costs included).
    lines = model.conform(pd.concat([d.lines for d in read_budgets([balance], profile="dgfip")], ignore_index=True))
    siren = lines["siret"].astype("string")
    partition_of = pd.concat([pd.Series(k, index=d.lines["line_id"].astype(str).to_numpy())
                              for k, d in enumerate(iter_partitions([balance], lines=250, profile="dgfip"))])
    spread = pd.Series(partition_of.reindex(lines["line_id"].astype(str).to_numpy()).to_numpy()).groupby(siren.to_numpy()).nunique()
    straddling = list(spread[spread > 1].index)
    chosen = sorted({straddling[0], sirens[0], sirens[-1]})
    assert straddling and len(chosen) >= 2
    ruleset = part.ruleset
    for s in chosen:
        mine = lines[(siren == s).to_numpy()].reset_index(drop=True)
        alone = run_lines(mine, ruleset, staff_basis=STAFF_POOL)
        assert (alone.register["decided_by"] == "staff").any()
        expected = merge_sums([collectivite_sums(alone.lines, alone.register)], list(ruleset.axes))
        expected = expected[expected["level"] == "collectivite"].reset_index(drop=True)
        got = table[(table["level"] == "collectivite") & (table["siren"] == s)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    assert len(part.summary["collectivites"]) == 50


def test_dgfip_cli_summary_by_collectivite(tmp_path):
    balance = tmp_path / "balance.csv"
    total = _dgfip(balance, collectivites=4, rows=8)
    out, js = tmp_path / "collectivites.parquet", tmp_path / "resume.json"
    invoke(["classify", balance, "--profile", "dgfip", "--engine", "partitions", "--partition-lines", "1000",
            "--summary-by-collectivite", out, "--summary-json", js])
    table = pd.read_parquet(out)
    assert table.loc[table["level"] == "collectivite", "siren"].nunique() == 4
    assert set(table.loc[table["level"] == "national", "total_cents"]) == {total}
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["total_cents"] == total and len(data["collectivites"]) == 4
    # The in-memory engine writes the same table.
    invoke(["classify", balance, "--profile", "dgfip", "--summary-by-collectivite", tmp_path / "memory.parquet"])
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "memory.parquet"), table)


# ---- what the engines refuse -------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["partitions", "dask"])
def test_workbook_not_available_in_partitioned_engines(tmp_path, engine):
    got = invoke(["classify", MONTPELLIER, "--engine", engine, "-o", tmp_path / "annexe.xlsx"], code=2)
    assert "-o" in got.stderr and f"--engine {engine}" in got.stderr
    assert not (tmp_path / "annexe.xlsx").exists()


def test_scheduler_only_with_dask():
    got = invoke(["classify", MONTPELLIER, "--scheduler", "tcp://127.0.0.1:1"], code=2)
    assert "--engine dask" in got.stderr


def test_partition_lines_only_with_a_partitioned_engine():
    got = invoke(["classify", MONTPELLIER, "--partition-lines", "5000"], code=2)
    assert "--partition-lines 5000" in got.stderr and "--engine partitions" in got.stderr


def test_partitioned_terminal_says_the_ranges_are_not_computed():
    memory = invoke(["classify", MONTPELLIER])
    part = invoke(["classify", MONTPELLIER, "--engine", "partitions"])
    assert "tant que les questions sont ouvertes : favorable entre" in memory.stdout
    assert "non calculées avec --engine partitions" not in memory.stdout
    assert part.stdout.count("non calculées avec --engine partitions") == 2  # once per axis, where memory shows them


def test_dask_scheduler_unreachable():
    pytest.importorskip("distributed")
    got = invoke(["classify", MONTPELLIER, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"], code=2)
    assert "injoignable" in got.stderr and "tcp://127.0.0.1:9" in got.stderr


def test_unplaceable_line_stops_every_engine(tmp_path, dask_client):
    """A line without sens stops the run (exit 1, ``lines-unplaceable`` with its findings) in every engine,
    also when raised on a Dask worker."""
    from budgetclimat.errors import FindingsError
    from budgetclimat.scale.dask_engine import run_dask

    csv = tmp_path / "sans-sens.csv"
    csv.write_text("Exercice;Type de document;Section;Sens;Chapitre;Compte;Fonction;Libellé;Réalisé\n"
                   "2023;CA;F;D;011;60612;020;Électricité;100,00\n"
                   "2023;CA;F;;011;60622;020;Carburants;50,00\n", encoding="utf-8")
    options = {"constants": {"budget_kind": "principal", "nomenclature": "M57"}}
    for call in (lambda: run([csv], **options), lambda: run_partitioned([csv], **options),
                 lambda: run_dask([csv], client=dask_client, **options)):
        with pytest.raises(FindingsError) as caught:
            call()
        assert caught.value.code == "lines-unplaceable" and caught.value.params["row"] == 3 and len(caught.value.findings)


# ---- a folder or a glob of files on the command line ----------------------------------------------------

RENAMED = ["line_id", "source_file", "source_row"]  # what names a line by its file: the rest is the same line


def _split_csv(source: Path, folder: Path, parts: int) -> list[Path]:
    """``source`` cut into ``parts`` CSV files of consecutive lines, each with the header (names sort in order)."""
    header, *rows = source.read_bytes().decode("utf-8-sig").splitlines()
    folder.mkdir()
    size = -(-len(rows) // parts)
    paths = []
    for k in range(parts):
        path = folder / f"part-{k + 1}.csv"
        path.write_text("\n".join([header, *rows[k * size:(k + 1) * size]]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _lines_register(path: Path) -> pd.DataFrame:
    """A CSV register in line order (files in order, then rows, then axis and piece), without what names a
    line by its file."""
    frame = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    order = pd.DataFrame({"file": frame["source_file"], "row": frame["source_row"].astype(int), "axis": frame["axis"],
                          "piece": frame["piece"].astype(int)})
    return frame.loc[order.sort_values(["file", "row", "axis", "piece"], kind="stable").index].drop(columns=RENAMED).reset_index(drop=True)


def _figures(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: data[k] for k in ("lines", "total_cents", "axes", "worklist", "weighted", "carbon")}


def test_folder_and_glob_on_the_command_line_equal_the_single_file(tmp_path):
    """A generated export cut into 3 files: the folder and the quoted glob give, in partitions, the register
    (line by line, but for the line's file, row and id) and the figures of the single file; the in-memory
    engine reads the folder too, with the same figures."""
    single = tmp_path / "erp.csv"
    cents = _generate_csv(single, 3_000, seed=12)
    files = _split_csv(single, tmp_path / "exports", 3)
    (tmp_path / "exports" / "notes.md").write_text("not a budget", encoding="utf-8")  # a folder's other files are left aside
    run = ["--engine", "partitions", "--partition-lines", "1000", "--set", "budget_kind=principal"]
    invoke(["classify", single, *run, "--lines-out", tmp_path / "single.csv", "--summary-json", tmp_path / "single.json"])
    expected = _lines_register(tmp_path / "single.csv")
    assert len(expected) > 3_000 and _figures(tmp_path / "single.json")["total_cents"] == cents
    for name, source in (("folder", tmp_path / "exports"), ("glob", str(tmp_path / "exports" / "part-*.csv"))):
        invoke(["classify", source, *run, "--lines-out", tmp_path / f"{name}.csv", "--summary-json", tmp_path / f"{name}.json"])
        pd.testing.assert_frame_equal(_lines_register(tmp_path / f"{name}.csv"), expected)
        assert _figures(tmp_path / f"{name}.json") == _figures(tmp_path / "single.json")
        assert json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["engine"]["partitions"] == 3  # one per file
        ids = pd.read_csv(tmp_path / f"{name}.csv", sep=";", dtype=str, encoding="utf-8-sig", usecols=["line_id", "source_file"])
        assert list(pd.unique(ids["source_file"])) == [f.name for f in files]
        assert ids.drop_duplicates().groupby("line_id").size().max() == 1  # the files' line ids stay distinct (~1, ~2)
    invoke(["classify", single, "--set", "budget_kind=principal", "--summary-json", tmp_path / "memory-single.json"])
    invoke(["classify", tmp_path / "exports", "--set", "budget_kind=principal", "--summary-json", tmp_path / "memory-folder.json"])
    memory = _figures(tmp_path / "memory-folder.json")
    assert memory == _figures(tmp_path / "memory-single.json") and memory["total_cents"] == cents


@pytest.mark.parametrize("engine", ["memory", "partitions"])
def test_folder_or_glob_without_a_budget_file(tmp_path, engine):
    empty = tmp_path / "vide"
    empty.mkdir()
    (empty / "lisez-moi.txt.bak").write_text("rien", encoding="utf-8")
    got = invoke(["classify", empty, "--engine", engine], code=2)
    assert f"Le dossier {empty} ne contient aucun fichier budgétaire" in got.stderr and "Traceback" not in got.stderr
    pattern = str(tmp_path / "absent-*.csv")
    got = invoke(["classify", pattern, "--engine", engine], code=2)
    assert f"Aucun fichier ne correspond au motif {pattern}" in got.stderr
    (tmp_path / "budget.csv").write_text("Exercice;Nature\n2022;6411\n", encoding="utf-8")
    (tmp_path / "budget.json").write_text("{}", encoding="utf-8")
    pattern = str(tmp_path / "budget.*")
    got = invoke(["classify", pattern, "--engine", engine, "--lines-out", tmp_path / "l.csv"], code=2)
    assert f"Le motif {pattern} désigne 1 fichier(s) qui ne sont pas des budgets, dont {tmp_path / 'budget.json'}" in got.stderr
    assert not (tmp_path / "l.csv").exists()


def test_merger_holds_the_same_rows_whatever_the_number_of_partitions(tmp_path):
    """Memory constant in the number of partitions: the merger of 2 and of 9 partitions of the same export
    holds as many rows (one worklist row per question × key × service, at most 200 line ids each, one
    reconciliation per file, one row per collectivité × axis), and gives the same worklist. Before, it kept
    every partition's worklist, reconciliation and sums (a list growing with the partitions)."""
    from budgetclimat.scale.engine import Merger, make_settings, process_partition

    csv = tmp_path / "erp.csv"
    _generate_csv(csv, 4_500, seed=7)
    settings = make_settings(register=False)
    held, worklists = {}, {}
    for lines in (2_500, 500):
        merger = Merger(settings)
        for doc in iter_partitions([csv], lines=lines, constants={"budget_kind": "principal"}):
            merger.add(process_partition(doc, settings, STAFF_POOL))
        held[merger.partitions] = merger.retained()
        worklists[merger.partitions] = merger.result("partitions").worklist
    assert sorted(held) == [2, 9]
    assert held[2] == held[9] and held[9]["worklist_rows"] > 100 and held[9]["collectivites"] > 0
    pd.testing.assert_frame_equal(worklists[2], worklists[9])
