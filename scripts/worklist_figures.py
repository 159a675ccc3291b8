"""What stays to answer in a budget: decided share, ranges while questions are open, and how many worklist
rows (question × key) cover 80 % and 95 % of the euros to investigate. Prints a Markdown table row per file.

    .venv/bin/python scripts/worklist_figures.py tests/data/montpellier-ca-2018-m57.xml ...
"""

from __future__ import annotations

import sys
import warnings

from budgetclimat.engine.worklist import coverage
from budgetclimat.pipeline import run


def pct(part: int, whole: int) -> str:
    return "–" if not whole else f"{max(100 * part / whole, 0.0):.1f} %".replace(".", ",")  # a negative line can make a bound -0


def main(paths: list[str]) -> None:
    print("| budget | axis | decided | favourable | unfavourable | neutral | AA € | worklist rows | rows for 80 % | rows for 95 % |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run([path])
        work = result.worklist
        n80, n95 = coverage(work, 0.8), coverage(work, 0.95)
        for axis, b in result.bounds.axes.items():
            aa = b.in_scope_cents - b.decided_cents
            cells = [
                path.rsplit("/", 1)[-1], axis, pct(b.decided_cents, b.in_scope_cents),
                f"{pct(b.favourable_min_cents, b.in_scope_cents)} – {pct(b.favourable_max_cents, b.in_scope_cents)}",
                f"{pct(b.unfavourable_min_cents, b.in_scope_cents)} – {pct(b.unfavourable_max_cents, b.in_scope_cents)}",
                f"{pct(b.neutral_min_cents, b.in_scope_cents)} – {pct(b.neutral_max_cents, b.in_scope_cents)}",
                f"{aa / 100:,.0f}".replace(",", " "), str(len(work)), str(n80), str(n95),
            ]
            print("| " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main(sys.argv[1:])
