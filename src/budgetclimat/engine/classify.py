"""Classify a line frame with a rule set: scope, classification per axis, staff costs, overrides.

Rules are evaluated once per *distinct combination* of the columns they test (plus facts), never per
line; the decisions are then mapped back to lines by group number. The result is the **register**:
one row per line × axis × piece (:data:`REGISTER_COLUMNS`, documented in ``docs/register.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from budgetclimat import i18n
from budgetclimat.engine import answers as ans
from budgetclimat.engine.coverage import uncovered_finding
from budgetclimat.engine.match import DEFAULT_RULE, covered, distinct, first_rule, line_facts, match_frame
from budgetclimat.engine.matcher import Prepared, fact_column
from budgetclimat.errors import WARNING, ConfigError, concat_findings, findings_frame
from budgetclimat.money import allocate
from budgetclimat.rulebook.crosswalk import translate
from budgetclimat.rulebook.model import CLASSES, Outcome, Rulebook, RuleSet
from budgetclimat.rulebook.sources import readable

REGISTER_COLUMNS = [
    "line_id", "axis", "piece", "scope", "scope_reason", "class", "share", "amount_share_cents", "rule_id",
    "rationale", "question_id", "question", "allowed_answers", "allocation", "decided_by", "comment", "author",
]  # fmt: skip
REGISTER_DTYPES = {c: "string" for c in REGISTER_COLUMNS} | {"piece": "int64", "share": "float64", "amount_share_cents": "int64"}


@dataclass
class Classification:
    """The engine's output. ``facts`` is aligned with the lines (one column per fact supplied)."""

    register: pd.DataFrame
    findings: pd.DataFrame
    facts: pd.DataFrame


def classify(lines: pd.DataFrame, ruleset: RuleSet, answers: pd.DataFrame | None = None, staff_basis=None) -> Classification:
    """Classify canonical ``lines`` with ``ruleset`` (scope then classification rulebooks) and ``answers``.
    ``staff_basis``: the basis of the staff-cost pro rata when it is not these lines alone (:func:`_staff`)."""
    lines = lines.reset_index(drop=True)
    answers = ans.empty_answers() if answers is None else answers.reset_index(drop=True)
    findings = [ans.check_answers(answers, ruleset.facts(), ruleset.axes, ruleset.questions())]
    pairs, stale = ans.match(lines, answers)
    findings.append(stale)
    facts = line_facts(lines, answers, pairs)

    gid, combos = distinct(match_frame(lines, facts, ruleset.scope + ruleset.classification))

    prepared = Prepared(combos, [rule for rb in ruleset.scope + ruleset.classification for rule in rb.rules])  # one label search for all
    scope_rule, scope_out = _scope(combos, ruleset, prepared)
    pieces = pd.concat(
        [_axis_pieces(combos, rb, scope_rule, scope_out, prepared) for rb in ruleset.classification] or [_empty_pieces()],
        ignore_index=True,
    )
    base = pd.DataFrame(
        {
            "pos": np.arange(len(lines)),
            "gid": gid,
            "line_id": lines["line_id"].astype("string").to_numpy(),
            "amount_cents": lines["amount_cents"].astype("int64").to_numpy(),
        }
    )
    findings.append(_uncovered(lines, gid, combos, ruleset, scope_out))
    reg = base.merge(pieces, on="gid", how="inner")
    axis_order = {rb.axis: i for i, rb in enumerate(ruleset.classification)}
    reg["axis_no"] = reg["axis"].map(axis_order).astype("int64")
    reg["allocation"] = pd.Series(pd.NA, index=reg.index, dtype="string")
    reg["comment"] = pd.Series(pd.NA, index=reg.index, dtype="string")
    reg["author"] = pd.Series(pd.NA, index=reg.index, dtype="string")
    reg = _allocate(reg, len(lines))

    reg, override_findings, overridden = _overrides(reg, lines, answers, pairs, ruleset)
    findings.append(override_findings)
    reg = _staff(reg, lines, ruleset, overridden, staff_basis)
    reg = _comments(reg, answers, pairs, ruleset)
    reg = _texts(reg, ruleset)
    reg = reg.sort_values(["axis_no", "pos", "piece"], kind="stable").reset_index(drop=True)
    register = reg[REGISTER_COLUMNS].astype(REGISTER_DTYPES)
    return Classification(register=register, findings=concat_findings(findings), facts=facts)


