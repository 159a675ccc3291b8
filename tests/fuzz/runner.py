"""Run mutants through the command line as a user runs it, and judge each against its oracle.

For each mutant: ``budgetclimat validate FILE --report out/report.json`` (in-process through
:func:`budgetclimat.cli.run`, as ``tests/conftest.py`` does; crash-type mutants in a subprocess with a
memory limit and a timeout), optionally ``budgetclimat classify FILE -o out/annexe.xlsx``. The verdict is
``ok`` or the first failure among :data:`FAILURES`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from unittest import mock

from mutate import Mutant
from oracle import READ, REFUSE, norm

FAILURES = {
    "crash": "the process died (signal, memory or time limit)",
    "traceback": "a Python traceback reached the user",
    "internal": "« Erreur interne » for what a file can cause",
    "bad-exit": "an exit code other than 0, 1 or 2",
    "partial-output": "a temporary or unreadable output file left behind",
    "silent-change": "exit 0 with totals other than the file's (euros changed in silence)",
    "accepted-damage": "exit 0 on a file that must be refused (damaged or ambiguous)",
    "unnamed-refusal": "refused without a finding or message naming the damage",
    "false-refusal": "an unambiguous, everyday file refused",
    "classify-exit": "classify and validate disagree on the exit code",
}
GENERIC_CODES = {"reconciliation-mismatch", "internal-error"}
CRASH_LIMIT_BYTES = 2 << 30
CRASH_TIMEOUT = 120
CLASSIFY_KINDS = {"missing-CodRD", "codrd-no-v"}


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    raised: list[dict] = field(default_factory=list)  # BudgetclimatError raised whose message was shown
    seconds: float = 0.0


@dataclass
class Outcome:
    id: str
    family: str
    base: str
    kind: str
    expect: str
    exit_code: int | None
    verdict: str
    detail: str = ""
    seconds: float = 0.0
    classify: int | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


def wants_classify(mutant: Mutant) -> bool:
    """A stable tenth of the mutants (and the cases known to break classify) also run ``classify``."""
    return zlib.crc32(mutant.id.encode()) % 10 == 0 or mutant.kind in CLASSIFY_KINDS


# --- running -----------------------------------------------------------------------------------------


def run_in_process(args: list[str]) -> Run:
    from click.testing import CliRunner

    from budgetclimat import i18n
    from budgetclimat.cli import run
    from budgetclimat.errors import BudgetclimatError

    raised: list[BudgetclimatError] = []
    original = BudgetclimatError.__init__

    def spy(self, code, /, **params):
        original(self, code, **params)
        raised.append(self)

    i18n.set_language("fr")
    start = time.perf_counter()
    try:
        with mock.patch.object(BudgetclimatError, "__init__", spy), CliRunner().isolation() as (out, err, _):
            exit_code = run([str(a) for a in args])
            stdout, stderr = out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")
    finally:
        i18n.set_language("fr")
    shown = []
    for exc in raised:
        message = exc.message("fr")
        if message in stderr:
            shown.append({"code": exc.code, "row": exc.params.get("row"), "column": exc.params.get("column"), "value": exc.params.get("value"), "message": message})
    return Run(exit_code, stdout, stderr, shown, time.perf_counter() - start)


_CHILD = r"""
import json, os, sys
from budgetclimat.errors import BudgetclimatError
original = BudgetclimatError.__init__
def spy(self, code, /, **params):
    original(self, code, **params)
    with open(os.environ["FUZZ_RAISED"], "a", encoding="utf-8") as f:
        f.write(json.dumps({"code": code, "row": params.get("row"), "column": params.get("column"),
                            "value": str(params.get("value")), "message": self.message("fr")}) + "\n")
