"""The report of ``budgetclimat classify``: the figures per axis (in and out of scope, classes, open
questions, ranges, conventions), per year, the worklist, the carry-over of answers, then the findings: counts
by code, the warnings that change how the figures read said in full, the others grouped
(:class:`ClassifyReport`).

    >>> from budgetclimat.pipeline import run
    >>> from budgetclimat.report import classify_report
    >>> print(classify_report(run(["ca-2024.xml"])).text())   # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from budgetclimat import i18n
from budgetclimat.engine.bounds import percent_text
from budgetclimat.engine.worklist import coverage
from budgetclimat.errors import group_findings, render_finding, render_group
from budgetclimat.export.register import summary
from budgetclimat.money import format_euros
from budgetclimat.report.common import level_text, records
from budgetclimat.rulebook.model import BOUNDED_ROLLUPS, CLASSES

MAX_LISTED = 20
SAID_IN_FULL = ("nomenclature-not-covered", "view-failed", "deflator-nearest-year")


@dataclass
class ClassifyReport:
    """What ``budgetclimat classify`` prints, as data.

    * ``summary``: the figures (:func:`budgetclimat.export.register.summary`, as ``--summary-json``);
    * ``worklist``: ``{"questions", "n80", "n95"}`` (questions × key, how many cover 80 % and 95 % of the
      euros), or None without a worklist;
    * ``reconciliation_ok``: False when a document does not reconcile with its source;
    * ``counts``: ``{"level", "code", "count"}`` per level and code;
    * ``said_in_full``: the findings said one by one (:data:`SAID_IN_FULL`, at most :data:`MAX_LISTED`);
    * ``groups``: the other errors and warnings, one per code × column × value (at most :data:`MAX_LISTED`);
      ``more``: how many groups are left out.

    Messages are rendered when the report is shown (``text()``, ``to_dict()``), in the current language.
    """

    summary: dict
    worklist: dict | None = None
    reconciliation_ok: bool | None = None
    counts: list[dict] = field(default_factory=list)
    said_in_full: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    more: int = 0

    def text(self) -> str:
        """The terminal summary, line by line as ``budgetclimat classify`` prints it."""
        data = self.summary
        lang = i18n.language()
        out = [i18n.t("cli.classify.lines", n=data["lines"], axes=len(data["axes"]), names=", ".join(i18n.t(f"axis.{a}") for a in data["axes"]))]
        for axis, a in data["axes"].items():
            out.append(i18n.t("cli.classify.axis", axis=i18n.t(f"axis.{axis}")))
            out.append(i18n.t("cli.classify.in", amount=format_euros(a["in_scope"]["cents"], lang), lines=a["in_scope"]["lines"]))
            for c in CLASSES:
                out.append(i18n.t("cli.classify.class", code=c, label=i18n.t(f"class.{c}"), amount=format_euros(a["classes"][c]["cents"], lang)))
            out.append(i18n.t("cli.classify.out", amount=format_euros(a["out_of_scope"]["cents"], lang), lines=a["out_of_scope"]["lines"]))
            out.append(i18n.t("cli.classify.out-parts", **{k: format_euros(v["cents"], lang) for k, v in a["out_of_scope"]["parts"].items()}))
            out.append(i18n.t("cli.classify.questions", n=a["questions_open"]))
            if "bounds" in a:  # ranges while questions are open (engine.bounds)
                out.extend(_ranges(a, lang))
            elif data.get("engine", {}).get("name") in ("partitions", "dask"):  # said, not silently left out
                out.append(i18n.t("cli.classify.no-ranges", engine=data["engine"]["name"]))
            used = [c for c in data.get("conventions", []) if c["axis"] == axis and c["lines"]]
            if used:
                out.append(i18n.t("cli.classify.conventions", amount=format_euros(sum(c["amount_cents"] for c in used), lang),
                                  lines=sum(c["lines"] for c in used), n=len(used)))
        for year, figures in data.get("by_exercice", {}).items():  # a run over several years: each year apart
            out.append(i18n.t("cli.classify.exercice", exercice=year, n=figures["lines"]))
            for axis, a in figures["axes"].items():
                out.append(i18n.t("cli.classify.exercice-axis", axis=i18n.t(f"axis.{axis}"), in_amount=format_euros(a["in_scope"]["cents"], lang),
                                  out_amount=format_euros(a["out_of_scope"]["cents"], lang)))
                out.append(i18n.t("cli.classify.out-parts", **{k: format_euros(v["cents"], lang) for k, v in a["out_of_scope"]["parts"].items()}))
        if data.get("conventions_applied") is False:
            out.append(i18n.t("cli.classify.conventions-off", n=len(data.get("conventions", []))))
        if self.worklist is not None:
            out.append(i18n.t("cli.classify.worklist", n=self.worklist["questions"], n80=self.worklist["n80"], n95=self.worklist["n95"]))
        carry = data.get("carry_over")
        if carry is not None:
            out.append(i18n.t("cli.classify.carry-over", reused=carry["keys_reused"], new=carry["worklist_new"], stale=carry["answers_stale"]))
        if self.reconciliation_ok is False:
            out.append(i18n.t("cli.classify.reconciliation-ko"))
        f = data["findings"]
        out.append(i18n.t("cli.classify.findings", errors=f["errors"], warnings=f["warnings"]))
        for row in self.counts:
            level = level_text(row["level"])
            out.append(f"  {row['code']} ({level}) : {row['count']}" if lang == "fr" else f"  {row['code']} ({level}): {row['count']}")
        # Warnings that change how the figures read are said in full first; then errors and warnings, one entry
        # per code × column × value (the detail: budgetclimat validate --report).
        for row in self.said_in_full:
            out.append(i18n.t("cli.classify.finding", level=level_text(row["level"]), code=row["code"], message=render_finding(row)))
        for row in self.groups:
            out.append(i18n.t("cli.classify.finding", level=level_text(row["level"]), code=row["code"], message=render_group(row)))
        if self.more:
            out.append(i18n.t("cli.classify.more", n=self.more))
        return "\n".join(out)

    def to_dict(self) -> dict:
        """The figures and the findings as shown, JSON-ready (messages in the current language)."""
        return {
            "summary": self.summary,
            "worklist": self.worklist,
            "reconciliation_ok": self.reconciliation_ok,
            "findings": {
                "counts": self.counts,
                "said_in_full": [{**row, "message": render_finding(row)} for row in self.said_in_full],
                "groups": [{**row, "message": render_group(row)} for row in self.groups],
                "more": self.more,
            },
        }

    def json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)


def classify_report(result) -> ClassifyReport:
    """The report of a :class:`~budgetclimat.pipeline.RunResult` (its figures, worklist and findings)."""
    work = getattr(result, "worklist", None)
    worklist = None if work is None else {"questions": len(work), "n80": coverage(work, 0.8), "n95": coverage(work, 0.95)}
    findings = result.findings
    counts = [{"level": level, "code": code, "count": int(count)} for (level, code), count in findings.groupby(["level", "code"]).size().items()]
    said = findings["code"].isin(SAID_IN_FULL).fillna(False)
    groups = group_findings(findings[findings["level"].isin(["error", "warning"]) & ~said])
    return ClassifyReport(
        summary=summary(result),
        worklist=worklist,
        reconciliation_ok=result.reconciliation_ok,
        counts=counts,
        said_in_full=records(findings[said].head(MAX_LISTED)),
        groups=records(groups.head(MAX_LISTED)),
        more=max(len(groups) - MAX_LISTED, 0),
    )


def _ranges(a: dict, lang: str) -> list[str]:
    b, whole = a["bounds"], a["in_scope"]["cents"]
    pct = {f"{k[:3]}_{s}": percent_text(b[f"{k}_{s}_cents"], whole, lang) for k in BOUNDED_ROLLUPS for s in ("min", "max")}
    return [
        i18n.t("cli.classify.ranges", **pct),
        i18n.t("cli.classify.decided", decided=format_euros(a["decided_cents"], lang), bounded=format_euros(a["bounded_cents"], lang),
               least=format_euros(a["at_least_neutral_cents"], lang), open=format_euros(a["open_cents"], lang)),
    ]


def conventions_off_line(ruleset) -> str | None:
    """What a run without the convention rules (``--no-conventions``) says under its figures, else None."""
    if ruleset.conventions_applied:
        return None
    return i18n.t("cli.classify.conventions-off", n=len(ruleset.all_conventions()))


def partitioned_report(run) -> ClassifyReport:
    """The report of a partitioned run (:class:`budgetclimat.scale.engine.PartitionedRun`): its merged figures,
    worklist and findings (exact counts; the rows said are among those it kept)."""
    findings = run.findings
    counts = [{"level": r.level, "code": r.code, "count": int(r.count)} for r in run.finding_counts.itertuples(index=False)]
    said = findings["code"].isin(SAID_IN_FULL).fillna(False)
    groups = group_findings(findings[findings["level"].isin(["error", "warning"]) & ~said])
    return ClassifyReport(
        summary=run.summary,
        worklist=run.worklist_counts(),
        reconciliation_ok=run.reconciliation_ok,
        counts=counts,
        said_in_full=records(findings[said].head(MAX_LISTED)),
        groups=records(groups.head(MAX_LISTED)),
        more=max(len(groups) - MAX_LISTED, 0),
    )
