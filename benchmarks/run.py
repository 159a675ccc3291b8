"""Benchmarks of the whole ``budgetclimat classify`` command at scale, as ratios to a bare read.

Run with ``make bench`` (100k + 1M ERP lines, a 100k-line TOTEM document, a 1M-row DGFiP balance of 500
collectivités) or ``python benchmarks/run.py [--sizes 100000 1000000] [--huge] [--totem N]
[--balance ROWSxC …]``; ``benchmarks/README.md`` lists the options. The suite never asserts
wall-clock times; this script measures them and writes ``docs/performance.md``.

For each generated input (``generate.py``, ``gen_totem.py``, ``gen_balance.py``: seeded, each with its
exact cent total), in the same run and each in its own process:

1. the bare read: ``pandas.read_csv(path, engine="pyarrow")`` for CSV, a calamine read of the first
   sheet for XLSX, ``pandas.read_parquet`` for Parquet, ``lxml.etree.parse`` for TOTEM;
2. the whole command ``budgetclimat classify FILE --lines-out R.parquet`` (ERP exports: plus ``--set
   budget_kind=principal``, the one column the ``generic`` profile cannot find), with ``-o
   annexe.xlsx`` as well up to 1M lines (the issue's 1M target includes the workbook); ``--limit``
   raised where an input goes over the default limits (the page says which);
3. on the ERP CSV above 100k lines, when ``classify --help`` lists them (detected at run time): the
   same command with ``--engine partitions`` (1M with the workbook, 10M under ``--huge`` without) and
   ``--engine dask`` (1M); a missing option gives a row « not available in this build »;
4. the phases inside one process: read, validate, classify, each view of ``result.views``, worklist,
   invariants, bounds, workbook (up to 1M lines), register.

Each process's wall time and peak RSS (``os.wait4``'s rusage of that child) are reported; the
``--engine`` runs also sample the summed RSS of every process of their session (workers included) from
``/proc``. Each process has a timeout (``--timeout``, default 900 s); a timed-out or failed run is
reported as such with the tail of its stderr. Ratios are to the bare read process's wall time
(interpreter start, imports and the read), the same kind of figure as the command's wall. Every
register written is checked against the generator's cent total (per collectivité for a balance).
A cProfile of the 100k CSV classify (top 15 by cumulative time) goes into the page too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
PYTHON = sys.executable
BUDGETCLIMAT = str(Path(sys.executable).with_name("budgetclimat"))
PAGE = ROOT / "docs" / "performance.md"

BARE = {
    "csv": "import pandas as pd, sys; pd.read_csv(sys.argv[1], engine='pyarrow', sep=';')",
    "xlsx": "import sys; from python_calamine import CalamineWorkbook as W; "
            "b = W.from_path(sys.argv[1]); b.get_sheet_by_index(0).to_python()",
    "parquet": "import pandas as pd, sys; pd.read_parquet(sys.argv[1], engine='pyarrow')",
    "totem": "import sys; from lxml import etree; etree.parse(sys.argv[1])",
}
BARE["balance-csv"], BARE["balance-parquet"] = BARE["csv"], BARE["parquet"]
BARE_TEXT = {
    "csv": "`pandas.read_csv(engine=\"pyarrow\")`", "balance-csv": "`pandas.read_csv(engine=\"pyarrow\")`",
    "xlsx": "calamine `to_python()` of sheet 0", "parquet": "`pandas.read_parquet`", "balance-parquet": "`pandas.read_parquet`",
    "totem": "`lxml.etree.parse` of the whole document",
}
# The command's default limits (budgetclimat.limits): raised per input when the file goes over them.
DEFAULT_LIMITS = {"file-mb": 200, "rows": 1_000_000, "cells": 10_000_000}
ERP_KINDS = {"csv", "xlsx", "parquet"}
INPUT_NAMES = {"csv": "ERP CSV", "xlsx": "ERP XLSX", "parquet": "ERP Parquet", "totem": "TOTEM XML",
               "balance-csv": "DGFiP balance CSV", "balance-parquet": "DGFiP balance Parquet"}
READ_OPTIONS = ["--set", "budget_kind=principal"]
CONSTANTS = {"budget_kind": "principal"}


# Every measured command is started by this small launcher (``python -I -S``, a few MiB), never forked
# from the runner itself: on Linux a child's ``ru_maxrss`` keeps the RSS of the memory it was forked
# with until its ``exec`` (the kernel records the old mm's high-water mark at exec), so a command forked
# from a runner holding generated data in memory would report the runner's RSS as its own peak. The
# launcher reports its child's exit status, wall time (from just before the spawn to the reaping) and
# ``ru_maxrss`` (KiB) as JSON in the file named by its first argument.
LAUNCHER = (
    "import json, os, subprocess, sys, time\n"
    "t = time.perf_counter(); p = subprocess.Popen(sys.argv[2:]); _, s, r = os.wait4(p.pid, 0)\n"
    "w = time.perf_counter() - t\n"
    "open(sys.argv[1], 'w').write(json.dumps({'status': s, 'wall': w, 'maxrss_kib': r.ru_maxrss}))\n"
)
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
TREE_EVERY = 0.2  # seconds between two samples of the process tree's RSS


def session_pids(session: int) -> list[int]:
    """The processes of ``session`` still alive (``/proc/PID/stat``, field 6)."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()) if os.path.isdir("/proc") else ():
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                if int(handle.read().rsplit(b")", 1)[1].split()[3]) == session:
                    found.append(int(pid))
        except (OSError, IndexError, ValueError):
            continue
    return found


