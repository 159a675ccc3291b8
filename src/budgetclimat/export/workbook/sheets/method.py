"""Méthode: rulebooks (id, version, sha256), annex definitions, factor tables, options, inputs, tool."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from budgetclimat import __version__
from budgetclimat.engine.conventions import usage
from budgetclimat.outputs import sha256_of

from ..annex import definition_or_nearest
from ..grid import H2, HEAD, MONEY, NOTE, NUMBER, TEXT, TEXT_WRAP, TITLE, Cell, Grid
from ..labels import basis_text, format_text, known
from .carbon import _status


def _known(ctx, key: str, code: str) -> str:
    """The reader's word for a code (``kind-scope`` → « Périmètre »); the code itself when none is defined."""
    return ctx.t(f"{key}-{code}") if known(f"{key}-{code}") else code


def rulebook_rows(ruleset, ctx=None) -> list[list[str]]:
    rows = []
    for rb in getattr(ruleset, "rulebooks", None) or []:
        path = getattr(rb, "path", None)
        kind = str(getattr(rb, "kind", ""))
        rows.append([str(getattr(rb, "id", "")), kind if ctx is None else _known(ctx, "kind", kind), str(getattr(rb, "version", "")),
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
        rows.append([name, format_text(getattr(source, "format", ""), ctx.lang), str(getattr(source, "encoding", "") or ""), str(source.sha256)])
    for path in ctx.inputs:
        if Path(path).name not in seen and Path(path).is_file():
            rows.append([Path(path).name, "", "", sha256_of(path)])
    return rows


def write(ctx) -> None:
    ws = ctx.sheet("sheet-methode")
    g = Grid(widths={1: 30, 2: 16, 3: 12, 4: 12, 5: 40, 6: 26, 7: 66})
    g.add(Cell(ctx.t("methode-title"), TITLE))
    g.paragraph(ctx.t("methode-note"), 7)
    g.blank()

    g.add(Cell(ctx.t("methode-rulebooks"), H2))
    g.add(*[Cell(ctx.t(k), HEAD) for k in ["col-id", "col-category", "col-version", "col-edition", "col-title", "col-file", "col-sha256"]])
    for row in rulebook_rows(ctx.prep.ruleset, ctx):
        g.add(*[Cell(v, TEXT) for v in row])
    g.blank()

    ruleset = ctx.prep.ruleset
    if hasattr(ruleset, "all_conventions"):
        conventions_section(ctx, g, ruleset)

    g.add(Cell(ctx.t("methode-annex"), H2))
    g.add(*[Cell(ctx.t(k), HEAD) for k in ["col-id", "col-exercice", "col-status", "col-version", "col-title", "col-file", "col-sha256"]])
    chosen = definition_or_nearest(ctx.prep.main_exercice, ctx.annex_definitions)[0]
    for d in ctx.annex_definitions:
        g.add(Cell(d.id + (" ✔" if chosen is d else ""), TEXT), Cell(f"≥ {d.from_exercice}", TEXT), Cell(_known(ctx, "status", d.status), TEXT), Cell("", TEXT),
              Cell(d.text(d.title, ctx.lang), TEXT), Cell(Path(d.path).name, TEXT), Cell(d.sha256, TEXT))
    g.blank()

    factors = getattr(ctx.prep.views.get("carbon"), "factors_used", None)
    if isinstance(factors, pd.DataFrame) and len(factors):
        g.add(Cell(ctx.t("methode-factors"), H2))
        # The factor by its label (an id such as ``ademe-2023-specialised-services`` is not for a reader), its status in words.
        heads = {"label": "col-factor", "source": "col-source", "edition": "col-edition", "status": "col-status", "unit": "col-unit",
                 "price_year": "col-price-year", "vat_basis": "col-vat-basis"}
        cols = [c for c in heads if c in factors.columns]
        g.add(*[Cell(ctx.t(heads[c]), HEAD) for c in cols])
        for row in factors[cols].itertuples(index=False):
            values = ["" if pd.isna(v) else (_status(ctx, v) if c == "status" else str(v)) for c, v in zip(cols, row)]
            g.add(*[Cell(v, TEXT_WRAP) for v in values])
        g.blank()

    g.add(Cell(ctx.t("methode-inputs"), H2))
    g.add(Cell(ctx.t("col-name"), HEAD), Cell(ctx.t("col-category"), HEAD), Cell(ctx.t("col-encoding"), HEAD), None, None, None, Cell(ctx.t("col-sha256"), HEAD))
    for name, fmt, enc, sha in input_rows(ctx):
        g.add(Cell(name, TEXT), Cell(fmt, TEXT), Cell(enc, TEXT), None, None, None, Cell(sha, TEXT))
    g.blank()

    g.add(Cell(ctx.t("methode-options"), H2))
    g.add(Cell(ctx.t("col-key"), HEAD), Cell(ctx.t("col-value-generic"), HEAD))
    # The fixed date of reproducible output (1980-01-01) is no date to show; a real one is written for a reader.
    options = {ctx.t("opt-lang"): ctx.t(f"lang-{ctx.lang}") if known(f"lang-{ctx.lang}") else ctx.lang}
    if ctx.show_stamp:
        s = ctx.stamp
        options[ctx.t("opt-timestamp")] = ctx.t("stamp-format", day=s.day, month=s.month, year=s.year, hour=s.hour, minute=s.minute)
    basis = ctx.prep.main_lines().get("amount_basis")
    if basis is not None:
        distinct = pd.unique(basis.dropna().astype(str))  # in order of first appearance, as the lines give them
        options[ctx.t("opt-basis")] = ", ".join(dict.fromkeys(basis_text(b, ctx.lang) for b in distinct))
    options[ctx.t("opt-answers")] = str(0 if ctx.answers is None else len(ctx.answers))
    if hasattr(ruleset, "conventions_applied"):
        options[ctx.t("opt-conventions")] = ctx.t("opt-conventions-on" if ruleset.conventions_applied else "opt-conventions-off")
    options.update({str(k): str(v) for k, v in ctx.options.items()})
    for key, value in options.items():
        r = g.add(Cell(key, TEXT), Cell(value, TEXT))
        g.merge_row(r, 2, 5)
    g.blank()
    g.add(Cell(ctx.t("methode-tool"), H2))
    r = g.add(Cell("budgetclimat", TEXT), Cell(__version__, TEXT))
    g.merge_row(r, 2, 5)
    ctx.flush(ws, g, landscape=True)


def class_given(ctx, code: str) -> str:
    """The class a convention gives, in words (``TF/D`` for a split: both classes)."""
    if code == "staff":
        return ctx.t("conventions-staff")
    if code == "in":
        return ctx.t("conventions-in")
    return " / ".join(ctx.cls(part) for part in code.split("/"))


def conventions_section(ctx, g: Grid, ruleset) -> None:
    """« Conventions »: each convention rule, its reason, the class it gives, the lines and euros it decided
    among the expenses of the main exercice, and how to switch them off (or that they were)."""
    g.add(Cell(ctx.t("methode-conventions"), H2))
    table = usage(ctx.prep.main_register(), ruleset, ctx.prep.main_lines(), lang=ctx.lang)
    if not len(table):
        g.add(Cell(ctx.t("conventions-none"), NOTE))
        g.blank()
        return
    if ruleset.conventions_applied:
        g.paragraph(ctx.t("conventions-what", exercice=ctx.prep.main_exercice or ""), 7)
        g.paragraph(ctx.t("conventions-how-off"), 7)
    else:
        g.paragraph(ctx.t("conventions-off"), 7)
    g.add(*[Cell(ctx.t(k), HEAD) for k in ["col-rule", "col-axis", "col-class-given", "col-lines", "col-amount", "col-rule-ref", "col-convention-reason"]])
    for row in table.to_dict("records"):
        axis = ctx.axis(row["axis"]) if isinstance(row["axis"], str) else ctx.t("conventions-all-axes")
        given = class_given(ctx, row["class"])
        if not row["applied"]:
            given = f"{given} ({ctx.t('conventions-not-applied')})"
        g.add(Cell(row["title"] or row["rule_id"], TEXT_WRAP), Cell(axis, TEXT_WRAP), Cell(given, TEXT_WRAP), Cell(int(row["lines"]), NUMBER),
              Cell(int(row["amount_cents"]) / 100, MONEY), Cell(row["rule_id"], TEXT_WRAP), Cell(row["reason"], TEXT_WRAP))  # a long reference wraps at its hyphens
    g.blank()
