"""The reports the commands print, built as data by library functions (a notebook gets the same text).

One module per command: :mod:`.validate` (``budgetclimat validate``), :mod:`.classify` (``classify``),
:mod:`.compare` (``compare``), :mod:`.rules` (``rules lint`` and ``rules coverage``). Each builds a
dataclass holding the figures and the findings as shown, which renders itself as the terminal text
(``text()``, in the current language of :mod:`budgetclimat.i18n`) and as JSON (``to_dict()``/``json()``)::

    >>> from budgetclimat import report
    >>> from budgetclimat.pipeline import run
    >>> print(report.classify_report(run(["ca-2024.xml"])).text())   # doctest: +SKIP

This package sits at the pipeline's level: it reads a :class:`~budgetclimat.pipeline.RunResult` and the
library's frames; nothing in the library imports it, and it never imports the CLI.
"""

from __future__ import annotations

from budgetclimat.report.classify import ClassifyReport, classify_report
from budgetclimat.report.compare import CompareReport, compare_report
from budgetclimat.report.rules import CoverageReport, LintReport, coverage_report, lint_report
from budgetclimat.report.validate import ValidateReport, validate_files, validate_report

__all__ = [
    "ClassifyReport",
    "CompareReport",
    "CoverageReport",
    "LintReport",
    "ValidateReport",
    "classify_report",
    "compare_report",
    "coverage_report",
    "lint_report",
    "validate_files",
    "validate_report",
]
