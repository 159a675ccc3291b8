"""Write rules/nomenclatures/index.csv: norm, variant and year of every shipped plan de comptes.

The index lets budgetclimat find the plan of a budget without opening the ~90 plan files. Run it after
adding or replacing a plan file; ``--check`` exits 1 when the index is out of date (a test runs it).
"""

from __future__ import annotations

import sys

from budgetclimat.nomenclature.select import INDEX_NAME, build_index, shipped_dir


def main(argv: list[str]) -> int:
    target = shipped_dir() / INDEX_NAME
    text = build_index(shipped_dir())
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            print(f"{target} is out of date: run python scripts/build_plan_index.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"{target}: {text.count(chr(10)) - 1} plans")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
