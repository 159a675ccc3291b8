"""The worklist: what the services are asked, once per question × key (``docs/register.md``, « Worklist »).

A worklist row is identified by ``(question_id, key)``: answering it is one answers row
``{key, fact, value}`` that applies to every line with that key (:mod:`budgetclimat.engine.keys`).
Rows come from the register: pieces of class ``AA``, in scope, with a question, not staff costs
allocated pro rata (they follow the other lines). The euros of a row are those its answer settles: a
line whose AA pieces on several axes carry the same question counts once (the largest of its axes),
never once per axis. Rows of 0 € are left out; rows are sorted by euros at stake, largest first.

Each row goes to a **service**: the question's own ``service:`` when the rulebook gives one (contract
facts), else the service of its lines' fonction by the services mapping (``rules/services/default.yaml``,
nomenclature-aware, or ``classify --services FILE``); a key whose lines span several services goes to
the one with the most euros.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from budgetclimat import i18n, yamlfile
from budgetclimat.engine.keys import all_keys, keys_at, question_keys
from budgetclimat.errors import INFO, ConfigError, concat_findings, findings_frame
from budgetclimat.paths import rules_dir
from budgetclimat.rulebook.model import Outcome, conditions

WORKLIST_COLUMNS = ["question_id", "key", "fact", "axes", "lines", "amount_cents", "service", "service_id", "line_ids", "rank"]


# ---- services ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    """Fonction → service, per nomenclature (longest prefix wins), and a default service."""

    id: str
    default: str
    labels: dict  # service id -> {lang: label}
    fonctions: dict  # nomenclature -> {prefix: service id}
    path: str = ""

    def label(self, service_id: str, lang: str | None = None) -> str:
        names = self.labels.get(service_id)
        if not names:
            return service_id
        lang = lang or i18n.language()
        return str(names.get(lang) or names.get("fr") or service_id)

    def resolve(self, name: str) -> str:
        """A question's ``service:`` text: a service id or label of this mapping, else the text itself."""
        wanted = name.strip()
        for sid, names in self.labels.items():
            if wanted.casefold() == sid.casefold() or wanted.casefold() in {str(v).casefold() for v in names.values()}:
                return sid
        return wanted

    def of_lines(self, lines: pd.DataFrame) -> pd.Series:
        """The service id of every line (vectorised over distinct nomenclature × fonction pairs)."""
        nomenclature = lines["nomenclature"].astype("string").fillna("") if "nomenclature" in lines.columns else pd.Series("", index=lines.index, dtype="string")
        fonction = lines["fonction"].astype("string").fillna("").str.strip() if "fonction" in lines.columns else pd.Series("", index=lines.index, dtype="string")
        pairs = pd.DataFrame({"n": nomenclature.to_numpy(), "f": fonction.to_numpy()})
        codes = pairs.groupby(["n", "f"], sort=False, dropna=False).ngroup().to_numpy()
        distinct = pairs.loc[~pd.Series(codes).duplicated().to_numpy()]
        found = []
        for n, f in zip(distinct["n"], distinct["f"]):  # a few hundred distinct pairs at most
            table = self.fonctions.get(n, {})
            service = self.default
            for length in range(len(f), 0, -1):
                hit = table.get(f[:length])
                if hit is not None:
                    service = hit
                    break
            found.append(service)
        return pd.Series(np.array(found, dtype=object)[codes], index=lines.index, dtype="string")


def default_services_path() -> Path:
    return rules_dir() / "services" / "default.yaml"


