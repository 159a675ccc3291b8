"""Ranges while questions are open: reachable classes and bounds per axis (``docs/register.md``, « bounds »).

For every « à approfondir » (AA) line × axis that is not a staff allocation, the engine enumerates the
allowed answers of its open question through the rules (a choice question: every answer; a share
question: 0 and the largest share its split leaves), then the next question an answer leads to, up to
:data:`MAX_DEPTH`. A text or number question, a question no rule reads, an answer that changes nothing
or the depth limit make the line **open**: every class is reachable (an analyst's class can still
decide it). The enumeration runs on the engine's distinct combinations (the match frame), never per line.

Bounds per axis: ``favourable`` (TF + FSC euros), ``unfavourable`` (D) and ``neutral`` (N), each with
its min and max over the ways the open questions can be answered **consistently by key** (one answer per
worklist row = question × key). Each bound is *achieved*: the extreme answer of every row (the one that
maximises or minimises the objective over the row's lines, looking ahead through follow-up questions)
is chosen level by level, open lines get the analyst class that serves the objective, and the bound is
what :func:`budgetclimat.engine.classify` gives with those answers (so staff costs allocated pro rata
move with the other lines). The extreme answers are kept (:attr:`BoundsResult.answers`): applying them
through the public path reproduces the bound to the cent.

How it is computed (the figures are those of ``classify`` with the kept answers, to the cent): the
combinations of the match frame fall into *rule classes* (:func:`_signature`: the same covered
nomenclatures and the same value of every condition that reads no fact), so the enumeration and the
objectives evaluate rules on one combination per class × facts, not per distinct label. Each objective's
totals are recounted from the run's register (:class:`_Recount`): only the lines whose pieces the kept
answers change get new pieces, open lines their analyst class, and the staff costs are allocated again
from the new class totals as ``classify`` does (3a, 3b, :func:`~budgetclimat.engine.classify.staff_allocation`,
in the run's staff pools: ``compute_bounds``' ``staff_basis``); the whole budget is classified again only where
the recount does not apply (scope rules reading facts).

What is per line is vectorised and shared (issue 12): texts become int codes once (keys by kind, the lines'
pool × fonction, the match frame's combinations); the greedy runs on key codes and on the tree's edges as
arrays; an objective's recount splits the run's groups of lines (class × facts) by each new fact only on the
lines it reaches (a fact given one value everywhere splits nothing), evaluates the rules once per resulting
group, compares pieces per group, and sums integer cents as the run's totals less the replaced rows plus the
new ones (the staff basis likewise: a sum), so no objective regroups every line on every fact.

The greedy choice is exact when rows do not compete through their follow-up questions (each row's lines
reach follow-up rows of their own); otherwise the bound is still achieved by real answers, and may be
narrower than the widest conceivable range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from budgetclimat.engine import answers as ans
from budgetclimat.engine.classify import _axis_pieces, classify, staff_allocation, staff_key_columns, staff_lines, staff_totals
from budgetclimat.engine.keys import SPECIFICITY, all_keys, with_keys
from budgetclimat.engine.match import covered, first_rule, line_facts, match_frame
from budgetclimat.engine.matcher import FACT_PREFIX, Prepared, fact_column
from budgetclimat.money import allocate
from budgetclimat.rulebook.crosswalk import translate
from budgetclimat.rulebook.model import BOUNDED_ROLLUPS, CLASSES, Outcome, Rulebook, RuleSet, classes_of, conditions

MAX_DEPTH = 8
GROUPS = {rollup: classes_of(rollup) for rollup in BOUNDED_ROLLUPS}
OBJECTIVES = [(g, s) for g in GROUPS for s in ("min", "max")]
# The analyst class that serves each objective on an open line (any class is reachable there).
OPEN_CLASS = {
    ("favourable", "max"): "TF", ("favourable", "min"): "D", ("unfavourable", "max"): "D",
    ("unfavourable", "min"): "TF", ("neutral", "max"): "N", ("neutral", "min"): "D",
}  # fmt: skip
REAL_CLASSES = [c for c in CLASSES if c != "AA"]  # an open line can reach each of them
_BIT = {c: 1 << i for i, c in enumerate(CLASSES)}
ALL_MASK = sum(_BIT[c] for c in REAL_CLASSES)
AT_LEAST_NEUTRAL = _BIT["TF"] | _BIT["FSC"] | _BIT["N"]
AT_MOST_NEUTRAL = _BIT["N"] | _BIT["D"]


@dataclass
class AxisBounds:
    axis: str
    in_scope_cents: int
    decided_cents: int  # in-scope euros not AA
    bounded_cents: int  # AA euros whose reachable classes are all ≥ neutral or all ≤ neutral
    open_cents: int  # the other AA euros (staff allocations, open questions, mixed reachable classes)
    at_least_neutral_cents: int
    at_most_neutral_cents: int
    favourable_min_cents: int
    favourable_max_cents: int
    unfavourable_min_cents: int
    unfavourable_max_cents: int
    neutral_min_cents: int
    neutral_max_cents: int

    def to_json(self) -> dict:
        return {
            "bounds": {f"{g}_{s}_cents": int(getattr(self, f"{g}_{s}_cents")) for g, s in OBJECTIVES},
            "decided_cents": int(self.decided_cents),
            "bounded_cents": int(self.bounded_cents),
            "at_least_neutral_cents": int(self.at_least_neutral_cents),
            "at_most_neutral_cents": int(self.at_most_neutral_cents),
            "open_cents": int(self.open_cents),
        }


@dataclass
class BoundsResult:
    """``axes``: :class:`AxisBounds` per axis; ``reachable``: one row per AA line × axis (``line_id``,
    ``axis``, ``classes`` « TF|FSC|N », ``open``, ``bound`` = ``at_least_neutral`` / ``at_most_neutral`` /
    NA); ``answers``: the answers frame achieving each bound, by ``(axis, group, "min"|"max")``."""

    axes: dict[str, AxisBounds]
    reachable: pd.DataFrame
    answers: dict[tuple[str, str, str], pd.DataFrame] = field(default_factory=dict)


def percent_text(part: int, whole: int, lang: str) -> str:
    """``12,3 %`` (French) or ``12.3%`` (English) of ``whole`` for display; ``—`` when ``whole`` is 0."""
    if not whole:
        return "—"
    value = f"{100 * part / whole:.1f}".replace("-0.0", "0.0")  # display only; the figures are the cents
    return value.replace(".", ",") + "\u00a0%" if lang == "fr" else value + "%"


def mask_classes(mask: int) -> str:
    return "|".join(c for c in CLASSES if mask & _BIT[c])


def _mask_texts(masks: np.ndarray) -> np.ndarray:
    """:func:`mask_classes` of each mask (computed once per distinct mask)."""
    distinct_masks, where = np.unique(np.asarray(masks, dtype="int64"), return_inverse=True)
    return np.array([mask_classes(int(m)) for m in distinct_masks], dtype=object)[where.ravel()]


# ---- enumeration ---------------------------------------------------------------------------------


@dataclass
class _Tree:
    """Nodes (a combination with some facts set, waiting for ``question``) and edges (node × answer)."""

    nodes: pd.DataFrame  # _node, _q, _depth, _open, _mask, v_<objective>…
    edges: pd.DataFrame  # _node, _answer, _value, _child (-1 leaf), _open, _mask, v_<objective>…


def _vcols() -> list[str]:
    return [f"v_{g}_{s}" for g, s in OBJECTIVES]


def _question_kind(qid: str, questions: dict, frame_columns) -> tuple[str, str | None]:
    """(kind, fact): kind ``choice``/``share`` when answers can be enumerated, else ``open``."""
    if qid is None or pd.isna(qid):
        return "open", None
    if str(qid).startswith("fact:"):
        fact = str(qid)[len("fact:") :]
        return ("share" if fact_column(fact) in frame_columns else "open"), fact
    q = questions.get(qid)
    if q is None or fact_column(q.fact) not in frame_columns:
        return "open", None
    if q.type == "share":
        return "share", q.fact
    if q.type == "choice" and q.answers:
        return "choice", q.fact
    return "open", q.fact


def _split_partners(rb: Rulebook, fact: str) -> list[list[str]]:
    """For each split reading ``fact`` as a share, the other facts giving shares in the same split."""
    out = []
    for rule in rb.rules:
        if isinstance(rule.then, Outcome):
            facts = [p.fact for p in rule.then.pieces if p.fact]
            if fact in facts:
                out.append([f for f in facts if f != fact])
    return out


def _share_max(sub: pd.DataFrame, rb: Rulebook, fact: str) -> np.ndarray:
    """The largest share ``fact`` can take on each row, the other shares of its splits being kept (≤ 1 in all)."""
    used = np.zeros(len(sub))
    for partners in _split_partners(rb, fact):
        known = np.zeros(len(sub))
        for other in partners:
            col = fact_column(other)
            if col in sub.columns:
                share, _ = ans.parse_share(sub[col])
                known = known + share.fillna(0).to_numpy(dtype="float64")
        used = np.maximum(used, known)
    return np.clip(1.0 - used, 0.0, 1.0)


def _share_text(values: np.ndarray) -> np.ndarray:
    distinct_values, where = np.unique(np.asarray(values, dtype="float64"), return_inverse=True)
    texts = np.array([format(round(float(v), 9), ".9g") for v in distinct_values], dtype=object)  # a few distinct values per level
    return texts[where.ravel()] if len(texts) else np.array([], dtype=object)


def _expand(level: pd.DataFrame, kinds: dict, questions: dict, rb: Rulebook) -> pd.DataFrame:
    parts = []
    for qid, sub in level.groupby("_q", sort=False):
        kind, fact = kinds[qid]
        col = fact_column(fact)
        if kind == "choice":
            options = pd.DataFrame({"_answer": list(questions[qid].answers)})
            exp = sub.merge(options, how="cross")
            exp["_value"] = exp["_answer"]
        else:
            zero = sub.assign(_answer="0", _value="0")
            top = sub.assign(_answer="max", _value=_share_text(_share_max(sub, rb, fact)))
            exp = pd.concat([zero, top], ignore_index=True)
        exp[col] = exp["_value"].astype("string")
        parts.append(exp)
    return pd.concat(parts, ignore_index=True)


def _leaf_values(pieces: pd.DataFrame, n: int) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Per evaluated row: group shares (normalised as :func:`money.allocate` does), class mask, AA question, has AA."""
    p = pieces[["gid", "class", "share", "question_id"]].copy()
    p["gid"] = p["gid"].astype("int64")
    p["share"] = p["share"].astype("float64")
    total = p.groupby("gid")["share"].transform("sum").to_numpy()
    first = ~p["gid"].duplicated().to_numpy()
    weight = np.where(total > 0, p["share"].to_numpy() / np.where(total > 0, total, 1), first.astype("float64"))
    p["w"] = weight
    cls = p["class"].astype("string").fillna("AA")
    shares = {}
    for g, members in GROUPS.items():
        shares[g] = np.bincount(p["gid"], weights=np.where(cls.isin(members).to_numpy(), weight, 0.0), minlength=n)
    bits = cls.map(_BIT).fillna(0).astype("int64").to_numpy() * (weight > 0)
    mask = np.zeros(n, dtype="int64")
    np.bitwise_or.at(mask, p["gid"].to_numpy(), bits)
    is_aa = (cls == "AA").to_numpy()
    has_aa = np.zeros(n, dtype=bool)
    has_aa[p["gid"].to_numpy()[is_aa]] = True
    aa_q = np.full(n, None, dtype=object)
    qrows = p[is_aa]
    aa_q[qrows["gid"].to_numpy()] = qrows["question_id"].to_numpy()
    return shares, mask, aa_q, has_aa