def tree_rss(session: int) -> int:
    """Bytes resident in every process of ``session`` (the measured command started its own session:
    its children, a Dask scheduler, nannies and workers included), from ``/proc/PID/stat`` (session id,
    field 6) and ``/proc/PID/statm`` (resident pages). Processes that end between the listing and the
    read are skipped. 0 where ``/proc`` is missing."""
    total = 0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != session:  # after the comm: state, ppid, pgrp, session
                continue
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(cmd: list[str], timeout: float, cwd: Path | None = None, env: dict | None = None, tree: bool = False) -> dict:
    """Run ``cmd`` in its own process: wall seconds, peak RSS (MiB) of that process, exit code, stderr
    tail, stdout; ``status`` is ``ok`` (exit 0), ``invalid data`` (exit 1: the command reported errors
    in the file), ``failed`` (any other exit) or ``timeout`` (killed).

    ``rss_mib`` is ``os.wait4``'s ``ru_maxrss``: the peak of the process itself or of one of the
    descendants it waited for, never a sum. With ``tree``, the sum of the RSS of every process of the
    command's session is also sampled every :data:`TREE_EVERY` s (``tree_mib``, its maximum): what a
    Dask run with worker processes holds at once (a peak shorter than the interval can be missed; the
    launcher's few MiB are in it). The command runs under :data:`LAUNCHER` (see there why)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as box:
        report = Path(box) / "launcher.json"
        start = time.perf_counter()
        proc = subprocess.Popen([PYTHON, "-I", "-S", "-c", LAUNCHER, str(report), *cmd], stdout=out, stderr=err, cwd=cwd,
                                start_new_session=True, env={**os.environ, **env} if env else None)
        status, rusage, killed = None, None, False
        tree_peak, next_sample = 0, start
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if tree and time.perf_counter() >= next_sample:
                tree_peak = max(tree_peak, tree_rss(proc.pid))
                next_sample = time.perf_counter() + TREE_EVERY
            if time.perf_counter() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, rusage = os.wait4(proc.pid, 0)
                killed = True
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        for straggler in session_pids(proc.pid):  # a worker the command left behind: it was started by this run
            with contextlib.suppress(OSError):
                os.kill(straggler, signal.SIGKILL)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if report.is_file():  # the command's own figures, from the launcher
            child = json.loads(report.read_text())
            proc.returncode, wall, maxrss_kib = os.waitstatus_to_exitcode(child["status"]), child["wall"], child["maxrss_kib"]
        else:  # killed with the launcher: its own figures
            maxrss_kib = rusage.ru_maxrss
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    code = proc.returncode
    return {
        "status": "timeout" if killed else {0: "ok", 1: "invalid data"}.get(code, "failed"),
        "wall": wall, "rss_mib": maxrss_kib / 1024, "code": code,
        "tree_mib": tree_peak / 2**20 if tree else None,
        "stderr_tail": "\n".join(stderr.strip().splitlines()[-6:]), "stdout": stdout,
    }


def check_register(path: Path, lines: int, total_cents: int) -> str:
    """The euros of the register the command wrote against the generator's own figures (integer cents
    summed when drawing, never what the command printed): per axis, every line once and the pieces'
    cents summing to the file's total."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return "no register"
    table = pq.read_table(path, columns=["line_id", "axis", "amount_share_cents"]).to_pandas()
    bad = []
    for axis, rows in table.groupby("axis", sort=False):
        n, cents = rows["line_id"].nunique(), int(rows["amount_share_cents"].astype("int64").sum())
        if n != lines or cents != total_cents:
            bad.append(f"{axis}: {n:,} lines, {cents:,} cents")
    if bad or table.empty:
        return "**differs** (" + "; ".join(bad or ["empty"]) + f"; expected {lines:,} lines, {total_cents:,} cents)"
    return f"ok ({table['axis'].nunique()} axes × {total_cents:,} cents)"