def load_services(path: str | Path | None = None) -> Services:
    """Read and validate a services mapping (``None``: the shipped one). A mistake raises
    :class:`ConfigError` ``services-invalid`` naming the file, the line and what is wrong (exit 2)."""
    path = Path(path) if path is not None else default_services_path()

    def bad(line: int, detail: str):
        return ConfigError("services-invalid", path=str(path), line=line, detail=detail)

    doc = yamlfile.load_file(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        raise bad(1, "attendu une clé « services » (un dictionnaire) / expected a 'services' mapping")
    root = doc["services"]
    line_of = getattr(root, "line_of", lambda k: 1)
    unknown = sorted(str(k) for k in root if k not in ("id", "version", "title", "default", "services", "fonctions"))
    if unknown:
        raise bad(line_of(unknown[0]), f"clé inconnue « {unknown[0]} » (attendu : id, version, title, default, services, fonctions)")
    labels_node = root.get("services")
    if not isinstance(labels_node, dict) or not labels_node:
        raise bad(line_of("services"), "« services » doit lister au moins un service : identifiant: {fr: …, en: …}")
    labels = {}
    for sid, names in labels_node.items():
        where = getattr(labels_node, "line_of", lambda k: 1)(sid)
        if isinstance(names, str):
            names = {"fr": names}
        if not isinstance(names, dict) or not str(names.get("fr") or "").strip():
            raise bad(where, f"le service « {sid} » doit avoir un libellé fr (texte, ou {{fr: …, en: …}})")
        labels[str(sid)] = {str(k): str(v) for k, v in names.items()}
    default = str(root.get("default") or "")
    if default not in labels:
        raise bad(line_of("default"), f"service par défaut « {default} » absent de « services » (attendu : {', '.join(labels)})")
    fonctions_node = root.get("fonctions") or {}
    if not isinstance(fonctions_node, dict):
        raise bad(line_of("fonctions"), "« fonctions » doit être un dictionnaire nomenclature → {préfixe de fonction: service}")
    fonctions: dict = {}
    for nomenclature, table in fonctions_node.items():
        where = getattr(fonctions_node, "line_of", lambda k: 1)(nomenclature)
        if not isinstance(table, dict):
            raise bad(where, f"nomenclature « {nomenclature} » : attendu un dictionnaire préfixe de fonction → service")
        mapping = {}
        for prefix, sid in table.items():
            pline = getattr(table, "line_of", lambda k: where)(prefix)
            text = getattr(prefix, "raw", None) or str(prefix)
            if not text.isdigit():
                raise bad(pline, f"« {text} » n'est pas un préfixe de fonction (chiffres, entre guillemets : \"01\")")
            if str(sid) not in labels:
                raise bad(pline, f"service « {sid} » inconnu (attendu : {', '.join(labels)})")
            mapping[text] = str(sid)
        fonctions[str(nomenclature)] = mapping
    return Services(id=str(root.get("id") or path.stem), default=default, labels=labels, fonctions=fonctions, path=str(path))


# ---- the worklist --------------------------------------------------------------------------------


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in WORKLIST_COLUMNS})
    return frame.astype({"lines": "int64", "amount_cents": "int64", "rank": "int64"})


def aa_pairs(lines: pd.DataFrame, register: pd.DataFrame, ruleset) -> pd.DataFrame:
    """One row per line × question of the worklist: ``pos, line_id, question_id, key, fact, axes,
    amount_cents`` (the line's AA amount for that question, the largest over the axes where it is asked)."""
    pairs, axes_of = _aa_pairs(lines, register, ruleset)
    pairs["axes"] = pd.Series(axes_of[pairs["_axes"].to_numpy()], index=pairs.index, dtype=object) if len(pairs) else pd.Series(dtype="object")
    return pairs[["pos", "line_id", "question_id", "key", "fact", "axes", "amount_cents"]]


def _axis_codes(axes: pd.Series, ruleset) -> tuple[np.ndarray, list[str]]:
    """Bit ``1 << i`` of each axis, ``i`` its rank: the rulebooks' order, then other axes by name."""
    order = list(ruleset.axes)
    order += sorted(set(pd.unique(axes.astype(str))) - set(order))
    rank = pd.Series(np.arange(len(order), dtype="int64"), index=order)
    return np.left_shift(1, rank.reindex(axes.astype(str).to_numpy()).to_numpy(dtype="int64")), order


