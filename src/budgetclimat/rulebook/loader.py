"""Load and validate rulebooks: every mistake is a :class:`ConfigError` naming file, line, key and what was expected.

The shared parts (metadata, questions, ``when``, ``rationale``, ``cases``) are validated here for every
kind. The ``then`` of ``scope`` and ``classification`` rules is validated here too; that of ``weights``
and ``carbon`` rules, and their extra metadata keys, by :mod:`budgetclimat.rulebook.kinds`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from budgetclimat import i18n, paths, yamlfile
from budgetclimat.errors import ConfigError
from budgetclimat.rulebook import saferegex
from budgetclimat.rulebook.crosswalk import load_crosswalk
from budgetclimat.rulebook.kinds import CARBON_META, WEIGHTS_META, carbon_then, weights_then
from budgetclimat.rulebook.model import (
    AXES,
    CLASSES,
    CODE_COLUMNS,
    ENUM_COLUMNS,
    KEY_KINDS,
    KINDS,
    WHEN_COLUMNS,
    All,
    Any_,
    Case,
    Condition,
    Not,
    Outcome,
    Piece,
    Question,
    Rule,
    Rulebook,
    RuleSet,
    ScopeOutcome,
    Text,
)
from budgetclimat.yamlfile import MDict, MList, RawInt

_ID_RULEBOOK = re.compile(r"^[a-z0-9-]+$")
_ID_RULE = re.compile(r"^[A-Z0-9-]+$")
_ID_QUESTION = re.compile(r"^[a-z0-9_-]+$")

META_KEYS = ["id", "kind", "title", "method", "edition", "version", "source", "precedence", "nomenclatures", "description", "license"]
KIND_META_KEYS = {"classification": ["axis", "staff_costs", "default", "crosswalks"], "scope": []}
TOP_KEYS = ["rulebook", "questions", "rules"]
RULE_KEYS = ["id", "title", "when", "then", "rationale", "source", "cases", "convention", "convention_reason"]
QUESTION_KEYS = ["fact", "text", "answers", "type", "key", "service"]
CASE_KEYS = ["given", "facts", "expect"]
EXPECT_KEYS = ["class", "split", "question", "scope", "rule", "staff_costs"]
ENUM_VALUES = {
    "section": ("F", "I"),
    "sens": ("D", "R"),
    "operation": ("reel", "ordre"),
    "ordre_kind": ("section", "interieur"),
    "budget_kind": ("principal", "annexe"),
    "doc_type": ("BP", "BS", "DM", "CA", "CFU"),
}
CASE_COLUMNS = [
    "line_id", "exercice", "doc_type", "budget_code", "budget_kind", "nomenclature", "section", "sens",
    "operation", "ordre_kind", "chapitre", "chapitre_plan", "chapitre_fonction", "nature", "fonction", "operation_code",
    "label", "amount",
]  # fmt: skip


@dataclass
class KindSpec:
    """How to validate the parts of a rulebook kind that are specific to it."""

    then: Callable[["Ctx", object, int], object] | None = None
    meta_keys: list[str] = field(default_factory=list)


# ``then(ctx, node, line)`` gets the raw YAML value of a rule's ``then`` and returns the object stored in
# :attr:`Rule.then`; extra metadata values are kept in :attr:`Rulebook.extra`.
_KINDS: dict[str, KindSpec] = {
    "weights": KindSpec(then=weights_then, meta_keys=WEIGHTS_META),
    "carbon": KindSpec(then=carbon_then, meta_keys=CARBON_META),
}


@dataclass
class Ctx:
    """Where we are in the file, to say it in errors."""

    file: str
    questions: dict[str, Question] = field(default_factory=dict)
    kind: str = ""

    def fail(self, code: str, line: int, key: str, **params: object) -> None:
        params.setdefault("hint", "")
        raise ConfigError(code, file=self.file, line=line, key=key, **params)


# ---- small typed getters -------------------------------------------------------------------------

def _kind_name(value: object) -> str:
    if value is None:
        return "vide"
    if isinstance(value, bool):
        return "booléen"
    if isinstance(value, dict):
        return "table (clé: valeur)"
    if isinstance(value, list):
        return "liste"
    if isinstance(value, (int, float)):
        return "nombre"
    return "texte"


def _check_keys(ctx: Ctx, node: MDict, allowed: list[str], where: str) -> None:
    for key in node:
        if key not in allowed:
            hint = _did_you_mean(key, allowed)
            ctx.fail("rulebook-unknown-key", node.line_of(key), f"{where}{key}", hint=hint, expected=", ".join(allowed))


def _mapping(ctx: Ctx, value: object, line: int, key: str) -> MDict:
    if not isinstance(value, dict):
        ctx.fail("rulebook-type", line, key, found=_kind_name(value), expected="table (clé: valeur)")
    return value  # type: ignore[return-value]


def _text(ctx: Ctx, value: object, line: int, key: str) -> str:
    if isinstance(value, RawInt):
        return value.raw
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        ctx.fail("rulebook-type", line, key, found=_kind_name(value), expected="texte")
    return value  # type: ignore[return-value]


def _code(ctx: Ctx, value: object, line: int, key: str) -> str:
    """A code given as text or as a number (``21312``, ``011``): always the text as written."""
    if isinstance(value, RawInt):
        return value.raw
    if isinstance(value, str):
        return value.strip()
    ctx.fail("rulebook-type", line, key, found=_kind_name(value), expected="code (texte)")
    return ""


def _list_of_codes(ctx: Ctx, value: object, line: int, key: str) -> tuple[str, ...]:
    if isinstance(value, list):
        items = [_code(ctx, v, value.line_of(i) if isinstance(value, MList) else line, key) for i, v in enumerate(value)]
        if not items:
            ctx.fail("rulebook-type", line, key, found="liste vide", expected="au moins une valeur")
        return tuple(items)
    return (_code(ctx, value, line, key),)


def _i18n_text(ctx: Ctx, value: object, line: int, key: str) -> Text:
    if isinstance(value, str):
        return Text(value)
    node = _mapping(ctx, value, line, key)
    _check_keys(ctx, node, ["fr", "en"], f"{key}.")
    if "fr" not in node and "en" not in node:
        ctx.fail("rulebook-missing-key", line, key, expected="fr")
    fr = _text(ctx, node.get("fr", ""), node.line_of("fr"), f"{key}.fr")
    en = _text(ctx, node.get("en", ""), node.line_of("en"), f"{key}.en")
    return Text(fr, en)


def _number(ctx: Ctx, value: object, line: int, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        ctx.fail("rulebook-type", line, key, found=_kind_name(value), expected="nombre")
    try:
        return Decimal(value.raw if isinstance(value, RawInt) else str(value))
    except InvalidOperation:
        ctx.fail("rulebook-type", line, key, found=f"« {value} »", expected="nombre")
    return Decimal(0)


# ---- loading -------------------------------------------------------------------------------------


def load_rulebook(path: str | Path) -> Rulebook:
    """Load and validate one rulebook file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("rulebook-not-found", path=str(path))
    ctx = Ctx(file=str(path))
    raw = yamlfile.load_file(path)
    top = _mapping(ctx, raw, 1, "(fichier)")
    _check_keys(ctx, top, TOP_KEYS, "")
    if "rulebook" not in top:
        ctx.fail("rulebook-missing-key", 1, "rulebook", expected="rulebook: {id, kind, …}")
    meta = _mapping(ctx, top["rulebook"], top.line_of("rulebook"), "rulebook")
    kind = meta.get("kind")
    if kind not in KINDS:
        ctx.fail("rulebook-value", meta.line_of("kind"), "rulebook.kind", found=kind, expected=", ".join(KINDS))
    ctx.kind = kind
    spec = _KINDS.get(kind, KindSpec())
    _check_keys(ctx, meta, META_KEYS + KIND_META_KEYS.get(kind, []) + spec.meta_keys, "rulebook.")
    for required in ("id", "kind") + (("axis",) if kind == "classification" else ()):
        if required not in meta:
            ctx.fail("rulebook-missing-key", meta.line, f"rulebook.{required}", expected=required)
    rb_id = _text(ctx, meta["id"], meta.line_of("id"), "rulebook.id")
    if not _ID_RULEBOOK.match(rb_id):
        ctx.fail("rulebook-value", meta.line_of("id"), "rulebook.id", found=rb_id, expected="[a-z0-9-]+")
    precedence = meta.get("precedence", "first-match")
    if precedence != "first-match":
        ctx.fail("rulebook-value", meta.line_of("precedence"), "rulebook.precedence", found=precedence, expected="first-match")
    nomenclatures: tuple[str, ...] = ()
    if "nomenclatures" in meta:
        nomenclatures = _list_of_codes(ctx, meta["nomenclatures"], meta.line_of("nomenclatures"), "rulebook.nomenclatures")
    axis = None
    if "axis" in meta:
        axis = meta["axis"]
        if axis not in AXES:
            hint = _did_you_mean(axis, AXES)
            ctx.fail("rulebook-value", meta.line_of("axis"), "rulebook.axis", found=axis, hint=hint, expected=", ".join(AXES))

    questions = _questions(ctx, top.get("questions"), top.line_of("questions"))
    ctx.questions = questions

    option = "3a"
    if "staff_costs" in meta:
        sc = _mapping(ctx, meta["staff_costs"], meta.line_of("staff_costs"), "rulebook.staff_costs")
        _check_keys(ctx, sc, ["option"], "rulebook.staff_costs.")
        option = str(sc.get("option", "3a"))
        if option not in ("3a", "3b"):
            ctx.fail("rulebook-value", sc.line_of("option"), "rulebook.staff_costs.option", found=option, expected="3a, 3b")
    default = None
    if kind == "classification":
        if "default" not in meta:
            ctx.fail("rulebook-missing-key", meta.line, "rulebook.default", expected="default: {class: AA, question: …}")
        default = _classification_then(ctx, meta["default"], meta.line_of("default"), "rulebook.default", allow_staff=False)
        if default.is_split:
            ctx.fail("rulebook-type", meta.line_of("default"), "rulebook.default", found="split", expected="{class: X} ou {class: AA, question: …}")
    extra = {k: meta[k] for k in spec.meta_keys if k in meta}
    crosswalks = _crosswalks(ctx, meta, path, nomenclatures)

    rules = _rules(ctx, top.get("rules"), top.line_of("rules"), rb_id, spec, nomenclatures)
    return Rulebook(
        id=rb_id,
        kind=kind,
        path=path,
        title=str(meta.get("title", "")),
        method=str(meta.get("method", "")),
        edition=_text(ctx, meta.get("edition", ""), meta.line_of("edition"), "rulebook.edition"),
        version=_text(ctx, meta.get("version", ""), meta.line_of("version"), "rulebook.version"),
        axis=axis,
        nomenclatures=nomenclatures,
        source=str(meta.get("source", "")),
        staff_costs_option=option,
        default=default,
        questions=questions,
        rules=rules,
        extra=extra,
        crosswalks=crosswalks,
    )


