"""The council annex workbook: sheets, totals to the cent against the register, charts, tables, text
cells, reproducibility, English labels, register overflow to CSV."""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from budgetclimat import model
from budgetclimat.money import allocate

DATA = Path(__file__).parent / "data"
STAMP = "2025-03-01T12:00:00"


@dataclass
class FakeResult:
    """A run result with exactly the pipeline's fields, built by hand (register columns as the engine's)."""

    documents: list
    lines: pd.DataFrame
    findings: pd.DataFrame
    reconciliation: list
    register: pd.DataFrame
    ruleset: object = None
    answers: pd.DataFrame | None = None
    weighted: object = None
    carbon: object = None
    inputs: list = field(default_factory=list)


REGISTER_COLUMNS = ["line_id", "axis", "piece", "scope", "scope_reason", "class", "share", "amount_share_cents", "rule_id",
                    "rationale", "question_id", "question", "allowed_answers", "allocation", "decided_by", "comment", "author"]


def hand_lines(n_extra: int = 0) -> pd.DataFrame:
    rows = [
        # nature, chapitre, fonction, section, sens, operation, label, cents
        ("21828", "21", "810", "I", "D", "reel", "Achat véhicules utilitaires", 12_345_67),
        ("2313", "23", "212", "I", "D", "reel", "Construction groupe scolaire", 2_000_000_01),
        ("2031", "20", "020", "I", "D", "reel", '=HYPERLINK("http://x","y")', 50_000_00),
        ("60612", "011", "020", "F", "D", "reel", "Électricité\x07 bâtiments", 1_234_567_89),
        ("6411", "012", "020", "F", "D", "reel", "Personnel titulaire", 9_876_543_21),
        ("2111", "21", "824", "I", "D", "reel", "Acquisition terrains nus", 300_000_00),
        ("1641", "16", "01", "I", "D", "reel", "Remboursement capital emprunts", 700_000_00),
        ("6811", "042", "01", "F", "D", "ordre", "Dotations amortissements", 400_000_00),
        ("7811", "042", "01", "F", "R", "ordre", "Reprise", 10_000_00),
        ("73111", "731", "01", "F", "R", "reel", "Impôts directs", 5_000_000_00),
    ]
    for i in range(n_extra):
        rows.append(("6068", "011", "020", "F", "D", "reel", f"Fournitures {i}", 1_000 + i))
    frame = pd.DataFrame(rows, columns=["nature", "chapitre", "fonction", "section", "sens", "operation", "label", "amount_cents"])
    frame["line_id"] = [f"2024CA-00-{i + 1:05d}" for i in range(len(frame))]
    frame["source_file"] = "ville-ca-2024.xml"
    frame["source_row"] = np.arange(1, len(frame) + 1)
    frame["source_format"] = "totem"
    frame["collectivite"] = "Ville de Test"
    frame["siret"] = "21340172200017"
    frame["exercice"] = 2024
    frame["doc_type"] = "CA"
    frame["budget_code"] = "00"
    frame["budget_label"] = "Budget principal"
    frame["budget_kind"] = "principal"
    frame["nomenclature"] = "M57"
    frame["nomenclature_variant"] = "M57-M57"
    frame["fonction_label"] = frame["fonction"].map({"810": "Services urbains", "212": "Écoles primaires", "020": "Administration générale", "824": "Autres opérations d'aménagement urbain", "01": "Opérations non ventilables"})
    frame["executed_cents"] = frame["amount_cents"]
    frame["amount_basis"] = "executed"
    frame["ordre_kind"] = np.where(frame["operation"] == "ordre", "section", None)
    return model.conform(frame)