def _aa_pairs(lines: pd.DataFrame, register: pd.DataFrame, ruleset) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`aa_pairs` with ``_axes``, the bits of the axes of each pair (:func:`_axis_codes`), and the
    tuple of axes of each bit set (``axes_of[bits]``), vectorised: no Python per line or per group."""
    lines = lines.reset_index(drop=True)
    reg = register
    allocation = reg["allocation"].astype("string").fillna("") if "allocation" in reg.columns else ""
    sel = (reg["class"].astype("string") == "AA") & (reg["scope"].astype("string") == "in") & (allocation == "") & reg["question_id"].notna()
    aa = reg.loc[sel.fillna(False).to_numpy(dtype=bool), ["line_id", "axis", "question_id", "amount_share_cents"]]
    if not len(aa):
        empty = pd.DataFrame({"pos": pd.Series(dtype="int64"), "line_id": pd.Series(dtype="string"), "question_id": pd.Series(dtype="string"),
                              "key": pd.Series(dtype="string"), "fact": pd.Series(dtype="string"), "_axes": pd.Series(dtype="int64"),
                              "amount_cents": pd.Series(dtype="int64")})
        return empty, np.array([()], dtype=object)
    per_axis = aa.groupby(["line_id", "question_id", "axis"], sort=False)["amount_share_cents"].sum().reset_index()
    bits, order = _axis_codes(per_axis["axis"], ruleset)
    per_axis["_axes"] = bits
    per_axis = per_axis.sort_values(["line_id", "question_id"], kind="stable")
    # Euros never counted twice across axes: the same question on two axes settles the line once.
    # (one row per axis in a group: the sum of the axes' bits is their union)
    pairs = per_axis.groupby(["line_id", "question_id"], sort=False).agg(
        amount_cents=("amount_share_cents", "max"), _axes=("_axes", "sum")
    ).reset_index()
    axes_of = np.empty(1 << len(order), dtype=object)
    for b in pd.unique(pairs["_axes"]):  # a few distinct sets of axes
        axes_of[int(b)] = tuple(a for i, a in enumerate(order) if int(b) >> i & 1)
    pos_of = pd.Series(np.arange(len(lines)), index=lines["line_id"].astype("string").to_numpy())
    pairs["pos"] = pos_of.reindex(pairs["line_id"].astype("string").to_numpy()).to_numpy()
    questions = ruleset.questions()
    # Questions the rule set does not declare (``fact:…`` placeholders) are keyed by line; only declared
    # ones go through question_keys (whose map of kinds fails on a frame where no id is declared).
    positions = pairs["pos"].to_numpy(dtype="int64")
    declared = pairs["question_id"].isin(list(questions)).to_numpy(dtype=bool)
    keys = np.empty(len(pairs), dtype=object)
    if (~declared).any():
        keys[~declared] = keys_at(lines, positions[~declared], "line")
    if declared.any():
        keys[declared] = question_keys(lines, positions[declared], pairs.loc[declared, "question_id"].astype("string"), questions).to_numpy(dtype=object)
    pairs["key"] = pd.Series(keys, index=pairs.index, dtype="string")
    facts = {qid: q.fact for qid, q in questions.items()}
    qid = pairs["question_id"].astype("string")
    lookup = {q: facts.get(q) or q.removeprefix("fact:") for q in pd.unique(qid.astype(str))}
    pairs["fact"] = pd.Series(qid.astype(str).map(lookup).to_numpy(dtype=object), index=pairs.index, dtype="string")
    pairs["amount_cents"] = pairs["amount_cents"].astype("int64")
    return pairs[["pos", "line_id", "question_id", "key", "fact", "_axes", "amount_cents"]], axes_of


def build_worklist(lines: pd.DataFrame, register: pd.DataFrame, ruleset, services: Services | None = None, lang: str | None = None) -> pd.DataFrame:
    """The worklist (:data:`WORKLIST_COLUMNS`), one row per ``(question_id, key)``, largest euros first.

    ``axes``: the axes where the question is asked, comma-joined in rulebook order; ``lines``: distinct
    lines; ``amount_cents``: the sum over its lines of their AA amount for the question (once per line,
    the largest over axes); ``service``: label in ``lang``, ``service_id`` the mapping's id (or the
    question's own ``service:`` text); ``line_ids``: ``;``-joined; ``rank``: 1, 2, …"""
    services = services or load_services()
    lines = lines.reset_index(drop=True)
    pairs, axes_of = _aa_pairs(lines, register, ruleset)
    pairs = pairs[pairs["amount_cents"] != 0]
    if not len(pairs):
        return _empty()
    positions = pairs["pos"].to_numpy(dtype="int64")
    upos, inverse = np.unique(positions, return_inverse=True)
    line_service = services.of_lines(lines.iloc[upos]).to_numpy(dtype=object)  # the lines asked about only
    pairs = pairs.assign(service_id=line_service[inverse.reshape(-1)])
    own = {qid: services.resolve(q.service) for qid, q in ruleset.questions().items() if q.service}
    if own:
        lookup = {q: own.get(q, "") for q in pd.unique(pairs["question_id"].astype(str))}
        mapped = pd.Series(pairs["question_id"].astype(str).map(lookup).to_numpy(dtype=object), index=pairs.index, dtype="string")
        pairs["service_id"] = mapped.where(mapped != "", pairs["service_id"])
    group = ["question_id", "key"]
    # A key spanning several services goes to the one with the most euros (ties: the id first in order).
    by_service = pairs.groupby(group + ["service_id"], sort=False)["amount_cents"].sum().reset_index()
    by_service = by_service.sort_values(group + ["amount_cents", "service_id"], ascending=[True, True, False, True], kind="stable")
    service = by_service.drop_duplicates(group).set_index(group)["service_id"]
    # One row per (question, key), vectorised: pairs are in line_id order (aa_pairs), kept within a group.
    gid = pairs.groupby(group, sort=False).ngroup().to_numpy()
    order = np.argsort(gid, kind="stable")
    g_sorted = gid[order]
    first = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    n_groups = len(first)
    amounts = pairs["amount_cents"].to_numpy(dtype="int64")
    rows = pairs.iloc[order[first]][group + ["fact"]].reset_index(drop=True)
    rows["amount_cents"] = np.add.reduceat(amounts[order], first) if n_groups else np.zeros(0, dtype="int64")
    union = np.bitwise_or.reduceat(pairs["_axes"].to_numpy(dtype="int64")[order], first)
    axis_order = {a: i for i, a in enumerate(ruleset.axes)}
    joined = {int(b): ",".join(sorted(axes_of[int(b)], key=lambda a: (axis_order.get(a, len(axis_order)), a))) for b in np.unique(union)}
    rows["axes"] = pd.Series(union).map(joined).to_numpy(dtype=object)
    # distinct lines of a group, in order of first appearance, ``;``-joined (pyarrow: no Python per group)
    line_ids = pairs["line_id"].astype("string").to_numpy(dtype=object)[order]
    seen = pd.DataFrame({"g": g_sorted, "l": line_ids}).duplicated().to_numpy()
    keep_g, keep_l = g_sorted[~seen], line_ids[~seen]
    counts = np.bincount(keep_g, minlength=n_groups)
    rows["lines"] = counts.astype("int64")
    offsets = np.concatenate(([0], np.cumsum(counts))).astype("int32" if len(keep_l) < 2**31 else "int64")
    lists = (pa.ListArray if offsets.dtype == np.int32 else pa.LargeListArray).from_arrays(pa.array(offsets), pa.array(keep_l, type=pa.large_string()))
    rows["line_ids"] = pc.binary_join(lists, pa.scalar(";", pa.large_string())).to_numpy(zero_copy_only=False)
    rows = rows[rows["amount_cents"] != 0]
    rows["service_id"] = service.reindex(pd.MultiIndex.from_frame(rows[group])).to_numpy()
    labels = {sid: services.label(str(sid), lang) for sid in pd.unique(rows["service_id"])}  # a few services
    rows["service"] = rows["service_id"].map(labels)
    rows = rows.sort_values(["amount_cents", "question_id", "key"], ascending=[False, True, True], kind="stable").reset_index(drop=True)
    rows["rank"] = np.arange(1, len(rows) + 1, dtype="int64")
    out = rows[WORKLIST_COLUMNS].astype({c: "string" for c in WORKLIST_COLUMNS if c not in ("lines", "amount_cents", "rank")})
    return out.astype({"lines": "int64", "amount_cents": "int64"})


