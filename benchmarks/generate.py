"""Seeded generator of realistic line-level ERP exports for the benchmarks (deterministic for a seed).

One line per budget line of an M57 compte administratif, as an in-house finance package (Ciril,
Astre, Grand Angle…) exports it, with the headers the shipped ``generic`` profile recognises:

    Exercice;Collectivité;Nomenclature;Type de document;Section;Sens;Réel/Ordre;Chapitre;Nature;
    Fonction;Libellé;Montant réalisé

* accounts (``Nature``) and their chapters are drawn from the shipped plan
  ``rules/nomenclatures/plans/2022/M57_D.xml.gz`` through :func:`budgetclimat.nomenclature.plan.load_plan`:
  leaf accounts having a real (resp. ordre between sections) chapter for the drawn sens, the chapter's
  section from the plan; fonctions are the plan's fonction codes of two digits or more;
* labels are composed « object — supplier — place n° NNNNN », so that they rarely repeat
  (≈ 60 × 80 × 50 × 90,000 combinations);
* amounts are integer cents (log-normal, 1 € to ~10 M€), written as French text « 1 234,56 »
  (space thousands separator, decimal comma). The exact cent total is printed for checking.

Sizes: 100k and 1M lines by default, 10M only with ``--huge`` (drawn and appended in chunks of 1M lines,
seeded ``[seed, chunk]``, so that memory stays flat). The 100k file is also written as XLSX
(openpyxl write-only, amounts as numeric cells) and as Parquet (pyarrow, the same text columns).
Everything is vectorised (numpy/pandas) except the XLSX writer, which openpyxl feeds row by row.

    python benchmarks/generate.py --out /tmp/bench-data [--seed 12] [--sizes 100000 1000000] [--huge]
        [--totem 100000] [--balance 1000000x50 1000000x500]

``--totem N`` also writes a TOTEM « Actes budgétaires » document of N lines (``gen_totem.py``),
``--balance ROWSxC`` a DGFiP balance of ROWS rows over C collectivités, CSV and Parquet
(``gen_balance.py``, with its per-collectivité totals); ``--sizes`` with no value writes no ERP export.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # gen_totem, gen_balance
PLAN = ROOT / "rules" / "nomenclatures" / "plans" / "2022" / "M57_D.xml.gz"

OBJECTS = np.array([
    "Fournitures de bureau", "Entretien des espaces verts", "Maintenance chaufferie", "Électricité bâtiments",
    "Carburant véhicules", "Travaux de voirie", "Réfection toiture", "Éclairage public LED", "Transport scolaire",
    "Restauration scolaire", "Subvention association sportive", "Subvention centre social", "Location de matériel",
    "Honoraires architecte", "Étude de faisabilité", "Assurance flotte", "Nettoyage des locaux", "Gaz naturel",
    "Eau et assainissement", "Téléphonie mobile", "Licences logicielles", "Formation des agents", "Frais de mission",
    "Acquisition de terrain", "Construction gymnase", "Rénovation énergétique école", "Piste cyclable",
    "Bornes de recharge", "Mobilier urbain", "Signalisation horizontale", "Collecte des déchets", "Tri sélectif",
    "Vidéoprotection", "Fêtes et cérémonies", "Livres et médiathèque", "Spectacles vivants", "Entretien piscine",
    "Chauffage urbain", "Panneaux photovoltaïques", "Isolation des combles", "Plantation d'arbres", "Désherbage",
    "Curage des fossés", "Balayage mécanique", "Réparation véhicules", "Acquisition bus électrique", "Vélos de service",
    "Repas des aînés", "Aide sociale facultative", "Bourses étudiantes", "Intérêts d'emprunt", "Remboursement capital",
    "Taxe foncière", "Dotation forfaitaire", "Produits des services", "Loyers perçus", "Redevance d'occupation",
    "Participation département", "FCTVA", "Cessions immobilières",
])
SUPPLIERS = np.array([f"{a} {b}" for a in (
    "SARL", "SAS", "SA", "EURL", "SCOP", "Régie", "Association", "Syndicat", "Entreprise", "Établissements",
) for b in (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
)])
PLACES = np.array([
    "Hôtel de ville", "École Jules Ferry", "École Pasteur", "Gymnase municipal", "Stade Léo Lagrange", "Piscine",
    "Médiathèque", "Centre technique", "Parc des sports", "Quartier nord", "Quartier sud", "Centre-ville",
    "Zone d'activités", "Port de plaisance", "Cimetière", "Crèche Les Lutins", "Foyer logement", "Salle des fêtes",
    "Théâtre", "Conservatoire", "Musée", "Marché couvert", "Halle", "Jardin public", "Bois communal", "Rue de la Gare",
    "Avenue de la République", "Place du Marché", "Boulevard Victor Hugo", "Chemin des Vignes", "Route de Lyon",
    "Rue Jean Jaurès", "Allée des Tilleuls", "Quai de Loire", "Square Gambetta", "Maison des associations",
    "Centre social", "Mairie annexe", "Police municipale", "Caserne", "Station d'épuration", "Déchetterie",
    "Aire de jeux", "Skate-park", "Piste d'athlétisme", "Tennis couverts", "Dojo", "Camping municipal",
    "Office de tourisme", "Hangar communal",
])
CHUNK = 1_000_000  # above this many lines a file is drawn and written in chunks (the 10M one)
HEADER = ["Exercice", "Collectivité", "Nomenclature", "Type de document", "Section", "Sens", "Réel/Ordre",
          "Chapitre", "Nature", "Fonction", "Libellé", "Montant réalisé"]


def draw_lines(n: int, seed: int | list[int]) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` export lines (all text columns, as the file holds them) and their amounts in integer cents."""
    from budgetclimat.nomenclature.plan import load_plan

    plan = load_plan(PLAN)
    rng = np.random.default_rng(seed)
    acc = plan.accounts[plan.accounts["is_leaf"].astype(bool) & ~plan.accounts["deleted"].astype(bool)]
    section_of = plan.chapters.drop_duplicates("code", keep=False).set_index("code")["section"]
    pools = {}
    for sens in ("D", "R"):
        for op, col in (("Réel", f"chapter_real_{sens.lower()}"), ("Ordre", f"chapter_ordre_section_{sens.lower()}")):
            ok = acc[acc[col].notna()]
            pools[(sens, op)] = (ok["code"].astype(str).to_numpy(), ok[col].astype(str).to_numpy())
    fonctions = plan.fonctions["code"].astype(str)
    fonctions = fonctions[fonctions.str.len() >= 2].to_numpy()

    sens = np.where(rng.random(n) < 0.62, "D", "R")
    op = np.where(rng.random(n) < 0.96, "Réel", "Ordre")
    nature = np.empty(n, dtype=object)
    chapter = np.empty(n, dtype=object)
    for (s, o), (codes, chapters) in pools.items():
        mask = (sens == s) & (op == o)
        k = int(mask.sum())
        if k:
            # Zipf-like weights: a few accounts hold many lines, as in a real budget.
            weights = 1.0 / np.arange(1, len(codes) + 1) ** 0.8
            pick = rng.choice(len(codes), size=k, p=weights / weights.sum())
            pick = rng.permutation(len(codes))[pick]  # which accounts are frequent depends on the seed
            nature[mask] = codes[pick]
            chapter[mask] = chapters[pick]
    section = pd.Series(chapter).map(section_of).fillna("F").to_numpy()
    label = (
        pd.Series(OBJECTS[rng.integers(0, len(OBJECTS), n)], dtype=object) + " — "
        + SUPPLIERS[rng.integers(0, len(SUPPLIERS), n)] + " — "
        + PLACES[rng.integers(0, len(PLACES), n)] + " n° "
        + pd.Series(rng.integers(10_000, 100_000, n)).astype(str)
    )
    cents = np.clip(np.round(rng.lognormal(mean=11.0, sigma=2.2, size=n)), 100, 1_000_000_000).astype(np.int64)
    frame = pd.DataFrame({
        "Exercice": "2022",
        "Collectivité": "Commune de Bench-sur-Seed",
        "Nomenclature": "M57",
        "Type de document": "CA",
        "Section": np.where(section == "I", "Investissement", "Fonctionnement"),
        "Sens": np.where(sens == "D", "Dépense", "Recette"),
        "Réel/Ordre": op,
        "Chapitre": chapter,
        "Nature": nature,
        "Fonction": fonctions[rng.integers(0, len(fonctions), n)],
        "Libellé": label.to_numpy(),
        "Montant réalisé": french_amounts(cents),
    }, columns=HEADER)
    return frame, cents