def check_register_by_collectivite(path: Path, totals) -> str:
    """The register's cents per collectivité against the balance generator's own per-collectivité totals
    (``gen_balance.write_balance``): per axis, each collectivité's lines and cents. The register names a
    budget by its label (``LBUDG``: the collectivité's name, `` - EAU``… for a budget annexe)."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return "no register"
    table = pq.read_table(path, columns=["line_id", "axis", "collectivite", "amount_share_cents"]).to_pandas()
    table["name"] = table["collectivite"].astype("string").str.replace(r" - [A-Z ]+$", "", regex=True)
    got = table.groupby(["axis", "name"], sort=False).agg(lines=("line_id", "nunique"), cents=("amount_share_cents", "sum"))
    want = totals.set_index("collectivite")[["lines", "total_cents"]]
    bad = []
    for axis in table["axis"].unique():
        g = got.loc[axis].reindex(want.index)
        off = (g["lines"] != want["lines"]) | (g["cents"] != want["total_cents"])
        bad += [f"{axis} {name}: {g.at[name, 'lines']} lines, {g.at[name, 'cents']} cents (expected {want.at[name, 'lines']:,}, "
                f"{want.at[name, 'total_cents']:,})" for name in want.index[off.to_numpy()][:3]]
    if bad or table.empty:
        return "**differs** (" + "; ".join(bad or ["empty"]) + ")"
    return f"ok ({len(want)} collectivités × {table['axis'].nunique()} axes, each to the cent)"


# --- phases inside one process (run as ``run.py --phases FILE [--workbook]``) --------------------------

def phases(path: Path, workbook: bool, out_dir: Path, constants: dict | None = None) -> dict:
    """Time the pipeline's steps as :func:`budgetclimat.pipeline.run` and the command chain them."""
    timings: dict[str, float] = {}

    def timed(name, fn):
        start = time.perf_counter()
        value = fn()
        timings[name] = time.perf_counter() - start
        return value

    start_import = time.perf_counter()
    import pandas as pd

    from budgetclimat import model
    from budgetclimat.engine import classify
    from budgetclimat.engine.answers import empty_answers
    from budgetclimat.engine.bounds import compute_bounds
    from budgetclimat.engine.worklist import attach_worklist
    from budgetclimat.errors import concat_findings
    from budgetclimat.export.register import write_lines
    from budgetclimat.export.workbook import write_workbook
    from budgetclimat.pipeline import RunResult, check_invariants
    from budgetclimat.read import read_budgets
    from budgetclimat.rulebook import default_rulebooks
    from budgetclimat.validate import validate_document
    from budgetclimat.views.base import ViewInputs
    from budgetclimat.views.builtin import compute_views
    timings["import"] = time.perf_counter() - start_import

    ruleset = timed("rulebooks", default_rulebooks)
    answers = empty_answers()
    documents = timed("read", lambda: read_budgets([path], constants=constants or {}))
    reports = timed("validate", lambda: [validate_document(d) for d in documents])
    lines = model.conform(pd.concat([d.lines for d in documents], ignore_index=True)).reset_index(drop=True)
    classification = timed("classify", lambda: classify(lines, ruleset, answers))
    result = RunResult(documents=documents, lines=lines, findings=classification.findings,
                       reconciliation=[r.reconciliation for r in reports], register=classification.register,
                       ruleset=ruleset, answers=answers, facts=classification.facts, inputs=[path])
    inputs = ViewInputs(result.lines, result.register, result.ruleset, result.facts, {})

    def isolate(name, compute):
        return timed(f"view {name}", compute)

    result.views = compute_views(inputs, isolate=isolate)
    timed("worklist", lambda: attach_worklist(result))
    timed("invariants", lambda: check_invariants(result, len(lines)))
    result.findings = concat_findings([r.findings for r in reports] + [result.findings])
    result.bounds = timed("bounds", lambda: compute_bounds(result.lines, result.ruleset, result.answers, result.register))
    if workbook:
        # As the command with --lines-out: the workbook names the register instead of writing one beside it.
        timed("workbook", lambda: write_workbook(result, out_dir / "phases.xlsx", inputs=[path], register=out_dir / "phases.parquet"))
    timed("register", lambda: write_lines(result, out_dir / "phases.parquet", [path]))
    return {"lines": len(lines), "timings": timings}