def coverage(worklist: pd.DataFrame, share: float) -> int:
    """How many first rows of the worklist cover ``share`` (0.8, 0.95) of its euros (0 for an empty one)."""
    amounts = worklist["amount_cents"].astype("int64").to_numpy()
    total = int(amounts.sum())
    if not len(amounts) or total <= 0:
        return 0
    cumulative = np.cumsum(amounts)
    # Integer comparison: cumulative / total >= share without float sums of euros.
    target = int(np.ceil(total * share))
    return int(min(np.searchsorted(cumulative, target, side="left") + 1, len(amounts)))


def follow_up_questions(ruleset) -> set[str]:
    """Questions an answer to which may lead to a further question: a rule testing the question's fact
    gives AA with another question (or a share still to be given)."""
    questions = ruleset.questions()
    by_fact: dict[str, set[str]] = {}
    for qid, q in questions.items():
        by_fact.setdefault(q.fact, set()).add(qid)
    out: set[str] = set()
    for rb in ruleset.classification:
        for rule in rb.rules:
            if not isinstance(rule.then, Outcome):
                continue
            tested = {c.column for c in conditions(rule.when) if c.fact}
            if not tested:
                continue
            asks = {p.fact for p in rule.then.pieces if p.fact}
            further = {rule.then.question} if rule.then.question else set()
            further |= {qq.id for f in asks for qq in [rb.question_for_fact(f)] if qq is not None}
            for fact in tested:
                for qid in by_fact.get(fact, ()):
                    if further - {qid}:
                        out.add(qid)
    return out