def _enumerate(start: pd.DataFrame, start_q: np.ndarray, rb: Rulebook, questions: dict) -> _Tree:
    """The answer tree from ``start`` (match-frame rows, one per node) waiting for ``start_q``."""
    match_cols = list(start.columns)
    vcols = _vcols()
    level = start.assign(_node=np.arange(len(start)), _q=start_q, _depth=0).reset_index(drop=True)
    next_id = len(start)
    node_parts, edge_parts = [], []
    while len(level):
        kinds = {q: _question_kind(q, questions, match_cols) for q in pd.unique(level["_q"])}
        node_open = level["_q"].map(lambda q: kinds[q][0] == "open").to_numpy(dtype=bool)  # per distinct question
        node_parts.append(level[["_node", "_q", "_depth"]].assign(_open=node_open, _stuck=node_open))
        todo = level[~node_open]
        if not len(todo):
            break
        exp = _expand(todo, kinds, questions, rb)
        n = len(exp)
        pieces = _axis_pieces(exp[match_cols].reset_index(drop=True), rb, np.full(n, None, dtype=object), np.zeros(n, dtype=bool))
        shares, mask, aa_q, has_aa = _leaf_values(pieces, n)
        # A follow-up question whose fact is already set (the answer changed nothing), mixed AA pieces, or the depth limit: open.
        child_fact_set = np.zeros(n, dtype=bool)
        for q in pd.unique(aa_q[has_aa]):
            kind, fact = _question_kind(q, questions, match_cols)
            if fact is not None and fact_column(fact) in exp.columns:
                sel = has_aa & (aa_q == q)
                child_fact_set[sel] = exp[fact_column(fact)].notna().to_numpy()[sel]
        mixed = has_aa & ((mask & ~_BIT["AA"]) != 0)
        too_deep = exp["_depth"].to_numpy() + 1 >= MAX_DEPTH
        # An answer that leads back to a question already answered (« à approfondir » as an answer) leaves the
        # line AA: a leaf worth nothing in any group. Mixed AA pieces, no question or the depth limit: open.
        stays = has_aa & child_fact_set & ~mixed
        open_edge = has_aa & ~stays & (mixed | too_deep | pd.isna(aa_q))
        child = has_aa & ~open_edge & ~stays
        edges = exp[["_node", "_answer", "_value"]].copy()
        edges["_child"] = -1
        ids = np.arange(next_id, next_id + int(child.sum()))
        edges.loc[child, "_child"] = ids
        next_id += len(ids)
        edges["_open"] = open_edge
        edges["_mask"] = np.where(open_edge, ALL_MASK, np.where(child, 0, np.where(stays, _BIT["AA"], mask)))
        for (g, s), vc in zip(OBJECTIVES, vcols):
            edges[vc] = np.where(open_edge, 1.0 if s == "max" else 0.0, np.where(stays, 0.0, shares[g]))
        edge_parts.append(edges)
        level = exp.loc[child, match_cols + ["_depth"]].assign(_node=ids, _q=aa_q[child], _depth=exp.loc[child, "_depth"].to_numpy() + 1)
        level = level.reset_index(drop=True)
    # No AA line on this axis (e.g. nothing in scope): an empty tree, every range then a point.
    empty_nodes = pd.DataFrame({"_node": pd.Series(dtype="int64"), "_q": pd.Series(dtype=object), "_depth": pd.Series(dtype="int64"),
                                "_open": pd.Series(dtype=bool), "_stuck": pd.Series(dtype=bool)})
    nodes = pd.concat(node_parts or [empty_nodes], ignore_index=True).set_index("_node").sort_index()
    edges = pd.concat(edge_parts, ignore_index=True) if edge_parts else pd.DataFrame(columns=["_node", "_answer", "_value", "_child", "_open", "_mask", *vcols])
    # Backward: a node's value is the best over its answers; deepest nodes first (children have larger ids).
    nodes["_mask"] = np.where(nodes["_open"], ALL_MASK, 0).astype("int64")
    for (g, s), vc in zip(OBJECTIVES, vcols):
        nodes[vc] = np.where(nodes["_open"], 1.0 if s == "max" else 0.0, np.nan)
    for depth in sorted(nodes["_depth"].unique(), reverse=True):
        ids = nodes.index[(nodes["_depth"] == depth).to_numpy() & ~nodes["_open"].to_numpy()]
        if not len(ids):
            continue
        e = edges[edges["_node"].isin(ids)].copy()
        has_child = e["_child"].to_numpy() >= 0
        kids = e.loc[has_child, "_child"].to_numpy()
        for vc in vcols:
            e.loc[has_child, vc] = nodes.loc[kids, vc].to_numpy()
        e.loc[has_child, "_mask"] = nodes.loc[kids, "_mask"].to_numpy()
        e.loc[has_child, "_open"] = nodes.loc[kids, "_open"].to_numpy()
        edges.loc[e.index, vcols + ["_mask", "_open"]] = e[vcols + ["_mask", "_open"]]
        grouped = e.groupby("_node")
        for (g, s), vc in zip(OBJECTIVES, vcols):
            nodes.loc[ids, vc] = (grouped[vc].max() if s == "max" else grouped[vc].min()).reindex(ids).to_numpy()
        m = e.groupby("_node")["_mask"].agg(lambda x: int(np.bitwise_or.reduce(x.to_numpy(dtype="int64"))))  # one value per node
        nodes.loc[ids, "_mask"] = m.reindex(ids).to_numpy()
        nodes.loc[ids, "_open"] = e.groupby("_node")["_open"].any().reindex(ids).to_numpy()
    return _Tree(nodes=nodes, edges=edges)