def _uncovered(lines: pd.DataFrame, gid: np.ndarray, combos: pd.DataFrame, ruleset: RuleSet, scope_out: np.ndarray) -> pd.DataFrame:
    """The ``nomenclature-not-covered`` finding: in-scope lines some classification rulebook does not cover."""
    missing = np.zeros(len(combos), dtype=bool)
    for rb in ruleset.classification:
        missing |= ~covered(rb, combos)
    return uncovered_finding(lines, (missing & ~scope_out)[gid], ruleset)


# ---- scope ----------------------------------------------------------------------------------------


def _scope(combos: pd.DataFrame, ruleset: RuleSet, prepared: Prepared | None = None) -> tuple[np.ndarray, np.ndarray]:
    """First match across the scope rulebooks, in order: the deciding rule id of each combination and
    whether it is out of scope."""
    n = len(combos)
    rule_ids = np.full(n, None, dtype=object)
    out = np.zeros(n, dtype=bool)
    decided = np.zeros(n, dtype=bool)
    for rb in ruleset.scope:
        chosen = first_rule(rb, combos, among=~decided, prepared=prepared)
        hit = chosen >= 0
        rule_ids[hit] = np.array([r.id for r in rb.rules], dtype=object)[chosen[hit]]
        out[hit] = np.array([r.then.out for r in rb.rules], dtype=bool)[chosen[hit]]
        decided |= hit
    return rule_ids, out


# ---- pieces per combination ----------------------------------------------------------------------

_PIECE_COLUMNS = ["gid", "axis", "piece", "scope", "scope_reason", "class", "share", "rule_id", "question_id", "decided_by", "staff"]


def _empty_pieces() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in _PIECE_COLUMNS})


_PIECE_DEFAULTS = {"piece": 0, "scope": "in", "scope_reason": None, "class": None, "share": 1.0, "rule_id": None, "question_id": None, "decided_by": None, "staff": False}
_PIECE_KINDS = {"gid": "int64", "piece": "int64", "share": "float64", "staff": bool}


def _rows(gids: np.ndarray, axis: str, **values) -> dict[str, np.ndarray]:
    """Pieces of ``gids`` as columns of numpy arrays (one frame is built per axis, in :func:`_pieces_frame`)."""
    n = len(gids)
    out = {"gid": np.asarray(gids, dtype="int64"), "axis": np.full(n, axis, dtype=object)}
    for col, default in _PIECE_DEFAULTS.items():
        value = values.get(col, default)
        kind = _PIECE_KINDS.get(col, object)
        out[col] = np.asarray(value, dtype=kind) if isinstance(value, np.ndarray) else np.full(n, value, dtype=kind)
    return out


def _pieces_frame(parts: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    if not parts:
        return _empty_pieces()
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in _PIECE_COLUMNS})


