"""Regenerate ``rules/crosswalks/m52-m57-accounts.csv`` and check ``m52-m57-fonctions.csv``.

Usage: ``python scripts/gen_crosswalk_m52_m57.py PLANS_DIR`` where ``PLANS_DIR/2016/M52.xml.gz`` and
``PLANS_DIR/2016/M57.xml.gz`` are the official ODM plans de comptes (``../shared/data/nomenclatures/plans``).

An M52 account is kept when the M57 plan of the same year has the same code with the same label
(labels compared without accents, case, spaces or punctuation: « (P.L.D.) » = « (PLD) »). Every row of the
fonction table must name an M52 fonction and an M57 fonction of those plans, with their exact labels.
"""

from __future__ import annotations

import csv
import gzip
import re
import sys
import tempfile
import unicodedata
from pathlib import Path

from budgetclimat.nomenclature.plan import load_plan

YEAR = 2016
OUT = Path(__file__).resolve().parent.parent / "rules" / "crosswalks"


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]", "", text)


def plan(folder: Path, name: str):
    with gzip.open(folder / str(YEAR) / f"{name}.xml.gz", "rb") as f, tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as tmp:
        tmp.write(f.read())
    return load_plan(tmp.name)


def main(folder: Path) -> None:
    m52, m57 = plan(folder, "M52"), plan(folder, "M57")
    both = m52.accounts.merge(m57.accounts, on="code", suffixes=("_m52", "_m57"))
    same = both[both["label_m52"].map(norm) == both["label_m57"].map(norm)].sort_values("code")
    with open(OUT / "m52-m57-accounts.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "label_m52", "label_m57"])
        w.writerows(same[["code", "label_m52", "label_m57"]].itertuples(index=False))
    f52 = dict(zip(m52.fonctions["code"], m52.fonctions["label"]))
    f57 = dict(zip(m57.fonctions["code"], m57.fonctions["label"]))
    with open(OUT / "m52-m57-fonctions.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            assert f52.get(row["m52"]) == row["label_m52"], row
            assert f57.get(row["m57"]) == row["label_m57"], row
            assert row["rationale"].strip(), row
    print(f"{len(same)} accounts of {len(m52.accounts)} M52 {YEAR} kept; fonction table checked")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