def profile_classify(path: Path, out_dir: Path, top: int = 15) -> str:
    """cProfile of the command's work (run + report + register), top ``top`` by cumulative time."""
    import cProfile
    import io
    import pstats

    from budgetclimat.export.register import write_lines
    from budgetclimat.pipeline import run
    from budgetclimat.report import classify_report

    profiler = cProfile.Profile()
    profiler.enable()
    result = run([path], constants=CONSTANTS)
    classify_report(result).text()
    write_lines(result, out_dir / "profile.parquet", [path])
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(top)
    text = buffer.getvalue()
    keep = text[text.index("ncalls"):] if "ncalls" in text else text
    head = next((line.strip() for line in text.splitlines() if "function calls" in line), "")
    return head + "\n\n" + keep.replace(str(ROOT) + "/", "").rstrip()


# --- options of this build, limits -------------------------------------------------------------------

def classify_options() -> dict:
    """What ``budgetclimat classify --help`` offers in this build: ``engines`` (the choices of
    ``--engine``, empty when the option is missing) and ``partition_lines`` (``--partition-lines``).
    Read at run time, so that the runner works before and after the engines are merged."""
    import re

    run = subprocess.run([BUDGETCLIMAT, "classify", "--help"], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200"}, timeout=120)
    text = run.stdout
    engines: list[str] = []
    found = re.search(r"--engine\b(.*?)(?=\n\s+-|\Z)", text, re.S)
    if found:
        engines = [e for e in ("memory", "partitions", "dask") if re.search(rf"\b{e}\b", found.group(1))]
        engines = engines or ["(unlisted)"]
    return {"engines": engines, "partition_lines": "--partition-lines" in text}


def limits_for(rec: dict) -> dict[str, int]:
    """The limits this input goes over (``budgetclimat.limits`` defaults), with the value to raise each
    to (5 % above the file's own figure)."""
    path = rec["path"]
    size_mb = path.stat().st_size / 1_000_000
    raised = {}
    if size_mb > DEFAULT_LIMITS["file-mb"]:
        raised["file-mb"] = int(size_mb * 1.05) + 1
    if rec["kind"] in ("csv", "balance-csv", "xlsx"):
        rows = rec.get("rows", rec["lines"]) + 1  # the header line counts
        columns = 12 if rec["kind"] != "balance-csv" else 19
        if rows > DEFAULT_LIMITS["rows"]:
            raised["rows"] = int(rows * 1.05)
        if rows * columns > DEFAULT_LIMITS["cells"]:
            raised["cells"] = int(rows * columns * 1.05)
    return raised


def not_available(what: str) -> dict:
    return {"status": "not available in this build", "wall": 0.0, "rss_mib": 0.0, "tree_mib": None, "code": None,
            "stderr_tail": what, "stdout": ""}


# --- the page ---------------------------------------------------------------------------------------

def machine() -> list[str]:
    import pandas as pd
    import pyarrow

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        ram = f"{mem / 1024 / 1024:.1f} GiB"
    except OSError:
        ram = "?"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores visible (shared with other jobs while measured)",
        f"- RAM: {ram}",
        f"- Python {platform.python_version()}, pandas {pd.__version__}, pyarrow {pyarrow.__version__}, {platform.system()} {platform.release()}",
    ]


def peak(run: dict) -> float:
    """Peak RSS in MiB: the sampled process-tree sum where it was measured, else the process's own."""
    return max(run["rss_mib"], run.get("tree_mib") or 0.0)