def _axis_pieces(combos: pd.DataFrame, rb: Rulebook, scope_rule: np.ndarray, scope_out: np.ndarray, prepared: Prepared | None = None) -> pd.DataFrame:
    gids = np.arange(len(combos))
    chosen = first_rule(rb, combos, among=~scope_out, prepared=prepared)
    in_book = covered(rb, combos)
    combos = translate(combos, rb.crosswalks)  # the outcomes read an M52 line as the M57 line it maps to
    active = ~scope_out & in_book
    parts = []
    if scope_out.any():
        parts.append(_rows(gids[scope_out], rb.axis, scope="out", rule_id=scope_rule[scope_out], decided_by="rule"))
    uncovered = ~scope_out & ~in_book
    if uncovered.any():
        parts.append(_rows(gids[uncovered], rb.axis, scope="out", scope_reason=i18n.t("register.scope-nomenclature"), decided_by="rule"))
    for i in np.unique(chosen[active]):
        sel = active & (chosen == i)
        outcome, rule_id, by, used = (rb.default, DEFAULT_RULE, "default", set()) if i == -1 else (rb.rules[i].then, rb.rules[i].id, "rule", rb.rules[i].facts_used())
        read = {fact_column(f) for f in used} | {fact_column(p.fact) for p in outcome.pieces if p.fact}
        sub = combos.loc[sel, [c for c in combos.columns if c in read]]  # only the facts the outcome reads: fewer copies
        parts.extend(_outcome_rows(outcome, sub, gids[sel], rb, rule_id, by, used))
    return _pieces_frame(parts)


def _outcome_rows(outcome: Outcome, sub: pd.DataFrame, gids: np.ndarray, rb: Rulebook, rule_id: str, decided_by: str, facts_used: set[str]) -> list[dict]:
    by = np.full(len(sub), decided_by, dtype=object)
    if facts_used:
        present = sub[[fact_column(f) for f in sorted(facts_used)]].notna().any(axis=1).to_numpy()
        by[present] = "answer"
    if outcome.staff_costs:
        return [_rows(gids, rb.axis, rule_id=rule_id, decided_by=by, staff=True)]
    if not any(p.fact for p in outcome.pieces) and not any(p.rest for p in outcome.pieces):
        return [
            _rows(gids, rb.axis, piece=k, **{"class": p.klass}, share=p.share, rule_id=rule_id, question_id=outcome.question, decided_by=by)
            for k, p in enumerate(outcome.pieces)
        ]
    # A split with shares from facts: a line whose fact is missing waits for its answer (AA + question).
    fact_shares = {}
    missing = np.zeros(len(sub), dtype=bool)
    question_of_missing = np.full(len(sub), None, dtype=object)
    for p in outcome.pieces:
        if p.fact:
            share, _bad = ans.parse_share(sub[fact_column(p.fact)])
            absent = share.isna().to_numpy()
            question = rb.question_for_fact(p.fact)
            question_of_missing[absent & ~missing] = question.id if question else f"fact:{p.fact}"
            missing |= absent
            fact_shares[p.fact] = share.fillna(0).to_numpy(dtype="float64")
    parts = []
    if missing.any():
        parts.append(_rows(gids[missing], rb.axis, **{"class": "AA"}, rule_id=rule_id, question_id=question_of_missing[missing], decided_by=by[missing]))
    ok = ~missing
    if ok.any():
        known = np.zeros(ok.sum())
        shares = []
        for p in outcome.pieces:
            value = fact_shares[p.fact][ok] if p.fact else (None if p.rest else np.full(ok.sum(), p.share))
            if value is not None:
                known = known + value
            shares.append(value)
        rest = np.clip(1.0 - known, 0.0, 1.0)
        for k, (p, value) in enumerate(zip(outcome.pieces, shares)):
            parts.append(
                _rows(gids[ok], rb.axis, piece=k, **{"class": p.klass}, share=rest if value is None else value, rule_id=rule_id, decided_by=by[ok])
            )
    return parts


def _allocate(reg: pd.DataFrame, n_lines: int) -> pd.DataFrame:
    reg = reg.sort_values(["axis_no", "pos", "piece"], kind="stable").reset_index(drop=True)
    group = reg["axis_no"].to_numpy() * max(n_lines, 1) + reg["pos"].to_numpy()
    reg["share"] = reg["share"].astype("float64")
    reg["amount_share_cents"] = allocate(reg["amount_cents"], reg["share"], pd.Series(group)).to_numpy()
    return reg


