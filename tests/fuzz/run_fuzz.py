"""``make fuzz``: the full mutation campaign (≥ 1,000 damaged files), with a summary table per family.

    .venv/bin/python tests/fuzz/run_fuzz.py [--seed N] [--only PATTERN] [--sample N] [--keep DIR] [--json FILE]

Files are written under a temporary directory (``--keep DIR`` keeps them there for inspection) and never
in the repository. Exit code 0 when every mutant is ``ok``, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from fnmatch import fnmatch
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutate import SEED, plan  # noqa: E402
from runner import FAILURES, run_mutant, summary_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--only", default="*", help="fnmatch pattern on mutant ids, e.g. 'amounts-csv-*'")
    parser.add_argument("--sample", type=int, default=0, help="run a seeded sample of N mutants only")
    parser.add_argument("--keep", type=Path, help="keep the mutants and outputs in this directory")
    parser.add_argument("--json", type=Path, help="write every outcome to this JSON file")
    parser.add_argument("--examples", type=int, default=3, help="failures listed per family and verdict")
    args = parser.parse_args(argv)

    specs = [s for s in plan(args.seed) if fnmatch(s.id, args.only)]
    if args.sample:
        specs = sorted(random.Random(args.seed).sample(specs, min(args.sample, len(specs))), key=lambda s: s.id)
    with tempfile.TemporaryDirectory(prefix="budgetclimat-fuzz-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        outcomes = []
        start = time.perf_counter()
        for n, spec in enumerate(specs, 1):
            outcome = run_mutant(spec.build(), workdir)
            outcomes.append(outcome)
            if outcome.verdict != "ok":
                print(f"[{n}/{len(specs)}] {outcome.id}: {outcome.verdict} — {outcome.detail[:160]}", file=sys.stderr, flush=True)
            elif n % 100 == 0:
                print(f"[{n}/{len(specs)}] {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - start

    print(f"\nMutation campaign, seed {args.seed}: {len(outcomes)} files in {elapsed:.0f} s "
          f"({sum(1 for o in outcomes if o.classify is not None)} also through classify)\n")
    print(summary_table(outcomes))
    failures = [o for o in outcomes if not o.ok]
    if failures:
        print("\nVerdicts: " + "; ".join(f"{k} = {v}" for k, v in FAILURES.items()))
        print("\nExamples of failures:")
        shown: Counter = Counter()
        for o in failures:
            key = (o.family, o.verdict)
            if shown[key] < args.examples:
                shown[key] += 1
                print(f"- {o.id} [{o.verdict}] exit {o.exit_code}: {o.detail[:300]}")
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
