"""Why a line got its class: every rule tried in order, the first failing condition, the deciding rule."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from budgetclimat import i18n
from budgetclimat.engine import answers as ans
from budgetclimat.engine.classify import classify
from budgetclimat.engine.match import DEFAULT_RULE, covered, first_rule, line_facts, match_frame
from budgetclimat.engine.matcher import describe, first_failing
from budgetclimat.errors import ConfigError
from budgetclimat.money import format_euros
from budgetclimat.rulebook.crosswalk import translate
from budgetclimat.rulebook.model import RuleSet, axis_label, class_label


@dataclass
class Trial:
    rule_id: str
    rulebook_id: str
    matched: bool
    failed_condition: str | None = None  # the first condition that did not hold (file order)


@dataclass
class AxisExplanation:
    axis: str
    trials: list[Trial] = field(default_factory=list)
    rows: pd.DataFrame | None = None  # the register rows of the line on this axis
    read_as: str | None = None  # "M57, fonction 423" when a crosswalk read the line as another nomenclature


@dataclass
class Explanation:
    line: dict
    facts: dict
    scope_trials: list[Trial]
    axes: list[AxisExplanation]

    def render(self, lang: str | None = None) -> str:
        out = [
            i18n.t(
                "explain.line",
                lang,
                line_id=self.line.get("line_id"),
                label=self.line.get("label") or "",
                amount=format_euros(int(self.line.get("amount_cents") or 0), lang or i18n.language()),
            )
        ]
        keys = ("section", "sens", "operation", "nomenclature", "chapitre", "nature", "fonction")
        out.append("  " + ", ".join(f"{k}={self.line.get(k)}" for k in keys if self.line.get(k) is not None))
        if self.facts:
            out.append("  facts: " + ", ".join(f"{k}={v}" for k, v in self.facts.items()))
        out.append(i18n.t("explain.scope", lang))
        out.extend(_trial_lines(self.scope_trials, lang))
        for ax in self.axes:
            out.append(i18n.t("explain.axis", lang, axis=axis_label(ax.axis, lang) if f"axis.{ax.axis}" in i18n.catalogue() else ax.axis))
            if ax.read_as:
                out.append(i18n.t("explain.crosswalk", lang, read_as=ax.read_as))
            out.extend(_trial_lines(ax.trials, lang))
            rows = ax.rows
            first = rows.iloc[0]
            if first["scope"] == "out":
                out.append(i18n.t("explain.skipped", lang, reason=first["scope_reason"]))
                continue
            out.append(i18n.t("explain.decided", lang, rule=first["rule_id"], decided_by=_decided_by(first["decided_by"], lang), rationale=first["rationale"] or ""))
            for r in rows.itertuples():
                klass = f"{r._6} {class_label(r._6, lang)}" if pd.notna(r._6) else "-"
                out.append(i18n.t("explain.piece", lang, klass=klass, share=_percent(float(r.share), lang), amount=format_euros(int(r.amount_share_cents), lang or i18n.language())))
            if pd.notna(first["question_id"]):
                out.append(
                    i18n.t("explain.question", lang, question_id=first["question_id"], question=first["question"], answers=first["allowed_answers"] if pd.notna(first["allowed_answers"]) else "")
                )
        return "\n".join(out)

    def to_dict(self) -> dict:
        return {
            "line": self.line,
            "facts": self.facts,
            "scope": [t.__dict__ for t in self.scope_trials],
            "axes": [
                {"axis": a.axis, "read_as": a.read_as, "trials": [t.__dict__ for t in a.trials], "register": a.rows.astype(object).where(a.rows.notna(), None).to_dict("records")}
                for a in self.axes
            ],
        }


def _trial_lines(trials: list[Trial], lang: str | None) -> list[str]:
    return [
        i18n.t("explain.matched", lang, rule=t.rule_id) if t.matched else i18n.t("explain.failed", lang, rule=t.rule_id, condition=t.failed_condition)
        for t in trials
    ]


def explain(lines: pd.DataFrame, ruleset: RuleSet, line_id: str, answers: pd.DataFrame | None = None) -> Explanation:
    """Explain the classification of one line (the whole frame is classified: staff costs depend on it)."""
    lines = lines.reset_index(drop=True)
    hits = (lines["line_id"].astype("string") == line_id).fillna(False).to_numpy()
    if not hits.any():
        raise ConfigError("explain-unknown-line", line_id=line_id)
    pos = int(hits.argmax())
    answers = ans.empty_answers() if answers is None else answers.reset_index(drop=True)
    result = classify(lines, ruleset, answers)
    pairs, _ = ans.match(lines, answers)
    facts = line_facts(lines, answers, pairs)
    one = lines.iloc[[pos]].reset_index(drop=True)
    one_facts = facts.iloc[[pos]].reset_index(drop=True)
    frame = match_frame(one, one_facts, ruleset.scope + ruleset.classification)

    scope_trials: list[Trial] = []
    for rb in ruleset.scope:
        if not covered(rb, frame).all():
            continue
        trials = _trials(rb, frame, frame)
        scope_trials.extend(trials)
        if trials and trials[-1].matched:
            break
    axes = []
    register = result.register
    for rb in ruleset.classification:
        rows = register[(register["line_id"] == line_id) & (register["axis"] == rb.axis)].reset_index(drop=True)
        trials: list[Trial] = []
        read_as = None
        if rows.iloc[0]["scope"] == "in":
            seen = translate(frame, rb.crosswalks)  # an M52 line is tried as the M57 line it maps to
            if seen["nomenclature"].iloc[0] != frame["nomenclature"].iloc[0]:
                read_as = f"{seen['nomenclature'].iloc[0]}" + (f", fonction {seen['fonction'].iloc[0]}" if "fonction" in seen.columns and pd.notna(seen["fonction"].iloc[0]) else "")
            trials = _trials(rb, frame, seen)
            if not (trials and trials[-1].matched):
                trials.append(Trial(DEFAULT_RULE, rb.id, True))
        axes.append(AxisExplanation(rb.axis, trials, rows, read_as))
    line = {k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in one.iloc[0].items()}
    fact_values = {k: v for k, v in one_facts.iloc[0].items() if pd.notna(v)} if len(one_facts.columns) else {}
    return Explanation(line=line, facts=fact_values, scope_trials=scope_trials, axes=axes)


def _trials(rb, frame: pd.DataFrame, seen: pd.DataFrame) -> list[Trial]:
    """The rules of ``rb`` tried on the one-line ``frame`` up to the deciding one (the engine's first
    match), each failed one with its first failing condition on ``seen`` (the line as the rules read it)."""
    decided = int(first_rule(rb, frame)[0])
    tried = rb.rules if decided < 0 else rb.rules[:decided]
    trials = [Trial(rule.id, rb.id, False, describe(first_failing(rule.when, seen))) for rule in tried]
    return trials if decided < 0 else trials + [Trial(rb.rules[decided].id, rb.id, True)]


def _percent(share: float, lang: str | None) -> str:
    """``40,0 %`` in French, ``40.0%`` in English."""
    if (lang or i18n.language()) == "fr":
        return f"{100 * share:.1f}".replace(".", ",") + "\u00a0%"
    return f"{share:.1%}"


def _decided_by(code, lang: str | None) -> str:
    """How a piece was decided, in words (``rule`` → « règle »); an unknown code as it is."""
    key = f"explain.decided-by.{code}"
    return i18n.t(key, lang) if key in i18n.catalogue() else str(code)