# ---- overrides, staff costs, comments ------------------------------------------------------------


def _overrides(reg, lines, answers, pairs, ruleset):
    """Analyst classes replace the rules' output on in-scope rows. Returns (reg, findings, overridden keys)."""
    empty_keys = pd.DataFrame({"pos": pd.Series(dtype="int64"), "axis": pd.Series(dtype="string")})
    rows = pairs.merge(answers.reset_index(names="answer"), on="answer")
    rows = rows[rows["class"].notna()]
    if not len(rows):
        return reg, None, empty_keys
    axes = pd.DataFrame({"axis": ruleset.axes})
    every = rows[rows["axis"].isna()].drop(columns="axis").merge(axes, how="cross")
    rows = pd.concat([rows[rows["axis"].notna() & rows["axis"].isin(ruleset.axes)], every], ignore_index=True)
    share, _ = ans.parse_share(rows["share"])
    rows["share_value"] = share.astype("float64")
    counts = rows.groupby(["pos", "axis"])["answer"].transform("size")
    rows["share_value"] = rows["share_value"].where(~(rows["share_value"].isna() & (counts == 1)), 1.0)
    sums = rows.groupby(["pos", "axis"])["share_value"].transform("sum")
    bad = (sums - 1).abs() > 1e-6
    if bad.any():
        r = rows[bad].iloc[0]
        raise ConfigError("answers-share-sum", file=r["source_file"], row=r["source_row"], value=r["line_id"] if pd.notna(r["line_id"]) else lines["line_id"].iloc[r["pos"]], column=r["axis"], expected=f"{sums[bad].iloc[0]:g}")
    in_scope = reg[reg["scope"] == "in"][["pos", "axis"]].drop_duplicates()
    target = rows.merge(in_scope, on=["pos", "axis"], how="left", indicator=True)
    out_rows = target[target["_merge"] == "left_only"]
    findings = findings_frame(
        [
            {"level": WARNING, "code": "answer-out-of-scope", "file": r.source_file, "row": r.source_row, "column": "class", "value": lines["line_id"].iloc[r.pos], "expected": ""}
            for r in out_rows.drop_duplicates("answer").itertuples()  # a few rows: one finding each
        ]
    )
    rows = target[target["_merge"] == "both"].drop(columns="_merge").sort_values(["pos", "axis", "answer"], kind="stable")
    keys = rows[["pos", "axis"]].drop_duplicates()
    first = reg.merge(keys, on=["pos", "axis"]).sort_values("piece").drop_duplicates(["pos", "axis"])
    new = rows[["pos", "axis", "class", "share_value", "comment", "author"]].merge(
        first[["pos", "axis", "gid", "line_id", "amount_cents", "axis_no", "scope", "scope_reason", "rule_id", "staff"]], on=["pos", "axis"]
    )
    new = new.rename(columns={"share_value": "share"})
    new["class"] = new["class"].str.upper()
    new["piece"] = new.groupby(["pos", "axis"]).cumcount()
    new["question_id"] = None
    new["decided_by"] = "override"
    new["staff"] = False
    new["allocation"] = pd.NA
    hit = reg.merge(keys.assign(_hit=True), on=["pos", "axis"], how="left")["_hit"].fillna(False).to_numpy(dtype=bool)
    reg = pd.concat([reg[~hit], new], ignore_index=True)
    reg = _allocate(reg, len(lines))
    return reg, findings, keys