class _Hint(str):
    """A "did you mean" suggestion rendered in the language current when the message is shown."""

    def __new__(cls, suggestion: str) -> _Hint:
        out = super().__new__(cls, suggestion)
        out.suggestion = suggestion
        return out

    def __format__(self, spec: str) -> str:
        return i18n.t("rulebook.hint", suggestion=self.suggestion)

    def __contains__(self, item: object) -> bool:
        return item in self.suggestion


def _did_you_mean(value: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return _Hint(close[0]) if close else ""


def _crosswalks(ctx: Ctx, meta: MDict, path: Path, nomenclatures: tuple[str, ...]) -> tuple:
    """``rulebook.crosswalks``: crosswalk files (paths relative to the rulebook) whose target is one of the
    rulebook's nomenclatures (:mod:`budgetclimat.rulebook.crosswalk`)."""
    if "crosswalks" not in meta:
        return ()
    line = meta.line_of("crosswalks")
    files = _list_of_codes(ctx, meta["crosswalks"], line, "rulebook.crosswalks")
    out = []
    for name in files:
        cw = load_crosswalk(path.parent / name)
        if nomenclatures and cw.target not in nomenclatures:
            ctx.fail("rulebook-value", line, "rulebook.crosswalks", found=f"{name} ({cw.source} -> {cw.target})", expected=f"a crosswalk to {', '.join(nomenclatures)}")
        out.append(cw)
    return tuple(out)


def _questions(ctx: Ctx, node: object, line: int) -> dict[str, Question]:
    if node is None:
        return {}
    node = _mapping(ctx, node, line, "questions")
    out = {}
    for qid, body in node.items():
        key = f"questions.{qid}"
        qline = node.line_of(qid)
        if not isinstance(qid, str) or not _ID_QUESTION.match(qid):
            ctx.fail("rulebook-value", qline, key, found=qid, expected="identifiant [a-z0-9_-]+")
        body = _mapping(ctx, body, qline, key)
        _check_keys(ctx, body, QUESTION_KEYS, f"{key}.")
        for required in ("fact", "text"):
            if required not in body:
                ctx.fail("rulebook-missing-key", body.line, f"{key}.{required}", expected=required)
        qtype = body.get("type", "choice" if "answers" in body else "text")
        if qtype not in ("choice", "share", "number", "text"):
            ctx.fail("rulebook-value", body.line_of("type"), f"{key}.type", found=qtype, expected="choice, share, number, text")
        answers: tuple[str, ...] = ()
        if "answers" in body:
            answers = _list_of_codes(ctx, body["answers"], body.line_of("answers"), f"{key}.answers")
        if qtype == "choice" and not answers:
            ctx.fail("rulebook-missing-key", body.line, f"{key}.answers", expected="answers: [...] (ou type: share)")
        key_kind = str(body.get("key", "line"))
        if key_kind not in KEY_KINDS:
            ctx.fail("rulebook-value", body.line_of("key"), f"{key}.key", found=key_kind, hint=_did_you_mean(key_kind, KEY_KINDS), expected=", ".join(KEY_KINDS))
        out[qid] = Question(
            id=qid,
            fact=_text(ctx, body["fact"], body.line_of("fact"), f"{key}.fact"),
            text=_i18n_text(ctx, body["text"], body.line_of("text"), f"{key}.text"),
            answers=answers,
            type=qtype,
            key=key_kind,
            service=_text(ctx, body["service"], body.line_of("service"), f"{key}.service") if "service" in body else "",
        )
    return out


def _rules(ctx: Ctx, node: object, line: int, rb_id: str, spec: KindSpec, nomenclatures: tuple[str, ...]) -> tuple[Rule, ...]:
    if node is None:
        return ()
    if not isinstance(node, list):
        ctx.fail("rulebook-type", line, "rules", found=_kind_name(node), expected="liste de règles")
    seen: dict[str, int] = {}
    out = []
    for index, body in enumerate(node):
        rline = node.line_of(index)
        body = _mapping(ctx, body, rline, f"rules[{index + 1}]")
        _check_keys(ctx, body, RULE_KEYS, "rules[].")
        for required in ("id", "then"):
            if required not in body:
                ctx.fail("rulebook-missing-key", body.line, f"rules[{index + 1}].{required}", expected=required)
        rule_id = _text(ctx, body["id"], body.line_of("id"), "id")
        if not _ID_RULE.match(rule_id) or rule_id == "DEFAULT":
            ctx.fail("rulebook-value", body.line_of("id"), "id", found=rule_id, expected="[A-Z0-9-]+ (et pas DEFAULT)")
        if rule_id in seen:
            ctx.fail("rulebook-duplicate-id", body.line_of("id"), "id", found=rule_id, other=f"ligne {seen[rule_id]}")
        seen[rule_id] = body.line_of("id")
        key = f"{rule_id}"
        when = _when(ctx, body.get("when", MDict()), body.line_of("when"), f"{key}.when")
        then_line = body.line_of("then")
        if ctx.kind == "classification":
            then = _classification_then(ctx, body["then"], then_line, f"{key}.then", allow_staff=True)
        elif ctx.kind == "scope":
            then = _scope_then(ctx, body["then"], then_line, f"{key}.then")
        else:
            then = spec.then(ctx, body["then"], then_line)
        source = body.get("source")
        if source is not None:
            source = dict(_mapping(ctx, source, body.line_of("source"), f"{key}.source"))
        cases = _cases(ctx, body.get("cases"), body.line_of("cases"), key)
        convention = body.get("convention", False)
        if not isinstance(convention, bool):
            ctx.fail("rulebook-type", body.line_of("convention"), f"{key}.convention", found=_kind_name(convention), expected="true ou false")
        reason = None
        if "convention_reason" in body:
            reason = _i18n_text(ctx, body["convention_reason"], body.line_of("convention_reason"), f"{key}.convention_reason")
        if convention and reason is None:
            ctx.fail("rulebook-missing-key", body.line_of("convention"), f"{key}.convention_reason", expected="convention_reason: {fr: …, en: …}")
        out.append(
            Rule(
                id=rule_id,
                when=when,
                then=then,
                title=str(body.get("title", "")),
                rationale=_i18n_text(ctx, body["rationale"], body.line_of("rationale"), f"{key}.rationale") if "rationale" in body else Text(""),
                source=source,
                cases=cases,
                line=body.line,
                rulebook_id=rb_id,
                file=ctx.file,
                convention=convention,
                convention_reason=reason,
            )
        )
    return tuple(out)


def _classification_then(ctx: Ctx, node: object, line: int, key: str, allow_staff: bool) -> Outcome:
    node = _mapping(ctx, node, line, key)
    allowed = ["class", "question", "split"] + (["staff_costs"] if allow_staff else [])
    _check_keys(ctx, node, allowed, f"{key}.")
    question = None
    if "question" in node:
        question = _text(ctx, node["question"], node.line_of("question"), f"{key}.question")
        if question not in ctx.questions:
            ctx.fail("rulebook-unknown-question", node.line_of("question"), f"{key}.question", found=question, hint=_did_you_mean(question, ctx.questions))
    if node.get("staff_costs") is not None:
        if node["staff_costs"] is not True:
            ctx.fail("rulebook-value", node.line_of("staff_costs"), f"{key}.staff_costs", found=node["staff_costs"], expected="true")
        if len(node) > 1:
            ctx.fail("rulebook-value", node.line, key, found=", ".join(map(str, node)), expected="staff_costs: true seul")
        return Outcome(staff_costs=True)
    if ("class" in node) == ("split" in node):
        ctx.fail("rulebook-missing-key", node.line, key, expected="class ou split (un des deux)")
    if "class" in node:
        klass = _class(ctx, node["class"], node.line_of("class"), f"{key}.class")
        if klass == "AA" and question is None:
            ctx.fail("rulebook-aa-question", node.line_of("class"), f"{key}.class")
        return Outcome(pieces=(Piece(klass, share=1.0),), question=question)
    split = node["split"]
    sline = node.line_of("split")
    if not isinstance(split, list) or len(split) < 2:
        ctx.fail("rulebook-type", sline, f"{key}.split", found=_kind_name(split), expected="liste d'au moins deux parts {class, share}")
    pieces = []
    fixed = Decimal(0)
    n_rest = 0
    n_fact = 0
    for i, item in enumerate(split):
        pkey = f"{key}.split[{i + 1}]"
        item = _mapping(ctx, item, split.line_of(i), pkey)
        _check_keys(ctx, item, ["class", "share"], f"{pkey}.")
        for required in ("class", "share"):
            if required not in item:
                ctx.fail("rulebook-missing-key", item.line, f"{pkey}.{required}", expected=required)
        klass = _class(ctx, item["class"], item.line_of("class"), f"{pkey}.class")
        share = item["share"]
        shline = item.line_of("share")
        if share == "rest":
            n_rest += 1
            if n_rest > 1:
                ctx.fail("rulebook-split-rest", shline, f"{pkey}.share")
            pieces.append(Piece(klass, rest=True))
        elif isinstance(share, dict):
            _check_keys(ctx, share, ["fact"], f"{pkey}.share.")
            if "fact" not in share:
                ctx.fail("rulebook-missing-key", share.line, f"{pkey}.share.fact", expected="fact")
            n_fact += 1
            pieces.append(Piece(klass, fact=_text(ctx, share["fact"], share.line_of("fact"), f"{pkey}.share.fact")))
        else:
            value = _number(ctx, share, shline, f"{pkey}.share")
            if not Decimal(0) <= value <= Decimal(1):
                ctx.fail("rulebook-value", shline, f"{pkey}.share", found=share, expected="nombre entre 0 et 1, {fact: nom} ou rest")
            fixed += value
            pieces.append(Piece(klass, share=float(value)))
    if n_rest == 0 and n_fact == 0 and fixed != 1:
        ctx.fail("rulebook-split-sum", sline, f"{key}.split", found=str(fixed))
    if fixed > 1:
        ctx.fail("rulebook-split-sum", sline, f"{key}.split", found=str(fixed))
    return Outcome(pieces=tuple(pieces), question=question)


def _class(ctx: Ctx, value: object, line: int, key: str) -> str:
    if value not in CLASSES:
        ctx.fail("rulebook-unknown-class", line, key, found=value, hint=_did_you_mean(value, CLASSES), expected=", ".join(CLASSES))
    return value  # type: ignore[return-value]


def _scope_then(ctx: Ctx, node: object, line: int, key: str) -> ScopeOutcome:
    node = _mapping(ctx, node, line, key)
    _check_keys(ctx, node, ["scope", "reason"], f"{key}.")
    scope = node.get("scope")
    if scope not in ("in", "out"):
        ctx.fail("rulebook-value", node.line_of("scope"), f"{key}.scope", found=scope, expected="in, out")
    reason = None
    if scope == "out":
        if "reason" not in node:
            ctx.fail("rulebook-missing-key", node.line, f"{key}.reason", expected="reason: « … »")
        reason = _i18n_text(ctx, node["reason"], node.line_of("reason"), f"{key}.reason")
    return ScopeOutcome(out=scope == "out", reason=reason)


# ---- when ----------------------------------------------------------------------------------------


def _when(ctx: Ctx, node: object, line: int, key: str):
    node = _mapping(ctx, node, line, key)
    items = []
    for column, value in node.items():
        cline = node.line_of(column)
        ckey = f"{key}.{column}"
        if column == "any":
            if not isinstance(value, list) or not value:
                ctx.fail("rulebook-type", cline, ckey, found=_kind_name(value), expected="liste de conditions")
            items.append(Any_(tuple(_when(ctx, v, value.line_of(i), f"{ckey}[{i + 1}]") for i, v in enumerate(value))))
        elif column == "not":
            items.append(Not(_when(ctx, value, cline, ckey)))
        elif column in CODE_COLUMNS:
            items.append(_code_condition(ctx, column, value, cline, ckey))
        elif column in ENUM_COLUMNS:
            values = _list_of_codes(ctx, value, cline, ckey)
            allowed = ENUM_VALUES.get(column)
            if allowed:
                for v in values:
                    if v not in allowed:
                        ctx.fail("rulebook-value", cline, ckey, found=v, hint=_did_you_mean(v, allowed), expected=", ".join(allowed))
            items.append(Condition(column, "in", values, line=cline))
        elif column == "label":
            items.extend(_label_conditions(ctx, value, cline, ckey))
        elif column == "amount":
            value = _mapping(ctx, value, cline, ckey)
            _check_keys(ctx, value, ["min", "max"], f"{ckey}.")
            for op in ("min", "max"):
                if op in value:
                    euros = _number(ctx, value[op], value.line_of(op), f"{ckey}.{op}")
                    cents = int((euros * 100).to_integral_value())
                    items.append(Condition("amount_cents", op, (cents,), line=value.line_of(op)))
        elif column == "fact":
            items.extend(_fact_conditions(ctx, value, cline, ckey))
        else:
            ctx.fail(
                "rulebook-unknown-column",
                cline,
                ckey,
                found=column,
                hint=_did_you_mean(column, WHEN_COLUMNS + ("any", "not")),
                expected=", ".join(WHEN_COLUMNS + ("any", "not")),
            )
    return items[0] if len(items) == 1 else All(tuple(items))


def _code_condition(ctx: Ctx, column: str, value: object, line: int, key: str) -> Condition:
    if isinstance(value, dict):
        _check_keys(ctx, value, ["prefix", "not_prefix", "in", "not_in"], f"{key}.")
        if len(value) != 1:
            ctx.fail("rulebook-value", line, key, found=", ".join(map(str, value)), expected="une seule forme parmi prefix, not_prefix, in, not_in (combiner avec any/not)")
        op, arg = next(iter(value.items()))
        return Condition(column, op, _list_of_codes(ctx, arg, value.line_of(op), f"{key}.{op}"), line=line)
    return Condition(column, "in", _list_of_codes(ctx, value, line, key), line=line)


def _label_conditions(ctx: Ctx, value: object, line: int, key: str) -> list[Condition]:
    value = _mapping(ctx, value, line, key)
    _check_keys(ctx, value, ["keywords", "all_keywords", "not_keywords", "regex"], f"{key}.")
    out = []
    for op, arg in value.items():
        oline = value.line_of(op)
        if op == "regex":
            pattern = _text(ctx, arg, oline, f"{key}.regex")
            try:
                saferegex.check(pattern)
            except saferegex.UnsafeRegex as exc:
                ctx.fail("rulebook-unsafe-regex", oline, f"{key}.regex", found=pattern, detail=str(exc))
            out.append(Condition("label", "regex", (pattern,), line=oline))
        else:
            words = _list_of_codes(ctx, arg, oline, f"{key}.{op}")
            if any(not w.strip() for w in words):
                ctx.fail("rulebook-value", oline, f"{key}.{op}", found="", expected="mots non vides")
            out.append(Condition("label", op, words, line=oline))
    return out


def _fact_conditions(ctx: Ctx, value: object, line: int, key: str) -> list[Condition]:
    value = _mapping(ctx, value, line, key)
    by_fact = {q.fact: q for q in ctx.questions.values()}
    out = []
    for fact, arg in value.items():
        fline = value.line_of(fact)
        fkey = f"{key}.{fact}"
        if arg in ("present", "absent"):
            out.append(Condition(str(fact), arg, (), fact=True, line=fline))
            continue
        values = _list_of_codes(ctx, arg, fline, fkey)
        question = by_fact.get(fact)
        if question is not None and question.answers:
            for v in values:
                if v not in question.answers:
                    ctx.fail("rulebook-unknown-answer", fline, fkey, found=v, question=question.id, expected=", ".join(question.answers))
        out.append(Condition(str(fact), "fact_in", values, fact=True, line=fline))
    return out


# ---- cases ---------------------------------------------------------------------------------------


def _cases(ctx: Ctx, node: object, line: int, rule_id: str) -> tuple[Case, ...]:
    if node is None:
        return ()
    if not isinstance(node, list):
        ctx.fail("rulebook-type", line, f"{rule_id}.cases", found=_kind_name(node), expected="liste de cas {given, expect}")
    out = []
    for i, case in enumerate(node):
        ckey = f"{rule_id}.cases[{i + 1}]"
        case = _mapping(ctx, case, node.line_of(i), ckey)
        _check_keys(ctx, case, CASE_KEYS, f"{ckey}.")
        for required in ("given", "expect"):
            if required not in case:
                ctx.fail("rulebook-missing-key", case.line, f"{ckey}.{required}", expected=required)
        given = _mapping(ctx, case["given"], case.line_of("given"), f"{ckey}.given")
        _check_keys(ctx, given, CASE_COLUMNS, f"{ckey}.given.")
        given_values = {}
        for col, v in given.items():
            if col == "amount":
                given_values[col] = int((_number(ctx, v, given.line_of(col), f"{ckey}.given.amount") * 100).to_integral_value())
            else:
                given_values[col] = _code(ctx, v, given.line_of(col), f"{ckey}.given.{col}")
        facts = {}
        if "facts" in case:
            fnode = _mapping(ctx, case["facts"], case.line_of("facts"), f"{ckey}.facts")
            facts = {str(k): _code(ctx, v, fnode.line_of(k), f"{ckey}.facts.{k}") if not isinstance(v, float) else str(v) for k, v in fnode.items()}
        expect = _mapping(ctx, case["expect"], case.line_of("expect"), f"{ckey}.expect")
        _check_keys(ctx, expect, EXPECT_KEYS, f"{ckey}.expect.")
        exp = {}
        for k, v in expect.items():
            eline = expect.line_of(k)
            if k == "class":
                exp[k] = _class(ctx, v, eline, f"{ckey}.expect.class")
            elif k == "split":
                outcome = _classification_then(ctx, MDict_of({"split": v}, eline), eline, f"{ckey}.expect", allow_staff=False)
                exp[k] = outcome.pieces
            elif k == "scope":
                if v not in ("in", "out"):
                    ctx.fail("rulebook-value", eline, f"{ckey}.expect.scope", found=v, expected="in, out")
                exp[k] = v
            elif k == "staff_costs":
                exp[k] = bool(v)
            else:
                exp[k] = _text(ctx, v, eline, f"{ckey}.expect.{k}")
        out.append(Case(given=given_values, expect=exp, facts=facts, line=case.line))
    return tuple(out)


def MDict_of(values: dict, line: int) -> MDict:  # noqa: N802 - a constructor
    out = MDict(values)
    out.line = line
    out.key_lines = {k: line for k in values}
    return out


# ---- several rulebooks ---------------------------------------------------------------------------


def load_rulebooks(paths_: Iterable[str | Path]) -> RuleSet:
    """Load several rulebooks; rule ids must be unique across them, one classification rulebook per axis."""
    books = [load_rulebook(p) for p in paths_]
    return ruleset_of(books)


def ruleset_of(books: list[Rulebook]) -> RuleSet:
    seen_rules: dict[str, Rule] = {}
    seen_books: dict[str, Rulebook] = {}
    axes: dict[str, Rulebook] = {}
    for rb in books:
        if rb.id in seen_books:
            raise ConfigError("rulebook-duplicate-id", file=str(rb.path), line=1, key="rulebook.id", found=rb.id, other=str(seen_books[rb.id].path))
        seen_books[rb.id] = rb
        if rb.kind == "classification":
            if rb.axis in axes:
                raise ConfigError("rulebook-duplicate-axis", file=str(rb.path), found=rb.axis, other=str(axes[rb.axis].path))
            axes[rb.axis] = rb
        for rule in rb.rules:
            other = seen_rules.get(rule.id)
            if other is not None:
                raise ConfigError(
                    "rulebook-duplicate-id", file=rule.file, line=rule.line, key="id", found=rule.id, other=f"{other.file}, ligne {other.line}"
                )
            seen_rules[rule.id] = rule
    # Scope first, then classification, then the other kinds: the order of evaluation.
    order = {"scope": 0, "classification": 1}
    books = sorted(books, key=lambda rb: order.get(rb.kind, 2))
    return RuleSet(tuple(books))


def shipped_rulebook_paths(kinds: Iterable[str] = ("scope", "classification")) -> list[Path]:
    """The shipped YAML files for ``kinds`` (scope: ``rules/scope``, classification: ``rules/i4ce-2022``)."""
    folders = {"scope": ["scope"], "classification": ["i4ce-2022"], "weights": ["weights"], "carbon": ["carbon"]}
    root = paths.rules_dir()
    out: list[Path] = []
    for kind in kinds:
        for folder in folders.get(kind, []):
            out.extend(sorted((root / folder).glob("*.yaml")))
    return out


def default_rulebooks() -> RuleSet:
    """The shipped scope and classification rulebooks."""
    return load_rulebooks(shipped_rulebook_paths())