# ---- bounds --------------------------------------------------------------------------------------


FACT_ROWS = ["key", "fact", "value"]
CLASS_ROWS = ["line_id", "axis", "class"]


@dataclass
class _Plan:
    """The extreme answers of one objective on one axis: keyed fact rows (``key, fact, value``), level by
    level, then the analyst classes of the open lines (``line_id, axis, class``)."""

    facts: pd.DataFrame
    classes: pd.DataFrame


def _answers_frame(plans: list[_Plan]) -> pd.DataFrame:
    """The answers frame of ``plans``, in order (each plan's fact rows, then its class rows)."""
    parts = [part for plan in plans for part in (plan.facts, plan.classes) if len(part)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ans.ANSWER_COLUMNS)
    frame = frame.reindex(columns=ans.ANSWER_COLUMNS).astype(object)
    # A row reached at two levels (an entity-keyed follow-up also asked directly) is answered once: the
    # last answer, the one classify would apply (the last given wins), as one answers-file row would.
    keyed = frame["fact"].notna() & frame["key"].notna()
    frame = frame[~(keyed & frame.duplicated(["key", "fact"], keep="last"))].reset_index(drop=True)
    frame["source_file"] = "bounds"
    frame["source_row"] = pd.Series(np.arange(2, len(frame) + 2), index=frame.index)
    return frame.astype({c: "string" for c in ans.ANSWER_COLUMNS if c != "source_row"}).astype({"source_row": "Int64"})


@dataclass
class _Keys:
    """The keys of every line by kind as int codes, unique across kinds (-1: no key), and their texts."""

    codes: dict[str, np.ndarray]
    text: np.ndarray

    @classmethod
    def of(cls, lines: pd.DataFrame) -> _Keys:
        table = all_keys(lines)
        codes, texts, offset = {}, [], 0
        for kind in table.columns:
            code, uniques = pd.factorize(table[kind].astype("string").to_numpy(dtype=object, na_value=None))
            codes[kind] = np.where(code >= 0, code + offset, -1).astype("int64")
            texts.append(np.asarray(uniques, dtype=object))
            offset += len(uniques)
        return cls(codes, np.concatenate(texts) if texts else np.array([], dtype=object))


@dataclass
class _Edges:
    """A tree's edges as arrays, shared by the objectives: by node (stable), each node's first edge and count,
    answer codes, numeric value (shares) and a lookup of the edge of (node, answer)."""

    order: np.ndarray
    start: np.ndarray
    count: np.ndarray
    answer: np.ndarray  # code into answers
    answers: np.ndarray
    value: np.ndarray
    share: np.ndarray
    child: np.ndarray
    open: np.ndarray
    lookup: pd.Index
    has_values: bool

    @classmethod
    def of(cls, tree: _Tree) -> _Edges:
        e = tree.edges
        node = e["_node"].to_numpy(dtype="int64")
        order = np.argsort(node, kind="stable")
        n_nodes = int(max(node.max(initial=-1), tree.nodes.index.max() if len(tree.nodes) else -1)) + 1
        count = np.bincount(node, minlength=n_nodes)
        start = np.concatenate(([0], np.cumsum(count)[:-1])).astype("int64")
        answer, answers = pd.factorize(e["_answer"].to_numpy(dtype=object), use_na_sentinel=False)
        value = e["_value"].to_numpy(dtype=object)
        where, distinct_values = pd.factorize(value, use_na_sentinel=False)  # a few distinct values: parsed once
        share = pd.to_numeric(pd.Series(distinct_values, dtype=object), errors="coerce").to_numpy(dtype="float64")[where]
        lookup = pd.Index(node * max(len(answers), 1) + answer)
        return cls(order, start, count, answer.astype("int64"), np.asarray(answers, dtype=object), value, share,
                   e["_child"].to_numpy(dtype="int64"), e["_open"].to_numpy(dtype=bool), lookup, bool(pd.notna(value).all()))