def _staff(reg: pd.DataFrame, lines: pd.DataFrame, ruleset: RuleSet, overridden: pd.DataFrame, basis=None) -> pd.DataFrame:
    """Staff lines allocated pro rata (I4CE 3a / 3b, :func:`staff_allocation`). ``basis``: None, the in-scope
    expenses of these lines (one pool); a tuple of line columns (e.g. ``("siret", "budget_code", "exercice",
    "doc_type")``), one pool per value of those columns among these lines; a frame ``<key columns>, axis,
    fonction, class, amount_share_cents`` (:data:`STAFF_BASIS_VALUES`), the totals of a whole budget read in
    partitions. The basis rows: in-scope expense rows that are not staff lines (an overridden staff line
    counts with its analyst class)."""
    staff_rows = reg["staff"].astype(bool).to_numpy() & (reg["scope"] == "in").to_numpy()
    if not staff_rows.any():
        return reg
    basis = () if basis is None else basis
    keys = list(basis) if isinstance(basis, (tuple, list)) else staff_key_columns(basis)
    pools = staff_lines(lines, keys)
    if isinstance(basis, (tuple, list)):  # pools of these lines, by the columns named (none: one pool)
        staff_keys_ = reg.loc[staff_rows, ["pos", "axis"]].assign(_s=True)
        rows = reg[(reg["scope"] == "in").to_numpy()].merge(staff_keys_, on=["pos", "axis"], how="left")
        basis = staff_totals(lines, rows[rows["_s"].isna()], keys, pools)
    fonction = pools["fonction"].to_numpy()
    new_parts = []
    for rb in ruleset.classification:
        mine = reg[staff_rows & (reg["axis"] == rb.axis).to_numpy()]
        if not len(mine):
            continue
        pos = mine["pos"].to_numpy()
        staff = pd.DataFrame({"pos": pos, "fonction": pd.array(fonction[pos], dtype="string"), **{k: pools[k].to_numpy()[pos] for k in keys}})
        pieces = staff_allocation(staff, basis[(basis["axis"] == rb.axis).to_numpy()], keys, rb.staff_costs_option, rb.default)
        mine = mine.drop(columns=["class", "share", "piece", "amount_share_cents", "allocation", "question_id"])
        new_parts.append(mine.merge(pieces, on="pos"))
    new = pd.concat(new_parts, ignore_index=True).sort_values(["axis_no", "pos"], kind="stable")  # classes in order within a line
    new["piece"] = new.groupby(["axis_no", "pos"]).cumcount()
    new["share"] = new["weight"] / new.groupby(["axis_no", "pos"])["weight"].transform("sum")
    new["decided_by"] = "staff"
    new = new.drop(columns=["weight"])
    reg = pd.concat([reg[~staff_rows], new], ignore_index=True)
    return _allocate(reg, len(lines))


STAFF_BASIS_VALUES = ["axis", "fonction", "class", "amount_share_cents"]


def staff_key_columns(basis: pd.DataFrame) -> list[str]:
    """The pool key columns of a basis frame (:func:`staff_totals`): its columns but :data:`STAFF_BASIS_VALUES`."""
    return [c for c in basis.columns if c not in STAFF_BASIS_VALUES]


def staff_keys(lines: pd.DataFrame, keys) -> pd.DataFrame:
    """The pool of each line for the staff-cost pro rata: the ``keys`` columns of ``lines`` as text ("" when empty)."""
    return pd.DataFrame({k: lines[k].astype("string").fillna("").to_numpy() for k in keys}, index=lines.index)


def staff_lines(lines: pd.DataFrame, keys) -> pd.DataFrame:
    """What the pro rata reads of each line: its pool (:func:`staff_keys`), ``fonction`` (string, NA when
    empty) and ``expense`` (sens D)."""
    frame = staff_keys(lines, keys)
    frame["fonction"] = lines["fonction"].astype("string").str.strip().replace("", pd.NA).to_numpy()
    frame["expense"] = (lines["sens"].astype("string") == "D").fillna(False).to_numpy(dtype=bool)
    return frame


