"""The report of ``budgetclimat validate``: per file what it is, its totals, the reconciliation, the
findings counted by code, then the findings grouped as a person reads them (:class:`ValidateReport`).

    >>> from budgetclimat.report import validate_files
    >>> print(validate_files(["ca-2024.xml"]).text())   # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from budgetclimat import i18n
from budgetclimat.errors import ERROR, concat_findings, group_findings, render_findings, render_group
from budgetclimat.export.register import to_csv as register_csv
from budgetclimat.model import BASIS_LABELS
from budgetclimat.money import format_euros
from budgetclimat.outputs import atomic_output, formula_safe
from budgetclimat.read import read_budget, require_files
from budgetclimat.report.common import dumps_with_blocks, plain, records, records_json
from budgetclimat.validate import DocumentReport, counts_by_code, validate_document

MAX_LISTED = 50


def _basis_text(basis: object, lang: str) -> str:
    labels = BASIS_LABELS.get(str(basis))
    return str(basis) if labels is None else labels[0 if lang == "fr" else 1]


SHOWN_VALUES = 3  # of a header column holding several values (a file of many collectivités)


def _t(key: str, **params: object) -> str:
    return i18n.t(f"cli.validate.{key}", **params)


@dataclass
class ValidateReport:
    """What ``budgetclimat validate`` says about some documents.

    * ``documents``: one :class:`~budgetclimat.validate.DocumentReport` per file, in input order;
    * ``findings``: the findings listed (all of them, or the errors only: ``level``), with their
      ``message`` rendered in the language current when the report was built (``language``);
    * ``level``: the lowest level listed (``warning`` or ``error``); counts and totals ignore it.

    The messages are rendered when ``findings`` is first read (``csv()``, ``json()``, ``write()``),
    once per distinct pattern (:func:`budgetclimat.errors.render_findings`); the terminal text
    (``text()``) renders only the groups it shows.
    """

    documents: list[DocumentReport]
    unrendered: pd.DataFrame  # the findings listed, without their message
    level: str = "warning"
    language: str = field(default_factory=i18n.language)
    _rendered: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def findings(self) -> pd.DataFrame:
        if self._rendered is None:
            rendered = self.unrendered.copy()
            rendered["message"] = render_findings(rendered, self.language)
            self._rendered = rendered
        return self._rendered

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.documents)

    @property
    def warnings(self) -> int:
        return sum(r.warnings for r in self.documents)

    @property
    def has_errors(self) -> bool:
        return any(r.errors for r in self.documents)

    def text(self) -> str:
        """The terminal summary (``--format human``)."""
        return to_human(self.documents, self.unrendered)

    def to_dict(self) -> dict:
        """The figures and findings as JSON-ready data (``--format json``)."""
        return to_json(self.documents, self.findings)

    def json(self) -> str:
        return to_json_text(self.documents, self.findings)

    def csv(self) -> str:
        """The findings listed, one per row (``--format csv``); cells safe in a spreadsheet."""
        return to_csv(self.findings)

    def render(self, output_format: str) -> str:
        """``human``, ``json`` or ``csv``: what the command prints."""
        return {"human": self.text, "json": self.json, "csv": self.csv}[output_format]()

    def complete(self) -> ValidateReport:
        """The same report listing every finding whatever ``level`` (what ``--report`` writes)."""
        return self if self.level == "warning" else validate_report(self.documents, "warning")

    def write(self, path: Path, inputs: Iterable[Path] = ()) -> None:
        """The complete report to ``path`` (atomically, never over an input): CSV of the findings in the
        dialect of the language (``.csv``) or JSON (any other suffix)."""
        findings = self.complete().findings
        with atomic_output(path, inputs) as tmp:
            if path.suffix.lower() == ".csv":
                # The file a person opens in a spreadsheet: the CSV dialect of the language, like the line register
                # (French: « ; », decimal comma, UTF-8 with BOM, so that French Excel splits the columns).
                register_csv(_formula_safe(findings), tmp)
            else:
                tmp.write_text(to_json_text(self.documents, findings) + "\n", encoding="utf-8")


def validate_files(paths: Iterable[str | Path], profile: str | None = None, basis: str | None = None,
                   constants: dict[str, str] | None = None, level: str = "warning") -> ValidateReport:
    """Read and validate each file (its own ``file_index``), every path checked before any is read."""
    files = require_files(paths)
    documents = [
        validate_document(read_budget(path, profile=profile, basis=basis, file_index=index, constants=constants))
        for index, path in enumerate(files)
    ]
    return validate_report(documents, level)


def validate_report(documents: list[DocumentReport], level: str = "warning") -> ValidateReport:
    """The report of validated documents, listing the findings from ``level`` up (``error``: errors only)."""
    return ValidateReport(list(documents), _listed_findings(documents, level), level)


def _listed_findings(reports: list, level: str):
    findings = concat_findings([r.findings for r in reports])
    if level == "error":
        findings = findings[findings["level"] == ERROR]
    # Messages are rendered later, once per distinct pattern (code, file, column, value…): ValidateReport.findings.
    return findings.reset_index(drop=True)


def to_json_text(reports: list, findings) -> str:
    """``json.dumps(to_json(reports, findings), ensure_ascii=False, indent=2)``, byte for byte, with each
    file's list of findings written column by column (:func:`~budgetclimat.report.common.records_json`)."""
    blocks: dict[str, str] = {}
    stamp = uuid.uuid4().hex

    def listed(mine) -> str:
        placeholder = f"findings-{stamp}-{len(blocks)}"
        blocks[placeholder] = records_json(mine, 6)  # a file's "findings": items at 8 spaces, "]" at 6
        return placeholder

    return dumps_with_blocks(to_json(reports, findings, listed), blocks)