def _greedy(axis: str, objective: tuple[str, str], tree: _Tree, start_pos: np.ndarray, start_node: np.ndarray, amounts: np.ndarray,
            lines: pd.DataFrame, questions: dict, keys: _Keys | None = None, edges: _Edges | None = None) -> _Plan:
    """The extreme answers for ``objective`` on ``axis``: row by row (question × key), level by level."""
    g, s = objective
    vc = f"v_{g}_{s}"
    keys = keys if keys is not None else _Keys.of(lines)
    edges = edges if edges is not None else _Edges.of(tree)
    score_of = tree.edges[vc].to_numpy(dtype="float64")
    fact_of = {q: (_facts_of(questions, q) or [None])[0] for q in tree.nodes["_q"].dropna().unique()}  # a few questions
    node_q = tree.nodes["_q"].to_numpy(dtype=object)
    node_stuck = tree.nodes["_stuck"].to_numpy(dtype=bool)
    node_at = pd.Index(tree.nodes.index)
    q_code, q_names = pd.factorize(pd.Series(node_q, dtype=object), use_na_sentinel=False)
    fact_by_q = np.array([fact_of.get(q) if q is not None and not pd.isna(q) else None for q in q_names], dtype=object)  # a few questions
    kind_by_q = np.array([questions[q].key if q is not None and not pd.isna(q) and q in questions else "line" for q in q_names], dtype=object)
    n_answers = max(len(edges.answers), 1)
    fact_parts: list[pd.DataFrame] = []
    pos, node = start_pos.copy(), start_node.copy()
    open_lines: list[np.ndarray] = []
    unique_edges = edges.lookup.is_unique
    for _ in range(MAX_DEPTH + 1):
        if not len(pos):
            break
        at = node_at.get_indexer(node)
        qids = node_q[at]
        stuck = node_stuck[at]  # its own question cannot be enumerated: open
        open_lines.append(pos[stuck])
        pos, node, qids, at = pos[~stuck], node[~stuck], qids[~stuck], at[~stuck]
        if not len(pos):
            break
        key = _question_keys(keys.codes, pos, kind_by_q[q_code[at]])
        # No key: no worklist row (as a groupby drops a missing key), and the line goes no further.
        has = key >= 0
        pos, node, key, at = pos[has], node[has], key[has], at[has]
        # Candidates: each line × each answer of its node, in line order then edge order.
        n_edges = edges.count[node]
        row = np.repeat(np.arange(len(pos)), n_edges)
        within = np.arange(len(row)) - np.repeat(np.cumsum(n_edges) - n_edges, n_edges)
        edge = edges.order[np.repeat(edges.start[node], n_edges) + within]
        q_row = q_code[at][row].astype("int64")
        group, _ = pd.factorize((q_row * (len(keys.text) + 1) + key[row]) * n_answers + edges.answer[edge])  # first appearance order
        score = score_of[edge] * amounts[pos][row].astype("float64")
        by = pd.DataFrame({"score": score, "share": edges.share[edge]}).groupby(group, sort=True)
        per_score = by["score"].sum().to_numpy()
        per_share = by["share"].min().to_numpy()
        first_row = _first_rows(group)  # each group's first candidate (codes 0…k-1 in order of appearance)
        if edges.has_values:  # every answer has a value: the first is the first candidate's
            per_value = edges.value[edge[first_row]]
        else:
            per_value = pd.Series(edges.value[edge], dtype=object).groupby(group, sort=True).first().to_numpy(dtype=object)
        per_q, per_key, per_answer = q_row[first_row], key[row][first_row], edges.answer[edge][first_row]
        # A share chosen for a key is the smallest largest share of its lines (their splits stay ≤ 1).
        top = edges.answers[per_answer] == "max"
        if top.any():
            per_value = per_value.copy()
            per_value[top] = _share_text(np.nan_to_num(per_share[top], nan=0.0))
        per = pd.DataFrame({"score": per_score, "_order": np.arange(len(per_score)), "qk": per_q * (len(keys.text) + 1) + per_key})
        best = per.sort_values(["score", "_order"], ascending=[s == "min", True], kind="stable").drop_duplicates("qk")
        b = best.index.to_numpy()
        # one answer per worklist row
        fact_parts.append(pd.DataFrame({"key": keys.text[per_key[b]], "fact": fact_by_q[per_q[b]], "value": per_value[b]}, columns=FACT_ROWS, dtype=object))
        # The chosen answer of each line's row, then the edge of (node, answer) it takes.
        chosen_answer = pd.Series(per_answer[b], index=best["qk"].to_numpy()).reindex(q_code[at].astype("int64") * (len(keys.text) + 1) + key).to_numpy()
        ok = ~np.isnan(chosen_answer)
        if unique_edges:
            e_at = edges.lookup.get_indexer(node[ok] * n_answers + chosen_answer[ok].astype("int64"))
        else:
            e_at = _edge_of(edges, node[ok], chosen_answer[ok].astype("int64"))
        child = np.where(e_at >= 0, edges.child[np.maximum(e_at, 0)], -1)
        go_on = child >= 0
        open_leaf = np.where(e_at >= 0, edges.open[np.maximum(e_at, 0)], False) & ~go_on
        open_lines.append(pos[ok][open_leaf])
        pos, node = pos[ok][go_on], child[go_on]
    cls = OPEN_CLASS[objective]
    line_ids = lines["line_id"].astype("string").to_numpy(dtype=object)
    ids = [line_ids[np.unique(p)] for p in open_lines if len(p)]  # each level's open lines once: an analyst class each
    ids = np.concatenate(ids) if ids else np.array([], dtype=object)
    facts = pd.concat(fact_parts, ignore_index=True) if fact_parts else pd.DataFrame(columns=FACT_ROWS, dtype=object)
    return _Plan(facts=facts, classes=pd.DataFrame({"line_id": ids, "axis": axis, "class": cls}, columns=CLASS_ROWS, dtype=object))


def _edge_of(edges: _Edges, node: np.ndarray, answer: np.ndarray) -> np.ndarray:
    """The first edge of each (node, answer) (a left merge's first match), -1 when none."""
    first = pd.Series(np.arange(len(edges.lookup)), index=edges.lookup)
    first = first[~first.index.duplicated()]
    n_answers = max(len(edges.answers), 1)
    return first.reindex(node * n_answers + answer).fillna(-1).to_numpy(dtype="int64")


