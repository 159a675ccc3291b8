"""Benchmarks of the whole ``budgetclimat classify`` command at scale, as ratios to a bare read.

Run with ``make bench`` (or ``python benchmarks/run.py [--sizes 100000 1000000] [--huge]``). The suite
never asserts wall-clock times; this script measures them and writes ``docs/performance.md``.

For each generated input (``benchmarks/generate.py``, seeded: 100k lines as CSV, XLSX and Parquet,
1M lines as CSV, 10M with ``--huge``), in the same run and each in its own process:

1. the bare read: ``pandas.read_csv(path, engine="pyarrow")`` for CSV, a calamine read of the first
   sheet for XLSX, ``pandas.read_parquet`` for Parquet;
2. the whole command ``budgetclimat classify FILE --set budget_kind=principal --lines-out R.parquet``
   (plus ``-o annexe.xlsx`` at 100k only). The generated export carries every column the shipped
   ``generic`` profile recognises by name except the budget kind, hence ``--set budget_kind=principal``;
   no ``--map`` is needed;
3. the phases inside one process: read, validate, classify, each view of ``result.views``, worklist,
   bounds, workbook (100k only), register.

Each process's wall time and peak RSS (``os.wait4``'s rusage of that child: no new dependency) are
reported; each has a timeout (``--timeout``, default 900 s); a timed-out or failed run is reported as
such with the tail of its stderr. Ratios are to the bare read process's wall time (interpreter start,
import of pandas and the read), the same kind of figure as the command's wall.
A cProfile of the 100k CSV classify (top 15 by cumulative time) goes into the page too.
"""

from __future__ import annotations

import argparse
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
}
READ_OPTIONS = ["--set", "budget_kind=principal"]
CONSTANTS = {"budget_kind": "principal"}


