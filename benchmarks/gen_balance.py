"""Seeded generator of DGFiP « balances comptables » of many collectivités (M57), CSV and Parquet.

The columns are those of the published files (data.economie.gouv.fr, « Balances comptables des
collectivités et des établissements publics locaux », présentation croisée with ``FONCTION``) that the
shipped profile ``rules/profiles/dgfip.yaml`` reads::

    EXER;IDENT;NDEPT;LBUDG;INSEE;CBUDG;CTYPE;NOMEN;SIREN;FONCTION;COMPTE;BEDEB;BECRE;OBNETDEB;OBNETCRE;OOBDEB;OOBCRE;SD;SC

* ``C`` collectivités (communes) with Zipf-like sizes (a few large ones, many small); each has its
  budget principal (``CBUDG 1``) and, one in three, one or two budgets annexes (``CBUDG 2``, ``3``) that
  take a fifth of its rows; ``SIREN`` 9 digits with a right Luhn key, ``LBUDG`` the budget's label;
* one row per budget × account × fonction, never twice; accounts are the leaf accounts of classes 1–4,
  6–7 of the plan the reader will use (:func:`budgetclimat.nomenclature.plan_for` ``M57`` and the year)
  having a real or ordre-between-sections chapter, drawn Zipf-like; fonctions from the same plan;
* movements in integer cents: the real part of a side (``OBNETDEB − OOBDEB``) when the account has a
  real chapter for that side, the ordre part (``OOBDEB``/``OOBCRE``) when it has an ordre-between-sections
  chapter and no ordre-within-a-section one (a balance does not say which kind an ordre flow is), each
  present with some probability, at least one per row; ``BE*``/``SD``/``SC`` follow (ignored by the
  profile); amounts written ``1234.56`` (the published files' decimal point).

The profile splits each row into up to four canonical lines (real/ordre × D/R, zero pieces dropped), so
the canonical line count is printed beside the row count; the exact executed cent total (``OBNETDEB +
OBNETCRE`` of every row) is printed per collectivité (SIREN) and for the file, and written beside the
file as ``<name>.totals.csv``. The Parquet copy holds the same text columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gen_totem import _decimal_text

HEADER = ["EXER", "IDENT", "NDEPT", "LBUDG", "INSEE", "CBUDG", "CTYPE", "NOMEN", "SIREN", "FONCTION", "COMPTE",
          "BEDEB", "BECRE", "OBNETDEB", "OBNETCRE", "OOBDEB", "OOBCRE", "SD", "SC"]
TOWNS = ["SAINT-", "VILLE-", "BOURG-", "MONT-", "PONT-", "VAL-", "LA ", "LE ", "NEUF-", "FONT-"]


def _luhn_keys(base: np.ndarray) -> np.ndarray:
    """9-digit SIRENs: the 8-digit ``base`` numbers and their Luhn key (vectorised)."""
    digits = np.array([[int(c) for c in f"{b:08d}"] for b in base])  # one per collectivité, not per row
    doubled = digits.copy()
    doubled[:, 1::2] = digits[:, 1::2] * 2  # with the key appended, positions 1, 3, 5, 7 are doubled
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    key = (10 - doubled.sum(axis=1) % 10) % 10
    return np.array([f"{b:08d}{k}" for b, k in zip(base, key)])


def draw_balance(rows: int, collectivites: int, seed: int, exercice: int = 2022) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The balance rows (text columns) and per-row integer cents (``cents``: OBNETDEB + OBNETCRE;
    ``pieces``: how many non-zero canonical lines the profile makes of the row)."""
    from budgetclimat.nomenclature import plan_for

    plan, _ = plan_for("M57", None, exercice)
    rng = np.random.default_rng(seed)
    acc = plan.accounts[plan.accounts["is_leaf"].astype(bool) & ~plan.accounts["deleted"].astype(bool)]
    acc = acc[acc["code"].astype(str).str.match(r"^[1-46-7]")]
    flags = pd.DataFrame({
        "rd": acc["chapter_real_d"].notna(), "rr": acc["chapter_real_r"].notna(),
        # ordre only on accounts whose ordre kind the plan settles (between sections, never within a
        # section): a balance does not say which, and the validator warns (account-not-open) otherwise
        "od": acc["chapter_ordre_section_d"].notna() & acc["chapter_ordre_interieur_d"].isna(),
        "or": acc["chapter_ordre_section_r"].notna() & acc["chapter_ordre_interieur_r"].isna(),
    }).to_numpy()
    keep = flags.any(axis=1)
    codes, flags = acc["code"].astype(str).to_numpy()[keep], flags[keep]
    fonctions = plan.fonctions["code"].astype(str)
    fonctions = fonctions[fonctions.str.len() >= 2].to_numpy()

    # collectivités and their budgets
    base = rng.choice(np.arange(10_000_000, 99_999_999), size=collectivites, replace=False)
    siren = _luhn_keys(base)
    sizes = 1.0 / np.arange(1, collectivites + 1) ** 0.9
    share = sizes / sizes.sum()
    names = np.array([f"{TOWNS[i % len(TOWNS)]}BENCH-{i + 1:04d}" for i in range(collectivites)])
    annexes = rng.integers(0, 3, collectivites) * (rng.random(collectivites) < 1 / 3)  # 0, 1 or 2 annexes

    # distinct (collectivité, budget, account, fonction): draw with replacement, keep the first of each
    w_acc = (1.0 / np.arange(1, len(codes) + 1) ** 0.8)[rng.permutation(len(codes))]
    w_fon = (1.0 / np.arange(1, len(fonctions) + 1) ** 0.5)[rng.permutation(len(fonctions))]
    picked = np.empty((0, 4), dtype=np.int64)
    while len(picked) < rows:
        need = int((rows - len(picked)) * 1.2) + 64
        coll = rng.choice(collectivites, size=need, p=share)
        budget = np.where(rng.random(need) < 0.2, 2 + (rng.random(need) < 0.5), 1)
        budget = np.where(budget - 1 <= annexes[coll], budget, 1)
        draw = np.column_stack([coll, budget, rng.choice(len(codes), size=need, p=w_acc / w_acc.sum()),
                                rng.choice(len(fonctions), size=need, p=w_fon / w_fon.sum())])
        both = np.vstack([picked, draw])
        _, first = np.unique(both, axis=0, return_index=True)
        picked = both[np.sort(first)][:rows]
    picked = picked[np.lexsort((picked[:, 2], picked[:, 1], picked[:, 0]))]  # files come sorted by budget
    coll, budget, account, fonction = picked.T
    n = len(picked)

    f = flags[account]
    present = f & (rng.random((n, 4)) < np.array([0.9, 0.9, 0.5, 0.5]))
    none = ~present.any(axis=1)
    present[none] = f[none] & (np.cumsum(f[none], axis=1) == 1)  # at least the account's first side
    amounts = np.clip(np.round(rng.lognormal(mean=10.5, sigma=2.3, size=(n, 4))), 1, 5_000_000_000).astype(np.int64)
    amounts = np.where(present, amounts, 0)
    real_d, real_r, ordre_d, ordre_r = amounts.T
    obnetdeb, obnetcre = real_d + ordre_d, real_r + ordre_r
    balance_class = np.isin(np.array([c[0] for c in codes]), list("12345"))[account]  # per account, then per row
    opening = np.where(balance_class, np.clip(np.round(rng.lognormal(11, 2.5, n)), 0, 5_000_000_000), 0).astype(np.int64)
    be_deb = np.where(rng.random(n) < 0.5, opening, 0)
    be_cre = opening - be_deb
    net = be_deb - be_cre + obnetdeb - obnetcre
    label = names[coll] + np.where(budget == 1, "", np.where(budget == 2, " - EAU", " - ASSAINISSEMENT"))
    frame = pd.DataFrame({
        "EXER": str(exercice),
        "IDENT": pd.Series(base[coll] * 10 + budget).astype(str).to_numpy(),
        "NDEPT": pd.Series(1 + base[coll] % 95).astype(str).str.zfill(3).to_numpy(),
        "LBUDG": label,
        "INSEE": pd.Series(1000 + base[coll] % 95000).astype(str).str.zfill(5).to_numpy(),
        "CBUDG": budget.astype(str),
        "CTYPE": "201",
        "NOMEN": "M57",
        "SIREN": siren[coll],
        "FONCTION": fonctions[fonction],
        "COMPTE": codes[account],
        "BEDEB": _decimal_text(be_deb).to_numpy(),
        "BECRE": _decimal_text(be_cre).to_numpy(),
        "OBNETDEB": _decimal_text(obnetdeb).to_numpy(),
        "OBNETCRE": _decimal_text(obnetcre).to_numpy(),
        "OOBDEB": _decimal_text(ordre_d).to_numpy(),
        "OOBCRE": _decimal_text(ordre_r).to_numpy(),
        "SD": _decimal_text(np.where(net > 0, net, 0)).to_numpy(),
        "SC": _decimal_text(np.where(net < 0, -net, 0)).to_numpy(),
    }, columns=HEADER)
    per_row = pd.DataFrame({"SIREN": siren[coll], "collectivite": names[coll], "CBUDG": budget,
                            "cents": obnetdeb + obnetcre, "pieces": present.sum(axis=1)})
    return frame, per_row