def staff_totals(lines: pd.DataFrame, rows: pd.DataFrame, keys, read: pd.DataFrame | None = None) -> pd.DataFrame:
    """The basis of the pro rata from register ``rows`` with their ``pos`` in ``lines`` (the in-scope, classed,
    non-staff rows): Σ cents per pool (``keys``) × axis × fonction × class (:data:`STAFF_BASIS_VALUES`).
    ``read``: :func:`staff_lines` of ``lines`` when the caller has it already."""
    keys = list(keys)
    pos = rows["pos"].to_numpy(dtype="int64")
    read = staff_lines(lines, keys) if read is None else read
    frame = pd.DataFrame({**{k: read[k].to_numpy()[pos] for k in keys}, "axis": rows["axis"].astype("string").to_numpy(),
                          "fonction": pd.array(read["fonction"].to_numpy()[pos], dtype="string"), "class": rows["class"].astype("string").to_numpy(),
                          "amount_share_cents": rows["amount_share_cents"].astype("int64").to_numpy()})
    frame = frame[read["expense"].to_numpy()[pos] & frame["class"].notna().to_numpy()]
    return frame.groupby(keys + STAFF_BASIS_VALUES[:3], dropna=False, sort=True)["amount_share_cents"].sum().reset_index()


def staff_allocation(staff: pd.DataFrame, totals: pd.DataFrame, keys, option: str, default) -> pd.DataFrame:
    """The I4CE staff-cost pro rata of one axis, the one core of :func:`classify` and of the bounds' recount.

    ``staff``: one row per staff line, ``pos``, ``fonction`` (string, NA when none) and the pool ``keys``;
    ``totals``: the basis, ``<keys>, fonction, class, amount_share_cents`` (:func:`staff_totals`, one axis);
    ``option``: ``3a`` (pro rata of the pool's class totals) or ``3b`` (of the class totals of the line's
    fonction in its pool, else of the pool's: « 3b-reste »); ``default``: the rulebook's default outcome, whose
    first class (and question) a line takes when its pool has no positive total. Class totals are clipped at 0.
    Returns ``pos, class, weight, allocation, question_id``, by ``pos`` then class (:data:`CLASSES`) order."""
    keys = list(keys)
    if not keys:  # one pool
        staff, totals, keys = staff.assign(_pool=""), totals.assign(_pool=""), ["_pool"]
    staff = staff[["pos", "fonction", *keys]]
    overall = totals.groupby(keys + ["class"], sort=True)["amount_share_cents"].sum().clip(lower=0)
    overall = overall[overall > 0].rename("weight").reset_index()
    parts = []
    if option == "3b":
        per = totals.groupby(keys + ["fonction", "class"], sort=True)["amount_share_cents"].sum().clip(lower=0).reset_index()
        per = per[per["amount_share_cents"] > 0].rename(columns={"amount_share_cents": "weight"})
        found = staff[keys + ["fonction"]].merge(per[keys + ["fonction"]].drop_duplicates(), how="left", indicator=True)
        has = (found["_merge"] == "both").to_numpy()
        parts.append(staff[has].merge(per, on=keys + ["fonction"]).assign(allocation="3b-fonction"))
        rest, rest_label = staff[~has], "3b-reste"
    else:
        rest, rest_label = staff, "3a"
    parts.append(rest.merge(overall, on=keys).assign(allocation=rest_label))
    has = (rest[keys].merge(overall[keys].drop_duplicates(), how="left", indicator=True)["_merge"] == "both").to_numpy()
    if (~has).any():
        parts.append(rest[~has].assign(**{"class": default.pieces[0].klass, "weight": 1, "question_id": default.question, "allocation": rest_label}))
    new = pd.concat(parts, ignore_index=True)
    if "question_id" not in new.columns:
        new["question_id"] = None
    order = {c: i for i, c in enumerate(CLASSES)}
    new = new.assign(_c=new["class"].map(order)).sort_values(["pos", "_c"], kind="stable")
    return new[["pos", "class", "weight", "allocation", "question_id"]].reset_index(drop=True)


