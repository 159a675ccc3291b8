"""Méthode: rulebooks (id, version, sha256), annex definitions, factor tables, options, inputs, tool."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from budgetclimat import __version__

from ..annex import definition_or_nearest
from ..grid import H2, HEAD, NOTE, TEXT, TEXT_WRAP, TITLE, C, Grid


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def rulebook_rows(ruleset) -> list[list[str]]:
    rows = []
    for rb in getattr(ruleset, "rulebooks", None) or []:
        path = getattr(rb, "path", None)
        rows.append([str(getattr(rb, "id", "")), str(getattr(rb, "kind", "")), str(getattr(rb, "version", "")),
                     str(getattr(rb, "edition", "")), str(getattr(rb, "title", "")), Path(path).name if path else "",
                     sha256_of(path) if path else ""])
    return rows


def input_rows(ctx) -> list[list[str]]:
    rows, seen = [], set()
    for doc in ctx.prep.documents:
        source = getattr(doc, "source", None)
        if source is None:
            continue
        name = Path(source.path).name
        seen.add(name)
        rows.append([name, str(getattr(source, "format", "")), str(getattr(source, "encoding", "") or ""), str(source.sha256)])
    for path in ctx.inputs:
        if Path(path).name not in seen and Path(path).is_file():
            rows.append([Path(path).name, "", "", sha256_of(path)])
    return rows


def write(ctx) -> None:
    ws = ctx.sheet("sheet-methode")
    g = Grid(widths={1: 30, 2: 16, 3: 12, 4: 12, 5: 40, 6: 26, 7: 66})
    g.add(C(ctx.t("methode-title"), TITLE))
    g.add(C(ctx.t("methode-note"), NOTE))
    g.blank()

    g.add(C(ctx.t("methode-rulebooks"), H2))
    g.add(*[C(ctx.t(k), HEAD) for k in ["col-id", "col-category", "col-version", "col-edition", "col-title", "col-file", "col-sha256"]])
    for row in rulebook_rows(ctx.prep.ruleset):
        g.add(*[C(v, TEXT) for v in row])
    g.blank()

    g.add(C(ctx.t("methode-annex"), H2))
    g.add(*[C(ctx.t(k), HEAD) for k in ["col-id", "col-exercice", "col-status", "col-version", "col-title", "col-file", "col-sha256"]])
    chosen = definition_or_nearest(ctx.prep.main_exercice, ctx.annex_definitions)[0]
    for d in ctx.annex_definitions:
        g.add(C(d.id + (" ✔" if chosen is d else ""), TEXT), C(f"≥ {d.from_exercice}", TEXT), C(d.status, TEXT), C("", TEXT),
              C(d.text(d.title, ctx.lang), TEXT), C(Path(d.path).name, TEXT), C(d.sha256, TEXT))
    g.blank()

    factors = getattr(ctx.prep.carbon, "factors_used", None)
    if isinstance(factors, pd.DataFrame) and len(factors):
        g.add(C(ctx.t("methode-factors"), H2))
        cols = [c for c in ["factor_id", "source", "edition", "status", "unit", "price_year", "vat_basis"] if c in factors.columns]
        g.add(*[C(c, HEAD) for c in cols])
        for row in factors[cols].itertuples(index=False):
            g.add(*[C("" if pd.isna(v) else str(v), TEXT_WRAP) for v in row])
        g.blank()

    g.add(C(ctx.t("methode-inputs"), H2))
    g.add(C(ctx.t("col-name"), HEAD), C(ctx.t("col-category"), HEAD), C("encoding", HEAD), None, None, None, C(ctx.t("col-sha256"), HEAD))
    for name, fmt, enc, sha in input_rows(ctx):
        g.add(C(name, TEXT), C(fmt, TEXT), C(enc, TEXT), None, None, None, C(sha, TEXT))
    g.blank()

    g.add(C(ctx.t("methode-options"), H2))
    g.add(C(ctx.t("col-key"), HEAD), C(ctx.t("col-value-generic"), HEAD))
    options = {ctx.t("opt-lang"): ctx.lang, ctx.t("opt-timestamp"): ctx.stamp.strftime("%Y-%m-%dT%H:%M:%SZ")}
    basis = ctx.prep.main_lines().get("amount_basis")
    if basis is not None:
        options[ctx.t("opt-basis")] = ", ".join(dict.fromkeys(basis.dropna().astype(str)))
    options[ctx.t("opt-answers")] = str(0 if ctx.answers is None else len(ctx.answers))
    options.update({str(k): str(v) for k, v in ctx.options.items()})
    for key, value in options.items():
        r = g.add(C(key, TEXT), C(value, TEXT))
        g.merge_row(r, 2, 5)
    g.blank()
    g.add(C(ctx.t("methode-tool"), H2))
    r = g.add(C("budgetclimat", TEXT), C(__version__, TEXT))
    g.merge_row(r, 2, 5)
    ctx.flush(ws, g, landscape=True)