def sentence(worklist: pd.DataFrame, ruleset, lang: str | None = None, share: float = 0.8) -> str:
    """« Répondre aux N premières questions décide X % des euros à approfondir. » with N the rows
    covering ``share``; « portent sur … (une réponse peut appeler une question de suite) » when one of
    those N questions may lead to a further one."""
    n = coverage(worklist, share)
    if n == 0:
        return i18n.t("worklist.sentence-empty", lang)
    amounts = worklist["amount_cents"].astype("int64")
    total = int(amounts.sum())
    pct = f"{int(amounts.iloc[:n].sum()) * 100 / total:.0f} %"
    if (lang or i18n.language()) == "en":
        pct = pct.replace(" %", "%")
    follow = follow_up_questions(ruleset) & set(worklist["question_id"].iloc[:n].astype(str))
    code = "worklist.sentence-one" if n == 1 else "worklist.sentence"
    return i18n.t(code + ("-follow-up" if follow else ""), lang, n=n, pct=pct)


# ---- attaching to a run, carry-over --------------------------------------------------------------


def attach_worklist(result, services: Services | None = None):
    """Compute ``result.worklist`` (and ``result.services``), and the carry-over report when answers
    were given: ``result.carry_over`` and an ``answers-carried-over`` information finding."""
    services = services or load_services()
    result.services = services
    result.worklist = build_worklist(result.lines, result.register, result.ruleset, services)
    result.carry_over = None
    findings = result.findings
    findings = findings[findings["code"] != "answers-carried-over"] if len(findings) else findings
    answers = getattr(result, "answers", None)
    if answers is not None and len(answers):
        result.carry_over = carry_over(result.lines, answers, result.worklist, findings, getattr(result, "facts", None))
        c = result.carry_over
        finding = findings_frame([{"level": INFO, "code": "answers-carried-over", "file": "", "row": None,
                                   "column": str(c["worklist_new"]), "value": str(c["keys_reused"]), "expected": str(c["answers_stale"])}])
        findings = concat_findings([findings, finding])
    result.findings = findings
    return result


def carry_over(lines: pd.DataFrame, answers: pd.DataFrame, worklist: pd.DataFrame, findings: pd.DataFrame, facts: pd.DataFrame | None) -> dict:
    """``keys_reused``: distinct keys of keyed answers (``key`` column) that some line of this budget
    has; ``answers_reused``: answers rows with such a key; ``worklist_new``: worklist rows none of whose
    lines got the question's fact from the answers; ``answers_stale``: ``answer-stale`` findings."""
    lines = lines.reset_index(drop=True)
    keyed = answers[answers["key"].notna()]
    present = set(pd.unique(all_keys(lines).to_numpy().ravel()).astype(str)) if len(keyed) else set()
    keys = keyed["key"].astype("string").str.strip()
    reused = keys.isin(present)
    new = 0
    if len(worklist):
        pos_of = pd.Series(np.arange(len(lines)), index=lines["line_id"].astype("string").to_numpy())
        answered = pd.Series(False, index=worklist.index)
        if facts is not None and len(facts.columns):
            facts = facts.reset_index(drop=True)
            exploded = worklist[["fact", "line_ids"]].assign(line_id=worklist["line_ids"].str.split(";")).explode("line_id")
            pos = pos_of.reindex(exploded["line_id"].to_numpy()).to_numpy()
            has = np.zeros(len(exploded), dtype=bool)
            for fact in exploded["fact"].dropna().unique():
                if fact in facts.columns:
                    mine = (exploded["fact"] == fact).to_numpy()
                    has[mine] = facts[fact].notna().to_numpy()[pos[mine].astype("int64")]
            answered = pd.Series(has, index=exploded.index).groupby(level=0).any()
        new = int((~answered.reindex(worklist.index, fill_value=False)).sum())
    stale = int((findings["code"] == "answer-stale").sum()) if len(findings) else 0
    return {"keys_reused": int(keys[reused].nunique()), "answers_reused": int(reused.sum()), "worklist_new": new, "answers_stale": stale}