def french_amounts(cents: np.ndarray) -> np.ndarray:
    """Integer cents as French text « 1 234,56 » (vectorised string operations)."""
    euros = pd.Series(cents // 100).astype(str).str.replace(r"(\d)(?=(\d{3})+$)", r"\1 ", regex=True)
    return (euros + "," + pd.Series(cents % 100).astype(str).str.zfill(2)).to_numpy()


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, sep=";", index=False, encoding="utf-8")


def write_xlsx(frame: pd.DataFrame, cents: np.ndarray, path: Path) -> None:
    """openpyxl write-only; amounts as numeric cells (what a spreadsheet export holds)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Export")
    sheet.append(HEADER)
    body = frame.drop(columns=["Montant réalisé"]).to_numpy(dtype=object).tolist()
    euros = (cents / 100).tolist()  # two decimals: each float's shortest repr is the exact cent value
    for row, amount in zip(body, euros):
        row.append(amount)
        sheet.append(row)
    book.save(path)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, engine="pyarrow", index=False)


def generate(out: Path, sizes: list[int], seed: int, xlsx_size: int = 100_000) -> list[dict]:
    """Write the inputs to ``out``; returns one record per file (kind, lines, path, total cents)."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for n in sizes:
        start = time.perf_counter()
        tag = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        path = out / f"erp-m57-{tag}-seed{seed}.csv"
        if n > CHUNK:  # in chunks of CHUNK lines (seeds [seed, i]) appended to one file: flat memory
            total = 0
            for i, start_line in enumerate(range(0, n, CHUNK)):
                frame, chunk_cents = draw_lines(min(CHUNK, n - start_line), [seed, i])
                frame.to_csv(path, sep=";", index=False, encoding="utf-8", mode="w" if i == 0 else "a", header=i == 0)
                total += int(chunk_cents.sum())
            print(f"{n:>10,} lines generated in {time.perf_counter() - start:.1f} s (total {total:,} cents)", file=sys.stderr)
            made.append({"kind": "csv", "lines": n, "path": path, "total_cents": total})
            continue
        frame, cents = draw_lines(n, seed)
        write_csv(frame, path)
        made.append({"kind": "csv", "lines": n, "path": path, "total_cents": int(cents.sum())})
        if n == xlsx_size:
            xlsx = out / f"erp-m57-{tag}-seed{seed}.xlsx"
            write_xlsx(frame, cents, xlsx)
            made.append({"kind": "xlsx", "lines": n, "path": xlsx, "total_cents": int(cents.sum())})
            parquet = out / f"erp-m57-{tag}-seed{seed}.parquet"
            write_parquet(frame, parquet)
            made.append({"kind": "parquet", "lines": n, "path": parquet, "total_cents": int(cents.sum())})
        print(f"{n:>10,} lines generated in {time.perf_counter() - start:.1f} s "
              f"(total {int(cents.sum()):,} cents)", file=sys.stderr)
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--huge", action="store_true", help="also 10M lines")
    parser.add_argument("--totem", type=int, nargs="*", default=[], metavar="N", help="TOTEM documents of N lines")
    parser.add_argument("--balance", type=balance_spec, nargs="*", default=[], metavar="ROWSxC",
                        help="DGFiP balances of ROWS rows over C collectivités, e.g. 1000000x500")
    args = parser.parse_args()
    sizes = list(args.sizes) + ([10_000_000] if args.huge else [])
    made = generate(args.out, sizes, args.seed) if sizes else []
    args.out.mkdir(parents=True, exist_ok=True)
    made += [generate_totem(args.out, n, args.seed) for n in args.totem]
    for rows, colls in args.balance:
        balances = generate_balance(args.out, rows, colls, args.seed)
        made += balances
        print(f"per collectivité ({balances[0]['path'].with_suffix('.totals.csv').name}):")
        print(balances[0]["totals"].to_string(index=False))
    for rec in made:
        print(f"{rec['kind']:16} {rec['lines']:>10,} {rec['total_cents']:>20,} {rec['path']}")
    return 0