def fmt(run: dict | None, key: str = "wall") -> str:
    if run is None:
        return "—"
    if run["status"] == "timeout":
        return f"timeout (> {run['wall']:.0f} s)"
    if run["status"] == "not available in this build":
        return "not available in this build"
    if run["status"] != "ok":
        return f"{run['status']} (exit {run['code']})"
    return f"{run[key]:.2f}" if key == "wall" else f"{peak(run):.0f}"


def ratio_value(a: dict | None, b: dict | None, key: str) -> float | None:
    if not a or not b or a["status"] != "ok" or b["status"] != "ok":
        return None
    num, den = (a["wall"], b["wall"]) if key == "wall" else (peak(a), peak(b))
    return num / den if den else None


def ratio(a: dict | None, b: dict | None, key: str) -> str:
    value = ratio_value(a, b, key)
    return "—" if value is None else f"{value:.1f}×"


def target_row(what: str, case: dict | None, label_start: str, key: str, limit: float, absent: str) -> str:
    """One row of the targets table: the measured ratio (or MiB), met or not, or why there is none."""
    run = next((r for label, r in case["commands"] if label.startswith(label_start)), None) if case else None
    if run is None:
        return f"| {what} | {absent} | — |"
    if run["status"] != "ok":
        return f"| {what} | {fmt(run)} | — |"
    if key == "rss_abs":
        return f"| {what} | {peak(run):,.0f} MiB | {'yes' if peak(run) * 2**20 < limit else '**no**'} |"
    value = ratio_value(run, case["bare"], key)
    if value is None:
        return f"| {what} | bare read {fmt(case['bare'])} | — |"
    detail = (f"{run['wall']:.1f} s / {case['bare']['wall']:.2f} s" if key == "wall"
              else f"{peak(run):,.0f} / {peak(case['bare']):,.0f} MiB")
    return f"| {what} | {value:.1f}× ({detail}) | {'yes' if value <= limit else '**no**'} |"