def _question_keys(codes: dict[str, np.ndarray], positions: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """As :func:`~budgetclimat.engine.keys.question_keys` on the codes of :class:`_Keys`: the key code of each
    (line, question) pair, by the key kind of its question (``kinds``; a ``fact:…`` placeholder: by line)."""
    out = np.full(len(positions), -1, dtype="int64")
    for kind in pd.unique(kinds):
        sel = kinds == kind
        out[sel] = codes[kind][positions[sel]]
    return out


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The first position of each code, for codes numbered in order of first appearance (0, 1, …)."""
    if not len(codes):
        return np.zeros(0, dtype="int64")
    seen = np.maximum.accumulate(codes)
    return np.flatnonzero(np.concatenate(([True], codes[1:] > seen[:-1])))


def _facts_of(questions: dict, qid) -> list[str]:
    if qid is None or pd.isna(qid):
        return []
    if str(qid).startswith("fact:"):
        return [str(qid)[len("fact:") :]]
    q = questions.get(qid)
    return [q.fact] if q is not None else []


def compute_bounds(lines: pd.DataFrame, ruleset: RuleSet, answers: pd.DataFrame | None, register: pd.DataFrame, staff_basis=None) -> BoundsResult:
    """Reachable classes of every AA line × axis and the bounds per axis (module docstring). ``staff_basis``:
    the staff-cost pools the run's register used (``classify``'s ``staff_basis``; None: one pool)."""
    lines = with_keys(lines.reset_index(drop=True))  # keys once, not on each of the classify runs below
    answers = ans.empty_answers() if answers is None else answers.reset_index(drop=True)
    pairs, _ = ans.match(lines, answers)
    facts = line_facts(lines, answers, pairs)
    frame = match_frame(lines, facts, ruleset.scope + ruleset.classification)
    gid, first = _distinct_rows({c: frame[c].array for c in frame.columns}, len(frame))  # as match.distinct, on int codes
    combos = frame.iloc[first].reset_index(drop=True)
    del frame
    questions = ruleset.questions()
    pos_of = pd.Series(np.arange(len(lines)), index=lines["line_id"].astype("string").to_numpy())
    amounts = lines["amount_cents"].astype("int64").to_numpy()
    reg = register.assign(pos=register["line_id"].map(pos_of).to_numpy())
    recount = _Recount(lines, ruleset, answers, pairs, gid, combos, reg, pos_of, staff_basis)
    keys = _Keys.of(lines)
    # The enumeration starts from one combination per rule class × facts (lines alike for every rule share it).
    gid, combos = recount.x0, recount.frame0

    reach_parts, plans = [], {}
    axes: dict[str, AxisBounds] = {}
    for rb in ruleset.classification:
        rows = reg[(reg["axis"] == rb.axis) & (reg["scope"] == "in")]
        aa = rows[rows["class"] == "AA"]
        staff = aa["decided_by"] == "staff"
        # One entry per AA line (a line is AA as a whole; its first AA piece carries the question).
        # An analyst's class « AA » (an override) stays: it is not enumerated, and no other class is put over it.
        kept = aa[aa["decided_by"] == "override"].drop_duplicates("pos")
        first = aa[~staff & (aa["decided_by"] != "override")].drop_duplicates("pos")
        pos = first["pos"].to_numpy(dtype="int64")
        g_of = gid[pos]
        node_frame = pd.DataFrame({"gid": g_of, "q": first["question_id"].astype(object).where(first["question_id"].notna(), None).to_numpy()})
        starts = node_frame.drop_duplicates().reset_index(drop=True)
        tree = _enumerate(combos.loc[starts["gid"].to_numpy()].reset_index(drop=True), starts["q"].to_numpy(dtype=object), rb, questions)
        start_node = node_frame.merge(starts.reset_index(names="_node"), on=["gid", "q"], how="left")["_node"].to_numpy(dtype="int64")
        mask = tree.nodes.loc[start_node, "_mask"].to_numpy(dtype="int64")
        is_open = tree.nodes.loc[start_node, "_open"].to_numpy(dtype=bool)
        real = mask & ALL_MASK  # staying AA (an « à approfondir » answer) does not widen the range
        bound = np.where(is_open | (real == 0), None, np.where((real & ~AT_LEAST_NEUTRAL) == 0, "at_least_neutral", np.where((real & ~AT_MOST_NEUTRAL) == 0, "at_most_neutral", None)))
        reach = pd.DataFrame({"line_id": first["line_id"].to_numpy(), "axis": rb.axis, "classes": _mask_texts(mask), "open": is_open, "bound": bound})
        if len(kept):
            reach = pd.concat([reach, pd.DataFrame({"line_id": kept["line_id"].to_numpy(), "axis": rb.axis, "classes": "AA", "open": False, "bound": None})], ignore_index=True)
        reach_parts.append(reach.astype({"line_id": "string", "axis": "string", "classes": "string", "bound": "string"}))

        in_cents = int(rows["amount_share_cents"].sum())
        aa_by_pos = aa.groupby("pos")["amount_share_cents"].sum()
        at_least = int(aa_by_pos.reindex(pos[bound == "at_least_neutral"]).sum())
        at_most = int(aa_by_pos.reindex(pos[bound == "at_most_neutral"]).sum())
        decided = int(rows.loc[rows["class"] != "AA", "amount_share_cents"].sum())
        axes[rb.axis] = dict(axis=rb.axis, in_scope_cents=in_cents, decided_cents=decided, bounded_cents=at_least + at_most,
                             open_cents=int(aa["amount_share_cents"].sum()) - at_least - at_most,
                             at_least_neutral_cents=at_least, at_most_neutral_cents=at_most)
        # Staff allocations follow the other lines: no answer of their own (they move in the classify runs below).
        edges = _Edges.of(tree)
        for objective in OBJECTIVES:
            plans[(rb.axis, objective)] = _greedy(rb.axis, objective, tree, pos, start_node, amounts, lines, questions, keys, edges)

    # One classify run per objective (axes together when their answers do not disagree), else per axis.
    result_answers: dict[tuple[str, str, str], pd.DataFrame] = {}
    totals: dict[tuple[str, tuple[str, str]], int] = {}
    axis_names = [rb.axis for rb in ruleset.classification]
    for objective in OBJECTIVES:
        fact_rows = [plans[(a, objective)].facts for a in axis_names]
        fact_rows = pd.concat(fact_rows, ignore_index=True) if fact_rows else pd.DataFrame(columns=FACT_ROWS)
        conflict = len(fact_rows) and fact_rows.drop_duplicates().duplicated(["key", "fact"]).any()
        runs = [[a] for a in axis_names] if conflict else [axis_names]
        for run_axes in runs:
            extra = _answers_frame([plans[(a, objective)] for a in run_axes])
            full = pd.concat([answers, extra], ignore_index=True) if len(answers) else extra
            counted = recount.totals(extra, run_axes) if len(extra) else None
            if counted is None:  # a case the recount does not read: classify the whole budget
                out = _classify_again(lines, ruleset, full, register, staff_basis) if len(extra) else register
            for a in run_axes:
                if counted is not None:
                    totals[(a, objective)] = counted[a][objective[0]]
                else:
                    sub = out[(out["axis"] == a) & (out["scope"] == "in")]
                    totals[(a, objective)] = int(sub.loc[sub["class"].isin(GROUPS[objective[0]]), "amount_share_cents"].sum())
                result_answers[(a, objective[0], objective[1])] = full
    result_axes = {}
    for a, base in axes.items():
        values = {f"{g}_{s}_cents": totals[(a, (g, s))] for g, s in OBJECTIVES}
        result_axes[a] = AxisBounds(**base, **values)
    reachable = pd.concat(reach_parts, ignore_index=True) if reach_parts else pd.DataFrame(columns=["line_id", "axis", "classes", "open", "bound"])
    return BoundsResult(axes=result_axes, reachable=reachable, answers=result_answers)


# ---- the bounds' totals: only the lines the answers move are classified again ----------------------


def _signature(combos: pd.DataFrame, ruleset: RuleSet) -> np.ndarray:
    """A class number per combination: combinations of one class agree on the nomenclatures each rulebook
    covers and on every condition of the rules that reads no fact, so with the same facts every rulebook
    decides them alike (:func:`~budgetclimat.engine.match.first_rule` and the outcomes read nothing else).
    The rules then run on one combination per class × facts instead of one per distinct label."""
    cols = []
    rulebooks = ruleset.scope + ruleset.classification
    # Each column factorised once and every keyword of every rule found in one automaton pass over the
    # distinct labels (the engine's Prepared, the same meaning as evaluate), not one regex pass per condition.
    base = Prepared(combos, [rule for rb in rulebooks for rule in rb.rules])
    every = np.arange(len(combos))
    for rb in rulebooks:
        cols.append(covered(rb, combos))
        seen = translate(combos, rb.crosswalks)
        prepared = base if seen is combos else base.derive(seen)
        masks: dict = {}
        for rule in rb.rules:
            for cond in conditions(rule.when):
                key = (cond.column, cond.op, cond.values)
                if cond.fact or key in masks:
                    continue
                masks[key] = prepared.mask(cond, every)
        cols.extend(masks.values())
    if not cols or not len(combos):
        return np.zeros(len(combos), dtype="int64")
    bits = np.ascontiguousarray(np.packbits(np.column_stack(cols), axis=1))
    _, sig = np.unique(bits.view(np.dtype((np.void, bits.shape[1]))).ravel(), return_inverse=True)
    return sig.ravel().astype("int64")


def _scope_of(frame: pd.DataFrame, ruleset: RuleSet) -> tuple[np.ndarray, np.ndarray]:
    """As the classification's scope stage: the deciding scope rule of each row and whether it is out."""
    rule_ids = np.full(len(frame), None, dtype=object)
    out = np.zeros(len(frame), dtype=bool)
    decided = np.zeros(len(frame), dtype=bool)
    for rb in ruleset.scope:
        chosen = first_rule(rb, frame, among=~decided)
        hit = chosen >= 0
        rule_ids[hit] = np.array([r.id for r in rb.rules], dtype=object)[chosen[hit]]
        out[hit] = np.array([r.then.out for r in rb.rules], dtype=bool)[chosen[hit]]
        decided |= hit
    return rule_ids, out