def _comments(reg: pd.DataFrame, answers: pd.DataFrame, pairs: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """The comment and author of the answers behind each register row: an answer given for the line itself,
    or a fact its rule reads (or its open question asks) on that axis. An answer given for the whole
    collectivité or an account does not sign the rows it does not decide."""
    rows = pairs.merge(answers.reset_index(names="answer"), on="answer")
    rows = rows[rows["class"].isna() & (rows["comment"].notna() | rows["author"].notna())]
    if not len(rows):
        return reg
    reg = reg.reset_index(drop=True)
    reads = facts_read(ruleset).assign(_reads=True)
    cand = reg[["pos", "rule_id", "question_id"]].reset_index(names="_row").merge(
        rows[["pos", "line_id", "fact", "comment", "author"]], on="pos")
    own = cand["line_id"].notna().to_numpy()  # given for this line
    by_rule, by_q = (pd.DataFrame({"ref": ref, "fact": cand["fact"].astype("string")}).merge(reads, on=["ref", "fact"], how="left")["_reads"].notna().to_numpy()
                     for ref in (cand["rule_id"].astype("string"), "q:" + cand["question_id"].astype("string")))
    cand = cand[own | by_rule | by_q]
    if not len(cand):
        return reg
    joined = cand.groupby("_row").agg(
        _comment=("comment", lambda s: " | ".join(dict.fromkeys(s.dropna().astype(str)))), _author=("author", lambda s: ", ".join(dict.fromkeys(s.dropna().astype(str))))
    )  # one group per register row signed: few
    reg = reg.join(joined)
    reg["comment"] = reg["comment"].astype("string").fillna(reg["_comment"].astype("string").replace("", pd.NA))
    reg["author"] = reg["author"].astype("string").fillna(reg["_author"].astype("string").replace("", pd.NA))
    return reg.drop(columns=["_comment", "_author"])


def facts_read(ruleset: RuleSet) -> pd.DataFrame:
    """``ref, fact``: the facts each classification rule tests or splits by (``ref`` = its id) and the fact
    each question asks (``ref`` = ``q:<question id>``) — which answers concern a register row."""
    pairs = [(rule.id, fact) for rb in ruleset.classification for rule in rb.rules for fact in rule.facts_used()]
    pairs += [(f"q:{qid}", str(q.fact)) for qid, q in ruleset.questions().items()]
    return pd.DataFrame(pairs, columns=["ref", "fact"]).drop_duplicates().astype("string")


def _texts(reg: pd.DataFrame, ruleset: RuleSet) -> pd.DataFrame:
    """Scope reasons, rationales, questions and allowed answers in the current language."""
    rationale: dict[str, str] = {}
    reason: dict[str, str] = {}
    for rb in ruleset.scope:
        for rule in rb.rules:
            rationale[rule.id] = rule.rationale.get()
            if rule.then.reason is not None:
                reason[rule.id] = rule.then.reason.get()
    for rb in ruleset.classification:
        for rule in rb.rules:
            rationale[rule.id] = rule.rationale.get()
    default_text = {rb.axis: i18n.t("register.default-rationale", rulebook=rb.id) for rb in ruleset.classification}
    option = {rb.axis: rb.staff_costs_option for rb in ruleset.classification}
    out_rows = (reg["scope"] == "out").fillna(False).to_numpy(dtype=bool)
    reason_of = _by_distinct(reg["rule_id"], reason)
    reg["scope_reason"] = reg["scope_reason"].astype("string").fillna(pd.Series(np.where(out_rows, reason_of, None), index=reg.index, dtype="string"))
    # « tableau I4CE « Commande publique », ligne 144 », not an image file name: once per rule, not per row
    readable_text = readable(pd.Series(rationale, dtype="string")) if rationale else pd.Series(dtype="string")
    text = _by_distinct(reg["rule_id"], {k: (None if pd.isna(v) else v) for k, v in readable_text.items()})
    is_default = (reg["rule_id"] == DEFAULT_RULE).fillna(False).to_numpy(dtype=bool)
    if is_default.any():
        text[is_default] = _by_distinct(reg.loc[is_default, "axis"], default_text)
    staff = (reg["decided_by"] == "staff").fillna(False).to_numpy(dtype=bool)
    if staff.any():  # one text per distinct (option, allocation): staff rows can be many, their texts are a handful
        pair = pd.DataFrame({"o": reg.loc[staff, "axis"].map(option).to_numpy(dtype=object), "a": reg.loc[staff, "allocation"].to_numpy(dtype=object)})
        group = pair.groupby(["o", "a"], dropna=False, sort=False).ngroup().to_numpy()
        firsts = pair.loc[~pd.Series(group).duplicated().to_numpy()]
        staff_text = np.array([i18n.t("register.staff-rationale", option=o, allocation=a) for o, a in zip(firsts["o"], firsts["a"])], dtype=object)
        text[staff] = staff_text[group]
    overridden = (reg["decided_by"] == "override").fillna(False).to_numpy(dtype=bool)
    if overridden.any():  # the analyst's reason replaces the rule's (the rule id stays: the rule it overrode)
        text[overridden] = [i18n.t("register.override-rationale", author=a if isinstance(a, str) else "?", comment=c if isinstance(c, str) else "")
                            for a, c in zip(reg.loc[overridden, "author"], reg.loc[overridden, "comment"])]
    reg["rationale"] = pd.Series(text, index=reg.index, dtype="string")
    questions = ruleset.questions()
    qid = reg["question_id"].astype("string")
    reg["question_id"] = qid
    distinct_q = [q for q in pd.unique(qid.dropna())]  # a few questions
    qtext = {q: (i18n.t("register.fact-question", fact=q[len("fact:") :]) if q.startswith("fact:") else (questions[q].text.get() if q in questions else None))
             for q in distinct_q}
    qanswers = {qid_: (" | ".join(q.answers) if q.answers else (i18n.t("register.share-answers") if q.type == "share" else "")) for qid_, q in questions.items()}
    reg["question"] = pd.Series(_by_distinct(qid, qtext), index=reg.index, dtype="string")
    reg["allowed_answers"] = pd.Series(_by_distinct(qid, {k: v for k, v in qanswers.items() if v != ""}), index=reg.index, dtype="string")
    for col in ("class", "rule_id", "allocation", "decided_by", "scope", "comment", "author"):
        reg[col] = reg[col].astype("string")
    return reg


def _by_distinct(values: pd.Series, mapping: dict) -> np.ndarray:
    """``mapping`` applied to ``values`` once per distinct value (object array; missing or unmapped: None)."""
    codes, uniques = pd.factorize(values)
    looked_up = np.array([mapping.get(u) for u in uniques] + [None], dtype=object)  # code -1 (missing) reads the last
    return looked_up[codes]


def scope_decisions(lines: pd.DataFrame, ruleset: RuleSet, facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The scope stage alone: ``line_id, scope (in/out), scope_rule_id, scope_reason`` per line."""
    lines = lines.reset_index(drop=True)
    gid, combos = distinct(match_frame(lines, facts, ruleset.scope + ruleset.classification))
    rule_ids, out = _scope(combos, ruleset)
    reasons = {r.id: r.then.reason.get() for rb in ruleset.scope for r in rb.rules if r.then.reason is not None}
    rule_col = pd.Series(rule_ids[gid], dtype="string")
    return pd.DataFrame(
        {
            "line_id": lines["line_id"].astype("string").to_numpy(),
            "scope": np.where(out[gid], "out", "in"),
            "scope_rule_id": rule_col.to_numpy(),
            "scope_reason": rule_col.map(reasons).astype("string").where(out[gid]).to_numpy(),
        }
    ).astype({"scope": "string", "scope_rule_id": "string", "scope_reason": "string"})