def write_balance(out: Path, rows: int, collectivites: int, seed: int, parquet: bool = True, exercice: int = 2022) -> list[dict]:
    """Write ``dgfip-balance-<rows>-<C>coll-seed<seed>.csv`` (and ``.parquet``) and the per-collectivité
    totals ``….totals.csv``; one record per file (kind, lines = canonical lines, rows, path, total cents)."""
    frame, per_row = draw_balance(rows, collectivites, seed, exercice)
    tag = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    stem = out / f"dgfip-balance-{tag}-{collectivites}coll-seed{seed}"
    frame.to_csv(stem.with_suffix(".csv"), sep=";", index=False, encoding="utf-8")
    totals = (per_row.groupby(["SIREN", "collectivite"], sort=False)
              .agg(rows=("cents", "size"), budgets=("CBUDG", "nunique"), lines=("pieces", "sum"), total_cents=("cents", "sum"))
              .reset_index().sort_values("total_cents", ascending=False, kind="stable"))
    totals.to_csv(stem.with_suffix(".totals.csv"), index=False)
    made = [{"kind": "balance-csv", "lines": int(per_row["pieces"].sum()), "rows": rows, "collectivites": collectivites,
             "path": stem.with_suffix(".csv"), "total_cents": int(per_row["cents"].sum()), "totals": totals}]
    if parquet:
        frame.to_parquet(stem.with_suffix(".parquet"), engine="pyarrow", index=False)
        made.append({**made[0], "kind": "balance-parquet", "path": stem.with_suffix(".parquet")})
    return made
