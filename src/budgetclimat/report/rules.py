"""The reports of ``budgetclimat rules lint`` (:class:`LintReport`: the problems found in rulebooks) and
``budgetclimat rules coverage`` (:class:`CoverageReport`: euros and lines decided by each rule, the lines no
rule matched).

    >>> from budgetclimat.rulebook import default_rulebooks
    >>> from budgetclimat.rulebook.lint import lint
    >>> from budgetclimat.report import lint_report
    >>> ruleset = default_rulebooks()                                # doctest: +SKIP
    >>> print(lint_report(ruleset, lint(ruleset)).text())            # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from budgetclimat import i18n
from budgetclimat.engine.coverage import coverage as rule_coverage
from budgetclimat.engine.coverage import unmatched
from budgetclimat.errors import FindingCounts, render_finding
from budgetclimat.money import euros_text, format_euros
from budgetclimat.outputs import formula_safe
from budgetclimat.report.common import level_text, records
from budgetclimat.rulebook.model import axis_label

MAX_LISTED = 30


@dataclass
class LintReport(FindingCounts):
    """``rulebooks``, ``rules``, ``cases``: how many were linted; ``findings``: the problems found (a
    findings frame, :mod:`budgetclimat.rulebook.lint`)."""

    rulebooks: int
    rules: int
    cases: int
    findings: pd.DataFrame

    def text(self) -> str:
        """What ``rules lint`` prints: the counts linted, one line per problem, then the totals."""
        out = [i18n.t("cli.rules.rulebooks", n=self.rulebooks, rules=self.rules, cases=self.cases)]
        for r in self.findings.to_dict("records"):
            out.append(f"[{level_text(r['level'])}] {r['code']} : {render_finding(r)}")
        out.append(i18n.t("cli.rules.counts", errors=self.errors, warnings=self.warnings) if len(self.findings) else i18n.t("cli.rules.clean"))
        return "\n".join(out)

    def to_dict(self) -> dict:
        """``{"errors", "warnings", "findings"}``, each finding with its ``message`` (``--format json``)."""
        rows = records(self.findings)
        for r in rows:
            r["message"] = render_finding(r)
        return {"errors": self.errors, "warnings": self.warnings, "findings": rows}

    def json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def csv(self) -> str:
        """The findings with their message, one per row, cells safe in a spreadsheet (``--format csv``)."""
        out = self.findings.copy()
        out["message"] = [render_finding(r) for r in self.findings.to_dict("records")]
        for column in ("file", "value", "expected", "message"):
            out[column] = formula_safe(out[column])
        return out.to_csv(index=False, lineterminator="\n")

    def render(self, output_format: str) -> str:
        """``human``, ``json`` or ``csv``: what the command prints."""
        return {"human": self.text, "json": self.json, "csv": self.csv}[output_format]()


def lint_report(ruleset, findings: pd.DataFrame) -> LintReport:
    """The report of :func:`budgetclimat.rulebook.lint.lint` run on ``ruleset``."""
    return LintReport(
        rulebooks=len(ruleset.rulebooks),
        rules=sum(len(rb.rules) for rb in ruleset.rulebooks),
        cases=sum(len(r.cases) for rb in ruleset.rulebooks for r in rb.rules),
        findings=findings,
    )


def lint_progress_text(step: int, total: int, rulebook) -> str:
    """One step of the lint (``progress`` of :func:`budgetclimat.rulebook.lint.lint`): the plans, then each rulebook."""
    if rulebook is None:
        return i18n.t("cli.rules.progress-plans")
    return i18n.t("cli.rules.progress", step=step, total=total, rulebook=rulebook.title or rulebook.id, rules=len(rulebook.rules))


@dataclass
class CoverageReport:
    """``rules``: lines and cents decided per axis × rule (:func:`budgetclimat.engine.coverage.coverage`);
    ``unmatched``: the lines no rule matched, per axis (:func:`budgetclimat.engine.coverage.unmatched`)."""

    rules: pd.DataFrame
    unmatched: pd.DataFrame

    def text(self) -> str:
        """What ``rules coverage`` prints: per axis, each rule's lines and euros; then the first lines no rule matched."""
        lang = i18n.language()
        out = []
        for axis, rows in self.rules.groupby("axis", sort=False):
            out.append(i18n.t("cli.rules.axis", axis=axis_label(axis)))
            for r in rows.itertuples():
                out.append(f"  {r.rule_id:<40} {r.lines:>7} {format_euros(int(r.amount_cents), lang):>24}")
        rest = self.unmatched
        out.append(i18n.t("cli.rules.unmatched", n=len(rest)))
        for r in rest.head(MAX_LISTED).itertuples():
            out.append(f"  {r.axis} {r.line_id} {r.nature} {r.fonction if isinstance(r.fonction, str) else ''} {r.label} {format_euros(int(r.amount_cents), lang)}")
        if len(rest) > MAX_LISTED:
            out.append(i18n.t("cli.rules.more", n=len(rest) - MAX_LISTED))
        return "\n".join(out)

    def to_dict(self) -> dict:
        """``{"rules", "unmatched"}`` with amounts as euro text (``--format json``)."""
        rest = self.unmatched
        return {
            "rules": self.rules.assign(amount=euros_text(self.rules["amount_cents"])).to_dict("records"),
            "unmatched": rest.assign(amount=euros_text(rest["amount_cents"]), label=formula_safe(rest["label"])).astype(object).where(rest.notna(), None).to_dict("records"),
        }

    def json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def csv(self) -> str:
        """The rules' table with amounts as euro text (``--format csv``)."""
        return self.rules.assign(amount=euros_text(self.rules["amount_cents"])).to_csv(index=False, lineterminator="\n")

    def render(self, output_format: str) -> str:
        """``human``, ``json`` or ``csv``: what the command prints."""
        return {"human": self.text, "json": self.json, "csv": self.csv}[output_format]()


def coverage_report(result) -> CoverageReport:
    """The coverage of a :class:`~budgetclimat.pipeline.RunResult`'s rules."""
    return CoverageReport(rule_coverage(result.register, result.ruleset), unmatched(result.register, result.lines))