def balance_spec(text: str) -> tuple[int, int]:
    rows, _, colls = text.lower().partition("x")
    return int(rows), int(colls)


def generate_totem(out: Path, n: int, seed: int) -> dict:
    """A TOTEM document of ``n`` lines (``gen_totem.py``); its record (kind ``totem``)."""
    from gen_totem import write_totem

    start = time.perf_counter()
    tag = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
    rec = write_totem(out / f"totem-m57-ca-{tag}-seed{seed}.xml", n, seed)
    print(f"{n:>10,} TOTEM lines generated in {time.perf_counter() - start:.1f} s "
          f"(MtReal total {rec['total_cents']:,} cents, plan {rec['plan']})", file=sys.stderr)
    return rec


def generate_balance(out: Path, rows: int, collectivites: int, seed: int) -> list[dict]:
    """A DGFiP balance (``gen_balance.py``), CSV and Parquet; their records (``balance-csv``/``-parquet``)."""
    from gen_balance import write_balance

    start = time.perf_counter()
    made = write_balance(out, rows, collectivites, seed)
    print(f"{rows:>10,} balance rows ({collectivites} collectivités, {made[0]['lines']:,} canonical lines) generated in "
          f"{time.perf_counter() - start:.1f} s (total {made[0]['total_cents']:,} cents)", file=sys.stderr)
    return made


if __name__ == "__main__":
    sys.exit(main())
