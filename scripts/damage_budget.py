"""Damage a generated ERP export (``benchmarks/generate.py``) so that validation has many findings.

Vectorised: the CSV is read as text (every cell a string), a seeded share of the rows gets each damage, the
CSV is written back in the same dialect (``;``, UTF-8). Each damage raises a finding of its own:

* ``Nature`` set to ``99999`` (well formed, in no plan: ``account-unknown``), 40 % of the rows;
* ``Fonction`` set to ``8x1`` (letters in a code: ``code-format`` on ``fonction``), 30 %;
* ``Montant réalisé`` set to ``12,5 €x`` (text in an amount: the reader's error), 10 %;
* ``Sens`` emptied (``required-missing`` on ``sens``), 10 %.

The damages are drawn independently (a row may have several). Prints how many rows got each damage; with
``--truth FILE`` also writes the damaged rows (file row number, damage) as a CSV, for tests that count the
findings independently.

    python scripts/damage_budget.py IN.csv OUT.csv [--seed 7] [--truth truth.csv]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

DAMAGES = {
    # damage: (column, new value, share of rows)
    "nature": ("Nature", "99999", 0.40),
    "fonction": ("Fonction", "8x1", 0.30),
    "amount": ("Montant réalisé", "12,5 €x", 0.10),
    "sens": ("Sens", "", 0.10),
}


def damage(frame: pd.DataFrame, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The damaged frame and the truth: one row per (file row, damage) — file rows count the header as 1."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    truth = []
    for name, (column, value, share) in DAMAGES.items():
        hit = rng.random(len(out)) < share
        out.loc[hit, column] = value
        truth.append(pd.DataFrame({"row": np.flatnonzero(hit) + 2, "damage": name}))
    return out, pd.concat(truth, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--truth")
    args = parser.parse_args()
    frame = pd.read_csv(args.source, sep=";", dtype=str, keep_default_na=False, encoding="utf-8")
    damaged, truth = damage(frame, args.seed)
    damaged.to_csv(args.target, sep=";", index=False, encoding="utf-8")
    if args.truth:
        truth.to_csv(args.truth, index=False)
    for name, count in truth["damage"].value_counts(sort=False).items():
        print(f"{name}: {count} rows")


if __name__ == "__main__":
    main()