BudgetclimatError.__init__ = spy
from budgetclimat.cli import main
main(sys.argv[1:])
"""


def run_subprocess(args: list[str], workdir: Path) -> Run:
    import resource

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CRASH_LIMIT_BYTES, CRASH_LIMIT_BYTES))

    side = workdir / "raised.jsonl"
    env = {**os.environ, "FUZZ_RAISED": str(side), "PYTHONFAULTHANDLER": ""}
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, *map(str, args)], capture_output=True, timeout=CRASH_TIMEOUT, env=env, preexec_fn=limits, cwd=workdir
        )
    except subprocess.TimeoutExpired as exc:
        return Run(-9, (exc.stdout or b"").decode("utf-8", "replace"), f"timeout after {CRASH_TIMEOUT} s", [], time.perf_counter() - start)
    stderr = proc.stderr.decode("utf-8", "replace")
    raised = [json.loads(line) for line in side.read_text(encoding="utf-8").splitlines()] if side.exists() else []
    side.unlink(missing_ok=True)
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), stderr, [r for r in raised if r["message"] in stderr], time.perf_counter() - start)


# --- judging -----------------------------------------------------------------------------------------


def _problems(run: Run) -> tuple[str, str] | None:
    text = run.stdout + run.stderr
    if run.exit_code < 0:
        first = next((line for line in run.stderr.splitlines() if "memory" in line.lower() or "panicked" in line), run.stderr[-200:])
        return "crash", f"signal {-run.exit_code}: {first.strip()[:200]}"
    if "Traceback" in text or "panicked" in text:
        return "traceback", _excerpt(text, "Traceback" if "Traceback" in text else "panicked")
    if "Erreur interne" in text or "internal error" in text.lower():
        return "internal", _excerpt(text, "Erreur interne")
    if run.exit_code not in (0, 1, 2):
        return "bad-exit", f"exit {run.exit_code}: {run.stderr[-300:]}".replace("\n", " ⏎ ")
    return None


def _excerpt(text: str, word: str) -> str:
    at = max(text.find(word), 0)
    return text[at : at + 300].replace("\n", " ⏎ ")


def _outputs(outdir: Path, expected: set[str]) -> tuple[str, str] | None:
    for path in sorted(outdir.iterdir()):
        if path.name not in expected:
            return "partial-output", f"left behind: {path.name}"
        try:
            if path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as book:
                    if book.testzip() is not None:
                        raise zipfile.BadZipFile("bad member")
        except Exception as exc:  # noqa: BLE001 - any unreadable output is a partial output
            return "partial-output", f"{path.name} unreadable: {type(exc).__name__} {exc}"
    return None


def read_totals(report: Path) -> tuple[dict, dict, list[dict]]:
    """Totals and line counts by (section, sens, operation) and the error findings of a validate report."""
    data = json.loads(report.read_text(encoding="utf-8"))
    cents: dict = {}
    lines: dict = {}
    errors: list[dict] = []
    for f in data["files"]:
        for t in f["totals"]:
            key = (t["section"] or "?", t["sens"] or "?", t["operation"] or "?")
            cents[key] = cents.get(key, 0) + int(t["lines_cents"] or 0)
            lines[key] = lines.get(key, 0) + int(t["lines_out"] or 0)
        errors += [x for x in f["findings"] if x["level"] == "error"]
    return cents, lines, errors


def names_damage(damage, errors: list[dict]) -> bool:
    """Does one of the errors (findings or the message shown) name the damage?"""
    for e in errors:
        code = str(e.get("code") or "")
        if any(fnmatch(code, p) for p in damage.codes) and (code not in GENERIC_CODES or code in damage.codes):
            return True
        if code in GENERIC_CODES:
            continue
        row = e.get("row")
        if row is not None and str(row).lstrip("-").isdigit() and int(row) in damage.rows:
            return True
        columns = {norm(c) for c in str(e.get("column") or "").replace(" / ", ",").split(",")}
        if columns & set(damage.columns):
            return True
        text = f"{e.get('message') or ''} {e.get('value') or ''}"
        if any(w and w in text for w in damage.words):
            return True
    return False


def _totals_diff(oracle, cents: dict, lines: dict) -> str:
    keys = sorted(set(oracle.totals) | set(cents) | set(oracle.lines) | set(lines))
    diffs = []
    for k in keys:
        want, got = oracle.totals.get(k, 0), cents.get(k, 0)
        want_n, got_n = oracle.lines.get(k, 0), lines.get(k, 0)
        if want != got or want_n != got_n:
            diffs.append(f"{'/'.join(k)}: {got / 100:,.2f} € ({got_n} l.) for {want / 100:,.2f} € ({want_n} l.)")
    return "; ".join(diffs)


def judge(mutant: Mutant, run: Run, outdir: Path, expected_files: set[str]) -> tuple[str, str]:
    problem = _problems(run) or _outputs(outdir, expected_files)
    if problem:
        return problem
    oracle = mutant.oracle
    report = outdir / "report.json"
    errors = list(run.raised)
    cents = lines = None
    if report.exists():
        cents, lines, found = read_totals(report)
        errors += found
    if run.exit_code == 0:
        if cents is None:
            return "partial-output", "exit 0 without the report"
        if oracle.expect == REFUSE:
            read = ", ".join(f"{'/'.join(k)} {v / 100:,.2f} €" for k, v in sorted(cents.items()) if v or lines.get(k))
            return "accepted-damage", f"{oracle.note}; read as {read or 'nothing'}"[:400]
        diff = _totals_diff(oracle, cents, lines)
        euros_equal = all(oracle.totals.get(k, 0) == cents.get(k, 0) for k in set(oracle.totals) | set(cents))
        if diff and euros_equal and sum(oracle.lines.values()) == sum(lines.values()):
            # Every euro where the file puts it and no line lost: only 0 € lines sit in another group than the
            # oracle's (e.g. a flipped ContFon 906 -> 926, an ordre chapter of the vote par fonction, which the
            # reader follows with a warning). No euro changed: not a silent change.
            return "ok", ""
        if diff:
            return "silent-change", f"{oracle.note}; {diff}"[:500]
        return "ok", ""
    first = (errors[0]["code"] + ": " + str(errors[0]["message"])[:200]) if errors else run.stderr.strip()[:200]
    if oracle.expect == READ:
        return "false-refusal", f"{oracle.note}; {first}"
    if not names_damage(oracle.damage, errors):
        where = f"rows {sorted(oracle.damage.rows)[:4]} columns {sorted(oracle.damage.columns)} codes {oracle.damage.codes[:3]}"
        return "unnamed-refusal", f"{oracle.note}; expected {where}; got {first}"[:500]
    return "ok", ""


def run_mutant(mutant: Mutant, workdir: Path, classify: bool | None = None) -> Outcome:
    """Write the mutant under ``workdir/<id>/``, run it, judge it; the directory is left for inspection."""
    home = workdir / mutant.id
    outdir = home / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    source = home / f"budget{mutant.suffix}"
    source.write_bytes(mutant.data)
    args = ["validate", source, "--report", outdir / "report.json"]
    run = run_subprocess(args, home) if mutant.crash else run_in_process(args)
    verdict, detail = judge(mutant, run, outdir, {"report.json"})
    outcome = Outcome(mutant.id, mutant.family, mutant.base, mutant.kind, mutant.oracle.expect, run.exit_code, verdict, detail, run.seconds)
    if (wants_classify(mutant) if classify is None else classify) and not mutant.crash:
        out2 = home / "classify"
        out2.mkdir(exist_ok=True)
        second = run_in_process(["classify", source, "-o", out2 / "annexe.xlsx"])
        outcome.classify = second.exit_code
        outcome.seconds += second.seconds
        problem = _problems(second) or _outputs(out2, {"annexe.xlsx"})
        if outcome.ok and problem:
            outcome.verdict, outcome.detail = problem[0], "classify: " + problem[1]
        elif outcome.ok and second.exit_code != run.exit_code:
            outcome.verdict, outcome.detail = "classify-exit", f"validate {run.exit_code}, classify {second.exit_code}: {second.stderr.strip()[:200]}"
    return outcome


# --- summary -----------------------------------------------------------------------------------------

COLUMNS = [
    ("files", None), ("ok", "ok"), ("traceback", "traceback"), ("internal", "internal"), ("crash", "crash"),
    ("silent €", "silent-change"), ("accepted dmg", "accepted-damage"), ("unnamed", "unnamed-refusal"),
    ("false refusal", "false-refusal"), ("partial out", "partial-output"), ("other", None),
]  # fmt: skip


def summary_table(outcomes: list[Outcome]) -> str:
    """A Markdown table of verdicts per family (and the total)."""
    families = sorted({o.family for o in outcomes})
    head = "| family | " + " | ".join(c for c, _ in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    known = {v for _, v in COLUMNS if v}

    def row(name: str, group: list[Outcome]) -> str:
        cells = []
        for title, verdict in COLUMNS:
            if title == "files":
                cells.append(len(group))
            elif title == "other":
                cells.append(sum(1 for o in group if o.verdict not in known))
            else:
                cells.append(sum(1 for o in group if o.verdict == verdict))
        return f"| {name} | " + " | ".join(str(c) for c in cells) + " |"

    for family in families:
        lines.append(row(family, [o for o in outcomes if o.family == family]))
    lines.append(row("**total**", outcomes))
    return "\n".join(lines)