def write_page(cases: list[dict], profile: str | None, started: str, seconds: float, options: dict | None = None) -> str:
    options = options or {"engines": [], "partition_lines": False}
    lines = [
        "# Performance",
        "",
        "Measured by `make bench` (`benchmarks/run.py`, inputs from `benchmarks/generate.py`, seed "
        f"{cases[0]['seed'] if cases else '?'}) on {started}, {seconds:.0f} s in all. Regenerate this page "
        "with `make bench` (`benchmarks/README.md` lists the options); the suite never asserts times.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Inputs",
        "",
        "Generated, seeded and deterministic; each generator prints its exact integer-cent total, and the "
        "register every command writes is checked against it (the « euros » column).",
        "",
        "- **ERP CSV / XLSX / Parquet** (`generate.py`): a line-level export of an M57 compte administratif, "
        "accounts and chapters drawn from the shipped plan `rules/nomenclatures/plans/2022/M57_D.xml.gz`, "
        "fonctions from the same plan, French labels composed per line (object — supplier — place n° NNNNN, "
        "rarely repeating), amounts as French text « 1 234,56 » (numeric cells in the XLSX). Headers are those "
        "the shipped `generic` profile recognises; the command adds `--set budget_kind=principal`.",
        "- **TOTEM XML** (`gen_totem.py`): an « Actes budgétaires » document (M57 CA, ISO-8859-1) built like "
        "`examples/montpellier-ca-2018-m57.xml`: vote par fonction, one `<LigneBudget>` per imputation "
        "(never twice), ordre lines in 926/946 balanced; `budgetclimat validate` reads it with no finding.",
        "- **DGFiP balance CSV / Parquet** (`gen_balance.py`): the published columns (EXER … OBNETDEB, OBNETCRE, "
        "OOBDEB, OOBCRE, SD, SC) over many collectivités of Zipf-like sizes, budgets annexes included; the "
        "shipped `dgfip` profile splits each row into up to four lines (real/ordre × D/R), so « lines » is the "
        "canonical line count; the euros are also checked per collectivité.",
        "",
        "Options of this build (`budgetclimat classify --help`, read at run time): `--engine` "
        + (", ".join(f"`{e}`" for e in options["engines"]) if options["engines"] else "**absent**")
        + ", `--partition-lines` " + ("present" if options["partition_lines"] else "**absent**")
        + ". A row whose option is missing says « not available in this build ».",
        "",
        "## Whole command (each in its own process)",
        "",
        "Ratios are to the bare read process (interpreter start, imports, read) of the same file, measured in "
        "the same run. RSS is the peak resident set of the command's process (`os.wait4` rusage: its own "
        "peak, or that of a child it waited for); for the `--engine` rows it is the larger of that and the "
        f"sum of the RSS of every process of the command's session (its workers included), sampled every "
        f"{TREE_EVERY:g} s from `/proc/PID/stat` and `/proc/PID/statm` (marked « tree »).",
        "",
        "| input | lines | bare read s | bare RSS MiB | command | command s | × bare | RSS MiB | × bare RSS | exit | euros |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for case in cases:
        for label, cmd in case["commands"]:
            tree = " (tree)" if cmd and cmd.get("tree_mib") is not None and cmd["status"] == "ok" else ""
            lines.append(
                f"| {case['name']} | {case['lines']:,} | {fmt(case['bare'])} | {fmt(case['bare'], 'rss_mib')} | {label} "
                f"| {fmt(cmd)} | {ratio(cmd, case['bare'], 'wall')} | {fmt(cmd, 'rss_mib')}{tree} "
                f"| {ratio(cmd, case['bare'], 'rss_mib')} | {cmd['code'] if cmd and cmd['code'] is not None else '—'} "
                f"| {cmd.get('check', '—')} |"
            )
    lines += ["", "Bare reads: " + "; ".join(sorted({f"{INPUT_NAMES[c['kind']]}: {c['bare_text']}"
                                                     for c in cases if "bare_text" in c})) + "."]
    raised = [c for c in cases if c.get("limits")]
    if raised:
        lines += ["", "Inputs over the command's default limits (`budgetclimat.limits`; raised on the command line, "
                  "and through `BUDGETCLIMAT_LIMIT_*` for the phase child):", ""]
        lines += [f"- {c['name']}: " + " ".join(f"`--limit {k}={v}`" for k, v in c["limits"].items()) for c in raised]
    failures = [(c["name"], label, r) for c in cases for label, r in [("bare read", c["bare"]), *c["commands"], ("phases", c.get("phases_run"))]
                if r and r["status"] not in ("ok", "not available in this build")]
    if failures:
        lines += ["", "### Failed or timed-out runs", ""]
        for name, label, r in failures:
            lines += [f"- {name}, {label}: {r['status']} (exit {r['code']}, {r['wall']:.1f} s); stderr tail:", "",
                      "  ```", *["  " + t for t in r["stderr_tail"].splitlines()], "  ```", ""]
    lines += ["", "## Phases inside one process", "",
              "Seconds per step, as `pipeline.run` and the `classify` command chain them (the rulebooks "
              "loaded once; `view NAME` is each entry of `result.views`; the workbook up to 1M lines).", ""]
    phased = [c for c in cases if c.get("phases")]
    if phased:
        names: list[str] = []
        for c in phased:
            names += [n for n in c["phases"]["timings"] if n not in names]
        lines.append("| step | " + " | ".join(f"{c['name']} ({c['lines']:,})" for c in phased) + " |")
        lines.append("|---|" + "---:|" * len(phased))
        for n in names:
            lines.append(f"| {n} | " + " | ".join(
                f"{c['phases']['timings'][n]:.2f}" if n in c["phases"]["timings"] else "—" for c in phased) + " |")
        lines.append("| **process wall / peak RSS MiB** | " + " | ".join(
            f"{c['phases_run']['wall']:.2f} / {c['phases_run']['rss_mib']:.0f}" for c in phased) + " |")
    else:
        lines.append("No phase run finished in this run.")

    def find(kind, n):
        return next((c for c in cases if c["kind"] == kind and c["lines"] == n), None)

    big = find("csv", 1_000_000)
    absent_1m = "not measured in this run (`--sizes … 1000000`)"
    lines += ["", "## Targets of issue 12", "", "| target | measured | met |", "|---|---|---|",
              target_row("1M-line CSV, validate + classify (all views) + workbook + register: wall ≤ 6× the bare read's",
                         big, "classify → register + workbook", "wall", 6, absent_1m),
              target_row("the same: peak RSS ≤ 3× the bare read's", big, "classify → register + workbook", "rss_mib", 3, absent_1m)]
    xlsx = next((c for c in cases if c["kind"] == "xlsx"), None)
    lines.append(target_row(f"{xlsx['lines'] // 1000 if xlsx else 100}k-line XLSX end to end (register + workbook): wall ≤ 3× a bare calamine read"
                            + ("" if not xlsx or xlsx["lines"] == 100_000 else " (the issue's size is 100k)"),
                            xlsx, "classify → register + workbook", "wall", 3, "not measured in this run (the smallest `--sizes` ≤ 100k)"))
    lines.append(target_row("10M lines in partitions (`--engine partitions`): peak RSS < 2 GB (2·10⁹ bytes, 1,907 MiB)",
                            find("csv", 10_000_000), "classify --engine partitions", "rss_abs", 2e9,
                            "not measured in this run (`--huge`)"))
    lines += ["", "The 1M-line rows with `--engine partitions` and `--engine dask`, when this build has them, are in the "
              "whole-command table (same command, same ratios); a target the run did not reach says so above."]
    if profile:
        lines += ["", "## Where the time goes (cProfile, 100k CSV, top 15 by cumulative time)", "",
                  "`pipeline.run` + the report text + the register, in one process.", "", "```", profile, "```"]
    return "\n".join(lines) + "\n"


def plan_commands(rec: dict, options: dict, out: Path, partition_lines: int | None) -> list[tuple[str, list[str] | dict, bool, Path | None]]:
    """The commands measured on one input: ``(label, argv or a not-available record, sample the
    process tree, register path)``."""
    kind, n, path = rec["kind"], rec["lines"], rec["path"]
    stem = out / path.name
    base = [BUDGETCLIMAT, "classify", str(path)] + (READ_OPTIONS if kind in ERP_KINDS else [])
    for name, value in limits_for(rec).items():
        base += ["--limit", f"{name}={value}"]
    huge = n >= 10_000_000
    commands = []

    def classify(label, extra, workbook, tree=False):
        register = Path(f"{stem}.{len(commands)}.register.parquet")  # one per command
        argv = base + extra + ["--lines-out", str(register)] + (["-o", f"{stem}.{len(commands)}.annexe.xlsx"] if workbook else [])
        commands.append((label, argv, tree, register))

    if n <= 100_000:
        classify("classify → register", [], False)
        classify("classify → register + workbook", [], True)
    elif not huge and kind != "balance-csv" and kind != "balance-parquet":
        classify("classify → register + workbook", [], True)
    elif not huge:
        classify("classify → register", [], False)
    if kind == "csv" and n > 100_000:
        # The partitioned engines write no workbook (-o exits 2, engine-option-unavailable): register and summaries only.
        engine_runs = [("partitions", False)] + ([("dask", False)] if not huge else [])
        for engine, workbook in engine_runs:
            label = f"classify --engine {engine} → register" + (" + workbook" if workbook else "")
            if engine not in options["engines"] and "(unlisted)" not in options["engines"]:
                what = "no --engine option" if not options["engines"] else f"--engine offers {', '.join(options['engines'])}"
                commands.append((label, not_available(f"`budgetclimat classify --help`: {what}"), False, None))
                continue
            extra = ["--engine", engine]
            if partition_lines and options["partition_lines"]:
                extra += ["--partition-lines", str(partition_lines)]
            classify(label, extra, workbook, tree=True)
    return commands


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000],
                        help="ERP CSV sizes (the smallest also as XLSX and Parquet)")
    parser.add_argument("--huge", action="store_true", help="also the 10M-line CSV (bare read and --engine partitions)")
    parser.add_argument("--totem", type=int, default=100_000, metavar="N", help="lines of the TOTEM document (0: none)")
    parser.add_argument("--balance", type=str, nargs="*", default=["1000000x500"], metavar="ROWSxC",
                        help="DGFiP balances: ROWS rows over C collectivités (CSV and Parquet)")
    parser.add_argument("--partition-lines", type=int, help="passed to --engine partitions|dask when the build has it")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per measured process")
    parser.add_argument("--data", type=Path, help="folder for the generated inputs (default: a temporary one)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--phases", type=Path, help=argparse.SUPPRESS)  # internal: the phase child
    parser.add_argument("--workbook", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--principal", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phases:
        constants = CONSTANTS if args.principal else None
        print(json.dumps(phases(args.phases, args.workbook, Path(tempfile.mkdtemp()), constants)))
        return 0
    if args.profile_only:
        print(profile_classify(args.profile_only, Path(tempfile.mkdtemp())))
        return 0

    from generate import balance_spec, generate, generate_balance, generate_totem

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.perf_counter()
    sizes = list(args.sizes) + ([10_000_000] if args.huge else [])
    options = classify_options()
    print(f"== this build: --engine {options['engines'] or 'absent'}, --partition-lines "
          f"{'yes' if options['partition_lines'] else 'absent'}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "data"
        out = Path(tmp) / "out"
        out.mkdir()
        made = generate(data, sizes, args.seed, xlsx_size=min(sizes) if min(sizes, default=0) <= 100_000 else 0) if sizes else []
        data.mkdir(parents=True, exist_ok=True)
        if args.totem:
            made.append(generate_totem(data, args.totem, args.seed))
        for spec in args.balance:
            rows, colls = balance_spec(spec)
            made += generate_balance(data, rows, colls, args.seed)
        cases = []
        for rec in made:
            kind, n, path = rec["kind"], rec["lines"], rec["path"]
            name = INPUT_NAMES[kind] + " " + (f"{n // 1000}k" if n < 1_000_000 else f"{n / 1_000_000:g}M")
            if kind.startswith("balance"):
                name = f"{INPUT_NAMES[kind]} {rec['rows']:,} rows × {rec['collectivites']} coll."
            case = {"name": name, "kind": kind, "lines": n, "seed": args.seed, "commands": [],
                    "limits": limits_for(rec), "bare_text": BARE_TEXT[kind]}
            print(f"== {name}: bare read", file=sys.stderr)
            case["bare"] = measure([PYTHON, "-c", BARE[kind], str(path)], args.timeout)
            for label, argv, tree, register in plan_commands(rec, options, out, args.partition_lines):
                print(f"== {name}: {label}", file=sys.stderr)
                run = argv if isinstance(argv, dict) else measure(argv, args.timeout, tree=tree)
                if register is not None:
                    run["check"] = check_register(register, n, rec["total_cents"])
                    if "totals" in rec:
                        run["check"] += "; per collectivité: " + check_register_by_collectivite(register, rec["totals"])
                    register.unlink(missing_ok=True)
                case["commands"].append((label, run))
            run = None
            if kind in ("csv", "xlsx", "totem", "balance-csv") and n < 10_000_000:
                print(f"== {name}: phases", file=sys.stderr)
                env = {f"BUDGETCLIMAT_LIMIT_{k.upper().replace('-', '_')}": str(v) for k, v in case["limits"].items()}
                child = [PYTHON, __file__, "--phases", str(path)] + (["--workbook"] if n <= 1_000_000 else []) \
                    + (["--principal"] if kind in ERP_KINDS else [])
                run = measure(child, args.timeout, env=env)
                case["phases_run"] = run
                if run["status"] == "ok":
                    case["phases"] = json.loads(run["stdout"].strip().splitlines()[-1])
            for label, r in [("bare", case["bare"]), *case["commands"], ("phases", run)]:
                if r is not None:
                    print(f"   {label:44} {r['status']:8} {r['wall']:8.2f} s {peak(r):8.0f} MiB exit {r['code']}"
                          + (f"  {r['check']}" if r.get("check") else "")
                          + (f"\n{r['stderr_tail']}" if r["status"] != "ok" else ""), file=sys.stderr)
            cases.append(case)
            # the page after each input: a run stopped later keeps what it measured
            args.page.write_text(write_page(cases, None, started, time.perf_counter() - t0, options), encoding="utf-8")
        profile = None
        first_csv = next((r["path"] for r in made if r["kind"] == "csv" and r["lines"] == 100_000), None)
        if first_csv and not args.no_profile:
            print("== cProfile of the 100k CSV classify", file=sys.stderr)
            prof = measure([PYTHON, __file__, "--profile-only", str(first_csv)], args.timeout)
            profile = prof["stdout"].strip() if prof["status"] == "ok" and prof["code"] == 0 else f"profile {prof['status']}: {prof['stderr_tail']}"
    page = write_page(cases, profile, started, time.perf_counter() - t0, options)
    args.page.write_text(page, encoding="utf-8")
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