def synthetic_register(lines: pd.DataFrame, axes=("attenuation", "biodiversite")) -> pd.DataFrame:
    """Classes decided by a few hand rules: ordre and revenue out of scope, 2182 AA (motorisation),
    2313 split FSC 60 % / D 40 %, energy D, 2031 IM, the rest N."""
    rows = []
    for line in lines.itertuples(index=False):
        for axis in axes:
            base = {"line_id": line.line_id, "axis": axis, "scope": "in", "scope_reason": None, "share": 1.0, "rule_id": None,
                    "rationale": None, "question_id": None, "question": None, "allowed_answers": None, "allocation": None,
                    "decided_by": "rule", "comment": None, "author": None}
            if line.operation == "ordre":
                rows.append({**base, "piece": 1, "scope": "out", "scope_reason": "opérations d'ordre", "class": None, "amount_share_cents": line.amount_cents, "rule_id": "SCOPE-ORDRE"})
            elif line.sens == "R":
                rows.append({**base, "piece": 1, "scope": "out", "scope_reason": "recettes", "class": None, "amount_share_cents": line.amount_cents, "rule_id": "SCOPE-RECETTES"})
            elif line.chapitre == "16":
                rows.append({**base, "piece": 1, "scope": "out", "scope_reason": "capital de la dette", "class": None, "amount_share_cents": line.amount_cents, "rule_id": "SCOPE-DETTE"})
            elif line.nature.startswith("2182") and axis == "attenuation":
                rows.append({**base, "piece": 1, "class": "AA", "amount_share_cents": line.amount_cents, "rule_id": "ATT-VEH-AA",
                             "question_id": "motorisation", "question": "Quelle est la motorisation du véhicule acheté ?",
                             "allowed_answers": "electrique|hybride|gazole", "rationale": "I4CE 2022, transport_achat.png"})
            elif line.nature.startswith("2313") and axis == "attenuation":
                pieces = allocate(pd.Series([line.amount_cents] * 2), pd.Series([0.6, 0.4]), pd.Series([0, 0]))
                for i, (cls, share) in enumerate([("FSC", 0.6), ("D", 0.4)]):
                    rows.append({**base, "piece": i + 1, "class": cls, "share": share, "amount_share_cents": int(pieces.iloc[i]), "rule_id": "ATT-BAT-NEUF"})
            elif line.nature.startswith("606") and axis == "attenuation":
                rows.append({**base, "piece": 1, "class": "D", "amount_share_cents": line.amount_cents, "rule_id": "ATT-ENERGIE"})
            elif line.nature == "2031":
                rows.append({**base, "piece": 1, "class": "IM", "amount_share_cents": line.amount_cents, "rule_id": "ATT-ETUDES"})
            elif line.nature == "2111" and axis == "biodiversite":
                rows.append({**base, "piece": 1, "class": "D", "amount_share_cents": line.amount_cents, "rule_id": "BIO-FONCIER"})
            else:
                rows.append({**base, "piece": 1, "class": "TF" if line.nature == "2111" else "N", "amount_share_cents": line.amount_cents, "rule_id": "DEFAULT-N"})
    reg = pd.DataFrame(rows, columns=REGISTER_COLUMNS)
    return reg.astype({c: "string" for c in REGISTER_COLUMNS if c not in ("piece", "share", "amount_share_cents")}).astype(
        {"piece": "int64", "share": "float64", "amount_share_cents": "int64"})


def make_result(lines: pd.DataFrame | None = None) -> FakeResult:
    from budgetclimat.errors import findings_frame

    lines = hand_lines() if lines is None else lines
    findings = findings_frame([{"level": "warning", "code": "amount-not-a-number", "file": "ville-ca-2024.xml", "row": 12,
                                "column": "MtReal", "value": "=1+1", "expected": "montant"}])
    return FakeResult(documents=[], lines=lines, findings=findings, reconciliation=[], register=synthetic_register(lines))


def write(tmp_path: Path, result=None, name="annexe.xlsx", **kwargs) -> Path:
    from budgetclimat.export.workbook import write_workbook

    kwargs.setdefault("timestamp", STAMP)
    return write_workbook(result or make_result(), tmp_path / name, **kwargs)


def sheet_xml(path: Path, title: str) -> str:
    """The XML of the sheet called ``title``."""
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet [^>]*name="{re.escape(title)}"[^>]*r:id="([^"]+)"', wb) or re.search(rf'<sheet [^>]*r:id="([^"]+)"[^>]*name="{re.escape(title)}"', wb)
        target = re.search(rf'Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(rf'Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels)
        return z.read("xl/" + target.group(1).lstrip("/").removeprefix("xl/")).decode()


def test_writes_the_sheets_in_order(tmp_path):
    import openpyxl

    wb = openpyxl.load_workbook(write(tmp_path))
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == ["Synthèse", "Budget vert coloré", "Annexe légale", "Lignes", "À approfondir", "Contrôles", "Méthode"]
    assert wb.properties.title.startswith("Budget climat — Ville de Test")
    assert wb.properties.subject