def to_json(reports: list, findings, listed=records) -> dict:
    files = []
    for r in reports:
        mine = findings[findings["file"] == r.reconciliation.file]
        files.append(
            {
                **{k: plain(v) if not isinstance(v, list) else v for k, v in r.summary().items()},
                "totals": records(r.reconciliation.totals),
                "ordre": records(r.reconciliation.ordre),
                "counts": {row["code"]: int(row["count"]) for row in counts_by_code(r.findings).to_dict("records")},
                "findings": listed(mine),
                # What a person reads: one entry per code × column × value, with the count and first rows.
                "groups": [{**g, "message": render_group(g)} for g in records(group_findings(mine))],
            }
        )
    return {
        "language": i18n.language(),
        "errors": sum(r.errors for r in reports),
        "warnings": sum(r.warnings for r in reports),
        "files": files,
    }


def _formula_safe(findings):
    # Values come from input files: a cell starting like a formula must stay text in a spreadsheet.
    out = findings.copy()
    for column in ("file", "column", "value", "expected", "message"):
        out[column] = formula_safe(out[column])
    return out


def to_csv(findings) -> str:
    return _formula_safe(findings).to_csv(index=False, lineterminator="\n")


def to_human(reports: list, findings) -> str:
    lang = i18n.language()
    lines: list[str] = []
    for r in reports:
        s = r.summary()
        rec = r.reconciliation
        lines.append(f"== {_t('file')} : {s['file']}" if lang == "fr" else f"== {_t('file')}: {s['file']}")
        colon = " : " if lang == "fr" else ": "
        for key in ("collectivite", "siret", "exercice", "doc_type", "budget", "nomenclature"):
            if key == "collectivite" and isinstance(s["siret"], list):  # names of budgets (a balance): count the SIRET/SIREN
                lines.append(f"{_t(key)}{colon}{_t('collectivites', n=_count_text(len(s['siret']), lang))}")
            elif isinstance(s[key], list):  # several values: their count and the first ones
                shown = ", ".join(str(v) for v in s[key][:SHOWN_VALUES]) + (" …" if len(s[key]) > SHOWN_VALUES else "")
                lines.append(f"{_t(key)}{colon}{_t('several', n=_count_text(len(s[key]), lang), values=shown)}")
            elif s[key] is not None:
                lines.append(f"{_t(key)}{colon}{s[key]}")
        lines.append(f"{_t('plans')}{colon}{', '.join(s['plans']) or _t('no-plan')}")
        lines.append(f"{_t('basis')}{colon}{_basis_text(s['basis'], lang)}")
        count = _count_text(s["lines_out"], lang)
        detail = _t("lines-detail", lines_in=_count_text(s["lines_in"], lang), lines_out=count) if s["lines_in"] is not None else count
        lines.append(f"{_t('lines')}{colon}{detail}")
        lines.append(f"{_t('totals')}{colon.rstrip()}")
        totals = rec.totals.set_index(["section", "sens", "operation"])["lines_cents"]
        width = 20
        lines.append(f"  {'':<30}{_t('reel'):>{width}}{_t('ordre'):>{width}}")
        for section in ("F", "I"):
            for sens in ("D", "R"):
                cells = [format_euros(int(totals.get((section, sens, op), 0)), lang) for op in ("reel", "ordre")]
                label = f"{_t(section)}, {_t(sens)}"
                lines.append(f"  {label:<30}{cells[0]:>{width}}{cells[1]:>{width}}")
        status = _t("unavailable") if s["reconciliation_ok"] is None else _t("ok") if s["reconciliation_ok"] else _t("ko")
        lines.append(f"{_t('reconciliation')}{colon}{status}")
        balance = "not-checkable" if s["ordre_balanced"] is None else "balanced" if s["ordre_balanced"] else "unbalanced"
        lines.append(f"{_t('ordre-balance')}{colon}{_t(balance)}")
        lines.append(f"{_t('findings')}{colon}{_t('counts', errors=s['errors'], warnings=s['warnings'])}")
        for row in counts_by_code(r.findings).to_dict("records"):
            lines.append(f"  {row['code']} ({_t(row['level'])}){colon}{row['count']}")
        lines.append("")
    if len(reports) > 1:
        errors, warnings = sum(r.errors for r in reports), sum(r.warnings for r in reports)
        lines.append(f"{_t('total')}{colon}{_t('counts', errors=errors, warnings=warnings)}")
        lines.append("")
    if len(findings):
        groups = group_findings(findings)
        lines.append(f"{_t('findings')}{colon.rstrip()}")
        if len(groups) < len(findings):
            lines.append("  " + _t("grouped", findings=len(findings), groups=len(groups)))
        for row in groups.head(MAX_LISTED).to_dict("records"):
            lines.append(f"  [{_t(row['level'])}] {row['code']}{colon}{render_group(row)}")
        if len(groups) > MAX_LISTED:
            lines.append("  " + _t("more", n=len(groups) - MAX_LISTED))
    return "\n".join(lines).rstrip("\n")


def _count_text(n: int, lang: str) -> str:
    return f"{int(n):,}".replace(",", "\u202f" if lang == "fr" else ",")