def measure(cmd: list[str], timeout: float, cwd: Path | None = None) -> dict:
    """Run ``cmd`` in its own process: wall seconds, peak RSS (MiB) of that process, exit code, stderr
    tail, stdout; ``status`` is ``ok`` (exit 0), ``invalid data`` (exit 1: the command reported errors
    in the file), ``failed`` (any other exit) or ``timeout`` (killed)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        status, rusage, killed = None, None, False
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, rusage = os.wait4(proc.pid, 0)
                killed = True
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    code = proc.returncode
    return {
        "status": "timeout" if killed else {0: "ok", 1: "invalid data"}.get(code, "failed"),
        "wall": wall, "rss_mib": rusage.ru_maxrss / 1024, "code": code,
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


# --- phases inside one process (run as ``run.py --phases FILE [--workbook]``) --------------------------

def phases(path: Path, workbook: bool, out_dir: Path) -> dict:
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
    documents = timed("read", lambda: read_budgets([path], constants=CONSTANTS))
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
        timed("workbook", lambda: write_workbook(result, out_dir / "phases.xlsx", inputs=[path]))
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


def fmt(run: dict | None, key: str = "wall") -> str:
    if run is None:
        return "—"
    if run["status"] == "timeout":
        return f"timeout (> {run['wall']:.0f} s)"
    if run["status"] != "ok":
        return f"{run['status']} (exit {run['code']})"
    return f"{run[key]:.2f}" if key == "wall" else f"{run[key]:.0f}"


def ratio(a: dict | None, b: dict | None, key: str) -> str:
    if not a or not b or a["status"] != "ok" or b["status"] != "ok" or not b[key]:
        return "—"
    return f"{a[key] / b[key]:.1f}×"


def write_page(cases: list[dict], profile: str | None, started: str, seconds: float) -> str:
    lines = [
        "# Performance",
        "",
        "Measured by `make bench` (`benchmarks/run.py`, inputs from `benchmarks/generate.py`, seed "
        f"{cases[0]['seed'] if cases else '?'}) on {started}, {seconds:.0f} s in all. Regenerate this page "
        "with `make bench`; the suite never asserts times.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Inputs",
        "",
        "A line-level ERP export of an M57 compte administratif (`benchmarks/generate.py`): accounts and "
        "chapters drawn from the shipped plan `rules/nomenclatures/plans/2022/M57_D.xml.gz` through the "
        "plan reader, fonctions from the same plan, French labels composed per line "
        "(object — supplier — place n° NNNNN), amounts as French text « 1 234,56 » (numeric cells in the "
        "XLSX). Headers are those the shipped `generic` profile recognises; the command is "
        "`budgetclimat classify FILE --set budget_kind=principal --lines-out R.parquet` (plus `-o annexe.xlsx` at 100k).",
        "",
        "## Whole command (each in its own process)",
        "",
        "Ratios are to the bare read process (interpreter start, `import pandas`, read) of the same file, "
        "measured in the same run; RSS is the peak resident set of that process (`os.wait4` rusage).",
        "",
        "| input | lines | bare read s | bare RSS MiB | command | command s | × bare | command RSS MiB | × bare RSS | exit |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        for label, cmd in case["commands"]:
            lines.append(
                f"| {case['name']} | {case['lines']:,} | {fmt(case['bare'])} | {fmt(case['bare'], 'rss_mib')} | {label} "
                f"| {fmt(cmd)} | {ratio(cmd, case['bare'], 'wall')} | {fmt(cmd, 'rss_mib')} "
                f"| {ratio(cmd, case['bare'], 'rss_mib')} | {cmd['code'] if cmd else '—'} |"
            )
    lines += ["", "Euros of the register each `classify → register` run wrote (`--lines-out`), against the "
              "generator's integer-cent total of the file (every line once per axis, pieces summing to the total):", ""]
    lines += [f"- {c['name']}: {c.get('check', '—')}" for c in cases]
    failures = [(c["name"], label, r) for c in cases for label, r in [("bare read", c["bare"]), *c["commands"], ("phases", c.get("phases_run"))]
                if r and r["status"] != "ok"]
    if failures:
        lines += ["", "### Failed or timed-out runs", ""]
        for name, label, r in failures:
            lines += [f"- {name}, {label}: {r['status']} (exit {r['code']}, {r['wall']:.1f} s); stderr tail:", "",
                      "  ```", *["  " + t for t in r["stderr_tail"].splitlines()], "  ```", ""]
    lines += ["", "## Phases inside one process", "",
              "Seconds per step, as `pipeline.run` and the `classify` command chain them (the rulebooks "
              "loaded once; `view NAME` is each entry of `result.views`).", ""]
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
    lines += ["", "## Targets of issue 12", "",
              "| target | measured | met |", "|---|---|---|"]
    for case in cases:
        cmd = case["commands"][0][1] if case["commands"] else None
        if case["kind"] == "csv" and case["lines"] >= 1_000_000:
            for key, limit, what in (("wall", 6, "wall"), ("rss_mib", 3, "peak RSS")):
                r = ratio(cmd, case["bare"], key)
                met = "—" if r == "—" else ("yes" if cmd[key] / case["bare"][key] <= limit else "**no**")
                lines.append(f"| {case['name']}: classify {what} ≤ {limit}× the bare read's | {r} | {met} |")
        if case["kind"] == "xlsx":
            r = ratio(cmd, case["bare"], "wall")
            met = "—" if r == "—" else ("yes" if cmd["wall"] / case["bare"]["wall"] <= 3 else "**no**")
            lines.append(f"| {case['name']}: classify wall ≤ 3× a bare calamine read | {r} | {met} |")
    if not any(c["kind"] == "csv" and c["lines"] >= 1_000_000 for c in cases):
        lines.append("| 1M lines: wall ≤ 6×, RSS ≤ 3× the bare read | not measured in this run | — |")
    if profile:
        lines += ["", "## Where the time goes (cProfile, 100k CSV, top 15 by cumulative time)", "",
                  "`pipeline.run` + the report text + the register, in one process.", "", "```", profile, "```"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000], help="CSV sizes (100k also as XLSX and Parquet)")
    parser.add_argument("--huge", action="store_true", help="also 10M lines")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per measured process")
    parser.add_argument("--data", type=Path, help="folder for the generated inputs (default: a temporary one)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--phases", type=Path, help=argparse.SUPPRESS)  # internal: the phase child
    parser.add_argument("--workbook", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phases:
        print(json.dumps(phases(args.phases, args.workbook, Path(tempfile.mkdtemp()))))
        return 0
    if args.profile_only:
        print(profile_classify(args.profile_only, Path(tempfile.mkdtemp())))
        return 0

    from generate import generate

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.perf_counter()
    sizes = list(args.sizes) + ([10_000_000] if args.huge else [])
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "data"
        out = Path(tmp) / "out"
        out.mkdir()
        made = generate(data, sizes, args.seed, xlsx_size=min(sizes))
        cases = []
        for rec in made:
            kind, n, path = rec["kind"], rec["lines"], rec["path"]
            name = f"{kind.upper()} {n // 1000}k" if n < 1_000_000 else f"{kind.upper()} {n // 1_000_000}M"
            case = {"name": name, "kind": kind, "lines": n, "seed": args.seed, "commands": []}
            print(f"== {name}: bare read", file=sys.stderr)
            case["bare"] = measure([PYTHON, "-c", BARE[kind], str(path)], args.timeout)
            register = out / f"{path.name}.register.parquet"  # one per input: the stems are shared across formats
            base = [BUDGETCLIMAT, "classify", str(path), *READ_OPTIONS, "--lines-out", str(register)]
            print(f"== {name}: classify --lines-out", file=sys.stderr)
            case["commands"].append(("classify → register", measure(base, args.timeout)))
            case["check"] = check_register(register, n, rec["total_cents"])
            if n <= 100_000:  # the workbook at 100k only
                print(f"== {name}: classify -o workbook", file=sys.stderr)
                case["commands"].append(("classify → register + workbook",
                                         measure(base + ["-o", str(out / f"{path.name}.annexe.xlsx")], args.timeout)))
            print(f"== {name}: phases", file=sys.stderr)
            child = [PYTHON, __file__, "--phases", str(path)] + (["--workbook"] if n <= 100_000 else [])
            run = measure(child, args.timeout)
            case["phases_run"] = run
            if run["status"] == "ok":
                case["phases"] = json.loads(run["stdout"].strip().splitlines()[-1])
            for label, r in [("bare", case["bare"]), *case["commands"], ("phases", run)]:
                print(f"   {label:34} {r['status']:8} {r['wall']:8.2f} s {r['rss_mib']:8.0f} MiB exit {r['code']}"
                      + (f"\n{r['stderr_tail']}" if r["status"] != "ok" else ""), file=sys.stderr)
            cases.append(case)
            # the page after each input: a run stopped later keeps what it measured
            args.page.write_text(write_page(cases, None, started, time.perf_counter() - t0), encoding="utf-8")
        profile = None
        first_csv = next((r["path"] for r in made if r["kind"] == "csv" and r["lines"] == 100_000), None)
        if first_csv and not args.no_profile:
            print("== cProfile of the 100k CSV classify", file=sys.stderr)
            prof = measure([PYTHON, __file__, "--profile-only", str(first_csv)], args.timeout)
            profile = prof["stdout"].strip() if prof["status"] == "ok" and prof["code"] == 0 else f"profile {prof['status']}: {prof['stderr_tail']}"
    page = write_page(cases, profile, started, time.perf_counter() - t0)
    args.page.write_text(page, encoding="utf-8")
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
