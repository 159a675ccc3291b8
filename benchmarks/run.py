"""Speed benchmarks: each stage as a ratio to a bare pandas read of the same file, in the same run.

Run with ``make bench`` (or ``python benchmarks/run.py [--scale N]``). Tests never assert wall-clock
times; this script reports them so that a regression is visible. ``--scale`` replicates the real
budgets N times into larger synthetic files (same columns, line codes unchanged) to show how the
stages grow with the number of lines.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TOTEM = ROOT / "tests" / "data" / "montpellier-ca-2018-m57.xml"
CEDI = ROOT / "tests" / "data" / "gironde-ca-2016-m52-cedi.csv"


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def scaled_totem(factor: int, folder: Path) -> Path:
    """The Montpellier TOTEM with its LigneBudget elements repeated ``factor`` times."""
    text = TOTEM.read_text(encoding="latin-1")
    lines = re.findall(r"\s*<LigneBudget>.*?</LigneBudget>", text, re.S)
    first = text.index(lines[0].strip())
    last = text.index(lines[-1].strip()) + len(lines[-1].strip())
    body = "".join(lines) * factor
    out = folder / f"totem-x{factor}.xml"
    out.write_text(text[:first] + body.strip() + text[last:], encoding="latin-1")
    return out


def scaled_csv(factor: int, folder: Path) -> Path:
    text = CEDI.read_text(encoding="utf-8")
    header, _, rows = text.partition("\n")
    out = folder / f"cedi-x{factor}.csv"
    out.write_text(header + "\n" + rows.rstrip("\n").__add__("\n") * factor, encoding="utf-8")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=20, help="replication factor for the large files")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from budgetclimat.pipeline import run
    from budgetclimat.read import read_budget
    from budgetclimat.rulebook import default_rulebooks

    ruleset = default_rulebooks()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = [
            ("TOTEM Montpellier", TOTEM, lambda p: pd.read_xml(p, xpath="//d:LigneBudget", namespaces={"d": "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"}, parser="lxml", encoding="ISO-8859-1")),
            (f"TOTEM Montpellier x{args.scale}", scaled_totem(args.scale, folder), lambda p: pd.read_xml(p, xpath="//d:LigneBudget", namespaces={"d": "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"}, parser="lxml", encoding="ISO-8859-1")),
            ("cedi Gironde", CEDI, lambda p: pd.read_csv(p, dtype=str)),
            (f"cedi Gironde x{args.scale}", scaled_csv(args.scale, folder), lambda p: pd.read_csv(p, dtype=str)),
        ]
        for name, path, bare in cases:
            baseline = best_of(lambda: bare(path), args.repeat)
            n = len(read_budget(path).lines)
            read_t = best_of(lambda: read_budget(path), args.repeat)
            full_t = best_of(lambda: run([path], rulebooks=ruleset), max(1, args.repeat - 1))
            rows.append((name, n, baseline, read_t, full_t))

    print(f"{'case':32} {'lines':>9} {'pandas s':>9} {'read s':>8} {'read/pd':>8} {'classify s':>10} {'classify/pd':>11}")
    for name, n, base, read_t, full_t in rows:
        print(f"{name:32} {n:>9,} {base:>9.3f} {read_t:>8.3f} {read_t / base:>8.1f} {full_t:>10.3f} {full_t / base:>11.1f}")
    ratios = [r[4] / r[2] for r in rows]
    print(f"median classify/pandas ratio: {statistics.median(ratios):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