def _distinct_rows(keys: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(gid, first)``: the group of each of the ``n`` rows of the columns ``keys`` (the same groups as
    :func:`~budgetclimat.engine.match.distinct`, numbered in order of first appearance, a missing value a
    value of its own) and each group's first row. Each column is factorised, then the codes combined."""
    gid = np.zeros(n, dtype="int64")
    for values in keys.values():
        code = pd.factorize(values, use_na_sentinel=False)[0].astype("int64")
        gid = pd.factorize(gid * (int(code.max(initial=0)) + 1) + code)[0].astype("int64")  # first appearance order
    return gid, _first_rows(gid)


class _Recount:
    """The group totals :func:`classify` would give with the run's answers plus a bounds' answers, computed
    from the run's register: only the lines whose pieces the new facts change are evaluated again (on one
    combination per rule class × facts), overrides of open lines put in, and the staff costs allocated
    again from the new class totals in the run's staff pools (``classify``'s core, :func:`~budgetclimat.engine.classify.staff_allocation`).
    ``usable`` is False where this shortcut does not hold (scope rules reading facts): callers classify then."""

    def __init__(self, lines, ruleset, answers, pairs, gid, combos, register, pos_of, staff_basis=None):
        """``register``: the run's register; with a ``pos`` column (each row's line position) it is not mapped again."""
        self.lines, self.ruleset, self.pos_of = lines, ruleset, pos_of
        # The staff pools (classify's ``staff_basis``): key columns, and a whole budget's totals when given as a frame.
        self.staff_frame = staff_basis if isinstance(staff_basis, pd.DataFrame) else None
        self.staff_cols = staff_key_columns(staff_basis) if self.staff_frame is not None else list(staff_basis or ())
        self.pools = staff_lines(lines, self.staff_cols)
        # Each line's pool × fonction as a code (the basis of the changed rows is summed on codes, not texts).
        read = {c: self.pools[c].to_numpy(dtype=object, na_value=None) for c in self.staff_cols + ["fonction"]}
        self.pool_code, first = _distinct_rows(read, len(lines))
        self.pool_rows = self.pools[self.staff_cols + ["fonction"]].iloc[first].reset_index(drop=True)
        self.expense = self.pools["expense"].to_numpy(dtype=bool)
        self.n = len(lines)
        self.usable = not any(rule.facts_used() for rb in ruleset.scope for rule in rb.rules)
        self.fact_cols = [c for c in combos.columns if c.startswith(FACT_PREFIX)]
        sig = _signature(combos, ruleset)
        first = ~pd.Series(sig).duplicated().to_numpy()
        nonfact = [c for c in combos.columns if c not in self.fact_cols]
        self.rep = combos.loc[first, nonfact].set_axis(sig[first]).sort_index()  # one combination per class
        if self.fact_cols:
            fid = _distinct_rows({c: combos[c].array for c in self.fact_cols}, len(combos))[0]  # as a groupby's ngroup (dropna=False, sort=False)
        else:
            fid = np.zeros(len(combos), dtype="int64")
        firstf = ~pd.Series(fid).duplicated().to_numpy()
        self.fact_rep = combos.loc[firstf, self.fact_cols].set_axis(fid[firstf]).sort_index()  # the facts of each fact class
        self.line_sig, self.line_fid = sig[gid], fid[gid]
        self.columns = list(combos.columns)
        # The run's own classes × facts: start frames of the enumeration and the pieces every line has now.
        self.x0, self.frame0 = self._frame({"_sig": self.line_sig, "_fid": self.line_fid})
        self.pieces0 = self._pieces(self.frame0)
        self.fp0 = {axis: self._fingerprint(self.pieces0, axis, len(self.frame0)) for axis in ruleset.axes}
        # The best rank of the run's answers per line × fact (an answer of the bounds wins at equal rank: it comes last).
        rows = pairs.merge(answers[["fact"]].reset_index(names="answer"), on="answer")
        rows = rows[rows["fact"].notna()]
        self.rank0 = {}
        for f, sub in rows.groupby("fact"):  # the facts the run's answers give: a few
            best = np.full(self.n, -1, dtype="int64")
            np.maximum.at(best, sub["pos"].to_numpy(dtype="int64"), sub["rank"].to_numpy(dtype="int64"))
            self.rank0[str(f)] = best
        self.keys = all_keys(lines)
        self._key_cache: dict = {}
        reg = register if "pos" in register.columns else register.assign(pos=register["line_id"].map(pos_of).to_numpy())
        reg = reg[(reg["scope"] == "in").to_numpy()]
        sens_d = (lines["sens"].astype("string") == "D").fillna(False).to_numpy(dtype=bool)
        self.sens_d = sens_d
        self.fonction = lines["fonction"].astype("string").str.strip().replace("", pd.NA).to_numpy(dtype=object, na_value=None)
        self.staff_base_totals = {}  # per axis: the run's own basis (a whole budget's totals hold it: frame basis)
        self.amounts = lines["amount_cents"].astype("int64").to_numpy()
        self.base, self.base_staff, self.overridden, self.base_group = {}, {}, {}, {}
        for axis in ruleset.axes:
            r = reg[(reg["axis"] == axis).to_numpy()]
            staff = (r["decided_by"] == "staff").fillna(False).to_numpy(dtype=bool)
            self.base_staff[axis] = np.unique(r.loc[staff, "pos"].to_numpy(dtype="int64"))
            keep = r[~staff]
            self.base[axis] = pd.DataFrame({"pos": keep["pos"].to_numpy(dtype="int64"), "class": keep["class"].astype(object).to_numpy(),
                                            "cents": keep["amount_share_cents"].to_numpy(dtype="int64")})
            klass = keep["class"].astype(object)
            self.base_group[axis] = {g: klass.isin(list(members)).to_numpy(dtype=bool) for g, members in GROUPS.items()}
            over = np.zeros(self.n, dtype=bool)
            over[keep.loc[(keep["decided_by"] == "override").fillna(False).to_numpy(dtype=bool), "pos"].to_numpy(dtype="int64")] = True
            self.overridden[axis] = over
            self.staff_base_totals[axis] = self._basis(axis, self.base[axis])

    def _frame(self, keys: dict[str, np.ndarray]) -> tuple[np.ndarray, pd.DataFrame]:
        """(id per line, frame): one match-frame row per distinct class × facts of ``keys`` (``_sig``, ``_fid``, new fact values)."""
        xid, first = _distinct_rows(keys, len(keys["_sig"]))
        return xid, self._rows({c: v[first] for c, v in keys.items()})

    def _rows(self, keys: dict[str, np.ndarray]) -> pd.DataFrame:
        """The match-frame rows of the classes × facts ``keys`` (``_sig``, ``_fid``, and the new values of some facts)."""
        frame = self.rep.loc[keys["_sig"]].reset_index(drop=True)
        facts = self.fact_rep.loc[keys["_fid"]].reset_index(drop=True)
        for col in self.fact_cols:
            frame[col] = pd.Series(keys[col], dtype=object).astype("string").to_numpy() if col in keys else facts[col].to_numpy()
            frame[col] = frame[col].astype("string")
        if "label" in frame.columns:  # many rows per label (one per facts): text conditions run once per distinct label
            frame["label"] = pd.Categorical(frame["label"])
        return frame[self.columns]

    def _new_frame(self, new: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, pd.DataFrame]:
        """(id per line, frame) with the new facts ``new`` (:meth:`_new_facts`): the run's groups of lines (class ×
        facts) split by each fact's new value where it is given, on the lines it reaches only; a fact given the same
        value on every line splits nothing. Lines of one id have the same class and facts (one frame row each)."""
        gid = self.x0.astype("int64", copy=True)
        next_id = int(gid.max(initial=-1)) + 1
        for at, given in new.values():
            code = pd.factorize(given, use_na_sentinel=False)[0].astype("int64")
            if len(at) == self.n and not code.any():  # one value on every line
                continue
            pair = pd.factorize(gid[at] * (int(code.max(initial=0)) + 1) + code)[0].astype("int64")
            gid[at] = pair + next_id
            next_id += int(pair.max(initial=-1)) + 1
        xid = pd.factorize(gid)[0].astype("int64")
        first = _first_rows(xid)
        keys = {"_sig": self.line_sig[first], "_fid": self.line_fid[first]}
        for fact, (at, given) in new.items():
            col = fact_column(fact)
            values = self.fact_rep[col].to_numpy(dtype=object, na_value=None)[keys["_fid"]]
            where = np.minimum(np.searchsorted(at, first), max(len(at) - 1, 0))
            hit = (at[where] == first) if len(at) else np.zeros(len(first), dtype=bool)
            values[hit] = given[where[hit]]
            keys[col] = values
        return xid, self._rows(keys)

    def _pieces(self, frame: pd.DataFrame, axes=None) -> pd.DataFrame:
        scope_rule, scope_out = _scope_of(frame, self.ruleset)
        parts = [_axis_pieces(frame, rb, scope_rule, scope_out) for rb in self.ruleset.classification if axes is None or rb.axis in axes]
        pieces = pd.concat(parts, ignore_index=True)
        return pieces.sort_values(["axis", "gid", "piece"], kind="stable").reset_index(drop=True)

    @staticmethod
    def _fingerprint(pieces: pd.DataFrame, axis: str, n: int, width: int = 8) -> np.ndarray:
        """Per combination, its pieces on ``axis`` in order as numbers (scope, class, staff; share): equal rows, equal pieces."""
        p = pieces[(pieces["axis"] == axis).to_numpy()]
        klass = p["class"].map({c: i for i, c in enumerate(CLASSES)}).fillna(-1).to_numpy(dtype="float64")
        code = (p["scope"] == "in").to_numpy(dtype="float64") + 2 * p["staff"].to_numpy(dtype="float64") + 4 * (klass + 1)
        gid = p["gid"].to_numpy(dtype="int64")
        k = p.groupby(gid, sort=False).cumcount().to_numpy()
        if len(k) and k.max() >= width:
            width = int(k.max()) + 1
        out = np.full((n, 2 * width), np.nan)
        out[gid, 2 * k] = code
        out[gid, 2 * k + 1] = p["share"].to_numpy(dtype="float64")
        return out

    def _new_facts(self, extra: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
        """Per fact, ``(line positions, values)``: the facts the bounds' keyed answers give lines where they win
        over the run's answers as :func:`~budgetclimat.engine.match.line_facts` ranks them (the most specific
        key, then the last given: the bounds' answers come after the run's); None for answers this does not read."""
        given = extra[extra["fact"].notna()]
        if given["line_id"].notna().any() or given["key"].isna().any():
            return None
        # Each distinct key once: its kind (the text before its first colon, by Arrow's split) and its code among
        # the lines' keys of that kind.
        key_code, distinct_keys = pd.factorize(given["key"].astype("string").str.strip().to_numpy(dtype=object))
        distinct_keys = np.asarray(distinct_keys, dtype=object)
        key_kind = pc.list_element(pc.split_pattern(pa.array(distinct_keys, type=pa.string()), ":", max_splits=1), 0).to_numpy(zero_copy_only=False)
        key_kind = np.asarray(key_kind, dtype=object)
        if not set(pd.unique(key_kind)) <= set(SPECIFICITY):
            return None
        kind_code, kinds = pd.factorize(key_kind)
        line_key = np.full(len(distinct_keys), -1, dtype="int64")  # each distinct key's code among its kind's line keys
        for j, k in enumerate(kinds):
            sel = kind_code == j
            line_key[sel] = self._key_index(k)[1].get_indexer(distinct_keys[sel])
        row_kind, row_key = kind_code[key_code], line_key[key_code]
        read = {c[len(FACT_PREFIX):] for c in self.fact_cols}
        fact_code, facts = pd.factorize(given["fact"].astype("string").to_numpy(dtype=object))  # a few facts and kinds: compared as codes
        value = given["value"].astype("string").to_numpy(dtype=object, na_value=None)
        out = {}
        for i, f in enumerate(facts):
            if f not in read:
                continue
            source = np.full(self.n, -1, dtype="int64")  # the answer row giving each line its value
            rank = np.full(self.n, -1, dtype="int64")
            of_fact = fact_code == i
            for j in sorted(pd.unique(row_kind[of_fact]), key=lambda j: SPECIFICITY[kinds[j]]):  # the more specific kinds last: they win
                k = kinds[j]
                sel = np.flatnonzero(of_fact & (row_kind == j))
                code, uniques = self._key_index(k)
                at = row_key[sel]
                by_key = np.full(len(uniques) + 1, -1, dtype="int64")
                by_key[at[at >= 0]] = sel[at >= 0]  # one row per key × fact (_answers_frame), the last given
                hit = np.flatnonzero(by_key[code] >= 0)
                source[hit] = by_key[code[hit]]
                rank[hit] = SPECIFICITY[k]
            won = rank >= self.rank0.get(f, np.full(self.n, -1, dtype="int64"))
            won &= rank >= 0
            won = np.flatnonzero(won)
            out[f] = (won, value[source[won]])
        return out

    def _key_index(self, kind: str) -> tuple[np.ndarray, pd.Index]:
        """(code of each line's key of ``kind``, the keys): computed once per kind."""
        if kind not in self._key_cache:
            code, uniques = pd.factorize(self.keys[kind].astype("string").to_numpy(dtype=object, na_value=None))
            code = np.where(code < 0, len(uniques), code)  # a missing key: the empty slot after the keys
            self._key_cache[kind] = (code, pd.Index(uniques, dtype=object))
        return self._key_cache[kind]

    def totals(self, extra: pd.DataFrame, axes=None) -> dict[str, dict[str, int]] | None:
        """Cents per axis × group with the run's answers and ``extra`` (a bounds' answers frame), or None;
        ``axes``: only these axes (default: all)."""
        if not self.usable:
            return None
        new = self._new_facts(extra)
        if new is None:
            return None
        cls_rows = extra[extra["class"].notna()]
        if cls_rows["axis"].isna().any() or cls_rows["share"].notna().any() or cls_rows["line_id"].isna().any():
            return None
        xid, frame = self._new_frame(new)
        pieces = self._pieces(frame, axes)
        out = {}
        for rb in self.ruleset.classification:
            axis = rb.axis
            if axes is not None and axis not in axes:
                continue
            # Changed: the pieces of a line's new class × facts differ from those of its run's (compared once per row of ``frame``).
            fp = self._fingerprint(pieces, axis, len(frame))
            first = _first_rows(xid)
            old = self.fp0[axis][self.x0[first]]
            now = fp
            if now.shape[1] != old.shape[1]:  # more pieces than the run's: compare on the wider form
                width = max(now.shape[1], old.shape[1])
                now, old = (np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan) for a in (now, old))
            changed = ~((now == old) | (np.isnan(now) & np.isnan(old))).all(axis=1)[xid]
            over_new = np.zeros(self.n, dtype=bool)
            cls_of = {}
            mine = cls_rows[cls_rows["axis"] == axis]
            if len(mine):
                at = mine["line_id"].map(self.pos_of).to_numpy(dtype="int64")
                over_new[at] = True
                cls_of = dict(zip(at, mine["class"].str.upper()))
            over_new &= ~self.overridden[axis]
            redo = changed & ~over_new & ~self.overridden[axis]
            replaced = redo | over_new
            base = self.base[axis]
            gone = replaced[base["pos"].to_numpy()]  # the run's rows of the lines given new pieces
            staff_pos = self.base_staff[axis][~replaced[self.base_staff[axis]]]
            # The changed lines: their new pieces (in scope as before: scope reads no fact), allocated as classify does.
            p = pieces[(pieces["axis"] == axis).to_numpy() & (pieces["scope"] == "in").to_numpy()]
            lines_redo = pd.DataFrame({"pos": np.flatnonzero(redo)})
            lines_redo["gid"] = xid[lines_redo["pos"].to_numpy()]
            rows = lines_redo.merge(p[["gid", "piece", "class", "share", "staff"]], on="gid").sort_values(["pos", "piece"], kind="stable")
            is_staff = rows["staff"].to_numpy(dtype=bool)
            staff_pos = np.union1d(staff_pos, rows.loc[is_staff, "pos"].to_numpy(dtype="int64"))
            rows = rows[~is_staff]
            cents = allocate(pd.Series(self.amounts[rows["pos"].to_numpy(dtype="int64")]), rows["share"].astype("float64").reset_index(drop=True),
                             pd.Series(rows["pos"].to_numpy())).to_numpy()
            at = np.flatnonzero(over_new)
            added = pd.concat([
                pd.DataFrame({"pos": rows["pos"].to_numpy(dtype="int64"), "class": rows["class"].to_numpy(dtype=object), "cents": cents}),
                pd.DataFrame({"pos": at, "class": np.array([cls_of[i] for i in at], dtype=object), "cents": self.amounts[at]}),  # open lines: few
            ], ignore_index=True)
            staff_rows = self._staff(rb, base[gone], added, staff_pos)
            # The run's rows kept, the new ones and the staff lines' (integer cents: the sums are exact in any order).
            kept_cents = base["cents"].to_numpy()
            moved = pd.concat([added, staff_rows], ignore_index=True)
            moved_class = moved["class"].astype(object)
            out[axis] = {g: int(kept_cents[self.base_group[axis][g] & ~gone].sum())
                         + int(moved["cents"].to_numpy(dtype="int64")[moved_class.isin(list(members)).to_numpy(dtype=bool)].sum())
                         for g, members in GROUPS.items()}
        return out

    def _basis(self, axis: str, rows: pd.DataFrame) -> pd.DataFrame:
        """The staff-cost basis (:func:`~budgetclimat.engine.classify.staff_totals`) of the rows ``pos, class, cents`` on ``axis``."""
        frame = pd.DataFrame({"pos": rows["pos"].to_numpy(dtype="int64"), "axis": axis, "class": rows["class"].to_numpy(dtype=object),
                              "amount_share_cents": rows["cents"].to_numpy(dtype="int64")})
        return staff_totals(self.lines, frame, self.staff_cols, read=self.pools)

    def _basis_delta(self, axis: str, rows: pd.DataFrame) -> pd.DataFrame:
        """As :meth:`_basis` (the same sums per pool × axis × fonction × class), summed on int codes."""
        pos = rows["pos"].to_numpy(dtype="int64")
        klass = rows["class"].to_numpy(dtype=object)
        keep = self.expense[pos] & pd.notna(klass)
        code, classes = pd.factorize(klass[keep])
        width = len(classes) + 1
        sums = pd.Series(rows["cents"].to_numpy(dtype="int64")[keep]).groupby(self.pool_code[pos[keep]] * width + code, sort=True).sum()
        at = sums.index.to_numpy(dtype="int64")
        frame = self.pool_rows.iloc[at // width].reset_index(drop=True)
        frame.insert(len(self.staff_cols), "axis", pd.array(np.full(len(frame), axis, dtype=object), dtype="string"))
        frame["class"] = pd.array(np.asarray(classes, dtype=object)[at % width], dtype="string")
        frame["amount_share_cents"] = sums.to_numpy(dtype="int64")
        return frame

    def _staff(self, rb: Rulebook, removed: pd.DataFrame, added: pd.DataFrame, staff_pos: np.ndarray) -> pd.DataFrame:
        """The staff lines' pieces (``pos, class, cents``) pro rata the in-scope rows in their pools
        (:func:`~budgetclimat.engine.classify.staff_allocation`, as ``classify`` does): the run's rows, less
        ``removed``, plus ``added`` (``pos, class, cents``). The basis is a sum: the run's, less the removed
        rows', plus the added rows' (a zero total left by the difference is no weight, as an absent one)."""
        if not len(staff_pos):
            return pd.DataFrame({"pos": pd.Series(dtype="int64"), "class": pd.Series(dtype=object), "cents": pd.Series(dtype="int64")})
        gone = self._basis_delta(rb.axis, removed)
        start = self.staff_frame[(self.staff_frame["axis"] == rb.axis).to_numpy()] if self.staff_frame is not None else self.staff_base_totals[rb.axis]
        totals = pd.concat([start, self._basis_delta(rb.axis, added), gone.assign(amount_share_cents=-gone["amount_share_cents"])], ignore_index=True)
        totals = totals.groupby(self.staff_cols + ["axis", "fonction", "class"], dropna=False, sort=True)["amount_share_cents"].sum().reset_index()
        staff = pd.DataFrame({"pos": staff_pos, "fonction": pd.array(self.fonction[staff_pos], dtype="string"),
                              **{k: self.pools[k].to_numpy()[staff_pos] for k in self.staff_cols}})
        new = staff_allocation(staff, totals, self.staff_cols, rb.staff_costs_option, rb.default)
        share = new["weight"] / new.groupby("pos")["weight"].transform("sum")
        cents = allocate(pd.Series(self.amounts[new["pos"].to_numpy(dtype="int64")]), share.reset_index(drop=True), pd.Series(new["pos"].to_numpy()))
        return pd.DataFrame({"pos": new["pos"].to_numpy(dtype="int64"), "class": new["class"].to_numpy(dtype=object), "cents": cents.to_numpy()})


def _classify_again(lines: pd.DataFrame, ruleset: RuleSet, answers: pd.DataFrame, register: pd.DataFrame, staff_basis) -> pd.DataFrame:
    """The register ``classify`` gives with ``answers`` in the run's staff pools. A whole budget's totals
    (a frame ``staff_basis``) hold these lines' rows as the run classified them: they are replaced by the new ones."""
    if not isinstance(staff_basis, pd.DataFrame):
        return classify(lines, ruleset, answers, staff_basis=staff_basis).register
    keys = staff_key_columns(staff_basis)
    first = classify(lines, ruleset, answers, staff_basis=tuple(keys)).register  # the non-staff rows do not depend on the basis
    pos_of = pd.Series(np.arange(len(lines)), index=lines["line_id"].astype("string").to_numpy())

    def basis_of(reg: pd.DataFrame) -> pd.DataFrame:
        rows = reg[((reg["scope"] == "in") & (reg["decided_by"] != "staff")).fillna(False).to_numpy(dtype=bool)]
        return staff_totals(lines, rows.assign(pos=rows["line_id"].map(pos_of).to_numpy()), keys)

    old, new = basis_of(register), basis_of(first)
    whole = pd.concat([staff_basis, new, old.assign(amount_share_cents=-old["amount_share_cents"])], ignore_index=True)
    whole = whole.groupby(keys + ["axis", "fonction", "class"], dropna=False, sort=True)["amount_share_cents"].sum().reset_index()
    return classify(lines, ruleset, answers, staff_basis=whole).register
